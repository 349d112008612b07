"""The public API: models, simulators, results, overrides, threads, pickling."""
from __future__ import annotations

import pickle
import threading

import numpy as np
import pytest

import neurokin as nk
from neurokin.examples import robertson


def decay_model(k=2.0):
    return nk.Model.from_odes({"x": "-k*x", "y": "k*x"}, {"x": 1.0, "y": 0.0}, {"k": k})


def mm_model():
    b = nk.ModelBuilder("mm")
    b.species("S", 10.0, unit="uM").species("P", 0.0, unit="uM")
    b.parameter("Vmax", 1.0, unit="uM/h").parameter("Km", 2.0, unit="uM")
    b.reaction("v", {"S": -1, "P": 1}, nk.ratelaws.michaelis_menten("S", "Vmax", "Km"))
    return b.build()


def test_decay_exact_with_t_eval():
    sim = nk.Simulator(decay_model())
    t = np.linspace(0, 3, 31)
    r = sim.simulate(3.0, t_eval=t, rtol=1e-9, atol=1e-12)
    assert r.success and r.status == nk.Status.SUCCESS
    assert np.array_equal(r.t, t)
    assert r.y.shape == (31, 2) and r.names == ["x", "y"]
    np.testing.assert_allclose(r["x"], np.exp(-2 * t), rtol=1e-7, atol=1e-11)
    np.testing.assert_allclose(r["x"] + r["y"], 1.0, rtol=1e-10)
    for key in ("n_steps", "n_rhs", "n_jac", "n_lu", "nfev", "njev", "ndecomp", "nsolve",
                "naccept", "nreject", "nnewton", "nconvfail"):
        assert key in r.stats
    assert r.stats["n_steps"] > 0 and r.stats["n_rhs"] > 0


@pytest.mark.parametrize("method", ["bdf", "radau5"])
def test_dense_output_does_not_force_steps(method):
    sim = nk.Simulator(decay_model())
    few = sim.simulate(3.0, t_eval=[3.0], method=method, rtol=1e-8)
    many = sim.simulate(3.0, t_eval=np.linspace(0, 3, 2001), method=method, rtol=1e-8)
    assert many.stats["n_steps"] == few.stats["n_steps"]
    np.testing.assert_allclose(many["x"], np.exp(-2 * many.t), rtol=1e-5, atol=1e-9)


def test_every_step_output_and_overrides():
    sim = nk.Simulator(decay_model())
    r = sim.simulate(1.0, parameters={"k": 1.0}, initial={"x": 2.0})
    assert r.t[0] == 0.0 and r.t[-1] == 1.0 and len(r.t) == r.stats["n_steps"] + 1
    np.testing.assert_allclose(r["x"][-1], 2 * np.exp(-1.0), rtol=1e-5)
    # overrides are for this call only
    r2 = sim.simulate(1.0)
    np.testing.assert_allclose(r2["x"][-1], np.exp(-2.0), rtol=1e-5)


def test_models_are_immutable_and_comparable():
    m = decay_model()
    m2 = m.with_parameters({"k": 3.0})
    assert m.parameters["k"] == 2.0 and m2.parameters["k"] == 3.0
    assert m == decay_model() and m != m2
    assert pickle.loads(pickle.dumps(m)) == m
    with pytest.raises(nk.UnknownNameError, match="did you mean 'k'"):
        m.with_parameters({"kk": 1.0})


def test_reaction_model_michaelis_menten():
    sim = nk.Simulator(mm_model())
    r = sim.simulate(5.0, t_eval=np.linspace(0, 5, 6), rtol=1e-10, atol=1e-12)
    # implicit solution of MM kinetics: Km ln(S0/S) + (S0 - S) = Vmax t
    S = r["S"]
    lhs = 2.0 * np.log(10.0 / S) + (10.0 - S)
    np.testing.assert_allclose(lhs, r.t, rtol=1e-7, atol=1e-8)
    laws = sim.conservation_laws()
    assert len(laws) == 1
    assert list(laws)[0] == {"S": 1.0, "P": 1.0}


def test_compartment_volumes_scale_concentrations():
    b = nk.ModelBuilder("transport")
    b.compartment("cyt", 1.0).compartment("ecs", 0.25)
    b.species("a", 1.0, compartment="cyt").species("b", 0.0, compartment="ecs")
    b.parameter("k", 1.0)
    b.reaction("out", {"a": -1, "b": 1}, "k*a*cyt")  # extent/time
    sim = nk.Simulator(b.build())
    r = sim.simulate(2.0, rtol=1e-10, atol=1e-13)
    # amounts are conserved: 1*a + 0.25*b == 1
    np.testing.assert_allclose(r["a"] + 0.25 * r["b"], 1.0, rtol=1e-9)
    laws = sim.conservation_laws()
    np.testing.assert_allclose(laws.matrix, [[1.0, 0.25]])


def test_steady_state_of_open_network():
    m = nk.Model.from_reactions(
        [("in", {"A": 1}, "kin"), ("conv", {"A": -1, "B": 1}, "k1*A"),
         ("out", {"B": -1}, "k2*B")],
        {"A": 0.0, "B": 0.0}, {"kin": 2.0, "k1": 0.5, "k2": 4.0})
    ss = nk.Simulator(m).steady_state()
    assert ss.converged and ss.stable
    np.testing.assert_allclose([ss.x["A"], ss.x["B"]], [4.0, 0.5], rtol=1e-9)
    assert ss.residual_norm < 1e-9
    np.testing.assert_allclose(sorted(ss.eigenvalues.real), [-4.0, -0.5], rtol=1e-9)


def test_steady_state_respects_conservation():
    sim = nk.Simulator(robertson())
    ss = sim.steady_state()
    assert ss.converged
    np.testing.assert_allclose(sum(ss.x.values()), 1.0, rtol=1e-12)
    np.testing.assert_allclose(ss.x["C"], 1.0, rtol=1e-6)


def test_failure_returns_partial_trajectory():
    # blow-up in finite time: y' = y^2, y(0) = 1 -> y = 1/(1 - t)
    m = nk.Model.from_odes({"y": "y**2"}, {"y": 1.0})
    r = nk.Simulator(m).simulate(2.0)
    assert not r.success and r.status != nk.Status.SUCCESS
    assert len(r.t) > 5 and r.t[-1] < 1.0 and r.t[-1] > 0.9
    assert np.all(np.isfinite(r.y))
    assert "t=" in r.message


def test_step_budget_is_reported():
    r = nk.Simulator(robertson()).simulate(1e11, max_steps=20)
    assert r.status == nk.Status.TOO_MUCH_WORK and not r.success
    assert len(r.t) == 21


def test_threads_give_same_answers_as_serial():
    m = robertson()
    t_eval = np.logspace(-5, 10, 30)
    sims = [nk.Simulator(m.with_parameters({"k1": 0.04 * (1 + 0.1 * i)})) for i in range(4)]
    serial = [s.simulate(1e10, t_eval=t_eval, rtol=1e-8, atol=1e-14).y for s in sims]
    out = [None] * 4

    def work(i):
        for _ in range(3):
            out[i] = sims[i].simulate(1e10, t_eval=t_eval, rtol=1e-8, atol=1e-14).y

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a, b in zip(serial, out):
        assert np.array_equal(a, b)


def test_simulator_and_result_pickle():
    sim = nk.Simulator(decay_model())
    sim2 = pickle.loads(pickle.dumps(sim))
    r1 = sim.simulate(1.0, t_eval=[0.5, 1.0])
    r2 = sim2.simulate(1.0, t_eval=[0.5, 1.0])
    assert r1 == r2
    assert pickle.loads(pickle.dumps(r1)) == r1


def test_to_pandas():
    pytest.importorskip("pandas")
    r = nk.Simulator(decay_model()).simulate(1.0, t_eval=[0, 0.5, 1.0])
    df = r.to_pandas()
    assert list(df.columns) == ["x", "y"] and df.index.name == "time"
    assert df["x"].iloc[-1] == r["x"][-1]


def test_analytic_jacobian_matches_finite_differences():
    sim = nk.Simulator(mm_model())
    y = np.array([3.0, 1.0])
    J = sim.jacobian(y)
    eps = 1e-6
    fd = np.column_stack([(sim.rhs(y + eps * e) - sim.rhs(y - eps * e)) / (2 * eps)
                          for e in np.eye(2)])
    np.testing.assert_allclose(J, fd, rtol=1e-6, atol=1e-9)


def test_ensemble_threads_reproducible():
    sim = nk.Simulator(robertson())
    k1 = 0.04 * np.exp(np.random.default_rng(0).normal(0, 0.2, 12))
    t_eval = np.logspace(-3, 6, 10)
    e1 = sim.ensemble({"k1": k1}, t_eval=t_eval, workers=1, rtol=1e-8, atol=1e-14)
    e2 = sim.ensemble({"k1": k1}, t_eval=t_eval, workers=2, rtol=1e-8, atol=1e-14)
    assert e1.y.shape == (12, 10, 3) and np.all(e1.status == 0)
    assert np.array_equal(e1.y, e2.y)
    one = sim.simulate(1e6, t_eval=t_eval, parameters={"k1": k1[3]}, rtol=1e-8, atol=1e-14)
    assert np.array_equal(one.y, e1.y[3])


def chain_model(n=80):
    """A nonlinear chain x0 -> x1 -> ... with quadratic back reactions."""
    rx = []
    for i in range(n - 1):
        rx.append((f"f{i}", {f"x{i}": -1, f"x{i + 1}": 1}, f"kf*x{i}"))
        rx.append((f"b{i}", {f"x{i + 1}": -1, f"x{i}": 1}, f"kb*x{i + 1}*x{i + 1}"))
    init = {f"x{i}": (1.0 if i == 0 else 0.0) for i in range(n)}
    return nk.Model.from_reactions(rx, init, {"kf": 1e3, "kb": 0.5})


@pytest.mark.parametrize("linear_solver,method", [("sparse", "bdf"), ("sparse", "radau5"),
                                                  ("gmres", "bdf")])
def test_sparse_linear_solvers_agree_with_dense(linear_solver, method):
    m = chain_model()
    kw = dict(t_eval=[1.0, 100.0], method=method, rtol=1e-8, atol=1e-12)
    dense = nk.Simulator(m, linear_solver="dense").simulate(100.0, **kw)
    other = nk.Simulator(m, linear_solver=linear_solver).simulate(100.0, **kw)
    assert dense.success and other.success
    np.testing.assert_allclose(other.y, dense.y, rtol=1e-6, atol=1e-10)


def test_linear_solver_choice():
    assert nk.Simulator(chain_model(80)).linear_solver == "sparse"
    assert nk.Simulator(chain_model(10)).linear_solver == "dense"
    with pytest.raises(nk.OptionError):
        nk.Simulator(chain_model(10), linear_solver="lapack")
    with pytest.raises(nk.OptionError, match="direct linear solver"):
        nk.Simulator(chain_model(10), linear_solver="gmres").simulate(1.0, method="radau5")


def test_observables_are_served_by_name():
    m = nk.Model.from_odes({"x": "-k*x"}, {"x": 2.0}, {"k": 1.0},
                           observables={"half": "x/2", "flux": "k*x"})
    r = nk.Simulator(m).simulate(1.0, t_eval=[0.0, 1.0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(r["half"], r["x"] / 2)
    np.testing.assert_allclose(r["flux"], r["x"])
    pytest.importorskip("pandas")
    assert list(r.to_pandas().columns) == ["x", "half", "flux"]
