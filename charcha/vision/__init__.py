"""CHARCHA liveness engine (pure Python, no Django).

Streamed: each batch of frames is analysed as it arrives (``analyse_batch``: faces, landmarks,
light, some identity embeddings), and the verdict is decided from those observations once the
last batch is in (``decide``). FaceMesh landmarks per frame -> signals (head turn and nod as nose
parallax against the face plane, eye closure, mouth opening, smile against the user's own neutral
face) -> each action seen inside its window, in order, and no strong move that was not asked for;
exactly one face in every frame, down to 20 px tall; the same person throughout and, when the
account has one, the account's verified face (dlib embeddings, or insightface when its model pack
is installed); the face's colour following the screen's light sequence.

Left and right are the *user's own*: ``turn_left`` means the user turns towards their left
shoulder, which on the unmirrored capture moves their nose towards the image's right edge.

Importing this package is cheap: mediapipe and dlib load when a ``LivenessVerifier`` is built.
"""

from charcha.vision.actions import Thresholds
from charcha.vision.challenge import challenge_duration_s, generate_steps
from charcha.vision.stream import FrameObservation
from charcha.vision.types import (
    ACTIONS,
    REASONS,
    CapturedFrame,
    ChallengeStep,
    LightSegment,
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
    "FrameObservation",
    "LightSegment",
    "LivenessInputError",
    "LivenessVerifier",
    "StepResult",
    "Thresholds",
    "Verdict",
    "challenge_duration_s",
    "generate_steps",
]
