"""Diffusion renderers bench: seconds per frame, and GPU minutes projected for a 3-minute video.

    .venv/bin/python bench/render_diffusion.py [--json]                          # tiny models, CPU
    .venv/bin/python bench/render_diffusion.py --size real --device cuda --json  # real sizes, GPU

``--size tiny``: the renderers (keyframes, animatediff, wan) on the tiny random-weight models of
``personalize/lora/tiny.py``, with a random LoRA in, render one 2-second scene at 30 fps (320x180);
seconds per frame after a warm-up render (models loaded once per process, as on a worker).

``--size real``: random weights at the real sizes, built from configs in code (nothing is
downloaded): SD 1.5's UNet (``sample_size=64, cross_attention_dim=768``), VAE and CLIP text
encoder; AnimateDiff's default motion adapter; Wan 2.1 1.3B's transformer (12 heads x 128, 30
layers, ffn 8960, text 4096) and VAE, with a one-layer stand-in for the UMT5 text encoder (it runs
once per clip, not per step). Timed, in bf16: an SD 1.5 512 px keyframe of 25 CFG steps, an
AnimateDiff 16-frame 512 px clip of 25 CFG steps, a Wan 81-frame 480x832 clip of 50 CFG steps,
and the units the keyframes renderer is made of at its generation size (a guided step, a plain
img2img step, a VAE decode per frame).

Projection: a 3-minute song at 120 BPM cut into 4-second scenes (8 beats); each renderer's own
plan for those scenes (``keyframes.plan_cost``, the clip pieces of ``animatediff``/``wan``) priced
with the measured units. Targets on one GPU: keyframes <= 3 min, animatediff <= 10 min; wan is
reported. Wan clips shorter than 81 frames are priced pro rata (attention makes that optimistic).
On CPU the same projection runs with the tiny models' units (it checks the code path; the
minutes mean nothing for a GPU). The machine is shared by several people: CPU timings are noisy.

A GPU machine without diffusers needs its wheel (pure Python) brought along; see DEPENDENCIES.md.
With --json the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from musicvideo.render.animatediff import AnimateDiffRenderer, ClipOptions  # noqa: E402
from musicvideo.render.base import Person, RenderEnv, RenderSettings, SceneSpec  # noqa: E402
from musicvideo.render.diffusion import SD15, WAN  # noqa: E402
from musicvideo.render.keyframes import KeyframeOptions, KeyframesRenderer, keyframe_indices, plan_cost  # noqa: E402
from musicvideo.render.wan import WanOptions, WanRenderer, wan_length  # noqa: E402

SONG_S, BPM, BEATS_PER_SCENE, FPS = 180.0, 120.0, 8, 30
TARGET_MIN = {"keyframes": 3.0, "animatediff": 10.0}


def song_scenes() -> list[SceneSpec]:
    """A 3-minute song at 120 BPM in 4-second scenes, each starting on a beat."""
    beat = 60.0 / BPM
    scene_s = BEATS_PER_SCENE * beat
    scenes = []
    for i in range(int(SONG_S / scene_s)):
        start = i * scene_s
        scenes.append(SceneSpec(index=i, start_s=start, end_s=start + scene_s,
                                beats_s=tuple(start + b * beat for b in range(BEATS_PER_SCENE)), downbeats_s=(start,),
                                section="verse", mood="euphoric", valence=0.5, arousal=0.5, energy=0.7, lyric="",
                                prompt="a person singing on a stage"))
    return scenes


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def timed(device: str, fn: Callable[[], Any], repeat: int = 1) -> float:
    """Seconds of one call, best of ``repeat`` after one warm-up call."""
    fn()
    _sync(device)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return best


# ------------------------------------------------------------------------------------ pipelines
def real_pipelines(device: str) -> dict[str, Any]:
    """Random-weight pipelines at the real sizes, on ``device`` in bf16 (float32 on a CPU)."""
    import torch
    from diffusers import (
        AnimateDiffPipeline,
        AutoencoderKL,
        AutoencoderKLWan,
        FlowMatchEulerDiscreteScheduler,
        MotionAdapter,
        StableDiffusionPipeline,
        UNet2DConditionModel,
        WanPipeline,
        WanTransformer3DModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, UMT5Config, UMT5EncoderModel

    from personalize.lora import tiny

    dtype = torch.bfloat16 if device.startswith(("cuda", "meta")) else torch.float32
    clip_tok = tiny.clip_tokenizer()
    with torch.device(device):
        unet = UNet2DConditionModel(sample_size=64, cross_attention_dim=768)
        vae = AutoencoderKL(block_out_channels=[128, 256, 512, 512], layers_per_block=2, latent_channels=4,
                            down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
                            sample_size=512)
        text = CLIPTextModel(CLIPTextConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                            num_attention_heads=12, vocab_size=len(clip_tok),
                                            max_position_embeddings=77, bos_token_id=clip_tok.bos_token_id,
                                            eos_token_id=clip_tok.eos_token_id, pad_token_id=clip_tok.pad_token_id))
        motion = MotionAdapter()
        transformer: Any = WanTransformer3DModel(
            patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16, out_channels=16,
            text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30, cross_attn_norm=True,
            qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024)
        wan_vae = AutoencoderKLWan()
        umt5_tok = tiny.umt5_tokenizer()
        umt5 = UMT5EncoderModel(UMT5Config(vocab_size=len(umt5_tok), d_model=4096, d_kv=64, d_ff=256, num_layers=1,
                                           num_heads=8, relative_attention_num_buckets=32, pad_token_id=0,
                                           eos_token_id=1, decoder_start_token_id=0))
    scheduler = tiny.sd15_components()["scheduler"]
    sd_parts = {"unet": unet, "vae": vae, "text_encoder": text.eval(), "tokenizer": clip_tok, "scheduler": scheduler}
    image: Any = StableDiffusionPipeline(**sd_parts, safety_checker=None, feature_extractor=None,
                                    requires_safety_checker=False)
    # AnimateDiff copies the UNet's weights into its motion UNet, which meta tensors cannot do: the
    # meta-device size check counts the motion adapter on its own.
    video: Any = AnimateDiffPipeline(**sd_parts, motion_adapter=motion) if device != "meta" else motion
    # Wan's VAE stays in float32 (bf16 decoding bands the picture), as families.load_pipeline does.
    wan = WanPipeline(transformer=transformer.to(dtype), vae=wan_vae, text_encoder=umt5.eval().to(dtype),
                      tokenizer=umt5_tok, scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0))
    # AnimateDiff builds its motion UNet from the UNet's weights on the default device: move it.
    video = video.to(dtype=dtype) if device == "meta" else video.to(device=device, dtype=dtype)
    out = {"image": image.to(dtype=dtype), "video": video, "wan": wan}
    for pipe in out.values():
        if hasattr(pipe, "set_progress_bar_config"):
            pipe.set_progress_bar_config(disable=True)
    return out


def tiny_pipelines() -> dict[str, Any]:
    from personalize.lora.families import ModelSource, load_pipeline

    return {"image": load_pipeline(ModelSource(family=SD15, base="tiny"), kind="image"),
            "video": load_pipeline(ModelSource(family=SD15, base="tiny"), kind="video"),
            "wan": load_pipeline(ModelSource(family=WAN, base="tiny"), kind="video")}


# ------------------------------------------------------------------------------------ projection
def project_minutes(units: dict[str, float], kf: KeyframeOptions, ad: ClipOptions, wan: WanOptions) -> dict[str, float]:
    """GPU minutes for the 3-minute song, from each renderer's own plan and the measured units."""
    env = RenderEnv()
    ad_renderer, wan_renderer = AnimateDiffRenderer(env, pipeline=object(), options=ad), \
        WanRenderer(env, pipeline=object(), options=wan)
    seconds = {"keyframes": 0.0, "animatediff": 0.0, "wan": 0.0}
    for scene in song_scenes():
        n = int(round(scene.end_s * FPS)) - int(round(scene.start_s * FPS))
        cost = plan_cost(keyframe_indices(scene, FPS, n, kf.beats_per_keyframe), n, kf)
        seconds["keyframes"] += (cost["guided_steps"] * units["guided_step_s"] + cost["plain_steps"] *
                                 units["plain_step_s"] + cost["vae_decodes"] * units["vae_decode_per_frame_s"])
        seconds["animatediff"] += len(ad_renderer.pieces(scene, FPS, n)) * units["animatediff_clip_s"]
        seconds["wan"] += sum(wan_length(count, FPS, wan) / wan.clip_frames * units["wan_clip_s"]
                              for _, count in wan_renderer.pieces(scene, FPS, n))
    return {name: round(value / 60.0, 2) for name, value in seconds.items()}


def keyframe_units(device: str, pipe: Any, kf: KeyframesRenderer) -> dict[str, float]:
    """A guided step, a plain img2img step and a VAE decode per frame at the renderer's generation size."""
    import torch

    opts = kf.options
    cond, uncond = kf._encode("a person singing on a stage")
    with torch.inference_mode():
        full = timed(device, lambda: kf._keyframe(0, None, (cond, uncond), 0))
        latent = kf._keyframe(0, None, (cond, uncond), 0)
        refine_steps = max(int(opts.steps * opts.tween_strength), 1)
        refine = timed(device, lambda: kf._refine(latent, cond, 1))
        batch = torch.cat([latent] * opts.decode_batch)
        decode = timed(device, lambda: kf._decode(batch))
    return {"guided_step_s": full / opts.steps, "plain_step_s": refine / refine_steps,
            "vae_decode_per_frame_s": decode / opts.decode_batch}


def measure(size: str = "tiny", device: str = "cpu") -> dict[str, Any]:
    import torch

    if size not in ("tiny", "real"):
        raise ValueError("size is 'tiny' or 'real'")
    out: dict[str, Any] = {"size": size, "device": device, "torch_threads": torch.get_num_threads()}
    t0 = time.perf_counter()
    pipes = tiny_pipelines() if size == "tiny" else real_pipelines(device)
    out["build_s"] = round(time.perf_counter() - t0, 2)
    env = RenderEnv(device=device, weights={SD15: "tiny", WAN: "tiny"} if size == "tiny" else {})
    kf = KeyframesRenderer(env, pipeline=pipes["image"], options=None if size == "tiny" else KeyframeOptions())
    ad = AnimateDiffRenderer(env, pipeline=pipes["video"], options=None if size == "tiny" else ClipOptions())
    wan = WanRenderer(env, pipeline=pipes["wan"], options=None if size == "tiny" else WanOptions())

    if size == "tiny":
        from musicvideo.testing.adapters import random_adapter

        settings = RenderSettings(width=320, height=180, fps=FPS, seed=1)
        scene = song_scenes()[0]
        n = int(scene.duration_s * FPS)
        with tempfile.TemporaryDirectory() as tmp:
            for name, renderer, family in (("keyframes", kf, SD15), ("animatediff", ad, SD15), ("wan", wan, WAN)):
                person = Person(adapter_path=random_adapter(family, Path(tmp) / name, seed=1), trigger="sks person",
                                family=family)
                seconds = timed(device, lambda r=renderer, p=person: list(r.render_scene(  # type: ignore[misc]
                    scene, person=p, settings=settings, n_frames=n, audio=None)))
                out[f"{name}_tiny_s_per_frame"] = round(seconds / n, 4)
        units = keyframe_units(device, pipes["image"], kf)
        units["animatediff_clip_s"] = timed(device, lambda: ad.pipe(
            prompt="x", num_frames=ad.options.clip_frames, width=ad.options.width, height=ad.options.height,
            num_inference_steps=ad.options.steps, output_type="latent"))
        units["wan_clip_s"] = timed(device, lambda: wan.pipe(
            prompt="x", num_frames=wan.options.clip_frames, width=wan.options.width, height=wan.options.height,
            num_inference_steps=wan.options.steps, output_type="latent"))
        out["units_tiny"] = {k: round(v, 4) for k, v in units.items()}
        out["projected_3min_minutes_tiny_units"] = project_minutes(units, kf.options, ad.options, wan.options)
        return out

    import torch

    with torch.inference_mode():
        out["sd15_keyframe_512px_25cfg_s"] = round(timed(device, lambda: pipes["image"](
            prompt="a person singing", width=512, height=512, num_inference_steps=25, guidance_scale=7.5,
            output_type="np"), repeat=3), 3)
        out["animatediff_16f_512px_25cfg_s"] = round(timed(device, lambda: pipes["video"](
            prompt="a person singing", num_frames=16, width=512, height=512, num_inference_steps=25,
            guidance_scale=7.5, output_type="np"), repeat=2), 3)
        wan_s = timed(device, lambda: pipes["wan"](
            prompt="a person singing", num_frames=81, width=832, height=480, num_inference_steps=50,
            guidance_scale=5.0, output_type="np"))
    out["wan_81f_480x832_50cfg_s"] = round(wan_s, 2)
    units = keyframe_units(device, pipes["image"], kf)
    units["animatediff_clip_s"] = out["animatediff_16f_512px_25cfg_s"]
    units["wan_clip_s"] = wan_s
    out["units"] = {k: round(v, 4) for k, v in units.items()}
    projected = project_minutes(units, kf.options, ad.options, wan.options)
    out["projected_3min_gpu_minutes"] = projected
    for name, target in TARGET_MIN.items():
        out[f"{name}_target_minutes"] = target
        out[f"{name}_ratio_to_target"] = round(projected[name] / target, 3)
    if device.startswith("cuda"):
        out["peak_gpu_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 1)
    return out


def measure_compiled_keyframes(device: str, size: str = "real", backend: str = "inductor") -> dict[str, Any]:
    """The keyframes renderer's units with its UNet compiled and a LoRA hot-swapped in, as a GPU
    worker runs it (``RenderEnv.compile``): the projection beside the eager one of ``measure``."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import torch
    from lora_hotswap import _write_adapter

    from musicvideo.render.diffusion import AdapterSlot, prepare_hotswap

    out: dict[str, Any] = {"size": size, "device": device, "compile": backend}
    t0 = time.perf_counter()
    pipe = real_pipelines(device)["image"] if size == "real" else tiny_pipelines()["image"]
    out["build_s"] = round(time.perf_counter() - t0, 2)
    with tempfile.TemporaryDirectory() as tmp:
        paths = [_write_adapter(pipe, Path(tmp) / name, seed=seed, rank=16) for seed, name in ((1, "a"), (2, "b"))]
        prepare_hotswap(pipe, backend=backend)
        env = RenderEnv(device=device, weights={SD15: "tiny"} if size == "tiny" else {}, compile="on")
        kf = KeyframesRenderer(env, pipeline=pipe, options=KeyframeOptions() if size == "real" else None)
        with AdapterSlot(pipe, Person(adapter_path=paths[0], trigger="sks person", family=SD15), family=SD15):
            t0 = time.perf_counter()
            units = keyframe_units(device, pipe, kf)  # each unit's warm-up call compiles its shapes
            out["compile_and_units_s"] = round(time.perf_counter() - t0, 1)
        with AdapterSlot(pipe, Person(adapter_path=paths[1], trigger="sks person", family=SD15), family=SD15):
            t0 = time.perf_counter()
            again = keyframe_units(device, pipe, kf)
            out["units_after_hotswap_s"] = round(time.perf_counter() - t0, 1)
    out["units"] = {k: round(v, 4) for k, v in units.items()}
    out["units_after_hotswap"] = {k: round(v, 4) for k, v in again.items()}
    eager_units = {"animatediff_clip_s": 0.0, "wan_clip_s": 0.0}
    minutes = project_minutes({**units, **eager_units}, kf.options, ClipOptions(), WanOptions())["keyframes"]
    out["keyframes_projected_3min_gpu_minutes"] = minutes
    out["keyframes_target_minutes"] = TARGET_MIN["keyframes"]
    out["keyframes_ratio_to_target"] = round(minutes / TARGET_MIN["keyframes"], 3)
    out["peak_gpu_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 1) if device.startswith("cuda") else None
    return out


def check_real_sizes() -> dict[str, Any]:
    """Build the real-size models on the meta device (no memory, no time) and count their parameters."""
    pipes = real_pipelines("meta")

    def billions(module: Any) -> float:
        return round(sum(p.numel() for p in module.parameters()) / 1e9, 3)

    return {"sd15_unet_params_b": billions(pipes["image"].unet), "sd15_vae_params_b": billions(pipes["image"].vae),
            "clip_text_params_b": billions(pipes["image"].text_encoder),
            "animatediff_motion_adapter_params_b": billions(pipes["video"]),
            "wan_transformer_params_b": billions(pipes["wan"].transformer),
            "wan_vae_params_b": billions(pipes["wan"].vae)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=("tiny", "real"), default="tiny")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--check", action="store_true",
                        help="only build the real-size models on the meta device and count their parameters")
    parser.add_argument("--compile", action="store_true",
                        help="the keyframes renderer with its UNet compiled and LoRAs hot-swapped")
    args = parser.parse_args()
    if args.check:
        figures = check_real_sizes()
    elif args.compile:
        # On a CPU the tiny model with the "eager" backend checks the path (inductor takes minutes there).
        figures = measure_compiled_keyframes(args.device, args.size,
                                             "inductor" if args.device.startswith("cuda") else "eager")
    else:
        figures = measure(args.size, args.device)
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
