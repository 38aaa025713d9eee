"""The ``keyframes`` renderer (sd15 family): stills with the user's LoRA on the beat, motion between.

For one scene:

1. Keyframes land on beats: frame 0 (the scene starts on a beat), every ``beats_per_keyframe``-th
   beat after it, and the scene's last frame. Each keyframe's prompt is the scene prompt (with the
   adapter's trigger) plus the lyric words sung around that beat, so the picture follows the words.
2. The first keyframe is a full text-to-image generation; each later one is img2img from the
   previous keyframe's latent at strength ``continuity``: the same person and place, moved on.
3. Between keyframes, "tween" anchors every ``tween_every`` frames: img2img at a low strength from
   the slerp of the two keyframe latents, conditioned on the linear mix of their prompt
   embeddings (latent and prompt-embedding interpolation), without classifier-free guidance
   (a clean-up pass needs none, and it halves the cost).
4. Every output frame is the VAE decode of the slerp between its two neighbouring anchors.

Costs per 3-minute video scale with: full keyframes (one per scene), img2img keyframes, tweens and
one VAE decode per frame; ``plan_cost`` counts them, ``bench/render_diffusion.py`` prices them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from musicvideo.render.base import (
    Person,
    RenderEnv,
    RenderSettings,
    SceneAudio,
    SceneSpec,
    check_frame,
    prompt_for_person,
    register_renderer,
)
from musicvideo.render.diffusion import (
    NEGATIVE_PROMPT,
    SD15,
    AdapterSlot,
    ModelCache,
    beat_frames,
    cpu_generator,
    fit_frame,
    load_cached,
    seed_for,
    slerp,
)


@dataclass(frozen=True)
class KeyframeOptions:
    width: int = 640                 # generation size (multiples of 8); frames are then fitted to the render size
    height: int = 360
    steps: int = 25
    guidance: float = 7.5
    beats_per_keyframe: int = 4      # one keyframe a bar in 4/4
    continuity: float = 0.6          # img2img strength from the previous keyframe (0 copies it, 1 ignores it)
    tween_every: int = 10            # frames between tween anchors (0: only keyframes)
    tween_strength: float = 0.25
    decode_batch: int = 8


# What tests, CI and the tiny benchmarks use with base weights "tiny" (a 32 px native model).
TINY_OPTIONS = KeyframeOptions(width=64, height=40, steps=4, tween_every=4, decode_batch=4)


def keyframe_indices(scene: SceneSpec, fps: int, n_frames: int, beats_per_keyframe: int) -> list[int]:
    """Frame 0, every ``beats_per_keyframe``-th beat, and the last frame."""
    beats = beat_frames(scene, fps, n_frames)
    chosen = {0, n_frames - 1}
    chosen.update(b for i, b in enumerate(beats) if i % max(beats_per_keyframe, 1) == 0)
    return sorted(k for k in chosen if 0 <= k < n_frames)


def tween_indices(keys: list[int], every: int) -> list[int]:
    if every <= 0:
        return []
    return [k for a, b in itertools.pairwise(keys) for k in range(a + every, b - every // 2, every)]


def plan_cost(keys: list[int], n_frames: int, options: KeyframeOptions) -> dict[str, int]:
    """Denoiser calls and VAE decodes one scene costs (guided steps count the two halves once)."""
    later = max(len(keys) - 1, 0)
    return {"guided_steps": options.steps + later * int(options.steps * options.continuity),
            "plain_steps": len(tween_indices(keys, options.tween_every)) * int(options.steps * options.tween_strength),
            "vae_decodes": n_frames, "keyframes": len(keys)}


def words_near(scene: SceneSpec, t: float, window_s: float) -> str:
    return " ".join(w.text for w in scene.words if w.end_s >= t - window_s and w.start_s <= t + window_s)


class KeyframesRenderer:
    """``KeyframesRenderer(env)``; or with an already-loaded SD 1.5 pipeline: ``KeyframesRenderer(env, pipeline=p)``."""

    name = "keyframes"

    def __init__(self, env: RenderEnv, *, pipeline: Any | None = None, models: ModelCache | None = None,
                 options: KeyframeOptions | None = None) -> None:
        self.env = env
        self._pipe = pipeline
        self._img2img: Any | None = None
        self._models = models
        self.options = options or (TINY_OPTIONS if env.weights.get(SD15) == "tiny" else KeyframeOptions())

    @property
    def pipe(self) -> Any:
        if self._pipe is None:
            self._pipe = load_cached(self._models, self.env, SD15, "image")
        return self._pipe

    @property
    def img2img(self) -> Any:
        if self._img2img is None:
            from diffusers import StableDiffusionImg2ImgPipeline

            # The same modules (and so the same LoRA), another sampling loop.
            components = {k: v for k, v in self.pipe.components.items() if k != "requires_safety_checker"}
            img2img: Any = StableDiffusionImg2ImgPipeline(**components, requires_safety_checker=False)
            img2img.set_progress_bar_config(disable=True)
            self._img2img = img2img
        return self._img2img

    def render_scene(self, scene: SceneSpec, *, person: Person, settings: RenderSettings, n_frames: int,
                     audio: SceneAudio | None) -> Iterator[np.ndarray]:
        if n_frames <= 0:
            return
        import torch

        opts = self.options
        keys = keyframe_indices(scene, settings.fps, n_frames, opts.beats_per_keyframe)
        base = prompt_for_person(scene.prompt, person.trigger)
        beat_s = 60.0 / 120.0 if len(scene.beats_s) < 2 else float(np.median(np.diff(scene.beats_s)))
        with AdapterSlot(self.pipe, person, family=SD15), torch.inference_mode():
            embeds = []
            for k in keys:
                words = words_near(scene, scene.start_s + k / settings.fps, beat_s)
                embeds.append(self._encode(f"{base}, {words}" if words else base))
            anchors: dict[int, Any] = {}
            for i, k in enumerate(keys):
                anchors[k] = self._keyframe(i, anchors[keys[i - 1]] if i else None, embeds[i],
                                            seed_for(settings, scene, f"key{i}"))
            for i, (a, b) in enumerate(itertools.pairwise(keys)):
                for k in tween_indices([a, b], opts.tween_every):
                    t = (k - a) / (b - a)
                    cond = (1 - t) * embeds[i][0] + t * embeds[i + 1][0]
                    # One seed per keyframe pair: consecutive tweens share their noise, so they agree.
                    anchors[k] = self._refine(slerp(anchors[a], anchors[b], t), cond,
                                              seed_for(settings, scene, f"tween{i}"))
            points = sorted(anchors)
            for start in range(0, n_frames, opts.decode_batch):
                latents = [self._latent_at(k, points, anchors) for k in range(start, min(start + opts.decode_batch,
                                                                                        n_frames))]
                for image in self._decode(torch.cat(latents)):
                    yield check_frame(fit_frame(image, settings), settings, renderer=self.name)

    # -- steps ---------------------------------------------------------------------------------
    def _encode(self, prompt: str) -> tuple[Any, Any]:
        pipe = self.pipe
        cond, uncond = pipe.encode_prompt(prompt, pipe.device, 1, True, negative_prompt=NEGATIVE_PROMPT)
        return cond, uncond

    def _keyframe(self, i: int, previous: Any | None, embeds: tuple[Any, Any], seed: int) -> Any:
        opts = self.options
        cond, uncond = embeds
        if previous is None:
            return self.pipe(prompt_embeds=cond, negative_prompt_embeds=uncond, width=opts.width, height=opts.height,
                             num_inference_steps=opts.steps, guidance_scale=opts.guidance,
                             generator=cpu_generator(seed), output_type="latent").images
        return self.img2img(image=previous, strength=opts.continuity, prompt_embeds=cond,
                            negative_prompt_embeds=uncond, num_inference_steps=opts.steps,
                            guidance_scale=opts.guidance, generator=cpu_generator(seed), output_type="latent").images

    def _refine(self, latent: Any, cond: Any, seed: int) -> Any:
        opts = self.options
        return self.img2img(image=latent, strength=opts.tween_strength, prompt_embeds=cond,
                            num_inference_steps=opts.steps, guidance_scale=1.0, generator=cpu_generator(seed),
                            output_type="latent").images

    @staticmethod
    def _latent_at(k: int, points: list[int], anchors: dict[int, Any]) -> Any:
        if k in anchors:
            return anchors[k]
        after = next(p for p in points if p > k)
        before = max(p for p in points if p < k)
        return slerp(anchors[before], anchors[after], (k - before) / (after - before))

    def _decode(self, latents: Any) -> list[np.ndarray]:
        vae = self.pipe.vae
        images = vae.decode(latents.to(vae.dtype) / vae.config.scaling_factor).sample
        images = (images.float() / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy()
        return list(images)


def tiny_options(**changes: Any) -> KeyframeOptions:
    return replace(TINY_OPTIONS, **changes)


register_renderer("keyframes", KeyframesRenderer)
