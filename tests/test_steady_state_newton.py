"""The steady-state Newton iteration in C (ModelRunner.newton_steady) is the
Python one (analysis._newton) step for step: same decisions, same iterates
up to LU rounding; at a singular Jacobian both take the least-squares step of
smallest norm (nk_lstsq in C, numpy's lstsq in Python)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import neurokin as nk
from neurokin import analysis, models

BIOMODELS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "biomodels"


def both(sim, monkeypatch, **kw):
    monkeypatch.setattr(analysis, "NEWTON_C_MAX_STATES", 500)
    c = sim.steady_state(**kw)
    monkeypatch.setattr(analysis, "NEWTON_C_MAX_STATES", 0)
    py = sim.steady_state(**kw)
    return c, py


def assert_same(c, py):
    assert (c.converged, c.method, c.iterations) == (py.converged, py.method, py.iterations)
    np.testing.assert_allclose(c.y, py.y, rtol=1e-9, atol=1e-15)


def _sims():
    out = [nk.Simulator(getattr(models, m)()) for m in
           ("transmitter_network", "serotonin", "dopamine", "gaba_glutamate", "hpa_axis")]
    for f in sorted(BIOMODELS.glob("*.xml"))[:6]:
        out.append(nk.Simulator(nk.load_sbml(f)))
    return out


@pytest.mark.parametrize("k", range(11))
def test_c_newton_follows_the_python_iteration(k, monkeypatch):
    sims = _sims()
    if k >= len(sims):
        pytest.skip("fewer models")
    sim = sims[k]
    rng = np.random.default_rng(k)
    names = [p for p in sim._pnames if sim.model.parameters.get(p, 0) > 0][:15]
    assert_same(*both(sim, monkeypatch))
    for _ in range(3):   # perturbed: some members need presimulation
        par = {p: sim.model.parameters[p] * rng.lognormal(0, 0.3) for p in names}
        assert_same(*both(sim, monkeypatch, parameters=par))


def test_conservation_laws_and_held_species(monkeypatch):
    # A <-> B conserved (A + B = 2), S held constant, P made from S and removed
    b = nk.ModelBuilder("held")
    for sid, v in (("A", 2.0), ("B", 0.0), ("P", 0.0)):
        b.species(sid, v)
    b.species("S", 3.0, constant=True)
    for pid, v in (("kf", 2.0), ("kb", 1.0), ("ks", 0.5), ("kd", 0.25)):
        b.parameter(pid, v)
    b.reaction("r1", {"A": -1, "B": 1}, "kf*A")
    b.reaction("r2", {"B": -1, "A": 1}, "kb*B")
    b.reaction("r3", {"P": 1}, "ks*S")
    b.reaction("r4", {"P": -1}, "kd*P")
    sim = nk.Simulator(b.build())
    c, py = both(sim, monkeypatch)
    assert_same(c, py)
    assert c.converged
    np.testing.assert_allclose(c.x["A"], 2 / 3, rtol=1e-9)
    np.testing.assert_allclose(c.x["P"], 6.0, rtol=1e-9)
    assert c.x["S"] == 3.0


def test_singular_jacobian_takes_least_squares_steps(monkeypatch):
    # df/dx = -3 (x - 1)^2 vanishes at the start x = 1
    sim = nk.Simulator(nk.Model.from_odes({"x": "-(x - 1)^3", "y": "-(y - 2)^3"},
                                          {"x": 1.0, "y": 0.5}))
    laws, y0, p = sim.conservation_laws(), sim._y0.copy(), sim._p0.copy()
    csys = analysis.c_system(sim, laws, ())
    run_c = analysis._newton_in_c(sim, csys, laws.totals(y0), p, y0, 1e-9, 50)
    y, iters, ok = run_c(y0)                  # zero pivot at x = 1: least squares
    assert ok and y[0] == 1.0
    c, py = both(sim, monkeypatch, presimulate=False)
    assert_same(c, py)
