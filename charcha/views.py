"""CHARCHA pages: the consent overview, the capture page, notices, one-click withdrawal."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_POST

from charcha.errors import ConsentError
from charcha.models import Challenge, ConsentRecord
from charcha.notices import NoticeError, notice_current, notice_get
from charcha.selectors import consent_records_of
from charcha.services import challenge_lockout_until, consent_active, consent_verify, consent_withdraw
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
    null_id = "00000000-0000-0000-0000-000000000000"
    config = {
        "noticeVersion": notice.version,
        "noticeSha256": notice.sha256,
        "csrfToken": get_token(request),
        "urls": {
            "issue": reverse("charcha-api:challenge-issue"),
            "detail": reverse("charcha-api:challenge-detail", args=[null_id]),
            "frames": reverse("charcha-api:challenge-frames", args=[null_id]),
            "finish": reverse("charcha-api:challenge-finish", args=[null_id]),
            "cancel": reverse("charcha-api:challenge-cancel", args=[null_id]),
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


@login_required
@require_POST
def withdraw(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    consent = get_object_or_404(ConsentRecord, pk=pk, user_id=_me(request).pk)
    try:
        consent_withdraw(consent=consent, by=_me(request))
    except ConsentError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Consent withdrawn. Your pictures, face data, key and everything made from them "
                                  "have been erased.")
    return redirect("charcha:home")
