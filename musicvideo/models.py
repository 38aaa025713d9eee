from __future__ import annotations

from django.conf import settings
from django.db import models

from musicvideo.audio.correction import TEMPO_LABELS


class Song(models.Model):
    """An uploaded song, accepted only after its content was validated."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="songs")
    title = models.CharField(max_length=200)
    file = models.FileField(max_length=300)
    original_name = models.CharField(max_length=255, blank=True)
    size_bytes = models.BigIntegerField()
    duration_s = models.FloatField()
    container = models.CharField(max_length=60)
    codec = models.CharField(max_length=40)
    sample_rate = models.PositiveIntegerField()
    channels = models.PositiveSmallIntegerField()
    # The user's own lyrics (plain text, or an .lrc file's text): aligned to the audio by analysis.
    lyrics_text = models.TextField(blank=True)
    lyrics_lrc = models.TextField(blank=True)
    # The user's word on the beat (musicvideo.audio.correction), applied to every analysis of the song:
    # the bars start this many beats after where the tracker put them, at this level of the metre.
    bar_shift = models.PositiveSmallIntegerField(default=0)
    tempo_level = models.CharField(max_length=6, default="found", choices=list(TEMPO_LABELS.items()))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return self.title

    @property
    def lyrics_kind(self) -> str:
        return "lrc" if self.lyrics_lrc else "text" if self.lyrics_text else "none"


class SongAnalysis(models.Model):
    """One analysis run of a song (a job) and, once it succeeded, everything it found.

    The arrays are stored as JSON: they are read whole by the timeline and the storyboard, never
    queried piecemeal.
    """

    song = models.ForeignKey(Song, on_delete=models.CASCADE, related_name="analyses")
    job = models.OneToOneField("jobs.Job", on_delete=models.CASCADE, related_name="song_analysis")
    lyrics_kind = models.CharField(max_length=10, default="none")     # what the user gave: none | text | lrc
    duration_s = models.FloatField(null=True, blank=True)
    tempo_bpm = models.FloatField(null=True, blank=True)
    beats_per_bar = models.PositiveSmallIntegerField(default=4)
    key = models.CharField(max_length=20, blank=True)
    beats = models.JSONField(default=list, blank=True)
    downbeats = models.JSONField(default=list, blank=True)
    sections = models.JSONField(default=list, blank=True)
    # Tempo, beats, downbeats and sections as the tracker found them, before the song's correction
    # (the four fields above): a correction always starts again from these.
    rhythm_found = models.JSONField(default=dict, blank=True)
    emotion = models.JSONField(default=dict, blank=True)     # {"times_s": [...], "valence": [...], "arousal": [...]}
    words = models.JSONField(default=list, blank=True)
    lines = models.JSONField(default=list, blank=True)
    lyrics_source = models.CharField(max_length=10, blank=True)
    lyrics_matched_fraction = models.FloatField(null=True, blank=True)
    waveform = models.JSONField(default=list, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        get_latest_by = "created_at"

    def __str__(self) -> str:
        return f"Analysis {self.pk} of {self.song}"

    @property
    def is_complete(self) -> bool:
        return self.completed_at is not None


class Storyboard(models.Model):
    """Scenes for one analysis, in one style, for one adapter trigger token."""

    song = models.ForeignKey(Song, on_delete=models.CASCADE, related_name="storyboards")
    analysis = models.ForeignKey(SongAnalysis, on_delete=models.CASCADE, related_name="storyboards")
    style = models.CharField(max_length=30)
    trigger = models.CharField(max_length=100)
    writer = models.CharField(max_length=20)
    warnings = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at",)
        get_latest_by = "created_at"

    def __str__(self) -> str:
        return f"Storyboard {self.pk} of {self.song}"


class Scene(models.Model):
    storyboard = models.ForeignKey(Storyboard, on_delete=models.CASCADE, related_name="scenes")
    index = models.PositiveIntegerField()
    start_s = models.FloatField()
    end_s = models.FloatField()
    start_beat = models.PositiveIntegerField()
    n_beats = models.PositiveIntegerField()
    section = models.CharField(max_length=20)
    mood = models.CharField(max_length=20)
    valence = models.FloatField()
    arousal = models.FloatField()
    lyric = models.TextField(blank=True)
    prompt = models.TextField()
    prompt_edited = models.BooleanField(default=False)

    class Meta:
        ordering = ("storyboard", "index")
        constraints = [models.UniqueConstraint(fields=("storyboard", "index"), name="scene_unique_index")]

    def __str__(self) -> str:
        return f"Scene {self.index} ({self.start_s:.2f}-{self.end_s:.2f} s)"


class MusicVideo(models.Model):
    """One render of a song's storyboard with the user's likeness (issue 11).

    ``scenes`` is the storyboard as it was rendered (times, moods, plain-word prompts), so the
    video stays explainable after the storyboard is rewritten. Files are stored under
    ``videos/<user>/<video>/``; the consent it was made under decides its life: withdrawing that
    consent erases the video (charcha erasure hook ``musicvideo.videos``).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="music_videos")
    song = models.ForeignKey(Song, on_delete=models.CASCADE, related_name="videos")
    # A rewritten storyboard replaces the old one; the video keeps its own copy in `scenes`.
    storyboard = models.ForeignKey(Storyboard, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="videos")
    consent = models.ForeignKey("charcha.ConsentRecord", on_delete=models.CASCADE, related_name="music_videos")
    # The trained adapter the diffusion renderers condition on; none: the consent's frames
    # (compositor). Deleting an adapter keeps the videos made with it; ending the consent does not.
    adapter = models.ForeignKey("personalize.Adapter", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="music_videos")
    job = models.OneToOneField("jobs.Job", on_delete=models.CASCADE, related_name="music_video")
    style = models.CharField(max_length=30)
    renderer = models.CharField(max_length=20, default="auto")        # as asked: auto | compositor | ...
    renderer_used = models.CharField(max_length=20, blank=True)       # what "auto" became
    scenes = models.JSONField(default=list, blank=True)
    scenes_done = models.JSONField(default=list, blank=True)          # [{"index": i, "thumb": name}, ...]
    width = models.PositiveIntegerField(default=1280)
    height = models.PositiveIntegerField(default=720)
    fps = models.PositiveSmallIntegerField(default=30)
    video = models.FileField(max_length=300, blank=True)
    preview = models.FileField(max_length=300, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    provenance = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"Music video {self.pk} of {self.song}"

    @property
    def storage_prefix(self) -> str:
        return f"videos/{self.user_id}/{self.pk}/"
