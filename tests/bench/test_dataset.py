from dataclasses import replace

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Sum

from accounts.choices import IdentityMethod, Stage
from accounts.dataset import PRESETS, generate
from accounts.models import (
    Account,
    AccountDomain,
    AccountIdentifier,
    ArrChange,
    Contact,
    Deal,
)
from metrics.models import AccountScore
from playbooks.models import Playbook, PlaybookVersion
from signals.models import AccountSignalDaily, Signal, UnmatchedIdentity

pytestmark = pytest.mark.django_db

TINY = PRESETS["tiny"]


def _fingerprint():
    return (
        list(Account.objects.order_by("pk").values_list("name", "country", "stage", "tier__rank")),
        list(Contact.objects.order_by("pk").values_list("email", "title", "buying_role")),
        list(
            Signal.objects.order_by("external_id").values_list("external_id", "type__key", "value")
        ),
    )


def test_generate_loads_every_table_at_the_asked_sizes():
    # when
    counts = generate(sizes=TINY, seed=3)

    # then
    assert Account.objects.count() == counts["accounts"] == TINY.accounts
    assert Contact.objects.count() == TINY.contacts
    assert Signal.objects.count() == TINY.signals
    assert Deal.objects.count() == TINY.deals
    customers = Account.objects.filter(stage=Stage.CUSTOMER)
    assert customers.count() == TINY.arr_customers
    assert ArrChange.objects.values("account").distinct().count() == TINY.arr_customers
    # Every account has a primary domain and a CRM id; every contact belongs to one.
    assert AccountDomain.objects.filter(is_primary=True).count() == TINY.accounts
    assert AccountIdentifier.objects.filter(system="crm").count() == TINY.accounts
    assert not Contact.objects.filter(account__isnull=True).exists()
    # Every account is scored by the four shipped models; the playbooks are all published.
    assert AccountScore.objects.count() == counts["account scores"] == 4 * TINY.accounts
    assert Playbook.objects.filter(status="active").count() == TINY.playbooks
    assert PlaybookVersion.objects.values("playbook").distinct().count() == TINY.playbooks


def test_generated_signals_look_real_and_their_rollups_add_up():
    generate(sizes=TINY, seed=3)

    unmatched = Signal.objects.filter(account__isnull=True)
    assert 0 < unmatched.count() < TINY.signals * 0.06
    assert set(unmatched.values_list("match_method", flat=True)) == {IdentityMethod.UNMATCHED}
    # They wait in the review queue, grouped by their unknown domain.
    waiting = set(unmatched.values_list("review_key", flat=True))
    assert waiting == set(UnmatchedIdentity.objects.values_list("key", flat=True))
    assert all(key.startswith("domain:unknown-company-") for key in waiting)
    # Heavy-tailed: the busiest tenth of the accounts hold most of the matched signals.
    per_account = sorted(
        Signal.objects.filter(account__isnull=False)
        .values("account")
        .annotate(n=Count("pk"))
        .values_list("n", flat=True),
        reverse=True,
    )
    assert sum(per_account[: TINY.accounts // 10]) > 0.4 * sum(per_account)
    # Product signals come from customers only.
    product = Signal.objects.filter(type__key__startswith="product.", account__isnull=False)
    assert product.exists()
    assert not product.exclude(account__stage=Stage.CUSTOMER).exists()
    # The rollups hold exactly the matched signals, as ingestion would have left them.
    assert AccountSignalDaily.objects.aggregate(n=Sum("count"))["n"] == (
        Signal.objects.filter(account__isnull=False).count()
    )
    gauge_day = AccountSignalDaily.objects.filter(
        type__key="product.active_users", count__gt=1
    ).first()
    assert gauge_day is not None
    latest = (
        Signal.objects.filter(account=gauge_day.account, type=gauge_day.type)
        .filter(occurred_at__date=gauge_day.day)
        .order_by("-occurred_at", "-pk")
        .first()
    )
    assert gauge_day.last_value == latest.value


def test_the_same_seed_gives_the_same_data_set():
    generate(sizes=TINY, seed=5)
    first = _fingerprint()
    Signal.objects.all().delete()
    Playbook.objects.all().delete()
    Account.objects.update(parent=None)
    Account.objects.all().delete()

    generate(sizes=TINY, seed=5)

    assert _fingerprint() == first


def test_the_command_refuses_a_database_that_holds_accounts():
    generate(sizes=replace(TINY, signals=10), seed=1)

    with pytest.raises(CommandError, match="empty database"):
        call_command("generate_dataset", preset="tiny", verbosity=0)
    assert Account.objects.count() == TINY.accounts


def test_the_command_takes_sizes_and_reports_what_it_loaded(capsys):
    call_command(
        "generate_dataset",
        accounts=50,
        contacts=120,
        signals=500,
        days=30,
        deals=10,
        arr_customers=5,
        playbooks=3,
        seed=2,
    )

    out = capsys.readouterr().out
    assert "accounts: 50" in out
    assert "signals: 500" in out
    assert Account.objects.count() == 50
    assert Contact.objects.count() == 120
    assert ArrChange.objects.values("account").distinct().count() == 5
    assert Playbook.objects.count() == 3


def test_the_command_names_a_bad_size():
    with pytest.raises(CommandError, match="--arr-customers cannot exceed --accounts"):
        call_command("generate_dataset", accounts=5, arr_customers=10, verbosity=0)
    assert not Account.objects.exists()
