"""SciPy-compatible ``solve_ivp`` running the C integrators on Python callbacks.

Switching from SciPy is one import::

    from neurokin import solve_ivp      # instead of scipy.integrate.solve_ivp
"""
from __future__ import annotations

import numpy as np

from . import _validate as V
from ._core import METHODS, PyODE, status_message
from .errors import InvalidValueError, OptionError, ShapeError

__all__ = ["solve_ivp", "OdeResult"]

_METHODS = {"BDF": "bdf", "Radau": "radau5", "bdf": "bdf", "radau5": "radau5",
            "radau": "radau5"}
_OPTIONS = {"first_step", "max_step", "max_steps", "max_order", "vectorized", "min_step",
            "lband", "uband"}


class OdeResult(dict):
    """Bunch with SciPy's fields: t, y (n, k), sol, t_events, y_events, nfev, njev,
    nlu, status (0 success, -1 failure), message, success; plus ``stats``."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        keys = ["message", "success", "status", "t", "y", "nfev", "njev", "nlu"]
        return "\n".join(f"{k:>8}: {self.get(k)!r}" for k in keys)


def solve_ivp(fun, t_span, y0, method="BDF", t_eval=None, dense_output=False, events=None,
              vectorized=False, args=None, rtol=1e-3, atol=1e-6, jac=None, **options):
    """Solve ``dy/dt = fun(t, y)`` like :func:`scipy.integrate.solve_ivp`.

    Parameters follow SciPy.  ``method`` is ``"BDF"`` or ``"Radau"`` (Radau IIA
    order 5); ``jac`` is a callable ``jac(t, y)`` or a constant matrix (finite
    differences when omitted).  Extra options: ``first_step``, ``max_step``,
    ``max_steps``, ``max_order`` (BDF).  ``dense_output`` and ``events`` are
    not supported yet and raise.

    Returns
    -------
    OdeResult
        ``t`` (k,), ``y`` (n, k), ``nfev``, ``njev``, ``nlu``, ``status`` (0 on
        success, -1 on failure), ``message``, ``success``.  A failed
        integration returns the points computed before the failure.
    """
    V.check_options(options, _OPTIONS, "solve_ivp")
    if method not in _METHODS:
        raise OptionError(f"unknown method {method!r}; choose 'BDF' or 'Radau'")
    if dense_output:
        raise OptionError("dense_output=True is not supported by neurokin.solve_ivp yet; "
                          "pass t_eval")
    if events is not None:
        raise OptionError("events are not supported by neurokin.solve_ivp yet")
    if not callable(fun):
        raise InvalidValueError("fun must be callable as fun(t, y)")
    try:
        t0, t1 = (float(v) for v in t_span)
    except (TypeError, ValueError):
        raise InvalidValueError(f"t_span must be a pair of numbers, got {t_span!r}") from None
    if not (np.isfinite(t0) and np.isfinite(t1)) or t0 == t1:
        raise InvalidValueError(f"t_span must be two distinct finite times, got {t_span!r}")
    y = np.asarray(y0)
    if np.iscomplexobj(y):
        raise InvalidValueError("complex y0 is not supported")
    try:
        y = np.ascontiguousarray(y, dtype=float)
    except (TypeError, ValueError):
        raise InvalidValueError(f"y0 must be numbers, got {y0!r}") from None
    if y.ndim != 1 or y.size == 0:
        raise ShapeError(f"y0 must be a non-empty 1-D array, got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise InvalidValueError("y0 must be finite")
    n = y.size
    r = V.rtol_value(rtol)
    a = V.atol_array(atol, n)
    te = V.time_grid(t_eval, t0, t1)
    if args is not None and not isinstance(args, tuple):
        args = (args,)
    if jac is not None and not callable(jac):
        J = np.asarray(jac, dtype=float)
        if J.shape != (n, n):
            raise ShapeError(f"jac must have shape ({n}, {n}), got {J.shape}")
    ode = PyODE(fun, n, jac, tuple(args or ()))
    m = _METHODS[method]
    max_steps, h0, hmax, max_order = V.solver_options(
        options, ("max_steps", "first_step", "max_step", "max_order"))
    t, yy, code, stats = ode.run(METHODS[m], t0, t1, y, te, r, a, max_steps, h0, hmax,
                                 max_order)
    ok = code in (0, 1)
    msg = ("The solver successfully reached the end of the integration interval."
           if ok else f"{status_message(code)} (last point t={t[-1]:g})")
    nfev = stats.get("nfev", 0)
    njev = stats.get("njev", 0) if jac is not None else 0
    return OdeResult(t=t, y=np.ascontiguousarray(yy.T), sol=None, t_events=None,
                     y_events=None, nfev=nfev, njev=njev, nlu=stats.get("ndecomp", 0),
                     status=0 if ok else -1, message=msg, success=ok, stats=stats)
