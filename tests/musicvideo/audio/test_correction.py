"""The user's correction of the beat: exact beats, bars and sections for every choice."""

from __future__ import annotations

import pytest

from musicvideo.audio.correction import Rhythm, correct_rhythm

# Twelve beats at 120 BPM; the tracker put the bars on the second beat; a section starts at 2.4 s.
BEATS = [0.5 * i for i in range(12)]
FOUND = Rhythm(tempo_bpm=120.0, beats_s=BEATS, downbeats_s=[0.5, 2.5, 4.5],
               sections=[{"start_s": 0.0, "end_s": 2.4, "label": "A"}, {"start_s": 2.4, "end_s": 6.0, "label": "B"}])


def test_as_found_gives_back_what_was_found() -> None:
    got = correct_rhythm(FOUND, beats_per_bar=4, bar_shift=0, tempo="found")
    assert (got.tempo_bpm, got.beats_s, got.downbeats_s) == (120.0, BEATS, [0.5, 2.5, 4.5])
    # The section boundary moves onto the bar start nearest it, as sections are cut on bars.
    assert [(s["start_s"], s["end_s"], s["label"]) for s in got.sections] == [(0.0, 2.5, "A"), (2.5, 6.0, "B")]


@pytest.mark.parametrize(("shift", "downbeats", "boundary"), [
    (1, [1.0, 3.0, 5.0], 3.0),
    (2, [1.5, 3.5, 5.5], 1.5),
    (3, [0.0, 2.0, 4.0], 2.0),      # a bar now starts before the first one found
])
def test_bars_start_later(shift: int, downbeats: list[float], boundary: float) -> None:
    got = correct_rhythm(FOUND, beats_per_bar=4, bar_shift=shift, tempo="found")
    assert (got.tempo_bpm, got.beats_s, got.downbeats_s) == (120.0, BEATS, downbeats)
    assert [(s["start_s"], s["end_s"]) for s in got.sections] == [(0.0, boundary), (boundary, 6.0)]


def test_double_puts_a_beat_between_each_two_and_cuts_each_bar_in_two() -> None:
    got = correct_rhythm(FOUND, beats_per_bar=4, bar_shift=0, tempo="double")
    assert got.tempo_bpm == 240.0
    assert got.beats_s == [0.25 * i for i in range(23)]
    assert got.downbeats_s == [0.5, 1.5, 2.5, 3.5, 4.5, 5.5]
    assert correct_rhythm(FOUND, beats_per_bar=4, bar_shift=1, tempo="double").downbeats_s == [0.75, 1.75, 2.75,
                                                                                               3.75, 4.75]


def test_half_keeps_the_beats_of_the_first_bar_start() -> None:
    got = correct_rhythm(FOUND, beats_per_bar=4, bar_shift=0, tempo="half")
    assert (got.tempo_bpm, got.beats_s, got.downbeats_s) == (60.0, [0.5, 1.5, 2.5, 3.5, 4.5, 5.5], [0.5, 4.5])
    assert correct_rhythm(FOUND, beats_per_bar=4, bar_shift=1, tempo="half").downbeats_s == [1.5, 5.5]


def test_three_halves_puts_three_beats_in_the_time_of_two() -> None:
    got = correct_rhythm(FOUND, beats_per_bar=4, bar_shift=0, tempo="3/2")
    assert got.tempo_bpm == 180.0
    # A beat every 2/3 of a beat found, one of them on the first bar start (0.5 s), none past the last.
    assert got.beats_s == [round(1 / 6 + i / 3, 3) for i in range(17)]
    assert got.downbeats_s == [0.5, 1.833, 3.167, 4.5]


def test_two_thirds_puts_two_beats_in_the_time_of_three() -> None:
    got = correct_rhythm(FOUND, beats_per_bar=4, bar_shift=0, tempo="2/3")
    assert got.tempo_bpm == 80.0
    assert got.beats_s == [0.5, 1.25, 2.0, 2.75, 3.5, 4.25, 5.0]
    assert got.downbeats_s == [0.5, 3.5]
    assert correct_rhythm(FOUND, beats_per_bar=4, bar_shift=3, tempo="2/3").downbeats_s == [2.75]


def test_bars_the_tracker_realigned_stay_realigned() -> None:
    # A slipped beat: the third bar starts three beats after the second, not four.
    found = Rhythm(tempo_bpm=120.0, beats_s=BEATS, downbeats_s=[0.0, 2.0, 3.5], sections=[])
    assert correct_rhythm(found, beats_per_bar=4, bar_shift=0, tempo="found").downbeats_s == [0.0, 2.0, 3.5]
    assert correct_rhythm(found, beats_per_bar=4, bar_shift=1, tempo="found").downbeats_s == [0.5, 2.5, 4.0]


def test_a_section_pushed_onto_its_neighbour_merges_with_it() -> None:
    sections = [{"start_s": 0.0, "end_s": 2.4, "label": "A"}, {"start_s": 2.4, "end_s": 2.9, "label": "B"},
                {"start_s": 2.9, "end_s": 6.0, "label": "C"}]
    found = Rhythm(tempo_bpm=120.0, beats_s=BEATS, downbeats_s=[0.5, 2.5, 4.5], sections=sections)
    got = correct_rhythm(found, beats_per_bar=4, bar_shift=0, tempo="found")
    assert [(s["start_s"], s["end_s"], s["label"]) for s in got.sections] == [(0.0, 2.5, "A"), (2.5, 6.0, "B")]


def test_a_shift_outside_the_bar_is_refused() -> None:
    with pytest.raises(ValueError, match=r"bar_shift must be 0\.\.3"):
        correct_rhythm(FOUND, beats_per_bar=4, bar_shift=4, tempo="found")
