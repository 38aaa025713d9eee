from __future__ import annotations

from django.db.models import QuerySet
from django.urls import include, path
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from soundtrack.models import SourceVideo
from soundtrack.selectors import source_videos_visible_to
from soundtrack.serializers import SourceVideoSerializer, SourceVideoUploadSerializer
from soundtrack.services import source_video_create


class SourceVideoViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = SourceVideoSerializer
    parser_classes = (MultiPartParser, FormParser)

    def get_queryset(self) -> QuerySet[SourceVideo]:
        return source_videos_visible_to(user=self.request.user)

    @extend_schema(request=SourceVideoUploadSerializer, responses={201: SourceVideoSerializer})
    def create(self, request: Request) -> Response:
        form = SourceVideoUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        video = source_video_create(user=request.user, upload=form.validated_data["file"],  # type: ignore[arg-type]
                                    title=form.validated_data.get("title", ""))
        return Response(SourceVideoSerializer(video).data, status=status.HTTP_201_CREATED)


router = DefaultRouter()
router.register("videos", SourceVideoViewSet, basename="source-video")
app_name = "soundtrack-api"
urlpatterns = [path("", include(router.urls))]
