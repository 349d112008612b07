"""Balance analysis: control coefficients, interventions, intervention time courses."""
from __future__ import annotations

import math

import numpy as np
import pytest

import neurokin as nk
from neurokin import balance as B


def pathway():
    """S -> X -> Y ->, with a conserved A <-> B cycle driven by X.

    Every rate is proportional to exactly one enzyme parameter E1..E5, so the
    summation theorems hold over {E1..E5}.
    """
    b = nk.ModelBuilder("pathway")
    b.compartment("cell", 2.0, unit="L")
    for s, v in (("X", 1.0), ("Y", 1.0), ("A", 3.0), ("B", 1.0)):
        b.species(s, v, compartment="cell", unit="uM")
    for p, v in (("S", 5.0), ("E1", 2.0), ("Km1", 1.0), ("Ki1", 0.7), ("E2", 3.0),
                 ("K2", 0.5), ("E3", 0.8), ("E4", 1.5), ("K4", 2.0), ("E5", 0.9)):
        b.parameter(p, v)
    b.reaction("R1", {"X": 1}, "E1*S/(Km1 + S)/(1 + Y/Ki1)")   # feedback inhibition
    b.reaction("R2", {"X": -1, "Y": 1}, "E2*X/(K2 + X)")
    b.reaction("R3", {"Y": -1}, "E3*Y")
    b.reaction("R4", {"A": -1, "B": 1}, "E4*A*X/(K4 + A)")
    b.reaction("R5", {"B": -1, "A": 1}, "E5*B")
    return b.build()


ENZYMES = ["E1", "E2", "E3", "E4", "E5"]


def fd_log_derivative(sim, target, p, h=1e-5, ss0=None):
    P = sim.model.parameters
    ss0 = ss0 or sim.steady_state()
    vals = []
    for f in (1 + h, 1 - h):
        ss = sim.steady_state(initial=ss0.x, parameters={p: P[p] * f}, tol=1e-13)
        assert ss.converged
        vals.append(ss.x[target])
    return (math.log(vals[0]) - math.log(vals[1])) / (math.log(1 + h) - math.log(1 - h))


def test_capacity_rule_small_model():
    caps = B.capacity_parameters(pathway())
    assert caps == ENZYMES          # Km, Ki, K, S (not proportional) and the compartment: out


def test_control_coefficients_match_finite_differences_small_model():
    sim = nk.Simulator(pathway())
    assert len(sim.conservation_laws()) == 1            # A + B
    ss0 = sim.steady_state()
    cc = B.control_coefficients(sim, parameters=ENZYMES + ["Km1", "K4"], as_frame=False)
    assert len(cc["target"]) == 4 * 7
    for t, p, c in zip(cc["target"], cc["parameter"], cc["coefficient"]):
        fd = fd_log_derivative(sim, t, p, ss0=ss0)
        assert c == pytest.approx(fd, rel=1e-5, abs=1e-8), (t, p)


def test_summation_theorems():
    sim = nk.Simulator(pathway())
    cc = B.control_coefficients(sim, parameters=ENZYMES, as_frame=False)
    sums = {}
    for t, c in zip(cc["target"], cc["coefficient"]):
        sums[t] = sums.get(t, 0.0) + c
    assert set(sums) == {"X", "Y", "A", "B"}
    for t, s in sums.items():
        assert abs(s) < 1e-10, t
    fc = B.flux_control_coefficients(sim, parameters=ENZYMES, as_frame=False)
    fsums = {}
    for t, c in zip(fc["target"], fc["coefficient"]):
        fsums[t] = fsums.get(t, 0.0) + c
    for t, s in fsums.items():
        assert s == pytest.approx(1.0, abs=1e-10), t


def test_flux_control_matches_finite_differences():
    sim = nk.Simulator(pathway())
    model = sim.model
    fc = B.flux_control_coefficients(sim, reactions=["R2", "R4"], parameters=["E1", "E4"],
                                     as_frame=False)
    h = 1e-5
    ss0 = sim.steady_state()
    for r, p, c in zip(fc["target"], fc["parameter"], fc["coefficient"]):
        node = model.node(next(x.rate for x in model.reactions if x.id == r))
        logs = []
        for f in (1 + h, 1 - h):
            pv = dict(model.parameters, **{p: model.parameters[p] * f})
            ss = sim.steady_state(initial=ss0.x, parameters={p: pv[p]}, tol=1e-13)
            logs.append(math.log(nk.expr.evaluate(node, {**pv, **ss.x}, t=0.0)))
        fd = (logs[0] - logs[1]) / (math.log(1 + h) - math.log(1 - h))
        assert c == pytest.approx(fd, rel=1e-5, abs=1e-8), (r, p)


def test_serotonin_module_matches_finite_differences():
    sim = nk.Simulator(nk.models.serotonin())
    ss0 = sim.steady_state()
    assert ss0.converged
    params = ["Vmax_TPH", "Vmax_SERT", "Vmax_MAO", "Vmax_VMAT", "a10", "Km_SERT"]
    targets = ["eht", "cht", "vht", "hia", "Gstar"]
    cc = B.control_coefficients(sim, targets, params, as_frame=False)
    for t, p, c in zip(cc["target"], cc["parameter"], cc["coefficient"]):
        fd = fd_log_derivative(sim, t, p, h=1e-4, ss0=ss0)
        assert c == pytest.approx(fd, rel=1e-4, abs=1e-7), (t, p)
    # the unscaled sensitivity is the scaled one times x/p
    raw = B.control_coefficients(sim, ["eht"], ["Vmax_SERT"], scaled=False, as_frame=False)
    scaled = B.control_coefficients(sim, ["eht"], ["Vmax_SERT"], as_frame=False)
    P = sim.model.parameters
    assert raw["coefficient"][0] * P["Vmax_SERT"] / ss0.x["eht"] == \
        pytest.approx(scaled["coefficient"][0], rel=1e-12)


def test_network_control_of_extracellular_serotonin():
    sim = nk.Simulator(nk.models.transmitter_network())
    top = B.top_controllers(sim, "ht.eht", n=5, as_frame=False)
    assert len(top) == 5
    assert all(abs(top[i][1]) >= abs(top[i + 1][1]) for i in range(4))
    cc = B.control_coefficients(sim, ["ht.eht"], ["ht.Vmax_TPH", "ht.Vmax_SERT",
                                                  "da.Vmax_DAT"], as_frame=False)
    c = dict(zip(cc["parameter"], cc["coefficient"]))
    assert c["ht.Vmax_TPH"] > 0 > c["ht.Vmax_SERT"]       # synthesis raises, reuptake lowers
    assert c["da.Vmax_DAT"] == 0.0                        # no dopamine -> 5-HT path


def test_control_coefficients_frame_and_errors():
    pd = pytest.importorskip("pandas")
    sim = nk.Simulator(pathway())
    df = B.control_coefficients(sim, "X")
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["target", "parameter", "coefficient"]
    assert list(df["parameter"]) == ENZYMES
    with pytest.raises(nk.UnknownNameError, match="E9"):
        B.control_coefficients(sim, parameters=["E9"])
    with pytest.raises(nk.UnknownNameError, match="Z"):
        B.control_coefficients(sim, targets=["Z"])


def test_apply_changes_options_parameters_and_species():
    net = nk.models.transmitter_network()
    m = B.apply_changes(net, {"ssri": 0.8, "maoi": 0.5})
    direct = nk.models.transmitter_network(ssri=0.8, maoi=0.5)
    assert m.parameters == direct.parameters
    m2 = B.apply_changes(net, {"stress": 0.5})
    assert m2.initial["hpa.F"] == nk.models.transmitter_network(stress=0.5).initial["hpa.F"]
    # an option sets what it controls, also back to its default
    undone = B.apply_changes(nk.models.transmitter_network(ssri=0.8, maoi=0.3), {"ssri": 0.0})
    assert undone.parameters == nk.models.transmitter_network(maoi=0.3).parameters
    m3 = B.apply_changes(net, {"ht.Vmax_SERT": 1.0})
    assert m3.parameters["ht.Vmax_SERT"] == 1.0
    # an option that changes the equations: fine from the default model
    assert B.apply_changes(net, {"cortisol": 300.0}) == \
        nk.models.transmitter_network(cortisol=300.0)
    with pytest.raises(nk.OptionError):
        B.apply_changes(net.with_parameters({"ht.Vmax_SERT": 1.0}), {"cortisol": 300.0})
    with pytest.raises(nk.OptionError, match="ssrri"):
        B.apply_changes(net, {"ssrri": 0.8})
    with pytest.raises(nk.InvalidValueError, match="ssri"):
        B.apply_changes(net, {"ssri": 1.5})
    with pytest.raises(nk.UnknownNameError):
        B.apply_changes(pathway(), {"ssri": 0.5})


def test_intervention_table_shape_and_values():
    m = nk.models.serotonin()
    tab = B.intervention_table(m, {"SSRI": {"ssri": 0.8}, "MAOI": {"maoi": 0.5}},
                               species=["eht", "cht", "hia"], readouts=["eht_nM"],
                               as_frame=False)
    assert list(tab) == ["species", "unit", "baseline", "SSRI", "SSRI %", "MAOI", "MAOI %"]
    assert tab["species"] == ["eht", "cht", "hia", "eht_nM"]
    assert tab["unit"] == ["uM", "uM", "uM", "nM"]
    ss = nk.Simulator(nk.models.serotonin(ssri=0.8)).steady_state()
    assert tab["SSRI"][0] == pytest.approx(ss.x["eht"], rel=1e-7)
    base = tab["baseline"][0]
    assert tab["SSRI %"][0] == pytest.approx(100 * (tab["SSRI"][0] - base) / base)
    assert tab["SSRI"][3] == pytest.approx(1000 * tab["SSRI"][0])
    pd = pytest.importorskip("pandas")
    df = B.compare(nk.models.transmitter_network(), SSRI={"ssri": 0.8},
                   species=["ht.eht", "da.eda"])
    assert isinstance(df, pd.DataFrame) and df.shape == (2, 5)
    assert df["SSRI %"].iloc[0] > 0 and df["SSRI %"].iloc[1] == pytest.approx(0, abs=1e-6)
    lst = B.intervention_table(m, [{"ssri": 0.5}], species=["eht"], as_frame=False)
    assert "ssri=0.5" in lst


def test_intervention_time_course_continuity_and_approach():
    m = nk.models.serotonin()
    base = nk.Simulator(m).steady_state()
    target = nk.Simulator(nk.models.serotonin(ssri=0.8)).steady_state(initial=base.x)
    r = B.intervention_time_course(m, 5.0, 150.0, {"ssri": 0.8}, rtol=1e-8, atol=1e-14)
    assert r.success
    assert np.all(np.diff(r.t) > 0)
    assert r.t[0] == 0.0 and r.t[-1] == 150.0
    k = int(np.flatnonzero(r.t == 5.0)[0])
    # flat at balance before, continuous at the switch
    before = r.y[: k + 1]
    assert np.allclose(before, base.y[None, :], rtol=1e-6, atol=1e-12)
    # the drug acts after the switch: eht jumps up first (SERT blocked)
    i = list(r.names).index("eht")
    assert r.y[k + 1, i] > r.y[k, i]
    assert abs(r.y[k + 1, i] - r.y[k, i]) < 0.5 * abs(r.y[k, i])
    # and reaches the new balance
    assert r["eht"][-1] == pytest.approx(target.x["eht"], rel=1e-4)
    assert r.y[-1] == pytest.approx(target.y, rel=1e-4, abs=1e-9)


def test_intervention_time_course_grid_and_inputs():
    net = nk.models.transmitter_network()
    r = B.intervention_time_course(net, 2.0, 10.0, {"stress": 0.5}, points=11)
    assert r.success
    assert np.allclose(r.t, np.linspace(0, 10, 11))
    F = r["hpa.F"]
    assert np.all(F[r.t < 2.0] == 0.0) and np.all(F[r.t >= 2.0] == 0.5)
    r0 = B.intervention_time_course(net, 0.0, 1.0, {"maoi": 0.5}, t_eval=[0.5, 1.0])
    assert list(r0.t) == [0.5, 1.0]
    with pytest.raises(nk.InvalidValueError):
        B.intervention_time_course(net, 3.0, 2.0, {"ssri": 0.5})


from hypothesis import given, strategies as st  # noqa: E402


@given(st.lists(st.floats(0.2, 5.0), min_size=5, max_size=5),
       st.floats(0.5, 20.0), st.floats(0.5, 3.0))
def test_summation_theorem_property(enzymes, total, margin):
    """Sum over every rate-scaling enzyme of C^x_E is 0, for any enzyme levels and
    conserved total."""
    # a steady state exists when E2 (saturable) can carry the largest supply, E1*S/(Km1+S)
    enzymes[1] = enzymes[0] * (1.0 + margin)
    model = pathway().with_parameters(dict(zip(ENZYMES, enzymes))).with_initial(
        {"A": 0.75 * total, "B": 0.25 * total})
    sim = nk.Simulator(model)
    ss = sim.steady_state()
    assert ss.converged
    cc = B.control_coefficients(sim, parameters=ENZYMES, steady_state=ss, as_frame=False)
    sums = {}
    for t, c in zip(cc["target"], cc["coefficient"]):
        sums[t] = sums.get(t, 0.0) + c
    scale = max(abs(c) for c in cc["coefficient"])
    for t, s in sums.items():
        assert abs(s) < 1e-7 * max(scale, 1.0), (t, s)
    # the conserved total is untouched by any enzyme: sum_E dA/dE + dB/dE = 0
    raw = B.control_coefficients(sim, ["A", "B"], ENZYMES, steady_state=ss, scaled=False,
                                 as_frame=False)["coefficient"]
    for k in range(5):
        assert abs(raw[k] + raw[5 + k]) < 1e-9 * (1 + abs(raw[k]))


def test_no_default_parameters_is_a_clear_error():
    m = nk.Model.from_odes({"x": "a - b*x"}, {"x": 1.0}, {"a": 1.0, "b": 2.0})
    with pytest.raises(nk.NeurokinError, match="parameters="):
        B.control_coefficients(nk.Simulator(m))
    cc = B.control_coefficients(nk.Simulator(m), parameters=["a", "b"], as_frame=False)
    assert cc["coefficient"] == pytest.approx([1.0, -1.0])       # x = a/b
