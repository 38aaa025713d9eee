from django.apps import AppConfig


class CharchaConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "charcha"
    verbose_name = "Consent"

    def ready(self) -> None:
        from jobs.demo import demo_stage_register

        # By dotted path: the demo's generators load only when the demo runs, never in a web process.
        demo_stage_register("consent", "charcha.demo.consent_stage", order=10)
        from charcha import checks  # noqa: F401  (registers the system checks)
