"""The steady-state search in C (src/core/nk_steady_point.c, nk_eigen.c):
its eigenvalues against numpy's LAPACK, and steady-state ensembles, which run
it for whole chunks with the GIL released, against ``sim.steady_state``
member by member, bit for bit, with 1 and 2 threads."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import neurokin as nk
from neurokin import analysis, models

BIOMODELS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "biomodels"


def linear(A):
    """dy/dt = A y: its Jacobian is A everywhere."""
    names = [f"x{i}" for i in range(A.shape[0])]
    rhs = {s: " + ".join(f"({float(A[i, j])!r})*{names[j]}" for j in range(len(names))
                         if A[i, j] != 0) or "0" for i, s in enumerate(names)}
    return nk.Simulator(nk.Model.from_odes(rhs, {s: 1.0 for s in names}))


def matched_error(got, want):
    """Largest distance from each wanted eigenvalue to its nearest unused one."""
    got, left, worst = np.asarray(got, complex), set(range(len(got))), 0.0
    assert len(got) == len(want)
    for w in want:
        k = min(left, key=lambda j: abs(got[j] - w))
        left.remove(k)
        worst = max(worst, abs(got[k] - w))
    return worst


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 9), seed=st.integers(0, 2**31), sparse=st.booleans(),
       spread=st.floats(0.0, 3.0))
def test_c_eigenvalues_match_lapack(n, seed, sparse, spread):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n)) * np.exp(spread * rng.normal(size=(n, n)))
    if sparse:
        A[rng.random((n, n)) < 0.5] = 0.0
    sim = linear(A)
    wr, wi, status = sim._runner.spectrum(np.ones(n), sim._p0, None)
    assert status == 0
    scale = max(np.linalg.norm(A, 2), 1e-300)
    # random matrices are mostly well conditioned; a tolerance at 1e-9 of the
    # norm leaves room for the occasional close pair
    assert matched_error(wr + 1j * wi, np.linalg.eigvals(A)) <= 1e-9 * scale


def _model_sims():
    out = [nk.Simulator(getattr(models, m)()) for m in
           ("transmitter_network", "serotonin", "dopamine", "gaba_glutamate", "hpa_axis")]
    out += [nk.Simulator(nk.load_sbml(f)) for f in sorted(BIOMODELS.glob("*.xml"))]
    return out


def test_c_spectrum_matches_numpy_on_model_jacobians():
    checked = 0
    for sim in _model_sims():
        ss = sim.steady_state()
        laws = sim.conservation_laws()
        fixed = tuple(i for i, s in enumerate(sim.model.species) if s.constant)
        J = np.array(sim._runner.jac(0.0, ss.y, sim._p0))
        want = analysis._restricted_eigenvalues(J, laws, fixed)
        if not np.all(np.isfinite(want)):
            continue
        assert matched_error(ss.eigenvalues, want) <= 1e-9 * max(np.abs(want).max(), 1.0), \
            sim.model.name
        assert ss.stable == bool(want.size == 0 or np.all(want.real < 0))
        checked += 1
    assert checked >= 10


NETWORKS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "networks"


@pytest.mark.parametrize("name", ["multistate_no_obs.xml", "multisite2_no_obs.xml",
                                  "egfr_net_no_obs.xml"])
def test_c_search_on_benchmark_networks(name):
    # multisite2's Jacobians have clusters of equal eigenvalues (its sites are
    # alike): the QR iteration must still converge there, in C, and agree
    # with LAPACK
    sim = nk.Simulator(nk.load_sbml(NETWORKS / name))
    laws = sim.conservation_laws()
    fixed = tuple(i for i, s in enumerate(sim.model.species) if s.constant)
    csys = analysis.c_system(sim, laws, fixed)
    opt = analysis.steady_state_settings(sim, {})
    pts = analysis.c_points(sim, csys, sim._y0[None, :], sim._p0[None, :], opt)
    assert not pts["deferred"][0] and pts["converged"][0]
    ss = sim.steady_state()
    assert np.array_equal(ss.y, pts["y"][0]) and ss.stable
    for y in (sim._y0, ss.y, pts["y"][0] * 1.1):
        wr, wi, status = sim._runner.spectrum(y, sim._p0, csys.Q)
        assert status == 0
        J = np.array(sim._runner.jac(0.0, y, sim._p0))
        want = analysis._restricted_eigenvalues(J, laws, fixed)
        assert matched_error(wr + 1j * wi, want) <= 1e-9 * max(np.abs(want).max(), 1.0)


def _population(sim, members, seed, start=5.0):
    rng = np.random.default_rng(seed)
    ks = [p for p in sim._pnames if sim.model.parameters.get(p, 0) > 0][:20]
    P = {k: sim.model.parameters[k] * rng.lognormal(0.0, 0.5, members) for k in ks}
    ini = {s: np.full(members, sim._y0[sim._sindex[s]] * start) for s in sim.names[:3]}
    return P, ini


@pytest.mark.parametrize("model", ["hpa_axis", "transmitter_network", "dopamine"])
def test_ensemble_members_are_steady_state_bit_for_bit(model):
    sim = nk.Simulator(getattr(models, model)())
    P, ini = _population(sim, 40, seed=3)
    one = sim.steady_state_ensemble(P, initial=ini, workers=1, chunk_size=7)
    two = sim.steady_state_ensemble(P, initial=ini, workers=2, chunk_size=5)
    assert np.array_equal(one.states, two.states) and one.methods == two.methods
    assert np.array_equal(one.residuals, two.residuals, equal_nan=True)
    seen = set()
    for i in range(40):
        ss = sim.steady_state(initial={k: v[i] for k, v in ini.items()},
                              parameters={k: v[i] for k, v in P.items()})
        assert np.array_equal(one.states[i], ss.y), i
        assert (one.converged[i], one.stable[i], one.methods[i]) == \
            (ss.converged, ss.stable, ss.method), i
        assert one.residuals[i] == ss.residual_norm or \
            (np.isnan(one.residuals[i]) and np.isnan(ss.residual_norm))
        seen.add(ss.method)
    if model == "hpa_axis":   # members of both kinds: C only, and presimulated
        assert seen == {"newton", "presimulation+newton"}


def test_ensemble_without_presimulation_keeps_newtons_point():
    sim = nk.Simulator(models.hpa_axis())
    P, ini = _population(sim, 30, seed=5)
    ens = sim.steady_state_ensemble(P, initial=ini, presimulate=False, workers=2)
    assert set(ens.methods) == {"newton"}
    for i in (0, 7, 29):
        ss = sim.steady_state(initial={k: v[i] for k, v in ini.items()},
                              parameters={k: v[i] for k, v in P.items()}, presimulate=False)
        assert np.array_equal(ens.states[i], ss.y)
        assert (ens.converged[i], ens.stable[i]) == (ss.converged, ss.stable)


def test_singular_jacobian_is_solved_in_c_by_least_squares():
    # df/dx = -3 (x - 1)^2 vanishes at x = 1: every Newton step is a
    # least-squares one, in C; the ensemble gives steady_state's answers
    sim = nk.Simulator(nk.Model.from_odes({"x": "-(x - 1)^3", "y": "-(y - 2)^3"},
                                          {"x": 1.0, "y": 0.5}))
    csys = analysis.c_system(sim, sim.conservation_laws(), ())
    opt = analysis.steady_state_settings(sim, {"presimulate": False})
    pts = analysis.c_points(sim, csys, sim._y0[None, :], sim._p0[None, :], opt)
    assert analysis.points_final(pts)[0] and pts["converged"][0]
    assert pts["y"][0][0] == 1.0 and abs(pts["y"][0][1] - 2.0) < 1e-3
    ens = sim.steady_state_ensemble(None, initial={"x": [1.0, 1.5]}, workers=2)
    for i, x in enumerate([1.0, 1.5]):
        ss = sim.steady_state(initial={"x": x})
        assert np.array_equal(ens.states[i], ss.y) and ens.methods[i] == ss.method


@pytest.mark.parametrize("name", ["BIOMD0000000448.xml", "BIOMD0000000576.xml"])
def test_curated_models_with_singular_jacobians_stay_in_c(name, monkeypatch):
    # their Jacobians are singular at the initial state (rank 24 of 27, 16 of
    # 34, after the conservation laws): least squares in C, and the same
    # decisions as the Python iteration with numpy's lstsq
    sim = nk.Simulator(nk.load_sbml(BIOMODELS / name))
    laws = sim.conservation_laws()
    csys = analysis.c_system(sim, laws, ())
    opt = analysis.steady_state_settings(sim, {})
    pts = analysis.c_points(sim, csys, sim._y0[None, :], sim._p0[None, :], opt)
    assert not pts["deferred"][0]
    c = sim.steady_state()
    monkeypatch.setattr(analysis, "NEWTON_C_MAX_STATES", 0)
    py = sim.steady_state()
    assert (c.converged, c.method, c.stable) == (py.converged, py.method, py.stable)
    np.testing.assert_allclose(c.y, py.y, rtol=1e-6, atol=1e-12)


def test_unstable_root_is_presimulated_like_steady_state():
    # x' = r x (1 - x): Newton from 0.8 finds the stable root 1; from 1e-9 it
    # lands on the unstable root 0 and presimulation takes over
    sim = nk.Simulator(nk.Model.from_odes({"x": "r*x*(1 - x)"}, {"x": 0.3}, {"r": 1.0}))
    ens = sim.steady_state_ensemble(None, initial={"x": [0.8, 1e-9]}, workers=2)
    assert ens.methods == ["newton", "presimulation+newton"]
    for i, x in enumerate([0.8, 1e-9]):
        ss = sim.steady_state(initial={"x": x})
        assert np.array_equal(ens.states[i], ss.y)
        assert (ens.stable[i], ens.methods[i]) == (ss.stable, ss.method)
    np.testing.assert_allclose(ens.states[:, 0], 1.0, rtol=1e-8)
    assert ens.stable.all()


def _same(a, b):
    assert np.array_equal(a.y, b.y) and a.method == b.method and a.iterations == b.iterations
    assert (a.converged, a.stable) == (b.converged, b.stable)
    assert a.residual_norm == b.residual_norm or (np.isnan(a.residual_norm)
                                                  and np.isnan(b.residual_norm))
    assert np.array_equal(a.eigenvalues, b.eigenvalues, equal_nan=True)


@pytest.mark.parametrize("model", ["hpa_axis", "transmitter_network", "serotonin"])
@pytest.mark.parametrize("options", [{}, {"method": "radau5", "t_presim": 1e4}])
def test_presimulation_in_c_is_the_python_loop_bit_for_bit(model, options, monkeypatch):
    # the same integrations (Simulator.simulate's settings), Newton and
    # spectra in both: the results agree exactly, member by member
    sim = nk.Simulator(getattr(models, model)())
    P, ini = _population(sim, 25, seed=11)
    presimulated = 0
    for i in range(25):
        kw = dict(initial={k: v[i] for k, v in ini.items()},
                  parameters={k: v[i] for k, v in P.items()}, **options)
        monkeypatch.setattr(analysis, "PRESIMULATE_IN_C", True)
        c = sim.steady_state(**kw)
        monkeypatch.setattr(analysis, "PRESIMULATE_IN_C", False)
        _same(c, sim.steady_state(**kw))
        presimulated += c.method == "presimulation+newton"
    if model == "hpa_axis":
        assert presimulated > 0


def test_models_with_events_presimulate_in_python():
    ev = nk.Event("kick", "t >= 1", (("x", "x + 1"),))
    sim = nk.Simulator(nk.Model.from_odes({"x": "r*x*(1 - x)"}, {"x": 1e-9}, {"r": 1.0},
                                          events=[ev]))
    csys = analysis.c_system(sim, sim.conservation_laws(), ())
    opt = analysis.steady_state_settings(sim, {})
    pts = analysis.c_points(sim, csys, sim._y0[None, :], sim._p0[None, :], opt)
    assert pts["deferred"][0]
    ss = sim.steady_state()
    assert ss.method == "presimulation+newton" and ss.converged
    np.testing.assert_allclose(ss.y, [1.0], rtol=1e-8)


# -- settling before Newton (t_settle) ---------------------------------------------
def bistable():
    # x' = -x (x - a)(x - 1): stable roots 0 and 1, unstable a = 0.2.  From
    # 0.70 the trajectory goes to 1, but Newton's first step (near the maximum
    # of f) overshoots below a and converges to 0: another basin
    return nk.Simulator(nk.Model.from_odes({"x": "-x*(x - a)*(x - 1)"}, {"x": 0.70},
                                           {"a": 0.2}))


def test_t_settle_starts_newton_in_the_trajectorys_basin(monkeypatch):
    sim = bistable()
    plain = sim.steady_state()
    assert plain.stable and abs(plain.y[0]) < 1e-12          # the limitation
    end = sim.simulate(100.0, t_eval=[0.0, 100.0]).y[-1, 0]
    settled = sim.steady_state(t_settle=20.0)
    assert settled.stable and settled.converged and settled.method == "newton"
    np.testing.assert_allclose(settled.y, [end], rtol=1e-6)
    monkeypatch.setattr(analysis, "PRESIMULATE_IN_C", False)   # the Python loop
    _same(settled, sim.steady_state(t_settle=20.0))


@pytest.mark.parametrize("model", ["hpa_axis", "gaba_glutamate"])
def test_t_settle_in_c_is_the_python_loop_bit_for_bit(model, monkeypatch):
    sim = nk.Simulator(getattr(models, model)())
    P, ini = _population(sim, 15, seed=12)
    ens = sim.steady_state_ensemble(P, initial=ini, t_settle=5.0, workers=2, chunk_size=4)
    for i in range(15):
        kw = dict(initial={k: v[i] for k, v in ini.items()},
                  parameters={k: v[i] for k, v in P.items()}, t_settle=5.0)
        monkeypatch.setattr(analysis, "PRESIMULATE_IN_C", True)
        c = sim.steady_state(**kw)
        assert np.array_equal(ens.states[i], c.y) and ens.methods[i] == c.method
        monkeypatch.setattr(analysis, "PRESIMULATE_IN_C", False)
        _same(c, sim.steady_state(**kw))


def test_t_settle_with_events_runs_in_python():
    ev = nk.Event("kick", "t >= 1", (("x", "x + 0.2"),))
    sim = nk.Simulator(nk.Model.from_odes({"x": "-x*(x - a)*(x - 1)"}, {"x": 0.1},
                                          {"a": 0.2}, events=[ev]))
    csys = analysis.c_system(sim, sim.conservation_laws(), ())
    opt = analysis.steady_state_settings(sim, {"t_settle": 10.0})
    assert not analysis.c_search_applies(sim, csys, opt)
    # the kick at t = 1 lifts x from the basin of 0 into that of 1
    ss = sim.steady_state(t_settle=10.0)
    np.testing.assert_allclose(ss.y, [1.0], rtol=1e-8)
    assert ss.method == "newton"      # Newton from the settled state, in Python


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), "soon"])
def test_t_settle_must_be_a_finite_time(bad):
    with pytest.raises(nk.InvalidValueError, match="t_settle"):
        bistable().steady_state(t_settle=bad)
