from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from config.uploads import accept_upload, delete_stored
from jobs.context import JobContext
from jobs.models import Job
from jobs.ratelimit import rate_limit
from jobs.services import job_create
from mediakit.errors import EncoreError
from mediakit.probe import MediaInfo
from mediakit.validate import MediaLimits, audio_limits
from musicvideo.audio.analysis import Analysis, AnalysisOptions, analyze_file
from musicvideo.audio.correction import TEMPO_LEVELS, Rhythm, correct_rhythm
from musicvideo.audio.lyrics import LyricsError, WhisperConfig, parse_lrc, parse_lyrics
from musicvideo.models import Scene, Song, SongAnalysis, Storyboard
from musicvideo.prompt_writers import writer_from_settings
from musicvideo.storyboard import STYLE_PRESETS, KeptPrompt, StoryboardError, build_storyboard
from musicvideo.storyboard import Storyboard as StoryboardPlan


class SongStateError(EncoreError):
    """The song is not in a state for this request (an analysis running, none finished yet)."""

    code = "song_state"
    http_status = 409


class PromptError(EncoreError):
    code = "prompt_invalid"


class RhythmCorrectionError(EncoreError):
    code = "rhythm_correction_invalid"


def song_limits() -> MediaLimits:
    return audio_limits(max_bytes=settings.SONG_MAX_BYTES, max_duration_s=settings.SONG_MAX_DURATION_S)


def song_create(*, user: User, upload: UploadedFile | None, title: str = "", lyrics_text: str = "",
                lrc_upload: UploadedFile | None = None, analyse: bool = False) -> Song:
    """Validate an uploaded song by content, then store it; a refusal leaves no file and no row.

    Lyrics (pasted text or an .lrc file) are checked before the audio is touched. With
    ``analyse`` the analysis job is created in the same transaction as the song.
    """
    text, lrc = lyrics_clean(text=lyrics_text, lrc=_read_lrc(lrc_upload))
    rate_limit("upload", user.pk)

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


def song_analysis_run(*, ctx: JobContext) -> dict[str, Any]:
    """The analysis job's work: analyse, write the first storyboard, store both.

    Safe to run twice: the row is overwritten and the storyboards of this analysis are replaced.
    The storyboard is written (perhaps by an LLM over the network) before the transaction opens.
    """
    analysis = SongAnalysis.objects.select_related("song").get(job=ctx.job)
    song = analysis.song
    options = analysis_options()
    options = replace(options, lrc_text=song.lyrics_lrc or None, lyrics_text=song.lyrics_text or None)
    with ctx.local_copy(song.file.name) as path:
        result = analyze_file(path, options=options, progress=ctx.progress)
    ctx.progress("storyboard", 0.99, "Writing the storyboard")
    plan = storyboard_plan(result, style=settings.MUSICVIDEO_DEFAULT_STYLE, kept=edited_prompts(song=song))
    with transaction.atomic():
        _store_analysis(analysis, result)
        analysis.storyboards.all().delete()
        board = storyboard_save(analysis=analysis, plan=plan)
    return {"song_id": song.pk, "analysis_id": analysis.pk, "storyboard_id": board.pk,
            "tempo_bpm": result.tempo_bpm, "sections": len(result.sections), "words": len(result.words),
            "scenes": board.scenes.count(), "warnings": result.warnings}


def _store_analysis(row: SongAnalysis, result: Analysis) -> None:
    data = result.to_dict()
    row.duration_s = result.duration_s
    row.beats_per_bar = result.beats_per_bar
    row.key = result.key
    row.rhythm_found = {"tempo_bpm": result.tempo_bpm, "beats": data["beats_s"], "downbeats": data["downbeats_s"],
                        "sections": data["sections"]}
    _apply_correction(row, row.song)
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


def _apply_correction(row: SongAnalysis, song: Song) -> None:
    """The row's tempo, beats, downbeats and sections: as found, with the song's correction applied."""
    found = row.rhythm_found or {"tempo_bpm": row.tempo_bpm, "beats": row.beats, "downbeats": row.downbeats,
                                 "sections": row.sections}
    row.rhythm_found = found
    rhythm = correct_rhythm(Rhythm(tempo_bpm=found["tempo_bpm"], beats_s=found["beats"],
                                   downbeats_s=found["downbeats"], sections=found["sections"]),
                            beats_per_bar=row.beats_per_bar, bar_shift=song.bar_shift,
                            tempo=song.tempo_level)  # type: ignore[arg-type]
    row.tempo_bpm, row.beats, row.downbeats = rhythm.tempo_bpm, rhythm.beats_s, rhythm.downbeats_s
    row.sections = rhythm.sections


def song_rhythm_correct(*, song: Song, user: User, bar_shift: int | str, tempo: str) -> Job | None:
    """Say where the song's bars start and which level is its beat, then write the storyboard again.

    Applied to the latest finished analysis at once (and to every later one); the storyboard is
    rebuilt in the latest storyboard's style, keeping the user's edited prompts. A refused request
    changes nothing. Returns the storyboard job, or None where the song has no storyboard yet or
    the correction is the one already applied.
    """
    try:
        shift = int(bar_shift)
    except (TypeError, ValueError):
        shift = -1
    with transaction.atomic():
        locked = Song.objects.select_for_update().get(pk=song.pk)
        analysis = locked.analyses.filter(completed_at__isnull=False).order_by("-created_at").first()
        if analysis is None:
            raise SongStateError("The song has no finished analysis yet.", code="analysis_not_ready")
        if not 0 <= shift < analysis.beats_per_bar:
            raise RhythmCorrectionError(
                f"Say which beat starts the bar: 0 to {analysis.beats_per_bar - 1} beats after where it was found.",
                code="bar_shift_invalid")
        if tempo not in TEMPO_LEVELS:
            raise RhythmCorrectionError(f"Tempo is one of: {', '.join(TEMPO_LEVELS)}.", code="tempo_level_invalid")
        _refuse_if_running(locked)
        if storyboard_job_running(song=locked) is not None:
            raise SongStateError("A storyboard is being written for this song already; wait for it.",
                                 code="storyboard_running")
        if (locked.bar_shift, locked.tempo_level) == (shift, tempo):
            return None                             # already so: nothing to write again
        locked.bar_shift, locked.tempo_level = shift, tempo
        locked.save(update_fields=["bar_shift", "tempo_level"])
        _apply_correction(analysis, locked)
        analysis.save(update_fields=["rhythm_found", "tempo_bpm", "beats", "downbeats", "sections"])
        board = locked.storyboards.order_by("-created_at").first()
        if board is None:
            return None
        return storyboard_request(song=locked, user=user, style=board.style)


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


def _style_check(style: str) -> None:
    if style not in STYLE_PRESETS:
        raise StoryboardError(f"Unknown style '{style}'. Choose one of: {', '.join(STYLE_PRESETS)}.",
                              code="style_unknown")


def storyboard_plan(analysis: Analysis, *, style: str, kept: list[KeptPrompt] | None = None) -> StoryboardPlan:
    """Plan scenes and write prompts (LLM when configured, else templates). May use the network:
    call it from a job, never inside a transaction or a web request. ``kept``: the user's edited
    prompts, put back on the scenes they were written for."""
    _style_check(style)
    writer = writer_from_settings(base_url=settings.MUSICVIDEO_LLM_BASE_URL, model=settings.MUSICVIDEO_LLM_MODEL,
                                  api_key=settings.MUSICVIDEO_LLM_API_KEY,
                                  timeout_s=settings.MUSICVIDEO_LLM_TIMEOUT_S)
    return build_storyboard(analysis, style=style, trigger=settings.MUSICVIDEO_TRIGGER_TOKEN, writer=writer,
                            kept=kept or [])


def edited_prompts(*, song: Song) -> list[KeptPrompt]:
    """The prompts the user edited in the song's latest storyboard: a rebuild must not lose them."""
    latest = song.storyboards.order_by("-created_at").first()
    if latest is None:
        return []
    return [KeptPrompt(start_s=s.start_s, end_s=s.end_s, prompt=s.prompt)
            for s in latest.scenes.filter(prompt_edited=True).order_by("index")]


def storyboard_save(*, analysis: SongAnalysis, plan: StoryboardPlan) -> Storyboard:
    with transaction.atomic():
        row = Storyboard.objects.create(song=analysis.song, analysis=analysis, style=plan.style, trigger=plan.trigger,
                                        writer=plan.writer, warnings=plan.warnings)
        Scene.objects.bulk_create([
            Scene(storyboard=row, index=s.index, start_s=s.start_s, end_s=s.end_s, start_beat=s.start_beat,
                  n_beats=s.n_beats, section=s.section, mood=s.mood, valence=s.valence, arousal=s.arousal,
                  lyric=s.lyric, prompt=s.prompt, prompt_edited=s.prompt_edited)
            for s in plan.scenes])
    return row


STORYBOARD_TASK = "musicvideo.write_storyboard"


def storyboard_job_running(*, song: Song) -> Job | None:
    return (Job.objects.filter(kind=Job.Kind.STORYBOARD, params__song_id=song.pk,
                               status__in=(Job.Status.QUEUED, Job.Status.RUNNING)).order_by("-created_at").first())


def storyboard_request(*, song: Song, user: User, style: str) -> Job:
    """Queue a new storyboard in ``style`` from the song's latest finished analysis."""
    _style_check(style)
    analysis = song.analyses.filter(completed_at__isnull=False).order_by("-created_at").first()
    if analysis is None:
        raise SongStateError("The song has no finished analysis yet.", code="analysis_not_ready")
    with transaction.atomic():
        Song.objects.select_for_update().filter(pk=song.pk).first()
        if storyboard_job_running(song=song) is not None:
            raise SongStateError("A storyboard is being written for this song already; wait for it.",
                                 code="storyboard_running")
        return job_create(user=user, kind=Job.Kind.STORYBOARD, task_name=STORYBOARD_TASK, queue="cpu",
                          params={"song_id": song.pk, "analysis_id": analysis.pk, "style": style},
                          message="Waiting for a worker to write the storyboard")


def storyboard_write_run(*, ctx: JobContext) -> dict[str, Any]:
    """The storyboard job: plan (perhaps with an LLM, outside any transaction), then store."""
    analysis = SongAnalysis.objects.select_related("song").get(pk=ctx.job.params["analysis_id"])
    ctx.progress("storyboard", 0.1, "Writing the scenes")
    plan = storyboard_plan(analysis_result(analysis), style=ctx.job.params["style"],
                           kept=edited_prompts(song=analysis.song))
    ctx.progress("storyboard", 0.9, "Saving the storyboard")
    board = storyboard_save(analysis=analysis, plan=plan)
    return {"song_id": analysis.song_id, "storyboard_id": board.pk, "scenes": len(plan.scenes)}


def scene_prompt_update(*, scene: Scene, prompt: str) -> Scene:
    """Let the user rewrite a scene's prompt in plain words before rendering.

    No token is needed: the renderer puts the adapter's trigger token in front of every prompt
    itself (musicvideo.render.base.prompt_for_person). The edit survives storyboard rebuilds.
    """
    text = " ".join((prompt or "").split())
    if not text:
        raise PromptError("The prompt is empty.", code="prompt_empty")
    if len(text) > settings.MUSICVIDEO_PROMPT_MAX_CHARS:
        raise PromptError(f"Prompts are limited to {settings.MUSICVIDEO_PROMPT_MAX_CHARS} characters.",
                          code="prompt_too_long")
    scene.prompt, scene.prompt_edited = text, True
    scene.save(update_fields=["prompt", "prompt_edited"])
    return scene
