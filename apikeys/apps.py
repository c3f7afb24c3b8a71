from django.apps import AppConfig


class ApiKeysConfig(AppConfig):
    """API access: tokens for machines, the roles, and what every API viewset shares."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "apikeys"
    verbose_name = "API access"
