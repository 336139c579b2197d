"""The `in_playbook` feature, which the playbook layer adds to the metrics catalog."""

from datetime import datetime

from django.db.models import Exists, OuterRef, Q

from .choices import ActivationStatus, Motion


def in_playbook_expression(*, as_of: datetime | None, playbook=None, motion=None):
    """Whether the account has an active activation of `playbook` (an id) or of any
    playbook of `motion` (or of any playbook when neither is given).

    As of a past moment, an activation counts when it had started and not yet ended;
    holdouts and skips never count: the account was not being worked.
    """
    from .models import Activation

    activations = Activation.objects.filter(account=OuterRef("pk"))
    if playbook:
        activations = activations.filter(playbook_id=playbook)
    if motion:
        activations = activations.filter(playbook__motion=motion)
    if as_of is None:
        activations = activations.filter(status=ActivationStatus.ACTIVE)
    else:
        activations = activations.filter(
            Q(ended_at__isnull=True) | Q(ended_at__gt=as_of),
            status__in=(
                ActivationStatus.ACTIVE,
                ActivationStatus.EXITED,
                ActivationStatus.COMPLETED,
            ),
            started_at__lte=as_of,
        )
    return Exists(activations)


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
