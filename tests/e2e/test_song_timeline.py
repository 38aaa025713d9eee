"""The timeline of a 4-minute song in a real browser: whole song at first sight, words that never
overlap, labelled emotion axes, and zoom for detail."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from playwright.sync_api import Page, expect

from jobs.models import Job
from mediakit.audio import write_wav
from musicvideo.audio.analysis import AnalysisOptions, analyze_samples
from musicvideo.audio.features import ANALYSIS_SR
from musicvideo.models import Song, SongAnalysis
from musicvideo.testing.synthetic import make_song, song_of_length
from tests.e2e.conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("ENCORE_SCREENSHOTS", "/tmp/encore-shots"))
WORDS = ["sunlight", "over", "the", "water", "we", "are", "running", "out", "of", "time", "hold", "on", "to",
         "the", "morning", "every", "step", "a", "little", "closer", "every", "night", "a", "little", "longer"]

# Every visible word's box, in page pixels, with its row (its baseline).
WORD_BOXES = """() => [...document.querySelectorAll('#timeline text.word')].map((t) => {
  const b = t.getBoundingClientRect();
  return {x0: b.left, x1: b.right, y: Number(t.getAttribute('y'))};
})"""


def four_minute_song(user: Any, tmp_path: Path) -> Song:
    """A 4-minute generated song, analysed for real, with 480 lyric words spread over it."""
    song = make_song(song_of_length(240.0, vocals=False))
    samples = np.interp(np.arange(int(song.duration_s * ANALYSIS_SR)) / ANALYSIS_SR,
                        np.arange(len(song.samples)) / song.sample_rate, song.samples).astype(np.float32)
    lyrics = "\n".join(" ".join(WORDS[(i + k) % len(WORDS)] for k in range(8)) for i in range(60))
    result = analyze_samples(samples, options=AnalysisOptions(transcribe=False, lyrics_text=lyrics))
    path = write_wav(tmp_path / "song.wav", samples[: ANALYSIS_SR * 5], ANALYSIS_SR)   # the player needs a file
    name = default_storage.save("songs/e2e/long.wav", ContentFile(path.read_bytes()))
    row = Song.objects.create(user=user, title="Four minutes", file=name, size_bytes=path.stat().st_size,
                              duration_s=result.duration_s, container="wav", codec="pcm_s16le",
                              sample_rate=ANALYSIS_SR, channels=1)
    data = result.to_dict()
    job = Job.objects.create(user=user, kind=Job.Kind.ANALYZE, status=Job.Status.SUCCEEDED, progress=1.0)
    SongAnalysis.objects.create(
        song=row, job=job, lyrics_kind="text", duration_s=result.duration_s, tempo_bpm=result.tempo_bpm,
        key=result.key, beats=data["beats_s"], downbeats=data["downbeats_s"], sections=data["sections"],
        emotion={"times_s": data["emotion_times_s"], "valence": data["valence"], "arousal": data["arousal"]},
        words=data["words"], lines=data["lines"], lyrics_source=result.lyrics_source, waveform=data["waveform"],
        warnings=data["warnings"], timings=data["timings_s"], completed_at=timezone.now())
    return row


def assert_no_overlap(boxes: list[dict[str, float]]) -> None:
    rows: dict[float, list[tuple[float, float]]] = {}
    for b in boxes:
        rows.setdefault(b["y"], []).append((b["x0"], b["x1"]))
    for spans in rows.values():
        spans.sort()
        for (_, right), (left, _) in itertools.pairwise(spans):
            assert left >= right, (left, right)


def test_four_minute_timeline_fits_reads_and_zooms(page: Page, live_server: Any, tmp_path: Path) -> None:
    user = login(page, live_server)
    song = four_minute_song(user, tmp_path)
    analysis = SongAnalysis.objects.get(song=song)
    assert analysis.duration_s is not None and analysis.duration_s > 230
    assert len(analysis.words) == 480

    page.goto(f"{live_server.url}/songs/{song.pk}/")
    timeline = page.locator("#timeline[data-ready=true]")
    expect(timeline).to_be_visible(timeout=30_000)
    panel = page.locator("#timeline-scroll").bounding_box()
    svg = timeline.bounding_box()
    assert panel is not None and svg is not None
    # The whole song at first sight: no horizontal scrolling.
    assert svg["width"] <= panel["width"]
    # Every section and every word is there; words that would collide keep only their tick.
    assert page.locator("#timeline rect[data-section]").count() == len(analysis.sections)
    assert page.locator("#timeline .word-tick").count() == 480
    visible = page.locator("#timeline text.word").count()
    hidden = int(timeline.get_attribute("data-words-hidden") or "0")
    assert visible + hidden == 480 and visible > 40
    assert_no_overlap(page.evaluate(WORD_BOXES))
    # Labelled emotion axes: the scale and the two curves' names in their colours.
    expect(page.locator("#timeline text.lane-name.valence")).to_have_text("valence")
    expect(page.locator("#timeline text.lane-name.arousal")).to_have_text("arousal")
    assert page.locator("#timeline text.tick-label").all_text_contents() == ["+1", "0", "\u22121"]
    assert page.locator("#timeline path[data-curve=valence]").count() == 1
    # Section names fit their bands (a label is shortened or left out, never spilled over the next).
    spill = page.evaluate("""() => [...document.querySelectorAll('#timeline .section-label')].filter((t) => {
      const band = t.previousElementSibling.getBoundingClientRect();
      return t.getBoundingClientRect().right > band.right;
    }).length""")
    assert spill == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(".timeline-panel").screenshot(path=str(SHOTS / "song-timeline-4min.png"))

    # Zoom for detail: wider than the panel, more words readable, still none overlapping.
    page.locator("#timeline-zoom").fill("8")
    page.wait_for_function("() => Number(document.getElementById('timeline').getAttribute('width')) > 4000")
    zoomed = timeline.bounding_box()
    assert zoomed is not None and zoomed["width"] > 4000           # drawn at full size: the panel scrolls
    assert page.locator("#timeline text.word").count() > visible
    assert_no_overlap(page.evaluate(WORD_BOXES))
    page.locator(".timeline-panel").screenshot(path=str(SHOTS / "song-timeline-4min-zoom8.png"))


def test_a_close_bar_vote_is_said_in_plain_words(page: Page, live_server: Any, tmp_path: Path) -> None:
    user = login(page, live_server)
    song = four_minute_song(user, tmp_path)
    SongAnalysis.objects.filter(song=song).update(warnings=["unclear_bar"])
    page.goto(f"{live_server.url}/songs/{song.pk}/")
    note = page.locator(".warning-note")
    expect(note).to_have_text("Where each bar starts is a close call in this song, so cuts on bar lines may land a "
                              "beat or two off. If they do, say where the bars start, under the timeline.")
    expect(page.locator("#timeline[data-ready=true]")).to_be_visible(timeout=30_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "song-unclear-bar.png"), clip={"x": 0, "y": 0, "width": 1280, "height": 700})

    # The person who knows the song moves the bars one beat later: the timeline's bar lines follow.
    found = SongAnalysis.objects.get(song=song)
    bars_before = page.locator("#timeline path.downbeat").get_attribute("d")
    page.locator("#id_bar_shift").select_option("1")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("status").filter(has_text="Beats and bars updated.")).to_be_visible()
    expect(page.locator("#timeline[data-ready=true]")).to_be_visible(timeout=30_000)
    expect(page.locator("#id_bar_shift")).to_have_value("1")
    corrected = SongAnalysis.objects.get(song=song)
    first = found.beats.index(found.downbeats[0])
    assert corrected.downbeats[:2] == [found.beats[first + 1], found.beats[first + 5]]
    bars_after = page.locator("#timeline path.downbeat").get_attribute("d")
    assert bars_after is not None and bars_after != bars_before
    assert bars_after.count("M") == len(corrected.downbeats)
    page.evaluate("window.scrollTo(0, 0)")           # boxes in page coordinates for the clip below
    top, form = page.locator(".timeline-panel").bounding_box(), page.locator("#beat").bounding_box()
    assert top is not None and form is not None
    page.screenshot(path=str(SHOTS / "song-bars-corrected.png"), full_page=True,
                    clip={"x": 0, "y": top["y"] - 70, "width": 1280, "height": form["y"] + form["height"] - top["y"] + 80})
