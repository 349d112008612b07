"""HPA axis: Gupta, Aslakson, Gurbaxani & Vernon 2007 (TBMM 4:8), in hours.

The published model is dimensionless (time tau, states scaled)::

    dc/dtau = (1 + F)/(1 + o/ki1) - kcd*c          CRH
    da/dtau = c/(1 + o*r/ki2) - kad*a              ACTH
    dr/dtau = (o*r)^2/(k + (o*r)^2) + kcr - krd*r  GR (self-upregulation)
    do/dtau = a - o                                 cortisol

Here every rate is divided by ``tau_to_h`` (1.6 h per tau, the
phenomenological mapping tau = t*k_od, cortisol t1/2 ~ 66 min) so that model
time is in hours like the other modules; ``tau_to_h = 1`` gives the
dimensionless model in tau.  States stay dimensionless; ``o_to_cortisol``
(ug/dL per unit o) and ``a_to_ACTH`` (pg/mL per unit a) are the proposed
physiological read-outs (phenomenological).

Bistable: low-GR (initial state, c 0.626, a = o 0.0597, r 0.0809) and
high-GR (c 0.660, a = o 0.0515, r 0.548) steady states.  ``F`` (stress
input) is a species no reaction changes (set it via ``initial=`` or the
``stress`` option).  The optional circadian drive
``circ_amp*cos(2*pi*(t - 8 h)/24 h)`` is added to F when ``circadian = 1``
(default 0, so that the module has steady states).
"""
from __future__ import annotations

from ..model import ModelBuilder
from . import _options
from . import _tables as T

__all__ = ["hpa_axis", "OPTIONS", "OUTPUTS"]

M = "hpa_axis"
OPTIONS = ("stress",)

_PARAMS = ["ki1", "ki2", "kcd", "kad", "k", "kcr", "krd", "tau_to_h", "o_to_cortisol",
           "a_to_ACTH", "circ_amp"]
_EXTRA = [
    ("circadian", 0.0, "1", "phenomenological",
     "switch (0/1) of the proposed circadian CRH drive circ_amp*cos(2pi(t-8h)/24h)"),
]
_COMPARTMENTS = {"hypothalamus": "hypothalamus / portal blood (CRH)",
                 "pituitary": "pituitary (ACTH, GR)", "plasma": "plasma (cortisol)",
                 "input": "inputs (stress drive)"}
_SPECIES_COMP = {"c": "hypothalamus", "a": "pituitary", "r": "pituitary", "o": "plasma",
                 "F": "input"}

DRIVE = "(1 + F + circadian*circ_amp*cos(2*pi*(t - 8)/24))"

OUTPUTS = {
    "cortisol_ugdL": "o*o_to_cortisol",
    "ACTH_pgmL": "a*a_to_ACTH",
}


def hpa_axis(**options):
    """The HPA-axis model (Gupta et al. 2007), dimensionless states, time in hours.

    Options (validated; unknown names raise :class:`neurokin.OptionError`)
    -------
    stress : float >= 0 (dimensionless)
        Stress drive ``F`` held from t = 0 (initial value of species ``F``);
        0 basal.  ``F = 1`` for 5 tau (8 h) switches low-GR to high-GR.
    """
    opts = _options.check(options, OPTIONS, "neurokin.models.hpa_axis()")
    b = ModelBuilder("hpa_axis")
    b.notes = __doc__
    for cid, desc in _COMPARTMENTS.items():
        b.compartment(cid, 1.0, unit="1", description=desc + " (dimensionless model)")
    for n in _PARAMS:
        T.add_parameter(b, M, n)
    for pid, val, unit, status, meaning in _EXTRA:
        b.parameter(pid, val, unit=unit, description=meaning, status=status)
    for n, comp in _SPECIES_COMP.items():
        e = T.species_entry(M, n)
        init = e["initial"]
        desc = e["meaning"]
        if n == "F":
            desc += "; held fixed (no reaction changes it; set via initial= or stress=)"
            if opts.get("stress") is not None:
                init = opts["stress"]
        b.species(n, init, compartment=comp, unit=e["unit"], description=desc)

    R = b.reaction
    R("CRH_prod", {"c": 1}, f"{DRIVE}/(1 + o/ki1)/tau_to_h",
      description="CRH secretion, driven by stress F, inhibited by cortisol")
    R("CRH_deg", {"c": -1}, "kcd*c/tau_to_h", description="CRH degradation")
    R("ACTH_prod", {"a": 1}, "c/(1 + o*r/ki2)/tau_to_h",
      description="ACTH secretion, inhibited by cortisol-GR")
    R("ACTH_deg", {"a": -1}, "kad*a/tau_to_h", description="ACTH degradation")
    R("GR_prod", {"r": 1}, "((o*r)^2/(k + (o*r)^2) + kcr)/tau_to_h",
      description="GR synthesis: basal + cortisol-GR self-upregulation")
    R("GR_deg", {"r": -1}, "krd*r/tau_to_h", description="GR degradation")
    R("cort_prod", {"o": 1}, "a/tau_to_h", description="adrenal cortisol secretion (ACTH)")
    R("cort_deg", {"o": -1}, "o/tau_to_h", description="cortisol clearance")
    return b.build()
