"""The parameter tables of the built-in transmitter network.

The five JSON files in ``neurokin/models/data/`` are byte copies of the
science reference (``shared/reference/params/*.json``) so that an installed
wheel carries them; nothing here reads outside the package.  Each table lists
species (initial = reference steady state) and parameters with value, unit,
meaning, source and a provenance ``status`` (published, published-encoded,
derived, literature-unverified, phenomenological, reimplementation).
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

__all__ = ["table", "parameter", "species_entry", "add_parameters", "add_parameter",
           "MODULES"]

MODULES = ("dopamine", "serotonin", "gaba_glutamate", "hpa_axis", "modulation")


@lru_cache(maxsize=None)
def table(module: str) -> dict:
    """The parsed JSON table of ``module`` (cached; treat as read-only)."""
    if module not in MODULES:
        raise KeyError(f"no parameter table {module!r}; tables: {MODULES}")
    text = resources.files("neurokin.models").joinpath("data").joinpath(f"{module}.json").read_text(
        encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=None)
def _index(module: str, kind: str) -> dict:
    return {e["name"]: e for e in table(module)[kind]}


def parameter(module: str, name: str) -> dict:
    """The table entry of parameter ``name`` (value, unit, meaning, source, status)."""
    return _index(module, "parameters")[name]


def species_entry(module: str, name: str) -> dict:
    """The table entry of species ``name`` (initial, unit, meaning, compartment)."""
    return _index(module, "species")[name]


def _describe(entry: dict) -> str:
    src = entry.get("source", "")
    return f"{entry['meaning']} [{src}]" if src else entry["meaning"]


def add_parameter(builder, module: str, name: str, *, value: float | None = None,
                  id: str | None = None) -> float:
    """Add one tabled parameter to ``builder`` (value overridable); return its value."""
    e = parameter(module, name)
    v = float(e["value"] if value is None else value)
    builder.parameter(id or name, v, unit=e["unit"], description=_describe(e),
                      status=e["status"])
    return v


def add_parameters(builder, module: str, names) -> dict:
    """Add tabled parameters by name; return {name: value}."""
    return {n: add_parameter(builder, module, n) for n in names}
