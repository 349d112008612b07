"""Ensembles: one compiled model, many parameter sets, C threads without the GIL.

    ens = sim.ensemble({"k1": k1_values, "k2": k2_values}, t_eval=np.linspace(0, 10, 51),
                       workers=4, progress=True)
    ens.y            # (members, times, species)
    ens.status       # (members,) neurokin.Status codes, 0 = success
    ens.failures()   # [(member, status name, message)] of the members that failed
    ens.stats        # per-member counters: {"n_steps": (members,), "n_rhs": ..., ...}

How it runs
-----------
Members are cut into chunks of ``chunk_size`` (chosen from the number of
members only, never from the worker count).  Each worker (a thread, or with
``backend="dask"`` a task on a dask.distributed cluster) integrates a chunk
member after member with its own C workspace (``ModelRunner``) over the shared
compiled model; the C integration releases the GIL, so threads run in
parallel.  With BDF, the dense linear solver, no events and at most 64
species a chunk runs in the C lane engine (``nk_ensemble``): eight members
in flight per worker, their right-hand sides and Newton solves evaluated
together, lane-interleaved and vectorised -- about 1.7x the throughput of the
member-by-member loop on HIRES, each member bit-identical to
``sim.simulate`` of the same inputs.  Every member starts from a freshly
initialised integrator, so its result depends only on its own inputs:
bit-identical whatever the worker count, chunk size or backend.

Failures
--------
A member whose integration fails (step size underflow, Newton divergence,
non-finite values, too much work) keeps the rows it computed; its rows after
the failure are NaN and ``status[i]`` holds the ``neurokin.Status`` code
(``failures()`` lists them with the reason).  The other members are not
affected.  ``stats`` holds each member's solver counters (steps, rhs and
Jacobian evaluations, LU factorisations, rejected steps, non-finite rhs
values), the same numbers ``sim.simulate(...).stats`` reports for it.

Streaming
---------
``out="results.zarr"`` (needs ``zarr``) writes every chunk to a Zarr group as
it completes, with a completion marker per chunk, instead of holding the
whole (members, times, species) array in memory; the returned result's ``y``
is the (lazy) Zarr array.  Calling again with the same arguments and ``out``
after an interruption computes only the chunks not marked done.
:func:`open_ensemble` reopens a store.
"""
from __future__ import annotations

import difflib
import hashlib
import math
import os
import pickle
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from . import _validate as V
from ._core import ENSEMBLE_COUNTERS, ERR_ARGUMENT, METHODS, ModelRunner, status_message
from .errors import (InvalidValueError, NeurokinError, OptionError, ShapeError,
                     UnknownNameError)
from .progress import progress_bar
from .result import Status, rhs_failure_hint

__all__ = ["EnsembleResult", "SteadyStateEnsemble", "run_ensemble",
           "run_steady_state_ensemble", "open_ensemble"]

_OPTIONS = {"max_steps", "h0", "hmax", "max_order"}
NOT_RUN = -128          # status of a member whose chunk has not been computed (stores)
_STORE_VERSION = 1


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------
@dataclass
class EnsembleResult:
    """Results of an ensemble.

    Attributes
    ----------
    t : ndarray (times,)
    y : ndarray (members, times, species); rows after a member's failure are
        NaN.  With ``out=`` a Zarr array of that shape (``np.asarray(y)``
        loads it).
    status : ndarray (members,) of int (``neurokin.Status`` codes; 0 = success)
    names : list[str] species, the last axis of ``y``
    parameters : ndarray (members, n_varied) values of the varied parameters
    varied : list[str] names of the varied parameters
    initial : ndarray (members, n_varied_initial) per-member initial values
    varied_initial : list[str] species whose initial value varies per member
    info : dict  chunks, chunks_computed, chunks_skipped (resumed store), backend,
        workers, path (store)
    counts : ndarray (members, len(COUNTERS)) int64, each member's solver
        counters in the order of ``COUNTERS`` (-1: not recorded, e.g. a chunk
        not computed yet); ``stats`` gives them by name.
    """
    t: np.ndarray
    y: np.ndarray
    status: np.ndarray
    names: list
    parameters: np.ndarray
    varied: list
    initial: np.ndarray = None
    varied_initial: list = field(default_factory=list)
    info: dict = field(default_factory=dict)
    counts: np.ndarray = None

    COUNTERS = ENSEMBLE_COUNTERS

    @property
    def stats(self) -> dict:
        """Per-member solver counters by name, each a (members,) int64 array:
        n_steps (accepted steps), n_rhs, n_jac, n_lu, nreject (error-test
        failures), n_rhs_fail (rhs evaluations that gave NaN/Inf) -- the
        entries of ``Result.stats`` of ``sim.simulate`` for the same member.
        -1 where not recorded; empty for a store written without counters."""
        if self.counts is None:
            return {}
        c = np.asarray(self.counts)
        return {name: c[:, j] for j, name in enumerate(self.COUNTERS)}

    @property
    def success(self) -> np.ndarray:
        """(members,) bool: the member reached the end of the interval."""
        return self.status == 0

    @property
    def n_members(self) -> int:
        return int(self.status.shape[0])

    def __len__(self) -> int:
        return self.n_members

    def __getitem__(self, name):
        """(members, times) array of one species."""
        try:
            k = self.names.index(name)
        except ValueError:
            raise UnknownNameError(f"no species {name!r} in this ensemble") from None
        return np.asarray(self.y[:, :, k])

    def final(self) -> np.ndarray:
        """(members, species): the state at the last output time (NaN for failures)."""
        return np.asarray(self.y[:, -1, :])

    def failures(self) -> list:
        """The members that did not succeed, as (member index, status name,
        message) tuples in member order; empty when all succeeded."""
        out = []
        for i in np.flatnonzero(self.status != 0):
            code = int(self.status[i])
            if code == NOT_RUN:
                out.append((int(i), "NOT_RUN", "not computed yet (its chunk of the store "
                            "was not run; resume the ensemble)"))
            else:
                bad = int(self.counts[i, self.COUNTERS.index("n_rhs_fail")]) \
                    if self.counts is not None else 0
                status = Status(code)
                out.append((int(i), status.name,
                            status_message(code) + rhs_failure_hint(status, max(bad, 0))))
        return out

    def to_pandas(self):
        """Long table: one row per (member, time) with columns member, t, the
        varied parameters and initial values, status, then the species."""
        import pandas as pd
        y = np.asarray(self.y)
        m, k, n = y.shape
        data = {"member": np.repeat(np.arange(m), k), "t": np.tile(self.t, m)}
        for j, name in enumerate(self.varied):
            data[name] = np.repeat(self.parameters[:, j], k)
        for j, name in enumerate(self.varied_initial):
            data[f"{name}(0)"] = np.repeat(self.initial[:, j], k)
        data["status"] = np.repeat(self.status, k)
        for j, name in enumerate(self.names):
            data[name] = y[:, :, j].reshape(-1)
        return pd.DataFrame(data)


@dataclass
class SteadyStateEnsemble:
    """Steady states of an ensemble (one per member).

    Attributes
    ----------
    states : ndarray (members, species); NaN where the search raised
    converged : ndarray (members,) bool
    stable : ndarray (members,) bool (eigenvalues on the free subspace < 0)
    residuals : ndarray (members,) max |dy/dt| at the state
    names, parameters, varied, initial, varied_initial : as EnsembleResult
    methods : list[str] how each was found ('newton', 'presimulation+newton',
        or 'error: ...')
    """
    states: np.ndarray
    converged: np.ndarray
    stable: np.ndarray
    residuals: np.ndarray
    names: list
    parameters: np.ndarray
    varied: list
    initial: np.ndarray = None
    varied_initial: list = field(default_factory=list)
    methods: list = field(default_factory=list)

    def __getitem__(self, name):
        try:
            return self.states[:, self.names.index(name)]
        except ValueError:
            raise UnknownNameError(f"no species {name!r} in this ensemble") from None


# ---------------------------------------------------------------------------
# input tables
# ---------------------------------------------------------------------------
def _is_frame(x) -> bool:
    return hasattr(x, "columns") and hasattr(x, "to_numpy")


def _unknown(name, index, kind):
    close = difflib.get_close_matches(str(name), list(index), n=3)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    return UnknownNameError(f"unknown {kind} {name!r} in ensemble{hint}")


def _as_float(values, kind, name):
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise InvalidValueError(f"ensemble {kind} {name!r} must be numbers") from None


def _columns(data, kind: str, order: list, index: dict):
    """(names, [column or scalar ...]) of a DataFrame, dict or 2-D array.

    A 2-D array has one column per entry of ``order`` (all of them, in that
    order).  In a dict, a scalar is shared by all members.
    """
    if data is None:
        return [], []
    if _is_frame(data) or isinstance(data, dict):
        keys = list(data.columns) if _is_frame(data) else list(data)
        names = [str(k) for k in keys]
        _check_names(names, kind, index)   # before the values: a stray column is named
        cols = []
        for k, name in zip(keys, names):
            v = data[k].to_numpy() if _is_frame(data) else data[k]
            a = _as_float(v, kind, name)
            if a.ndim > 1:
                raise ShapeError(f"ensemble {kind} {name!r} must be a scalar or a 1-D array, "
                                 f"got shape {a.shape}")
            cols.append(a)
        return names, cols
    a = _as_float(data, kind, "array")
    if a.ndim != 2 or a.shape[1] != len(order):
        raise ShapeError(f"a bare {kind} array must be (members, {len(order)}) with "
                         f"columns in the order {order}; got shape {a.shape}")
    return list(order), [a[:, j] for j in range(a.shape[1])]


def _check_names(names: list, kind: str, index: dict) -> None:
    if len(set(names)) != len(names):
        raise InvalidValueError(f"ensemble {kind} names repeat: {names}")
    for k in names:
        if k not in index:
            raise _unknown(k, index, kind)


def _member_count(*column_lists) -> int:
    sizes = {c.shape[0] for cols in column_lists for c in cols if c.ndim == 1}
    if len(sizes) > 1:
        raise ShapeError(f"ensemble columns have different numbers of members: {sorted(sizes)}")
    return sizes.pop() if sizes else 1


def _matrix(names, cols, members):
    if not names:
        return np.zeros((members, 0))
    m = np.empty((members, len(names)))
    for j, c in enumerate(cols):
        m[:, j] = c          # broadcasts scalars
    return m


def _check_values(m, names, kind, negative_ok, positive=()):
    bad = ~np.isfinite(m)
    if bad.any():
        i, j = map(int, np.argwhere(bad)[0])
        raise InvalidValueError(f"ensemble {kind} {names[j]!r} of member {i} must be finite, "
                                f"got {m[i, j]}")
    for j, k in enumerate(names):
        col = m[:, j]
        if k in positive and np.any(col <= 0):
            i = int(np.flatnonzero(col <= 0)[0])
            raise InvalidValueError(f"ensemble {kind} {k!r} (a compartment size) of member "
                                    f"{i} must be > 0, got {col[i]}")
        if k not in negative_ok and np.any(col < 0):
            i = int(np.flatnonzero(col < 0)[0])
            raise InvalidValueError(f"ensemble {kind} {k!r} of member {i} must be >= 0, "
                                    f"got {col[i]}")


def member_tables(sim, parameters, initial):
    """Checked per-member inputs: (pnames, P (members x k), snames, Y (members x j)).

    ``parameters`` and ``initial``: a DataFrame or dict of arrays (one row per
    member; scalars in a dict are shared) or a bare 2-D array with every
    parameter (``sim._pnames`` order) / every species (``sim.names`` order).
    """
    pn, pc = _columns(parameters, "parameter", list(sim._pnames), sim._pindex)
    sn, sc = _columns(initial, "initial value", list(sim.names), sim._sindex)
    members = _member_count(pc, sc)
    P, Y = _matrix(pn, pc, members), _matrix(sn, sc, members)
    reaction = not sim.model.odes
    comps = set(sim.model.compartment_sizes)
    p_neg_ok = (set(sim._negative_ok) if reaction else set(pn)) - comps
    _check_values(P, pn, "parameter", p_neg_ok, positive=comps)
    _check_values(Y, sn, "initial value", set() if reaction else set(sn))
    return pn, np.ascontiguousarray(P), sn, np.ascontiguousarray(Y)


# ---------------------------------------------------------------------------
# the run specification and the per-chunk kernel (shared by all backends)
# ---------------------------------------------------------------------------
@dataclass
class RunSpec:
    """Everything a worker needs to integrate members, besides the model (picklable)."""
    method: str
    t0: float
    t1: float
    t_eval: np.ndarray
    rtol: float
    atol: np.ndarray
    max_steps: int
    h0: float
    hmax: float
    max_order: int
    nonnegative: bool
    p0: np.ndarray
    pidx: np.ndarray
    y0: np.ndarray
    sidx: np.ndarray
    events: bool

    def digest(self) -> str:
        h = hashlib.sha256()
        for v in (self.method, self.t0, self.t1, self.rtol, self.max_steps, self.h0,
                  self.hmax, self.max_order, self.nonnegative, self.events):
            h.update(repr(v).encode())
        for a in (self.t_eval, self.atol, self.p0, self.pidx, self.y0, self.sidx):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()


def worker_simulator(sim):
    """A Simulator sharing ``sim``'s compiled model with its own C workspace and lock.

    Cheap (no compilation): what each ensemble thread integrates with.
    """
    c = object.__new__(type(sim))
    c.__dict__.update(sim.__dict__)
    c._runner = ModelRunner(sim._compiled, sim.linear_solver)
    c._direct_runner = None  # made on first use, per worker
    c._lock = threading.Lock()
    c._atol_cache = {}
    return c


LANES_MAX_SPECIES = 64   # above this the per-lane LU dominates and lanes only cost memory


def lanes_apply(wsim, spec: RunSpec) -> bool:
    """Whether the chunk runs in the C lane engine (nk_ensemble): BDF with the
    dense solver, no events, at most LANES_MAX_SPECIES states.  Bit-identical
    to the member-by-member loop."""
    return (spec.method == "bdf" and not spec.events
            and getattr(wsim._runner, "linear_solver", None) == "dense"
            and spec.y0.shape[0] <= LANES_MAX_SPECIES)


def _run_chunk_lanes(wsim, spec: RunSpec, P, Y):
    k = P.shape[0]
    Pf = np.tile(np.asarray(spec.p0, dtype=float), (k, 1))
    Yf = np.tile(np.asarray(spec.y0, dtype=float), (k, 1))
    if P.shape[1]:
        Pf[:, spec.pidx] = P
    if Y.shape[1]:
        Yf[:, spec.sidx] = Y
    out, code, counts = wsim._runner.run_lanes(spec.t0, spec.t1, Pf, Yf, spec.t_eval,
                                               spec.rtol, spec.atol, spec.max_steps, spec.h0,
                                               spec.hmax, spec.max_order, spec.nonnegative)
    status = np.where((code == 0) | (code == 1), 0, code).astype(np.int32)
    counts = counts.astype(np.int64, copy=False)  # C long: already int64 on LP64
    # A start the member loop would reject with an exception (NK_ERR_ARGUMENT):
    # rerun that member there, so the error is the same.
    for i in np.flatnonzero(code == ERR_ARGUMENT):
        o, s, c = _run_chunk_loop(wsim, spec, P[i:i + 1], Y[i:i + 1])
        out[i], status[i], counts[i] = o[0], s[0], c[0]
    return out, status, counts


def run_chunk(wsim, spec: RunSpec, P, Y):
    """Integrate members (rows of P and Y) on one workspace: in the C lane
    engine where it applies (see ``lanes_apply``), else one after another.

    Returns (y (k, times, species) with NaN after failures, status (k,) int32,
    counts (k, len(ENSEMBLE_COUNTERS)) int64 solver counters).
    """
    if lanes_apply(wsim, spec) and P.shape[0] > 1:
        return _run_chunk_lanes(wsim, spec, P, Y)
    return _run_chunk_loop(wsim, spec, P, Y)


def _run_chunk_loop(wsim, spec: RunSpec, P, Y):
    k = P.shape[0]
    n = spec.y0.shape[0]
    out = np.full((k, spec.t_eval.shape[0], n), np.nan)
    status = np.zeros(k, dtype=np.int32)
    counts = np.zeros((k, len(ENSEMBLE_COUNTERS)), dtype=np.int64)
    p = spec.p0.copy()
    y0 = spec.y0.copy()
    vary_p, vary_y = P.shape[1] > 0, Y.shape[1] > 0
    if spec.events:
        from .events import simulate_with_events
        opts = {"max_steps": spec.max_steps, "h0": spec.h0, "hmax": spec.hmax,
                "max_order": spec.max_order}
    for i in range(k):
        if vary_p:
            p[spec.pidx] = P[i]
        if vary_y:
            y0[spec.sidx] = Y[i]
        if spec.events:
            res = simulate_with_events(wsim, spec.t0, spec.t1, spec.t_eval, spec.method,
                                       spec.rtol, spec.atol, y0, p, opts)
            t, y, code, stats = res.t, res.y, int(res.status), res.stats
        else:
            t, y, code, stats, _ = wsim._run(spec.method, spec.t0, spec.t1, y0, p,
                                             spec.t_eval, spec.rtol, spec.atol,
                                             spec.max_steps, spec.h0, spec.hmax,
                                             spec.max_order, False, spec.nonnegative)
        rows = min(len(t), out.shape[1])
        out[i, :rows] = y[:rows]
        status[i] = 0 if code in (0, 1) else code
        counts[i] = [int(stats.get(name, 0)) for name in ENSEMBLE_COUNTERS]
    return out, status, counts


def _spec(sim, t_eval, method, rtol, atol, t_start, pnames, snames, options) -> RunSpec:
    if options:
        V.check_options(options, _OPTIONS, "ensemble")
    if t_eval is None:
        raise InvalidValueError("an ensemble needs t_eval (the output times of every member)")
    te = np.ascontiguousarray(t_eval, dtype=float)
    if te.ndim != 1 or te.size < 1:
        raise ShapeError("t_eval must be a non-empty 1-D array")
    bad = np.flatnonzero(~np.isfinite(te))
    if bad.size:  # before the order check: NaN compares false either way
        raise InvalidValueError(f"t_eval must be finite (t_eval[{bad[0]}] = {te[bad[0]]})")
    if te.size > 1 and not np.all(te[1:] >= te[:-1]):
        k = int(np.flatnonzero(te[1:] < te[:-1])[0]) + 1
        raise InvalidValueError(f"t_eval must be increasing (an ensemble ends at t_eval[-1]); "
                                f"t_eval[{k}] = {te[k]:g} after {te[k - 1]:g}")
    max_steps, h0, hmax, max_order = V.solver_options(options)
    m = V.method_name(method)
    sim._runner_for(m)  # radau5 on an explicit GMRES: refused here
    t0, t1 = V.time_span(t_start, te[-1])
    te = np.ascontiguousarray(V.time_grid(te, t0, t1), dtype=float)
    return RunSpec(
        method=m, t0=t0, t1=t1, t_eval=te, rtol=V.rtol_value(rtol),
        atol=np.ascontiguousarray(sim._atol(atol), dtype=float),
        max_steps=max_steps, h0=h0, hmax=hmax, max_order=max_order,
        nonnegative=bool(getattr(sim, "_reaction_model", False)),
        p0=np.ascontiguousarray(sim._p0, dtype=float).copy(),
        pidx=np.array([sim._pindex[k] for k in pnames], dtype=np.intp),
        y0=np.ascontiguousarray(sim._y0, dtype=float).copy(),
        sidx=np.array([sim._sindex[k] for k in snames], dtype=np.intp),
        events=bool(sim.model.events))


def default_chunk_size(members: int, row_bytes: int) -> int:
    """Members per chunk: about 64 chunks, at most 1024 members and ~16 MB a chunk."""
    by_count = math.ceil(members / 64) if members else 1
    by_bytes = max(1, (16 << 20) // max(row_bytes, 1))
    return int(max(1, min(by_count, 1024, by_bytes)))


def _chunks(members: int, size: int) -> list:
    return [(lo, min(lo + size, members)) for lo in range(0, members, size)] or []


def _n_workers(workers) -> int:
    if workers is None:
        try:
            n = len(os.sched_getaffinity(0))
        except AttributeError:
            n = os.cpu_count() or 1
        return max(1, min(n, 8))
    return V.integer_value(workers, "workers", 1)


# ---------------------------------------------------------------------------
# executors: call on_done(chunk_index, payload) in the calling thread
# ---------------------------------------------------------------------------
def _execute_threads(work, todo, workers, on_done):
    """Run ``work(c)`` for chunk indices ``todo`` on ``workers`` threads."""
    if workers == 1 or len(todo) <= 1:
        for c in todo:
            on_done(c, work(c))
        return
    ex = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="neurokin-ensemble")
    try:
        pending = {ex.submit(work, c): c for c in todo}
        while pending:
            done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for f in done:
                c = pending.pop(f)
                on_done(c, f.result())
    finally:
        # on an exception (a failing callback, Ctrl-C): drop queued chunks, let the
        # running ones finish (they are C calls) and discard them
        ex.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------------------
# the public entry points
# ---------------------------------------------------------------------------
def run_ensemble(sim, parameters=None, t_eval=None, *, method="bdf", rtol=1e-6, atol=1e-12,
                 t_start=0.0, initial=None, workers=None, backend="threads", client=None,
                 chunk_size=None, progress=False, out=None, **options) -> EnsembleResult:
    """Simulate one member per row of ``parameters`` / ``initial``.

    Parameters
    ----------
    sim : Simulator
    parameters : DataFrame, dict of arrays, 2-D array or None
        One row per member, columns by parameter name (a dict's scalars are
        shared by all members; a bare array has every parameter, in
        ``sim._pnames`` order).  Values must be finite; in reaction models
        >= 0 (compartment sizes > 0).
    t_eval : array_like
        Output times of every member; the integration ends at ``t_eval[-1]``.
    initial : DataFrame, dict of arrays/scalars, 2-D array or None
        Per-member (or shared) initial values by species name.
    method, rtol, atol, t_start, **options
        As :meth:`Simulator.simulate` (max_steps, h0, hmax, max_order).
    workers : int, optional
        Threads (default: the usable cores, at most 8) or, for ``backend="dask"``
        without a ``client``, worker processes of the LocalCluster started for
        the call (default 2).
    backend : {'threads', 'dask'}
        'dask' needs dask.distributed (``pip install neurokin[distributed]``).
    client : dask.distributed.Client, optional
        The cluster to use with ``backend="dask"``.
    chunk_size : int, optional
        Members per task (default from the member count only).
    progress : bool or callable
        True: a progress bar (rich, else tqdm, when installed).  A callable
        ``f(done_members, total_members)`` is called after each chunk; an
        exception it raises stops the run (finished chunks of a store stay).
    out : str or Path, optional
        Stream results to this Zarr store (needs ``zarr``), resuming an
        interrupted run of the same ensemble.

    Returns
    -------
    EnsembleResult
        Member order is the input row order.  Results are bit-identical
        whatever ``workers``, ``chunk_size`` and ``backend``.
    """
    if backend not in ("threads", "dask"):
        raise OptionError(f"unknown ensemble backend {backend!r}; choose 'threads' or 'dask'")
    if client is not None and backend != "dask":
        raise OptionError("client= is for backend='dask'")
    pnames, P, snames, Y = member_tables(sim, parameters, initial)
    spec = _spec(sim, t_eval, method, rtol, atol, t_start, pnames, snames, options)
    members = P.shape[0]
    T, n = spec.t_eval.shape[0], len(sim.names)
    chunk_size = (default_chunk_size(members, T * n * 8) if chunk_size is None
                  else V.integer_value(chunk_size, "chunk_size", 1))
    chunks = _chunks(members, chunk_size)

    sink = None
    if out is not None:
        if not isinstance(out, (str, os.PathLike)):
            raise InvalidValueError(f"out must be the path of a Zarr store (str or "
                                    f"os.PathLike), got {out!r}")
        if members == 0:
            raise InvalidValueError("an empty ensemble has nothing to write to out=")
        sink = _ZarrSink.open(out, sim, spec, pnames, P, snames, Y, chunk_size)
        todo = [c for c in range(len(chunks)) if not sink.is_done(c)]
        y_all, status, counts = None, None, None
    else:
        todo = list(range(len(chunks)))
        # every chunk's rows are assigned in on_done (a chunk that raises
        # fails the call), so no NaN prefill: for 10,000 HIRES members it
        # was 10-70 ms in this thread before the workers started
        y_all = np.empty((members, T, n))
        status = np.zeros(members, dtype=np.int32)
        counts = np.full((members, len(ENSEMBLE_COUNTERS)), -1, dtype=np.int64)

    def on_done(c, payload):
        lo, hi = chunks[c]
        yc, sc, cc = payload
        if sink is not None:
            sink.write(c, lo, hi, yc, sc, cc)
        else:
            y_all[lo:hi] = yc
            status[lo:hi] = sc
            counts[lo:hi] = cc
        bar.advance(hi - lo)

    skipped = len(chunks) - len(todo)
    with progress_bar(members, progress, "ensemble") as bar:
        if skipped:
            pending = set(todo)
            bar.advance(sum(hi - lo for c, (lo, hi) in enumerate(chunks) if c not in pending))
        if backend == "dask":
            from .distributed import execute_dask
            nw = execute_dask(sim, spec, P, Y, chunks, todo, on_done, client=client,
                              workers=workers)
        else:
            nw = _n_workers(workers)
            local = threading.local()

            def work(c):
                ws = getattr(local, "sim", None)
                if ws is None:
                    ws = local.sim = worker_simulator(sim)
                lo, hi = chunks[c]
                return run_chunk(ws, spec, P[lo:hi], Y[lo:hi])

            _execute_threads(work, todo, min(nw, max(1, len(todo))), on_done)

    info = {"backend": backend, "workers": nw, "chunks": len(chunks), "chunk_size": chunk_size,
            "chunks_computed": len(todo), "chunks_skipped": skipped}
    if sink is not None:
        sink.finish()
        info["path"] = str(sink.path)
        y_all, status, counts = sink.y, np.asarray(sink.status[:]), sink.read_counts()
    return EnsembleResult(spec.t_eval, y_all, status, list(sim.names), P, pnames, Y,
                          snames, info, counts)


def run_steady_state_ensemble(sim, parameters=None, *, initial=None, workers=None,
                              backend="threads", client=None, chunk_size=None, progress=False,
                              **options) -> SteadyStateEnsemble:
    """Steady state of every member (see :meth:`Simulator.steady_state`), on
    threads or a Dask cluster.

    ``parameters`` and ``initial`` as in :func:`run_ensemble`; ``options`` go to
    the steady-state search of each member (tol, max_iter, presimulate, ...).
    A member whose search raises gets NaN states, ``converged`` False and the
    error in ``methods``.  ``workers``, ``backend`` and ``client`` as in
    :func:`run_ensemble` (``backend="dask"``: each chunk is one task, the
    model compiled once per worker process).

    The whole search (Newton, the stability check's eigenvalues, the
    presimulation, the residual) runs in C for a chunk of members at a time
    with the GIL released (src/core/nk_steady_point.c), so threads share the
    work; only what C defers (a QR iteration that failed, models with
    events) continues in Python, member by member.  Each member's
    result is that of ``sim.steady_state`` for it, bit for bit, whatever the
    worker count and backend.
    """
    from .analysis import steady_state_settings
    if backend not in ("threads", "dask"):
        raise OptionError(f"unknown ensemble backend {backend!r}; choose 'threads' or 'dask'")
    if client is not None and backend != "dask":
        raise OptionError("client= is for backend='dask'")
    opt = steady_state_settings(sim, options)  # bad options fail the call, not each member
    pnames, P, snames, Y = member_tables(sim, parameters, initial)
    members, n = P.shape[0], len(sim.names)
    laws = sim.conservation_laws()
    # a chunk is one C call; below ~32 members its Python glue would dominate
    chunk_size = (max(default_chunk_size(members, n * 8), min(32, members))
                  if chunk_size is None else V.integer_value(chunk_size, "chunk_size", 1))
    chunks = _chunks(members, chunk_size)
    states = np.full((members, n), np.nan)
    converged = np.zeros(members, dtype=bool)
    stable = np.zeros(members, dtype=bool)
    resid = np.full(members, np.nan)
    methods = [""] * members
    pidx = np.array([sim._pindex[k] for k in pnames], dtype=np.intp)
    sidx = np.array([sim._sindex[k] for k in snames], dtype=np.intp)

    def rows(c):
        """(all parameters, all initial values, the given parameters) of chunk c."""
        lo, hi = chunks[c]
        Pf = np.tile(np.asarray(sim._p0, dtype=float), (hi - lo, 1))
        Yf = np.tile(np.asarray(sim._y0, dtype=float), (hi - lo, 1))
        if pnames:
            Pf[:, pidx] = P[lo:hi]
        if snames:
            Yf[:, sidx] = Y[lo:hi]
        return Pf, Yf, P[lo:hi]

    def on_done(c, out):
        lo, hi = chunks[c]
        states[lo:hi] = out["y"]
        converged[lo:hi], stable[lo:hi], resid[lo:hi] = (out["converged"], out["stable"],
                                                         out["residual"])
        methods[lo:hi] = out["methods"]
        bar.advance(hi - lo)

    todo = list(range(len(chunks)))
    with progress_bar(members, progress, "steady states") as bar:
        if backend == "dask":
            from .distributed import execute_steady
            execute_steady(sim, opt, pnames, rows, todo, on_done, client=client,
                           workers=workers)
        else:
            local = threading.local()

            def work(c):
                ws = getattr(local, "sim", None)
                if ws is None:
                    ws = local.sim = worker_simulator(sim)
                    ws.conservation_laws = lambda: laws        # once for all members
                return steady_chunk(ws, opt, pnames, *rows(c))

            _execute_threads(work, todo, min(_n_workers(workers), max(1, len(chunks))),
                             on_done)
    return SteadyStateEnsemble(states, converged, stable, resid, list(sim.names), P, pnames,
                               Y, snames, methods)


def steady_chunk(ws, opt: dict, pnames: list, Pf, Yf, Prows) -> dict:
    """Steady states of one chunk on the workspace ``ws``: rows of Pf (all
    parameters) and Yf (all initial values); Prows the given parameters
    (named ``pnames``), for what Python presimulates.  Returns a dict of y,
    converged, stable, residual (arrays) and methods (list)."""
    from .analysis import (c_points, c_search_applies, c_system, point_method, points_final,
                           search)
    k, n = Yf.shape
    laws = ws.conservation_laws()
    fixed = tuple(i for i, s in enumerate(ws.model.species) if s.constant)
    out = {"y": np.full((k, n), np.nan), "converged": np.zeros(k, bool),
           "stable": np.zeros(k, bool), "residual": np.full(k, np.nan), "methods": [""] * k}
    csys = c_system(ws, laws, fixed)
    pts, done = None, np.zeros(k, dtype=bool)
    if c_search_applies(ws, csys, opt):
        pts = c_points(ws, csys, Yf, Pf, opt)              # GIL released
        done = points_final(pts)
        out["y"][done] = pts["y"][done]
        out["residual"][done] = pts["residual"][done]
        out["converged"][done] = (pts["converged"] & np.isfinite(pts["residual"]))[done]
        out["stable"][done] = pts["stable"][done]
        for j in np.flatnonzero(done):
            out["methods"][j] = point_method(pts, j)
    for j in np.flatnonzero(~done):   # what C defers, in Python
        par = dict(zip(pnames, Prows[j].tolist())) if pnames else None
        try:
            ss = search(ws, Yf[j].copy(), Pf[j].copy(), par, opt, points=pts, row=j)
            out["y"][j] = np.asarray(ss.y, dtype=float)
            out["converged"][j], out["stable"][j] = bool(ss.converged), bool(ss.stable)
            out["residual"][j], out["methods"][j] = float(ss.residual_norm), ss.method
        except (NeurokinError, ArithmeticError, np.linalg.LinAlgError) as e:
            out["methods"][j] = f"error: {e}"
    return out


# ---------------------------------------------------------------------------
# streaming to a Zarr store, resumable
# ---------------------------------------------------------------------------
def _zarr():
    try:
        import zarr
    except ImportError:
        raise OptionError("out= needs zarr: pip install 'neurokin[zarr]' (or zarr)") from None
    return zarr


def _create(group, name, *, shape, chunks, dtype, fill_value):
    if hasattr(group, "create_array"):                        # zarr 3
        return group.create_array(name, shape=shape, chunks=chunks, dtype=dtype,
                                  fill_value=fill_value)
    return group.create_dataset(name, shape=shape, chunks=chunks, dtype=dtype,  # zarr 2
                                fill_value=fill_value)


def model_digest(sim) -> str:
    """sha256 of the model description (its compared fields, pickled) and the
    linear solver: the same in every process, so a store written by one run is
    recognised by the next.  (The model's parse cache is left out: it holds a
    set, whose pickled order changes with each process's string hashing.)"""
    m = sim.model
    desc = tuple((f.name, getattr(m, f.name)) for f in fields(m) if f.compare)
    return hashlib.sha256(pickle.dumps((desc, sim.linear_solver), protocol=4)).hexdigest()


class _ZarrSink:
    """A Zarr group: t, y, status, counts, parameters, initial, done (one marker
    per chunk)."""

    def __init__(self, path, group, fresh):
        self.path = Path(path)
        self.group = group
        self.y = group["y"]
        self.status = group["status"]
        if "counts" not in group:  # a store written before counters were kept
            _counts_array(group, self.status.shape[0], self.status.chunks[0])
        self.counts = group["counts"]
        self._done_arr = group["done"]
        self._done = (np.zeros(self._done_arr.shape[0], dtype=bool) if fresh
                      else np.asarray(self._done_arr[:], dtype=bool))

    @classmethod
    def open(cls, path, sim, spec, pnames, P, snames, Y, chunk_size):
        zarr = _zarr()
        h = hashlib.sha256()
        h.update(model_digest(sim).encode())
        h.update(spec.digest().encode())
        h.update(repr((pnames, snames, chunk_size)).encode())
        h.update(P.tobytes())
        h.update(Y.tobytes())
        fp = h.hexdigest()
        path = Path(path)
        members, T, n = P.shape[0], spec.t_eval.shape[0], len(sim.names)
        if path.exists():
            group = _store_group(zarr, path, "r+")
            old = group.attrs.get("neurokin_fingerprint")
            if old != fp:
                raise InvalidValueError(
                    f"{path} holds a different ensemble (model, inputs, options or chunk size "
                    "differ); remove it or choose another path to start a new run")
            return cls(path, group, fresh=False)
        group = zarr.open_group(str(path), mode="w")
        cs = max(1, min(chunk_size, members))
        _create(group, "t", shape=(T,), chunks=(T,), dtype="f8", fill_value=np.nan)[:] = \
            spec.t_eval
        _create(group, "y", shape=(members, T, n), chunks=(cs, T, n), dtype="f8",
                fill_value=np.nan)
        _create(group, "status", shape=(members,), chunks=(cs,), dtype="i4",
                fill_value=NOT_RUN)
        _counts_array(group, members, cs)
        for name, M in (("parameters", P), ("initial", Y)):
            a = _create(group, name, shape=M.shape, chunks=(cs, max(1, M.shape[1])),
                        dtype="f8", fill_value=np.nan)
            if M.size:
                a[:] = M
        n_chunks = len(_chunks(members, chunk_size))
        _create(group, "done", shape=(max(n_chunks, 1),), chunks=(1,), dtype="u1",
                fill_value=0)
        group.attrs.update({"neurokin_version": _STORE_VERSION,
                            "neurokin_fingerprint": fp, "names": list(sim.names),
                            "varied": list(pnames), "varied_initial": list(snames),
                            "chunk_size": int(chunk_size), "complete": False})
        return cls(path, group, fresh=True)

    def is_done(self, c) -> bool:
        return bool(self._done[c])

    def write(self, c, lo, hi, y, status, counts):
        self.y[lo:hi] = y
        self.status[lo:hi] = status
        self.counts[lo:hi] = counts
        self._done_arr[c] = 1         # the marker goes last: a crash before it recomputes
        self._done[c] = True

    def finish(self):
        self.group.attrs["complete"] = bool(self._done.all())

    def read_counts(self) -> np.ndarray:
        return np.asarray(self.counts[:], dtype=np.int64)


def _counts_array(group, members, cs):
    """The (members, counters) int64 array of a store; -1 = not recorded."""
    return _create(group, "counts", shape=(members, len(ENSEMBLE_COUNTERS)),
                   chunks=(cs, len(ENSEMBLE_COUNTERS)), dtype="i8", fill_value=-1)


def _store_group(zarr, path: Path, mode: str):
    """The Zarr group of an existing ensemble store at path, or a clear error
    when the path holds something else (a file, another directory, another
    tool's Zarr group)."""
    try:
        group = zarr.open_group(str(path), mode=mode)
    except Exception:  # zarr's own errors differ between versions
        group = None
    if group is None or "neurokin_fingerprint" not in group.attrs or "done" not in group:
        raise InvalidValueError(f"{path} exists and is not a neurokin ensemble store; "
                                "remove it or choose another path")
    return group


def open_ensemble(path) -> EnsembleResult:
    """Reopen an ensemble store written with ``out=`` (``y`` stays on disk).

    ``info['complete']`` tells whether every chunk was computed; members of
    missing chunks have status ``NOT_RUN`` (-128) and NaN rows.
    """
    zarr = _zarr()
    if not Path(path).exists():
        raise InvalidValueError(f"no ensemble store at {path}")
    g = _store_group(zarr, Path(path), "r")
    a = g.attrs
    done = np.asarray(g["done"][:], dtype=bool)
    counts = np.asarray(g["counts"][:], dtype=np.int64) if "counts" in g else None
    return EnsembleResult(np.asarray(g["t"][:]), g["y"], np.asarray(g["status"][:]),
                          list(a["names"]), np.asarray(g["parameters"][:]), list(a["varied"]),
                          np.asarray(g["initial"][:]), list(a["varied_initial"]),
                          {"path": str(path), "complete": bool(done.all()),
                           "chunks": int(done.size), "chunks_done": int(done.sum()),
                           "chunk_size": int(a["chunk_size"])}, counts)
