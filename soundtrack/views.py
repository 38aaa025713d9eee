from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render

from config.uploads import serve_stored
from mediakit.errors import EncoreError
from soundtrack.selectors import source_videos_visible_to
from soundtrack.services import source_video_create


@login_required
def home(request: HttpRequest) -> HttpResponse:
    videos = source_videos_visible_to(user=request.user)
    if request.method == "POST":
        try:
            video = source_video_create(user=request.user, upload=request.FILES.get("file"),  # type: ignore[arg-type]
                                        title=request.POST.get("title", ""))
        except EncoreError as exc:
            messages.error(request, f"{exc.message} ({exc.code})")
            return render(request, "soundtrack/home.html", {"videos": videos}, status=400)
        return redirect("soundtrack:video", video_id=video.pk)
    return render(request, "soundtrack/home.html", {"videos": videos})


@login_required
def video_detail(request: HttpRequest, video_id: int) -> HttpResponse:
    video = get_object_or_404(source_videos_visible_to(user=request.user), pk=video_id)
    return render(request, "soundtrack/video.html", {"video": video})


@login_required
def video_file(request: HttpRequest, video_id: int) -> HttpResponseBase:
    video = get_object_or_404(source_videos_visible_to(user=request.user), pk=video_id)
    return serve_stored(name=video.file.name, download_name=video.original_name or None)
