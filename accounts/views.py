from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.templatetags.static import static
from drf_spectacular.views import SpectacularAPIView

from accounts.forms import SignUpForm
from accounts.selectors import journey_of
from accounts.services import user_create
from charcha.web import request_user
from jobs.errors import RateLimited
from jobs.ratelimit import rate_limit


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(request, "home.html", {})
    user = request_user(request)
    return render(request, "home.html", {"recent_jobs": user.jobs.all()[:5], "journey": journey_of(user=user)})


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            # Per address: many accounts would also side-step each account's lockout.
            rate_limit("signup", request.META.get("REMOTE_ADDR", ""))
        except RateLimited as exc:
            form.add_error(None, exc.message)
            response = render(request, "accounts/signup.html", {"form": form}, status=429)
            response["Retry-After"] = str(exc.retry_after_s)
            return response
        user = user_create(username=form.cleaned_data["username"], password=form.cleaned_data["password1"],
                           email=form.cleaned_data.get("email") or "")
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        # The home page greets a new account and shows the four steps, the first one highlighted.
        messages.success(request, f"Welcome to Encore, {user.get_username()}! Your account is ready. "
                                  "Start with step 1 below: it takes about 30 seconds.")
        return redirect("home")
    return render(request, "accounts/signup.html", {"form": form})


def email_backend_note() -> str:
    """Said on the reset pages when mail does not really leave the server (a laptop or a test run)."""
    backend = settings.EMAIL_BACKEND.rsplit(".", 2)[-2] if "." in settings.EMAIL_BACKEND else ""
    if backend == "console":
        return ("This Encore has no email service set up: the reset email is written to the server's log "
                "instead of being sent. Whoever runs it can pass the link on to you.")
    if backend == "locmem":
        return "This Encore keeps emails in memory (a test set-up): no email is really sent."
    return ""


class PasswordResetView(auth_views.PasswordResetView):
    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "email_backend_note": email_backend_note()}


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "email_backend_note": email_backend_note()}


def favicon(request: HttpRequest) -> HttpResponse:
    """Pages without our base template (admin, API docs) make browsers ask for /favicon.ico."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


def api_schema(request: HttpRequest) -> HttpResponseBase:
    """The OpenAPI schema; a browser asking for a page gets it as readable text instead of a download."""
    response = SpectacularAPIView.as_view()(request)
    if "text/html" in request.headers.get("Accept", "") and not request.GET.get("format"):
        response.render()  # type: ignore[attr-defined]
        response["Content-Type"] = "text/plain; charset=utf-8"
        if "Content-Disposition" in response:
            del response["Content-Disposition"]
    return response
