"""Site-wide pages: password reset, the home page's next step, named jobs, 404, schema, favicon, wording."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from accounts.templatetags.encore_ui import job_result_url, job_title, key_words, notice_title, progress_line
from accounts.wording import upload_error
from jobs.models import Job
from mediakit.errors import MediaError

pytestmark = pytest.mark.django_db


def test_password_reset_from_email_to_new_password(client: Client) -> None:
    User.objects.create_user(username="ada", email="ada@example.com", password="an old passphrase 1")
    page = client.get("/accounts/password-reset/").content.decode()
    assert "no email is really sent" in page          # the page says how mail is handled here (locmem)
    response = client.post("/accounts/password-reset/", {"email": "ada@example.com"}, follow=True)
    assert response.redirect_chain == [("/accounts/password-reset/sent/", 302)]
    assert len(mail.outbox) == 1 and mail.outbox[0].subject == "Reset your Encore password"
    link = re.search(r"http://testserver(/accounts/password-reset/\S+/)", str(mail.outbox[0].body))
    assert link is not None
    form = client.get(link.group(1), follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(form.redirect_chain[-1][0], {"new_password1": "a brand new passphrase 2",
                                                     "new_password2": "a brand new passphrase 2"}, follow=True)
    assert done.redirect_chain[-1][0] == "/accounts/password-reset/done/"
    assert client.login(username="ada", password="a brand new passphrase 2")
    # Used once, the link no longer works.
    assert "This link no longer works" in client.get(link.group(1), follow=True).content.decode()


def test_password_reset_for_an_unknown_address_says_the_same_and_sends_nothing(client: Client) -> None:
    response = client.post("/accounts/password-reset/", {"email": "nobody@example.com"}, follow=True)
    assert response.redirect_chain == [("/accounts/password-reset/sent/", 302)]
    assert mail.outbox == []


def test_login_error_is_a_sentence_next_to_the_form_and_keeps_the_username(client: Client, user: User) -> None:
    html = client.post("/accounts/login/", {"username": "ada", "password": "wrong"}).content.decode()
    assert "didn&#x27;t match" in html or "didn't match" in html
    assert 'value="ada"' in html
    assert "Forgot your password?" in html


def test_home_welcomes_a_new_account_with_the_first_step(client: Client) -> None:
    response = client.post("/accounts/signup/", {"username": "cleo", "email": "", "password1": "a fine passphrase 42",
                                                 "password2": "a fine passphrase 42"}, follow=True)
    html = response.content.decode()
    assert "Welcome to Encore, cleo!" in html
    assert re.search(r'data-step="consent" data-state="now"', html)
    assert 'href="/consent/">Record my consent</a>' in html


def test_visitors_see_no_api_link_and_staff_do(client: Client) -> None:
    assert "/api/docs/" not in client.get("/").content.decode()
    staff = User.objects.create_user(username="root", password="x", is_staff=True)
    client.force_login(staff)
    assert 'href="/api/docs/"' in client.get("/").content.decode()


def test_jobs_are_named_after_what_they_work_on(client_user: Client, user: User) -> None:
    job = Job.objects.create(user=user, kind=Job.Kind.STORYBOARD, task_name="x", params={"song_id": 999})
    probe = Job.objects.create(user=user, kind=Job.Kind.PROBE, task_name="y", stage="done", message="Done")
    assert job_title(job) == "Storyboard writing"           # the song is gone: the kind is all we can say
    assert job_result_url(job) == "/songs/999/"
    assert job_title(probe) == "Worker probe" and job_result_url(probe) is None
    html = client_user.get(f"/jobs/{probe.pk}/").content.decode()
    assert "done: Done" not in html and ">Done<" in html
    listing = client_user.get("/jobs/").content.decode()
    assert re.search(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}", listing)   # one date format, no "ago"
    assert " ago" not in listing


def test_progress_line_drops_a_stage_the_message_repeats() -> None:
    assert progress_line("done", "Done") == "Done"
    assert progress_line("probe", "Step 6 of 10") == "probe: Step 6 of 10"
    assert progress_line("", "Waiting") == "Waiting"


def test_plain_words_for_titles_keys_and_upload_refusals() -> None:
    assert notice_title("Consent to capture and use your face (CHARCHA) — notice version 2") == \
        "Consent to capture and use your face"
    assert key_words("E lydian") == "In E, bright and dreamy"
    assert key_words("A minor") == "In A, darker"
    refused = MediaError("Files of type 'png_pipe' are not accepted here.", code="media_type_not_allowed")
    assert upload_error(refused, kind="video", name="cat.png") == \
        "“cat.png” isn't a video. Choose a video file: MP4, MOV, MKV, WebM or AVI."
    too_long = MediaError("The file lasts 400 s; the limit is 300 s.", code="media_too_long")
    assert upload_error(too_long, kind="video", name="trip.mp4") == "“trip.mp4” is too long. The limit is 5 minutes."
    assert upload_error(MediaError("Odd.", code="something_new"), kind="video", name="x") == "Odd."


def test_missing_pages_answer_a_page_for_people(client_user: Client) -> None:
    response = client_user.get("/no-such-page/")
    assert response.status_code == 404
    assert "We can't find that page" in response.content.decode()


def test_schema_reads_in_a_browser_and_downloads_for_tools(client: Client) -> None:
    browser = client.get("/api/schema/", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert browser["Content-Type"] == "text/plain; charset=utf-8"
    assert "Content-Disposition" not in browser
    assert browser.content.decode().startswith("openapi: ")
    tool = client.get("/api/schema/")
    assert tool["Content-Type"].startswith("application/vnd.oai.openapi")


def test_favicon_and_docs_fetch_nothing_from_the_internet(client: Client, settings: Any) -> None:
    assert client.get("/favicon.ico")["Location"].endswith("favicon.svg")
    for url in ("/api/docs/", "/api/redoc/"):
        html = client.get(url).content.decode()
        assert "fonts.googleapis.com" not in html and "cdn.jsdelivr" not in html
        assert '<html lang="en">' in html


def test_soundtrack_upload_refusal_sits_next_to_the_field_and_keeps_the_title(client_user: Client) -> None:
    response = client_user.post("/soundtrack/", {"title": "Our trip", "file": _png_upload()})
    html = response.content.decode()
    assert response.status_code == 400
    assert "“cat.png” isn&#x27;t a video" in html or "“cat.png” isn't a video" in html
    assert 'value="Our trip"' in html
    assert "(media_type_not_allowed)" not in html and 'aria-invalid="true"' in html


def _png_upload() -> Any:
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 90)).save(buffer, format="PNG")
    return SimpleUploadedFile("cat.png", buffer.getvalue(), content_type="image/png")
