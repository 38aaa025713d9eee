from django.contrib import admin

from musicvideo.models import Scene, Song, SongAnalysis, Storyboard


@admin.register(Song)
class SongAdmin(admin.ModelAdmin[Song]):
    list_display = ("id", "title", "user", "duration_s", "codec", "created_at")
    search_fields = ("title", "user__username")


@admin.register(SongAnalysis)
class SongAnalysisAdmin(admin.ModelAdmin[SongAnalysis]):
    list_display = ("id", "song", "tempo_bpm", "key", "lyrics_source", "created_at", "completed_at")
    list_select_related = ("song",)
    # Results are written by the analysis job only.
    readonly_fields = [f.name for f in SongAnalysis._meta.fields]


class SceneInline(admin.TabularInline[Scene, Storyboard]):
    model = Scene
    fields = ("index", "start_s", "end_s", "n_beats", "section", "mood", "lyric", "prompt", "prompt_edited")
    readonly_fields = ("index", "start_s", "end_s", "n_beats", "section", "mood", "lyric")
    extra = 0


@admin.register(Storyboard)
class StoryboardAdmin(admin.ModelAdmin[Storyboard]):
    list_display = ("id", "song", "style", "writer", "created_at")
    inlines = (SceneInline,)
