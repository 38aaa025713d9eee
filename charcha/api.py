"""CHARCHA's JSON API (mounted at /api/consent/). Views parse and answer; services decide."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers as drf_serializers
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from charcha import serializers as s
from charcha.errors import ChallengeError, ConsentError
from charcha.models import Challenge, ConsentRecord
from charcha.selectors import challenge_status, consent_records_of, cue_public
from charcha.services import (
    capture_settings,
    challenge_cancel,
    challenge_cue,
    challenge_duration_ms,
    challenge_finish,
    challenge_frames_add,
    challenge_issue,
    consent_withdraw,
    frame_precheck,
    timing_rules,
)
from charcha.web import request_user as _me

app_name = "charcha-api"


def client_ip(request: Request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _challenge_of(request: Request, pk: uuid.UUID) -> Challenge:
    challenge = Challenge.objects.select_related("job", "user").filter(pk=pk, user_id=_me(request).pk).first()
    if challenge is None:
        raise ChallengeError("There is no such challenge.", code="challenge_not_found", http_status=404)
    return challenge


class ChallengeIssueView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request=s.ChallengeIssueInput, responses={201: s.ChallengeIssuedSerializer},
                   summary="Issue a liveness challenge after the user agreed to the current notice")
    def post(self, request: Request) -> Response:
        data = s.ChallengeIssueInput(data=request.data)
        data.is_valid(raise_exception=True)
        issued = challenge_issue(user=_me(request), notice_version=data.validated_data["notice_version"],
                                 notice_sha256=data.validated_data["notice_sha256"], ip=client_ip(request),
                                 user_agent=request.META.get("HTTP_USER_AGENT", ""))
        challenge = issued.challenge
        # No steps and no colours: the page learns each from the cue endpoint when its time comes.
        body = {"id": str(challenge.pk), "nonce": issued.nonce, "issued_at": challenge.issued_at,
                "expires_at": challenge.expires_at, "duration_ms": challenge_duration_ms(challenge),
                "cue_every_ms": CUE_EVERY_MS, "capture": capture_settings()}
        return Response(s.ChallengeIssuedSerializer(body).data, status=status.HTTP_201_CREATED)


class ChallengeDetailView(APIView):
    @extend_schema(responses=s.ChallengeStatusSerializer, summary="A challenge's state and result category")
    def get(self, request: Request, pk: uuid.UUID) -> Response:
        return Response(challenge_status(challenge=_challenge_of(request, pk)))


# How often the page asks for the cue: a prompt then appears within ~0.15 s of its start, and a
# colour change lands inside the light check's lag allowance.
CUE_EVERY_MS = 120
NONCE_HEADER = "X-Challenge-Nonce"


class CueThrottle(UserRateThrottle):
    # ~8 a second while recording, with room for retries; a tighter loop is not a person's page.
    scope = "charcha_cue"
    rate = "1200/min"


class ChallengeCueView(APIView):
    throttle_classes = [CueThrottle]

    @extend_schema(
        parameters=[OpenApiParameter(NONCE_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True,
                                     description="the challenge's nonce (a header, so it stays out of access logs)")],
        responses=s.CueSerializer,
        summary="What to show now: the light colour and the current step, each only once its time has come")
    def get(self, request: Request, pk: uuid.UUID) -> Response:
        nonce = request.headers.get(NONCE_HEADER, "")
        if not nonce:
            raise ChallengeError("The challenge nonce is missing.", code="nonce_missing")
        cue = challenge_cue(user=_me(request), challenge_id=pk, nonce=nonce)
        answer = Response(cue_public(cue))
        answer["Cache-Control"] = "no-store"
        return answer


def _parse_frames(request: Request) -> tuple[str, int, list[int], list[bytes]]:
    nonce = request.data.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise ChallengeError("The challenge nonce is missing.", code="nonce_missing")
    try:
        seq = int(request.data.get("seq", ""))
    except (TypeError, ValueError) as exc:
        raise ChallengeError("The batch number is missing or not a number.", code="seq_invalid") from exc
    if seq < 0:
        raise ChallengeError("The batch number must not be negative.", code="seq_invalid")
    # One whole number per frame, as repeated form fields (what the schema documents), or the
    # same list as one JSON array (what the capture page sends).
    values = request.data.getlist("capture_ms") if hasattr(request.data, "getlist") else [request.data.get("capture_ms")]
    try:
        if len(values) == 1 and str(values[0]).lstrip().startswith("["):
            capture_ms = json.loads(values[0])
        else:
            capture_ms = [int(v) for v in values]
    except (TypeError, ValueError) as exc:
        raise ChallengeError("Capture times must be a JSON list of milliseconds.", code="capture_times_invalid") from exc
    if not isinstance(capture_ms, list) or not all(isinstance(t, int) and not isinstance(t, bool) for t in capture_ms):
        raise ChallengeError("Capture times must be a JSON list of milliseconds.", code="capture_times_invalid")
    files = request.FILES.getlist("frames")
    if not files:
        raise ChallengeError("A batch must hold at least one frame.", code="batch_empty")
    if len(files) > timing_rules().max_frames_per_batch:
        raise ChallengeError("Too many frames in one batch.", code="batch_too_large")
    frames = []
    for upload in files:
        if upload.size is None or upload.size > settings.CHARCHA_FRAME_MAX_BYTES:
            raise ChallengeError("A frame is larger than we accept.", code="frame_too_large")
        frames.append(upload.read())
    return nonce, seq, capture_ms, frames


class ChallengeFramesView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": s.FramesUploadSerializer},
                   responses=s.FramesAcceptedSerializer, summary="Send one batch of frames with capture times")
    def post(self, request: Request, pk: uuid.UUID) -> Response:
        nonce, seq, capture_ms, frames = _parse_frames(request)
        challenge = challenge_frames_add(user=_me(request), challenge_id=pk, nonce=nonce, seq=seq,
                                         capture_ms=capture_ms, frames=frames)
        return Response({"frames_received": challenge.frame_count, "batches_received": challenge.batch_count})


class ChallengeFinishView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request=s.NonceInput, responses={202: s.ChallengeStatusSerializer},
                   summary="Close the challenge and start its verification")
    def post(self, request: Request, pk: uuid.UUID) -> Response:
        data = s.NonceInput(data=request.data)
        data.is_valid(raise_exception=True)
        challenge = challenge_finish(user=_me(request), challenge_id=pk, nonce=data.validated_data["nonce"])
        challenge = _challenge_of(request, challenge.pk)
        body: dict[str, Any] = challenge_status(challenge=challenge)
        if challenge.job is not None:
            # The page shows the shared live progress bar for the verify job.
            body["progress_html"] = render_to_string("jobs/_progress.html", {"job": challenge.job})
        return Response(body, status=status.HTTP_202_ACCEPTED)


class ChallengeCancelView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request=s.NonceInput, responses=s.ChallengeStatusSerializer,
                   summary="Give up a running challenge; its frames are deleted")
    def post(self, request: Request, pk: uuid.UUID) -> Response:
        data = s.NonceInput(data=request.data)
        data.is_valid(raise_exception=True)
        challenge = challenge_cancel(user=_me(request), challenge_id=pk, nonce=data.validated_data["nonce"])
        return Response(challenge_status(challenge=_challenge_of(request, challenge.pk)))


class ConsentRecordListView(APIView):
    @extend_schema(responses=s.ConsentRecordSerializer(many=True), summary="The caller's consent records")
    def get(self, request: Request) -> Response:
        return Response(s.ConsentRecordSerializer(consent_records_of(user=_me(request)), many=True).data)


class ConsentWithdrawView(APIView):
    @extend_schema(request=None, responses=s.ConsentRecordSerializer,
                   summary="Withdraw consent: erases frames, embeddings, key and what was made from them")
    def post(self, request: Request, pk: uuid.UUID) -> Response:
        consent = ConsentRecord.objects.filter(pk=pk, user_id=_me(request).pk).first()
        if consent is None:
            raise ConsentError("There is no such consent record.", code="consent_not_found", http_status=404)
        consent = consent_withdraw(consent=consent, by=_me(request))
        return Response(s.ConsentRecordSerializer(consent).data)


class PrecheckThrottle(UserRateThrottle):
    # The page asks about twice a second while the camera is on; this leaves room for two tabs.
    scope = "charcha_precheck"
    rate = "300/min"


class PrecheckView(APIView):
    parser_classes = [MultiPartParser]
    throttle_classes = [PrecheckThrottle]

    @extend_schema(
        request={"multipart/form-data": inline_serializer("PrecheckInput", {"frame": drf_serializers.FileField()})},
        responses=inline_serializer("PrecheckResult", {
            "ready": drf_serializers.BooleanField(), "faces": drf_serializers.IntegerField(),
            "centred": drf_serializers.BooleanField(), "close_enough": drf_serializers.BooleanField(),
            "too_close": drf_serializers.BooleanField(), "bright_enough": drf_serializers.BooleanField(),
            "hint": drf_serializers.CharField()}),
        summary="Before Start: is exactly one face centred, close enough and well lit? Keeps no picture")
    def post(self, request: Request) -> Response:
        upload = request.FILES.get("frame")
        if upload is None:
            raise ChallengeError("Send one camera picture as 'frame'.", code="frames_empty")
        if upload.size is None or upload.size > settings.CHARCHA_FRAME_MAX_BYTES:
            raise ChallengeError("A frame is larger than we accept.", code="frame_too_large")
        answer = Response(frame_precheck(jpeg=upload.read()).as_dict())
        answer["Cache-Control"] = "no-store"
        return answer


urlpatterns = [
    path("precheck/", PrecheckView.as_view(), name="precheck"),
    path("challenges/", ChallengeIssueView.as_view(), name="challenge-issue"),
    path("challenges/<uuid:pk>/", ChallengeDetailView.as_view(), name="challenge-detail"),
    path("challenges/<uuid:pk>/cue/", ChallengeCueView.as_view(), name="challenge-cue"),
    path("challenges/<uuid:pk>/frames/", ChallengeFramesView.as_view(), name="challenge-frames"),
    path("challenges/<uuid:pk>/finish/", ChallengeFinishView.as_view(), name="challenge-finish"),
    path("challenges/<uuid:pk>/cancel/", ChallengeCancelView.as_view(), name="challenge-cancel"),
    path("records/", ConsentRecordListView.as_view(), name="record-list"),
    path("records/<uuid:pk>/withdraw/", ConsentWithdrawView.as_view(), name="record-withdraw"),
]
