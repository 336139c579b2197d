import gc

import pytest

from abx_site.common.gc_pause import cyclic_gc_paused


def test_the_collector_is_paused_for_the_block_and_resumed_even_after_an_error():
    assert gc.isenabled()

    with pytest.raises(ZeroDivisionError), cyclic_gc_paused():
        assert not gc.isenabled()
        1 / 0  # noqa: B018 - the error is the point

    assert gc.isenabled()


def test_a_collector_already_off_stays_off():
    gc.disable()
    try:
        with cyclic_gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
