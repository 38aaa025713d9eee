"""``POST /api/songs/verify/``: read back a file's C2PA manifest and invisible watermark.

Mounted from ``musicvideo/api.py``; the lead may also mount ``urlpatterns`` at ``/api/media/``.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from musicvideo.verification import media_verify_upload


class VerifyUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, help_text="A video or audio file made by Encore (or not).")


class ManifestSerializer(serializers.Serializer):
    present = serializers.BooleanField()
    validation_state = serializers.CharField(allow_null=True, help_text="Trusted, Valid, Invalid, or null")
    valid = serializers.BooleanField()
    trusted = serializers.BooleanField()
    failures = serializers.ListField(child=serializers.CharField())
    generator = serializers.CharField(allow_null=True)
    generator_version = serializers.CharField(allow_null=True)
    digital_source_type = serializers.CharField(allow_null=True)
    ai_generated = serializers.BooleanField()
    job_id = serializers.CharField(allow_null=True)
    consent_record_id = serializers.CharField(allow_null=True)
    signer = serializers.CharField(allow_null=True)
    signed_at = serializers.CharField(allow_null=True)


class WatermarkSerializer(serializers.Serializer):
    found = serializers.BooleanField()
    job_id_prefix = serializers.CharField(allow_null=True, help_text="the job's first 64 bits, 16 hex digits")
    confidence = serializers.FloatField(help_text="weighted share of frame votes that agree, 0..1")
    frames_read = serializers.IntegerField()
    frames_voting = serializers.IntegerField()
    corrected_bits = serializers.IntegerField()
    raw_bit_errors = serializers.IntegerField(allow_null=True)


class VerifyResultSerializer(serializers.Serializer):
    manifest = ManifestSerializer()
    watermark = WatermarkSerializer(allow_null=True)
    consistent = serializers.BooleanField(allow_null=True,
                                          help_text="the watermark's id is the manifest's job (null: not both found)")


class MediaVerifyView(APIView):
    parser_classes = (MultiPartParser,)

    @extend_schema(request={"multipart/form-data": VerifyUploadSerializer}, responses={200: VerifyResultSerializer},
                   summary="Check a file's provenance: signed C2PA manifest and invisible watermark",
                   description="Reads the manifest (validity against Encore's trust anchors, generator, AI source "
                               "type, consent record, job) and the watermark (job id, vote confidence). The file is "
                               "not stored.")
    def post(self, request: Request) -> Response:
        form = VerifyUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        report = media_verify_upload(upload=form.validated_data["file"])
        return Response(VerifyResultSerializer(report).data)


urlpatterns = [path("verify/", MediaVerifyView.as_view(), name="media-verify")]
