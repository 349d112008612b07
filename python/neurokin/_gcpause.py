"""A pause of Python's cyclic garbage collector around allocation-heavy work.

Compiling a model and importing SBML allocate millions of small, mostly
acyclic objects; every automatic collection meanwhile walks all the live
ones again, so on large networks (BCR: 24,388 reactions) collection took a
quarter to a third of the time.  Memory of any cycles made meanwhile is
reclaimed at the next collection after the pause.
"""
from __future__ import annotations

import contextlib
import gc
import threading

_lock = threading.Lock()
_depth = 0        # pauses in progress, all threads
_resume = False   # whether the collector was on when the first one began


@contextlib.contextmanager
def gc_paused():
    """Pause automatic collection for the block (nested and concurrent uses
    are counted: the collector is restored when the last one ends)."""
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()
