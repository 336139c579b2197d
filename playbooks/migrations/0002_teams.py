from django.db import migrations

from abx_site.common.groups import grant

ALL = ("add", "change", "delete")

# RevOps edits and publishes playbooks (publishing adds a version) and may end an
# activation by hand; every other team reads them.
POLICY = {
    "RevOps": {
        "playbook": ALL,
        "trigger": ALL,
        "condition": ALL,
        "step": ALL,
        "playbookversion": ("add",),
        "activation": ("change",),
    },
}


def create_teams(apps, schema_editor):
    grant(apps, "playbooks", POLICY)


class Migration(migrations.Migration):
    dependencies = [
        ("playbooks", "0001_initial"),
        ("accounts", "0004_contact_email_error_on_field"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_teams, migrations.RunPython.noop)]
