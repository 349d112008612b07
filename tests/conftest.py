"""Shared fixtures: the validation data folder and hypothesis profiles."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared").resolve()
DATA = SHARED / "data"

# CI runs a moderate number of examples; NEUROKIN_HYPOTHESIS_PROFILE=thorough
# runs many more.
settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=10, deadline=None)
settings.load_profile(os.environ.get("NEUROKIN_HYPOTHESIS_PROFILE", "ci"))


def shared_path(*parts) -> Path:
    """A path under ../shared, skipping the test when the folder is absent."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"validation data {p} not found (../shared is absent beside the repo)")
    return p


def load_ivp(name: str) -> dict:
    return json.loads(shared_path("data", "ivp", f"{name}.json").read_text())
