"""Large networks: neurokin (sparse LU, GMRES/ILU) vs libRoadRunner, and cost per step vs size.

    PYTHONPATH=python python bench/scale.py                     # BioNetGen networks + synthetic
    PYTHONPATH=python python bench/scale.py --networks BCR --t-end 10 100 --profile
    PYTHONPATH=python python bench/scale.py --networks path/to/other.net --no-synthetic
    PYTHONPATH=python python bench/scale.py --no-networks --sizes 10 100 1000 10000

Part 1, ../shared/data/networks (BioNetGen mass-action networks; README there):
each ``*_no_obs.net`` found there (smallest first), or each ``.net`` file given
to --networks (its SBML looked for beside it), is read with bench/_bngl.py into a neurokin Model (the
same conventions as BioNetGen's SBML export; ``--loader sbml`` imports the SBML
file with neurokin.sbml.load_sbml instead), compiled (timed), and integrated
from 0 to t_end (default 10, as the Catalyst 2023 benchmark's first point) at
rtol 1e-6, atol 1e-9 with output only at t_end, with linear_solver 'sparse'
(sparse LU, fill-reducing ordering once) and 'gmres' (GMRES + ILU(0)); 'dense'
too up to --dense-max species.  Median of --repeats runs after one warm-up.
libRoadRunner (CVODE, dense, its defaults otherwise) loads the SBML file of
the network (the BioNetGen-written .xml, or the .converted.xml.gz) for
networks up to --rr-max-species species: its load + JIT time grows steeply
(egfr_net ~45 s, BCR ~1100 s here); larger networks print the timings recorded
in ../shared/data/networks/roadrunner_timings.csv instead (marked "csv").
Both final states are compared (max relative difference over species above
1e-6 of the largest, and the tolerance-scaled error max |d|/(rtol|y| + atol)).
The best published Catalyst-2023 time at the same t_end is printed alongside
(different hardware: an order-of-magnitude reference only).

Part 2, synthetic sparse mass-action networks of 10..10,000 species, about 3
reactions per species (S_i -> 0, S_i -> S_j, S_i + S_j -> S_k, plus a source
for one species in ten; log-uniform rate constants over four decades), in two
families: 'local' (partners j, k within +-20 indices of i: cascade-like, as
signalling networks mostly are; little LU fill-in) and 'random' (partners
uniform over all species: an expander graph, the worst case for a direct
sparse LU, whose fill-in then grows much faster than nnz; sparse LU is run up
to --sparse-max-random species).  Cost per step with sparse LU, GMRES and
dense LU (up to --dense-max) against n and nnz(J): with the sparse solvers it
should grow like nnz (times the fill-in factor for LU), with dense like n^3.

--profile: where BCR's time goes (compile phases via cProfile, right-hand side
and Jacobian evaluation, LU factorisation estimate, steps).  No assertions on
speed: this prints tables.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
NETS = HERE.parent / ".." / "shared" / "data" / "networks"


def discover_networks():
    """Names of the BioNetGen networks in NETS (each a ``NAME_no_obs.net``),
    smallest file first, so that the slow ones come last."""
    found = sorted(NETS.glob("*_no_obs.net"), key=lambda p: p.stat().st_size)
    return [p.name[:-len("_no_obs.net")] for p in found]


NETWORKS = discover_networks()
RTOL, ATOL = 1e-6, 1e-9


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def median_time(fn, repeats):
    fn()                                    # warm-up (untimed)
    ts = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)), out


def published_best(model, t_end):
    path = NETS / "published_timings_catalyst2023.csv"
    if not path.exists():
        return None
    best = None
    with path.open() as f:
        for row in csv.DictReader(f):
            if row["model"] == model and abs(float(row["t_end"]) - t_end) < 1e-6 * t_end:
                ms = float(row["median_ms"])
                if best is None or ms < best[0]:
                    best = (ms, f"{row['tool']} {row['method']}")
    return best


def recorded_rr(model, t_end):
    path = NETS / "roadrunner_timings.csv"
    if not path.exists():
        return None
    with path.open() as f:
        for row in csv.DictReader(f):
            if row["model"] == model and row["median_sim_s"] and \
                    abs(float(row["t_end"]) - t_end) < 1e-6 * t_end:
                return dict(load=float(row["load_s"]), sim=float(row["median_sim_s"]),
                            min_state=float(row["min_state"]), sum_state=float(row["sum_state"]))
    return None


def network_files(entry):
    """(name, .net path, directory) of a --networks entry: a name in NETS, or
    the path of any BioNetGen ``.net`` file (its SBML, for libRoadRunner and
    --loader sbml, is looked for beside it)."""
    p = Path(entry)
    if p.suffix == ".net":
        stem = p.name[:-len("_no_obs.net")] if p.name.endswith("_no_obs.net") else p.stem
        return stem, p, p.parent
    return entry, NETS / f"{entry}_no_obs.net", NETS


def sbml_text(name, folder=NETS):
    for fn in (f"{name}_no_obs.xml", f"{name}_no_obs.converted.xml.gz", f"{name}.xml",
               f"{name}.xml.gz"):
        p = folder / fn
        if p.exists():
            return gzip.decompress(p.read_bytes()).decode() if fn.endswith(".gz") \
                else p.read_text()
    return None


class RR:
    """One libRoadRunner model at RTOL/ATOL."""

    def __init__(self, sbml):
        import roadrunner
        roadrunner.Logger.setLevel(roadrunner.Logger.LOG_ERROR)
        t0 = time.perf_counter()
        self.rr = roadrunner.RoadRunner(sbml)
        self.load_s = time.perf_counter() - t0
        self.rr.setIntegrator("cvode")
        it = self.rr.getIntegrator()
        it.setValue("stiff", True)
        it.setValue("relative_tolerance", RTOL)
        it.setValue("absolute_tolerance", ATOL)
        it.setValue("maximum_num_steps", 10 ** 7)
        self.ids = list(self.rr.model.getFloatingSpeciesIds())

    def run(self, t_end):
        self.rr.reset()
        self.rr.simulate(0.0, t_end, 2)
        return dict(zip(self.ids, self.rr.model.getFloatingSpeciesConcentrations()))


def compare(y_nk: np.ndarray, names, y_ref: dict):
    ref = np.array([y_ref.get(s, np.nan) for s in names])
    ok = np.isfinite(ref)
    y, ref = y_nk[ok], ref[ok]
    big = np.abs(ref) > 1e-6 * np.max(np.abs(ref))
    rel = np.max(np.abs(y[big] - ref[big]) / np.abs(ref[big])) if big.any() else 0.0
    scaled = np.max(np.abs(y - ref) / (RTOL * np.abs(ref) + ATOL))
    return float(rel), float(scaled)


# ---------------------------------------------------------------------------
# part 1: the BioNetGen networks
# ---------------------------------------------------------------------------
def bench_networks(args, rr_ok):
    import neurokin as nk
    from _bngl import Network
    rows = []
    for entry in args.networks:
        name, path, folder = network_files(entry)
        if not path.exists():
            print(f"{name}: {path} not found, skipped")
            continue
        t0 = time.perf_counter()
        net = Network(path)
        t1 = time.perf_counter()
        if args.loader == "sbml":
            import neurokin.sbml
            text = sbml_text(name, folder)
            if text is None:
                print(f"{name}: no SBML file beside {path} for --loader sbml, skipped")
                continue
            model = neurokin.sbml.load_sbml(text)
        else:
            model = net.model()
        t2 = time.perf_counter()
        sims = {}
        compile_s = None
        solvers = ["sparse", "gmres"] + (["dense"] if len(net.species) <= args.dense_max else [])
        c0 = time.perf_counter()
        try:
            for ls in solvers:
                sims[ls] = nk.Simulator(model, linear_solver=ls)
                if compile_s is None:
                    compile_s = time.perf_counter() - c0
        except (RecursionError, MemoryError, nk.NeurokinError) as e:
            print(f"\n{name}: {len(net.species)} species, {len(net.reactions)} reactions: "
                  f"compile FAILED after {time.perf_counter() - c0:.1f} s: "
                  f"{type(e).__name__}: {str(e)[:200]}", flush=True)
            continue
        nnz = len(sims["sparse"].jacobian_pattern[1])
        print(f"\n{name}: {len(net.species)} species, {len(net.reactions)} reactions, "
              f"nnz(J) {nnz}; read .net {t1 - t0:.2f} s, "
              f"{'load SBML' if args.loader == 'sbml' else 'build Model'} {t2 - t1:.2f} s, "
              f"compile (Simulator) {compile_s:.2f} s", flush=True)
        info = sims["sparse"]._runner.linear_solver_info()
        ops = info["flops_est"] / info["nnz_a"]
        pick = "gmres" if nk.Simulator.heavy_fill(info) else "sparse"
        print(f"  symbolic sparse LU: {ops:.0f} operations per entry of c*I - J "
              f"(fill x{(2 * info['lnz_est'] + len(net.species)) / info['nnz_a']:.1f}); "
              f"linear_solver='auto' takes {pick}", flush=True)
        rr = None
        rr_note = ""
        if rr_ok and len(net.species) <= args.rr_max_species:
            sb = sbml_text(name, folder)
            if sb is None:
                rr_note = "no SBML file"
            else:
                rr = RR(sb)
                print(f"  libRoadRunner load + JIT {rr.load_s:.2f} s", flush=True)
        elif not rr_ok:
            rr_note = "libRoadRunner not run (--no-roadrunner, or not installed)"
        else:
            rr_note = f"RR not run (> {args.rr_max_species} species; --rr-max-species)"
        first = len(rows)
        for t_end in args.t_end:
            res = {}
            for ls in solvers:
                sim = sims[ls]
                reps = args.repeats if len(net.species) < 3000 else 1
                dt, r = median_time(lambda: sim.simulate(t_end, t_eval=[0.0, t_end], rtol=RTOL,
                                                         atol=ATOL), reps)
                res[ls] = (dt, r)
            y_ref_nk = res["sparse"][1].y[-1]
            rr_t, rr_load, agree, src = None, None, "", ""
            if rr is not None:
                rr_t, yr = median_time(lambda: rr.run(t_end), args.repeats)
                rr_load, src = rr.load_s, "run"
                rel, scaled = compare(y_ref_nk, sims["sparse"].names, yr)
                agree = f"rel {rel:.1e}, scaled {scaled:.1f}"
            else:
                rec = recorded_rr(name, t_end)
                if rec is not None:
                    rr_t, rr_load, src = rec["sim"], rec["load"], "csv"
                    agree = (f"min {y_ref_nk.min():.3e} (RR {rec['min_state']:.3e}), sum "
                             f"{y_ref_nk.sum():.6e} (RR {rec['sum_state']:.6e})")
            pub = published_best(name, t_end)
            for ls in solvers:
                dt, r = res[ls]
                st = r.stats
                d_ls = compare(r.y[-1], r.names, dict(zip(r.names, y_ref_nk)))[0]
                rows.append(dict(
                    model=name, n=len(net.species), reactions=len(net.reactions), nnz=nnz,
                    compile_s=compile_s, solver=ls, t_end=t_end, ms=dt * 1e3,
                    status=r.status.name, steps=st["n_steps"], n_lu=st["n_lu"],
                    n_jac=st["n_jac"], vs_sparse=d_ls,
                    rr_ms=None if rr_t is None else rr_t * 1e3,
                    rr_load_s=rr_load, rr_src=src or rr_note, agree=agree,
                    published=pub))
        print_network_rows(rows[first:])
        if args.profile and name == "BCR":
            profile_bcr(model, sims, args.t_end[0])
    return rows


def print_network_rows(rows):
    hdr = (f"  {'solver':<7} {'t_end':>7} {'neurokin ms':>12} {'steps':>6} {'LU':>5} "
           f"{'Jac':>4} {'status':<8} {'vs sparse':>9} {'RR ms':>10} {'RR/nk':>7} "
           f"{'best published':>26}")
    print(hdr)
    for r in rows:
        rr = f"{r['rr_ms']:10.1f}" if r["rr_ms"] is not None else f"{'-':>10}"
        ratio = f"{r['rr_ms'] / r['ms']:7.1f}" if r["rr_ms"] is not None else f"{'-':>7}"
        pub = f"{r['published'][0]:9.1f} ({r['published'][1][:15]})" if r["published"] \
            else f"{'-':>26}"
        print(f"  {r['solver']:<7} {r['t_end']:>7g} {r['ms']:>12.1f} {r['steps']:>6} "
              f"{r['n_lu']:>5} {r['n_jac']:>4} {r['status']:<8} {r['vs_sparse']:>9.1e} {rr} "
              f"{ratio} {pub}")
    seen = set()
    for r in rows:
        if r["t_end"] in seen or not (r["agree"] or r["rr_src"]):
            continue
        seen.add(r["t_end"])
        what = "RR timing from roadrunner_timings.csv" if r["rr_src"] == "csv" else \
            (r["rr_src"] if r["rr_src"] != "run" else "libRoadRunner run here")
        load = f", RR load {r['rr_load_s']:.1f} s" if r["rr_load_s"] is not None else ""
        print(f"  t_end {r['t_end']:g}: {what}{load}; final state vs RR: {r['agree'] or '-'}")


def profile_bcr(model, sims, t_end):
    """Where BCR's time goes: compile phases, rhs/Jacobian evaluation, LU, steps."""
    import cProfile
    import pstats
    import neurokin as nk
    print("\n  BCR profile")
    pr = cProfile.Profile()
    t0 = time.perf_counter()
    pr.enable()
    nk.Simulator(model, linear_solver="gmres")
    pr.disable()
    total = time.perf_counter() - t0
    st = pstats.Stats(pr)
    phases = {"rhs_nodes": "Model.rhs_nodes (rate laws -> RHS sums)",
              "jacobian": "expr.diff.jacobian (symbolic Jacobian)",
              "compile_program": "expr.codegen.compile_program (tapes)"}
    cum = {k: 0.0 for k in phases}
    for (fn, _, func), v in st.stats.items():
        if func in phases:
            cum[func] = max(cum[func], v[3])
    print(f"  compile under cProfile {total:.2f} s (profiling inflates ~2-3x); shares:")
    for k, label in phases.items():
        print(f"    {label:<45} {100 * cum[k] / total:5.1f}%")
    sim = sims["gmres"]
    y = sim._y0 * 0.9 + 1e-3
    n = 200
    t0 = time.perf_counter()
    for _ in range(n):
        sim.rhs(y)
    rhs_us = (time.perf_counter() - t0) / n * 1e6
    t0 = time.perf_counter()
    for _ in range(5):
        sim.jacobian(y)
    jac_ms = (time.perf_counter() - t0) / 5 * 1e3
    times = {}
    for ls in ("sparse", "gmres"):
        dt, r = median_time(lambda: sims[ls].simulate(t_end, t_eval=[0, t_end], rtol=RTOL,
                                                      atol=ATOL), 1)
        times[ls] = (dt, r.stats)
    (ts, ss), (tg, sg) = times["sparse"], times["gmres"]
    print(f"  right-hand side: {rhs_us:.0f} us per evaluation (Python call included)")
    print(f"  dense Jacobian via sim.jacobian: {jac_ms:.1f} ms (n x n fill; the solver "
          f"evaluates only the {len(sim.jacobian_pattern[1])} nonzeros)")
    print(f"  t_end {t_end:g}: sparse LU {ts * 1e3:.0f} ms ({ss['n_steps']} steps, "
          f"{ss['n_rhs']} rhs, {ss['n_jac']} Jac, {ss['n_lu']} LU); GMRES {tg * 1e3:.0f} ms "
          f"({sg['n_steps']} steps, {sg['n_rhs']} rhs, {sg['n_lu']} ILU)")
    rhs_total = ss["n_rhs"] * rhs_us / 1e3
    print(f"  estimate: rhs evaluations {rhs_total:.0f} ms of each run; sparse LU "
          f"factorisation ~{(ts - tg) * 1e3 / max(ss['n_lu'], 1):.1f} ms each "
          f"((sparse - GMRES) / n_lu); GMRES per step {tg * 1e6 / sg['n_steps']:.0f} us")


# ---------------------------------------------------------------------------
# part 2: synthetic networks
# ---------------------------------------------------------------------------
def random_network(n, seed=0, window=None):
    """A random sparse mass-action network with about 3 reactions per species.

    Partners are uniform over all species, or with ``window`` within
    +-window of the species' index (cascade-like, little LU fill-in)."""
    import neurokin as nk
    rng = np.random.default_rng(seed)
    b = nk.ModelBuilder(f"random{n}")

    def partner(i):
        if window is None or window >= n:
            return int(rng.integers(n))
        return int(min(n - 1, max(0, i + rng.integers(-window, window + 1))))
    for i in range(n):
        b.species(f"S{i}", float(rng.uniform(0.1, 1.0)))

    def k():
        return f"{10 ** rng.uniform(-2, 2):.6g}"

    for i in range(n):
        s = f"S{i}"
        b.reaction(f"d{i}", {s: -1}, f"{k()}*{s}")
        j = partner(i)
        if j != i:
            b.reaction(f"c{i}", {s: -1, f"S{j}": 1}, f"{k()}*{s}")
        a, c = partner(i), partner(i)
        st = {s: -1}
        st[f"S{a}"] = st.get(f"S{a}", 0) - 1
        st[f"S{c}"] = st.get(f"S{c}", 0) + 1
        st = {x: v for x, v in st.items() if v}
        if st:
            b.reaction(f"b{i}", st, f"{k()}*{s}*S{a}")
        if i % 10 == 0:
            b.reaction(f"p{i}", {s: 1}, k())
    return b.build()


def bench_synthetic(args):
    rows = []
    for family in args.family:
        rows += bench_family(args, family)
    return rows


def bench_family(args, family):
    import neurokin as nk
    window = None if family == "random" else args.window
    what = ("partners uniform over all species" if window is None else
            f"partners within +-{window} indices")
    print(f"\nSynthetic mass-action networks, family '{family}' ({what}; ~3 reactions per "
          f"species), t_end {args.synthetic_t_end:g}, rtol {RTOL:g}, atol {ATOL:g}")
    hdr = (f"{'species':>8} {'reactions':>9} {'nnz(J)':>8} {'compile s':>9} {'solver':>7} "
           f"{'ms':>9} {'steps':>6} {'LU':>4} {'us/step':>9} {'ns/step/nnz':>11} {'status':<8}")
    print(hdr)
    print("-" * len(hdr))
    rows = []
    for n in args.sizes:
        model = random_network(n, seed=n, window=window)
        c0 = time.perf_counter()
        base = nk.Simulator(model, linear_solver="gmres")
        compile_s = time.perf_counter() - c0
        nnz = len(base.jacobian_pattern[1])
        sparse_max = args.sparse_max_random if window is None else n
        solvers = (["sparse"] if n <= sparse_max else []) + ["gmres"] + \
            (["dense"] if n <= args.dense_max else [])
        for ls in solvers:
            sim = base if ls == "gmres" else nk.Simulator(model, linear_solver=ls)
            reps = args.repeats if n <= 2000 else 1
            dt, r = median_time(lambda: sim.simulate(args.synthetic_t_end,
                                                     t_eval=[0, args.synthetic_t_end],
                                                     rtol=RTOL, atol=ATOL), reps)
            st = r.stats
            per = dt / max(st["n_steps"], 1)
            rows.append(dict(family=family, n=n, reactions=len(model.reactions), nnz=nnz,
                             compile_s=compile_s,
                             solver=ls, ms=dt * 1e3, steps=st["n_steps"], n_lu=st["n_lu"],
                             us_per_step=per * 1e6, status=r.status.name))
            print(f"{n:>8} {len(model.reactions):>9} {nnz:>8} {compile_s:>9.2f} {ls:>7} "
                  f"{dt * 1e3:>9.2f} {st['n_steps']:>6} {st['n_lu']:>4} {per * 1e6:>9.1f} "
                  f"{per * 1e9 / nnz:>11.1f} {r.status.name:<8}", flush=True)
    # growth exponents between the smallest and largest sizes
    for ls in ("sparse", "gmres", "dense"):
        pts = [(r["n"], r["nnz"], r["us_per_step"]) for r in rows if r["solver"] == ls]
        if len(pts) >= 2:
            (n0, z0, c0), (n1, z1, c1) = pts[0], pts[-1]
            print(f"{ls:>7}: cost per step grows as n^{np.log(c1 / c0) / np.log(n1 / n0):.2f} "
                  f"= nnz^{np.log(c1 / c0) / np.log(z1 / z0):.2f} from n={n0} to n={n1}")
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--networks", nargs="+", default=NETWORKS, metavar="NAME_OR_NET_FILE",
                    help=f"networks of {NETS} ({', '.join(NETWORKS) or 'none found'}; "
                         "default all, smallest first) or paths of BioNetGen .net files")
    ap.add_argument("--no-networks", action="store_true")
    ap.add_argument("--loader", choices=["net", "sbml"], default="net",
                    help="build the Model from the .net file (bench/_bngl.py, default) or "
                         "with neurokin.sbml.load_sbml from the SBML file")
    ap.add_argument("--t-end", type=float, nargs="+", default=[10.0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dense-max", type=int, default=400)
    ap.add_argument("--rr-max-species", type=int, default=400)
    ap.add_argument("--no-roadrunner", action="store_true")
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 30, 100, 300, 1000, 3000, 10000])
    ap.add_argument("--synthetic-t-end", type=float, default=10.0)
    ap.add_argument("--family", nargs="+", default=["local", "random"],
                    choices=["local", "random"])
    ap.add_argument("--window", type=int, default=20, help="partner window of 'local'")
    ap.add_argument("--sparse-max-random", type=int, default=1000,
                    help="largest 'random' network run with sparse LU (fill-in grows fast)")
    ap.add_argument("--no-synthetic", action="store_true")
    ap.add_argument("--profile", action="store_true", help="where BCR's time goes")
    ap.add_argument("--recursion-limit", type=int, default=None,
                    help="raise Python's recursion limit (fceri_gamma2's compile recurses "
                         "over sums of >1000 terms; 200000 works)")
    args = ap.parse_args(argv)
    if args.recursion_limit:
        sys.setrecursionlimit(args.recursion_limit)
    rr_ok = False
    if not args.no_roadrunner:
        try:
            import roadrunner  # noqa: F401
            rr_ok = True
        except ImportError:
            pass
    print(f"neurokin scale benchmark; rtol {RTOL:g}, atol {ATOL:g}; cores "
          f"{len(os.sched_getaffinity(0))}, load average {os.getloadavg()[0]:.2f}")
    if not args.no_networks:
        if not args.networks:
            print(f"no networks in {NETS} and none given: network part skipped")
        else:
            bench_networks(args, rr_ok)
    if not args.no_synthetic:
        bench_synthetic(args)


if __name__ == "__main__":
    main()
