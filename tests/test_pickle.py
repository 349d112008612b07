"""Pickling: models, simulators (recompiled on load) and results travel to
worker processes and come back equal, and simulate bit-identically."""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import pickle

import numpy as np
import pytest

import neurokin as nk
from neurokin.examples import hires, robertson

PROTOCOLS = [2, pickle.DEFAULT_PROTOCOL, pickle.HIGHEST_PROTOCOL]


def ode_model():
    return nk.Model.from_odes({"x": "-k*x + s*sin(t)", "y": "k*x - y^2"},
                              {"x": 1.0, "y": 0.0}, {"k": 2.0, "s": 0.5},
                              observables={"total": "x + y", "flux": "k*x"})


def event_model():
    ev = nk.Event("kick", "t >= 1", (("x", "x + a"),))
    return nk.Model.from_odes({"x": "-k*x"}, {"x": 1.0}, {"k": 1.0, "a": 1.0}, events=[ev])


def compartment_model():
    b = nk.ModelBuilder("two compartments")
    b.compartment("cyt", 2.0)
    b.compartment("nuc", 0.5)
    b.species("A", 1.0, compartment="cyt")
    b.species("B", 0.0, compartment="nuc")
    b.parameter("k", 0.7)
    b.reaction("transport", {"A": -1, "B": 1}, "k*A*cyt")
    return b.build()


MODELS = {"odes": ode_model, "events": event_model, "compartments": compartment_model,
          "robertson": robertson, "hires": hires, "serotonin": lambda: nk.models.serotonin()}


def roundtrip(obj, protocol=pickle.HIGHEST_PROTOCOL):
    return pickle.loads(pickle.dumps(obj, protocol=protocol))


def same_result(a, b):
    """Equal as Result objects, and bit-identical in everything they carry."""
    assert a == b
    assert a.names == b.names and a.status == b.status and a.message == b.message
    assert a.method == b.method and a.stats == b.stats
    assert np.array_equal(a.t, b.t) and np.array_equal(a.y, b.y)
    assert a.t.dtype == b.t.dtype and a.y.dtype == b.y.dtype
    assert set(a.observables) == set(b.observables)
    for k in a.observables:
        assert np.array_equal(a.observables[k], b.observables[k])


def t_end(name):
    return {"robertson": 1e3, "hires": 321.8122, "serotonin": 5.0}.get(name, 3.0)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_roundtrip(name, protocol):
    m = MODELS[name]()
    m2 = roundtrip(m, protocol)
    assert m2 == m and hash(m2) == hash(m)
    assert m2 is not m
    assert m2.species_names == m.species_names
    assert m2.parameters == m.parameters
    assert m2.rhs_expressions() == m.rhs_expressions()
    assert repr(m2) == repr(m)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_simulator_roundtrip_simulates_identically(name):
    sim = nk.Simulator(MODELS[name]())
    kw = dict(rtol=1e-8, atol=1e-10)
    before = sim.simulate(t_end(name), **kw)
    sim2 = roundtrip(sim)
    assert sim2 is not sim and sim2._runner is not sim._runner  # recompiled
    assert sim2.model == sim.model
    assert sim2.names == sim.names and sim2.linear_solver == sim.linear_solver
    same_result(sim2.simulate(t_end(name), **kw), before)
    # the original is untouched by the copy
    same_result(sim.simulate(t_end(name), **kw), before)


@pytest.mark.parametrize("solver", ["dense", "sparse", "gmres"])
def test_simulator_keeps_its_linear_solver(solver):
    sim = nk.Simulator(hires(), linear_solver=solver)
    sim2 = roundtrip(sim)
    assert sim2.linear_solver == solver
    te = np.linspace(0, 321.8122, 11)
    same_result(sim2.simulate(321.8122, t_eval=te), sim.simulate(321.8122, t_eval=te))


@pytest.mark.parametrize("method", ["bdf", "radau5"])
def test_result_roundtrip(method):
    r = nk.Simulator(ode_model()).simulate(3.0, method=method, t_eval=np.linspace(0, 3, 7))
    assert r.observables  # carried along
    for protocol in PROTOCOLS:
        r2 = roundtrip(r, protocol)
        same_result(r2, r)
        np.testing.assert_array_equal(r2["total"], r["x"] + r["y"])
        assert r2.final() == r.final()


def test_failed_result_roundtrip():
    r = nk.Simulator(nk.Model.from_odes({"y": "y^2"}, {"y": 1.0})).simulate(2.0)
    assert not r.success
    r2 = roundtrip(r)
    same_result(r2, r)
    assert not r2.success and r2.status == nk.Status.STEP_TOO_SMALL


def test_empty_and_unequal_results():
    r = nk.Simulator(ode_model()).simulate(1.0)
    r2 = roundtrip(r)
    r2.y = r2.y.copy()
    r2.y[-1, 0] += 1e-300 if r2.y[-1, 0] == 0 else abs(r2.y[-1, 0]) * 1e-15
    assert r2 != r


def test_ensemble_result_roundtrip():
    sim = nk.Simulator(ode_model())
    ens = sim.ensemble({"k": [0.5, 1.0, 2.0]}, np.linspace(0, 2, 5), workers=2)
    e2 = roundtrip(ens)
    assert np.array_equal(e2.y, ens.y) and np.array_equal(e2.status, ens.status)
    assert e2.names == ens.names and e2.varied == ens.varied


def test_solve_ivp_result_roundtrip():
    r = nk.solve_ivp(lambda t, y: -y, (0, 1), [1.0, 2.0])
    r2 = roundtrip(r)
    assert isinstance(r2, nk.OdeResult)
    assert np.array_equal(r2.t, r.t) and np.array_equal(r2.y, r.y)
    assert r2.success == r.success and r2.message == r.message


def test_compiled_model_roundtrip():
    sim = nk.Simulator(robertson())
    cm2 = roundtrip(sim._compiled)
    assert (cm2.n_y, cm2.n_p, cm2.nnz) == (sim._compiled.n_y, sim._compiled.n_p,
                                           sim._compiled.nnz)


def _simulate_in_worker(sim, t_end, kw):
    return sim.simulate(t_end, **kw)


@pytest.mark.slow
def test_simulators_travel_to_worker_processes():
    # a fresh interpreter (spawn): nothing is inherited, all goes by pickle
    sims = [nk.Simulator(robertson()), nk.Simulator(ode_model())]
    kw = dict(rtol=1e-8, atol=1e-10)
    local = [s.simulate(10.0, **kw) for s in sims]
    with cf.ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as ex:
        remote = list(ex.map(_simulate_in_worker, sims, [10.0] * 2, [kw] * 2))
    for a, b in zip(remote, local):
        same_result(a, b)
