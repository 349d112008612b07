"""Fuzz target: rate-expression text through parse, compile and a short simulation.

Every input must end in a result or a ``NeurokinError``: never a crash, a
hang, another exception type or an uncaught C error.

As an atheris harness (libFuzzer; ``pip install atheris``)::

    PYTHONPATH=python python tests/fuzz/fuzz_expr.py tests/fuzz/corpus \
        -max_total_time=600 -timeout=20 -rss_limit_mb=4096

``check_expression(text)`` is the shared oracle; tests/test_fuzz.py drives it
with hypothesis.
"""
from __future__ import annotations

import math
import os
import signal
import sys
import threading
from contextlib import contextmanager

import numpy as np

import neurokin as nk
from neurokin import expr as E

NAMES = ("x", "y", "k", "Km")        # the model's states (x, y) and parameters (k, Km)
STATES = {"x": 1.0, "y": 0.5}
PARAMS = {"k": 1.5, "Km": 0.25}
MAX_STEPS = 3000                      # a hard bound on every simulation's work
T_END = 1.0


class Hang(BaseException):
    """Raised by the watchdog: an input took longer than the time limit."""


@contextmanager
def watchdog(seconds):
    """Raise Hang in the main thread after `seconds` (no-op elsewhere)."""
    if (seconds is None or not hasattr(signal, "setitimer")
            or threading.current_thread() is not threading.main_thread()):
        yield
        return

    def fire(signum, frame):
        raise Hang(f"no result after {seconds} s")
    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _simulate(model, method, solver):
    sim = nk.Simulator(model, linear_solver=solver)
    res = sim.simulate(T_END, method=method, t_eval=[0.0, 0.5, T_END], max_steps=MAX_STEPS)
    assert isinstance(res, nk.Result)
    assert res.status in nk.Status.__members__.values()
    assert res.y.shape == (len(res.t), len(res.names))
    assert len(res.t) >= 1 and res.t[0] == 0.0
    if res.success:
        assert len(res.t) == 3
    # the simulator keeps working, and rhs/Jacobian evaluate without crashing
    sim.rhs()
    sim.jacobian()
    return res


def check_expression(text: str, *, simulate: bool = True) -> str:
    """Run one expression through every stage; returns the stage reached
    ('parse-error', 'model-error', 'simulated'...).  Raises AssertionError
    (or the unexpected exception) when the oracle is violated."""
    assert isinstance(text, str)
    try:
        node = E.parse(text, names=NAMES)
    except nk.NeurokinError:
        node = None
    # parsing without a name list (every name is a symbol) must agree on syntax
    try:
        E.parse(text)
    except nk.NeurokinError:
        pass
    if node is not None:
        # derived forms must not crash
        str(node)
        for v in ("x", "y"):
            try:
                E.diff(node, v)
            except nk.NeurokinError:
                pass
        try:
            val = E.evaluate(node, {"x": 1.0, "y": 0.5, "k": 1.5, "Km": 0.25}, t=0.0)
            assert np.isscalar(val)
        except (nk.NeurokinError, ArithmeticError):
            pass  # evaluation in Python may overflow or divide by zero
    # the model layer: as an ODE right-hand side and an observable
    stage = "parse-error" if node is None else "parsed"
    try:
        m = nk.Model.from_odes({"x": text, "y": "-k*y"}, STATES, PARAMS,
                               observables={"obs": text})
    except nk.NeurokinError:
        return stage
    stage = "model"
    if not simulate:
        return stage
    for method, solver in (("bdf", "dense"), ("radau5", "sparse"), ("bdf", "gmres")):
        try:
            _simulate(m, method, solver)
            stage = "simulated"
        except nk.NeurokinError:
            pass
    # a reaction model with the text as a rate law (reaction models check signs)
    try:
        r = nk.Model.from_reactions([("r", {"x": -1, "y": 1}, text)], STATES, PARAMS)
        _simulate(r, "bdf", "dense")
    except nk.NeurokinError:
        pass
    return stage


def run_one(text: str, seconds: float | None = 20.0) -> str:
    with watchdog(seconds):
        return check_expression(text)


def _atheris_main():  # pragma: no cover - needs atheris
    import atheris

    def one_input(data: bytes):
        fdp = atheris.FuzzedDataProvider(data)
        text = fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes())
        run_one(text, seconds=None)  # libFuzzer's -timeout catches hangs

    atheris.instrument_all()
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
    _atheris_main()
