from __future__ import annotations

from django.db.models import QuerySet
from django.urls import include, path
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from soundtrack.models import Soundtrack, SourceVideo
from soundtrack.selectors import soundtracks_visible_to, source_videos_visible_to
from soundtrack.serializers import (
    SoundtrackCreateSerializer,
    SoundtrackSerializer,
    SourceVideoSerializer,
    SourceVideoUploadSerializer,
)
from soundtrack.services import soundtrack_another_take, soundtrack_create, source_video_create


class SourceVideoViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = SourceVideoSerializer
    parser_classes = (MultiPartParser, FormParser, JSONParser)

    def get_queryset(self) -> QuerySet[SourceVideo]:
        return source_videos_visible_to(user=self.request.user)

    @extend_schema(request={"multipart/form-data": SourceVideoUploadSerializer}, responses={201: SourceVideoSerializer})
    def create(self, request: Request) -> Response:
        form = SourceVideoUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        video = source_video_create(user=request.user, upload=form.validated_data["file"],  # type: ignore[arg-type]
                                    title=form.validated_data.get("title", ""))
        return Response(SourceVideoSerializer(video).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SoundtrackCreateSerializer, responses={202: SoundtrackSerializer},
                   summary="Compose a soundtrack for this video (a job; follow it at /api/soundtrack/soundtracks/{id}/)")
    @action(detail=True, methods=["post"], url_path="soundtracks")
    def soundtracks(self, request: Request, pk: str | None = None) -> Response:
        video = self.get_object()
        form = SoundtrackCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        soundtrack = soundtrack_create(user=request.user, video=video, **form.validated_data)  # type: ignore[arg-type]
        return Response(SoundtrackSerializer(soundtrack, context={"request": request}).data,
                        status=status.HTTP_202_ACCEPTED)


class SoundtrackFilterSerializer(serializers.Serializer):
    # Bounded like the database's ids: an out-of-range number is a 400, not an overflow deep in SQL.
    video = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False,
                                     help_text="only this video's takes")


class SoundtrackViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Soundtracks (takes) of the caller's videos: job status and, when done, downloads and figures."""

    serializer_class = SoundtrackSerializer

    def get_queryset(self) -> QuerySet[Soundtrack]:
        qs = soundtracks_visible_to(user=self.request.user)
        if self.action == "list":
            query = SoundtrackFilterSerializer(data=self.request.query_params)
            query.is_valid(raise_exception=True)
            if (video := query.validated_data.get("video")) is not None:
                qs = qs.filter(video_id=video)
        return qs

    @extend_schema(parameters=[SoundtrackFilterSerializer])
    def list(self, request: Request) -> Response:
        return super().list(request)

    @extend_schema(request=None, responses={202: SoundtrackSerializer},
                   summary="Another take: same options, a new seed")
    @action(detail=True, methods=["post"], url_path="another-take")
    def another_take(self, request: Request, pk: str | None = None) -> Response:
        take = soundtrack_another_take(user=request.user, soundtrack=self.get_object())  # type: ignore[arg-type]
        return Response(SoundtrackSerializer(take, context={"request": request}).data,
                        status=status.HTTP_202_ACCEPTED)


router = DefaultRouter()
router.register("videos", SourceVideoViewSet, basename="source-video")
router.register("soundtracks", SoundtrackViewSet, basename="soundtrack")
app_name = "soundtrack-api"
urlpatterns = [path("", include(router.urls))]
