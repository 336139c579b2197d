"""The `webhook` step: a JSON message, built from data, to a registered endpoint."""

from ...choices_execution import DeliveryStatus, WebhookEvent
from ...models_execution import Delivery, WebhookEndpoint
from ..events import event_payload
from . import StepFailed


def webhook(run, *, now) -> dict:
    config = run.config
    endpoint = WebhookEndpoint.objects.filter(name=config.get("endpoint"), active=True).first()
    if endpoint is None:
        raise StepFailed(f"No active webhook endpoint is named '{config.get('endpoint')}'.")
    activation = run.activation
    event = config.get("event") or WebhookEvent.STEP_WEBHOOK
    data = {
        "step_run": run.pk,
        "activation": activation.pk,
        "playbook": {"id": activation.playbook_id, "name": activation.playbook.name},
        "account": {"id": activation.account_id, "name": activation.account.name},
        "evidence": activation.evidence or {},
    }
    delivery, _ = Delivery.objects.get_or_create(
        url=endpoint.url,
        event=event,
        idempotency_key=f"steprun-{run.pk}",
        defaults={
            "endpoint": endpoint,
            "payload": event_payload(event, data, occurred_at=now),
            "status": DeliveryStatus.PENDING,
            "next_attempt_at": now,
            "created_at": now,
        },
    )
    return {"delivery": delivery.pk}
