"""Steps that reach our own staff: `create_task` and `notify` (email or chat)."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.template import Context, Engine, TemplateSyntaxError

from accounts.models import AccountDomain, AccountTeamMember, Contact

from ...choices_execution import DeliveryStatus, TaskPriority, WebhookEvent
from ...models_execution import Delivery, Task
from ...steps import FORBIDDEN_TAGS, forbidden_tags
from ..events import event_payload, events_emit
from . import StepFailed

# Templates see plain values only (never model instances, whose methods and relations a
# template could otherwise walk). They make plain text, not HTML: a task's title and body
# are stored as they read ("Call AT&T") and every page escapes them where it shows them;
# an email body is plain text too. Values are printed, never evaluated as templates.
ENGINE = Engine(autoescape=False, string_if_invalid="")
MAX_CONTACTS = 50


def template_context(run) -> dict:
    """The fixed context of title, body and message templates: plain dicts."""
    activation = run.activation
    account = activation.account
    contacts = (
        Contact.objects.filter(account_id=account.pk, do_not_contact=False)
        .order_by("name", "id")
        .values("name", "email", "title", "buying_role", "seniority", "department")[:MAX_CONTACTS]
    )
    return {
        "account": {
            "id": account.pk,
            "name": account.name,
            "domain": AccountDomain.objects.filter(account_id=account.pk, is_primary=True)
            .values_list("domain", flat=True)
            .first()
            or "",
            "website": account.website,
            "industry": account.industry,
            "country": account.country,
            "stage": account.stage,
            "employee_count": account.employee_count,
            "renewal_date": account.renewal_date,
        },
        "contacts": list(contacts),
        "playbook": {
            "id": activation.playbook_id,
            "name": activation.playbook.name,
            "motion": activation.playbook.motion,
        },
        "evidence": activation.evidence or {},
    }


def render(source: str, context: dict, *, field: str) -> str:
    try:
        template = ENGINE.from_string(source or "")
    except TemplateSyntaxError as exc:
        raise StepFailed(f"The {field} template does not parse: {exc}") from exc
    if forbidden_tags(template):  # a version published before the rule
        raise StepFailed(f"The {field} template: {FORBIDDEN_TAGS}")
    return template.render(Context(context, autoescape=False)).strip()


def owner_for(account_id: int, role: str | None):
    """The staff user holding `role` on the account, else the configured fallback owner."""
    if role:
        member = (
            AccountTeamMember.objects.filter(account_id=account_id, role=role)
            .select_related("user")
            .first()
        )
        if member is not None and member.user.is_active:
            return member.user
    fallback = getattr(settings, "ABX_TASK_FALLBACK_OWNER", "")
    if fallback:
        return get_user_model().objects.filter(username=fallback, is_active=True).first()
    return None


def create_task(run, *, now) -> dict:
    config = run.config
    context = template_context(run)
    title = render(config.get("title", ""), context, field="title")[:255]
    body = render(config.get("body", ""), context, field="body")
    assignee = owner_for(run.activation.account_id, config.get("role"))
    # The run is the task's claim: a second run of the same step finds the task it made.
    task, created = Task.objects.get_or_create(
        step_run=run,
        defaults={
            "account_id": run.activation.account_id,
            "assignee": assignee,
            "title": title or run.activation.playbook.name,
            "body": body,
            "due_date": (now + timedelta(days=config.get("due_days") or 0)).date(),
            "priority": config.get("priority") or TaskPriority.NORMAL,
            "activation": run.activation,
            "note": "" if assignee else "No one holds the role on this account: assign it.",
        },
    )
    if created:
        events_emit(
            WebhookEvent.TASK_CREATED,
            [
                (
                    f"task-{task.pk}",
                    {
                        "task": task.pk,
                        "account": task.account_id,
                        "title": task.title,
                        "assignee": assignee.username if assignee else None,
                        "due_date": task.due_date.isoformat() if task.due_date else None,
                        "priority": task.priority,
                        "activation": run.activation_id,
                    },
                )
            ],
            now=now,
        )
    return {"task": task.pk, "assignee": assignee.pk if assignee else None}


def notify(run, *, now) -> dict:
    config = run.config
    context = template_context(run)
    message = render(config.get("message", ""), context, field="message")
    key = f"steprun-{run.pk}"
    if config.get("channel") == "chat":
        # Through the outbox, like every webhook: signed, retried, logged, SSRF-guarded.
        delivery, _ = Delivery.objects.get_or_create(
            url=config["url"],
            event=WebhookEvent.CHAT_MESSAGE,
            idempotency_key=key,
            defaults={
                "payload": event_payload(WebhookEvent.CHAT_MESSAGE, {"text": message}),
                "status": DeliveryStatus.PENDING,
                "next_attempt_at": now,
                "created_at": now,
            },
        )
        return {"delivery": delivery.pk}
    owner = owner_for(run.activation.account_id, config.get("role"))
    if owner is None or not owner.email:
        raise StepFailed(f"No one with an email holds the role '{config.get('role')}' here.")
    subject = f"[{run.activation.playbook.name}] {run.activation.account.name}"
    email = EmailMessage(
        subject=subject[:200],
        body=message,
        to=[owner.email],
        # A stable Message-ID: a repeat after a crash is the same message to a mail system.
        headers={"Message-ID": f"<{key}@abx-ops>", "X-ABX-Idempotency-Key": key},
    )
    email.send()
    return {"email": owner.email}
