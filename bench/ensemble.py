"""Ensemble throughput: perturbed HIRES simulations, neurokin threads vs a libRoadRunner loop.

    PYTHONPATH=python python bench/ensemble.py                 # 10,000 members, ~1 min
    PYTHONPATH=python python bench/ensemble.py --members 2000 --workers 1 2 4 --repeats 3
    PYTHONPATH=python python bench/ensemble.py --problem pollu --atol 1e-10   # another IVP

Problem: ../shared/data/ivp/hires.json (8 species).  Every parameter (the nine
rate constants k1..k9 and the source rate Oks) is multiplied by an independent
lognormal factor exp(N(0, sigma^2)), sigma 0.2, seed 2023; output at 50
evenly spaced times from 0 to t_end = 321.8122; rtol 1e-6, atol 1e-10 (the
bench/ivp.py HIRES scale: atol = rtol x 1e-4) for both tools.  ``--problem``
runs another problem of ../shared/data/ivp (same file format) with the same
protocol: all its parameters perturbed, 50 outputs to its t_end.

What is timed
-------------
* neurokin: ``sim.ensemble(params, t_eval, workers=w)`` end to end (input
  checks, chunking, threads, result array), the simulator compiled once
  before.  Reported per worker count: wall time, simulations/s, and the
  process CPU time per simulation (``time.process_time``, all threads), which
  does not depend on what else runs on the machine.
* neurokin raw: a Python loop of ``ModelRunner.run`` on one workspace: the
  scalar C integrator member by member (what ``sim.simulate`` runs) plus the
  minimum binding overhead.  The ensemble runs the lane engine instead
  (src/core/nk_ensemble.c: NK_LANES = 8 members in flight per thread, their
  right-hand sides and Newton solves evaluated together, lane-interleaved,
  bit-identical to the scalar runs); the ratio of the two is its gain.
* libRoadRunner (LLVM-compiled model, CVODE): the same ODEs as SBML rate rules
  (bench/_sbml_export.py), loaded once; per member ``rr.reset()``, ten
  ``rr.setValue``, ``rr.simulate(0, t_end, 50)``: what a user's loop pays.

The configurations run interleaved, ``--repeats`` times each, in rotating
order; the best (minimum) wall time of each is reported with the median,
since the machine's other core is often busy (the load average is printed).
CPU/wall (median over repeats) is the parallelism the run actually got: about
1.0 for one thread, up to the worker count when the cores are free; with 2
workers but CPU/wall near 1, the second core was taken by something else.
Results of 1 and w workers are compared bit for bit, and neurokin's final
states are compared with libRoadRunner's.  No assertions on speed.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
IVP = HERE.parent / ".." / "shared" / "data" / "ivp"
HIRES = IVP / "hires.json"


def load_problem(name="hires"):
    d = json.loads((IVP / f"{name}.json").read_text())
    species = list(d["species"])
    return {"species": species, "rhs": {s: d["rhs"][s] for s in species},
            "initial": {s: float(d["initial_values"][s]) for s in species},
            "parameters": {k: float(v) for k, v in d["parameters"].items()},
            "t_end": float(d["t_end"]), "name": name}


def perturbed(prob, members, sigma=0.2, seed=2023):
    rng = np.random.default_rng(seed)
    names = list(prob["parameters"])
    return {k: prob["parameters"][k] * rng.lognormal(0.0, sigma, members) for k in names}


def neurokin_setup(prob):
    import neurokin as nk
    m = nk.Model.from_odes(prob["rhs"], prob["initial"], prob["parameters"], name=prob["name"])
    return nk.Simulator(m, linear_solver="dense")


def roadrunner_setup(prob, rtol, atol):
    try:
        import roadrunner
        from _sbml_export import odes_to_sbml
    except ImportError as e:
        return None, f"not installed ({e.name})"
    roadrunner.Logger.setLevel(roadrunner.Logger.LOG_ERROR)
    rr = roadrunner.RoadRunner(odes_to_sbml(prob["rhs"], prob["initial"], prob["parameters"],
                                            prob["name"]))
    rr.timeCourseSelections = ["time"] + prob["species"]
    rr.setIntegrator("cvode")
    it = rr.getIntegrator()
    it.setValue("stiff", True)
    it.setValue("relative_tolerance", rtol)
    it.setValue("absolute_tolerance", atol)
    it.setValue("maximum_num_steps", 10 ** 6)
    return rr, ""


def timed(fn):
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    problems = sorted(p.stem for p in IVP.glob("*.json"))
    ap.add_argument("--problem", default="hires", choices=problems or ["hires"],
                    help="problem of ../shared/data/ivp (default hires)")
    ap.add_argument("--members", type=int, default=10000)
    ap.add_argument("--rr-members", type=int, default=None,
                    help="members for the libRoadRunner loop (default: all)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--points", type=int, default=50)
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--atol", type=float, default=1e-10)
    ap.add_argument("--no-roadrunner", action="store_true")
    ap.add_argument("--json", help="write the measurements here")
    args = ap.parse_args(argv)

    prob = load_problem(args.problem)
    N = args.members
    P = perturbed(prob, N)
    t_eval = np.linspace(0.0, prob["t_end"], args.points)
    sim = neurokin_setup(prob)
    opts = dict(rtol=args.rtol, atol=args.atol)
    rr, why = (None, "skipped (--no-roadrunner)") if args.no_roadrunner else \
        roadrunner_setup(prob, args.rtol, args.atol)
    n_rr = min(N, args.rr_members or N)
    names = list(prob["parameters"])

    from neurokin._core import METHODS, ModelRunner

    def raw():
        r = ModelRunner(sim._compiled, sim.linear_solver)
        p = sim._p0.copy()
        idx = [sim._pindex[k] for k in names]
        vals = np.column_stack([P[k] for k in names])
        a = sim._atol(args.atol)
        y0 = sim._y0.copy()
        last = None
        for i in range(N):
            p[idx] = vals[i]
            last = r.run(METHODS["bdf"], 0.0, prob["t_end"], y0, p, t_eval, args.rtol, a,
                         500000, 0.0, 0.0, 5, False, False)
        return last

    def rr_loop():
        out = np.empty((n_rr, len(prob["species"])))
        cols = [np.asarray(P[k][:n_rr]) for k in names]
        for i in range(n_rr):
            rr.reset()
            for k, c in zip(names, cols):
                rr.setValue(k, float(c[i]))
            res = rr.simulate(0.0, prob["t_end"], args.points)
            out[i] = res[-1, 1:]
        return out

    configs = [(f"neurokin ensemble, {w} worker{'s' if w > 1 else ''}",
                (lambda w=w: sim.ensemble(P, t_eval, workers=w, **opts)), N)
               for w in args.workers]
    configs.append(("neurokin raw ModelRunner.run loop (1 thread)", raw, N))
    if rr is not None:
        configs.append(("libRoadRunner loop (reset, setValue, simulate)", rr_loop, n_rr))

    # warm-up (untimed) and the results compared below
    results = {}
    for name, fn, _ in configs:
        results[name] = fn() if "raw" not in name else None
    wall = {name: [] for name, _, _ in configs}
    cpu = {name: [] for name, _, _ in configs}
    load = os.getloadavg()
    for rep in range(args.repeats):
        k = rep % len(configs)
        for name, fn, _ in configs[k:] + configs[:k]:
            _, w_s, c_s = timed(fn)
            wall[name].append(w_s)
            cpu[name].append(c_s)
    load_after = os.getloadavg()

    print(f"{prob['name'].upper()} ensemble: {N} members (every parameter x lognormal(0, 0.2)), "
          f"{args.points} output times to t={prob['t_end']}, rtol {args.rtol:g}, "
          f"atol {args.atol:g}; {args.repeats} interleaved repeats")
    print(f"cores usable: {len(os.sched_getaffinity(0))}; load average before "
          f"{load[0]:.2f}, after {load_after[0]:.2f}")
    print()
    hdr = f"{'configuration':<50} {'members':>8} {'best s':>8} {'median s':>9} " \
          f"{'sims/s':>9} {'CPU us/sim':>11} {'CPU/wall':>8} {'vs RR':>7}"
    print(hdr)
    print("-" * len(hdr))
    rr_name = configs[-1][0] if rr is not None else None
    rr_rate = (n_rr / min(wall[rr_name])) if rr_name else None
    table = []
    for name, _, n in configs:
        best, med = min(wall[name]), float(np.median(wall[name]))
        rate = n / best
        cpu_us = min(cpu[name]) / n * 1e6
        par = float(np.median(np.array(cpu[name]) / np.array(wall[name])))
        vs = f"{rate / rr_rate:7.1f}" if rr_rate else "      -"
        print(f"{name:<50} {n:>8} {best:>8.3f} {med:>9.3f} {rate:>9.0f} {cpu_us:>11.1f} {par:>8.2f} {vs}")
        table.append(dict(config=name, members=n, wall_s=wall[name], cpu_s=cpu[name],
                          sims_per_s=rate))
    if rr is None:
        print(f"libRoadRunner: {why}")
    print()

    # reproducibility and agreement
    ens = [results[c[0]] for c in configs if c[0].startswith("neurokin ensemble")]
    base = ens[0]
    same = all(np.array_equal(e.y, base.y) and np.array_equal(e.status, base.status)
               for e in ens[1:])
    print(f"members failed: {int(np.sum(base.status != 0))}; results identical (bit for bit) "
          f"for workers {args.workers}: {same}")
    if len(args.workers) > 1:
        w1 = configs[0][0]
        for (name, _, n), w in zip(configs[1:len(args.workers)], args.workers[1:]):
            print(f"scaling {w} workers vs 1: {min(wall[w1]) / min(wall[name]):.2f}x by best "
                  f"wall time, {np.median(wall[w1]) / np.median(wall[name]):.2f}x by median; "
                  f"CPU per simulation {min(cpu[name]) / min(cpu[w1]):.2f}x of 1 worker's")
    raw_us = min(wall[configs[len(args.workers)][0]]) / N * 1e6
    ens_us = min(wall[configs[0][0]]) / N * 1e6
    print(f"per member, 1 thread: scalar member loop {raw_us:.1f} us, lane-engine ensemble "
          f"{ens_us:.1f} us ({raw_us / ens_us:.2f}x)")
    st = sim.simulate(prob["t_end"], t_eval=t_eval, **opts).stats
    print(f"nominal member: {st['n_steps']} steps, {st['n_rhs']} rhs, {st['n_jac']} Jacobians, "
          f"{st['n_lu']} LU; {raw_us / st['n_steps']:.2f} us per step")
    if rr is not None:
        yr = results[rr_name]
        yn = base.y[:n_rr, -1, :]
        scale = np.maximum(np.abs(yr), 1e-6)
        rel = np.abs(yn - yr) / scale
        print(f"final states vs libRoadRunner ({n_rr} members): max |diff|/max(|y_rr|, 1e-6) = "
              f"{rel.max():.2e}, median {np.median(rel):.2e}")
    if args.json:
        Path(args.json).write_text(json.dumps(dict(members=N, load=[load, load_after],
                                                   table=table), indent=1))


if __name__ == "__main__":
    main()
