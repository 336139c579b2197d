"""Reads of the playbook layer, ready to render (related rows joined or prefetched)."""

from django.db.models import Count, Max, Q, QuerySet

from .choices import OPEN_STATUSES, ActivationStatus
from .models import Activation, Backtest, Playbook, PlaybookVersion


def playbook_list() -> QuerySet[Playbook]:
    """Playbooks with their tiers and teams, latest version number and open activations."""
    return (
        Playbook.objects.annotate(
            latest_version=Max("versions__number"),
            open_activations=Count(
                "activations",
                filter=Q(activations__status=ActivationStatus.ACTIVE),
                distinct=True,
            ),
        )
        .prefetch_related("tiers", "teams")
        .order_by("priority", "name", "id")
    )


def playbook_get(*, pk: int) -> Playbook:
    return playbook_list().get(pk=pk)


def activation_list() -> QuerySet[Activation]:
    return Activation.objects.select_related("playbook", "version", "account").order_by(
        "-started_at", "-id"
    )


def open_activations() -> QuerySet[Activation]:
    return activation_list().filter(status__in=OPEN_STATUSES)


def version_list(*, playbook: Playbook) -> QuerySet[PlaybookVersion]:
    return playbook.versions.select_related("published_by").order_by("-number")


def backtest_get(*, playbook: Playbook, pk: int) -> Backtest:
    return Backtest.objects.get(playbook=playbook, pk=pk)


def latest_versions(playbooks) -> dict[int, PlaybookVersion]:
    """playbook id -> its latest version, in one query."""
    latest = {}
    for version in PlaybookVersion.objects.filter(playbook__in=playbooks).order_by(
        "playbook_id", "number"
    ):
        latest[version.playbook_id] = version
    return latest


__all__ = [
    "activation_list",
    "backtest_get",
    "latest_versions",
    "open_activations",
    "playbook_get",
    "playbook_list",
    "version_list",
]
