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


@pytest.mark.parametrize("rtol", ["1e-6", None, [1e-6]])
def test_rtol_must_be_a_number(rtol):
    with pytest.raises(nk.InvalidValueError, match="rtol"):
        sim().simulate(1.0, rtol=rtol)


@pytest.mark.parametrize("atol", ["tiny", {"x": "tiny"}, {"x": math.nan}])
def test_atol_must_be_numbers(atol):
    with pytest.raises(nk.InvalidValueError, match="atol"):
        sim().simulate(1.0, atol=atol)


def test_integer_scalar_atol_is_scaled_like_a_float():
    # an SBML model with a 2-litre compartment: amount states get atol x 2
    s = sim()
    s._atol_scale = np.array([2.0])
    np.testing.assert_array_equal(s._atol(1), s._atol(1.0))
    np.testing.assert_array_equal(s._atol(np.float32(0.5)), [1.0])


# Solver options are checked in Python and named: the core's own check would
# only say NK_ERR_ARGUMENT, and int()/float() would raise a bare ValueError.
BAD_SOLVER_OPTIONS = [
    ("max_steps", "x"), ("max_steps", 0), ("max_steps", -5), ("max_steps", 2.5),
    ("max_steps", True), ("max_order", 0), ("max_order", 6), ("max_order", "a"),
    ("h0", "q"), ("h0", -1.0), ("h0", math.nan), ("h0", math.inf),
    ("hmax", -1.0), ("hmax", math.nan), ("hmax", "big"),
]


@pytest.mark.parametrize("key,value", BAD_SOLVER_OPTIONS)
def test_bad_solver_options_are_named(key, value):
    with pytest.raises(nk.InvalidValueError, match=rf"^{key} must be"):
        sim().simulate(1.0, **{key: value})
    with pytest.raises(nk.InvalidValueError, match=rf"^{key} must be"):
        sim().ensemble({"k": [1.0, 2.0]}, [0.5, 1.0], **{key: value})


@pytest.mark.parametrize("key,value", [("max_steps", 10.0), ("max_order", np.int64(3)),
                                       ("hmax", math.inf), ("h0", 1e-3)])
def test_valid_solver_options_of_other_types(key, value):
    r = sim().simulate(1.0, t_eval=[1.0], **{key: value})
    assert r.success or key == "max_steps"  # 10 steps may not reach t_end: reported
    e = sim().ensemble({"k": [1.0, 2.0]}, [1.0], **{key: value})
    assert e.y.shape == (2, 1, 1)


@pytest.mark.parametrize("key,value", [("first_step", -1e-3), ("max_step", math.nan),
                                       ("max_steps", "many"), ("max_order", 7)])
def test_solve_ivp_options_named_as_scipy_names_them(key, value):
    with pytest.raises(nk.InvalidValueError, match=rf"^{key} must be"):
        nk.solve_ivp(lambda t, y: -y, (0.0, 1.0), [1.0], **{key: value})


@pytest.mark.parametrize("key,value", [("tol", -1.0), ("tol", "x"), ("max_iter", "x"),
                                       ("max_iter", -1), ("t_presim", 0.0), ("rtol", 2.0),
                                       ("method", "euler")])
def test_bad_steady_state_options_fail_the_call(key, value):
    with pytest.raises((nk.InvalidValueError, nk.OptionError), match=key):
        sim().steady_state(**{key: value})
    # in an ensemble too, once, not as an error in every member
    with pytest.raises((nk.InvalidValueError, nk.OptionError), match=key):
        sim().steady_state_ensemble({"k": [1.0, 2.0]}, **{key: value})


@pytest.mark.parametrize("kw", [dict(chunk_size=0), dict(chunk_size=-1), dict(chunk_size="x"),
                                dict(chunk_size=2.5), dict(workers=0), dict(workers="two"),
                                dict(workers=1.5), dict(progress="yes"), dict(progress=3.0)])
def test_bad_ensemble_arguments(kw):
    name = next(iter(kw))
    with pytest.raises(nk.InvalidValueError, match=rf"^{name} must be"):
        sim().ensemble({"k": [1.0, 2.0]}, [1.0], **kw)
    with pytest.raises(nk.InvalidValueError, match=rf"^{name} must be"):
        sim().steady_state_ensemble({"k": [1.0, 2.0]}, **kw)


def test_ensemble_out_must_be_a_path():
    with pytest.raises(nk.InvalidValueError, match="out must be the path"):
        sim().ensemble({"k": [1.0, 2.0]}, [1.0], out=3)


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


def test_model_copies_check_their_values():
    m = sim().model
    with pytest.raises(nk.InvalidValueError, match="initial value of 'x' must be a number"):
        m.with_initial({"x": "a"})
    with pytest.raises(nk.InvalidValueError, match="parameter 'k' must be a number"):
        m.with_parameters({"k": "fast"})
    assert m.with_parameters({"k": 2}).parameters["k"] == 2.0


@pytest.mark.parametrize("kw,match", [(dict(y="a"), "state must be numbers"),
                                      (dict(y=[math.nan]), "state must be finite: 'x'"),
                                      (dict(t=math.nan), "t must be a finite number"),
                                      (dict(t="now"), "t must be a finite number")])
def test_rhs_and_jacobian_check_state_and_time(kw, match):
    s = sim()
    with pytest.raises(nk.InvalidValueError, match=match):
        s.rhs(**kw)
    with pytest.raises(nk.InvalidValueError, match=match):
        s.jacobian(**kw)
