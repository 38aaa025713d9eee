"""Storyboards: cuts on beats, scene length from energy, prompts from template or a (fake) LLM server."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import numpy as np
import pytest

from musicvideo.audio.analysis import Analysis, AnalyzedSection
from musicvideo.prompt_writers import LLMWriter, parse_prompts, writer_from_settings
from musicvideo.storyboard import (
    STYLE_PRESETS,
    KeptPrompt,
    StoryboardError,
    TemplateWriter,
    build_storyboard,
    content_words,
    plan_scenes,
    scene_beats,
    without_token,
)
from tests.musicvideo import songs


def test_cuts_fall_exactly_on_beats_and_cover_the_song() -> None:
    analysis = songs.pop_analysis()
    board = build_storyboard(analysis)
    scenes = board.scenes
    beats = set(analysis.beats_s)
    assert scenes[0].start_s == 0.0 and scenes[-1].end_s == analysis.duration_s
    assert all(s.start_s in beats for s in scenes[1:])
    assert all(a.end_s == b.start_s for a, b in itertools.pairwise(scenes))
    assert all(s.n_beats >= 1 for s in scenes)
    # Every section start is a cut.
    starts = {s.start_s for s in scenes}
    assert all(sec.start_s in starts for sec in analysis.sections)
    # Plain words: the person is "the person"; the renderer adds the adapter's token itself.
    assert all(s.prompt.startswith("The person ") and "sks" not in s.prompt.lower() for s in scenes)
    assert board.trigger == "sks person"
    assert board.writer == "template" and board.warnings == []


def test_calm_sections_get_longer_scenes() -> None:
    analysis = songs.pop_analysis()
    scenes = build_storyboard(analysis).scenes
    by_section: dict[str, int] = {}
    for s in scenes[1:]:
        by_section.setdefault(s.section, s.n_beats)     # a section's first scene has the planned length
    # intro/outro are the calmest parts (arousal < 0); verse and chorus are livelier.
    assert by_section["intro"] == 8 and by_section["outro"] == 8
    assert by_section["verse"] == 4 and by_section["chorus"] == 4


def test_scene_beats_mapping() -> None:
    # At 120 BPM: 6 s on the calmest material, 1.5 s on the most excited, never under one beat.
    assert [scene_beats(a, 0.5) for a in (-1.0, -0.5, 0.0, 0.5, 1.0)] == [16, 8, 8, 4, 4]
    assert scene_beats(1.0, 3.0) == 1
    assert scene_beats(-1.0, 0.1) == 16


def test_scenes_carry_the_lyric_they_overlap() -> None:
    analysis = songs.pop_analysis()
    scenes = plan_scenes(analysis)
    sung = [s for s in scenes if s.lyric]
    assert len(sung) >= len(scenes) // 2
    for scene in sung:
        assert any(ln.text == scene.lyric and ln.start_s < scene.end_s and ln.end_s > scene.start_s
                   for ln in analysis.lines)


def test_template_prompt_content() -> None:
    analysis = songs.pop_analysis()
    scene = next(s for s in build_storyboard(analysis, style="watercolor", trigger="zwx woman").scenes
                 if s.lyric and s.section == "chorus")
    assert scene.prompt.startswith("The person ") and "zwx" not in scene.prompt
    assert f"Look: {STYLE_PRESETS['watercolor']}." in scene.prompt
    assert "The chorus: the frame at its fullest." in scene.prompt
    assert content_words(scene.lyric)[0] in scene.prompt
    # Sentences, not a tag list: each starts with a capital and ends with a full stop.
    sentences = [x for x in scene.prompt.replace("\u201d:", "\u201d;").split(". ") if x]
    assert len(sentences) >= 4 and scene.prompt.endswith(".")


def test_prompts_vary_scene_to_scene_and_repeated_lines_differ() -> None:
    analysis = songs.pop_analysis()
    scenes = build_storyboard(analysis).scenes
    assert all(a.prompt != b.prompt for a, b in itertools.pairwise(scenes))
    by_line: dict[str, list[str]] = {}
    for s in scenes:
        if s.lyric:
            by_line.setdefault(s.lyric, []).append(s.prompt)
    repeated = {line: prompts for line, prompts in by_line.items() if len(prompts) > 1}
    assert repeated                                   # the pop song repeats its chorus lines
    for prompts in repeated.values():
        assert len(set(prompts)) == len(prompts)
    # Two choruses of the same words take place in different places.
    chorus_starts = [s for s in scenes if s.section == "chorus" and s.index > 0
                     and scenes[s.index - 1].section != "chorus"]
    assert len(chorus_starts) >= 2
    assert chorus_starts[0].prompt.split(".")[0] != chorus_starts[1].prompt.split(".")[0]


def test_a_rebuild_keeps_the_users_edited_prompts() -> None:
    analysis = songs.pop_analysis()
    first = build_storyboard(analysis, style="cinematic").scenes
    edits = [KeptPrompt(start_s=first[i].start_s, end_s=first[i].end_s, prompt=f"My own idea for scene {i}.")
             for i in (0, 3, 7)]
    rebuilt = build_storyboard(analysis, style="neon", kept=edits)
    for i in (0, 3, 7):
        assert rebuilt.scenes[i].prompt == f"My own idea for scene {i}." and rebuilt.scenes[i].prompt_edited
    assert [s.index for s in rebuilt.scenes if s.prompt_edited] == [0, 3, 7]
    assert "neon" in rebuilt.scenes[1].prompt.lower() and rebuilt.warnings == []
    # An edit whose scene no longer exists (the song was cut differently) is reported, not lost silently.
    stray = build_storyboard(analysis, kept=[KeptPrompt(start_s=analysis.duration_s + 5, end_s=analysis.duration_s + 9,
                                                        prompt="gone")])
    assert stray.warnings == ["1 of your edited prompts no longer match a scene and were not kept."]


def test_instrumental_scenes_still_have_subjects() -> None:
    analysis = songs.pop_analysis()
    silent = Analysis.from_dict({**analysis.to_dict(), "words": [], "lines": []})
    prompts = [s.prompt for s in build_storyboard(silent).scenes]
    assert all(p.startswith("The person ") and "lyric" not in p for p in prompts)


def test_unknown_style_is_refused() -> None:
    analysis = songs.pop_analysis()
    with pytest.raises(StoryboardError) as info:
        build_storyboard(analysis, style="vaporwave")
    assert info.value.code == "style_unknown"
    # Prompts do not depend on the token: a storyboard without one reads the same.
    assert [s.prompt for s in build_storyboard(analysis, trigger="").scenes] == \
        [s.prompt for s in build_storyboard(analysis).scenes]


def test_content_words_and_token_removal() -> None:
    assert content_words("I keep moving on my own, on my own") == ["keep", "moving"]
    assert without_token("sks person,  on a beach", "sks person") == "on a beach"
    assert without_token("SKS PERSON dancing at night", "sks person") == "dancing at night"
    assert without_token("a man on a beach", "sks person") == "a man on a beach"
    assert without_token("asks personally", "sks person") == "asks personally"


# --- LLM writer against a fake OpenAI-compatible server on 127.0.0.1 ------------------------------

class FakeLLM(BaseHTTPRequestHandler):
    requests: list[dict[str, Any]] = []
    mode = "ok"

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeLLM.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        scenes = json.loads(body["messages"][1]["content"])["scenes"]
        if FakeLLM.mode == "http_error":
            self.send_response(503)
            self.end_headers()
            return
        if FakeLLM.mode == "garbage":
            content = "Sure! Here are some lovely prompts."
        elif FakeLLM.mode == "same":
            content = json.dumps({"prompts": ["The person walks in the rain."] * len(scenes)})
        else:
            # Every other prompt carries the token although it was asked not to.
            prompts = [(f"sks person, scene {s['scene']} about {s['lyric']}" if s["scene"] % 2 else
                        f"scene {s['scene']} about {s['lyric']}") for s in scenes]
            content = "```json\n" + json.dumps({"prompts": prompts}) + "\n```"
        payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        return None


@contextmanager
def running_fake_llm() -> Iterator[str]:
    """A fake OpenAI-compatible server on 127.0.0.1 (a free port) for the duration of the block."""
    server = HTTPServer(("127.0.0.1", 0), FakeLLM)
    FakeLLM.requests = []
    FakeLLM.mode = "ok"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fake_llm() -> Iterator[str]:
    with running_fake_llm() as url:
        yield url


def small_analysis() -> Analysis:
    beats = [round(0.5 * k, 3) for k in range(40)]
    sections = [AnalyzedSection(start_s=0.0, end_s=10.0, label="A", name="verse", valence=0.5, arousal=0.5,
                                mood="euphoric", key="C major", tempo_bpm=120.0, loudness_db=-15.0,
                                lyric_sentiment=None),
                AnalyzedSection(start_s=10.0, end_s=20.0, label="B", name="chorus", valence=-0.5, arousal=-0.5,
                                mood="melancholy", key="A minor", tempo_bpm=120.0, loudness_db=-25.0,
                                lyric_sentiment=None)]
    from musicvideo.audio.lyrics import LyricLine, Word

    words = [Word(text=t, start_s=2.0 + 0.5 * i, end_s=2.4 + 0.5 * i, confidence=1.0, source="recognised")
             for i, t in enumerate(["rain", "on", "the", "window"])]
    return Analysis(duration_s=20.0, sample_rate=16000, tempo_bpm=120.0, beats_per_bar=4, key="C major",
                    beats_s=beats, downbeats_s=beats[::4], sections=sections, emotion_times_s=[0.0],
                    valence=[0.0], arousal=[0.0], words=words,
                    lines=[LyricLine(text="rain on the window", start_s=2.0, end_s=3.9, first_word=0, n_words=4)],
                    lyrics_source="whisper", lyrics_matched_fraction=None, waveform=[1.0], warnings=[],
                    timings_s={})


def test_exact_small_plan() -> None:
    scenes = plan_scenes(small_analysis())
    # Arousal 0.5 at 120 BPM: 4 beats (2 s); arousal -0.5: 8 beats (4 s); a remainder of half a
    # scene or more stays a scene of its own.
    assert [(s.start_s, s.end_s, s.n_beats) for s in scenes] == [
        (0.0, 2.0, 4), (2.0, 4.0, 4), (4.0, 6.0, 4), (6.0, 8.0, 4), (8.0, 10.0, 4),
        (10.0, 14.0, 8), (14.0, 18.0, 8), (18.0, 20.0, 4)]
    assert [s.lyric for s in scenes] == ["", "rain on the window", "", "", "", "", "", ""]


def test_llm_writer_asks_the_endpoint_and_its_prompts_lose_any_token(fake_llm: str) -> None:
    writer = LLMWriter(base_url=fake_llm, model="tiny-model", api_key="secret")
    board = build_storyboard(small_analysis(), writer=writer, trigger="sks person")
    assert board.writer == "llm" and board.warnings == []
    # The fake model writes the token into every other prompt: it is taken out again.
    assert [s.prompt for s in board.scenes][:2] == ["scene 1 about (instrumental)", "scene 2 about rain on the window"]
    assert not any("sks" in s.prompt for s in board.scenes)
    request = FakeLLM.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "Bearer secret"
    assert request["body"]["model"] == "tiny-model"
    # The model is told to say "the person" and never sees the token.
    assert '"the person"' in request["body"]["messages"][0]["content"]
    assert "sks" not in json.dumps(request["body"])
    assert len(FakeLLM.requests) == 1


def test_identical_llm_prompts_are_made_distinct(fake_llm: str) -> None:
    FakeLLM.mode = "same"
    board = build_storyboard(small_analysis(), writer=LLMWriter(base_url=fake_llm, model="m"))
    assert board.writer == "llm"
    assert all(a.prompt != b.prompt for a, b in itertools.pairwise(board.scenes))
    assert all(s.prompt.startswith("The person walks in the rain.") for s in board.scenes)


def test_llm_writer_batches_long_storyboards(fake_llm: str) -> None:
    board = build_storyboard(songs.pop_analysis(), writer=LLMWriter(base_url=fake_llm, model="m"))
    assert board.writer == "llm"
    assert len(FakeLLM.requests) == int(np.ceil(len(board.scenes) / 16))


@pytest.mark.parametrize("mode", ["garbage", "http_error"])
def test_llm_failure_falls_back_to_the_template(fake_llm: str, mode: str) -> None:
    FakeLLM.mode = mode
    analysis = small_analysis()
    board = build_storyboard(analysis, writer=LLMWriter(base_url=fake_llm, model="m"))
    assert board.writer == "template"
    assert len(board.warnings) == 1 and board.warnings[0].startswith("llm_unavailable: ")
    assert [s.prompt for s in board.scenes] == TemplateWriter().write([s.brief() for s in board.scenes],
                                                                      style="cinematic")


def test_unreachable_endpoint_falls_back() -> None:
    import socket

    with socket.socket() as s:          # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    board = build_storyboard(small_analysis(), writer=LLMWriter(base_url=f"http://127.0.0.1:{port}", model="m",
                                                                timeout_s=2.0))
    assert board.writer == "template"
    assert "could not be reached" in board.warnings[0]


def test_parse_prompts_and_writer_choice() -> None:
    assert parse_prompts('{"prompts": ["a  b", "c"]}') == ["a b", "c"]
    assert parse_prompts('["x"]') == ["x"]
    assert isinstance(writer_from_settings(base_url="", model=""), TemplateWriter)
    assert isinstance(writer_from_settings(base_url="http://127.0.0.1:1/v1", model="m"), LLMWriter)
