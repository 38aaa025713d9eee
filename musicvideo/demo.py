"""The song stage of `manage.py demo`: a generated song is analysed into a storyboard.

The song (drums on a known grid, sections of different harmony and timbre, espeak-ng lyrics) is
made here, uploaded through the same service as the page, analysed by the worker, and its
storyboard written out. Rendering the video from the storyboard needs a trained adapter and a
renderer, which this release does not have; the summary says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile

from mediakit.audio import write_wav
from musicvideo.models import SongAnalysis, Storyboard
from musicvideo.services import song_create
from musicvideo.testing.synthetic import make_song, pop_song


def song_stage(user: User, out_dir: Path) -> dict[str, Any]:
    from jobs.management.commands.demo import wait_for_job

    synthetic = make_song(pop_song(tempo_bpm=112.0, repeats=1))
    wav = write_wav(out_dir / "song.wav", synthetic.samples, synthetic.sample_rate)
    song = song_create(user=user, upload=SimpleUploadedFile("demo-song.wav", wav.read_bytes()),
                       title="Demo: a generated pop song", lyrics_text=synthetic.lyrics_text, analyse=True)
    analysis = SongAnalysis.objects.get(song=song)
    wait_for_job(analysis.job, "Song analysis")
    analysis.refresh_from_db()
    board = Storyboard.objects.filter(analysis=analysis).prefetch_related("scenes").latest("created_at")
    scenes = [{"start_s": s.start_s, "end_s": s.end_s, "section": s.section, "mood": s.mood, "lyric": s.lyric,
               "prompt": s.prompt} for s in board.scenes.order_by("index")]
    storyboard_path = out_dir / "storyboard.json"
    storyboard_path.write_text(json.dumps({"song": song.title, "tempo_bpm": analysis.tempo_bpm,
                                           "sections": analysis.sections, "scenes": scenes}, indent=2))
    return {"song": str(wav), "tempo_bpm": round(analysis.tempo_bpm or 0.0, 2),
            "true_tempo_bpm": 112.0, "sections": " ".join(s["name"] for s in analysis.sections),
            "true_sections": " ".join(synthetic.section_names),
            "words": len(analysis.words), "scenes": len(scenes), "storyboard": str(storyboard_path),
            "page": f"/songs/{song.pk}/",
            "music_video": "not rendered: adapter training and rendering are not built yet"}
