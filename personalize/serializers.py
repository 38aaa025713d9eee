from __future__ import annotations

from rest_framework import serializers

from jobs.serializers import JobSummarySerializer
from personalize.lora.families import FAMILIES


class TrainInput(serializers.Serializer):
    consent = serializers.UUIDField(required=False, help_text="Defaults to your active consent.")
    family = serializers.ChoiceField(choices=FAMILIES, required=False)
    steps = serializers.IntegerField(min_value=1, max_value=20_000, required=False)


class ValidationItemSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=("still", "clip"))
    prompt = serializers.CharField()
    url = serializers.CharField()


class AdapterSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    family = serializers.CharField()
    trigger = serializers.CharField()
    steps_done = serializers.IntegerField()
    steps = serializers.IntegerField()
    seconds_per_step = serializers.FloatField(allow_null=True)
    time_left_s = serializers.FloatField(allow_null=True)
    loss_curve = serializers.ListField(child=serializers.ListField(child=serializers.FloatField()))
    job = JobSummarySerializer(allow_null=True)
    identity_score = serializers.FloatField(allow_null=True)
    identity_distance = serializers.FloatField(allow_null=True)
    identity_spread = serializers.FloatField(allow_null=True)
    validation_faces = serializers.IntegerField()
    validation_count = serializers.IntegerField()
    validation = ValidationItemSerializer(many=True)
    error_code = serializers.CharField(allow_blank=True)
    download_url = serializers.CharField(allow_null=True, help_text="The diffusers LoRA file, once trained.")
