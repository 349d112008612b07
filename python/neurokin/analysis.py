"""Steady states and conservation laws of a compiled model.

The numerical work runs in C: the right-hand side and analytic Jacobian,
and, up to NEWTON_C_MAX_STATES states, the whole steady-state search
(src/core/nk_steady_point.c: Newton, the eigenvalues of its stability
check, the presimulation, the residual).  What C defers (least squares at a
QR iteration that failed, models with events) and larger
models are driven from here with numpy.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from . import _validate as V
from ._nullspace import left_nullspace
from .errors import InvalidValueError, OptionError

__all__ = ["ConservationLaws", "SteadyState", "conservation_laws", "steady_state"]


@dataclass(frozen=True)
class ConservationLaws:
    """Conserved moieties: ``matrix @ y`` is constant along every trajectory.

    ``matrix`` has one row per independent law (k x n_species), in reduced
    row-echelon form; ``names`` are the species.  Iterating yields each law
    as a dict {species: coefficient}.
    """
    matrix: np.ndarray
    names: tuple

    def __len__(self) -> int:
        return self.matrix.shape[0]

    def __iter__(self):
        for row in self.matrix:
            yield {n: float(c) for n, c in zip(self.names, row) if c != 0}

    def totals(self, y) -> np.ndarray:
        """Conserved totals of a state (or of each row of a trajectory)."""
        return np.asarray(y, dtype=float) @ self.matrix.T

    def dependent(self) -> list:
        """Index of the species each law eliminates (its pivot column)."""
        return list(self._pivots)

    @functools.cached_property
    def _basis_cache(self) -> dict:
        return {}

    @functools.cached_property
    def _pivots(self) -> tuple:
        return tuple(int(np.flatnonzero(np.abs(row) > 1e-12)[0]) for row in self.matrix)


def _rref(rows: list, n: int) -> list:
    rows = [list(r) for r in rows]
    out, r = rows, 0
    for c in range(n):
        p = next((i for i in range(r, len(out)) if out[i][c] != 0), None)
        if p is None:
            continue
        out[r], out[p] = out[p], out[r]
        inv = 1 / out[r][c]
        out[r] = [v * inv for v in out[r]]
        for i in range(len(out)):
            if i != r and out[i][c] != 0:
                f = out[i][c]
                out[i] = [a - f * b for a, b in zip(out[i], out[r])]
        r += 1
    return out[:r]


def conservation_laws(sim) -> ConservationLaws:
    """Left null space of the stoichiometry (reaction models, exact), or of the
    Jacobian sampled at random states (ODE models, numerical)."""
    model = sim.model
    names = tuple(sim.names)
    n = len(names)
    if model.reactions:
        vol = model.compartment_sizes
        basis = _rref(left_nullspace(model.stoichiometry_columns(), n), n)
        # d[S]/dt = N v / V  =>  sum_i c_i V_i [S_i] is conserved
        rows = []
        for b in basis:
            row = np.array([float(b[i]) * vol.get(s.compartment, 1.0)
                            for i, s in enumerate(model.species)])
            rows.append(row / row[np.flatnonzero(row)[0]])
        M = np.array(rows) if rows else np.zeros((0, n))
        # constant species are trivially conserved on their own: drop them
        keep = [i for i, row in enumerate(M)
                if not all(model.species[j].constant for j in np.flatnonzero(row))]
        return ConservationLaws(M[keep] if len(M) else M, names)
    # ODE model: c^T J(y) = 0 for every y, sampled at random positive states
    rng = np.random.default_rng(12345)
    y0 = sim._y0
    stack = []
    for k in range(4):
        y = np.abs(y0) * rng.uniform(0.5, 1.5, n) + rng.uniform(0.0, 1.0, n) * (k > 0)
        stack.append(sim.jacobian(y).T)
        stack.append(sim.rhs(y)[None, :])
    A = np.vstack(stack)
    scale = np.max(np.abs(A)) or 1.0
    _, s, vt = np.linalg.svd(A / scale)
    rank = int(np.sum(s > 1e-10 * max(s[0] if s.size else 1.0, 1e-300)))
    null = vt[rank:]
    if null.shape[0] == 0:
        return ConservationLaws(np.zeros((0, n)), names)
    # reduced row-echelon form of the numerical basis, tiny entries cleaned
    M = null.copy()
    r = 0
    for c in range(n):
        if r == M.shape[0]:
            break
        p = r + int(np.argmax(np.abs(M[r:, c])))
        if abs(M[p, c]) < 1e-9:
            continue
        M[[r, p]] = M[[p, r]]
        M[r] /= M[r, c]
        for i in range(M.shape[0]):
            if i != r:
                M[i] -= M[i, c] * M[r]
        r += 1
    M[np.abs(M) < 1e-12] = 0.0
    return ConservationLaws(M[:r], names)


@dataclass(frozen=True)
class SteadyState:
    """A steady state.

    Attributes
    ----------
    x : dict
        State by species name.
    y : ndarray
        The same as an array in species order.
    residual_norm : float
        max |dy/dt| at ``y`` (state units per time unit).
    eigenvalues : ndarray
        Jacobian eigenvalues on the subspace the conservation laws leave
        free (1/time unit).
    stable : bool
        All eigenvalues have negative real part.
    converged : bool
        The residual met the tolerance.
    method : str
        'newton', or 'presimulation+newton' when the fallback was needed.
    """
    x: dict
    y: np.ndarray
    residual_norm: float
    eigenvalues: np.ndarray
    stable: bool
    converged: bool
    method: str
    iterations: int

    def __getitem__(self, name):
        return self.x[name]


_SS_OPTIONS = {"tol", "max_iter", "presimulate", "t_presim", "t_settle", "rtol", "atol",
               "method"}


def steady_state_settings(sim, options: dict) -> dict:
    """The options of :func:`steady_state`, checked, with their defaults
    (``tol`` before its scaling by the initial values; ``atol`` per state)."""
    unknown = set(options) - _SS_OPTIONS
    if unknown:
        raise OptionError(f"unknown steady_state option(s) {sorted(unknown)}")
    return {"tol": V.real_value(options.get("tol", 1e-9), "tol", strict=True),
            "max_iter": V.integer_value(options.get("max_iter", 50), "max_iter", 0),
            "presimulate": bool(options.get("presimulate", True)),
            "t_presim": V.real_value(options.get("t_presim", 1e6), "t_presim", strict=True),
            "t_settle": V.real_value(options.get("t_settle", 0.0), "t_settle"),
            "rtol": V.rtol_value(options.get("rtol", 1e-8)),
            "atol": sim._atol(options.get("atol", 1e-14)),
            "method": V.method_name(options.get("method", "bdf"))}


def _reduced_system(sim, laws: ConservationLaws, totals: np.ndarray, p, fixed, y0):
    """F(y) = f(y) with the rows of dependent species replaced by L y - T and
    the rows of constant (boundary) species by y_i - y0_i."""
    dep = laws.dependent()

    def F(y):
        f = sim._runner.rhs(0.0, y, p)
        if dep:
            f[dep] = laws.matrix @ y - totals
        if fixed:
            f[fixed] = y[fixed] - y0[fixed]
        return f

    def JF(y):
        J = np.array(sim._runner.jac(0.0, y, p))
        if dep:
            J[dep, :] = laws.matrix
        if fixed:
            J[fixed, :] = 0.0
            J[fixed, fixed] = 1.0
        return J

    return F, JF


# The search in C up to this many states (dense n x n Jacobians): Newton
# (src/core/nk_steady.c), its stability check (src/core/nk_eigen.c), the
# presimulation and the residual, with the GIL released.
NEWTON_C_MAX_STATES = 500
# Newton's step test: |dy| <= STEP_TOL |y| + tol in every component.
STEP_TOL = 1e-9
# Presimulations in C too (False: the C search defers them to Python's loop,
# which runs the same integrations through Simulator.simulate).
PRESIMULATE_IN_C = True
# nk_status codes (src/core/nk_status.h) of the C spectrum
_NK_CONV_FAILURE, _NK_NONFINITE = -5, -10


@dataclass(frozen=True)
class CSystem:
    """The reduced system as the C search takes it: the rows of the
    dependent species and their laws, the held species and the free basis
    of the stability check (None: the whole space)."""
    dep: np.ndarray
    L: np.ndarray
    fixed: np.ndarray
    Q: np.ndarray | None


def c_system(sim, laws: ConservationLaws, fixed: tuple) -> CSystem | None:
    """The C search's view of the model, or None when it has no states or
    more than NEWTON_C_MAX_STATES (cached on the laws)."""
    n = len(sim.names)
    if n == 0 or n > NEWTON_C_MAX_STATES:
        return None
    cache = laws._basis_cache
    key = ("c", fixed)
    if key not in cache:
        dep = np.asarray(laws.dependent(), dtype=np.intc)
        L = np.ascontiguousarray(laws.matrix if dep.size else np.zeros((0, n)), dtype=float)
        Q = _free_basis(laws, fixed)
        cache[key] = CSystem(dep, L, np.asarray(fixed, dtype=np.intc),
                             None if Q is None else np.asfortranarray(Q, dtype=float))
    return cache[key]


def c_points(sim, csys: CSystem, Y0, P, opt: dict) -> dict:
    """The search (nk_steady_point) from each row of Y0 with the parameters
    of the same row of P, in C with the GIL released: a dict of arrays (y,
    iters, converged, deferred, presimulated, spectrum, stable,
    residual, wr, wi), one entry per row.  Rows ``deferred`` are left to
    ``search`` (a failed QR iteration, a presimulation of a model with
    events); the others are the answer."""
    from ._core import METHODS
    in_c = presimulate_in_c(sim, opt)
    return sim._runner.steady_points(
        np.ascontiguousarray(Y0, dtype=float), np.ascontiguousarray(P, dtype=float),
        csys.dep, csys.L, csys.fixed, csys.Q, opt["tol"], STEP_TOL, opt["max_iter"],
        not sim.model.odes, opt["presimulate"], METHODS[opt["method"]] if in_c else -1,
        opt["t_presim"], opt["rtol"], np.ascontiguousarray(opt["atol"], dtype=float),
        opt["t_settle"])


def presimulate_in_c(sim, opt: dict) -> bool:
    """Whether the C search runs this model's integrations (not with events,
    whose loop is Python's, nor radau5 on GMRES, which simulate refuses)."""
    return (PRESIMULATE_IN_C and not sim.model.events
            and not (opt["method"] == "radau5" and sim.linear_solver == "gmres"))


def c_search_applies(sim, csys, opt: dict) -> bool:
    """Whether c_points can run the search at all: a C system, and the
    settling integration (t_settle > 0) in C."""
    return csys is not None and (opt["t_settle"] == 0.0 or presimulate_in_c(sim, opt))


def points_final(pts: dict) -> np.ndarray:
    """Which C points are the search's answer (not deferred)."""
    return ~pts["deferred"]


def _eigenvalues(wr, wi, status, m) -> np.ndarray:
    # numpy's convention: a real array when no eigenvalue is complex
    if status == _NK_NONFINITE:
        return np.full(m, np.nan)
    wr, wi = np.asarray(wr, dtype=float), np.asarray(wi, dtype=float)
    return wr.copy() if not np.any(wi) else wr + 1j * wi


def point_result(sim, pts: dict, i: int) -> SteadyState:
    """The SteadyState of row i of a final C point."""
    y = np.array(pts["y"][i], dtype=float)
    resid = float(pts["residual"][i])
    ok = bool(pts["converged"][i])
    eig = _eigenvalues(pts["wr"][i], pts["wi"][i], int(pts["spectrum"][i]),
                       pts["wr"].shape[1])
    return SteadyState(dict(zip(sim.names, y.tolist())), y, resid, eig,
                       bool(pts["stable"][i]), bool(ok and np.isfinite(resid)),
                       point_method(pts, i), int(pts["iters"][i]))


def point_method(pts: dict, i: int) -> str:
    return "presimulation+newton" if pts["presimulated"][i] else "newton"


def _newton_in_c(sim, csys: CSystem, totals, p, y0, tol, max_iter, step_tol=STEP_TOL):
    """A function y -> (y, iterations, converged) running ``_newton`` in C
    (src/core/nk_steady.c, the same iteration; GIL released).  The function
    takes the least-squares step at a singular Jacobian, as the Python
    iteration does."""
    tot = np.ascontiguousarray(totals if csys.dep.size else np.zeros(0), dtype=float)
    yfix = np.ascontiguousarray(y0, dtype=float)
    runner = sim._runner

    def run(y):
        return runner.newton_steady(
            np.ascontiguousarray(y, dtype=float), p, csys.dep, csys.L, tot, csys.fixed, yfix,
            tol, max_iter, step_tol)

    return run


def _newton(F, JF, fnorm, y, tol, max_iter, step_tol=STEP_TOL):
    """Damped Newton with a backtracking line search on max|F|.

    Converged when the residual of the full system (``fnorm``) is below
    ``tol`` *and* the Newton step is negligible relative to the state
    (scaled by ``step_tol*|y| + tol``): a small residual alone also holds on
    slow manifolds far from the steady state.
    """
    f = F(y)
    fn = np.max(np.abs(f))
    stalls = 0
    for it in range(1, max_iter + 1):
        if not np.isfinite(fn):
            return y, it, False
        J = JF(y)
        if not np.all(np.isfinite(J)):
            return y, it, False
        try:
            dy = np.linalg.solve(J, -f)
        except np.linalg.LinAlgError:
            dy = np.linalg.lstsq(J, -f, rcond=None)[0]
        if not np.all(np.isfinite(dy)):
            return y, it, False
        small_step = np.all(np.abs(dy) <= step_tol * np.abs(y) + tol)
        if small_step and fn <= tol and fnorm(y) <= tol:
            return y, it - 1, True
        lam = 1.0
        while lam > 1e-4:
            yt = y + lam * dy
            ft = F(yt)
            fnt = np.max(np.abs(ft))
            if np.isfinite(fnt) and (fnt < (1 - 1e-4 * lam) * fn or fnt <= tol):
                break
            lam *= 0.5
        else:
            return y, it, False  # no descent along the Newton direction
        # Newton far from its basin crawls with tiny damped steps: hand over
        # to presimulation instead of spending hundreds of evaluations
        stalls = stalls + 1 if lam < 0.01 else 0
        if stalls >= 3:
            return yt, it, False
        y, f, fn = yt, ft, fnt
    return y, max_iter, bool(fn <= tol and fnorm(y) <= tol)


def steady_state(sim, initial=None, parameters=None, **options):
    """Find the steady state reached from ``initial``.

    Newton's method on the system reduced by the conservation laws (their
    totals fixed by ``initial``) with constant species held; a Newton point
    with negative concentrations (reaction models) is not accepted.  If
    Newton fails, or finds an unstable root, the model is integrated over
    growing horizons (presimulation) and Newton restarts from there.

    In a model with several stable states, Newton from a state far from
    balance can converge to one the trajectory does not reach (another
    basin).  ``t_settle`` integrates that long first, so that Newton starts
    where the trajectory is by then; the result is still checked, and the
    presimulation still follows where needed.

    Options: tol (max |dy/dt| at the solution, default 1e-9 times the largest
    initial value, at least 1e-9), max_iter (50), presimulate (True),
    t_presim (longest horizon, 1e6 time units), t_settle (model time units
    integrated before Newton, default 0), rtol/atol/method of the
    integrations.
    """
    opt = steady_state_settings(sim, options)
    return search(sim, sim._state(initial), sim._params(parameters), parameters, opt)


def search(sim, y0, p, parameters, opt: dict, points=None, row: int = 0) -> SteadyState:
    """steady_state from the state y0 with the parameter vector p (and their
    overrides ``parameters``, for the presimulation), the options checked.
    ``points``: the C points (see c_points) of a batch holding this search
    at ``row``, when the caller has computed them already."""
    laws = sim.conservation_laws()
    scale = max(1.0, float(np.max(np.abs(y0))))
    tol, max_iter = opt["tol"] * scale, opt["max_iter"]
    nonneg = not sim.model.odes
    fixed = tuple(i for i, s in enumerate(sim.model.species) if s.constant)
    csys = c_system(sim, laws, fixed)
    in_c = c_search_applies(sim, csys, opt)
    if in_c and points is None:
        with sim._lock:
            points = c_points(sim, csys, y0[None, :], p[None, :], opt)
        row = 0
    first = None  # Newton's point from the start, when the C search made one
    if in_c and not points["deferred"][row]:
        return point_result(sim, points, row)
    if in_c and points["newton_point"][row]:
        first = (np.array(points["y"][row]), int(points["iters"][row]),
                 bool(points["converged"][row]))
    # the totals as the C search sums them, so that both see one system
    totals = sim._runner.steady_totals(csys.L, y0) if csys is not None else laws.totals(y0)
    F, JF = _reduced_system(sim, laws, totals, p, list(fixed), y0)

    def fnorm(y):
        f = sim._runner.rhs(0.0, y, p)
        return float(np.max(np.abs(f))) if f.size else 0.0

    newton_c = None if csys is None else _newton_in_c(sim, csys, totals, p, y0, tol, max_iter)

    def newton(y):
        # C (GIL released) where it applies; the same iteration in Python for
        # models too large for dense
        if newton_c is not None:
            return newton_c(y)
        return _newton(F, JF, fnorm, y, tol, max_iter)

    def acceptable(y, ok):
        # a reaction model's steady state has no negative concentrations
        return ok and (not nonneg or float(np.min(y)) >= -tol)

    memo = {}

    def spectrum(y):
        key = y.tobytes()
        if key not in memo:
            memo[key] = _spectrum(sim, csys, laws, fixed, y, p)
        return memo[key]

    def is_stable(y):
        eig = spectrum(y)
        return bool(np.all(np.isfinite(eig)) and (eig.size == 0 or np.all(eig.real < 0)))

    def run(start, horizon):
        return sim.simulate(horizon, parameters=parameters,
                            initial=_as_initial(sim, start, nonneg),
                            rtol=opt["rtol"], atol=opt["atol"], method=opt["method"],
                            t_eval=[0.0, horizon])

    ystart = y0      # where Newton starts: y0, or where settling ends
    if opt["t_settle"] > 0.0:
        r = run(y0, opt["t_settle"])
        if len(r.t):
            ystart = r.y[-1].copy()
    if first is not None:
        y, iters, ok = first
    else:
        with sim._lock:
            y, iters, ok = newton(ystart.copy())
            ok = acceptable(y, ok)
    method = "newton"
    newton_point = (y, iters, ok)
    # An unstable root is not where the system goes from `initial`: look
    # where the trajectory goes, and keep Newton's point only if that fails.
    if ok and not is_stable(y) and opt["presimulate"]:
        ok = False
    if not ok and opt["presimulate"]:
        method = "presimulation+newton"
        t_max = opt["t_presim"]
        ycur = ystart.copy()
        horizon = 1.0
        while horizon <= t_max:
            r = run(ycur, horizon)
            if len(r.t) == 0:
                break
            ycur = r.y[-1].copy()
            with sim._lock:
                y, iters, ok = newton(ycur.copy())
                ok = acceptable(y, ok)
            ok = ok and is_stable(y)
            if ok or not r.success:
                break
            horizon *= 10.0
        if not ok:
            if newton_point[2]:
                (y, iters, ok), method = newton_point, "newton"
            else:
                y = ycur
    with sim._lock:
        fvec = sim._runner.rhs(0.0, y, p)
    resid = float(np.max(np.abs(fvec))) if fvec.size else 0.0
    eig = spectrum(y)
    stable = bool(np.all(np.isfinite(eig)) and (eig.size == 0 or np.all(eig.real < 0)))
    return SteadyState(dict(zip(sim.names, y.tolist())), y, resid, eig, stable,
                       bool(ok and np.isfinite(resid)), method, iters)


def _spectrum(sim, csys, laws, fixed, y, p) -> np.ndarray:
    """Eigenvalues at y on the free subspace: in C (nk_steady_spectrum) where
    the C search applies, numpy's where it does not or the QR iteration
    failed."""
    if csys is not None:
        with sim._lock:
            wr, wi, st = sim._runner.spectrum(y, p, csys.Q)
        if st != _NK_CONV_FAILURE:
            return _eigenvalues(wr, wi, st, wr.shape[0])
    with sim._lock:
        J = np.array(sim._runner.jac(0.0, y, p))
    return _restricted_eigenvalues(J, laws, fixed)


def _as_initial(sim, y, nonneg):
    if nonneg:
        y = np.maximum(y, 0.0)
    return dict(zip(sim.names, y.tolist()))


def _free_basis(laws: ConservationLaws, fixed: tuple):
    """Orthonormal basis (n x m) of the subspace the conservation laws and the
    constant species leave free, or None when nothing constrains it (cached
    on the laws: it depends on the model only)."""
    cache = laws._basis_cache
    if fixed not in cache:
        cache[fixed] = _compute_free_basis(laws, fixed)
    return cache[fixed]


def _compute_free_basis(laws: ConservationLaws, fixed: tuple):
    n = laws.matrix.shape[1]
    rows = [laws.matrix] if len(laws) else []
    if fixed:
        E = np.zeros((len(fixed), n))
        E[np.arange(len(fixed)), list(fixed)] = 1.0
        rows.append(E)
    if not rows:
        return None
    _, sv, vt = np.linalg.svd(np.vstack(rows))
    rank = int(np.sum(sv > 1e-12 * max(sv[0], 1e-300)))
    return vt[rank:].T


def _restricted_eigenvalues(J, laws: ConservationLaws, fixed=()) -> np.ndarray:
    """Eigenvalues of J on the subspace the conservation laws and the constant
    species leave free (NaN when J is not finite)."""
    n = J.shape[0]
    if not np.all(np.isfinite(J)):
        return np.full(max(n - len(laws) - len(fixed), 0), np.nan)
    Q = _free_basis(laws, tuple(fixed))
    if Q is None:
        return np.linalg.eigvals(J)
    if Q.shape[1] == 0:
        return np.zeros(0)
    return np.linalg.eigvals(Q.T @ J @ Q)
