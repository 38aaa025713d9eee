from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from accounts.wording import upload_error
from config.uploads import serve_stored
from mediakit.errors import EncoreError
from soundtrack.forms import SoundtrackOptionsForm
from soundtrack.models import SourceVideo
from soundtrack.selectors import soundtracks_visible_to, source_videos_visible_to
from soundtrack.services import soundtrack_another_take, soundtrack_create, source_video_create

# kind -> (field, suffix, content type). The type is set here because the system's MIME table varies
# (Debian's calls .mid "audio/sp-midi", which browsers do not offer to open).
DOWNLOADS = {"video": ("video_file", ".mp4", "video/mp4"), "audio": ("audio_file", ".wav", "audio/wav"),
             "midi": ("midi_file", ".mid", "audio/midi")}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    videos = source_videos_visible_to(user=request.user)
    context: dict[str, Any] = {"videos": videos, "soundtracks": soundtracks_visible_to(user=request.user)[:8]}
    if request.method == "POST":
        try:
            video = source_video_create(user=request.user, upload=request.FILES.get("file"),  # type: ignore[arg-type]
                                        title=request.POST.get("title", ""))
        except EncoreError as exc:
            # The refusal goes next to the file field, in plain words naming the file; the title stays.
            upload = request.FILES.get("file")
            name = upload.name if upload is not None and upload.name else ""
            context.update({"file_error": upload_error(exc, kind="video", name=name),
                            "title": request.POST.get("title", ""), "chosen": name})
            return render(request, "soundtrack/home.html", context, status=400)
        return redirect("soundtrack:video", video_id=video.pk)
    return render(request, "soundtrack/home.html", context)


def _video_page(request: HttpRequest, video: SourceVideo, form: SoundtrackOptionsForm, status: int = 200) -> HttpResponse:
    takes = soundtracks_visible_to(user=request.user).filter(video=video)
    return render(request, "soundtrack/video.html", {"video": video, "form": form, "takes": takes}, status=status)


@login_required
def video_detail(request: HttpRequest, video_id: int) -> HttpResponse:
    video = get_object_or_404(source_videos_visible_to(user=request.user), pk=video_id)
    return _video_page(request, video, SoundtrackOptionsForm())


@login_required
def video_file(request: HttpRequest, video_id: int) -> HttpResponseBase:
    video = get_object_or_404(source_videos_visible_to(user=request.user), pk=video_id)
    return serve_stored(name=video.file.name, download_name=video.original_name or None)


@login_required
@require_POST
def soundtrack_new(request: HttpRequest, video_id: int) -> HttpResponse:
    video = get_object_or_404(source_videos_visible_to(user=request.user), pk=video_id)
    form = SoundtrackOptionsForm(request.POST)
    if not form.is_valid():
        return _video_page(request, video, form, status=400)
    try:
        soundtrack = soundtrack_create(user=request.user, video=video, **form.cleaned_data)  # type: ignore[arg-type]
    except EncoreError as exc:
        form.add_error(None, exc.message)
        return _video_page(request, video, form, status=400)
    return redirect("soundtrack:detail", soundtrack_id=soundtrack.pk)


@login_required
def soundtrack_detail(request: HttpRequest, soundtrack_id: int) -> HttpResponse:
    soundtrack = get_object_or_404(soundtracks_visible_to(user=request.user), pk=soundtrack_id)
    summary = soundtrack.job.result if soundtrack.job.status == "succeeded" else None
    return render(request, "soundtrack/soundtrack.html", {"soundtrack": soundtrack, "video": soundtrack.video,
                                                          "job": soundtrack.job, "summary": summary})


@login_required
@require_POST
def soundtrack_take(request: HttpRequest, soundtrack_id: int) -> HttpResponse:
    soundtrack = get_object_or_404(soundtracks_visible_to(user=request.user), pk=soundtrack_id)
    try:
        take = soundtrack_another_take(user=request.user, soundtrack=soundtrack)  # type: ignore[arg-type]
    except EncoreError as exc:
        messages.error(request, exc.message)
        return redirect("soundtrack:detail", soundtrack_id=soundtrack.pk)
    return redirect("soundtrack:detail", soundtrack_id=take.pk)


@login_required
def soundtrack_download(request: HttpRequest, soundtrack_id: int, kind: str) -> HttpResponseBase:
    soundtrack = get_object_or_404(soundtracks_visible_to(user=request.user), pk=soundtrack_id)
    if kind not in DOWNLOADS:
        raise Http404("No such download")
    field, suffix, content_type = DOWNLOADS[kind]
    name = getattr(soundtrack, field).name
    stem = slugify(soundtrack.video.title) or "video"
    # The name says what it is wherever the file ends up (the page shows the same label).
    response = serve_stored(name=name, download_name=f"{stem}-take{soundtrack.take}-ai-generated-music{suffix}",
                            as_attachment=request.GET.get("download") == "1")
    if isinstance(response, FileResponse):
        response["Content-Type"] = content_type
    return response
