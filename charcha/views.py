"""CHARCHA pages: the consent overview, the capture page, notices, one-click withdrawal."""

from __future__ import annotations

import uuid

from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from charcha.errors import ConsentError
from charcha.models import Challenge, ConsentRecord
from charcha.notices import NoticeError, notice_current, notice_get
from charcha.selectors import consent_records_of
from charcha.services import (
    challenge_lockout_until,
    consent_active,
    consent_picture_bytes,
    consent_picture_delete,
    consent_pictures,
    consent_verify,
    consent_withdraw,
    precheck_warm_up,
)
from charcha.web import request_user as _me


@login_required
def home(request: HttpRequest) -> HttpResponse:
    records = list(consent_records_of(user=_me(request)))
    return render(request, "charcha/home.html", {
        "records": [(record, consent_verify(consent=record)) for record in records],
        "active": consent_active(user=_me(request)),
        "locked_until": challenge_lockout_until(user=_me(request)),
        "verifying": Challenge.objects.filter(user_id=_me(request).pk, state=Challenge.State.VERIFYING).exists(),
    })


@login_required
def capture(request: HttpRequest) -> HttpResponse:
    active = consent_active(user=_me(request))
    if active is not None:
        messages.info(request, "You already have an active consent. Withdraw it first to record a new one.")
        return redirect("charcha:home")
    notice = notice_current()
    precheck_warm_up()  # the face-in-frame check's detector loads while the person reads the notice
    null_id = "00000000-0000-0000-0000-000000000000"
    config = {
        "noticeVersion": notice.version,
        "noticeSha256": notice.sha256,
        "csrfToken": get_token(request),
        "urls": {
            "issue": reverse("charcha-api:challenge-issue"),
            "detail": reverse("charcha-api:challenge-detail", args=[null_id]),
            "frames": reverse("charcha-api:challenge-frames", args=[null_id]),
            "cue": reverse("charcha-api:challenge-cue", args=[null_id]),
            "finish": reverse("charcha-api:challenge-finish", args=[null_id]),
            "cancel": reverse("charcha-api:challenge-cancel", args=[null_id]),
            "precheck": reverse("charcha-api:precheck"),
            "home": reverse("charcha:home"),
            "worker": static("charcha/capture-worker.js"),
        },
    }
    return render(request, "charcha/capture.html", {
        "notice": notice, "config": config, "locked_until": challenge_lockout_until(user=_me(request))})


@login_required
def notice(request: HttpRequest, version: int) -> HttpResponse:
    try:
        shown = notice_get(version)
    except NoticeError as exc:
        raise Http404(exc.message) from exc
    return render(request, "charcha/notice.html", {"notice": shown})


def _made_from(user_id: int) -> dict[str, int]:
    """What a withdrawal would erase besides the pictures, counted through the app registry (charcha
    knows nothing of the apps built on it; their erasure hooks do the erasing)."""
    counts = {}
    for key, label in (("adapters", "personalize.Adapter"), ("videos", "musicvideo.MusicVideo")):
        try:
            model = apps.get_model(label)
        except LookupError:
            counts[key] = 0
            continue
        counts[key] = model._default_manager.filter(user_id=user_id).count()
    return counts


@login_required
@require_http_methods(["GET", "POST"])
def withdraw(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    consent = get_object_or_404(ConsentRecord, pk=pk, user_id=_me(request).pk)
    if request.method == "GET":
        if not consent.is_active:
            return redirect("charcha:home")
        return render(request, "charcha/withdraw.html", {
            "record": consent, "pictures": len(consent_pictures(consent=consent)), **_made_from(consent.user_id)})
    try:
        consent_withdraw(consent=consent, by=_me(request))
    except ConsentError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Consent withdrawn. Your pictures, face data, key and everything made from them "
                                  "have been erased.")
    return redirect("charcha:home")


@login_required
def pictures(request: HttpRequest) -> HttpResponse:
    consent = consent_active(user=_me(request))
    frames = consent_pictures(consent=consent) if consent is not None else []
    return render(request, "charcha/pictures.html", {"record": consent, "frames": frames,
                                                     **_made_from(_me(request).pk)})


@never_cache
@login_required
def picture(request: HttpRequest, index: int) -> HttpResponse:
    consent = consent_active(user=_me(request))
    if consent is None:
        raise Http404("No live consent")
    try:
        data = consent_picture_bytes(consent=consent, index=index)
    except ConsentError as exc:
        raise Http404(exc.message) from exc
    response = HttpResponse(data, content_type="image/jpeg")
    # A picture of someone's face: never kept by a browser or a proxy, never shown in another site.
    response["Cache-Control"] = "no-store, private"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


@login_required
@require_POST
def picture_delete(request: HttpRequest, index: int) -> HttpResponse:
    consent = consent_active(user=_me(request))
    if consent is None:
        raise Http404("No live consent")
    try:
        consent_picture_delete(consent=consent, index=index, by=_me(request))
    except ConsentError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Picture deleted. Your consent record notes the deletion.")
    return redirect("charcha:pictures")
