from __future__ import annotations

from typing import Any

from rest_framework import serializers

from jobs.serializers import JobSummarySerializer
from musicvideo.audio.correction import TEMPO_LEVELS
from musicvideo.models import Scene, Song, SongAnalysis, Storyboard
from musicvideo.storyboard import STYLE_PRESETS


class SongSerializer(serializers.ModelSerializer):
    lyrics_kind = serializers.CharField(read_only=True)

    class Meta:
        model = Song
        fields = ("id", "title", "original_name", "size_bytes", "duration_s", "container", "codec", "sample_rate",
                  "channels", "lyrics_kind", "bar_shift", "tempo_level", "created_at")
        read_only_fields = fields


class SongUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, help_text="mp3, wav, flac, ogg or m4a; checked by content; up to 15 minutes.")
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    lyrics = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False,
                                   help_text="The song's lyrics, one line per line; aligned to the audio.")
    lrc = serializers.FileField(required=False, allow_empty_file=True,
                                help_text="An .lrc file ([mm:ss.xx] line); its times anchor the lines.")
    analyse = serializers.BooleanField(required=False, default=True,
                                       help_text="Start the analysis right away (default).")


class RhythmCorrectionSerializer(serializers.Serializer):
    bar_shift = serializers.IntegerField(default=0, help_text="The bars start this many beats after where they were "
                                                               "found: 0 to beats per bar - 1.")
    tempo = serializers.ChoiceField(choices=TEMPO_LEVELS, default="found",
                                    help_text="The beat as found, or how many beats fall in the time of one found: "
                                              "double, half, 3/2 or 2/3.")


class LyricsSerializer(serializers.Serializer):
    lyrics = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    lrc = serializers.FileField(required=False, allow_empty_file=True)


class SongAnalysisSerializer(serializers.ModelSerializer):
    job = JobSummarySerializer(read_only=True)
    emotion = serializers.SerializerMethodField()

    class Meta:
        model = SongAnalysis
        fields = ("id", "song", "job", "lyrics_kind", "duration_s", "tempo_bpm", "beats_per_bar", "key", "beats",
                  "downbeats", "sections", "emotion", "words", "lines", "lyrics_source", "lyrics_matched_fraction",
                  "waveform", "warnings", "timings", "rhythm_found", "created_at", "completed_at")
        read_only_fields = fields

    def get_emotion(self, obj: SongAnalysis) -> dict[str, Any]:
        return dict(obj.emotion or {"times_s": [], "valence": [], "arousal": []})


class SceneSerializer(serializers.ModelSerializer):
    class Meta:
        model = Scene
        fields = ("index", "start_s", "end_s", "start_beat", "n_beats", "section", "mood", "valence", "arousal",
                  "lyric", "prompt", "prompt_edited")
        read_only_fields = fields


class ScenePromptSerializer(serializers.Serializer):
    prompt = serializers.CharField(allow_blank=True, trim_whitespace=False)


class StoryboardSerializer(serializers.ModelSerializer):
    scenes = SceneSerializer(many=True, read_only=True)

    class Meta:
        model = Storyboard
        fields = ("id", "analysis", "style", "trigger", "writer", "warnings", "created_at", "scenes")
        read_only_fields = fields


class StoryboardRequestSerializer(serializers.Serializer):
    # DRF's metaclass takes declared fields off the class, so this does not shadow Field.style.
    style = serializers.ChoiceField(choices=sorted(STYLE_PRESETS))  # type: ignore[assignment]
