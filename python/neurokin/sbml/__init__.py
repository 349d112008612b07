"""SBML import and export (needs python-libsbml: ``pip install neurokin[sbml]``).

    import neurokin as nk
    m = nk.sbml.load_sbml("BIOMD0000000002.xml")
    sim = nk.Simulator(m)
    r = sim.simulate(10.0, t_eval=..., atol=nk.sbml.default_atol(m, 1e-12))
    r["S1"]                      # species in its declared form, parameters, compartments,
                                 # reaction ids (rates), assignment-rule variables
    r["S1.amount"], r["S2.concentration"]    # a species in its other form
    xml = nk.sbml.to_sbml(m)     # SBML Level 3 Version 2

See :mod:`neurokin.sbml._import` for how SBML ids become states, parameters
and observables, and for the tolerance rule (:func:`default_atol`).
"""
from ..errors import UnsupportedSBMLFeature
from ._export import to_sbml
from ._import import SBMLInfo, default_atol, load_sbml, read_document, sbml_info

__all__ = [
    "SBMLInfo",
    "UnsupportedSBMLFeature",
    "amount",
    "column",
    "concentration",
    "default_atol",
    "load_sbml",
    "read_document",
    "sbml_info",
    "to_sbml",
]


def column(result, sbml_id: str, model=None):
    """The time course of any SBML id in a result.

    States and observables come from the result; a constant parameter (which
    is neither) is broadcast from ``model``'s value.  Ids renamed on import
    (``t``, ``time``, ``and``, ``or``, ``not``: an underscore is appended) are
    found by their SBML id.
    """
    import numpy as np
    info = sbml_info(model) if model is not None else None
    name = info.internal.get(sbml_id, sbml_id) if info is not None else sbml_id
    for key in (name, sbml_id):
        if key in result.observables or key in result.names:
            return result[key]
    if model is not None:
        params = model.parameters
        if name in params:
            return np.full(len(result.t), params[name])
    return result[sbml_id]   # raises UnknownNameError with a hint


def amount(result, species_id: str, model=None):
    """The amount of a species, whatever its declared form."""
    return _form(result, species_id, "amount", model)


def concentration(result, species_id: str, model=None):
    """The concentration of a species, whatever its declared form."""
    return _form(result, species_id, "concentration", model)


def _form(result, sid, form, model):
    key = f"{sid}.{form}"
    if key in result.observables or key in result.names:
        return result[key]
    if model is not None and key in model.parameters:
        import numpy as np
        return np.full(len(result.t), model.parameters[key])
    return column(result, sid, model)
