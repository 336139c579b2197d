from django.db import migrations

from abx_site.common.groups import grant


def grant_import(apps, schema_editor):
    # Importing signals (admin CSV upload) needs "add signal"; signals are never edited.
    grant(apps, "signals", {"RevOps": {"signal": ("add",)}})


class Migration(migrations.Migration):
    dependencies = [("signals", "0005_teams")]

    operations = [migrations.RunPython(grant_import, migrations.RunPython.noop)]
