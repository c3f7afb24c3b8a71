"""Id tokens are case-insensitive (1.6 CiString20Type, 2.0.1 idToken): one unique index on UPPER(id_tag).

A database that holds two tokens differing only by case cannot take the index. This migration merges
nothing (which of the two is the driver's card, which one's status, parent and sessions count, is an
operator's call): it stops with a message naming every clashing group, to be resolved by hand (delete or
rename one of each group) before migrating again.
"""

from django.db import migrations, models
from django.db.models.functions import Upper


def refuse_case_duplicates(apps, schema_editor):  # type: ignore[no-untyped-def]
    IdTag = apps.get_model("chargers", "IdTag")
    groups: dict[str, list[str]] = {}
    for value in IdTag.objects.using(schema_editor.connection.alias).values_list("id_tag", flat=True):
        groups.setdefault(value.upper(), []).append(value)
    clashes = sorted(sorted(values) for values in groups.values() if len(values) > 1)
    if clashes:
        listed = "; ".join(", ".join(repr(value) for value in values) for values in clashes)
        raise RuntimeError(
            "chargers.0012: id tokens now match whatever their case, and these stored tokens differ only by case: "
            f"{listed}. Delete or rename one of each group (admin or /api/v1/id-tags/), then migrate again."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("chargers", "0011_id_token_types_20"),
    ]

    operations = [
        migrations.RunPython(refuse_case_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="idtag",
            constraint=models.UniqueConstraint(
                Upper("id_tag"),
                name="uniq_id_tag_upper",
                violation_error_message="An id token with this value in another case exists already.",
            ),
        ),
    ]
