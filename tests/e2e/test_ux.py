"""Every page at a phone's 390 px and a laptop's 1280 px, in Chromium against the live server.

For each page: the document is no wider than the window (no sideways scrolling), every primary
button can be clicked (visible, enabled, not covered), the console stays free of errors, and
axe-core (node_modules/axe-core, injected from disk) finds no serious or critical violation.
A full-page screenshot of each lands in /tmp/encore-shots/ux/. Problems are collected over all
pages and reported together, so one run shows everything that is wrong.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Error, Page, ViewportSize

from charcha.models import ConsentRecord
from jobs.models import Job
from mediakit.audio import write_wav
from musicvideo.models import MusicVideo
from musicvideo.services import song_create
from musicvideo.testing.synthetic import make_song, song_of_length
from personalize.models import Adapter
from soundtrack.models import Soundtrack, SourceVideo
from soundtrack.services import soundtrack_create, source_video_create
from soundtrack.testing.synthetic import SyntheticVideo, make_beat_video
from tests.e2e.ux_clips import AXE, axe_violations, consent_with_pictures

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("ENCORE_SCREENSHOTS", "/tmp/encore-shots")) / "ux"
PASSWORD = "a long enough passphrase"
VIEWPORTS: dict[str, ViewportSize] = {"phone": {"width": 390, "height": 844}, "laptop": {"width": 1280, "height": 900}}
# Buttons that lead somewhere or submit: each must be clickable where it is shown.
PRIMARY = ".button:visible, button[type=submit]:visible"


@dataclass
class World:
    fan: User                       # consented, with kept pictures, a video and a finished soundtrack
    fresh: User                     # just signed up
    staff: User
    consent: ConsentRecord
    video: SourceVideo
    soundtrack: Soundtrack
    queued: Job                     # a job still running, for its progress page
    song_id: int                    # an uploaded song, not analysed
    adapter_id: str
    music_video_id: int
    pages: dict[str, list[str]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> SyntheticVideo:
    return make_beat_video(tmp_path_factory.mktemp("ux") / "holiday.mp4", duration_s=5.0, size=(320, 180),
                           beat_period_s=0.6, beat_offset_s=0.3, cuts_s=[3.3], seed=4, with_audio=True)


@pytest.fixture
def world(clip: SyntheticVideo, django_capture_on_commit_callbacks: Any, tmp_path: Path) -> World:
    fan = User.objects.create_user(username="rosa", password=PASSWORD, email="rosa@example.com")
    fresh = User.objects.create_user(username="sam", password=PASSWORD)
    staff = User.objects.create_superuser(username="reviewer", password=PASSWORD)
    consent = consent_with_pictures(fan)
    video = source_video_create(user=fan, upload=SimpleUploadedFile("holiday.mp4", clip.path.read_bytes()),
                                title="Holiday")
    with django_capture_on_commit_callbacks(execute=True):
        soundtrack = soundtrack_create(user=fan, video=video)
    soundtrack.refresh_from_db()
    assert soundtrack.job.status == "succeeded", soundtrack.job.error_detail
    # A second take, shown as still running (its page then shows live progress instead of results).
    queued = soundtrack_create(user=fan, video=video, genre="pop").job
    Job.objects.filter(pk=queued.pk).update(status="running", progress=0.4, stage="compose",
                                            message="Composing bar 3 of 8", finished_at=None)
    queued.refresh_from_db()
    wav = tmp_path / "summer.wav"
    tune = make_song(song_of_length(12.0, vocals=False))
    write_wav(wav, tune.samples, tune.sample_rate)
    song = song_create(user=fan, upload=SimpleUploadedFile("summer.wav", wav.read_bytes()), title="Summer")
    # An adapter and a music video still being made (rows as their jobs leave them mid-way: the pages
    # under test show progress; training and rendering have browser tests of their own).
    training = Job.objects.create(user=fan, kind=Job.Kind.TRAIN, task_name="personalize.train_adapter", queue="gpu",
                                  status="running", progress=0.3, stage="train", message="Step 4 of 12")
    adapter = Adapter.objects.create(user=fan, consent=consent, family="sd15-animatediff", base="tiny",
                                     trigger="ux1", status=Adapter.Status.TRAINING, job=training)
    rendering = Job.objects.create(user=fan, kind=Job.Kind.RENDER, task_name="musicvideo.render_video",
                                   status="running", progress=0.5, stage="render", message="Scene 3 of 6")
    music_video = MusicVideo.objects.create(user=fan, song=song, consent=consent, job=rendering, style="neon")
    return World(fan=fan, fresh=fresh, staff=staff, consent=consent, video=video, soundtrack=soundtrack,
                 queued=queued, song_id=song.pk, adapter_id=str(adapter.pk), music_video_id=music_video.pk)


def page_lists(world: World) -> dict[str, list[tuple[str, str]]]:
    """Who sees which pages: (screenshot name, path)."""
    return {
        "visitor": [("home", "/"), ("login", "/accounts/login/"), ("signup", "/accounts/signup/"),
                    ("reset", "/accounts/password-reset/"), ("reset-sent", "/accounts/password-reset/sent/"),
                    ("reset-bad-link", "/accounts/password-reset/MQ/set-password/"),
                    ("reset-done", "/accounts/password-reset/done/"), ("404", "/no-such-page/")],
        "fresh": [("home", "/"), ("consent", "/consent/"), ("capture", "/consent/capture/"),
                  ("pictures-none", "/consent/pictures/"), ("adapters", "/adapters/"), ("songs", "/songs/"),
                  ("soundtracks", "/soundtrack/"), ("jobs", "/jobs/")],
        "fan": [("home", "/"), ("consent", "/consent/"), ("notice", f"/consent/notice/v{world.consent.notice_version}/"),
                ("pictures", "/consent/pictures/"), ("withdraw", f"/consent/records/{world.consent.pk}/withdraw/"),
                ("adapters", "/adapters/"), ("adapter", f"/adapters/{world.adapter_id}/"), ("songs", "/songs/"),
                ("song", f"/songs/{world.song_id}/"), ("music-video", f"/songs/videos/{world.music_video_id}/"),
                ("video-new", f"/songs/{world.song_id}/video/new/"), ("soundtracks", "/soundtrack/"),
                ("video", f"/soundtrack/videos/{world.video.pk}/"),
                ("soundtrack-done", f"/soundtrack/tracks/{world.soundtrack.pk}/"),
                ("soundtrack-running", f"/soundtrack/tracks/{world.queued.soundtrack.pk}/"), ("jobs", "/jobs/"),
                ("job-done", f"/jobs/{world.soundtrack.job.pk}/"), ("job-running", f"/jobs/{world.queued.pk}/")],
        "staff": [("admin", "/admin/"), ("admin-consents", "/admin/charcha/consentrecord/"),
                  ("admin-consent", f"/admin/charcha/consentrecord/{world.consent.pk}/change/"),
                  ("admin-jobs", "/admin/jobs/job/"), ("api-docs", "/api/docs/"), ("api-redoc", "/api/redoc/")],
    }


def log_in(context: BrowserContext, base: str, username: str) -> Page:
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


def audit(page: Page, url: str, name: str, console: list[str], *, expect_status: int = 200) -> list[str]:
    """Everything wrong with one page, in words."""
    console.clear()
    response = page.goto(url)
    assert response is not None
    problems = []
    if response.status != expect_status:
        problems.append(f"HTTP {response.status}")
    page.wait_for_load_state("load")
    page.wait_for_timeout(250)   # scripts that run after load (progress polling, players)
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    if widths[0] > widths[1]:
        wide = page.evaluate("""() => Array.from(document.querySelectorAll("body *"))
          .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
          .slice(0, 3).map((el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
            (el.className && typeof el.className === "string" ? "." + el.className.split(" ").join(".") : ""))""")
        problems.append(f"{widths[0]} px wide in a {widths[1]} px window ({', '.join(wide)})")
    buttons = page.locator(PRIMARY)
    for i in range(buttons.count()):
        button = buttons.nth(i)
        if not button.is_enabled():
            continue
        try:
            button.click(trial=True, timeout=3000)
        except Exception as exc:  # Playwright's TimeoutError names what covers or hides the button
            problems.append(f"button {button.inner_text()!r} cannot be clicked: {str(exc).splitlines()[0]}")
    serious = [v for v in axe_violations(page) if v["impact"] in ("serious", "critical")]
    problems += [f"axe {v['impact']} {v['id']}: {v['help']} at {v['nodes']}" for v in serious]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    problems += [f"console: {message}" for message in console]
    return problems


def watch_console(page: Page, sink: list[str]) -> None:
    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            sink.append(message.text)

    def on_error(error: Error) -> None:
        sink.append(str(error))

    page.on("console", on_console)
    page.on("pageerror", on_error)


@pytest.fixture
def contexts(browser_factory: Callable[..., Browser]) -> Iterator[Callable[[ViewportSize], BrowserContext]]:
    browser = browser_factory()
    made: list[BrowserContext] = []

    def new(viewport: ViewportSize) -> BrowserContext:
        context = browser.new_context(viewport=viewport)
        made.append(context)
        return context

    yield new
    for context in made:
        context.close()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_every_page_fits_works_and_passes_axe(viewport: str, world: World, live_server: Any,
                                              contexts: Callable[[ViewportSize], BrowserContext]) -> None:
    assert AXE.exists(), "axe-core is missing: run `make install` (npm ci)"
    report: dict[str, list[str]] = {}
    for who, paths in page_lists(world).items():
        context = contexts(VIEWPORTS[viewport])
        console: list[str] = []
        if who == "visitor":
            page = context.new_page()
        else:
            page = log_in(context, live_server.url, {"fresh": "sam", "fan": "rosa", "staff": "reviewer"}[who])
        watch_console(page, console)
        for name, path in paths:
            missing = path == "/no-such-page/"
            problems = audit(page, f"{live_server.url}{path}", f"{viewport}-{who}-{name}", console,
                             expect_status=404 if missing else 200)
            if missing:   # the browser reports the 404 itself; that is the point of this page
                problems = [p for p in problems if "404 (Not Found)" not in p]
            if problems:
                report[f"{who} {path}"] = problems
    assert not report, "\n".join(f"{page}:\n  " + "\n  ".join(problems) for page, problems in report.items())


