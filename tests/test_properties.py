"""Property-based validation: neurokin's answers obey the laws of chemistry
on networks nobody hand-picked (strategies in neurokin.testing).

Tolerances.  Every bound below is written in units of the integrator's own
error budget, per species i:

    budget_i = atol + rtol * max_t |y_i(t)|

The integrators keep each *local* error within about one budget; the
*global* error of a dissipative kinetic system is a sum of damped local
errors, a small multiple of it.  GLOBAL = 50 is that multiple (worst
observed over several thousand random linear networks: ~15 for either
method, rtol 1e-4..1e-8).  A method whose error control is broken misses it
by orders of magnitude, which is what these tests are for.
"""
from __future__ import annotations

import faulthandler
import threading

import numpy as np
import pytest

pytest.importorskip("hypothesis")
from hypothesis import Phase, given, note, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import neurokin as nk  # noqa: E402
from neurokin import testing as T  # noqa: E402

METHODS = ["bdf", "radau5"]
GLOBAL = 50.0
EPS = np.finfo(float).eps
# (rtol, atol) pairs the properties are checked at: loose, default, tight.
TOLERANCES = st.sampled_from([(1e-4, 1e-10), (1e-6, 1e-12), (1e-8, 1e-14)])
T_END = T.log_uniform(0.1, 100.0)


HANG_S = 120.0


def arm_hang_guard(seconds: float = HANG_S) -> None:
    """A hang in C cannot be interrupted from Python: dump every thread's
    stack and exit if the next ``seconds`` pass without a re-arm.  Re-armed
    before every integration (simulate_ok, the robustness tests), so one
    engine call that runs past HANG_S ends the run with a traceback."""
    faulthandler.dump_traceback_later(seconds, exit=True)


@pytest.fixture(autouse=True)
def hang_guard():
    # a whole test gets HANG_S per 40 examples (the ci profile's count)
    arm_hang_guard(HANG_S * max(1.0, settings().max_examples / 40))
    yield
    faulthandler.cancel_dump_traceback_later()


def budget(ref: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    """Per-species error budget atol + rtol * max_t |ref|, shape (n,)."""
    return atol + rtol * np.max(np.abs(np.atleast_2d(ref)), axis=0)


def scaled_error(y, ref, rtol, atol) -> float:
    return float(np.max(np.abs(np.asarray(y) - ref) / budget(ref, rtol, atol)))


def simulate_ok(sim, t_end, **kw):
    arm_hang_guard()
    r = sim.simulate(t_end, **kw)
    assert r.success, r.message
    assert np.all(np.isfinite(r.y))
    return r


def restricted_jacobian(sim, y, L):
    """Q^T J Q on the subspace the conservation rows L leave free."""
    J = sim.jacobian(y)
    if L.shape[0] == 0:
        return J
    _, _, vt = np.linalg.svd(L)
    Q = vt[T.nullspace_rank(L):].T
    return Q.T @ J @ Q if Q.shape[1] else np.zeros((0, 0))


# ---------------------------------------------------------------------------
# conservation

@given(net=st.one_of(T.closed_networks(), T.linear_networks()))
def test_found_conservation_laws_span_the_built_in_ones(net):
    laws = nk.Simulator(net.model).conservation_laws()
    note(f"found {laws.matrix!r}\nbuilt in {net.conservation!r}")
    assert laws.matrix.shape == (len(net.conservation), len(net.names))
    assert T.same_row_space(laws.matrix, net.conservation)


@pytest.mark.parametrize("method", METHODS)
@given(net=T.closed_networks(), t_end=T_END, tol=TOLERANCES)
def test_conservation_laws_hold_along_the_trajectory(net, t_end, tol, method):
    rtol, atol = tol
    sim = nk.Simulator(net.model)
    L = sim.conservation_laws().matrix
    r = simulate_ok(sim, t_end, method=method, rtol=rtol, atol=atol)
    totals = r.y @ L.T
    # A conservation law is a linear invariant: BDF and Radau IIA preserve it
    # exactly in exact arithmetic, whatever the Newton error, because the
    # analytic Jacobian satisfies L J = 0.  One local-error budget of the
    # species in each law, no accumulation factor, is therefore generous.
    allowed = np.abs(L) @ budget(r.y, rtol, atol)
    drift = np.max(np.abs(totals - totals[0]), axis=0)
    assert np.all(drift <= allowed), (drift, allowed)


# ---------------------------------------------------------------------------
# positivity

@pytest.mark.parametrize("method", METHODS)
@given(net=st.one_of(T.closed_networks(), T.open_networks(), T.linear_networks()),
       t_end=T_END, tol=TOLERANCES)
def test_concentrations_stay_non_negative(net, t_end, tol, method):
    rtol, atol = tol
    sim = nk.Simulator(net.model)
    r = simulate_ok(sim, t_end, method=method, rtol=rtol, atol=atol)
    # The exact solution stays in the closed orthant.  Reaction models
    # reject any step that leaves a species below -atol (documented, as
    # CVODE's inequality constraints), so every step obeys that bound; the
    # roundoff of large species computed alongside adds 100 eps max|y|.
    roundoff = 100 * EPS * np.max(np.abs(r.y))
    assert r.y.min() >= -(atol + roundoff), r.y.min(axis=0)
    # Between steps (t_eval, dense output) the interpolant is unconstrained:
    # its error is a local error, a few atol near zero (10 atol allowed).
    d = simulate_ok(sim, t_end, t_eval=np.linspace(0.0, t_end, 50), method=method,
                    rtol=rtol, atol=atol)
    assert d.y.min() >= -(10 * atol + roundoff), d.y.min(axis=0)


# ---------------------------------------------------------------------------
# steady states

@given(net=T.detailed_balance_networks())
def test_detailed_balance_steady_state_is_the_thermodynamic_equilibrium(net):
    sim = nk.Simulator(net.model)
    x_eq = net.equilibrium()
    # the helper's own check: every flux balanced to roundoff (J x ~ the fluxes)
    flux = np.max(np.abs(sim.jacobian(x_eq)) * x_eq[None, :])
    assert np.max(np.abs(sim.rhs(x_eq))) <= 1e-10 * flux, "equilibrium helper is wrong"
    ss = sim.steady_state()
    note(f"steady state {ss!r}\nequilibrium {x_eq!r}")
    assert ss.converged and ss.stable
    assert ss.residual_norm <= 1e-9 * max(1.0, np.max(net.y0))   # the documented tol
    # The residual certifies the point: with J_r the Jacobian restricted to
    # the compatibility class, |y - x_eq| <= |f(y)| / sigma_min(J_r) to first
    # order (factor 10 for the nonlinearity); 1e-10 |x_eq| is the
    # roundoff of x_eq itself.
    Jr = restricted_jacobian(sim, x_eq, net.conservation)
    smin = np.linalg.svd(Jr, compute_uv=False).min() if Jr.size else np.inf
    f = np.linalg.norm(sim.rhs(ss.y))
    dist = np.linalg.norm(ss.y - x_eq)
    assert dist <= 10 * f / smin + 1e-10 * np.linalg.norm(x_eq), (dist, f, smin)
    # and the conserved totals are those of the initial state
    L = net.conservation
    np.testing.assert_allclose(L @ ss.y, L @ net.y0, rtol=1e-9)


@given(net=T.detailed_balance_networks())
def test_long_integration_reaches_the_equilibrium(net):
    sim = nk.Simulator(net.model)
    x_eq = net.equilibrium()
    lam = np.linalg.eigvals(restricted_jacobian(sim, x_eq, net.conservation))
    assert np.all(lam.real < 0), lam          # detailed balance: stable equilibrium
    rtol, atol = 1e-8, 1e-14
    # Near x_eq the transient decays like e^(-|lam_slow| t); far from it
    # (a species drained to ~0 slows every reaction through it) it can take
    # much longer, with no a-priori bound: extend the horizon tenfold until
    # the end state is still (|f| below one budget of the slowest mode), at
    # most three times.
    t_end = 50.0 / np.min(np.abs(lam.real)) if lam.size else 1.0
    for _ in range(4):
        r = simulate_ok(sim, t_end, t_eval=[0.0, t_end], rtol=rtol, atol=atol)
        if np.all(np.abs(sim.rhs(r.y[-1])) <= np.min(np.abs(lam.real), initial=np.inf)
                  * budget(x_eq, rtol, atol)):
            break
        t_end *= 10
    note(f"t_end {t_end}\nreached {r.y[-1]!r}\nequilibrium {x_eq!r}\nstats {r.stats}")
    err = scaled_error(r.y[-1], x_eq, rtol, atol)
    assert err <= GLOBAL, err


@given(net=T.open_networks(), other=st.data())
def test_open_network_has_one_stable_steady_state(net, other):
    sim = nk.Simulator(net.model)
    y1 = other.draw(T.initial_states(net.model, zero=True), label="second initial state")
    a = sim.steady_state()
    b = sim.steady_state(initial=y1)
    note(f"from model initial {a!r}\nfrom {y1!r}: {b!r}")
    # contraction in l1 with rate >= min k_out: a residual f puts the point
    # within |f|_1 / k_out of the (non-negative) steady state
    kout = min(v for p, v in net.model.parameters.items() if p.startswith("kout_"))
    certified = []
    for ss, start in ((a, net.y0), (b, np.array(list(y1.values())))):
        assert ss.converged and ss.stable
        # the documented tolerance: 1e-9 relative to the initial state's scale
        assert ss.residual_norm <= 1e-9 * max(1.0, np.max(start))
        radius = np.abs(sim.rhs(ss.y)).sum() / kout
        roundoff = 100 * EPS * max(1.0, np.max(start), np.max(ss.y))
        assert ss.y.min() >= -(radius + roundoff)
        certified.append(radius + roundoff)
    # one steady state: the two answers lie within their certified radii
    # (factor 10 for the linearisation of f between them)
    assert np.abs(a.y - b.y).sum() <= 10 * sum(certified)


@given(net=T.open_networks(zero_initial=True))
def test_open_network_integration_converges_to_the_steady_state(net):
    sim = nk.Simulator(net.model)
    ss = sim.steady_state()
    assert ss.converged
    lam = np.linalg.eigvals(sim.jacobian(ss.y))
    assert np.all(lam.real < 0)
    # l1 contraction rate >= min k_out bounds the time to forget the start
    kout = min(v for p, v in net.model.parameters.items() if p.startswith("kout_"))
    t_end = 50.0 / min(kout, np.min(np.abs(lam.real)))
    rtol, atol = 1e-8, 1e-14
    r = simulate_ok(sim, t_end, t_eval=[0.0, t_end], rtol=rtol, atol=atol)
    # both answers carry an error: the integration its global budget, the
    # steady state its residual, which by l1 contraction puts it within
    # |f|_1 / k_out of the true one
    dist = np.abs(r.y[-1] - ss.y).sum()
    allowed = GLOBAL * budget(ss.y, rtol, atol).sum() + np.abs(sim.rhs(ss.y)).sum() / kout
    assert dist <= allowed, (dist, allowed)


@given(net=T.linear_networks(outflow_everywhere=True))
def test_open_linear_steady_state_is_exact(net):
    ss = nk.Simulator(net.model).steady_state()
    x = net.linear_steady_state()
    assert ss.converged and ss.stable
    # linear: y - x = K^-1 f(y) exactly, so the documented residual tolerance
    # (1e-9 of the initial scale) bounds the error by |K^-1| tol; roundoff of
    # the solve adds cond(K) eps |y|.  (A plain Newton step would be exact to
    # roundoff; see test_properties_regressions for why it is not.)
    tol = 1e-9 * max(1.0, np.max(net.y0))
    Kinv = np.linalg.norm(np.linalg.inv(net.rate_matrix), np.inf)
    cond = np.linalg.cond(net.rate_matrix)
    scale = max(np.max(np.abs(x)), np.max(net.y0))
    assert np.max(np.abs(ss.y - x)) <= Kinv * tol + 100 * cond * EPS * scale


# ---------------------------------------------------------------------------
# agreement with exact solutions and between methods

@pytest.mark.parametrize("method", METHODS)
@given(net=T.linear_networks(), t_end=T_END, tol=TOLERANCES)
def test_linear_networks_match_the_matrix_exponential(net, t_end, tol, method):
    rtol, atol = tol
    t = np.linspace(0.0, t_end, 21)
    exact = net.exact(t)
    r = simulate_ok(nk.Simulator(net.model), t_end, t_eval=t, method=method, rtol=rtol,
                    atol=atol)
    # the budget's max_t |y_i| is over the whole trajectory: a fast transient
    # peak between output points (and the early times) counts too
    fine = net.exact(np.concatenate([t_end * np.logspace(-8, 0, 60),
                                     np.linspace(0.0, t_end, 201)]))
    b = budget(np.vstack([exact, fine]), rtol, atol)
    assert np.max(np.abs(r.y - exact) / b) <= GLOBAL


@pytest.mark.parametrize("method", METHODS)
@given(net=T.linear_networks(zero_initial=False), t_end=T_END)
def test_tightening_rtol_reduces_the_error(net, t_end, method):
    t = np.linspace(0.0, t_end, 11)
    exact = net.exact(t)
    sim = nk.Simulator(net.model)
    errs = []
    for rtol in (1e-4, 1e-9):
        r = simulate_ok(sim, t_end, t_eval=t, method=method, rtol=rtol, atol=rtol * 1e-6)
        errs.append(np.max(np.abs(r.y - exact) / np.max(np.abs(exact), axis=0)))
    # five decades tighter: the tight run keeps its own promise (GLOBAL
    # budgets), and its error is smaller, unless the loose run was already
    # that good (a smooth problem done in a few steps can beat its
    # tolerance by three decades, so no fixed ratio is required).
    assert errs[1] <= GLOBAL * 1e-9
    assert errs[1] < errs[0] or errs[0] <= GLOBAL * 1e-9, errs


@given(net=T.closed_networks(), t_end=T_END, tol=TOLERANCES)
def test_bdf_and_radau5_agree(net, t_end, tol):
    rtol, atol = tol
    t = np.linspace(0.0, t_end, 11)
    sim = nk.Simulator(net.model)
    a = simulate_ok(sim, t_end, t_eval=t, method="bdf", rtol=rtol, atol=atol)
    b = simulate_ok(sim, t_end, t_eval=t, method="radau5", rtol=rtol, atol=atol)
    # each within GLOBAL budgets of the truth, so within 2 GLOBAL of each other
    assert scaled_error(a.y, b.y, rtol, atol) <= 2 * GLOBAL


@given(net=st.one_of(T.closed_networks(), T.detailed_balance_networks(), T.open_networks()),
       data=st.data())
def test_analytic_jacobian_matches_finite_differences(net, data):
    sim = nk.Simulator(net.model)
    n = len(net.names)
    y = np.array(data.draw(st.lists(T.concentrations(), min_size=n, max_size=n),
                           label="state"))
    J = sim.jacobian(y)
    Jfd = np.empty_like(J)
    for j in range(n):
        e = np.zeros(n)
        e[j] = h = 1e-6 * y[j]
        Jfd[:, j] = (sim.rhs(y + e) - sim.rhs(y - e)) / (2 * h)
    # Scale of row i: the largest flux through species i (max_j |J_ij| y_j,
    # or |f_i| for zero-order inflows the Jacobian does not see) per unit of
    # the species varied.  Central differences with a relative step 1e-6 err
    # by ~h^2 (1e-12) plus roundoff eps*(fluxes)/h (~1e-10 per flux; worst
    # seen 6e-7 with many cancelling fluxes); a wrong derivative is off by O(1).
    flux = np.maximum(np.max(np.abs(J) * y[None, :], axis=1), np.abs(sim.rhs(y)))
    scale = flux[:, None] / y[None, :]
    assert np.all(np.abs(Jfd - J) <= 1e-5 * scale + 1e-300), np.abs(Jfd - J) / scale


@given(net=st.one_of(T.closed_networks(), T.open_networks()), t_end=T_END, tol=TOLERANCES)
def test_linear_solvers_agree(net, t_end, tol):
    rtol, atol = tol
    t = np.linspace(0.0, t_end, 11)
    runs = {}
    for solver in ("dense", "sparse", "gmres"):
        sim = nk.Simulator(net.model, linear_solver=solver)
        runs[solver] = simulate_ok(sim, t_end, t_eval=t, method="bdf", rtol=rtol, atol=atol)
    # the linear solver only changes how Newton converges, not what is
    # integrated: all runs within GLOBAL budgets of the truth
    for solver in ("sparse", "gmres"):
        assert scaled_error(runs[solver].y, runs["dense"].y, rtol, atol) <= 2 * GLOBAL, solver


# ---------------------------------------------------------------------------
# invariances

@given(net=T.closed_networks(), data=st.data(), t_end=T_END)
def test_renaming_and_reordering_changes_only_the_order(net, data, t_end):
    m = net.model
    n, k = len(m.species), len(m.reactions)
    sp_perm = data.draw(st.permutations(range(n)), label="species order")
    rx_perm = data.draw(st.permutations(range(k)), label="reaction order")
    new = {s: f"z_{s}_q" for s in m.species_names}
    t = np.linspace(0.0, t_end, 11)
    rtol, atol = 1e-6, 1e-12
    ref = simulate_ok(nk.Simulator(m), t_end, t_eval=t, rtol=rtol, atol=atol)

    # renaming alone: the compiled model is the same, so is every number
    renamed = T.relabel(m, new)
    r1 = simulate_ok(nk.Simulator(renamed), t_end, t_eval=t, rtol=rtol, atol=atol)
    assert r1.names == [new[s] for s in m.species_names]
    np.testing.assert_array_equal(r1.y, ref.y)

    # reordering: another summation order, so another (equally valid) step
    # sequence: both runs are within GLOBAL budgets of the truth
    moved = T.relabel(m, new, species_order=sp_perm, reaction_order=rx_perm)
    sim2 = nk.Simulator(moved)
    r2 = simulate_ok(sim2, t_end, t_eval=t, rtol=rtol, atol=atol)
    assert r2.names == [new[m.species_names[i]] for i in sp_perm]
    back = r2.y[:, np.argsort(sp_perm)]
    assert scaled_error(back, ref.y, rtol, atol) <= 2 * GLOBAL
    L2 = sim2.conservation_laws().matrix
    assert T.same_row_space(L2[:, np.argsort(sp_perm)], net.conservation)


@pytest.mark.parametrize("method", METHODS)
@given(net=T.closed_networks(), t_end=T_END)
def test_integrating_in_two_halves_equals_one_call(net, t_end, method):
    rtol, atol = 1e-7, 1e-13
    sim = nk.Simulator(net.model)
    whole = simulate_ok(sim, t_end, t_eval=[0.0, t_end / 2, t_end], method=method,
                        rtol=rtol, atol=atol)
    first = simulate_ok(sim, t_end / 2, t_eval=[0.0, t_end / 2], method=method, rtol=rtol,
                        atol=atol)
    # reaction models refuse negative initial values: the few-atol dips
    # allowed by test_concentrations_stay_non_negative are clipped away
    mid = dict(zip(first.names, np.maximum(first.y[-1], 0.0)))
    second = simulate_ok(sim, t_end, t_start=t_end / 2, t_eval=[t_end / 2, t_end],
                         initial=mid, method=method, rtol=rtol, atol=atol)
    ref = whole.y
    assert scaled_error(first.y[-1], ref[1], rtol, atol) <= 2 * GLOBAL
    assert scaled_error(second.y[-1], ref[2], rtol, atol) <= 2 * GLOBAL


@pytest.mark.parametrize("method", METHODS)
@given(net=st.one_of(T.closed_networks(), T.open_networks(), T.linear_networks()),
       c=T.log_uniform(1e-3, 1e3), t_end=T_END)
def test_scaling_rates_and_time_together_changes_nothing(net, c, t_end, method):
    rtol, atol = 1e-7, 1e-13
    t = np.linspace(0.0, t_end, 11)
    a = simulate_ok(nk.Simulator(net.model), t_end, t_eval=t, method=method, rtol=rtol,
                    atol=atol)
    fast = T.scale_time(net.model, c)
    b = simulate_ok(nk.Simulator(fast), t_end / c, t_eval=t / c, method=method, rtol=rtol,
                    atol=atol)
    # y_c(t / c) = y(t) exactly; the two runs are each within GLOBAL budgets
    assert scaled_error(b.y, a.y, rtol, atol) <= 2 * GLOBAL


# ---------------------------------------------------------------------------
# robustness

def check_result(r, t_end, n):
    assert isinstance(r, nk.Result)
    assert r.y.shape == (len(r.t), n)
    assert isinstance(r.message, str) and r.message
    if r.success:
        assert np.all(np.isfinite(r.y)), "a successful result holds non-finite values"
        assert r.t[-1] == pytest.approx(t_end, rel=1e-12)
    else:
        assert r.status < 0
    assert np.all(np.diff(r.t) > 0) or len(r.t) <= 1


@pytest.mark.parametrize("method", METHODS)
@given(net=st.one_of(T.nasty_networks(),
                     T.closed_networks(rates=T.rate_constants(1e-12, 1e12)),
                     T.open_networks(rates=T.rate_constants(1e-12, 1e12))),
       t_end=T.log_uniform(1e-3, 1e6), tol=TOLERANCES)
def test_every_model_gives_a_result_or_a_neurokin_error(net, t_end, tol, method):
    rtol, atol = tol
    arm_hang_guard()
    try:
        sim = nk.Simulator(net.model)
        r = sim.simulate(t_end, method=method, rtol=rtol, atol=atol, max_steps=5000)
    except nk.NeurokinError:
        return
    check_result(r, t_end, len(net.names))


def call_with_timeout(fn, seconds: float):
    """fn() in a daemon thread; AssertionError if it has not returned after
    ``seconds`` (the thread cannot be stopped: it is left to the process
    exit, which is why the tests using this do not shrink)."""
    out = {}

    def target():
        try:
            out["value"] = fn()
        except BaseException as exc:  # re-raised in the caller
            out["error"] = exc
    th = threading.Thread(target=target, daemon=True)
    th.start()
    th.join(seconds)
    if th.is_alive():
        raise AssertionError(f"hang: no answer after {seconds} s")
    if "error" in out:
        raise out["error"]
    return out["value"]


# Shrinking would re-run hanging examples (each leaving a spinning thread):
# these models are small already, so report the first failure as found.
NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]


@given(net=st.one_of(T.nasty_networks(),
                     T.closed_networks(rates=T.rate_constants(1e-12, 1e12))))
@settings(max_examples=max(1, settings().max_examples // 2), phases=NO_SHRINK)
def test_steady_state_gives_an_answer_or_a_neurokin_error(net):
    sim = nk.Simulator(net.model)
    arm_hang_guard()
    try:
        # 20 s: a steady state of <= 4 species takes milliseconds; the
        # presimulation is bounded by t_presim and the step budget
        ss = call_with_timeout(lambda: sim.steady_state(t_presim=1e3), 20.0)
    except nk.NeurokinError:
        return
    assert ss.y.shape == (len(net.names),)
    if ss.converged:
        assert np.all(np.isfinite(ss.y)) and np.isfinite(ss.residual_norm)


# ---------------------------------------------------------------------------
# the built-in transmitter network (neurokin.models)

BUILTIN = ["transmitter_network", "serotonin", "dopamine", "gaba_glutamate", "hpa_axis"]
_BUILTIN_SIMS: dict = {}


def builtin(name):
    """(model, simulator, reference steady state), built once per session."""
    models = pytest.importorskip("neurokin.models")
    if name not in _BUILTIN_SIMS:
        make = getattr(models, name, None)
        if make is None:
            pytest.skip(f"neurokin.models.{name} is not there yet")
        m = make()
        sim = nk.Simulator(m)
        ss = sim.steady_state(tol=1e-13)
        _BUILTIN_SIMS[name] = (m, sim, ss)
    return _BUILTIN_SIMS[name]


@pytest.mark.parametrize("name", BUILTIN)
@given(data=st.data(), t_end=T.log_uniform(0.1, 1000.0))
@settings(max_examples=max(1, settings().max_examples // 4))
def test_builtin_conserved_pools_hold(name, data, t_end):
    m, sim, _ = builtin(name)
    # a random initial state around the model's (each species times 0.5..2)
    f = data.draw(st.lists(T.log_uniform(0.5, 2.0), min_size=len(m.species),
                           max_size=len(m.species)), label="initial factors")
    y0 = {s: v * fi for (s, v), fi in zip(m.initial.items(), f)}
    rtol, atol = 1e-6, 1e-12
    r = simulate_ok(sim, t_end, initial=y0, rtol=rtol, atol=atol)
    L = sim.conservation_laws().matrix
    totals = r.y @ L.T
    # linear invariants: one local budget of the species in each law, as in
    # test_conservation_laws_hold_along_the_trajectory
    allowed = np.abs(L) @ budget(r.y, rtol, atol)
    assert np.all(np.max(np.abs(totals - totals[0]), axis=0) <= allowed)


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_steady_state_is_stable(name):
    m, sim, ss = builtin(name)
    assert ss.converged and ss.stable, ss
    assert np.all(ss.eigenvalues.real < 0)
    assert ss.residual_norm <= 1e-13 * max(1.0, max(m.initial.values()))   # documented tol
    # integrating from the steady state stays there (its residual is ~0)
    r = simulate_ok(sim, 100.0, initial=ss.x, t_eval=[0.0, 100.0], rtol=1e-8, atol=1e-14)
    assert scaled_error(r.y[-1], ss.y, 1e-8, 1e-14) <= GLOBAL


@pytest.mark.parametrize("name", BUILTIN)
@given(data=st.data(), eps=T.log_uniform(1e-6, 1e-3))
@settings(max_examples=max(1, settings().max_examples // 4))
def test_builtin_steady_state_moves_continuously(name, data, eps):
    m, sim, ss = builtin(name)
    params = m.parameters
    names = sorted(p for p, v in params.items() if v != 0)
    chosen = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=8, unique=True),
                       label="perturbed parameters")
    signs = data.draw(st.lists(st.floats(-1.0, 1.0), min_size=len(chosen),
                               max_size=len(chosen)), label="directions")

    def moved(e):
        p = {k: params[k] * (1 + e * d) for k, d in zip(chosen, signs)}
        s = sim.steady_state(parameters=p, initial=ss.x, tol=1e-13)
        assert s.converged and s.stable, s
        return s.y - ss.y
    d1, d2 = moved(eps), moved(eps / 2)
    # continuity and linear response: x(p + e dp) = x + e x'dp + O(e^2), so
    # d(e) - 2 d(e/2) = O(e^2) is a small fraction of d(e) for e <= 1e-3;
    # the floor is the steady states' own accuracy at tol 1e-13
    floor = 1e-9 * np.linalg.norm(ss.y)
    assert np.linalg.norm(d1) <= 1e3 * eps * np.linalg.norm(ss.y) + floor
    assert np.linalg.norm(d1 - 2 * d2) <= 0.1 * np.linalg.norm(d1) + floor
