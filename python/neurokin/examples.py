"""Classical stiff kinetics problems as neurokin models (for demos and tests).

Robertson (1966) and HIRES (Schaefer 1975; Hairer & Wanner, Solving ODEs II),
as in the Test Set for IVP Solvers (Mazzia & Magherini, release 2.4).
"""
from __future__ import annotations

from .model import ModelBuilder

__all__ = ["robertson", "hires"]


def robertson():
    """Robertson's autocatalytic reactions: A -> B, 2B -> B + C, B + C -> A + C.

    Dimensionless; A + B + C is conserved.  Stiffness ratio ~1e11 over t in
    [0, 1e11].  Published value at t = 1e11: A = 2.0833401497e-08,
    B = 8.3333607703e-14, C = 0.99999997916651.
    """
    b = ModelBuilder("robertson")
    for s, v in (("A", 1.0), ("B", 0.0), ("C", 0.0)):
        b.species(s, v, unit="1", description=f"species {s}")
    b.parameter("k1", 0.04, unit="1/time")
    b.parameter("k2", 3e7, unit="1/time")
    b.parameter("k3", 1e4, unit="1/time")
    b.reaction("r1", {"A": -1, "B": 1}, "k1*A")
    b.reaction("r2", {"B": -1, "C": 1}, "k2*B**2")
    b.reaction("r3", {"B": -1, "A": 1}, "k3*B*C")
    return b.build()


def hires():
    """HIRES: High Irradiance RESponse of photomorphogenesis (8 species, as ODEs)."""
    odes = {
        "Pr": "Oks - k1*Pr + k2*Pfr + k6*PrX",
        "Pfr": "k1*Pr - k2*Pfr - k3*Pfr",
        "PrX": "-k6*PrX - k1*PrX + k2*PfrX + k5*PrX2",
        "PfrX": "k3*Pfr + k1*PrX - k2*PfrX - k4*PfrX",
        "PrX2": "-k5*PrX2 - k1*PrX2 + k2*PfrX2 + k2*PfrX2E",
        "PfrX2": "k1*PrX2 - k2*PfrX2 - k7*PfrX2*E + k8*PfrX + k8*PfrX2E",
        "PfrX2E": "-k2*PfrX2E + k7*PfrX2*E - k8*PfrX2E - k9*PfrX2E",
        "E": "k2*PfrX2E - k7*PfrX2*E + k8*PfrX2E + k9*PfrX2E",
    }
    initial = dict(Pr=1.0, Pfr=0.0, PrX=0.0, PfrX=0.0, PrX2=0.0, PfrX2=0.0, PfrX2E=0.0,
                   E=0.0057)
    params = dict(k1=1.71, k2=0.43, k3=8.32, k4=0.69, k5=0.035, k6=8.32, k7=280.0,
                  k8=0.69, k9=0.69, Oks=0.0007)
    from .model import Model
    return Model.from_odes(odes, initial, params, name="hires")
