"""``python manage.py analyze_song FILE``: the song page's analysis, in the terminal."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from mediakit.errors import EncoreError
from mediakit.progress import TqdmProgress
from mediakit.validate import validate_media
from musicvideo.audio.analysis import Analysis, analyze_file, corrected_analysis
from musicvideo.audio.correction import TEMPO_LEVELS
from musicvideo.audio.lyrics import read_text
from musicvideo.prompt_writers import writer_from_settings
from musicvideo.services import analysis_options, lyrics_clean, song_limits
from musicvideo.storyboard import STYLE_PRESETS, build_storyboard


class Command(BaseCommand):
    help = "Analyse a song file (beats, sections, emotion, lyrics) and print the analysis and storyboard."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--lyrics", type=Path, help="a text file with the lyrics, one line per line")
        parser.add_argument("--lrc", type=Path, help="an .lrc file with timed lyrics")
        parser.add_argument("--no-whisper", action="store_true", help="skip speech recognition")
        parser.add_argument("--style", default=settings.MUSICVIDEO_DEFAULT_STYLE, choices=sorted(STYLE_PRESETS))
        parser.add_argument("--json", action="store_true", help="print the whole analysis as JSON")
        parser.add_argument("--bar-shift", type=int, default=0, choices=range(4),
                            help="the bars start this many beats after where they are found")
        parser.add_argument("--tempo", default="found", choices=TEMPO_LEVELS,
                            help="the beat as found, or double, half, 3/2 or 2/3 of it")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            validate_media(path, kind="audio", limits=song_limits())
            text, lrc = lyrics_clean(text=read_text(options["lyrics"]) if options["lyrics"] else "",
                                     lrc=read_text(options["lrc"]) if options["lrc"] else "")
            opts = replace(analysis_options(), lyrics_text=text or None, lrc_text=lrc or None,
                           transcribe=settings.MUSICVIDEO_TRANSCRIBE and not options["no_whisper"])
            with TqdmProgress(f"Analysing {path.name}") as bar:
                result = analyze_file(path, options=opts, progress=bar)
                bar.close()
            result = corrected_analysis(result, bar_shift=options["bar_shift"], tempo=options["tempo"])
            writer = writer_from_settings(base_url=settings.MUSICVIDEO_LLM_BASE_URL,
                                          model=settings.MUSICVIDEO_LLM_MODEL, api_key=settings.MUSICVIDEO_LLM_API_KEY,
                                          timeout_s=settings.MUSICVIDEO_LLM_TIMEOUT_S)
            board = build_storyboard(result, style=options["style"], trigger=settings.MUSICVIDEO_TRIGGER_TOKEN,
                                     writer=writer)
        except EncoreError as exc:
            raise CommandError(f"{exc.message} ({exc.code})") from exc
        if options["json"]:
            out = result.to_dict()
            out["storyboard"] = [s.__dict__ for s in board.scenes]
            self.stdout.write(json.dumps(out))
            return
        self.stdout.write(summary(result))
        self.stdout.write(f"\nStoryboard: {len(board.scenes)} scenes ({board.style}, prompts by {board.writer})")
        for w in board.warnings:
            self.stdout.write(f"  ! {w}")
        for s in board.scenes:
            self.stdout.write(f"  {s.index + 1:3d}  {s.start_s:7.2f}-{s.end_s:7.2f} s  {s.n_beats:2d} beats  "
                              f"{s.section:7s} {s.mood:10s} {s.prompt}")


def summary(a: Analysis) -> str:
    lines = [f"Duration {a.duration_s:.1f} s · tempo {a.tempo_bpm:.1f} BPM · key {a.key} · "
             f"{len(a.beats_s)} beats, {len(a.downbeats_s)} bars",
             f"Lyrics: {a.lyrics_source}, {len(a.words)} words"
             + (f" ({a.lyrics_matched_fraction:.0%} of yours matched)" if a.lyrics_matched_fraction is not None else "")]
    if a.warnings:
        lines.append("Warnings: " + ", ".join(a.warnings))
    lines.append("Sections:")
    for s in a.sections:
        lines.append(f"  {s.start_s:7.2f}-{s.end_s:7.2f} s  {s.label}  {s.name:7s} {s.mood:10s} "
                     f"valence {s.valence:+.2f} arousal {s.arousal:+.2f}  {s.key}")
    if a.lines:
        lines.append("Lines:")
        lines += [f"  {ln.start_s:7.2f} s  {ln.text}" for ln in a.lines]
    lines.append("Timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in a.timings_s.items()))
    return "\n".join(lines)
