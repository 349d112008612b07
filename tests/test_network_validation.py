"""Validation targets of the built-in transmitter network.

Every entry of the ``validation`` lists in the parameter tables
(``neurokin/models/data/*.json``, copies of ``shared/reference/params``) is a
test here, with the tolerance stated there:

* "x%" is relative to the target value, "+-x" absolute;
* "refimpl" targets are an independent integration of the same equations;
* literature targets given as a range must fall inside it; a literature target
  given as a single value (tolerance "range") is read as: same direction and
  an effect size within a factor 2 of it;
* literature targets the model is known not to reach are ``xfail`` with the
  reason (non-strict, so a model change that reaches them shows as XPASS).

Steady states come from ``Simulator.steady_state`` (Newton from the reference
state, presimulation fallback); time courses from ``simulate``.
"""
from __future__ import annotations

import json
from functools import lru_cache

import numpy as np
import pytest

import neurokin as nk
from neurokin import models as M
from neurokin.models.network import O0_EXACT

RTOL_SIM = dict(rtol=1e-8, atol=1e-12)


@lru_cache(maxsize=None)
def sim(name: str) -> nk.Simulator:
    return nk.Simulator(getattr(M, name)())


@lru_cache(maxsize=None)
def base(name: str) -> dict:
    ss = sim(name).steady_state()
    assert ss.converged and ss.stable, name
    return ss.x


def ss(name: str, parameters=None, initial=None) -> dict:
    s = sim(name).steady_state(parameters=parameters, initial=initial)
    assert s.converged, (name, parameters, initial, s.residual_norm)
    return s.x


def ratio(x: dict, b: dict, key: str) -> float:
    return x[key] / b[key]


def effect(x: dict, b: dict, keys) -> float:
    """Relative change of the sum of ``keys`` (e.g. tissue = cytosol + vesicle)."""
    return sum(x[k] for k in keys) / sum(b[k] for k in keys) - 1.0


def rel(got: float, target: float, tol: float) -> None:
    assert abs(got / target - 1.0) <= tol, f"got {got:.6g}, target {target:.6g} +- {tol:.0%}"


def lit_point(got_effect: float, target_effect: float) -> None:
    """Literature point value: same sign, magnitude within a factor 2."""
    assert np.sign(got_effect) == np.sign(target_effect) and \
        0.5 <= got_effect / target_effect <= 2.0, \
        f"effect {got_effect:+.1%} vs literature {target_effect:+.1%}"


def lit_range(got_effect: float, lo: float, hi: float) -> None:
    assert lo <= got_effect <= hi, f"effect {got_effect:+.1%} outside [{lo:+.1%}, {hi:+.1%}]"


def validation_ids(module: str) -> set:
    return {v["id"] for v in M.table(module)["validation"]}


def test_every_table_target_has_a_test():
    """Each validation id of the tables is named by a test in this file."""
    import inspect
    import sys
    src = inspect.getsource(sys.modules[__name__])
    for mod in ("dopamine", "serotonin", "gaba_glutamate", "hpa_axis", "modulation"):
        for vid in validation_ids(mod):
            assert f'"{vid}"' in src, f"validation target {vid} of {mod}.json has no test"


# ----------------------------------------------------------------------------- dopamine
class TestDopamine:
    """Best 2009 terminal (+ extensions) against dopamine.json."""

    def test_DA_SS(self):
        """"DA-SS": the reference steady state, 2%."""
        ref = M.table("dopamine")["steady_state"]["values"]
        x = base("dopamine")
        for k, v in ref.items():
            # the extension resolves the paper's lumped acid pool 'hva' into dopac + hva
            got = x["dopac"] + x["hva"] if k == "hva" else x[k]
            rel(got, v, 0.02)

    def test_DA_SS_fluxes(self):
        """Reference fluxes at the SS (rounded in the table: 2%, 0.02 to its digit)."""
        m, x = sim("dopamine").model, base("dopamine")
        r = reaction_rates(m, x)
        f = M.table("dopamine")["steady_state"]["fluxes_uM_per_h"]
        rel(r["TYRin"], f["TYRin"], 0.02)
        rel(r["TH"], f["TH"], 0.02)
        rel(r["AADC"], f["AADC"], 0.02)
        rel(r["VMAT"], f["VMAT_net"], 0.02)
        rel(r["release"], f["release"], 0.02)
        rel(r["DAT"], f["DAT"], 0.02)
        rel(r["COMT_e"], f["catab_e"], 0.05)
        rel(r["removal"], f["removal"], 0.02)
        rel(r["MAO_c"] + r["other_c"], f["MAO_cyt"], 0.02)

    def test_DA_fire3_immediate(self):
        """"DA-fire3-immediate": eda x3 right after 5 -> 15 Hz, 10%."""
        b = base("dopamine")
        r = sim("dopamine").simulate(0.005, t_eval=[0.005], parameters={"fire0": 3.0},
                                     **RTOL_SIM)
        assert r.success
        rel(r["eda"][-1] / b["eda"], 3.0, 0.10)

    def test_DA_fire3_habituation(self):
        """"DA-fire3-habituation": new SS eda x1.88, 5%; reached within ~9 h."""
        b = base("dopamine")
        rel(ratio(ss("dopamine", {"fire0": 3.0}), b, "eda"), 1.88, 0.05)
        r = sim("dopamine").simulate(9.0, t_eval=[9.0], parameters={"fire0": 3.0}, **RTOL_SIM)
        assert 1.0 < r["eda"][-1] / b["eda"] < 3.0   # intermediate value after ~9 h

    @pytest.mark.parametrize("vid,factor,target", [("DA-tyr-x2", 2.0, 0.987),
                                                   ("DA-tyr-x0.5", 0.5, 1.005)])
    def test_DA_tyrosine(self, vid, factor, target):
        """"DA-tyr-x2" / "DA-tyr-x0.5": eda insensitive to blood tyrosine, +-0.02."""
        b = base("dopamine")
        x = ss("dopamine", initial={"btyr": 97.0 * factor})
        assert abs(ratio(x, b, "eda") - target) <= 0.02

    def test_DA_TH_x0_5(self):
        """"DA-TH-x0.5": eda x0.827, vda x0.828, 3%."""
        b = base("dopamine")
        x = ss("dopamine", {"Vmax_TH": 62.5})
        rel(ratio(x, b, "eda"), 0.827, 0.03)
        rel(ratio(x, b, "vda"), 0.828, 0.03)

    def test_DA_TH_x0_5_noauto(self):
        """"DA-TH-x0.5-noauto": with A(eda) = 1, eda x0.643, 3%."""
        b = base("dopamine")
        x = ss("dopamine", {"Vmax_TH": 62.5, "auto_a": 1.0, "auto_b": 0.0})
        rel(ratio(x, b, "eda"), 0.643, 0.03)

    def test_DA_TH_x2(self):
        """"DA-TH-x2": eda x1.217, 3%."""
        rel(ratio(ss("dopamine", {"Vmax_TH": 250.0}), base("dopamine"), "eda"), 1.217, 0.03)

    @pytest.mark.parametrize("vid,vmax,t_eda,t_vda", [("DA-DAT-x0.1", 800.0, 4.88, 0.515),
                                                      ("DA-DAT-KO", 0.0, 13.8, 0.141)])
    def test_DA_DAT(self, vid, vmax, t_eda, t_vda):
        """"DA-DAT-x0.1" / "DA-DAT-KO": eda and vda ratios, 5%."""
        b = base("dopamine")
        x = ss("dopamine", {"Vmax_DAT": vmax})
        rel(ratio(x, b, "eda"), t_eda, 0.05)
        rel(ratio(x, b, "vda"), t_vda, 0.05)

    # -- literature compilation (Dalvi-Garcia 2021), extended catabolism branch --------
    @pytest.mark.xfail(reason="DA-MAO-KO-lit: the reference states the Best 2009 terminal is "
                       "NOT expected to pass; with MAO fully removed the only cytosolic sink "
                       "is the minor alternative sink, so cytosolic/tissue DA and eDA rise "
                       "far more (eDA about +110%) and DOPAC/HVA fall to 0 (no MAO-B "
                       "residual activity)", strict=False)
    def test_DA_MAO_KO_lit(self):
        """"DA-MAO-KO-lit": eDA +3.2..11.6%, tDA +12..200%, DOPAC -17..-78%, HVA -30..-48%."""
        b = base("dopamine")
        x = ss("dopamine", {"MAOI_fraction": 1.0})
        lit_range(effect(x, b, ["eda"]), 0.032, 0.116)
        lit_range(effect(x, b, ["cda", "vda"]), 0.12, 2.0)
        lit_range(effect(x, b, ["dopac"]), -0.78, -0.17)
        lit_range(effect(x, b, ["hva"]), -0.48, -0.30)

    def test_DA_COMT_KO_lit_HVA(self):
        """"DA-COMT-KO-lit" (HVA part): HVA -100%."""
        b = base("dopamine")
        x = ss("dopamine", {"COMTI_fraction": 1.0})
        assert effect(x, b, ["hva"]) == pytest.approx(-1.0, abs=1e-6)

    @pytest.mark.xfail(reason="DA-COMT-KO-lit: in the striatal terminal DAT clears 79 of 81 "
                       "uM/h of eDA (reference sec. 1 ext. 2), so COMT loss changes eDA and "
                       "tissue DA by <0.1%; DOPAC doubles (+100%) because COMT is calibrated "
                       "to DOPAC:HVA = 1 at baseline, short of +233..628%", strict=False)
    def test_DA_COMT_KO_lit(self):
        """"DA-COMT-KO-lit": eDA +8.6..52%, tDA +40%, DOPAC +233..628%."""
        b = base("dopamine")
        x = ss("dopamine", {"COMTI_fraction": 1.0})
        lit_range(effect(x, b, ["eda"]), 0.086, 0.52)
        lit_point(effect(x, b, ["cda", "vda"]), 0.40)
        lit_range(effect(x, b, ["dopac"]), 2.33, 6.28)

    def test_DA_VMAT2_x2_lit_eDA(self):
        """"DA-VMAT2-x2-lit" (eDA part): eDA +44%."""
        b = base("dopamine")
        x = ss("dopamine", {"Vmax_VMAT": 2 * 7082.0})
        lit_point(effect(x, b, ["eda"]), 0.44)

    @pytest.mark.xfail(reason="DA-VMAT2-x2-lit: tissue DA rises about twice the literature "
                       "value (+43% vs +21%): the vesicular pool is a single linear store "
                       "with leak, without the storage limits of real vesicles", strict=False)
    def test_DA_VMAT2_x2_lit_tDA(self):
        """"DA-VMAT2-x2-lit" (tissue DA part): tDA +21%."""
        b = base("dopamine")
        x = ss("dopamine", {"Vmax_VMAT": 2 * 7082.0})
        lit_point(effect(x, b, ["cda", "vda"]), 0.21)


# ----------------------------------------------------------------------------- serotonin
class TestSerotonin:
    """Best 2020 varicosity against serotonin.json."""

    def test_5HT_SS(self):
        """"5HT-SS": reference steady state, 2% (eht 5%)."""
        ref = M.table("serotonin")["steady_state"]["values"]
        x = base("serotonin")
        for k, v in ref.items():
            if v == 0.0:
                assert abs(x[k]) < 1e-12, k
            else:
                rel(x[k], v, 0.05 if k == "eht" else 0.02)

    def test_5HT_SS_fluxes(self):
        m, x = sim("serotonin").model, base("serotonin")
        r = reaction_rates(m, x)
        f = M.table("serotonin")["steady_state"]["fluxes_uM_per_h"]
        rel(r["TRPin"], f["TRPin"], 0.02)
        rel(r["TPH"], f["TPH"], 0.02)
        rel(r["AADC"], f["AADC"], 0.02)
        rel(r["VMAT"], f["VMAT_net"], 0.02)
        rel(r["release"], f["release"], 0.02)
        rel(r["SERT"], f["SERT"], 0.02)
        rel(r["MAO_c"], f["MAO_cyt"], 0.02)
        rel(r["removal"], f["eht_removal"], 0.02)

    def _course(self, sert_factor):
        r = sim("serotonin").simulate(24.0, t_eval=[0.1, 24.0],
                                      parameters={"SSRI_fraction": 1.0 - sert_factor},
                                      **RTOL_SIM)
        assert r.success
        return r

    def test_5HT_SSRI80_acute(self):
        """"5HT-SSRI80-acute": SERT x0.2, eht 120 nM at 0.1 h, 10%."""
        rel(1000 * self._course(0.2)["eht"][0], 120.0, 0.10)

    def test_5HT_SSRI80_24h(self):
        """"5HT-SSRI80-24h": eht 69 nM and vht 17.8 uM at 24 h, 10%."""
        r = self._course(0.2)
        rel(1000 * r["eht"][1], 69.0, 0.10)
        rel(r["vht"][1], 17.8, 0.10)

    def test_5HT_SSRI50_acute(self):
        """"5HT-SSRI50-acute": SERT x0.5, eht 90.5 nM at 0.1 h, 66.4 nM at 24 h, 10%."""
        r = self._course(0.5)
        rel(1000 * r["eht"][0], 90.5, 0.10)
        rel(1000 * r["eht"][1], 66.4, 0.10)

    def test_5HT_SSRI_option_equals_sert_scaling(self):
        """The ssri option is the SERT x(1 - f) of the targets above."""
        a = nk.Simulator(M.serotonin(ssri=0.8)).simulate(0.1, t_eval=[0.1], **RTOL_SIM)
        b = nk.Simulator(M.serotonin().with_parameters({"Vmax_SERT": 50.0})).simulate(
            0.1, t_eval=[0.1], **RTOL_SIM)
        assert a["eht"][-1] == pytest.approx(b["eht"][-1], rel=1e-6)

    @pytest.mark.parametrize("vid,par,targets", [
        ("5HT-SERT-x0.5-SS", {"Vmax_SERT": 125.0}, (1.095, 0.578, 0.57)),
        ("5HT-MAO-x0.1-SS", {"Vmax_MAO": 400.0}, (1.173, 1.251, 0.221)),
        ("5HT-TPH-x0.5-SS", {"Vmax_TPH": 139.0}, (0.716, 0.669, None)),
    ])
    def test_5HT_steady_state_perturbations(self, vid, par, targets):
        """eht/eht0, vht/vht0, hia/hia0 at the new SS, 5%."""
        b = base("serotonin")
        x = ss("serotonin", par)
        for key, target in zip(("eht", "vht", "hia"), targets):
            if target is not None:
                rel(ratio(x, b, key), target, 0.05)

    @pytest.mark.parametrize("vid,factor,target", [("5HT-btrp-x2", 2.0, 1.107),
                                                   ("5HT-btrp-x0.5", 0.5, 0.825)])
    def test_5HT_btrp(self, vid, factor, target):
        """"5HT-btrp-x2" / "5HT-btrp-x0.5": eht/eht0, 5%."""
        x = ss("serotonin", initial={"btrp": 96.0 * factor})
        rel(ratio(x, base("serotonin"), "eht"), target, 0.05)

    # -- literature compilation (Dalvi-Garcia 2021) -------------------------------------
    @pytest.mark.xfail(reason="5HT-SERT-KO-lit: known gap named by the reference - at SS the "
                       "2020 model gives e5-HT +19% (literature +450..900%): developmental "
                       "SERT-KO adaptations are not modelled; tissue 5-HT (-97%) and 5-HIAA "
                       "(-84%) also overshoot the literature ranges", strict=False)
    def test_5HT_SERT_KO_lit(self):
        """"5HT-SERT-KO-lit": e5HT +450..900%, t5HT -54..-77%, 5HIAA -44..-56%."""
        b = base("serotonin")
        x = ss("serotonin", {"Vmax_SERT": 0.0})
        lit_range(effect(x, b, ["eht"]), 4.5, 9.0)
        lit_range(effect(x, b, ["cht", "vht"]), -0.77, -0.54)
        lit_range(effect(x, b, ["hia"]), -0.56, -0.44)

    def test_5HT_MAO_KO_lit_5HIAA(self):
        """"5HT-MAO-KO-lit" (5-HIAA part): 5HIAA -82%."""
        b = base("serotonin")
        x = ss("serotonin", {"MAOI_fraction": 1.0})
        lit_point(effect(x, b, ["hia"]), -0.82)

    @pytest.mark.xfail(reason="5HT-MAO-KO-lit: known limitation named by the reference (sec. "
                       "7) - complete MAO loss in the 2020 model raises tissue 5-HT only "
                       "about +33% (literature +209..700%): no developmental adaptation, "
                       "vesicular store bounded by VMAT leak", strict=False)
    def test_5HT_MAO_KO_lit_tissue(self):
        """"5HT-MAO-KO-lit" (tissue part): t5HT +209..700%."""
        b = base("serotonin")
        x = ss("serotonin", {"MAOI_fraction": 1.0})
        lit_range(effect(x, b, ["cht", "vht"]), 2.09, 7.0)

    def test_5HT_TPH2_lof_lit(self):
        """"5HT-TPH2-lof-lit": e5HT -62%, t5HT -78.5%, 5HIAA -72%.

        The loss-of-function allele is modelled as TPH Vmax x0.2 (the R439H
        knock-in loses ~80% of 5-HT synthesis; Beaulieu 2008, literature-
        unverified), not fitted to these numbers.
        """
        b = base("serotonin")
        x = ss("serotonin", {"Vmax_TPH": 0.2 * 278.0})
        lit_point(effect(x, b, ["eht"]), -0.62)
        lit_point(effect(x, b, ["cht", "vht"]), -0.785)
        lit_point(effect(x, b, ["hia"]), -0.72)


# ----------------------------------------------------------------------------- GABA / Glu
class TestGabaGlutamate:
    def test_GG_SS(self):
        """"GG-SS": calibration point (concentrations and fluxes), 1%."""
        t = M.table("gaba_glutamate")["steady_state"]
        x = base("gaba_glutamate")
        for k, v in t["values"].items():
            rel(x[k], v, 0.01)
        r = reaction_rates(sim("gaba_glutamate").model, x)
        f = t["fluxes_uM_tissue_per_h"]
        rel(r["rel_glu"], f["release_Glu"], 0.01)
        rel(r["rel_gaba"], f["release_GABA"], 0.01)
        rel(r["GS"], f["GS"], 0.01)
        rel(r["GAD"], f["GAD"], 0.01)
        rel(r["GABAT_n"], f["neuronal_GABAT"], 0.01)

    def test_GG_fluxratio(self):
        """"GG-fluxratio": GABA/(Glu + GABA) cycling in 0.1..0.3 (target 0.2)."""
        r = reaction_rates(sim("gaba_glutamate").model, base("gaba_glutamate"))
        j_glu, j_gaba = r["EAAT2"], r["GABAT_a"]   # astrocytic return of each cycle
        assert 0.1 <= j_gaba / (j_glu + j_gaba) <= 0.3

    def test_GG_Glu_e(self):
        """"GG-Glu_e": basal extracellular glutamate ~1 uM (order of magnitude)."""
        assert 0.1 <= base("gaba_glutamate")["Glu_e"] <= 10.0

    def test_GG_EAAT2_KO(self):
        """"GG-EAAT2-KO": Vmax_EAAT2 x0.1 raises Glu_e > 5x."""
        b = base("gaba_glutamate")
        x = ss("gaba_glutamate", {"Vmax_EAAT2": 32640.0})
        assert ratio(x, b, "Glu_e") > 5.0


# ----------------------------------------------------------------------------- HPA
class TestHPA:
    LOW = M.table("hpa_axis")["steady_state"]["low_GR"]
    HIGH = M.table("hpa_axis")["steady_state"]["high_GR"]

    def _close(self, x, state, tol=0.01):
        for k, v in state.items():
            rel(x[k], v, tol)

    def test_HPA_bistable(self):
        """"HPA-bistable": stable low-GR (r0 0.08) and high-GR (r0 1.2) states, 1%."""
        s = sim("hpa_axis")
        lo = s.steady_state(initial={"r": 0.08})
        hi = s.steady_state(initial={"r": 1.2})
        assert lo.stable and hi.stable
        self._close(lo.x, self.LOW)
        self._close(hi.x, self.HIGH)

    def _pulses(self, n, on_tau, period_tau, start=None, settle_h=400.0):
        s = sim("hpa_axis")
        tau = s.model.parameters["tau_to_h"]
        y = {**s.model.initial, **(start or {})}
        for i in range(n):
            r = s.simulate(on_tau * tau, t_eval=[on_tau * tau], initial={**y, "F": 1.0},
                           **RTOL_SIM)
            assert r.success
            y = {k: r[k][-1] for k in r.names}
            off = (period_tau - on_tau) * tau if i < n - 1 else settle_h
            r = s.simulate(off, t_eval=[off], initial={**y, "F": 0.0}, **RTOL_SIM)
            assert r.success
            y = {k: r[k][-1] for k in r.names}
        return y

    def test_HPA_switch(self):
        """"HPA-switch": F = 1 for 5 tau from low-GR ends in high-GR (cortisol -14%)."""
        y = self._pulses(1, 5.0, 5.0)
        self._close(y, self.HIGH)
        assert y["o"] / self.LOW["o"] - 1 == pytest.approx(-0.14, abs=0.01)
        assert y["r"] / self.LOW["r"] == pytest.approx(6.8, rel=0.02)

    # initial states of the SBML encodings whose stress inputs the target replays
    SBML_A = {"c": 0.6, "a": 0.055, "r": 0.08, "o": 0.055}   # MODEL1006230111
    SBML_B = {"c": 0.6, "a": 0.055, "r": 0.01, "o": 0.055}   # MODEL1006230036

    @pytest.mark.parametrize("n,on,period,start", [(1, 1.0, 1.0, SBML_A),
                                                   (5, 1.0, 4.0, SBML_B)],
                             ids=["model-A-pulse", "model-B-five-pulses"])
    def test_HPA_no_switch(self, n, on, period, start):
        """"HPA-no-switch": the SBML inputs (one 1-tau pulse, model A; five 1-tau pulses
        every 4 tau, model B), from the SBML initial states, end in low-GR.

        (From the low-GR steady state itself, five pulses do switch: GR has
        no time to relax between pulses 4 tau apart.)
        """
        self._close(self._pulses(n, on, period, start), self.LOW)

    def test_HPA_Sriram_caution(self):
        """"HPA-Sriram-caution": a note, not a target - the default HPA module is Gupta 2007."""
        note = next(v for v in M.table("hpa_axis")["validation"]
                    if v["id"] == "HPA-Sriram-caution")
        assert note["tolerance"] == "n/a"
        assert set(M.hpa_axis().species_names) == {"c", "a", "r", "o", "F"}


# ----------------------------------------------------------------------------- modulation
class TestModulation:
    def test_MOD_neutral(self):
        """"MOD-neutral": with hormones at reference, every module keeps its SS, 1e-6."""
        net = sim("transmitter_network")
        x = net.steady_state()
        assert x.converged and x.stable
        for mod, pre in M.network.PREFIXES.items():
            for k, v in base(mod).items():
                got = x.x[f"{pre}.{k}"]
                assert abs(got - v) <= 1e-6 * max(abs(v), 1e-300) or abs(got - v) < 1e-15, \
                    (pre, k, got, v)

    def test_MOD_neutral_outputs(self):
        """The hormone gains are exactly 1 at the reference inputs."""
        net = sim("transmitter_network")
        o = M.outputs(net.model, net.model.initial)
        assert o["s_2A"] == pytest.approx(1.0, abs=1e-12)
        assert o["g_glu"] == pytest.approx(1.0, abs=1e-12)

    def test_MOD_E2_direction(self):
        """"MOD-E2-direction": E2 10 -> 150 pg/mL raises the 5-HT2A gain (monotone)."""
        gains = []
        for e2 in (10.0, 30.0, 50.0, 100.0, 150.0):
            m = M.transmitter_network(estradiol=e2)
            x = nk.Simulator(m).steady_state()
            assert x.converged
            gains.append(M.outputs(m, x, ["s_2A"])["s_2A"])
        assert np.all(np.diff(gains) > 0) and gains[2] == pytest.approx(1.0)

    def test_MOD_E2_lag(self):
        """Genomic estradiol effects appear over days (first-order lag E2_tau = 48 h)."""
        m = M.transmitter_network(estradiol=150.0)
        r = nk.Simulator(m).simulate(96.0, t_eval=[1.0, 48.0, 96.0], **RTOL_SIM)
        assert r["E2_eff"][1] == pytest.approx(50.0 + 100.0 * (1 - np.exp(-1.0)), rel=1e-4)
        s = M.outputs(m, r, ["s_2A"])["s_2A"]
        final = M.outputs(m, {**m.initial, "E2_eff": 150.0}, ["s_2A"])["s_2A"]
        assert 1.0 < s[0] < s[1] < s[2] < final
        assert s[0] - 1 < 0.05 * (final - 1)

    def test_MOD_cort_inverted_U(self):
        """"MOD-cort-inverted-U": high cortisol, glutamate receptor gain >1 at 2 h, <1 chronic."""
        m = M.transmitter_network(cortisol=3 * 275.9)
        s = nk.Simulator(m)
        r = s.simulate(2.0, t_eval=[2.0], **RTOL_SIM)
        assert M.outputs(m, r, ["g_glu"])["g_glu"][-1] > 1.0
        chronic = s.steady_state()
        assert chronic.converged
        assert M.outputs(m, chronic, ["g_glu"])["g_glu"] < 1.0
        r = s.simulate(24 * 28.0, t_eval=[24 * 28.0], **RTOL_SIM)   # four weeks
        assert M.outputs(m, r, ["g_glu"])["g_glu"][-1] < 1.0

    def test_MOD_cortisol_from_HPA_stress(self):
        """Coupled (no clamp): sustained stress moves cortisol and the CNS gains with it."""
        m = M.transmitter_network(stress=0.5)
        r = nk.Simulator(m).simulate(24.0, t_eval=[24.0], **RTOL_SIM)
        assert r.success
        o = M.outputs(m, r)
        assert o["cortisol_total_nM"][-1] != pytest.approx(275.9, rel=1e-3)


# ----------------------------------------------------------------------------- helpers
def reaction_rates(model, x: dict) -> dict:
    """Reaction rates at state ``x`` (evaluated from the rate expressions)."""
    from neurokin.expr import evaluate, parse
    env = dict(model.compartment_sizes)
    env.update(model.parameters)
    env.update(x)
    return {r.id: evaluate(parse(r.rate, set(env)), env, t=0.0) for r in model.reactions}


def test_reference_o0_is_the_module_steady_state():
    """The coupling reference o0 is the HPA module's SS cortisol (neutrality)."""
    assert base("hpa_axis")["o"] == pytest.approx(O0_EXACT, rel=1e-9)


def test_tables_in_package_match_shared_reference():
    from conftest import SHARED
    ref = SHARED / "reference" / "params"
    if not ref.exists():
        pytest.skip(f"{ref} not found (../shared is absent beside the repo)")
    for mod in ("dopamine", "serotonin", "gaba_glutamate", "hpa_axis", "modulation"):
        assert M.table(mod) == json.loads((ref / f"{mod}.json").read_text()), mod
