from __future__ import annotations

from rest_framework import serializers

from charcha.models import ConsentRecord
from jobs.serializers import JobSummarySerializer


class ChallengeIssueInput(serializers.Serializer):
    notice_version = serializers.IntegerField(min_value=1)
    notice_sha256 = serializers.RegexField(r"^[0-9a-f]{64}$")


class NonceInput(serializers.Serializer):
    nonce = serializers.CharField(max_length=100)


class CueLightSerializer(serializers.Serializer):
    rgb = serializers.ListField(child=serializers.IntegerField(min_value=0, max_value=255), min_length=3,
                                max_length=3, help_text="the colour to show around the preview (sRGB)")
    index = serializers.IntegerField(allow_null=True, help_text="which coloured segment; null: steady neutral light")


class CueStepSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    count = serializers.IntegerField()
    action = serializers.CharField()
    prompt = serializers.CharField()
    ms_left = serializers.IntegerField(help_text="of this step's window, counted from when it was first shown")


class CueSerializer(serializers.Serializer):
    t_ms = serializers.IntegerField(help_text="server time of this answer, ms after the challenge was issued")
    phase = serializers.ChoiceField(choices=["light", "steps", "done"])
    light = CueLightSerializer()
    step = CueStepSerializer(allow_null=True, help_text="null before the first step and between steps")
    step_count = serializers.IntegerField()
    done = serializers.BooleanField(help_text="the last step has ended: stop recording and finish")


class CaptureSettingsSerializer(serializers.Serializer):
    fps = serializers.IntegerField()
    max_side = serializers.IntegerField()
    jpeg_quality = serializers.FloatField()
    batch_ms = serializers.IntegerField()
    max_lag_ms = serializers.IntegerField()
    min_interval_ms = serializers.IntegerField()
    max_frames_per_batch = serializers.IntegerField()
    tail_s = serializers.FloatField()


class ChallengeIssuedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    nonce = serializers.CharField()
    issued_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    duration_ms = serializers.IntegerField(help_text="planned length of the recording (the cue says when it is done)")
    cue_every_ms = serializers.IntegerField(help_text="how often to ask the cue endpoint while recording")
    capture = CaptureSettingsSerializer()


class ChallengeStatusSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    state = serializers.CharField()
    reason = serializers.CharField()
    title = serializers.CharField()
    message = serializers.CharField()
    retry_allowed = serializers.BooleanField()
    locked_until = serializers.DateTimeField(allow_null=True)
    frames_received = serializers.IntegerField()
    consent_id = serializers.UUIDField(allow_null=True)
    job = JobSummarySerializer(allow_null=True)
    progress_html = serializers.CharField(required=False)


class FramesAcceptedSerializer(serializers.Serializer):
    frames_received = serializers.IntegerField()
    batches_received = serializers.IntegerField()


class FramesUploadSerializer(serializers.Serializer):
    """Documents the multipart form (parsed by hand in the view for exact error codes)."""

    nonce = serializers.CharField()
    seq = serializers.IntegerField(min_value=0)
    capture_ms = serializers.ListField(
        child=serializers.IntegerField(), help_text="when each frame was taken, in whole milliseconds since the challenge "
        "was received: one per frame, in order (a single JSON array such as [0, 66, 133] is accepted too)")
    frames = serializers.ListField(child=serializers.FileField(), help_text="JPEG frames, in capture order")


class ConsentRecordSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True)

    class Meta:
        model = ConsentRecord
        fields = ("id", "notice_version", "notice_sha256", "purpose", "granted_at", "challenge", "challenge_steps",
                  "retention_until", "withdrawn_at", "end_reason", "erased_at", "status")
        read_only_fields = fields
