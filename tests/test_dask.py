"""Ensembles on a real dask.distributed LocalCluster (two worker processes, loopback).

Skipped when dask.distributed is not installed (``pip install "dask[distributed]"``).
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

import neurokin as nk

dd = pytest.importorskip("dask.distributed", reason="dask.distributed is not installed")



def robertson():
    return nk.Model.from_odes(
        {"y1": "-k1*y1 + k3*y2*y3", "y2": "k1*y1 - k2*y2**2 - k3*y2*y3", "y3": "k2*y2**2"},
        {"y1": 1.0, "y2": 0.0, "y3": 0.0}, {"k1": 0.04, "k2": 3e7, "k3": 1e4},
        name="robertson")


def params(n, seed=3):
    rng = np.random.default_rng(seed)
    return {"k1": 0.04 * rng.lognormal(0, 0.3, n), "k3": 1e4 * rng.lognormal(0, 0.3, n)}


T_EVAL = np.logspace(-4, 5, 12)
OPTS = dict(rtol=1e-8, atol=1e-14)


def _worker_env():
    # worker processes must import this checkout's neurokin (PYTHONPATH=python runs)
    pkg = str(Path(nk.__file__).resolve().parents[1])
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if pkg not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([pkg] + paths)


def _cluster():
    _worker_env()
    from neurokin.distributed import local_cluster
    return local_cluster(2)


@pytest.fixture(scope="module")
def client():
    cluster = _cluster()
    c = dd.Client(cluster)
    c.wait_for_workers(2, timeout=60)
    yield c
    c.close()
    cluster.close()


def test_dask_equals_threads_in_member_order(client):
    sim = nk.Simulator(robertson())
    p = params(60)
    ref = sim.ensemble(p, T_EVAL, workers=2, **OPTS)
    ens = sim.ensemble(p, T_EVAL, backend="dask", client=client, chunk_size=7, **OPTS)
    assert ens.info["backend"] == "dask" and ens.info["workers"] == 2
    assert np.array_equal(ens.y, ref.y) and np.array_equal(ens.status, ref.status)
    assert np.array_equal(ens.counts, ref.counts)
    # each worker process compiled the model at most once, whatever the chunk count
    from neurokin.distributed import compiled_models
    per_worker = client.run(compiled_models)
    assert len(per_worker) == 2
    assert all(len(v) <= 1 for v in per_worker.values())
    assert sum(len(v) for v in per_worker.values()) >= 1


def test_dask_failures_and_per_member_initial(client):
    m = nk.Model.from_odes({"x": "k*x**2", "z": "-z"}, {"x": 1.0, "z": 1.0}, {"k": 0.1})
    sim = nk.Simulator(m)
    t = np.linspace(0.0, 2.0, 11)
    kw = dict(rtol=1e-8, atol=1e-10, max_steps=20000)
    p, ini = {"k": [0.1, 5.0, 0.2, 0.3]}, {"z": [1.0, 2.0, 3.0, 4.0]}
    ref = sim.ensemble(p, t, initial=ini, workers=1, **kw)
    ens = sim.ensemble(p, t, initial=ini, backend="dask", client=client, chunk_size=1, **kw)
    assert list(ens.success) == [True, False, True, True]
    np.testing.assert_array_equal(ens.y, ref.y)     # NaN rows of the failure included


def test_dask_survives_a_killed_worker():
    """Kill one worker process mid-run: every member still arrives, identical."""
    sim = nk.Simulator(robertson())
    p = params(400, seed=11)
    ref = sim.ensemble(p, T_EVAL, workers=1, **OPTS)
    cluster = _cluster()
    client = dd.Client(cluster)
    try:
        client.wait_for_workers(2, timeout=60)
        before = set(client.scheduler_info()["workers"])
        killed = []

        def kill_one(done, total):
            # first completed chunk: both workers hold tasks; one dies abruptly
            if not killed:
                victim = sorted(before)[0]
                pid = client.run(os.getpid, workers=[victim])[victim]
                os.kill(pid, signal.SIGKILL)
                killed.append(victim)
                time.sleep(0.2)

        ens = sim.ensemble(p, T_EVAL, backend="dask", client=client, chunk_size=10,
                           progress=kill_one, **OPTS)
        assert killed
        assert np.array_equal(ens.y, ref.y) and np.array_equal(ens.status, ref.status)
        # the victim is gone (the nanny may have started a replacement)
        assert killed[0] not in set(client.scheduler_info()["workers"])
    finally:
        client.close()
        cluster.close()


def test_local_cluster_started_for_the_call():
    _worker_env()
    sim = nk.Simulator(robertson())
    p = params(12)
    ens = sim.ensemble(p, T_EVAL, backend="dask", workers=2, **OPTS)
    ref = sim.ensemble(p, T_EVAL, workers=1, **OPTS)
    assert np.array_equal(ens.y, ref.y)


def test_client_without_dask_backend_is_an_error(client):
    sim = nk.Simulator(robertson())
    with pytest.raises(nk.OptionError):
        sim.ensemble(params(2), T_EVAL, client=client)


def test_dask_streams_to_a_resumable_store(client, tmp_path):
    pytest.importorskip("zarr")
    sim = nk.Simulator(robertson())
    p = params(30)
    ref = sim.ensemble(p, T_EVAL, workers=1, **OPTS)
    path = tmp_path / "d.zarr"

    def stop(done, total):
        if done >= 10:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sim.ensemble(p, T_EVAL, backend="dask", client=client, chunk_size=5, out=path,
                     progress=stop, **OPTS)
    ens = sim.ensemble(p, T_EVAL, backend="dask", client=client, chunk_size=5, out=path, **OPTS)
    assert ens.info["chunks_skipped"] >= 2 and ens.info["chunks_computed"] <= 4
    assert np.array_equal(np.asarray(ens.y), ref.y)
    assert np.array_equal(ens.counts, ref.counts)


def test_client_must_be_a_dask_client():
    sim = nk.Simulator(robertson())
    with pytest.raises(nk.OptionError, match="client must be a dask.distributed.Client, got int"):
        sim.ensemble(params(4), T_EVAL, backend="dask", client=5, **OPTS)


def test_dask_steady_state_ensemble_equals_threads(client):
    # members that C finishes and members it presimulates, as tasks on two
    # worker processes: the threaded run's results, bit for bit
    sim = nk.Simulator(nk.models.hpa_axis())
    rng = np.random.default_rng(4)
    ks = [p for p in sim._pnames if sim.model.parameters.get(p, 0) > 0][:20]
    P = {k: sim.model.parameters[k] * rng.lognormal(0.0, 0.5, 60) for k in ks}
    threads = sim.steady_state_ensemble(P, workers=2, chunk_size=8)
    dask = sim.steady_state_ensemble(P, backend="dask", client=client, chunk_size=8)
    assert np.array_equal(threads.states, dask.states)
    assert threads.methods == dask.methods and "presimulation+newton" in dask.methods
    assert np.array_equal(threads.converged, dask.converged)
    assert np.array_equal(threads.stable, dask.stable)
    assert np.array_equal(threads.residuals, dask.residuals, equal_nan=True)
    with pytest.raises(nk.OptionError, match="backend"):
        sim.steady_state_ensemble(P, backend="mpi")
