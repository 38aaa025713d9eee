"""The soundtrack stage of `manage.py demo`: a generated video with known beats gets its music."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile

from soundtrack.models import Soundtrack
from soundtrack.services import soundtrack_create, source_video_create
from soundtrack.testing.synthetic import make_beat_video


def soundtrack_stage(user: User, out_dir: Path) -> dict[str, Any]:
    from jobs.management.commands.demo import wait_for_job

    clip = make_beat_video(out_dir / "soundtrack-input.mp4", duration_s=12.0, size=(640, 360),
                           beat_period_s=0.6, beat_offset_s=0.3, cuts_s=[0.3 + 0.6 * 8, 0.3 + 0.6 * 13])
    video = source_video_create(user=user, upload=SimpleUploadedFile("demo-shapes.mp4", clip.path.read_bytes()),
                                title="Demo: shapes on a beat")
    soundtrack = soundtrack_create(user=user, video=video, genre="auto", energy=3)
    wait_for_job(soundtrack.job, "Soundtrack")
    soundtrack = Soundtrack.objects.get(pk=soundtrack.pk)
    facts: dict[str, Any] = {}
    for field, name in (("video_file", "soundtrack.mp4"), ("audio_file", "soundtrack-music.wav"),
                        ("midi_file", "soundtrack-score.mid")):
        stored = getattr(soundtrack, field)
        if stored:
            with stored.open("rb") as src, (out_dir / name).open("wb") as dst:
                shutil.copyfileobj(src, dst)
            facts[field.removesuffix("_file")] = str(out_dir / name)
    summary = soundtrack.job.result
    facts.update(tempo_bpm=summary["music"]["tempo_bpm"], key=summary["music"]["key"],
                 beat_hit_rate=summary["alignment"]["hit_rate"], page=f"/soundtrack/tracks/{soundtrack.pk}/")
    return facts
