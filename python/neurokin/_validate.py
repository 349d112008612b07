"""Argument checks shared by Simulator and solve_ivp: one place, one wording."""
from __future__ import annotations

import math

import numpy as np

from .errors import InvalidValueError, OptionError, ShapeError, UnknownNameError

# Negative values down to this are taken as zeros that picked up roundoff
# (e.g. a final state of a species no reaction changes, fed back as initial).
ROUNDOFF_NEGATIVE = 1e-15

METHOD_ALIASES = {"bdf": "bdf", "radau5": "radau5", "radau": "radau5"}


def method_name(method: str) -> str:
    try:
        return METHOD_ALIASES[str(method).lower()]
    except KeyError:
        raise OptionError(f"unknown method {method!r}; choose one of 'bdf', 'radau5'") from None


def time_span(t_start, t_end) -> tuple:
    try:
        t0, t1 = float(t_start), float(t_end)
    except (TypeError, ValueError):
        raise InvalidValueError(f"times must be numbers, got t_start={t_start!r}, "
                                f"t_end={t_end!r}") from None
    if not (math.isfinite(t0) and math.isfinite(t1)):
        raise InvalidValueError(f"times must be finite, got t_start={t0}, t_end={t1}")
    if t1 <= t0:
        raise InvalidValueError(f"t_end ({t1}) must be after t_start ({t0})")
    return t0, t1


def rtol_value(rtol) -> float:
    r = float(rtol)
    if not math.isfinite(r) or not (1e-15 <= r < 1.0):
        raise InvalidValueError(f"rtol must be in [1e-15, 1), got {rtol!r}")
    return r


def atol_array(atol, n: int, names=None) -> np.ndarray:
    """Scalar, length-n array, or (with names) a dict by name over a default."""
    if isinstance(atol, dict):
        if names is None:
            raise InvalidValueError("atol as a dict needs named states")
        a = np.full(n, 1e-12)
        idx = {nm: i for i, nm in enumerate(names)}
        for k, v in atol.items():
            if k not in idx:
                raise UnknownNameError(f"atol given for unknown species {k!r}")
            a[idx[k]] = float(v)
    else:
        a = np.asarray(atol, dtype=float)
        if a.ndim == 0:
            a = np.full(n, float(a))
        elif a.shape != (n,):
            raise ShapeError(f"atol must be a scalar or have shape ({n},), got {a.shape}")
        else:
            a = np.ascontiguousarray(a, dtype=float)
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise InvalidValueError("atol must be finite and >= 0")
    return a


def time_grid(t_eval, t0: float, t1: float) -> np.ndarray | None:
    """Checked output times (see neurokin._core.time_grid), or None."""
    if t_eval is None:
        return None
    from ._core import time_grid as _grid
    return _grid(t_eval, t0, t1)


def overrides(values, base: np.ndarray, index: dict, kind: str, *,
              allow_negative: bool) -> np.ndarray:
    """Copy of base with named entries replaced; checks names and values."""
    if values is None:
        return base
    if not hasattr(values, "items"):
        raise InvalidValueError(f"{kind} overrides must be a dict by name")
    out = base.copy()
    for k, v in values.items():
        i = index.get(k)
        if i is None:
            import difflib
            close = difflib.get_close_matches(str(k), list(index), n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise UnknownNameError(f"unknown {kind} {k!r}{hint}")
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise InvalidValueError(f"{kind} {k!r} must be a number, got {v!r}") from None
        if not math.isfinite(x):
            raise InvalidValueError(f"{kind} {k!r} must be finite, got {x}")
        if x < 0 and not allow_negative:
            if x >= -ROUNDOFF_NEGATIVE:
                x = 0.0  # a zero that picked up roundoff (a final state fed back)
            else:
                raise InvalidValueError(f"{kind} {k!r} must be >= 0, got {x}")
        out[i] = x
    return out


def check_options(options: dict, allowed: set, where: str) -> None:
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise OptionError(f"unknown option(s) {unknown} for {where}; allowed: {sorted(allowed)}")
