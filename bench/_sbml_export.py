"""Write an IVP problem (rhs dict + initial values + constants) as SBML Level 3.

Each state becomes a global *parameter* (constant=false) with a rate rule
d(state)/dt = rhs.  This yields exactly the same ODEs as the JSON's ``rhs``
strings: no compartments, no amount/concentration conversion, and (for
libRoadRunner's CVODE) no per-species rescaling of the absolute tolerance.
"""
from __future__ import annotations

import re


def _formula(expr: str) -> str:
    # SBML L3 infix uses ^ for power; the JSON uses Python's **.
    return re.sub(r"\*\*", "^", expr)


def odes_to_sbml(rhs: dict, initial: dict, parameters: dict, model_id: str = "m") -> str:
    """Return an SBML L3V2 string for the ODE system ``d s/dt = rhs[s]``."""
    import libsbml

    doc = libsbml.SBMLDocument(3, 2)
    model = doc.createModel()
    model.setId(re.sub(r"\W", "_", model_id))

    def _check(code, what):
        if code != libsbml.LIBSBML_OPERATION_SUCCESS:
            raise RuntimeError(f"libsbml: {what} failed ({libsbml.OperationReturnValue_toString(code)})")

    for name, value in parameters.items():
        p = model.createParameter()
        _check(p.setId(name), f"parameter id {name}")
        _check(p.setValue(float(value)), f"value of {name}")
        _check(p.setConstant(True), f"constant {name}")
    for name in rhs:
        p = model.createParameter()
        _check(p.setId(name), f"state id {name}")
        _check(p.setValue(float(initial[name])), f"initial value of {name}")
        _check(p.setConstant(False), f"constant {name}")
    for name, expr in rhs.items():
        rule = model.createRateRule()
        _check(rule.setVariable(name), f"rate rule variable {name}")
        ast = libsbml.parseL3Formula(_formula(expr))
        if ast is None:
            raise ValueError(f"cannot parse rhs of {name}: {libsbml.getLastParseL3Error()}")
        _check(rule.setMath(ast), f"rate rule math {name}")
    return libsbml.writeSBMLToString(doc)
