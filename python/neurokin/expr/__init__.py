"""Safe rate expressions: parse, check, differentiate, compile to C tapes.

    >>> from neurokin.expr import parse, diff, compile_odes
    >>> f = parse("Vmax*S/(Km + S)", names={"S", "Vmax", "Km"})
    >>> str(diff(f, "S"))
    '(Vmax - Vmax * S / (Km + S)) / (Km + S)'

Text is tokenized and parsed by hand (never ``eval``); names are checked
against the model; the result is an immutable, hash-consed DAG
(:class:`Node`) which :func:`diff` differentiates symbolically and
:func:`compile_program` / :func:`compile_odes` turn into the flat int32/float64
programs the C core's ``nk_tape_eval`` runs.
"""
from .codegen import CompiledODE, Tape, compile_odes, compile_program
from .diff import FluxSum, additive_terms, as_flux_sum, diff, flux_sum_text, jacobian
from .nodes import (ONE, ZERO, Node, add, and_, call, const, depends_on, div, eq,
                    evaluate, free_symbols, ge, gt, le, lt, mul, ne, neg, not_, or_,
                    postorder, pow_, select, sub, substitute, sym, time, to_string)
from .ops import ARITY, Leaf, Op, parse_op_list
from .parser import CONSTANTS, DEFAULT_TIME_NAMES, FUNCTIONS, parse, tokenize

__all__ = [
    "parse", "tokenize", "diff", "jacobian", "compile_program", "compile_odes",
    "Tape", "CompiledODE", "FluxSum", "flux_sum_text", "Node", "evaluate", "substitute", "to_string",
    "const", "sym", "time", "add", "sub", "mul", "div", "neg", "pow_", "call",
    "select", "lt", "le", "gt", "ge", "eq", "ne", "and_", "or_", "not_",
    "postorder", "free_symbols", "depends_on", "ZERO", "ONE",
    "Op", "Leaf", "ARITY", "parse_op_list",
    "FUNCTIONS", "CONSTANTS", "DEFAULT_TIME_NAMES",
]
