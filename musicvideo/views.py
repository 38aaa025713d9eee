from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from config.uploads import serve_stored
from mediakit.errors import EncoreError
from musicvideo.audio.correction import TEMPO_LABELS
from musicvideo.models import Song
from musicvideo.selectors import analysis_latest, songs_visible_to, storyboard_latest
from musicvideo.services import (
    song_analysis_start,
    song_create,
    song_lyrics_set,
    song_rhythm_correct,
    storyboard_job_running,
    storyboard_request,
)
from musicvideo.storyboard import STYLE_PRESETS

# What each analysis warning means to the person looking at the page.
WARNING_TEXT = {
    "no_clear_beat": "We could not hear a steady beat, so scenes are cut on an even 120 BPM grid.",
    "unclear_bar": "Where each bar starts is a close call in this song, so cuts on bar lines may land a beat or two off. "
                   "If they do, say where the bars start, under the timeline.",
    "unclear_tempo": "The beat of this song can be heard at another speed almost as well. If the scenes change too fast "
                     "or too slow, say how fast the beat is, under the timeline.",
    "no_vocals": "No sung words were heard: scenes follow the music and its mood only.",
    "lyrics_mismatch": "The lyrics you gave do not match what is sung; their timing is only approximate.",
    "no_vocals_heard": "No singing was heard, so your lyrics are spread evenly over the song.",
}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            song = song_create(user=request.user, upload=request.FILES.get("file"),  # type: ignore[arg-type]
                               title=request.POST.get("title", ""), lyrics_text=request.POST.get("lyrics", ""),
                               lrc_upload=request.FILES.get("lrc"), analyse=True)
        except EncoreError as exc:
            messages.error(request, exc.message, extra_tags=f"code-{exc.code}")
            return render(request, "musicvideo/home.html", {"songs": songs_visible_to(user=request.user)}, status=400)
        return redirect("musicvideo:song", song_id=song.pk)
    return render(request, "musicvideo/home.html", {"songs": songs_visible_to(user=request.user)})


def _song(request: HttpRequest, song_id: int) -> Song:
    return get_object_or_404(songs_visible_to(user=request.user), pk=song_id)


@login_required
def song_detail(request: HttpRequest, song_id: int) -> HttpResponse:
    song = _song(request, song_id)
    analysis = analysis_latest(song=song)
    board = storyboard_latest(song=song)
    warnings = [WARNING_TEXT.get(code, code) for code in (analysis.warnings if analysis else [])]
    return render(request, "musicvideo/song.html", {
        "song": song, "analysis": analysis, "storyboard": board, "styles": sorted(STYLE_PRESETS),
        "warnings": warnings, "scenes": list(board.scenes.all()) if board else [],
        "storyboard_job": storyboard_job_running(song=song),
        "bar_shift_choices": _bar_shift_choices(analysis.beats_per_bar if analysis else 4),
        "tempo_choices": list(TEMPO_LABELS.items()),
    })


def _bar_shift_choices(beats_per_bar: int) -> list[tuple[int, str]]:
    return [(0, "where we found them"), *((k, f"{k} beat{'s' if k > 1 else ''} later") for k in range(1, beats_per_bar))]


@login_required
def song_file(request: HttpRequest, song_id: int) -> HttpResponseBase:
    song = _song(request, song_id)
    return serve_stored(name=song.file.name, download_name=song.original_name or None)


@login_required
@require_POST
def song_analyse(request: HttpRequest, song_id: int) -> HttpResponse:
    song = _song(request, song_id)
    try:
        song_analysis_start(song=song, user=request.user)  # type: ignore[arg-type]
    except EncoreError as exc:
        messages.error(request, exc.message, extra_tags=f"code-{exc.code}")
    return redirect("musicvideo:song", song_id=song.pk)


@login_required
@require_POST
def song_lyrics(request: HttpRequest, song_id: int) -> HttpResponse:
    song = _song(request, song_id)
    try:
        song_lyrics_set(song=song, user=request.user, text=request.POST.get("lyrics", ""),  # type: ignore[arg-type]
                        lrc_upload=request.FILES.get("lrc"))
    except EncoreError as exc:
        messages.error(request, exc.message, extra_tags=f"code-{exc.code}")
    return redirect("musicvideo:song", song_id=song.pk)


@login_required
@require_POST
def song_rhythm(request: HttpRequest, song_id: int) -> HttpResponse:
    song = _song(request, song_id)
    before = (song.bar_shift, song.tempo_level)
    try:
        job = song_rhythm_correct(song=song, user=request.user,  # type: ignore[arg-type]
                                  bar_shift=request.POST.get("bar_shift", ""), tempo=request.POST.get("tempo", ""))
    except EncoreError as exc:
        messages.error(request, exc.message, extra_tags=f"code-{exc.code}")
        return redirect(f"{song_url(song)}#beat")
    song.refresh_from_db(fields=["bar_shift", "tempo_level"])
    if (song.bar_shift, song.tempo_level) == before:
        messages.info(request, "Beats and bars are already so.")
    else:
        messages.success(request, "Beats and bars updated." + (" The storyboard is being written again on them; "
                                                               "your edited prompts are kept." if job else ""))
    return redirect(f"{song_url(song)}#beat")


@login_required
@require_POST
def song_storyboard(request: HttpRequest, song_id: int) -> HttpResponse:
    song = _song(request, song_id)
    try:
        storyboard_request(song=song, user=request.user, style=request.POST.get("style", ""))  # type: ignore[arg-type]
    except EncoreError as exc:
        messages.error(request, exc.message, extra_tags=f"code-{exc.code}")
    return redirect(f"{song_url(song)}#storyboard")


def song_url(song: Song) -> str:
    return reverse("musicvideo:song", kwargs={"song_id": song.pk})
