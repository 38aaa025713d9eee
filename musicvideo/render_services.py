"""Music videos (issue 11): create a render job, run it, delete videos, erase them with consent.

The job's run function translates rows into the render engine's plain values
(``musicvideo.render``) and stores what comes back: a preview first, a thumbnail per finished
scene as it is done, then the final video, watermarked in its pixels and signed (C2PA).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.db import transaction

from charcha.models import ConsentRecord
from charcha.services import consent_require_active, frame_bytes_for_training
from jobs.context import JobContext
from jobs.errors import JobStateError
from jobs.models import Job
from jobs.services import job_cancel, job_create
from musicvideo.errors import VideoError
from musicvideo.models import MusicVideo, Song, SongAnalysis, Storyboard
from musicvideo.render.base import (
    RENDERER_NAMES,
    Person,
    RenderEnv,
    RenderSettings,
    choose_renderer,
    renderer_family,
    renderer_for,
    renderer_ready,
    strip_trigger,
)
from musicvideo.storyboard import STYLE_PRESETS
from personalize.models import Adapter
from personalize.services import adapter_local_path

logger = logging.getLogger(__name__)

RENDER_TASK = "musicvideo.render_video"
RUNNING = (Job.Status.QUEUED, Job.Status.RUNNING)


# ------------------------------------------------------------------------------------ settings
def render_env() -> RenderEnv:
    return RenderEnv(device=settings.MUSICVIDEO_RENDER_DEVICE, weights=dict(settings.MUSICVIDEO_RENDER_WEIGHTS),
                     compile=settings.MUSICVIDEO_RENDER_COMPILE)


def render_settings(*, style: str, seed: int) -> RenderSettings:
    return RenderSettings(width=settings.MUSICVIDEO_RENDER_WIDTH, height=settings.MUSICVIDEO_RENDER_HEIGHT,
                          fps=settings.MUSICVIDEO_RENDER_FPS, seed=seed, style=style)


# ------------------------------------------------------------------------------------ create
def _clean_prompts(prompts: dict[int, str] | None, indices: set[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for raw_index, raw in (prompts or {}).items():
        index = int(raw_index)
        if index not in indices:
            raise VideoError(f"The storyboard has no scene {index + 1}.", code="prompt_invalid")
        text = " ".join(str(raw or "").split())
        if not text:
            raise VideoError(f"The prompt of scene {index + 1} is empty.", code="prompt_empty")
        if len(text) > settings.MUSICVIDEO_PROMPT_MAX_CHARS:
            raise VideoError(f"Prompts are limited to {settings.MUSICVIDEO_PROMPT_MAX_CHARS} characters.",
                             code="prompt_too_long")
        out[index] = text
    return out


def _scenes_snapshot(board: Storyboard, prompts: dict[int, str]) -> list[dict[str, Any]]:
    return [{"index": s.index, "start_s": s.start_s, "end_s": s.end_s, "n_beats": s.n_beats, "section": s.section,
             "mood": s.mood, "valence": s.valence, "arousal": s.arousal, "lyric": s.lyric,
             "prompt": prompts.get(s.index) or strip_trigger(s.prompt, board.trigger)}
            for s in board.scenes.order_by("index")]


def music_video_create(*, user: User, song: Song, style: str | None = None, renderer: str = "auto",
                       prompts: dict[int, str] | None = None, adapter: Adapter | None = None) -> MusicVideo:
    """Queue a render of the song's latest storyboard with the user's consented likeness.

    The person is the active consent's frames (the compositor) and, when given, a trained
    adapter made under that consent (the diffusion renderers). Refusals (nothing is created):
    another user's song or adapter, no finished analysis or storyboard, no active consent, an
    adapter not ready or from another consent, an unknown style or renderer, a renderer that
    cannot run here, empty or too-long prompts, a render of this song already under way.
    ``prompts`` are plain words per scene index (no trigger token: the renderer adds it).
    """
    if song.user_id != user.pk:
        raise VideoError("This song is not yours.", code="song_state", http_status=404)
    style = style or settings.MUSICVIDEO_DEFAULT_STYLE
    if style not in STYLE_PRESETS:
        raise VideoError(f"Unknown style '{style}'. Choose one of: {', '.join(STYLE_PRESETS)}.", code="style_unknown")
    if renderer not in RENDERER_NAMES:
        raise VideoError(f"Unknown renderer '{renderer}'. Choose one of: {', '.join(RENDERER_NAMES)}.",
                         code="renderer_unknown")
    analysis = song.analyses.filter(completed_at__isnull=False).order_by("-created_at").first()
    if analysis is None:
        raise VideoError("The song has no finished analysis yet.", code="analysis_not_ready", http_status=409)
    board = song.storyboards.order_by("-created_at").first()
    if board is None or not board.scenes.exists():
        raise VideoError("The song has no storyboard to render yet.", code="storyboard_missing", http_status=409)
    consent = consent_require_active(user=user)
    if adapter is not None:
        if adapter.user_id != user.pk:
            raise VideoError("This adapter is not yours.", code="adapter_invalid", http_status=404)
        if adapter.status != Adapter.Status.READY:
            raise VideoError("This adapter has not finished training.", code="adapter_not_ready", http_status=409)
        if adapter.consent_id != consent.pk:
            raise VideoError("This adapter was trained under a consent that has ended.", code="adapter_invalid")
    # A diffusion renderer asked for by name must be able to run on this installation's workers
    # with this adapter; `auto` resolves on the worker (the compositor when nothing else can run).
    wanted = Person(frames=(np.zeros((1, 1, 3), np.uint8),), adapter_path=Path("adapter.safetensors") if adapter else None,
                    family=adapter.family if adapter else None)
    if (renderer != "auto" and renderer_family(renderer) is not None
            and not renderer_ready(renderer, env=render_env(), person=wanted)):
        raise VideoError(f"The '{renderer}' renderer needs a trained adapter of its family, its model weights "
                         "and a GPU; use 'auto' or 'compositor'.", code="renderer_unavailable")
    clean = _clean_prompts(prompts, set(board.scenes.values_list("index", flat=True)))
    with transaction.atomic():
        Song.objects.select_for_update().filter(pk=song.pk).first()
        if MusicVideo.objects.filter(song=song, job__status__in=RUNNING).exists():
            raise VideoError("A video of this song is being rendered already; wait for it or cancel it.",
                             code="render_running", http_status=409)
        # Diffusion renders go to the GPU workers; the compositor runs on any CPU worker.
        queue = "cpu" if choose_renderer(renderer, env=render_env(), person=wanted) == "compositor" else "gpu"
        job = job_create(user=user, kind=Job.Kind.RENDER, task_name=RENDER_TASK, queue=queue, params={},
                         message="Waiting for a worker to render your video")
        video = MusicVideo.objects.create(
            user=user, song=song, storyboard=board, consent=consent, adapter=adapter, job=job, style=style,
            renderer=renderer,
            scenes=_scenes_snapshot(board, clean), width=settings.MUSICVIDEO_RENDER_WIDTH,
            height=settings.MUSICVIDEO_RENDER_HEIGHT, fps=settings.MUSICVIDEO_RENDER_FPS)
        Job.objects.filter(pk=job.pk).update(params={"video_id": video.pk})
    job.refresh_from_db()
    return video


# ------------------------------------------------------------------------------------ the job
def consent_person(*, consent: ConsentRecord) -> Person:
    """The consent's kept frames, decrypted and decoded to RGB (refused once the consent ended)."""
    frames: list[np.ndarray] = []
    for _, data in frame_bytes_for_training(consent=consent):
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if bgr is not None:
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    if not frames:
        raise VideoError("Your consent has no frames to show you with.", code="person_no_frames")
    return Person(frames=tuple(frames), trigger=settings.MUSICVIDEO_TRIGGER_TOKEN)


def _analysis_for(video: MusicVideo) -> SongAnalysis:
    analysis = (video.storyboard.analysis if video.storyboard is not None
                else video.song.analyses.filter(completed_at__isnull=False).order_by("-created_at").first())
    if analysis is None or not analysis.is_complete:
        raise VideoError("The song has no finished analysis.", code="analysis_not_ready")
    return analysis


def _marker_and_signer(video: MusicVideo) -> tuple[Any, Any]:
    """Provenance (mediakit): the watermark hook for assembly and the signer for the final file."""
    from mediakit import provenance, watermark

    config = provenance.config_from_settings(settings)
    # A frame too small to carry the mark (a tiny render setting) is signed but not marked.
    marker = (watermark.FrameMarker(watermark.job_watermark_id(video.job_id))
              if config.watermark and watermark.can_carry(video.width, video.height) else None)

    def sign(path: Path) -> dict[str, Any]:
        claims = provenance.Claims(job_id=str(video.job_id), consent_record_id=str(video.consent_id),
                                   digital_source_type=provenance.TRAINED_ALGORITHMIC_MEDIA
                                   if video.renderer_used not in ("compositor", "") else provenance.COMPOSITE_SYNTHETIC,
                                   extra={"renderer": video.renderer_used, "song_id": video.song_id,
                                          "video_id": video.pk})
        provenance.sign_file(path, claims=claims, identity=config.identity(), generator=config.generator,
                             generator_version=config.generator_version)
        return {"signed": True, "watermark_id": f"{marker.payload:016x}" if marker is not None else None,
                "frames_marked": marker.frames_marked if marker is not None else 0}

    return marker, sign


def music_video_render_run(*, ctx: JobContext) -> dict[str, Any]:
    """The render job: person + storyboard + song -> preview, scene thumbnails, signed video."""
    video = MusicVideo.objects.select_related("song", "consent", "adapter", "storyboard__analysis").get(
        pk=ctx.job.params["video_id"])
    analysis = _analysis_for(video)
    ctx.progress("prepare", 0.0, "Getting your consented frames")
    env = render_env()
    person = consent_person(consent=video.consent)
    adapter = video.adapter
    if adapter is not None:
        person = replace(person, adapter_path=Path("adapter.safetensors"), trigger=adapter.trigger,
                         family=adapter.family)
    chosen = choose_renderer(video.renderer, env=env, person=person)
    with contextlib.ExitStack() as stack:
        if adapter is not None and renderer_family(chosen) is not None:
            # The decrypted LoRA exists on local disk only while this render runs, and only for
            # renderers that use it.
            person = replace(person, adapter_path=stack.enter_context(adapter_local_path(adapter=adapter)))
        return _render(ctx, video, analysis, person, env, chosen)


def _render(ctx: JobContext, video: MusicVideo, analysis: SongAnalysis, person: Person, env: RenderEnv,
            chosen: str) -> dict[str, Any]:
    from musicvideo.render.assemble import assemble_video
    from musicvideo.render.scenes import caption_lines, scene_specs

    renderer = ctx.models.get(("renderer", chosen, env.device), lambda: renderer_for(chosen, env=env, person=person))
    MusicVideo.objects.filter(pk=video.pk).update(renderer_used=chosen, scenes_done=[], preview="", video="")
    video.renderer_used = chosen
    words = [_Word(w["text"], w["start_s"], w["end_s"]) for w in analysis.words]
    specs = scene_specs([_Row(s) for s in video.scenes], beats_s=analysis.beats, downbeats_s=analysis.downbeats,
                        words=words)
    captions = caption_lines(words, [(ln["first_word"], ln["n_words"]) for ln in analysis.lines])
    prefix = video.storage_prefix
    done: list[dict[str, Any]] = []

    def on_preview(path: Path) -> None:
        name = ctx.store_output(path, prefix + "preview.mp4")
        MusicVideo.objects.filter(pk=video.pk).update(preview=name)

    def on_scene(index: int, path: Path) -> None:
        name = ctx.store_output(path, prefix + f"scenes/{index:03d}.jpg")
        done.append({"index": index, "thumb": name})
        MusicVideo.objects.filter(pk=video.pk).update(scenes_done=list(done))

    marker, sign = _marker_and_signer(video)
    seed = int(video.pk)
    with ctx.local_copy(video.song.file.name) as song_path:
        result = assemble_video(
            ctx.work_dir / "video.mp4", scenes=specs, renderer=renderer, person=person,
            settings=render_settings(style=video.style, seed=seed), song_path=song_path, captions=captions,
            preview_path=ctx.work_dir / "preview.mp4" if settings.MUSICVIDEO_RENDER_PREVIEW else None,
            on_preview=on_preview, on_scene=on_scene, scene_dir=ctx.work_dir / "scenes", marker=marker,
            crf=settings.MUSICVIDEO_RENDER_CRF, preset=settings.MUSICVIDEO_RENDER_PRESET,
            progress=ctx.progress)
    ctx.progress("sign", 0.99, "Signing the video")
    provenance = sign(result.path)
    name = ctx.store_output(result.path, prefix + "video.mp4")
    MusicVideo.objects.filter(pk=video.pk).update(video=name, duration_s=result.duration_s, provenance=provenance)
    return {"video_id": video.pk, "renderer": chosen, "n_frames": result.n_frames, "fps": result.fps,
            "duration_s": round(result.duration_s, 3), "cut_frames": result.cut_frames,
            "frames_marked": result.frames_marked, "timings_s": result.timings_s, **provenance}


class _Word:
    def __init__(self, text: str, start_s: float, end_s: float) -> None:
        self.text, self.start_s, self.end_s = text, float(start_s), float(end_s)


class _Row:
    """A stored scene snapshot (dict) with the attributes scene_specs reads."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.index = int(data["index"])
        self.start_s, self.end_s = float(data["start_s"]), float(data["end_s"])
        self.section, self.mood = str(data["section"]), str(data["mood"])
        self.valence, self.arousal = float(data["valence"]), float(data["arousal"])
        self.lyric, self.prompt = str(data.get("lyric", "")), str(data["prompt"])


# ------------------------------------------------------------------------------------ delete, erase
def _stored_names(video: MusicVideo) -> list[str]:
    names = [video.video.name, video.preview.name] + [d.get("thumb", "") for d in video.scenes_done]
    return [n for n in names if n]


def _delete_prefix(prefix: str) -> None:
    """Delete every stored file under ``prefix`` (a render that was running may have added more)."""
    try:
        dirs, files = default_storage.listdir(prefix)
    except (FileNotFoundError, NotImplementedError):
        return
    for f in files:
        default_storage.delete(prefix + f)
    for d in dirs:
        _delete_prefix(prefix + d + "/")


def music_video_delete(*, video: MusicVideo, by: User) -> None:
    """Delete a video: its render is cancelled if running, then the row and every stored file."""
    if by.pk != video.user_id:
        raise VideoError("This video is not yours.", code="render_failed", http_status=404)
    _erase(video)


def _erase(video: MusicVideo) -> None:
    job = video.job
    if not job.is_finished:
        with contextlib.suppress(JobStateError):  # it may have ended meanwhile
            job_cancel(job=job, by=None)
    names, prefix = _stored_names(video), video.storage_prefix
    with transaction.atomic():
        video.delete()
        Job.objects.filter(pk=job.pk, status__in=Job.FINISHED).delete()

    def remove() -> None:
        for name in names:
            if default_storage.exists(name):
                default_storage.delete(name)
        _delete_prefix(prefix)

    transaction.on_commit(remove)


def music_videos_erase_for_consent(*, user: User, consent: ConsentRecord, reason: str) -> int:
    """Erasure hook ``musicvideo.videos``: every video made under this consent, files included."""
    count = 0
    for video in MusicVideo.objects.filter(consent=consent).select_related("job"):
        _erase(video)
        count += 1
    return count
