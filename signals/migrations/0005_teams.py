from django.db import migrations

from abx_site.common.groups import grant

ALL = ("add", "change", "delete")

# Every team views signals; RevOps configures sources and types; the teams that work
# accounts decide the review queue (a decision adds a domain, identifier or alias).
POLICY = {
    "RevOps": {"source": ALL, "signaltype": ALL, "unmatchedidentity": ("change",)},
    "Sales": {"unmatchedidentity": ("change",)},
}


def grant_teams(apps, schema_editor):
    grant(apps, "signals", POLICY)


class Migration(migrations.Migration):
    dependencies = [
        ("signals", "0004_review_queue"),
        ("accounts", "0002_teams"),
    ]

    operations = [migrations.RunPython(grant_teams, migrations.RunPython.noop)]
