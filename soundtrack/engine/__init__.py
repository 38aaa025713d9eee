"""Video -> music, without Django: visual rhythm and mood, composition, synthesis, alignment metrics."""

from soundtrack.engine.pipeline import (
    EngineSettings,
    SoundtrackOptions,
    SoundtrackOutputs,
    SoundtrackSummary,
    score_video,
)

__all__ = ["EngineSettings", "SoundtrackOptions", "SoundtrackOutputs", "SoundtrackSummary", "score_video"]
