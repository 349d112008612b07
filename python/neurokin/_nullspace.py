"""Exact left null space of a sparse rational matrix (conservation laws).

Reaction networks have thousands of reactions (BCR: 24,388 columns over
1,122 species) with two to four species each; a dense Fraction elimination
of N^T touches every entry at every pivot and runs for many minutes.  Here
the columns of N are reduced one at a time against a sparse, fully reduced
row-echelon basis of the row space of N^T (Gauss-Jordan on dict rows, an
index from each column to the rows that hold it), so the work follows the
nonzeros.  Columns equal up to a factor (a reversible pair, or the same
stoichiometry with another rate) are reduced once.
"""
from __future__ import annotations

from fractions import Fraction

__all__ = ["left_nullspace"]


def _exact(v):
    """An int where the value is one, else a Fraction."""
    if type(v) is int:
        return v
    v = Fraction(v)
    return v.numerator if v.denominator == 1 else v


def _canonical(col: dict) -> tuple:
    first = col[min(col)]
    if first == 1:
        return tuple(sorted(col.items()))
    return tuple(sorted((k, _exact(Fraction(v) / first)) for k, v in col.items()))


def left_nullspace(columns, n: int) -> list:
    """A basis of ``{c in Q^n : sum_i c_i col[i] == 0 for every column}``.

    ``columns`` are dicts ``{row index: Fraction}`` (zeros left out).  Returns
    dense Fraction rows, one per free index of the reduced echelon form of
    the columns' span (not reduced themselves: see analysis._rref).
    """
    rows: dict = {}     # pivot index -> {index: Fraction}, pivot entry 1, no other pivot
    holders: dict = {}  # index -> pivot indices whose row has an entry there
    seen = set()
    for col in columns:
        # integers stay Python ints (stoichiometries mostly are, and most
        # pivots are +-1): Fraction arithmetic is what costs here
        col = {k: _exact(v) for k, v in col.items() if v != 0}
        if not col:
            continue
        key = _canonical(col)
        if key in seen:
            continue
        seen.add(key)
        row = dict(col)
        # subtract the basis rows of the pivots this column touches; they hold
        # no other pivot, so one pass leaves no pivot entry behind
        for p in [k for k in row if k in rows]:
            f = row.get(p)
            if f:
                _axpy(row, -f, rows[p])
        if not row:
            continue
        p = min(row)
        a = row[p]
        if a != 1:
            inv = a if a == -1 else 1 / Fraction(a)
            row = {k: _exact(v * inv) for k, v in row.items()}
        # keep the basis fully reduced: clear p from the rows that hold it
        for q in list(holders.get(p, ())):
            r = rows[q]
            f = r[p]
            for k, v in row.items():
                nv = r.get(k, 0) - f * v
                if nv:
                    r[k] = _exact(nv)
                    holders.setdefault(k, set()).add(q)
                else:
                    r.pop(k, None)
                    holders.get(k, set()).discard(q)
        rows[p] = row
        for k in row:
            holders.setdefault(k, set()).add(p)
    free = [c for c in range(n) if c not in rows]
    pos = {f: i for i, f in enumerate(free)}
    basis = [[Fraction(0)] * n for _ in free]
    for f, i in pos.items():
        basis[i][f] = Fraction(1)
    for p, r in rows.items():
        for k, v in r.items():
            i = pos.get(k)
            if i is not None:
                basis[i][p] = Fraction(-v)
    return basis


def _axpy(row: dict, a, other: dict) -> None:
    """row += a * other, dropping entries that cancel."""
    for k, v in other.items():
        nv = row.get(k, 0) + a * v
        if nv:
            row[k] = _exact(nv)
        else:
            row.pop(k, None)
