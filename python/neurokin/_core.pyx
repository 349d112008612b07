# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Thin binding to the neurokin C core.

Marshalling, GIL policy and error translation only: shapes and dtypes are
checked here, the GIL is released around every call into C (callbacks into
Python take it back; a single rhs or Jacobian of a small model keeps it, see
_NOGIL_MIN_STATES), and C status codes become Python values or neurokin
exceptions in one place (``_check``).  No algorithm lives here.
"""
import numpy as np
cimport numpy as cnp
from libc.string cimport memcpy, memset
from libc.math cimport isfinite
from cpython.exc cimport PyErr_CheckSignals

from neurokin.errors import SolverError, ShapeError, InvalidValueError

cnp.import_array()

METHODS = {"bdf": NK_METHOD_BDF, "radau5": NK_METHOD_RADAU5}
LINEAR_SOLVERS = ("dense", "sparse", "gmres")
ERR_ARGUMENT = NK_ERR_ARGUMENT   # status of an invalid start (ModelRunner.run_lanes)
# the per-member counters of ModelRunner.run_lanes, in the order of nk_ensemble.h
ENSEMBLE_COUNTERS = ("n_steps", "n_rhs", "n_jac", "n_lu", "nreject", "n_rhs_fail")
LANES = NK_LANES                 # members in flight per lane engine


def status_message(int code):
    """Message of a core status code."""
    return nk_status_message(code).decode()


def status_name(int code):
    """Symbolic name of a core status code, without the NK_ prefix."""
    return nk_status_name(code).decode()[3:]


def time_grid(t_eval, double t0, double t1):
    """Output times as a contiguous float64 array, checked in one C loop:
    1-D, finite, within [t0, t1] (either direction) and sorted along it."""
    # aligned as well as contiguous: a buffer from pickle/dask can be offset
    cdef cnp.ndarray arr = _aligned(np.ascontiguousarray(t_eval, dtype=np.float64))
    if arr.ndim != 1:
        raise ShapeError(f"t_eval must be 1-D, got shape {np.shape(t_eval)}")
    cdef double[::1] te = arr
    cdef Py_ssize_t k, m = te.shape[0]
    cdef double lo = t0 if t0 < t1 else t1, hi = t1 if t0 < t1 else t0
    cdef double slack = 1e-12 * (abs(lo) if abs(lo) > abs(hi) else abs(hi))
    cdef double d = 1.0 if t1 > t0 else -1.0, v
    for k in range(m):
        v = te[k]
        if not isfinite(v):
            raise InvalidValueError(f"t_eval must be finite (t_eval[{k}] = {v})")
        if v < lo - slack or v > hi + slack:
            raise InvalidValueError(f"t_eval must lie within [{lo}, {hi}] "
                                    f"(t_eval[{k}] = {v})")
        if k and (v - te[k - 1]) * d < 0:
            raise InvalidValueError("t_eval must be sorted in the direction of integration "
                                    f"(t_eval[{k}] = {v} after {te[k - 1]})")
    # clip the slack so the driver never sees a time past the end
    if m and (te[0] < lo or te[0] > hi or te[m - 1] < lo or te[m - 1] > hi):
        arr = np.clip(arr, lo, hi)
    return arr


cdef object _aligned(a):
    """a as an aligned C-contiguous float64 array (a copy only when needed):
    the core reads doubles directly, and a misaligned load is undefined."""
    return np.require(a, np.float64, ["C", "A"])


cdef int _check(nk_status st) except -1:
    """Raise for statuses that mean misuse or resource failure."""
    if st >= 0:
        return 0
    if st == NK_ERR_MEMORY:
        raise MemoryError(nk_status_message(st).decode())
    raise SolverError(f"{nk_status_name(st).decode()}: {nk_status_message(st).decode()}")


cdef dict _stats_dict(nk_stats *s):
    return {
        "n_steps": s.nsteps, "n_rhs": s.nfev, "n_jac": s.njev, "n_lu": s.ndecomp,
        "nfev": s.nfev, "njev": s.njev, "ndecomp": s.ndecomp, "nsolve": s.nsolve,
        "naccept": s.nsteps, "nreject": s.nreject, "nnewton": s.nnewton,
        "nconvfail": s.nconvfail, "nerrfail": s.nerrfail, "n_rhs_fail": s.nrhsfail,
        "order": s.order,
        "hlast": s.hlast,
    }


# One rhs or Jacobian of a small model takes about a microsecond: releasing
# the GIL for it only hands the GIL to a waiting thread and back (two context
# switches per call), which made threaded steady-state ensembles, whose
# Newton iterations call these, slower with 2 threads than with 1.  Larger
# models release it.
cdef enum:
    _NOGIL_MIN_STATES = 200


cdef class _Interrupt:
    """Holds an exception raised by Python code called back from C."""
    cdef public object exc


cdef int _monitor(double t, void *user) noexcept with gil:
    # Lets Ctrl-C stop a long integration: checked every few hundred steps.
    cdef _Interrupt box = <_Interrupt>user
    try:
        PyErr_CheckSignals()
    except BaseException as e:
        box.exc = e
        return 1
    return 0


cdef class CompiledModel:
    """A compiled model: rhs and Jacobian tapes with the Jacobian pattern, and
    optionally event root functions and observables (outputs computed from the
    state on every result row).

    Shared read-only by every integration that uses it (in any thread).
    """
    cdef nk_model m
    cdef nk_tape obs
    cdef object _keep, _args
    cdef readonly int n_y, n_p, nnz, n_roots, n_obs

    def __cinit__(self, int n_y, int n_p, rhs, jac, colptr, rowind, roots=None,
                  observables=None):
        """Each tape is (consts, code, out, aux) arrays; roots and observables
        are optional tapes."""
        self._args = (n_y, n_p, rhs, jac, colptr, rowind, roots, observables)
        arrays = []

        def f64(a):
            a = np.ascontiguousarray(a, dtype=np.float64).reshape(-1)
            arrays.append(a)
            return a

        def i32(a):
            a = np.ascontiguousarray(a, dtype=np.int32).reshape(-1)
            arrays.append(a)
            return a

        cdef cnp.ndarray cp = i32(colptr), ri = i32(rowind)
        if cp.shape[0] != n_y + 1:
            raise ShapeError(f"colptr must have n_y + 1 = {n_y + 1} entries, got {cp.shape[0]}")
        self.n_y, self.n_p, self.nnz = n_y, n_p, ri.shape[0]
        self.m.n_y = n_y
        self.m.n_p = n_p
        self.m.nnz = ri.shape[0]
        self.m.colptr = <const int *>cp.data
        self.m.rowind = <const int *>ri.data if ri.shape[0] else NULL
        _fill_tape(&self.m.rhs, f64(rhs[0]), i32(rhs[1]), i32(rhs[2]), i32(rhs[3]), n_y, n_p)
        _fill_tape(&self.m.jac, f64(jac[0]), i32(jac[1]), i32(jac[2]), i32(jac[3]), n_y, n_p)
        self.m.n_roots = 0
        self.n_roots = 0
        if roots is not None:
            _fill_tape(&self.m.roots, f64(roots[0]), i32(roots[1]), i32(roots[2]),
                       i32(roots[3]), n_y, n_p)
            self.m.n_roots = self.m.roots.n_out
            self.n_roots = self.m.roots.n_out
        self.n_obs = 0
        if observables is not None:
            _fill_tape(&self.obs, f64(observables[0]), i32(observables[1]),
                       i32(observables[2]), i32(observables[3]), n_y, n_p)
            _check(nk_tape_check(&self.obs))
            self.n_obs = self.obs.n_out
        self._keep = tuple(arrays)
        _check(nk_model_check(&self.m))

    def __reduce__(self):
        return (CompiledModel, self._args)


cdef int _fill_tape(nk_tape *t, cnp.ndarray consts, cnp.ndarray code, cnp.ndarray out,
                    cnp.ndarray aux, int n_y, int n_p) except -1:
    if code.shape[0] % 4:
        raise ShapeError("tape code must have 4 ints per instruction")
    t.n_const = consts.shape[0]
    t.consts = <const double *>consts.data if consts.shape[0] else NULL
    t.n_p = n_p
    t.n_y = n_y
    t.n_instr = code.shape[0] // 4
    t.code = <const int *>code.data if code.shape[0] else NULL
    t.n_out = out.shape[0]
    t.out = <const int *>out.data if out.shape[0] else NULL
    t.n_aux = aux.shape[0]
    t.aux = <const int *>aux.data if aux.shape[0] else NULL
    return 0


cdef class ModelRunner:
    """Integrator workspaces for one compiled model (one per simulator/thread).

    Not safe to use from two threads at once; the Python layer serialises
    calls on one simulator and gives each ensemble worker its own runner.
    """
    cdef CompiledModel model
    cdef nk_integrator *its[2]
    cdef nk_linsol *ls
    cdef nk_model_ctx ctx
    cdef nk_ode ode
    cdef cnp.ndarray rhs_work, jac_work, jac_vals, roots_work, obs_work
    cdef bint _ok
    cdef int _last
    cdef nk_ensemble *ens

    cdef readonly str linear_solver

    def __cinit__(self, CompiledModel model, str linear_solver="dense"):
        self._ok = False
        self.model = model
        self.its[0] = NULL
        self.its[1] = NULL
        self.ls = NULL
        self.linear_solver = linear_solver
        if linear_solver == "dense":
            _check(nk_linsol_dense_create(model.n_y, &self.ls))
        elif linear_solver == "sparse":
            _check(nk_linsol_sparse_create(model.n_y, model.m.nnz, model.m.colptr,
                                           model.m.rowind, &self.ls))
        elif linear_solver == "gmres":
            _check(nk_linsol_gmres_create(model.n_y, model.m.nnz, model.m.colptr,
                                          model.m.rowind, &self.ls))
        else:
            raise ValueError(f"unknown linear solver {linear_solver!r}")
        self.rhs_work = np.zeros(max(<Py_ssize_t>nk_tape_work_size(&model.m.rhs), 1))
        self.jac_work = np.zeros(max(<Py_ssize_t>nk_tape_work_size(&model.m.jac), 1))
        self.jac_vals = np.zeros(max(model.nnz, 1))
        self.roots_work = np.zeros(max(<Py_ssize_t>nk_tape_work_size(&model.m.roots), 1)
                                   if model.n_roots else 1)
        self.obs_work = np.zeros(max(<Py_ssize_t>nk_tape_work_size(&model.obs), 1)
                                 if model.n_obs else 1)
        self._last = -1
        self._ok = True

    def __dealloc__(self):
        nk_integrator_free(&self.its[0])
        nk_integrator_free(&self.its[1])
        nk_linsol_free(&self.ls)
        nk_ensemble_free(&self.ens)

    def linear_solver_info(self):
        """What the linear solver knows (a dict; empty for the dense solver).

        sparse: nnz_a (entries of c*I - J), lnz_est and flops_est (the
        symbolic fill of L, = of U, and the operation count of one
        factorisation, from the fill-reducing ordering), lnz/unz (the last
        factors), nfactor/nrefactor (pivoting and pivot-reusing
        factorisations).  gmres: nsolve, niter (Arnoldi steps), nfail.
        """
        cdef nk_linsol_sparse_info si
        cdef nk_linsol_gmres_info gi
        if self.linear_solver == "sparse":
            _check(nk_linsol_sparse_get_info(self.ls, &si))
            return {"n": si.n, "nnz_a": si.nnz_a, "lnz_est": si.lnz_est,
                    "flops_est": si.flops_est, "lnz": si.lnz, "unz": si.unz,
                    "nfactor": si.nfactor, "nrefactor": si.nrefactor,
                    "ncolour": si.ncolour}
        if self.linear_solver == "gmres":
            _check(nk_linsol_gmres_get_info(self.ls, &gi))
            return {"nsolve": gi.nsolve, "niter": gi.niter, "nfail": gi.nfail,
                    "ncolour": gi.ncolour}
        return {}

    def set_gmres_options(self, restart=None, max_iters=None, rtol=None):
        """GMRES settings (nk_linsol_sparse.h): Krylov dimension between
        restarts (>= 1, default 30), Arnoldi steps per solve (>= 1, default
        200), relative residual tolerance (0 < rtol < 1, default 1e-3)."""
        if self.linear_solver != "gmres":
            raise InvalidValueError(f"GMRES options on a {self.linear_solver} linear solver")
        if restart is not None and nk_linsol_gmres_set_restart(self.ls, restart) != 0:
            raise InvalidValueError(f"GMRES restart must be an integer >= 1, got {restart!r}")
        if max_iters is not None and nk_linsol_gmres_set_max_iters(self.ls, max_iters) != 0:
            raise InvalidValueError(f"GMRES max_iters must be an integer >= 1, got {max_iters!r}")
        if rtol is not None and nk_linsol_gmres_set_rtol(self.ls, rtol) != 0:
            raise InvalidValueError(f"GMRES rtol must be in (0, 1), got {rtol!r}")

    cdef nk_integrator *_integrator(self, int method) except NULL:
        if method < 0 or method > 1:
            raise ValueError("unknown method code")
        if self.its[method] == NULL:
            _check(nk_integrator_create(<nk_method>method, self.model.n_y, &self.its[method]))
        return self.its[method]

    cdef _bind(self, const double[::1] p):
        if p.shape[0] != self.model.n_p:
            raise ShapeError(f"expected {self.model.n_p} parameters, got {p.shape[0]}")
        cdef const double *pp = &p[0] if p.shape[0] else NULL
        self.ctx.roots_work = <double *>self.roots_work.data
        _check(nk_model_ctx_init(&self.ctx, &self.model.m, pp, <double *>self.rhs_work.data,
                                 <double *>self.jac_work.data, <double *>self.jac_vals.data))
        nk_model_ode(&self.ctx, &self.ode)

    def rhs(self, double t, const double[::1] y, const double[::1] p):
        """f(t, y) with parameters p (for tests and steady-state solvers)."""
        self._bind(p)
        if y.shape[0] != self.model.n_y:
            raise ShapeError(f"y must have length {self.model.n_y}")
        out = np.empty(self.model.n_y)
        cdef double[::1] o = out
        if self.model.n_y < _NOGIL_MIN_STATES:
            nk_model_rhs(t, &y[0], &o[0], &self.ctx)
        else:
            with nogil:
                nk_model_rhs(t, &y[0], &o[0], &self.ctx)
        return out

    def jac(self, double t, const double[::1] y, const double[::1] p):
        """Dense analytic Jacobian df/dy (n_y x n_y)."""
        self._bind(p)
        if y.shape[0] != self.model.n_y:
            raise ShapeError(f"y must have length {self.model.n_y}")
        cdef int n = self.model.n_y
        J = np.empty((n, n), order="F")
        cdef double[::1, :] Jv = J
        if self.model.n_y < _NOGIL_MIN_STATES:
            nk_model_jac_dense(t, &y[0], NULL, &Jv[0, 0], &self.ctx)
        else:
            with nogil:
                nk_model_jac_dense(t, &y[0], NULL, &Jv[0, 0], &self.ctx)
        return J

    def newton_steady(self, const double[::1] y0, const double[::1] p,
                      const int[::1] dep, const double[:, ::1] L, const double[::1] totals,
                      const int[::1] fixed, const double[::1] yfix, double tol, int max_iter,
                      double step_tol):
        """Damped Newton on the reduced steady-state system (nk_steady_newton,
        GIL released; least squares at a singular Jacobian).  Returns (y,
        iterations, converged)."""
        self._bind(p)
        cdef int n = self.model.n_y
        if y0.shape[0] != n or yfix.shape[0] != n:
            raise ShapeError(f"y must have length {n}")
        if (L.shape[0] != dep.shape[0] or totals.shape[0] != dep.shape[0]
                or (L.shape[0] and L.shape[1] != n)):
            raise ShapeError("conservation matrix, totals and dependent rows do not match")
        y = np.array(y0, dtype=np.float64)
        work = np.empty(4 * n + n * n)
        piv = np.empty(n, dtype=np.intc)
        cdef double[::1] yv = y, wv = work
        cdef int[::1] pv = piv
        cdef nk_steady_system sys
        sys.n_dep = dep.shape[0]
        sys.dep = &dep[0] if dep.shape[0] else NULL
        sys.L = &L[0, 0] if L.shape[0] else NULL
        sys.totals = &totals[0] if totals.shape[0] else NULL
        sys.n_fixed = fixed.shape[0]
        sys.fixed = &fixed[0] if fixed.shape[0] else NULL
        sys.yfix = &yfix[0]
        sys.tol = tol
        sys.step_tol = step_tol
        sys.max_iter = max_iter
        cdef int it = 0, ok = 0
        cdef nk_status st
        with nogil:
            st = nk_steady_newton(&self.ode, &sys, &yv[0], &wv[0], &pv[0], &it, &ok)
        _check(st)
        return y, it, ok == 1

    cdef const double *_free_basis(self, Q, int *m, list keep) except? NULL:
        """Pointer to the column-major free basis Q (n x m), or NULL (None:
        the whole space, m = n); ``keep`` holds the array alive."""
        cdef int n = self.model.n_y
        cdef double[::1, :] qv
        if Q is None:
            m[0] = n
            return NULL
        q = np.asfortranarray(Q, dtype=np.float64)
        if q.ndim != 2 or q.shape[0] != n or q.shape[1] > n:
            raise ShapeError(f"the free basis must be {n} x m with m <= {n}")
        m[0] = q.shape[1]
        if m[0] == 0:
            q = np.zeros((n, 1), order="F")
        keep.append(q)
        qv = q
        return &qv[0, 0]

    def steady_totals(self, const double[:, ::1] L, const double[::1] y):
        """Conserved totals L y (nk_steady_totals: the summation order the C
        steady-state search uses)."""
        cdef int n = self.model.n_y
        if y.shape[0] != n or (L.shape[0] and L.shape[1] != n):
            raise ShapeError(f"y and the rows of L must have length {n}")
        out = np.zeros(L.shape[0])
        cdef double[::1] ov = out
        if L.shape[0]:
            nk_steady_totals(n, L.shape[0], &L[0, 0], &y[0], &ov[0])
        return out

    def spectrum(self, const double[::1] y, const double[::1] p, Q):
        """Eigenvalues of Q^T J(y) Q (nk_steady_spectrum): (wr, wi, status)."""
        self._bind(p)
        cdef int n = self.model.n_y
        if y.shape[0] != n:
            raise ShapeError(f"y must have length {n}")
        cdef int m = 0
        keep = []
        cdef const double *qp = self._free_basis(Q, &m, keep)
        wr = np.empty(max(m, 1))
        wi = np.empty(max(m, 1))
        work = np.empty(NK_STEADY_POINT_WORK(n))
        cdef double[::1] wrv = wr, wiv = wi, wv = work
        cdef nk_status st
        with nogil:
            st = nk_steady_spectrum(&self.ode, &y[0], qp, m, &wv[0], &wrv[0], &wiv[0])
        if st == NK_ERR_ARGUMENT or st == NK_JAC_FAIL:
            _check(st)
        return wr[:m], wi[:m], int(st)

    def steady_points(self, const double[:, ::1] Y0, const double[:, ::1] P,
                      const int[::1] dep, const double[:, ::1] L, const int[::1] fixed,
                      Q, double tol, double step_tol, int max_iter, bint nonneg,
                      bint presimulate, int presim_method, double t_presim, double rtol,
                      const double[::1] atol, double t_settle=0.0):
        """nk_steady_point (the whole steady-state search) for each row of Y0,
        with the parameters of the same row of P, the GIL released for the
        whole batch.  Q: the free basis of the stability check (n x m) or
        None; presim_method: the presimulation's method code, or -1 to leave
        presimulations to the caller (deferred); t_settle > 0 (an integration
        before Newton) needs a method.  Returns a dict of arrays: y, iters,
        converged, deferred, newton_point, presimulated, spectrum (status),
        stable, residual, wr, wi."""
        cdef int n = self.model.n_y, n_p = self.model.n_p
        cdef Py_ssize_t members = Y0.shape[0], k
        if Y0.shape[1] != n or P.shape[0] != members or P.shape[1] != n_p:
            raise ShapeError(f"expected {members} x {n} states and {members} x {n_p} parameters")
        if L.shape[0] != dep.shape[0] or (L.shape[0] and L.shape[1] != n):
            raise ShapeError("conservation matrix and dependent rows do not match")
        cdef int m = 0
        keep = []
        cdef nk_steady_point_opts o
        o.Q = self._free_basis(Q, &m, keep)
        o.m = m
        o.n_dep = dep.shape[0]
        o.dep = &dep[0] if dep.shape[0] else NULL
        o.L = &L[0, 0] if L.shape[0] else NULL
        o.n_fixed = fixed.shape[0]
        o.fixed = &fixed[0] if fixed.shape[0] else NULL
        o.tol = tol
        o.step_tol = step_tol
        o.max_iter = max_iter
        o.nonneg = nonneg
        o.presimulate = presimulate
        o.t_settle = t_settle
        o.presim = self._integrator(presim_method) if presim_method >= 0 else NULL
        o.ls = self.ls
        o.t_presim = t_presim
        o.rtol = rtol
        if atol.shape[0] != n:
            raise ShapeError(f"atol must have length {n}, got {atol.shape[0]}")
        o.atol = &atol[0]
        box = _Interrupt()
        o.monitor = _monitor
        o.monitor_user = <void *>box
        cdef int mw = max(m, 1)
        y = np.empty((members, n))
        wr = np.empty((members, mw))
        wi = np.empty((members, mw))
        iters = np.zeros(members, dtype=np.intc)
        # converged deferred presimulated spectrum stable newton_point
        flags = np.zeros((members, 6), dtype=np.intc)
        resid = np.full(members, np.nan)
        work = np.empty(NK_STEADY_POINT_WORK(n))
        iwork = np.empty(n, dtype=np.intc)
        cdef double[:, ::1] yv = y, wrv = wr, wiv = wi
        cdef int[::1] itv = iters, iwv = iwork
        cdef int[:, ::1] fv = flags
        cdef double[::1] rv = resid, wv = work
        cdef const double *pp
        cdef nk_steady_point_result res
        cdef nk_status st = NK_SUCCESS
        self.ctx.roots_work = <double *>self.roots_work.data
        with nogil:
            for k in range(members):
                pp = &P[k, 0] if n_p else NULL
                st = nk_model_ctx_init(&self.ctx, &self.model.m, pp,
                                       <double *>self.rhs_work.data,
                                       <double *>self.jac_work.data,
                                       <double *>self.jac_vals.data)
                if st != NK_SUCCESS:
                    break
                nk_model_ode(&self.ctx, &self.ode)
                st = nk_steady_point(&self.ode, &o, &Y0[k, 0], &yv[k, 0], &wrv[k, 0],
                                     &wiv[k, 0], &wv[0], &iwv[0], &res)
                if st != NK_SUCCESS:
                    break
                itv[k] = res.iters
                fv[k, 0] = res.converged
                fv[k, 1] = res.deferred
                fv[k, 2] = res.presimulated
                fv[k, 3] = res.spectrum
                fv[k, 4] = res.stable
                fv[k, 5] = res.newton_point
                rv[k] = res.residual
        if box.exc is not None:
            exc, box.exc = box.exc, None
            raise exc
        _check(st)
        return {"y": y, "iters": iters, "converged": flags[:, 0].astype(bool),
                "deferred": flags[:, 1].astype(bool),
                "presimulated": flags[:, 2].astype(bool), "spectrum": flags[:, 3].copy(),
                "stable": flags[:, 4].astype(bool), "newton_point": flags[:, 5].astype(bool),
                "residual": resid,
                "wr": wr[:, :m], "wi": wi[:, :m]}

    def run(self, int method, double t0, double t_end, const double[::1] y0,
            const double[::1] p, t_eval, double rtol, const double[::1] atol,
            long max_steps=500000, double h0=0.0, double hmax=0.0, int max_order=5,
            bint roots=False, bint nonnegative=False):
        """Integrate; returns (t, y, status, stats).  Rows before a failure are kept.

        With ``roots`` (models with event root functions) the run stops at the
        first crossing with status NK_ROOT_FOUND (3); see ``last_root``.
        With ``nonnegative`` a step leaving any state below -atol is rejected
        and retried smaller (concentrations).
        """
        self._bind(p)
        cdef nk_integrator *it = self._integrator(method)
        _check(nk_integrator_set_nonnegative(it, nonnegative))
        if roots and self.model.n_roots:
            _check(nk_integrator_set_roots(it, self.model.n_roots, nk_model_roots, &self.ctx))
        else:
            _check(nk_integrator_set_roots(it, 0, NULL, NULL))
        self._last = method
        return _drive(it, &self.ode, self.ls, t0, t_end, y0, t_eval,
                      rtol, atol, max_steps, h0, hmax, max_order, method, None)

    def run_lanes(self, double t0, double t_end, const double[:, ::1] P,
                  const double[:, ::1] Y0, const double[::1] t_eval, double rtol,
                  const double[::1] atol, long max_steps=500000, double h0=0.0,
                  double hmax=0.0, int max_order=5, bint nonnegative=False):
        """Many members with BDF and the dense solver, NK_LANES at a time (nk_ensemble).

        Row i of P (full parameter vectors) and Y0 (initial states) is one
        member.  Returns (y, status, counts): y (members, len(t_eval), n_y)
        with the rows each member reached (NaN after a failure), status
        (members,) int32 core codes, each what ``run`` would return for that
        member (NK_ERR_ARGUMENT where ``run`` would raise: rerun it to get the
        error), and counts (members, len(ENSEMBLE_COUNTERS)) int64, the
        member's ``stats`` entries named by ENSEMBLE_COUNTERS (zeros for an
        invalid start).  Bit-identical to ``run`` member by member.
        """
        cdef int n = self.model.n_y, n_p = self.model.n_p
        cdef Py_ssize_t k = P.shape[0]
        if P.shape[1] != n_p or Y0.shape[0] != k or Y0.shape[1] != n:
            raise ShapeError(f"P must be (members, {n_p}) and Y0 (members, {n})")
        if atol.shape[0] != n:
            raise ShapeError(f"atol must have length {n}, got {atol.shape[0]}")
        if t_eval.shape[0] < 1:
            raise ShapeError("t_eval must not be empty")
        y = np.full((k, t_eval.shape[0], n), np.nan)
        status = np.zeros(k, dtype=np.intc)
        counts = np.zeros((k, NK_ENSEMBLE_NSTATS), dtype="l")  # C long
        if k == 0:
            return y, status, counts
        if self.ens == NULL:
            _check(nk_ensemble_create(&self.model.m, &self.ens))
        cdef double[:, :, ::1] yv = y
        cdef int[::1] sv = status
        cdef long[:, ::1] cv = counts
        cdef _Interrupt box = _Interrupt()
        cdef nk_ensemble_opts o
        memset(&o, 0, sizeof(o))
        o.t0 = t0
        o.t_end = t_end
        o.t_eval = &t_eval[0]
        o.n_eval = t_eval.shape[0]
        o.rtol = rtol
        o.atol = &atol[0]
        o.max_steps = max_steps
        o.h0 = h0
        o.hmax = hmax
        o.max_order = max_order
        o.nonnegative = nonnegative
        o.monitor = _monitor
        o.monitor_user = <void *>box
        o.monitor_every = 500 * NK_LANES
        cdef const double *pp = &P[0, 0] if n_p else NULL
        cdef nk_status st
        with nogil:
            st = nk_ensemble_run_bdf(self.ens, &o, k, pp, &Y0[0, 0], &yv[0, 0, 0], &sv[0],
                                     &cv[0, 0])
        if box.exc is not None:
            raise box.exc
        _check(st)
        return y, status, counts

    def last_root(self):
        """(t_root, fired) after a run returned NK_ROOT_FOUND: fired[k] is +1
        (root function k crossed upwards), -1 (downwards) or 0."""
        if self._last < 0:
            raise SolverError("no run yet")
        cdef double tr = 0.0
        fired = np.zeros(max(self.model.n_roots, 1), dtype=np.intc)
        cdef int[::1] fv = fired
        nk_integrator_get_root_info(self.its[self._last], &tr, &fv[0])
        return tr, fired[:self.model.n_roots]

    def state_at(self, double t):
        """The last run's dense output at t (within its last step)."""
        if self._last < 0:
            raise SolverError("no run yet")
        out = np.empty(self.model.n_y)
        cdef double[::1] o = out
        _check(nk_integrator_dense(self.its[self._last], t, &o[0]))
        return out

    def roots(self, double t, const double[::1] y, const double[::1] p):
        """Root function values g(t, y) (events)."""
        self._bind(p)
        if y.shape[0] != self.model.n_y:
            raise ShapeError(f"y must have length {self.model.n_y}")
        out = np.empty(max(self.model.n_roots, 1))
        cdef double[::1] o = out
        if self.model.n_roots:
            nk_model_roots(t, &y[0], &o[0], &self.ctx)
        return out[:self.model.n_roots]

    def observe(self, const double[::1] t, const double[:, ::1] y, const double[::1] p):
        """Observables at each row (t[k], y[k]): array (rows, n_obs)."""
        cdef int n_obs = self.model.n_obs
        cdef Py_ssize_t k, rows = t.shape[0]
        if y.shape[0] != rows or (rows and y.shape[1] != self.model.n_y):
            raise ShapeError("y must be (len(t), n_y)")
        if p.shape[0] != self.model.n_p:
            raise ShapeError(f"expected {self.model.n_p} parameters, got {p.shape[0]}")
        out = np.empty((rows, n_obs))
        if n_obs == 0 or rows == 0:
            return out
        cdef double[:, ::1] o = out
        cdef double *w = <double *>self.obs_work.data
        nk_tape_bind(&self.model.obs, &p[0] if p.shape[0] else NULL, w)
        with nogil:
            for k in range(rows):
                nk_tape_eval(&self.model.obs, t[k], &y[k, 0], w, &o[k, 0])
        return out


cdef tuple _drive(nk_integrator *it, nk_ode *ode, nk_linsol *ls, double t0, double t_end,
                  const double[::1] y0, t_eval, double rtol, const double[::1] atol,
                  long max_steps, double h0, double hmax, int max_order, int method,
                  _Interrupt box):
    """Shared driver loop of both runners: output buffers, GIL, statuses."""
    cdef int n = ode.n
    if y0.shape[0] != n:
        raise ShapeError(f"initial state must have length {n}, got {y0.shape[0]}")
    if atol.shape[0] != n:
        raise ShapeError(f"atol must have length {n}, got {atol.shape[0]}")
    if n and (<size_t>&y0[0]) % sizeof(double):
        y0 = _aligned(y0)
    if n and (<size_t>&atol[0]) % sizeof(double):
        atol = _aligned(atol)
    if t_eval is not None:
        t_eval = _aligned(t_eval)
    if box is None:
        box = _Interrupt()
    _check(nk_integrator_set_tolerances(it, rtol, &atol[0]))
    _check(nk_integrator_set_max_steps(it, max_steps))
    _check(nk_integrator_set_h0(it, h0))
    _check(nk_integrator_set_hmax(it, hmax))
    if method == NK_METHOD_BDF:
        _check(nk_integrator_set_max_order(it, max_order))
    _check(nk_integrator_set_monitor(it, _monitor, <void *>box, 500))
    cdef nk_status st
    with nogil:
        st = nk_integrator_init(it, ode, ls, t0, &y0[0], t_end)
    if box.exc is not None:
        raise box.exc
    if st < 0:
        # a failing rhs at t0 is a result, not an exception
        if st in (NK_RHS_FAIL, NK_NONFINITE, NK_JAC_FAIL):
            t = np.array([t0]); y = np.asarray(y0).copy().reshape(1, n)
            return t, y, st, {}
        _check(st)
    cdef long k_done = 0, cap, n_eval
    cdef cnp.ndarray t_arr, y_arr
    cdef const double[::1] te
    cdef nk_stats stats
    if t_eval is not None:
        te = t_eval
        n_eval = te.shape[0]
        t_arr = np.empty(n_eval)
        y_arr = np.empty((n_eval, n))
        if n_eval:
            with nogil:
                st = nk_integrator_run(it, &te[0], n_eval, <double *>t_arr.data,
                                       <double *>y_arr.data, 0, &k_done)
        else:
            st = NK_SUCCESS
    else:
        cap = 64
        t_arr = np.empty(cap)
        y_arr = np.empty((cap, n))
        t_arr[0] = t0
        memcpy(<double *>y_arr.data, &y0[0], n * sizeof(double))
        k_done = 1
        while True:
            with nogil:
                st = nk_integrator_run(it, NULL, 0, <double *>t_arr.data,
                                       <double *>y_arr.data, cap, &k_done)
            if st != NK_OUTPUT_FULL:
                break
            cap *= 2
            t_new = np.empty(cap)
            y_new = np.empty((cap, n))
            t_new[:k_done] = t_arr[:k_done]
            y_new[:k_done] = y_arr[:k_done]
            t_arr, y_arr = t_new, y_new
    nk_integrator_get_stats(it, &stats)
    if box.exc is not None:
        exc, box.exc = box.exc, None
        raise exc
    if st == NK_ERR_ARGUMENT or st == NK_ERR_MEMORY or st == NK_NOT_INITIALISED:
        _check(st)
    return t_arr[:k_done], y_arr[:k_done], st, _stats_dict(&stats)


# ----------------------------------------------------------------------------
# Python callbacks (solve_ivp): trampolines that hold the GIL.

cdef class PyODE(_Interrupt):
    """A Python right-hand side (and optional Jacobian) for the C integrators."""
    cdef object fun, jac_fun, jac_const, args
    cdef int n
    cdef nk_ode ode
    cdef nk_linsol *ls
    cdef nk_integrator *its[2]
    cdef public long n_py_jac

    def __cinit__(self, fun, int n, jac=None, tuple args=()):
        self.its[0] = NULL
        self.its[1] = NULL
        self.ls = NULL
        self.fun = fun
        self.n = n
        self.args = args
        self.n_py_jac = 0
        self.jac_fun = None
        self.jac_const = None
        if jac is not None:
            if callable(jac):
                self.jac_fun = jac
            else:
                J = np.asarray(jac, dtype=np.float64)
                if J.shape != (n, n):
                    raise ShapeError(f"jac must have shape ({n}, {n}), got {J.shape}")
                self.jac_const = np.asfortranarray(J)
        _check(nk_linsol_dense_create(n, &self.ls))
        self.ode.n = n
        self.ode.rhs = _py_rhs
        self.ode.jac = NULL
        if jac is not None:
            self.ode.jac = _py_jac
        self.ode.jac_csc = NULL
        self.ode.nnz = 0
        self.ode.colptr = NULL
        self.ode.rowind = NULL
        self.ode.user = <void *>self

    def __dealloc__(self):
        nk_integrator_free(&self.its[0])
        nk_integrator_free(&self.its[1])
        nk_linsol_free(&self.ls)

    def run(self, int method, double t0, double t_end, const double[::1] y0, t_eval,
            double rtol, const double[::1] atol, long max_steps=500000, double h0=0.0,
            double hmax=0.0, int max_order=5):
        if method < 0 or method > 1:
            raise ValueError("unknown method code")
        if self.its[method] == NULL:
            _check(nk_integrator_create(<nk_method>method, self.n, &self.its[method]))
        self.exc = None
        return _drive(self.its[method], &self.ode, self.ls, t0, t_end, y0, t_eval, rtol,
                      atol, max_steps, h0, hmax, max_order, method, self)


cdef int _py_rhs(double t, const double *y, double *ydot, void *user) noexcept with gil:
    cdef PyODE o = <PyODE>user
    cdef int i
    cdef double[::1] fv
    if o.exc is not None:
        return -1  # a callback already raised: never call Python again
    try:
        yarr = np.empty(o.n)
        memcpy(<double *>cnp.PyArray_DATA(yarr), y, o.n * sizeof(double))
        f = o.fun(t, yarr, *o.args)
        try:
            farr = np.asarray(f, dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidValueError(f"fun(t, y) must return numbers, got {f!r}") from None
        if farr.size != o.n or (farr.ndim > 1 and farr.shape[0] != o.n):
            raise ShapeError(f"fun(t, y) must return {o.n} values, got shape {farr.shape}")
        fv = _aligned(farr.reshape(-1))
        for i in range(o.n):
            ydot[i] = fv[i]
            if not isfinite(fv[i]):
                return 1
        return 0
    except BaseException as e:
        o.exc = e
        return -1


cdef int _py_jac(double t, const double *y, const double *fy, double *J, void *user) noexcept with gil:
    cdef PyODE o = <PyODE>user
    cdef double[::1, :] Jv
    cdef int i, j
    if o.exc is not None:
        return -1  # a callback already raised: never call Python again
    try:
        if o.jac_const is not None:
            Jm = o.jac_const
        else:
            yarr = np.empty(o.n)
            memcpy(<double *>cnp.PyArray_DATA(yarr), y, o.n * sizeof(double))
            Jm = o.jac_fun(t, yarr, *o.args)
            o.n_py_jac += 1
            if hasattr(Jm, "toarray"):
                Jm = Jm.toarray()
            try:
                Jm = np.asarray(Jm, dtype=np.float64)
            except (TypeError, ValueError):
                raise InvalidValueError(f"jac(t, y) must return numbers, got {Jm!r}") from None
            if Jm.shape != (o.n, o.n):
                raise ShapeError(f"jac(t, y) must return shape ({o.n}, {o.n}), got {Jm.shape}")
        Jv = np.require(Jm, np.float64, ["F", "A"])
        for j in range(o.n):
            for i in range(o.n):
                J[i + j * o.n] = Jv[i, j]
        return 0
    except BaseException as e:
        o.exc = e
        return -1
