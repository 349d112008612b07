"""Glutamate-glutamine cycle and GABA synthesis/shunt (neurokin compact model).

PHENOMENOLOGICAL module: no published kinetic model of the combined cycle
could be transcribed.  Standard topology, Michaelis-Menten transporters and
enzymes with literature Km, and every Vmax / first-order constant fixed by
steady-state calibration to 13C-MRS cycle fluxes (Glu/Gln 19 200, GABA/Gln
4 800 uM_tissue/h): ``Vmax = J0*(Km + S0)/S0``, ``k = J0/(f*S0)``.

Units: concentrations in uM per own compartment volume, time in hours, rate
laws in uM_tissue/h.  Compartments are the tissue volume fractions ``f_n``
(glutamatergic neurons, 0.36), ``f_i`` (GABAergic neurons, 0.09), ``f_a``
(astrocytes, 0.25), ``f_e`` (extracellular, 0.20); a concentration changes
by J/f, so transport conserves amounts.  Vesicular pools are expressed per
volume of their neuron (``Glu_v`` in ``f_n``, ``GABA_v`` in ``f_i``).
First-order laws are written ``k*f*S`` (tissue flux of a per-volume
constant).

Receptor read-outs (outputs, not states; see ``neurokin.models.outputs``):
NMDA / AMPA occupancy ``Hill(Glu_e; EC50, n)`` with n 1.5 / 1.4, tonic
GABA-A occupancy ``GABA_e/(GABA_e + EC50)``.
"""
from __future__ import annotations

from ..model import ModelBuilder
from . import _options
from . import _tables as T

__all__ = ["gaba_glutamate", "OPTIONS", "OUTPUTS"]

M = "gaba_glutamate"
OPTIONS = ()

_PARAMS = [
    "J_cyc_Glu", "J_cyc_GABA", "phi_astro_glu", "phi_astro_gaba", "Km_SNAT", "Km_PAG",
    "Km_VGLUT", "Km_EAAT2", "Km_EAAT3", "Km_GS", "Km_GAD", "Km_VGAT", "Km_GAT1", "Km_GAT3",
    "k_GABAT_n", "GAD_Vmax_Rodriguez", "Vmax_SNAT_n", "Vmax_PAG_n", "Vmax_VGLUT",
    "Vmax_EAAT2", "Vmax_EAAT3", "Vmax_GS", "Vmax_SNAT_i", "Vmax_PAG_i", "Vmax_GAD",
    "Vmax_VGAT", "Vmax_GAT1", "Vmax_GAT3", "k_rel_glu", "k_rel_gaba", "k_gln_efflux",
    "k_gabat_a", "k_shunt_i", "EC50_NMDA", "EC50_AMPA", "EC50_GABAA_extrasyn",
]
_EXTRA = [
    ("fire0", 1.0, "1", "phenomenological",
     "activity multiplier of both release laws (fire*k*S; 1 = calibration point)"),
    ("n_NMDA", 1.5, "1", "literature-unverified", "Hill coefficient of NMDA occupancy"),
    ("n_AMPA", 1.4, "1", "literature-unverified", "Hill coefficient of AMPA occupancy"),
]
_COMPARTMENTS = {
    "f_n": "glutamatergic neurons (and their vesicles, neuron-volume equivalent)",
    "f_i": "GABAergic neurons (and their vesicles, neuron-volume equivalent)",
    "f_a": "astrocytes",
    "f_e": "extracellular space",
}
_SPECIES_COMP = {"Glu_n": "f_n", "Gln_n": "f_n", "Glu_v": "f_n", "Glu_e": "f_e",
                 "Gln_e": "f_e", "Glu_a": "f_a", "Gln_a": "f_a", "Glu_i": "f_i",
                 "Gln_i": "f_i", "GABA_i": "f_i", "GABA_v": "f_i", "GABA_e": "f_e",
                 "GABA_a": "f_a"}
_SPECIES_MEANING = {
    "Glu_n": "glutamate, glutamatergic neuron cytosol", "Gln_n": "glutamine, glutamatergic "
    "neuron", "Glu_v": "vesicular glutamate (neuron-volume equivalent)",
    "Glu_e": "extracellular glutamate", "Gln_e": "extracellular glutamine",
    "Glu_a": "astrocytic glutamate", "Gln_a": "astrocytic glutamine",
    "Glu_i": "glutamate, GABAergic neuron", "Gln_i": "glutamine, GABAergic neuron",
    "GABA_i": "cytosolic GABA, GABAergic neuron", "GABA_v": "vesicular GABA (neuron-volume "
    "equivalent)", "GABA_e": "extracellular GABA", "GABA_a": "astrocytic GABA"}

# output expressions over the module's bare ids (receptor read-outs)
OUTPUTS = {
    "occ_NMDA": "Glu_e^n_NMDA/(EC50_NMDA^n_NMDA + Glu_e^n_NMDA)",
    "occ_AMPA": "Glu_e^n_AMPA/(EC50_AMPA^n_AMPA + Glu_e^n_AMPA)",
    "occ_GABAA": "GABA_e/(GABA_e + EC50_GABAA_extrasyn)",
}


def _mm(v: str, s: str, k: str) -> str:
    return f"{v}*{s}/({k} + {s})"


def gaba_glutamate(**options):
    """The glutamate/GABA-glutamine cycle model (phenomenological calibration).

    13 species (uM per own compartment), time in hours; the initial state is
    the calibration point (a steady state by construction, to the rounding of
    the tabled Vmax values).  No options (unknown names raise
    :class:`neurokin.OptionError`); scale the release laws with ``fire0``.
    """
    _options.check(options, OPTIONS, "neurokin.models.gaba_glutamate()")
    b = ModelBuilder("gaba_glutamate")
    b.notes = __doc__
    for cid, desc in _COMPARTMENTS.items():
        e = T.parameter(M, cid)
        b.compartment(cid, e["value"], unit="volume fraction of tissue",
                      description=f"{desc}; {e['meaning']} [{e['source']}; {e['status']}]")
    for n in _PARAMS:
        T.add_parameter(b, M, n)
    for pid, val, unit, status, meaning in _EXTRA:
        b.parameter(pid, val, unit=unit, description=meaning, status=status)
    for n, comp in _SPECIES_COMP.items():
        e = T.species_entry(M, n)
        b.species(n, e["initial"], compartment=comp, unit=e["unit"],
                  description=f"{_SPECIES_MEANING[n]} ({e['meaning']})")

    R = b.reaction
    phen = " (phenomenological calibration)"
    R("SNAT_n", {"Gln_e": -1, "Gln_n": 1}, _mm("Vmax_SNAT_n", "Gln_e", "Km_SNAT"),
      description="SNAT1/2 glutamine uptake, glutamatergic neuron" + phen)
    R("PAG_n", {"Gln_n": -1, "Glu_n": 1}, _mm("Vmax_PAG_n", "Gln_n", "Km_PAG"),
      description="phosphate-activated glutaminase, glutamatergic neuron" + phen)
    R("VGLUT", {"Glu_n": -1, "Glu_v": 1}, _mm("Vmax_VGLUT", "Glu_n", "Km_VGLUT"),
      description="vesicular glutamate uptake" + phen)
    R("rel_glu", {"Glu_v": -1, "Glu_e": 1}, "fire0*k_rel_glu*f_n*Glu_v",
      description="glutamate release" + phen)
    R("EAAT2", {"Glu_e": -1, "Glu_a": 1}, _mm("Vmax_EAAT2", "Glu_e", "Km_EAAT2"),
      description="astrocytic EAAT2 (GLT-1) uptake" + phen)
    R("EAAT3", {"Glu_e": -1, "Glu_n": 1}, _mm("Vmax_EAAT3", "Glu_e", "Km_EAAT3"),
      description="neuronal EAAT3 uptake" + phen)
    R("GS", {"Glu_a": -1, "Gln_a": 1}, _mm("Vmax_GS", "Glu_a", "Km_GS"),
      description="glutamine synthetase" + phen)
    R("SNAT3", {"Gln_a": -1, "Gln_e": 1}, "k_gln_efflux*f_a*Gln_a",
      description="astrocytic glutamine efflux (SNAT3)" + phen)
    R("SNAT_i", {"Gln_e": -1, "Gln_i": 1}, _mm("Vmax_SNAT_i", "Gln_e", "Km_SNAT"),
      description="glutamine uptake, GABAergic neuron" + phen)
    R("PAG_i", {"Gln_i": -1, "Glu_i": 1}, _mm("Vmax_PAG_i", "Gln_i", "Km_PAG"),
      description="glutaminase, GABAergic neuron" + phen)
    R("GAD", {"Glu_i": -1, "GABA_i": 1}, _mm("Vmax_GAD", "Glu_i", "Km_GAD"),
      description="glutamate decarboxylase" + phen)
    R("VGAT", {"GABA_i": -1, "GABA_v": 1}, _mm("Vmax_VGAT", "GABA_i", "Km_VGAT"),
      description="vesicular GABA uptake" + phen)
    R("rel_gaba", {"GABA_v": -1, "GABA_e": 1}, "fire0*k_rel_gaba*f_i*GABA_v",
      description="GABA release" + phen)
    R("GAT1", {"GABA_e": -1, "GABA_i": 1}, _mm("Vmax_GAT1", "GABA_e", "Km_GAT1"),
      description="neuronal GAT-1 uptake" + phen)
    R("GAT3", {"GABA_e": -1, "GABA_a": 1}, _mm("Vmax_GAT3", "GABA_e", "Km_GAT3"),
      description="astrocytic GAT-3 uptake" + phen)
    R("GABAT_n", {"GABA_i": -1, "Glu_i": 1}, "k_GABAT_n*f_i*GABA_i",
      description="neuronal GABA-T shunt, carbon back to Glu via TCA (Rodriguez)")
    R("GABAT_a", {"GABA_a": -1, "Glu_a": 1}, "k_gabat_a*f_a*GABA_a",
      description="astrocytic GABA-T + TCA -> glutamate" + phen)
    return b.build()
