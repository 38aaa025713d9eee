from django.apps import AppConfig


class CharchaConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "charcha"
    verbose_name = "Consent (CHARCHA)"

    def ready(self) -> None:
        from charcha import checks  # noqa: F401  (registers the system checks)
