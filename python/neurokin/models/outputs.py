"""Read-outs of the built-in models: algebraic functions of states and parameters.

The engine integrates states only; receptor occupancies, hormone gains,
physiological units and lumped pools are computed here from a result, a
steady state or a state dict, with the model's current parameter values.

    r = nk.Simulator(m).simulate(24.0)
    out = nk.models.outputs(m, r)          # {name: array over r.t}
    out = nk.models.outputs(m, ss)         # {name: float}
"""
from __future__ import annotations

import numpy as np

from ..expr import evaluate, parse
from .network import PREFIXES, _cortisol_exprs, e2_gain, rewrite_expression

__all__ = ["outputs", "output_expressions"]

_MODULE_OUTPUTS = {
    "dopamine": {
        "tissue_DA": "cda + vda",
        "acid_metabolites": "dopac + hva",
        "autoreceptor_A": "auto_a + auto_b/(1 + auto_c*(eda/eda_ref)^auto_n)",
        "plasma_LDOPA": "bldopa",
    },
    "serotonin": {
        "tissue_5HT": "cht + vht",
        "eht_nM": "1000*eht",
    },
    "gaba_glutamate": {
        "occ_NMDA": "Glu_e^n_NMDA/(EC50_NMDA^n_NMDA + Glu_e^n_NMDA)",
        "occ_AMPA": "Glu_e^n_AMPA/(EC50_AMPA^n_AMPA + Glu_e^n_AMPA)",
        "occ_GABAA": "GABA_e/(GABA_e + EC50_GABAA_extrasyn)",
    },
    "hpa_axis": {
        "cortisol_ugdL": "o*o_to_cortisol",
        "ACTH_pgmL": "a*a_to_ACTH",
    },
}


def output_expressions(model) -> dict:
    """The read-out expressions of a built-in model, by name (strings)."""
    if model.name in _MODULE_OUTPUTS:
        return dict(_MODULE_OUTPUTS[model.name])
    if model.name != "transmitter_network":
        raise ValueError(f"no read-outs are defined for model {model.name!r}")
    out = {}
    for mod, pre in PREFIXES.items():
        for k, e in _MODULE_OUTPUTS[mod].items():
            out[f"{pre}.{k}"] = rewrite_expression(e, lambda n, p=pre: f"{p}.{n}")
    cx = _cortisol_exprs("cortisol" in model.parameters)
    out["cortisol_total_nM"] = cx["cortisol_total_nM"]
    out["occ_MR"], out["occ_GR"] = cx["occ_MR"], cx["occ_GR"]
    ref = cx["occ_GR_ref"]
    out["g_glu"] = (f"1 + G_acute_glu*(GRocc_acute - {ref})/(1 - {ref}) - "
                    f"G_chronic_glu*(GRocc_chronic - {ref})/(1 - {ref})")
    out["s_2A"] = e2_gain("E2_Emax_5HT2A")
    out["S_5HT"] = f"({out['s_2A']})*ht.eht/(ht.eht + K_2A)"
    out["EI_index"] = f"({out['g_glu']})*({out['gg.occ_NMDA']})/(1 + {out['gg.occ_GABAA']})"
    return out


def outputs(model, data, names=None) -> dict:
    """Evaluate read-outs on ``data``.

    Parameters
    ----------
    model : Model
        A built-in model (a module or the network); its parameter values are
        used, so pass the same model that produced ``data``.
    data : Result, SteadyState or dict
        A result (outputs over ``data.t``), a steady state or a state dict by
        species name (outputs as floats).
    names : list of str, optional
        The read-outs to compute (default: all of :func:`output_expressions`).
    """
    exprs = output_expressions(model)
    if names is not None:
        exprs = {k: exprs[k] for k in names}
    ids = set(model.parameters) | set(model.compartment_sizes) | set(model.species_names)
    nodes = {k: parse(e, ids) for k, e in exprs.items()}
    env = dict(model.compartment_sizes)
    env.update(model.parameters)
    if hasattr(data, "y") and hasattr(data, "names") and hasattr(data, "t"):
        y = np.asarray(data.y)
        res = {k: np.empty(len(data.t)) for k in nodes}
        for i, t in enumerate(data.t):
            env.update(zip(data.names, y[i]))
            for k, nd in nodes.items():
                res[k][i] = evaluate(nd, env, t=float(t))
        return res
    state = data.x if hasattr(data, "x") else dict(data)
    env.update(model.initial)
    env.update(state)
    return {k: evaluate(nd, env, t=0.0) for k, nd in nodes.items()}

