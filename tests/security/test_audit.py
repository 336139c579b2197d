"""Every configuration model keeps its history, and the admin shows who changed what.

Generated over the models that django-simple-history tracks, so a new configuration
model is covered once it is registered in the admin.
"""

import importlib

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse
from simple_history.admin import SimpleHistoryAdmin


def tracked(model) -> bool:
    return bool(getattr(model._meta, "simple_history_manager_attribute", None))


HISTORY_MODELS = sorted(filter(tracked, apps.get_models()), key=lambda model: model._meta.label)
# Tracked models edited inside their parent's admin page (inlines, the playbook editor):
# their history is recorded, and shown through the parent.
IN_PARENT_PAGE = {
    "metrics.ScoreBand",
    "metrics.ScoreComponent",
    "playbooks.Trigger",
    "playbooks.Condition",
    "playbooks.Step",
    "playbooks.Playbook",
    "playbooks.TierRuleCondition",
}
# Playbooks are edited on one custom page (settings, triggers, conditions, steps), and
# the rows' own admins only show their history: the playbook editor's tests below cover
# them; the generated tests cover every model with Django's standard change form.
PLAYBOOK_EDITOR = {
    "playbooks.Playbook",
    "playbooks.Trigger",
    "playbooks.Condition",
    "playbooks.Step",
}
# Tier rule conditions are edited inline on their rule's page (covered with the rule);
# their own admin only shows their history.
EDITED_INLINE = {"playbooks.TierRuleCondition"}
ADMINS = [
    model
    for model in HISTORY_MODELS
    if model in admin.site._registry and model._meta.label not in PLAYBOOK_EDITOR | EDITED_INLINE
]


def test_the_configuration_models_keep_history():
    labels = {model._meta.label for model in HISTORY_MODELS}
    assert {"accounts.Tier", "accounts.PersonaRule", "accounts.IdentityStep"} <= labels
    assert {"metrics.ScoreModel", "playbooks.Playbook"} <= labels


@pytest.mark.parametrize("model", HISTORY_MODELS, ids=lambda model: model._meta.label)
def test_each_has_a_history_admin_or_is_edited_in_its_parents(model):
    model_admin = admin.site._registry.get(model)
    if model._meta.label in IN_PARENT_PAGE and model_admin is None:
        return
    assert isinstance(model_admin, SimpleHistoryAdmin), model._meta.label


FACTORY_MODULES = {
    "accounts": ["tests.accounts.factories"],
    "signals": ["tests.signals.factories"],
    "metrics": [],
    "playbooks": ["tests.playbooks.factories", "tests.playbooks.execution.factories"],
}


def an_instance(model):
    existing = model._default_manager.first()
    if existing is not None:
        return existing
    factory = None
    for module in FACTORY_MODULES.get(model._meta.app_label, ()):
        factory = factory or getattr(
            importlib.import_module(module), f"{model.__name__}Factory", None
        )
    if factory is None:
        pytest.skip(f"No {model.__name__} to change: seed one or add a factory.")
    return factory()


def form_data(response) -> dict:
    """The admin change form's current values, as the browser would send them back."""
    data = {}
    form = response.context["adminform"].form
    forms = [(form, "")]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[f"{formset.prefix}-{name}"] = management[name].value()
        forms += [(child, "") for child in formset.forms]
    for each, _ in forms:
        for name, field in each.fields.items():
            value = each[name].value()
            if value is None or field.disabled:
                continue
            if isinstance(value, bool):
                if value:
                    data[each.add_prefix(name)] = "on"
                continue
            data[each.add_prefix(name)] = value
    return data


@pytest.mark.django_db
@pytest.mark.parametrize("model", ADMINS, ids=lambda model: model._meta.label)
def test_a_change_through_the_admin_is_in_its_history_with_who_made_it(client, superuser, model):
    # given an object and a staff member
    instance = an_instance(model)
    client.force_login(superuser)
    opts = model._meta
    change_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[instance.pk])
    before = instance.history.count()

    # when they save it through its admin page
    page = client.get(change_url)
    assert page.status_code == 200
    response = client.post(change_url, {**form_data(page), "_save": "Save"})

    # then the change is recorded with their name and shown on the history page
    assert response.status_code == 302, response.context["adminform"].form.errors
    latest = instance.history.latest()
    assert instance.history.count() == before + 1
    assert latest.history_user == superuser
    history = client.get(
        reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[instance.pk])
    )
    assert history.status_code == 200
    assert superuser.username in history.content.decode()


def change_form(client, model, superuser):
    """(change url, the form data of an object of `model`, its history count)."""
    instance = an_instance(model)
    opts = model._meta
    change_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[instance.pk])
    client.force_login(superuser)
    data = {**form_data(client.get(change_url)), "_save": "Save"}
    client.logout()
    return change_url, data, instance.history


def team_member(team):
    from django.contrib.auth.models import Group, User

    member = User.objects.create_user(f"member-of-{team}", password="pw", is_staff=True)
    member.groups.add(Group.objects.get(name=team))
    return member


# Configuration a team besides RevOps owns: marketing runs its own campaigns.
ALSO_CHANGED_BY = {"playbooks.Campaign": {"Marketing"}}


OTHER_TEAMS = ["Sales", "Customer Success", "Marketing", "Partner", "Viewer"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "team"),
    [
        pytest.param(model, team, id=f"{model._meta.label}-{team}")
        for model in ADMINS
        for team in OTHER_TEAMS
        if team not in ALSO_CHANGED_BY.get(model._meta.label, ())
    ],
)
def test_other_teams_cannot_change_configuration(client, superuser, model, team):
    # given the change form of a configuration object and a member of another team
    change_url, data, history = change_form(client, model, superuser)
    before = history.count()
    client.force_login(team_member(team))

    # when they post it
    response = client.post(change_url, data)

    # then it is refused and nothing is recorded
    assert response.status_code == 403
    assert history.count() == before


@pytest.mark.django_db
@pytest.mark.parametrize("model", ADMINS, ids=lambda model: model._meta.label)
def test_revops_changes_configuration(client, superuser, model):
    change_url, data, history = change_form(client, model, superuser)
    before = history.count()
    client.force_login(team_member("RevOps"))

    assert client.post(change_url, data).status_code == 302
    assert history.count() == before + 1
