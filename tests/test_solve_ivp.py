"""neurokin.solve_ivp: SciPy's signature and fields on the C integrators."""
from __future__ import annotations

import numpy as np
import pytest

import neurokin as nk


def rober(t, y, k1=0.04, k2=3e7, k3=1e4):
    a, b, c = y
    return [-k1 * a + k3 * b * c, k1 * a - k2 * b * b - k3 * b * c, k2 * b * b]


def rober_jac(t, y, k1=0.04, k2=3e7, k3=1e4):
    a, b, c = y
    return [[-k1, k3 * c, k3 * b],
            [k1, -2 * k2 * b - k3 * c, -k3 * b],
            [0.0, 2 * k2 * b, 0.0]]


@pytest.mark.parametrize("method", ["BDF", "Radau"])
@pytest.mark.parametrize("with_jac", [True, False])
def test_matches_scipy(method, with_jac):
    scipy_integrate = pytest.importorskip("scipy.integrate")
    t_eval = np.logspace(-4, 4, 9)
    kw = dict(method=method, t_eval=t_eval, rtol=1e-8, atol=1e-12,
              jac=rober_jac if with_jac else None)
    ours = nk.solve_ivp(rober, (0, 1e4), [1.0, 0.0, 0.0], **kw)
    ref = scipy_integrate.solve_ivp(rober, (0, 1e4), [1.0, 0.0, 0.0], method="Radau",
                                    t_eval=t_eval, rtol=1e-11, atol=1e-15, jac=rober_jac)
    assert ours.success and ours.status == 0
    assert ours.y.shape == (3, 9) and np.array_equal(ours.t, t_eval)
    np.testing.assert_allclose(ours.y, ref.y, rtol=2e-5, atol=1e-10)
    assert ours.nfev > 0 and ours.nlu > 0
    if with_jac:
        assert ours.njev > 0
    for field in ("t", "y", "sol", "success", "status", "message", "nfev", "njev", "nlu"):
        assert field in ours


def test_args_and_constant_jacobian():
    A = np.array([[-1.0, 0.5], [0.0, -100.0]])
    res = nk.solve_ivp(lambda t, y, s: s * (A @ y), (0, 1), [1.0, 1.0], args=(1.0,),
                       jac=A, rtol=1e-10, atol=1e-12, t_eval=[1.0])
    from scipy.linalg import expm
    np.testing.assert_allclose(res.y[:, -1], expm(A) @ [1.0, 1.0], rtol=1e-8, atol=1e-12)


def test_backward_integration():
    res = nk.solve_ivp(lambda t, y: -y, (1.0, 0.0), [np.exp(-1.0)], rtol=1e-10, atol=1e-12)
    assert res.success and res.t[-1] == 0.0
    np.testing.assert_allclose(res.y[0, -1], 1.0, rtol=1e-8)


def test_callback_exception_propagates():
    calls = []

    def f(t, y):
        calls.append(t)
        if len(calls) > 10:
            raise ZeroDivisionError("boom")
        return -y

    with pytest.raises(ZeroDivisionError, match="boom"):
        nk.solve_ivp(f, (0, 10), [1.0])


def test_bad_shapes():
    with pytest.raises(nk.ShapeError):
        nk.solve_ivp(lambda t, y: [1.0, 2.0], (0, 1), [1.0])
    with pytest.raises(nk.ShapeError):
        nk.solve_ivp(lambda t, y: -y, (0, 1), [[1.0, 2.0]])
    with pytest.raises(nk.ShapeError):
        nk.solve_ivp(lambda t, y: -y, (0, 1), [1.0, 2.0], jac=np.eye(3))
    with pytest.raises(nk.InvalidValueError):
        nk.solve_ivp(lambda t, y: -y, (0, 1), [np.nan])
    with pytest.raises(nk.OptionError):
        nk.solve_ivp(lambda t, y: -y, (0, 1), [1.0], method="RK45")
    with pytest.raises(nk.OptionError):
        nk.solve_ivp(lambda t, y: -y, (0, 1), [1.0], bogus=1)
    with pytest.raises(nk.InvalidValueError):
        nk.solve_ivp(lambda t, y: -y, (0, 1), [1.0], t_eval=[2.0])


def test_non_numbers_are_named():
    with pytest.raises(nk.InvalidValueError, match="y0 must be numbers"):
        nk.solve_ivp(lambda t, y: -y, (0, 1), "a")
    with pytest.raises(nk.InvalidValueError, match=r"fun\(t, y\) must return numbers"):
        nk.solve_ivp(lambda t, y: "x", (0, 1), [1.0])
    with pytest.raises(nk.InvalidValueError, match=r"jac\(t, y\) must return numbers"):
        nk.solve_ivp(lambda t, y: -y, (0, 1), [1.0], jac=lambda t, y: [["a"]])


def test_nan_rhs_fails_cleanly():
    res = nk.solve_ivp(lambda t, y: [np.nan], (0, 1), [1.0])
    assert not res.success and res.status == -1
    assert len(res.t) >= 1
