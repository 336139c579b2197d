"""The staff teams (auth groups) and what each may do in the admin and through sessions.

Data migrations call `grant` with their app's permissions, so every app that adds
models states which team may touch them, next to the models themselves.
"""

from django.contrib.auth.management import create_permissions

TEAMS = ("RevOps", "Sales", "Customer Success", "Marketing", "Partner", "Viewer")


def grant(apps, app_label: str, policy: dict[str, dict[str, tuple[str, ...]]]) -> None:
    """Give each team `policy[team][model] = actions` on `app_label`'s models.

    Every team may view every model of the app; actions are "add", "change", "delete".
    Permissions are created first: in a fresh database they only appear after migrate.
    """
    app_config = apps.get_app_config(app_label)
    # Historical app configs carry no models module; create_permissions skips those.
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = {p.codename: p for p in Permission.objects.filter(content_type__app_label=app_label)}
    models = {
        model._meta.model_name
        for model in apps.get_app_config(app_label).get_models()
        if f"view_{model._meta.model_name}" in perms
    }
    for team in TEAMS:
        group, _ = Group.objects.get_or_create(name=team)
        wanted = {perms[f"view_{model}"] for model in models}
        for model, actions in policy.get(team, {}).items():
            wanted.update(perms[f"{action}_{model}"] for action in actions)
        group.permissions.add(*wanted)
