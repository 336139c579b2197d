"""Hostile input on the admin's forms: accounts, domains, tiers, persona rules, partners,
score models and the playbook editor.

Invalid input is shown again with an error on the field and changes nothing (row counts
of every model before and after); valid but hostile text is saved verbatim and shown
escaped on the change page and the changelist."""

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.urls import reverse

from accounts.models import Account, AccountDomain, Partner, PersonaRule, Tier
from metrics.models import ScoreModel
from playbooks.models import Condition, Playbook, Step
from tests.accounts.factories import AccountFactory
from tests.playbooks.helpers import published
from tests.playbooks.test_admin import editor_post

from .hostile import HOSTILE_TEXT, HUGE, NUL, escaped, row_counts

pytestmark = pytest.mark.django_db

TEXTS = list(HOSTILE_TEXT.items())


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def admin_client_(client, superuser):
    client.force_login(superuser)
    return client


def add_form_data(client, model, **fields) -> dict:
    """The add page's POST as a person would send it untouched (the fields' initial
    values, no inline rows), with `fields` filled in."""
    page = client.get(url(model, "add"))
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is True:
            data[name] = "on"
        elif value not in (None, False):
            data[name] = value
    for inline in page.context["inline_admin_formsets"]:
        prefix = inline.formset.prefix
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    data.update(fields)
    return data


def score_model_rows(n=0) -> dict:
    """One weighted component (a score model needs one) and a band."""
    return {
        "key": f"hostile-{n}",
        "components-TOTAL_FORMS": "1",
        "components-0-name": "Size",
        "components-0-position": "0",
        "components-0-weight": "1",
        "components-0-source": "feature",
        "components-0-feature": "employee_count",
        "components-0-feature_params": "{}",
        "components-0-signal_types": "[]",
        "components-0-aggregate": "count",
        "components-0-window_days": "30",
        "components-0-type_weights": "{}",
        "components-0-role_multipliers": "{}",
        "components-0-normalisation": "linear",
        "components-0-lower": "0",
        "components-0-upper": "1000",
        "components-0-steps": "[]",
        "bands-TOTAL_FORMS": "1",
        "bands-0-name": "green",
        "bands-0-min_score": "0",
    }


# model, the text field, the other fields of a valid row n
VALID_FORMS = [
    (Account, "name", lambda n: {"industry": "Software"}),
    (Tier, "name", lambda n: {"rank": str(n + 10), "treatment": "one_to_many"}),
    (
        Tier,
        "description",
        lambda n: {"name": f"Tier {n}", "rank": str(n + 10), "treatment": "one_to_many"},
    ),
    (PersonaRule, "name", lambda n: {"title_pattern": r"\bvp\b", "buying_role": "champion"}),
    (Partner, "name", lambda n: {"kind": "reseller"}),
    (ScoreModel, "name", score_model_rows),
]


@pytest.mark.parametrize(
    ("model", "field", "others"),
    VALID_FORMS,
    ids=[f"{m.__name__}.{f}" for m, f, _ in VALID_FORMS],
)
def test_hostile_text_in_a_form_is_saved_verbatim_and_shown_escaped(
    admin_client_, model, field, others
):
    for n, (label, text) in enumerate(TEXTS):
        # given / when the add form is sent with hostile text in one field
        data = add_form_data(admin_client_, model, **others(n), **{field: text})
        response = admin_client_.post(url(model, "add"), data)

        # then it is saved exactly as written
        assert response.status_code == 302, (label, response.context and _errors(response))
        saved = model.objects.get(**{field: text})
        # ... its change page shows it escaped (in the field's value and the title)
        page = admin_client_.get(url(model, "change", saved.pk)).content.decode()
        assert escaped(text) in page, label
        assert "<script>alert" not in page and "<img src=x" not in page
    # ... and so does the changelist
    page = admin_client_.get(url(model, "changelist")).content.decode()
    assert "<script>alert" not in page and "<img src=x" not in page
    if field == "name":
        for label, text in TEXTS:
            assert escaped(text) in page, label


def _errors(response) -> dict:
    form = response.context["adminform"].form
    errors = {name: list(messages) for name, messages in form.errors.items()}
    for inline in response.context.get("inline_admin_formsets") or []:
        errors.update({f"{inline.formset.prefix}": inline.formset.errors})
        errors.update({f"{inline.formset.prefix}-": inline.formset.non_form_errors()})
    return errors


INVALID_FORMS = [
    (Account, {"name": NUL}, "name", "Null characters are not allowed."),
    (Account, {"name": "A" * 300}, "name", "at most 255 characters"),
    (Account, {"name": HUGE}, "name", "at most 255 characters"),
    (Account, {"name": "Acme", "employee_count": "many"}, "employee_count", "whole number"),
    (Account, {"name": "Acme", "employee_count": "-1"}, "employee_count", "greater than"),
    (Account, {"name": "Acme", "employee_count": "1e400"}, "employee_count", "whole number"),
    (Account, {"name": "Acme", "annual_revenue": "NaN"}, "annual_revenue", "Enter a number"),
    (Account, {"name": "Acme", "country": HOSTILE_TEXT["sql or 1=1"]}, "country", "at most 2"),
    (Account, {"name": "Acme", "country": "<>"}, "country", "two-letter ISO country code"),
    (Account, {"name": "Acme", "stage": HOSTILE_TEXT["script tag"]}, "stage", "valid choice"),
    (Account, {"name": "Acme", "tier": "1 OR 1=1"}, "tier", "valid choice"),
    (Account, {"name": "Acme", "website": "javascript:alert(1)"}, "website", "valid URL"),
    (Account, {"name": "Acme", "renewal_date": "'; DROP TABLE x; --"}, "renewal_date", "date"),
    (AccountDomain, {"domain": HOSTILE_TEXT["sql drop table"]}, "domain", ""),
    (AccountDomain, {"domain": HOSTILE_TEXT["img onerror"]}, "domain", ""),
    (AccountDomain, {"domain": "acme.com\x00.evil"}, "domain", "Null characters"),
    (Tier, {"name": "T", "rank": "0", "treatment": "one_to_one"}, "rank", "greater than"),
    (
        Tier,
        {"name": "T", "rank": "2", "treatment": "one_to_one", "required_roles": "<b>x</b>"},
        "required_roles",
        "valid choice",
    ),
    (
        Tier,
        {"name": "T", "rank": "2", "treatment": "one_to_one", "required_roles": "{{ settings }}"},
        "required_roles",
        "valid choice",
    ),
    (
        Tier,
        {"name": HOSTILE_TEXT["template tag"], "rank": "2", "treatment": "{% debug %}"},
        "treatment",
        "valid choice",
    ),
    (
        PersonaRule,
        {"name": "R", "title_pattern": "([", "buying_role": "champion"},
        "title_pattern",
        "Not a valid regular expression",
    ),
    (
        PersonaRule,
        {"name": "R", "title_pattern": "vp", "buying_role": "champion", "priority": "1; --"},
        "priority",
        "whole number",
    ),
    (
        PersonaRule,
        {"name": NUL, "title_pattern": "vp", "buying_role": "champion"},
        "name",
        "Null characters",
    ),
    (Partner, {"name": "P", "kind": "reseller", "website": "javascript:x"}, "website", "URL"),
    (ScoreModel, {**score_model_rows(), "key": "<script>"}, "key", "slug"),
    (ScoreModel, {**score_model_rows(), "name": "M", "key": "' OR 1=1 --"}, "key", "slug"),
]


@pytest.mark.parametrize(
    ("model", "fields", "field", "message"),
    INVALID_FORMS,
    ids=[f"{m.__name__}.{f}={str(v.get(f))[:12]!r}" for m, v, f, _ in INVALID_FORMS],
)
def test_invalid_input_in_a_form_is_refused_on_its_field_and_changes_nothing(
    admin_client_, model, fields, field, message
):
    # given
    if model is AccountDomain:
        fields = {**fields, "account": AccountFactory(name="Acme").pk}
    data = add_form_data(admin_client_, model, **fields)
    before = row_counts()

    # when
    response = admin_client_.post(url(model, "add"), data)

    # then the form comes back with the error on the field, and nothing changed
    assert response.status_code == 200
    errors = _errors(response)
    assert field in errors, errors
    assert message in " ".join(errors[field]), errors
    assert row_counts() == before


def test_an_invalid_utf8_form_body_is_read_with_replacement_characters(admin_client_):
    # given a form body whose name holds an encoded lone surrogate (not UTF-8)
    data = add_form_data(admin_client_, Account, name="x")
    data.pop("name")
    body = "&".join(f"{k}={v}" for k, v in data.items() if isinstance(v, str | int))
    body += "&name=Acme%20%ED%A0%80"

    # when
    response = admin_client_.post(
        url(Account, "add"), body, content_type="application/x-www-form-urlencoded"
    )

    # then the name is text with a replacement character, never a server error
    assert response.status_code == 302
    assert Account.objects.get().name.startswith("Acme \ufffd")


# The playbook editor --------------------------------------------------------------------


@pytest.fixture
def revops(client, staff_user):
    client.force_login(staff_user)
    return client


def test_hostile_text_in_the_playbook_editor_is_saved_verbatim_and_shown_escaped(revops):
    for n, (label, text) in enumerate(TEXTS):
        # given / when a playbook is saved with hostile text in every free-text field
        data = editor_post(
            f"{text} {n}",
            description=text,
            conditions=[{"feature": "industry", "operator": "eq", "value": text}],
            steps=[
                {
                    "kind": "create_task",
                    "delay_days": "0",
                    "config": '{"role": "ae", "title": "Call {{ account.name }}"}',
                }
            ],
        )
        data["trigger-0-name"] = text
        response = revops.post(reverse("admin:playbooks_playbook_add"), data)

        # then it is saved as written
        assert response.status_code == 302, (label, response.content[:2000])
        playbook = Playbook.objects.get(name=f"{text} {n}")
        assert playbook.description == text
        assert Condition.objects.get(trigger__playbook=playbook).value == text
        assert playbook.triggers.get().name == text
        # ... and the editor shows it escaped
        page = revops.get(reverse("admin:playbooks_playbook_change", args=[playbook.pk]))
        html = page.content.decode()
        assert escaped(text) in html, label
        assert "<script>alert" not in html and "<img src=x" not in html
    page = revops.get(reverse("admin:playbooks_playbook_changelist")).content.decode()
    assert "<script>alert" not in page and "<img src=x" not in page


INVALID_EDITOR_POSTS = [
    ("a NUL in the name", {"name": NUL}, "Null characters are not allowed"),
    ("a huge name", {"name": HUGE}, "at most"),
    ("an unknown motion", {"motion": HOSTILE_TEXT["sql drop table"]}, "valid choice"),
    ("a priority that is SQL", {"priority": "1 OR 1=1"}, "whole number"),
    ("a holdout over 50", {"holdout_percent": "99"}, "less than or equal to 50"),
    (
        "an unknown feature",
        {"trigger-0-cond-0-feature": HOSTILE_TEXT["sql or 1=1"]},
        "Unknown feature",
    ),
    ("an unknown operator", {"trigger-0-cond-0-operator": HOSTILE_TEXT["script tag"]}, "operator"),
    ("text for a number", {"trigger-0-cond-0-value": "3 OR 1=1"}, "give a number"),
    ("window days as SQL", {"trigger-0-cond-0-param-days": "7; DROP TABLE x"}, "days"),
    ("a step config that is not JSON", {"step-0-config": "{not json"}, "configuration"),
    ("a step config that is a list", {"step-0-config": "[1, 2]"}, "configuration"),
    ("an unknown step kind", {"step-0-kind": "{% debug %}"}, "kind"),
    ("a negative delay", {"step-0-delay_days": "-1"}, "delay"),
    (
        "a title template that does not parse",
        {"step-0-config": '{"role": "ae", "title": "{% if %}"}'},
        "template",
    ),
]


@pytest.mark.parametrize(
    ("label", "changes", "message"),
    INVALID_EDITOR_POSTS,
    ids=[p[0] for p in INVALID_EDITOR_POSTS],
)
def test_invalid_input_in_the_playbook_editor_is_shown_and_saves_nothing(
    revops, label, changes, message
):
    # given
    data = {**editor_post(), **changes}
    before = row_counts()

    # when
    response = revops.post(reverse("admin:playbooks_playbook_add"), data)

    # then the editor comes back with the problem named, and nothing was saved
    assert response.status_code == 200
    html = response.content.decode()
    assert message.lower() in html.lower(), label
    for value in changes.values():
        if "<" in value:
            assert value not in html, value
    assert row_counts() == before
    assert not Playbook.objects.exists() and not Step.objects.exists()


def test_the_editor_refuses_a_viewer_with_hostile_input(client):
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    client.force_login(viewer)
    before = row_counts()
    response = client.post(reverse("admin:playbooks_playbook_add"), editor_post(NUL))
    assert response.status_code == 403
    assert row_counts() == before


ADMIN_PLAYBOOK_VIEWS = [
    ("get", "explain", {"account": HOSTILE_TEXT["sql or 1=1"]}),
    ("get", "explain", {"account": "9" * 40}),
    ("get", "explain", {"account": "\u0661\u0662"}),
    ("get", "backtest", {"job": HOSTILE_TEXT["sql drop table"]}),
    ("post", "backtest", {"start": HOSTILE_TEXT["sql drop table"], "end": "2026-01-01"}),
    ("post", "backtest", {"start": "2026-01-01", "end": "<script>alert(1)</script>"}),
    ("post", "backtest", {"start": "2026-02-30", "end": "2026-01-01"}),
    ("get", "diff", {"a": HOSTILE_TEXT["sql or 1=1"], "b": "{{ settings.SECRET_KEY }}"}),
    ("post", "rollback", {"number": HOSTILE_TEXT["sql drop table"]}),
    ("post", "rollback", {"number": "9" * 40}),
    ("get", "preview", {"page": HOSTILE_TEXT["sql or 1=1"]}),
]


@pytest.mark.parametrize(
    ("method", "view", "params"),
    ADMIN_PLAYBOOK_VIEWS,
    ids=[f"{n}-{v}" for n, (_, v, _) in enumerate(ADMIN_PLAYBOOK_VIEWS)],
)
def test_the_playbook_buttons_answer_hostile_parameters_and_change_nothing(
    revops, method, view, params
):
    # given a published playbook
    playbook = published("Big accounts")
    before = row_counts()

    # when
    response = getattr(revops, method)(
        reverse(f"admin:playbooks_playbook_{view}", args=[playbook.pk]), params
    )

    # then a page (with the problem said) or a redirect back, never a server error
    assert response.status_code in (200, 302, 400, 404), response.status_code
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert settings.SECRET_KEY not in html
    assert row_counts() == before
