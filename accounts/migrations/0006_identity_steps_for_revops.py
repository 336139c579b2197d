from django.db import migrations

from abx_site.common.groups import grant


def grant_identity_steps(apps, schema_editor):
    # RevOps owns the matching rules (order, on/off, thresholds): DESIGN §3 and §9.
    grant(apps, "accounts", {"RevOps": {"identitystep": ("change",)}})


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_account_aliases"),
    ]

    operations = [migrations.RunPython(grant_identity_steps, migrations.RunPython.noop)]
