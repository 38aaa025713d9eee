"""Song analysis bench: a 3-minute song without and with Whisper, and a 15-minute song's memory.

    .venv/bin/python bench/song.py [--json] [--runs N] [--skip-long]

The 3-minute test song (drums on a 120 BPM grid, verse/chorus/bridge with their own chords and
timbres, espeak-ng words on known beats) is generated and cached under var/bench/. Before timing,
one short analysis warms the process up: librosa's first call compiles with numba (~17 s) and
Whisper's model is loaded once per worker process, so neither belongs in a per-song figure.
Timed: musicvideo.audio.analysis.analyze_file (decode included). Limits: 5 s without lyrics,
45 s with the default Whisper (tiny.en). Accuracy is scored against the song's ground truth
(mir_eval beat F-measure, 70 ms window). The 15-minute part runs in a child process so that
its resident-memory growth is its own; that growth and the traced Python/numpy peak (tracemalloc)
during the analysis are compared with the size of one copy of the decoded audio (16 kHz float32). With --json the last line is one
JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import mir_eval  # noqa: E402
import numpy as np  # noqa: E402

from mediakit.audio import write_wav  # noqa: E402
from musicvideo.audio.analysis import Analysis, AnalysisOptions, analyze_file  # noqa: E402
from musicvideo.audio.features import ANALYSIS_SR  # noqa: E402
from musicvideo.audio.lyrics import align_tokens, lyrics_from_text, normalize_token  # noqa: E402
from musicvideo.testing.synthetic import SyntheticSong, make_song, pop_song, song_of_length  # noqa: E402

LIMIT_NO_LYRICS_S = 5.0
LIMIT_WHISPER_S = 45.0
CACHE = ROOT / "var" / "bench"


def rss_mib() -> float:
    """This process's peak resident size (VmHWM: unlike ru_maxrss it does not carry over an exec)."""
    return proc_status_mib("VmHWM")


def proc_status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024.0


def song_3min() -> tuple[SyntheticSong, Path]:
    song = make_song(song_of_length(180.0))
    path = CACHE / "song-3min.wav"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        write_wav(path, song.samples, song.sample_rate)
    return song, path


def warm_up() -> None:
    clip = make_song(pop_song(repeats=1, vocals=True)).samples[: 22050 * 20]
    path = write_wav(CACHE / "warmup.wav", clip, 22050)
    analyze_file(path)


def scores(song: SyntheticSong, analysis: Analysis) -> dict[str, float]:
    beat = 60.0 / song.spec.tempo_bpm
    starts = np.array([s.start_s for s in analysis.sections[1:]])
    truth = song.section_starts_s[1:]
    boundary_error = (float(np.max([np.min(np.abs(starts - t)) for t in truth])) / beat
                      if len(starts) else float("inf"))
    out = {
        "beat_f_measure": round(mir_eval.beat.f_measure(song.beats_s, np.array(analysis.beats_s)), 4),
        "downbeat_f_measure": round(mir_eval.beat.f_measure(song.downbeats_s, np.array(analysis.downbeats_s)), 4),
        "section_count": len(analysis.sections),
        "section_count_truth": len(song.section_starts_s),
        "section_boundary_max_error_beats": round(boundary_error, 3),
        "tempo_bpm": analysis.tempo_bpm,
    }
    if analysis.words:
        pairs = align_tokens([normalize_token(w.text) for w in song.words],
                             [normalize_token(w.text) for w in analysis.words])
        errors = np.abs([analysis.words[j].start_s - song.words[i].start_s for i, j in pairs])
        out["words_recognised_fraction"] = round(len(pairs) / len(song.words), 3)
        out["word_start_median_error_s"] = round(float(np.median(errors)), 3)
        given = lyrics_from_text(song.lyrics_text, None, recognised=analysis.words, duration_s=analysis.duration_s)
        aligned = np.abs([w.start_s - t.start_s for w, t in zip(given.words, song.words, strict=True)])
        out["given_lyrics_word_start_median_error_s"] = round(float(np.median(aligned)), 3)
    return out


def long_song_child(*, whisper: bool) -> dict[str, Any]:
    """15 minutes under tracemalloc, in a fresh process (see --long-child); Whisper if asked."""
    loop = make_song(pop_song(tempo_bpm=120.0, repeats=1, vocals=False, seed=9)).samples
    seconds = 900
    path = CACHE / "song-15min.wav"
    if not path.exists():
        write_wav(path, np.tile(loop, int(np.ceil(seconds * 22050 / len(loop))))[: seconds * 22050], 22050)
    del loop
    warm = make_song(pop_song(repeats=1, vocals=whisper)).samples[: 22050 * 20]
    # The warm-up loads what a worker holds anyway (numba code, the Whisper model when used).
    analyze_file(write_wav(CACHE / "warmup-long.wav", warm, 22050), options=AnalysisOptions(transcribe=whisper))
    # Resident memory first, in a process that has not yet held a 15-minute song: the peak
    # (VmHWM, reset through clear_refs) minus what was resident before.
    before = proc_status_mib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")
    started = time.perf_counter()
    analysis = analyze_file(path, options=AnalysisOptions(transcribe=whisper))
    elapsed = time.perf_counter() - started
    rss_growth = proc_status_mib("VmHWM") - before
    del analysis
    # Then every numpy/Python allocation, traced (slower, so not timed).
    tracemalloc.start()
    analysis = analyze_file(path, options=AnalysisOptions(transcribe=whisper))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    one_copy = seconds * ANALYSIS_SR * 4
    prefix = "long_song_whisper" if whisper else "long_song"
    figures = {
        "long_song_s": analysis.duration_s,
        "long_song_analysis_s": round(elapsed, 2),
        "long_song_audio_copy_mib": round(one_copy / 2**20, 1),
        "long_song_peak_traced_mib": round(peak / 2**20, 1),
        "long_song_peak_traced_copies": round(peak / one_copy, 2),
        "long_song_rss_growth_mib": round(rss_growth, 1),
        "long_song_rss_growth_copies": round(rss_growth * 2**20 / one_copy, 2),
    }
    return {key.replace("long_song", prefix, 1): value for key, value in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-long", action="store_true")
    parser.add_argument("--long-whisper", action="store_true",
                        help="also analyse the 15-minute song with Whisper (several minutes)")
    parser.add_argument("--long-child", choices=["plain", "whisper"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    if args.long_child:
        print(json.dumps(long_song_child(whisper=args.long_child == "whisper")))
        return

    song, path = song_3min()
    started = time.perf_counter()
    warm_up()
    warm_up_s = time.perf_counter() - started
    plain = AnalysisOptions(transcribe=False)
    times_plain, analysis = [], None
    for _ in range(args.runs):
        started = time.perf_counter()
        analysis = analyze_file(path, options=plain)
        times_plain.append(time.perf_counter() - started)
    assert analysis is not None
    started = time.perf_counter()
    heard = analyze_file(path)
    whisper_s = time.perf_counter() - started
    figures: dict[str, Any] = {
        "song_s": analysis.duration_s,
        "warm_up_s": round(warm_up_s, 2),
        "no_lyrics_median_s": round(statistics.median(times_plain), 3),
        "no_lyrics_limit_s": LIMIT_NO_LYRICS_S,
        "no_lyrics_ratio_to_limit": round(statistics.median(times_plain) / LIMIT_NO_LYRICS_S, 3),
        "no_lyrics_stage_s": analysis.timings_s,
        "whisper_s": round(whisper_s, 2),
        "whisper_limit_s": LIMIT_WHISPER_S,
        "whisper_ratio_to_limit": round(whisper_s / LIMIT_WHISPER_S, 3),
        "whisper_stage_s": heard.timings_s,
        **scores(song, heard),
        "peak_rss_mib": round(rss_mib(), 1),
    }
    parts = [] if args.skip_long else ["plain", *(["whisper"] if args.long_whisper else [])]
    for part in parts:
        child = subprocess.run([sys.executable, __file__, "--long-child", part], capture_output=True, text=True,
                               check=True)
        figures.update(json.loads(child.stdout.strip().splitlines()[-1]))
    if not args.json:
        for key, value in figures.items():
            print(f"{key:42s} {value}")
    else:
        for key, value in figures.items():
            print(f"{key}: {value}", file=sys.stderr)
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
