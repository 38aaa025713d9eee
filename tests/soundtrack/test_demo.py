"""The soundtrack stage of `manage.py demo` (here with Celery eager instead of a worker process)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User

from jobs.demo import demo_stages_registered


@pytest.mark.django_db(transaction=True)
def test_demo_stage_scores_a_generated_video(tmp_path: Path) -> None:
    user = User.objects.create_user(username="demo")
    [(name, stage)] = [(n, s) for n, s in demo_stages_registered() if n == "soundtrack"]
    out = tmp_path / "demo"
    out.mkdir()
    facts = stage(user, out)
    assert name == "soundtrack"
    assert sorted(p.name for p in out.iterdir()) == ["soundtrack-input.mp4", "soundtrack-music.wav",
                                                          "soundtrack-score.mid", "soundtrack.mp4"]
    assert facts["tempo_bpm"] == pytest.approx(100.0, abs=0.3)
    assert facts["beat_hit_rate"] >= 0.9
    assert facts["page"].startswith("/soundtrack/tracks/")
