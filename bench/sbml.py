#!/usr/bin/env python3
"""SBML models: neurokin vs libRoadRunner, load + compile and simulate, side by side.

    python bench/sbml.py                     # BioModels + multistate, multisite2, egfr_net
    python bench/sbml.py --large             # + BCR and fceri_gamma2 (neurokin only;
                                             #   add --rr-large for libRoadRunner: ~1 h load)
    python bench/sbml.py --repeats 5 --json out.json --models BIOMD0000000002 egfr_net

Models: every ../shared/data/biomodels/*.xml (simulated on its reference grid, 501 points,
rtol 1e-8, atol 1e-12; the max error against the reference CSV is reported as well) and the
networks of ../shared/data/networks (output at 0 and t_end; rtol 1e-6, atol 1e-9 as in the
Catalyst paper; t_end = the SciMLBenchmarks span).

Timed, per contender:
  load      neurokin: nk.sbml.load_sbml(path) + nk.Simulator(model) (parse, build, compile);
            libRoadRunner: roadrunner.RoadRunner(path) (parse, code generation, LLVM JIT)
  simulate  median of --repeats runs; neurokin: sim.simulate(...) (tolerances per state from
            nk.sbml.default_atol); libRoadRunner: rr.reset(); rr.simulate(0, t_end, points)
            (CVODE BDF, its default dense solver)
Ratios: rr / neurokin (> 1 means neurokin is faster).  Targets (issue 5): load+compile at
least 3x faster than libRoadRunner's load, simulate at least as fast.

This script reports; it asserts nothing.
"""
from __future__ import annotations

import argparse
import csv
import gc
import json
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"
NETWORKS = {  # file, t_end (SciMLBenchmarks spans; BCR's 1e5 shortened to 100)
    "multistate": ("multistate_no_obs.xml", 20.0),
    "multisite2": ("multisite2_no_obs.xml", 2.0),
    "egfr_net": ("egfr_net_no_obs.xml", 10.0),
    "BCR": ("BCR_no_obs.converted.xml.gz", 100.0),
    "fceri_gamma2": ("fceri_gamma2_no_obs.converted.xml.gz", 150.0),
}
LARGE = {"BCR", "fceri_gamma2"}


def _timed(fn):
    gc_was = gc.isenabled()
    gc.disable()
    try:
        t = time.perf_counter()
        out = fn()
        return time.perf_counter() - t, out
    finally:
        if gc_was:
            gc.enable()


def cases(selected, large):
    out = []
    bm = DATA / "biomodels"
    if (bm / "index.csv").exists():
        with open(bm / "index.csv", newline="") as fh:
            for r in csv.DictReader(fh):
                ref = np.loadtxt(bm / f"{r['model_id']}.csv", delimiter=",", skiprows=1)
                out.append({"name": r["model_id"], "path": bm / f"{r['model_id']}.xml",
                                "t_eval": ref[:, 0], "ref": ref, "ref_csv": bm / f"{r['model_id']}.csv",
                                "rtol": 1e-8, "atol": 1e-12, "kind": "biomodel"})
    for name, (fname, t_end) in NETWORKS.items():
        if name in LARGE and not large:
            continue
        p = DATA / "networks" / fname
        if p.exists():
            out.append({"name": name, "path": p, "t_eval": np.array([0.0, t_end]), "ref": None,
                            "rtol": 1e-6, "atol": 1e-9, "kind": "network"})
    if selected:
        out = [c for c in out if c["name"] in selected]
    return out


def _ref_error(case, r, model):
    from neurokin import sbml
    with open(case["ref_csv"], newline="") as fh:
        header = next(csv.reader(fh))
    ref = case["ref"]
    worst = 0.0
    for j, col in enumerate(header[1:], start=1):
        if col.startswith("["):
            got = sbml.concentration(r, col[1:-1], model)
        else:
            got = sbml.column(r, col, model)
        err = np.abs(got - ref[:, j]) / (1e-4 * np.abs(ref[:, j]) + 1e-10)
        worst = max(worst, float(err.max()))
    return worst


def bench_neurokin(case, repeats):
    import neurokin as nk
    from neurokin import sbml
    big = case["kind"] == "network"
    t_load, model = _timed(lambda: sbml.load_sbml(case["path"], observables=not big))
    t_comp, sim = _timed(lambda: nk.Simulator(model))
    atol = sbml.default_atol(model, case["atol"])
    te = case["t_eval"]

    def run():
        return sim.simulate(float(te[-1]), t_eval=te, rtol=case["rtol"], atol=atol)

    r = run()   # warm-up (and accuracy)
    times = [_timed(run)[0] for _ in range(repeats)]
    out = {"load_s": t_load, "compile_s": t_comp, "load_compile_s": t_load + t_comp,
               "sim_s": statistics.median(times), "n_steps": r.stats.get("n_steps"),
               "success": bool(r.success), "n_states": len(model.species)}
    if case["ref"] is not None:
        out["max_scaled_err"] = _ref_error(case, r, model)
    return out


def bench_roadrunner(case, repeats):
    try:
        import roadrunner
    except ImportError:
        return {"error": "not installed"}
    path = case["path"]
    if str(path).endswith(".gz"):
        import gzip
        with gzip.open(path, "rt") as fh:
            text = fh.read()
        t_load, rr = _timed(lambda: roadrunner.RoadRunner(text))
    else:
        t_load, rr = _timed(lambda: roadrunner.RoadRunner(str(path)))
    rr.integrator.relative_tolerance = case["rtol"]
    rr.integrator.absolute_tolerance = case["atol"]
    te = case["t_eval"]
    even = len(te) == 2 or np.allclose(np.diff(te), te[1] - te[0])

    def run():
        rr.reset()
        if even:
            return rr.simulate(float(te[0]), float(te[-1]), len(te))
        return rr.simulate(times=list(map(float, te)))

    try:
        run()
        times = [_timed(run)[0] for _ in range(repeats)]
    except Exception as exc:  # noqa: BLE001 - a benchmark reports, never fails
        return {"load_s": t_load, "error": f"{type(exc).__name__}: {exc}"[:120]}
    return {"load_s": t_load, "sim_s": statistics.median(times)}


_TINY = """<?xml version="1.0" encoding="UTF-8"?>
<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2">
 <model id="warm"><listOfCompartments><compartment id="c" size="1" constant="true"/>
 </listOfCompartments><listOfSpecies><species id="A" compartment="c" initialConcentration="1"
 hasOnlySubstanceUnits="false" boundaryCondition="false" constant="false"/></listOfSpecies>
 <listOfParameters><parameter id="k" value="1" constant="true"/></listOfParameters>
 <listOfReactions><reaction id="J" reversible="false"><listOfReactants><speciesReference
 species="A" stoichiometry="1" constant="true"/></listOfReactants><kineticLaw><math
 xmlns="http://www.w3.org/1998/Math/MathML"><apply><times/><ci>k</ci><ci>A</ci></apply>
 </math></kineticLaw></reaction></listOfReactions></model></sbml>"""


def _warm_up(rr):
    """Imports and first-call costs are not load times: pay them once here."""
    import neurokin as nk
    from neurokin import sbml
    nk.Simulator(sbml.load_sbml(_TINY)).simulate(1.0)
    if rr:
        try:
            import roadrunner
            roadrunner.RoadRunner(_TINY).simulate(0, 1, 2)
        except ImportError:
            pass


def _f(x, spec=".4f"):
    return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, spec)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--models", nargs="*")
    ap.add_argument("--large", action="store_true", help="also BCR and fceri_gamma2")
    ap.add_argument("--rr-large", action="store_true",
                    help="libRoadRunner on BCR / fceri_gamma2 too (load takes ~20-60 min)")
    ap.add_argument("--no-roadrunner", action="store_true")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    _warm_up(not a.no_roadrunner)
    rows = []
    hdr = (f"{'model':18s} {'states':>6s} {'nk load+compile':>15s} {'rr load':>9s} "
           f"{'ratio':>6s} {'nk sim':>9s} {'rr sim':>9s} {'ratio':>6s} {'nk steps':>8s} "
           f"{'err/tol':>8s}")
    print(hdr)
    print("-" * len(hdr))
    for case in cases(a.models, a.large):
        nk_ = bench_neurokin(case, a.repeats)
        if a.no_roadrunner or (case["name"] in LARGE and not a.rr_large):
            rr = {"error": "skipped"}
        else:
            rr = bench_roadrunner(case, a.repeats)
        load_ratio = (rr.get("load_s", math.nan) / nk_["load_compile_s"])
        sim_ratio = rr.get("sim_s", math.nan) / nk_["sim_s"] if nk_["sim_s"] else math.nan
        rows.append({"model": case["name"], "neurokin": nk_, "roadrunner": rr,
                         "load_ratio": load_ratio, "sim_ratio": sim_ratio})
        print(f"{case['name']:18s} {nk_['n_states']:6d} {_f(nk_['load_compile_s']):>15s} "
              f"{_f(rr.get('load_s')):>9s} {_f(load_ratio, '.1f'):>6s} "
              f"{_f(nk_['sim_s'], '.5f'):>9s} {_f(rr.get('sim_s'), '.5f'):>9s} "
              f"{_f(sim_ratio, '.2f'):>6s} {nk_['n_steps'] or 0:8d} "
              f"{_f(nk_.get('max_scaled_err'), '.3g'):>8s}"
              + ("" if nk_["success"] else "  FAILED")
              + (f"  rr: {rr['error']}" if "error" in rr else ""))
    print("\nratio = libRoadRunner time / neurokin time (> 1: neurokin faster); "
          "err/tol: max |nk - ref| / (1e-4 |ref| + 1e-10) against the reference CSV")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1, default=float))
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "python"))
    main()
