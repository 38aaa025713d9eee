from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import AbstractUser


class SignUpForm(UserCreationForm[AbstractUser]):
    email = forms.EmailField(required=False, help_text="Optional; used only to tell you when a video is ready.")

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")
