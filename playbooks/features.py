"""The `in_playbook` feature, which the playbook layer adds to the metrics catalog."""

from datetime import datetime

from django.db.models import BooleanField, Case, Count, IntegerField, Q, When
from django.db.models.lookups import GreaterThan

from .catalog import GroupedFrame, any_of
from .choices import ActivationStatus, Motion


class Activations(GroupedFrame):
    """Counts over the activations; a column's scope is the Q of those it counts."""

    name = "activations"

    def source(self, columns):
        from .models import Activation

        return Activation.objects.filter(any_of(column.scope for column in columns))


def in_playbook_expression(*, as_of: datetime | None, playbook=None, motion=None):
    """Whether the account has an active activation of `playbook` (an id) or of any
    playbook of `motion` (or of any playbook when neither is given).

    As of a past moment, an activation counts when it had started and not yet ended;
    holdouts and skips never count: the account was not being worked.
    """
    activations = Q()
    if playbook:
        activations &= Q(playbook_id=playbook)
    if motion:
        activations &= Q(playbook__motion=motion)
    if as_of is None:
        activations &= Q(status=ActivationStatus.ACTIVE)
    else:
        activations &= Q(
            Q(ended_at__isnull=True) | Q(ended_at__gt=as_of),
            status__in=(
                ActivationStatus.ACTIVE,
                ActivationStatus.EXITED,
                ActivationStatus.COMPLETED,
            ),
            started_at__lte=as_of,
        )
    count = Activations().column(
        (playbook, motion, as_of),
        Count("pk", filter=activations),
        IntegerField(),
        scope=activations,
    )
    return Case(When(GreaterThan(count, 0), then=True), default=False, output_field=BooleanField())


def in_playbook_feature():
    from metrics.features import Feature, FeatureType, Param

    return Feature(
        key="in_playbook",
        label="In a playbook",
        type=FeatureType.BOOL,
        description=(
            "Whether the account is being worked by a playbook (an active activation): "
            "a given playbook, any playbook of a motion, or any playbook at all."
        ),
        params=(
            Param("playbook", "int", required=False, min_value=1, label="Playbook id"),
            Param(
                "motion", "choice", required=False, choices=tuple(Motion.choices), label="Motion"
            ),
        ),
        has_history=True,
        compute=in_playbook_expression,
    )
