"""The four motions of the seed scenario, end to end (issue 7).

Each runs the way the product does, with nothing of ours mocked: signals come in through
`POST /api/v1/signals/` (identity resolution and rollups included), the evaluation
service decides who enters which play, the step sweeper runs the steps, the delivery
sweeper sends the outbox to a real HTTP receiver on this machine (which checks each
Standard Webhooks signature), email goes through Django's email backend, and the
effects are read back through the API (audiences, personalization, the timeline).

The plays are the demo library's (`playbooks/demo.py`), with the steps each motion of
the scenario adds (the campaign changes, the alerts) and without the holdout, whose
draw is tested on its own: here the account must be treated.
"""

import itertools
import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from abx_site.common.scopes import Scope
from accounts.choices import BuyingRole, Stage, TeamRole
from accounts.models import Contact, Tier
from metrics import tasks as metrics_tasks
from playbooks import services
from playbooks.choices import ActivationStatus, ExitReason, RunOrigin
from playbooks.choices_execution import MembershipSource, MembershipStatus
from playbooks.demo import demo_playbooks
from playbooks.execution import delivery, runner
from playbooks.models import Activation, CampaignMembership, StepRun, Task
from signals.webhooks import verify
from tests.accounts.factories import (
    AccountDomainFactory,
    ContactFactory,
    PersonaRuleFactory,
    TeamMemberFactory,
    TierFactory,
    UserFactory,
)

from .execution.factories import CampaignFactory, WebhookEndpointFactory
from .execution.receiver import receiver

pytestmark = pytest.mark.django_db

TIERS = ["Strategic", "Target", "Scale"]
TIMEOUT = 2
_external_ids = itertools.count(1)


# The company's set-up -------------------------------------------------------------------


@pytest.fixture
def company(db):
    """Tiers, a team (AE, SDR, CSM with emails) and a persona rule, as RevOps sets them up."""
    for rank, name in enumerate(TIERS, start=1):
        TierFactory(name=name, rank=rank)
    PersonaRuleFactory(
        name="VPs decide", title_pattern=r"\b(vp|vice president)\b", buying_role="decision_maker"
    )
    return {
        role: UserFactory(username=role, email=f"{role}@abx.example", is_staff=True)
        for role in (TeamRole.AE, TeamRole.SDR, TeamRole.CSM)
    }


def account_of(company, name, domain, *, tier="Strategic", stage=Stage.PROSPECT):
    account = AccountDomainFactory(
        domain=domain,
        is_primary=True,
        account__name=name,
        account__stage=stage,
        account__tier=Tier.objects.get(name=tier) if tier else None,
    ).account
    for role, user in company.items():
        TeamMemberFactory(account=account, role=role, user=user)
    return account


def play(name: str, *, steps_before=(), steps_after=(), **changes) -> dict:
    """The demo library's playbook `name`, with steps added and settings changed."""
    [data] = [p for p in demo_playbooks(TIERS) if p["name"] == name]
    data = {**data, "holdout_percent": 0, **changes}
    data["steps"] = [*steps_before, *data["steps"], *steps_after]
    playbook = services.playbook_save(data=data)
    services.playbook_publish(playbook=playbook, note="Seed scenario")
    return data


def step(kind: str, delay_days: int = 0, **config) -> dict:
    return {"kind": kind, "delay_days": delay_days, "config": config}


@pytest.fixture
def hook():
    """A real receiver, and the CRM endpoint subscribed to every event."""
    with receiver() as state:
        state.endpoint = WebhookEndpointFactory(name="crm", url=state.url, event_types=[])
        yield state


def received(hook) -> list[tuple[str, dict]]:
    """(type, data) of every message the receiver got; the CRM endpoint's are signed with
    its secret (a chat room's URL has no secret of ours)."""
    messages = []
    for message in hook.received:
        headers, body = message["headers"], json.loads(message["body"])
        if body["type"] != "chat.message":
            verify(
                secret=hook.endpoint.secret,
                webhook_id=headers["webhook-id"],
                timestamp=headers["webhook-timestamp"],
                signatures=headers["webhook-signature"],
                body=message["body"],
            )
        messages.append((body["type"], body["data"]))
    return messages


def send_outbox(now=None) -> dict:
    return delivery.delivery_sweep(now=now, timeout=TIMEOUT)


# Talking to the API ---------------------------------------------------------------------


@pytest.fixture
def api(api_client, api_key_for):
    """`api.ingest(items)`, `api.get(url, *scopes)`: the API as integrations use it."""

    class Api:
        def ingest(self, items: list[dict]) -> dict:
            api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(Scope.SIGNALS_WRITE)}")
            response = api_client.post("/api/v1/signals/", {"signals": items}, format="json")
            assert response.status_code == 200, response.content
            body = response.json()
            assert body["rejected"] == [], body
            return body

        def get(self, url: str, *scopes) -> dict:
            api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(*scopes)}")
            response = api_client.get(url)
            assert response.status_code == 200, response.content
            return response.json()

    return Api()


def signal(source, type_key, when, domain, *, value=None, email=None, title=None, topic=None):
    item = {
        "source": source,
        "type": type_key,
        "occurred_at": when.isoformat(),
        "external_id": f"scenario-{next(_external_ids)}",
        "account": {"domain": domain},
    }
    if value is not None:
        item["value"] = value
    if email:
        item["contact"] = {"email": email, "title": title or ""}
    if topic:
        item["topic"] = topic
    return item


def audience(api, campaign) -> list[dict]:
    body = api.get(f"/api/v1/campaigns/{campaign.pk}/audience/", Scope.CAMPAIGNS_READ)
    return body["results"] if isinstance(body, dict) else body


def membership(campaign, account) -> tuple[str, str]:
    row = CampaignMembership.objects.get(campaign=campaign, account=account, contact=None)
    return row.status, row.why


def evaluate():
    run = services.evaluation_run(origin=RunOrigin.INGEST)
    assert run.errors == []
    return run


# 1. A tier-1 new-logo intent surge ------------------------------------------------------


def test_a_tier_1_intent_surge_with_a_growing_committee_starts_the_new_logo_motion(
    company, api, hook
):
    # given the tier-1 new-logo play, with a strategic ads campaign, and two prospects:
    # one in tier 1, one in tier 2 whose signals are the same
    ads = CampaignFactory(name="Strategic ABM ads", channel="ads")
    play(
        "Tier 1 new logo: intent surge and a growing committee",
        steps_after=[step("enroll_campaign", campaign=ads.name)],
    )
    acme = account_of(company, "Acme", "acme.com")
    globex = account_of(company, "Globex", "globex.com", tier="Target")
    now = timezone.now()

    # when intent surges twice and a VP shows up on the website, at both companies
    items = []
    for domain in ("acme.com", "globex.com"):
        items += [
            signal("intent", "intent.surge", now - timedelta(days=3), domain, value=80,
                   topic="account-based marketing"),
            signal("intent", "intent.surge", now - timedelta(days=1), domain, value=90,
                   topic="intent data"),
            signal("website", "web.visit", now - timedelta(hours=5), domain,
                   email=f"dana@{domain}", title="VP Marketing", topic="/pricing"),
        ]  # fmt: skip
    result = api.ingest(items)
    assert (result["accepted"], result["matched"]) == (6, 6)
    run = evaluate()

    # then only the tier-1 account enters, with the evidence of its surge
    assert run.entered == 1
    activation = Activation.objects.get()
    assert (activation.account, activation.status) == (acme, ActivationStatus.ACTIVE)
    assert activation.trigger_index == 0  # "Surge with committee growth"
    vp = Contact.objects.get(email="dana@acme.com")
    assert vp.buying_role == BuyingRole.DECISION_MAKER

    # when the sweeper runs now (the AE's task), and again when the SDR's step is due two
    # days later (then the personalization and the ads follow at once)
    swept = timezone.now()
    assert runner.step_sweep(now=swept) == {"done": 1}
    later = swept + timedelta(days=2, minutes=1)
    assert runner.step_sweep(now=later) == {"done": 3}

    # then the AE and the SDR have their tasks, the account is in the ads audience and
    # the website greets it as a strategic prospect
    tasks = {t.assignee.username: t for t in Task.objects.filter(account=acme)}
    assert set(tasks) == {"ae", "sdr"}
    assert tasks["ae"].title == "Intent surge at Acme: build the account plan"
    assert tasks["ae"].priority == "high"
    assert tasks["ae"].due_date == (swept + timedelta(days=2)).date()
    assert tasks["sdr"].title == "Multi-thread Acme's buying committee"
    assert membership(ads, acme)[0] == MembershipStatus.ENROLLED
    members = audience(api, ads)
    assert [m["name"] for m in members] == ["Acme"]
    assert [c["email"] for c in members[0]["contacts"]] == ["dana@acme.com"]
    variant = api.get("/api/v1/personalization/?domain=acme.com", Scope.PERSONALIZATION_READ)
    assert variant["variant"] == "strategic-prospect"
    assert not CampaignMembership.objects.filter(account=globex).exists()
    assert not Task.objects.filter(account=globex).exists()

    # and the CRM heard of the activation and of each task, signed
    assert send_outbox(now=later) == {"delivered": 3}
    messages = received(hook)
    assert sorted(t for t, _ in messages) == ["activation.started", "task.created", "task.created"]
    started = next(d for t, d in messages if t == "activation.started")
    assert started["account"] == acme.pk
    assert started["evidence"]["trigger"] == 0
    assert {d["assignee"] for t, d in messages if t == "task.created"} == {"ae", "sdr"}


# 2. An expansion usage threshold --------------------------------------------------------


def test_usage_above_the_plan_alerts_the_csm_loops_in_the_ae_and_invites_the_committee(
    company, api, hook
):
    # given the expansion play with a CSM alert first and the case-study campaign last
    case_study = CampaignFactory(name="Customer case study", channel="email")
    play(
        "Expansion: usage above the plan",
        steps_before=[
            step("notify", channel="email", role="csm",
                 message="{{ account.name }} is growing past its plan: time to expand."),
        ],
        steps_after=[step("enroll_campaign", campaign=case_study.name)],
    )  # fmt: skip
    initech = account_of(company, "Initech", "initech.com", tier=None, stage=Stage.CUSTOMER)
    champion = ContactFactory(account=initech, email="cho@initech.com", buying_role="champion")
    buyer = ContactFactory(account=initech, email="eve@initech.com", buying_role="economic_buyer")
    ContactFactory(account=initech, email="no@initech.com", do_not_contact=True)
    now = timezone.now()

    # when product usage climbs from 30 active users to 45 within a month
    api.ingest(
        [
            signal("product", "product.active_users", now - timedelta(days=40), "initech.com",
                   value=30),
            signal("product", "product.active_users", now - timedelta(days=1), "initech.com",
                   value=45),
        ]
    )  # fmt: skip
    evaluate()

    # then the account enters with the usage that satisfied the threshold: latest 45 >= 40,
    # and (45 - 30) / 30 = +50% >= +10%
    activation = Activation.objects.get(account=initech)
    values = [c["actual"] for c in activation.evidence["conditions"]]
    assert values == [45, 50]

    # when the steps run
    swept = timezone.now()
    assert runner.step_sweep(now=swept) == {"done": 4}

    # then the CSM got the alert by email, the AE has the expansion task, the case study
    # reaches the reachable people of the buying committee, the site shows the offer
    [alert] = mail.outbox
    assert alert.to == ["csm@abx.example"]
    assert alert.subject == "[Expansion: usage above the plan] Initech"
    assert alert.body == "Initech is growing past its plan: time to expand."
    run = StepRun.objects.get(activation=activation, step_index=0)
    assert alert.extra_headers["Message-ID"] == f"<steprun-{run.pk}@abx-ops>"
    task = Task.objects.get(account=initech)
    assert (task.assignee.username, task.title) == ("ae", "Expansion conversation with Initech")
    assert task.due_date == (swept + timedelta(days=5)).date()
    [member] = audience(api, case_study)
    assert member["name"] == "Initech"
    assert sorted(c["email"] for c in member["contacts"]) == sorted([champion.email, buyer.email])
    variant = api.get("/api/v1/personalization/?domain=initech.com", Scope.PERSONALIZATION_READ)
    assert variant["variant"] == "expansion-offer"

    # and the CRM heard of the play and the task
    assert send_outbox() == {"delivered": 2}
    assert sorted(t for t, _ in received(hook)) == ["activation.started", "task.created"]


# 3. A retention usage drop --------------------------------------------------------------


def test_a_usage_drop_alerts_the_csm_and_trades_pressure_for_re_engagement_until_it_ends(
    company, api, hook
):
    # given the retention play with a chat alert to the CS room, an AE check-in and the
    # re-engagement campaign; the customer is in a pressure campaign, by hand
    nurture = CampaignFactory(name="Expansion nurture", channel="email", is_pressure=True)
    promo = CampaignFactory(name="Spring promotion", channel="ads", is_pressure=True)
    care = CampaignFactory(name="Customer re-engagement", channel="email")
    chat = f"{hook.url}/cs-room"
    play(
        "Retention: usage drop",
        steps_after=[
            step("notify", channel="chat", url=chat,
                 message="Usage fell at {{ account.name }}: the CSM is on it."),
            step("create_task", role="ae", title="Check in with {{ account.name }}'s sponsor",
                 due_days=3),
            step("enroll_campaign", campaign=care.name),
        ],
    )  # fmt: skip
    umbrella = account_of(company, "Umbrella", "umbrella.com", tier=None, stage=Stage.CUSTOMER)
    CampaignMembership.objects.create(
        campaign=nurture, account=umbrella, status=MembershipStatus.ENROLLED
    )
    now = timezone.now()

    # when active users fall from 60 to 30 within a month
    api.ingest(
        [
            signal("product", "product.active_users", now - timedelta(days=40), "umbrella.com",
                   value=60),
            signal("product", "product.active_users", now - timedelta(days=2), "umbrella.com",
                   value=30),
        ]
    )  # fmt: skip
    evaluate()

    # then the play is open: (30 - 60) / 60 = -50% <= -30%, and the account leaves the
    # pressure campaigns at once, before any step ran
    activation = Activation.objects.get(account=umbrella)
    assert activation.evidence["conditions"][0]["actual"] == -50
    why = "The retention play 'Retention: usage drop' is open."
    assert membership(nurture, umbrella) == (MembershipStatus.SUPPRESSED, why)
    assert membership(promo, umbrella) == (MembershipStatus.SUPPRESSED, why)
    assert audience(api, nurture) == []

    # when the steps run
    assert runner.step_sweep() == {"done": 5}

    # then the CSM has the call, the AE the email and the check-in, the CS room the
    # alert, and the account is in re-engagement (and still out of the pressure ones)
    tasks = {t.assignee.username: t.title for t in Task.objects.filter(account=umbrella)}
    assert tasks == {
        "csm": "Usage drop at Umbrella: call this week",
        "ae": "Check in with Umbrella's sponsor",
    }
    [hold] = mail.outbox
    assert (hold.to, hold.body) == (
        ["ae@abx.example"],
        "Umbrella is in a retention play: hold outreach.",
    )
    assert [m["name"] for m in audience(api, care)] == ["Umbrella"]
    assert membership(nurture, umbrella)[0] == MembershipStatus.SUPPRESSED
    assert send_outbox() == {"delivered": 4}
    messages = received(hook)
    assert sorted(t for t, _ in messages) == [
        "activation.started",
        "chat.message",
        "task.created",
        "task.created",
    ]
    assert ("chat.message", {"text": "Usage fell at Umbrella: the CSM is on it."}) in messages

    # when usage recovers (65 against 60 a month before: +8%) and the play is evaluated
    api.ingest(
        [signal("product", "product.active_users", now - timedelta(minutes=5), "umbrella.com",
                value=65)]
    )  # fmt: skip
    run = evaluate()

    # then the play ends and the suppression is lifted: back in the nurture by hand, out
    # of the promotion it was never in and out of re-engagement; tasks stay, with a note
    assert run.exited == 1
    activation.refresh_from_db()
    assert (activation.status, activation.reason) == (
        ActivationStatus.EXITED,
        ExitReason.UNMATCHED,
    )
    assert membership(nurture, umbrella)[0] == MembershipStatus.ENROLLED
    assert CampaignMembership.objects.get(campaign=nurture, account=umbrella).source == (
        MembershipSource.MANUAL
    )
    assert membership(promo, umbrella)[0] == MembershipStatus.REMOVED
    assert membership(care, umbrella)[0] == MembershipStatus.REMOVED
    assert [m["name"] for m in audience(api, nurture)] == ["Umbrella"]
    assert audience(api, care) == []
    assert all("has ended" in t.note for t in Task.objects.filter(account=umbrella))
    assert send_outbox() == {"delivered": 1}
    assert received(hook)[-1][0] == "activation.exited"

    # and the account's timeline tells the whole story, newest first
    timeline = api.get(
        f"/api/v1/accounts/{umbrella.pk}/timeline/?kind=activation&kind=activation_ended"
        "&kind=step_run",
        Scope.ACCOUNTS_READ,
    )["results"]
    assert [(e["kind"], e["action"], e["reason"]) for e in timeline] == [
        ("activation_ended", "exited", "unmatched"),
        *[("step_run", "done", "")] * 5,
        ("activation", "started", ""),
    ]
    assert [e["data"]["step"] for e in timeline if e["kind"] == "step_run"] == [5, 4, 3, 2, 1]


# 4. Advocacy ----------------------------------------------------------------------------


def test_a_healthy_promoter_is_asked_for_a_reference_and_joins_the_reference_program(
    company, api, hook
):
    # given the advocacy play with the reference program and a note to the CRM
    program = CampaignFactory(name="Customer reference program", channel="event")
    play(
        "Advocacy: happy customers",
        steps_after=[
            step("enroll_campaign", campaign=program.name),
            step("webhook", endpoint="crm", event="advocacy.candidate"),
        ],
    )
    hooli = account_of(company, "Hooli", "hooli.com", tier=None, stage=Stage.CUSTOMER)
    now = timezone.now()

    # when usage grows (40 -> 48 active users) and the sponsor answers the NPS with a 10
    api.ingest(
        [
            signal("product", "product.active_users", now - timedelta(days=40), "hooli.com",
                   value=40),
            signal("product", "product.active_users", now - timedelta(days=1), "hooli.com",
                   value=48),
            signal("nps", "nps.response", now - timedelta(days=2), "hooli.com", value=10,
                   email="sam@hooli.com", title="VP Operations"),
        ]
    )  # fmt: skip
    metrics_tasks.scores_recompute()  # the scheduled recompute
    evaluate()

    # then the health score, by hand: usage +20% is past the top of -50..+10 (100 points,
    # weight 3), no ticket (100, weight 1), NPS 10 (100, weight 2), engagement 0 (no
    # engagement signals; weight 2): (300 + 100 + 200 + 0) / 8 = 75 >= 70
    activation = Activation.objects.get(account=hooli)
    values = [c["actual"] for c in activation.evidence["conditions"]]
    assert values == [10, 75]

    # when the steps run
    assert runner.step_sweep() == {"done": 3}

    # then the CSM asks for the reference, the account is in the program, and the CRM got
    # the candidate with its evidence, signed
    task = Task.objects.get(account=hooli)
    assert (task.assignee.username, task.title) == ("csm", "Ask Hooli for a reference")
    [member] = audience(api, program)
    assert (member["name"], [c["email"] for c in member["contacts"]]) == (
        "Hooli",
        ["sam@hooli.com"],
    )
    assert send_outbox() == {"delivered": 3}
    messages = received(hook)
    assert sorted(t for t, _ in messages) == [
        "activation.started",
        "advocacy.candidate",
        "task.created",
    ]
    candidate = next(d for t, d in messages if t == "advocacy.candidate")
    assert candidate["account"] == {"id": hooli.pk, "name": "Hooli"}
    assert candidate["evidence"] == activation.evidence
