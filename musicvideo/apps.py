from django.apps import AppConfig


class MusicvideoConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "musicvideo"
    verbose_name = "Music videos"
