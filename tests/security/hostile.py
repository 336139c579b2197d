"""Hostile input shared by the security tests: text that is valid but dangerous when
mishandled (stored verbatim, shown escaped, never evaluated), input that is invalid
(refused with an error naming the field, nothing changed), and the row counts that prove
nothing changed."""

from django.apps import apps
from django.db import connection

SQL = {
    "sql drop table": "'; DROP TABLE accounts_account; --",
    "sql or 1=1": "' OR 1=1 --",
}
MARKUP = {
    "script tag": "<script>alert('abx')</script>",
    "img onerror": '<img src=x onerror="alert(1)">',
}
TEMPLATE = {
    "template variable": "{{ request.user }}",
    "template tag": "{% debug %}",
    "template secret": "{{ settings.SECRET_KEY }}",
}
UNICODE = {
    "rtl override": "Acme \u202etxt.exe",
    "zero-width joiner": "Ac\u200dme \U0001f469\u200d\U0001f4bb",
    "combining marks": "Cafe\u0301 Z\u0336a\u0337l\u0338g\u0335o",
    "emoji": "Acme \U0001f680\U0001f525",
}
# Valid text: stored exactly as given, rendered escaped, never evaluated.
HOSTILE_TEXT = {**SQL, **MARKUP, **TEMPLATE, **UNICODE}

NUL = "Ac\x00me"
LONE_SURROGATE = "Acme \ud800"
HUGE = "A" * 100_000

APPS = ("accounts", "signals", "metrics", "playbooks")


def row_counts() -> dict[str, int]:
    """How many rows every model of the project's apps holds (history included)."""
    tables = set(connection.introspection.table_names())
    return {
        model._meta.label: model._default_manager.count()
        for label in APPS
        for model in apps.get_app_config(label).get_models()
        if model._meta.db_table in tables
    }


def escaped(text: str) -> str:
    """`text` as Django's autoescape writes it into HTML."""
    from django.utils.html import escape

    return escape(text)
