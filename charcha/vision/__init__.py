"""CHARCHA liveness engine (pure Python, no Django).

FaceMesh landmarks per frame -> signals (head turn and nod as nose parallax against the face
plane, eye closure, mouth opening, smile against the user's own neutral face) -> each action seen
inside its window, in order; exactly one face in every frame (full-range face detector); the same
person throughout (dlib embeddings, or insightface when its model pack is installed).

Left and right are the *user's own*: ``turn_left`` means the user turns towards their left
shoulder, which on the unmirrored capture moves their nose towards the image's right edge.

Importing this package is cheap: mediapipe and dlib load when a ``LivenessVerifier`` is built.
"""

from charcha.vision.actions import Thresholds
from charcha.vision.challenge import challenge_duration_s, generate_steps
from charcha.vision.types import (
    ACTIONS,
    REASONS,
    CapturedFrame,
    ChallengeStep,
    LivenessInputError,
    StepResult,
    Verdict,
)
from charcha.vision.verifier import FacePolicy, LivenessVerifier

__all__ = [
    "ACTIONS",
    "REASONS",
    "CapturedFrame",
    "ChallengeStep",
    "FacePolicy",
    "LivenessInputError",
    "LivenessVerifier",
    "StepResult",
    "Thresholds",
    "Verdict",
    "challenge_duration_s",
    "generate_steps",
]
