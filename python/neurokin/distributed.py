"""Ensembles on a dask.distributed cluster (``backend="dask"``; ``pip install neurokin[distributed]``).

    from dask.distributed import Client
    client = Client("tcp://scheduler:8786")
    ens = sim.ensemble(params, t_eval=t, backend="dask", client=client)
    ss = sim.steady_state_ensemble(params, backend="dask", client=client)

Members are cut into chunks (as with threads); each chunk is one task.  The
model travels as its pickled *description* inside every task (a few kB for
typical models) together with a digest; each worker process compiles it once
and caches the compiled Simulator under that digest, and each worker thread
keeps its own C workspace.  Results are gathered as tasks finish and placed in
member order.  Tasks of a worker that dies are rerun elsewhere by the
scheduler, and since every member's result depends only on its inputs, the
results are identical to a threaded run.

Without ``client`` a ``LocalCluster`` of ``workers`` processes (default 2, one
thread each) on the loopback interface is started for the call and closed
after it.
"""
from __future__ import annotations

import logging
import pickle
import threading
import uuid

from . import _validate as V

__all__ = ["execute_dask", "execute_steady", "execute_tasks", "local_cluster"]

# worker-process cache: digest -> compiled Simulator; per thread -> its workspace
_CACHE: dict = {}
_CACHE_LOCK = threading.Lock()
_LOCAL = threading.local()
_MAX_MODELS = 8


def _import_distributed():
    try:
        import dask.distributed as dd
    except ImportError:
        from .errors import OptionError
        raise OptionError("backend='dask' needs dask.distributed: "
                          "pip install 'neurokin[distributed]'") from None
    return dd


def local_cluster(workers: int = 2, **kwargs):
    """A LocalCluster of ``workers`` single-threaded processes on 127.0.0.1, no dashboard."""
    dd = _import_distributed()
    opts = dict(n_workers=V.integer_value(workers, "workers", 1), threads_per_worker=1,
                processes=True, host="127.0.0.1", dashboard_address=":0",
                silence_logs=logging.ERROR, scheduler_kwargs={"dashboard": False})
    opts.update(kwargs)
    return dd.LocalCluster(**opts)


def _worker_sim(digest: str, payload: bytes):
    """This process's compiled Simulator for the model (compiled once), with this
    thread's own workspace."""
    from .ensemble import worker_simulator
    sims = getattr(_LOCAL, "sims", None)
    if sims is None:
        sims = _LOCAL.sims = {}
    ws = sims.get(digest)
    if ws is not None:
        return ws
    with _CACHE_LOCK:
        base = _CACHE.get(digest)
        if base is None:
            from .simulator import Simulator
            model, linear_solver = pickle.loads(payload)
            base = Simulator(model, linear_solver)
            if len(_CACHE) >= _MAX_MODELS:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[digest] = base
    ws = sims[digest] = worker_simulator(base)
    return ws


def compiled_models() -> list:
    """Digests of the models compiled in this process (for tests: once per worker)."""
    return list(_CACHE)


def _chunk_task(digest, payload, spec, P, Y):
    from .ensemble import run_chunk
    return run_chunk(_worker_sim(digest, payload), spec, P, Y)


def _steady_chunk_task(digest, payload, opt, pnames, Pf, Yf, Prows):
    from .ensemble import steady_chunk
    return steady_chunk(_worker_sim(digest, payload), opt, pnames, Pf, Yf, Prows)


def execute_dask(sim, spec, P, Y, chunks, todo, on_done, *, client=None, workers=None) -> int:
    """Run chunks ``todo`` as tasks; call ``on_done(c, (y, status, counts))`` as they finish.

    Returns the number of workers used.
    """
    def args(c):
        lo, hi = chunks[c]
        return spec, P[lo:hi], Y[lo:hi]
    return execute_tasks(sim, _chunk_task, args, todo, on_done, client=client, workers=workers)


def execute_steady(sim, opt, pnames, rows, todo, on_done, *, client=None, workers=None) -> int:
    """Steady-state chunks ``todo`` as tasks: ``rows(c)`` gives a chunk's
    (Pf, Yf, Prows); ``on_done(c, out)`` with steady_chunk's result."""
    return execute_tasks(sim, _steady_chunk_task, lambda c: (opt, pnames, *rows(c)), todo,
                         on_done, client=client, workers=workers)


def execute_tasks(sim, task, args, todo, on_done, *, client=None, workers=None) -> int:
    """Run ``task(digest, payload, *args(c))`` for each chunk c of ``todo`` on
    the cluster; call ``on_done(c, result)`` as they finish.  Returns the
    number of workers used."""
    dd = _import_distributed()
    from .ensemble import model_digest
    # "auto" travels as such: the worker's choice is the same, with its fallback
    solver = "auto" if sim._auto else sim.linear_solver
    payload = pickle.dumps((sim.model, solver), protocol=pickle.HIGHEST_PROTOCOL)
    digest = model_digest(sim)  # the same in every client process: one compile per worker
    cluster = None
    own_client = client is None
    if not own_client and not isinstance(client, dd.Client):
        from .errors import OptionError
        raise OptionError(f"client must be a dask.distributed.Client, got "
                          f"{type(client).__name__}")
    if own_client:
        cluster = local_cluster(2 if workers is None else workers)
        client = dd.Client(cluster)
    futures = {}
    try:
        nw = max(1, len(client.scheduler_info().get("workers", {})))
        run_id = uuid.uuid4().hex[:12]
        for c in todo:
            f = client.submit(task, digest, payload, *args(c),
                              key=f"neurokin-ensemble-{run_id}-{c}", pure=False)
            futures[f] = c
        for f in dd.as_completed(list(futures)):
            c = futures.pop(f)
            on_done(c, f.result())
            f.release()
        return nw
    finally:
        if futures:
            client.cancel(list(futures))
        if own_client:
            client.close()
            cluster.close()
