"""The transmitter network: neurokin vs. libRoadRunner, simulate 24 h and steady state.

    PYTHONPATH=python python bench/network.py [--repeats 21] [--json out.json]

Same model on both sides: ``nk.models.transmitter_network(**options)``
exported to SBML L3V2 (``neurokin.sbml.to_sbml`` when it is implemented, else
the private exporter ``bench/_network_sbml.py``), loaded into libRoadRunner.

Scenarios (each a model of its own):

* ``basal``: default options; the initial state is the modules' reference
  steady state, so the 24 h run is near-flat (the cheapest honest case);
* ``drugs``: ssri=0.8, maoi=0.5, stress=0.5: a real transient (SERT and MAO
  blocked, HPA drive on) over the 24 h.

Timed work per call (each side built once per scenario; no compile time in
the per-call numbers, compile time reported separately):

* simulate: neurokin ``sim.simulate(24, t_eval=grid, rtol, atol)`` vs.
  libRoadRunner ``rr.reset(); rr.simulate(0, 24, points)`` (CVODE BDF, same
  rtol/atol), with ``points`` = 2 (end state only) and 101;
* steady state: neurokin ``sim.steady_state()`` (Newton on the system reduced
  by its conservation laws, from the initial state) vs. libRoadRunner
  ``rr.reset(); rr.steadyState()`` (NLEQ2 with conserved-moiety analysis,
  from the initial state; its own presimulation fallback on).

Calls are interleaved round-robin with the garbage collector paused; the
reported time is the median; "ratio" = libRoadRunner / neurokin of the
medians (> 1: neurokin faster; the target is >= 2), "(min)" the same of the
fastest calls (steadier on a loaded machine).  Agreement: max relative difference of
the final (simulate) or steady states over species, |a - b| / max(|b|, 1e-9).
The script reports, it never asserts.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

SCENARIOS = {"basal": {}, "drugs": {"ssri": 0.8, "maoi": 0.5, "stress": 0.5}}


def export(model):
    """(sbml text, which exporter)."""
    try:
        from neurokin.sbml import to_sbml
        return to_sbml(model), "neurokin.sbml.to_sbml"
    except (ImportError, NotImplementedError):
        from _network_sbml import to_sbml
        return to_sbml(model), "bench/_network_sbml.py (neurokin.sbml.to_sbml not available)"


def sbml_id(model, name: str) -> str:
    """The SBML id of a species (the neurokin exporter's or the private one's)."""
    return name.replace(".", "__")


def steady_state_runner(sbml, ids):
    """A libRoadRunner instance for steady states: conserved-moiety analysis
    on (it regenerates the model and resets selections, so it gets an
    instance of its own), its presimulation allowed, the species selected."""
    import roadrunner
    rr = roadrunner.RoadRunner(sbml)
    rr.conservedMoietyAnalysis = True
    try:
        rr.steadyStateSolver.allow_presimulation = True
    except Exception:   # noqa: BLE001 - option name differs across versions
        pass
    rr.steadyStateSelections = [f"[{i}]" for i in ids]
    return rr


def timed(fn):
    gc.disable()
    try:
        t0 = time.perf_counter()
        out = fn()
        return time.perf_counter() - t0, out
    finally:
        gc.enable()


def run_scenario(name, options, repeats, rtol, atol, points_list, linear_solver="auto"):
    import roadrunner
    import neurokin as nk

    model = nk.models.transmitter_network(**options)
    sbml, exporter = export(model)
    t0 = time.perf_counter()
    sim = nk.Simulator(model, linear_solver=linear_solver)
    t_nk_compile = time.perf_counter() - t0
    t0 = time.perf_counter()
    rr = roadrunner.RoadRunner(sbml)
    t_rr_load = time.perf_counter() - t0
    rr.integrator = "cvode"
    rr.integrator.relative_tolerance = rtol
    rr.integrator.absolute_tolerance = atol
    rr.integrator.stiff = True
    rr.integrator.maximum_num_steps = 500000
    ids = [sbml_id(model, s) for s in sim.names]
    rr.timeCourseSelections = ["time"] + [f"[{i}]" for i in ids]
    rr_ss_inst = steady_state_runner(sbml, ids)  # the simulate instance stays without CMA

    cells = {}
    for pts in points_list:
        grid = np.linspace(0.0, 24.0, pts)

        def nk_sim(grid=grid):
            r = sim.simulate(24.0, t_eval=grid, rtol=rtol, atol=atol)
            return r.y[-1].copy(), r.success, r.stats["n_steps"]

        def rr_sim(pts=pts):
            rr.reset()
            res = rr.simulate(0.0, 24.0, pts)
            return np.array(res)[-1, 1:].copy(), True, None

        cells[f"simulate 24 h, {pts} points"] = (nk_sim, rr_sim)

    def nk_ss():
        ss = sim.steady_state()
        return np.asarray(ss.y).copy(), bool(ss.converged), ss.iterations

    def rr_ss():
        rr_ss_inst.reset()
        try:
            rr_ss_inst.steadyState()
        except Exception as exc:   # noqa: BLE001 - report, do not stop
            return None, False, str(exc).splitlines()[0]
        return np.array(rr_ss_inst.getSteadyStateValues()).copy(), True, None

    cells["steady state"] = (nk_ss, rr_ss)

    results = {}
    for cell, (f_nk, f_rr) in cells.items():
        warm_nk, warm_rr = f_nk(), f_rr()         # warm-up, and the states compared
        times = {"neurokin": [], "libRoadRunner": []}
        for k in range(repeats):
            order = (("neurokin", f_nk), ("libRoadRunner", f_rr))
            if k % 2:
                order = order[::-1]
            for who, fn in order:
                dt, _ = timed(fn)
                times[who].append(dt)
        a, b = warm_rr[0], warm_nk[0]
        agree = (float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-9)))
                 if a is not None else float("nan"))
        med = {k: statistics.median(v) for k, v in times.items()}
        best = {k: min(v) for k, v in times.items()}
        results[cell] = dict(
            neurokin_s=med["neurokin"], roadrunner_s=med["libRoadRunner"],
            ratio=med["libRoadRunner"] / med["neurokin"],
            ratio_min=best["libRoadRunner"] / best["neurokin"], max_rel_diff=agree,
            neurokin_ok=warm_nk[1], roadrunner_ok=warm_rr[1],
            roadrunner_note=warm_rr[2] if isinstance(warm_rr[2], str) else "",
            times=times)
    return dict(scenario=name, options=options, exporter=exporter,
                linear_solver=sim.linear_solver,
                n_species=len(sim.names), n_reactions=len(model.reactions),
                neurokin_compile_s=t_nk_compile, roadrunner_load_s=t_rr_load,
                cells=results)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=21)
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--atol", type=float, default=1e-12)
    ap.add_argument("--points", type=int, nargs="+", default=[2, 101])
    ap.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=list(SCENARIOS))
    ap.add_argument("--linear-solver", default="auto", choices=("auto", "dense", "sparse"),
                    help="neurokin's Newton linear solver (default auto: the library's choice)")
    ap.add_argument("--json", default=None, help="write every measurement here")
    args = ap.parse_args(argv)
    try:
        import roadrunner
    except ImportError:
        print("libRoadRunner is not installed (pip install libroadrunner python-libsbml): "
              "nothing to compare")
        return 0
    import neurokin as nk
    print(f"neurokin {nk.__version__} vs libRoadRunner {roadrunner.__version__}; "
          f"rtol {args.rtol:g}, atol {args.atol:g}; median of {args.repeats} interleaved "
          f"calls")
    allres = []
    for name in args.scenarios:
        res = run_scenario(name, SCENARIOS[name], args.repeats, args.rtol, args.atol,
                           args.points, args.linear_solver)
        allres.append(res)
        opts = ", ".join(f"{k}={v}" for k, v in res["options"].items()) or "default options"
        print(f"\n== {name} ({opts}): {res['n_species']} species, {res['n_reactions']} "
              f"reactions; SBML by {res['exporter']}")
        print(f"   neurokin linear solver: {res['linear_solver']}")
        print(f"   compile: neurokin Simulator {res['neurokin_compile_s'] * 1e3:.1f} ms, "
              f"libRoadRunner load {res['roadrunner_load_s'] * 1e3:.1f} ms")
        print(f"   {'call':<28}{'neurokin':>12}{'RoadRunner':>12}{'ratio':>8}  "
              f"{'max rel diff':>12}  target")
        for cell, c in res["cells"].items():
            flag = "GOAL" if c["ratio"] >= 2 else ("ok" if c["ratio"] >= 1 else "MISS")
            note = ""
            if not c["roadrunner_ok"]:
                note = f"  RoadRunner failed: {c['roadrunner_note']}"
            if not c["neurokin_ok"]:
                note += "  neurokin failed"
            print(f"   {cell:<28}{c['neurokin_s'] * 1e3:10.3f}ms"
                  f"{c['roadrunner_s'] * 1e3:10.3f}ms{c['ratio']:7.1f}x{c['ratio_min']:6.1f}x"
                  f"  {c['max_rel_diff']:12.2e}  {flag}{note}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(allres, fh, indent=1, default=float)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
