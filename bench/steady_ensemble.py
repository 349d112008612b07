"""Steady-state ensembles: neurokin threads vs a libRoadRunner loop.

    PYTHONPATH=python python bench/steady_ensemble.py                # 3,000 members
    PYTHONPATH=python python bench/steady_ensemble.py --members 300 --models hpa_axis

Population: for each built-in module (``--models``), its first 20 positive
parameters each multiplied by an independent lognormal factor
exp(N(0, sigma^2)), sigma 0.5, seed 2026, from the module's initial state.
Some members then have no stable state near the start and need a
presimulation; the count is printed.

``--t-settle T`` passes ``t_settle=T`` to neurokin (integrate T model time
units before Newton, for models with several stable states).

What is timed (best of ``--repeats``, interleaved):

* neurokin: ``sim.steady_state_ensemble(params, workers=w)`` end to end for
  w = 1 and 2 (the whole search in C, a chunk of members per call, the GIL
  released); the results of 1 and 2 workers are compared bit for bit, and
  a few members with ``sim.steady_state`` one by one;
* libRoadRunner (``--roadrunner``, on by default when installed): the same
  model exported to SBML (bench/network.py's exporter), conserved-moiety
  analysis on, its presimulation allowed; per member ``setValue`` of the
  parameters, ``reset()``, ``steadyState()``: what a user's loop pays.
  Members where it raises are counted.  Agreement: the largest relative
  difference of the steady states over members both found, per species
  |a - b| / max(|b|, 1e-9), leaving out (and counting) members where
  libRoadRunner's point is unstable: another root, which the trajectory
  does not reach (neurokin presimulates past those).  Where both are stable
  but apart (a model with several stable roots), a long simulation from the
  initial state referees: the counts of members it ends at each answer.

The script reports; it never asserts.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

MODELS = ("transmitter_network", "hpa_axis", "serotonin", "dopamine", "gaba_glutamate")


def population(sim, members, sigma, seed):
    rng = np.random.default_rng(seed)
    names = [p for p in sim._pnames if sim.model.parameters.get(p, 0) > 0][:20]
    return {k: sim.model.parameters[k] * rng.lognormal(0.0, sigma, members) for k in names}


def best_of(fn, repeats):
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def roadrunner_loop(model, sim, P):
    from network import export, sbml_id, steady_state_runner
    sbml, _ = export(model)
    rr = steady_state_runner(sbml, [sbml_id(model, s) for s in sim.names])
    pids = {k: sbml_id(model, k) for k in P}
    members = len(next(iter(P.values())))

    def run():
        states, failed = np.full((members, len(sim.names)), np.nan), 0
        for i in range(members):
            for k, v in P.items():
                rr.setValue(pids[k], float(v[i]))
            rr.reset()
            try:
                rr.steadyState()
                states[i] = rr.getSteadyStateValues()
            except Exception:   # noqa: BLE001 - count, do not stop
                failed += 1
        return states, failed
    return run


def rr_unstable(sim, P, rs, rows):
    """Members whose libRoadRunner steady state has an eigenvalue with
    positive real part on the free subspace (neurokin's Jacobian there): a
    root the trajectory does not go to, where the two tools may differ."""
    from neurokin.analysis import _restricted_eigenvalues
    laws = sim.conservation_laws()
    fixed = tuple(i for i, s in enumerate(sim.model.species) if s.constant)
    out = np.zeros(len(rs), dtype=bool)
    for i in np.flatnonzero(rows):
        J = sim.jacobian(rs[i], parameters={k: v[i] for k, v in P.items()})
        eig = _restricted_eigenvalues(J, laws, fixed)
        out[i] = bool(eig.size and np.max(eig.real) > 0)
    return out


def referee(sim, P, a, b, rows):
    """Where two stable answers differ (several stable roots): which one the
    trajectory from the initial state ends at (neurokin BDF to t = 1e6, rtol
    1e-10).  Returns (count at a, count at b)."""
    at_a = at_b = 0
    for i in np.flatnonzero(rows):
        r = sim.simulate(1e6, parameters={k: v[i] for k, v in P.items()},
                         t_eval=[0.0, 1e6], rtol=1e-10, atol=1e-14)
        end = r.y[-1]
        close = [np.max(np.abs(end - x) / np.maximum(np.abs(x), 1e-9)) < 1e-4 for x in (a[i], b[i])]
        at_a += close[0]
        at_b += close[1]
    return at_a, at_b


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=3000)
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    ap.add_argument("--sigma", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-roadrunner", action="store_true")
    ap.add_argument("--t-settle", type=float, default=0.0,
                    help="neurokin's t_settle: model time integrated before Newton")
    args = ap.parse_args(argv)
    import neurokin as nk
    rr_ok = not args.no_roadrunner
    if rr_ok:
        try:
            import roadrunner  # noqa: F401
        except ImportError:
            print("libRoadRunner is not installed: neurokin only")
            rr_ok = False
    print(f"{args.members} members per model, sigma {args.sigma}, t_settle {args.t_settle:g}, "
          f"best of {args.repeats}; "
          f"load average {os.getloadavg()[0]:.2f}")
    for name in args.models:
        model = getattr(nk.models, name)()
        sim = nk.Simulator(model)
        P = population(sim, args.members, args.sigma, args.seed)
        opts = {"t_settle": args.t_settle}
        sim.steady_state_ensemble(P, workers=1, **opts)   # warm-up
        t1, e1 = best_of(lambda: sim.steady_state_ensemble(P, workers=1, **opts), args.repeats)
        t2, e2 = best_of(lambda: sim.steady_state_ensemble(P, workers=2, **opts), args.repeats)
        same = (np.array_equal(e1.states, e2.states, equal_nan=True)
                and e1.methods == e2.methods)
        check = all(np.array_equal(e1.states[i], sim.steady_state(
            parameters={k: v[i] for k, v in P.items()}, **opts).y)
            for i in range(0, args.members, max(1, args.members // 7)))
        presim = sum(m == "presimulation+newton" for m in e1.methods)
        line = (f"{name:20s} neurokin 1 thread {args.members / t1:9.0f}/s, 2 threads "
                f"{args.members / t2:9.0f}/s ({t1 / t2:.2f}x); converged "
                f"{int(e1.converged.sum())}, presimulated {presim}; 1 vs 2 threads "
                f"{'identical' if same else 'DIFFER'}, = steady_state: {check}")
        if rr_ok:
            tr, (rs, failed) = best_of(roadrunner_loop(model, sim, P), 1)
            both = e1.converged & np.all(np.isfinite(rs), axis=1)
            unstable = rr_unstable(sim, P, rs, both)
            both &= ~unstable
            d = np.max(np.abs(e1.states - rs) / np.maximum(np.abs(rs), 1e-9), axis=1)
            differ = both & (d > 1e-4)
            nk_right, rr_right = referee(sim, P, e1.states, rs, differ)
            agree = both & ~differ
            rel = np.max(d[agree]) if agree.any() else np.nan
            line += (f"\n{'':20s} libRoadRunner loop {args.members / tr:9.0f}/s ({failed} "
                     f"raised); neurokin 2 threads / RR {tr / t2:.1f}x, 1 thread / RR "
                     f"{tr / t1:.1f}x; max rel. difference {rel:.1e} over {int(agree.sum())}; "
                     f"RR's point unstable (another root) in {int(unstable.sum())}; "
                     f"both stable but apart in {int(differ.sum())}: the trajectory ends at "
                     f"neurokin's in {nk_right}, at RR's in {rr_right}")
        print(line, flush=True)


if __name__ == "__main__":
    main()
