"""Every refusal the musicvideo app can raise, with the sentence behind each code.

The codes are stable (APIs answer ``{"code", "detail"}`` with them); messages here are the
general meaning, the raised error carries the specific sentence.
"""

from __future__ import annotations

from mediakit.errors import EncoreError

ERROR_CODES: dict[str, str] = {
    # songs and analysis (issue 5)
    "song_state": "The song is not in a state for this request.",
    "analysis_running": "This song is being analysed already; wait for it to finish.",
    "analysis_not_ready": "The song has no finished analysis yet.",
    "audio_invalid": "The audio could not be analysed.",
    "audio_too_short": "The song is too short to analyse.",
    "audio_silent": "The song is silent.",
    "lyrics_invalid": "The lyrics could not be read.",
    "lyrics_too_long": "The lyrics are too long.",
    "lyrics_ambiguous": "Give either pasted lyrics or an .lrc file, not both.",
    "lyrics_empty": "The lyrics contain no words.",
    "lrc_invalid": "The .lrc file could not be read.",
    "whisper_model_unavailable": "The Whisper model is not on this worker.",
    "lrc_out_of_range": "Every line of the .lrc file starts after the song ends.",
    # storyboard and prompts
    "storyboard_invalid": "The storyboard could not be written.",
    "style_unknown": "Unknown style.",
    "trigger_missing": "The adapter's trigger token is empty.",
    "prompt_invalid": "The prompt is not valid.",
    "prompt_empty": "The prompt is empty.",
    "prompt_too_long": "The prompt is too long.",
    "prompt_missing_trigger": "The prompt must contain the trigger token.",
    "llm_unavailable": "The prompt writer did not answer.",
    "storyboard_running": "A storyboard is being written already.",
    # the user's correction of beats and bars
    "rhythm_correction_invalid": "The correction of beats and bars is not valid.",
    "bar_shift_invalid": "The bars can start 0 to beats-per-bar - 1 beats after where they were found.",
    "tempo_level_invalid": "The beat is as found, or double, half, 3/2 or 2/3 of it.",
    # rendering (issue 11)
    "render_failed": "The video could not be rendered.",
    "renderer_unknown": "Unknown renderer.",
    "renderer_unavailable": "That renderer cannot run here (no weights, no GPU or no trained adapter).",
    "person_no_frames": "The consent has no frames to show you with.",
    "person_bad_frame": "A consent frame could not be read.",
    "person_not_found": "No person could be found in the consent frames.",
    "render_bad_frame": "The renderer produced a frame of the wrong size or type.",
    "render_frame_count": "The renderer produced the wrong number of frames for a scene.",
    "render_empty": "Nothing was rendered.",
    "encode_failed": "The video could not be encoded.",
    "font_missing": "No font for captions and the AI label was found.",
    "storyboard_empty": "The storyboard has no scenes.",
    "storyboard_gaps": "The storyboard's scenes do not cover the song.",
    "song_empty": "The song has no length.",
    "storyboard_missing": "The song has no storyboard to render yet.",
    "render_running": "A video of this song is being rendered already.",
    "video_not_ready": "The video has not finished rendering.",
    "adapter_invalid": "That adapter cannot be used for this video.",
    "adapter_not_ready": "The adapter has not finished training.",
    "adapter_incompatible": "The adapter does not fit the model this renderer uses (another family, or a rank above what compiled renders take).",
}


class VideoError(EncoreError):
    """A refusal about a music video (the request, not the render)."""

    code = "render_failed"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, http_status: int | None = None) -> None:
        super().__init__(message, code=code)
        if http_status is not None:
            self.http_status = http_status
