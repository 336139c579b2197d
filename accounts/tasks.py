"""Background tasks of the account graph (django-q2)."""

import logging

from . import services

logger = logging.getLogger(__name__)


def persona_rules_apply_task() -> int:
    """Fill unknown buying roles from the persona rules; returns how many changed."""
    updated = services.persona_rules_apply()
    logger.info("Persona rules filled the role of %s contact(s).", updated)
    return updated
