from django.apps import AppConfig


class PersonalizeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "personalize"
