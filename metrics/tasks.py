"""Background tasks of the measurement layer (django-q2)."""

from . import services


def scores_recompute() -> dict:
    """Recompute every score and bring today's snapshot up to date."""
    result = services.scores_recompute()
    return {"accounts": result.accounts, "scores": result.scores, "snapshots": result.snapshots}
