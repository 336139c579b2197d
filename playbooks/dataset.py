"""The playbooks of a generated data set (`manage.py generate_dataset`, DESIGN §10).

Registered as a data set phase in `PlaybooksConfig.ready()`, after the scores: `playbooks`
active playbooks (50 at the bench size), drawn from the demo library's published plays
(`playbooks.demo`) in rounds. The first round is the library itself; each later round is
the same plays with thresholds raised and signal windows changed, as a team that runs
one play per tier, region or segment would have them. They are saved and published
through the services, as RevOps would; none is evaluated here (that is what the bench
measures).
"""

import copy
from collections import Counter

from accounts.selectors import tier_list

from . import services
from .demo import demo_playbooks

# Each round's signal windows, as multiples of the library's (capped at MAX_DAYS).
WINDOW_FACTORS = [1, 2, 1, 3, 1, 2, 4]
MAX_DAYS = 90


def dataset_playbooks(count: int, tiers: list[str]) -> list[dict]:
    library = [data for data in demo_playbooks(tiers) if "(draft)" not in data["name"]]
    result = []
    for number in range(count):
        round_, base = divmod(number, len(library))
        data = copy.deepcopy(library[base])
        if round_:
            data["name"] = f"{data['name']} ({round_ + 1})"
            data["priority"] = data.get("priority", 100) + round_
            for trigger in data["triggers"]:
                for condition in trigger["conditions"]:
                    _vary(condition, round_)
        result.append(data)
    return result


def _vary(condition: dict, round_: int) -> None:
    value = condition["value"]
    if isinstance(value, int | float) and not isinstance(value, bool):
        raised = value * (1 + 0.1 * round_)
        condition["value"] = round(raised) if isinstance(value, int) else raised
    days = condition["params"].get("days")
    if days:
        factor = WINDOW_FACTORS[round_ % len(WINDOW_FACTORS)]
        condition["params"]["days"] = min(days * factor, MAX_DAYS)


def playbooks_phase(dataset) -> Counter:
    tiers = [tier.name for tier in tier_list()]
    counts = Counter()
    for data in dataset_playbooks(dataset.sizes.playbooks, tiers):
        playbook = services.playbook_save(data=data)
        services.playbook_publish(playbook=playbook, note="Generated data set")
        counts["playbooks"] += 1
    return counts
