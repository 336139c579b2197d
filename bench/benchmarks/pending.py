"""Rows of DESIGN §10 whose features are not built yet: the table says so."""

from ..registry import todo

todo(
    name="recompute all scores (100k accounts)",
    target="<= 30 s",
    reason="not built yet: score models and recompute (metrics, issue 4)",
)
todo(
    name="evaluate 50 active playbooks (100k accounts)",
    target="<= 10 s; evaluation baseline within 5x",
    reason="not built yet: playbook evaluation (playbooks, issue 5)",
)
todo(
    name="account scoreboard API",
    target="p99 <= 25 ms, <= 10 queries; minimal DRF one-SELECT view",
    reason="not built yet: the scoreboard API (metrics)",
)
todo(
    name="rollup by tier (100k accounts)",
    target="<= 500 ms",
    reason="not built yet: tier rollups (metrics)",
)
