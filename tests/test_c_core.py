"""Run the C unit tests (tests/c, through ctest) against the core sources."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def c_build(tmp_path_factory):
    cmake = shutil.which("cmake")
    if cmake is None or not (REPO / "src" / "core").is_dir():
        pytest.skip("cmake or the C sources are not available")
    build = tmp_path_factory.mktemp("c-build")
    cfg = [cmake, "-S", str(REPO), "-B", str(build), "-DNK_BUILD_PYTHON=OFF",
           "-DNK_BUILD_TESTS=ON", "-DCMAKE_BUILD_TYPE=Release"]
    if shutil.which("ninja"):
        cfg += ["-G", "Ninja"]
    subprocess.run(cfg, check=True, capture_output=True, text=True)
    subprocess.run([cmake, "--build", str(build), "-j", str(os.cpu_count() or 2)],
                   check=True, capture_output=True, text=True)
    return build


def test_ctest(c_build):
    ctest = shutil.which("ctest")
    if ctest is None:
        pytest.skip("ctest not found")
    res = subprocess.run([ctest, "--test-dir", str(c_build), "--output-on-failure"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "tests passed" in res.stdout
