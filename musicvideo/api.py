from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.urls import include, path
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from jobs.serializers import JobSerializer
from musicvideo.models import Song
from musicvideo.selectors import analysis_latest, scene_of, songs_visible_to, storyboard_latest
from musicvideo.serializers import (
    LyricsSerializer,
    RhythmCorrectionSerializer,
    ScenePromptSerializer,
    SceneSerializer,
    SongAnalysisSerializer,
    SongSerializer,
    SongUploadSerializer,
    StoryboardRequestSerializer,
    StoryboardSerializer,
)
from musicvideo.services import (
    scene_prompt_update,
    song_analysis_start,
    song_create,
    song_lyrics_set,
    song_rhythm_correct,
    storyboard_request,
)
from musicvideo.verify_api import urlpatterns as verify_urlpatterns
from musicvideo.video_api import MusicVideoViewSet


class SongViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = SongSerializer
    parser_classes = (MultiPartParser, FormParser, JSONParser)

    def get_queryset(self) -> QuerySet[Song]:
        return songs_visible_to(user=self.request.user)

    @extend_schema(request={"multipart/form-data": SongUploadSerializer}, responses={201: SongSerializer})
    def create(self, request: Request) -> Response:
        form = SongUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        song = song_create(user=request.user, upload=data["file"],  # type: ignore[arg-type]
                           title=data.get("title", ""), lyrics_text=data.get("lyrics", ""),
                           lrc_upload=data.get("lrc"), analyse=data.get("analyse", True))
        return Response(SongSerializer(song).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], responses={200: SongAnalysisSerializer},
                   description="The song's latest analysis: its job's progress, then its results.")
    @extend_schema(methods=["POST"], request=None, responses={202: SongAnalysisSerializer},
                   description="Analyse the song again (409 analysis_running while one is under way).")
    @action(detail=True, methods=["get", "post"])
    def analysis(self, request: Request, pk: str | None = None) -> Response:
        song = self.get_object()
        if request.method == "POST":
            created = song_analysis_start(song=song, user=request.user)  # type: ignore[arg-type]
            return Response(SongAnalysisSerializer(created).data, status=status.HTTP_202_ACCEPTED)
        latest = analysis_latest(song=song)
        if latest is None:
            raise Http404("This song has not been analysed.")
        return Response(SongAnalysisSerializer(latest).data)

    @extend_schema(request={"multipart/form-data": LyricsSerializer}, responses={202: SongAnalysisSerializer},
                   description="Replace the lyrics (text, or an .lrc file; empty clears them) and analyse again.")
    @action(detail=True, methods=["put"])
    def lyrics(self, request: Request, pk: str | None = None) -> Response:
        song = self.get_object()
        form = LyricsSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        created = song_lyrics_set(song=song, user=request.user,  # type: ignore[arg-type]
                                  text=form.validated_data.get("lyrics", ""),
                                  lrc_upload=form.validated_data.get("lrc"))
        return Response(SongAnalysisSerializer(created).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=RhythmCorrectionSerializer, responses={200: SongAnalysisSerializer},
                   description="Say where the bars start and which level is the beat, where the analysis got them "
                               "wrong. Applied to the latest finished analysis and every later one; the storyboard "
                               "is written again on the new bars (edited prompts kept). 409 analysis_not_ready, "
                               "analysis_running or storyboard_running; 400 bar_shift_invalid.")
    @action(detail=True, methods=["put"])
    def rhythm(self, request: Request, pk: str | None = None) -> Response:
        song = self.get_object()
        form = RhythmCorrectionSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        song_rhythm_correct(song=song, user=request.user,  # type: ignore[arg-type]
                            bar_shift=form.validated_data["bar_shift"], tempo=form.validated_data["tempo"])
        latest = analysis_latest(song=song)
        return Response(SongAnalysisSerializer(latest).data)

    @extend_schema(methods=["GET"], responses={200: StoryboardSerializer})
    @extend_schema(methods=["POST"], request=StoryboardRequestSerializer, responses={202: JobSerializer},
                   description="Queue a new storyboard in another style from the latest finished analysis; "
                               "follow the returned job (409 storyboard_running while one is being written).")
    @action(detail=True, methods=["get", "post"])
    def storyboard(self, request: Request, pk: str | None = None) -> Response:
        song = self.get_object()
        if request.method == "POST":
            form = StoryboardRequestSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            job = storyboard_request(song=song, user=request.user,  # type: ignore[arg-type]
                                     style=form.validated_data["style"])
            return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
        latest = storyboard_latest(song=song)
        if latest is None:
            raise Http404("This song has no storyboard yet.")
        return Response(StoryboardSerializer(latest).data)

    @extend_schema(request=ScenePromptSerializer, responses={200: SceneSerializer},
                   description="Edit one scene's prompt in the latest storyboard; it must keep the trigger token.")
    @action(detail=True, methods=["patch"], url_path=r"storyboard/scenes/(?P<index>\d+)")
    def scene(self, request: Request, pk: str | None = None, index: str = "0") -> Response:
        song = self.get_object()
        scene = scene_of(song=song, index=int(index))
        if scene is None:
            raise Http404("No such scene.")
        form = ScenePromptSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return Response(SceneSerializer(scene_prompt_update(scene=scene, prompt=form.validated_data["prompt"])).data)


router = DefaultRouter()
# Music videos first: the songs' "" prefix would otherwise take "videos" for a song id.
router.register("videos", MusicVideoViewSet, basename="video")
router.register("", SongViewSet, basename="song")
app_name = "musicvideo-api"
# POST /api/songs/verify/: provenance check of any file (musicvideo/verify_api.py); before the
# router, whose song-detail pattern would otherwise take "verify" for a song id.
urlpatterns = [*verify_urlpatterns, path("", include(router.urls))]
