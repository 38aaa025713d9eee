"""The song stage of `manage.py demo`: a generated song is analysed into a storyboard.

The song (drums on a known grid, sections of different harmony and timbre, espeak-ng lyrics) is
made here, uploaded through the same service as the page, analysed by the worker, and its
storyboard written out. The video stage then renders the music video from that storyboard with
the compositor (the person from the consent stage's verified capture) on the real worker.
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
            "music_video": "rendered by the video stage"}


def video_stage(user: User, out_dir: Path) -> dict[str, Any]:
    """The music video of the song stage's song, with the consent stage's frames (compositor)."""
    import shutil

    from django.core.files.storage import default_storage

    from jobs.management.commands.demo import wait_for_job
    from musicvideo.models import MusicVideo, Song
    from musicvideo.render_services import music_video_create

    song = Song.objects.filter(user=user, storyboards__isnull=False).order_by("-created_at").first()
    if song is None:
        return {"music_video": "not rendered: the song stage made no storyboard"}
    video = music_video_create(user=user, song=song, renderer="compositor")
    wait_for_job(video.job, "Music video render")
    video = MusicVideo.objects.select_related("job").get(pk=video.pk)
    target = out_dir / "music-video.mp4"
    with default_storage.open(video.video.name, "rb") as src, target.open("wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    result = video.job.result
    return {"music_video": str(target), "renderer": video.renderer_used, "duration_s": result.get("duration_s"),
            "frames": result.get("n_frames"), "scenes": len(video.scenes), "render_s": result.get("timings_s"),
            "signed": result.get("signed"), "watermark_id": result.get("watermark_id"),
            "page": f"/songs/videos/{video.pk}/"}
