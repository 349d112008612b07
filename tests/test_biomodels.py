"""Curated BioModels (../shared/data/biomodels) against their reference trajectories.

Each model is loaded from its curated SBML file, simulated on the reference
time grid, and every reference value C (``[id]`` = concentration, plain ids
= rate-rule parameters or compartments) must be matched within
``|U - C| <= 1e-4 |C| + 1e-10``.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "biomodels"
RTOL_CHECK, ATOL_CHECK = 1e-4, 1e-10


def _models():
    index = DATA / "index.csv"
    if not index.exists():
        return []
    with open(index, newline="") as fh:
        return [r["model_id"] for r in csv.DictReader(fh)]


def compare(model_id: str, rtol: float = 1e-10, atol: float = 1e-14, method: str = "bdf"):
    """(max scaled error, worst column, result) of one model vs its reference."""
    import neurokin as nk
    from neurokin import sbml

    with open(DATA / f"{model_id}.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    ref = np.array([[float(x) for x in r] for r in rows[1:] if r])
    model = sbml.load_sbml(DATA / f"{model_id}.xml")
    sim = nk.Simulator(model)
    t = ref[:, 0]
    r = sim.simulate(float(t[-1]), t_eval=t, rtol=rtol, atol=sbml.default_atol(model, atol),
                     method=method)
    assert r.success, r.message
    worst, where = 0.0, None
    for j, col in enumerate(header[1:], start=1):
        if col.startswith("[") and col.endswith("]"):
            got = sbml.concentration(r, col[1:-1], model)
        else:
            got = sbml.column(r, col, model)
        err = np.abs(got - ref[:, j]) / (RTOL_CHECK * np.abs(ref[:, j]) + ATOL_CHECK)
        k = int(np.argmax(err))
        if err[k] > worst:
            worst, where = float(err[k]), (col, float(t[k]), float(got[k]), float(ref[k, j]))
    return worst, where, r


@pytest.mark.skipif(not _models(), reason="../shared/data/biomodels is not present")
@pytest.mark.parametrize("model_id", _models() or ["none"])
def test_biomodel_matches_reference(model_id):
    pytest.importorskip("libsbml")
    worst, where, _ = compare(model_id)
    assert worst <= 1.0, (f"{model_id}: worst scaled error {worst:.3g} at "
                          f"(column, t, neurokin, reference) = {where}")


# -- large benchmark networks (../shared/data/networks) --------------------------------
NETWORKS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "networks"
_NETS = [("multistate_no_obs.xml", 20.0), ("multisite2_no_obs.xml", 2.0),
         ("egfr_net_no_obs.xml", 10.0),
         pytest.param("BCR_no_obs.converted.xml.gz", 100.0, marks=pytest.mark.slow),
         pytest.param("fceri_gamma2_no_obs.converted.xml.gz", 150.0, marks=pytest.mark.slow)]
# the two large networks run to t=10 by default (loading their 18 and 39 MB of
# SBML is most of the ~10 and ~20 s); NEUROKIN_SLOW=1 runs the spans above


@pytest.mark.parametrize("fname,t_end", _NETS)
def test_network_loads_and_simulates(fname, t_end):
    """Each network loads and simulates (mass action: amounts stay >= 0 up to
    the tolerance, and mass is neither created nor lost in total)."""
    pytest.importorskip("libsbml")
    import os
    if "converted" in fname and not os.environ.get("NEUROKIN_SLOW"):
        t_end = 10.0
    path = NETWORKS / fname
    if not path.exists():
        pytest.skip(f"{path} is not present")
    import neurokin as nk
    from neurokin import sbml
    m = sbml.load_sbml(path, observables=False)
    r = nk.Simulator(m).simulate(t_end, t_eval=[0.0, t_end], rtol=1e-6,
                                 atol=sbml.default_atol(m, 1e-9))
    assert r.success, r.message
    assert np.all(np.isfinite(r.y))
    assert r.y[-1].min() > -1e-6 * max(1.0, float(np.abs(r.y[0]).max()))


_LAW_NETS = [("multisite2_no_obs", "multisite2_no_obs.xml"),
             ("egfr_net_no_obs", "egfr_net_no_obs.xml"),
             ("BCR_no_obs", "BCR_no_obs.converted.xml.gz")]


@pytest.mark.parametrize("stem,fname", _LAW_NETS)
def test_network_conservation_laws_exact_and_numerical_agree(stem, fname):
    """The same network two ways: read from BioNetGen's .net as reactions
    (laws exact, from the stoichiometry: a sparse elimination, where a dense
    one over BCR's 24,388 reactions ran for many minutes) and from its SBML as
    ODEs (laws numerical, from sampled Jacobians).  Both give the same laws."""
    pytest.importorskip("libsbml")
    net, xml = NETWORKS / f"{stem}.net", NETWORKS / fname
    if not (net.exists() and xml.exists()):
        pytest.skip(f"{net} or {xml} is not present")
    import sys
    import neurokin as nk
    from neurokin import sbml
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    try:
        from _bngl import read_net
    finally:
        sys.path.pop(0)
    exact = nk.Simulator(read_net(net)).conservation_laws()
    m = sbml.load_sbml(xml, observables=False)
    numerical = nk.Simulator(m).conservation_laws()
    assert len(exact) > 0
    assert list(numerical.names) == list(exact.names)
    np.testing.assert_allclose(numerical.matrix, exact.matrix, atol=1e-8)
