"""Drop the single-column indexes of foreign keys that a wider index already leads with.

Each signal ingested wrote ten index entries; three of them (source, type, account) only
repeated the first column of the unique (source, external_id), (type, occurred_at) and
(account, occurred_at) indexes, and the daily rollups' account index repeated the first
column of (account, type, day). The indexes are dropped by name, found by introspection:
an AlterField would make SQLite copy the whole signals table once per field.
"""

import django.db.models.deletion
from django.db import migrations, models

FIELDS = [
    ("signal", "source"),
    ("signal", "type"),
    ("signal", "account"),
    ("accountsignaldaily", "account"),
]


def _single_column_indexes(schema_editor, model, column):
    with schema_editor.connection.cursor() as cursor:
        constraints = schema_editor.connection.introspection.get_constraints(
            cursor, model._meta.db_table
        )
    return [
        name
        for name, info in constraints.items()
        if info["columns"] == [column]
        and info["index"]
        and not info["unique"]
        and not info["primary_key"]
        and not info["foreign_key"]
    ]


def drop_indexes(apps, schema_editor):
    for model_name, field_name in FIELDS:
        model = apps.get_model("signals", model_name)
        column = model._meta.get_field(field_name).column
        for name in _single_column_indexes(schema_editor, model, column):
            schema_editor.execute(schema_editor._delete_index_sql(model, name))


def create_indexes(apps, schema_editor):
    for model_name, field_name in FIELDS:
        model = apps.get_model("signals", model_name)
        field = model._meta.get_field(field_name)
        if not _single_column_indexes(schema_editor, model, field.column):
            schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_tier_rank_validator"),
        ("signals", "0007_purge_schedule"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_indexes, create_indexes)],
            state_operations=[
                migrations.AlterField(
                    model_name="accountsignaldaily",
                    name="account",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="signal_days",
                        to="accounts.account",
                    ),
                ),
                migrations.AlterField(
                    model_name="signal",
                    name="account",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="signals",
                        to="accounts.account",
                    ),
                ),
                migrations.AlterField(
                    model_name="signal",
                    name="source",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="signals",
                        to="signals.source",
                    ),
                ),
                migrations.AlterField(
                    model_name="signal",
                    name="type",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="signals",
                        to="signals.signaltype",
                    ),
                ),
            ],
        ),
    ]
