from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from config.uploads import accept_upload, delete_stored
from jobs.models import Job
from jobs.services import job_create
from mediakit.errors import EncoreError
from mediakit.probe import MediaInfo
from mediakit.progress import ProgressFn
from mediakit.validate import MediaLimits, audio_limits
from musicvideo.audio.analysis import Analysis, AnalysisOptions, analyze_file
from musicvideo.audio.lyrics import LyricsError, WhisperConfig, parse_lrc, parse_lyrics
from musicvideo.models import Scene, Song, SongAnalysis, Storyboard
from musicvideo.prompt_writers import writer_from_settings
from musicvideo.storyboard import STYLE_PRESETS, StoryboardError, build_storyboard


class SongStateError(EncoreError):
    """The song is not in a state for this request (an analysis running, none finished yet)."""

    code = "song_state"
    http_status = 409


class PromptError(EncoreError):
    code = "prompt_invalid"


def song_limits() -> MediaLimits:
    return audio_limits(max_bytes=settings.SONG_MAX_BYTES, max_duration_s=settings.SONG_MAX_DURATION_S)


def song_create(*, user: User, upload: UploadedFile | None, title: str = "", lyrics_text: str = "",
                lrc_upload: UploadedFile | None = None, analyse: bool = False) -> Song:
    """Validate an uploaded song by content, then store it; a refusal leaves no file and no row.

    Lyrics (pasted text or an .lrc file) are checked before the audio is touched. With
    ``analyse`` the analysis job is created in the same transaction as the song.
    """
    text, lrc = lyrics_clean(text=lyrics_text, lrc=_read_lrc(lrc_upload))

    def create_row(info: MediaInfo, original_name: str) -> Song:
        assert info.audio is not None  # validation guarantees an audio stream
        song = Song.objects.create(
            user=user, title=(title.strip() or Path(original_name or "song").stem)[:200],
            original_name=original_name[:255], size_bytes=info.size_bytes, duration_s=info.duration_s,
            container=info.container[:60], codec=info.audio.codec, sample_rate=info.audio.sample_rate,
            channels=info.audio.channels, lyrics_text=text, lyrics_lrc=lrc)
        if analyse:
            song_analysis_start(song=song, user=user)
        return song

    return accept_upload(upload=upload, kind="audio", limits=song_limits(), create_row=create_row,
                         storage_stem=lambda song: f"songs/{user.pk}/{song.pk}/original")


def song_delete(*, song: Song) -> None:
    name = song.file.name
    song.delete()
    transaction.on_commit(lambda: delete_stored([name]))


def lyrics_clean(*, text: str = "", lrc: str = "") -> tuple[str, str]:
    """Check pasted lyrics and .lrc text; returns them stripped, or raises LyricsError."""
    text, lrc = (text or "").strip(), (lrc or "").strip()
    limit = settings.MUSICVIDEO_LYRICS_MAX_CHARS
    for value in (text, lrc):
        if len(value) > limit:
            raise LyricsError(f"Lyrics are limited to {limit} characters.", code="lyrics_too_long")
    if text and lrc:
        raise LyricsError("Give either pasted lyrics or an .lrc file, not both.", code="lyrics_ambiguous")
    if text and not parse_lyrics(text):
        raise LyricsError("The lyrics contain no words.", code="lyrics_empty")
    if lrc:
        parse_lrc(lrc)      # raises lrc_invalid
    return text, lrc


def _read_lrc(upload: UploadedFile | None) -> str:
    if upload is None:
        return ""
    limit = settings.MUSICVIDEO_LYRICS_MAX_CHARS * 4
    raw = upload.read(limit + 1)
    if len(raw) > limit:
        raise LyricsError("The .lrc file is too large.", code="lyrics_too_long")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise LyricsError("The .lrc file is not text.", code="lrc_invalid")


def song_lyrics_set(*, song: Song, user: User, text: str = "", lrc_upload: UploadedFile | None = None,
                    lrc_text: str = "") -> SongAnalysis:
    """Replace the song's lyrics (empty clears them) and analyse again with them."""
    text, lrc = lyrics_clean(text=text, lrc=lrc_text or _read_lrc(lrc_upload))
    with transaction.atomic():
        locked = Song.objects.select_for_update().get(pk=song.pk)
        _refuse_if_running(locked)
        locked.lyrics_text, locked.lyrics_lrc = text, lrc
        locked.save(update_fields=["lyrics_text", "lyrics_lrc"])
        return song_analysis_start(song=locked, user=user)


def _refuse_if_running(song: Song) -> None:
    if song.analyses.filter(job__status__in=(Job.Status.QUEUED, Job.Status.RUNNING)).exists():
        raise SongStateError("This song is being analysed already; wait for it to finish.",
                             code="analysis_running")


def song_analysis_start(*, song: Song, user: User) -> SongAnalysis:
    """Queue an analysis of the song with its current lyrics; the task is sent on commit."""
    with transaction.atomic():
        _refuse_if_running(song)
        job = job_create(user=user, kind=Job.Kind.ANALYZE, task_name="musicvideo.analyze_song", queue="cpu",
                         params={"song_id": song.pk}, message="Waiting for a worker to listen to the song")
        return SongAnalysis.objects.create(song=song, job=job, lyrics_kind=song.lyrics_kind)


def analysis_options() -> AnalysisOptions:
    return AnalysisOptions(
        transcribe=settings.MUSICVIDEO_TRANSCRIBE,
        whisper=WhisperConfig(model=settings.MUSICVIDEO_WHISPER_MODEL, device=settings.MUSICVIDEO_WHISPER_DEVICE,
                              compute_type=settings.MUSICVIDEO_WHISPER_COMPUTE_TYPE,
                              beam_size=settings.MUSICVIDEO_WHISPER_BEAM_SIZE),
        max_duration_s=settings.SONG_MAX_DURATION_S)


def song_analysis_run(*, job: Job, progress: ProgressFn) -> dict[str, Any]:
    """The analysis job's work: analyse, store the results on the row, write the first storyboard.

    Safe to run twice: the row is overwritten and the storyboards of this analysis are replaced.
    """
    analysis = SongAnalysis.objects.select_related("song").get(job=job)
    song = analysis.song
    options = analysis_options()
    options = replace(options, lrc_text=song.lyrics_lrc or None, lyrics_text=song.lyrics_text or None)
    with _local_song(song=song, job=job) as path:
        result = analyze_file(path, options=options, progress=progress)
    progress("storyboard", 1.0, "Writing the storyboard")
    with transaction.atomic():
        _store_analysis(analysis, result)
        analysis.storyboards.all().delete()
        board = storyboard_create(analysis=analysis, style=settings.MUSICVIDEO_DEFAULT_STYLE)
    return {"song_id": song.pk, "analysis_id": analysis.pk, "storyboard_id": board.pk,
            "tempo_bpm": result.tempo_bpm, "sections": len(result.sections), "words": len(result.words),
            "scenes": board.scenes.count(), "warnings": result.warnings}


@contextmanager
def _local_song(*, song: Song, job: Job) -> Iterator[Path]:
    """The song as a local file: its own path on local storage, a job-keyed copy from S3."""
    try:
        local: Path | None = Path(default_storage.path(song.file.name))
    except NotImplementedError:
        local = None
    if local is not None:
        yield local
        return
    # Remote storage: copy to a deterministic, job-keyed path (a re-run overwrites it).
    copy = settings.ENCORE_WORK_DIR / "jobs" / str(job.pk) / Path(song.file.name).name
    copy.parent.mkdir(parents=True, exist_ok=True)
    try:
        with default_storage.open(song.file.name, "rb") as src, copy.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        yield copy
    finally:
        shutil.rmtree(copy.parent, ignore_errors=True)


def _store_analysis(row: SongAnalysis, result: Analysis) -> None:
    data = result.to_dict()
    row.duration_s = result.duration_s
    row.tempo_bpm = result.tempo_bpm
    row.beats_per_bar = result.beats_per_bar
    row.key = result.key
    row.beats = data["beats_s"]
    row.downbeats = data["downbeats_s"]
    row.sections = data["sections"]
    row.emotion = {"times_s": data["emotion_times_s"], "valence": data["valence"], "arousal": data["arousal"]}
    row.words = data["words"]
    row.lines = data["lines"]
    row.lyrics_source = result.lyrics_source
    row.lyrics_matched_fraction = result.lyrics_matched_fraction
    row.waveform = data["waveform"]
    row.warnings = data["warnings"]
    row.timings = data["timings_s"]
    row.completed_at = timezone.now()
    row.save()


def analysis_result(analysis: SongAnalysis) -> Analysis:
    """The stored row back as the engine's Analysis (for the storyboard)."""
    if not analysis.is_complete or analysis.duration_s is None or analysis.tempo_bpm is None:
        raise SongStateError("The song has no finished analysis yet.", code="analysis_not_ready")
    emotion = analysis.emotion or {}
    return Analysis.from_dict({
        "duration_s": analysis.duration_s, "sample_rate": 16000, "tempo_bpm": analysis.tempo_bpm,
        "beats_per_bar": analysis.beats_per_bar, "key": analysis.key, "beats_s": analysis.beats,
        "downbeats_s": analysis.downbeats, "sections": analysis.sections,
        "emotion_times_s": emotion.get("times_s", []), "valence": emotion.get("valence", []),
        "arousal": emotion.get("arousal", []), "words": analysis.words, "lines": analysis.lines,
        "lyrics_source": analysis.lyrics_source, "lyrics_matched_fraction": analysis.lyrics_matched_fraction,
        "waveform": analysis.waveform, "warnings": analysis.warnings, "timings_s": analysis.timings})


def storyboard_create(*, analysis: SongAnalysis, style: str) -> Storyboard:
    """Plan scenes and write prompts for a finished analysis (LLM when configured, else templates)."""
    if style not in STYLE_PRESETS:
        raise StoryboardError(f"Unknown style '{style}'. Choose one of: {', '.join(STYLE_PRESETS)}.",
                              code="style_unknown")
    writer = writer_from_settings(base_url=settings.MUSICVIDEO_LLM_BASE_URL, model=settings.MUSICVIDEO_LLM_MODEL,
                                  api_key=settings.MUSICVIDEO_LLM_API_KEY,
                                  timeout_s=settings.MUSICVIDEO_LLM_TIMEOUT_S)
    board = build_storyboard(analysis_result(analysis), style=style, trigger=settings.MUSICVIDEO_TRIGGER_TOKEN,
                             writer=writer)
    with transaction.atomic():
        row = Storyboard.objects.create(song=analysis.song, analysis=analysis, style=style, trigger=board.trigger,
                                        writer=board.writer, warnings=board.warnings)
        Scene.objects.bulk_create([
            Scene(storyboard=row, index=s.index, start_s=s.start_s, end_s=s.end_s, start_beat=s.start_beat,
                  n_beats=s.n_beats, section=s.section, mood=s.mood, valence=s.valence, arousal=s.arousal,
                  lyric=s.lyric, prompt=s.prompt)
            for s in board.scenes])
    return row


def storyboard_rebuild(*, song: Song, style: str) -> Storyboard:
    """A new storyboard in ``style`` from the song's latest finished analysis."""
    analysis = song.analyses.filter(completed_at__isnull=False).order_by("-created_at").first()
    if analysis is None:
        raise SongStateError("The song has no finished analysis yet.", code="analysis_not_ready")
    return storyboard_create(analysis=analysis, style=style)


def scene_prompt_update(*, scene: Scene, prompt: str) -> Scene:
    """Let the user rewrite a scene's prompt before rendering; it must keep the trigger token."""
    text = " ".join((prompt or "").split())
    trigger = scene.storyboard.trigger
    if not text:
        raise PromptError("The prompt is empty.", code="prompt_empty")
    if len(text) > settings.MUSICVIDEO_PROMPT_MAX_CHARS:
        raise PromptError(f"Prompts are limited to {settings.MUSICVIDEO_PROMPT_MAX_CHARS} characters.",
                          code="prompt_too_long")
    if trigger.lower() not in text.lower():
        raise PromptError(f"The prompt must contain '{trigger}', or the video would not show you.",
                          code="prompt_missing_trigger")
    scene.prompt, scene.prompt_edited = text, True
    scene.save(update_fields=["prompt", "prompt_edited"])
    return scene
