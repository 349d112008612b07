# C declarations of the neurokin core (src/core/*.h).  Declarations only.

cdef extern from "nk_status.h":
    ctypedef int nk_status
    int NK_SUCCESS, NK_TSTOP_REACHED, NK_OUTPUT_FULL, NK_ROOT_FOUND
    int NK_ERR_MEMORY, NK_ERR_ARGUMENT, NK_TOO_MUCH_WORK, NK_STEP_TOO_SMALL
    int NK_CONV_FAILURE, NK_ERR_FAILURE, NK_SINGULAR_MATRIX, NK_RHS_FAIL
    int NK_JAC_FAIL, NK_NONFINITE, NK_INTERRUPTED, NK_BAD_PROGRAM
    int NK_NOT_INITIALISED, NK_TOO_LARGE
    const char *nk_status_message(int status) nogil
    const char *nk_status_name(int status) nogil

cdef extern from "nk_ode.h":
    ctypedef int (*nk_rhs_fn)(double t, const double *y, double *ydot, void *user) noexcept
    ctypedef int (*nk_jac_fn)(double t, const double *y, const double *fy, double *J, void *user) noexcept
    ctypedef int (*nk_jac_csc_fn)(double t, const double *y, const double *fy, double *values, void *user) noexcept
    ctypedef struct nk_ode:
        int n
        nk_rhs_fn rhs
        nk_jac_fn jac
        nk_jac_csc_fn jac_csc
        int nnz
        const int *colptr
        const int *rowind
        void *user
    ctypedef struct nk_stats:
        long nsteps
        long nreject
        long nfev
        long njev
        long ndecomp
        long nsolve
        long nnewton
        long nconvfail
        long nerrfail
        long nrhsfail
        int order
        double hlast

cdef extern from "nk_linsol.h":
    ctypedef struct nk_linsol:
        int n
    nk_status nk_linsol_dense_create(int n, nk_linsol **out) nogil
    void nk_linsol_free(nk_linsol **p) nogil

cdef extern from "nk_linsol_sparse.h":
    nk_status nk_linsol_sparse_create(int n, int nnz, const int *colptr, const int *rowind,
                                      nk_linsol **out) nogil
    nk_status nk_linsol_gmres_create(int n, int nnz, const int *colptr, const int *rowind,
                                     nk_linsol **out) nogil
    ctypedef struct nk_linsol_sparse_info:
        int n
        long nnz_a, lnz_est
        double flops_est
        long lnz, unz, lnz_c, unz_c, nfactor, nrefactor, noffdiag
        int ncolour
    nk_status nk_linsol_sparse_get_info(const nk_linsol *ls, nk_linsol_sparse_info *info)
    ctypedef struct nk_linsol_gmres_info:
        long nsolve, niter, nfail
        int last_iters
        double last_relres
        int ncolour
    nk_status nk_linsol_gmres_get_info(const nk_linsol *ls, nk_linsol_gmres_info *info)
    nk_status nk_linsol_gmres_set_restart(nk_linsol *ls, int restart)
    nk_status nk_linsol_gmres_set_max_iters(nk_linsol *ls, int max_iters)
    nk_status nk_linsol_gmres_set_rtol(nk_linsol *ls, double rtol)

cdef extern from "nk_tape.h":
    ctypedef struct nk_tape:
        int n_const
        const double *consts
        int n_p
        int n_y
        int n_instr
        const int *code
        int n_out
        const int *out
        int n_aux
        const int *aux
    size_t nk_tape_work_size(const nk_tape *tape) nogil
    nk_status nk_tape_check(const nk_tape *tape) nogil
    void nk_tape_bind(const nk_tape *tape, const double *p, double *work) nogil
    void nk_tape_eval(const nk_tape *tape, double t, const double *y, double *work, double *out) nogil

cdef extern from "nk_model.h":
    ctypedef struct nk_model:
        int n_y
        int n_p
        nk_tape rhs
        nk_tape jac
        int nnz
        const int *colptr
        const int *rowind
        int n_roots
        nk_tape roots
    ctypedef struct nk_model_ctx:
        const nk_model *model
        double *rhs_work
        double *jac_work
        double *jac_vals
        double *roots_work
    nk_status nk_model_check(const nk_model *m) nogil
    nk_status nk_model_ctx_init(nk_model_ctx *ctx, const nk_model *m, const double *p,
                                double *rhs_work, double *jac_work, double *jac_vals) nogil
    void nk_model_ode(nk_model_ctx *ctx, nk_ode *ode) nogil
    int nk_model_rhs(double t, const double *y, double *ydot, void *user) nogil
    int nk_model_jac_dense(double t, const double *y, const double *fy, double *J, void *user) nogil
    int nk_model_roots(double t, const double *y, double *g, void *user) nogil

cdef extern from "nk_integrator.h":
    ctypedef enum nk_method:
        NK_METHOD_BDF
        NK_METHOD_RADAU5
    ctypedef struct nk_integrator:
        pass
    ctypedef int (*nk_monitor_fn)(double t, void *user) noexcept
    ctypedef int (*nk_root_fn)(double t, const double *y, double *g, void *user) noexcept
    nk_status nk_integrator_set_roots(nk_integrator *it, int n_roots, nk_root_fn g, void *user) nogil
    nk_status nk_integrator_get_root_info(const nk_integrator *it, double *t_root, int *fired) nogil
    nk_status nk_integrator_create(nk_method method, int n, nk_integrator **out) nogil
    void nk_integrator_free(nk_integrator **p) nogil
    nk_status nk_integrator_set_tolerances(nk_integrator *it, double rtol, const double *atol) nogil
    nk_status nk_integrator_set_max_steps(nk_integrator *it, long max_steps) nogil
    nk_status nk_integrator_set_h0(nk_integrator *it, double h0) nogil
    nk_status nk_integrator_set_hmax(nk_integrator *it, double hmax) nogil
    nk_status nk_integrator_set_max_order(nk_integrator *it, int q) nogil
    nk_status nk_integrator_set_nonnegative(nk_integrator *it, int on) nogil
    nk_status nk_integrator_set_monitor(nk_integrator *it, nk_monitor_fn fn, void *user, long every) nogil
    nk_status nk_integrator_init(nk_integrator *it, const nk_ode *ode, nk_linsol *ls,
                                 double t0, const double *y0, double t_end) nogil
    nk_status nk_integrator_run(nk_integrator *it, const double *t_eval, long n_eval,
                                double *t_out, double *y_out, long cap, long *k_done) nogil
    nk_status nk_integrator_get_state(const nk_integrator *it, double *t, double *y) nogil
    nk_status nk_integrator_dense(const nk_integrator *it, double t, double *y) nogil
    nk_status nk_integrator_get_stats(const nk_integrator *it, nk_stats *stats) nogil

cdef extern from "nk_ensemble.h":
    int NK_LANES
    ctypedef struct nk_ensemble:
        pass
    ctypedef struct nk_ensemble_opts:
        double t0
        double t_end
        const double *t_eval
        long n_eval
        double rtol
        const double *atol
        long max_steps
        double h0
        double hmax
        int max_order
        int nonnegative
        nk_monitor_fn monitor
        void *monitor_user
        long monitor_every
    int NK_ENSEMBLE_NSTATS
    nk_status nk_ensemble_create(const nk_model *m, nk_ensemble **out) nogil
    void nk_ensemble_free(nk_ensemble **p) nogil
    nk_status nk_ensemble_run_bdf(nk_ensemble *e, const nk_ensemble_opts *o, long members,
                                  const double *P, const double *Y0, double *y_out,
                                  int *status, long *stats_out) nogil

cdef extern from "nk_steady.h":
    ctypedef struct nk_steady_system:
        int n_dep
        const int *dep
        const double *L
        const double *totals
        int n_fixed
        const int *fixed
        const double *yfix
        double tol
        double step_tol
        int max_iter
    nk_status nk_steady_newton(const nk_ode *ode, const nk_steady_system *sys, double *y,
                               double *work, int *piv, int *iters, int *converged) nogil
    ctypedef struct nk_steady_point_opts:
        int n_dep
        const int *dep
        const double *L
        int n_fixed
        const int *fixed
        double tol
        double step_tol
        int max_iter
        int nonneg
        const double *Q
        int m
        int presimulate
        double t_settle
        nk_integrator *presim
        nk_linsol *ls
        double t_presim
        double rtol
        const double *atol
        nk_monitor_fn monitor
        void *monitor_user
    ctypedef struct nk_steady_point_result:
        int deferred
        int newton_point
        int presimulated
        int iters
        int converged
        int spectrum
        int stable
        double residual
    size_t NK_STEADY_POINT_WORK(int n) nogil
    void nk_steady_totals(int n, int n_dep, const double *L, const double *y,
                          double *totals) nogil
    nk_status nk_steady_spectrum(const nk_ode *ode, const double *y, const double *Q, int m,
                                 double *work, double *wr, double *wi) nogil
    nk_status nk_steady_point(const nk_ode *ode, const nk_steady_point_opts *o,
                              const double *y0, double *y, double *wr, double *wi,
                              double *work, int *iwork, nk_steady_point_result *res) nogil

cdef extern from "nk_eigen.h":
    size_t NK_EIGEN_WORK(int n) nogil
    nk_status nk_eigvals(int n, double *a, double *wr, double *wi, double *work) nogil
