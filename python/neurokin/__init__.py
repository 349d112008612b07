"""neurokin: a stiff kinetics engine with a C core, and a built-in model of the
brain's transmitter network.

    import neurokin as nk
    m = nk.Model.from_odes({"x": "-k*x"}, {"x": 1.0}, {"k": 2.0})
    r = nk.Simulator(m).simulate(5.0)
"""
from .errors import (ArityError, ExpressionError, InvalidValueError, ModelError,
                     NeurokinError, OptionError, ShapeError, SolverError, UnknownNameError,
                     UnsupportedSBMLFeature)
from .model import Compartment, Event, Model, ModelBuilder, Parameter, Reaction, Species
from .result import Result, Status
from .simulator import Simulator
from .ivp import OdeResult, solve_ivp
from .ensemble import EnsembleResult, open_ensemble
from .sbml import load_sbml
from . import ratelaws
from . import models
from . import balance

__version__ = "0.1.0"

__all__ = [
    "Model", "ModelBuilder", "Species", "Parameter", "Compartment", "Reaction", "Event",
    "Simulator", "Result", "Status", "solve_ivp", "OdeResult", "load_sbml", "EnsembleResult",
    "open_ensemble", "ratelaws", "models", "balance",
    "NeurokinError", "ExpressionError", "UnknownNameError", "ArityError", "ModelError",
    "InvalidValueError", "ShapeError", "OptionError", "SolverError",
    "UnsupportedSBMLFeature", "__version__",
]
