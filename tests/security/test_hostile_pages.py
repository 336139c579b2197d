"""Hostile text in the data (account, tier, contact, deal, signal and playbook names)
renders escaped on every page that shows it, and template syntax in the data is never
evaluated: not by the pages, and not by a `create_task` step's title and body templates
rendering a contact or account named `{{ settings.SECRET_KEY }}`."""

import pytest
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from accounts.models import Account, Contact, Deal, Tier
from accounts.services import account_create
from metrics.services import scores_recompute
from playbooks.evaluation import evaluation_run
from playbooks.execution import runner
from playbooks.models import Playbook, Task
from signals.models import Signal
from signals.services import signals_ingest
from tests.accounts.factories import ContactFactory, DealFactory, TeamMemberFactory, TierFactory
from tests.playbooks.helpers import published

from .hostile import HOSTILE_TEXT, escaped

pytestmark = pytest.mark.django_db

TEXTS = list(HOSTILE_TEXT.values())
TITLE = "Call {{ account.name }} / {{ contacts.0.name }}"
BODY = "{% for c in contacts %}{{ c.name }} ({{ c.title }}) {% endfor %}"
# What a page may not contain: live markup from the data, or a secret a template reached.
LIVE = ["<script>alert('abx')", '<img src=x onerror="alert(1)">']


@pytest.fixture
def hostile_graph(superuser):
    """An account per hostile text, named so, with a contact, a deal and a signal named
    so too, in tiers with hostile names, owned by the superuser; a playbook with a
    hostile name has made a task on each from templates that print those names."""
    cache.clear()
    tiers = [
        TierFactory(name=HOSTILE_TEXT["script tag"], rank=1),
        TierFactory(name=HOSTILE_TEXT["template secret"], rank=2),
    ]
    accounts = []
    for n, text in enumerate(TEXTS):
        account = account_create(
            name=text, industry=text[:100], employee_count=500, tier=tiers[n % 2]
        )
        TeamMemberFactory(account=account, user=superuser, role="ae")
        ContactFactory(account=account, email=f"person{n}@example.com", name=text, title=text)
        DealFactory(account=account, name=text)
        accounts.append(account)
    result = signals_ingest(
        items=[
            {
                "source": "website",
                "type": "web.visit",
                "occurred_at": "2026-11-30T10:00:00Z",
                "external_id": f"hostile-{n}",
                "account": {"id": account.pk},
                "contact": {"email": f"person{n}@example.com"},
                "topic": text,
                "attributes": {"note": text},
            }
            for n, (account, text) in enumerate(zip(accounts, TEXTS, strict=True))
        ]
    )
    assert result.accepted == len(TEXTS), result.rejected
    playbook = published(f"{HOSTILE_TEXT['img onerror']} {HOSTILE_TEXT['template tag']}")
    playbook.steps.update(config={"role": "ae", "title": TITLE, "body": BODY})
    from playbooks import services as playbook_services

    playbook_services.playbook_publish(playbook=playbook)
    evaluation_run()
    runner.step_sweep()
    scores_recompute()
    assert Task.objects.count() == len(TEXTS)
    return accounts


def assert_safe(html: str) -> None:
    for markup in LIVE:
        assert markup not in html, markup
    assert settings.SECRET_KEY not in html


def test_template_syntax_in_the_data_is_printed_by_step_templates_never_evaluated(
    hostile_graph,
):
    # the account and contact names went into the task texts as written, never as
    # templates of their own
    for account in hostile_graph:
        task = Task.objects.get(account=account)
        assert task.title == f"Call {account.name} / {account.name}"
        assert task.body == f"{account.name} ({account.name})"
    secret = Task.objects.get(account__name=HOSTILE_TEXT["template secret"])
    assert settings.SECRET_KEY not in secret.title + secret.body
    debug = Task.objects.get(account__name=HOSTILE_TEXT["template tag"])
    assert "sys.modules" not in debug.body and "{% debug %}" in debug.title


def test_the_account_list_shows_every_name_escaped(client, superuser, hostile_graph):
    client.force_login(superuser)
    html = client.get(reverse("pages:account-list")).content.decode()
    assert_safe(html)
    for text in TEXTS:
        assert escaped(text) in html, text
    assert "{% debug %}" in html and "{{ settings.SECRET_KEY }}" in html


def test_each_account_page_shows_its_names_escaped(client, superuser, hostile_graph):
    client.force_login(superuser)
    for account in hostile_graph:
        response = client.get(reverse("pages:account-detail", args=[account.pk]))
        assert response.status_code == 200
        html = response.content.decode()
        assert_safe(html)
        # the account, its contact, deal, signal topic and task, and its tier
        assert html.count(escaped(account.name)) >= 4, account.name
        assert escaped(account.tier.name) in html
        assert escaped(f"Call {account.name} / {account.name}") in html


def test_the_scoreboard_and_the_task_inbox_show_names_escaped(client, superuser, hostile_graph):
    client.force_login(superuser)
    scoreboard = client.get(reverse("pages:scoreboard")).content.decode()
    assert_safe(scoreboard)
    for tier in Tier.objects.all():
        assert escaped(tier.name) in scoreboard
    assert escaped(Playbook.objects.get().name) in scoreboard

    inbox = client.get(reverse("pages:tasks")).content.decode()
    assert_safe(inbox)
    for account in hostile_graph:
        assert escaped(f"Call {account.name} / {account.name}") in inbox, account.name


ADMIN_PAGES = [Account, Contact, Deal, Tier, Signal, Task, Playbook]


@pytest.mark.parametrize("model", ADMIN_PAGES, ids=[m.__name__ for m in ADMIN_PAGES])
def test_admin_changelists_and_change_pages_show_names_escaped(
    client, superuser, hostile_graph, model
):
    client.force_login(superuser)
    prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    changelist = client.get(reverse(f"{prefix}_changelist"))
    assert changelist.status_code == 200
    assert_safe(changelist.content.decode())
    for obj in model.objects.all()[:20]:
        page = client.get(reverse(f"{prefix}_change", args=[obj.pk]))
        assert page.status_code == 200, obj
        html = page.content.decode()
        assert_safe(html)
        assert escaped(str(obj)) in html, str(obj)
