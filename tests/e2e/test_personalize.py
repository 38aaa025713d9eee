"""Training an adapter from the adapter page in Chromium: live steps and loss curve, then the results."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from charcha.testing.fixtures import Clip, load_clip
from jobs.models import Job
from jobs.services import job_run_now
from personalize.models import Adapter
from personalize.services import adapter_train_start
from tests.e2e.conftest import login
from tests.personalize.conftest import make_consent

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def genuine() -> Clip:
    return load_clip("genuine_a")


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    # Tiny models on a shared 2-core box run several times faster on one intra-op thread.
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def held_midway(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Holds training at step 20 until the test lets go, so the page is seen mid-training on any machine.

    Tiny models can finish all 40 steps between two of the page's one-second polls on a fast or lightly
    loaded box, and the time left is only shown while the adapter trains.
    """
    from personalize import services

    release = threading.Event()
    record = services._LossRecorder.__call__

    def held(self: Any, step: int, loss: float, s_per_step: float) -> None:
        record(self, step, loss, s_per_step)
        if step == 20:
            self.flush(step, s_per_step)
            release.wait(timeout=120)

    monkeypatch.setattr(services._LossRecorder, "__call__", held)
    return release


def test_training_progress_loss_curve_and_validation_in_the_browser(page: Page, live_server: Any, genuine: Clip,
                                                                     settings: Any, one_torch_thread: None,
                                                                     held_midway: threading.Event) -> None:
    settings.PERSONALIZE_MODELS, settings.PERSONALIZE_DEVICE, settings.PERSONALIZE_DTYPE = "tiny", "cpu", "float32"
    user = login(page, live_server)
    make_consent(user, genuine, settings)
    page.goto(f"{live_server.url}/adapters/")
    expect(page.locator("#train-form button")).to_have_text("Train an adapter from my consent")

    # Queued with no worker yet (enqueue=False), long enough to watch it move.
    adapter = adapter_train_start(user=user, overrides={"steps": 40, "checkpoint_every": 10}, enqueue=False)
    assert adapter.job is not None
    page.goto(f"{live_server.url}/adapters/{adapter.pk}/")
    expect(page.locator('.job-progress [data-role="status"]')).to_have_text("Queued")
    worker = threading.Thread(target=job_run_now, kwargs={"job_id": adapter.job.pk})
    worker.start()
    # While it trains: the step count climbs, the loss curve is drawn and time left is shown.
    expect(page.locator("#loss-curve path")).to_be_attached(timeout=120_000)
    expect(page.locator("#time-left")).to_contain_text("left", timeout=60_000)
    expect(page.locator("#steps")).to_have_text("20")
    held_midway.set()
    worker.join(timeout=300)
    assert Job.objects.get(pk=adapter.job.pk).status == "succeeded"
    # The page reloads itself when the job ends and shows the decrypted validation renders.
    expect(page.locator("#validation img")).to_have_count(2, timeout=60_000)
    expect(page.locator("#validation video")).to_have_count(1)
    widths = page.eval_on_selector_all("#validation img", "els => els.map(e => e.naturalWidth)")
    assert widths == [32, 32]
    expect(page.locator("#steps")).to_have_text("40")
    expect(page.locator("#identity-score")).to_have_text("—")  # tiny random models draw no face

    page.click("#delete-form button")
    page.wait_for_url(f"{live_server.url}/adapters/")
    assert not Adapter.objects.exists()
