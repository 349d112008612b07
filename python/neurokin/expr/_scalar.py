"""Scalar semantics of every opcode on Python floats, as C99 and the tape
evaluator define them (NaN and infinities instead of exceptions).

Used for constant folding and by :func:`neurokin.expr.evaluate`.
"""
from __future__ import annotations

import math

from .ops import Op

_INF = math.inf
_NAN = math.nan


def _is_odd_integer(b: float) -> bool:
    return math.isfinite(b) and b == math.floor(b) and math.fmod(b, 2.0) != 0.0


def c_div(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:
        if a == 0.0 or a != a:
            return _NAN
        return math.copysign(_INF, a) * math.copysign(1.0, b)


def c_pow(a: float, b: float) -> float:
    try:
        r = math.pow(a, b)
    except OverflowError:
        return -_INF if (a < 0.0 and _is_odd_integer(b)) else _INF
    except ValueError:
        if a == 0.0:  # 0 ** negative: a pole
            neg = math.copysign(1.0, a) < 0.0 and _is_odd_integer(b)
            return -_INF if neg else _INF
        return _NAN
    return r


def c_powi(a: float, n: int) -> float:
    """Repeated squaring, exactly as nk_tape.c's nk_powi."""
    m = -n if n < 0 else n
    r = 1.0
    x = a
    while m:
        if m & 1:
            r *= x
        x *= x
        m >>= 1
    return c_div(1.0, r) if n < 0 else r


def _guard(fn, overflow=_INF):
    def f(a: float) -> float:
        try:
            return fn(a)
        except OverflowError:
            return overflow if not callable(overflow) else overflow(a)
        except ValueError:
            return _NAN
    return f


def _log(fn):
    def f(a: float) -> float:
        if a == 0.0:
            return -_INF
        if a < 0.0 or a != a:
            return _NAN
        if a == _INF:
            return _INF
        return fn(a)
    return f


def _round(fn):
    def f(a: float) -> float:
        if not math.isfinite(a):
            return a
        return float(fn(a))
    return f


def _sign(a: float) -> float:
    return 1.0 if a > 0.0 else (-1.0 if a < 0.0 else a)


def _min(a: float, b: float) -> float:
    return b if b < a else a


def _max(a: float, b: float) -> float:
    return b if b > a else a


def _sqrt(a: float) -> float:
    if a < 0.0 or a != a:
        return _NAN
    return math.sqrt(a)


def _trig(fn):
    def f(a: float) -> float:
        if not math.isfinite(a):
            return _NAN
        return fn(a)
    return f


def _atan(a: float) -> float:
    return a if a != a else math.atan(a)


#: Op -> function of floats with the C semantics of nk_tape_eval.
SCALAR = {
    Op.ADD: lambda a, b: a + b,
    Op.SUB: lambda a, b: a - b,
    Op.MUL: lambda a, b: a * b,
    Op.DIV: c_div,
    Op.NEG: lambda a: -a,
    Op.POW: c_pow,
    Op.EXP: _guard(math.exp),
    Op.LOG: _log(math.log),
    Op.LOG10: _log(math.log10),
    Op.SQRT: _sqrt,
    Op.SIN: _trig(math.sin),
    Op.COS: _trig(math.cos),
    Op.TAN: _trig(math.tan),
    Op.ASIN: _guard(math.asin),
    Op.ACOS: _guard(math.acos),
    Op.ATAN: _atan,
    Op.SINH: _guard(math.sinh, overflow=lambda a: math.copysign(_INF, a)),
    Op.COSH: _guard(math.cosh),
    Op.TANH: math.tanh,
    Op.ABS: abs,
    Op.FLOOR: _round(math.floor),
    Op.CEIL: _round(math.ceil),
    Op.MIN: _min,
    Op.MAX: _max,
    Op.LT: lambda a, b: 1.0 if a < b else 0.0,
    Op.LE: lambda a, b: 1.0 if a <= b else 0.0,
    Op.GT: lambda a, b: 1.0 if a > b else 0.0,
    Op.GE: lambda a, b: 1.0 if a >= b else 0.0,
    Op.EQ: lambda a, b: 1.0 if a == b else 0.0,
    Op.NE: lambda a, b: 1.0 if a != b else 0.0,
    Op.AND: lambda a, b: 1.0 if (a != 0.0 and b != 0.0) else 0.0,
    Op.OR: lambda a, b: 1.0 if (a != 0.0 or b != 0.0) else 0.0,
    Op.NOT: lambda a: 1.0 if a == 0.0 else 0.0,
    Op.SELECT: lambda c, a, b: a if c != 0.0 else b,
    Op.ATAN2: math.atan2,
    Op.SQUARE: lambda a: a * a,
    Op.POWI: lambda a, b: c_powi(a, int(b)),
    Op.SIGN: _sign,
    Op.COPY: lambda a: a,
    Op.XOR: lambda a, b: 1.0 if ((a != 0.0) != (b != 0.0)) else 0.0,
}
assert set(SCALAR) == set(Op) - {Op.CSUM}  # CSUM exists only in emitted tapes, never as a node
