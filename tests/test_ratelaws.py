"""neurokin.ratelaws: each builder against the hand-written formula."""
from __future__ import annotations

import math
import pathlib
import sys
import types

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

try:
    import neurokin.expr as E
except ImportError:  # the compiled extension is not built: load the pure-Python modules
    sys.modules.pop("neurokin", None)
    _pkg = types.ModuleType("neurokin")
    _pkg.__path__ = [str(pathlib.Path(__file__).resolve().parents[1] / "python" / "neurokin")]
    sys.modules["neurokin"] = _pkg
    import neurokin.expr as E
from neurokin import ratelaws as R

pos = st.floats(min_value=1e-3, max_value=1e3)


def val(text, **env):
    return E.evaluate(E.parse(text, set(env)), env)


@settings(max_examples=50, deadline=None)
@given(S=pos, Vmax=pos, Km=pos)
def test_michaelis_menten(S, Vmax, Km):
    got = val(R.michaelis_menten("S", "Vmax", "Km"), S=S, Vmax=Vmax, Km=Km)
    assert got == pytest.approx(Vmax * S / (Km + S), rel=1e-12)
    assert 0 <= got <= Vmax


@settings(max_examples=50, deadline=None)
@given(A=pos, B=pos, k=pos)
def test_mass_action(A, B, k):
    assert R.mass_action("k1", "A", ("B", 2)) == "k1*A*B^2"
    assert val(R.mass_action("k", "A", ("B", 2)), A=A, B=B, k=k) == pytest.approx(
        k * A * B**2, rel=1e-12)
    assert val(R.mass_action("k", {"A": 1, "B": 0.5}), A=A, B=B, k=k) == pytest.approx(
        k * A * B**0.5, rel=1e-12)
    assert val(R.mass_action("k"), k=k) == k


@settings(max_examples=50, deadline=None)
@given(A=pos, B=pos, C=pos, kf=pos, kr=pos)
def test_reversible_mass_action(A, B, C, kf, kr):
    text = R.reversible_mass_action("kf", ["A", "B"], "kr", "C")
    assert val(text, A=A, B=B, C=C, kf=kf, kr=kr) == pytest.approx(
        kf * A * B - kr * C, rel=1e-9, abs=1e-9 * (kf * A * B + kr * C))
    neg = val("-" + text, A=A, B=B, C=C, kf=kf, kr=kr)  # embeds safely
    assert neg == pytest.approx(-(kf * A * B - kr * C), rel=1e-9, abs=1e-9 * (kf * A * B + kr * C))


@settings(max_examples=50, deadline=None)
@given(S=pos, P=pos, Vf=pos, Kms=pos, Kmp=pos, Keq=pos)
def test_reversible_mm_forms_agree_under_haldane(S, P, Vf, Kms, Kmp, Keq):
    env = dict(S=S, P=P, Vf=Vf, Kms=Kms, Kmp=Kmp, Keq=Keq)
    den = 1 + S / Kms + P / Kmp
    expected = Vf * (S - P / Keq) / Kms / den
    scale = Vf * (S + P / Keq) / Kms / den
    haldane = val(R.reversible_mm("S", "P", "Vf", "Kms", "Kmp", Keq="Keq"), **env)
    assert haldane == pytest.approx(expected, rel=1e-9, abs=1e-12 * scale)
    Vr = Vf * Kmp / (Keq * Kms)  # Haldane relation
    sep = val(R.reversible_mm("S", "P", "Vf", "Kms", "Kmp", Vr="Vr"), **env, Vr=Vr)
    assert sep == pytest.approx(expected, rel=1e-9, abs=1e-9 * scale)
    with pytest.raises(ValueError):
        R.reversible_mm("S", "P", "Vf", "Kms", "Kmp")


@settings(max_examples=50, deadline=None)
@given(S=pos, Vmax=pos, K=pos, n=st.floats(min_value=0.5, max_value=4))
def test_hill(S, Vmax, K, n):
    got = val(R.hill("S", "Vmax", "K", "n"), S=S, Vmax=Vmax, K=K, n=n)
    assert got == pytest.approx(Vmax * S**n / (K**n + S**n), rel=1e-9)
    assert val(R.hill("S", "Vmax", "K", "n"), S=K, Vmax=Vmax, K=K, n=n) == pytest.approx(Vmax / 2)
    assert R.hill("S", "V", "K", 1) == R.michaelis_menten("S", "V", "K")


@settings(max_examples=50, deadline=None)
@given(S=pos, I=pos, Vmax=pos, Km=pos, Ki=pos, Kiu=pos)
def test_inhibition_laws(S, I, Vmax, Km, Ki, Kiu):
    env = dict(S=S, I=I, Vmax=Vmax, Km=Km, Ki=Ki, Kiu=Kiu)
    args = ("S", "I", "Vmax", "Km", "Ki")
    assert val(R.competitive_inhibition(*args), **env) == pytest.approx(
        Vmax * S / (Km * (1 + I / Ki) + S), rel=1e-12)
    assert val(R.uncompetitive_inhibition(*args), **env) == pytest.approx(
        Vmax * S / (Km + S * (1 + I / Ki)), rel=1e-12)
    assert val(R.noncompetitive_inhibition(*args), **env) == pytest.approx(
        Vmax * S / ((Km + S) * (1 + I / Ki)), rel=1e-12)
    mixed = Vmax * S / (Km * (1 + I / Ki) + S * (1 + I / Kiu))
    assert val(R.noncompetitive_inhibition(*args, "Kiu"), **env) == pytest.approx(mixed, rel=1e-12)
    assert val(R.mixed_inhibition(*args, "Kiu"), **env) == pytest.approx(mixed, rel=1e-12)
    # every inhibitor lowers the rate below the uninhibited one
    mm = Vmax * S / (Km + S)
    for law in (R.competitive_inhibition, R.uncompetitive_inhibition, R.noncompetitive_inhibition):
        assert val(law(*args), **env) <= mm * (1 + 1e-12)


@settings(max_examples=50, deadline=None)
@given(S=pos, Vmax=pos, Km=pos, Ki=pos)
def test_substrate_inhibition(S, Vmax, Km, Ki):
    got = val(R.substrate_inhibition("S", "Vmax", "Km", "Ki"), S=S, Vmax=Vmax, Km=Km, Ki=Ki)
    assert got == pytest.approx(Vmax * S / (Km + S + S**2 / Ki), rel=1e-12)
    # the rate peaks at S* = sqrt(Km Ki): the analytic derivative vanishes there
    node = E.parse(R.substrate_inhibition("S", "Vmax", "Km", "Ki"), {"S", "Vmax", "Km", "Ki"})
    d = E.evaluate(E.diff(node, "S"), dict(S=math.sqrt(Km * Ki), Vmax=Vmax, Km=Km, Ki=Ki))
    assert abs(d) <= 1e-9 * Vmax / min(Km, Ki) + 1e-12


@settings(max_examples=50, deadline=None)
@given(So=pos, Si=pos, V=pos, K=pos)
def test_saturable_transport(So, Si, V, K):
    env = dict(So=So, Si=Si, V=V, K=K)
    assert val(R.saturable_transport("So", "Si", "V", "K"), **env) == pytest.approx(
        V * (So - Si) / (K + So + Si), rel=1e-9, abs=1e-12 * V)
    assert val(R.saturable_transport("So", "Si", "V", "K", kind="difference"), **env) == \
        pytest.approx(V * (So / (K + So) - Si / (K + Si)), rel=1e-9, abs=1e-12 * V)
    assert val(R.saturable_transport("So", None, "V", "K", kind="unidirectional"),
               So=So, V=V, K=K) == pytest.approx(V * So / (K + So), rel=1e-12)
    # no net flux at equal concentrations
    assert val(R.saturable_transport("So", "Si", "V", "K"), So=So, Si=So, V=V, K=K) == 0.0
    with pytest.raises(ValueError):
        R.saturable_transport("So", "Si", "V", "K", kind="bogus")


def test_arguments_are_parenthesised_and_numbers_accepted():
    text = R.michaelis_menten("A + B", 2.5, 1e-3)
    assert text == "2.5*(A + B)/(0.001 + (A + B))"
    assert val(text, A=1.0, B=2.0) == pytest.approx(2.5 * 3 / (1e-3 + 3))
    assert R.michaelis_menten("ht.eht", "Vmax_SERT", "Km_SERT") == \
        "Vmax_SERT*ht.eht/(Km_SERT + ht.eht)"
    assert val(R.mass_action(-2.0, "A"), A=3.0) == -6.0
    with pytest.raises(TypeError):
        R.michaelis_menten("S", True, "Km")
    with pytest.raises(ValueError):
        R.michaelis_menten("S", math.inf, "Km")
    with pytest.raises(ValueError):
        R.mass_action("k", ("A", -1))
