"""Model descriptions: species, parameters, compartments, reactions or ODEs.

A :class:`Model` is a pure-Python, immutable, picklable, comparable
*description*.  It knows nothing of integration: :class:`neurokin.Simulator`
compiles it once and runs it.

Units convention for reaction models (as in SBML): a species' state is its
concentration in its compartment; a reaction's rate law gives an *extent per
unit time* (amount/time); a compartment has a size (volume, default 1).  So

    d[S]/dt = sum_r  n_{S,r} * v_r / V_{compartment(S)}

With all compartment sizes 1 (the default), rate laws are simply
concentration per time, as most kinetic papers write them.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Iterable, Mapping

from .errors import InvalidValueError, ModelError, UnknownNameError

__all__ = ["Species", "Parameter", "Compartment", "Reaction", "Event", "Model",
           "ModelBuilder"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_RESERVED = {"t", "time"}


def _check_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ModelError(f"invalid {what} name {name!r}: use letters, digits, '_' "
                         "and '.' separators, not starting with a digit")
    if name in _RESERVED:
        raise ModelError(f"{what} name {name!r} is reserved for the time variable")
    return name


def _check_number(value, what: str, *, allow_negative: bool = True) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InvalidValueError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(x):
        raise InvalidValueError(f"{what} must be finite, got {x}")
    if not allow_negative and x < 0:
        raise InvalidValueError(f"{what} must be >= 0, got {x}")
    return x


@dataclass(frozen=True)
class Compartment:
    """A compartment with a size (volume; unit in ``unit``)."""
    id: str
    size: float = 1.0
    unit: str = "1"
    description: str = ""


@dataclass(frozen=True)
class Species:
    """A state variable: concentration in its compartment (or any ODE state)."""
    id: str
    initial: float
    compartment: str = "default"
    unit: str = ""
    description: str = ""
    constant: bool = False  # boundary species: held at its initial value


@dataclass(frozen=True)
class Parameter:
    """A named constant of the rate laws."""
    id: str
    value: float
    unit: str = ""
    description: str = ""
    status: str = ""        # provenance, e.g. 'published' or 'phenomenological'
    allow_negative: bool = False


@dataclass(frozen=True)
class Reaction:
    """A reaction: net stoichiometry by species id and a rate-law expression."""
    id: str
    rate: str
    stoichiometry: tuple  # ((species_id, coefficient), ...)
    description: str = ""

    def stoich(self) -> dict:
        return dict(self.stoichiometry)


@dataclass(frozen=True)
class Event:
    """A discrete event (SBML semantics).

    When ``trigger`` (a boolean expression) turns from false to true, the
    ``assignments`` ((target, expression), ...) are executed after ``delay``
    (an expression, evaluated at trigger time; None = immediately).  Targets
    are species or parameters.  ``persistent=False`` cancels a delayed
    execution whose trigger turned false meanwhile; ``initial_value`` is the
    trigger's value just before t0; ``use_values_from_trigger_time`` evaluates
    the assignments at trigger time rather than at execution; ``priority``
    orders simultaneous events (higher first).
    """
    id: str
    trigger: str
    assignments: tuple = ()
    delay: str | None = None
    priority: str | None = None
    persistent: bool = True
    initial_value: bool = True
    use_values_from_trigger_time: bool = True


@dataclass(frozen=True)
class Model:
    """An immutable model description.

    Build one with :meth:`from_odes`, :meth:`from_reactions` or
    :class:`ModelBuilder`.  ``odes`` maps every state to its right-hand side
    when the model is given as ODEs; reaction models leave it empty and derive
    the right-hand side from ``reactions``.
    """
    species: tuple
    parameters_: tuple
    compartments: tuple = ()
    reactions: tuple = ()
    odes: tuple = ()           # ((species_id, expression), ...) for ODE models
    observables: tuple = ()    # ((id, expression), ...): outputs computed on every row
    events: tuple = ()         # (Event, ...)
    atol_scale: tuple = ()     # ((species_id, factor), ...): per-state atol multipliers
    name: str = "model"
    notes: str = ""
    # parsed expressions {text: Node} for the name set they were checked
    # against; carried by with_parameters/with_initial, rebuilt otherwise
    _parsed: tuple = field(default=None, compare=False, repr=False, hash=False)

    # -- construction ----------------------------------------------------
    def __post_init__(self):
        self._validate()

    @classmethod
    def from_odes(cls, odes: Mapping[str, str], initial: Mapping[str, float],
                  parameters: Mapping[str, float] | None = None, *, name: str = "model",
                  units: Mapping[str, str] | None = None,
                  descriptions: Mapping[str, str] | None = None,
                  observables: Mapping[str, str] | None = None,
                  events: Iterable["Event"] | None = None) -> "Model":
        """A model given as ODEs ``d(state)/dt = expression``.

        Parameters
        ----------
        odes : dict[str, str]
            Right-hand side of each state, in the state order of results.
        initial : dict[str, float]
            Initial value of every state (any sign: general ODEs).
        parameters : dict[str, float], optional
            Named constants used in the expressions (any sign).
        observables : dict[str, str], optional
            Named expressions computed on every result row (``r[name]``).
        events : iterable of Event, optional
            Discrete events (see :class:`Event`).
        """
        if not isinstance(odes, Mapping) or not odes:
            raise ModelError("odes must be a non-empty dict {state: expression}")
        if not isinstance(initial, Mapping):
            raise ModelError("initial must be a dict {state: value}")
        parameters = dict(parameters or {})
        units = dict(units or {})
        descriptions = dict(descriptions or {})
        missing = [s for s in odes if s not in initial]
        if missing:
            raise ModelError(f"no initial value for state(s) {missing}")
        extra = [s for s in initial if s not in odes]
        if extra:
            raise UnknownNameError(f"initial value given for unknown state(s) {extra}; "
                                   f"states are {list(odes)}")
        species = tuple(Species(s, _check_number(initial[s], f"initial value of {s!r}"),
                                unit=units.get(s, ""), description=descriptions.get(s, ""))
                        for s in odes)
        params = tuple(Parameter(p, _check_number(v, f"parameter {p!r}"),
                                 unit=units.get(p, ""), description=descriptions.get(p, ""),
                                 allow_negative=True)
                       for p, v in parameters.items())
        for s, e in odes.items():
            if not isinstance(e, str):
                raise ModelError(f"right-hand side of {s!r} must be a string expression")
        return cls(species=species, parameters_=params,
                   odes=tuple((s, odes[s]) for s in odes),
                   observables=tuple((dict(observables or {})).items()),
                   events=tuple(events or ()), name=name)

    @classmethod
    def from_reactions(cls, reactions: Iterable, initial: Mapping[str, float],
                       parameters: Mapping[str, float] | None = None, *,
                       compartments: Mapping[str, float] | None = None,
                       species_compartment: Mapping[str, str] | None = None,
                       name: str = "model") -> "Model":
        """A reaction model from ``(id, {species: coefficient}, rate)`` triples.

        Negative coefficients consume, positive produce.  Initial
        concentrations and parameters must be >= 0.
        """
        b = ModelBuilder(name)
        for cid, size in (compartments or {}).items():
            b.compartment(cid, size)
        sc = species_compartment or {}
        for s, v in initial.items():
            b.species(s, v, compartment=sc.get(s, "default"))
        for p, v in (parameters or {}).items():
            b.parameter(p, v)
        for r in reactions:
            rid, stoich, rate = r
            b.reaction(rid, stoich, rate)
        return b.build()

    # -- validation ------------------------------------------------------
    def _validate(self):
        ids: dict[str, str] = {}
        for kind, items in (("compartment", self.compartments), ("species", self.species),
                            ("parameter", self.parameters_), ("reaction", self.reactions)):
            for it in items:
                _check_name(it.id, kind)
                if it.id in ids:
                    raise ModelError(f"id {it.id!r} is used twice ({ids[it.id]} and {kind})")
                ids[it.id] = kind
        if not self.species:
            raise ModelError("a model needs at least one species")
        is_reaction_model = not self.odes
        comp_ids = {c.id for c in self.compartments}
        for c in self.compartments:
            if _check_number(c.size, f"size of compartment {c.id!r}") <= 0:
                raise InvalidValueError(f"size of compartment {c.id!r} must be > 0, got {c.size}")
        for s in self.species:
            _check_number(s.initial, f"initial value of {s.id!r}",
                          allow_negative=not is_reaction_model)
            if is_reaction_model and s.compartment != "default" and s.compartment not in comp_ids:
                raise UnknownNameError(f"species {s.id!r} is in unknown compartment "
                                       f"{s.compartment!r}")
        for p in self.parameters_:
            _check_number(p.value, f"parameter {p.id!r}",
                          allow_negative=p.allow_negative or not is_reaction_model)
        if self.odes:
            if self.reactions:
                raise ModelError("a model is given either by ODEs or by reactions, not both")
            if [s for s, _ in self.odes] != [s.id for s in self.species]:
                raise ModelError("odes must list every species once, in species order")
        sp = {s.id for s in self.species}
        for r in self.reactions:
            if not r.stoichiometry:
                raise ModelError(f"reaction {r.id!r} changes no species")
            for s, n in r.stoichiometry:
                if s not in sp:
                    raise UnknownNameError(f"reaction {r.id!r} names unknown species {s!r}")
                _check_number(n, f"stoichiometry of {s!r} in reaction {r.id!r}")
        for oid, _ in self.observables:
            _check_name(oid, "observable")
            if oid in ids:
                raise ModelError(f"observable id {oid!r} is already used by a {ids[oid]}")
        for sid, f in self.atol_scale:
            if sid not in sp:
                raise UnknownNameError(f"atol_scale names unknown species {sid!r}")
            if not (_check_number(f, f"atol scale of {sid!r}") > 0):
                raise InvalidValueError(f"atol scale of {sid!r} must be > 0, got {f}")
        targets = set(sp) | {p.id for p in self.parameters_} | comp_ids
        for ev in self.events:
            if not isinstance(ev, Event):
                raise ModelError(f"events must be neurokin.Event objects, got {ev!r}")
            for tgt, _ in ev.assignments:
                if tgt not in targets:
                    raise UnknownNameError(f"event {ev.id!r} assigns to unknown "
                                           f"species or parameter {tgt!r}")
        # parse every expression now, so errors surface at construction
        from ._compile import parse_expression
        names = frozenset(sp) | {p.id for p in self.parameters_} | comp_ids
        if self._parsed is not None and self._parsed[0] == names:
            cache = self._parsed[1]
        else:
            cache = {}
        for owner, text in self._expressions():
            if text in cache:
                continue
            try:
                cache[text] = parse_expression(text, names)
            except Exception as exc:  # add where the expression lives
                if hasattr(exc, "add_note"):
                    exc.add_note(f"in {owner}")
                raise
        object.__setattr__(self, "_parsed", (names, cache))

    def _expressions(self):
        for s, e in self.odes:
            yield f"d({s})/dt", e
        for r in self.reactions:
            yield f"rate of reaction {r.id!r}", r.rate
        for oid, e in self.observables:
            yield f"observable {oid!r}", e
        for ev in self.events:
            yield f"trigger of event {ev.id!r}", ev.trigger
            for tgt, e in ev.assignments:
                yield f"assignment to {tgt!r} in event {ev.id!r}", e
            for what in ("delay", "priority"):
                if getattr(ev, what) is not None:
                    yield f"{what} of event {ev.id!r}", getattr(ev, what)

    def node(self, text: str):
        """The parsed expression of one of this model's expression strings."""
        from .expr import FluxSum
        node = self._parsed[1][text]
        # an importer may cache a right-hand side as the flat sum it built
        return node.node() if isinstance(node, FluxSum) else node

    # -- read access -----------------------------------------------------
    @property
    def species_names(self) -> list:
        """State names in result-column order."""
        return [s.id for s in self.species]

    @property
    def parameter_names(self) -> list:
        return [p.id for p in self.parameters_]

    @property
    def parameters(self) -> dict:
        """Parameter values by name (a fresh dict)."""
        return {p.id: p.value for p in self.parameters_}

    @property
    def initial(self) -> dict:
        """Initial state by name (a fresh dict)."""
        return {s.id: s.initial for s in self.species}

    @property
    def compartment_sizes(self) -> dict:
        return {c.id: c.size for c in self.compartments}

    def rhs_expressions(self) -> list:
        """Right-hand side of each state as an expression string."""
        return [str(node) for node in self.rhs_nodes()]

    def rhs_nodes(self) -> list:
        """Right-hand side of each state as a parsed expression (neurokin.expr.Node)."""
        from .expr import FluxSum
        return [f.node() if isinstance(f, FluxSum) else f for f in self.rhs_sums()]

    def rhs_sums(self) -> list:
        """Right-hand sides in the compiler's form: reaction models give each
        species its flux sum (neurokin.expr.FluxSum: stoichiometric
        coefficients times rate laws, over the compartment size) without
        building expression trees; ODE models give their parsed expressions."""
        from . import expr as E
        cache = self._parsed[1]
        if self.odes:
            return [cache[e] for _, e in self.odes]    # Nodes, or FluxSums an importer cached
        vol = self.compartment_sizes
        terms: dict = {s.id: [] for s in self.species}
        for r in self.reactions:
            rate = cache[r.rate]
            for s, n in r.stoichiometry:
                n = float(n)
                if n != 0:
                    terms[s].append((n, rate))
        out = []
        for s in self.species:
            if s.constant or not terms[s.id]:
                out.append(E.const(0.0))
                continue
            divisor = E.sym(s.compartment) if vol.get(s.compartment, 1.0) != 1.0 else None
            out.append(E.FluxSum(terms[s.id], divisor))
        return out

    def stoichiometry_matrix(self):
        """Net stoichiometry N (species x reactions) as exact Fractions, with
        each row divided by its compartment size folded in by the caller."""
        N = [[Fraction(0)] * len(self.reactions) for _ in self.species]
        for j, col in enumerate(self.stoichiometry_columns()):
            for i, n in col.items():
                N[i][j] = n
        return N

    def stoichiometry_columns(self) -> list:
        """The columns of :meth:`stoichiometry_matrix` as sparse dicts
        {species index: Fraction} (constant species left out)."""
        idx = {s.id: i for i, s in enumerate(self.species)}
        cols = []
        for r in self.reactions:
            col: dict = {}
            for s, n in r.stoichiometry:
                i = idx[s]
                if not self.species[i].constant:
                    col[i] = col.get(i, 0) + Fraction(n).limit_denominator(10**9)
            cols.append(col)
        return cols

    # -- changed copies --------------------------------------------------
    def with_parameters(self, values: Mapping[str, float]) -> "Model":
        """A copy with some parameter values replaced (models are immutable)."""
        known = {p.id: p for p in self.parameters_}
        comp = {c.id: c for c in self.compartments}
        for k in values:
            if k not in known and k not in comp:
                raise UnknownNameError(_unknown(k, "parameter", list(known)))
        def num(k, what):
            return _check_number(values[k], f"{what} {k!r}")
        params = tuple(replace(p, value=num(p.id, "parameter")) if p.id in values else p
                       for p in self.parameters_)
        comps = tuple(replace(c, size=num(c.id, "size of compartment")) if c.id in values else c
                      for c in self.compartments)
        return replace(self, parameters_=params, compartments=comps)

    def with_initial(self, values: Mapping[str, float]) -> "Model":
        """A copy with some initial values replaced."""
        known = {s.id for s in self.species}
        for k in values:
            if k not in known:
                raise UnknownNameError(_unknown(k, "species", list(known)))
        sp = tuple(replace(s, initial=_check_number(values[s.id], f"initial value of {s.id!r}"))
                   if s.id in values else s for s in self.species)
        return replace(self, species=sp)

    def describe(self):
        """A table of every species and parameter: kind, id, value, unit, meaning.

        Returns a pandas DataFrame when pandas is installed, else a list of dicts.
        """
        rows = []
        for c in self.compartments:
            rows.append(dict(kind="compartment", id=c.id, value=c.size, unit=c.unit,
                             status="", description=c.description))
        for s in self.species:
            rows.append(dict(kind="species", id=s.id, value=s.initial, unit=s.unit,
                             status="constant" if s.constant else "",
                             description=s.description))
        for p in self.parameters_:
            rows.append(dict(kind="parameter", id=p.id, value=p.value, unit=p.unit,
                             status=p.status, description=p.description))
        for r in self.reactions:
            rows.append(dict(kind="reaction", id=r.id, value=float("nan"), unit="",
                             status="", description=r.description or r.rate))
        try:
            import pandas as pd
        except ImportError:
            return rows
        return pd.DataFrame(rows, columns=["kind", "id", "value", "unit", "status",
                                           "description"])

    def to_sbml(self) -> str:
        """This model as SBML Level 3 Version 2 text (needs python-libsbml)."""
        from .sbml import to_sbml
        return to_sbml(self)

    def __repr__(self) -> str:
        kind = "ODE" if self.odes else "reaction"
        return (f"<neurokin.Model {self.name!r}: {kind} model, {len(self.species)} species, "
                f"{len(self.parameters_)} parameters, {len(self.reactions)} reactions>")


def _unknown(name: str, kind: str, known: list) -> str:
    import difflib
    close = difflib.get_close_matches(name, known, n=3)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    return f"unknown {kind} {name!r}{hint}"


class ModelBuilder:
    """Build a reaction model step by step.

    >>> b = ModelBuilder("mm")
    >>> b.species("S", 10.0, unit="uM"); b.species("P", 0.0, unit="uM")
    >>> b.parameter("Vmax", 1.0, unit="uM/h"); b.parameter("Km", 2.0, unit="uM")
    >>> b.reaction("v", {"S": -1, "P": 1}, "Vmax*S/(Km + S)")
    >>> m = b.build()
    """

    def __init__(self, name: str = "model"):
        self.name = name
        self._species: dict = {}
        self._params: dict = {}
        self._comps: dict = {}
        self._reactions: dict = {}
        self.notes = ""

    def compartment(self, id: str, size: float = 1.0, *, unit: str = "1",
                    description: str = "") -> "ModelBuilder":
        self._comps[id] = Compartment(id, _check_number(size, f"size of {id!r}"), unit,
                                      description)
        return self

    def species(self, id: str, initial: float, *, compartment: str = "default",
                unit: str = "", description: str = "", constant: bool = False) -> "ModelBuilder":
        self._species[id] = Species(id, _check_number(initial, f"initial value of {id!r}"),
                                    compartment, unit, description, constant)
        return self

    def parameter(self, id: str, value: float, *, unit: str = "", description: str = "",
                  status: str = "", allow_negative: bool = False) -> "ModelBuilder":
        self._params[id] = Parameter(id, _check_number(value, f"parameter {id!r}"), unit,
                                     description, status, allow_negative)
        return self

    def reaction(self, id: str, stoichiometry: Mapping[str, float], rate: str, *,
                 description: str = "") -> "ModelBuilder":
        if not isinstance(rate, str):
            raise ModelError(f"rate of reaction {id!r} must be an expression string")
        if id in self._reactions:
            raise ModelError(f"reaction {id!r} is defined twice")
        self._reactions[id] = Reaction(id, rate, tuple(dict(stoichiometry).items()),
                                       description)
        return self

    def build(self) -> Model:
        comps = dict(self._comps)
        if any(s.compartment == "default" for s in self._species.values()) and \
                "default" not in comps:
            comps["default"] = Compartment("default", 1.0)
        return Model(species=tuple(self._species.values()),
                     parameters_=tuple(self._params.values()),
                     compartments=tuple(comps.values()),
                     reactions=tuple(self._reactions.values()), name=self.name,
                     notes=self.notes)
