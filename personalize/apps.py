from django.apps import AppConfig


class PersonalizeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "personalize"
    verbose_name = "Personal adapters"

    def ready(self) -> None:
        from jobs.demo import demo_stage_register

        # By dotted path: the engine (torch, diffusers) loads only when the demo runs.
        demo_stage_register("adapter", "personalize.demo.adapter_stage", order=30)

        from charcha.erasure import erasure_hook_register
        from personalize.services import adapters_erase_for_consent

        # After videos (order 10, they point at adapters), before charcha erases frames and the key.
        erasure_hook_register("personalize.adapters", adapters_erase_for_consent, order=20)
