"""Bad input raises a specific neurokin error that names the problem."""
from __future__ import annotations

import math

import numpy as np
import pytest

import neurokin as nk


def sim():
    return nk.Simulator(nk.Model.from_odes({"x": "-k*x"}, {"x": 1.0}, {"k": 1.0}))


def test_all_errors_share_a_base():
    for cls in (nk.ExpressionError, nk.UnknownNameError, nk.ArityError, nk.ModelError,
                nk.InvalidValueError, nk.ShapeError, nk.OptionError, nk.SolverError):
        assert issubclass(cls, nk.NeurokinError)


def test_unknown_name_in_expression():
    with pytest.raises(nk.UnknownNameError, match="kk"):
        nk.Model.from_odes({"x": "-kk*x"}, {"x": 1.0}, {"k": 1.0})


def test_malformed_expression_has_position():
    with pytest.raises(nk.ExpressionError) as ei:
        nk.Model.from_odes({"x": "-k*(x + "}, {"x": 1.0}, {"k": 1.0})
    assert ei.value.position is not None


def test_wrong_arity():
    with pytest.raises(nk.ArityError, match="exp"):
        nk.Model.from_odes({"x": "exp(x, k)"}, {"x": 1.0}, {"k": 1.0})


def test_division_by_literal_zero():
    with pytest.raises(nk.ExpressionError, match="zero"):
        nk.Model.from_odes({"x": "x/0"}, {"x": 1.0})


@pytest.mark.parametrize("bad", [math.nan, math.inf, "abc"])
def test_non_finite_initial_and_parameters(bad):
    with pytest.raises(nk.InvalidValueError):
        nk.Model.from_odes({"x": "-k*x"}, {"x": bad}, {"k": 1.0})
    with pytest.raises(nk.InvalidValueError):
        nk.Model.from_odes({"x": "-k*x"}, {"x": 1.0}, {"k": bad})


def test_negative_values_in_reaction_models():
    with pytest.raises(nk.InvalidValueError, match="initial"):
        nk.Model.from_reactions([("r", {"A": -1}, "k*A")], {"A": -1.0}, {"k": 1.0})
    with pytest.raises(nk.InvalidValueError, match="'k'"):
        nk.Model.from_reactions([("r", {"A": -1}, "k*A")], {"A": 1.0}, {"k": -1.0})
    s = nk.Simulator(nk.Model.from_reactions([("r", {"A": -1}, "k*A")], {"A": 1.0},
                                             {"k": 1.0}))
    with pytest.raises(nk.InvalidValueError):
        s.simulate(1.0, parameters={"k": -2.0})
    with pytest.raises(nk.InvalidValueError):
        s.simulate(1.0, initial={"A": -2.0})


def test_general_odes_allow_negative_values():
    s = nk.Simulator(nk.Model.from_odes({"x": "-k*x"}, {"x": -1.0}, {"k": -1.0}))
    assert s.simulate(1.0).success


def test_unknown_species_in_reaction():
    with pytest.raises(nk.UnknownNameError):
        nk.Model.from_reactions([("r", {"A": -1, "Z": 1}, "k*A")], {"A": 1.0}, {"k": 1.0})


def test_duplicate_ids():
    with pytest.raises(nk.ModelError, match="twice"):
        nk.Model.from_odes({"x": "-k*x"}, {"x": 1.0}, {"x": 1.0})


@pytest.mark.parametrize("kw", [dict(t_end=0.0), dict(t_end=-1.0), dict(t_end=math.nan),
                                dict(t_end=1.0, t_start=2.0)])
def test_time_span(kw):
    with pytest.raises(nk.InvalidValueError, match="t_end|finite"):
        sim().simulate(**kw)


@pytest.mark.parametrize("rtol", [0.0, -1e-6, 1.0, math.nan, 1e-20])
def test_rtol_range(rtol):
    with pytest.raises(nk.InvalidValueError, match="rtol"):
        sim().simulate(1.0, rtol=rtol)


@pytest.mark.parametrize("atol", [-1.0, math.inf, [1e-6, 1e-6]])
def test_atol_range_and_shape(atol):
    with pytest.raises((nk.InvalidValueError, nk.ShapeError)):
        sim().simulate(1.0, atol=atol)


def test_unknown_override_names():
    with pytest.raises(nk.UnknownNameError, match="did you mean 'k'"):
        sim().simulate(1.0, parameters={"kk": 1.0})
    with pytest.raises(nk.UnknownNameError):
        sim().simulate(1.0, initial={"z": 1.0})


def test_bad_t_eval():
    with pytest.raises(nk.InvalidValueError):
        sim().simulate(1.0, t_eval=[0.5, 2.0])
    with pytest.raises(nk.InvalidValueError):
        sim().simulate(1.0, t_eval=[0.5, 0.2])
    with pytest.raises(nk.ShapeError):
        sim().simulate(1.0, t_eval=[[0.5]])


def test_unknown_method_and_options():
    with pytest.raises(nk.OptionError, match="method"):
        sim().simulate(1.0, method="euler")
    with pytest.raises(nk.OptionError, match="maxsteps"):
        sim().simulate(1.0, maxsteps=10)


def test_result_unknown_column():
    r = sim().simulate(1.0)
    with pytest.raises(nk.UnknownNameError, match="'x'"):
        r["xx"]


def test_simulator_needs_a_model():
    with pytest.raises(TypeError):
        nk.Simulator({"x": "-x"})
