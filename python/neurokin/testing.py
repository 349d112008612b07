"""Hypothesis strategies for property-testing kinetic models.

Random reaction networks whose answers are known *by construction*, so that
tests can check the laws of chemistry rather than hand-picked numbers::

    from hypothesis import given
    from neurokin.testing import closed_networks

    @given(closed_networks())
    def test_mass_is_conserved(net):
        sim = nk.Simulator(net.model)
        r = sim.simulate(10.0)
        drift = (r.y - r.y[0]) @ net.conservation.T
        assert abs(drift).max() < 1e-6

Strategies (each draws a :class:`Network`):

``closed_networks``
    Mass-action networks grown from monomers by isomerisation (A <-> A'),
    binding (A + B <-> AB, 2A <-> A2) and enzyme mechanisms
    (E + S <-> ES -> E + P).  Every species has a composition over the
    monomers; reactions conserve it, and each new species is *created* by one
    reaction, so the conserved moieties are exactly the composition rows
    (scaled by compartment volumes): ``Network.conservation``.
``detailed_balance_networks``
    The same networks, every reaction reversible, with rate constants from
    species free energies (Wegscheider conditions hold); the equilibrium
    follows from the equilibrium constants alone: ``Network.equilibrium``.
``open_networks``
    Zero-order inflow, first-order outflow from every species, and monotone
    conversions X -> Y (mass action, Michaelis-Menten, Hill).  The Jacobian
    is compartmental with column sums <= -(outflow) everywhere, so the system
    contracts in the l1 norm: one globally stable steady state.
``linear_networks``
    First-order networks (optionally with inflow and outflow) whose exact
    solution is a matrix exponential: ``Network.exact``.
``nasty_networks``
    Models to break an engine: constants over 24 decades, zero initial
    states, rate laws dividing by species or taking roots, logs and
    exponentials of them.

Helpers: :func:`log_uniform`, :func:`rate_constants`, :func:`concentrations`,
:func:`initial_states`, :func:`rate_laws` (mass action, Michaelis-Menten, Hill), :func:`relabel` (rename/reorder species and
reactions), :func:`scale_time` (rate constants times c), :func:`same_row_space`.

hypothesis is an optional dependency of neurokin: it is imported here, and
only here.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

try:
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - exercised without hypothesis
    raise ImportError("neurokin.testing needs hypothesis: pip install hypothesis") from exc

from .model import Model, ModelBuilder

__all__ = [
    "Network", "log_uniform", "rate_constants", "concentrations", "initial_states",
    "rate_laws",
    "closed_networks", "detailed_balance_networks", "open_networks", "linear_networks",
    "nasty_networks", "relabel", "scale_time", "same_row_space", "nullspace_rank",
]


# ---------------------------------------------------------------------------
# numbers

def log_uniform(lo: float, hi: float) -> st.SearchStrategy:
    """Floats spread evenly over the decades of [lo, hi] (0 < lo <= hi).

    Shrinks towards 1 when the range contains 1 (towards ``lo`` otherwise).
    """
    if not (0 < lo <= hi):
        raise ValueError("log_uniform needs 0 < lo <= hi")
    a, b = math.log10(lo), math.log10(hi)
    return st.floats(a, b, allow_nan=False, allow_infinity=False).map(
        lambda e: min(max(10.0 ** e, lo), hi))


def rate_constants(lo: float = 1e-3, hi: float = 1e3) -> st.SearchStrategy:
    """Rate constants (log-uniform, default six decades)."""
    return log_uniform(lo, hi)


def concentrations(lo: float = 1e-3, hi: float = 1e3, *,
                   zero: bool = False) -> st.SearchStrategy:
    """Concentrations, log-uniform over [lo, hi]; exactly 0 too if ``zero``."""
    s = log_uniform(lo, hi)
    return st.one_of(st.just(0.0), s) if zero else s


def initial_states(model: Model, lo: float = 1e-3, hi: float = 1e3, *,
                   zero: bool = False) -> st.SearchStrategy:
    """An initial state for ``model``: dict {species: concentration}."""
    names = model.species_names
    return st.tuples(*[concentrations(lo, hi, zero=zero) for _ in names]).map(
        lambda v: dict(zip(names, v)))


@st.composite
def rate_laws(draw, substrate: str, *, suffix: str = "", rates=None,
              saturating: bool = True, hill: tuple = (1, 4),
              affinities: tuple = (1e-2, 1e2)):
    """A rate law increasing in one substrate: ``(expression, {param: value})``.

    Mass action ``k*S``, Michaelis-Menten ``V*S/(K + S)`` or Hill
    ``V*S**h/(K**h + S**h)``; parameter names carry ``suffix`` (k<suffix>,
    V<suffix>, K<suffix>).  Rate constants/Vmax from ``rates`` (default
    :func:`rate_constants`), K log-uniform over ``affinities``, integer h in
    ``hill``.
    """
    rates = rate_constants() if rates is None else rates
    law = draw(st.sampled_from(["mass", "mm", "hill"] if saturating else ["mass"]))
    x = substrate
    if law == "mass":
        return f"k{suffix}*{x}", {f"k{suffix}": draw(rates)}
    params = {f"V{suffix}": draw(rates), f"K{suffix}": draw(log_uniform(*affinities))}
    if law == "mm":
        return f"V{suffix}*{x}/(K{suffix} + {x})", params
    h = draw(st.integers(*hill))
    return f"V{suffix}*{x}**{h}/(K{suffix}**{h} + {x}**{h})", params


# ---------------------------------------------------------------------------
# the drawn object

@dataclass(frozen=True, eq=False)
class Network:
    """A generated model with what is known about it by construction.

    Attributes
    ----------
    model : Model
    kind : str
        'closed', 'detailed_balance', 'open', 'linear' or 'nasty'.
    conservation : ndarray (k, n)
        A basis of the conserved moieties (rows, species order of the model);
        ``conservation @ y`` is constant along every trajectory and the rows
        span the whole left null space of the stoichiometry.
    composition : ndarray (m, n) or None
        Monomer content of each species (closed / detailed-balance networks).
    free_energy : ndarray (n,) or None
        Standard free energy of each species in units of RT
        (detailed-balance networks).
    volumes : ndarray (n,)
        Compartment size of each species.
    rate_matrix, inflow : ndarray or None
        Linear networks: dy/dt = rate_matrix @ y + inflow.
    """
    model: Model
    kind: str
    conservation: np.ndarray
    volumes: np.ndarray
    composition: np.ndarray | None = None
    free_energy: np.ndarray | None = None
    rate_matrix: np.ndarray | None = None
    inflow: np.ndarray | None = None
    notes: dict = field(default_factory=dict)

    @property
    def names(self) -> list:
        return self.model.species_names

    @property
    def y0(self) -> np.ndarray:
        return np.array([s.initial for s in self.model.species], dtype=float)

    def __repr__(self) -> str:  # what hypothesis prints for a falsifying example
        m = self.model
        lines = [f"Network(kind={self.kind!r}, species={m.initial!r},",
                 f"  parameters={m.parameters!r},"]
        if m.compartments and any(c.size != 1.0 for c in m.compartments):
            lines.append(f"  compartments={m.compartment_sizes!r},")
        for r in m.reactions:
            lines.append(f"  {r.id}: {dict(r.stoichiometry)!r}  rate {r.rate}")
        return "\n".join(lines) + ")"

    # -- known answers -----------------------------------------------------
    def exact(self, t, y0=None) -> np.ndarray:
        """Exact trajectory of a linear network at times ``t``: (len(t), n)."""
        if self.rate_matrix is None:
            raise ValueError("exact solutions are known for linear networks only")
        from scipy.linalg import expm
        K, b = self.rate_matrix, self.inflow
        n = K.shape[0]
        y0 = self.y0 if y0 is None else np.asarray(y0, dtype=float)
        # augmented system [y; 1]' = [[K, b], [0, 0]] [y; 1]
        A = np.zeros((n + 1, n + 1))
        A[:n, :n] = K
        A[:n, n] = b
        z0 = np.append(y0, 1.0)
        t = np.atleast_1d(np.asarray(t, dtype=float))
        return np.array([(expm(A * ti) @ z0)[:n] for ti in t])

    def linear_steady_state(self) -> np.ndarray:
        """The steady state -K^{-1} b of an open linear network."""
        if self.rate_matrix is None:
            raise ValueError("linear networks only")
        return np.linalg.solve(self.rate_matrix, -self.inflow)

    def equilibrium(self, y0=None) -> np.ndarray:
        """Thermodynamic equilibrium of a detailed-balance network.

        With chemical potentials mu_i = G_i + log x_i, equilibrium means mu is
        in the row space of the composition matrix C:
        x_i = exp(-G_i + (C^T lam)_i), with lam fixed by the conserved totals
        T = C V x0.  lam minimises the convex function
        sum_i V_i x_i(lam) - lam . T; solved by damped Newton.  Needs every
        moiety total > 0 (e.g. a strictly positive initial state).
        """
        if self.free_energy is None:
            raise ValueError("equilibria are known for detailed-balance networks only")
        C, G, V = self.composition, self.free_energy, self.volumes
        y0 = self.y0 if y0 is None else np.asarray(y0, dtype=float)
        T = C @ (V * y0)
        if np.any(T <= 0):
            raise ValueError("every moiety total must be > 0")
        # start where each moiety sits entirely in its monomer-like species
        lam = np.log(T)

        def x_of(lam):
            return np.exp(np.clip(-G + C.T @ lam, -700.0, 700.0))

        def phi(lam):
            return float(np.sum(V * x_of(lam)) - lam @ T)

        def gnorm(lam):
            return float(np.max(np.abs(C @ (V * x_of(lam)) - T) / T))

        for _ in range(500):
            x = x_of(lam)
            g = C @ (V * x) - T
            if np.max(np.abs(g) / T) < 1e-15:
                break
            H = (C * (V * x)) @ C.T
            step = np.linalg.solve(H, -g)
            # backtrack on the convex function phi; near the solution its
            # decrease drowns in roundoff, so a step that shrinks the
            # gradient is accepted too
            f0, g0, a = phi(lam), gnorm(lam), 1.0
            while a > 1e-12 and not (phi(lam + a * step) <= f0 + 1e-4 * a * (g @ step)
                                     or gnorm(lam + a * step) < 0.5 * g0):
                a *= 0.5
            if a <= 1e-12:
                break
            lam = lam + a * step
        return x_of(lam)

    def _repr_pretty_(self, p, cycle):  # hypothesis' and IPython's printer
        p.text(repr(self))


# ---------------------------------------------------------------------------
# closed mass-action networks grown from monomers

def _mass_action(k: str, reactants: dict) -> str:
    terms = [k]
    for s, n in reactants.items():
        terms.append(s if n == 1 else f"{s}**{n}")
    return "*".join(terms)


def _stoich(reactants: dict, products: dict) -> dict:
    out: dict = {}
    for s, n in reactants.items():
        out[s] = out.get(s, 0) - n
    for s, n in products.items():
        out[s] = out.get(s, 0) + n
    return {s: n for s, n in out.items() if n != 0}


def _grow(draw, max_monomers, max_steps, max_extra):
    """Species compositions and elementary reactions (reactants, products).

    Each growth step creates new species through one reaction that produces
    them, so the rank of the stoichiometry grows by one per new species and
    the left null space stays spanned by the composition rows.
    """
    k = draw(st.integers(1, max_monomers))
    comps = [tuple(int(i == j) for j in range(k)) for i in range(k)]
    reactions = []     # (reactants {idx: n}, products {idx: n}, reversible?)
    n_steps = draw(st.integers(1, max_steps))
    for _ in range(n_steps):
        kind = draw(st.sampled_from(["isomer", "bind", "enzyme"]))
        idx = st.integers(0, len(comps) - 1)
        if kind == "isomer":
            a = draw(idx)
            comps.append(comps[a])
            reactions.append(({a: 1}, {len(comps) - 1: 1}, "rev"))
        elif kind == "bind":
            a, b = draw(idx), draw(idx)
            new = tuple(x + y for x, y in zip(comps[a], comps[b]))
            if sum(new) > 4:          # keep complexes small
                comps.append(comps[a])
                reactions.append(({a: 1}, {len(comps) - 1: 1}, "rev"))
                continue
            comps.append(new)
            re_ = {a: 2} if a == b else {a: 1, b: 1}
            reactions.append((re_, {len(comps) - 1: 1}, "rev"))
        else:  # enzyme: E + S <-> ES -> E + P
            if len(comps) < 2:
                e, s = 0, 0
            else:
                e = draw(idx)
                s = draw(idx.filter(lambda i: i != e))
            if e == s:
                continue
            es = tuple(x + y for x, y in zip(comps[e], comps[s]))
            if sum(es) > 4:
                continue
            comps.append(es)
            i_es = len(comps) - 1
            comps.append(comps[s])
            i_p = len(comps) - 1
            reactions.append(({e: 1, s: 1}, {i_es: 1}, "rev"))
            reactions.append(({i_es: 1}, {e: 1, i_p: 1}, "irrev"))
    # extra reactions among existing species that conserve composition
    n_extra = draw(st.integers(0, max_extra))
    if n_extra:
        cands = []
        n = len(comps)
        for i in range(n):
            for j in range(i + 1, n):
                if comps[i] == comps[j]:
                    cands.append(({i: 1}, {j: 1}))
                for l in range(n):
                    if l not in (i, j):
                        if tuple(x + y for x, y in zip(comps[i], comps[j])) == comps[l]:
                            cands.append(({i: 1, j: 1}, {l: 1}))
            for l in range(n):
                if l != i and tuple(2 * x for x in comps[i]) == comps[l]:
                    cands.append(({i: 2}, {l: 1}))
        cands = [c for c in cands
                 if not any(c[0] == r[0] and c[1] == r[1] for r in reactions)]
        if cands:
            picks = draw(st.lists(st.sampled_from(range(len(cands))), max_size=n_extra,
                                  unique=True))
            for p in picks:
                a, b = cands[p]
                reactions.append((a, b, "rev"))
    return np.array(comps, dtype=float).T, reactions


_PREFIXES = ["S", "X", "sp", "m_", "Prot", "c"]


@st.composite
def _names(draw, n):
    prefix = draw(st.sampled_from(_PREFIXES))
    return [f"{prefix}{i}" for i in range(n)]


@st.composite
def _volumes(draw, n, volumes):
    if not volumes or not draw(st.booleans()):
        return {}, {}, np.ones(n)
    n_comp = draw(st.integers(1, 2))
    sizes = {f"comp{c}": draw(log_uniform(0.1, 10.0)) for c in range(n_comp)}
    which = [draw(st.integers(0, n_comp - 1)) for _ in range(n)]
    return sizes, which, np.array([sizes[f"comp{w}"] for w in which])


def _build_closed(draw, kind, max_monomers, max_steps, max_extra, rates, zero_initial,
                  volumes, free_energy_range=None):
    C, elem = _grow(draw, max_monomers, max_steps, max_extra)
    n = C.shape[1]
    names = draw(_names(n))
    sizes, which, V = draw(_volumes(n, volumes))
    G = None
    if free_energy_range is not None:
        lo, hi = free_energy_range
        G = np.array([draw(st.floats(lo, hi)) for _ in range(n)])
    b = ModelBuilder(kind)
    for cid, size in sizes.items():
        b.compartment(cid, size)
    for i, s in enumerate(names):
        x0 = draw(concentrations(1e-3, 1e3, zero=zero_initial))
        b.species(s, x0, compartment=f"comp{which[i]}" if sizes else "default")
    j = 0
    for reac, prod, rev in elem:
        rn = {names[i]: c for i, c in reac.items()}
        pn = {names[i]: c for i, c in prod.items()}
        st_ = _stoich(rn, pn)
        if G is None:
            kf = draw(rates)
            b.parameter(f"kf{j}", kf)
            b.reaction(f"R{j}", st_, _mass_action(f"kf{j}", rn))
            if rev == "rev" and draw(st.booleans()):
                b.parameter(f"kr{j}", draw(rates))
                b.reaction(f"R{j}r", _stoich(pn, rn), _mass_action(f"kr{j}", pn))
        else:
            # K = kf/kr = exp(-(sum G products - sum G reactants)), in
            # concentration units; with compartments the equilibrium of
            # the concentrations is unchanged (rates are extents/time).
            dG = sum(c * G[i] for i, c in prod.items()) - sum(c * G[i] for i, c in reac.items())
            kr = draw(rates)
            kf = kr * math.exp(-dG)
            b.parameter(f"kf{j}", kf)
            b.parameter(f"kr{j}", kr)
            b.reaction(f"R{j}", st_, _mass_action(f"kf{j}", rn))
            b.reaction(f"R{j}r", _stoich(pn, rn), _mass_action(f"kr{j}", pn))
        j += 1
    model = b.build()
    L = C * V[None, :]
    return Network(model=model, kind=kind, conservation=L, volumes=V, composition=C,
                   free_energy=G)


@st.composite
def closed_networks(draw, max_monomers: int = 3, max_steps: int = 5, max_extra: int = 2,
                    rates: st.SearchStrategy | None = None, zero_initial: bool = True,
                    volumes: bool = True) -> Network:
    """Closed mass-action networks with known conserved moieties.

    ``rates`` draws each rate constant (default :func:`rate_constants`);
    reverse reactions are added at random.  With ``volumes`` species may sit
    in compartments of different sizes (the conserved quantities are then
    amounts, sum c_i V_i [S_i]).
    """
    return _build_closed(draw, "closed", max_monomers, max_steps, max_extra,
                         rate_constants() if rates is None else rates, zero_initial, volumes)


@st.composite
def detailed_balance_networks(draw, max_monomers: int = 3, max_steps: int = 4,
                              max_extra: int = 2, rates: st.SearchStrategy | None = None,
                              free_energy: tuple = (-4.0, 4.0),
                              volumes: bool = True) -> Network:
    """Closed, fully reversible networks obeying the Wegscheider conditions.

    Each species gets a free energy G_i (units of RT, uniform in
    ``free_energy``); each reaction a reverse constant kr from ``rates`` and
    kf = kr exp(-dG).  Initial states are strictly positive, so the
    equilibrium (``Network.equilibrium()``) is the unique positive one.
    """
    return _build_closed(draw, "detailed_balance", max_monomers, max_steps, max_extra,
                         rate_constants() if rates is None else rates, False, volumes, free_energy)


# ---------------------------------------------------------------------------
# open networks

@st.composite
def open_networks(draw, max_species: int = 5, max_conversions: int = 6,
                  rates: st.SearchStrategy | None = None, saturating: bool = True,
                  zero_initial: bool = True) -> Network:
    """Open networks: inflow, first-order outflow of every species, and
    monotone conversions X -> Y.

    Conversion rates depend on their substrate only and increase with it
    (k X, Vmax X/(Km + X), Vmax X^h/(K^h + X^h)), so the Jacobian has
    off-diagonals >= 0 and column sums <= -k_out < 0 at every state: the
    flow contracts in the l1 norm and has one globally stable steady state.
    """
    rates = rate_constants() if rates is None else rates
    n = draw(st.integers(1, max_species))
    names = draw(_names(n))
    b = ModelBuilder("open")
    for s in names:
        b.species(s, draw(concentrations(1e-3, 1e3, zero=zero_initial)))
    inflow = [draw(st.booleans()) for _ in names]
    if not any(inflow):
        inflow[draw(st.integers(0, n - 1))] = True
    for i, s in enumerate(names):
        if inflow[i]:
            b.parameter(f"kin_{s}", draw(rates))
            b.reaction(f"in_{s}", {s: 1}, f"kin_{s}")
        b.parameter(f"kout_{s}", draw(rates))
        b.reaction(f"out_{s}", {s: -1}, f"kout_{s}*{s}")
    if n > 1:
        pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1))
                              .filter(lambda p: p[0] != p[1]),
                              max_size=max_conversions, unique=True))
        for j, (a, c) in enumerate(pairs):
            x, y = names[a], names[c]
            rate, params = draw(rate_laws(x, suffix=str(j), rates=rates,
                                          saturating=saturating))
            for p, v in params.items():
                b.parameter(p, v)
            b.reaction(f"conv{j}", {x: -1, y: 1}, rate)
    model = b.build()
    return Network(model=model, kind="open", conservation=np.zeros((0, n)),
                   volumes=np.ones(n))


# ---------------------------------------------------------------------------
# linear networks

@st.composite
def linear_networks(draw, max_species: int = 5, max_reactions: int = 8,
                    rates: st.SearchStrategy | None = None, open: bool | None = None,
                    zero_initial: bool = True, outflow_everywhere: bool = False) -> Network:
    """First-order networks X -> Y, X -> 0 and 0 -> X (``open``: with
    inflow/outflow; None: either).  Exact solution: ``Network.exact(t)``.
    Conserved: the total of every weakly connected component without
    inflow or outflow.  ``outflow_everywhere`` (implies open) gives every
    species an outflow: the rate matrix is then strictly column diagonally
    dominant, nonsingular, with one stable steady state."""
    rates = rate_constants() if rates is None else rates
    n = draw(st.integers(1, max_species))
    names = draw(_names(n))
    if outflow_everywhere:
        open = True
    elif open is None:
        open = draw(st.booleans())
    K = np.zeros((n, n))
    bvec = np.zeros(n)
    b = ModelBuilder("linear")
    for s in names:
        b.species(s, draw(concentrations(1e-3, 1e3, zero=zero_initial)))
    pairs = []
    if n > 1:
        pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1))
                              .filter(lambda p: p[0] != p[1]),
                              min_size=0 if open else 1, max_size=max_reactions,
                              unique=True))
    for j, (a, c) in enumerate(pairs):
        k = draw(rates)
        b.parameter(f"k{j}", k)
        b.reaction(f"R{j}", {names[a]: -1, names[c]: 1}, f"k{j}*{names[a]}")
        K[a, a] -= k
        K[c, a] += k
    touched = np.zeros(n, bool)
    if open:
        outs = list(range(n)) if outflow_everywhere else draw(
            st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
        for i in outs:
            k = draw(rates)
            b.parameter(f"kout{i}", k)
            b.reaction(f"out{i}", {names[i]: -1}, f"kout{i}*{names[i]}")
            K[i, i] -= k
            touched[i] = True
        ins = draw(st.lists(st.integers(0, n - 1), max_size=n, unique=True))
        for i in ins:
            v = draw(rates)
            b.parameter(f"kin{i}", v)
            b.reaction(f"in{i}", {names[i]: 1}, f"kin{i}")
            bvec[i] += v
            touched[i] = True
    # conserved: totals of weakly connected components untouched by in/out
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i
    for a, c in pairs:
        parent[find(a)] = find(c)
    comps: dict = {}
    for i in range(n):
        comps.setdefault(find(i), []).append(i)
    rows = []
    for members in comps.values():
        if not touched[members].any():
            row = np.zeros(n)
            row[members] = 1.0
            rows.append(row)
    L = np.array(rows) if rows else np.zeros((0, n))
    return Network(model=b.build(), kind="linear", conservation=L, volumes=np.ones(n),
                   rate_matrix=K, inflow=bvec)


# ---------------------------------------------------------------------------
# nasty networks

_NASTY_LAWS = [
    "{k}*{x}",
    "{k}*{x}*{y}",
    "{k}*{x}/{y}",                     # divides by a species that may be 0
    "{k}*{x}/({K} + {y})",
    "{k}*sqrt({x})",                   # infinite derivative at 0
    "{k}*{x}**0.5*{y}**1.5",
    "{k}*{x}**{h}/({K}**{h} + {x}**{h})",
    "{k}*exp({x})",                    # overflows for large states
    "{k}*log(1 + {x})",
    "{k}*{x}/({K}*{x} + {y})",         # 0/0 at the origin
    "{k}*({x} - {y})",                 # may turn negative
    "{k}*max({x} - {K}, 0)",
]


@st.composite
def nasty_networks(draw, max_species: int = 4, max_reactions: int = 6) -> Network:
    """Models meant to break an integrator: constants over 24 decades
    (1e-12..1e12), zero initial states, rate laws that divide by species,
    take roots, logs or exponentials.  Only a result or a NeurokinError is
    an acceptable answer for them; nothing is known of their solution."""
    n = draw(st.integers(1, max_species))
    names = draw(_names(n))
    b = ModelBuilder("nasty")
    extreme = st.one_of(st.just(0.0), log_uniform(1e-12, 1e12))
    for s in names:
        b.species(s, draw(st.one_of(st.just(0.0), log_uniform(1e-12, 1e6))))
    nr = draw(st.integers(1, max_reactions))
    for j in range(nr):
        x = names[draw(st.integers(0, n - 1))]
        y = names[draw(st.integers(0, n - 1))]
        law = draw(st.sampled_from(_NASTY_LAWS))
        b.parameter(f"k{j}", draw(extreme))
        b.parameter(f"K{j}", draw(extreme))
        h = draw(st.sampled_from([1, 2, 4, 8]))
        rate = law.format(k=f"k{j}", K=f"K{j}", x=x, y=y, h=h)
        stoich = {}
        for _ in range(draw(st.integers(1, 3))):
            s = names[draw(st.integers(0, n - 1))]
            stoich[s] = stoich.get(s, 0) + draw(st.sampled_from([-2, -1, 1, 2]))
        stoich = {s: c for s, c in stoich.items() if c != 0} or {x: -1}
        b.reaction(f"R{j}", stoich, rate)
    return Network(model=b.build(), kind="nasty", conservation=np.zeros((0, n)),
                   volumes=np.ones(n))


# ---------------------------------------------------------------------------
# transformations and comparisons

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


def _rename_expr(text: str, mapping: dict) -> str:
    # a name followed by "(" is a function call, never renamed
    def sub(m):
        name = m.group(0)
        rest = text[m.end():].lstrip()
        if rest.startswith("("):
            return name
        return mapping.get(name, name)
    return _IDENT.sub(sub, text)


def relabel(model: Model, species: dict | None = None, *, species_order=None,
            reaction_order=None, parameters: dict | None = None) -> Model:
    """The same reaction model with species (and parameters) renamed and the
    species and reactions listed in another order.

    ``species``/``parameters`` map old names to new ones;
    ``species_order``/``reaction_order`` are permutations (lists of old
    indices) of the model's species and reactions.
    """
    smap = dict(species or {})
    pmap = dict(parameters or {})
    allmap = {**smap, **pmap}
    sp = list(model.species)
    rx = list(model.reactions)
    if species_order is not None:
        sp = [sp[i] for i in species_order]
    if reaction_order is not None:
        rx = [rx[i] for i in reaction_order]
    b = ModelBuilder(model.name)
    for c in model.compartments:
        b.compartment(c.id, c.size, unit=c.unit)
    for s in sp:
        b.species(smap.get(s.id, s.id), s.initial, compartment=s.compartment,
                  constant=s.constant)
    for p in model.parameters_:
        b.parameter(pmap.get(p.id, p.id), p.value, allow_negative=p.allow_negative)
    for r in rx:
        b.reaction(r.id, {smap.get(s, s): c for s, c in r.stoichiometry},
                   _rename_expr(r.rate, allmap))
    return b.build()


def scale_time(model: Model, c: float, rate_parameters=None) -> Model:
    """Every rate constant times ``c`` (so time runs ``c`` times faster).

    ``rate_parameters`` names the parameters that carry 1/time (default:
    those whose names start with k, V or kin/kout, as the strategies here
    name them); saturation constants (K...) keep their value.
    """
    if rate_parameters is None:
        rate_parameters = [p for p in model.parameter_names
                           if p.startswith(("k", "V"))]
    vals = model.parameters
    return model.with_parameters({p: vals[p] * c for p in rate_parameters})


def nullspace_rank(A: np.ndarray, tol: float = 1e-9) -> int:
    """Numerical rank of A (singular values above tol * largest)."""
    A = np.atleast_2d(np.asarray(A, dtype=float))
    if A.size == 0:
        return 0
    s = np.linalg.svd(A, compute_uv=False)
    return int(np.sum(s > tol * max(s[0], 1e-300)))


def same_row_space(A: np.ndarray, B: np.ndarray, tol: float = 1e-9) -> bool:
    """True when the rows of A and of B span the same space."""
    A = np.atleast_2d(np.asarray(A, dtype=float))
    B = np.atleast_2d(np.asarray(B, dtype=float))
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"row lengths differ: {A.shape[1]} and {B.shape[1]}")
    ra, rb = nullspace_rank(A, tol), nullspace_rank(B, tol)
    if ra != rb:
        return False
    if ra == 0:
        return True
    # normalise rows so that scale differences do not bias the rank test
    def unit(M):
        nrm = np.linalg.norm(M, axis=1, keepdims=True)
        return M[nrm[:, 0] > 0] / nrm[nrm[:, 0] > 0]
    return nullspace_rank(np.vstack([unit(A), unit(B)]), tol) == ra
