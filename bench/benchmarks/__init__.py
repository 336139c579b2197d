"""Every benchmark module, imported in the order of the results table."""

from . import ingest, queries, metrics, pages  # noqa: I001, F401 - the order is the table's
from . import pending  # noqa: F401 - rows not built yet come last
