"""Rows of DESIGN §10 whose features are not built (or not measured) yet: the table says so."""

from ..registry import todo

todo(
    name="evaluate 50 active playbooks (100k accounts)",
    target="<= 10 s; evaluation baseline within 5x",
    reason="not built yet: playbook evaluation benchmark (playbooks, issue 5)",
)
