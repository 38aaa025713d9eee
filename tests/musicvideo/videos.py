"""Rows for music-video tests: a song whose analysis is the synthetic song's known truth (no
Whisper run needed), its storyboard, and a passed consent whose kept frames are real photos of a
person (frames of the committed liveness clip)."""

from __future__ import annotations

import io

from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from charcha.models import Challenge, ConsentRecord
from charcha.services import challenge_finish, challenge_verdict_apply
from musicvideo.audio.analysis import Analysis, AnalyzedSection
from musicvideo.audio.lyrics import LyricLine, Word
from musicvideo.models import Song, SongAnalysis, Storyboard
from musicvideo.services import storyboard_plan, storyboard_save
from tests.charcha.conftest import at, cadence, issue, passing_verdict, stream
from tests.musicvideo.render import material

MOODS = {"intro": ("serene", 0.4, -0.4), "verse": ("melancholy", -0.4, -0.1), "chorus": ("euphoric", 0.6, 0.6)}


def truth_analysis() -> Analysis:
    s = material.song()
    starts = [*map(float, s.section_starts_s), s.duration_s]
    sections = [AnalyzedSection(start_s=a, end_s=b, label="ABC"[i], name=name, valence=MOODS[name][1],
                                arousal=MOODS[name][2], mood=MOODS[name][0], key="C major", tempo_bpm=120.0,
                                loudness_db=-20.0, lyric_sentiment=None)
                for i, (name, a, b) in enumerate(zip(s.section_names, starts, starts[1:], strict=False))]
    words = [Word(text=w.text, start_s=w.start_s, end_s=w.end_s, confidence=1.0, source="given") for w in s.words]
    lines, k = [], 0
    for text in s.lines:
        n = len(text.split())
        lines.append(LyricLine(text=text, start_s=words[k].start_s, end_s=words[k + n - 1].end_s, first_word=k,
                               n_words=n))
        k += n
    return Analysis(duration_s=s.duration_s, sample_rate=16000, tempo_bpm=120.0, beats_per_bar=4, key="C major",
                    beats_s=[float(b) for b in s.beats_s], downbeats_s=[float(d) for d in s.downbeats_s],
                    sections=sections, emotion_times_s=[], valence=[], arousal=[], words=words, lines=lines,
                    lyrics_source="given", lyrics_matched_fraction=1.0, waveform=[], warnings=[], timings_s={})


def analysed_song(user: User, *, title: str = "Short song") -> Song:
    """A stored song with a finished analysis (the synthetic truth) and a storyboard."""
    from jobs.models import Job

    s = material.song()
    data = material.song_wav().read_bytes()
    song = Song.objects.create(user=user, title=title, file="pending", original_name="short.wav", size_bytes=len(data),
                               duration_s=s.duration_s, container="wav", codec="pcm_s16le", sample_rate=s.sample_rate,
                               channels=1)
    song.file.name = default_storage.save(f"songs/{user.pk}/{song.pk}/original.wav", ContentFile(data))
    song.save(update_fields=["file"])
    result = truth_analysis()
    d = result.to_dict()
    job = Job.objects.create(user=user, kind=Job.Kind.ANALYZE, task_name="musicvideo.analyze_song",
                             status=Job.Status.SUCCEEDED, progress=1.0)
    analysis = SongAnalysis.objects.create(
        song=song, job=job, duration_s=result.duration_s, tempo_bpm=120.0, beats=d["beats_s"],
        downbeats=d["downbeats_s"], sections=d["sections"], words=d["words"], lines=d["lines"],
        lyrics_source="given", completed_at=timezone.now())
    storyboard_save(analysis=analysis, plan=storyboard_plan(result, style="neon"))
    return song


def jpeg(image: object) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="JPEG", quality=90)  # type: ignore[arg-type]
    return out.getvalue()


def face_consent(user: User, *, frames: int = 12, keep: tuple[int, ...] = (1, 4, 7, 10), offset: int = 0) -> ConsentRecord:
    """A passed consent whose kept frames show a real face (the verdict is given, not computed:
    the verification engine has its own tests)."""
    issued = issue(user, timezone.now())
    images = material.person().frames
    originals = [jpeg(images[(i + offset) % len(images)]) for i in range(frames)]
    stream(user, issued, cadence(frames), originals, batch=4)
    challenge = challenge_finish(user=user, challenge_id=issued.challenge.pk, nonce=issued.nonce,
                                 now=at(issued.challenge, 900))
    challenge = challenge_verdict_apply(challenge=challenge, verdict=passing_verdict(challenge, keep),
                                        now=at(issued.challenge, 1500))
    assert challenge.state == Challenge.State.PASSED
    return ConsentRecord.objects.get(challenge=challenge)


def small_render(settings: object) -> None:
    """Render at 480x270 in tests: the same code path, a seventh of the pixels (the watermark needs
    frames of at least 256 px)."""
    settings.MUSICVIDEO_RENDER_WIDTH = 480  # type: ignore[attr-defined]
    settings.MUSICVIDEO_RENDER_HEIGHT = 270  # type: ignore[attr-defined]


__all__ = ["Storyboard", "analysed_song", "face_consent", "small_render", "truth_analysis"]
