from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max

from config.uploads import accept_upload
from jobs.context import JobContext
from jobs.models import Job
from jobs.ratelimit import rate_limit
from jobs.services import job_create
from mediakit.probe import MediaInfo
from mediakit.progress import scaled
from mediakit.provenance import COMPOSITE_SYNTHETIC, config_from_settings, provenance_apply
from mediakit.validate import MediaLimits, video_limits
from soundtrack.engine import EngineSettings, SoundtrackOptions, score_video
from soundtrack.engine.errors import SoundtrackError
from soundtrack.models import Soundtrack, SourceVideo

TASK_NAME = "soundtrack.score_video"


class SoundtrackNotFound(SoundtrackError):
    code = "not_found"
    http_status = 404


def source_video_limits() -> MediaLimits:
    return video_limits(max_bytes=settings.VIDEO_MAX_BYTES, max_duration_s=settings.VIDEO_MAX_DURATION_S)


def source_video_create(*, user: User, upload: UploadedFile | None, title: str = "") -> SourceVideo:
    """Validate an uploaded video by content, then store it; a refusal leaves no file and no row."""
    rate_limit("upload", user.pk)

    def create_row(info: MediaInfo, original_name: str) -> SourceVideo:
        assert info.video is not None  # validation guarantees a video stream
        return SourceVideo.objects.create(
            user=user, title=(title.strip() or Path(original_name or "video").stem)[:200],
            original_name=original_name[:255], size_bytes=info.size_bytes, duration_s=info.duration_s,
            container=info.container[:60], video_codec=info.video.codec, width=info.video.width,
            height=info.video.height, fps=info.video.fps, has_audio=info.audio is not None)

    return accept_upload(upload=upload, kind="video", limits=source_video_limits(), create_row=create_row,
                         storage_stem=lambda video: f"videos/{user.pk}/{video.pk}/original")


def engine_settings() -> EngineSettings:
    return EngineSettings(
        soundfont=settings.SOUNDTRACK_SOUNDFONT, fluidsynth=settings.SOUNDTRACK_FLUIDSYNTH,
        sample_rate=settings.SOUNDTRACK_SAMPLE_RATE, max_duration_s=settings.VIDEO_MAX_DURATION_S,
        min_duration_s=settings.SOUNDTRACK_MIN_DURATION_S, analysis_max_fps=settings.SOUNDTRACK_ANALYSIS_FPS,
        analysis_max_side=settings.SOUNDTRACK_ANALYSIS_MAX_SIDE, target_rms_db=settings.SOUNDTRACK_TARGET_RMS_DB,
        duck_db=settings.SOUNDTRACK_DUCK_DB, render_processes=settings.SOUNDTRACK_RENDER_PROCESSES,
        musicgen_model=settings.SOUNDTRACK_MUSICGEN_MODEL,
        musicgen_device=settings.SOUNDTRACK_MUSICGEN_DEVICE)


def soundtrack_create(*, user: User, video: SourceVideo, genre: str = "auto", energy: int = 3,
                      mix: str = "replace", seed: int | None = None) -> Soundtrack:
    """Queue a new take of music for ``video``; refusals create nothing.

    Without a seed the take gets one no earlier take of this video used, so "another take" always
    sounds different; with a seed the same options give the same music.
    """
    if video.user_id != user.pk:
        raise SoundtrackNotFound("No such video.")
    options = SoundtrackOptions(genre=genre, energy=energy, seed=seed or 0, mix=mix)  # type: ignore[arg-type]
    options.validate()
    if seed is not None and seed < 0:
        raise SoundtrackError("The seed must be 0 or more.", code="bad_option")
    if video.duration_s < settings.SOUNDTRACK_MIN_DURATION_S:
        raise SoundtrackError(f"The video lasts {video.duration_s:.2f} s; a soundtrack needs at least "
                              f"{settings.SOUNDTRACK_MIN_DURATION_S:.0f} s.", code="video_too_short")
    if video.duration_s > settings.VIDEO_MAX_DURATION_S:
        raise SoundtrackError(f"The video lasts {video.duration_s:.0f} s; the limit is "
                              f"{settings.VIDEO_MAX_DURATION_S:.0f} s.", code="video_too_long")
    with transaction.atomic():
        # Locks the video row so that two takes asked for at once get different numbers.
        SourceVideo.objects.select_for_update().filter(pk=video.pk).first()
        taken = Soundtrack.objects.filter(video=video).aggregate(take=Max("take"), seed=Max("seed"))
        take = (taken["take"] or 0) + 1
        if seed is None:
            seed = 0 if taken["seed"] is None else taken["seed"] + 1
        job = job_create(user=user, kind=Job.Kind.SOUNDTRACK, task_name=TASK_NAME, queue="cpu",
                         params={"video_id": video.pk, "take": take})
        return Soundtrack.objects.create(user=user, video=video, job=job, take=take, genre=genre, energy=energy,
                                         seed=seed, mix=mix)


def soundtrack_another_take(*, user: User, soundtrack: Soundtrack) -> Soundtrack:
    return soundtrack_create(user=user, video=soundtrack.video, genre=soundtrack.genre, energy=soundtrack.energy,
                             mix=soundtrack.mix)


def soundtrack_run(*, ctx: JobContext) -> dict[str, Any]:
    """The job's work: score the video, store the three outputs, fill in the row. Safe to run twice."""
    soundtrack = Soundtrack.objects.select_related("video").get(job=ctx.job)
    options = SoundtrackOptions(genre=soundtrack.genre, energy=soundtrack.energy, seed=soundtrack.seed,
                                mix=soundtrack.mix)  # type: ignore[arg-type]
    with ctx.local_copy(soundtrack.video.file.name) as source:
        outputs = score_video(source, ctx.work_dir / "engine", options=options, settings=engine_settings(),
                              progress=ctx.progress)
    # Generated files carry provenance: the job id in the video's pixels, then a signed C2PA manifest
    # on the video and the music (the user's own footage + generated music: compositeSynthetic).
    provenance_apply([outputs.video, outputs.audio], job_id=ctx.job.pk, consent_record_id=None,
                     config=config_from_settings(settings), digital_source_type=COMPOSITE_SYNTHETIC,
                     progress=scaled(ctx.progress, 1.0, 1.0))
    prefix = f"soundtracks/{soundtrack.user_id}/{soundtrack.pk}"
    video_name = ctx.store_output(outputs.video, f"{prefix}/soundtrack.mp4")
    audio_name = ctx.store_output(outputs.audio, f"{prefix}/music.wav")
    midi_name = ctx.store_output(outputs.midi, f"{prefix}/music.mid") if outputs.midi else ""
    summary = outputs.summary
    Soundtrack.objects.filter(pk=soundtrack.pk).update(
        video_file=video_name, audio_file=audio_name, midi_file=midi_name, backend=summary.backend,
        tempo_bpm=summary.music.tempo_bpm, key=summary.music.key, beat_hit_rate=summary.alignment.hit_rate)
    return summary.as_dict()
