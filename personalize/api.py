"""Adapters' JSON API (mounted at /api/adapters/). Views parse and answer; services decide."""

from __future__ import annotations

import uuid
from typing import Any

from django.urls import path, reverse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from charcha.models import ConsentRecord
from charcha.web import request_user as _me
from personalize import serializers as s
from personalize.errors import PersonalizeError
from personalize.models import Adapter
from personalize.selectors import adapter_of, adapter_status, adapters_of
from personalize.services import adapter_delete, adapter_train_start

app_name = "personalize-api"


def adapter_body(adapter: Adapter) -> dict[str, Any]:
    body = adapter_status(adapter=adapter)
    for item in body["validation"]:
        item["url"] = reverse("personalize:validation", args=[adapter.pk, item["number"]])
    body["download_url"] = reverse("personalize:download", args=[adapter.pk]) if adapter.is_ready else None
    return body


class AdapterListView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(responses=s.AdapterSerializer(many=True), summary="Your adapters, newest first")
    def get(self, request: Request) -> Response:
        return Response([adapter_body(a) for a in adapters_of(user=_me(request))])

    @extend_schema(request=s.TrainInput, responses={202: s.AdapterSerializer},
                   summary="Train an adapter from your active consent's pictures (queued on a GPU worker)")
    def post(self, request: Request) -> Response:
        data = s.TrainInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = _me(request)
        consent = None
        if "consent" in data.validated_data:
            # Someone else's consent is refused by the service with its own code, not hidden as 404.
            consent = ConsentRecord.objects.filter(pk=data.validated_data["consent"]).first()
            if consent is None:
                raise PersonalizeError("You need an active consent first.", code="adapter_no_consent",
                                       http_status=403)
        overrides = {"steps": data.validated_data["steps"]} if "steps" in data.validated_data else None
        adapter = adapter_train_start(user=user, consent=consent, family=data.validated_data.get("family"),
                                      overrides=overrides)
        return Response(adapter_body(adapter_of(user=user, pk=adapter.pk)), status=status.HTTP_202_ACCEPTED)


class AdapterDetailView(APIView):
    @extend_schema(responses=s.AdapterSerializer, summary="An adapter: training progress, loss curve, validation")
    def get(self, request: Request, pk: uuid.UUID) -> Response:
        return Response(adapter_body(adapter_of(user=_me(request), pk=pk)))

    @extend_schema(request=None, responses={204: None}, summary="Delete an adapter and its files")
    def delete(self, request: Request, pk: uuid.UUID) -> Response:
        adapter_delete(adapter=adapter_of(user=_me(request), pk=pk), by=_me(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("", AdapterListView.as_view(), name="adapter-list"),
    path("<uuid:pk>/", AdapterDetailView.as_view(), name="adapter-detail"),
]
