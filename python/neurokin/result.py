"""Results of integrations: data, not behaviour."""
from __future__ import annotations

import enum

import numpy as np

from .errors import UnknownNameError

__all__ = ["Status", "Result"]


class Status(enum.IntEnum):
    """Outcome of an integration (values are the C core's status codes).

    0 is success; negative values are numerical failures, returned as data
    with the trajectory computed up to the failure.
    """
    SUCCESS = 0
    TSTOP_REACHED = 1
    TOO_MUCH_WORK = -3
    STEP_TOO_SMALL = -4
    CONV_FAILURE = -5
    ERR_FAILURE = -6
    SINGULAR_MATRIX = -7
    RHS_FAIL = -8
    JAC_FAIL = -9
    NONFINITE = -10
    INTERRUPTED = -11

    @classmethod
    def from_code(cls, code: int) -> "Status":
        if code == 1:
            return cls.SUCCESS
        return cls(code)


# failures that recoverable right-hand side failures can lead to (the step cut
# again and again): their message says so when there were some
_STEP_FAILURES = {Status.STEP_TOO_SMALL, Status.CONV_FAILURE, Status.ERR_FAILURE,
                  Status.RHS_FAIL, Status.NONFINITE}


def rhs_failure_hint(status: Status, n_rhs_fail: int) -> str:
    """The clause a failure message gets when the right-hand side gave
    non-finite values on the way (``n_rhs_fail`` times) and the failure is
    one they can cause; "" otherwise."""
    bad = int(n_rhs_fail)
    if not bad or status not in _STEP_FAILURES:
        return ""
    return (f"; the right-hand side gave non-finite values (NaN or Inf) {bad} "
            f"time{'s' if bad > 1 else ''} on the way: a rate expression left its "
            f"domain (sqrt or log of a negative value, division by zero, "
            f"overflow) or the solution grows without bound")


class Result:
    """A simulated trajectory.

    Attributes
    ----------
    t : ndarray (k,)
        Output times (model time unit).
    y : ndarray (k, n_species)
        States at those times, columns in the order of ``names``.
    names : list[str]
        Species names.
    stats : dict
        Solver counters: n_steps, n_rhs, n_jac, n_lu and the SciPy/SUNDIALS
        names nfev, njev, ndecomp, nsolve, naccept, nreject, nnewton,
        nconvfail; n_rhs_fail counts right-hand side evaluations that gave
        non-finite values (the step was then retried smaller).
    status : Status
        ``Status.SUCCESS`` or the failure; ``success`` is ``status == SUCCESS``.
    message : str
        Human-readable outcome.
    """

    __slots__ = ("t", "y", "names", "stats", "status", "message", "method", "_index",
                 "observables", "parameter_values")

    def __init__(self, t, y, names, stats, status, message, method="", index=None):
        self.t = t
        self.y = y
        self.names = names
        self.stats = stats
        self.status = status
        self.message = message
        self.method = method
        self._index = index
        self.observables = {}  # name -> column of an observable
        self.parameter_values = None  # (names, values) used by the run

    @property
    def success(self) -> bool:
        return self.status == Status.SUCCESS

    def _column(self, name: str) -> int:
        if self._index is None:
            self._index = {n: i for i, n in enumerate(self.names)}
        try:
            return self._index[name]
        except KeyError:
            import difflib
            close = difflib.get_close_matches(str(name), self.names + list(self.observables),
                                              n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise UnknownNameError(f"no species {name!r} in this result{hint}") from None

    def __getitem__(self, name: str) -> np.ndarray:
        """One column (the time course of a species or an observable) by name."""
        if self._index is None:
            self._index = {n: i for i, n in enumerate(self.names)}
        i = self._index.get(name)
        if i is not None:
            return self.y[:, i]
        if name in self.observables:
            return self.observables[name]
        if self.parameter_values is not None and name in self.parameter_values[0]:
            # a constant parameter or compartment size, as a column
            value = self.parameter_values[1][self.parameter_values[0].index(name)]
            return np.full(len(self.t), float(value))
        return self.y[:, self._column(name)]

    def amount(self, species: str) -> np.ndarray:
        """A species as an amount (SBML): its ``<id>.amount`` column when the
        model provides one (concentration states), else the state itself."""
        key = f"{species}.amount"
        return self[key] if key in self.observables or key in self.names else self[species]

    def concentration(self, species: str) -> np.ndarray:
        """A species as a concentration (SBML): its ``<id>.concentration``
        column when the model provides one (amount states), else the state."""
        key = f"{species}.concentration"
        return self[key] if key in self.observables or key in self.names else self[species]

    def __len__(self) -> int:
        return len(self.t)

    def final(self) -> dict:
        """The last state as a dict by name."""
        return dict(zip(self.names, self.y[-1].tolist())) if len(self.t) else {}

    def to_pandas(self):
        """A DataFrame indexed by time: one column per species, then observables."""
        import pandas as pd
        df = pd.DataFrame(self.y, index=pd.Index(self.t, name="time"), columns=self.names)
        for k, v in self.observables.items():
            df[k] = v
        return df

    def __reduce__(self):
        return (_rebuild, (self.t, self.y, self.names, self.stats, self.status, self.message,
                           self.method, self.observables, self.parameter_values))

    def __eq__(self, other) -> bool:
        if not isinstance(other, Result):
            return NotImplemented
        return (self.names == other.names and self.status == other.status
                and np.array_equal(self.t, other.t) and np.array_equal(self.y, other.y))

    def __repr__(self) -> str:
        return (f"<neurokin.Result {self.status.name}: {len(self.t)} points, "
                f"{len(self.names)} species, t=[{self.t[0] if len(self.t) else ''}"
                f"..{self.t[-1] if len(self.t) else ''}], {self.stats.get('n_steps', 0)} steps>")


def _rebuild(t, y, names, stats, status, message, method, observables,
             parameter_values=None):
    r = Result(t, y, names, stats, status, message, method)
    r.observables = observables
    r.parameter_values = parameter_values
    return r
