from __future__ import annotations

from django.db.models import QuerySet
from django.urls import include, path
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from musicvideo.models import Song
from musicvideo.selectors import songs_visible_to
from musicvideo.serializers import SongSerializer, SongUploadSerializer
from musicvideo.services import song_create


class SongViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = SongSerializer
    parser_classes = (MultiPartParser, FormParser)

    def get_queryset(self) -> QuerySet[Song]:
        return songs_visible_to(user=self.request.user)

    @extend_schema(request=SongUploadSerializer, responses={201: SongSerializer})
    def create(self, request: Request) -> Response:
        form = SongUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        song = song_create(user=request.user, upload=form.validated_data["file"],  # type: ignore[arg-type]
                           title=form.validated_data.get("title", ""))
        return Response(SongSerializer(song).data, status=status.HTTP_201_CREATED)


router = DefaultRouter()
router.register("", SongViewSet, basename="song")
app_name = "musicvideo-api"
urlpatterns = [path("", include(router.urls))]
