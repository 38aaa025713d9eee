"""Tiny random-weight models of both families, built from configs in code (tokenizers too).

They have the real classes and the real wiring (a LoRA trained on them loads with
``pipe.load_lora_weights`` exactly as it would on the real weights), at a size that trains and
renders in seconds on a CPU. Nothing here touches a hub: the tokenizers are written in code.
The weights are a pure function of ``seed``, so two pipelines built with one seed are identical,
which is what "the output is unchanged without the adapter" is tested against.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import torch

# Sizes: big enough that a LoRA visibly changes the output, small enough for a 2-core CI box.
SD_CHANNELS = (16, 32)
SD_TEXT_DIM = 32
SD_SAMPLE = 16          # latent side; the VAE halves, so the native image side is 32
WAN_TEXT_DIM = 32
CLIP_BOS, CLIP_EOS = "<|startoftext|>", "<|endoftext|>"
# A few merges so ordinary words become multi-character tokens, as in the real CLIP vocabulary.
_CLIP_MERGES = ("t h", "th e</w>", "p h", "o t", "o f</w>", "i n", "e r", "o n", "a n", "p er", "o n</w>", "s on</w>")


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    # Build under a private RNG state: constructing models must not move the caller's torch RNG.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible map from bytes to printable characters (byte-level BPE alphabet)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in chars), strict=True))


@cache
def clip_vocab() -> tuple[dict[str, int], tuple[tuple[str, str], ...]]:
    """A hand-written CLIP byte-level BPE vocabulary: every byte, every byte ending a word, a few merges."""
    alphabet = sorted(set(_bytes_to_unicode().values()))
    vocab: dict[str, int] = {}
    for token in [*alphabet, *(c + "</w>" for c in alphabet)]:
        vocab[token] = len(vocab)
    merges = tuple(tuple(m.split(" ")) for m in _CLIP_MERGES)
    for left, right in merges:
        vocab.setdefault(left + right, len(vocab))
    vocab[CLIP_BOS] = len(vocab)
    vocab[CLIP_EOS] = len(vocab)
    return vocab, merges  # type: ignore[return-value]


def clip_tokenizer() -> Any:
    from transformers import CLIPTokenizer

    vocab, merges = clip_vocab()
    # The tokenizers backend takes merges as (left, right) pairs; transformers' stubs say strings.
    pairs: list[Any] = list(merges)
    return CLIPTokenizer(vocab=dict(vocab), merges=pairs, model_max_length=77, bos_token=CLIP_BOS,
                         eos_token=CLIP_EOS, pad_token=CLIP_EOS, unk_token=CLIP_EOS)


def umt5_tokenizer() -> Any:
    """A byte-level tokenizer built with the ``tokenizers`` library: every UTF-8 byte is a token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2}
    for char in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab[char] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    # T5 ends every sequence with </s>; the Wan pipeline counts real tokens from the attention mask.
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                                   model_max_length=512)


def sd15_components(seed: int = 0) -> dict[str, Any]:
    """UNet, VAE, CLIP text encoder, tokenizer and DDIM scheduler of a tiny SD 1.5-shaped model."""
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    tokenizer = clip_tokenizer()
    with _seeded(seed):
        unet = UNet2DConditionModel(
            block_out_channels=SD_CHANNELS, layers_per_block=1, sample_size=SD_SAMPLE, in_channels=4,
            out_channels=4, down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=SD_TEXT_DIM,
            attention_head_dim=4, norm_num_groups=4)
    with _seeded(seed + 1):
        vae = AutoencoderKL(
            block_out_channels=SD_CHANNELS, in_channels=3, out_channels=3,
            down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
            up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"], latent_channels=4, norm_num_groups=4)
    with _seeded(seed + 2):
        text_encoder = CLIPTextModel(CLIPTextConfig(
            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id, hidden_size=SD_TEXT_DIM, intermediate_size=37,
            layer_norm_eps=1e-5, num_attention_heads=4, num_hidden_layers=2, vocab_size=len(tokenizer),
            max_position_embeddings=77)).eval()
    # SD 1.5's own schedule (scaled-linear betas); DDIM as AnimateDiff recommends.
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="linear", clip_sample=False,
                              set_alpha_to_one=False, steps_offset=1, timestep_spacing="linspace")
    return {"unet": unet, "vae": vae, "text_encoder": text_encoder, "tokenizer": tokenizer, "scheduler": scheduler}


def motion_adapter(seed: int = 0) -> Any:
    from diffusers import MotionAdapter

    with _seeded(seed + 3):
        return MotionAdapter(block_out_channels=SD_CHANNELS, motion_layers_per_block=1, motion_norm_num_groups=4,
                             motion_num_attention_heads=4, motion_max_seq_length=32)


def wan_components(seed: int = 0) -> dict[str, Any]:
    """Transformer, VAE, UMT5 encoder, tokenizer and flow-matching scheduler of a tiny Wan 2.1."""
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    tokenizer = umt5_tokenizer()
    with _seeded(seed):
        transformer = WanTransformer3DModel(
            patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16, out_channels=16,
            text_dim=WAN_TEXT_DIM, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True,
            qk_norm="rms_norm_across_heads", rope_max_seq_len=32)
    with _seeded(seed + 1):
        vae = AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                               temperal_downsample=[False, True, True])
    with _seeded(seed + 2):
        text_encoder = UMT5EncoderModel(UMT5Config(
            vocab_size=len(tokenizer), d_model=WAN_TEXT_DIM, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
            relative_attention_num_buckets=8, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)).eval()
    scheduler = FlowMatchEulerDiscreteScheduler(shift=3.0)
    return {"transformer": transformer, "vae": vae, "text_encoder": text_encoder, "tokenizer": tokenizer,
            "scheduler": scheduler}
