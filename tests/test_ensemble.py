"""Ensembles on one machine: inputs, reproducibility, failures, steady states,
progress, and streaming to a resumable Zarr store."""
from __future__ import annotations

import numpy as np
import pytest

import neurokin as nk
from neurokin.ensemble import (NOT_RUN, open_ensemble, run_ensemble,
                               run_steady_state_ensemble)


def robertson():
    return nk.Model.from_odes(
        {"y1": "-k1*y1 + k3*y2*y3", "y2": "k1*y1 - k2*y2**2 - k3*y2*y3", "y3": "k2*y2**2"},
        {"y1": 1.0, "y2": 0.0, "y3": 0.0}, {"k1": 0.04, "k2": 3e7, "k3": 1e4},
        name="robertson")


def isomer():
    """A <-> B (k1, k2); C made at ks (may be negative: a sink) and degraded (kd)."""
    b = nk.ModelBuilder("isomer")
    b.species("A", 1.0).species("B", 0.0).species("C", 0.5)
    b.parameter("k1", 2.0).parameter("k2", 1.0).parameter("ks", 0.1, allow_negative=True)
    b.parameter("kd", 1.0)
    b.reaction("f", {"A": -1, "B": 1}, "k1*A")
    b.reaction("r", {"B": -1, "A": 1}, "k2*B")
    b.reaction("s", {"C": 1}, "ks - kd*C")
    return b.build()


def blowup():
    """x' = k x^2 from x=1: finite-time blow-up at t = 1/k."""
    return nk.Model.from_odes({"x": "k*x**2", "z": "-z"}, {"x": 1.0, "z": 1.0}, {"k": 0.1})


@pytest.fixture(scope="module")
def rob():
    return nk.Simulator(robertson())


@pytest.fixture(scope="module")
def rob_params():
    rng = np.random.default_rng(7)
    n = 37
    return {"k1": 0.04 * rng.lognormal(0, 0.2, n), "k2": 3e7 * rng.lognormal(0, 0.2, n),
            "k3": 1e4 * rng.lognormal(0, 0.2, n)}


T_EVAL = np.logspace(-4, 4, 17)
OPTS = dict(rtol=1e-7, atol=1e-12)


# -- reproducibility ---------------------------------------------------------
def test_bit_identical_for_1_2_3_workers_and_any_chunking(rob, rob_params):
    runs = [run_ensemble(rob, rob_params, T_EVAL, workers=w, **OPTS) for w in (1, 2, 3)]
    runs.append(run_ensemble(rob, rob_params, T_EVAL, workers=2, chunk_size=1, **OPTS))
    runs.append(run_ensemble(rob, rob_params, T_EVAL, workers=3, chunk_size=10, **OPTS))
    first = runs[0]
    assert first.y.shape == (37, 17, 3) and np.all(first.status == 0)
    assert first.varied == ["k1", "k2", "k3"]
    for r in runs[1:]:
        assert np.array_equal(r.y, first.y)          # bit for bit, NaN-free here
        assert np.array_equal(r.status, first.status)


def test_members_equal_single_simulations(rob, rob_params):
    ens = rob.ensemble(rob_params, T_EVAL, workers=2, **OPTS)
    for i in (0, 17, 36):
        one = rob.simulate(T_EVAL[-1], t_eval=T_EVAL, parameters={k: v[i] for k, v in
                                                                  rob_params.items()}, **OPTS)
        assert np.array_equal(one.y, ens.y[i])
    assert np.array_equal(ens["y3"], ens.y[:, :, 2])
    assert np.array_equal(ens.final(), ens.y[:, -1])


def test_dataframe_dict_and_bare_array_agree(rob, rob_params):
    pd = pytest.importorskip("pandas")
    a = rob.ensemble(rob_params, T_EVAL, **OPTS)
    b = rob.ensemble(pd.DataFrame(rob_params), T_EVAL, **OPTS)
    full = np.column_stack([rob_params[k] for k in rob._pnames])
    c = rob.ensemble(full, T_EVAL, **OPTS)
    assert np.array_equal(a.y, b.y) and np.array_equal(a.y, c.y)
    assert c.varied == list(rob._pnames)


def test_a_stray_column_is_named_before_its_values(rob, rob_params):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(dict(rob_params, patient=[f"p{i}" for i in range(37)]))
    with pytest.raises(nk.UnknownNameError, match="unknown parameter 'patient'"):
        rob.ensemble(frame, T_EVAL, **OPTS)
    with pytest.raises(nk.InvalidValueError, match="parameter 'k1' must be numbers"):
        rob.ensemble(dict(rob_params, k1=["fast"] * 37), T_EVAL, **OPTS)


def test_scalars_in_a_dict_are_shared(rob, rob_params):
    a = rob.ensemble({"k1": rob_params["k1"], "k3": 2e4}, T_EVAL, **OPTS)
    b = rob.ensemble({"k1": rob_params["k1"], "k3": np.full(37, 2e4)}, T_EVAL, **OPTS)
    assert np.array_equal(a.y, b.y)


# -- per-member initial values -----------------------------------------------
def test_per_member_initial_values():
    sim = nk.Simulator(isomer())
    a0 = np.linspace(0.5, 2.0, 9)
    ens = sim.ensemble({"k1": np.linspace(1, 3, 9)}, T_EVAL[:9],
                       initial={"A": a0, "C": 0.25}, workers=2, **OPTS)
    assert ens.varied_initial == ["A", "C"] and ens.initial.shape == (9, 2)
    for i in (0, 4, 8):
        one = sim.simulate(T_EVAL[8], t_eval=T_EVAL[:9], parameters={"k1": ens.parameters[i, 0]},
                           initial={"A": a0[i], "C": 0.25}, **OPTS)
        assert np.array_equal(one.y, ens.y[i])
    # A + B is conserved: the initial A of each member
    tot = ens["A"] + ens["B"]
    np.testing.assert_allclose(tot, np.repeat(a0[:, None], 9, axis=1), rtol=1e-6)


def test_only_initial_values_vary():
    sim = nk.Simulator(isomer())
    ens = sim.ensemble(None, [0.5, 1.0], initial={"A": [1.0, 2.0, 3.0]})
    assert ens.y.shape == (3, 2, 3) and ens.varied == []
    np.testing.assert_allclose(ens.y[:, -1, 0] / ens.y[0, -1, 0], [1, 2, 3], rtol=1e-4)


# -- validation --------------------------------------------------------------
@pytest.mark.parametrize("params, initial, error", [
    ({"k9": [1.0, 2.0]}, None, nk.UnknownNameError),
    ({"k1": [1.0, np.nan]}, None, nk.InvalidValueError),
    ({"k1": [1.0, np.inf]}, None, nk.InvalidValueError),
    ({"k1": [1.0, -2.0]}, None, nk.InvalidValueError),          # reaction model: k >= 0
    ({"default": [1.0, 0.0]}, None, nk.InvalidValueError),      # compartment size > 0
    ({"k1": [1.0, 2.0], "k2": [1.0, 2.0, 3.0]}, None, nk.ShapeError),
    ({"k1": [[1.0, 2.0]]}, None, nk.ShapeError),
    ({"k1": ["a", "b"]}, None, nk.InvalidValueError),
    (np.ones((2, 2)), None, nk.ShapeError),                      # bare array: all columns
    (None, {"Q": [1.0]}, nk.UnknownNameError),
    (None, {"A": [1.0, -1.0]}, nk.InvalidValueError),           # concentrations >= 0
    (None, {"A": [1.0, np.nan]}, nk.InvalidValueError),
    ({"k1": [1.0, 2.0]}, {"A": [1.0, 2.0, 3.0]}, nk.ShapeError),
])
def test_invalid_inputs_are_rejected(params, initial, error):
    sim = nk.Simulator(isomer())
    with pytest.raises(error) as info:
        sim.ensemble(params, [1.0], initial=initial)
    assert isinstance(info.value, nk.NeurokinError)


def test_error_messages_name_the_culprit():
    sim = nk.Simulator(isomer())
    with pytest.raises(nk.UnknownNameError, match="did you mean 'k1'"):
        sim.ensemble({"k_1": [1.0]}, [1.0])
    with pytest.raises(nk.InvalidValueError, match="'k2' of member 1"):
        sim.ensemble({"k2": [1.0, -1.0]}, [1.0])


def test_negative_allowed_where_the_model_allows_it():
    sim = nk.Simulator(isomer())
    ens = sim.ensemble({"ks": [0.1, -0.1]}, [1.0])
    assert np.all(ens.status == 0)
    np.testing.assert_allclose(ens["C"][:, 0], np.array([0.1, -0.1]) + (0.5 - np.array(
        [0.1, -0.1])) * np.exp(-1.0), rtol=1e-5)
    # ODE models: parameters and states may be negative
    ode = nk.Simulator(robertson())
    assert ode.ensemble({"k3": [-1.0, 1.0]}, [1e-3]).y.shape == (2, 1, 3)


def test_bad_options_and_times(rob):
    with pytest.raises(nk.OptionError):
        rob.ensemble({"k1": [0.04]}, [1.0], backend="mpi")
    with pytest.raises(nk.OptionError):
        rob.ensemble({"k1": [0.04]}, [1.0], max_stepz=10)
    with pytest.raises(nk.InvalidValueError, match=r"increasing.*t_eval\[1\] = 0.5 after 1"):
        rob.ensemble({"k1": [0.04]}, [1.0, 0.5])                  # decreasing
    for bad in (np.nan, np.inf):  # named as sim.simulate names it, not an IndexError
        with pytest.raises(nk.InvalidValueError, match=r"finite \(t_eval\[1\] = (nan|inf)"):
            rob.ensemble({"k1": [0.04]}, [0.5, bad, 2.0])
    with pytest.raises(nk.InvalidValueError, match=r"finite \(t_eval\[2\] = nan"):
        rob.ensemble({"k1": [0.04]}, [0.5, 1.0, np.nan])            # NaN as the end time
    with pytest.raises(nk.InvalidValueError):
        rob.ensemble({"k1": [0.04]}, [1.0], workers=0)
    with pytest.raises(nk.NeurokinError):
        rob.ensemble({"k1": [0.04]}, [0.0])                        # ends at t_start


# -- failures ------------------------------------------------------------------
def test_failing_member_is_reported_and_does_not_spoil_the_others():
    sim = nk.Simulator(blowup())
    t_eval = np.linspace(0.0, 2.0, 21)
    k = np.array([0.1, 0.2, 5.0, 0.3])            # member 2 blows up at t = 0.2
    ens = sim.ensemble({"k": k}, t_eval, workers=2, rtol=1e-8, atol=1e-10, max_steps=20000)
    assert list(ens.success) == [True, True, False, True]
    assert ens.status[2] < 0 and nk.Status(int(ens.status[2])) != nk.Status.SUCCESS
    (who, name, message), = ens.failures()
    assert who == 2 and name == nk.Status(int(ens.status[2])).name and message
    x = ens["x"][2]
    ok = np.isfinite(x)
    assert ok[0] and ok[1] and not ok[-1]
    assert np.all(np.isnan(ens.y[2, np.argmin(ok):]))             # NaN after the failure
    assert np.all(ok[:np.argmin(ok)])
    good = sim.ensemble({"k": k[[0, 1, 3]]}, t_eval, workers=1, rtol=1e-8, atol=1e-10,
                        max_steps=20000)
    assert np.array_equal(good.y, ens.y[[0, 1, 3]])
    np.testing.assert_allclose(ens["x"][0, -1], 1 / (1 - 0.1 * 2.0), rtol=1e-6)


# -- events ----------------------------------------------------------------------
def test_models_with_events_run_member_by_member():
    ev = nk.Event("kick", "t >= 1", (("x", "x + a"),))
    m = nk.Model.from_odes({"x": "-k*x"}, {"x": 1.0}, {"k": 1.0, "a": 1.0}, events=[ev])
    sim = nk.Simulator(m)
    t_eval = np.linspace(0, 2, 5)
    ens = sim.ensemble({"a": [0.0, 1.0, 2.0]}, t_eval, workers=2, rtol=1e-9, atol=1e-12)
    for i, a in enumerate([0.0, 1.0, 2.0]):
        one = sim.simulate(2.0, t_eval=t_eval, parameters={"a": a}, rtol=1e-9, atol=1e-12)
        assert np.array_equal(one.y, ens.y[i])
    np.testing.assert_allclose(ens["x"][:, -1], (np.exp(-1) + [0, 1, 2]) * np.exp(-1),
                               rtol=1e-6)


# -- steady states ---------------------------------------------------------------
def test_steady_state_ensemble():
    sim = nk.Simulator(isomer())
    k1 = np.linspace(0.5, 4.0, 11)
    ss1 = run_steady_state_ensemble(sim, {"k1": k1, "ks": 0.0}, initial={"A": 2.0}, workers=1)
    ss2 = sim_ss = run_steady_state_ensemble(sim, {"k1": k1, "ks": 0.0}, initial={"A": 2.0},
                                             workers=2)
    assert ss1.states.shape == (11, 3)
    assert np.all(ss1.converged) and np.all(ss1.stable)
    assert np.array_equal(ss1.states, ss2.states)
    # B/A = k1/k2 with A + B = 2
    np.testing.assert_allclose(sim_ss["B"], 2.0 * k1 / (k1 + 1.0), rtol=1e-7)
    assert np.all(ss1.residuals < 1e-8)
    one = sim.steady_state(initial={"A": 2.0}, parameters={"k1": k1[3], "ks": 0.0})
    np.testing.assert_allclose(ss1.states[3], one.y, rtol=1e-12)


def test_steady_state_ensemble_reports_members_without_one():
    # ks < 0: the only root has C = ks < 0, not a state of a reaction model
    sim = nk.Simulator(isomer())
    ss = run_steady_state_ensemble(sim, {"ks": [0.5, -0.5]}, workers=2)
    assert list(ss.converged) == [True, False]
    np.testing.assert_allclose(ss["C"][0], 0.5, rtol=1e-9)


# -- progress --------------------------------------------------------------------
def test_progress_callback_sees_every_chunk(rob, rob_params):
    seen = []
    rob.ensemble(rob_params, T_EVAL, workers=2, chunk_size=5, progress=lambda d, n:
                 seen.append((d, n)), **OPTS)
    assert len(seen) == 8 and seen[-1] == (37, 37)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_progress_bar_draws_when_asked(rob, rob_params, capsys):
    ens = rob.ensemble(rob_params, T_EVAL, progress=True, **OPTS)
    assert np.all(ens.status == 0)
    from neurokin.progress import backend
    if backend() is not None:
        assert "37" in capsys.readouterr().err


def test_exception_in_callback_stops_the_run(rob, rob_params):
    class Stop(Exception):
        pass

    def cb(done, total):
        if done >= 10:
            raise Stop
    with pytest.raises(Stop):
        rob.ensemble(rob_params, T_EVAL, workers=2, chunk_size=5, progress=cb, **OPTS)


# -- streaming to disk, resumable ------------------------------------------------
def test_stream_to_zarr_and_resume_after_interruption(rob, rob_params, tmp_path):
    pytest.importorskip("zarr")
    ref = rob.ensemble(rob_params, T_EVAL, workers=1, **OPTS)
    path = tmp_path / "ens.zarr"

    class Interrupted(Exception):
        pass

    def stop_after_three_chunks(done, total):
        if done >= 15:
            raise Interrupted

    with pytest.raises(Interrupted):
        rob.ensemble(rob_params, T_EVAL, workers=1, chunk_size=5, out=path,
                     progress=stop_after_three_chunks, **OPTS)
    part = open_ensemble(path)
    assert not part.info["complete"] and part.info["chunks_done"] == 3
    assert np.all(part.status[15:] == NOT_RUN) and np.all(np.isnan(part.y[15:]))
    assert [f[0] for f in part.failures()] == list(range(15, 37))
    assert {f[1] for f in part.failures()} == {"NOT_RUN"}
    # counters of the finished chunks are stored; -1 = not recorded yet
    assert np.array_equal(part.counts[:15], ref.counts[:15])
    assert (part.stats["n_steps"][15:] == -1).all()

    seen = []
    ens = rob.ensemble(rob_params, T_EVAL, workers=2, chunk_size=5, out=path,
                       progress=lambda d, n: seen.append(d), **OPTS)
    assert ens.info["chunks"] == 8
    assert ens.info["chunks_skipped"] == 3 and ens.info["chunks_computed"] == 5
    assert seen[:2] == [15, 20] and seen[-1] == 37  # resumed: starts at 15
    assert np.array_equal(np.asarray(ens.y), ref.y)
    assert np.array_equal(ens.status, ref.status) and ens.failures() == []
    assert np.array_equal(ens.counts, ref.counts) and (ref.counts[:, 0] > 0).all()

    again = rob.ensemble(rob_params, T_EVAL, chunk_size=5, out=path, **OPTS)
    assert again.info["chunks_computed"] == 0
    back = open_ensemble(path)
    assert back.info["complete"] and back.varied == ["k1", "k2", "k3"]
    assert np.array_equal(np.asarray(back.y), ref.y) and np.array_equal(back.t, ref.t)
    assert np.array_equal(back.counts, ref.counts)
    np.testing.assert_array_equal(back.parameters, ref.parameters)


RESUME_SCRIPT = """
import sys, numpy as np, neurokin as nk
from neurokin import models
sim = nk.Simulator(models.serotonin())
rng = np.random.default_rng(5)
par = {p: sim.model.parameters[p] * rng.lognormal(0, 0.2, 24) for p in ("Vmax_TPH", "Vmax_SERT")}
def stop(done, total):
    if sys.argv[2] == "interrupt" and done >= 8:
        raise KeyboardInterrupt
try:
    ens = sim.ensemble(par, np.linspace(0, 5, 6), chunk_size=4, workers=1, out=sys.argv[1],
                       progress=stop)
except KeyboardInterrupt:
    print("interrupted")
else:
    print(ens.info["chunks_skipped"], ens.info["chunks_computed"])
    np.save(sys.argv[1] + ".npy", np.asarray(ens.y))
"""


def test_store_resumes_in_another_process(tmp_path):
    # The interrupted run and its resumption are different processes, with
    # different string hashing: the store's fingerprint must not depend on it.
    import os
    import subprocess
    import sys
    pytest.importorskip("zarr")
    script = tmp_path / "resume.py"
    script.write_text(RESUME_SCRIPT)
    path = str(tmp_path / "ens.zarr")

    def run(mode, seed):
        env = dict(os.environ, PYTHONHASHSEED=str(seed))
        out = subprocess.run([sys.executable, str(script), path, mode], env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return out.stdout.split()

    assert run("interrupt", 1) == ["interrupted"]
    assert run("resume", 2) == ["2", "4"]        # 2 of 6 chunks kept, 4 computed
    resumed = np.load(path + ".npy")
    fresh_path = str(tmp_path / "fresh.zarr")
    path = fresh_path
    assert run("resume", 3) == ["0", "6"]
    assert np.array_equal(resumed, np.load(fresh_path + ".npy"))


def test_store_of_another_ensemble_is_not_overwritten(rob, rob_params, tmp_path):
    pytest.importorskip("zarr")
    path = tmp_path / "ens.zarr"
    rob.ensemble(rob_params, T_EVAL, chunk_size=5, out=path, **OPTS)
    other = dict(rob_params, k1=rob_params["k1"] * 2)
    with pytest.raises(nk.InvalidValueError, match="different ensemble"):
        rob.ensemble(other, T_EVAL, chunk_size=5, out=path, **OPTS)


def test_a_path_holding_something_else_is_refused(rob, rob_params, tmp_path):
    zarr = pytest.importorskip("zarr")
    a_file = tmp_path / "file.zarr"
    a_file.write_text("not a store")
    a_dir = tmp_path / "dir.zarr"
    a_dir.mkdir()
    (a_dir / "notes.txt").write_text("mine")
    other = tmp_path / "other.zarr"
    zarr.open_group(str(other), mode="w").attrs["owner"] = "another tool"
    for path in (a_file, a_dir, other):
        with pytest.raises(nk.InvalidValueError, match="is not a neurokin ensemble store"):
            rob.ensemble(rob_params, T_EVAL, out=path, **OPTS)
        with pytest.raises(nk.InvalidValueError, match="is not a neurokin ensemble store"):
            open_ensemble(path)
    assert a_file.read_text() == "not a store" and (a_dir / "notes.txt").exists()
    assert dict(zarr.open_group(str(other), mode="r").attrs) == {"owner": "another tool"}


def test_uninterrupted_stream_equals_in_memory(rob, rob_params, tmp_path):
    pytest.importorskip("zarr")
    ref = rob.ensemble(rob_params, T_EVAL, **OPTS)
    ens = rob.ensemble(rob_params, T_EVAL, workers=2, out=str(tmp_path / "e.zarr"), **OPTS)
    assert np.array_equal(np.asarray(ens.y), ref.y) and ens.info["chunks_skipped"] == 0


def test_empty_store_free_ensemble_shapes(rob):
    ens = rob.ensemble({"k1": np.array([])}, T_EVAL)
    assert ens.y.shape == (0, 17, 3) and ens.status.shape == (0,)


def test_to_pandas_long_table(rob, rob_params):
    pytest.importorskip("pandas")
    ens = rob.ensemble(rob_params, T_EVAL, **OPTS)
    df = ens.to_pandas()
    assert len(df) == 37 * 17
    assert list(df.columns[:5]) == ["member", "t", "k1", "k2", "k3"]
    row = df[(df.member == 5)].iloc[3]
    assert row["y2"] == ens.y[5, 3, 1] and row["k1"] == rob_params["k1"][5]
