from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from jobs.selectors import jobs_for_listing, jobs_visible_to
from jobs.services import job_cancel
from mediakit.errors import EncoreError

JOBS_PER_PAGE = 20


@login_required
def job_list(request: HttpRequest) -> HttpResponse:
    # A page at a time: naming and dating each row is most of what this page costs to serve.
    page = Paginator(jobs_for_listing(user=request.user), JOBS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "jobs/list.html", {"jobs": page.object_list, "page": page})


@login_required
def job_detail(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    job = get_object_or_404(jobs_visible_to(user=request.user), pk=job_id)
    return render(request, "jobs/detail.html", {"job": job})


@login_required
@require_POST
def job_cancel_view(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    job = get_object_or_404(jobs_visible_to(user=request.user), pk=job_id)
    try:
        job_cancel(job=job, by=request.user)  # type: ignore[arg-type]
    except EncoreError as exc:
        messages.error(request, exc.message)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect("jobs:detail", job_id=job.pk)
    return redirect(target)
