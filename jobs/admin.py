from django.contrib import admin

from jobs.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin[Job]):
    list_display = ("id", "kind", "user", "status", "stage", "progress", "attempts", "error_code", "created_at",
                    "heartbeat_at")
    list_filter = ("kind", "status", "queue")
    search_fields = ("id", "user__username", "error_code")
    readonly_fields = [f.name for f in Job._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False
