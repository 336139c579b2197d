"""The demo library: every motion, valid, published, and evaluated once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import demo
from playbooks.choices import Motion
from playbooks.demo import seed_playbooks
from playbooks.models import Activation, EvaluationRun, Playbook
from signals.services import signals_ingest
from tests.accounts.factories import AccountFactory, ContactFactory, TierFactory

pytestmark = pytest.mark.django_db


def test_the_demo_phase_is_registered():
    assert seed_playbooks in demo.PHASES


def test_the_library_covers_every_motion_and_runs_once():
    tier = TierFactory(rank=1, name="Tier 1 - Strategic")
    TierFactory(rank=2, name="Tier 2 - Target")
    prospect = AccountFactory(tier=tier, stage="prospect")
    ContactFactory(account=prospect, buying_role="champion")
    now = timezone.now()
    signals_ingest(
        items=[
            {
                "source": "intent",
                "type": "intent.surge",
                "occurred_at": (now - timedelta(days=n)).isoformat(),
                "external_id": f"demo-surge-{n}",
                "account": {"id": prospect.pk},
            }
            for n in range(1, 4)
        ]
    )

    counts = seed_playbooks(seed=42, today=now.date())

    assert counts["playbooks"] == 8 and counts["playbook versions"] == 7
    assert set(Playbook.objects.values_list("motion", flat=True)) == set(Motion.values)
    assert Playbook.objects.filter(status="draft").count() == 1
    assert EvaluationRun.objects.get().errors == []
    # the surge and the new champion put the prospect in the tier-1 play
    activation = Activation.objects.get(account=prospect)
    assert activation.playbook.name.startswith("Tier 1 new logo")
    assert activation.evidence["trigger_name"] == "Surge with committee growth"
