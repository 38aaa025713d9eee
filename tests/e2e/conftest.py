"""Headless Chromium (Debian's build) driven by Playwright against pytest-django's live server."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Browser, Page, sync_playwright

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls under a
# running loop unless told this thread is not really async.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("ENCORE_CHROMIUM", "/usr/bin/chromium")
BASE_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage"]


@pytest.fixture
def browser_factory() -> Iterator[Callable[..., Browser]]:
    """Launch Chromium with extra flags (a fake webcam, say); every browser is closed afterwards.

    Playwright gives each launch a fresh, empty profile of its own.
    """
    pw = sync_playwright().start()
    browsers: list[Browser] = []

    def launch(extra_args: list[str] | None = None) -> Browser:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[*BASE_ARGS, *(extra_args or [])])
        browsers.append(browser)
        return browser

    yield launch
    for browser in browsers:
        browser.close()
    pw.stop()


@pytest.fixture
def page(browser_factory: Callable[..., Browser]) -> Iterator[Page]:
    browser = browser_factory()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def background_analysis(live_server: Any, settings: Any) -> Iterator[None]:
    """Challenge batches analysed off the request path, by one thread of the live server's process,
    as a Celery worker analyses them in production.

    Eager tasks analysed each batch inside its upload request, so the page's next batch waited for
    the last one's analysis: on a loaded machine (two test runs at once) analysis fell behind real
    time, the batches aged past the server's capture deadline and the page said the connection was
    lost. The finish request waits for the thread to catch up (the verify job would otherwise
    analyse the same batches in the request at the same time, on the same FaceMesh).
    """
    from charcha.testing.worker import background_analysis as analysis_thread

    settings.CHARCHA_FINISH_WAIT_MS = 60_000
    with analysis_thread():
        yield


def login(page: Page, live_server: Any, username: str = "e2e", password: str = "a long enough passphrase") -> Any:
    """Create a user and log in through the real login form; returns the user."""
    user = get_user_model().objects.create_user(username=username, password=password)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return user
