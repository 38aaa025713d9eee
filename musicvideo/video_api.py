"""API for music videos: /api/songs/videos/ (list, create, detail, delete)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from jobs.serializers import JobSerializer
from musicvideo.models import MusicVideo
from musicvideo.render.base import RENDERER_NAMES
from musicvideo.render_services import music_video_create, music_video_delete
from musicvideo.selectors import songs_visible_to
from musicvideo.storyboard import STYLE_PRESETS
from personalize.models import Adapter


class MusicVideoSerializer(serializers.ModelSerializer):
    job = JobSerializer(read_only=True)
    video_url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()
    preview_url = serializers.SerializerMethodField()
    page_url = serializers.SerializerMethodField()
    scenes_done = serializers.SerializerMethodField()

    class Meta:
        model = MusicVideo
        fields = ("id", "song", "adapter", "style", "renderer", "renderer_used", "width", "height", "fps", "duration_s",
                  "scenes", "scenes_done", "job", "video_url", "download_url", "preview_url", "page_url",
                  "provenance", "consent", "created_at")
        read_only_fields = fields

    def get_video_url(self, video: MusicVideo) -> str | None:
        return reverse("musicvideo:video_file", args=[video.pk]) if video.video else None

    def get_download_url(self, video: MusicVideo) -> str | None:
        return reverse("musicvideo:video_file", args=[video.pk]) + "?download=1" if video.video else None

    def get_preview_url(self, video: MusicVideo) -> str | None:
        return reverse("musicvideo:video_preview", args=[video.pk]) if video.preview else None

    def get_page_url(self, video: MusicVideo) -> str:
        return reverse("musicvideo:video", args=[video.pk])

    def get_scenes_done(self, video: MusicVideo) -> list[dict[str, Any]]:
        return [{"index": int(d["index"]), "thumb_url": reverse("musicvideo:video_scene", args=[video.pk, int(d["index"])])}
                for d in video.scenes_done]


class MusicVideoRequestSerializer(serializers.Serializer):
    song = serializers.IntegerField()
    style = serializers.ChoiceField(choices=sorted(STYLE_PRESETS), required=False)  # type: ignore[assignment]  # DRF names a Field attribute "style" too
    renderer = serializers.ChoiceField(choices=list(RENDERER_NAMES), required=False, default="auto")
    adapter = serializers.UUIDField(required=False, allow_null=True,
                                    help_text="A trained adapter of yours (diffusion renderers); none: your consent's frames.")
    prompts = serializers.DictField(child=serializers.CharField(allow_blank=True, trim_whitespace=False),
                                    required=False, help_text="Plain-word prompt per scene index (no trigger token).")


class MusicVideoViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
                        viewsets.GenericViewSet):
    serializer_class = MusicVideoSerializer

    def get_queryset(self) -> QuerySet[MusicVideo]:
        user = self.request.user
        if not user.is_authenticated:
            return MusicVideo.objects.none()
        return MusicVideo.objects.filter(user=user).select_related("job")

    @extend_schema(request=MusicVideoRequestSerializer, responses={202: MusicVideoSerializer},
                   description="Render the song's latest storyboard with your consented likeness. Errors: "
                               "analysis_not_ready, storyboard_missing, consent_required, renderer_unavailable, "
                               "render_running, prompt_empty, prompt_too_long, prompt_invalid, adapter_invalid, "
                               "adapter_not_ready.")
    def create(self, request: Request) -> Response:
        form = MusicVideoRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        song = songs_visible_to(user=request.user).filter(pk=data["song"]).first()
        if song is None:
            return Response({"code": "song_state", "detail": "No such song."}, status=status.HTTP_404_NOT_FOUND)
        prompts = {int(k): v for k, v in data.get("prompts", {}).items() if str(k).isdigit()}
        if len(prompts) != len(data.get("prompts", {})):
            return Response({"code": "prompt_invalid", "detail": "Prompt keys are scene indices."},
                            status=status.HTTP_400_BAD_REQUEST)
        adapter = None
        if data.get("adapter"):
            adapter = Adapter.objects.filter(pk=data["adapter"], user=request.user).first()  # type: ignore[misc]
            if adapter is None:
                return Response({"code": "adapter_invalid", "detail": "No such adapter."},
                                status=status.HTTP_404_NOT_FOUND)
        video = music_video_create(user=request.user, song=song, style=data.get("style"),  # type: ignore[arg-type]
                                   renderer=data.get("renderer", "auto"), prompts=prompts, adapter=adapter)
        return Response(MusicVideoSerializer(video).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(description="Delete the video and all its files (a running render is cancelled).")
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        music_video_delete(video=self.get_object(), by=request.user)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)
