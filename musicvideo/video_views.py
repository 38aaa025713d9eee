"""Pages for music videos: make one from a song, watch it render, play, download, delete."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from charcha.services import consent_active
from config.uploads import serve_stored
from mediakit.errors import EncoreError
from musicvideo.errors import VideoError
from musicvideo.models import MusicVideo, Song
from musicvideo.render.base import strip_trigger
from musicvideo.render_services import music_video_create, music_video_delete
from musicvideo.selectors import analysis_latest_complete, songs_visible_to, storyboard_latest
from musicvideo.storyboard import STYLE_PRESETS
from personalize.models import Adapter

RENDERER_CHOICES = (("auto", "Best available here"), ("compositor", "Compositor (your consent's frames)"),
                    ("keyframes", "Keyframes (adapter, GPU)"), ("animatediff", "AnimateDiff (adapter, GPU)"),
                    ("wan", "Wan 2.1 (adapter, GPU)"))


def _video(request: HttpRequest, video_id: int) -> MusicVideo:
    if not request.user.is_authenticated:
        raise Http404
    return get_object_or_404(MusicVideo.objects.select_related("song", "job"), pk=video_id, user=request.user)


@login_required
def video_new(request: HttpRequest, song_id: int) -> HttpResponse:
    """Choose style, person and renderer, edit the scene prompts in plain words, start the render."""
    song: Song = get_object_or_404(songs_visible_to(user=request.user), pk=song_id)
    board = storyboard_latest(song=song)
    scenes = list(board.scenes.all()) if board else []
    status = 200
    if request.method == "POST":
        prompts = {s.index: request.POST.get(f"prompt-{s.index}", "") for s in scenes
                   if f"prompt-{s.index}" in request.POST}
        chosen = request.POST.get("person", "")
        try:
            adapter = _adapter(request, chosen) if chosen else None
            video = music_video_create(user=request.user, song=song,  # type: ignore[arg-type]
                                       style=request.POST.get("style", ""), renderer=request.POST.get("renderer", "auto"),
                                       prompts=prompts, adapter=adapter)
        except EncoreError as exc:
            messages.error(request, exc.message, extra_tags=f"code-{exc.code}")
            status = 400
        else:
            return redirect("musicvideo:video", video_id=video.pk)
    rows = [{"index": s.index, "start_s": s.start_s, "end_s": s.end_s, "section": s.section, "mood": s.mood,
             "lyric": s.lyric, "prompt": request.POST.get(f"prompt-{s.index}") or strip_trigger(s.prompt, board.trigger if board else None)}
            for s in scenes]
    return render(request, "musicvideo/video_new.html", {
        "song": song, "storyboard": board, "scenes": rows, "analysis": analysis_latest_complete(song=song),
        "consent": consent_active(user=request.user),  # type: ignore[arg-type]
        "styles": sorted(STYLE_PRESETS), "style": request.POST.get("style") or (board.style if board else settings.MUSICVIDEO_DEFAULT_STYLE),
        "renderers": RENDERER_CHOICES, "renderer": request.POST.get("renderer", "auto"),
        "adapters": Adapter.objects.filter(user=request.user, status=Adapter.Status.READY,  # type: ignore[misc]
                                           consent__withdrawn_at__isnull=True),
        "person": request.POST.get("person", ""),
    }, status=status)


def _adapter(request: HttpRequest, adapter_id: str) -> Adapter:
    try:
        return Adapter.objects.get(pk=uuid.UUID(adapter_id), user=request.user)  # type: ignore[misc]
    except (ValueError, Adapter.DoesNotExist):
        raise VideoError("No such adapter.", code="adapter_invalid", http_status=404) from None


@login_required
def video_detail(request: HttpRequest, video_id: int) -> HttpResponse:
    video = _video(request, video_id)
    return render(request, "musicvideo/video.html", {"video": video, "job": video.job})


@login_required
def video_file(request: HttpRequest, video_id: int) -> HttpResponseBase:
    video = _video(request, video_id)
    download = request.GET.get("download") == "1"
    name = f"{video.song.title or 'music video'} - Encore.mp4"
    return serve_stored(name=video.video.name, download_name=name, as_attachment=download)


@login_required
def video_preview(request: HttpRequest, video_id: int) -> HttpResponseBase:
    return serve_stored(name=_video(request, video_id).preview.name)


@login_required
def video_scene(request: HttpRequest, video_id: int, index: int) -> HttpResponseBase:
    video = _video(request, video_id)
    for done in video.scenes_done:
        if int(done["index"]) == index:
            return serve_stored(name=done["thumb"])
    raise Http404("That scene is not rendered yet.")


@login_required
@require_POST
def video_delete(request: HttpRequest, video_id: int) -> HttpResponse:
    video = _video(request, video_id)
    song_id = video.song_id
    music_video_delete(video=video, by=request.user)  # type: ignore[arg-type]
    messages.success(request, "The video and all its files are deleted.")
    return redirect("musicvideo:song", song_id=song_id)
