from django.apps import AppConfig


class SwiftSyncConfig(AppConfig):
    name = "swiftsync"
    default_auto_field = "django.db.models.AutoField"
