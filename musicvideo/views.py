from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render

from config.uploads import serve_stored
from mediakit.errors import EncoreError
from musicvideo.selectors import songs_visible_to
from musicvideo.services import song_create


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            song = song_create(user=request.user, upload=request.FILES.get("file"),  # type: ignore[arg-type]
                               title=request.POST.get("title", ""))
        except EncoreError as exc:
            messages.error(request, f"{exc.message} ({exc.code})")
            return render(request, "musicvideo/home.html", {"songs": songs_visible_to(user=request.user)}, status=400)
        return redirect("musicvideo:song", song_id=song.pk)
    return render(request, "musicvideo/home.html", {"songs": songs_visible_to(user=request.user)})


@login_required
def song_detail(request: HttpRequest, song_id: int) -> HttpResponse:
    song = get_object_or_404(songs_visible_to(user=request.user), pk=song_id)
    return render(request, "musicvideo/song.html", {"song": song})


@login_required
def song_file(request: HttpRequest, song_id: int) -> HttpResponseBase:
    song = get_object_or_404(songs_visible_to(user=request.user), pk=song_id)
    return serve_stored(name=song.file.name, download_name=song.original_name or None)
