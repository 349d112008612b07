"""The composed transmitter network, and the model algebra it is built with.

``transmitter_network(**options)`` joins the four modules (dopamine ``da``,
serotonin ``ht``, glutamate/GABA ``gg``, HPA axis ``hpa``) with the couplings
of ``modulation.json``.  Every module id is prefixed with its module
(``ht.eht``, ``da.Vmax_DAT``, ``gg.Glu_e``, ``hpa.o``, reactions and
compartments too); coupling parameters and states that belong to no module
stay unprefixed (``E2``, ``Kd_GR``, ``MAOI_fraction``, ``E2_eff``...).

Model algebra (general, usable on any :class:`neurokin.Model`):

* :func:`rename` renames ids everywhere (definitions, stoichiometry,
  compartments of species, and whole identifiers inside rate expressions,
  found with the expression tokenizer, never by substring replacement);
* :func:`prefixed` is ``rename`` with ``prefix.`` on every id;
* :func:`substitute` replaces a name inside rate expressions by an expression
  (how couplings enter a module's rate laws);
* :func:`compose` joins models whose ids do not collide (identical shared
  parameters are merged).

Couplings (every gain is 1 at its reference input, so with hormones at
reference values each module keeps its standalone steady state):

* estradiol -> 5-HT (phenomenological): ``E2_eff`` follows ``E2`` with lag
  ``E2_tau`` (48 h); 5-HT2A gain ``s_2A = (1 + E2_Emax_5HT2A*H(E2_eff)) /
  (1 + E2_Emax_5HT2A*H(E2_ref))``, ``H(x) = x^n/(E2_EC50^n + x^n)``; the
  postsynaptic output ``S_5HT = s_2A*ht.eht/(ht.eht + K_2A)``.  Optional gains
  of the same form on ``ht.Vmax_SERT`` and ``ht.Vmax_TPH`` (Emax 0: off).
* cortisol -> glutamate (phenomenological): total plasma cortisol (nM) is
  ``hpa.o*hpa.o_to_cortisol*ugdL_to_nM`` (or the ``cortisol`` option, which
  clamps it); free = ``cort_free_fraction*total``; MR/GR occupancy
  ``Cf/(Cf + Kd)``.  ``GRocc_acute`` / ``GRocc_chronic`` follow GR occupancy
  with lags 2 h / 168 h; receptor gain ``g_glu = 1 + G_acute_glu*x_a -
  G_chronic_glu*x_c`` with ``x = (GRocc - occ_GR_ref)/(1 - occ_GR_ref)``
  (inverted U: acute > 1, chronic < 1).  MR occupancy raises glutamate
  release: ``gg.k_rel_glu*(1 + G_MR_release*(occ_MR - occ_MR_ref))``.
  Optional cortisol-lowered blood tryptophan (``w_cort_btrp``, default 0).
* CNS -> HPA (phenomenological): the stress drive becomes
  ``F*max(0, 1 + w_5HT_CRH*(eht/eht0 - 1) + w_Glu_CRH*(Glu_e/Glu_e0 - 1) -
  w_GABA_CRH*(GABA_e/GABA_e0 - 1))``.
* drugs: ``MAOI_fraction`` acts on both dopamine and serotonin MAO;
  ``COMTI_fraction`` on COMT; L-DOPA competes with blood tryptophan
  ``ht.btrp`` at the LNAA transporter.

Receptor read-outs, gains and physiological units are outputs, not states:
see :func:`neurokin.models.outputs`.
"""
from __future__ import annotations

from dataclasses import replace

from ..errors import ModelError
from ..expr import tokenize
from ..model import Compartment, Model, ModelBuilder, Parameter, Reaction, Species
from . import _options
from . import _tables as T
from .dopamine import dopamine
from .gaba_glutamate import gaba_glutamate
from .hpa_axis import hpa_axis
from .serotonin import serotonin

__all__ = ["transmitter_network", "rename", "prefixed", "substitute", "compose",
           "rewrite_expression", "OPTIONS", "PREFIXES"]

OPTIONS = ("ssri", "maoi", "comti", "comt_genotype", "ldopa", "estradiol", "cortisol",
           "stress", "firing")
PREFIXES = {"dopamine": "da", "serotonin": "ht", "gaba_glutamate": "gg", "hpa_axis": "hpa"}

# module parameters that the network shares between modules, unprefixed
SHARED = {"dopamine": ("MAOI_fraction", "COMTI_fraction"), "serotonin": ("MAOI_fraction",)}

# HPA low-GR steady-state cortisol to 12 digits (the table rounds it to 0.05972)
O0_EXACT = 0.0597227708871
UGDL_TO_NM = 10.0 / 362.46 * 1000.0   # 1 ug/dL cortisol (M 362.46 g/mol) in nM


# -- model algebra ------------------------------------------------------------
def rewrite_expression(text: str, replace_name) -> str:
    """Rewrite the whole identifiers of an expression.

    ``replace_name(name)`` returns the replacement text, or None to keep the
    name.  Names are found with neurokin's expression tokenizer, so ``eht``
    in ``ght`` or in ``ht.eht`` is never touched, and function names (a
    name followed by ``(``) are left alone.
    """
    toks = tokenize(text)
    out, last = [], 0
    for i, tok in enumerate(toks):
        if tok.kind != "name":
            continue
        if i + 1 < len(toks) and toks[i + 1].kind == "(":
            continue
        rep = replace_name(tok.text)
        if rep is None or rep == tok.text:
            continue
        out.append(text[last:tok.pos])
        out.append(rep)
        last = tok.pos + len(tok.text)
    out.append(text[last:])
    return "".join(out)


def rename(model: Model, mapping, *, name: str | None = None) -> Model:
    """A copy of ``model`` with ids renamed by ``mapping`` (dict or callable).

    Renames species, parameters, compartments and reactions, the species of
    every stoichiometry and ODE, the compartment of every species, and every
    whole identifier inside rate expressions.  Ids the mapping leaves out
    (or maps to None) keep their name.  The result is validated as any model.
    """
    ids = ({s.id for s in model.species} | {p.id for p in model.parameters_}
           | {c.id for c in model.compartments} | {r.id for r in model.reactions})
    fn = mapping if callable(mapping) else dict(mapping).get

    def get(k):  # only the model's own ids: never time names, constants, functions
        return fn(k) if k in ids else None

    def rn(k):
        v = get(k)
        return k if v is None else v

    def ex(text):
        return rewrite_expression(text, lambda n: get(n))

    species = tuple(replace(s, id=rn(s.id), compartment=rn(s.compartment))
                    for s in model.species)
    params = tuple(replace(p, id=rn(p.id)) for p in model.parameters_)
    comps = tuple(replace(c, id=rn(c.id)) for c in model.compartments)
    reactions = tuple(replace(r, id=rn(r.id), rate=ex(r.rate),
                              stoichiometry=tuple((rn(s), n) for s, n in r.stoichiometry))
                      for r in model.reactions)
    odes = tuple((rn(s), ex(e)) for s, e in model.odes)
    return Model(species=species, parameters_=params, compartments=comps,
                 reactions=reactions, odes=odes, name=name or model.name, notes=model.notes)


def prefixed(model: Model, prefix: str, *, keep=()) -> Model:
    """``rename`` with ``prefix.`` put before every id except those in ``keep``."""
    keep = set(keep)
    return rename(model, lambda k: None if k in keep else f"{prefix}.{k}")


def substitute(model: Model, replacements, *, drop: bool = True) -> Model:
    """Replace names inside rate expressions by (parenthesised) expressions.

    ``replacements`` maps a name to an expression string; the replacement
    text is not rescanned, so ``{"k": "k*g"}`` is a gain on ``k``.  A
    replaced *parameter* that no expression uses afterwards is dropped when
    ``drop`` is true.
    """
    rep = {k: f"({v})" for k, v in replacements.items()}

    def ex(text):
        return rewrite_expression(text, rep.get)

    reactions = tuple(replace(r, rate=ex(r.rate)) for r in model.reactions)
    odes = tuple((s, ex(e)) for s, e in model.odes)
    params = model.parameters_
    if drop:
        used = set()
        for text in [r.rate for r in reactions] + [e for _, e in odes]:
            used.update(t.text for t in tokenize(text) if t.kind == "name")
        params = tuple(p for p in params if p.id not in rep or p.id in used)
    return replace(model, reactions=reactions, odes=odes, parameters_=params)


def compose(models, *, name: str = "model", notes: str = "",
            extra_reactions=()) -> Model:
    """Join reaction models into one.

    Ids must not collide, except parameters and compartments defined
    identically in several models (same value), which are merged.
    ``extra_reactions`` (:class:`neurokin.Reaction`) are added to the joined
    model: laws that couple the parts (their rates may name any part's ids).
    """
    seen: dict = {}
    species, params, comps, reactions = [], [], [], []
    for m in models:
        if m.odes:
            raise ModelError("compose joins reaction models only")
        for kind, items, out in (("compartment", m.compartments, comps),
                                 ("parameter", m.parameters_, params),
                                 ("species", m.species, species),
                                 ("reaction", m.reactions, reactions)):
            for it in items:
                prev = seen.get(it.id)
                if prev is None:
                    seen[it.id] = (kind, it, m.name)
                    out.append(it)
                    continue
                pkind, pit, pname = prev
                same = (pkind == kind and kind in ("parameter", "compartment") and
                        (pit.value if kind == "parameter" else pit.size) ==
                        (it.value if kind == "parameter" else it.size))
                if not same:
                    raise ModelError(f"id {it.id!r} is defined by both {pname!r} ({pkind}) "
                                     f"and {m.name!r} ({kind}) with different definitions")
    return Model(species=tuple(species), parameters_=tuple(params),
                 compartments=tuple(comps), reactions=tuple(reactions) + tuple(extra_reactions),
                 name=name, notes=notes)


# -- the network ------------------------------------------------------------------
_MOD = "modulation"
_COUPLING_PARAMS = [
    "E2_ref", "E2_EC50", "E2_hill", "E2_Emax_5HT2A", "E2_Emax_SERT", "E2_Emax_TPH", "E2_tau",
    "Kd_MR", "Kd_GR", "cort_free_fraction", "G_acute_glu", "tau_acute_glu", "G_chronic_glu",
    "tau_chronic_glu", "G_MR_release", "w_5HT_CRH", "w_Glu_CRH", "w_GABA_CRH", "w_cort_btrp",
]


def _hill(x: str) -> str:
    return f"{x}^E2_hill/(E2_EC50^E2_hill + {x}^E2_hill)"


def e2_gain(emax: str) -> str:
    """Estradiol gain, 1 at E2_ref: (1 + Emax*H(E2_eff))/(1 + Emax*H(E2_ref))."""
    return f"(1 + {emax}*{_hill('E2_eff')})/(1 + {emax}*{_hill('E2_ref')})"


def _cortisol_exprs(clamped: bool) -> dict:
    total = "cortisol" if clamped else "hpa.o*hpa.o_to_cortisol*ugdL_to_nM"
    ref = "o0*hpa.o_to_cortisol*ugdL_to_nM"
    cf, cf_ref = f"cort_free_fraction*{total}", f"cort_free_fraction*{ref}"
    return {
        "cortisol_total_nM": total,
        "occ_MR": f"{cf}/({cf} + Kd_MR)",
        "occ_GR": f"{cf}/({cf} + Kd_GR)",
        "occ_MR_ref": f"{cf_ref}/({cf_ref} + Kd_MR)",
        "occ_GR_ref": f"{cf_ref}/({cf_ref} + Kd_GR)",
    }


def transmitter_network(**options) -> Model:
    """The built-in transmitter network: dopamine, serotonin, glutamate/GABA, HPA.

    Time in hours; concentrations in uM (glutamate/GABA per own compartment);
    HPA states dimensionless.  The initial state is every module's reference
    steady state with the couplings at their reference (neutral) values;
    options are perturbations acting from t = 0.

    Options (validated: unknown names and genotype strings raise
    :class:`neurokin.OptionError`, out-of-range numbers
    :class:`neurokin.InvalidValueError`)
    -------
    ssri : float in [0, 1]
        Fraction of SERT activity blocked (``ht.SSRI_fraction``).
    maoi : float in [0, 1]
        Fraction of MAO blocked, dopamine and serotonin (``MAOI_fraction``).
    comti : float in [0, 1]
        Fraction of COMT blocked (``COMTI_fraction``).
    comt_genotype : {'Val/Val', 'Val/Met', 'Met/Met'}
        COMT Val158Met (``da.COMT_activity`` 1.0 / 0.86 / 0.72).
    ldopa : float >= 0, uM/h
        L-DOPA infusion into plasma as plasma concentration per hour
        (``da.ldopa_dose``; plasma SS = ldopa/da.k_el_ldopa).
    estradiol : float >= 0, pg/mL
        Plasma estradiol ``E2`` (reference ``E2_ref`` = 50 pg/mL: neutral).
    cortisol : float >= 0, nM (total plasma)
        Clamp the cortisol the brain sees (MR/GR occupancy) to this level,
        instead of the HPA output ``hpa.o`` (reference 275.9 nM = 10 ug/dL).
        Default None: coupled to the HPA axis.
    stress : float >= 0 (dimensionless)
        HPA stress drive ``hpa.F`` (initial value; 0 basal).
    firing : float >= 0, Hz
        Dopamine-neuron firing; ``da.fire0 = firing/5 Hz``.
    """
    opts = _options.check(options, OPTIONS, "neurokin.models.transmitter_network()")
    pick = lambda names: {k: opts[k] for k in names if opts.get(k) is not None}  # noqa: E731
    da = prefixed(dopamine(**pick(("maoi", "comti", "comt_genotype", "ldopa", "firing"))),
                  "da", keep=SHARED["dopamine"])
    ht = prefixed(serotonin(**pick(("ssri", "maoi"))), "ht", keep=SHARED["serotonin"])
    gg = prefixed(gaba_glutamate(), "gg")
    hpa = prefixed(hpa_axis(**pick(("stress",))), "hpa")
    clamped = opts.get("cortisol") is not None

    # coupling parameters and states (unprefixed)
    b = ModelBuilder("couplings")
    b.compartment("coupling", 1.0, unit="1",
                  description="coupling states between modules (phenomenological)")
    for n in _COUPLING_PARAMS:
        T.add_parameter(b, _MOD, n)
    for n in ("MAOI_fraction", "COMTI_fraction"):
        T.add_parameter(b, _MOD, n, value=opts.get(n.split("_")[0].lower()))
    e2 = opts.get("estradiol")
    b.parameter("E2", T.parameter(_MOD, "E2_ref")["value"] if e2 is None else e2,
                unit="pg/mL", status="phenomenological",
                description="plasma estradiol (input; E2_ref = neutral)")
    b.parameter("K_2A", T.species_entry("serotonin", "eht")["initial"], unit="uM",
                status="phenomenological",
                description="half-activation of the postsynaptic 5-HT2A output "
                            "S_5HT = s_2A*eht/(eht + K_2A); set to the reference eht")
    b.parameter("ugdL_to_nM", UGDL_TO_NM, unit="nM per ug/dL", status="derived",
                description="cortisol unit conversion (molar mass 362.46 g/mol)")
    b.parameter("o0", O0_EXACT, unit="1", status="derived",
                description="reference cortisol of the HPA module (low-GR steady state o, "
                            "12 digits): hpa.o at which cortisol couplings are neutral")
    for pid, sp, mod in (("eht0", "eht", "serotonin"), ("Glu_e0", "Glu_e", "gaba_glutamate"),
                         ("GABA_e0", "GABA_e", "gaba_glutamate")):
        b.parameter(pid, T.species_entry(mod, sp)["initial"], unit="uM", status="derived",
                    description=f"reference {sp} (module steady state) of the CNS->HPA drive")
    if clamped:
        b.parameter("cortisol", opts["cortisol"], unit="nM", status="phenomenological",
                    description="total plasma cortisol seen by the brain (clamped input)")
    cx = _cortisol_exprs(clamped)
    cf_ref = (T.parameter(_MOD, "cort_free_fraction")["value"] * O0_EXACT
              * T.parameter("hpa_axis", "o_to_cortisol")["value"] * UGDL_TO_NM)
    occ_gr_ref = cf_ref / (cf_ref + T.parameter(_MOD, "Kd_GR")["value"])
    b.species("E2_eff", T.parameter(_MOD, "E2_ref")["value"], compartment="coupling",
              unit="pg/mL", description="estradiol effective for genomic effects (E2 lagged "
                                        "by E2_tau; phenomenological)")
    b.species("GRocc_acute", occ_gr_ref, compartment="coupling", unit="1",
              description="GR occupancy lagged by tau_acute_glu (acute receptor "
                          "up-regulation; phenomenological)")
    b.species("GRocc_chronic", occ_gr_ref, compartment="coupling", unit="1",
              description="GR occupancy integrated over tau_chronic_glu (chronic receptor "
                          "suppression; phenomenological)")
    couplings = b.build()
    # the coupling laws name other modules' ids: added once the modules are joined
    coupling_laws = (
        Reaction("E2_lag", "(E2 - E2_eff)/E2_tau", (("E2_eff", 1),),
                 "phenomenological: first-order lag of genomic estradiol effects"),
        Reaction("GR_acute", f"({cx['occ_GR']} - GRocc_acute)/tau_acute_glu",
                 (("GRocc_acute", 1),),
                 "phenomenological: acute GR effect follows GR occupancy"),
        Reaction("GR_chronic", f"({cx['occ_GR']} - GRocc_chronic)/tau_chronic_glu",
                 (("GRocc_chronic", 1),),
                 "phenomenological: chronic GR effect integrates GR occupancy"),
    )

    net = compose([da, ht, gg, hpa, couplings], name="transmitter_network", notes=__doc__,
                  extra_reactions=coupling_laws)
    net = substitute(net, {"da.btrp_LNAA": "ht.btrp"})
    net = substitute(net, {
        "ht.Vmax_SERT": f"ht.Vmax_SERT*{e2_gain('E2_Emax_SERT')}",
        "ht.Vmax_TPH": f"ht.Vmax_TPH*{e2_gain('E2_Emax_TPH')}",
        "ht.btrp": "ht.btrp*max(0, 1 - w_cort_btrp*(hpa.o/o0 - 1))",
        "gg.k_rel_glu": f"gg.k_rel_glu*(1 + G_MR_release*({cx['occ_MR']} - "
                        f"{cx['occ_MR_ref']}))",
        "hpa.F": "hpa.F*max(0, 1 + w_5HT_CRH*(ht.eht/eht0 - 1) + w_Glu_CRH*(gg.Glu_e/Glu_e0"
                 " - 1) - w_GABA_CRH*(gg.GABA_e/GABA_e0 - 1))",
    })
    return _label_couplings(net)


_COUPLED_REACTIONS = {
    "ht.SERT": "coupling: x estradiol SERT gain (E2_Emax_SERT, default off)",
    "ht.TPH": "coupling: x estradiol TPH gain (E2_Emax_TPH, default off)",
    "ht.TRPin": "coupling: blood trp x cortisol/TDO factor (w_cort_btrp, default off)",
    "da.LDOPA_in": "coupling: competitor blood trp = ht.btrp (x cortisol/TDO factor)",
    "gg.rel_glu": "coupling (phenomenological): x MR-occupancy release gain (G_MR_release)",
    "hpa.CRH_prod": "coupling (phenomenological): stress drive x CNS input (5-HT, Glu, GABA)",
}


def _label_couplings(net: Model) -> Model:
    reactions = tuple(replace(r, description=f"{r.description}; {_COUPLED_REACTIONS[r.id]}")
                      if r.id in _COUPLED_REACTIONS else r for r in net.reactions)
    return replace(net, reactions=reactions)
