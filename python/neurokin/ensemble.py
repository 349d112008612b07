"""Ensembles: one compiled model, many parameter sets, C threads without the GIL."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from . import _validate as V
from ._core import METHODS, ModelRunner
from .errors import OptionError, ShapeError, UnknownNameError
from .result import Status

__all__ = ["EnsembleResult", "run_ensemble"]


@dataclass
class EnsembleResult:
    """Results of an ensemble.

    Attributes
    ----------
    t : ndarray (times,)
    y : ndarray (members, times, species); rows after a member's failure are NaN
    status : ndarray (members,) of int (``neurokin.Status`` codes; 0 = success)
    names : list[str]
    parameters : ndarray (members, n_varied) values of the varied parameters
    varied : list[str] names of the varied parameters
    """
    t: np.ndarray
    y: np.ndarray
    status: np.ndarray
    names: list
    parameters: np.ndarray
    varied: list

    @property
    def success(self) -> np.ndarray:
        return self.status == 0

    def __getitem__(self, name):
        """(members, times) array of one species."""
        return self.y[:, :, self.names.index(name)]


def _member_table(sim, parameters):
    """(names, values (members x k)) from a DataFrame, dict of arrays or 2-D array."""
    if hasattr(parameters, "columns") and hasattr(parameters, "to_numpy"):
        names = [str(c) for c in parameters.columns]
        values = parameters.to_numpy(dtype=float)
    elif isinstance(parameters, dict):
        names = list(parameters)
        cols = [np.asarray(parameters[k], dtype=float).reshape(-1) for k in names]
        if len({c.size for c in cols}) > 1:
            raise ShapeError("all parameter arrays of an ensemble must have the same length")
        values = np.column_stack(cols) if cols else np.zeros((0, 0))
    else:
        values = np.asarray(parameters, dtype=float)
        if values.ndim != 2 or values.shape[1] != len(sim._pnames):
            raise ShapeError("a bare parameter array must be (members, n_parameters) in "
                             f"the order {sim._pnames}")
        names = list(sim._pnames)
    for k in names:
        if k not in sim._pindex:
            raise UnknownNameError(f"unknown parameter {k!r} in ensemble")
    if not np.all(np.isfinite(values)):
        raise V.InvalidValueError("ensemble parameters must be finite")
    return names, np.ascontiguousarray(values)


def run_ensemble(sim, parameters, t_eval, *, method="bdf", rtol=1e-6, atol=1e-12,
                 t_start=0.0, initial=None, workers=None, backend="threads", **options):
    """Simulate one member per parameter row; see :meth:`Simulator.ensemble`."""
    if backend != "threads":
        raise OptionError(f"unknown ensemble backend {backend!r}; available: 'threads'")
    if options:
        V.check_options(options, {"max_steps", "h0", "hmax", "max_order"}, "ensemble")
    names, values = _member_table(sim, parameters)
    te = np.ascontiguousarray(t_eval, dtype=float)
    if te.ndim != 1 or te.size < 1:
        raise ShapeError("t_eval must be a non-empty 1-D array")
    t0, t1 = V.time_span(t_start, te[-1] if te[-1] > t_start else t_start + 1.0)
    te = V.time_grid(te, t0, t1)
    y0 = sim._state(initial)
    a = sim._atol(atol) if isinstance(atol, float) else V.atol_array(atol, len(sim.names),
                                                                     sim.names)
    r = V.rtol_value(rtol)
    m = METHODS[V.method_name(method)]
    idx = [sim._pindex[k] for k in names]
    members = values.shape[0]
    out = np.full((members, te.size, len(sim.names)), np.nan)
    status = np.zeros(members, dtype=np.int32)
    max_steps = int(options.get("max_steps", 500000))
    h0, hmax = float(options.get("h0", 0.0)), float(options.get("hmax", 0.0))
    max_order = int(options.get("max_order", 5))

    def work(lo, hi):
        runner = ModelRunner(sim._compiled, sim.linear_solver)  # one workspace per worker
        p = sim._p0.copy()
        for i in range(lo, hi):
            p[idx] = values[i]
            t, y, code, _ = runner.run(m, t0, t1, y0, p, te, r, a, max_steps, h0, hmax,
                                       max_order)
            out[i, :len(t)] = y
            status[i] = 0 if code in (0, 1) else code

    nw = workers or min(os.cpu_count() or 1, 8)
    nw = max(1, min(int(nw), members or 1))
    bounds = np.linspace(0, members, nw + 1).astype(int)
    if nw == 1:
        work(0, members)
    else:
        with ThreadPoolExecutor(nw) as ex:
            list(ex.map(lambda k: work(bounds[k], bounds[k + 1]), range(nw)))
    return EnsembleResult(te, out, status, list(sim.names), values, names)
