from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Adapters are trained from a passed consent challenge; training arrives with its own issue."""
    return render(request, "personalize/home.html")
