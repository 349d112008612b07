"""MathML (libsbml ASTNode trees) -> neurokin expression nodes.

The conversion walks the libsbml tree once and builds hash-consed
:mod:`neurokin.expr` nodes directly (no detour through infix text).  Names
stay SBML ids (``sym(id)``); the importer later substitutes each id by what it
means in the compiled model (a state, a parameter, an assignment-rule
expression, an amount over a compartment size...).

Function definitions are inlined: a call binds the lambda's ``bvar`` names to
the converted arguments.  ``rateOf(x)`` becomes the placeholder symbol
``rateOf.x`` which the importer replaces by the right-hand side of ``x``.
"""
from __future__ import annotations

import math

from .. import expr as E
from ..errors import UnsupportedSBMLFeature

__all__ = ["AVOGADRO", "RATEOF_PREFIX", "MathConverter"]

AVOGADRO = 6.02214179e23     # the value SBML Level 3 Version 1 fixes
RATEOF_PREFIX = "rateOf."

_L = None


def _lib():
    global _L
    if _L is None:
        import libsbml
        _L = libsbml
    return _L


def _fold(build, args, empty):
    if not args:
        return E.const(empty)
    r = args[0]
    for a in args[1:]:
        r = build(r, a)
    return r


def _chain(cmp, args):
    # n-ary relations mean a chain: a < b < c == (a < b) and (b < c)
    if len(args) < 2:
        return E.const(1.0)
    r = cmp(args[0], args[1])
    for i in range(1, len(args) - 1):
        r = E.and_(r, cmp(args[i], args[i + 1]))
    return r


def _inv(x):
    return E.div(E.ONE, x)


def _ln(x):
    return E.call("ln", x)


def _asinh(x):
    return _ln(E.add(x, E.call("sqrt", E.add(E.mul(x, x), E.ONE))))


def _acosh(x):
    return _ln(E.add(x, E.call("sqrt", E.sub(E.mul(x, x), E.ONE))))


def _atanh(x):
    return E.mul(E.const(0.5), _ln(E.div(E.add(E.ONE, x), E.sub(E.ONE, x))))


def _trunc(x):
    return E.select(E.lt(x, E.ZERO), E.call("ceil", x), E.call("floor", x))


def _factorial(x):
    """n! for a non-negative integer n: a table up to 20, then Stirling's
    series for ln Gamma(n + 1) (relative error below 1e-15 there)."""
    if x.is_const and x.value >= 0 and x.value == math.floor(x.value) and x.value < 171:
        return E.const(float(math.factorial(int(x.value))))
    n = E.call("floor", E.add(x, E.const(0.5)))
    z = E.add(n, E.ONE)
    iz = E.div(E.ONE, z)
    iz2 = E.mul(iz, iz)
    series = E.mul(iz, E.add(E.const(1 / 12), E.mul(iz2, E.add(
        E.const(-1 / 360), E.mul(iz2, E.add(E.const(1 / 1260), E.mul(iz2, E.const(-1 / 1680))))))))
    lg = E.add(E.sub(E.mul(E.sub(z, E.const(0.5)), E.call("ln", z)), z),
               E.add(E.const(0.5 * math.log(2 * math.pi)), series))
    r = E.call("exp", lg)
    for k in range(20, -1, -1):
        r = E.select(E.lt(n, E.const(k + 0.5)), E.const(float(math.factorial(k))), r)
    return E.select(E.lt(n, E.ZERO), E.const(math.nan), r)


class MathConverter:
    """Convert libsbml ASTNodes to Nodes.

    Parameters
    ----------
    functions : dict
        Function definitions: id -> libsbml lambda ASTNode.
    where : str
        Description of the element (for error messages).
    """

    def __init__(self, functions: dict):
        self.functions = functions
        self.uses_rate_of = False   # set by the first rateOf converted
        L = _lib()
        self._unary = {
            L.AST_FUNCTION_ABS: lambda x: E.call("abs", x),
            L.AST_FUNCTION_ARCCOS: lambda x: E.call("acos", x),
            L.AST_FUNCTION_ARCSIN: lambda x: E.call("asin", x),
            L.AST_FUNCTION_ARCTAN: lambda x: E.call("atan", x),
            L.AST_FUNCTION_ARCCOSH: _acosh,
            L.AST_FUNCTION_ARCSINH: _asinh,
            L.AST_FUNCTION_ARCTANH: _atanh,
            L.AST_FUNCTION_ARCCOT: lambda x: E.call("atan", _inv(x)),
            L.AST_FUNCTION_ARCCOTH: lambda x: _atanh(_inv(x)),
            L.AST_FUNCTION_ARCCSC: lambda x: E.call("asin", _inv(x)),
            L.AST_FUNCTION_ARCCSCH: lambda x: _asinh(_inv(x)),
            L.AST_FUNCTION_ARCSEC: lambda x: E.call("acos", _inv(x)),
            L.AST_FUNCTION_ARCSECH: lambda x: _acosh(_inv(x)),
            L.AST_FUNCTION_CEILING: lambda x: E.call("ceil", x),
            L.AST_FUNCTION_FLOOR: lambda x: E.call("floor", x),
            L.AST_FUNCTION_COS: lambda x: E.call("cos", x),
            L.AST_FUNCTION_COSH: lambda x: E.call("cosh", x),
            L.AST_FUNCTION_SIN: lambda x: E.call("sin", x),
            L.AST_FUNCTION_SINH: lambda x: E.call("sinh", x),
            L.AST_FUNCTION_TAN: lambda x: E.call("tan", x),
            L.AST_FUNCTION_TANH: lambda x: E.call("tanh", x),
            L.AST_FUNCTION_COT: lambda x: _inv(E.call("tan", x)),
            L.AST_FUNCTION_COTH: lambda x: _inv(E.call("tanh", x)),
            L.AST_FUNCTION_CSC: lambda x: _inv(E.call("sin", x)),
            L.AST_FUNCTION_CSCH: lambda x: _inv(E.call("sinh", x)),
            L.AST_FUNCTION_SEC: lambda x: _inv(E.call("cos", x)),
            L.AST_FUNCTION_SECH: lambda x: _inv(E.call("cosh", x)),
            L.AST_FUNCTION_EXP: lambda x: E.call("exp", x),
            L.AST_FUNCTION_LN: _ln,
            L.AST_FUNCTION_FACTORIAL: _factorial,
            L.AST_LOGICAL_NOT: E.not_,
        }
        self._cmp = {
            L.AST_RELATIONAL_EQ: E.eq, L.AST_RELATIONAL_GEQ: E.ge,
            L.AST_RELATIONAL_GT: E.gt, L.AST_RELATIONAL_LEQ: E.le,
            L.AST_RELATIONAL_LT: E.lt,
        }

    def convert(self, ast, where: str, env: dict | None = None):
        """Convert ``ast``; ``where`` names the element for error messages."""
        if ast is None:
            raise UnsupportedSBMLFeature(f"missing math in {where}")
        try:
            return self._conv(ast, env or {}, where, 0)
        except UnsupportedSBMLFeature:
            raise
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            formula = _lib().formulaToL3String(ast)
            raise UnsupportedSBMLFeature(
                f"cannot convert the math of {where} ({formula!r}): {exc}") from None

    def _conv(self, a, env, where, depth):
        L = _lib()
        if depth > 200:
            raise ValueError("function definitions nest too deeply (recursive?)")
        ty = a.getType()
        kids = [self._conv(a.getChild(i), env, where, depth)
                for i in range(a.getNumChildren())] if ty not in (
                    L.AST_FUNCTION, L.AST_LAMBDA) else None
        if ty == L.AST_INTEGER:
            return E.const(float(a.getInteger()))
        if ty in (L.AST_REAL, L.AST_REAL_E, L.AST_RATIONAL):
            return E.const(a.getReal())
        if ty == L.AST_NAME:
            name = a.getName()
            if name in env:
                return env[name]
            return E.sym(name)
        if ty == L.AST_NAME_TIME:
            return E.time()
        if ty == L.AST_NAME_AVOGADRO:
            return E.const(AVOGADRO)
        if ty == L.AST_CONSTANT_E:
            return E.const(math.e)
        if ty == L.AST_CONSTANT_PI:
            return E.const(math.pi)
        if ty == L.AST_CONSTANT_TRUE:
            return E.const(1.0)
        if ty == L.AST_CONSTANT_FALSE:
            return E.const(0.0)
        if ty == L.AST_PLUS:
            return _fold(E.add, kids, 0.0)
        if ty == L.AST_TIMES:
            return _fold(E.mul, kids, 1.0)
        if ty == L.AST_MINUS:
            if len(kids) == 1:
                return E.neg(kids[0])
            return _fold(E.sub, kids, 0.0)
        if ty == L.AST_DIVIDE:
            return E.div(kids[0], kids[1])
        if ty in (L.AST_POWER, L.AST_FUNCTION_POWER):
            return E.pow_(kids[0], kids[1])
        if ty == L.AST_FUNCTION_ROOT:
            if len(kids) == 1:
                return E.call("sqrt", kids[0])
            deg, x = kids
            if deg.is_const and deg.value == 2.0:
                return E.call("sqrt", x)
            return E.pow_(x, E.div(E.ONE, deg))
        if ty == L.AST_FUNCTION_LOG:
            if len(kids) == 1:
                return E.call("log10", kids[0])
            return E.call("log", kids[0], kids[1])
        if ty in self._unary:
            if len(kids) != 1:
                raise ValueError(f"{a.getName()} takes one argument")
            return self._unary[ty](kids[0])
        if ty in self._cmp:
            return _chain(self._cmp[ty], kids)
        if ty == L.AST_RELATIONAL_NEQ:
            return E.ne(kids[0], kids[1])
        if ty == L.AST_LOGICAL_AND:
            return _fold(E.and_, kids, 1.0) if len(kids) != 1 else E.ne(kids[0], E.ZERO)
        if ty == L.AST_LOGICAL_OR:
            return _fold(E.or_, kids, 0.0) if len(kids) != 1 else E.ne(kids[0], E.ZERO)
        if ty == L.AST_LOGICAL_XOR:
            if not kids:
                return E.const(0.0)
            if len(kids) == 1:
                return E.ne(kids[0], E.ZERO)
            return E.call("xor", *kids)
        if ty == L.AST_LOGICAL_IMPLIES:
            return E.or_(E.not_(kids[0]), kids[1])
        if ty == L.AST_FUNCTION_PIECEWISE:
            return E.call("piecewise", *kids) if kids else E.const(math.nan)
        if ty == L.AST_FUNCTION_MAX:
            return kids[0] if len(kids) == 1 else E.call("max", *kids)
        if ty == L.AST_FUNCTION_MIN:
            return kids[0] if len(kids) == 1 else E.call("min", *kids)
        if ty == L.AST_FUNCTION_QUOTIENT:
            return _trunc(E.div(kids[0], kids[1]))
        if ty == L.AST_FUNCTION_REM:
            x, y = kids
            return E.sub(x, E.mul(y, _trunc(E.div(x, y))))
        if ty == L.AST_FUNCTION_RATE_OF:
            c = a.getChild(0)
            if (a.getNumChildren() == 1 and c.getType() == L.AST_NAME
                    and c.getName() in env and env[c.getName()].is_const):
                return E.ZERO   # a local parameter: constant
            if a.getNumChildren() != 1 or c.getType() != L.AST_NAME or c.getName() in env:
                raise UnsupportedSBMLFeature(
                    f"rateOf of an expression (not of a plain id) in {where}")
            self.uses_rate_of = True
            return E.sym(RATEOF_PREFIX + c.getName())
        if ty == L.AST_FUNCTION_DELAY:
            raise UnsupportedSBMLFeature(f"csymbol delay in {where}")
        if ty == L.AST_FUNCTION:
            name = a.getName()
            lam = self.functions.get(name)
            if lam is None:
                raise UnsupportedSBMLFeature(f"call of unknown function {name!r} in {where}")
            args = [self._conv(a.getChild(i), env, where, depth)
                    for i in range(a.getNumChildren())]
            nb = lam.getNumBvars()
            if len(args) != nb:
                raise ValueError(f"function {name!r} takes {nb} arguments, got {len(args)}")
            inner = {lam.getChild(i).getName(): args[i] for i in range(nb)}
            body = lam.getChild(lam.getNumChildren() - 1)
            return self._conv(body, inner, where, depth + 1)
        if ty == L.AST_LAMBDA:
            raise UnsupportedSBMLFeature(f"a lambda outside a function definition in {where}")
        raise UnsupportedSBMLFeature(
            f"MathML construct {a.getName() or ty!r} (AST type {ty}) in {where}")
