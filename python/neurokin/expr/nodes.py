"""The expression DAG: immutable, hash-consed nodes.

Every node is interned: building a node structurally equal to a live one
returns that same object.  Identity is therefore structural equality, common
subexpressions are shared for free, and ``node is other`` is the comparison to
use (``==`` on nodes is identity too; comparisons between expressions are
built with :func:`lt`, :func:`le`, ... not with Python operators).

Construction goes through the functions of this module (:func:`add`,
:func:`mul`, :func:`call`...), which apply light, value-preserving
simplification:

* constant folding (when the folded value is finite);
* ``x + 0``, ``0 + x``, ``x - 0``, ``x * 1``, ``1 * x``, ``x / 1``,
  ``x ** 1`` -> ``x``; ``x ** 0`` -> ``1``; ``0 - x`` -> ``-x``;
  ``x * -1`` -> ``-x``; ``a + (-b)`` -> ``a - b``; ``a - (-b)`` -> ``a + b``;
* ``-(-x)`` -> ``x``; ``(-a)*b``, ``a*(-b)`` -> ``-(a*b)`` and likewise for
  ``/`` and ``-a + b`` -> ``b - a`` (all exact in IEEE arithmetic; they let
  ``-k*A`` share ``k*A``);
* ``x * 0`` -> ``0`` only when ``x`` is a finite constant (for a state or a
  parameter it could be inf or NaN; the differentiator never builds such
  products, it tracks structural zeros itself);
* ``x ** 2`` -> ``SQUARE``, ``x ** 0.5`` -> ``SQRT``, ``x ** -1`` -> ``1/x``,
  other integer powers ``|n| <= 64`` -> ``POWI`` (repeated squaring);
* ``select(c, a, a)`` -> ``a``; ``select(<constant>, a, b)`` -> the branch.

Long chains are processed without recursion, so sums of thousands of terms
are fine.
"""
from __future__ import annotations

import math
import threading
import weakref
from typing import Iterable, Iterator, Mapping

from ._scalar import SCALAR
from .ops import ARITY, Leaf, Op

__all__ = [
    "Node", "const", "sym", "time", "ZERO", "ONE",
    "add", "sub", "mul", "div", "neg", "pow_", "call", "select",
    "lt", "le", "gt", "ge", "eq", "ne", "and_", "or_", "not_",
    "postorder", "free_symbols", "substitute", "evaluate", "depends_on",
]

_POWI_MAX = 64


class Node:
    """One interned expression node.

    Attributes
    ----------
    op : Op or Leaf
        The operation, or the leaf kind (``Leaf.CONST``, ``Leaf.SYM``,
        ``Leaf.TIME``).
    args : tuple of Node
        Operands (empty for leaves).
    value : float or None
        The constant's value (``Leaf.CONST``).
    name : str or None
        The symbol's name (``Leaf.SYM``).
    """

    __slots__ = ("op", "args", "value", "name", "_hash", "_syms", "__weakref__")

    op: "Op | Leaf"
    args: "tuple[Node, ...]"
    value: "float | None"
    name: "str | None"

    def __new__(cls, *a, **k):  # pragma: no cover - guard
        raise TypeError("build nodes with neurokin.expr functions (const, sym, add, ...)")

    def __setattr__(self, key, value):
        raise AttributeError("expression nodes are immutable")

    __delattr__ = __setattr__

    # identity == structural equality, thanks to interning
    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other

    def __hash__(self):
        return self._hash

    def __reduce__(self):
        # a flat program, not nested tuples: pickling never recurses
        return (_from_program, (_to_program(self),))

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    # --- queries -------------------------------------------------------
    @property
    def is_const(self) -> bool:
        return self.op is Leaf.CONST

    @property
    def is_leaf(self) -> bool:
        return isinstance(self.op, Leaf)

    @property
    def free_symbols(self) -> frozenset:
        """Names of the symbols the node depends on (time is not included)."""
        return _syms(self)

    def __repr__(self) -> str:
        return f"Node({to_string(self)!r})"

    def __str__(self) -> str:
        return to_string(self)

    # --- building with Python operators --------------------------------
    def __add__(self, o): return add(self, _as_node(o))
    def __radd__(self, o): return add(_as_node(o), self)
    def __sub__(self, o): return sub(self, _as_node(o))
    def __rsub__(self, o): return sub(_as_node(o), self)
    def __mul__(self, o): return mul(self, _as_node(o))
    def __rmul__(self, o): return mul(_as_node(o), self)
    def __truediv__(self, o): return div(self, _as_node(o))
    def __rtruediv__(self, o): return div(_as_node(o), self)
    def __pow__(self, o): return pow_(self, _as_node(o))
    def __rpow__(self, o): return pow_(_as_node(o), self)
    def __neg__(self): return neg(self)
    def __pos__(self): return self


def _as_node(x) -> Node:
    if isinstance(x, Node):
        return x
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return const(float(x))
    raise TypeError(f"cannot use {type(x).__name__} in an expression")


_table: "weakref.WeakValueDictionary" = weakref.WeakValueDictionary()
_lock = threading.Lock()


def _intern(op, args: tuple, value, name) -> Node:
    if op is Leaf.CONST:
        key = (op, value.hex() if value == value else "nan")
    elif op is Leaf.SYM:
        key = (op, name)
    else:
        key = (op, args)
    node = _table.get(key)
    if node is not None:
        return node
    with _lock:
        node = _table.get(key)
        if node is not None:
            return node
        node = object.__new__(Node)
        s = object.__setattr__
        s(node, "op", op)
        s(node, "args", args)
        s(node, "value", value)
        s(node, "name", name)
        s(node, "_hash", hash(key))
        s(node, "_syms", None)
        _table[key] = node
        return node


def _to_program(root: "Node") -> list:
    order = postorder([root])
    index = {id(n): i for i, n in enumerate(order)}
    prog = []
    for n in order:
        payload = n.value if n.op is Leaf.CONST else n.name
        prog.append((int(n.op), payload, tuple(index[id(a)] for a in n.args)))
    return prog


def _from_program(prog: list) -> "Node":
    built: list = []
    for op, payload, args in prog:
        if op == Leaf.CONST:
            n = const(payload)
        elif op == Leaf.SYM:
            n = sym(payload)
        elif op == Leaf.TIME:
            n = time()
        else:
            n = _intern(Op(op), tuple(built[i] for i in args), None, None)
        built.append(n)
    return built[-1]


# --- leaves -------------------------------------------------------------
def const(value: float) -> Node:
    """A numeric constant (stored as float64)."""
    return _intern(Leaf.CONST, (), float(value), None)


def sym(name: str) -> Node:
    """A named symbol (a state or a parameter, resolved when compiled)."""
    if not isinstance(name, str) or not name:
        raise TypeError("a symbol name must be a non-empty string")
    return _intern(Leaf.SYM, (), None, name)


def time() -> Node:
    """The independent variable."""
    return _intern(Leaf.TIME, (), None, None)


ZERO = const(0.0)
ONE = const(1.0)
_MINUS_ONE = const(-1.0)


def _cval(n: Node):
    return n.value if n.op is Leaf.CONST else None


def _fold(op: Op, args: tuple) -> "Node | None":
    if all(a.op is Leaf.CONST for a in args):
        try:
            v = SCALAR[op](*(a.value for a in args))
        except (ValueError, OverflowError, ZeroDivisionError):  # pragma: no cover
            return None
        if math.isfinite(v):
            return const(v)
    return None


def make(op: Op, *args: Node) -> Node:
    """Build ``op(*args)`` with simplification (the generic constructor)."""
    op = Op(op)
    if len(args) != ARITY[op]:
        raise TypeError(f"{op.name} takes {ARITY[op]} operands, got {len(args)}")
    for a in args:
        if not isinstance(a, Node):
            raise TypeError(f"operand is not a Node: {a!r}")
    rule = _RULES.get(op)
    if rule is not None:
        r = rule(*args)
        if r is not None:
            return r
    r = _fold(op, args)
    if r is not None:
        return r
    return _intern(op, tuple(args), None, None)


def _r_add(a, b):
    if _cval(b) == 0.0 and a.op is not Leaf.CONST:
        return a
    if _cval(a) == 0.0 and b.op is not Leaf.CONST:
        return b
    if b.op is Op.NEG:
        return make(Op.SUB, a, b.args[0])
    if a.op is Op.NEG:
        return make(Op.SUB, b, a.args[0])
    return None


def _r_sub(a, b):
    if _cval(b) == 0.0 and a.op is not Leaf.CONST:
        return a
    if _cval(a) == 0.0 and b.op is not Leaf.CONST:
        return make(Op.NEG, b)
    if b.op is Op.NEG:
        return make(Op.ADD, a, b.args[0])
    return None


def _finite_const(x) -> bool:
    return x.op is Leaf.CONST and math.isfinite(x.value)


def _r_mul(a, b):
    ca, cb = _cval(a), _cval(b)
    if cb == 1.0:
        return a
    if ca == 1.0:
        return b
    if cb == -1.0 and a.op is not Leaf.CONST:
        return make(Op.NEG, a)
    if ca == -1.0 and b.op is not Leaf.CONST:
        return make(Op.NEG, b)
    if (ca == 0.0 and _finite_const(b)) or (cb == 0.0 and _finite_const(a)):
        return ZERO
    if a.op is Op.NEG:  # (-a)*b == -(a*b) exactly: shares a*b
        return make(Op.NEG, make(Op.MUL, a.args[0], b))
    if b.op is Op.NEG:
        return make(Op.NEG, make(Op.MUL, a, b.args[0]))
    return None


def _r_div(a, b):
    if _cval(b) == 1.0:
        return a
    if a.op is Op.NEG:  # (-a)/b == -(a/b) exactly
        return make(Op.NEG, make(Op.DIV, a.args[0], b))
    if b.op is Op.NEG:
        return make(Op.NEG, make(Op.DIV, a, b.args[0]))
    return None


def _r_neg(a):
    if a.op is Op.NEG:
        return a.args[0]
    return None


def _r_pow(a, b):
    n = _cval(b)
    if n is None or a.op is Leaf.CONST:
        return None
    if n == 0.0:
        return ONE
    if n == 1.0:
        return a
    if n == 2.0:
        return make(Op.SQUARE, a)
    if n == 0.5:
        return make(Op.SQRT, a)
    if n == -1.0:
        return make(Op.DIV, ONE, a)
    if math.isfinite(n) and n == math.floor(n) and abs(n) <= _POWI_MAX:
        return _intern(Op.POWI, (a, b), None, None)
    return None


def _r_powi(a, b):
    n = _cval(b)
    if n is None or not math.isfinite(n) or n != math.floor(n) or abs(n) > 1024:
        raise ValueError("POWI needs an integer constant exponent")
    return _r_pow(a, b) if a.op is not Leaf.CONST else None


def _r_select(c, a, b):
    if a is b:
        return a
    cv = _cval(c)
    if cv is not None and cv == cv:
        return a if cv != 0.0 else b
    return None


_RULES = {Op.ADD: _r_add, Op.SUB: _r_sub, Op.MUL: _r_mul, Op.DIV: _r_div,
          Op.NEG: _r_neg, Op.POW: _r_pow, Op.POWI: _r_powi, Op.SELECT: _r_select}


def add(a, b): return make(Op.ADD, _as_node(a), _as_node(b))
def sub(a, b): return make(Op.SUB, _as_node(a), _as_node(b))
def mul(a, b): return make(Op.MUL, _as_node(a), _as_node(b))
def div(a, b): return make(Op.DIV, _as_node(a), _as_node(b))
def neg(a): return make(Op.NEG, _as_node(a))
def pow_(a, b): return make(Op.POW, _as_node(a), _as_node(b))
def lt(a, b): return make(Op.LT, _as_node(a), _as_node(b))
def le(a, b): return make(Op.LE, _as_node(a), _as_node(b))
def gt(a, b): return make(Op.GT, _as_node(a), _as_node(b))
def ge(a, b): return make(Op.GE, _as_node(a), _as_node(b))
def eq(a, b): return make(Op.EQ, _as_node(a), _as_node(b))
def ne(a, b): return make(Op.NE, _as_node(a), _as_node(b))
def and_(a, b): return make(Op.AND, _as_node(a), _as_node(b))
def or_(a, b): return make(Op.OR, _as_node(a), _as_node(b))
def not_(a): return make(Op.NOT, _as_node(a))


def select(c, a, b):
    """``c != 0 ? a : b``."""
    return make(Op.SELECT, _as_node(c), _as_node(a), _as_node(b))


def call(name: str, *args) -> Node:
    """Build a call of a built-in function by its expression-language name."""
    from .parser import FUNCTIONS  # local: parser imports this module
    spec = FUNCTIONS.get(name)
    if spec is None:
        raise KeyError(f"unknown function {name!r}")
    lo, hi, build = spec
    if len(args) < lo or (hi is not None and len(args) > hi):
        raise TypeError(f"{name}() takes {lo}..{hi} arguments, got {len(args)}")
    return build(*(_as_node(a) for a in args))


# --- traversal ------------------------------------------------------------
def postorder(roots: Iterable[Node]) -> list:
    """Unique nodes reachable from ``roots``, every node after its operands
    (a topological order), without recursion."""
    seen: set = set()
    order: list = []
    for root in roots:
        if id(root) in seen:
            continue
        stack = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            for a in reversed(node.args):
                if id(a) not in seen:
                    stack.append((a, False))
    return order


_EMPTY: frozenset = frozenset()


def _pending(root: Node) -> list:
    """Nodes below root (inclusive) whose symbol sets are not cached yet, in
    post-order; the walk stops at cached nodes (their subtrees are done)."""
    seen: set = set()
    order: list = []
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen or node._syms is not None:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for a in node.args:
            if a._syms is None and id(a) not in seen:
                stack.append((a, False))
    return order


def _syms(root: Node) -> frozenset:
    if root._syms is not None:
        return root._syms
    for n in _pending(root):
        if n._syms is not None:
            continue
        if n.op is Leaf.SYM:
            s = frozenset((n.name,))
        elif not n.args:
            s = _EMPTY
        else:
            sets = [a._syms for a in n.args]
            s = sets[0]
            for t in sets[1:]:
                if not t <= s:
                    s = t if s <= t else s | t
        object.__setattr__(n, "_syms", s)
    return root._syms


def free_symbols(node: Node) -> frozenset:
    """Names of the symbols in ``node``."""
    return _syms(node)


def depends_on(node: Node, name: str) -> bool:
    return name in _syms(node)


def uses_time(node: Node) -> bool:
    return any(n.op is Leaf.TIME for n in postorder([node]))


def substitute(node: Node, mapping: Mapping) -> Node:
    """Replace symbols by expressions: ``mapping`` maps names (or symbol
    nodes) to nodes or numbers.  Rebuilds with simplification."""
    repl = {}
    for k, v in mapping.items():
        name = k.name if isinstance(k, Node) else k
        repl[name] = _as_node(v)
    if not (set(repl) & _syms(node)):
        return node
    memo: dict = {}
    for n in postorder([node]):
        if n.op is Leaf.SYM:
            memo[n] = repl.get(n.name, n)
        elif not n.args:
            memo[n] = n
        elif not (set(repl) & _syms(n)):
            memo[n] = n
        else:
            memo[n] = make(n.op, *(memo[a] for a in n.args))
    return memo[node]


def evaluate(node: Node, env: Mapping[str, float] | None = None, t: float | None = None) -> float:
    """Evaluate ``node`` on Python floats with the tape's C semantics.

    ``env`` maps symbol names to values; ``t`` is the time (also looked up in
    ``env`` under ``"time"`` or ``"t"`` when not given)."""
    env = env or {}
    vals: dict = {}
    for n in postorder([node]):
        op = n.op
        if op is Leaf.CONST:
            v = n.value
        elif op is Leaf.SYM:
            try:
                v = float(env[n.name])
            except KeyError:
                raise KeyError(f"no value for {n.name!r}") from None
        elif op is Leaf.TIME:
            if t is not None:
                v = float(t)
            elif "time" in env:
                v = float(env["time"])
            elif "t" in env:
                v = float(env["t"])
            else:
                raise KeyError("no value for the time")
        else:
            v = SCALAR[op](*(vals[id(a)] for a in n.args))
        vals[id(n)] = v
    return vals[id(node)]


# --- rendering ------------------------------------------------------------
_INFIX = {Op.ADD: ("+", 5), Op.SUB: ("-", 5), Op.MUL: ("*", 6), Op.DIV: ("/", 6),
          Op.LT: ("<", 4), Op.LE: ("<=", 4), Op.GT: (">", 4), Op.GE: (">=", 4),
          Op.EQ: ("==", 4), Op.NE: ("!=", 4), Op.AND: ("and", 2), Op.OR: ("or", 1)}
_FUNC_NAME = {Op.EXP: "exp", Op.LOG: "log", Op.LOG10: "log10", Op.SQRT: "sqrt",
              Op.SIN: "sin", Op.COS: "cos", Op.TAN: "tan", Op.ASIN: "asin",
              Op.ACOS: "acos", Op.ATAN: "atan", Op.SINH: "sinh", Op.COSH: "cosh",
              Op.TANH: "tanh", Op.ABS: "abs", Op.FLOOR: "floor", Op.CEIL: "ceil",
              Op.MIN: "min", Op.MAX: "max", Op.SELECT: "if", Op.ATAN2: "atan2",
              Op.SIGN: "sign", Op.COPY: "copy", Op.XOR: "xor"}
_ATOM = 9


def _const_str(v: float) -> tuple:
    if v != v:
        return "nan", _ATOM
    if math.isinf(v):
        return ("inf", _ATOM) if v > 0 else ("-inf", 7)
    s = repr(v)
    if s.endswith(".0"):
        s = s[:-2]
    return s, (7 if v < 0 or s.startswith("-") else _ATOM)


def to_string(root: Node, time_name: str = "time") -> str:
    """Infix text that parses back to the same node."""
    return render(root, time_name)[0]


class RenderCache(dict):
    """Renderings ``id(node) -> (text, precedence)`` shared by several
    :func:`render` calls; it holds the nodes it has rendered, so no id is
    reused while it lives."""
    __slots__ = ("nodes",)

    def __init__(self):
        super().__init__()
        self.nodes = []


def render(root: Node, time_name: str = "time", out: "RenderCache | None" = None) -> tuple:
    """``(text, precedence)`` of ``root``: its infix text and the binding
    strength of its outermost operator (``_ATOM`` for a name, call or
    number), for callers that embed the text in a larger expression.
    ``out`` (optional) shares renderings across calls: subexpressions common
    to several roots are rendered once."""
    if out is None:
        out, keep = {}, None
    elif id(root) in out:
        return out[id(root)]
    else:
        keep = out.nodes

    def wrap(child, need):
        s, p = out[id(child)]
        return s if p >= need else f"({s})"

    for n in postorder([root]):
        if id(n) in out:
            continue
        op = n.op
        if op is Leaf.CONST:
            r = _const_str(n.value)
        elif op is Leaf.SYM:
            r = (n.name, _ATOM)
        elif op is Leaf.TIME:
            r = (time_name, _ATOM)
        elif op in _INFIX:
            sym_, p = _INFIX[op]
            a, b = n.args
            if p == 4:
                r = (f"{wrap(a, 5)} {sym_} {wrap(b, 5)}", 4)
            else:
                r = (f"{wrap(a, p)} {sym_} {wrap(b, p + 1)}", p)
        elif op is Op.NEG:
            r = (f"-{wrap(n.args[0], 7)}", 7)
        elif op is Op.NOT:
            r = (f"not {wrap(n.args[0], 3)}", 3)
        elif op is Op.POW or op is Op.POWI:
            r = (f"{wrap(n.args[0], _ATOM)}^{wrap(n.args[1], 7)}", 8)
        elif op is Op.SQUARE:
            r = (f"{wrap(n.args[0], _ATOM)}^2", 8)
        else:
            r = (f"{_FUNC_NAME[op]}({', '.join(out[id(a)][0] for a in n.args)})", _ATOM)
        out[id(n)] = r
        if keep is not None:
            keep.append(n)
    return out[id(root)]


def iter_nodes(roots: Iterable[Node]) -> Iterator[Node]:
    return iter(postorder(roots))
