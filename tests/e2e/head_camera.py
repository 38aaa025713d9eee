"""A camera for the browser tests that responds to the page: a rendered 3-D head lit by its light.

The page's ``getUserMedia`` is replaced (before any page script runs) by a ``canvas.captureStream()``
that draws, 30 times a second, the head of :mod:`charcha.testing.head3d` as the screen lights it:
per pose an "ambient" image A and a "screen-lit" image B are rendered here (linear light, stored as
sRGB PNGs), and each frame is ``A + c * B`` with ``c`` the colour the page's light element shows at
that moment (read from its computed style, so the page's own fades are seen), ~120 ms late like a
display and a camera. The head does what the page's prompt says, only once the prompt appears,
after a human reaction time. ``still`` mode draws one picture that neither moves nor sees the light:
a photo held to the camera.

The init script also logs every cue answer and every prompt change with the page's clock, so a test
can check that no prompt was shown before the server revealed it.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from playwright.sync_api import Page, Route

from charcha.testing.attacks import photo
from charcha.testing.head3d import HeadPose, HeadRenderer, encode_srgb, head_model

SIZE = (320, 240)
LEVELS = (1, 2, 3)   # thirds of each move's amplitude
# Amplitudes in the middle of what the head's actor does (charcha.testing.head3d.HeadActor).
POSES = {
    "turn_left": lambda u: HeadPose(yaw_deg=25 * u),
    "turn_right": lambda u: HeadPose(yaw_deg=-25 * u),
    "look_up": lambda u: HeadPose(pitch_deg=19 * u),
    "look_down": lambda u: HeadPose(pitch_deg=-21 * u),
    "blink": lambda u: HeadPose(blink=u),
    "open_mouth": lambda u: HeadPose(mouth_open=0.85 * u),
    "smile": lambda u: HeadPose(smile=0.85 * u),
}
ROUTE = "/__e2e_head/"


def write_head_assets(directory: Path) -> Path:
    """Render A and B for the neutral pose and three levels of every move; returns the folder."""
    directory.mkdir(parents=True, exist_ok=True)
    renderer = HeadRenderer(head_model(photo("astronaut")), size=SIZE)
    poses: dict[str, HeadPose] = {"neutral": HeadPose()}
    for action, make in POSES.items():
        for level in LEVELS:
            poses[f"{action}-{level}"] = make(level / len(LEVELS))
    for key, pose in poses.items():
        a, b = renderer.layers(pose)
        for name, layer in (("a", a), ("b", b)):
            cv2.imwrite(str(directory / f"{key}.{name}.png"), cv2.cvtColor(encode_srgb(layer), cv2.COLOR_RGB2BGR))
    still = renderer.render(HeadPose(), (236, 236, 230))
    cv2.imwrite(str(directory / "still.png"), cv2.cvtColor(still, cv2.COLOR_RGB2BGR))
    (directory / "manifest.json").write_text(json.dumps({"size": SIZE, "poses": sorted(poses), "levels": len(LEVELS)}))
    return directory


CAMERA_JS = r"""
(() => {
  const MODE = "%MODE%", BASE = "%ROUTE%";
  const ACTIONS = ["turn_left", "turn_right", "look_up", "look_down", "blink", "open_mouth", "smile"];
  const toLin = new Float32Array(256);
  for (let i = 0; i < 256; i++) { const c = i / 255; toLin[i] = c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; }
  const toSrgb = new Uint8ClampedArray(4096);
  for (let i = 0; i < 4096; i++) {
    const x = i / 4095; toSrgb[i] = Math.round(255 * (x <= 0.0031308 ? 12.92 * x : 1.055 * x ** (1 / 2.4) - 0.055));
  }
  window.__cues = [];      // [page ms, step action or null]
  window.__prompts = [];   // [page ms, action] each time the prompt changes to a move
  const realFetch = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const response = await realFetch(input, init);
    const url = typeof input === "string" ? input : input.url;
    if (url.includes("/cue/") && response.ok) {
      response.clone().json().then((body) => window.__cues.push([performance.now(), body.step ? body.step.action : null]));
    }
    return response;
  };
  let assets = null, W = 0, H = 0;
  async function pixels(name) {
    const img = new Image();
    img.src = BASE + name;
    await img.decode();
    const c = document.createElement("canvas");
    c.width = W; c.height = H;
    const ctx = c.getContext("2d", {willReadFrequently: true});
    ctx.drawImage(img, 0, 0);
    const data = ctx.getImageData(0, 0, W, H).data;
    const out = new Float32Array(W * H * 3);
    for (let i = 0, j = 0; j < data.length; i += 3, j += 4) {
      out[i] = toLin[data[j]]; out[i + 1] = toLin[data[j + 1]]; out[i + 2] = toLin[data[j + 2]];
    }
    return out;
  }
  async function load() {
    const manifest = await (await realFetch(BASE + "manifest.json")).json();
    [W, H] = manifest.size;
    const poses = {};
    if (MODE === "still") {
      poses.still = {a: await pixels("still.png"), b: null};
    } else {
      for (const key of manifest.poses) poses[key] = {a: await pixels(key + ".a.png"), b: await pixels(key + ".b.png")};
    }
    return {poses, levels: manifest.levels};
  }
  const light = [];        // [page ms, linear rgb] as the screen showed it
  function screenLight() {
    const el = document.getElementById("charcha-light");
    if (!el || el.hidden) return [0.008, 0.008, 0.01];   // the page's dark theme
    const m = getComputedStyle(el).backgroundColor.match(/[\d.]+/g);
    return m.slice(0, 3).map((v) => toLin[Math.max(0, Math.min(255, Math.round(Number(v))))]);
  }
  function lightAt(t) {
    let c = light.length ? light[0][1] : [0.008, 0.008, 0.01];
    for (const [at, rgb] of light) { if (at <= t) c = rgb; else break; }
    return c;
  }
  const moves = [];
  let lastPrompt = "";
  function follow(now) {
    const el = document.getElementById("charcha-prompt");
    const action = el ? el.dataset.action : "";
    if (action !== lastPrompt) {
      lastPrompt = action;
      if (ACTIONS.includes(action)) {
        window.__prompts.push([now, action]);
        const blink = action === "blink";
        moves.push({action, onset: now + 300 + Math.random() * 200, rampIn: blink ? 70 : 220,
                    hold: blink ? 130 : 700, rampOut: blink ? 100 : 250});
      }
    }
  }
  function poseAt(t) {
    for (const m of moves) {
      const x = t - m.onset;
      if (x <= 0 || x >= m.rampIn + m.hold + m.rampOut) continue;
      let u = x < m.rampIn ? x / m.rampIn : (x < m.rampIn + m.hold ? 1 : 1 - (x - m.rampIn - m.hold) / m.rampOut);
      u = 0.5 - 0.5 * Math.cos(Math.PI * u);
      const level = Math.round(u * assets.levels);
      if (level > 0) return m.action + "-" + level;
    }
    return "neutral";
  }
  const canvas = document.createElement("canvas");
  let ctx = null, frame = null;
  function draw() {
    const now = performance.now();
    const pose = MODE === "still" ? assets.poses.still : assets.poses[(follow(now), poseAt(now))];
    let c = [0, 0, 0];
    if (MODE !== "still") {
      light.push([now, screenLight()]);
      while (light.length > 2 && light[1][0] < now - 1000) light.shift();
      c = lightAt(now - 120);
    }
    const a = pose.a, b = pose.b, d = frame.data;
    for (let i = 0, j = 0; j < d.length; i += 3, j += 4) {
      for (let k = 0; k < 3; k++) {
        const lin = b ? a[i + k] + c[k] * b[i + k] : a[i + k];
        const v = toSrgb[Math.min(4095, Math.max(0, Math.round(lin * 4095)))] + ((Math.random() * 3) | 0) - 1;
        d[j + k] = v;
      }
      d[j + 3] = 255;
    }
    ctx.putImageData(frame, 0, 0);
  }
  const ready = load().then((loaded) => {
    assets = loaded;
    canvas.width = W; canvas.height = H;
    ctx = canvas.getContext("2d");
    frame = ctx.createImageData(W, H);
  });
  let started = null;
  navigator.mediaDevices.getUserMedia = async () => {
    await ready;
    if (!started) {
      canvas.style.cssText = "position:fixed;left:-10000px;top:0";
      document.body.appendChild(canvas);
      draw();
      setInterval(draw, 33);
      started = canvas.captureStream(30);
    }
    const stream = new MediaStream(started.getVideoTracks().map((t) => t.clone()));
    return stream;
  };
})();
"""


def install_head_camera(page: Page, assets: Path, *, mode: str = "live") -> None:
    """Serve the rendered poses to the page and replace its camera before any of its scripts run."""

    def serve(route: Route) -> None:
        name = route.request.url.split(ROUTE, 1)[1].split("?")[0]
        path = (assets / name).resolve()
        if path.parent != assets.resolve() or not path.is_file():
            route.fulfill(status=404, body="")
            return
        kind = "application/json" if name.endswith(".json") else "image/png"
        route.fulfill(status=200, body=path.read_bytes(), headers={"Content-Type": kind})

    page.route(f"**{ROUTE}**", serve)
    page.add_init_script(CAMERA_JS.replace("%MODE%", mode).replace("%ROUTE%", ROUTE))


def mean_colour(png: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB).reshape(-1, 3).mean(axis=0))
