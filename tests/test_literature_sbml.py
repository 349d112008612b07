"""The HPA module against the curated SBML of the paper it implements.

../shared/data/literature-sbml holds Gupta et al. 2007 (TBMM 4:8) as
BioModels MODEL1006230111 (model A, one stress pulse) and MODEL1006230036
(model B, five pulses); its README finds no defect in them.  The files are
dimensionless (time in tau); the module runs in hours through ``tau_to_h``,
so it is compared with ``tau_to_h = 1``, driven by the same stress pulses,
both simulated by neurokin (the SBML through neurokin's own importer).
"""
from __future__ import annotations

import numpy as np
import pytest

import neurokin as nk
from conftest import shared_path

pytest.importorskip("libsbml")

# the pulse trains of the files' assignment rule f (checked against f below)
PULSES = {
    "MODEL1006230111.xml": [(0.0, 1.0)],
    "MODEL1006230036.xml": [(0.0, 1.0), (4.0, 5.0), (8.0, 9.0), (12.0, 13.0), (16.0, 17.0)],
}
STATES = ["c", "a", "r", "o"]


def module_with_pulses(initial: dict, pulses, t_eval):
    """The module (tau_to_h = 1) from `initial`, F = 1 inside the pulses."""
    m = nk.models.hpa_axis().with_parameters({"tau_to_h": 1.0})
    sim = nk.Simulator(m)
    edges = sorted({0.0, float(t_eval[-1])} | {e for p in pulses for e in p})
    state = {**initial, "F": 0.0}
    rows = []
    for t0, t1 in zip(edges[:-1], edges[1:]):
        on = any(a <= t0 and t1 <= b for a, b in pulses)
        state["F"] = 1.0 if on else 0.0
        inside = t_eval[(t_eval >= t0) & (t_eval < t1)]
        r = sim.simulate(t1, t_start=t0, t_eval=np.concatenate([inside, [t1]]),
                         initial=state, rtol=1e-11, atol=1e-14)
        assert r.success, r.message
        rows.append(np.column_stack([r[s][:-1] for s in STATES]))
        state = {**{s: max(r[s][-1], 0.0) for s in STATES}, "F": state["F"]}
    rows.append(np.array([[state[s] for s in STATES]]))
    return np.vstack(rows)


@pytest.mark.parametrize("filename", sorted(PULSES))
def test_hpa_module_matches_gupta_2007_sbml(filename):
    sbml = nk.load_sbml(str(shared_path("data", "literature-sbml", filename)))
    assert sbml.species_names == STATES
    module = nk.models.hpa_axis()
    # the module's kinetic constants are the file's
    for k in ("ki1", "ki2", "kcd", "kad", "k", "kcr", "krd"):
        assert module.parameters[k] == pytest.approx(sbml.parameters[k], rel=1e-12), k
    t_eval = np.linspace(0.0, 40.0, 401)
    ref = nk.Simulator(sbml).simulate(40.0, t_eval=t_eval, rtol=1e-11, atol=1e-14)
    assert ref.success, ref.message
    # the pulse table above is the file's f
    on = np.array([any(a < t < b for a, b in PULSES[filename]) for t in t_eval])
    interior = np.array([all(abs(t - e) > 1e-9 for p in PULSES[filename] for e in p)
                         for t in t_eval])
    np.testing.assert_array_equal(ref["f"][interior], on[interior].astype(float))
    ours = module_with_pulses({s: sbml.initial[s] for s in STATES}, PULSES[filename], t_eval)
    expected = np.column_stack([ref[s] for s in STATES])
    np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-9)
