"""Discrete events: the loop around the C integrator (SBML Level 3 semantics).

The C driver finds the roots: every comparison ``a <op> b`` inside a trigger
contributes a root function ``g = a - b`` (see ``_compile.event_roots``), and
``ModelRunner.run(..., roots=True)`` stops at the first sign change with
status 3, having written the output rows up to the root.  This module decides
what the crossing means and acts on it:

* A trigger *fires* when its value turns from false to true.  Before ``t0``
  it is ``Event.initial_value``, so a trigger already true at ``t0`` fires
  there only when ``initial_value`` is false.
* When an event fires, its ``delay`` (if any) is evaluated and its execution
  is scheduled at ``t + delay``; with ``use_values_from_trigger_time`` the
  assignment values are computed right away, else at execution.
* A non-persistent event whose trigger turns false before its execution is
  cancelled.
* Events due at the same time execute one at a time, highest ``priority``
  first (evaluated at that moment; no priority ranks lowest; ties in model
  order); after each execution every trigger is evaluated again, so an
  assignment can fire other events (cascades) or cancel non-persistent ones.
* Targets are states (the state vector changes) or parameters (the parameter
  vector changes for the following segments).  After the events of an
  instant the integrator restarts from the new state.

Output rows at an event's time show the state *after* the events of that
instant (as libRoadRunner and the SBML Test Suite do), including the first
row, at ``t0``.  A root is located just past the crossing, so "at the event's
time" means within a few ulps of it.
"""
from __future__ import annotations

import math

import numpy as np

from . import expr as E
from . import _validate as V
from .errors import SolverError

__all__ = ["simulate_with_events"]

_ROOT_FOUND = 3
_TOO_MUCH_WORK = -3
_MAX_CASCADE = 100000


class _Bound:
    """An expression bound to the state and parameter vectors."""

    __slots__ = ("node", "refs")

    def __init__(self, node, sindex, pindex):
        self.node = node
        refs = []
        for s in node.free_symbols:
            if s in sindex:
                refs.append((s, True, sindex[s]))
            elif s in pindex:
                refs.append((s, False, pindex[s]))
            else:  # pragma: no cover - the model validated its names
                raise KeyError(f"unknown name {s!r} in an event expression")
        self.refs = refs

    def __call__(self, t, y, p) -> float:
        env = {s: (y[i] if st else p[i]) for s, st, i in self.refs}
        return E.evaluate(self.node, env, t=t)


def simulate_with_events(sim, t0, t1, t_eval, method, rtol, atol, y0, p, options):
    """Integrate a model with events from t0 to t1; returns a Result.

    Arguments are those of ``Simulator.simulate`` after checking: ``t_eval``
    a checked array or None, ``method`` the method name, ``atol`` an array,
    ``y0`` and ``p`` the state and parameter vectors, ``options`` the extra
    keyword options (max_steps, h0, hmax, max_order).
    """
    from ._core import METHODS
    from .simulator import _result

    model = sim.model
    sindex, pindex = sim._sindex, sim._pindex
    events = model.events
    n_ev = len(events)
    trig = [_Bound(model.node(ev.trigger), sindex, pindex) for ev in events]
    delay = [_Bound(model.node(ev.delay), sindex, pindex) if ev.delay is not None else None
             for ev in events]
    prio = [_Bound(model.node(ev.priority), sindex, pindex) if ev.priority is not None
            else None for ev in events]
    assign = []
    for ev in events:
        lst = []
        for tgt, text in ev.assignments:
            if tgt in sindex:
                where = (True, sindex[tgt])
            else:
                where = (False, pindex[tgt])
            lst.append((where, _Bound(model.node(text), sindex, pindex)))
        assign.append(lst)

    y = np.array(y0, dtype=float, copy=True)
    p = np.array(p, dtype=float, copy=True)
    mcode = METHODS[method]
    max_steps, h0, hmax, max_order = V.solver_options(options)
    if "hmax" not in options:
        # roots are looked for at step ends: a trigger that flips and flips back
        # within one step is missed, so steps never span more than one output
        # interval (or 1/100 of the span without t_eval)
        span = abs(t1 - t0)
        if t_eval is not None and len(t_eval) > 1:
            hmax = max(float(np.min(np.abs(np.diff(t_eval)))), 1e-6 * span)
        else:
            hmax = span / 100.0
    runner = sim._runner_for(method)
    dir_ = 1.0 if t1 > t0 else -1.0

    state = {"prev": [bool(ev.initial_value) for ev in events], "queue": [], "seq": 0,
                 "executed": 0}

    def truth(k, t):
        v = trig[k](t, y, p)
        return bool(v != 0.0 and not math.isnan(v))

    def values_of(k, t):
        return [fn(t, y, p) for _, fn in assign[k]]

    def execute(k, vals):
        for ((is_state, i), _), v in zip(assign[k], vals):
            if is_state:
                y[i] = v
            else:
                p[i] = v

    def process(t):
        """All events at time t: triggers, delays, priorities, cascades."""
        queue = state["queue"]
        prev = state["prev"]
        for _ in range(_MAX_CASCADE):
            now = [truth(k, t) for k in range(n_ev)]
            for k in range(n_ev):
                if now[k] and not prev[k]:
                    ev = events[k]
                    d = delay[k](t, y, p) if delay[k] is not None else 0.0
                    if not (d >= 0.0):
                        d = 0.0
                    vals = values_of(k, t) if ev.use_values_from_trigger_time else None
                    queue.append([t + dir_ * d, state["seq"], k, vals])
                    state["seq"] += 1
            prev[:] = now
            # non-persistent events whose trigger went false are cancelled
            queue[:] = [q for q in queue if events[q[2]].persistent or now[q[2]]]
            ready = [q for q in queue if (q[0] - t) * dir_ <= 0.0]
            if not ready:
                return
            best, best_key = None, None
            for q in ready:
                pv = prio[q[2]](t, y, p) if prio[q[2]] is not None else -math.inf
                if math.isnan(pv):
                    pv = -math.inf
                key = (pv, -q[1])
                if best_key is None or key > best_key:
                    best, best_key = q, key
            queue.remove(best)
            k = best[2]
            vals = best[3] if best[3] is not None else values_of(k, t)
            execute(k, vals)
            state["executed"] += 1
        raise SolverError("events keep firing at one instant (more than "
                          f"{_MAX_CASCADE} executions at t={t})")

    ts, ys, obs = [], [], []
    stats_total: dict = {}
    obs_names = sim.observable_names

    def keep(tt, yy):
        if len(tt):
            ts.append(np.asarray(tt, dtype=float))
            ys.append(np.asarray(yy, dtype=float).reshape(len(tt), -1))
            if obs_names:
                obs.append(runner.observe(np.ascontiguousarray(tt, dtype=float),
                                          np.ascontiguousarray(yy, dtype=float), p))

    def add_stats(s):
        for k, v in s.items():
            if isinstance(v, (int, float, np.integer, np.floating)):
                stats_total[k] = stats_total.get(k, 0) + v

    def events_at(t):
        """Process the events at t; output rows at t (up to rounding: a root
        is located just past the crossing) then show the state after them."""
        before = state["executed"]
        process(t)
        if state["executed"] == before or not ts:
            return
        tol = 256 * np.finfo(float).eps * max(abs(t), abs(t1 - t0))
        last_t, last_y = ts[-1], ys[-1]
        for j in range(len(last_t) - 1, -1, -1):
            if abs(last_t[j] - t) > tol:
                break
            last_y[j] = y
            if obs_names:
                obs[-1][j] = runner.observe(np.array([last_t[j]]), y.reshape(1, -1), p)[0]

    t = t0
    process(t)
    te = None if t_eval is None else np.asarray(t_eval, dtype=float)
    k_next = 0   # next output index in te
    code = 0
    first = True
    while True:
        queue = state["queue"]
        t_stop = t1
        for q in queue:
            if (q[0] - t_stop) * dir_ < 0.0:
                t_stop = q[0]
        if (t_stop - t) * dir_ <= 0.0:
            # a delayed event due now (delay 0 after a cascade)
            process(t)
            if (t - t1) * dir_ >= 0.0:
                break
            continue
        # one step budget for the whole integration, across event segments
        budget = max_steps - int(stats_total.get("n_steps", 0))
        if budget <= 0:
            code = _TOO_MUCH_WORK
            break
        if te is not None:
            # outputs in [t, t_stop] (t itself only on the first segment)
            j = k_next
            while j < len(te) and (te[j] - t_stop) * dir_ <= 0.0:
                j += 1
            seg = te[k_next:j]
            if not first:
                seg = seg[(seg - t) * dir_ > 0.0] if len(seg) else seg
                skipped = (j - k_next) - len(seg)
            else:
                skipped = 0
            extra = not (len(seg) and seg[-1] == t_stop)
            seg_te = np.append(seg, t_stop) if extra else np.ascontiguousarray(seg)
            tt, yy, code, st = runner.run(mcode, t, t_stop, y, p, seg_te, rtol, atol,
                                          budget, h0, hmax, max_order, roots=True)
            add_stats(st)
            n_real = len(seg)
            rows_t, rows_y = tt[:n_real], yy[:n_real]
            keep(rows_t, rows_y)
            k_next += skipped + min(len(tt), n_real)
        else:
            tt, yy, code, st = runner.run(mcode, t, t_stop, y, p, None, rtol, atol,
                                          budget, h0, hmax, max_order, roots=True)
            add_stats(st)
            if first:
                keep(tt, yy)
            else:
                keep(tt[1:], yy[1:]) if len(tt) and tt[0] == t else keep(tt, yy)
        first = False
        if code == _ROOT_FOUND:
            tr, _fired = runner.last_root()
            y[:] = runner.state_at(tr)
            t = tr
            events_at(t)
            continue
        if code < 0 or code not in (0, 1):
            break
        # reached t_stop
        y[:] = yy[-1] if len(yy) else runner.state_at(t_stop)
        t = t_stop
        if (t - t1) * dir_ >= 0.0:
            code = 0
            break
        events_at(t)
    if ts:
        T = np.concatenate(ts)
        Y = np.concatenate(ys)
        O = np.concatenate(obs) if obs else None
    else:
        T = np.empty(0)
        Y = np.empty((0, len(sim.names)))
        O = np.empty((0, len(obs_names))) if obs_names else None
    return _result(T, Y, sim.names, stats_total, code, method, t1, obs_names, O)
