"""Test footage for the watermark: real photographs moved by a camera, and compositor-like graphics.

``real_footage`` pans and zooms across skimage's real photographs (public domain: the astronaut,
the coffee cup, the cat, the rocket), cutting between them, so frames carry real texture, real
edges and real motion; ``compositor_like`` draws what the compositor renderer makes: a person
cut-out over a moving gradient with shapes and a caption bar. Both are deterministic.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")


def _photo(name: str) -> np.ndarray:
    from skimage import data

    image = getattr(data, name)()
    return image[..., :3] if image.ndim == 3 else np.stack([image] * 3, axis=-1)


def real_footage(n_frames: int, *, width: int = 1280, height: int = 720, fps: int = 30,
                 shot_s: float = 2.0) -> Iterator[np.ndarray]:
    """Pans and zooms over real photographs, one shot per photo, cutting every ``shot_s`` seconds."""
    import cv2

    photos = [_photo(name) for name in PHOTOS]
    shot = max(1, int(round(shot_s * fps)))
    for i in range(n_frames):
        photo = photos[(i // shot) % len(photos)]
        t = (i % shot) / shot
        ph, pw = photo.shape[:2]
        # A crop with the output's aspect ratio that zooms in by up to 25 % and drifts across.
        zoom = 1.0 + 0.25 * t
        crop_w = min(pw, ph * width / height) / zoom
        crop_h = crop_w * height / width
        x0 = (pw - crop_w) * (0.2 + 0.6 * t)
        y0 = (ph - crop_h) * (0.5 + 0.3 * np.sin(2 * np.pi * t) * 0.5)
        src = np.array([[x0, y0], [x0 + crop_w, y0], [x0, y0 + crop_h]], dtype=np.float32)
        dst = np.array([[0, 0], [width, 0], [0, height]], dtype=np.float32)
        yield cv2.warpAffine(photo, cv2.getAffineTransform(src, dst), (width, height), flags=cv2.INTER_CUBIC,
                             borderMode=cv2.BORDER_REFLECT)


def compositor_like(n_frames: int, *, width: int = 1280, height: int = 720, fps: int = 30,
                    bpm: float = 120.0) -> Iterator[np.ndarray]:
    """A person cut-out over an animated gradient with pulsing shapes and a caption bar."""
    import cv2

    person = _photo("astronaut")
    ph = int(height * 0.8)
    person = cv2.resize(person, (ph, ph), interpolation=cv2.INTER_AREA)
    yy, xx = np.mgrid[0:ph, 0:ph].astype(np.float32) / ph
    # An elliptical soft mask stands in for the selfie segmentation.
    mask = np.clip(1.5 - 3.0 * np.hypot((xx - 0.5) / 0.7, (yy - 0.55) / 0.9), 0.0, 1.0)[..., None]
    gy, gx = np.mgrid[0:height, 0:width].astype(np.float32)
    for i in range(n_frames):
        t = i / fps
        beat = (t * bpm / 60.0) % 1.0
        pulse = np.exp(-6.0 * beat)
        hue = 0.5 + 0.5 * np.sin(2 * np.pi * (gx / width * 0.7 + gy / height * 0.3 + t * 0.15))
        frame = np.empty((height, width, 3), np.float32)
        frame[..., 0] = 40 + 150 * hue
        frame[..., 1] = 30 + 60 * (1 - hue)
        frame[..., 2] = 90 + 120 * (1 - hue) * (0.7 + 0.3 * pulse)
        for k in range(6):
            cx = int(width * (0.1 + 0.8 * ((k * 0.37 + t * 0.05 * (k + 1)) % 1.0)))
            cy = int(height * (0.2 + 0.6 * ((k * 0.61) % 1.0)))
            cv2.circle(frame, (cx, cy), int(30 + 40 * pulse + 10 * k), (255, 200 - 20 * k, 80 + 25 * k), -1,
                       lineType=cv2.LINE_AA)
        scale = 1.0 + 0.04 * pulse
        size = int(ph * scale) // 2 * 2
        cut = cv2.resize(person, (size, size)).astype(np.float32)
        m = cv2.resize(mask, (size, size))[..., None]
        x0, y0 = (width - size) // 2 + int(60 * np.sin(t)), height - size
        region = frame[max(y0, 0):y0 + size, x0:x0 + size]
        h, w = region.shape[:2]
        region[:] = m[-h:, :w] * cut[-h:, :w] + (1 - m[-h:, :w]) * region
        cv2.rectangle(frame, (0, height - 90), (width, height - 30), (10, 10, 20), -1)
        cv2.putText(frame, "and the night comes alive", (int(width * 0.2), height - 48), cv2.FONT_HERSHEY_DUPLEX,
                    1.4, (255, 240, 120) if beat < 0.5 else (255, 255, 255), 2, cv2.LINE_AA)
        yield np.clip(frame, 0, 255).astype(np.uint8)
