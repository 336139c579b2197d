from django.db import migrations

from abx_site.common.groups import grant

ALL = ("add", "change", "delete")

POLICY = {
    "RevOps": {
        model: ALL
        for model in (
            "account",
            "accountdomain",
            "accountidentifier",
            "iprange",
            "tier",
            "partner",
            "contact",
            "personarule",
            "accountteammember",
            "deal",
            "arrchange",
        )
    },
    "Sales": {
        "account": ("add", "change"),
        "accountdomain": ("add", "change"),
        "contact": ("add", "change"),
        "deal": ("add", "change"),
    },
    "Customer Success": {
        "account": ("change",),
        "contact": ("add", "change"),
        "deal": ("add", "change"),
    },
    "Marketing": {"contact": ("add", "change")},
    "Partner": {"partner": ("add", "change"), "deal": ("add", "change")},
}


def create_teams(apps, schema_editor):
    grant(apps, "accounts", POLICY)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_teams, migrations.RunPython.noop)]
