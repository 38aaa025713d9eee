"""A prompt writer that asks a language model, through any OpenAI-compatible chat endpoint.

Works with OpenAI, vLLM, llama.cpp's server, Ollama's /v1 and the like: one POST to
``{base_url}/chat/completions`` per batch of scenes, asking for JSON: plain sentences that call the
user "the person" (build_storyboard takes out a token a model adds anyway). Every failure (unreachable,
timeout, HTTP error, an answer that is not the JSON asked for) raises PromptWriterError, and
build_storyboard then uses the template writer, so a storyboard is never left without prompts.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mediakit.errors import EncoreError
from musicvideo.storyboard import MOOD_WORDS, STYLE_PRESETS, SceneBrief, TemplateWriter

BATCH = 16          # scenes per request: long songs have 100+ scenes, more than one answer should hold

SYSTEM_PROMPT = """You write the scenes of a personal music video as a director's notes.
Refer to the person in the video only as "the person" (or "they"): never a name, never a code word or token.
Each scene: two to five plain sentences, at most 70 words: what the person does and where, what is in the frame
(taken from the scene's lyric when there is one), the light and colour of its mood, the camera, and last the look:
"{style}". Scenes of one section may share a place, but no two scenes may read the same: vary the action, the
framing and the camera, also where the same lyric comes back. Never add text, captions, logos or real names.
Answer with JSON only: {{"prompts": ["...", "..."]}} with exactly one prompt per scene, in order."""


class PromptWriterError(EncoreError):
    code = "llm_unavailable"


@dataclass
class LLMWriter:
    base_url: str
    model: str
    api_key: str = ""
    timeout_s: float = 30.0
    temperature: float = 0.7
    name: str = "llm"

    def write(self, scenes: Sequence[SceneBrief], *, style: str, trigger: str) -> list[str]:
        prompts: list[str] = []
        for i in range(0, len(scenes), BATCH):
            prompts += self._batch(scenes[i:i + BATCH], style=style, trigger=trigger)
        return prompts

    def _batch(self, scenes: Sequence[SceneBrief], *, style: str, trigger: str) -> list[str]:
        # The trigger token is not sent: the model must not see (or repeat) it; the renderer adds it.
        listing = [{"scene": s.index + 1, "seconds": f"{s.start_s:.1f}-{s.end_s:.1f}", "section": s.section,
                    "mood": f"{s.mood} ({MOOD_WORDS.get(s.mood, '')})", "lyric": s.lyric or "(instrumental)"}
                   for s in scenes]
        body = {
            "model": self.model,
            "temperature": self.temperature,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT.format(style=STYLE_PRESETS[style])},
                {"role": "user", "content": json.dumps({"scenes": listing}, ensure_ascii=False)},
            ],
        }
        answer = self._post(body)
        try:
            content = answer["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise PromptWriterError("The language model's answer had no message.") from exc
        prompts = parse_prompts(content)
        if len(prompts) != len(scenes):
            raise PromptWriterError(f"The language model wrote {len(prompts)} prompts for {len(scenes)} scenes.")
        return prompts

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(f"{self.base_url.rstrip('/')}/chat/completions",
                                         data=json.dumps(body).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                data = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            raise PromptWriterError(f"The language model endpoint answered HTTP {exc.code}.") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise PromptWriterError(f"The language model endpoint could not be reached ({exc}).") from exc
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PromptWriterError("The language model endpoint did not answer JSON.") from exc
        if not isinstance(data, dict):
            raise PromptWriterError("The language model endpoint did not answer a JSON object.")
        return data


def parse_prompts(content: str) -> list[str]:
    """The "prompts" list from a model's answer, tolerating a Markdown code fence around the JSON."""
    text = content.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, flags=re.DOTALL)
    if fenced:
        text = fenced.group(1).strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PromptWriterError("The language model did not answer the JSON it was asked for.") from exc
    prompts = data.get("prompts") if isinstance(data, dict) else data
    if not isinstance(prompts, list) or not all(isinstance(p, str) and p.strip() for p in prompts):
        raise PromptWriterError("The language model's JSON holds no list of prompts.")
    return [" ".join(p.split()) for p in prompts]


def writer_from_settings(*, base_url: str, model: str, api_key: str = "",
                         timeout_s: float = 30.0) -> LLMWriter | TemplateWriter:
    """The LLM writer when an endpoint is configured, the template writer otherwise."""
    if base_url and model:
        return LLMWriter(base_url=base_url, model=model, api_key=api_key, timeout_s=timeout_s)
    return TemplateWriter()
