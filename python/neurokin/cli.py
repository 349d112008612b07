"""Command line: ``neurokin demo`` and friends."""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

__all__ = ["main"]


def _demo(args) -> int:
    """Robertson's stiff kinetics to t = 1e11 with both methods, vs. the published value."""
    from . import Simulator
    from .examples import robertson

    ref = {"A": 2.083340149701255e-08, "B": 8.333360770334713e-14, "C": 0.999999979166505}
    model = robertson()
    t0 = time.perf_counter()
    sim = Simulator(model)
    t_compile = time.perf_counter() - t0
    times = np.array([0.0, 1e-5, 1e-2, 1.0, 1e2, 1e4, 1e6, 1e8, 1e11])
    print("neurokin demo: Robertson's stiff kinetics (A -> B, 2B -> B + C, B + C -> A + C)")
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="neurokin", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("demo", help="run the demonstration (no arguments needed)")
    args = parser.parse_args(argv)
    if args.command in (None, "demo"):
        return _demo(args)
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
