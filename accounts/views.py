from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

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
