#!/usr/bin/env python3
"""Benchmark neurokin against its peers on the stiff IVP test problems.

    python bench/ivp.py                 # default run (a few minutes at most)
    python bench/ivp.py --full          # scipy with full repeats too
    python bench/ivp.py --repeats 11 --json out.json --problems ROBER HIRES

Problems: every ../shared/data/ivp/*.json (relative to the repository root), at
rtol 1e-4, 1e-6, 1e-8, 1e-10 with atol = rtol * scale (scale 1e-6 for ROBER and POLLU,
1e-4 for HIRES).  Contenders: neurokin bdf and radau5, SciPy solve_ivp BDF / Radau / LSODA
(analytic Jacobian), SUNDIALS CVODE via scikit-sundae (BDF, dense, analytic Jacobian) and
libRoadRunner (CVODE, the same ODEs written as SBML rate rules).  Runs are interleaved
round-robin; times are medians.  See bench/README.md for the meaning of every column.

This script reports; it asserts nothing about speed.  A missing peer is listed as
"not installed" and skipped.
"""
from __future__ import annotations

import argparse
import gc
import json
import math
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _peers as P  # noqa: E402

RTOLS = (1e-4, 1e-6, 1e-8, 1e-10)
SCIPY_DEFAULT_REPEATS = 3       # scipy is 100-1000x slower; --full gives it the full count
TARGET_SPEED, GOAL_SPEED = 1.0, 2.0          # x libRoadRunner
TARGET_NFEV = 1.3                            # neurokin nfev / CVODE nfev at same accuracy
TARGET_CALL_US, GOAL_CALL_US = 20.0, 10.0
TARGET_COMPILE_MS = 5.0


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _timed(run):
    gc_was = gc.isenabled()
    gc.disable()
    try:
        t = time.perf_counter()
        out = run()
        dt = time.perf_counter() - t
    finally:
        if gc_was:
            gc.enable()
    return dt, out


def _fmt(x, spec, width):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-".rjust(width)
    return format(x, spec).rjust(width)


def _int(x):
    return None if x is None else int(x)


def _err(exc):
    msg = f"{type(exc).__name__}: {exc}"
    return msg if len(msg) < 160 else msg[:157] + "..."


# ---------------------------------------------------------------------------
# IVP runs
# ---------------------------------------------------------------------------
def bench_problem(problem, contenders, rtols, repeats, scipy_repeats):
    """All (contender, rtol) cells of one problem, interleaved run by run."""
    cells = []
    for rtol in rtols:
        atol = rtol * problem.atol_scale
        for c in contenders:
            cell = {"problem": problem.name, "contender": c.name, "family": c.family,
                    "rtol": rtol, "atol": atol, "times_s": [], "error": None}
            cell["repeats"] = scipy_repeats if c.slow else repeats
            if not c.available:
                cell["error"] = c.reason
            else:
                try:
                    cell["_run"] = c.prepare(problem, rtol, atol)
                    _, (y, stats, ok) = _timed(cell["_run"])         # warm-up, checked
                    cell.update(y_final=[float(v) for v in y], success=ok,
                                digits=P.digits(y, problem.ref),
                                **{k: _int(stats.get(k)) for k in ("steps", "nfev", "njev", "nlu")})
                except Exception as exc:                            # report, never crash
                    cell["error"] = _err(exc)
                    cell.pop("_run", None)
            cells.append(cell)
    live = [c for c in cells if "_run" in c]
    for rep in range(max([c["repeats"] for c in live], default=0)):
        order = live[rep % len(live):] + live[:rep % len(live)]   # rotate the start each round
        for cell in order:
            if rep < cell["repeats"] and "_run" in cell:
                try:
                    dt, _ = _timed(cell["_run"])
                    cell["times_s"].append(dt)
                except Exception as exc:
                    cell["error"] = _err(exc)
                    cell.pop("_run")
    for cell in cells:
        cell.pop("_run", None)
        cell["median_s"] = statistics.median(cell["times_s"]) if cell["times_s"] else None
    _add_ratios(cells)
    return cells


def _find(cells, family_or_name, rtol, by="family"):
    for c in cells:
        if c[by] == family_or_name and c["rtol"] == rtol and c.get("median_s") is not None:
            return c
    return None


def _add_ratios(cells):
    for c in cells:
        rr = _find(cells, "roadrunner", c["rtol"])
        cv = _find(cells, "cvode", c["rtol"])
        c["rr_time_ratio"] = (rr["median_s"] / c["median_s"]
                              if rr and c.get("median_s") else None)
        c["cvode_nfev_ratio"] = (cv["nfev"] / c["nfev"]
                                 if cv and cv.get("nfev") and c.get("nfev") else None)


HEADER = (f"{'contender':<16}{'rtol':>7}{'time ms':>10}{'digits':>8}{'steps':>8}{'nfev':>8}"
          f"{'njev':>7}{'nlu':>7}{'RR/t':>8}{'CVnfev/nfev':>13}  note")


def print_table(problem, cells, out=print):
    out(f"\n=== {problem.name}  ({problem.n} states, t {problem.t0:g} -> {problem.t_end:g}, "
        f"atol = rtol * {problem.atol_scale:g}) ===")
    out(HEADER)
    out("-" * len(HEADER))
    last = None
    for c in sorted(cells, key=lambda c: (-c["rtol"],)):
        if last is not None and c["rtol"] != last:
            out("")
        last = c["rtol"]
        note = ""
        if c.get("error"):
            note = c["error"]
        elif not c.get("success", True):
            note = "FAILED (did not reach t_end)"
        else:
            if c["family"] == "scipy" and len(c["times_s"]) < 5:
                note = f"n={len(c['times_s'])}"
            if c["family"] in ("scipy", "cvode") and problem.jac is None:
                note = (note + " " if note else "") + "finite-difference Jacobian (no sympy)"
        out(f"{c['contender']:<16}{c['rtol']:>7.0e}"
            f"{_fmt(None if c.get('median_s') is None else c['median_s'] * 1e3, '.3f', 10)}"
            f"{_fmt(c.get('digits'), '.2f', 8)}{_fmt(c.get('steps'), 'd', 8)}"
            f"{_fmt(c.get('nfev'), 'd', 8)}{_fmt(c.get('njev'), 'd', 7)}{_fmt(c.get('nlu'), 'd', 7)}"
            f"{_fmt(c.get('rr_time_ratio'), '.2f', 8)}{_fmt(c.get('cvode_nfev_ratio'), '.2f', 13)}"
            f"  {note}")


def _cvode_nfev_at(cells, digits):
    """CVODE (sundae) nfev at a given accuracy: piecewise-linear in (digits, log nfev) over
    its runs at all rtols; extrapolated from the end segment outside (flagged)."""
    pts = sorted((c["digits"], math.log(c["nfev"])) for c in cells
                 if c["family"] == "cvode" and c.get("nfev") and c.get("digits") is not None
                 and math.isfinite(c["digits"]))
    if len(pts) < 2 or not math.isfinite(digits):
        return None, False
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    if xs[0] <= digits <= xs[-1]:
        return math.exp(float(np.interp(digits, xs, ys))), False
    i = 0 if digits < xs[0] else len(xs) - 2
    if xs[i + 1] == xs[i]:
        return None, True
    slope = (ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i])
    return math.exp(ys[i] + slope * (digits - xs[i])), True


def summarize(problem, cells, rtols):
    rows = []
    for rtol in rtols:
        rr = _find(cells, "roadrunner", rtol)
        cv = _find(cells, "cvode", rtol)
        nks = [c for c in cells if c["family"] == "neurokin" and c["rtol"] == rtol
               and c.get("median_s") is not None and c.get("success")]
        row = {"problem": problem.name, "rtol": rtol,
               "rr_digits": rr and rr["digits"], "rr_ms": rr and rr["median_s"] * 1e3,
               "cvode_nfev": cv and cv.get("nfev"), "cvode_digits": cv and cv.get("digits")}
        if nks:
            if rr:
                ok = [c for c in nks if c["digits"] >= rr["digits"]]
                pick = min(ok, key=lambda c: c["median_s"]) if ok else max(nks, key=lambda c: c["digits"])
                row.update(best=pick["contender"], best_digits=pick["digits"],
                           best_ms=pick["median_s"] * 1e3, reaches_rr_digits=bool(ok),
                           speedup_vs_rr=rr["median_s"] / pick["median_s"])
                row["speed_target_met"] = bool(ok) and row["speedup_vs_rr"] >= TARGET_SPEED
                row["speed_goal_met"] = bool(ok) and row["speedup_vs_rr"] >= GOAL_SPEED
            nf = {}
            for c in nks:
                m = c["contender"].split()[-1]
                same_rtol = c["nfev"] / cv["nfev"] if cv and cv.get("nfev") else None
                ref, extrap = _cvode_nfev_at(cells, c["digits"])
                nf[m] = {"nfev": c["nfev"], "digits": c["digits"],
                         "vs_cvode_same_rtol": same_rtol,
                         "cvode_nfev_same_digits": ref, "extrapolated": extrap,
                         "vs_cvode_same_digits": c["nfev"] / ref if ref else None}
            row["nfev"] = nf
        rows.append(row)
    return rows


def print_summary(rows, out=print):
    out("\n=== Summary: neurokin vs libRoadRunner (time) and vs CVODE/sundae (RHS evaluations) ===")
    out(f"speed: fastest neurokin method reaching >= libRoadRunner's digits; target >= "
        f"{TARGET_SPEED:g}x, goal {GOAL_SPEED:g}x.  nfev: neurokin / CVODE at the same rtol and "
        f"at the same achieved digits\n(CVODE's nfev interpolated in log over its rtol sweep; "
        f"'~' = extrapolated); target <= {TARGET_NFEV:g}x.")
    h = (f"{'problem':<7}{'rtol':>7}{'RR dig':>8}{'RR ms':>8}  {'best neurokin':<16}{'dig':>6}"
         f"{'ms':>8}{'xRR':>7}  {'speed':<7}  {'bdf nfev/CV rtol|digits':<26}{'radau5 nfev/CV rtol|digits':<27}")
    out(h)
    out("-" * len(h))
    for r in rows:
        if "best" in r:
            verdict = ("GOAL" if r["speed_goal_met"] else "ok" if r["speed_target_met"]
                       else "MISS" if r["reaches_rr_digits"] else "MISS*")
            best = (f"{r['best']:<16}{r['best_digits']:>6.2f}{r['best_ms']:>8.3f}"
                    f"{r['speedup_vs_rr']:>7.2f}  {verdict:<7}")
        else:
            best = f"{'(no libRoadRunner or neurokin)':<44}"
        nfs = []
        for m in ("bdf", "radau5"):
            d = (r.get("nfev") or {}).get(m)
            if not d or d["vs_cvode_same_rtol"] is None:
                nfs.append("-")
                continue
            sd = d["vs_cvode_same_digits"]
            flag = "" if sd is None else ("~" if d["extrapolated"] else "")
            verdict = "" if sd is None else (" ok" if sd <= TARGET_NFEV else " MISS")
            nfs.append(f"{d['vs_cvode_same_rtol']:.2f} | {flag}{'-' if sd is None else format(sd, '.2f')}{verdict}")
        out(f"{r['problem']:<7}{r['rtol']:>7.0e}{_fmt(r['rr_digits'], '.2f', 8)}"
            f"{_fmt(r['rr_ms'], '.3f', 8)}  {best}  {nfs[0]:<26}{nfs[1]:<27}")
    out("MISS* = no neurokin method reached libRoadRunner's digits (the most accurate one shown).")


# ---------------------------------------------------------------------------
# per-call overhead
# ---------------------------------------------------------------------------
DECAY = {"rhs": {"x": "-k*x"}, "initial": {"x": 1.0}, "parameters": {"k": 1.0}}


def bench_overhead(contenders, calls, batches, rtol=1e-6, atol=1e-9):
    """µs per complete simulate call of x' = -k x over [0, 1], t_eval [0, 1]."""
    prob = P.Problem.__new__(P.Problem)               # an in-memory Problem, no file
    prob.name, prob.species = "DECAY", ["x"]
    prob.rhs, prob.initial, prob.parameters = dict(DECAY["rhs"]), dict(DECAY["initial"]), dict(DECAY["parameters"])
    prob.t0, prob.t_end, prob.y0 = 0.0, 1.0, np.array([1.0])
    prob.ref, prob.atol_scale = np.array([math.exp(-1.0)]), 1.0
    prob._f = prob._jac = prob._jac_inplace = prob._f_inplace = None
    prob.jac_source = None
    wanted = ("neurokin", "roadrunner", "scipy", "cvode")
    rows, runs = [], []
    for c in contenders:
        if c.family not in wanted:
            continue
        row = {"contender": c.name, "family": c.family, "error": None, "batch_us": []}
        row["calls"] = max(1, calls // 10) if c.slow else calls
        rows.append(row)
        if not c.available:
            row["error"] = c.reason
            continue
        try:
            run = c.prepare(prob, rtol, atol)
            y, stats, ok = run()
            row.update(steps=_int(stats.get("steps")), nfev=_int(stats.get("nfev")),
                       digits=P.digits(y, prob.ref))
            runs.append((row, run))
        except Exception as exc:
            row["error"] = _err(exc)
    for b in range(batches):
        for row, run in runs[b % max(1, len(runs)):] + runs[:b % max(1, len(runs))]:
            n = row["calls"]

            def loop(run=run, n=n):
                for _ in range(n):
                    run()
            dt, _ = _timed(loop)
            row["batch_us"].append(dt / n * 1e6)
    for row in rows:
        row["us_per_call"] = statistics.median(row["batch_us"]) if row["batch_us"] else None
    return rows


def print_overhead(rows, calls, out=print):
    out(f"\n=== Per-call overhead: x' = -k x, t 0 -> 1, t_eval [0, 1], rtol 1e-6, atol 1e-9 "
        f"({calls} calls per batch, scipy {max(1, calls // 10)}; median over batches) ===")
    out(f"{'contender':<16}{'us/call':>10}{'steps':>7}{'nfev':>7}  note")
    for r in rows:
        note = r["error"] or ""
        if r["family"] == "neurokin" and r.get("us_per_call") is not None:
            us = r["us_per_call"]
            note = ("goal met" if us <= GOAL_CALL_US else "target met" if us <= TARGET_CALL_US
                    else f"MISS target {TARGET_CALL_US:g} us")
        out(f"{r['contender']:<16}{_fmt(r.get('us_per_call'), '.1f', 10)}"
            f"{_fmt(r.get('steps'), 'd', 7)}{_fmt(r.get('nfev'), 'd', 7)}  {note}")


# ---------------------------------------------------------------------------
# compile time
# ---------------------------------------------------------------------------
def bench_compile(problems, contenders, repeats):
    nk = next((c for c in contenders if c.family == "neurokin"), None)
    rr = next((c for c in contenders if c.family == "roadrunner"), None)
    rows = []
    for p in problems:
        row = {"problem": p.name, "errors": []}
        model_s, sim_s, rr_s, rr_cached_s = [], [], [], []
        sbml = None
        if rr is not None and rr.available:
            try:
                sbml = rr.sbml(p)
            except Exception as exc:
                row["errors"].append("SBML export: " + _err(exc))
        cfg = None
        if sbml is not None:
            cfg = rr.rr_mod.Config
            recompile_was = cfg.getValue(cfg.LOADSBMLOPTIONS_RECOMPILE)
        for i in range(repeats):
            if nk is not None and nk.available:
                try:
                    dt, m = _timed(lambda: nk.nk.Model.from_odes(p.rhs, p.initial, p.parameters))
                    model_s.append(dt)
                    dt, _ = _timed(lambda: nk.nk.Simulator(m))
                    sim_s.append(dt)
                except Exception as exc:
                    row["errors"].append("neurokin: " + _err(exc))
                    nk = None
            if sbml is not None:
                try:
                    cfg.setValue(cfg.LOADSBMLOPTIONS_RECOMPILE, True)      # no model cache
                    dt, _ = _timed(lambda: rr.rr_mod.RoadRunner(sbml))
                    rr_s.append(dt)
                    cfg.setValue(cfg.LOADSBMLOPTIONS_RECOMPILE, recompile_was)
                    dt, _ = _timed(lambda: rr.rr_mod.RoadRunner(sbml))   # libRoadRunner's cache
                    rr_cached_s.append(dt)
                except Exception as exc:
                    row["errors"].append("libRoadRunner: " + _err(exc))
                    sbml = None
                finally:
                    cfg.setValue(cfg.LOADSBMLOPTIONS_RECOMPILE, recompile_was)
        med = lambda xs: statistics.median(xs) * 1e3 if xs else None  # noqa: E731
        row.update(model_ms=med(model_s), simulator_ms=med(sim_s),
                   neurokin_ms=med([a + b for a, b in zip(model_s, sim_s)]),
                   neurokin_first_ms=(model_s[0] + sim_s[0]) * 1e3 if sim_s else None,
                   rr_load_ms=med(rr_s), rr_load_cached_ms=med(rr_cached_s))
        rows.append(row)
    return rows


def print_compile(rows, repeats, out=print):
    out(f"\n=== Model compile time (median of {repeats}, ms) ===")
    out(f"{'problem':<8}{'Model':>9}{'Simulator':>11}{'neurokin':>10}{'(first)':>9}"
        f"{'RR load':>10}{'RR cached':>11}{'RR/nk':>8}  note")
    for r in rows:
        note = "; ".join(r["errors"])
        if r["neurokin_ms"] is not None:
            note = (f"MISS target {TARGET_COMPILE_MS:g} ms" if r["neurokin_ms"] > TARGET_COMPILE_MS
                    else "target met") + (f"; {note}" if note else "")
        ratio = (r["rr_load_ms"] / r["neurokin_ms"]
                 if r["rr_load_ms"] and r["neurokin_ms"] else None)
        out(f"{r['problem']:<8}{_fmt(r['model_ms'], '.3f', 9)}{_fmt(r['simulator_ms'], '.3f', 11)}"
            f"{_fmt(r['neurokin_ms'], '.3f', 10)}{_fmt(r['neurokin_first_ms'], '.3f', 9)}"
            f"{_fmt(r['rr_load_ms'], '.2f', 10)}{_fmt(r['rr_load_cached_ms'], '.2f', 11)}"
            f"{_fmt(ratio, '.0f', 8)}  {note}")
    out("RR load: RoadRunner(sbml) with LOADSBMLOPTIONS_RECOMPILE (a real compile); "
        "RR cached: the same SBML again, served from libRoadRunner's model cache.")


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------
def _versions():
    v = {"python": platform.python_version(), "platform": platform.platform(),
         "machine": platform.machine()}
    for mod in ("neurokin", "numpy", "scipy", "sksundae", "roadrunner", "libsbml", "sympy"):
        try:
            m = __import__(mod)
            v[mod] = getattr(m, "__version__", None) or (
                m.getLibSBMLDottedVersion() if mod == "libsbml" else "?")
        except Exception:
            v[mod] = None
    return v


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=7, help="timed runs per cell (default 7)")
    ap.add_argument("--full", action="store_true",
                    help=f"scipy gets the full repeat count too (default {SCIPY_DEFAULT_REPEATS})")
    ap.add_argument("--no-scipy", action="store_true", help="skip the scipy contenders")
    ap.add_argument("--problems", nargs="*", help="subset of problems (e.g. ROBER HIRES)")
    ap.add_argument("--rtols", type=float, nargs="*", default=list(RTOLS))
    ap.add_argument("--calls", type=int, default=1000, help="calls per overhead batch")
    ap.add_argument("--batches", type=int, default=7, help="overhead batches")
    ap.add_argument("--json", metavar="OUT", help="write all measurements to this file")
    args = ap.parse_args(argv)

    problems = P.load_problems(names=args.problems)
    if not problems:
        print(f"no problems found in {P.IVP_DIR.resolve()} (is ../shared/data/ivp present?)")
        return 1
    contenders = P.all_contenders()
    if args.no_scipy:
        contenders = [c for c in contenders if c.family != "scipy"]
    scipy_repeats = args.repeats if args.full else min(args.repeats, SCIPY_DEFAULT_REPEATS)

    versions = _versions()
    print("neurokin IVP benchmark -- " + ", ".join(f"{k} {v}" for k, v in versions.items()
                                                   if k not in ("platform",) and v))
    for c in contenders:
        if not c.available:
            print(f"  {c.name}: {c.reason} -- skipped")
    if any(p.jac_source is None for p in problems) and not _has("sympy"):
        print("  sympy not installed: scipy and CVODE (sundae) run WITHOUT an analytic Jacobian")
    print(f"repeats {args.repeats} (scipy {scipy_repeats}), interleaved round-robin; "
          f"times are medians of single runs.")

    t_start = time.perf_counter()
    report = {"versions": versions, "args": vars(args), "ivp": [], "summary": []}
    for p in problems:
        cells = bench_problem(p, contenders, args.rtols, args.repeats, scipy_repeats)
        print_table(p, cells)
        report["ivp"].extend(cells)
        report["summary"].extend(summarize(p, cells, args.rtols))
    print_summary(report["summary"])

    report["overhead"] = bench_overhead(contenders, args.calls, args.batches)
    print_overhead(report["overhead"], args.calls)

    report["compile"] = bench_compile(problems, contenders, args.repeats)
    print_compile(report["compile"], args.repeats)

    misses = list_misses(report)
    if not any(c.available for c in contenders if c.family == "neurokin"):
        print("\n=== neurokin not importable: targets not assessed (peer-only run) ===")
    else:
        print("\n=== Targets missed ===" if misses else "\n=== All targets met ===")
    for m in misses:
        print("  " + m)
    report["misses"] = misses
    report["wall_s"] = time.perf_counter() - t_start
    print(f"\n(total {report['wall_s']:.1f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=_json_default))
        print(f"wrote {args.json}")
    return 0


def list_misses(report):
    out = []
    for r in report["summary"]:
        if "best" in r and not r["speed_target_met"]:
            if r["reaches_rr_digits"]:
                out.append(f"{r['problem']} rtol {r['rtol']:.0e}: {r['best']} is "
                           f"{r['speedup_vs_rr']:.2f}x libRoadRunner (target >= {TARGET_SPEED:g}x)")
            else:
                out.append(f"{r['problem']} rtol {r['rtol']:.0e}: no neurokin method reaches "
                           f"libRoadRunner's {r['rr_digits']:.2f} digits (best {r['best']} "
                           f"{r['best_digits']:.2f})")
        for m, d in (r.get("nfev") or {}).items():
            sd = d.get("vs_cvode_same_digits")
            if m == "bdf" and sd is not None and sd > TARGET_NFEV:
                out.append(f"{r['problem']} rtol {r['rtol']:.0e}: neurokin {m} uses {sd:.2f}x "
                           f"CVODE's RHS evaluations at {d['digits']:.2f} digits"
                           f"{' (extrapolated)' if d['extrapolated'] else ''} "
                           f"(target <= {TARGET_NFEV:g}x)")
    for r in report["overhead"]:
        if r["family"] == "neurokin" and r.get("us_per_call") and r["us_per_call"] > TARGET_CALL_US:
            out.append(f"per-call overhead: {r['contender']} {r['us_per_call']:.1f} us "
                       f"(target <= {TARGET_CALL_US:g} us)")
    for r in report["compile"]:
        if r.get("neurokin_ms") and r["neurokin_ms"] > TARGET_COMPILE_MS:
            out.append(f"compile {r['problem']}: neurokin {r['neurokin_ms']:.2f} ms "
                       f"(target <= {TARGET_COMPILE_MS:g} ms)")
    return out


def _has(mod):
    try:
        __import__(mod)
        return True
    except Exception:
        return False


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


if __name__ == "__main__":
    sys.exit(main())
