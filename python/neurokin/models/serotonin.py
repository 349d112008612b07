"""Serotonin varicosity: Best et al. 2020 (BMC Neurosci 21:40).

Units: uM and hours; all compartments size 1 (per varicosity volume).  The
model is the authors' 2020 code (redistributed in VeVaPy ``ser2020code``)
with the VMAT, MAO, uptake-2 and release-inhibition functions of the derived
model of the same lineage (sermeor/SynapticPlasticityModelling); histamine
input held at basal (factor 1).  Initial state = the reference steady state
(``eht`` 60.07 nM).

Autoreceptor (5-HT1B) and G-protein states: ``B`` (5-HT-bound receptors,
total ``b0``), ``Gstar`` (active G-protein, total ``g0``), ``Tstar`` (active
regulator, total ``t0``).  ``Gstar`` inhibits synthesis
``I_syn = max(0, 1 - s_syn*(Gstar - G0))`` and release
``I_rel = max(0, 1 - s_rel*(Gstar - G0))``, with ``fire0*I_rel`` capped at 1.5.
The ``max(0, .)`` floors keep rates non-negative far from the operating
range; they are inactive near the steady state.

Drugs: SERT ``Vmax_SERT*(1 - SSRI_fraction)`` (occupancy-style block, the
``ssri`` option) and competitive escitalopram binding
``Km_app = Km_SERT*(1 + escitalopram/Ki_escitalopram)`` (concentration
``escitalopram`` in uM, default 0); MAO ``Vmax_MAO*(1 - MAOI_fraction)``.

Uptake-2 into glia is gated by ``H1(eht)``: 0 below ``H1_on`` nM, rising
linearly with slope ``H1_slope`` per nM to 1 (off at basal).
"""
from __future__ import annotations

from ..model import ModelBuilder
from . import _options
from . import _tables as T

__all__ = ["serotonin", "OPTIONS"]

M = "serotonin"
OPTIONS = ("ssri", "maoi")

_PARAMS = [
    "btrp0", "NADPH", "NADP", "Vmax_TRPin", "Km_TRPin", "Vmax_TPH", "Km_TPH_trp",
    "Km_TPH_bh4", "Ki_TPH_trp", "s_syn", "G0", "Vf_DRR", "Vb_DRR", "Km_DRR_bh2",
    "Km_DRR_nadph", "Km_DRR_bh4", "Km_DRR_nadp", "Vmax_AADC", "Km_AADC", "Vmax_VMAT",
    "Km_VMAT", "k_out_VMAT", "Vmax_SERT", "Km_SERT", "Vmax_MAO", "Km_MAO", "k_pool_in",
    "k_pool_out", "a15", "a16", "a17", "a18", "Vmax_UP2", "Km_UP2", "H1_on", "a19", "a20",
    "a21", "k_rel", "s_rel", "a9", "a10", "a11", "a12", "a13", "a14", "g0", "t0", "b0",
    "fire0", "Ki_escitalopram",
]
_EXTRA = [
    ("H1_slope", 0.05, "1/nM", "published",
     "uptake-2 gate slope: H1 = min(1, max(0, H1_slope*(eht[nM] - H1_on))) [Best2020code H1.m]"),
    ("rel_cap", 1.5, "1", "reimplementation",
     "cap of fire0*I_rel in the release law [sermeor fireht.py]"),
    ("SSRI_fraction", 0.0, "1", "phenomenological",
     "drug: fraction of SERT activity blocked (occupancy-style Vmax scaling, Best2010-like)"),
    ("escitalopram", 0.0, "uM", "phenomenological",
     "drug: escitalopram concentration at SERT (competitive, with Ki_escitalopram)"),
    ("MAOI_fraction", 0.0, "1", "phenomenological",
     "drug: fraction of MAO inhibited (Vmax_MAO x (1 - f))"),
]

SPECIES = ("btrp", "trp", "trppool", "bh2", "bh4", "htp", "cht", "vht", "eht", "hia",
           "Gstar", "Tstar", "B", "ght")

# rate laws
TPH = ("max(0, 1 - s_syn*(Gstar - G0))*Vmax_TPH*trp/(Km_TPH_trp + trp + trp^2/Ki_TPH_trp)"
       "*bh4/(Km_TPH_bh4 + bh4)")
DRR = ("Vf_DRR*bh2*NADPH/((Km_DRR_bh2 + bh2)*(Km_DRR_nadph + NADPH)) - "
       "Vb_DRR*bh4*NADP/((Km_DRR_bh4 + bh4)*(Km_DRR_nadp + NADP))")
SERT = ("Vmax_SERT*(1 - SSRI_fraction)*eht/(Km_SERT*(1 + escitalopram/Ki_escitalopram) + eht)")
RELEASE = "k_rel*min(fire0*max(0, 1 - s_rel*(Gstar - G0)), rel_cap)*vht"
UP2 = ("a18*min(1, max(0, H1_slope*(1000*eht - H1_on)))*Vmax_UP2*eht/(Km_UP2 + eht)")


def _mao(x: str) -> str:
    return f"(1 - MAOI_fraction)*Vmax_MAO*{x}/(Km_MAO + {x})"


def serotonin(**options):
    """The serotonin varicosity model (Best et al. 2020), uM and hours.

    Species: blood ``btrp`` (held fixed), ``trp``, ``trppool``, ``bh2``,
    ``bh4``, ``htp`` (5-HTP), ``cht`` (cytosolic 5-HT), ``vht`` (vesicular),
    ``eht`` (extracellular), ``hia`` (5-HIAA), autoreceptor/G-protein states
    ``B``, ``Gstar``, ``Tstar``, glial ``ght``.  Initial state = reference
    steady state.

    Options (validated; unknown names raise :class:`neurokin.OptionError`)
    -------
    ssri : float in [0, 1]
        Fraction of SERT activity blocked (``SSRI_fraction``).  Default 0.
    maoi : float in [0, 1]
        Fraction of MAO blocked (``MAOI_fraction``).  Default 0.

    Competitive escitalopram binding is the parameter ``escitalopram`` (uM).
    """
    opts = _options.check(options, OPTIONS, "neurokin.models.serotonin()")
    over = {}
    if opts.get("ssri") is not None:
        over["SSRI_fraction"] = opts["ssri"]
    if opts.get("maoi") is not None:
        over["MAOI_fraction"] = opts["maoi"]
    b = ModelBuilder("serotonin")
    b.notes = __doc__
    for cid, desc in (("blood", "blood plasma (boundary input)"),
                      ("cytosol", "serotonergic varicosity cytosol"),
                      ("vesicle", "vesicular pool, per varicosity volume"),
                      ("extracellular", "extracellular space"),
                      ("membrane", "autoreceptor / G-protein states (arbitrary uM scale)"),
                      ("glia", "glial cells (uptake-2)")):
        b.compartment(cid, 1.0, unit="varicosity volume", description=desc)
    for n in _PARAMS:
        T.add_parameter(b, M, n, value=over.get(n))
    for pid, val, unit, status, meaning in _EXTRA:
        b.parameter(pid, over.get(pid, val), unit=unit, description=meaning, status=status)
    for n in SPECIES:
        e = T.species_entry(M, n)
        desc = e["meaning"]
        if n == "btrp":
            desc += "; held fixed (no reaction changes it; set it via initial=)"
        b.species(n, e["initial"], compartment=e["compartment"], unit=e["unit"],
                  description=desc)

    R = b.reaction
    R("TRPin", {"trp": 1}, "Vmax_TRPin*btrp/(Km_TRPin + btrp)",
      description="tryptophan entry from blood (LNAA)")
    R("pool", {"trp": -1, "trppool": 1}, "k_pool_in*trp - k_pool_out*trppool",
      description="trp <-> trppool exchange (net)")
    R("pool_loss", {"trppool": -1}, "a20*trppool", description="loss from the trp pool")
    R("trp_loss", {"trp": -1}, "a19*trp", description="other use of cytosolic trp")
    R("TPH", {"trp": -1, "htp": 1, "bh4": -1, "bh2": 1}, TPH,
      description="tryptophan hydroxylase x autoreceptor synthesis inhibition")
    R("DRR", {"bh2": -1, "bh4": 1}, DRR, description="dihydropteridine reductase (net)")
    R("AADC", {"htp": -1, "cht": 1}, "Vmax_AADC*htp/(Km_AADC + htp)",
      description="AADC 5-HTP -> 5-HT")
    R("VMAT", {"cht": -1, "vht": 1}, "Vmax_VMAT*cht/(Km_VMAT + cht) - k_out_VMAT*vht",
      description="VMAT2 net vesicular uptake")
    R("release", {"vht": -1, "eht": 1}, RELEASE,
      description="release x autoreceptor release inhibition (capped)")
    R("SERT", {"eht": -1, "cht": 1}, SERT, description="SERT reuptake (SSRI/escitalopram)")
    R("MAO_c", {"cht": -1, "hia": 1}, _mao("cht"), description="MAO-A, cytosolic 5-HT")
    R("leak_c", {"cht": -1, "eht": 1}, "a15*cht", description="leak cytosol -> extracellular")
    R("UP2", {"eht": -1, "ght": 1}, UP2, description="uptake-2 into glia (gated by H1)")
    R("MAO_g", {"ght": -1, "hia": 1}, _mao("ght"), description="MAO, glial 5-HT")
    R("leak_g", {"ght": -1, "eht": 1}, "a16*ght", description="leak glia -> extracellular")
    R("removal", {"eht": -1}, "a21*eht", description="removal of eht (diffusion/capillaries)")
    R("hia_out", {"hia": -1}, "a17*hia", description="5-HIAA clearance")
    R("binding", {"eht": -1, "B": 1}, "a13*eht*(b0 - B) - a14*B",
      description="5-HT binding to 5-HT1B autoreceptors (net)")
    R("G_act", {"Gstar": 1}, "a9*B^2*(g0 - Gstar)",
      description="bound autoreceptors activate G-protein")
    R("G_inact", {"Gstar": -1}, "a10*Tstar*Gstar", description="T* inactivates G*")
    R("T_act", {"Tstar": 1}, "a11*Gstar^2*(t0 - Tstar)", description="G* activates T")
    R("T_decay", {"Tstar": -1}, "a12*Tstar", description="decay of T*")
    return b.build()
