"""Adapter pages: the list with "train from my consent", one adapter's progress and results."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from charcha.services import consent_active
from charcha.web import request_user
from mediakit.errors import EncoreError
from personalize.lora.families import FAMILIES
from personalize.selectors import adapter_of, adapter_status, adapters_of
from personalize.services import (
    adapter_delete,
    adapter_read,
    adapter_train_start,
    adapter_validation_file,
    model_source,
    train_config_for,
)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    source = model_source()
    return render(request, "personalize/home.html", {
        "adapters": adapters_of(user=user), "consent": consent_active(user=user), "families": FAMILIES,
        "default_family": source.family, "models": source.base, "config": train_config_for(source)})


@login_required
@require_POST
def train(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    try:
        adapter = adapter_train_start(user=user, family=request.POST.get("family") or None)
    except EncoreError as exc:
        messages.error(request, exc.message, extra_tags=f"code-{exc.code}")
        return redirect("personalize:home")
    return redirect("personalize:detail", adapter_id=adapter.pk)


@login_required
def detail(request: HttpRequest, adapter_id: uuid.UUID) -> HttpResponse:
    try:
        adapter = adapter_of(user=request_user(request), pk=adapter_id)
    except EncoreError as exc:
        raise Http404(exc.message) from exc
    return render(request, "personalize/adapter.html", {"adapter": adapter, "status": adapter_status(adapter=adapter)})


@login_required
@require_POST
def delete(request: HttpRequest, adapter_id: uuid.UUID) -> HttpResponse:
    user = request_user(request)
    try:
        adapter_delete(adapter=adapter_of(user=user, pk=adapter_id), by=user)
    except EncoreError as exc:
        messages.error(request, exc.message, extra_tags=f"code-{exc.code}")
        return redirect("personalize:detail", adapter_id=adapter_id)
    messages.success(request, "The adapter and its files were deleted.")
    return redirect("personalize:home")


@login_required
def download(request: HttpRequest, adapter_id: uuid.UUID) -> HttpResponse:
    """The owner's own adapter as a diffusers LoRA file (loads with ``pipe.load_lora_weights``)."""
    try:
        adapter = adapter_of(user=request_user(request), pk=adapter_id)
        if not adapter.is_ready:
            raise Http404("The adapter has not finished training.")
        data = adapter_read(adapter=adapter, name="adapter", path=adapter.file_path)
    except EncoreError as exc:
        raise Http404(exc.message) from exc
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="encore-{adapter.family}-{adapter.trigger}.safetensors"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def validation(request: HttpRequest, adapter_id: uuid.UUID, number: int) -> HttpResponse:
    """A validation render, decrypted for its owner only; never cached by the browser or a proxy."""
    try:
        adapter = adapter_of(user=request_user(request), pk=adapter_id)
        data, content_type = adapter_validation_file(adapter=adapter, number=number)
    except EncoreError as exc:
        raise Http404(exc.message) from exc
    response = HttpResponse(data, content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    return response
