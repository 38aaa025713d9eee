"""Admin review of consent: records and their event chains, audited evidence views, revocation.

Everything is read-only. Evidence (thumbnails of the kept frames) is never part of a change page:
it is decrypted only on request, after a reason is given, and each view is written to the audit
log before the thumbnails are rendered.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join

from charcha.errors import ConsentError
from charcha.models import Challenge, ConsentEvent, ConsentRecord, EvidenceView
from charcha.services import consent_evidence_view, consent_revoke, consent_verify
from charcha.web import request_user


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), min_length=5, max_length=2000,
                             help_text="Written to the audit log with your name and the time.")


class ConsentEventInline(admin.TabularInline[ConsentEvent, ConsentRecord]):
    model = ConsentEvent
    fields = ("seq", "kind", "at", "actor", "data", "prev_hash", "hash")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("seq",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "Active"), ("ended", "Ended, not yet erased"), ("erased", "Erased")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "active":
            return queryset.filter(withdrawn_at__isnull=True)
        if self.value() == "ended":
            return queryset.filter(withdrawn_at__isnull=False, erased_at__isnull=True)
        if self.value() == "erased":
            return queryset.filter(erased_at__isnull=False)
        return queryset


@admin.register(ConsentRecord)
class ConsentRecordAdmin(admin.ModelAdmin[ConsentRecord]):
    list_display = ("id", "user", "granted_at", "notice_version", "state", "end_reason", "retention_until",
                    "erased_at")
    list_filter = (StateFilter, "end_reason", "notice_version", "purpose", "granted_at", "challenge__steps_source")
    search_fields = ("id", "user__username", "user__email", "notice_sha256", "ip")
    date_hierarchy = "granted_at"
    inlines = [ConsentEventInline]
    change_form_template = "charcha/admin/consentrecord_change_form.html"
    readonly_fields = ("chain_status", "id", "user", "notice_version", "notice_sha256", "purpose", "granted_at",
                       "challenge", "steps_table", "evidence", "ip", "user_agent", "retention_until", "withdrawn_at",
                       "end_reason", "erased_at", "head_hash", "event_count")
    fields = readonly_fields

    @admin.display(description="State")
    def state(self, obj: ConsentRecord) -> str:
        return obj.status

    @admin.display(description="Hash chain")
    def chain_status(self, obj: ConsentRecord) -> str:
        report = consent_verify(consent=obj)
        if report.ok:
            return format_html('<strong style="color:#1a7f37">Verified</strong> — {} events, head {}',
                               report.length, report.head_hash[:16])
        return format_html('<strong style="color:#c62828">FAILED</strong><ul>{}</ul>',
                           format_html_join("", "<li>{}</li>", ((p,) for p in report.problems)))

    @admin.display(description="Challenge steps")
    def steps_table(self, obj: ConsentRecord) -> str:
        rows = format_html_join("", "<tr><td>{}</td><td>{} to {} s</td><td>{}</td></tr>",
                                ((s["action"], s["start_s"], s["end_s"],
                                  "—" if s.get("seen_at_s") is None else f"{s['seen_at_s']} s")
                                 for s in obj.challenge_steps))
        return format_html("<table><tr><th>Action</th><th>Window</th><th>Seen at</th></tr>{}</table>", rows)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # view-only: changes go through revoke (a new event), never through a form

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        own = [
            path("<uuid:pk>/evidence/", self.admin_site.admin_view(self.evidence_view),
                 name="charcha_consentrecord_evidence"),
            path("<uuid:pk>/revoke/", self.admin_site.admin_view(self.revoke_view),
                 name="charcha_consentrecord_revoke"),
        ]
        return own + super().get_urls()

    def _context(self, request: HttpRequest, record: ConsentRecord, title: str) -> dict[str, Any]:
        return {**self.admin_site.each_context(request), "opts": self.model._meta, "original": record,
                "record": record, "title": title}

    def evidence_view(self, request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
        record = get_object_or_404(ConsentRecord, pk=pk)
        if not request.user.has_perm("charcha.view_evidence"):
            raise PermissionDenied
        form = ReasonForm(request.POST or None)
        thumbnails = None
        if request.method == "POST" and form.is_valid():
            thumbnails = consent_evidence_view(consent=record, viewer=request_user(request),
                                               reason=form.cleaned_data["reason"],
                                               ip=request.META.get("REMOTE_ADDR"))
        response = TemplateResponse(request, "charcha/admin/evidence.html", {
            **self._context(request, record, f"Evidence of consent {record.pk}"), "form": form,
            "thumbnails": thumbnails,
            "views": EvidenceView.objects.filter(record=record).select_related("viewer")[:20]})
        # Decrypted thumbnails must not linger in caches or the browser history.
        response["Cache-Control"] = "no-store"
        return response

    def revoke_view(self, request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
        record = get_object_or_404(ConsentRecord, pk=pk)
        if not request.user.has_perm("charcha.revoke_consentrecord"):
            raise PermissionDenied
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                consent_revoke(consent=record, by=request_user(request),
                               reason=form.cleaned_data["reason"])
            except ConsentError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, "Consent revoked; the user's biometric data has been erased.")
            return HttpResponseRedirect(reverse("admin:charcha_consentrecord_change", args=[record.pk]))
        return TemplateResponse(request, "charcha/admin/revoke.html",
                                {**self._context(request, record, f"Revoke consent {record.pk}"), "form": form})


@admin.register(EvidenceView)
class EvidenceViewAdmin(admin.ModelAdmin[EvidenceView]):
    list_display = ("viewed_at", "viewer", "record", "frames_shown", "reason", "ip")
    list_filter = ("viewed_at",)
    search_fields = ("viewer__username", "record__id", "reason")
    readonly_fields = ("record", "viewer", "viewed_at", "reason", "frames_shown", "ip")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Challenge)
class ChallengeAdmin(admin.ModelAdmin[Challenge]):
    list_display = ("id", "user", "state", "reason", "steps_source", "frame_count", "issued_at", "decided_at")
    list_filter = ("state", "reason", "steps_source")
    search_fields = ("id", "user__username")
    readonly_fields = ("id", "user", "state", "reason", "steps", "steps_source", "notice_version", "issued_at",
                       "expires_at", "finished_at", "decided_at", "frame_count", "batch_count", "job", "verdict",
                       "ip", "user_agent")
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
