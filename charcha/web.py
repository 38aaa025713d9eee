from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from rest_framework.request import Request


def request_user(request: HttpRequest | Request) -> User:
    """The signed-in user of a view that requires one (login_required / IsAuthenticated ran first)."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user
