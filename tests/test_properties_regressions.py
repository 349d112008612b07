"""Minimal reproducers of engine defects found by tests/test_properties.py.

Each was marked xfail(strict=True) until its fix landed; now each guards its
fix.  The defects: a non-negativity clamp in the steady-state Newton that
emptied siphons and bisected linear decays; convergence judged on the reduced
system only; numpy errors escaping on NaN Jacobians; no non-negativity
constraint on reaction-model steps (fixed by CVODE-style step rejection).
"""
from __future__ import annotations

import numpy as np
import pytest

import neurokin as nk


def boundary_trap_model():
    """Detailed-balance network (all k = 1) with a siphon {S0, S1, S2, S4}:
    S3 only reacts with S0.  Its thermodynamic equilibrium from this
    positive start is x = (1.9155, 1.9155, 3.6690, 1.9155, 1.9155)."""
    k = {f"k{i}": 1.0 for i in range(8)}
    rx = [("R0", {"S0": -1, "S1": 1}, "k0*S0"), ("R0r", {"S1": -1, "S0": 1}, "k1*S1"),
          ("R1", {"S0": -1, "S1": -1, "S2": 1}, "k2*S0*S1"),
          ("R1r", {"S2": -1, "S0": 1, "S1": 1}, "k3*S2"),
          ("R2", {"S2": -1, "S0": 1, "S3": 1}, "k4*S2"),
          ("R2r", {"S0": -1, "S3": -1, "S2": 1}, "k5*S0*S3"),
          ("R3", {"S0": -1, "S4": 1}, "k6*S0"), ("R3r", {"S4": -1, "S0": 1}, "k7*S4")]
    return nk.Model.from_reactions(rx, {"S0": 1.0, "S1": 1.0, "S2": 1.0, "S3": 10.0,
                                        "S4": 1.0}, k)


def test_steady_state_is_the_one_reached_not_a_boundary_equilibrium():
    sim = nk.Simulator(boundary_trap_model())
    ss = sim.steady_state()
    reached = sim.simulate(200.0, t_eval=[200.0], rtol=1e-10, atol=1e-14).y[-1]
    np.testing.assert_allclose(reached, [1.9154759, 1.9154759, 3.6690481, 1.9154759,
                                         1.9154759], rtol=1e-6)
    assert ss.stable
    np.testing.assert_allclose(ss.y, reached, rtol=1e-6)


def test_steady_state_of_a_linear_decay_is_exact():
    m = nk.Model.from_reactions([("out", {"S": -1}, "k*S")], {"S": 3.9596449889187926},
                                {"k": 4.067944321083047})
    ss = nk.Simulator(m).steady_state()
    assert ss.converged
    assert abs(ss.x["S"]) <= 1e-14


def test_converged_steady_state_meets_its_documented_tolerance():
    m = nk.Model.from_reactions([("dim", {"A": -2, "A2": 1}, "k*A**2"),
                                 ("undim", {"A": 2, "A2": -1}, "k*A2")],
                                {"A": 1.0, "A2": 0.001}, {"k": 1.0})
    ss = nk.Simulator(m).steady_state()
    assert ss.converged
    assert ss.residual_norm <= 1e-9 * max(1.0, 1.0)


def test_steady_state_of_nan_rates_is_not_a_numpy_error():
    m = nk.Model.from_reactions([("R", {"A": -1}, "k*A/A")], {"A": 0.0}, {"k": 1.0})
    try:
        ss = nk.Simulator(m).steady_state()
    except nk.NeurokinError:
        return
    assert not ss.converged


@pytest.mark.parametrize("method", ["bdf", "radau5"])
def test_hill_consumption_stays_non_negative(method):
    m = nk.Model.from_reactions([("use", {"S": -1}, "V*S**4/(K**4 + S**4)")],
                                {"S": 10.0}, {"V": 10.0, "K": 0.01})
    r = nk.Simulator(m).simulate(2.0, method=method)       # default rtol/atol
    # exact: S = 10 - 10 t until S ~ K, then S -> 0 from above (S(2) ~ 4e-3)
    assert r.success
    assert r["S"].min() >= -1e-9
