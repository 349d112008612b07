"""Thread stress: many threads with their own simulators, many threads sharing
one simulator (its lock serialises), and ensembles sharing one compiled model.
Fixed run counts; every result must be bit-identical to the serial one.

NEUROKIN_STRESS=<factor> multiplies the run counts (default 1: a few seconds).
"""
from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import neurokin as nk
from neurokin.examples import hires, robertson

SCALE = max(1, int(os.environ.get("NEUROKIN_STRESS", "1")))
THREADS = 8
RUNS = 20 * SCALE           # runs per thread
TE = np.linspace(0.0, 40.0, 41)


@pytest.fixture(autouse=True)
def fast_switching():
    # switch threads often, so that the interleavings vary
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(old)


def model():
    # a small stiff network with a parameter that changes the trajectory
    return nk.Model.from_reactions(
        [("r1", {"A": -1, "B": 1}, "k1*A"),
         ("r2", {"B": -2, "C": 1}, "k2*B^2"),
         ("r3", {"B": -1, "C": -1, "A": 1}, "k3*B*C/(Km + C)")],
        {"A": 1.0, "B": 0.0, "C": 0.0}, {"k1": 0.04, "k2": 3e4, "k3": 1e3, "Km": 0.5})


CASES = [("bdf", "dense"), ("radau5", "dense"), ("bdf", "sparse"), ("radau5", "sparse"),
         ("bdf", "gmres")]


def job(i):
    """The i-th run: its method, solver, parameters and output mode."""
    method, solver = CASES[i % len(CASES)]
    k1 = 0.02 + 0.01 * (i % 7)
    t_eval = TE if i % 2 == 0 else None  # every-step output grows buffers
    return method, solver, {"k1": k1}, t_eval


def run(sim, i):
    method, _, params, t_eval = job(i)
    return sim.simulate(40.0, t_eval=t_eval, method=method, parameters=params,
                        rtol=1e-7, atol=1e-10)


def identical(a, b):
    assert a.status == b.status, (a.status, b.status)
    assert np.array_equal(a.t, b.t)
    assert np.array_equal(a.y, b.y)  # bit-identical, not merely close
    assert a.stats == b.stats


def run_threads(n, target):
    barrier = threading.Barrier(n)
    errors = []

    def wrapped(k):
        try:
            barrier.wait()
            target(k)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
    threads = [threading.Thread(target=wrapped, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


@pytest.fixture(scope="module")
def serial():
    m = model()
    sims = {s: nk.Simulator(m, linear_solver=s) for s in ("dense", "sparse", "gmres")}
    out = {}
    for i in range(len(CASES) * 2 * 7):
        res = run(sims[job(i)[1]], i)
        assert res.success, res.message
        out[i] = res
    return out


def test_threads_with_their_own_simulators(serial):
    m = model()
    counts = [0] * THREADS

    def work(k):
        for r in range(RUNS):
            i = (k * RUNS + r) % len(serial)
            sim = nk.Simulator(m, linear_solver=job(i)[1])  # compiled in this thread
            identical(run(sim, i), serial[i])
            counts[k] += 1
    run_threads(THREADS, work)
    assert sum(counts) == THREADS * RUNS


def test_threads_sharing_one_simulator(serial):
    for solver in ("dense", "sparse"):
        sim = nk.Simulator(model(), linear_solver=solver)
        mine = [i for i in serial if job(i)[1] == solver]
        counts = [0] * THREADS

        def work(k):
            for r in range(RUNS):
                i = mine[(k + r * THREADS) % len(mine)]
                identical(run(sim, i), serial[i])
                # the other entry points share the same workspace and lock
                y = sim.rhs({"A": 0.5, "B": 0.1})
                assert np.all(np.isfinite(y))
                counts[k] += 1
        run_threads(THREADS, work)
        assert sum(counts) == THREADS * RUNS


def test_threads_sharing_one_compiled_model_through_ensembles():
    sim = nk.Simulator(model())
    k1 = np.linspace(0.01, 0.1, 4 * THREADS)
    ref = sim.ensemble({"k1": k1}, TE, workers=1, rtol=1e-7, atol=1e-10)
    assert np.all(ref.status == 0)
    # the members one by one with simulate agree bit for bit
    for j in (0, len(k1) // 2, len(k1) - 1):
        one = sim.simulate(40.0, t_eval=TE, parameters={"k1": k1[j]}, rtol=1e-7, atol=1e-10)
        assert np.array_equal(one.y, ref.y[j])
    counts = [0] * 4

    def work(k):
        for r in range(max(1, RUNS // 2)):
            ens = sim.ensemble({"k1": k1}, TE, workers=THREADS, rtol=1e-7, atol=1e-10)
            assert np.array_equal(ens.y, ref.y) and np.array_equal(ens.status, ref.status)
            counts[k] += 1
    run_threads(4, work)  # 4 concurrent ensembles of 8 workers on one compiled model
    assert sum(counts) == 4 * max(1, RUNS // 2)


def test_concurrent_solve_ivp_with_python_callbacks():
    # Python right-hand sides: the C threads take the GIL back in every callback
    def rober(t, y, k1, k2, k3):
        return [-k1 * y[0] + k3 * y[1] * y[2],
                k1 * y[0] - k3 * y[1] * y[2] - k2 * y[1] ** 2,
                k2 * y[1] ** 2]
    params = [(0.04 * (1 + 0.1 * j), 3e7, 1e4) for j in range(THREADS)]
    methods = ["BDF", "Radau"]
    ref = {(j, m): nk.solve_ivp(rober, (0, 100), [1, 0, 0], method=m, args=params[j],
                                rtol=1e-6, atol=1e-10)
           for j in range(THREADS) for m in methods}
    counts = [0] * THREADS

    def work(k):
        for r in range(max(2, RUNS // 2)):
            m = methods[(k + r) % 2]
            res = nk.solve_ivp(rober, (0, 100), [1, 0, 0], method=m, args=params[k],
                               rtol=1e-6, atol=1e-10)
            assert res.success
            assert np.array_equal(res.t, ref[k, m].t) and np.array_equal(res.y, ref[k, m].y)
            counts[k] += 1
    run_threads(THREADS, work)
    assert sum(counts) == THREADS * max(2, RUNS // 2)


def test_create_and_drop_simulators_across_threads():
    # simulators built in one thread, used and dropped in others (dealloc of
    # the C workspaces from any thread)
    models = [robertson(), hires(), model()]
    built = [nk.Simulator(models[k % 3]) for k in range(THREADS * 2)]
    expect = [s.simulate(1.0, t_eval=[0.0, 1.0]).y for s in built]

    def work(k):
        for j in (k, k + THREADS):
            s = built[j]
            built[j] = None
            assert np.array_equal(s.simulate(1.0, t_eval=[0.0, 1.0]).y, expect[j])
            del s
    run_threads(THREADS, work)
    assert all(b is None for b in built)


def test_pool_of_mixed_work(serial):
    # a thread pool mixing every kind of call on shared and private objects
    shared = nk.Simulator(model())
    m = model()
    n_tasks = THREADS * RUNS * 2

    def task(j):
        i = j % len(serial)
        kind = j % 3
        if kind == 0:
            res = run(nk.Simulator(m, linear_solver=job(i)[1]), i)
        elif kind == 1 and job(i)[1] == shared.linear_solver:
            res = run(shared, i)
        else:
            res = run(nk.Simulator(m, linear_solver=job(i)[1]), i)
        identical(res, serial[i])
        return 1
    with ThreadPoolExecutor(THREADS) as ex:
        assert sum(ex.map(task, range(n_tasks))) == n_tasks
