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


_NAN_JACOBIAN_STEADY_STATE = """
import neurokin as nk
rx = [("R0", {"X0": -1, "X2": -1, "X3": -2}, "k0*(X1 - X1)"),
      ("R1", {"X3": -2, "X2": 2, "X1": 2}, "k1*(X3 - X0)"),
      ("R2", {"X1": -2, "X3": 2}, "k2*sqrt(X0)"),     # d/dX0 at X0 = 0: 0 * inf = NaN
      ("R3", {"X2": -2, "X0": -1}, "k3*X0*X1")]
m = nk.Model.from_reactions(rx, {"X0": 0.0, "X1": 0.0, "X2": 0.0, "X3": 6.9},
                            {"k0": 0.0, "k1": 0.0, "k2": 0.0, "k3": 0.0})
try:
    nk.Simulator(m).steady_state()
except nk.NeurokinError:
    pass
"""


def test_steady_state_with_a_nan_jacobian_returns():
    """Found hanging before 21474d8: np.linalg.solve rejected the singular
    NaN Jacobian and the fallback np.linalg.lstsq (LAPACK gelsd) never
    returned on it.  Every rate here is 0.  Run in a subprocess so that a
    regression fails the test instead of hanging the suite."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    env = dict(os.environ)
    pkg = str(Path(nk.__file__).resolve().parents[1])
    env["PYTHONPATH"] = pkg + os.pathsep + env.get("PYTHONPATH", "")
    try:
        subprocess.run([sys.executable, "-c", _NAN_JACOBIAN_STEADY_STATE], env=env,
                       timeout=30, capture_output=True, check=True)
    except subprocess.TimeoutExpired:
        pytest.fail("steady_state did not return within 30 s")


def test_radau5_integrates_a_two_compartment_mass_action_network():
    """radau5 stopped with STEP_TOO_SMALL at t=0.18: a species left at -atol
    by one step's error fed negative rates into another until it crossed
    -atol and every later step was rejected; fixed by projecting values in
    [-atol, 0) to 0 on acceptance."""
    rx = [("R0", {"S0": -1, "S2": 1}, "kf0*S0"),
          ("R2", {"S3": -1, "S0": 1, "S4": 1}, "kf2*S3"),
          ("R3r", {"S5": -1, "S1": 1}, "kr3*S5"),
          ("R4", {"S2": -1, "S5": -1, "S3": 1}, "kf4*S2*S5")]
    initial = {"S0": 0.0, "S1": 0.0, "S2": 0.0, "S3": 0.0, "S4": 0.0,
               "S5": 3.1622776601683795}
    m = nk.Model.from_reactions(
        rx, initial, {"kf0": 1.0, "kf2": 1.0, "kr3": 100.0, "kf4": 749.8942093324558},
        compartments={"comp0": 0.1, "comp1": 1.0},
        species_compartment={s: ("comp1" if s in ("S2", "S3") else "comp0") for s in initial})
    r = nk.Simulator(m).simulate(1.0, method="radau5", rtol=1e-4, atol=1e-10)
    assert r.success, r.message
