"""The command line, run in-process through neurokin.cli.main."""
from __future__ import annotations

import csv
import importlib.util
import io

import pytest

from neurokin.cli import main

HAS_MPL = importlib.util.find_spec("matplotlib") is not None


def test_demo_prints_table_controllers_and_writes_png(tmp_path, capsys):
    png = tmp_path / "demo.png"
    assert main(["demo", "--out", str(png)]) == 0
    out = capsys.readouterr().out
    for text in ("extracellular 5-HT", "extracellular dopamine", "extracellular glutamate",
                 "extracellular GABA", "cortisol", "baseline", "SSRI", "MAOI", "nM",
                 "ht.Vmax_TPH", "ht.Vmax_SERT", "da.Vmax_DAT"):
        assert text in out, text
    if HAS_MPL:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert str(png) in out
    else:
        assert "matplotlib is not installed" in out
        assert not png.exists()


def test_demo_without_figure_and_robertson(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--no-figure"]) == 0
    assert not (tmp_path / "neurokin-demo.png").exists()
    assert main(["robertson"]) == 0
    assert "Robertson" in capsys.readouterr().out
    assert main(["demo", "--stiff"]) == 0


def _csv(text):
    return list(csv.reader(io.StringIO(text)))


def test_simulate_csv_file_and_stdout(tmp_path, capsys):
    path = tmp_path / "run.csv"
    assert main(["simulate", "--ssri", "0.8", "--t-end", "2", "--points", "5",
                 "--output", str(path)]) == 0
    rows = _csv(path.read_text())
    assert rows[0][0] == "time" and "ht.eht" in rows[0] and len(rows) == 6
    assert [float(r[0]) for r in rows[1:]] == [0.0, 0.5, 1.0, 1.5, 2.0]
    k = rows[0].index("ht.eht")
    assert float(rows[-1][k]) > float(rows[1][k])           # SERT blocked: eht rises
    assert main(["simulate", "--module", "hpa_axis", "--stress", "0.5", "--t-end", "1",
                 "--points", "3", "--readouts", "--method", "radau5"]) == 0
    rows = _csv(capsys.readouterr().out)
    assert rows[0][:2] == ["time", "c"] and "cortisol_ugdL" in rows[0] and len(rows) == 4


def test_simulate_with_progress_matches(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert main(["simulate", "--t-end", "48", "--points", "49", "--progress", "on",
                 "--from-steady-state", "--maoi", "0.5", "-o", str(a)]) == 0
    assert main(["simulate", "--t-end", "48", "--points", "49", "--progress", "off",
                 "--from-steady-state", "--maoi", "0.5", "-o", str(b)]) == 0
    ra, rb = _csv(a.read_text()), _csv(b.read_text())
    assert ra[0] == rb[0] and len(ra) == len(rb) == 50
    for x, y in zip(ra[1:], rb[1:]):
        for u, v in zip(x, y):
            assert float(u) == pytest.approx(float(v), rel=1e-4, abs=1e-10)


def test_steady_state_csv(tmp_path, capsys):
    assert main(["steady-state", "--module", "serotonin", "--ssri", "0.5"]) == 0
    cap = capsys.readouterr()
    rows = _csv(cap.out)
    assert rows[0] == ["species", "value", "unit", "description"]
    vals = {r[0]: float(r[1]) for r in rows[1:]}
    assert 0.05 < vals["eht"] < 0.2
    assert "steady state found" in cap.err
    path = tmp_path / "ss.csv"
    assert main(["steady-state", "--readouts", "-o", str(path)]) == 0
    names = [r[0] for r in _csv(path.read_text())]
    assert "ht.eht" in names and "cortisol_total_nM" in names


def test_parquet_output(tmp_path, capsys):
    path = tmp_path / "run.parquet"
    have = all(importlib.util.find_spec(m) for m in ("pandas", "pyarrow"))
    code = main(["simulate", "--t-end", "1", "--points", "3", "-o", str(path)])
    if have:
        import pandas as pd
        assert code == 0
        assert pd.read_parquet(path).shape == (3, 50)
    else:
        assert code == 2 and "pyarrow" in capsys.readouterr().err


def test_control_command(capsys):
    assert main(["control", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "ht.eht" in out and "ht.Vmax_TPH" in out


@pytest.mark.parametrize("argv, needle", [
    (["simulate", "--ssri", "1.5"], "ssri"),
    (["simulate", "--maoi", "-0.1"], "maoi"),
    (["simulate", "--ldopa", "-1"], "ldopa"),
    (["simulate", "--comt-genotype", "Met"], "Val/Met"),
    (["simulate", "--ssri", "abc"], "not a number"),
    (["simulate", "--bogus", "1"], "--bogus"),
    (["simulate", "--module", "liver"], "liver"),
    (["steady-state", "--module", "serotonin", "--stress", "1"], "stress"),
    (["simulate", "--t-end", "-1"], "t-end"),
    (["simulate", "--method", "euler"], "euler"),
    (["frobnicate"], "frobnicate"),
    (["demo", "--ssri", "2"], "ssri"),
])
def test_bad_options_exit_2_with_one_line(argv, needle, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err
    assert len(err.splitlines()) == 1
