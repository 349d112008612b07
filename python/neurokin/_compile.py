"""Model description -> compiled C model (tapes + Jacobian pattern).

The only bridge between the expression compiler (neurokin.expr) and the
binding: parameter vector layout is model parameters, then compartment sizes.
"""
from __future__ import annotations

from . import expr as _expr

__all__ = ["parse_expression", "compile_model", "parameter_layout"]

TIME_NAMES = ("t", "time")


def parse_expression(text: str, names):
    """Parse and check one expression against the allowed names (raises)."""
    return _expr.parse(text, names=names, time_names=TIME_NAMES)


def parameter_layout(model) -> list:
    """Names of the C parameter vector: parameters, then compartment sizes."""
    return model.parameter_names + [c.id for c in model.compartments]


def compile_model(model):
    """Compile a Model; returns (CompiledModel, CompiledODE)."""
    from ._core import CompiledModel
    pnames = parameter_layout(model)
    code = _expr.compile_odes(model.rhs_nodes(), model.species_names, pnames,
                              time_names=TIME_NAMES)
    r, j = code.rhs_tape, code.jac_tape
    cm = CompiledModel(len(model.species), len(pnames), r.consts, r.code, r.out,
                       j.consts, j.code, j.out, code.colptr, code.rowind)
    return cm, code
