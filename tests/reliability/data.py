"""Data for the reliability tests: playbooks, and signal batches with their rollups worked
out by hand."""

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate

from playbooks import services
from signals.models import AccountSignalDaily, Signal, SignalType
from tests.accounts.factories import AccountDomainFactory, AccountFactory


def playbook(name, *, conditions, steps, priority=100):
    """A saved and published playbook with one trigger."""
    saved = services.playbook_save(
        data={
            "name": name,
            "motion": "new_logo",
            "priority": priority,
            "triggers": [{"name": "Match", "conditions": conditions}],
            "steps": steps,
        }
    )
    services.playbook_publish(playbook=saved)
    return saved


def employees(operator: str, value: int) -> dict:
    return {"feature": "employee_count", "operator": operator, "value": value}


TASK_STEP = {"kind": "create_task", "config": {"role": "ae", "title": "Call {{ account.name }}"}}

# (source, type) pairs the migrations create: two counters from two sources.
KINDS = [("website", "web.visit"), ("marketing", "email.click")]
DAYS = 5


def accounts_with_domains(count: int, *, prefix: str) -> dict[str, int]:
    """`count` accounts, each with one domain: domain -> account id."""
    domains = {}
    for n in range(count):
        account = AccountFactory(employee_count=300)
        domains[AccountDomainFactory(account=account, domain=f"{prefix}{n}.com").domain] = (
            account.pk
        )
    return domains


def items(count: int, *, prefix: str, domains: list[str], start: int = 0) -> list[dict]:
    """`count` items with external ids `<prefix>-<n>`, spread over the accounts (by domain),
    two signal types and the last `DAYS` days, each with a small value."""
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    batch = []
    for n in range(start, start + count):
        # Item n goes to account n mod A; its round k = n div A picks the type and the day,
        # so that every account gets both types on every day.
        k = n // len(domains)
        source, kind = KINDS[k % len(KINDS)]
        moment = today - timedelta(days=1 + k % DAYS, minutes=n % 600)
        batch.append(
            {
                "source": source,
                "type": kind,
                "occurred_at": moment.isoformat(),
                "external_id": f"{prefix}-{n}",
                "value": n % 7,
                "account": {"domain": domains[n % len(domains)]},
            }
        )
    return batch


def rollups_by_hand(batch: list[dict], domains: dict[str, int]) -> dict[tuple, tuple]:
    """(account id, type key, UTC day) -> (count, value sum), from the items themselves."""
    counts, sums = Counter(), Counter()
    for item in batch:
        day = datetime.fromisoformat(item["occurred_at"]).astimezone(UTC).date()
        key = (domains[item["account"]["domain"]], item["type"], day)
        counts[key] += 1
        sums[key] += item["value"]
    return {key: (counts[key], Decimal(sums[key])) for key in counts}


def rollups_stored(account_ids) -> dict[tuple[int, str, date], tuple[int, Decimal]]:
    keys = dict(SignalType.objects.values_list("pk", "key"))
    return {
        (row.account_id, keys[row.type_id], row.day): (row.count, row.value_sum)
        for row in AccountSignalDaily.objects.filter(account_id__in=account_ids)
    }


def rollups_recounted(account_ids) -> dict[tuple[int, str, date], tuple[int, Decimal]]:
    """The same figures, counted again from the signals table."""
    rows = (
        Signal.objects.filter(account_id__in=account_ids)
        .annotate(day=TruncDate("occurred_at", tzinfo=UTC))
        .values("account_id", "type__key", "day")
        .annotate(n=Count("pk"), total=Sum("value"))
        .order_by()
    )
    return {
        (row["account_id"], row["type__key"], row["day"]): (row["n"], Decimal(row["total"] or 0))
        for row in rows
    }
