"""Exact conservation laws: the sparse left null space against a dense reference."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from neurokin._nullspace import left_nullspace
from neurokin.analysis import _rref


def dense_left_nullspace(N):
    """Textbook reference: Gauss-Jordan on the dense Fraction matrix N^T."""
    n, m = len(N), len(N[0]) if N else 0
    A = [[Fraction(N[i][j]) for i in range(n)] for j in range(m)]
    pivots, r = [], 0
    for c in range(n):
        p = next((i for i in range(r, m) if A[i][c] != 0), None)
        if p is None:
            continue
        A[r], A[p] = A[p], A[r]
        A[r] = [v / A[r][c] for v in A[r]]
        for i in range(m):
            if i != r and A[i][c] != 0:
                f = A[i][c]
                A[i] = [a - f * b for a, b in zip(A[i], A[r])]
        pivots.append(c)
        r += 1
    basis = []
    for f in (c for c in range(n) if c not in pivots):
        v = [Fraction(0)] * n
        v[f] = Fraction(1)
        for i, pc in enumerate(pivots):
            v[pc] = -A[i][f]
        basis.append(v)
    return _rref(basis, n)


entries = st.sampled_from([0, 0, 0, 0, 1, -1, 2, -2, Fraction(1, 2), 3])


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 7).flatmap(
    lambda n: st.lists(st.lists(entries, min_size=n, max_size=n), min_size=0, max_size=12)
    .map(lambda cols: (n, cols))))
def test_sparse_left_nullspace_equals_the_dense_reference(case):
    n, cols = case
    # repeat some columns, scaled, as reversible pairs and shared stoichiometries do
    cols = cols + [[-2 * v for v in c] for c in cols[::3]]
    sparse = [{i: Fraction(v) for i, v in enumerate(c) if v != 0} for c in cols]
    got = _rref(left_nullspace(sparse, n), n)
    N = [[c[i] for c in cols] for i in range(n)] if cols else [[] for _ in range(n)]
    want = dense_left_nullspace(N) if cols else _rref([[Fraction(int(i == j)) for j in range(n)]
                                                       for i in range(n)], n)
    assert got == want
    # each law annihilates every column, and there are n - rank(N) of them
    for law in got:
        assert all(sum(law[i] * c[i] for i in range(n)) == 0 for c in cols)
    rank = np.linalg.matrix_rank(np.array(N, dtype=float)) if cols else 0
    assert len(got) == n - rank


def test_a_long_reversible_chain_has_one_law():
    # a chain A0 <-> A1 <-> ... with binding steps: one law per conserved pool
    n = 400
    cols = []
    for i in range(n - 1):
        cols.append({i: Fraction(-1), i + 1: Fraction(1)})
        cols.append({i: Fraction(1), i + 1: Fraction(-1)})
    laws = _rref(left_nullspace(cols, n), n)
    assert laws == [[Fraction(1)] * n]
