"""Emission of tapes (straight-line programs for src/core/nk_tape.c) and the
whole-ODE compiler.

Work-array layout (nk_tape.h)::

    [0, n_const)           constants      [n_const, +n_p)   parameters
    [.., +n_y)             states         n_const+n_p+n_y   time
    base + k               result of instruction k

Instructions are emitted in a topological (depth-first post-) order of the
DAG reachable from the outputs, so dead code never appears and every shared
subexpression is computed once.  Constants are deduplicated (hash-consing
already makes equal constants one node).  Outputs that are leaves point
straight at their constant, parameter, state or time slot.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

from ..errors import ModelError, UnknownNameError
from . import nodes as N
from .diff import FluxSum, as_flux_sum, jacobian
from .nodes import Leaf, Node
from .ops import ARITY, Op
from .parser import DEFAULT_TIME_NAMES, parse

__all__ = ["Tape", "CompiledODE", "compile_program", "compile_odes"]


@dataclass(frozen=True, eq=False)
class Tape:
    """A compiled program: the arrays nk_tape wants, owned by numpy.

    ``code`` is int32 of shape ``(n_instr, 4)``, C-contiguous, rows
    ``(op, a, b, c)``; ``out`` int32 slot per output; ``consts`` float64.
    """

    consts: np.ndarray
    code: np.ndarray
    out: np.ndarray
    n_p: int
    n_y: int
    aux: np.ndarray = None  # int32 operand lists of CSUM (2*slot + negate)

    def __post_init__(self):
        if self.aux is None:
            object.__setattr__(self, "aux", np.zeros(0, dtype=np.int32))

    @property
    def n_const(self) -> int:
        return int(self.consts.shape[0])

    @property
    def n_instr(self) -> int:
        return int(self.code.shape[0])

    @property
    def n_out(self) -> int:
        return int(self.out.shape[0])

    @property
    def base(self) -> int:
        return self.n_const + self.n_p + self.n_y + 1

    @property
    def work_size(self) -> int:
        """Doubles the C work array needs (nk_tape_work_size)."""
        return self.base + self.n_instr

    def check(self) -> None:
        """The checks of nk_tape_check, raising ValueError."""
        if self.code.dtype != np.int32 or self.code.ndim != 2 or self.code.shape[1] != 4:
            raise ValueError("code must be int32 of shape (n_instr, 4)")
        if self.out.dtype != np.int32 or self.consts.dtype != np.float64:
            raise ValueError("out must be int32 and consts float64")
        base = self.base
        for k, (op, *operands) in enumerate(self.code.tolist()):
            if op == Op.CSUM:
                off, cnt, z = operands
                if off < 0 or cnt < 1 or z != 0 or off + cnt > len(self.aux):
                    raise ValueError(f"instruction {k}: bad CSUM operand list")
                if any(e < 0 or (e >> 1) >= base + k for e in self.aux[off:off + cnt].tolist()):
                    raise ValueError(f"instruction {k}: CSUM term out of range")
                continue
            try:
                ar = ARITY[Op(op)]
            except ValueError:
                raise ValueError(f"instruction {k}: bad opcode {op}") from None
            for i, s in enumerate(operands):
                if i < ar and not 0 <= s < base + k:
                    raise ValueError(f"instruction {k}: operand {s} out of range")
                if i >= ar and s != 0:
                    raise ValueError(f"instruction {k}: unused operand is not 0")
            if op == Op.POWI:
                e = self.consts[operands[1]] if operands[1] < self.n_const else None
                if e is None or e != np.floor(e) or abs(e) > 1024:
                    raise ValueError(f"instruction {k}: POWI needs an integer constant")
        if np.any(self.out < 0) or np.any(self.out >= base + self.n_instr):
            raise ValueError("output slot out of range")

    def evaluate(self, y, p=(), t=0.0) -> np.ndarray:
        """Reference evaluation in numpy (for tests; not fast).

        ``y`` has shape ``(n_y,)`` or ``(n_y, m)`` for ``m`` points at once
        (``p`` and ``t`` broadcast likewise).  Returns ``(n_out,)`` or
        ``(n_out, m)``."""
        y = np.asarray(y, dtype=np.float64)
        p = np.asarray(p, dtype=np.float64)
        if y.shape[:1] != (self.n_y,) or p.shape[:1] != (self.n_p,):
            raise ValueError("y or p has the wrong length")
        shape = np.broadcast_shapes(y.shape[1:], p.shape[1:], np.shape(t))
        w = np.empty((self.work_size,) + shape)
        nc = self.n_const
        w[:nc] = self.consts.reshape((nc,) + (1,) * len(shape))
        w[nc:nc + self.n_p] = p.reshape(p.shape + (1,) * (len(shape) + 1 - p.ndim))
        w[nc + self.n_p:nc + self.n_p + self.n_y] = y.reshape(
            y.shape + (1,) * (len(shape) + 1 - y.ndim))
        w[self.base - 1] = t
        base = self.base
        with np.errstate(all="ignore"):
            for k, (op, a, b, c) in enumerate(self.code.tolist()):
                if op == Op.CSUM:
                    w[base + k] = _np_csum(w, self.aux[a:a + b].tolist())
                else:
                    w[base + k] = _NP[op](w, a, b, c)
        return w[self.out].copy()


def _np_csum(w, terms):
    """Neumaier's compensated sum, as nk_tape.c's CSUM."""
    s = np.zeros_like(w[0])
    err = np.zeros_like(w[0])
    for e in terms:
        x = -w[e >> 1] if e & 1 else w[e >> 1]
        t = s + x
        err = err + np.where(np.abs(s) >= np.abs(x), (s - t) + x, (x - t) + s)
        s = t
    return s + err


def _np_powi(x, n):
    m = abs(n)
    r = np.ones_like(x)
    while m:
        if m & 1:
            r = r * x
        x = x * x
        m >>= 1
    return 1.0 / r if n < 0 else r


def _f(v):
    return np.asarray(v, dtype=np.float64)


_NP = {
    Op.ADD: lambda w, a, b, c: w[a] + w[b],
    Op.SUB: lambda w, a, b, c: w[a] - w[b],
    Op.MUL: lambda w, a, b, c: w[a] * w[b],
    Op.DIV: lambda w, a, b, c: w[a] / w[b],
    Op.NEG: lambda w, a, b, c: -w[a],
    Op.POW: lambda w, a, b, c: np.power(w[a], w[b]),
    Op.EXP: lambda w, a, b, c: np.exp(w[a]),
    Op.LOG: lambda w, a, b, c: np.log(w[a]),
    Op.LOG10: lambda w, a, b, c: np.log10(w[a]),
    Op.SQRT: lambda w, a, b, c: np.sqrt(w[a]),
    Op.SIN: lambda w, a, b, c: np.sin(w[a]),
    Op.COS: lambda w, a, b, c: np.cos(w[a]),
    Op.TAN: lambda w, a, b, c: np.tan(w[a]),
    Op.ASIN: lambda w, a, b, c: np.arcsin(w[a]),
    Op.ACOS: lambda w, a, b, c: np.arccos(w[a]),
    Op.ATAN: lambda w, a, b, c: np.arctan(w[a]),
    Op.SINH: lambda w, a, b, c: np.sinh(w[a]),
    Op.COSH: lambda w, a, b, c: np.cosh(w[a]),
    Op.TANH: lambda w, a, b, c: np.tanh(w[a]),
    Op.ABS: lambda w, a, b, c: np.abs(w[a]),
    Op.FLOOR: lambda w, a, b, c: np.floor(w[a]),
    Op.CEIL: lambda w, a, b, c: np.ceil(w[a]),
    Op.MIN: lambda w, a, b, c: np.where(w[b] < w[a], w[b], w[a]),
    Op.MAX: lambda w, a, b, c: np.where(w[b] > w[a], w[b], w[a]),
    Op.LT: lambda w, a, b, c: _f(w[a] < w[b]),
    Op.LE: lambda w, a, b, c: _f(w[a] <= w[b]),
    Op.GT: lambda w, a, b, c: _f(w[a] > w[b]),
    Op.GE: lambda w, a, b, c: _f(w[a] >= w[b]),
    Op.EQ: lambda w, a, b, c: _f(w[a] == w[b]),
    Op.NE: lambda w, a, b, c: _f(w[a] != w[b]),
    Op.AND: lambda w, a, b, c: _f((w[a] != 0) & (w[b] != 0)),
    Op.OR: lambda w, a, b, c: _f((w[a] != 0) | (w[b] != 0)),
    Op.NOT: lambda w, a, b, c: _f(w[a] == 0),
    Op.SELECT: lambda w, a, b, c: np.where(w[a] != 0, w[b], w[c]),
    Op.ATAN2: lambda w, a, b, c: np.arctan2(w[a], w[b]),
    Op.SQUARE: lambda w, a, b, c: w[a] * w[a],
    Op.POWI: lambda w, a, b, c: _np_powi(w[a], int(w[b].flat[0])),
    Op.SIGN: lambda w, a, b, c: np.where(w[a] > 0, 1.0, np.where(w[a] < 0, -1.0, w[a])),
    Op.COPY: lambda w, a, b, c: w[a].copy(),
    Op.XOR: lambda w, a, b, c: _f((w[a] != 0) != (w[b] != 0)),
}
_NP = {int(k): v for k, v in _NP.items()}


def _time_set(time_name) -> frozenset:
    if time_name is None:
        return frozenset()
    if isinstance(time_name, str):
        return frozenset((time_name,))
    return frozenset(time_name)


def _sum_plan(output, compensated: bool):
    """The output as a FluxSum to emit as one compensated-sum instruction, or
    None to emit it as an ordinary expression.  FluxSums always are; a Node
    is when ``compensated`` and it sums three or more terms."""
    if isinstance(output, FluxSum):
        if len(output.terms) == 1 and output.terms[0][0] == 1.0 and output.divisor is None:
            return None
        return output
    if not compensated:
        return None
    fs = as_flux_sum(output)
    return fs if len(fs.terms) >= 3 else None


def _weighted(c: float, node: Node) -> Node:
    """|c| * node (the sign goes into the CSUM operand)."""
    a = abs(c)
    return node if a == 1.0 else N.mul(N.const(a), node)


def compile_program(outputs: Sequence[Node], state_names: Sequence[str],
                    param_names: Sequence[str] = (),
                    time_name: "str | Iterable[str] | None" = DEFAULT_TIME_NAMES,
                    compensated: bool = False) -> Tape:
    """Emit one tape computing ``outputs``.

    Symbols resolve to parameters (``param_names``), states
    (``state_names``) or, for a symbol named as ``time_name`` (a name or a
    set of names), the time; the parser's time node always resolves to the
    time.  A symbol that is none of these raises UnknownNameError.

    With ``compensated``, an output that is a sum of three or more terms is
    summed with Neumaier's compensated summation: the result is as if each
    partial sum were exact, so near-cancelling production and consumption
    fluxes (a species near quasi-steady state) lose no digits to the order of
    the additions.
    """
    state_names = list(state_names)
    param_names = list(param_names)
    n_p, n_y = len(param_names), len(state_names)
    _check_unique(state_names, param_names)
    times = _time_set(time_name)
    plans = [_sum_plan(o, compensated) for o in outputs]
    roots = []
    for o, plan in zip(outputs, plans):
        if plan is None:
            roots.append(o.terms[0][1] if isinstance(o, FluxSum) else o)
        else:
            roots.extend(_weighted(c, t) for c, t in plan.terms)
            if plan.divisor is not None:
                roots.append(plan.divisor)
    order = N.postorder(roots)

    consts: list = []
    slot: dict = {}
    for node in order:
        if node.op is Leaf.CONST:
            slot[node] = len(consts)
            consts.append(node.value)
    n_const = len(consts)
    pslot = {name: n_const + i for i, name in enumerate(param_names)}
    yslot = {name: n_const + n_p + i for i, name in enumerate(state_names)}
    tslot = n_const + n_p + n_y
    base = tslot + 1

    code: list = []
    for node in order:
        op = node.op
        if op is Leaf.CONST:
            continue
        if op is Leaf.SYM:
            name = node.name
            if name in yslot:
                slot[node] = yslot[name]
            elif name in pslot:
                slot[node] = pslot[name]
            elif name in times:
                slot[node] = tslot
            else:
                known = state_names + param_names
                close = difflib.get_close_matches(name, known, n=3)
                hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
                raise UnknownNameError(f"unknown name {name!r}{hint}")
            continue
        if op is Leaf.TIME:
            slot[node] = tslot
            continue
        ops = [slot[a] for a in node.args]
        ops += [0] * (3 - len(ops))
        slot[node] = base + len(code)
        code.append((int(op), *ops))

    aux: list = []
    out_slots = []
    for o, plan in zip(outputs, plans):
        if plan is None:
            out_slots.append(slot[o.terms[0][1] if isinstance(o, FluxSum) else o])
            continue
        # one CSUM instruction: Neumaier's compensated sum of the signed terms
        # (Neumaier 1974; Higham, Accuracy and Stability, Sec. 4.3)
        offset = len(aux)
        aux.extend(2 * slot[_weighted(c, t)] + int(c < 0) for c, t in plan.terms)
        if not plan.terms:
            raise ValueError("an empty sum reached the code generator")
        code.append((int(Op.CSUM), offset, len(plan.terms), 0))
        total = base + len(code) - 1
        if plan.divisor is not None:
            code.append((int(Op.DIV), total, slot[plan.divisor], 0))
            total = base + len(code) - 1
        out_slots.append(total)

    tape = Tape(
        consts=np.ascontiguousarray(consts, dtype=np.float64).reshape(n_const),
        code=np.ascontiguousarray(np.array(code, dtype=np.int32).reshape(len(code), 4)),
        out=np.ascontiguousarray(out_slots, dtype=np.int32).reshape(len(outputs)),
        n_p=n_p, n_y=n_y, aux=np.ascontiguousarray(aux, dtype=np.int32).reshape(len(aux)))
    return tape


def _check_unique(state_names, param_names):
    seen: set = set()
    for name in list(state_names) + list(param_names):
        if name in seen:
            raise ModelError(f"name {name!r} is used twice among states and parameters")
        seen.add(name)


@dataclass(frozen=True, eq=False)
class CompiledODE:
    """A compiled ODE system dy/dt = f(t, y; p) with its analytic Jacobian.

    Fields
    ------
    state_names, param_names : tuple of str
    rhs : tuple of Node           f_i, one per state
    jac : tuple of Node           nonzero d f_i / d y_j in CSC order
    rhs_tape : Tape               n_y outputs
    jac_tape : Tape               nnz outputs, in CSC order
    colptr : int32 (n_y + 1,)     CSC column pointers
    rowind : int32 (nnz,)         row indices, ascending within a column
    nnz : int
    uses_time : bool              whether f depends on t explicitly
    """

    state_names: tuple
    param_names: tuple
    rhs: tuple
    jac: tuple
    rhs_tape: Tape
    jac_tape: Tape
    colptr: np.ndarray
    rowind: np.ndarray
    nnz: int
    uses_time: bool = False

    @property
    def n_y(self) -> int:
        return len(self.state_names)

    @property
    def n_p(self) -> int:
        return len(self.param_names)

    def eval_rhs(self, y, p=(), t=0.0) -> np.ndarray:
        """f(t, y) through the numpy reference evaluator (for tests)."""
        return self.rhs_tape.evaluate(y, p, t)

    def eval_jac(self, y, p=(), t=0.0) -> np.ndarray:
        """Dense Jacobian (n_y, n_y) through the numpy reference evaluator."""
        vals = self.jac_tape.evaluate(y, p, t)
        J = np.zeros((self.n_y, self.n_y))
        for j in range(self.n_y):
            lo, hi = self.colptr[j], self.colptr[j + 1]
            J[self.rowind[lo:hi], j] = vals[lo:hi]
        return J


def compile_odes(rhs: Sequence["str | Node"], state_names: Sequence[str],
                 param_names: Sequence[str] = (), *,
                 time_names: Sequence[str] = DEFAULT_TIME_NAMES,
                 functions: "Mapping | None" = None,
                 include_diagonal: bool = False, compensated: bool = True) -> CompiledODE:
    """Parse (strings), differentiate and compile an ODE system.

    Parameters
    ----------
    rhs : sequence of str or Node
        dy_i/dt in the order of ``state_names``.
    state_names, param_names : sequences of str
        The model's names; strings may use only these (plus time names and
        built-in constants).
    include_diagonal : bool
        Put every diagonal entry in the sparsity pattern even when it is a
        structural zero (convenient for factorising I - gamma*J).
    compensated : bool
        Sum right-hand sides of three or more terms with compensated
        summation (see compile_program); Jacobian entries that add several
        fluxes are FluxSums and use the same single instruction.
    """
    state_names = tuple(state_names)
    param_names = tuple(param_names)
    _check_unique(state_names, param_names)
    if len(rhs) != len(state_names):
        raise ModelError(f"{len(rhs)} right-hand sides for {len(state_names)} states")
    names = frozenset(state_names) | frozenset(param_names)
    exprs = []
    for i, f in enumerate(rhs):
        if isinstance(f, str):
            f = parse(f, names, time_names=time_names, functions=functions)
        elif isinstance(f, (int, float)) and not isinstance(f, bool):
            f = N.const(float(f))
        elif isinstance(f, FluxSum) and not f.terms:
            f = N.ZERO
        elif not isinstance(f, (Node, FluxSum)):
            raise TypeError(f"right-hand side {i} is neither a string, a Node nor a FluxSum")
        else:
            unknown = f.free_symbols - names - frozenset(time_names)
            if unknown:
                name = sorted(unknown)[0]
                raise UnknownNameError(f"unknown name {name!r} in the right-hand side of "
                                       f"{state_names[i]!r}")
        exprs.append(f)

    entries = jacobian(exprs, state_names)
    if include_diagonal:
        for i in range(len(state_names)):
            entries.setdefault((i, i), N.ZERO)
    keys = sorted(entries, key=lambda ij: (ij[1], ij[0]))
    n = len(state_names)
    colptr = np.zeros(n + 1, dtype=np.int32)
    for _, j in keys:
        colptr[j + 1] += 1
    colptr = np.cumsum(colptr, dtype=np.int32)
    rowind = np.array([i for i, _ in keys], dtype=np.int32)
    jac = tuple(entries[k] for k in keys)

    rhs_tape = compile_program(exprs, state_names, param_names, time_names, compensated)
    jac_tape = compile_program(jac, state_names, param_names, time_names)
    roots = []
    for f in exprs:
        if isinstance(f, FluxSum):
            roots.extend(t for _, t in f.terms)
            if f.divisor is not None:
                roots.append(f.divisor)
        else:
            roots.append(f)
    uses_t = any(n.op is Leaf.TIME or (n.op is Leaf.SYM and n.name in time_names
                                       and n.name not in names)
                 for n in N.postorder(roots))
    return CompiledODE(state_names=state_names, param_names=param_names, rhs=tuple(exprs),
                       jac=jac, rhs_tape=rhs_tape, jac_tape=jac_tape, colptr=colptr,
                       rowind=rowind, nnz=len(keys), uses_time=uses_t)
