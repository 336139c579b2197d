"""Every benchmark module, imported in the order of the results table."""

from . import ingest, queries, metrics, evaluation, pages  # noqa: I001, F401 - the order is the table's
