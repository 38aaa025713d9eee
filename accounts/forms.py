from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User


class SignUpForm(UserCreationForm[User]):
    email = forms.EmailField(required=False, help_text="Optional; used only to tell you when a video is ready.")

    class Meta:
        model = User
        fields = ("username", "email")
