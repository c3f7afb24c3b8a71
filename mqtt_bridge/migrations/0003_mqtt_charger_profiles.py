"""MQTT charger profiles (mqtt_bridge/profiles.py), and the API roles' permissions on them: every role
reads them, the admin role writes them. The lists are frozen here, as in apikeys' roles migration;
apikeys.permissions.ROLES mirrors them."""

from django.db import migrations, models

READ = ["view_mqttchargerprofile"]
WRITE = ["add_mqttchargerprofile", "change_mqttchargerprofile", "delete_mqttchargerprofile"]
ROLES = {"viewer": READ, "operator": READ, "admin": READ + WRITE}


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after the whole migrate run (post_migrate); create them now.
    app_config = apps.get_app_config("mqtt_bridge")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.add(
                *Permission.objects.filter(content_type__app_label="mqtt_bridge", codename__in=codenames)
            )


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=ROLES):
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="mqtt_bridge", codename__in=READ + WRITE)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("mqtt_bridge", "0002_dead_letters"),
        ("apikeys", "0002_roles"),
    ]

    operations = [
        migrations.CreateModel(
            name="MqttChargerProfile",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "name",
                    models.SlugField(
                        help_text="Lower-case letters, digits, - and _; the dialect of its chargers (cannot change)",
                        max_length=16,
                        unique=True,
                    ),
                ),
                (
                    "uplink_template",
                    models.CharField(
                        help_text="Topic the chargers publish on, e.g. /charger/{cid} ({cid} once, a whole level; + a level ignored)",
                        max_length=200,
                        unique=True,
                    ),
                ),
                (
                    "downlink_template",
                    models.CharField(
                        help_text="Topic our replies and commands go to, e.g. /system/{cid} ({cid} once, no wildcards)",
                        max_length=200,
                    ),
                ),
                (
                    "ocpp_version",
                    models.CharField(
                        choices=[("1.6", "OCPP 1.6"), ("2.0.1", "OCPP 2.0.1")], default="1.6", max_length=8
                    ),
                ),
                (
                    "reply_encoding",
                    models.CharField(
                        choices=[
                            ("ocppj", "OCPP-J arrays"),
                            ("ocppj-action-id", "OCPP-J, the action in the id slot of our replies"),
                        ],
                        default="ocppj",
                        max_length=20,
                    ),
                ),
                (
                    "accepts_calls",
                    models.BooleanField(
                        default=True,
                        help_text="Whether the firmware takes Calls from the CSMS; if not, commands are refused",
                    ),
                ),
                (
                    "ids_restart_at_boot",
                    models.BooleanField(
                        default=False,
                        help_text="The firmware numbers its messages from 1 again at every boot: a BootNotification it publishes is a new boot even with the id and payload of the last one",
                    ),
                ),
                ("notes", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "verbose_name": "MQTT charger profile",
                "ordering": ["name"],
            },
        ),
        migrations.RunPython(grant, revoke),
    ]
