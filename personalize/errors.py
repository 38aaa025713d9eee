"""Every refusal the personalize app (and its engine, personalize/lora) can raise, with its meaning.

The codes are stable (the API answers ``{"code", "detail"}`` with them and the job row records
them); the messages here are the general meaning, the raised error carries the specific sentence.
"""

from __future__ import annotations

from mediakit.errors import EncoreError

ERROR_CODES: dict[str, str] = {
    # consent and ownership
    "adapter_no_consent": "You need an active consent (a passed CHARCHA challenge) to train an adapter.",
    "adapter_consent_ended": "The consent this adapter belongs to has ended; its pictures may not be used.",
    "adapter_consent_not_yours": "That consent belongs to someone else.",
    "adapter_not_found": "No such adapter.",
    "adapter_frames_unreadable": "The consent's pictures could not be decrypted; nothing was trained.",
    "adapter_training_active": "An adapter of this consent is already training; wait for it or cancel it.",
    "adapter_not_ready": "The adapter has not finished training.",
    "adapter_busy": "The adapter is training; cancel the job before deleting it.",
    "adapter_file_missing": "The adapter's file is missing.",
    "validation_not_found": "No such validation picture.",
    # engine (personalize/lora)
    "lora_error": "The adapter could not be trained.",
    "family_unknown": "Unknown model family.",
    "dtype_unknown": "Unknown number format.",
    "weights_missing": "The model weights are not on this machine; nothing is downloaded at run time.",
    "motion_adapter_missing": "No AnimateDiff motion adapter is configured.",
    "pipeline_kind_unknown": "Unknown pipeline kind (image or video).",
    "lora_targets_missing": "The model has no attention projections to train.",
    "adapter_incompatible": "The adapter file does not fit this model family.",
    "config_invalid": "The training settings are not valid.",
    "cpu_training_refused": "A real-size model does not train on a CPU; it needs a GPU worker.",
    "frame_unreadable": "A picture of the consent could not be decoded.",
    "too_few_faces": "Too few of the consent's pictures show a face to train on.",
    "training_diverged": "Training diverged (the loss stopped being a number).",
}


class PersonalizeError(EncoreError):
    code = "lora_error"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, http_status: int | None = None) -> None:
        super().__init__(message, code=code)
        if http_status is not None:
            self.http_status = http_status
