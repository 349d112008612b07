"""linear_solver='auto': the choice from the sparse LU's symbolic cost, and
the sparse-LU fallback of an auto-chosen GMRES simulator."""
import pickle
from pathlib import Path

import numpy as np
import pytest

import neurokin as nk
from neurokin._core import ModelRunner

NETWORKS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "networks"


def random_network(n, seed=0):
    """n species, n random bimolecular associations A + B -> C with their
    dissociations: a Jacobian whose LU fills heavily under any ordering."""
    rng = np.random.default_rng(seed)
    rx = []
    for r in range(n):
        a, b, c = rng.choice(n, 3, replace=False)
        rx.append((f"r{r}", {f"s{a}": -1, f"s{b}": -1, f"s{c}": 1}, f"k{r % 5}*s{a}*s{b}"))
        rx.append((f"u{r}", {f"s{c}": -1, f"s{a}": 1, f"s{b}": 1}, f"q*s{c}"))
    rates = {f"k{i}": 10.0 ** (i - 2) for i in range(5)}
    return nk.Model.from_reactions(rx, {f"s{i}": 1.0 for i in range(n)}, {**rates, "q": 0.1})


def chain(n):
    """x0 <-> x1 <-> ... : tridiagonal Jacobian, no fill."""
    rx = [(f"f{i}", {f"x{i}": -1, f"x{i + 1}": 1}, f"k*x{i}") for i in range(n - 1)]
    rx += [(f"b{i}", {f"x{i + 1}": -1, f"x{i}": 1}, f"k*x{i + 1}") for i in range(n - 1)]
    return nk.Model.from_reactions(rx, {f"x{i}": 1.0 for i in range(n)}, {"k": 2.0})


def all_coupled(n):
    """dx_i/dt = -x_i * (x_0 + ... + x_{n-1}): a full Jacobian."""
    total = " + ".join(f"x{j}" for j in range(n))
    return nk.Model.from_odes({f"x{i}": f"-x{i}*({total})" for i in range(n)},
                              {f"x{i}": 1.0 for i in range(n)}, {})


def symbolic(model):
    sim = nk.Simulator(model, linear_solver="dense")
    return ModelRunner(sim._compiled, "sparse").linear_solver_info()


@pytest.mark.parametrize("n", [5, 40, 120])
def test_symbolic_count_of_a_full_matrix(n):
    """Full pattern: column j of L holds n-1-j entries, so one LU costs
    sum_k k (k + 1) = (n-1) n (n+1) / 3 operations and L has n(n-1)/2."""
    info = symbolic(all_coupled(n))
    assert info["nnz_a"] == n * n
    assert info["lnz_est"] == n * (n - 1) // 2
    assert info["flops_est"] == (n - 1) * n * (n + 1) / 3


@pytest.mark.parametrize("n", [3, 50, 400])
def test_symbolic_count_of_a_chain(n):
    """Tridiagonal: no fill whatever the ordering, one entry per column of L."""
    info = symbolic(chain(n))
    assert info["nnz_a"] == 3 * n - 2
    assert info["lnz_est"] == n - 1
    assert info["flops_est"] == 2 * (n - 1)


def test_auto_follows_the_symbolic_cost():
    """dense up to SPARSE_THRESHOLD states; above, GMRES exactly when the
    estimated operations per entry exceed ITERATIVE_OPS_PER_ENTRY."""
    limit = nk.Simulator.ITERATIVE_OPS_PER_ENTRY
    assert nk.Simulator(chain(nk.Simulator.SPARSE_THRESHOLD)).linear_solver == "dense"
    assert nk.Simulator(chain(400)).linear_solver == "sparse"
    # a full 31-state Jacobian: (30*31*32/3) / 31^2 = 10.3 per entry -> sparse
    assert nk.Simulator(all_coupled(31)).linear_solver == "sparse"
    seen = set()
    for n in (150, 250, 400):
        m = random_network(n)
        info = symbolic(m)
        want = "gmres" if info["flops_est"] > limit * info["nnz_a"] else "sparse"
        assert nk.Simulator(m).linear_solver == want
        seen.add(want)
    assert seen == {"sparse", "gmres"}  # the family crosses the threshold
    assert nk.Simulator(nk.models.transmitter_network()).linear_solver == "sparse"


def test_auto_gmres_agrees_with_sparse_lu():
    m = random_network(400)
    auto = nk.Simulator(m)
    assert auto.linear_solver == "gmres"
    kw = dict(t_eval=[0.5, 10.0], rtol=1e-8, atol=1e-12)
    a = auto.simulate(10.0, **kw)
    s = nk.Simulator(m, linear_solver="sparse").simulate(10.0, **kw)
    assert a.success and s.success and "rerun" not in a.message
    np.testing.assert_allclose(a.y, s.y, rtol=1e-5, atol=1e-9)


def test_radau5_on_an_auto_gmres_simulator_runs_on_sparse_lu():
    m = random_network(400)
    auto = nk.Simulator(m)
    assert auto.linear_solver == "gmres"
    kw = dict(t_eval=[1.0, 5.0], method="radau5", rtol=1e-7, atol=1e-10)
    a = auto.simulate(5.0, **kw)
    s = nk.Simulator(m, linear_solver="sparse").simulate(5.0, **kw)
    assert a.success
    np.testing.assert_array_equal(a.y, s.y)  # the same solver: the same numbers
    e = auto.ensemble({"q": [0.1, 0.2]}, t_eval=[1.0, 5.0], method="radau5",
                      rtol=1e-7, atol=1e-10, workers=2)
    np.testing.assert_array_equal(e.y[0], s.y)
    with pytest.raises(nk.OptionError, match="direct linear solver"):
        nk.Simulator(m, linear_solver="gmres").simulate(5.0, method="radau5")


def test_failed_krylov_solves_fall_back_to_sparse_lu():
    """One Arnoldi step per solve cannot reach a residual of 1e-14: the steps
    are cut until the budget is spent.  The auto simulator reruns on sparse
    LU and says so; its answer is the sparse simulator's, bit for bit."""
    m = random_network(400)
    auto = nk.Simulator(m)
    assert auto.linear_solver == "gmres"
    auto._runner.set_gmres_options(max_iters=1, rtol=1e-14)
    kw = dict(t_eval=[1.0, 10.0], rtol=1e-6, atol=1e-10, max_steps=1000)
    a = auto.simulate(10.0, **kw)
    assert auto._runner.linear_solver_info()["nfail"] > 0
    assert a.success, a.message
    assert "rerun with sparse LU" in a.message
    s = nk.Simulator(m, linear_solver="sparse").simulate(10.0, **kw)
    np.testing.assert_array_equal(a.y, s.y)
    assert a.stats == s.stats
    # an explicit GMRES simulator reports the failure as it is
    g = nk.Simulator(m, linear_solver="gmres")
    g._runner.set_gmres_options(max_iters=1, rtol=1e-14)
    r = g.simulate(10.0, **kw)
    assert not r.success and "rerun" not in r.message


def test_a_short_step_budget_is_not_rerun():
    """TOO_MUCH_WORK without failed Krylov solves is max_steps too small for
    the span: reported, not rerun (sparse LU would need as many steps)."""
    auto = nk.Simulator(random_network(400))
    assert auto.linear_solver == "gmres"
    r = auto.simulate(10.0, t_eval=[10.0], max_steps=5)
    assert r.status == nk.Status.TOO_MUCH_WORK
    assert "rerun" not in r.message
    assert auto._runner.linear_solver_info()["nfail"] == 0


def test_gmres_options_are_checked():
    g = nk.Simulator(random_network(150), linear_solver="gmres")
    for bad in (dict(max_iters=0), dict(restart=0), dict(rtol=1.0), dict(rtol=0.0)):
        with pytest.raises(nk.InvalidValueError):
            g._runner.set_gmres_options(**bad)
    with pytest.raises(nk.InvalidValueError, match="dense"):
        nk.Simulator(chain(5))._runner.set_gmres_options(max_iters=3)


def test_pickled_auto_simulator_chooses_again():
    auto = nk.Simulator(random_network(400))
    back = pickle.loads(pickle.dumps(auto))
    assert back.linear_solver == auto.linear_solver == "gmres"
    r = back.simulate(5.0, t_eval=[5.0], method="radau5")  # keeps the fallback
    assert r.success
    explicit = pickle.loads(pickle.dumps(nk.Simulator(random_network(150),
                                                      linear_solver="gmres")))
    with pytest.raises(nk.OptionError):
        explicit.simulate(1.0, method="radau5")


@pytest.mark.parametrize("fname,want", [("multisite2_no_obs.xml", "sparse"),
                                        ("egfr_net_no_obs.xml", "gmres")])
def test_auto_on_the_benchmark_networks(fname, want):
    """The two networks either side of the threshold (bench/scale.py:
    sparse LU faster on multisite2, GMRES on egfr_net)."""
    pytest.importorskip("libsbml")
    path = NETWORKS / fname
    if not path.exists():
        pytest.skip(f"{path} is not present")
    from neurokin import sbml
    m = sbml.load_sbml(path, observables=False)
    assert nk.Simulator(m).linear_solver == want


def test_ensemble_on_an_auto_gmres_simulator():
    """Members run on each worker's own GMRES runner: the same numbers with
    1 and 2 workers, and member i equal to simulate with its parameters."""
    auto = nk.Simulator(random_network(400))
    assert auto.linear_solver == "gmres"
    q = [0.05, 0.1, 0.2, 0.4]
    t = [1.0, 10.0]
    e1 = auto.ensemble({"q": q}, t_eval=t, workers=1, chunk_size=1)
    e2 = auto.ensemble({"q": q}, t_eval=t, workers=2, chunk_size=1)
    np.testing.assert_array_equal(e1.y, e2.y)
    assert np.all(e1.status == 0)
    r = auto.simulate(10.0, t_eval=t, parameters={"q": q[2]})
    np.testing.assert_array_equal(e1.y[2], r.y)
