from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.password_validation import validate_password
from django.db import transaction


@transaction.atomic
def user_create(*, username: str, password: str, email: str = "") -> AbstractUser:
    validate_password(password)
    user: AbstractUser = get_user_model().objects.create_user(username=username, password=password, email=email)
    return user
