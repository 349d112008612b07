"""The lane engine (nk_ensemble): NK_LANES BDF members in flight per thread,
their right-hand sides and Newton solves evaluated lane-interleaved.

Its promise is exactness: every member bit-identical to the same member
integrated alone by the scalar driver (``ModelRunner.run``, the code behind
``Simulator.simulate``), whatever the other members in the lanes do --
failing, finishing early, running at other orders and step sizes.  These
tests compare the two bit for bit on models and options chosen to make the
lanes diverge.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import neurokin as nk
from neurokin._core import ENSEMBLE_COUNTERS, ERR_ARGUMENT, LANES, METHODS
from neurokin.ensemble import _run_chunk_loop, lanes_apply, run_chunk
from neurokin.testing import nasty_networks, open_networks

HIRES = Path(__file__).resolve().parents[2] / "shared" / "data" / "ivp" / "hires.json"


def hires_sim():
    d = json.loads(HIRES.read_text())
    m = nk.Model.from_odes({s: d["rhs"][s] for s in d["species"]},
                           {s: float(d["initial_values"][s]) for s in d["species"]},
                           {k: float(v) for k, v in d["parameters"].items()}, name="hires")
    return nk.Simulator(m, linear_solver="dense"), float(d["t_end"])


def full_rows(sim, varied: dict, members: int):
    """(P, Y): full parameter vectors and initial states, one row per member."""
    P = np.tile(np.asarray(sim._p0, dtype=float), (members, 1))
    for name, values in varied.items():
        P[:, sim._pindex[name]] = values
    Y = np.tile(np.asarray(sim._y0, dtype=float), (members, 1))
    return P, Y


def scalar_runs(sim, P, Y, t_eval, rtol, atol, **opt):
    """Each member through ModelRunner.run: (y with NaN after failures, codes,
    the stats counters named by ENSEMBLE_COUNTERS)."""
    out = np.full((P.shape[0], t_eval.size, Y.shape[1]), np.nan)
    codes = np.zeros(P.shape[0], dtype=np.intc)
    counts = np.zeros((P.shape[0], len(ENSEMBLE_COUNTERS)), dtype=np.int64)
    for i in range(P.shape[0]):
        t, y, code, stats = sim._runner.run(
            METHODS["bdf"], 0.0, float(t_eval[-1]), Y[i], P[i], t_eval, rtol, atol,
            opt.get("max_steps", 500000), opt.get("h0", 0.0), opt.get("hmax", 0.0),
            opt.get("max_order", 5), False, opt.get("nonnegative", False))
        out[i, :len(t)] = y
        codes[i] = code
        counts[i] = [stats.get(k, 0) for k in ENSEMBLE_COUNTERS]
    return out, codes, counts


def assert_bitwise(a, b):
    assert a.shape == b.shape
    # equal including the positions of NaN (rows after a failure) and signed zeros
    assert np.array_equal(np.isnan(a), np.isnan(b))
    ok = ~np.isnan(a)
    assert np.array_equal(a[ok].view(np.int64), b[ok].view(np.int64))


@pytest.fixture(scope="module")
def hires():
    return hires_sim()


@pytest.mark.parametrize("opts", [
    {},
    {"max_order": 2},
    {"hmax": 3.0, "h0": 1e-4},
    {"max_steps": 120},                       # every member stops with TOO_MUCH_WORK
])
def test_hires_members_equal_scalar_runs(hires, opts):
    sim, t_end = hires
    rng = np.random.default_rng(11)
    k = 3 * LANES + 5                         # lanes are refilled, the last batch is partial
    varied = {p: sim._p0[sim._pindex[p]] * rng.lognormal(0, 0.4, k) for p in ("k1", "k7", "Oks")}
    P, Y = full_rows(sim, varied, k)
    t_eval = np.concatenate([[0.0], np.geomspace(1e-3, t_end, 20)])
    atol = np.full(8, 1e-10)
    y, code, counts = sim._runner.run_lanes(0.0, t_end, P, Y, t_eval, 1e-6, atol,
                                    opts.get("max_steps", 500000), opts.get("h0", 0.0),
                                    opts.get("hmax", 0.0), opts.get("max_order", 5))
    ref, rcode, rcounts = scalar_runs(sim, P, Y, t_eval, 1e-6, atol, **opts)
    assert_bitwise(y, ref)
    assert np.array_equal(code, rcode)
    assert np.array_equal(counts, rcounts)
    if "max_steps" in opts:
        assert set(code.tolist()) == {nk.Status.TOO_MUCH_WORK}


def test_mixed_failures_do_not_disturb_neighbours():
    """x' = k x^2 blows up at t = 1/k: members with k > 1 fail inside [0, 1],
    the others finish; interleaved, so failing and running lanes share batches."""
    m = nk.Model.from_odes({"x": "k*x**2", "z": "-c*z*x"}, {"x": 1.0, "z": 1.0},
                           {"k": 0.1, "c": 1.0})
    sim = nk.Simulator(m)
    k = np.tile([0.3, 3.0, 0.5, 20.0, 0.9, 1.5], 4)
    P, Y = full_rows(sim, {"k": k}, k.size)
    t_eval = np.linspace(0.0, 1.0, 11)
    atol = np.full(2, 1e-9)
    y, code, counts = sim._runner.run_lanes(0.0, 1.0, P, Y, t_eval, 1e-7, atol)
    ref, rcode, rcounts = scalar_runs(sim, P, Y, t_eval, 1e-7, atol)
    assert_bitwise(y, ref)
    assert np.array_equal(code, rcode)
    assert np.array_equal(counts, rcounts)
    assert (code[k > 1.0] < 0).all() and (code[k < 1.0] == 0).all()


def test_invalid_start_is_reported_and_the_ensemble_raises_like_simulate():
    """A zero error-weight denominator (y0 = 0 with atol = 0) is an invalid
    start: the lanes report it, and ensemble() raises what simulate() raises."""
    m = nk.Model.from_odes({"a": "-k*a", "b": "k*a"}, {"a": 1.0, "b": 0.5}, {"k": 1.0})
    sim = nk.Simulator(m)
    P, Y = full_rows(sim, {"k": np.ones(3)}, 3)
    Y[1, 0] = 0.0
    y, code, counts = sim._runner.run_lanes(0.0, 1.0, P, Y, np.array([0.5, 1.0]), 1e-6,
                                            np.zeros(2))
    assert code[1] == ERR_ARGUMENT and code[0] == 0 and code[2] == 0
    assert (counts[1] == 0).all() and (counts[[0, 2], 0] > 0).all()
    with pytest.raises(nk.NeurokinError) as single:
        sim.simulate(1.0, t_eval=[0.5, 1.0], initial={"a": 0.0}, atol=0.0)
    with pytest.raises(type(single.value)):
        sim.ensemble({"k": [1.0, 1.0, 1.0]}, initial={"a": [1.0, 0.0, 1.0]},
                     t_eval=[0.5, 1.0], atol=0.0)


def test_ensemble_uses_lanes_and_matches_the_member_loop(hires):
    sim, t_end = hires
    rng = np.random.default_rng(5)
    k = 21
    Pv = np.column_stack([sim._p0[sim._pindex[p]] * rng.lognormal(0, 0.2, k)
                          for p in ("k2", "k8")])
    ens = sim.ensemble({"k2": Pv[:, 0], "k8": Pv[:, 1]}, t_eval=np.linspace(0, t_end, 9),
                       rtol=1e-6, atol=1e-10)
    from neurokin.ensemble import _spec
    spec = _spec(sim, np.linspace(0, t_end, 9), "bdf", 1e-6, 1e-10, 0.0,
                 ["k2", "k8"], [], {})
    assert lanes_apply(sim, spec)
    loop, status, counts = _run_chunk_loop(sim, spec, Pv, np.zeros((k, 0)))
    assert_bitwise(ens.y, loop)
    assert np.array_equal(ens.status, status)
    assert np.array_equal(ens.counts, counts)
    lanes, lstatus, lcounts = run_chunk(sim, spec, Pv, np.zeros((k, 0)))
    assert_bitwise(lanes, loop)
    assert np.array_equal(lcounts, counts)
    # by name, as sim.simulate reports them
    one = sim.simulate(t_end, t_eval=np.linspace(0, t_end, 9), rtol=1e-6, atol=1e-10,
                       parameters={"k2": Pv[3, 0], "k8": Pv[3, 1]})
    assert {k: int(v[3]) for k, v in ens.stats.items()} == \
        {k: one.stats[k] for k in ENSEMBLE_COUNTERS}
    assert (ens.stats["n_steps"] > 0).all()


def test_lanes_do_not_apply_to_other_solvers_or_events(hires):
    sim, t_end = hires
    from neurokin.ensemble import _spec
    spec = _spec(sim, np.linspace(0, t_end, 3), "radau5", 1e-6, 1e-10, 0.0, [], [], {})
    assert not lanes_apply(sim, spec)
    sparse = nk.Simulator(sim.model, linear_solver="sparse")
    spec = _spec(sparse, np.linspace(0, t_end, 3), "bdf", 1e-6, 1e-10, 0.0, [], [], {})
    assert not lanes_apply(sparse, spec)
    from neurokin.ensemble import LANES_MAX_SPECIES
    n = LANES_MAX_SPECIES + 1
    big = nk.Simulator(nk.Model.from_odes({f"x{i}": f"-k*x{i}" for i in range(n)},
                                          {f"x{i}": 1.0 for i in range(n)}, {"k": 1.0}),
                       linear_solver="dense")
    spec = _spec(big, np.linspace(0, 1, 3), "bdf", 1e-6, 1e-10, 0.0, [], [], {})
    assert not lanes_apply(big, spec)


def test_transmitter_network_nonnegative_members_equal_simulate():
    """The built-in network: reaction kinetics with the non-negativity
    constraint (its rejections change the step sequence per member)."""
    sim = nk.Simulator(nk.models.transmitter_network())
    names = list(sim._pnames)[:4]
    rng = np.random.default_rng(3)
    varied = {p: sim._p0[sim._pindex[p]] * rng.lognormal(0, 0.5, 10) for p in names}
    t_eval = np.linspace(0, 50, 6)
    ens = sim.ensemble(varied, t_eval=t_eval)
    for i in (0, 4, 9):
        one = sim.simulate(t_eval[-1], t_eval=t_eval,
                           parameters={p: v[i] for p, v in varied.items()})
        assert_bitwise(ens.y[i], one.y)


def _compare_network(net, seed, rtol):
    sim = nk.Simulator(net.model)
    names = [p for p in sim._pnames if p in net.model.parameters]
    rng = np.random.default_rng(seed)
    k = LANES + 3
    varied = {p: sim._p0[sim._pindex[p]] * rng.lognormal(0, 1.0, k) for p in names}
    P, Y = full_rows(sim, varied, k)
    Y *= rng.lognormal(0, 0.5, Y.shape)
    t_eval = np.array([0.0, 0.01, 0.3, 2.0, 10.0])
    atol = np.full(Y.shape[1], rtol * 1e-3)
    try:
        y, code, counts = sim._runner.run_lanes(0.0, 10.0, P, Y, t_eval, rtol, atol, 3000)
    except nk.NeurokinError:
        return
    ref, rcode, rcounts = scalar_runs(sim, P, Y, t_eval, rtol, atol, max_steps=3000)
    assert_bitwise(y, ref)
    assert np.array_equal(code, rcode)
    assert np.array_equal(counts, rcounts)


@settings(max_examples=max(1, settings().max_examples // 4), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(net=nasty_networks(), seed=st.integers(0, 2**32 - 1),
       rtol=st.sampled_from([1e-3, 1e-6, 1e-9]))
def test_nasty_models_lanes_equal_scalar(net, seed, rtol):
    """Rate laws that divide, take roots and logs, constants over 24 decades:
    members fail in every way; each must still match its scalar run exactly."""
    _compare_network(net, seed, rtol)


@settings(max_examples=max(1, settings().max_examples // 4), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(net=open_networks(), seed=st.integers(0, 2**32 - 1),
       rtol=st.sampled_from([1e-4, 1e-8]))
def test_open_networks_lanes_equal_scalar(net, seed, rtol):
    _compare_network(net, seed, rtol)
