"""What people read: step prompts and result categories (never a score).

Verdict reasons come from the vision engine and the protocol; each maps to a category a person
understands and can act on. Unknown reasons fall back to a generic category rather than leaking
an internal code.
"""

from __future__ import annotations

from dataclasses import dataclass

# The user's own left/right: the preview is mirrored, so "your left" is also the screen's left.
PROMPTS: dict[str, str] = {
    "turn_left": "Turn your head to your left",
    "turn_right": "Turn your head to your right",
    "look_up": "Look up",
    "look_down": "Look down",
    "blink": "Blink your eyes",
    "open_mouth": "Open your mouth wide",
    "smile": "Give a big smile",
}


@dataclass(frozen=True)
class Outcome:
    title: str
    message: str
    retry_allowed: bool = True


PASSED = Outcome("You're verified", "We saw you do every move, live. Your consent is recorded; you can review or "
                 "withdraw it at any time on your consent page.", retry_allowed=False)

OUTCOMES: dict[str, Outcome] = {
    "no_face": Outcome("We couldn't see your face", "Face the camera in good, even light and keep your whole face "
                       "in the oval for the whole challenge."),
    "face_too_small": Outcome("Your face was too far away", "Move closer, so your face fills most of the oval."),
    "multiple_faces": Outcome("More than one face was in view", "Make sure only you are in the picture — no other "
                              "people, posters or screens with faces behind you."),
    "identity_changed": Outcome("The person in view changed", "The same person must stay in view from the first "
                                "move to the last."),
    "action_missed": Outcome("A move was missed", "We didn't see one of the moves while its prompt was shown. Do each "
                             "move clearly as soon as it appears, and hold it until the countdown ends."),
    "wrong_order": Outcome("The moves came in the wrong order", "Follow the prompts one at a time, in the order they "
                           "appear."),
    "too_few_frames": Outcome("Too few pictures reached us", "Your camera or connection was too slow. Close other "
                              "apps or tabs and try again."),
    "timing_invalid": Outcome("The picture timing didn't add up", "The pictures' timing did not match the "
                              "challenge. Keep this tab in front and try again."),
    "frames_unreadable": Outcome("Some pictures could not be read", "Your camera sent pictures we could not read. "
                                 "Try again, or try another camera."),
    "consent_already_active": Outcome("You already have an active consent", "Withdraw it on your consent page "
                                      "before recording a new one.", retry_allowed=False),
    "internal_error": Outcome("Something went wrong on our side", "This was not your fault. Please try again in a "
                              "moment."),
    "expired": Outcome("The challenge expired", "Each challenge must be finished within 3 minutes. Start a new "
                       "one."),
    "cancelled": Outcome("The challenge was stopped", "It was cancelled or continued in another tab."),
    "superseded": Outcome("Continued in another tab", "A newer challenge was started in another tab or window, so "
                          "this one ended. It counts as an attempt."),
    "abandoned": Outcome("The challenge was stopped", "It stopped after the moves had begun, so it counts as an "
                         "attempt. Stay on this page until the end."),
    "light_mismatch": Outcome("The screen's light did not reach your face", "Face the screen, close enough for its "
                              "light to fall on your face, in a room that is not too bright, and try again."),
    "light_flat": Outcome("The screen's light did not look right on your face", "Do the challenge yourself, facing "
                          "the screen and the camera, without anything between you and the camera."),
    "unrequested_action": Outcome("We saw a move that was not asked for", "Keep your face still between the "
                                  "prompts and do only what each prompt asks, while it is shown."),
    "identity_mismatch": Outcome("This is not the face this account verified", "Only the person who verified this "
                                 "account before can record a consent with it."),
}

GENERIC = Outcome("The check did not pass", "Please try again, following each prompt as it appears.")


def outcome_for(state: str, reason: str) -> Outcome:
    if state == "passed":
        return PASSED
    if state == "verifying":
        return Outcome("Checking…", "We are checking your challenge.", retry_allowed=False)
    if state == "open":
        return Outcome("In progress", "The challenge is running.", retry_allowed=False)
    return OUTCOMES.get(reason, GENERIC)
