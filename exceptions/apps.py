from django.apps import AppConfig


class ExceptionsConfig(AppConfig):
    name = "exceptions"
    verbose_name = "Exception cases"
    default_auto_field = "django.db.models.BigAutoField"
