"""Symbolic differentiation of the expression DAG.

``diff(f, x)`` builds df/dx as a new node sharing everything it can with
``f`` (hash-consing makes the shared parts free).  Structural zeros are
tracked exactly: a subexpression that does not contain ``x`` has derivative
:data:`ZERO` and never enters a product, so the Jacobian's sparsity pattern is
"the derivative is not the constant 0".

Rules at kinks follow the branch the evaluator takes: ``min``/``max``/
``select``/``piecewise`` differentiate the active branch (a ``SELECT`` on the
same condition), ``abs`` gives ``sign(a) * a'`` (0 at 0); ``floor``, ``ceil``,
``sign``, comparisons and logic have derivative 0.
"""
from __future__ import annotations

import math

from . import nodes as N
from .nodes import ONE, ZERO, Leaf, Node
from .ops import Op

__all__ = ["diff", "jacobian", "FluxSum", "as_flux_sum", "flux_sum_text"]

_LN10 = N.const(math.log(10.0))
_TWO = N.const(2.0)

_ZERO_DERIV = {Op.FLOOR, Op.CEIL, Op.SIGN, Op.LT, Op.LE, Op.GT, Op.GE, Op.EQ,
               Op.NE, Op.AND, Op.OR, Op.NOT, Op.XOR}


def _mul(a: Node, b: Node) -> Node:
    if a is ZERO or b is ZERO:
        return ZERO
    return N.mul(a, b)


def _div(a: Node, b: Node) -> Node:
    return ZERO if a is ZERO else N.div(a, b)


def _add(a: Node, b: Node) -> Node:
    if a is ZERO:
        return b
    if b is ZERO:
        return a
    return N.add(a, b)


def _sub(a: Node, b: Node) -> Node:
    if b is ZERO:
        return a
    if a is ZERO:
        return N.neg(b)
    return N.sub(a, b)


def _neg(a: Node) -> Node:
    return ZERO if a is ZERO else N.neg(a)


def _rule(f: Node, d: tuple) -> Node:
    op = f.op
    args = f.args
    if op in _ZERO_DERIV:
        return ZERO
    a = args[0]
    da = d[0]
    if op is Op.ADD:
        return _add(da, d[1])
    if op is Op.SUB:
        return _sub(da, d[1])
    if op is Op.NEG or op is Op.COPY:
        return _neg(da) if op is Op.NEG else da
    if op is Op.MUL:
        return _add(_mul(da, args[1]), _mul(a, d[1]))
    if op is Op.DIV:
        # (a/b)' = (a' - f b') / b
        b, db = args[1], d[1]
        if db is ZERO:
            return _div(da, b)
        return N.div(_sub(da, _mul(f, db)), b)
    if op is Op.POW:
        b, db = args[1], d[1]
        t1 = ZERO
        if da is not ZERO:
            if db is ZERO:  # b * a^(b-1) * a'
                t1 = _mul(_mul(b, N.pow_(a, N.sub(b, ONE))), da)
            else:
                t1 = _mul(_mul(f, N.div(b, a)), da)
        t2 = ZERO if db is ZERO else _mul(_mul(f, N.make(Op.LOG, a)), db)
        return _add(t1, t2)
    if op is Op.POWI:
        n = args[1].value
        return _mul(_mul(args[1], N.pow_(a, N.const(n - 1.0))), da)
    if op is Op.SQUARE:
        return _mul(_mul(_TWO, a), da)
    if op is Op.EXP:
        return _mul(f, da)
    if op is Op.LOG:
        return _div(da, a)
    if op is Op.LOG10:
        return _div(da, N.mul(a, _LN10))
    if op is Op.SQRT:
        return _div(da, N.mul(_TWO, f))
    if op is Op.SIN:
        return _mul(N.make(Op.COS, a), da)
    if op is Op.COS:
        return _neg(_mul(N.make(Op.SIN, a), da))
    if op is Op.TAN:
        return _mul(N.add(ONE, N.make(Op.SQUARE, f)), da)
    if op is Op.ASIN:
        return _div(da, N.make(Op.SQRT, N.sub(ONE, N.make(Op.SQUARE, a))))
    if op is Op.ACOS:
        return _neg(_div(da, N.make(Op.SQRT, N.sub(ONE, N.make(Op.SQUARE, a)))))
    if op is Op.ATAN:
        return _div(da, N.add(ONE, N.make(Op.SQUARE, a)))
    if op is Op.SINH:
        return _mul(N.make(Op.COSH, a), da)
    if op is Op.COSH:
        return _mul(N.make(Op.SINH, a), da)
    if op is Op.TANH:
        return _mul(N.sub(ONE, N.make(Op.SQUARE, f)), da)
    if op is Op.ABS:
        return _mul(N.make(Op.SIGN, a), da)
    if op is Op.MIN:  # C: b < a ? b : a
        b, db = args[1], d[1]
        return _select(N.lt(b, a), db, da)
    if op is Op.MAX:  # C: b > a ? b : a
        b, db = args[1], d[1]
        return _select(N.gt(b, a), db, da)
    if op is Op.SELECT:
        return _select(a, d[1], d[2])
    if op is Op.ATAN2:  # atan2(y, x)' = (x y' - y x') / (x^2 + y^2)
        y, x = args
        dy, dx = d
        num = _sub(_mul(x, dy), _mul(y, dx))
        return _div(num, N.add(N.make(Op.SQUARE, x), N.make(Op.SQUARE, y)))
    raise NotImplementedError(f"no derivative rule for {op!r}")  # pragma: no cover


def _select(c: Node, a: Node, b: Node) -> Node:
    if a is ZERO and b is ZERO:
        return ZERO
    return N.select(c, a, b)


def diff(f: Node, x, memo: "dict | None" = None) -> Node:
    """d f / d x, where ``x`` is a symbol node or a symbol name.

    ``memo`` (a dict, optional) caches derivatives with respect to the same
    ``x`` across calls: pass one dict per variable when differentiating many
    outputs (the Jacobian's columns), so shared subexpressions are
    differentiated once.
    """
    name = x.name if isinstance(x, Node) else x
    if isinstance(x, Node) and x.op is not Leaf.SYM:
        raise TypeError("can only differentiate with respect to a symbol")
    if memo is None:
        memo = {}
    if name not in f.free_symbols:
        return ZERO
    if f in memo:
        return memo[f]
    # iterative post-order over the nodes that depend on x
    stack = [(f, False)]
    while stack:
        node, expanded = stack.pop()
        if node in memo:
            continue
        if not expanded:
            stack.append((node, True))
            for a in node.args:
                if a not in memo and name in a.free_symbols:
                    stack.append((a, False))
            continue
        if node.op is Leaf.SYM:
            memo[node] = ONE if node.name == name else ZERO
            continue
        ds = tuple(memo[a] if name in a.free_symbols else ZERO for a in node.args)
        memo[node] = _rule(node, ds)
    return memo[f]


def additive_terms(f: Node) -> list:
    """Signed terms of an ADD/SUB/NEG tree: [(negated, node), ...] with
    sum(+-node) == f (iterative: sums of thousands of terms are common)."""
    out = []
    stack = [(f, False)]
    while stack:
        node, neg = stack.pop()
        if node.op is Op.ADD:
            stack.append((node.args[1], neg))
            stack.append((node.args[0], neg))
        elif node.op is Op.SUB:
            stack.append((node.args[1], not neg))
            stack.append((node.args[0], neg))
        elif node.op is Op.NEG:
            stack.append((node.args[0], not neg))
        else:
            out.append((neg, node))
    return out


class FluxSum:
    """A sum of weighted terms, optionally divided: (sum_k c_k * node_k) / divisor.

    The shape of a species' right-hand side in a reaction network (fluxes
    times stoichiometric coefficients over the compartment size) and of its
    Jacobian entries.  Kept flat, it costs no expression nodes: the code
    generator sums it with one compensated-sum instruction.
    """
    __slots__ = ("terms", "divisor", "_syms")

    def __init__(self, terms, divisor: "Node | None" = None):
        self.terms = tuple((float(c), n) for c, n in terms)
        self.divisor = divisor
        self._syms = None

    @property
    def free_symbols(self) -> frozenset:
        if self._syms is None:
            s = set()
            for _, n in self.terms:
                s |= n.free_symbols
            if self.divisor is not None:
                s |= self.divisor.free_symbols
            self._syms = frozenset(s)
        return self._syms

    def node(self) -> Node:
        """The same sum as one expression node (balanced, for evaluation)."""
        nodes = [n if c == 1.0 else N.neg(n) if c == -1.0 else _mul(N.const(c), n)
                 for c, n in self.terms]
        if not nodes:
            total = ZERO
        else:
            while len(nodes) > 1:
                nodes = [_add(nodes[k], nodes[k + 1]) if k + 1 < len(nodes) else nodes[k]
                         for k in range(0, len(nodes), 2)]
            total = nodes[0]
        return total if self.divisor is None else _div(total, self.divisor)

    def __repr__(self) -> str:
        return f"FluxSum({self.node()!s})"


def flux_sum_text(fs: FluxSum, out: "N.RenderCache | None" = None) -> str:
    """Infix text of a FluxSum, its terms in order: ``c1 * t1 + c2 * t2 ...``
    (``+ t`` / ``- t`` for coefficients of +-1), over the divisor.  Parsed
    back it is the same sum; ``out`` is a rendering cache shared across
    calls (see :func:`neurokin.expr.nodes.render`): terms common to several
    sums are rendered once."""
    if out is None:
        out = N.RenderCache()

    def wrap(node, need):
        s, p = N.render(node, out=out)
        return s if p >= need else f"({s})"

    parts = []
    for k, (c, t) in enumerate(fs.terms):
        a = abs(c)
        # a product binds at 6: a term after '+' or '-' needs 6, after '-' first 7
        body = wrap(t, 6 if k else 7) if a == 1.0 else \
            f"{N.render(N.const(a))[0]} * {wrap(t, 7)}"
        parts.append(("-" if k == 0 else " - ") + body if c < 0 else
                     (body if k == 0 else " + " + body))
    text = "".join(parts) or "0"
    if fs.divisor is None:
        return text
    # one term of coefficient 1 is rendered at precedence 7 (parenthesized if need be)
    num = text if len(fs.terms) == 1 and fs.terms[0][0] == 1.0 else f"({text})"
    return f"{num} / {wrap(fs.divisor, 7)}"


def as_flux_sum(f) -> "FluxSum":
    """A FluxSum view of any right-hand side (a Node is split into its
    additive terms; a top-level division by a parameter becomes the divisor)."""
    if isinstance(f, FluxSum):
        return f
    divisor = None
    if f.op is Op.DIV:
        f, divisor = f.args
    return FluxSum(((-1.0 if neg else 1.0, t) for neg, t in additive_terms(f)), divisor)


def jacobian(exprs, wrt) -> dict:
    """Sparse Jacobian ``{(i, j): d exprs[i] / d wrt[j]}`` with structural
    zeros left out.  ``wrt`` is a sequence of names; ``exprs`` are Nodes or
    FluxSums.  Entries are Nodes, or FluxSums where several terms add up.

    Each right-hand side is split into its additive terms (a species' fluxes)
    and a term is differentiated only with respect to the variables it
    contains, each derivative once (memoised per variable across all
    outputs): the work grows with the size of the terms, not with the length
    of the sums times the number of variables, which matters for networks
    with thousands of fluxes.
    """
    col = {name: j for j, name in enumerate(wrt)}
    states = frozenset(col)
    memos: list = [dict() for _ in wrt]
    out = {}
    for i, f in enumerate(exprs):
        fs = as_flux_sum(f)
        divisor = fs.divisor
        if divisor is not None and not divisor.free_symbols.isdisjoint(states):
            # a state in the denominator: differentiate the quotient whole
            fs, divisor = FluxSum(((1.0, fs.node()),)), None
        by_var: dict = {}
        for c, term in fs.terms:
            for name in term.free_symbols:
                j = col.get(name)
                if j is None:
                    continue
                d = diff(term, name, memos[j])
                if not (d.is_const and d.value == 0.0):
                    by_var.setdefault(j, []).append((c, d))
        for j, parts in by_var.items():
            # fold constant derivatives (d(x - x)/dx is a structural zero)
            const = sum(c * d.value for c, d in parts if d.is_const)
            parts = [(c, d) for c, d in parts if not d.is_const]
            if const != 0.0:
                parts.append((const, ONE))
            if not parts:
                continue
            if len(parts) == 1 and parts[0][0] == 1.0 and divisor is None:
                out[(i, j)] = parts[0][1]
            else:
                out[(i, j)] = FluxSum(parts, divisor)
    return out
