"""gc_paused: the collector is off inside, restored as it was after."""
import gc
import threading

import neurokin as nk
from neurokin._gcpause import gc_paused


def test_restores_the_collector_after_nesting_and_errors():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        try:
            with gc_paused():
                raise RuntimeError("inside")
        except RuntimeError:
            pass
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()


def test_a_collector_the_user_turned_off_stays_off():
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_concurrent_compiles_leave_the_collector_on():
    m = nk.Model.from_odes({f"x{i}": f"-x{i}*x{(i + 1) % 40}" for i in range(40)},
                           {f"x{i}": 1.0 for i in range(40)}, {})
    errors = []

    def compile_some():
        try:
            for _ in range(5):
                nk.Simulator(m)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=compile_some) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert gc.isenabled()
