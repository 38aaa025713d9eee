from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client


@pytest.mark.django_db
def test_signup_logs_in_and_shows_navigation(client: Client) -> None:
    response = client.post("/accounts/signup/", {"username": "cleo", "email": "", "password1": "a fine passphrase 42",
                                                 "password2": "a fine passphrase 42"}, follow=True)
    assert response.status_code == 200
    assert get_user_model().objects.filter(username="cleo").count() == 1
    body = response.content.decode()
    for link in ('href="/consent/"', 'href="/songs/"', 'href="/soundtrack/"', 'href="/jobs/"'):
        assert link in body
    assert "cleo" in body


@pytest.mark.django_db
def test_signup_refuses_weak_password_and_creates_nobody(client: Client) -> None:
    response = client.post("/accounts/signup/", {"username": "cleo", "password1": "123", "password2": "123"})
    assert response.status_code == 200
    assert get_user_model().objects.count() == 0
    assert "This password is too short" in response.content.decode()


@pytest.mark.django_db
def test_login_and_logout(client: Client, user) -> None:
    response = client.post("/accounts/login/", {"username": "ada", "password": "correct horse battery"})
    assert response.status_code == 302
    assert client.get("/jobs/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/jobs/").status_code == 302  # back to the login page


@pytest.mark.django_db
def test_wrong_password_is_refused(client: Client, user) -> None:
    response = client.post("/accounts/login/", {"username": "ada", "password": "nope"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_pages_need_login(client: Client) -> None:
    for url in ("/jobs/", "/songs/", "/soundtrack/", "/consent/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
