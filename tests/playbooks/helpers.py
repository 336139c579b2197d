"""Playbook data as RevOps would write it, for tests."""

from playbooks import services


def playbook_data(name="Big accounts", *, min_employees=100, **settings):
    return {
        "name": name,
        "motion": "new_logo",
        "triggers": [
            {
                "name": "Big",
                "conditions": [
                    {"feature": "employee_count", "operator": "gte", "value": min_employees}
                ],
            }
        ],
        "steps": [
            {
                "kind": "create_task",
                "delay_days": 0,
                "config": {"role": "ae", "title": "Call {{ account.name }}", "due_days": 3},
            }
        ],
        **settings,
    }


def published(name="Big accounts", **kwargs):
    """A saved and published playbook (active), from `playbook_data`."""
    playbook = services.playbook_save(data=playbook_data(name, **kwargs))
    services.playbook_publish(playbook=playbook)
    playbook.refresh_from_db()
    return playbook
