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
from django.utils.safestring import mark_safe

from charcha.errors import ConsentError
from charcha.models import Challenge, ConsentEvent, ConsentRecord, EvidenceView, SecurityEvent
from charcha.services import consent_evidence_view, consent_revoke, consent_verify
from charcha.web import request_user


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), min_length=5, max_length=2000,
                             help_text="Written to the audit log with your name and the time.")


EVENT_WORDS = {"picture_deleted": "Picture deleted by the user"}   # kinds appended outside ConsentEvent.Kind


def short_hash(value: str | None) -> str:
    """A hash as a reviewer compares it: the first 12 characters, the whole value on hover."""
    if not value:
        return "—"
    return format_html('<code title="{}">{}…</code>', value, value[:12])


def summary_cell(value: Any) -> str:
    """A JSON value in one short line: hashes shortened, long lists counted."""
    if isinstance(value, dict):
        if not value:
            return "—"
        return format_html_join(mark_safe("<br>"), "<strong>{}</strong>: {}",
                                ((key, summary_text(item)) for key, item in value.items()))
    return summary_text(value)


def summary_text(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return value[:12] + "…"
    if isinstance(value, list):
        return f"{len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict):
        return ", ".join(f"{key}: {summary_text(item)}" for key, item in value.items())
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "…"


class ConsentEventInline(admin.TabularInline[ConsentEvent, ConsentRecord]):
    model = ConsentEvent
    # Hashes shortened and data summarised: the full chain is checked by "Hash chain" above, and the
    # table must fit a laptop screen.
    fields = ("seq", "what", "at", "actor", "details", "hash_short")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("seq",)
    verbose_name = "event"
    verbose_name_plural = "Events (oldest first)"

    @admin.display(description="What")
    def what(self, obj: ConsentEvent) -> str:
        return EVENT_WORDS.get(obj.kind) or obj.get_kind_display()

    @admin.display(description="Details")
    def details(self, obj: ConsentEvent) -> str:
        if obj.kind == ConsentEvent.Kind.GRANTED:
            return "The record as granted (checked by the hash chain)"
        return summary_cell(obj.data)

    @admin.display(description="Hash")
    def hash_short(self, obj: ConsentEvent) -> str:
        return short_hash(obj.hash)

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
    readonly_fields = ("chain_status", "id", "user", "notice_version", "notice_hash", "purpose", "granted_at",
                       "challenge", "steps_table", "evidence_table", "ip", "user_agent", "retention_until",
                       "withdrawn_at", "end_reason", "erased_at", "head_hash_short", "event_count")
    fields = readonly_fields

    @admin.display(description="Notice fingerprint")
    def notice_hash(self, obj: ConsentRecord) -> str:
        return short_hash(obj.notice_sha256)

    @admin.display(description="Chain head")
    def head_hash_short(self, obj: ConsentRecord) -> str:
        return short_hash(obj.head_hash)

    @admin.display(description="Evidence")
    def evidence_table(self, obj: ConsentRecord) -> str:
        evidence = obj.evidence or {}
        labels = {"frames_received": "Pictures received", "stream_sha256": "Fingerprint of all pictures",
                  "training_frames": "Pictures kept for training", "training_runs": "Moves kept as short runs",
                  "embedding_sha256": "Face description fingerprint", "steps_source": "Steps chosen"}
        rows = []
        for key, value in evidence.items():
            if key == "training_frames":
                shown = f"{len(value)} pictures (indices {', '.join(str(t['index']) for t in value[:12])}" \
                        f"{'…' if len(value) > 12 else ''})"
            elif key == "training_runs":
                shown = "; ".join(f"{run.get('action', '?')}: pictures {run.get('first')} to {run.get('last')}"
                                  for run in value) or "—"
            elif key == "steps_source":
                shown = "at random by the server" if value == "random" else "fixed (test set-up)"
            else:
                shown = summary_text(value)
            rows.append((labels.get(key, key.replace("_", " ").capitalize()), shown))
        body = format_html_join("", "<tr><th scope=\"row\">{}</th><td>{}</td></tr>", rows)
        return format_html('<table class="evidence-table">{}</table>', body)

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
    readonly_fields = ("id", "user", "state", "reason", "steps", "light", "reveals_ms", "steps_source",
                       "notice_version", "issued_at", "expires_at", "finished_at", "decided_at", "frame_count",
                       "batch_count", "job", "verdict", "ip", "user_agent")
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SecurityEvent)
class SecurityEventAdmin(admin.ModelAdmin[SecurityEvent]):
    """What a reviewer must follow up: a challenge whose face was not the account's verified face."""

    list_display = ("at", "kind", "user", "challenge_link", "summary")
    list_filter = ("kind", "at")
    search_fields = ("user__username", "challenge__id")
    date_hierarchy = "at"
    readonly_fields = ("kind", "user", "challenge", "at", "summary")
    fields = readonly_fields

    @admin.display(description="Challenge")
    def challenge_link(self, obj: SecurityEvent) -> str:
        if obj.challenge_id is None:
            return "—"
        url = reverse("admin:charcha_challenge_change", args=[obj.challenge_id])
        return format_html('<a href="{}">{}…</a>', url, str(obj.challenge_id)[:8])

    @admin.display(description="Details")
    def summary(self, obj: SecurityEvent) -> str:
        return summary_cell(obj.detail)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
