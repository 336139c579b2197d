"""Background tasks of the execution layer (django-q2 schedules, every minute or daily)."""

import logging

from . import delivery, digest, runner

logger = logging.getLogger(__name__)


def step_sweep_task() -> dict:
    """Run every due step."""
    counts = runner.step_sweep()
    if counts:
        logger.info("Step sweep: %s", counts)
    return counts


def delivery_sweep_task() -> dict:
    """Send every due outbound delivery."""
    counts = delivery.delivery_sweep()
    if counts:
        logger.info("Delivery sweep: %s", counts)
    return counts


def task_digest_task() -> int:
    """Email each owner their tasks due today or overdue; returns the emails sent."""
    return digest.task_digest_send()
