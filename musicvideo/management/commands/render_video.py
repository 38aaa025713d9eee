"""``python manage.py render_video SONG_ID``: the "Make my video" button, in the terminal.

Creates the render job through the same service as the page, then claims and runs it in this
process (no worker needed) with a progress bar; prints where the video is.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobs.context import JobContext
from jobs.models import Job
from jobs.services import job_execute
from mediakit.errors import EncoreError
from mediakit.progress import TqdmProgress
from musicvideo.models import MusicVideo, Song
from musicvideo.render.base import RENDERER_NAMES
from musicvideo.render_services import music_video_create, music_video_render_run
from musicvideo.storyboard import STYLE_PRESETS


class Command(BaseCommand):
    help = "Render a music video of an analysed song with its owner's consented likeness."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("song", type=int, help="the song's id")
        parser.add_argument("--style", default=settings.MUSICVIDEO_DEFAULT_STYLE, choices=sorted(STYLE_PRESETS))
        parser.add_argument("--renderer", default=settings.MUSICVIDEO_RENDERER, choices=list(RENDERER_NAMES))
        parser.add_argument("--out", type=Path, help="also copy the finished video here")

    def handle(self, *args: Any, **options: Any) -> None:
        song = Song.objects.filter(pk=options["song"]).first()
        if song is None:
            raise CommandError(f"No song {options['song']}.")
        user = User.objects.get(pk=song.user_id)
        try:
            video = music_video_create(user=user, song=song, style=options["style"], renderer=options["renderer"])
        except EncoreError as exc:
            raise CommandError(f"{exc.message} ({exc.code})") from exc
        # The bar goes to the command's own stderr (the underlying stream: tqdm redraws with "\r").
        with TqdmProgress("Rendering", file=self.stderr._out) as bar:

            def work(*, ctx: JobContext) -> dict[str, Any]:
                # The job reports to its row as always; the bar hears the same reports.
                report = ctx.progress

                def both(stage: str, fraction: float, message: str = "") -> None:
                    report(stage, fraction, message)
                    bar(stage, fraction, message)

                ctx.progress = both  # type: ignore[method-assign]
                return music_video_render_run(ctx=ctx)

            job_execute(job_id=str(video.job_id), work=work, eager=True)
            bar.close()
        job = Job.objects.get(pk=video.job_id)
        if job.status != Job.Status.SUCCEEDED:
            raise CommandError(f"The render {job.status}: {job.error_code}: {job.error_detail}")
        video = MusicVideo.objects.get(pk=video.pk)
        where = default_storage.path(video.video.name) if _local() else video.video.name
        if options["out"]:
            out: Path = options["out"]
            out.parent.mkdir(parents=True, exist_ok=True)
            with default_storage.open(video.video.name, "rb") as src, out.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            where = str(out)
        result = job.result
        self.stdout.write(self.style.SUCCESS(
            f"Video {video.pk}: {result['duration_s']:.1f} s, {result['n_frames']} frames, renderer "
            f"{result['renderer']}, {len(result['cut_frames'])} cuts, rendered in {result['timings_s'].get('total', 0):.1f} s"))
        self.stdout.write(f"  file: {where}\n  page: /songs/videos/{video.pk}/")


def _local() -> bool:
    try:
        default_storage.path("x")
    except NotImplementedError:
        return False
    return True
