"""Accounts keep their name as identity resolution compares it (cleaned, words in order),
so that the fuzzy name step stops cleaning thousands of candidate names per batch.
Existing accounts get theirs here, a chunk at a time."""

from django.db import migrations, models

CHUNK = 2_000


def fill_name_keys(apps, schema_editor):
    from accounts.identity import name_key

    Account = apps.get_model("accounts", "Account")
    last_id = 0
    while True:
        chunk = list(
            Account.objects.filter(pk__gt=last_id).order_by("pk").only("id", "name")[:CHUNK]
        )
        if not chunk:
            return
        for account in chunk:
            account.name_key = name_key(account.name)
        Account.objects.bulk_update(chunk, ["name_key"])
        last_id = chunk[-1].pk


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_tier_rank_validator"),
    ]

    operations = [
        migrations.AddField(
            model_name="account",
            name="name_key",
            field=models.CharField(
                blank=True,
                editable=False,
                help_text="The name as identity resolution compares it: no legal suffix, "
                "accent, case or punctuation, words in order. Kept by save().",
                max_length=255,
            ),
        ),
        migrations.RunPython(fill_name_keys, migrations.RunPython.noop),
    ]
