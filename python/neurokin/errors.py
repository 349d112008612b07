"""The neurokin exception hierarchy.

Every error neurokin raises on bad input derives from :class:`NeurokinError`.
The concrete classes also derive from the matching builtin (``ValueError``,
``TypeError``, ``KeyError``), so code written against SciPy conventions keeps
working.  Numerical failures of an integration are *not* exceptions: they come
back as a result with ``success=False`` and a status (see ``neurokin.result``).
"""
from __future__ import annotations

__all__ = [
    "NeurokinError",
    "ExpressionError",
    "UnknownNameError",
    "ArityError",
    "ModelError",
    "InvalidValueError",
    "ShapeError",
    "OptionError",
    "SolverError",
    "UnsupportedSBMLFeature",
]


class NeurokinError(Exception):
    """Base class of every error neurokin raises."""


class ExpressionError(NeurokinError, ValueError):
    """A rate expression is malformed.

    Attributes
    ----------
    text : str
        The whole expression.
    position : int or None
        0-based character offset of the offending token, when known.
    """

    def __init__(self, message: str, text: str | None = None, position: int | None = None):
        self.text = text
        self.position = position
        self.reason = message
        if text is not None and position is not None:
            caret = " " * position + "^"
            message = f"{message} at position {position}:\n    {text}\n    {caret}"
        elif text is not None:
            message = f"{message} in expression {text!r}"
        super().__init__(message)


class UnknownNameError(ExpressionError, KeyError):
    """An expression or a call names a species or parameter the model lacks."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return Exception.__str__(self)


class ArityError(ExpressionError):
    """A function is called with the wrong number of arguments."""


class ModelError(NeurokinError, ValueError):
    """A model description is inconsistent (duplicate ids, bad stoichiometry...)."""


class InvalidValueError(NeurokinError, ValueError):
    """A number is out of its allowed range: negative, non-finite, t_end <= t_start..."""


class ShapeError(NeurokinError, ValueError):
    """An array has the wrong shape or length."""


class OptionError(NeurokinError, ValueError):
    """An unknown option name or a value outside the allowed set."""


class SolverError(NeurokinError, RuntimeError):
    """The C core refused a call (misuse, allocation failure)."""


class UnsupportedSBMLFeature(NeurokinError, NotImplementedError):
    """An SBML construct neurokin does not simulate; names the construct and element id."""
