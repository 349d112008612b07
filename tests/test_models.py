"""The built-in models: construction, 24 h runs, documentation, options, prefixing."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

import neurokin as nk
from neurokin import models as M
from neurokin.expr import tokenize
from neurokin.models.network import PREFIXES, rewrite_expression

MODULES = ["dopamine", "serotonin", "gaba_glutamate", "hpa_axis"]
ALL = MODULES + ["transmitter_network"]


def build(name, **options):
    return getattr(M, name)(**options)


def rows(model):
    """describe() as a list of dicts (a DataFrame when pandas is installed)."""
    d = model.describe()
    return d.to_dict("records") if hasattr(d, "to_dict") else list(d)


def by_id(model):
    return {r["id"]: r for r in rows(model)}


def names_in(text):
    toks = tokenize(text)
    return {t.text for i, t in enumerate(toks)
            if t.kind == "name" and not (i + 1 < len(toks) and toks[i + 1].kind == "(")}


# -- construction and a day of simulation -------------------------------------------
@pytest.mark.parametrize("name", ALL)
def test_builds_and_simulates_24h_non_negative(name):
    m = build(name)
    assert isinstance(m, nk.Model)
    r = nk.Simulator(m).simulate(24.0, t_eval=np.linspace(0.0, 24.0, 49), rtol=1e-8,
                                 atol=1e-12)
    assert r.success, r.message
    assert r.y.shape == (49, len(m.species_names))
    assert np.all(np.isfinite(r.y))
    scale = np.maximum(np.abs(r.y).max(axis=0), 1e-12)
    assert np.all(r.y >= -1e-9 * scale), "negative concentrations"


@pytest.mark.parametrize("name", ALL)
def test_initial_state_is_the_reference_steady_state(name):
    """Initial = reference SS: a day without perturbation changes nothing (1e-3)."""
    m = build(name)
    r = nk.Simulator(m).simulate(24.0, t_eval=[24.0], rtol=1e-9, atol=1e-14)
    y0 = np.array([m.initial[n] for n in r.names])
    assert np.allclose(r.y[-1], y0, rtol=1e-3, atol=1e-9)


@pytest.mark.parametrize("name", MODULES)
def test_module_uses_reference_ids(name):
    t = M.table(name)
    m = build(name)
    for s in t["species"]:
        assert s["name"] in m.species_names
    params = m.parameters
    for p in t["parameters"]:
        if p["name"].startswith("sriram_") or p["name"] in ("f_n", "f_i", "f_a", "f_e"):
            continue   # Sriram 2012 alternative not built; volume fractions are compartments
        assert params[p["name"]] == pytest.approx(p["value"]), p["name"]
    if name == "gaba_glutamate":
        sizes = m.compartment_sizes
        for f in ("f_n", "f_i", "f_a", "f_e"):
            assert sizes[f] == pytest.approx(next(p["value"] for p in t["parameters"]
                                                  if p["name"] == f))


# -- documentation -------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL)
def test_describe_has_units_meanings_and_status(name):
    for row in rows(build(name)):
        if row["kind"] in ("species", "parameter", "compartment"):
            assert str(row["unit"]).strip(), f"{row['id']} has no unit"
            assert str(row["description"]).strip(), f"{row['id']} has no meaning"
        if row["kind"] == "parameter":
            assert row["status"] in {"published", "published-encoded", "derived",
                                     "literature-unverified", "phenomenological",
                                     "reimplementation"}, (row["id"], row["status"])
        if row["kind"] == "reaction":
            assert str(row["description"]).strip()


@pytest.mark.parametrize("name", MODULES)
def test_status_column_follows_the_table(name):
    d = by_id(build(name))
    for p in M.table(name)["parameters"]:
        if p["name"] in d and d[p["name"]]["kind"] == "parameter":
            assert d[p["name"]]["status"] == p["status"]
            assert d[p["name"]]["unit"] == p["unit"]


def test_phenomenological_links_are_labelled():
    net = M.transmitter_network()
    d = by_id(net)
    for pid in ("E2_Emax_5HT2A", "G_acute_glu", "G_chronic_glu", "w_5HT_CRH", "K_2A"):
        assert d[pid]["status"] == "phenomenological"
    for rid in ("E2_lag", "GR_acute", "GR_chronic", "gg.rel_glu", "hpa.CRH_prod"):
        assert "phenomenological" in d[rid]["description"]
    assert "phenomenological" in by_id(M.gaba_glutamate())["GS"]["description"]
    assert "phenomenological" in M.gaba_glutamate.__doc__
    import importlib
    assert "PHENOMENOLOGICAL" in importlib.import_module(M.gaba_glutamate.__module__).__doc__


def test_dopamine_extensions_are_labelled():
    d = by_id(M.dopamine())
    for sid in ("dopal", "dopac", "mt3", "bldopa"):
        assert "extension" in d[sid]["description"]
    for rid in ("MAO_c", "ALDH", "COMT_dopac", "MAO_mt3", "LDOPA_in"):
        assert "extension" in d[rid]["description"]


# -- options -------------------------------------------------------------------------
NETWORK_OPTIONS = {"ssri": 0.5, "maoi": 0.3, "comti": 0.4, "comt_genotype": "Met/Met",
                   "ldopa": 2.0, "estradiol": 120.0, "cortisol": 400.0, "stress": 0.5,
                   "firing": 15.0}


def test_network_options_set_their_parameters():
    m = M.transmitter_network(**NETWORK_OPTIONS)
    p = m.parameters
    assert p["ht.SSRI_fraction"] == 0.5
    assert p["MAOI_fraction"] == 0.3
    assert p["COMTI_fraction"] == 0.4
    assert p["da.COMT_activity"] == pytest.approx(0.72)
    assert p["da.ldopa_dose"] == 2.0
    assert p["E2"] == 120.0
    assert p["cortisol"] == 400.0
    assert m.initial["hpa.F"] == 0.5
    assert p["da.fire0"] == pytest.approx(3.0)
    r = nk.Simulator(m).simulate(24.0, t_eval=[24.0])
    assert r.success and np.all(r.y >= -1e-9)


@pytest.mark.parametrize("geno,activity", [("Val/Val", 1.0), ("Val/Met", 0.86),
                                           ("Met/Met", 0.72)])
def test_comt_genotype(geno, activity):
    assert M.dopamine(comt_genotype=geno).parameters["COMT_activity"] == activity


def test_maoi_acts_on_both_monoamines_in_the_network():
    net = M.transmitter_network(maoi=1.0)
    rates = {r.id: r.rate for r in net.reactions}
    for rid in ("da.MAO_c", "da.MAO_mt3", "ht.MAO_c", "ht.MAO_g"):
        assert "MAOI_fraction" in names_in(rates[rid])


@pytest.mark.parametrize("name,opts", [
    ("transmitter_network", {"ssri": 0.2, "bogus": 1}),
    ("transmitter_network", {"SSRI": 0.2}),
    ("serotonin", {"comti": 0.5}),
    ("dopamine", {"ssri": 0.5}),
    ("gaba_glutamate", {"firing": 5.0}),
    ("hpa_axis", {"estradiol": 50.0}),
])
def test_unknown_options_raise_option_error(name, opts):
    with pytest.raises(nk.OptionError) as e:
        build(name, **opts)
    assert "allowed options" in str(e.value)


@pytest.mark.parametrize("geno", ["val/met", "MetMet", "", 1])
def test_bad_genotype_raises_option_error(geno):
    with pytest.raises(nk.OptionError) as e:
        M.transmitter_network(comt_genotype=geno)
    assert "comt_genotype" in str(e.value) and "Met/Met" in str(e.value)


@pytest.mark.parametrize("option,value", [
    ("ssri", 1.5), ("ssri", -0.1), ("maoi", 2.0), ("comti", -1.0), ("ldopa", -1.0),
    ("estradiol", -5.0), ("cortisol", -1.0), ("stress", -0.2), ("firing", -1.0),
    ("ssri", float("nan")), ("firing", float("inf")), ("ssri", "half"), ("stress", True),
])
def test_out_of_range_options_raise_invalid_value(option, value):
    with pytest.raises(nk.InvalidValueError) as e:
        M.transmitter_network(**{option: value})
    assert repr(option) in str(e.value)
    assert isinstance(e.value, nk.NeurokinError)


def test_option_errors_are_neurokin_errors():
    assert issubclass(nk.OptionError, nk.NeurokinError)
    with pytest.raises(nk.NeurokinError):
        M.serotonin(ssri=3)


def test_module_options_match_network_options():
    a = M.serotonin(ssri=0.8, maoi=0.5).parameters
    assert a["SSRI_fraction"] == 0.8 and a["MAOI_fraction"] == 0.5
    assert M.dopamine(firing=10.0).parameters["fire0"] == pytest.approx(2.0)
    assert M.dopamine(ldopa=1.0).parameters["ldopa_dose"] == 1.0
    assert M.hpa_axis(stress=1.0).initial["F"] == 1.0


def test_ldopa_raises_terminal_ldopa_and_dopamine():
    m = M.dopamine(ldopa=5.0)
    r = nk.Simulator(m).simulate(24.0, t_eval=[24.0])
    base = M.dopamine().initial
    assert r["bldopa"][-1] > 1.0
    assert r["ldopa"][-1] > base["ldopa"] and r["eda"][-1] > base["eda"]


# -- prefixing / model algebra -------------------------------------------------------------
def _coupling_ids():
    t = M.table("modulation")
    ids = {p["name"] for p in t["parameters"]}
    return ids | {"E2", "K_2A", "ugdL_to_nM", "o0", "eht0", "Glu_e0", "GABA_e0", "cortisol",
                  "E2_eff", "GRocc_acute", "GRocc_chronic", "coupling", "E2_lag", "GR_acute",
                  "GR_chronic"}


@pytest.mark.parametrize("options", [{}, {"cortisol": 300.0}])
def test_every_network_id_is_prefixed_or_a_coupling(options):
    net = M.transmitter_network(**options)
    prefixes = tuple(f"{p}." for p in PREFIXES.values())
    coupling = _coupling_ids()
    ids = (net.species_names + net.parameter_names + [c.id for c in net.compartments]
           + [r.id for r in net.reactions])
    for i in ids:
        assert i.startswith(prefixes) or i in coupling, i
    for mod, pre in PREFIXES.items():
        m = build(mod)
        for s in m.species_names:
            assert f"{pre}.{s}" in net.species_names
        shared = {"MAOI_fraction", "COMTI_fraction"}
        for p in m.parameter_names:
            if p in shared:
                assert p in net.parameters
            elif (pre, p) != ("da", "btrp_LNAA"):     # replaced by ht.btrp in the network
                assert f"{pre}.{p}" in net.parameters, (pre, p)


def test_network_rate_expressions_are_renamed():
    net = M.transmitter_network()
    rates = {r.id: r for r in net.reactions}
    coupled = {"ht.SERT", "ht.TPH", "ht.TRPin", "da.LDOPA_in", "gg.rel_glu", "hpa.CRH_prod"}
    known = set(net.species_names) | set(net.parameters) | {c.id for c in net.compartments}
    for mod, pre in PREFIXES.items():
        m = build(mod)
        keep = {"MAOI_fraction", "COMTI_fraction"}
        for r in m.reactions:
            nr = rates[f"{pre}.{r.id}"]
            assert dict(nr.stoichiometry) == {f"{pre}.{s}": n for s, n in r.stoichiometry}
            if nr.id in coupled:
                assert names_in(nr.rate) <= known | {"t", "pi"}
                continue
            expected = rewrite_expression(r.rate, lambda n: n if n in keep else
                                          (f"{pre}.{n}" if n not in ("t", "pi") else None))
            assert nr.rate == expected
    for r in net.reactions:   # nothing bare from a module is left in any law
        for n in names_in(r.rate):
            assert n in known or n in ("t", "pi"), (r.id, n)


def test_rewrite_expression_whole_identifiers_only():
    f = lambda n: {"eht": "ht.eht", "k": "K", "t": "time"}.get(n)  # noqa: E731
    assert rewrite_expression("eht + ght + ht.eht + k*exp(-k*eht) + t", f) == \
        "ht.eht + ght + ht.eht + K*exp(-K*ht.eht) + time"
    # function names are not identifiers to rename
    assert rewrite_expression("max(max, 1)", lambda n: "X") == "max(X, 1)"


def test_rename_and_substitute_general():
    b = nk.ModelBuilder("toy")
    b.compartment("cell", 2.0, unit="L", description="c")
    b.species("x", 1.0, compartment="cell", unit="uM", description="x")
    b.species("xx", 0.0, compartment="cell", unit="uM", description="xx")
    b.parameter("k", 0.5, unit="1/h", description="k")
    b.reaction("conv", {"x": -1, "xx": 1}, "k*x*cell")
    m = b.build()
    p = M.prefixed(m, "toy")
    assert p.species_names == ["toy.x", "toy.xx"]
    assert p.reactions[0].rate == "toy.k*toy.x*toy.cell"
    assert p.species[0].compartment == "toy.cell"
    assert p.reactions[0].id == "toy.conv"
    g = M.substitute(p, {"toy.k": "toy.k*2"})
    assert g.reactions[0].rate == "(toy.k*2)*toy.x*toy.cell"
    s1 = nk.Simulator(g).simulate(1.0, t_eval=[1.0])
    s2 = nk.Simulator(m.with_parameters({"k": 1.0})).simulate(1.0, t_eval=[1.0])
    assert s1.y[-1] == pytest.approx(s2.y[-1], rel=1e-6)
    with pytest.raises(nk.ModelError):
        M.compose([p, M.prefixed(m.with_parameters({"k": 9.0}), "toy")])
    assert M.compose([p, M.prefixed(m, "other")]).species_names == \
        ["toy.x", "toy.xx", "other.x", "other.xx"]


# -- immutability, with_parameters, pickling -------------------------------------------------
@pytest.mark.parametrize("name", ALL)
def test_models_are_immutable_and_with_parameters_copies(name):
    m = build(name)
    with pytest.raises(Exception):
        m.name = "changed"
    pid = m.parameter_names[0]
    old = m.parameters[pid]
    m2 = m.with_parameters({pid: old * 2 + 1})
    assert m.parameters[pid] == old and m2.parameters[pid] == old * 2 + 1
    assert m2 != m and build(name) == m
    assert pickle.loads(pickle.dumps(m)) == m
    with pytest.raises(nk.UnknownNameError):
        m.with_parameters({"no_such_parameter": 1.0})


def test_with_parameters_changes_network_behaviour():
    net = M.transmitter_network()
    half = net.with_parameters({"ht.Vmax_SERT": 0.5 * net.parameters["ht.Vmax_SERT"]})
    a = nk.Simulator(net).steady_state().x["ht.eht"]
    b = nk.Simulator(half).steady_state().x["ht.eht"]
    assert b / a == pytest.approx(1.095, rel=0.05)


def test_outputs_on_results_and_states():
    m = M.transmitter_network()
    r = nk.Simulator(m).simulate(2.0, t_eval=[0.0, 1.0, 2.0])
    o = M.outputs(m, r)
    assert set(o) >= {"S_5HT", "s_2A", "g_glu", "EI_index", "cortisol_total_nM",
                      "gg.occ_NMDA", "hpa.cortisol_ugdL"}
    assert o["hpa.cortisol_ugdL"] == pytest.approx(np.full(3, 10.0), rel=1e-3)
    for mod in MODULES:
        mm = build(mod)
        vals = M.outputs(mm, mm.initial)
        assert all(np.isfinite(v) for v in vals.values())
