"""The roles' permissions added since 0002: MQTT charger profiles (viewer reads, admin manages), tariffs
(viewer reads, admin manages) and operator alerts (viewer reads, operator acknowledges). Frozen here as
0002's are; apikeys.permissions.ROLES mirrors them."""

from django.db import migrations

ADDED = {
    "viewer": [
        "mqtt_bridge.view_mqttchargerprofile",
        "tariffs.view_tariff",
        "tariffs.view_chargergroup",
        "alerts.view_alert",
    ],
    "operator": [
        "mqtt_bridge.view_mqttchargerprofile",
        "tariffs.view_tariff",
        "tariffs.view_chargergroup",
        "alerts.view_alert",
        "alerts.change_alert",
    ],
    "admin": [
        "alerts.view_alert",
        "alerts.change_alert",
        "mqtt_bridge.view_mqttchargerprofile",
        "mqtt_bridge.add_mqttchargerprofile",
        "mqtt_bridge.change_mqttchargerprofile",
        "mqtt_bridge.delete_mqttchargerprofile",
        "tariffs.view_tariff",
        "tariffs.view_chargergroup",
        "tariffs.add_tariff",
        "tariffs.change_tariff",
        "tariffs.delete_tariff",
        "tariffs.add_chargergroup",
        "tariffs.change_chargergroup",
        "tariffs.delete_chargergroup",
    ],
}


def add_permissions(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ADDED.items():
        group, _ = Group.objects.get_or_create(name=name)
        for perm in perms:
            app_label, codename = perm.split(".")
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def remove_permissions(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ADDED.items():
        group = Group.objects.filter(name=name).first()
        if group is None:
            continue
        for perm in perms:
            app_label, codename = perm.split(".")
            group.permissions.remove(*Permission.objects.filter(content_type__app_label=app_label, codename=codename))


class Migration(migrations.Migration):
    dependencies = [
        ("apikeys", "0002_roles"),
        ("mqtt_bridge", "0003_mqtt_charger_profiles"),
        ("tariffs", "0001_tariffs_and_groups"),
        ("alerts", "0001_alerts"),
    ]

    operations = [migrations.RunPython(add_permissions, remove_permissions)]
