from __future__ import annotations

from django.contrib import admin

from personalize.models import Adapter


@admin.register(Adapter)
class AdapterAdmin(admin.ModelAdmin[Adapter]):
    """Read-only: adapters are made by training and removed by their owner or by consent erasure."""

    list_display = ("trigger", "user", "family", "status", "steps_done", "identity_score", "created_at")
    list_filter = ("status", "family")
    search_fields = ("trigger", "user__username", "consent__id")
    readonly_fields = [f.name for f in Adapter._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
