from django.apps import AppConfig


class SoundtrackConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "soundtrack"
    verbose_name = "Soundtracks"
