"""The three roles people sign in with, as Django groups with their permissions.

Migrations call ``groups_sync`` whenever a new model needs to be granted, so
the groups are always exactly what this module says.
"""

from __future__ import annotations

from typing import Any

ADMINS = "Admins"
DISPATCHERS = "Dispatchers"
DRIVERS = "Drivers"

# Admins manage everything the product owns.
ADMIN_APPS = ("dispatch", "exceptions", "outreach", "routing", "django_celery_beat")
# Dispatchers read the operational data in admin and change what they work on;
# everything else they do through the board.
DISPATCHER_VIEW_APPS = ("dispatch", "exceptions", "outreach", "routing")
DISPATCHER_CHANGE_MODELS = ("dispatch.order", "dispatch.stop", "dispatch.recipient")
# ... and sign their depot's drivers in on the driver app.
DISPATCHER_ADD_MODELS = ("dispatch.driversignincode",)
# Never visible to dispatchers in admin: the vault is reached through audited actions only.
DISPATCHER_HIDDEN_MODELS = (
    "dispatch.accesscredential",
    "dispatch.user",
    "dispatch.apitoken",
    "dispatch.webhookendpoint",
    "dispatch.webhookdelivery",
)


def groups_sync(apps: Any, schema_editor: Any = None) -> None:
    """Create the role groups and set their permissions (safe to run again)."""
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after migrate; make them exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    admin_perms = Permission.objects.filter(content_type__app_label__in=ADMIN_APPS)
    admin_perms = admin_perms | Permission.objects.filter(content_type__app_label="auth", content_type__model="group")
    admin_perms = admin_perms | Permission.objects.filter(
        content_type__app_label="dispatch", content_type__model="user"
    )
    Group.objects.get_or_create(name=ADMINS)[0].permissions.set(admin_perms)

    dispatcher_perms = Permission.objects.filter(
        content_type__app_label__in=DISPATCHER_VIEW_APPS, codename__startswith="view_"
    )
    for label in DISPATCHER_CHANGE_MODELS:
        app_label, model = label.split(".")
        dispatcher_perms = dispatcher_perms | Permission.objects.filter(
            content_type__app_label=app_label, content_type__model=model, codename__startswith="change_"
        )
    for label in DISPATCHER_ADD_MODELS:
        app_label, model = label.split(".")
        dispatcher_perms = dispatcher_perms | Permission.objects.filter(
            content_type__app_label=app_label, content_type__model=model, codename__startswith="add_"
        )
    for label in DISPATCHER_HIDDEN_MODELS:
        app_label, model = label.split(".")
        dispatcher_perms = dispatcher_perms.exclude(content_type__app_label=app_label, content_type__model=model)
    Group.objects.get_or_create(name=DISPATCHERS)[0].permissions.set(dispatcher_perms)

    # Drivers use the API only; their rights come from being a Driver, not from admin permissions.
    Group.objects.get_or_create(name=DRIVERS)[0].permissions.clear()
