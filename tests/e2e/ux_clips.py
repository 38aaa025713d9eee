"""Helpers for the UX browser tests: axe-core injected from disk, a consent with real face pictures,
and fake-camera pictures for the face-in-frame check built from skimage's real photographs (public
domain, shipped inside scikit-image): one face centred, no face at all, two faces side by side."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from PIL import Image
from playwright.sync_api import Page
from skimage import data

from charcha.models import Challenge, ConsentRecord
from charcha.services import challenge_finish, challenge_verdict_apply
from charcha.testing.fixtures import write_mjpeg
from tests.charcha.conftest import at, cadence, issue, passing_verdict, stream

SIZE = (640, 480)
# axe-core from npm (package.json; `make install` runs npm ci): injected into pages from disk.
AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
# The astronaut's face in skimage's 512x512 photo (mediapipe's box: x, y, width, height).
FACE = (174, 68, 104, 104)


def _face_crop(width: int, height: int, face_width: int) -> np.ndarray:
    """The astronaut photo scaled so her face is ``face_width`` px wide, cropped around the face to
    ``width`` x ``height`` with the face at the crop's centre (47 % down, like the page's oval)."""
    photo = data.astronaut()
    scale = face_width / FACE[2]
    big = cv2.resize(photo, (round(512 * scale), round(512 * scale)), interpolation=cv2.INTER_AREA)
    cx, cy = (FACE[0] + FACE[2] / 2) * scale, (FACE[1] + FACE[3] / 2) * scale
    pad = max(width, height)
    padded = cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    x0, y0 = round(cx + pad - width / 2), round(cy + pad - 0.47 * height)
    return np.ascontiguousarray(padded[y0:y0 + height, x0:x0 + width])


def one_face() -> np.ndarray:
    return _face_crop(*SIZE, face_width=200)


def two_faces() -> np.ndarray:
    half = _face_crop(SIZE[0] // 2, SIZE[1], face_width=130)
    return np.hstack([half, half[:, ::-1]])


def no_face() -> np.ndarray:
    """An empty, evenly lit wall (skimage's brick photo): light enough, nothing to find."""
    wall = cv2.cvtColor(data.brick(), cv2.COLOR_GRAY2RGB)
    return cv2.resize(wall, SIZE, interpolation=cv2.INTER_AREA)


def write_clip(path: Path, image: np.ndarray, *, frames: int = 30) -> Path:
    """A still as an MJPEG Chromium loops as its camera; each frame is nudged so no two are equal bytes."""
    images = [np.clip(image.astype(np.int16) + (i % 3) - 1, 0, 255).astype(np.uint8) for i in range(frames)]
    write_mjpeg(path, images, repeat=1, quality=85)
    return path


def face_jpegs(count: int) -> list[bytes]:
    """Distinct JPEGs of a real face (replay detection refuses equal bytes; the pictures page shows them)."""
    base = Image.fromarray(one_face()).resize((320, 240))
    out = []
    for i in range(count):
        buffer = io.BytesIO()
        base.rotate(i * 0.7).save(buffer, format="JPEG", quality=70 + i % 20)
        out.append(buffer.getvalue())
    return out


class _PassingDecision:
    """Decides a pass whatever the pictures show: still photos do no moves, and the pages are what
    is tested. Batches are still analysed by the real engine as they arrive."""

    def __init__(self, challenge_id: Any, keep: tuple[int, ...]) -> None:
        self.challenge_id = challenge_id
        self.keep = keep

    def analyse_batch(self, frames: Any, *, first_index: int) -> Any:
        raise AssertionError("batches are analysed by the real engine on arrival")

    def decide(self, observations: Any, steps: Any, **kwargs: Any) -> Any:
        challenge = Challenge.objects.get(pk=self.challenge_id)
        return passing_verdict(challenge, self.keep)


def consent_with_pictures(user: User, keep: tuple[int, ...] = (1, 3, 5, 7, 9)) -> ConsentRecord:
    """A passed consent through the real services, keeping ``keep`` of 12 face pictures."""
    issued = issue(user, timezone.now())
    times = cadence(12)
    stream(user, issued, times, frames=face_jpegs(len(times)))
    decision = _PassingDecision(issued.challenge.pk, keep)
    with transaction.atomic():
        challenge = challenge_finish(user=user, challenge_id=issued.challenge.pk, nonce=issued.nonce,
                                     now=at(issued.challenge, times[-1] + 500), verifier=decision)  # type: ignore[arg-type]
        if challenge.state == Challenge.State.VERIFYING:
            # Batches not analysed yet (no commit between frames and finish): decide it directly.
            challenge_verdict_apply(challenge=challenge, verdict=passing_verdict(challenge, keep))
    return ConsentRecord.objects.get(user=user)


def axe_violations(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate("""async () => {
      const result = await axe.run(document, {resultTypes: ["violations"]});
      return result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 4).map((n) => n.target.join(" "))}));
    }""")
