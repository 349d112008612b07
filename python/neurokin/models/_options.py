"""Validation of the options of the built-in models: one place, one wording."""
from __future__ import annotations

import math

from ..errors import InvalidValueError, OptionError

COMT_GENOTYPES = {"Val/Val": "COMT_activity_ValVal", "Val/Met": "COMT_activity_ValMet",
                  "Met/Met": "COMT_activity_MetMet"}

# option -> (kind, unit/allowed, meaning); kind: 'fraction', 'nonneg', 'genotype'
OPTION_SPECS = {
    "ssri": ("fraction", "0..1", "fraction of SERT activity blocked (SERT Vmax x (1 - ssri))"),
    "maoi": ("fraction", "0..1", "fraction of MAO blocked (every MAO term x (1 - maoi))"),
    "comti": ("fraction", "0..1", "fraction of COMT blocked (every COMT term x (1 - comti))"),
    "comt_genotype": ("genotype", "'Val/Val', 'Val/Met', 'Met/Met'",
                      "COMT Val158Met genotype (COMT Vmax x 1.0 / 0.86 / 0.72)"),
    "ldopa": ("nonneg", "uM/h", "L-DOPA infusion into plasma, as plasma concentration per hour"),
    "estradiol": ("nonneg", "pg/mL", "plasma estradiol (reference 50 pg/mL)"),
    "cortisol": ("nonneg", "nM", "total plasma cortisol seen by the brain, clamping the HPA "
                 "output (reference 275.9 nM = 10 ug/dL)"),
    "stress": ("nonneg", "dimensionless", "HPA stress drive F (dimensionless; 0 basal)"),
    "firing": ("nonneg", "Hz", "dopamine-neuron firing rate (5 Hz tonic = release constant 1/h)"),
}


def check(options: dict, allowed, where: str) -> dict:
    """Validate ``options`` for the constructor ``where``; return them normalised.

    Unknown names and bad genotype strings raise :class:`OptionError`;
    non-numbers and out-of-range numbers raise :class:`InvalidValueError`.
    Each message names the option and its allowed values.
    """
    allowed = tuple(allowed)
    unknown = [k for k in options if k not in allowed]
    if unknown:
        import difflib
        hints = []
        for k in unknown:
            close = difflib.get_close_matches(str(k), allowed, n=1)
            hints.append(f"{k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise OptionError(f"unknown option(s) {', '.join(hints)} for {where}; allowed options: "
                          + ", ".join(f"{a} ({OPTION_SPECS[a][1]})" for a in allowed))
    out = {}
    for k, v in options.items():
        kind, rng, meaning = OPTION_SPECS[k]
        if v is None:
            out[k] = None
            continue
        if kind == "genotype":
            if not isinstance(v, str) or v not in COMT_GENOTYPES:
                raise OptionError(f"option 'comt_genotype' must be one of {rng}, got {v!r}")
            out[k] = v
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) and not _is_number(v):
            raise InvalidValueError(f"option {k!r} ({meaning}) must be a number in {rng}, "
                                    f"got {v!r}")
        x = float(v)
        if not math.isfinite(x) or x < 0 or (kind == "fraction" and x > 1):
            allowed_range = "in [0, 1]" if kind == "fraction" else ">= 0 (unit " + rng + ")"
            raise InvalidValueError(f"option {k!r} ({meaning}) must be {allowed_range}, "
                                    f"got {v!r}")
        out[k] = x
    return out


def _is_number(v) -> bool:
    try:
        import numpy as np
        return isinstance(v, np.number) and not isinstance(v, np.bool_)
    except ImportError:  # pragma: no cover
        return False
