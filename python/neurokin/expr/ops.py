"""Opcodes of compiled tapes, mirroring ``NK_OP_LIST`` in ``src/core/nk_tape.h``.

The numbers are the C core's; ``tests/test_expr.py`` parses the header and
checks that this mirror matches it.  Leaf kinds of the expression DAG (which
never become instructions) are negative so they can never be mistaken for an
opcode.
"""
from __future__ import annotations

import enum
import re

__all__ = ["Op", "Leaf", "ARITY", "parse_op_list"]


class Op(enum.IntEnum):
    ADD = 0
    SUB = 1
    MUL = 2
    DIV = 3
    NEG = 4
    POW = 5
    EXP = 6
    LOG = 7
    LOG10 = 8
    SQRT = 9
    SIN = 10
    COS = 11
    TAN = 12
    ASIN = 13
    ACOS = 14
    ATAN = 15
    SINH = 16
    COSH = 17
    TANH = 18
    ABS = 19
    FLOOR = 20
    CEIL = 21
    MIN = 22
    MAX = 23
    LT = 24
    LE = 25
    GT = 26
    GE = 27
    EQ = 28
    NE = 29
    AND = 30
    OR = 31
    NOT = 32
    SELECT = 33
    ATAN2 = 34
    SQUARE = 35
    POWI = 36
    SIGN = 37
    COPY = 38
    XOR = 39
    CSUM = 40


class Leaf(enum.IntEnum):
    CONST = -1
    SYM = -2
    TIME = -3


_BINARY = {Op.ADD, Op.SUB, Op.MUL, Op.DIV, Op.POW, Op.MIN, Op.MAX, Op.LT, Op.LE,
           Op.GT, Op.GE, Op.EQ, Op.NE, Op.AND, Op.OR, Op.ATAN2, Op.POWI, Op.XOR,
           Op.CSUM}  # CSUM: (offset into aux, term count)

#: Number of operands of each opcode.
ARITY: dict[Op, int] = {op: (3 if op is Op.SELECT else 2 if op in _BINARY else 1)
                        for op in Op}


def parse_op_list(header_text: str) -> dict[str, tuple[int, int]]:
    """Read ``X(NK_OP_NAME, code, arity)`` entries from nk_tape.h's text.

    Returns ``{"ADD": (0, 2), ...}`` (the ``NK_OP_`` prefix removed).
    """
    start = header_text.index("#define NK_OP_LIST")
    end = header_text.index("typedef", start)
    body = header_text[start:end]
    return {m.group(1): (int(m.group(2)), int(m.group(3)))
            for m in re.finditer(r"X\(\s*NK_OP_(\w+)\s*,\s*(-?\d+)\s*,\s*(\d+)\s*\)", body)}
