"""MusicGen's code path on a tiny random-weight model built in code (nothing is downloaded)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from soundtrack.engine.compose import compose
from soundtrack.engine.errors import SoundtrackError
from soundtrack.engine.musicgen import MusicGenBackend, choose_backend, musicgen_prompt, render_musicgen

from .conftest import Clip

WORDS = ["<pad>", "</s>", "<unk>", "pop", "cinematic", "instrumental", "background", "music", "bpm", "major",
         "minor", "with", "drums", "no", "bright", "and", "lively", "verse", "chorus", "intro"]


@pytest.fixture(scope="module")
def tiny_musicgen() -> Iterator[MusicGenBackend]:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        EncodecConfig,
        MusicgenConfig,
        MusicgenDecoderConfig,
        MusicgenForConditionalGeneration,
        PreTrainedTokenizerFast,
        T5Config,
    )

    audio = EncodecConfig(sampling_rate=4000, hidden_size=16, num_filters=4, num_residual_layers=1,
                          upsampling_ratios=[8, 10], num_lstm_layers=1, codebook_size=64, codebook_dim=16,
                          target_bandwidths=[1.2])
    text = T5Config(vocab_size=len(WORDS), d_model=16, d_ff=32, num_layers=1, num_decoder_layers=1, num_heads=2,
                    d_kv=8)
    decoder = MusicgenDecoderConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                    ffn_dim=32, num_codebooks=audio.num_quantizers, pad_token_id=64,
                                    bos_token_id=64, max_position_embeddings=512)
    torch.manual_seed(0)
    model: Any = MusicgenForConditionalGeneration(MusicgenConfig(text_encoder=text, audio_encoder=audio,
                                                                 decoder=decoder)).eval()
    # Encodec's codebooks are buffers filled by k-means during training, zeros in a fresh model:
    # without values every code would decode to the same sound and the seed could not matter.
    with torch.no_grad():
        for name, buffer in model.audio_encoder.named_buffers():
            if name.endswith("codebook.embed"):
                buffer.normal_()
    model.generation_config.pad_token_id = 64
    model.generation_config.decoder_start_token_id = 64
    vocab = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    vocab.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=vocab, pad_token="<pad>", eos_token="</s>",
                                        unk_token="<unk>")
    # A model this small only loses time to thread hand-offs (10-30x slower with two threads on a
    # busy two-core machine).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield MusicGenBackend(model, tokenizer, device="cpu")
    torch.set_num_threads(threads)


def test_generate_is_seeded(tiny_musicgen: MusicGenBackend) -> None:
    a = tiny_musicgen.generate("pop music", duration_s=0.2, seed=1)
    b = tiny_musicgen.generate("pop music", duration_s=0.2, seed=1)
    c = tiny_musicgen.generate("pop music", duration_s=0.2, seed=2)
    assert a.dtype == np.float32 and a.ndim == 1
    assert a.size >= int(0.2 * tiny_musicgen.sample_rate)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_render_follows_the_plan_and_the_video_length(tiny_musicgen: MusicGenBackend, grid_clip: Clip,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import soundtrack.engine.musicgen as mg

    # Keep the tiny model's sections short: this checks the code path, not the music.
    monkeypatch.setattr(mg, "MAX_SEGMENT_S", 0.6)
    c = compose(grid_clip.analysis, seed=0)
    seen: list[float] = []
    audio = render_musicgen(tiny_musicgen, c, grid_clip.analysis.mood, duration_s=1.2, sample_rate=16000, seed=0,
                            progress=lambda s, f, m="": seen.append(f))
    assert audio.shape == (2, 19200)
    assert np.array_equal(audio[0], audio[1])
    assert seen[-1] == 1.0


def test_prompt_describes_the_plan(grid_clip: Clip) -> None:
    c = compose(grid_clip.analysis, genre="pop", seed=0)
    prompt = musicgen_prompt(c, grid_clip.analysis.mood)
    assert prompt.startswith(f"Pop instrumental background music, {grid_clip.analysis.mood.label}, ")
    assert f"{c.grid.tempo_bpm:.0f} bpm" in prompt
    assert prompt.endswith("with drums")


@pytest.mark.parametrize(("requested", "model", "device", "gpu", "expected"), [
    ("auto", "", "cuda", True, "fluidsynth"),                       # no weights configured
    ("auto", "/models/musicgen-small", "cuda", False, "fluidsynth"),  # weights but no GPU
    ("auto", "/models/musicgen-small", "cuda", True, "musicgen"),
    ("auto", "/models/musicgen-small", "cpu", False, "fluidsynth"),   # auto never picks a CPU MusicGen
    ("musicgen", "/models/musicgen-small", "cpu", False, "musicgen"),  # ...but it may be asked for
    ("fluidsynth", "/models/musicgen-small", "cuda", True, "fluidsynth"),
])
def test_backend_choice(requested: str, model: str, device: str, gpu: bool, expected: str) -> None:
    assert choose_backend(requested, model=model, device=device, gpu_available=gpu) == expected


def test_musicgen_refused_without_weights() -> None:
    with pytest.raises(SoundtrackError) as err:
        choose_backend("musicgen", model="", device="cuda", gpu_available=True)
    assert err.value.code == "musicgen_unavailable"
