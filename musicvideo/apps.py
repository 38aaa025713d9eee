from django.apps import AppConfig


class MusicvideoConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "musicvideo"
    verbose_name = "Music videos"

    def ready(self) -> None:
        from jobs.demo import demo_stage_register

        # By dotted path: the demo's generators load only when the demo runs, never in a web process.
        demo_stage_register("song", "musicvideo.demo.song_stage", order=20)
