"""The command line, run in-process through neurokin.cli.main."""
from __future__ import annotations

import csv
import importlib.util
import io

import numpy as np
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


# -- neurokin ensemble -------------------------------------------------------------------
def _ens(argv, capsys):
    rc = main(["ensemble", "--module", "serotonin"] + argv)
    cap = capsys.readouterr()
    return rc, _csv(cap.out) if cap.out else None, cap.err


def test_ensemble_population_of_time_courses(capsys):
    import neurokin as nk
    rc, rows, err = _ens(["--members", "40", "--sigma", "0.3", "--seed", "7", "--t-end", "2",
                          "--points", "3", "--summary", "eht", "--progress", "off"], capsys)
    assert rc == 0 and "40 members" in err and "40 ok, 0 failed" in err
    assert "eht at the end: median" in err
    head, body = rows[0], rows[1:]
    assert head[:2] == ["member", "time"] and "status" in head and "eht" in head
    assert len(body) == 40 * 3                             # long table: members x times
    model = nk.models.serotonin()
    varied = head[2:head.index("status")]
    # the default population varies the capacities, each by its own lognormal factor
    assert "Vmax_SERT" in varied and "Vmax_MAO" in varied and "Km_SERT" not in varied
    rows0 = [r for r in body if r[1] == "0.0"]
    f = np.array([[float(r[2 + j]) / model.parameters[p] for j, p in enumerate(varied)]
                  for r in rows0])
    assert (f > 0).all() and abs(np.log(f).std() - 0.3) < 0.06
    assert len({r[2] for r in rows0}) == 40                # members differ
    # the same seed gives the same population, another seed another one
    _, again, _ = _ens(["--members", "40", "--sigma", "0.3", "--seed", "7", "--t-end", "2",
                        "--points", "3"], capsys)
    _, other, _ = _ens(["--members", "40", "--sigma", "0.3", "--seed", "8", "--t-end", "2",
                        "--points", "3"], capsys)
    assert again == rows and other[1:] != rows[1:]
    # each member is what sim.simulate gives for its parameters
    sim = nk.Simulator(model)
    last = [r for r in body if r[0] == "5" and r[1] == "2.0"][0]
    r = sim.simulate(2.0, t_eval=[2.0], parameters={p: float(last[2 + j])
                                                    for j, p in enumerate(varied)})
    k = head.index("eht")
    np.testing.assert_allclose(float(last[k]), r["eht"][-1], rtol=1e-12)


def test_ensemble_steady_states_and_table_input(tmp_path, capsys):
    rc, rows, err = _ens(["--members", "12", "--steady-state", "--vary", "Vmax_SERT"], capsys)
    assert rc == 0 and "steady states" in err
    assert rows[0][:4] == ["member", "Vmax_SERT", "converged", "stable"] and len(rows) == 13
    assert {r[2] for r in rows[1:]} == {"True"}
    # more SERT capacity, less extracellular 5-HT at balance
    k = rows[0].index("eht")
    pairs = sorted((float(r[1]), float(r[k])) for r in rows[1:])
    assert pairs[0][1] > pairs[-1][1]

    table = tmp_path / "pop.csv"
    table.write_text("Vmax_SERT,Vmax_MAO\n1.0,2.0\n3.0,4.0\n")
    rc, rows, _ = _ens(["--parameters", str(table), "--t-end", "1", "--points", "2"], capsys)
    assert rc == 0 and len(rows) == 1 + 2 * 2
    assert [(r[2], r[3]) for r in rows[1::2]] == [("1.0", "2.0"), ("3.0", "4.0")]


def test_ensemble_to_a_zarr_store_resumes(tmp_path, capsys):
    pytest.importorskip("zarr")
    import neurokin as nk
    store = tmp_path / "pop.zarr"
    argv = ["--members", "30", "--t-end", "1", "--points", "4", "-o", str(store)]
    rc, rows, err = _ens(argv, capsys)
    assert rc == 0 and rows is None and str(store) in err and "resumed" not in err
    rc, _, err = _ens(argv, capsys)
    assert rc == 0 and "resumed:" in err                  # every chunk already there
    ens = nk.open_ensemble(store)
    assert ens.info["complete"] and ens.y.shape[:2] == (30, 4)


@pytest.mark.parametrize("argv,needle", [
    (["--members", "0"], "--members must be >= 1"),
    (["--sigma", "-1"], "--sigma"),
    (["--vary", "nothing*"], "no non-zero parameter"),
    (["--summary", "zz"], "no species 'zz'"),
    (["--points", "1"], "--points"),
    (["--workers", "0"], "workers must be"),
    (["--parameters", "/nonexistent/pop.csv"], "No such file"),
])
def test_ensemble_bad_options_exit_2(argv, needle, capsys):
    rc, rows, err = _ens(["--members", "3"] + argv if argv[0] != "--members" else argv,
                         capsys)
    assert rc == 2 and needle in err and rows is None
