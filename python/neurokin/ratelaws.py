"""Enzyme and transport rate laws as expression-string builders.

Each function returns a plain expression string over the names it is given,
exactly what you could write by hand, for use in ``Model.from_odes`` or in
reaction rates.  Arguments are names (``"S"``, ``"ht.eht"``), numbers, or
sub-expressions; a sub-expression that is not a single name or a
non-negative number is parenthesised for you.

Units (any consistent set; the built-in models use µM and seconds):
concentrations ``S, P, I`` and constants ``Km, K, Ki`` in concentration
units; ``Vmax, Vf, Vr`` in concentration/time; mass-action ``k`` in
concentration^(1 - order)/time; Hill ``n`` and ``Keq`` as documented per law.

Results that are a sum or a difference are wrapped in parentheses so they
embed safely (``"-" + law``); products and quotients are returned bare, so
wrap them yourself after ``/`` or ``^``.
"""
from __future__ import annotations

import math
import re
from typing import Mapping, Union

__all__ = [
    "mass_action", "reversible_mass_action", "michaelis_menten", "reversible_mm",
    "hill", "competitive_inhibition", "uncompetitive_inhibition",
    "noncompetitive_inhibition", "mixed_inhibition", "substrate_inhibition",
    "saturable_transport",
]

Term = Union[str, float, int]
_ATOM = re.compile(r"^\s*(?:[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
                   r"|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*$")


def _x(term: Term) -> str:
    """A term safe to use as an operand of any operator."""
    if isinstance(term, bool):
        raise TypeError("a rate-law argument cannot be a bool")
    if isinstance(term, (int, float)):
        if not math.isfinite(term):
            raise ValueError(f"rate-law argument {term!r} is not finite")
        s = repr(float(term))
        s = s[:-2] if s.endswith(".0") else s
        return s if term >= 0 else f"({s})"
    if not isinstance(term, str) or not term.strip():
        raise TypeError(f"a rate-law argument must be a name, a number or an expression, "
                        f"not {term!r}")
    term = term.strip()
    return term if _ATOM.match(term) else f"({term})"


def _power(base: Term, n: Term) -> str:
    if isinstance(n, (int, float)) and not isinstance(n, bool) and n == 1:
        return _x(base)
    return f"{_x(base)}^{_x(n)}"


def _species_product(species) -> list:
    """Factors for reactants given as names, (name, stoich) pairs or a dict."""
    if len(species) == 1 and isinstance(species[0], Mapping):
        items = list(species[0].items())
    else:
        items = [s if isinstance(s, tuple) else (s, 1) for s in species]
    factors = []
    for name, nu in items:
        if isinstance(nu, (int, float)) and not isinstance(nu, bool):
            if nu < 0:
                raise ValueError(f"stoichiometry of {name!r} must be non-negative")
            if nu == 0:
                continue
        factors.append(_power(name, nu))
    return factors


def mass_action(k: Term, *reactants) -> str:
    """Mass action: ``k * A^a * B^b ...``.

    Reactants are names, ``(name, stoichiometry)`` pairs, or one dict
    ``{name: stoichiometry}``.  Rate in concentration/time; ``k`` in
    concentration^(1 - a - b - ...)/time.

    >>> mass_action("k1", "A", ("B", 2))
    'k1*A*B^2'
    """
    return "*".join([_x(k)] + _species_product(reactants))


def reversible_mass_action(kf: Term, reactants, kr: Term, products) -> str:
    """Reversible mass action: ``(kf * prod(reactants) - kr * prod(products))``.

    ``reactants`` and ``products`` are each a name, a list of names or
    ``(name, stoichiometry)`` pairs, or a dict.
    """
    def norm(side):
        if isinstance(side, (str, tuple, Mapping)):
            return (side,)
        return tuple(side)
    return f"({mass_action(kf, *norm(reactants))} - {mass_action(kr, *norm(products))})"


def michaelis_menten(S: Term, Vmax: Term, Km: Term) -> str:
    """Irreversible Michaelis–Menten: ``Vmax * S / (Km + S)``.

    Vmax: concentration/time; Km: concentration (the S of half-maximal rate).
    """
    return f"{_x(Vmax)}*{_x(S)}/({_x(Km)} + {_x(S)})"


def reversible_mm(S: Term, P: Term, Vf: Term, Kms: Term, Kmp: Term, *,
                  Keq: Term | None = None, Vr: Term | None = None) -> str:
    """Reversible Michaelis–Menten (uni-uni), in one of two forms.

    Haldane form (give ``Keq``, dimensionless for uni-uni)::

        Vf * (S - P/Keq) / Kms / (1 + S/Kms + P/Kmp)

    Separate maximal rates (give ``Vr``)::

        (Vf * S/Kms - Vr * P/Kmp) / (1 + S/Kms + P/Kmp)

    Vf, Vr: concentration/time; Kms, Kmp: concentration.  The two agree when
    Keq = Vf*Kmp / (Vr*Kms) (the Haldane relation).
    """
    if (Keq is None) == (Vr is None):
        raise ValueError("give exactly one of Keq (Haldane form) or Vr")
    s, p, kms, kmp = _x(S), _x(P), _x(Kms), _x(Kmp)
    den = f"(1 + {s}/{kms} + {p}/{kmp})"
    if Keq is not None:
        return f"{_x(Vf)}*({s} - {p}/{_x(Keq)})/{kms}/{den}"
    return f"({_x(Vf)}*{s}/{kms} - {_x(Vr)}*{p}/{kmp})/{den}"


def hill(S: Term, Vmax: Term, K: Term, n: Term) -> str:
    """Hill kinetics: ``Vmax * S^n / (K^n + S^n)``.

    K: concentration of half-maximal rate; n: dimensionless Hill coefficient.
    """
    sn = _power(S, n)
    return f"{_x(Vmax)}*{sn}/({_power(K, n)} + {sn})"


def competitive_inhibition(S: Term, I: Term, Vmax: Term, Km: Term, Ki: Term) -> str:
    """Competitive inhibition: ``Vmax * S / (Km * (1 + I/Ki) + S)``.

    The inhibitor raises the apparent Km; Vmax is unchanged.  Ki: the
    dissociation constant of the enzyme–inhibitor complex (concentration).
    """
    s = _x(S)
    return f"{_x(Vmax)}*{s}/({_x(Km)}*(1 + {_x(I)}/{_x(Ki)}) + {s})"


def uncompetitive_inhibition(S: Term, I: Term, Vmax: Term, Km: Term, Ki: Term) -> str:
    """Uncompetitive inhibition: ``Vmax * S / (Km + S * (1 + I/Ki))``.

    The inhibitor binds the enzyme–substrate complex only (Ki, concentration):
    both apparent Vmax and apparent Km fall by 1 + I/Ki.
    """
    s = _x(S)
    return f"{_x(Vmax)}*{s}/({_x(Km)} + {s}*(1 + {_x(I)}/{_x(Ki)}))"


def noncompetitive_inhibition(S: Term, I: Term, Vmax: Term, Km: Term, Ki: Term,
                              Ki_u: Term | None = None) -> str:
    """Non-competitive (or mixed) inhibition.

    Pure non-competitive (``Ki_u`` omitted; the inhibitor binds free enzyme
    and the complex equally)::

        Vmax * S / ((Km + S) * (1 + I/Ki))

    Mixed, with ``Ki_u`` for the enzyme–substrate complex::

        Vmax * S / (Km * (1 + I/Ki) + S * (1 + I/Ki_u))
    """
    s, i = _x(S), _x(I)
    if Ki_u is None:
        return f"{_x(Vmax)}*{s}/(({_x(Km)} + {s})*(1 + {i}/{_x(Ki)}))"
    return (f"{_x(Vmax)}*{s}/({_x(Km)}*(1 + {i}/{_x(Ki)}) + "
            f"{s}*(1 + {i}/{_x(Ki_u)}))")


def mixed_inhibition(S: Term, I: Term, Vmax: Term, Km: Term, Ki: Term, Ki_u: Term) -> str:
    """Mixed inhibition; see :func:`noncompetitive_inhibition` with ``Ki_u``."""
    return noncompetitive_inhibition(S, I, Vmax, Km, Ki, Ki_u)


def substrate_inhibition(S: Term, Vmax: Term, Km: Term, Ki: Term) -> str:
    """Substrate inhibition (Haldane): ``Vmax * S / (Km + S + S^2/Ki)``.

    The rate peaks at S = sqrt(Km*Ki) and falls at higher S (e.g. tyrosine
    hydroxylase, tryptophan hydroxylase).  Km, Ki: concentration.
    """
    s = _x(S)
    return f"{_x(Vmax)}*{s}/({_x(Km)} + {s} + {s}^2/{_x(Ki)})"


def saturable_transport(S_out: Term, S_in: Term | None, Vmax: Term, K: Term,
                        kind: str = "symmetric") -> str:
    """Carrier-mediated transport, positive from ``S_out`` to ``S_in``.

    ``kind="unidirectional"`` (``S_in`` may be None): Michaelis–Menten uptake,
    e.g. SERT/DAT reuptake::

        Vmax * S_out / (K + S_out)

    ``kind="symmetric"``: a symmetric facilitative carrier (one site, equal
    rate constants, rapid equilibrium); net flux vanishes when
    S_out = S_in::

        Vmax * (S_out - S_in) / (K + S_out + S_in)

    ``kind="difference"``: the difference of two independent saturable
    fluxes with the same K::

        Vmax * (S_out/(K + S_out) - S_in/(K + S_in))

    Vmax: concentration/time (of the compartment the rate is written for);
    K: concentration.
    """
    so = _x(S_out)
    if kind == "unidirectional":
        return michaelis_menten(S_out, Vmax, K)
    if S_in is None:
        raise ValueError(f"kind={kind!r} needs S_in")
    si, k = _x(S_in), _x(K)
    if kind == "symmetric":
        return f"{_x(Vmax)}*({so} - {si})/({k} + {so} + {si})"
    if kind == "difference":
        return f"{_x(Vmax)}*({so}/({k} + {so}) - {si}/({k} + {si}))"
    raise ValueError(f"unknown transport kind {kind!r}; "
                     "use 'unidirectional', 'symmetric' or 'difference'")
