from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User


class SignUpForm(UserCreationForm[User]):
    email = forms.EmailField(required=False, help_text="Optional: lets you reset a forgotten password, and hear "
                                                       "when a video is ready.")

    class Meta:
        model = User
        fields = ("username", "email")
        help_texts = {"username": "The name you log in with: letters, digits and @ . + - _ (no spaces)."}
        labels = {"email": "Email address"}
