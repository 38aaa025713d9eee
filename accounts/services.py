from __future__ import annotations

from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.db import transaction


@transaction.atomic
def user_create(*, username: str, password: str, email: str = "") -> User:
    validate_password(password)
    return User.objects.create_user(username=username, password=password, email=email)
