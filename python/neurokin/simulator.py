"""Simulator: a compiled, stateful runner of one Model."""
from __future__ import annotations

import math
import numbers
import threading

import numpy as np

from . import _validate as V
from ._compile import compile_model, parameter_layout
from ._core import METHODS, ModelRunner, status_message
from .result import Result, Status, rhs_failure_hint

__all__ = ["Simulator"]

_SIM_OPTIONS = {"max_steps", "h0", "hmax", "max_order"}

# failures of a GMRES integration that sparse LU may not have: the linear
# algebra's (an unconverged Krylov solve fails the Newton iteration, then
# the step), not the model's (RHS_FAIL, JAC_FAIL, NONFINITE) nor the user's
_DIRECT_RETRY = {int(s) for s in (Status.CONV_FAILURE, Status.ERR_FAILURE,
                                  Status.STEP_TOO_SMALL, Status.SINGULAR_MATRIX)}


class Simulator:
    """Compiles a :class:`~neurokin.Model` once and integrates it many times.

    Parameters
    ----------
    model : Model
        The description to compile.
    linear_solver : {'auto', 'dense', 'sparse', 'gmres'}
        Linear solver of the Newton iterations: dense LU; sparse LU with a
        fill-reducing ordering computed once (KLU-style refactorisation); or
        GMRES with an ILU(0) preconditioner (BDF only).  'auto' (default)
        takes dense LU up to ``SPARSE_THRESHOLD`` (30) species (measured: on
        the 49-species transmitter network with 6% of its Jacobian filled,
        sparse LU is 1.3-1.5x faster; on 20-species POLLU the two are even).
        Above, it asks the sparse LU's symbolic analysis what one
        factorisation would cost: more than ``ITERATIVE_OPS_PER_ENTRY`` (64)
        operations per matrix entry (heavy fill) takes GMRES, else sparse
        LU.  Measured to t=10 at rtol 1e-6 (bench/scale.py's networks): 21
        operations per entry on multisite2 (66 species), where sparse LU is
        1.2x faster than GMRES; 151 on egfr_net (356), GMRES 1.7x faster;
        1,119 on BCR (1,122), 9.5x; 19,472 on fceri_gamma2 (3,744), about
        90x.  An 'auto' simulator that picked GMRES keeps sparse LU beside
        it: radau5 runs on it, and an integration that fails in the linear
        algebra on GMRES (CONV_FAILURE, ERR_FAILURE, STEP_TOO_SMALL,
        SINGULAR_MATRIX; TOO_MUCH_WORK after Krylov solves failed) is rerun
        on it, saying so in the result's message.

    Calls on one simulator are serialised by a lock; for parallel runs use
    :meth:`ensemble` or one simulator per thread (compiling is cheap).
    """

    SPARSE_THRESHOLD = 30
    ITERATIVE_OPS_PER_ENTRY = 64

    def __init__(self, model, linear_solver: str = "auto"):
        from .model import Model
        if not isinstance(model, Model):
            raise TypeError(f"Simulator needs a neurokin.Model, got {type(model).__name__}")
        if linear_solver not in ("auto", "dense", "sparse", "gmres"):
            raise V.OptionError(f"unknown linear_solver {linear_solver!r}; choose 'auto', "
                                "'dense', 'sparse' or 'gmres'")
        self.model = model
        self._compiled, self._code, self._roots = compile_model(model)
        self.observable_names = [o for o, _ in model.observables]
        self._auto = linear_solver == "auto"
        sparse = None  # the sparse runner 'auto' asked, kept for use
        if self._auto:
            linear_solver, sparse = self._choose_linear_solver(len(model.species))
        self.linear_solver = linear_solver
        self._runner = (sparse if linear_solver == "sparse" and sparse is not None
                        else ModelRunner(self._compiled, linear_solver))
        self._direct_runner = sparse if linear_solver == "gmres" else None
        self._lock = threading.Lock()
        self.names = model.species_names
        self._pnames = parameter_layout(model)
        self._pindex = {p: i for i, p in enumerate(self._pnames)}
        self._sindex = {s: i for i, s in enumerate(self.names)}
        sizes = model.compartment_sizes
        values = model.parameters
        self._p0 = np.array([values[p] if p in values else sizes[p] for p in self._pnames],
                            dtype=float)
        self._y0 = np.array([s.initial for s in model.species], dtype=float)
        self._reaction_model = not model.odes
        self._negative_ok = {p.id for p in model.parameters_ if p.allow_negative}
        self._atol_cache = {}
        self._laws = None
        # per-state atol multipliers (e.g. compartment sizes of amount states
        # imported from SBML), so that a scalar atol means one thing for all
        scales = dict(model.atol_scale)
        self._atol_scale = (np.array([scales.get(n, 1.0) for n in self.names])
                            if scales else None)

    # -- argument resolution ---------------------------------------------
    def _state(self, initial) -> np.ndarray:
        return V.overrides(initial, self._y0, self._sindex, "species",
                           allow_negative=not self._reaction_model)

    def _params(self, parameters) -> np.ndarray:
        if parameters is None:
            return self._p0
        p = V.overrides(parameters, self._p0, self._pindex, "parameter", allow_negative=True)
        if self._reaction_model:
            for k in parameters:
                if p[self._pindex[k]] < 0 and k not in self._negative_ok:
                    raise V.InvalidValueError(f"parameter {k!r} must be >= 0, got "
                                              f"{p[self._pindex[k]]}")
        return p

    def _atol(self, atol) -> np.ndarray:
        """Absolute tolerances per state: a scalar is multiplied by the
        model's ``atol_scale`` factors; arrays and dicts are taken as given."""
        if isinstance(atol, numbers.Real) and not isinstance(atol, (bool, np.bool_)):
            atol = float(atol)  # any real scalar (1, np.float32) is scaled, as 1.0 is
            a = self._atol_cache.get(atol)
            if a is None:
                a = V.atol_array(atol, len(self.names))
                if self._atol_scale is not None:
                    a = a * self._atol_scale
                self._atol_cache[atol] = a
            return a
        return V.atol_array(atol, len(self.names), self.names)

    # -- linear solver choice ------------------------------------------------
    def _choose_linear_solver(self, n: int):
        """'auto': (name, the sparse runner built to decide, or None).  Dense
        up to SPARSE_THRESHOLD states; above, see ``heavy_fill``."""
        if n <= self.SPARSE_THRESHOLD:
            return "dense", None
        sparse = ModelRunner(self._compiled, "sparse")
        return ("gmres" if self.heavy_fill(sparse.linear_solver_info()) else "sparse"), sparse

    @classmethod
    def heavy_fill(cls, info: dict) -> bool:
        """Whether 'auto' prefers GMRES over sparse LU, from a sparse runner's
        ``linear_solver_info()``: one factorisation's symbolic operation count
        above ITERATIVE_OPS_PER_ENTRY per entry of c*I - J."""
        return info["flops_est"] > cls.ITERATIVE_OPS_PER_ENTRY * info["nnz_a"]

    def _direct(self) -> ModelRunner:
        """The sparse-LU runner beside an auto-chosen GMRES one (made on first
        use in ensemble workers, which do not share it)."""
        if self._direct_runner is None:
            self._direct_runner = ModelRunner(self._compiled, "sparse")
        return self._direct_runner

    def _runner_for(self, method: str) -> ModelRunner:
        """The runner that integrates with ``method``: radau5 cannot use GMRES
        (complex systems), so an auto-chosen GMRES simulator runs it on
        sparse LU; an explicitly requested GMRES one refuses it."""
        if method == "radau5" and self.linear_solver == "gmres":
            if not self._auto:
                raise V.OptionError("radau5 needs a direct linear solver (its complex "
                                    "systems); use Simulator(model, linear_solver='dense' "
                                    "or 'sparse')")
            return self._direct()
        return self._runner

    def _run(self, method: str, *args):
        """``runner.run`` for ``method`` (args after the method code; caller
        holds the workspace).  Returns (t, y, code, stats, note): when an
        auto-chosen GMRES run failed in the linear algebra it is rerun on
        sparse LU and note says so (else "")."""
        runner = self._runner_for(method)
        retry = self._auto and runner is self._runner and self.linear_solver == "gmres"
        nfail = runner.linear_solver_info()["nfail"] if retry else 0
        t, y, code, stats = runner.run(METHODS[method], *args)
        # TOO_MUCH_WORK is the linear algebra's only when Krylov solves failed
        # (steps cut until GMRES converged); else max_steps was too few for
        # the span, and sparse LU would only take longer to say so
        if retry and (code in _DIRECT_RETRY or (
                code == Status.TOO_MUCH_WORK
                and runner.linear_solver_info()["nfail"] > nfail)):
            first = Status(code).name
            t, y, code, stats = self._direct().run(METHODS[method], *args)
            return t, y, code, stats, (f" (GMRES, which linear_solver='auto' chose, stopped "
                                       f"with {first}; rerun with sparse LU)")
        return t, y, code, stats, ""

    # -- integration -------------------------------------------------------
    def simulate(self, t_end: float, t_eval=None, method: str = "bdf", rtol: float = 1e-6,
                 atol=1e-12, t_start: float = 0.0, initial: dict | None = None,
                 parameters: dict | None = None, **options) -> Result:
        """Integrate from ``t_start`` to ``t_end`` (model time units).

        Parameters
        ----------
        t_end : float
            End time; must be after ``t_start``.
        t_eval : array_like, optional
            Output times (within the interval, increasing).  Values come from
            the method's dense output: no extra steps are forced.  Default:
            every accepted step.
        method : {'bdf', 'radau5'}
        rtol : float
            Relative tolerance, in [1e-15, 1).
        atol : float, array or dict by species
            Absolute tolerance in each state's own unit (concentration).  A
            scalar is multiplied per state by the model's ``atol_scale``
            (models imported from SBML integrate amounts in compartments of
            any size: their amount states get atol times the compartment
            size, so a scalar atol reads as a concentration tolerance).
        initial, parameters : dict, optional
            Values by name overriding the model's for this call only.
        **options
            max_steps (default 500000), h0 (first step, 0 = automatic), hmax
            (0 = unlimited), max_order (BDF, 1-5).

        Returns
        -------
        Result
            A failed integration returns what it computed, flagged by
            ``status`` and ``message``.

        Notes
        -----
        In reaction models the states are concentrations: a step that would
        leave one below ``-atol`` is rejected and retried with a smaller
        step (as CVODE's inequality constraints), so trajectories stay
        non-negative to within the absolute tolerance.
        """
        if options:
            V.check_options(options, _SIM_OPTIONS, "Simulator.simulate")
        max_steps, h0, hmax, max_order = V.solver_options(options)
        m = V.method_name(method)
        self._runner_for(m)  # radau5 on an explicit GMRES: refused here
        t0, t1 = V.time_span(t_start, t_end)
        te = V.time_grid(t_eval, t0, t1)
        y0 = self._state(initial)
        p = self._params(parameters)
        a = self._atol(atol)
        r = V.rtol_value(rtol)
        if self.model.events:
            from .events import simulate_with_events
            with self._lock:
                return simulate_with_events(self, t0, t1, te, m, r, a, y0, p, options)
        with self._lock:
            t, y, code, stats, note = self._run(
                m, t0, t1, y0, p, te, r, a,
                max_steps, h0, hmax, max_order, False, self._reaction_model)
            obs = self._runner.observe(t, y, p) if self.observable_names else None
        res = _result(t, y, self.names, stats, code, m, t1, self.observable_names, obs)
        res.message += note
        res.parameter_values = (self._pnames, p)
        return res

    def rhs(self, y=None, t: float = 0.0, parameters: dict | None = None) -> np.ndarray:
        """The right-hand side f(t, y) (state defaults to the model's initial state)."""
        yv = self._y0 if y is None else self._vector(y)
        with self._lock:
            return self._runner.rhs(self._time(t), yv, self._params(parameters))

    def jacobian(self, y=None, t: float = 0.0, parameters: dict | None = None) -> np.ndarray:
        """The analytic Jacobian df/dy as a dense (n, n) array."""
        yv = self._y0 if y is None else self._vector(y)
        with self._lock:
            return np.ascontiguousarray(self._runner.jac(self._time(t), yv,
                                                         self._params(parameters)))

    @staticmethod
    def _time(t) -> float:
        x = V.number_or_nan(t)
        if not math.isfinite(x):
            raise V.InvalidValueError(f"t must be a finite number, got {t!r}")
        return x

    def _vector(self, y) -> np.ndarray:
        if isinstance(y, dict):
            return V.overrides(y, self._y0, self._sindex, "species", allow_negative=True)
        try:
            v = np.ascontiguousarray(y, dtype=float)
        except (TypeError, ValueError):
            raise V.InvalidValueError(f"state must be numbers (an array of "
                                      f"{len(self.names)} or a dict by species), "
                                      f"got {y!r}") from None
        if v.shape != (len(self.names),):
            raise V.ShapeError(f"state must have shape ({len(self.names)},), got {v.shape}")
        bad = np.flatnonzero(~np.isfinite(v))
        if bad.size:
            raise V.InvalidValueError(f"state must be finite: {self.names[bad[0]]!r} "
                                      f"is {v[bad[0]]}")
        return v

    @property
    def jacobian_pattern(self):
        """Structural nonzeros of df/dy as (colptr, rowind), compressed-column."""
        return self._code.colptr.copy(), self._code.rowind.copy()

    # -- analysis (neurokin.analysis) --------------------------------------
    def conservation_laws(self):
        """Conserved moieties: rows L with L @ dy/dt == 0 for all states
        (computed once per simulator: they depend on the model only)."""
        if self._laws is None:
            from .analysis import conservation_laws
            self._laws = conservation_laws(self)
        return self._laws

    def steady_state(self, initial: dict | None = None, parameters: dict | None = None,
                     **options):
        """The steady state reached from ``initial`` (see neurokin.analysis.steady_state)."""
        from .analysis import steady_state
        return steady_state(self, initial=initial, parameters=parameters, **options)

    def ensemble(self, parameters=None, t_eval=None, **options):
        """Many simulations of this model, one per parameter row.

        ``parameters``: DataFrame, dict of arrays, or (members, n_parameters)
        array; options ``initial`` (per-member overrides), ``workers``,
        ``backend`` ('threads' or 'dask'), ``client``, ``chunk_size``,
        ``progress``, ``out`` (stream to a Zarr store, resumable) and the
        options of :meth:`simulate`.  See :func:`neurokin.ensemble.run_ensemble`.
        """
        from .ensemble import run_ensemble
        return run_ensemble(self, parameters, t_eval, **options)

    def steady_state_ensemble(self, parameters=None, **options):
        """Steady states of many parameter sets (threads or Dask); options
        ``initial``, ``workers``, ``backend``, ``client``, ``chunk_size``,
        ``progress`` and those of :meth:`steady_state`.  See
        :func:`neurokin.ensemble.run_steady_state_ensemble`."""
        from .ensemble import run_steady_state_ensemble
        return run_steady_state_ensemble(self, parameters, **options)

    def __reduce__(self):
        return (Simulator, (self.model, "auto" if self._auto else self.linear_solver))

    def __repr__(self) -> str:
        return f"<neurokin.Simulator of {self.model!r}>"


def _result(t, y, names, stats, code, method, t_end, obs_names=(), obs=None) -> Result:
    status = Status.from_code(code)
    if status == Status.SUCCESS:
        message = "The solver successfully reached the end of the integration interval."
    else:
        t_reached = t[-1] if len(t) else float("nan")
        message = (f"{status.name}: {status_message(code)} (last output at t={t_reached:g}, "
                   f"t_end={t_end:g})")
        message += rhs_failure_hint(status, stats.get("n_rhs_fail", 0) if stats else 0)
    res = Result(t, y, names, stats, status, message, method)
    if obs is not None:
        res.observables = dict(zip(obs_names, obs.T))
    return res
