"""Contenders for bench/ivp.py: neurokin and its peers, behind one small interface.

Every contender is a class with ``name``, ``available`` and ``reason`` (why not, when it is
unavailable) and ``prepare(problem, rtol, atol) -> run`` where ``run()`` performs one complete,
timed integration from t0 to t_end and returns ``(y_final: ndarray, stats: dict, success: bool)``.
Everything that may be set up once per (problem, tolerance) happens in ``prepare``; ``run``
holds only what a user pays per simulation (for libRoadRunner: reset + simulate).

Stats keys (absent when the peer does not expose them): steps, nfev, njev, nlu.

A peer that is not installed is reported as unavailable, never raised.
"""
from __future__ import annotations

import ast
import importlib
import json
import time
from pathlib import Path

import numpy as np

# ---------------------------------------------------------------------------
# problems
# ---------------------------------------------------------------------------
IVP_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "ivp"
ATOL_SCALE = {"ROBER": 1e-6, "POLLU": 1e-6, "HIRES": 1e-4}


class Problem:
    """One problem of ../shared/data/ivp with generated Python rhs/Jacobian for the peers."""

    def __init__(self, path: Path):
        d = json.loads(Path(path).read_text())
        self.path = Path(path)
        self.name = d["name"]
        self.species = list(d["species"])
        self.rhs = {s: d["rhs"][s] for s in self.species}
        self.initial = {s: float(d["initial_values"][s]) for s in self.species}
        self.parameters = {k: float(v) for k, v in d.get("parameters", {}).items()}
        self.t0 = float(d.get("t0", 0.0))
        self.t_end = float(d["t_end"])
        ref = d["reference_solution"]
        self.ref = np.array([float(ref["values"][s]) for s in self.species])
        self.y0 = np.array([self.initial[s] for s in self.species])
        self.atol_scale = ATOL_SCALE.get(self.name, 1e-6)
        self._f = self._jac = self._jac_inplace = self._f_inplace = None
        self.jac_source = None

    @property
    def n(self) -> int:
        return len(self.species)

    # -- generated Python callables (for scipy and scikit-sundae) ---------------------------
    def _compile_python(self):
        if self._f is not None:
            return
        for s, e in self.rhs.items():          # the strings must be plain arithmetic
            _check_expr(e, set(self.species) | set(self.parameters))
        consts = "".join(f"    {k} = {v!r}\n" for k, v in self.parameters.items())
        unpack = f"    {', '.join(self.species)}, = y.tolist()\n"
        body = ", ".join(f"({self.rhs[s]})" for s in self.species)
        src = (f"def f(t, y):\n{consts}{unpack}    return _np.array([{body}])\n"
               f"def f_inplace(t, y, yp):\n{consts}{unpack}    yp[:] = [{body}]\n")
        jac_entries = _jacobian_entries(self.rhs, self.species, self.parameters)
        if jac_entries is not None:
            n = self.n
            fill = "".join(f"    J[{i}, {j}] = {e}\n" for (i, j), e in jac_entries)
            src += (f"def jac(t, y):\n{consts}{unpack}    J = _np.zeros(({n}, {n}))\n{fill}"
                    f"    return J\n"
                    f"def jac_inplace(t, y, yp, J):\n{consts}{unpack}    J[:, :] = 0.0\n{fill}")
            self.jac_source = "sympy"
        ns = {"_np": np, "exp": np.exp, "log": np.log, "sqrt": np.sqrt}
        exec(compile(src, f"<bench:{self.name}>", "exec"), ns)   # bench-side code generation
        self._f, self._f_inplace = ns["f"], ns["f_inplace"]
        self._jac, self._jac_inplace = ns.get("jac"), ns.get("jac_inplace")

    @property
    def f(self):
        self._compile_python()
        return self._f

    @property
    def f_inplace(self):
        self._compile_python()
        return self._f_inplace

    @property
    def jac(self):
        self._compile_python()
        return self._jac

    @property
    def jac_inplace(self):
        self._compile_python()
        return self._jac_inplace


def load_problems(directory: Path = IVP_DIR, names=None):
    directory = Path(directory)
    if not directory.is_dir():
        return []
    out = [Problem(p) for p in sorted(directory.glob("*.json"))]
    if names:
        wanted = {n.upper() for n in names}
        out = [p for p in out if p.name.upper() in wanted]
    return out


_ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Constant, ast.Load,
            ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub, ast.UAdd, ast.Call)


def _check_expr(expr: str, names: set):
    tree = ast.parse(expr, mode="eval")
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ValueError(f"unsupported syntax in rhs {expr!r}: {type(node).__name__}")
        if isinstance(node, ast.Name) and node.id not in names | {"exp", "log", "sqrt"}:
            raise ValueError(f"unknown name {node.id!r} in rhs {expr!r}")


def _jacobian_entries(rhs, species, parameters):
    """Nonzero entries ((i, j), python expr) of d rhs_i / d y_j, derived with sympy."""
    try:
        import sympy
    except ImportError:
        return None
    syms = {name: sympy.Symbol(name) for name in list(species) + list(parameters)}
    syms.update({"exp": sympy.exp, "log": sympy.log, "sqrt": sympy.sqrt})
    entries = []
    for i, s in enumerate(species):
        e = sympy.sympify(rhs[s], locals=syms)
        for j, v in enumerate(species):
            d = sympy.diff(e, syms[v])
            if d != 0:
                entries.append(((i, j), sympy.pycode(d, fully_qualified_modules=False)))
    return entries


# ---------------------------------------------------------------------------
# contenders
# ---------------------------------------------------------------------------
def _try_import(name):
    try:
        return importlib.import_module(name), None
    except Exception as exc:  # ImportError or a broken install: report, never crash
        return None, f"not installed ({type(exc).__name__}: {exc})"


class Contender:
    name = "?"
    family = "?"
    slow = False            # scipy: 100-1000x slower, reduced repeats by default

    def __init__(self):
        self.available, self.reason = True, None

    def prepare(self, problem: Problem, rtol: float, atol: float):
        raise NotImplementedError


class Neurokin(Contender):
    family = "neurokin"

    def __init__(self, method: str):
        super().__init__()
        self.method = method
        self.name = f"neurokin {method}"
        self.nk, self.reason = _try_import("neurokin")
        self.available = self.nk is not None
        self._sims = {}

    def simulator(self, problem: Problem):
        sim = self._sims.get(problem.name)
        if sim is None:
            m = self.nk.Model.from_odes(problem.rhs, problem.initial, problem.parameters)
            sim = self._sims[problem.name] = self.nk.Simulator(m)
        return sim

    def prepare(self, problem, rtol, atol):
        sim = self.simulator(problem)
        t0, t1, method = problem.t0, problem.t_end, self.method
        t_eval = [t0, t1]

        def run():
            r = sim.simulate(t1, t_eval=t_eval, method=method, rtol=rtol, atol=atol, t_start=t0)
            st = r.stats
            return (np.asarray(r.y[-1], dtype=float),
                    {"steps": st.get("n_steps"), "nfev": st.get("n_rhs"),
                     "njev": st.get("n_jac"), "nlu": st.get("n_lu")},
                    bool(r.success))
        return run


class ScipyIVP(Contender):
    family = "scipy"
    slow = True

    def __init__(self, method: str):
        super().__init__()
        self.method = method
        self.name = f"scipy {method}"
        mod, self.reason = _try_import("scipy.integrate")
        self.available = mod is not None
        self.solve_ivp = getattr(mod, "solve_ivp", None)

    def prepare(self, problem, rtol, atol):
        f, jac = problem.f, problem.jac
        span, y0, method, solve_ivp = (problem.t0, problem.t_end), problem.y0, self.method, self.solve_ivp

        def run():
            # t_eval=None: the solution holds every accepted step, so steps = len(t) - 1
            s = solve_ivp(f, span, y0, method=method, rtol=rtol, atol=atol, jac=jac)
            return (s.y[:, -1].copy(),
                    {"steps": len(s.t) - 1, "nfev": s.nfev, "njev": s.njev, "nlu": s.nlu},
                    bool(s.success) and s.t[-1] == span[1])
        return run


class SundaeCVODE(Contender):
    family = "cvode"
    name = "CVODE (sundae)"

    def __init__(self):
        super().__init__()
        mod, self.reason = _try_import("sksundae.cvode")
        self.available = mod is not None
        self.CVODE = getattr(mod, "CVODE", None)

    def prepare(self, problem, rtol, atol):
        opts = dict(method="BDF", linsolver="dense", rtol=rtol, atol=atol,
                    max_num_steps=10**7)
        if problem.jac_inplace is not None:
            opts["jacfn"] = problem.jac_inplace
        solver = self.CVODE(problem.f_inplace, **opts)
        tspan = np.array([problem.t0, problem.t_end])
        y0 = problem.y0

        def run():
            # two-point tspan: output at every internal step, so steps = len(t) - 1
            s = solver.solve(tspan, y0)
            return (np.asarray(s.y[-1], dtype=float),
                    {"steps": len(s.t) - 1, "nfev": s.nfev, "njev": s.njev},
                    bool(s.success) and s.t[-1] == tspan[-1])
        return run


class RoadRunner(Contender):
    family = "roadrunner"
    name = "libRoadRunner"

    def __init__(self):
        super().__init__()
        self.rr_mod, self.reason = _try_import("roadrunner")
        if self.rr_mod is not None:
            _, why = _try_import("libsbml")
            if why:
                self.rr_mod, self.reason = None, "python-libsbml " + why
        self.available = self.rr_mod is not None
        if self.available:
            try:
                self.rr_mod.Logger.setLevel(self.rr_mod.Logger.LOG_ERROR)
            except Exception:
                pass
        self._models = {}

    def sbml(self, problem):
        from _sbml_export import odes_to_sbml
        return odes_to_sbml(problem.rhs, problem.initial, problem.parameters, problem.name)

    def load(self, problem):
        return self.rr_mod.RoadRunner(self.sbml(problem))

    def prepare(self, problem, rtol, atol):
        # one RoadRunner per (problem, tolerance): integrator settings live in the instance,
        # and the cells of one problem run interleaved
        key = (problem.name, rtol, atol)
        rr = self._models.get(key)
        if rr is None:
            rr = self._models[key] = self.load(problem)
            rr.timeCourseSelections = ["time"] + problem.species
        rr.setIntegrator("cvode")
        it = rr.getIntegrator()
        it.setValue("stiff", True)
        it.setValue("relative_tolerance", rtol)
        it.setValue("absolute_tolerance", atol)
        it.setValue("maximum_num_steps", 10**7)
        it.setValue("variable_step_size", False)
        t0, t1 = problem.t0, problem.t_end

        def run():
            rr.reset()
            out = rr.simulate(t0, t1, 2)
            row = np.asarray(out[-1], dtype=float)
            return row[1:].copy(), {}, bool(abs(row[0] - t1) <= 1e-9 * max(1.0, abs(t1)))
        return run


def all_contenders():
    return [Neurokin("bdf"), Neurokin("radau5"),
            ScipyIVP("BDF"), ScipyIVP("Radau"), ScipyIVP("LSODA"),
            SundaeCVODE(), RoadRunner()]


def digits(y, ref, tiny=1e-250):
    """Correct digits at t_end: min over components of -log10(rel. error); absolute error
    where |ref| is 0 or below ``tiny``; capped at 16 (exact agreement)."""
    y, ref = np.asarray(y, float), np.asarray(ref, float)
    if y.shape != ref.shape or not np.all(np.isfinite(y)):
        return float("nan")
    err = np.abs(y - ref)
    scale = np.where(np.abs(ref) > tiny, np.abs(ref), 1.0)
    rel = err / scale
    with np.errstate(divide="ignore"):
        d = -np.log10(rel)
    return float(min(np.min(d), 16.0))


def clock():
    return time.perf_counter()
