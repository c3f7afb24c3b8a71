"""The API roles as groups: viewer (read), operator (also commands and id tags), admin (everything).

The permission lists are frozen here (not imported) so that this migration means the same thing
forever; apikeys.permissions.ROLES mirrors them for the code and the tests.
"""

from django.db import migrations

VIEWER = [
    "chargers.view_chargepoint",
    "chargers.view_connector",
    "chargers.view_connectorstatuschange",
    "chargers.view_idtag",
    "chargers.view_chargerevent",
    "chargers.view_command",
    "transactions.view_transaction",
    "transactions.view_metervalue",
    "mqtt_bridge.view_messagelog",
]
OPERATOR = VIEWER + [
    "chargers.add_idtag",
    "chargers.change_idtag",
    "chargers.delete_idtag",
    "chargers.add_command",
    "chargers.change_command",
]
ADMIN = OPERATOR + [
    "chargers.change_chargepoint",
    "gateway.view_chargercredential",
    "gateway.add_chargercredential",
    "gateway.change_chargercredential",
    "apikeys.view_apitoken",
    "apikeys.add_apitoken",
    "apikeys.change_apitoken",
]
ROLES = {"viewer": VIEWER, "operator": OPERATOR, "admin": ADMIN}


def create_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after the whole migrate run (post_migrate); create them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        for perm in perms:
            app_label, codename = perm.split(".")
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("apikeys", "0001_api_tokens"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("chargers", "0001_initial"),
        ("transactions", "0001_initial"),
        ("mqtt_bridge", "0001_initial"),
        ("gateway", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
