from django.apps import AppConfig


class CharchaConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "charcha"
