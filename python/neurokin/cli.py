"""neurokin command line.

  neurokin demo                  the transmitter network at balance, an SSRI and an MAO
                                 inhibitor: table, top controlling enzymes, PNG figure
  neurokin simulate [options]    time course of the network (or a module) as CSV / Parquet
  neurokin steady-state [opts]   its steady state (balance) as CSV / Parquet
  neurokin control [opts]        control coefficients of a species (which enzymes control it)
  neurokin ensemble [opts]       a virtual population: enzyme capacities varied lognormally,
                                 time courses (or steady states) of every member, with progress
  neurokin robertson             Robertson's stiff kinetics vs. the published solution

Model options (--ssri 0.8 --maoi 0.5 --comt-genotype Met/Met ...) are those of
neurokin.models.transmitter_network(); a bad option exits with status 2 and a
one-line message.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np

__all__ = ["main"]

MODULES = {"network": "transmitter_network", "dopamine": "dopamine",
           "serotonin": "serotonin", "gaba_glutamate": "gaba_glutamate",
           "gaba-glutamate": "gaba_glutamate", "hpa_axis": "hpa_axis", "hpa": "hpa_axis"}

# flag, option, type, help
MODEL_FLAGS = (
    ("--ssri", "ssri", float, "fraction of SERT blocked, 0-1"),
    ("--maoi", "maoi", float, "fraction of MAO blocked, 0-1"),
    ("--comti", "comti", float, "fraction of COMT blocked, 0-1"),
    ("--comt-genotype", "comt_genotype", str, "COMT Val158Met: Val/Val, Val/Met or Met/Met"),
    ("--ldopa", "ldopa", float, "L-DOPA infusion, uM/h (plasma concentration per hour)"),
    ("--estradiol", "estradiol", float, "plasma estradiol, pg/mL (reference 50)"),
    ("--cortisol", "cortisol", float, "clamp total plasma cortisol seen by the brain, nM"),
    ("--stress", "stress", float, "HPA stress drive (dimensionless, 0 basal)"),
    ("--firing", "firing", float, "dopamine-neuron firing, Hz (5 tonic)"),
)


class _UsageError(Exception):
    """A bad command line: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise _UsageError(f"{self.prog}: {message}")


# -- model construction -----------------------------------------------------------------
def _add_model_flags(p, *, module=True):
    g = p.add_argument_group("model options")
    if module:
        g.add_argument("--module", default="network", metavar="NAME",
                       help="network (default) or one module: dopamine, serotonin, "
                            "gaba_glutamate, hpa_axis")
    for flag, dest, typ, hlp in MODEL_FLAGS:
        g.add_argument(flag, dest=dest, type=_number if typ is float else str, default=None,
                       help=hlp, metavar="X" if typ is float else "G")


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def _options(args) -> dict:
    return {dest: getattr(args, dest) for _, dest, _, _ in MODEL_FLAGS
            if getattr(args, dest, None) is not None}


def _build(args):
    from . import models
    name = MODULES.get(getattr(args, "module", "network"))
    if name is None:
        raise _UsageError(f"neurokin: unknown --module {args.module!r}; choose network, "
                          "dopamine, serotonin, gaba_glutamate or hpa_axis")
    return getattr(models, name)(**_options(args))


# -- output ---------------------------------------------------------------------------------
def _write_table(columns, rows, output):
    """rows: list of tuples; CSV to a path or stdout ('-'), Parquet for *.parquet."""
    if output != "-" and output.lower().endswith((".parquet", ".pq")):
        try:
            import pandas as pd
            import pyarrow  # noqa: F401
        except ImportError:
            raise _UsageError("neurokin: writing Parquet needs pandas and pyarrow "
                              "(pip install pandas pyarrow); or give a .csv --output") from None
        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows, columns=columns)
        frame.to_parquet(output, index=False)
        return
    import csv
    fh = sys.stdout if output == "-" else open(output, "w", newline="")
    try:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(columns)
        for row in rows:
            w.writerow([_fmt_csv(v) for v in row])
    finally:
        if fh is not sys.stdout:
            fh.close()


def _write_columns(data: dict, output):
    """Columns (equal-length arrays) as _write_table writes rows; with pandas
    for speed when it is installed (a population's long table has members x
    times rows)."""
    try:
        import pandas as pd
    except ImportError:
        cols = list(data)
        _write_table(cols, zip(*(np.asarray(data[c]).tolist() for c in cols)), output)
        return
    if output != "-" and output.lower().endswith((".parquet", ".pq")):
        _write_table(list(data), pd.DataFrame(data), output)
        return
    pd.DataFrame(data).to_csv(sys.stdout if output == "-" else output, index=False,
                              lineterminator="\n")


def _fmt_csv(v):
    if isinstance(v, float):
        return repr(v)
    return v


def _info(msg):
    print(msg, file=sys.stderr)


# -- progress -------------------------------------------------------------------------------
class _Progress:
    """rich progress bar if installed, else one updating stderr line; off when not a TTY."""

    def __init__(self, total: float, label: str, mode: str):
        on = mode == "on" or (mode == "auto" and sys.stderr.isatty())
        self.on = on
        self.total = total
        self._rich = None
        self._t0 = time.perf_counter()
        self.label = label
        if not on:
            return
        try:
            from rich.progress import (BarColumn, Progress, TextColumn, TimeElapsedColumn)
        except ImportError:
            return
        self._rich = Progress(TextColumn("{task.description}"), BarColumn(),
                              TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                              transient=True)
        self._rich.start()
        self._task = self._rich.add_task(label, total=total)

    def update(self, done: float):
        if not self.on:
            return
        if self._rich is not None:
            self._rich.update(self._task, completed=done)
        else:
            pct = 100.0 * done / self.total if self.total else 100.0
            sys.stderr.write(f"\r{self.label}: {pct:5.1f}%  "
                             f"{time.perf_counter() - self._t0:6.1f} s")
            sys.stderr.flush()

    def close(self):
        if not self.on:
            return
        if self._rich is not None:
            self._rich.stop()
        else:
            sys.stderr.write("\r" + " " * (len(self.label) + 24) + "\r")
            sys.stderr.flush()


# -- commands ---------------------------------------------------------------------------------
def _cmd_simulate(args) -> int:
    from . import Simulator
    model = _build(args)
    sim = Simulator(model)
    t0, t1 = float(args.t_start), float(args.t_end)
    if not (math.isfinite(t1) and t1 > t0):
        raise _UsageError(f"neurokin: --t-end must be after --t-start ({t0:g}), got {t1:g}")
    if args.points < 0 or args.points == 1:
        raise _UsageError(f"neurokin: --points must be 0 (every step) or >= 2, got "
                          f"{args.points}")
    grid = np.linspace(t0, t1, args.points) if args.points else None
    kw = dict(method=args.method, rtol=args.rtol, atol=args.atol)
    initial = None
    if args.from_steady_state:
        ss = sim.steady_state()
        if not ss.converged:
            _info(f"neurokin: warning: no steady state found (residual "
                  f"{ss.residual_norm:.3g}); starting from the last iterate")
        initial = {k: (max(v, 0.0) if not model.odes else v) for k, v in ss.x.items()}
    prog = _Progress(t1 - t0, f"simulating {model.name} to t={t1:g}", args.progress)
    started = time.perf_counter()
    try:
        if not prog.on:
            r = sim.simulate(t1, t_eval=grid, t_start=t0, initial=initial, **kw)
            ts, ys, ok, msg, stats = r.t, r.y, r.success, r.message, r.stats
        else:
            ts, ys, ok, msg, stats = _simulate_chunked(sim, t0, t1, grid, initial, kw, prog)
    finally:
        prog.close()
    elapsed = time.perf_counter() - started
    cols = ["time"] + list(sim.names)
    rows = [(float(t),) + tuple(map(float, y)) for t, y in zip(ts, ys)]
    if args.readouts:
        from .models import output_expressions, outputs
        try:
            output_expressions(model)
        except ValueError:
            raise _UsageError(f"neurokin: no read-outs for model {model.name!r}") from None
        from .result import Result, Status
        res = Result(np.asarray(ts), np.asarray(ys), list(sim.names), {}, Status.SUCCESS, "")
        ro = outputs(model, res)
        cols += list(ro)
        rows = [row + tuple(float(ro[k][i]) for k in ro) for i, row in enumerate(rows)]
    _write_table(cols, rows, args.output)
    where = "stdout" if args.output == "-" else args.output
    _info(f"neurokin: {model.name}: {len(rows)} rows, {stats.get('n_steps', 0)} steps in "
          f"{elapsed * 1e3:.1f} ms -> {where}")
    if not ok:
        _info(f"neurokin: integration failed: {msg}")
        return 1
    return 0


def _simulate_chunked(sim, t0, t1, grid, initial, kw, prog, n_chunks=50):
    """Integrate in segments (restarting at segment ends) to report progress."""
    edges = np.linspace(t0, t1, n_chunks + 1)
    if grid is not None:   # segment ends on output times
        idx = np.unique(np.linspace(0, len(grid) - 1, min(n_chunks, len(grid) - 1) + 1)
                        .round().astype(int))
        edges = grid[idx]
    ts, ys, stats = [], [], {}
    state = initial
    ok, msg = True, ""
    for a, b in zip(edges[:-1], edges[1:]):
        te = None if grid is None else grid[(grid >= a) & (grid <= b)]
        r = sim.simulate(b, t_eval=te, t_start=a, initial=state, **kw)
        t, y = r.t, r.y
        if ts:   # drop the repeated start point
            t, y = t[1:], y[1:]
        ts.append(t)
        ys.append(y)
        for k, v in r.stats.items():
            if isinstance(v, (int, np.integer)):
                stats[k] = stats.get(k, 0) + int(v)
        if not r.success:
            ok, msg = False, r.message
            break
        state = r.final()
        if not sim.model.odes:   # round-off negatives (-1e-24) are refused as initial values
            state = {k: max(v, 0.0) for k, v in state.items()}
        prog.update(b - t0)
    return np.concatenate(ts), np.vstack(ys), ok, msg, stats


def _cmd_steady_state(args) -> int:
    from . import Simulator
    model = _build(args)
    sim = Simulator(model)
    started = time.perf_counter()
    ss = sim.steady_state()
    elapsed = time.perf_counter() - started
    units = {s.id: s.unit for s in model.species}
    desc = {s.id: s.description for s in model.species}
    rows = [(s, float(ss.x[s]), units[s], desc[s]) for s in sim.names]
    if args.readouts:
        from .balance import read_outs
        ro = read_outs(model, ss)
        if not ro:
            raise _UsageError(f"neurokin: no read-outs for model {model.name!r}")
        rows += [(k, v, u, "read-out") for k, (v, u) in ro.items()]
    _write_table(["species", "value", "unit", "description"], rows, args.output)
    verdict = "stable" if ss.stable else "UNSTABLE"
    _info(f"neurokin: {model.name}: steady state {'found' if ss.converged else 'NOT found'} "
          f"({ss.method}, {ss.iterations} iterations, {elapsed * 1e3:.1f} ms), residual "
          f"{ss.residual_norm:.2g}, {verdict}")
    return 0 if ss.converged else 1


def _cmd_control(args) -> int:
    from . import Simulator
    from .balance import control_coefficients
    model = _build(args)
    sim = Simulator(model)
    cc = control_coefficients(sim, targets=args.target, as_frame=False)
    meta = {p.id: p for p in model.parameters_}
    rows = sorted(zip(cc["target"], cc["parameter"], cc["coefficient"]),
                  key=lambda r: (r[0], -abs(r[2]) if math.isfinite(r[2]) else 0.0))
    if args.top:
        keep, count = [], {}
        for r in rows:
            count[r[0]] = count.get(r[0], 0) + 1
            if count[r[0]] <= args.top:
                keep.append(r)
        rows = keep
    if args.output is None:
        print(f"concentration control coefficients d ln x / d ln p at the steady state of "
              f"{model.name}")
        for tgt in dict.fromkeys(r[0] for r in rows):
            print(f"\n{tgt}:")
            for _, p, c in (r for r in rows if r[0] == tgt):
                print(f"  {p:<24} {c:+9.4f}   {_short(meta[p].description, 60)}")
        return 0
    _write_table(["target", "parameter", "coefficient"], rows, args.output)
    return 0


# -- ensembles (virtual populations) ---------------------------------------------------
def _population(sim, model, args):
    """(parameter table {name: (members,) array}, names varied): from --parameters, or
    each parameter matched by --vary times exp(N(0, sigma^2)), independently."""
    import fnmatch
    if args.parameters:
        try:
            import pandas as pd
        except ImportError:
            raise _UsageError("neurokin: --parameters needs pandas (pip install pandas)") from None
        path = args.parameters
        table = (pd.read_parquet(path) if path.lower().endswith((".parquet", ".pq"))
                 else pd.read_csv(path))
        return table, list(table.columns)
    if args.members < 1:
        raise _UsageError(f"neurokin: --members must be >= 1, got {args.members}")
    if not (math.isfinite(args.sigma) and args.sigma >= 0):
        raise _UsageError(f"neurokin: --sigma must be a finite number >= 0, got {args.sigma:g}")
    from .balance import CAPACITY_PREFIXES
    values = model.parameters

    def chosen(p):
        leaf = p.rsplit(".", 1)[-1]
        if not args.vary:   # the capacities, as `neurokin demo` ranks them
            return leaf.startswith(CAPACITY_PREFIXES)
        return any(fnmatch.fnmatchcase(p, pat) or fnmatch.fnmatchcase(leaf, pat)
                   for pat in args.vary)
    names = [p for p in model.parameter_names if values[p] != 0 and chosen(p)]
    if not names:
        raise _UsageError(f"neurokin: no non-zero parameter of {model.name!r} matches "
                          f"--vary {' '.join(args.vary or CAPACITY_PREFIXES)}")
    rng = np.random.default_rng(args.seed)
    return {p: values[p] * rng.lognormal(0.0, args.sigma, args.members) for p in names}, names


def _cmd_ensemble(args) -> int:
    from . import Simulator
    model = _build(args)
    sim = Simulator(model)
    for sid in (args.summary or []):
        if sid not in sim._sindex:
            raise _UsageError(f"neurokin: --summary: no species {sid!r} in {model.name!r}")
    table, varied = _population(sim, model, args)
    progress = args.progress == "on" or (args.progress == "auto" and sys.stderr.isatty())
    started = time.perf_counter()
    if args.steady_state:
        ens = sim.steady_state_ensemble(table, workers=args.workers, backend=args.backend,
                                        progress=progress)
        elapsed = time.perf_counter() - started
        ok = np.asarray(ens.converged)
        final = np.asarray(ens.states)
        data = {"member": np.arange(len(ok))}
        data.update((p, ens.parameters[:, j]) for j, p in enumerate(varied))
        data.update(converged=ok, stable=np.asarray(ens.stable))
        data.update((s, final[:, j]) for j, s in enumerate(sim.names))
        what = "steady states"
    else:
        t0, t1 = 0.0, float(args.t_end)
        if not (math.isfinite(t1) and t1 > t0):
            raise _UsageError(f"neurokin: --t-end must be > 0, got {t1:g}")
        if args.points < 2:
            raise _UsageError(f"neurokin: --points must be >= 2, got {args.points}")
        grid = np.linspace(t0, t1, args.points)
        store = args.output if args.output.lower().endswith(".zarr") else None
        ens = sim.ensemble(table, t_eval=grid, method=args.method, rtol=args.rtol,
                           atol=args.atol, workers=args.workers, backend=args.backend,
                           progress=progress, out=store)
        elapsed = time.perf_counter() - started
        ok = np.asarray(ens.status) == 0
        final = np.asarray(ens.y[:, -1, :])
        what = f"time courses to t={t1:g}"
        data = None
        if store is None:   # the long table: one row per (member, time)
            y = np.asarray(ens.y)
            m, k = y.shape[:2]
            data = {"member": np.repeat(np.arange(m), k), "time": np.tile(ens.t, m)}
            data.update((p, np.repeat(ens.parameters[:, j], k)) for j, p in enumerate(varied))
            data["status"] = np.repeat(np.asarray(ens.status), k)
            data.update((s, y[:, :, j].reshape(-1)) for j, s in enumerate(sim.names))
    if data is not None:
        _write_columns(data, args.output)
    where = "stdout" if args.output == "-" else args.output
    members = len(ok)
    _info(f"neurokin: {model.name}: {members} members ({len(varied)} parameters varied), "
          f"{what} in {elapsed:.2f} s ({members / max(elapsed, 1e-9):.0f} members/s) -> "
          f"{where}; {int(ok.sum())} ok, {members - int(ok.sum())} failed")
    skipped = getattr(ens, "info", {}).get("chunks_skipped", 0)
    if skipped:
        _info(f"  resumed: {skipped} of {ens.info['chunks']} chunks were already in the store")
    for sid in (args.summary or []):
        x = final[ok, sim._sindex[sid]]
        if x.size:
            q = np.percentile(x, [5, 50, 95])
            _info(f"  {sid} at the end: median {q[1]:.4g}, 5-95% {q[0]:.4g} - {q[2]:.4g}")
    if not args.steady_state:
        for i, name, msg in ens.failures()[:5]:
            _info(f"  member {i} failed: {name}: {msg}")
    return 0 if ok.all() else 1


def _short(text: str, n: int) -> str:
    text = (text or "").split(" [")[0]
    return text if len(text) <= n else text[:n - 3] + "..."


# -- the demo -------------------------------------------------------------------------------
# label, id (species or read-out), unit shown, scale from the model's unit
DEMO_ROWS = (
    ("extracellular 5-HT", "ht.eht", "nM", 1000.0),
    ("extracellular dopamine", "da.eda", "nM", 1000.0),
    ("extracellular glutamate", "gg.Glu_e", "uM", 1.0),
    ("extracellular GABA", "gg.GABA_e", "uM", 1.0),
    ("plasma cortisol (total)", "cortisol_total_nM", "nM", 1.0),
    ("tissue 5-HT (cyt + ves)", "ht.tissue_5HT", "uM", 1.0),
    ("5-HIAA", "ht.hia", "uM", 1.0),
    ("tissue dopamine", "da.tissue_DA", "uM", 1.0),
    ("DOPAC", "da.dopac", "uM", 1.0),
    ("HVA", "da.hva", "uM", 1.0),
    ("5-HT2A output S_5HT", "S_5HT", "1", 1.0),
    ("NMDA occupancy", "gg.occ_NMDA", "1", 1.0),
)
DEMO_INTERVENTIONS = (("SSRI", "ssri", "of SERT blocked"), ("MAOI", "maoi", "of MAO blocked"))
DEMO_PLOT = (("extracellular 5-HT", "ht.eht", "nM", 1000.0),
             ("extracellular dopamine", "da.eda", "nM", 1000.0),
             ("5-HIAA", "ht.hia", "uM", 1.0),
             ("HVA", "da.hva", "uM", 1.0))


def _demo(args) -> int:
    from . import Simulator, models
    from .balance import (CAPACITY_PREFIXES, control_coefficients, intervention_table,
                          intervention_time_course)
    t_all = time.perf_counter()
    t0 = time.perf_counter()
    net = models.transmitter_network()
    sim = Simulator(net)
    t_build = time.perf_counter() - t0
    print("neurokin demo: the brain's transmitter network at balance, under an SSRI and an "
          "MAO inhibitor")
    print(f"network: {len(net.species)} species, {len(net.reactions)} reactions, "
          f"{len(net.parameters_)} parameters (dopamine, serotonin, glutamate/GABA, HPA axis); "
          f"built and compiled in {t_build * 1e3:.0f} ms")
    t0 = time.perf_counter()
    ss = sim.steady_state()
    t_ss = time.perf_counter() - t0
    if not ss.converged:
        print(f"no steady state found (residual {ss.residual_norm:.3g})", file=sys.stderr)
        return 1
    print(f"balance (steady state): {ss.method}, residual {ss.residual_norm:.1e}, "
          f"{'stable' if ss.stable else 'UNSTABLE'} (max Re eigenvalue "
          f"{np.max(ss.eigenvalues.real):.3g} /h), {t_ss * 1e3:.0f} ms")

    doses = {"SSRI": args.ssri, "MAOI": args.maoi}
    interventions = {name: {opt: doses[name]} for name, opt, _ in DEMO_INTERVENTIONS}
    t0 = time.perf_counter()
    ids = [i for _, i, _, _ in DEMO_ROWS]
    species = [i for i in ids if i in sim._sindex]
    readouts = [i for i in ids if i not in sim._sindex]
    tab = intervention_table(net, interventions, species, readouts=readouts, as_frame=False)
    t_tab = time.perf_counter() - t0
    col = {sp: k for k, sp in enumerate(tab["species"])}
    what = "; ".join(f"{name}: {100 * doses[name]:g}% {txt}" for name, _, txt in
                     DEMO_INTERVENTIONS)
    print(f"\nsteady states, baseline vs. each drug at its new balance ({what}; "
          f"{t_tab * 1e3:.0f} ms)\n")
    head = f"{'quantity':<26}{'id':<19}{'unit':<6}{'baseline':>10}"
    for name in interventions:
        head += f"{name:>11}{'change':>9}"
    print(head)
    print("-" * len(head))
    for label, i, unit, scale in DEMO_ROWS:
        k = col[i]
        line = f"{label:<26}{i:<19}{unit:<6}{_g(tab['baseline'][k] * scale):>10}"
        for name in interventions:
            line += f"{_g(tab[name][k] * scale):>11}{_pct(tab[name + ' %'][k]):>9}"
        print(line)

    t0 = time.perf_counter()
    names = [p for p in net.parameter_names
             if p.rsplit(".", 1)[-1].startswith(CAPACITY_PREFIXES) and net.parameters[p] != 0]
    targets = ("ht.eht", "da.eda")
    cc = control_coefficients(sim, list(targets), names, steady_state=ss, as_frame=False)
    t_cc = time.perf_counter() - t0
    meta = {p.id: p for p in net.parameters_}
    print(f"\ntop controlling enzymes and transporters (concentration control coefficients "
          f"d ln x / d ln Vmax at balance; {t_cc * 1e3:.0f} ms)")
    for tgt, label in zip(targets, ("extracellular 5-HT", "extracellular dopamine")):
        pairs = sorted(((p, c) for t, p, c in zip(cc["target"], cc["parameter"],
                                                   cc["coefficient"]) if t == tgt),
                       key=lambda pc: -abs(pc[1]))[:args.top]
        print(f"  {label} ({tgt}):")
        for p, c in pairs:
            print(f"    {p:<18}{c:+8.3f}   {_short(meta[p].description, 58)}")

    # time courses
    t0 = time.perf_counter()
    t_switch, t_end = 24.0, 24.0 + float(args.days) * 24.0
    grid = np.linspace(0.0, t_end, 601)
    courses = {name: intervention_time_course(net, t_switch, t_end, ch, t_eval=grid,
                                              baseline_state=ss)
               for name, ch in interventions.items()}
    t_tc = time.perf_counter() - t0
    bad = [n for n, r in courses.items() if not r.success]
    print(f"\ntime courses: drug given at t = {t_switch:g} h, followed to "
          f"t = {t_end:g} h ({t_tc * 1e3:.0f} ms)" + (f"; FAILED: {bad}" if bad else ""))
    for name, r in courses.items():
        parts = []
        for label, sid in (("5-HT", "ht.eht"), ("dopamine", "da.eda")):
            parts.append(f"{label} {_approach(r.t, r[sid] * 1000.0, t_switch)}")
        print(f"  {name}: extracellular " + "; ".join(parts))
    if args.no_figure:
        pass
    else:
        _figure(courses, t_switch, args.out)
    print(f"\ndone in {time.perf_counter() - t_all:.2f} s")
    return 1 if bad else 0


def _approach(t, x, t_switch) -> str:
    """How a time course moves after the switch: overshoot or time to 90% of the change."""
    x0, x1 = float(x[t <= t_switch][-1]), float(x[-1])
    after, xa = t[t > t_switch], x[t > t_switch]
    change = x1 - x0
    if abs(change) < 1e-3 * max(abs(x0), 1e-12) and np.max(np.abs(xa - x0)) < 1e-3 * abs(x0):
        return f"unchanged at {x0:.3g} nM"
    k = int(np.argmax(np.abs(xa - x0)))
    if abs(xa[k] - x0) > 1.05 * abs(change):
        return (f"{x0:.3g} -> {'peak' if xa[k] > x0 else 'trough'} {xa[k]:.3g} nM at "
                f"+{after[k] - t_switch:.2g} h -> {x1:.3g} nM")
    k90 = int(np.argmax(np.abs(xa - x0) >= 0.9 * abs(change)))
    return f"{x0:.3g} -> {x1:.3g} nM (90% of the change by +{after[k90] - t_switch:.2g} h)"


def _figure(courses, t_switch, out):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("\nfigure skipped: matplotlib is not installed (pip install 'neurokin[plot]' "
              "or pip install matplotlib)")
        return None
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.5), sharex=True)
    for ax, (label, i, unit, scale) in zip(axes.flat, DEMO_PLOT):
        for name, r in courses.items():
            ax.plot(r.t / 24.0, r[i] * scale, label=name, lw=1.6)
        ax.axvline(t_switch / 24.0, color="0.6", ls=":", lw=1)
        ax.set_title(f"{label} ({i})", fontsize=10)
        ax.set_ylabel(unit)
        ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("time (days)")
    axes.flat[0].legend(frameon=False)
    fig.suptitle("neurokin: transmitter network, drug given at day "
                 f"{t_switch / 24.0:g} (from baseline balance)", fontsize=11)
    fig.tight_layout()
    out = os.path.abspath(out)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    print(f"\nfigure of the time courses written to {out}")
    return out


def _g(x: float) -> str:
    if not math.isfinite(x):
        return "nan"
    if x == 0:
        return "0"
    a = abs(x)
    if a >= 1000 or a < 0.01:
        return f"{x:.3g}"
    return f"{x:.4g}" if a < 100 else f"{x:.1f}"


def _pct(p: float) -> str:
    if not math.isfinite(p):
        return "n/a"
    if abs(p) < 0.05:
        return "0%"
    return f"{p:+.1f}%"


def _robertson(args) -> int:
    """Robertson's stiff kinetics to t = 1e11 with both methods, vs. the published value."""
    from . import Simulator
    from .examples import robertson

    ref = {"A": 2.083340149701255e-08, "B": 8.333360770334713e-14, "C": 0.999999979166505}
    model = robertson()
    t0 = time.perf_counter()
    sim = Simulator(model)
    t_compile = time.perf_counter() - t0
    times = np.array([0.0, 1e-5, 1e-2, 1.0, 1e2, 1e4, 1e6, 1e8, 1e11])
    print("neurokin: Robertson's stiff kinetics (A -> B, 2B -> B + C, B + C -> A + C)")
    print(f"model compiled in {t_compile * 1e3:.2f} ms\n")
    rows = {}
    for method in ("bdf", "radau5"):
        t0 = time.perf_counter()
        r = sim.simulate(1e11, t_eval=times, method=method, rtol=1e-8, atol=1e-14)
        rows[method] = (r, time.perf_counter() - t0)
    r = rows["bdf"][0]
    print(f"{'t':>10} {'A':>14} {'B':>14} {'C':>14}   (bdf, rtol 1e-8)")
    for k, t in enumerate(r.t):
        print(f"{t:10.3g} {r['A'][k]:14.6e} {r['B'][k]:14.6e} {r['C'][k]:14.6e}")
    print("\nagreement with the published solution at t = 1e11 (Test Set for IVP solvers):")
    print(f"{'method':>8} {'digits':>7} {'steps':>6} {'f evals':>8} {'LU':>5} {'time':>9}")
    for method, (r, dt) in rows.items():
        digits = min(-np.log10(abs(r[s][-1] - v) / abs(v) + 1e-300) for s, v in ref.items())
        s = r.stats
        print(f"{method:>8} {digits:7.2f} {s['n_steps']:6d} {s['n_rhs']:8d} {s['n_lu']:5d} "
              f"{dt * 1e3:7.2f}ms")
    ok = all(r.success for r, _ in rows.values())
    return 0 if ok else 1


# -- parser -----------------------------------------------------------------------------------
def _add_integration_flags(p, points: int, points_help: str):
    p.add_argument("--t-end", type=_number, default=24.0, help="end time, h (default 24)")
    p.add_argument("--points", type=int, default=points, help=points_help)
    p.add_argument("--method", default="bdf", help="bdf (default) or radau5")
    p.add_argument("--rtol", type=_number, default=1e-6)
    p.add_argument("--atol", type=_number, default=1e-12)


def _parser():
    p = _Parser(prog="neurokin", description=__doc__,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    d = sub.add_parser("demo", help="the transmitter network under an SSRI and an MAO "
                                    "inhibitor (no arguments needed)")
    d.add_argument("--out", default="neurokin-demo.png",
                   help="PNG figure of the time courses (default ./neurokin-demo.png)")
    d.add_argument("--no-figure", action="store_true", help="skip the figure")
    d.add_argument("--ssri", type=_number, default=0.8, help="SSRI: fraction of SERT "
                                                              "blocked (default 0.8)")
    d.add_argument("--maoi", type=_number, default=0.9, help="MAO inhibitor: fraction of MAO "
                                                              "blocked (default 0.9)")
    d.add_argument("--days", type=_number, default=4.0,
                   help="days followed after the dose (default 4)")
    d.add_argument("--top", type=int, default=5, help="controllers listed (default 5)")
    d.add_argument("--stiff", action="store_true",
                   help="instead: Robertson's stiff kinetics (same as 'neurokin robertson')")

    s = sub.add_parser("simulate", help="time course as CSV (or Parquet)")
    _add_model_flags(s)
    _add_integration_flags(s, 101, "output points, evenly spaced (default 101; 0: every step)")
    s.add_argument("--t-start", type=_number, default=0.0, help="start time, h (default 0)")
    s.add_argument("--from-steady-state", action="store_true",
                   help="start at the model's steady state instead of its initial state")
    s.add_argument("--readouts", action="store_true",
                   help="add the read-outs (receptor occupancies, cortisol in nM, ...)")
    s.add_argument("--progress", choices=("auto", "on", "off"), default="auto",
                   help="progress bar on stderr (auto: when stderr is a terminal). With "
                        "progress the run is integrated in segments ending on output times")
    s.add_argument("-o", "--output", default="-",
                   help="CSV file, *.parquet, or - for stdout (default)")

    st = sub.add_parser("steady-state", help="steady state (balance) as CSV (or Parquet)")
    _add_model_flags(st)
    st.add_argument("--readouts", action="store_true", help="add the read-outs as rows")
    st.add_argument("-o", "--output", default="-",
                    help="CSV file, *.parquet, or - for stdout (default)")

    c = sub.add_parser("control", help="control coefficients d ln x / d ln p at the "
                                       "steady state")
    _add_model_flags(c)
    c.add_argument("target", nargs="*", default=None,
                   help="species (default: ht.eht and da.eda for the network, else all)")
    c.add_argument("--top", type=int, default=10, help="per target (0: all; default 10)")
    c.add_argument("-o", "--output", default=None,
                   help="write a tidy CSV / Parquet (target, parameter, coefficient) "
                        "instead of printing")

    e = sub.add_parser("ensemble", help="a virtual population: parameters varied "
                                        "lognormally, every member simulated")
    _add_model_flags(e)
    g = e.add_argument_group("population")
    g.add_argument("--members", type=int, default=1000, help="members (default 1000)")
    g.add_argument("--sigma", type=_number, default=0.2,
                   help="lognormal sigma of each varied parameter's factor (default 0.2)")
    g.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    g.add_argument("--vary", nargs="+", metavar="PATTERN",
                   help="parameters to vary, names or patterns (da.Vmax_*, *SERT*); default: "
                        "the enzyme and transporter capacities (Vmax*, V_*, Vf*, Vb*, kcat*)")
    g.add_argument("--parameters", metavar="TABLE",
                   help="instead: a CSV / Parquet table, one row per member, columns by "
                        "parameter name")
    e.add_argument("--steady-state", action="store_true",
                   help="each member's steady state instead of its time course")
    _add_integration_flags(e, 25, "output points from 0 to --t-end (default 25)")
    e.add_argument("--workers", type=int, default=None,
                   help="threads (default: the cores)")
    e.add_argument("--backend", choices=("threads", "dask"), default="threads",
                   help="threads (default) or dask (a LocalCluster of --workers processes)")
    e.add_argument("--summary", nargs="+", metavar="SPECIES",
                   help="print the median and 5-95%% range at the end of these species")
    e.add_argument("--progress", choices=("auto", "on", "off"), default="auto",
                   help="progress bar on stderr (auto: when stderr is a terminal)")
    e.add_argument("-o", "--output", default="-",
                   help="long CSV (member, time, parameters, status, species), *.parquet, "
                        "*.zarr (a store: an interrupted run resumes), or - (default)")

    sub.add_parser("robertson", help="Robertson's stiff kinetics vs. the published solution")
    return p


def main(argv=None) -> int:
    """Run the command line; returns the exit status (2: bad usage or options)."""
    from .errors import NeurokinError
    parser = _parser()
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:      # --help
            return int(exc.code or 0)
        cmd = args.command or "demo"
        if cmd == "demo" and args is not None and not hasattr(args, "stiff"):
            args = parser.parse_args(["demo"])
        if cmd == "demo":
            return _robertson(args) if args.stiff else _demo(args)
        if cmd == "robertson":
            return _robertson(args)
        if cmd == "control":
            if not args.target:
                args.target = (["ht.eht", "da.eda"] if args.module == "network"
                               else None)
        return {"simulate": _cmd_simulate, "steady-state": _cmd_steady_state,
                "control": _cmd_control, "ensemble": _cmd_ensemble}[cmd](args)
    except _UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except NeurokinError as exc:
        print(f"neurokin: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"neurokin: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
