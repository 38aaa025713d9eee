from django.apps import AppConfig


class SoundtrackConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "soundtrack"
    verbose_name = "Soundtracks"

    def ready(self) -> None:
        from jobs.demo import demo_stage_register

        # By dotted path: the demo's generators load only when the demo runs, never in a web process.
        demo_stage_register("soundtrack", "soundtrack.demo.soundtrack_stage", order=40)
