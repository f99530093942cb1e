from django.apps import AppConfig


class ExceptionsConfig(AppConfig):
    name = "exceptions"
    verbose_name = "Exception cases"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # exceptions.admin covers cases, playbooks and rules; the cost model's admin lives with the analytics.
        from exceptions.analytics import admin  # noqa: F401
