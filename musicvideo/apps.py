from django.apps import AppConfig


class MusicvideoConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "musicvideo"
    verbose_name = "Music videos"

    def ready(self) -> None:
        from jobs.demo import demo_stage_register

        # By dotted path: the demo's generators load only when the demo runs, never in a web process.
        demo_stage_register("song", "musicvideo.demo.song_stage", order=20)
        demo_stage_register("video", "musicvideo.demo.video_stage", order=35)

        from charcha.erasure import erasure_hook_register
        from musicvideo.render_services import music_videos_erase_for_consent

        # Videos go before adapters (order 20): a video points at the consent and adapter it used.
        erasure_hook_register("musicvideo.videos", music_videos_erase_for_consent, order=10)
