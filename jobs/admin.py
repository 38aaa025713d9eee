from django.contrib import admin

from accounts.templatetags.encore_ui import job_title
from jobs.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin[Job]):
    list_display = ("what", "user", "status", "percent", "attempts", "error_code", "created_at", "heartbeat_at")
    list_display_links = ("what",)
    list_filter = ("kind", "status", "queue")
    search_fields = ("id", "user__username", "error_code")
    readonly_fields = [f.name for f in Job._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False

    @admin.display(description="What", ordering="kind")
    def what(self, obj: Job) -> str:
        return job_title(obj)   # "Soundtrack for holiday.mp4", as the user's jobs page names it

    @admin.display(description="Progress", ordering="progress")
    def percent(self, obj: Job) -> str:
        return f"{round(obj.progress * 100)} %"
