"""Pausing Python's cyclic garbage collector around a batch that allocates a lot.

A 5,000-item ingest batch makes a few hundred thousand short-lived objects (the parsed
body, validated items, resolutions, rows). Their allocations trigger the collector's
full collections, which walk every object the process holds (Django, the URL conf, the
admin: about 150,000 of them): measured, a third of a batch's CPU time on PostgreSQL.
The batch's objects form no reference cycles, so reference counting frees them as soon
as the batch is done; the collector has nothing to find in them. It is paused for the
batch and resumed after, and runs again as usual on the allocations that follow.
"""

import gc
from contextlib import contextmanager


@contextmanager
def cyclic_gc_paused():
    """Pause the cyclic collector for the block (a no-op where it is already off)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
