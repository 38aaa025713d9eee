"""python manage.py soundtrack VIDEO: score a video file on this machine, with a progress bar.

Needs no database row and no worker: the file is validated like an upload, then the engine runs
in this process. Refusals print their code and exit non-zero.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from mediakit.errors import EncoreError
from mediakit.progress import TqdmProgress
from mediakit.validate import validate_media
from soundtrack.engine import SoundtrackOptions, score_video
from soundtrack.engine.pipeline import BACKENDS, MIX_MODES
from soundtrack.engine.presets import GENRE_CHOICES
from soundtrack.services import engine_settings, source_video_limits


class Command(BaseCommand):
    help = "Compose and add a soundtrack to a video file: writes the video, the music (WAV) and the score (MIDI)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("video", help="path of the video file")
        parser.add_argument("--out", help="output folder (default: next to the video, <name>-soundtrack/)")
        parser.add_argument("--genre", choices=GENRE_CHOICES, default="auto")
        parser.add_argument("--energy", type=int, choices=range(1, 6), default=3, metavar="1-5")
        parser.add_argument("--seed", type=int, default=0, help="take number: same seed, same music")
        parser.add_argument("--mix", choices=MIX_MODES, default="replace")
        parser.add_argument("--backend", choices=BACKENDS, default="auto")
        parser.add_argument("--json", action="store_true", help="print the full summary as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["video"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        out = Path(options["out"]) if options["out"] else path.with_name(f"{path.stem}-soundtrack")
        opts = SoundtrackOptions(genre=options["genre"], energy=options["energy"], seed=options["seed"],
                                 mix=options["mix"], backend=options["backend"])
        try:
            validate_media(path, kind="video", limits=source_video_limits())
            with TqdmProgress(f"Soundtrack for {path.name}") as bar:
                result = score_video(path, out, options=opts, settings=engine_settings(), progress=bar)
                bar.close()
        except EncoreError as exc:
            raise CommandError(f"{exc.message} ({exc.code})") from exc
        summary = result.summary
        music, align = summary.music, summary.alignment
        self.stdout.write(self.style.SUCCESS(
            f"{music.genre_label}, {music.tempo_bpm:.1f} BPM in {music.key} "
            f"({summary.analysis.mood['label']} video)"))
        cuts = f"cuts on a downbeat: {align.cuts_on_downbeat}/{align.cuts}"
        if align.hit_rate is None or align.f_measure is None or align.beat_align is None:
            # No visual beat: a hit rate or BeatAlign would be a number about nothing.
            self.stdout.write(f"  no visual beats to follow; {cuts}")
        else:
            self.stdout.write(f"  visual beats on a musical beat: {align.hit_rate * 100:.0f}% "
                              f"(F-measure {align.f_measure:.2f}, BeatAlign {align.beat_align:.2f}); {cuts}")
        self.stdout.write(f"  video: {result.video}\n  music: {result.audio}")
        if result.midi:
            self.stdout.write(f"  score: {result.midi}")
        self.stdout.write(f"  took {summary.timings_s['total']:.1f} s (soundfont {settings.SOUNDTRACK_SOUNDFONT})")
        if options["json"]:
            self.stdout.write(json.dumps(summary.as_dict()))
