"""Progress reporting for long runs (ensembles): rich if installed, else tqdm, else none.

    with progress_bar(total=10000, enabled=True, description="ensemble") as bar:
        bar.advance(250)

``enabled`` may also be a callable ``f(done, total)``: it is called after every
completed chunk (in the calling thread), which is how tests and other tools
follow a run.  An exception raised by it stops the run (see
:func:`neurokin.ensemble.run_ensemble`).
"""
from __future__ import annotations

import sys

import numpy as np

from .errors import InvalidValueError

__all__ = ["progress_bar", "backend"]


def backend() -> str | None:
    """The progress library that ``progress=True`` would use: 'rich', 'tqdm' or None."""
    try:
        import rich.progress  # noqa: F401
        return "rich"
    except ImportError:
        pass
    try:
        import tqdm  # noqa: F401
        return "tqdm"
    except ImportError:
        return None


class _Bar:
    """Counts completed units and forwards them to a display and/or a callback."""

    def __init__(self, total: int, display=None, callback=None):
        self.total = int(total)
        self.done = 0
        self._display = display
        self._callback = callback

    def advance(self, n: int) -> None:
        self.done += int(n)
        if self._display is not None:
            self._display(int(n))
        if self._callback is not None:
            self._callback(self.done, self.total)


class progress_bar:
    """Context manager yielding an object with ``advance(n)``, ``done`` and ``total``.

    Parameters
    ----------
    total : int
        Number of units (ensemble members).
    enabled : bool or callable
        False: count silently.  True: draw a bar with rich (or tqdm) when
        installed, on stderr; nothing when neither is.  A callable
        ``f(done, total)``: call it after every advance, draw nothing.
    description : str
        Label of the bar.
    """

    def __init__(self, total: int, enabled=False, description: str = "neurokin"):
        if not (enabled is None or callable(enabled)
                or isinstance(enabled, (bool, int, np.bool_))):
            raise InvalidValueError(f"progress must be True, False or a callable "
                                    f"f(done, total), got {enabled!r}")
        self.total = int(total)
        self.enabled = enabled
        self.description = description
        self._close = None

    def __enter__(self) -> _Bar:
        if callable(self.enabled):
            return _Bar(self.total, callback=self.enabled)
        if not self.enabled:
            return _Bar(self.total)
        kind = backend()
        if kind == "rich":
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)
            prog = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                            MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                            console=Console(file=sys.stderr), transient=False)
            prog.start()
            task = prog.add_task(self.description, total=self.total)
            self._close = prog.stop
            return _Bar(self.total, display=lambda n: prog.advance(task, n))
        if kind == "tqdm":
            from tqdm.auto import tqdm
            bar = tqdm(total=self.total, desc=self.description, unit="member",
                       file=sys.stderr)
            self._close = bar.close
            return _Bar(self.total, display=bar.update)
        return _Bar(self.total)

    def __exit__(self, *exc) -> bool:
        if self._close is not None:
            self._close()
        return False
