"""The values the liveness engine takes and returns (no Django, no heavy imports)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mediakit.errors import EncoreError

ACTIONS: tuple[str, ...] = ("turn_left", "turn_right", "look_up", "look_down", "blink", "open_mouth", "smile")

REASONS: tuple[str, ...] = (
    "passed",
    "no_face",
    "multiple_faces",
    "identity_changed",
    "action_missed",
    "wrong_order",
    "too_few_frames",
    "timing_invalid",
    "face_too_small",
    "light_mismatch",
    "light_flat",
    "unrequested_action",
    "identity_mismatch",
)


class LivenessInputError(EncoreError):
    """The call itself is malformed (no frames, a frame that is not an RGB image, unknown action).

    A person's failed attempt is never an exception: it is a :class:`Verdict` with a reason.
    """

    code = "liveness_input_invalid"


@dataclass(frozen=True)
class ChallengeStep:
    action: str  # one of ACTIONS
    start_s: float  # window start: the reveal time, seconds after the challenge was issued (server clock)
    end_s: float  # window end: reveal + planned length


@dataclass(frozen=True)
class LightSegment:
    """One colour of the light challenge as the page showed it."""

    rgb: tuple[int, int, int]  # the colour the page shows (sRGB 0..255)
    start_s: float  # reveal time, seconds after issue (server clock)
    end_s: float


@dataclass(frozen=True)
class CapturedFrame:
    t_s: float  # capture time, seconds after challenge start
    image: np.ndarray  # HxWx3 uint8 RGB, unmirrored


@dataclass(frozen=True)
class StepResult:
    action: str
    seen: bool
    seen_at_s: float | None  # capture time of the first frame that showed the action in its window
    # Strongest response of the action's signal inside its window, in units of the detection
    # threshold: >= 1.0 means strong enough (turns also need the nose to move off the face plane).
    peak_signal: float


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reason: str  # one of REASONS
    message: str  # a sentence a person understands (never a score)
    steps: tuple[StepResult, ...]
    training_frame_indices: tuple[int, ...]  # indices into the frames given to verify()
    embedding: np.ndarray | None  # mean identity embedding (128-D with dlib) of the person
    frame_count: int
    # Added beyond the agreed interface: for logs and admins, never for the person.
    detail: str = ""
    identity_distance_max: float | None = None  # largest embedding distance to the reference frame
    identity_backend: str = ""
    timings_s: dict[str, float] = field(default_factory=dict)  # seconds per stage of this verdict


ACTION_PHRASES: dict[str, str] = {
    "turn_left": "turn your head to your left",
    "turn_right": "turn your head to your right",
    "look_up": "look up",
    "look_down": "look down",
    "blink": "blink",
    "open_mouth": "open your mouth",
    "smile": "smile",
}

MESSAGES: dict[str, str] = {
    "passed": "Thank you: we saw you complete every step live, so your consent is recorded.",
    "no_face": "We could not see your face in part of the recording. Keep your whole face in view and well lit "
    "for the whole challenge, then try again.",
    "multiple_faces": "We saw more than one face. Please do the challenge with only you in the picture.",
    "identity_changed": "The face in the picture changed during the challenge. The same person has to do every step.",
    "wrong_order": "The moves came in a different order from the prompts. Follow each prompt while it is showing.",
    "too_few_frames": "We received too few pictures from your camera to check the challenge. Check your camera and "
    "connection, then try again.",
    "timing_invalid": "The recording's timing did not add up, so we could not check it. Please try again.",
    "face_too_small": "Your face was too small in the picture. Move closer to the camera and try again.",
    "light_mismatch": "The light on your face did not follow the colours the screen showed. Face the screen, keep "
    "your face lit by it and try again.",
    "light_flat": "The light from the screen did not fall on your face the way it falls on a real face. Please do "
    "the challenge yourself, in front of the camera, facing the screen.",
    "unrequested_action": "We saw a move that was not asked for. Keep your face still between the prompts and do "
    "only what each prompt asks.",
    "identity_mismatch": "This does not look like the person who verified this account before. Only the account's "
    "owner can give consent for their face.",
}


def missed_message(action: str, *, too_late: bool) -> str:
    phrase = ACTION_PHRASES.get(action, action)
    if too_late:
        return f"You moved too late: we saw you {phrase} after its prompt had ended. Do each move while its prompt is showing."
    return f"We did not see you {phrase} while that prompt was showing. Please try again and follow each prompt."
