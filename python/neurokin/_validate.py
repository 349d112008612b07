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


def number_or_nan(value) -> float:
    """value as a float, or NaN when it is not a real number (strings, bytes
    and bools included), for the checks below to report."""
    if isinstance(value, (bool, np.bool_, str, bytes)):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def integer_value(value, name: str, lo: int, hi: int | None = None) -> int:
    """value as an int in [lo, hi] (hi None: no upper bound).  An integral
    float (2.0) is taken; 2.5, strings and bools are not."""
    x = number_or_nan(value)
    i = int(value) if x.is_integer() else None
    if i is None or i < lo or (hi is not None and i > hi):
        span = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise InvalidValueError(f"{name} must be an integer {span}, got {value!r}")
    return i


def real_value(value, name: str, lo: float = 0.0, *, strict: bool = False,
               allow_inf: bool = False) -> float:
    """value as a float >= lo (> lo when strict); NaN never, inf only when
    allow_inf."""
    x = number_or_nan(value)
    if math.isnan(x) or (math.isinf(x) and not allow_inf) or x < lo or (strict and x == lo):
        bound = f"> {lo:g}" if strict else f">= {lo:g}"
        kind = "a number" if allow_inf else "a finite number"
        inf = " (inf allowed)" if allow_inf else ""
        raise InvalidValueError(f"{name} must be {kind} {bound}{inf}, got {value!r}")
    return x


def solver_options(options: dict, keys=("max_steps", "h0", "hmax", "max_order")) -> tuple:
    """(max_steps, h0, hmax, max_order) from keyword options, checked:
    max_steps >= 1, h0 >= 0 (0 or None = automatic), hmax >= 0 (0, inf or
    None = unlimited), max_order in [1, 5] (BDF).  ``keys`` are the option
    names the caller's users write (solve_ivp: first_step, max_step)."""
    k_steps, k_h0, k_hmax, k_order = keys
    h0, hmax = options.get(k_h0), options.get(k_hmax)
    return (integer_value(options.get(k_steps, 500000), k_steps, 1),
            0.0 if h0 is None else real_value(h0, k_h0),
            0.0 if hmax is None else real_value(hmax, k_hmax, allow_inf=True),
            integer_value(options.get(k_order, 5), k_order, 1, 5))


def rtol_value(rtol) -> float:
    r = number_or_nan(rtol)
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
            a[idx[k]] = real_value(v, f"atol of {k!r}")
    else:
        try:
            a = np.asarray(atol, dtype=float)
        except (TypeError, ValueError):
            raise InvalidValueError(f"atol must be a number or an array of numbers, "
                                    f"got {atol!r}") from None
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
