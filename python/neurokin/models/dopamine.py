"""Dopamine terminal: Best, Nijhout & Reed 2009, with labelled extensions.

Units: concentrations in uM (per terminal volume), time in hours, fluxes in
uM/h.  All compartments have size 1 (the paper's per-terminal-volume
convention), so every rate law is a concentration rate.

Core (Best 2009, parameters from BioModels MODEL1502230000 with the paper's
rate laws restored): blood tyrosine entry (LNAA), tyrosine pool exchange,
tyrosine hydroxylase with substrate inhibition, product inhibition by
cytosolic DA and the D2-autoreceptor factor ``A(eda)``, biopterin recycling
(DRR), AADC, VMAT2 (net), release ``fire0*vda``, DAT, extracellular
catabolism and removal.  Initial state = the reference steady state.

Extensions (labelled ``extension`` in every description; not in the paper):

1. MAO/COMT split (topology of the Buechel 2013 DA-cell map): cytosolic DA
   -(MAO)-> DOPAL -(ALDH, fast)-> DOPAC -(COMT)-> HVA; extracellular DA
   -(COMT)-> 3-MT -(MAO)-> HVA.  Calibrated so that the paper's DA fluxes are
   unchanged: the paper's cytosolic catabolism ``k_catab_c*cda`` is split into
   MAO (fraction ``f_MAO_c``) and a minor alternative sink (the rest;
   phenomenological, it keeps cytosolic DA bounded under a full MAO block), and
   the paper's extracellular catabolism ``MM(eda; 30, 3)`` is the COMT step.
   The paper's lumped acid-metabolite pool (its ``hva``, 7.678 uM) is resolved
   into ``dopac + hva``: both acids leave with the paper's clearance
   ``k_hva``, so at baseline ``dopac + hva`` equals the lumped pool up to the
   alternative-sink share.  ``hva`` here is homovanillic acid proper.
2. COMT Val158Met: COMT Vmax multiplier ``COMT_activity`` (1.0 / 0.86 / 0.72).
3. L-DOPA: plasma L-DOPA ``bldopa`` (infusion ``ldopa_dose``, first-order
   elimination) enters the terminal's ``ldopa`` pool through the LNAA
   transporter, competitively with blood tyrosine and tryptophan.

Drugs: ``MAOI_fraction`` scales every MAO term by (1 - f); ``COMTI_fraction``
every COMT term.  ``A(eda) = 1`` (no autoreceptor) is ``auto_a=1, auto_b=0``.
"""
from __future__ import annotations

from ..model import ModelBuilder
from . import _options
from . import _tables as T

__all__ = ["dopamine", "OPTIONS"]

M = "dopamine"
OPTIONS = ("maoi", "comti", "comt_genotype", "ldopa", "firing")
FIRING_REF_HZ = 5.0   # Best 2009: tonic 5 Hz <-> fire = 1 /h

_CORE_PARAMS = [
    "btyr0", "NADPH", "NADP", "Vmax_TYRin", "Km_TYRin", "k_pool_in", "k_pool_out",
    "k_catab_tyr", "k_catab_pool", "Vmax_TH", "c_TH", "Km_TH_tyr", "Km_TH_bh4",
    "Ki_TH_cda", "Ki_TH_tyr", "eda_ref", "auto_a", "auto_b", "auto_c", "auto_n",
    "Vf_DRR", "Vb_DRR", "Km_DRR_bh2", "Km_DRR_nadph", "Km_DRR_bh4", "Km_DRR_nadp",
    "Vmax_AADC", "Km_AADC", "Vmax_VMAT", "Km_VMAT", "k_out_VMAT", "fire0", "Vmax_DAT",
    "Km_DAT", "Vmax_catab_e", "Km_catab_e", "k_rem", "k_catab_c", "k_hva",
]
_EXT_TABLE_PARAMS = [
    "Km_LDOPA_LNAA", "Km_tyr_LNAA", "Km_trp_LNAA", "Km_COMT_DA_MB", "S_COMT_Km_ratio",
    "Ks_SAM_MB", "COMT_activity_ValVal", "COMT_activity_ValMet", "COMT_activity_MetMet",
    "DAT_scale_PFC",
]
# extension parameters defined here: (id, value, unit, status, meaning)
_EXT_PARAMS = [
    ("f_MAO_c", 0.995, "1", "phenomenological",
     "extension: fraction of the paper's cytosolic catabolism k_catab_c*cda done by MAO "
     "(-> DOPAL); the rest is a minor alternative sink (auto-oxidation/conjugation) that "
     "keeps cda bounded under a full MAO block"),
    ("k_ALDH", 100.0, "1/h", "phenomenological",
     "extension: aldehyde dehydrogenase DOPAL -> DOPAC, first order (fast)"),
    ("k_COMT_dopac", 3.45, "1/h", "phenomenological",
     "extension: COMT O-methylation DOPAC -> HVA at COMT_activity 1, first order (Km >> "
     "DOPAC); equal to k_hva, i.e. DOPAC:HVA = 1:1 at baseline (rodent striatum ~1-2)"),
    ("k_MAO_mt3", 10.0, "1/h", "phenomenological",
     "extension: MAO deamination 3-MT -> HVA, first order (as the paper's cytosolic MAO)"),
    ("k_mt3_out", 3.45, "1/h", "phenomenological",
     "extension: clearance of 3-MT by diffusion (as the paper's acid clearance k_hva)"),
    ("COMT_activity", 1.0, "1", "literature-unverified",
     "extension: COMT Vmax multiplier of the active genotype (Val/Val 1.0, Val/Met 0.86, "
     "Met/Met 0.72; Chen2004)"),
    ("MAOI_fraction", 0.0, "1", "phenomenological",
     "drug: fraction of MAO inhibited (every MAO term x (1 - f))"),
    ("COMTI_fraction", 0.0, "1", "phenomenological",
     "drug: fraction of COMT inhibited (every COMT term x (1 - f); entacapone/tolcapone)"),
    ("ldopa_dose", 0.0, "uM/h", "phenomenological",
     "extension: L-DOPA infusion into plasma, as plasma concentration per hour"),
    ("k_el_ldopa", 0.46, "1/h", "literature-unverified",
     "extension: plasma L-DOPA elimination (t1/2 ~1.5 h with a decarboxylase inhibitor)"),
    ("Vmax_LDOPA_LNAA", 400.0, "uM/h", "derived",
     "extension: LNAA transporter Vmax for L-DOPA, taken equal to the tyrosine entry "
     "Vmax_TYRin (same transporter; assumption)"),
    ("btrp_LNAA", 96.0, "uM", "published",
     "extension: blood tryptophan competing at the LNAA transporter (Best2020 btrp; in the "
     "network replaced by the serotonin module's btrp)"),
]


def _law():
    TH = ("c_TH*Vmax_TH*tyr*bh4/(tyr*bh4 + Km_TH_tyr*bh4 + Km_TH_tyr*Km_TH_bh4*(1 + "
          "cda/Ki_TH_cda))/(1 + tyr/Ki_TH_tyr)"
          "*(auto_a + auto_b/(1 + auto_c*(eda/eda_ref)^auto_n))")
    DRR = ("Vf_DRR*bh2*NADPH/((Km_DRR_bh2 + bh2)*(Km_DRR_nadph + NADPH)) - "
           "Vb_DRR*bh4*NADP/((Km_DRR_bh4 + bh4)*(Km_DRR_nadp + NADP))")
    return TH, DRR


def _baseline_extension(p: dict, s: dict) -> dict:
    """Steady state of the extension states at the reference 2009 state."""
    v_mao = p["f_MAO_c"] * p["k_catab_c"] * s["cda"]
    v_comt_e = p["Vmax_catab_e"] * s["eda"] / (p["Km_catab_e"] + s["eda"])
    dopal = v_mao / p["k_ALDH"]
    dopac = v_mao / (p["k_COMT_dopac"] + p["k_hva"])
    mt3 = v_comt_e / (p["k_MAO_mt3"] + p["k_mt3_out"])
    hva = (p["k_COMT_dopac"] * dopac + p["k_MAO_mt3"] * mt3) / p["k_hva"]
    return {"dopal": dopal, "dopac": dopac, "mt3": mt3, "hva": hva, "bldopa": 0.0}


def dopamine(**options):
    """The dopamine terminal model (Best, Nijhout & Reed 2009 + labelled extensions).

    Time in hours, concentrations in uM; the initial state is the reference
    steady state (``eda`` 2.02 nM).  See the module docstring for the
    equations and the extensions (MAO/COMT split, COMT genotype, L-DOPA).

    Options (each validated; unknown names raise :class:`neurokin.OptionError`)
    -------
    maoi : float in [0, 1]
        Fraction of MAO blocked (``MAOI_fraction``).  Default 0.
    comti : float in [0, 1]
        Fraction of COMT blocked (``COMTI_fraction``).  Default 0.
    comt_genotype : {'Val/Val', 'Val/Met', 'Met/Met'}
        Sets ``COMT_activity`` to 1.0 / 0.86 / 0.72.  Default 'Val/Val'.
    ldopa : float >= 0, uM/h
        L-DOPA infusion into plasma (plasma-concentration rate, ``ldopa_dose``);
        at steady state plasma L-DOPA = ldopa / k_el_ldopa.  Default 0.
    firing : float >= 0, Hz
        Dopamine-neuron firing rate; release constant ``fire0 = firing/5 Hz``
        (1 /h at the tonic 5 Hz).  Default 5.

    Options are perturbations: the initial state stays the baseline steady
    state, and the changed parameters act from t = 0.
    """
    opts = _options.check(options, OPTIONS, "neurokin.models.dopamine()")
    b = ModelBuilder("dopamine")
    b.notes = __doc__
    for cid, desc in (("blood", "blood plasma (boundary inputs)"),
                      ("cytosol", "dopaminergic terminal cytosol"),
                      ("vesicle", "vesicular pool, expressed per terminal volume"),
                      ("extracellular", "extracellular space around the terminal")):
        b.compartment(cid, 1.0, unit="terminal volume", description=desc)

    over = _overrides(opts)
    p = {n: T.add_parameter(b, M, n, value=over.get(n)) for n in _CORE_PARAMS + _EXT_TABLE_PARAMS}
    for pid, val, unit, status, meaning in _EXT_PARAMS:
        p[pid] = over.get(pid, val)
        b.parameter(pid, p[pid], unit=unit, description=meaning, status=status)

    # species: reference steady state; extension states at their baseline steady state
    ref = {e["name"]: e for e in T.table(M)["species"]}
    ext = _baseline_extension(p, {k: e["initial"] for k, e in ref.items()})
    for name in ("btyr", "tyr", "tyrpool", "bh2", "bh4", "ldopa", "cda", "vda", "eda"):
        e = ref[name]
        desc = e["meaning"]
        if name == "btyr":
            desc += "; held fixed (no reaction changes it; set it via initial=)"
        b.species(name, e["initial"], compartment=e["compartment"], unit=e["unit"],
                  description=desc)
    b.species("dopal", ext["dopal"], compartment="cytosol", unit="uM",
              description="extension: 3,4-dihydroxyphenylacetaldehyde (DOPAL), MAO product")
    b.species("dopac", ext["dopac"], compartment="cytosol", unit="uM",
              description="extension: 3,4-dihydroxyphenylacetic acid (DOPAC)")
    b.species("mt3", ext["mt3"], compartment="extracellular", unit="uM",
              description="extension: 3-methoxytyramine (3-MT), extracellular COMT product")
    b.species("hva", ext["hva"], compartment="extracellular", unit="uM",
              description="homovanillic acid (extension: the paper's lumped acid-metabolite "
                          "pool 'hva' = dopac + hva here)")
    b.species("bldopa", 0.0, compartment="blood", unit="uM",
              description="extension: plasma L-DOPA (0 without a dose)")

    TH, DRR = _law()
    mao = "(1 - MAOI_fraction)"
    comt = "COMT_activity*(1 - COMTI_fraction)"
    R = b.reaction
    R("TYRin", {"tyr": 1}, "Vmax_TYRin*btyr/(Km_TYRin + btyr)",
      description="tyrosine entry from blood (LNAA transporter)")
    R("pool_in", {"tyr": -1, "tyrpool": 1}, "k_pool_in*tyr", description="tyr -> tyrpool")
    R("pool_out", {"tyrpool": -1, "tyr": 1}, "k_pool_out*tyrpool",
      description="tyrpool -> tyr")
    R("catab_tyr", {"tyr": -1}, "k_catab_tyr*tyr", description="other use of cytosolic tyr")
    R("catab_pool", {"tyrpool": -1}, "k_catab_pool*tyrpool", description="loss from tyrpool")
    R("TH", {"tyr": -1, "ldopa": 1, "bh4": -1, "bh2": 1}, TH,
      description="tyrosine hydroxylase (x D2-autoreceptor factor A(eda))")
    R("DRR", {"bh2": -1, "bh4": 1}, DRR, description="dihydropteridine reductase (net)")
    R("AADC", {"ldopa": -1, "cda": 1}, "Vmax_AADC*ldopa/(Km_AADC + ldopa)",
      description="aromatic amino acid decarboxylase")
    R("VMAT", {"cda": -1, "vda": 1}, "Vmax_VMAT*cda/(Km_VMAT + cda) - k_out_VMAT*vda",
      description="VMAT2 net vesicular uptake")
    R("release", {"vda": -1, "eda": 1}, "fire0*vda", description="exocytotic release")
    R("DAT", {"eda": -1, "cda": 1}, "Vmax_DAT*eda/(Km_DAT + eda)", description="DAT reuptake")
    R("removal", {"eda": -1}, "k_rem*eda",
      description="removal of extracellular DA (glia, capillaries, diffusion)")
    R("COMT_e", {"eda": -1, "mt3": 1},
      f"{comt}*Vmax_catab_e*eda/(Km_catab_e + eda)",
      description="extracellular catabolism (the paper's COMT-like term) -> 3-MT")
    R("MAO_c", {"cda": -1, "dopal": 1}, f"{mao}*f_MAO_c*k_catab_c*cda",
      description="extension: cytosolic MAO, DA -> DOPAL (paper: k_catab_c*cda in total)")
    R("other_c", {"cda": -1}, "(1 - f_MAO_c)*k_catab_c*cda",
      description="extension (phenomenological): minor alternative cytosolic DA sink")
    R("ALDH", {"dopal": -1, "dopac": 1}, "k_ALDH*dopal",
      description="extension: aldehyde dehydrogenase DOPAL -> DOPAC")
    R("COMT_dopac", {"dopac": -1, "hva": 1}, f"{comt}*k_COMT_dopac*dopac",
      description="extension: COMT DOPAC -> HVA")
    R("dopac_out", {"dopac": -1}, "k_hva*dopac",
      description="extension: clearance of DOPAC (paper's acid clearance)")
    R("MAO_mt3", {"mt3": -1, "hva": 1}, f"{mao}*k_MAO_mt3*mt3",
      description="extension: MAO 3-MT -> HVA")
    R("mt3_out", {"mt3": -1}, "k_mt3_out*mt3", description="extension: clearance of 3-MT")
    R("hva_out", {"hva": -1}, "k_hva*hva", description="clearance of HVA (paper: k_hva)")
    R("LDOPA_dose", {"bldopa": 1}, "ldopa_dose",
      description="extension: L-DOPA infusion into plasma")
    R("LDOPA_elim", {"bldopa": -1}, "k_el_ldopa*bldopa",
      description="extension: peripheral elimination of plasma L-DOPA")
    R("LDOPA_in", {"ldopa": 1},
      "Vmax_LDOPA_LNAA*bldopa/(Km_LDOPA_LNAA*(1 + btyr/Km_tyr_LNAA + btrp_LNAA/Km_trp_LNAA)"
      " + bldopa)",
      description="extension: L-DOPA entry via LNAA, competitive with tyr and trp (plasma "
                  "not depleted: blood volume >> terminal volume)")
    return b.build()


def _overrides(opts: dict) -> dict:
    """Parameter values the options set."""
    over = {}
    if opts.get("maoi") is not None:
        over["MAOI_fraction"] = opts["maoi"]
    if opts.get("comti") is not None:
        over["COMTI_fraction"] = opts["comti"]
    if opts.get("comt_genotype") is not None:
        key = _options.COMT_GENOTYPES[opts["comt_genotype"]]
        over["COMT_activity"] = float(T.parameter(M, key)["value"])
    if opts.get("ldopa") is not None:
        over["ldopa_dose"] = opts["ldopa"]
    if opts.get("firing") is not None:
        over["fire0"] = opts["firing"] / FIRING_REF_HZ
    return over
