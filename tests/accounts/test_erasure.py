"""`manage.py erase_contact EMAIL` (DESIGN §3, §9 Privacy): the person is gone from every
place they appeared; their signals, the rollups and the scores stay."""

import io
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.choices import AccountEventKind
from accounts.models import AccountEvent, Contact
from accounts.services import contact_erase
from metrics.models import AccountScore
from metrics.services import scores_recompute
from playbooks.choices_execution import MembershipStatus
from playbooks.execution import runner
from playbooks.models import CampaignMembership, Delivery, Task
from signals.models import AccountSignalDaily, Signal, UnmatchedIdentity
from signals.services import signals_ingest
from tests.accounts.factories import AccountDomainFactory, ContactFactory, TeamMemberFactory
from tests.playbooks.execution.factories import CampaignFactory, WebhookEndpointFactory, started

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
EMAIL = "jolene.q@acme.com"
NAME = "Jolene O'Quarterfield"
IP = "198.51.100.77"
# What must not survive anywhere in the database, in any case or escaping.
TRACES = ["jolene", "quarterfield", IP]


def item(external_id, *, email=None, days_ago=1, type_key="web.visit", **extra):
    signal = {
        "source": "website",
        "type": type_key,
        "occurred_at": (NOW - timedelta(days=days_ago)).isoformat(),
        "external_id": external_id,
        **extra,
    }
    if email:
        signal["contact"] = {"email": email}
    return signal


def database_text() -> str:
    """Every row of every table, as `dumpdata` writes it, in lower case."""
    out = io.StringIO()
    call_command("dumpdata", stdout=out)
    return out.getvalue().lower()


def rollups():
    return list(
        AccountSignalDaily.objects.order_by("pk").values_list(
            "account_id", "type_id", "day", "count", "value_sum", "distinct_contacts"
        )
    )


def scores():
    return list(AccountScore.objects.order_by("pk").values_list("account_id", "model_id", "score"))


@pytest.fixture
def acme():
    account = AccountDomainFactory(domain="acme.com", account__name="Acme").account
    TeamMemberFactory(account=account, role="ae")
    return account


def test_erasing_a_person_leaves_no_trace_and_keeps_signals_rollups_and_scores(acme):
    # given a person at Acme with signals (one carrying personal data in its hints and
    # attributes), a campaign membership, a task and an outbound event that name them
    jolene = ContactFactory(account=acme, email=EMAIL, name=NAME, title="VP Sales")
    sam = ContactFactory(account=acme, email="sam@acme.com", name="Sam Lee")
    result = signals_ingest(
        items=[
            item(
                "j-1",
                email="Jolene.Q@ACME.com",
                ip=IP,
                attributes={
                    "page": "/pricing",
                    "email": EMAIL,
                    "form": {"full_name": NAME, "role": "VP Sales", "company": "Acme"},
                    "referrer": f"https://mail.example/?to={EMAIL}",
                    "visitors": [IP, "10.0.0.1"],
                },
            ),
            item("j-2", email=EMAIL, days_ago=3, type_key="email.click"),
            item("s-1", email="sam@acme.com", attributes={"page": "/docs"}),
        ]
    )
    assert result.matched == 3, result.rejected
    campaign = CampaignFactory()
    CampaignMembership.objects.create(
        campaign=campaign, account=acme, contact=jolene, status=MembershipStatus.ENROLLED
    )
    CampaignMembership.objects.create(
        campaign=campaign, account=acme, status=MembershipStatus.ENROLLED
    )
    WebhookEndpointFactory(event_types=["task.created"])
    started(
        (
            "create_task",
            {
                "role": "ae",
                "title": "Call {{ contacts.0.name }}",
                "body": "{% for c in contacts %}{{ c.name }} <{{ c.email }}>; {% endfor %}",
            },
        ),
        account=acme,
    )
    assert runner.step_sweep() == {"done": 1}
    scores_recompute()
    before = {"rollups": rollups(), "scores": scores(), "signals": Signal.objects.count()}
    assert all(trace.lower() in database_text() for trace in TRACES)

    # when
    out = io.StringIO()
    call_command("erase_contact", "  Jolene.Q@Acme.COM ", stdout=out)

    # then the person is nowhere in the database
    text = database_text()
    assert [trace for trace in TRACES if trace.lower() in text] == []
    assert not Contact.objects.filter(email=EMAIL).exists()
    assert "Erased: 2 signals, 1 campaign memberships, 1 tasks, 1 webhook deliveries" in (
        out.getvalue()
    )
    # ... their signals stay, anonymised, and the other person's are untouched
    assert Signal.objects.count() == before["signals"]
    first = Signal.objects.get(external_id="j-1")
    assert first.account_id == acme.pk
    assert first.contact_id is None
    assert first.hints == {}
    assert first.attributes == {
        "page": "/pricing",
        "form": {"company": "Acme"},
        "visitors": ["10.0.0.1"],
    }
    assert Signal.objects.get(external_id="j-2").contact_id is None
    other = Signal.objects.get(external_id="s-1")
    assert (other.contact_id, other.hints) == (sam.pk, {"contact": {"email": "sam@acme.com"}})
    # ... the rollups and the scores are as they were
    assert rollups() == before["rollups"]
    assert scores() == before["scores"]
    # ... the account keeps its own membership, and the task its other contact
    assert list(CampaignMembership.objects.values_list("account_id", "contact_id")) == [
        (acme.pk, None)
    ]
    task = Task.objects.get()
    assert task.title == "Call [erased]"
    assert task.body == "[erased] <[erased]>; Sam Lee <sam@acme.com>;"
    assert Delivery.objects.get().payload["data"]["title"] == "Call [erased]"
    # ... and the account's history says an erasure happened, without personal data
    event = AccountEvent.objects.get(account=acme, kind=AccountEventKind.CONTACT_ERASED)
    assert event.data == {
        "erased": {
            "signals": 2,
            "campaign memberships": 1,
            "tasks": 1,
            "webhook deliveries": 1,
            "contacts": 1,
        }
    }
    assert (event.old_value, event.new_value) == ("", "")


def test_a_person_only_unmatched_signals_named_is_erased_from_them_and_the_review_queue():
    # given a free-mail visitor no account matched: queued under their IP address, and
    # another signal of theirs that names a company
    signals_ingest(
        items=[
            item("u-1", email="jo@gmail.com", ip=IP),
            item("u-2", email="jo@gmail.com", ip=IP, account={"name": "Globex Corp"}),
        ]
    )
    assert set(UnmatchedIdentity.objects.values_list("key", flat=True)) == {
        f"ip:{IP}",
        "name:globex",
    }

    # when
    erased = contact_erase(email="jo@gmail.com")

    # then the signals stay unmatched: the company one still waits for review under
    # the company's name, the other one waits under nothing
    assert erased == {"signals": 2}
    rows = dict(Signal.objects.values_list("external_id", "hints"))
    assert rows == {"u-1": {}, "u-2": {"account": {"name": "Globex Corp"}}}
    assert dict(Signal.objects.values_list("external_id", "review_key")) == {
        "u-1": "",
        "u-2": "name:globex",
    }
    assert list(UnmatchedIdentity.objects.values_list("key", "signal_count")) == [
        ("name:globex", 1)
    ]
    assert not AccountEvent.objects.filter(kind=AccountEventKind.CONTACT_ERASED).exists()


def test_an_unknown_email_is_refused_and_changes_nothing(acme):
    # given
    ContactFactory(account=acme, email="sam@acme.com")
    signals_ingest(items=[item("s-1", email="sam@acme.com", ip=IP)])
    before = database_text()

    # when / then
    with pytest.raises(CommandError, match=r"No contact or signal holds nobody@acme\.com"):
        call_command("erase_contact", "nobody@acme.com")
    assert database_text() == before


@pytest.mark.parametrize("email", ["", "   ", "not-an-email"])
def test_something_that_is_not_an_email_is_refused(email):
    with pytest.raises(ValidationError) as error:
        contact_erase(email=email)
    assert "email" in error.value.message_dict


def test_a_contact_without_signals_is_erased_with_its_memberships(acme):
    contact = ContactFactory(account=acme, email=EMAIL, name=NAME)
    CampaignMembership.objects.create(
        campaign=CampaignFactory(), account=acme, contact=contact, status="enrolled"
    )

    erased = contact_erase(email=EMAIL.upper())

    assert erased == {"campaign memberships": 1, "contacts": 1}
    assert not Contact.objects.exists()
    assert not CampaignMembership.objects.exists()
