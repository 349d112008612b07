"""Balance analysis: metabolic control analysis and interventions.

Which enzyme or transporter controls a steady state, how the whole balance
shifts under a drug or hormone change, and how it gets there::

    import neurokin as nk
    from neurokin import balance

    net = nk.models.transmitter_network()
    sim = nk.Simulator(net)
    cc = balance.control_coefficients(sim, targets=["ht.eht"])     # tidy DataFrame
    balance.top_controllers(sim, "ht.eht", n=5)
    balance.compare(net, SSRI={"ssri": 0.8}, MAOI={"maoi": 0.9})     # side by side
    r = balance.intervention_time_course(net, 24.0, 24.0 * 15, {"ssri": 0.8})

Control coefficients
--------------------
The concentration control coefficient of species ``x`` with respect to a
parameter ``p`` is ``C^x_p = d ln x_ss / d ln p = (p / x_ss) dx_ss/dp``, the
relative change of the steady state per relative change of the parameter
(the conserved totals held fixed).  It is computed by implicit
differentiation of ``f(x_ss, p) = 0``, not by re-solving:

    G_x dx/dp = -G_p

where ``G`` is ``f`` with the row of each species a conservation law
eliminates replaced by the law itself (``L x - T``, whose derivative is
``L`` in ``x`` and 0 in ``p``), the same reduction the steady-state solver
uses, so ``G_x`` is non-singular at a regular steady state even when the
Jacobian ``df/dx`` is not.  ``df/dx`` is the engine's analytic Jacobian;
``df/dp`` comes from symbolic differentiation of the model's right-hand side
(:func:`neurokin.expr.diff` on :meth:`Model.rhs_nodes`), evaluated at the
steady state.

Which parameters (the default rule, :func:`capacity_parameters`): a
parameter is a *capacity* when its own id (after the module prefix) starts
with ``Vmax``, ``V_``, ``Vf``, ``Vb`` or ``kcat``, or when it scales a rate:
every reaction rate that uses it is proportional to it (``v = p * g`` with
``g`` free of ``p``: first-order constants ``k_*``, release constants,
activity multipliers).  Compartment sizes, parameters no rate uses and
parameters whose value is 0 (their coefficients are 0 by definition) are left
out.  For a model given by ODEs (no reactions) only the name rule applies.
Pass ``parameters=[...]`` to choose yourself; any parameter is allowed.

Summation theorem: if scaling a set of parameters by the same factor scales
*every* reaction rate by that factor, the concentration control coefficients
over that set sum to 0 for each species (and flux control coefficients to 1).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import InvalidValueError, NeurokinError, OptionError, UnknownNameError

__all__ = ["control_coefficients", "flux_control_coefficients", "top_controllers",
           "capacity_parameters", "intervention_table", "compare", "apply_changes",
           "intervention_time_course", "read_outs", "CAPACITY_PREFIXES"]

CAPACITY_PREFIXES = ("Vmax", "V_", "Vf", "Vb", "kcat")


# -- helpers ------------------------------------------------------------------------
def _simulator(sim_or_model):
    from .model import Model
    from .simulator import Simulator
    if isinstance(sim_or_model, Model):
        return Simulator(sim_or_model)
    if isinstance(sim_or_model, Simulator):
        return sim_or_model
    raise TypeError(f"expected a neurokin.Simulator or Model, got {type(sim_or_model).__name__}")


def _bare(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _env(sim, y, pvec) -> dict:
    env = dict(zip(sim._pnames, pvec.tolist()))
    env.update(zip(sim.names, np.asarray(y, dtype=float).tolist()))
    return env


def _eval(node, env, t=0.0) -> float:
    from .expr import evaluate
    return float(evaluate(node, env, t=t))


def capacity_parameters(model) -> list:
    """The parameters whose control coefficients are computed by default.

    See the module docstring for the rule: capacity names (``Vmax*``, ``V_*``,
    ``Vf*``, ``Vb*``, ``kcat*``) and rate-scaling parameters (every rate that
    uses the parameter is proportional to it), minus compartment sizes,
    unused parameters and parameters that are 0.
    """
    from .expr import diff
    values = model.parameters
    comps = set(model.compartment_sizes)
    env = dict(model.compartment_sizes)
    env.update(values)
    env.update(model.initial)
    used: dict = {}
    if model.reactions:
        for r in model.reactions:
            node = model.node(r.rate)
            for s in node.free_symbols:
                if s in values:
                    used.setdefault(s, []).append(node)
    else:
        for node in model.rhs_nodes():
            for s in node.free_symbols:
                if s in values:
                    used.setdefault(s, [])
    out = []
    rng = np.random.default_rng(7)
    for p in model.parameter_names:
        if p in comps or p not in used or values[p] == 0.0:
            continue
        if _bare(p).startswith(CAPACITY_PREFIXES):
            out.append(p)
            continue
        nodes = used[p]
        if not nodes:
            continue
        # proportional: v == p * dv/dp at the model's values and at two random
        # points (every symbol rescaled, zeros made positive); points where v and
        # dv/dp are both 0 say nothing, and at least one must say something
        ok, informative = True, False
        for trial in range(3):
            e = env if trial == 0 else {k: (v if v else 1.0) * rng.uniform(0.5, 2.0)
                                        for k, v in env.items()}
            for node in nodes:
                try:
                    v = _eval(node, e)
                    dv = _eval(diff(node, p), e)
                except (KeyError, ZeroDivisionError, OverflowError, ValueError):
                    ok = False
                    break
                if not (math.isfinite(v) and math.isfinite(dv)):
                    ok = False
                    break
                if v == 0.0 and dv == 0.0:
                    continue
                informative = True
                if abs(e[p] * dv - v) > 1e-9 * max(abs(v), 1e-300):
                    ok = False
                    break
            if not ok:
                break
        ok = ok and informative
        if ok:
            out.append(p)
    return out


def _steady(sim, steady_state, values):
    if steady_state is None:
        steady_state = sim.steady_state(parameters=values)
        if not steady_state.converged:
            raise NeurokinError(
                f"no steady state found (residual {steady_state.residual_norm:.3g}); control "
                "coefficients need one: check the model, or pass steady_state=")
    return steady_state


def _reduced_jacobian(sim, y, pvec):
    """G_x: the Jacobian with conservation-law rows (and unit rows for constant
    species) in place of the rows they make redundant."""
    J = np.array(sim._runner.jac(0.0, np.ascontiguousarray(y, dtype=float), pvec))
    laws = sim.conservation_laws()
    replaced = []
    if len(laws):
        dep = laws.dependent()
        J[dep, :] = laws.matrix
        replaced += list(dep)
    for i, s in enumerate(sim.model.species):
        if s.constant and i not in replaced:
            J[i, :] = 0.0
            J[i, i] = 1.0
            replaced.append(i)
    return J, replaced


def _sensitivities(sim, y, pvec, params):
    """dx_ss/dp (n_species x n_params), by implicit differentiation."""
    from .expr import diff
    G, replaced = _reduced_jacobian(sim, y, pvec)
    nodes = sim.model.rhs_nodes()
    env = _env(sim, y, pvec)
    n = len(sim.names)
    Fp = np.zeros((n, len(params)))
    for k, p in enumerate(params):
        memo: dict = {}
        for i, node in enumerate(nodes):
            if p in node.free_symbols:
                Fp[i, k] = _eval(diff(node, p, memo), env)
    Fp[replaced, :] = 0.0
    try:
        S = np.linalg.solve(G, -Fp)
    except np.linalg.LinAlgError:
        raise NeurokinError("the steady state is singular on the subspace the conservation "
                            "laws leave free: control coefficients are undefined there "
                            "(a bifurcation point, or an unreached steady state)") from None
    if np.linalg.cond(G) > 1e14:
        raise NeurokinError("the reduced Jacobian at the steady state is numerically singular "
                            f"(condition number {np.linalg.cond(G):.2g}): control coefficients "
                            "are undefined there")
    return S


def _resolve(sim, targets, parameters, kind="species"):
    model = sim.model
    pnames = set(sim._pnames)
    if parameters is None:
        params = capacity_parameters(model)
        if not params:
            raise NeurokinError(f"model {model.name!r} has no capacity parameters by the "
                                "default rule (Vmax*, V_*, Vf*, Vb*, kcat*, or rate-scaling "
                                "constants): pass parameters=[...]")
    else:
        params = [parameters] if isinstance(parameters, str) else list(parameters)
        for p in params:
            if p not in pnames:
                import difflib
                close = difflib.get_close_matches(str(p), list(pnames), n=3)
                hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
                raise UnknownNameError(f"no parameter {p!r} in model {model.name!r}{hint}")
    if kind == "species":
        if targets is None:
            tg = [s.id for s in model.species if not s.constant]
        else:
            tg = [targets] if isinstance(targets, str) else list(targets)
            for s in tg:
                if s not in sim._sindex:
                    import difflib
                    close = difflib.get_close_matches(str(s), sim.names, n=3)
                    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
                    raise UnknownNameError(f"no species {s!r} in model {model.name!r}{hint}")
    else:
        rids = [r.id for r in model.reactions]
        if not rids:
            raise NeurokinError("flux control coefficients need a reaction model")
        tg = rids if targets is None else ([targets] if isinstance(targets, str)
                                           else list(targets))
        for r in tg:
            if r not in rids:
                raise UnknownNameError(f"no reaction {r!r} in model {model.name!r}")
    return tg, params


def _table(rows, columns, as_frame):
    if as_frame is not False:
        try:
            import pandas as pd
        except ImportError:
            if as_frame:
                raise
        else:
            return pd.DataFrame(rows, columns=columns)
    return {c: [r[i] for r in rows] for i, c in enumerate(columns)}


def control_coefficients(sim, targets=None, parameters=None, steady_state=None, *,
                         values=None, scaled=True, as_frame=None):
    """Concentration control coefficients ``C^x_p = d ln x_ss / d ln p``.

    Parameters
    ----------
    sim : Simulator (or Model, compiled here)
    targets : str or list of str, optional
        Species (default: every non-constant species).
    parameters : str or list of str, optional
        The parameters to perturb (default: :func:`capacity_parameters`).
    steady_state : SteadyState, optional
        The steady state to differentiate at (default: ``sim.steady_state()``
        with ``values``).
    values : dict, optional
        Parameter values overriding the model's for this call (as in
        ``simulate(parameters=...)``).
    scaled : bool
        True: ``d ln x / d ln p``; False: the unscaled sensitivity ``dx/dp``.
        A scaled coefficient of a species that is 0 at steady state is NaN.
    as_frame : bool, optional
        Tidy pandas DataFrame (columns target, parameter, coefficient) when
        pandas is installed (default); False: a dict of those three lists.
    """
    sim = _simulator(sim)
    tg, params = _resolve(sim, targets, parameters)
    pvec = sim._params(values)
    ss = _steady(sim, steady_state, values)
    y = np.asarray(ss.y, dtype=float)
    S = _sensitivities(sim, y, pvec, params)
    pv = np.array([pvec[sim._pindex[p]] for p in params])
    rows = []
    for s in tg:
        i = sim._sindex[s]
        for k, p in enumerate(params):
            d = S[i, k]
            if scaled:
                d = 0.0 if pv[k] == 0.0 else (d * pv[k] / y[i] if y[i] != 0.0 else math.nan)
            rows.append((s, p, float(d) + 0.0))   # no -0.0
    return _table(rows, ["target", "parameter", "coefficient"], as_frame)


def flux_control_coefficients(sim, reactions=None, parameters=None, steady_state=None, *,
                              values=None, scaled=True, as_frame=None):
    """Flux control coefficients ``C^J_p = d ln v_j(x_ss, p) / d ln p``.

    The total derivative of each reaction rate at the steady state: its
    direct dependence on ``p`` plus the shift of the steady state
    (``dv/dx . dx/dp``).  Same arguments as :func:`control_coefficients`,
    with reaction ids as targets (default: every reaction).  A reaction whose
    steady flux is 0 gets NaN.
    """
    from .expr import diff
    sim = _simulator(sim)
    tg, params = _resolve(sim, reactions, parameters, kind="reaction")
    pvec = sim._params(values)
    ss = _steady(sim, steady_state, values)
    y = np.asarray(ss.y, dtype=float)
    S = _sensitivities(sim, y, pvec, params)
    env = _env(sim, y, pvec)
    model = sim.model
    rate = {r.id: model.node(r.rate) for r in model.reactions}
    pv = np.array([pvec[sim._pindex[p]] for p in params])
    rows = []
    for rid in tg:
        node = rate[rid]
        v = _eval(node, env)
        dvdx = np.zeros(len(sim.names))
        for s in node.free_symbols:
            i = sim._sindex.get(s)
            if i is not None:
                dvdx[i] = _eval(diff(node, s), env)
        for k, p in enumerate(params):
            d = float(dvdx @ S[:, k])
            if p in node.free_symbols:
                d += _eval(diff(node, p), env)
            if scaled:
                d = 0.0 if pv[k] == 0.0 else (d * pv[k] / v if v != 0.0 else math.nan)
            rows.append((rid, p, float(d) + 0.0))
    return _table(rows, ["target", "parameter", "coefficient"], as_frame)


def top_controllers(sim, target, n=5, parameters=None, steady_state=None, *, values=None,
                    as_frame=None):
    """The ``n`` parameters with the largest ``|C^target_p|``, strongest first.

    Returns a DataFrame (parameter, coefficient, unit, description) or a list
    of (parameter, coefficient) tuples without pandas.
    """
    sim = _simulator(sim)
    cc = control_coefficients(sim, [target], parameters, steady_state, values=values,
                              as_frame=False)
    pairs = [(p, c) for p, c in zip(cc["parameter"], cc["coefficient"]) if math.isfinite(c)]
    pairs.sort(key=lambda pc: -abs(pc[1]))
    pairs = pairs[:int(n)]
    meta = {p.id: p for p in sim.model.parameters_}
    if as_frame is False:
        return pairs
    try:
        import pandas as pd
    except ImportError:
        if as_frame:
            raise
        return pairs
    return pd.DataFrame([(p, c, meta[p].unit, meta[p].description) for p, c in pairs],
                        columns=["parameter", "coefficient", "unit", "description"])


# -- interventions ------------------------------------------------------------------
def _constructor(model):
    from . import models as M
    return {"transmitter_network": M.transmitter_network, "dopamine": M.dopamine,
            "serotonin": M.serotonin, "gaba_glutamate": M.gaba_glutamate,
            "hpa_axis": M.hpa_axis}.get(model.name)


def apply_changes(model, changes):
    """``model`` changed by ``changes``: a Model (returned as is) or a dict.

    Dict keys may be options of the built-in model ``model`` was built from
    (``ssri``, ``maoi``, ``comt_genotype``... for the network), parameter
    names (``with_parameters``) or species names (``with_initial``: inputs
    held fixed such as ``hpa.F`` or ``da.btyr``).  Options are applied as the
    parameter and initial-value differences they make to the default model;
    an option that changes the equations (``cortisol``, which clamps the
    cortisol the brain sees) is allowed only on a model with default options,
    and the constructor's model is returned.
    """
    from .model import Model
    if isinstance(changes, Model):
        return changes
    if not isinstance(changes, dict):
        raise InvalidValueError(f"an intervention is a Model or a dict of options / parameter "
                                f"values, got {type(changes).__name__}")
    params, inits, opts = {}, {}, {}
    pnames = set(model.parameters) | set(model.compartment_sizes)
    snames = set(model.species_names)
    for k, v in changes.items():
        if k in pnames:
            params[k] = v
        elif k in snames:
            inits[k] = v
        else:
            opts[k] = v
    if opts:
        ctor = _constructor(model)
        if ctor is None:
            raise UnknownNameError(
                f"{', '.join(map(repr, opts))}: not a parameter or species of model "
                f"{model.name!r} (options apply to the built-in models only)")
        ref, new = ctor(), ctor(**opts)       # validates the options (OptionError...)
        if [r.rate for r in ref.reactions] == [r.rate for r in new.reactions] and \
                set(ref.parameters) == set(new.parameters):
            # every parameter / initial value an option controls takes the value the
            # constructor gives it (so {"ssri": 0} undoes a baseline built with ssri=0.8)
            np_, ni = new.parameters, new.initial
            for opt in (o for o, v in opts.items() if v is not None):
                ctl_p, ctl_s = _controlled(ctor, opt)
                for k in ctl_p:
                    params.setdefault(k, np_[k])
                for k in ctl_s:
                    inits.setdefault(k, ni[k])
        elif model == ref:
            model = new
        else:
            raise OptionError(
                f"option(s) {', '.join(map(repr, opts))} change the model's equations and "
                f"cannot be applied to a changed {model.name!r} model; build it with "
                f"nk.models.{model.name}(...) and pass the Model instead")
    if params:
        model = model.with_parameters(params)
    if inits:
        model = model.with_initial(inits)
    return model


_CONTROLLED: dict = {}
_PROBES = {"fraction": (0.25, 0.5), "nonneg": (1.0, 2.0), "genotype": ("Val/Met", "Met/Met")}


def _controlled(ctor, option):
    """(parameters, species) whose value the option ``option`` of ``ctor`` sets."""
    key = (ctor.__name__, option)
    if key not in _CONTROLLED:
        from .models._options import OPTION_SPECS
        a, b = (ctor(**{option: v}) for v in _PROBES[OPTION_SPECS[option][0]])
        pa, pb, ia, ib = a.parameters, b.parameters, a.initial, b.initial
        _CONTROLLED[key] = (tuple(k for k in pa if k in pb and pa[k] != pb[k]),
                            tuple(k for k in ia if k in ib and ia[k] != ib[k]))
    return _CONTROLLED[key]


def _nonneg(model, x: dict) -> dict:
    """Round-off negatives (-1e-24) of a reaction model's state to 0: neurokin
    refuses negative initial concentrations."""
    if model.odes:
        return dict(x)
    return {k: (0.0 if v < 0 else v) for k, v in x.items()}


def _start_state(baseline, perturbed, ss_x) -> dict:
    """The baseline steady state, except species whose initial value the
    intervention itself changes (inputs such as ``hpa.F`` or ``da.btyr``)."""
    bi, pi = baseline.initial, perturbed.initial
    x = _nonneg(perturbed, {k: ss_x[k] for k in perturbed.species_names if k in ss_x})
    for k, v in pi.items():
        if k not in bi or bi[k] != v:
            x[k] = v
    return x


_READOUT_UNITS = {"nM": "nM", "ugdL": "ug/dL", "pgmL": "pg/mL"}


def read_outs(model, state, names=None) -> dict:
    """Read-outs of a built-in model at a state: {name: (value, unit)}.

    Empty for models without read-outs (see :func:`neurokin.models.outputs`).
    """
    from .models import output_expressions, outputs
    try:
        exprs = output_expressions(model)
    except ValueError:
        return {}
    if names is not None:
        names = [n for n in names if n in exprs]
    vals = outputs(model, state, names)
    species_units = {s.id: s.unit for s in model.species}
    out = {}
    for k, v in vals.items():
        suffix = k.rsplit("_", 1)[-1]
        unit = _READOUT_UNITS.get(suffix)
        if unit is None:
            bare = _bare(k)
            if bare.startswith("occ_") or bare in ("g_glu", "s_2A", "S_5HT", "EI_index",
                                                   "autoreceptor_A"):
                unit = "1"
            else:
                prefix = k.split(".", 1)[0] + "." if "." in k else ""
                first = next((f"{prefix}{s}" for s in ("cda", "cht", "dopac", "bldopa")
                              if f"{prefix}{s}" in species_units), None)
                unit = species_units.get(first, "") if first else ""
        out[k] = (float(v), unit)
    return out


@dataclass(frozen=True)
class _Balance:
    name: str
    model: object
    steady_state: object


def _balances(baseline, interventions, *, steady_state_options=None):
    from .simulator import Simulator
    opts = dict(steady_state_options or {})
    base_sim = Simulator(baseline)
    base_ss = base_sim.steady_state(**opts)
    if not base_ss.converged:
        raise NeurokinError(f"no baseline steady state found (residual "
                            f"{base_ss.residual_norm:.3g})")
    out = [_Balance("baseline", baseline, base_ss)]
    for name, changes in interventions.items():
        m = apply_changes(baseline, changes)
        sim = base_sim if m is baseline else Simulator(m)
        ss = sim.steady_state(initial=_start_state(baseline, m, base_ss.x), **opts)
        if not ss.converged:
            raise NeurokinError(f"no steady state found under intervention {name!r} "
                                f"(residual {ss.residual_norm:.3g})")
        out.append(_Balance(str(name), m, ss))
    return out


def intervention_table(baseline, interventions, species=None, *, readouts=None,
                       percent=True, as_frame=None, steady_state_options=None):
    """Baseline and perturbed steady states side by side.

    Parameters
    ----------
    baseline : Model
    interventions : dict or list
        ``{name: changes}`` with changes as in :func:`apply_changes` (a dict of
        options and/or parameter values, or a Model); a list of such dicts is
        named by its contents (``"ssri=0.8"``).
    species : list of str, optional
        Rows (default: every species of the model).
    readouts : list of str or bool, optional
        Read-outs of a built-in model (:func:`neurokin.models.outputs`) added as
        rows: True for all, a list for some (default: none).
    percent : bool
        Add a ``"<name> %"`` column (change from baseline) per intervention.

    Each perturbed steady state is solved from the baseline steady state (the
    branch a drug applied at balance reaches; inputs the intervention sets,
    such as ``hpa.F``, take its value).  Returns a DataFrame with columns
    species, unit, baseline, then per intervention its value and % change
    (a dict of columns without pandas).
    """
    if isinstance(interventions, (list, tuple)):
        named = {}
        for ch in interventions:
            key = (", ".join(f"{k}={v}" for k, v in ch.items()) if isinstance(ch, dict)
                   else getattr(ch, "name", "model"))
            named[key] = ch
        interventions = named
    elif not isinstance(interventions, dict):
        raise InvalidValueError("interventions must be a dict {name: changes} or a list of "
                                "changes")
    bal = _balances(baseline, interventions, steady_state_options=steady_state_options)
    units = {s.id: s.unit for s in baseline.species}
    rows_names = list(baseline.species_names) if species is None else list(species)
    for s in rows_names:
        if s not in units:
            raise UnknownNameError(f"no species {s!r} in model {baseline.name!r}")
    values = {b.name: dict(b.steady_state.x) for b in bal}
    if readouts:
        ro_names = None if readouts is True else list(readouts)
        for b in bal:
            ro = read_outs(b.model, b.steady_state, ro_names)
            for k, (v, u) in ro.items():
                values[b.name][k] = v
                units.setdefault(k, u)
        first = read_outs(bal[0].model, bal[0].steady_state, ro_names)
        missing = [k for k in (ro_names or []) if k not in first]
        if missing:
            raise UnknownNameError(f"no read-out(s) {missing} for model {baseline.name!r}")
        rows_names += [k for k in first if k not in rows_names]
    columns = ["species", "unit", "baseline"]
    for b in bal[1:]:
        columns.append(b.name)
        if percent:
            columns.append(f"{b.name} %")
    rows = []
    for s in rows_names:
        base = values["baseline"][s]
        row = [s, units.get(s, ""), base]
        for b in bal[1:]:
            v = values[b.name][s]
            row.append(v)
            if percent:
                row.append(100.0 * (v - base) / abs(base) if base != 0 else
                           (0.0 if v == 0 else math.nan))
        rows.append(tuple(row))
    return _table(rows, columns, as_frame)


def compare(baseline, species=None, readouts=None, **interventions):
    """``intervention_table(baseline, interventions)`` with keyword interventions::

        compare(net, SSRI={"ssri": 0.8}, MAOI={"maoi": 0.9}, species=["ht.eht"])
    """
    if not interventions:
        raise InvalidValueError("compare() needs at least one intervention, e.g. "
                                "SSRI={'ssri': 0.8}")
    return intervention_table(baseline, interventions, species, readouts=readouts)


# -- time courses -------------------------------------------------------------------
def intervention_time_course(model, t_switch, t_end, changes, *, t_eval=None, points=None,
                             method="bdf", rtol=1e-6, atol=1e-12, baseline_state=None,
                             steady_state_options=None):
    """Start at the steady state, apply ``changes`` at ``t_switch``, follow to ``t_end``.

    Parameters
    ----------
    model : Model
        The baseline.
    t_switch, t_end : float
        When the intervention starts, and the end (model time: hours for the
        built-in models); ``0 <= t_switch < t_end``.
    changes : dict or Model
        The intervention, as in :func:`apply_changes` (``{"ssri": 0.8}``,
        parameter values, or the perturbed Model).
    t_eval : array_like, optional
        Output times in [0, t_end]; ``points``: that many evenly spaced
        (default: every accepted step of each segment).
    baseline_state : SteadyState or dict, optional
        The baseline balance (default: ``Simulator(model).steady_state()``).

    Returns a :class:`neurokin.Result` over [0, t_end]: the baseline segment
    (flat at balance) then the perturbed one, started from the state at
    ``t_switch`` (the state is continuous; the time ``t_switch`` appears once,
    with the state there).  ``stats`` are summed over segments; a failed
    segment makes the result failed, with what was computed kept.
    """
    from .result import Result, Status
    from .simulator import Simulator
    t_switch, t_end = float(t_switch), float(t_end)
    if not (math.isfinite(t_switch) and math.isfinite(t_end)) or t_switch < 0 or \
            t_end <= t_switch:
        raise InvalidValueError(f"need 0 <= t_switch < t_end, got t_switch={t_switch}, "
                                f"t_end={t_end}")
    if t_eval is not None and points is not None:
        raise OptionError("give t_eval or points, not both")
    if points is not None:
        if int(points) < 2:
            raise InvalidValueError(f"points must be >= 2, got {points}")
        t_eval = np.linspace(0.0, t_end, int(points))
    if t_eval is not None:
        t_eval = np.asarray(t_eval, dtype=float)
        if t_eval.ndim != 1 or np.any(np.diff(t_eval) <= 0) or t_eval[0] < 0 or \
                t_eval[-1] > t_end:
            raise InvalidValueError("t_eval must be increasing and within [0, t_end]")
    base_sim = Simulator(model)
    if baseline_state is None:
        baseline_state = base_sim.steady_state(**(steady_state_options or {}))
        if not baseline_state.converged:
            raise NeurokinError(f"no baseline steady state found (residual "
                                f"{baseline_state.residual_norm:.3g})")
    x0 = dict(baseline_state.x if hasattr(baseline_state, "x") else baseline_state)
    new = apply_changes(model, changes)
    sim2 = base_sim if new is model else Simulator(new)
    kw = dict(method=method, rtol=rtol, atol=atol)

    segs = []
    if t_switch > 0:
        te1 = None
        if t_eval is not None:
            te1 = t_eval[t_eval <= t_switch]
            te1 = np.append(te1, t_switch) if not len(te1) or te1[-1] != t_switch else te1
        r1 = base_sim.simulate(t_switch, t_eval=te1, initial=_nonneg(model, x0), **kw)
        segs.append(r1)
        x_sw = r1.final() if len(r1.t) else x0
        if not r1.success:
            return _concat(segs, Result, Status)
    else:
        x_sw = x0
    te2 = None
    if t_eval is not None:
        te2 = t_eval[t_eval > t_switch]
        te2 = np.insert(te2, 0, t_switch)
    start = _start_state(model, new, x_sw)
    r2 = sim2.simulate(t_end, t_eval=te2, t_start=t_switch, initial=start, **kw)
    if segs:
        # one point at t_switch: the state there (post-switch inputs applied)
        r1 = segs[0]
        keep = r1.t < t_switch
        segs[0] = Result(r1.t[keep], r1.y[keep], r1.names, r1.stats, r1.status, r1.message,
                         r1.method)
    segs.append(r2)
    out = _concat(segs, Result, Status)
    if t_eval is not None and t_switch not in set(t_eval.tolist()):
        keep = np.isin(out.t, t_eval)
        out = Result(out.t[keep], out.y[keep], out.names, out.stats, out.status, out.message,
                     out.method)
    return out


def _concat(segs, Result, Status):
    t = np.concatenate([s.t for s in segs])
    y = np.vstack([s.y for s in segs]) if segs else np.zeros((0, 0))
    stats: dict = {}
    for s in segs:
        for k, v in s.stats.items():
            if isinstance(v, (int, np.integer)) and k not in ("order",):
                stats[k] = stats.get(k, 0) + int(v)
            else:
                stats[k] = v
    bad = [s for s in segs if not s.success]
    last = bad[0] if bad else segs[-1]
    message = last.message if bad else "The solver successfully reached the end of the " \
                                       "integration interval."
    return Result(t, y, list(segs[-1].names), stats, last.status, message, last.method)
