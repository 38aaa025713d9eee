from __future__ import annotations

from rest_framework import serializers

from jobs.models import Job


class JobSerializer(serializers.ModelSerializer):
    is_finished = serializers.BooleanField(read_only=True)
    cancel_requested = serializers.SerializerMethodField()
    waiting_reason = serializers.SerializerMethodField(
        help_text="Why the job is not moving (no worker has it, or its worker stopped answering); empty otherwise.")

    def get_waiting_reason(self, job: Job) -> str:
        from jobs.services import job_waiting_reason

        return job_waiting_reason(job)

    def get_cancel_requested(self, job: Job) -> bool:
        return job.cancel_requested_at is not None

    class Meta:
        model = Job
        fields = ("id", "kind", "status", "stage", "progress", "message", "error_code", "error_detail",
                  "result", "attempts", "created_at", "started_at", "finished_at", "heartbeat_at", "is_finished",
                  "cancel_requested", "waiting_reason")
        read_only_fields = fields


class JobSummarySerializer(serializers.Serializer):
    """What another app's resource shows of the job working on it (the progress bar's fields)."""

    id = serializers.UUIDField()
    status = serializers.CharField()
    stage = serializers.CharField()
    progress = serializers.FloatField()
    message = serializers.CharField()
    error_code = serializers.CharField()
    error_detail = serializers.CharField()
