"""Float VALU ops against scalar references written from AMD's pseudocode (min/max/med3 NaN and
signed-zero rules, compares, class, rounding ops, frexp/ldexp, conversions) and against exact or
high-precision math (sqrt, rcp, rsq, exp, log, sin, cos)."""

# ruff: noqa: B023  (the lambdas in loops are called at once by check())

import math
from decimal import Decimal, getcontext
from fractions import Fraction

import numpy as np
import pytest
from test_valu_reference import (
    check,
    dec,
    default_nan,
    inf_bits,
    is_nan,
    qbit,
    rand_bits,
    ref_add,
    ref_fma,
    ref_mul,
    rnd,
    value,
)

from isa.emu import fp
from isa.emu.valu import VALU

RNG = np.random.default_rng(1234)
N = 1500
SIGN = {"f16": 0x8000, "f32": 0x80000000, "f64": 1 << 63}


def op(name):
    return VALU[name].fn


def snan(x, t):
    return is_nan(x, t) and not x & qbit(t)


def ref_minmax(a, b, t, is_max):
    if snan(a, t):
        return a | qbit(t)
    if snan(b, t):
        return b | qbit(t)
    if is_nan(b, t):
        return a
    if is_nan(a, t):
        return b
    va, vb = value(a, t), value(b, t)
    sa, sb = bool(a & SIGN[t]), bool(b & SIGN[t])
    if is_max:
        pick_a = va > vb or (va == 0 and vb == 0 and not sa and sb)
    else:
        pick_a = va < vb or (va == 0 and vb == 0 and sa and not sb)
    return a if pick_a else b


def ref_med3(a, b, c, t):
    if any(is_nan(x, t) for x in (a, b, c)):
        return ref_minmax(ref_minmax(a, b, t, False), c, t, False)
    mx = ref_minmax(ref_minmax(a, b, t, True), c, t, True)
    if value(mx, t) == value(a, t):
        return ref_minmax(b, c, t, True)
    if value(mx, t) == value(b, t):
        return ref_minmax(a, c, t, True)
    return ref_minmax(a, b, t, True)


TYPES = ["f16", "f32", "f64"]


@pytest.mark.parametrize("t", TYPES)
def test_add_sub_mul_fma(t):
    a, b, c = (rand_bits(RNG, t, N) for _ in range(3))
    check(op(f"v_add_{t}")(a, b), lambda x, y: ref_add(x, y, t), a, b)
    check(op(f"v_mul_{t}")(a, b), lambda x, y: ref_mul(x, y, t), a, b)
    check(op(f"v_fma_{t}")(a, b, c), lambda x, y, z: ref_fma(x, y, z, t), a, b, c)
    if t != "f64":
        check(op(f"v_sub_{t}")(a, b), lambda x, y: ref_add(x, y, t, sub=True), a, b)
        check(op(f"v_subrev_{t}")(a, b), lambda x, y: ref_add(y, x, t, sub=True), a, b)
        check(op(f"v_fmac_{t}")(a, b, c), lambda x, y, z: ref_fma(x, y, z, t), a, b, c)
        check(op(f"v_fmaak_{t}")(a, b, c), lambda x, y, z: ref_fma(x, y, z, t), a, b, c)
        check(op(f"v_fmamk_{t}")(a, b, c), lambda x, y, k: ref_fma(x, k, y, t), a, b, c)


def test_f16_ops_ignore_high_half():
    a, b = rand_bits(RNG, "f16", 200), rand_bits(RNG, "f16", 200)
    junk = RNG.integers(0, 2**16, 200).astype(np.uint32) << np.uint32(16)
    for name in ("v_add_f16", "v_mul_f16", "v_max_f16", "v_min_f16"):
        assert (op(name)(a | junk, b | junk) == op(name)(a, b)).all()
        assert (op(name)(a | junk, b) >> np.uint32(16) == 0).all()


@pytest.mark.parametrize("t", TYPES)
def test_min_max(t):
    a, b = rand_bits(RNG, t, N, 0.6), rand_bits(RNG, t, N, 0.6)
    check(op(f"v_min_{t}")(a, b), lambda x, y: ref_minmax(x, y, t, False), a, b)
    check(op(f"v_max_{t}")(a, b), lambda x, y: ref_minmax(x, y, t, True), a, b)


def test_min_max_edge_cases():
    z, nz = 0, 0x80000000
    pairs = {(z, nz): (nz, z), (nz, z): (nz, z), (0x7FC00000, 0x3F800000): (0x3F800000, 0x3F800000),
             (0x7F800001, 0x3F800000): (0x7FC00001, 0x7FC00001), (0x3F800000, 0xFF800000): (0xFF800000, 0x3F800000)}
    for (x, y), (mn, mx) in pairs.items():
        a, b = np.array([x], np.uint32), np.array([y], np.uint32)
        assert int(op("v_min_f32")(a, b)[0]) == mn
        assert int(op("v_max_f32")(a, b)[0]) == mx


@pytest.mark.parametrize("t", ["f16", "f32"])
def test_three_operand_min_max(t):
    a, b, c = (rand_bits(RNG, t, N, 0.5) for _ in range(3))
    mn = lambda x, y: ref_minmax(x, y, t, False)  # noqa: E731
    mx = lambda x, y: ref_minmax(x, y, t, True)   # noqa: E731
    check(op(f"v_min3_{t}")(a, b, c), lambda x, y, z: mn(mn(x, y), z), a, b, c)
    check(op(f"v_max3_{t}")(a, b, c), lambda x, y, z: mx(mx(x, y), z), a, b, c)
    check(op(f"v_minmax_{t}")(a, b, c), lambda x, y, z: mx(mn(x, y), z), a, b, c)
    check(op(f"v_maxmin_{t}")(a, b, c), lambda x, y, z: mn(mx(x, y), z), a, b, c)
    check(op(f"v_med3_{t}")(a, b, c), lambda x, y, z: ref_med3(x, y, z, t), a, b, c)


_PRED = {
    "f": lambda x, y: False, "t": lambda x, y: True, "lt": lambda x, y: x < y, "eq": lambda x, y: x == y,
    "le": lambda x, y: x <= y, "gt": lambda x, y: x > y, "lg": lambda x, y: x < y or x > y,
    "ge": lambda x, y: x >= y, "o": lambda x, y: not (math.isnan(x) or math.isnan(y)),
    "u": lambda x, y: math.isnan(x) or math.isnan(y), "nge": lambda x, y: not x >= y,
    "nlg": lambda x, y: not (x < y or x > y), "ngt": lambda x, y: not x > y, "nle": lambda x, y: not x <= y,
    "neq": lambda x, y: not x == y, "nlt": lambda x, y: not x < y,
}


@pytest.mark.parametrize("t", TYPES)
def test_compares(t):
    a, b = rand_bits(RNG, t, 600, 0.6), rand_bits(RNG, t, 600, 0.6)
    b[::4] = a[::4]
    for cond, pred in _PRED.items():
        for prefix in ("v_cmp", "v_cmpx"):
            check(op(f"{prefix}_{cond}_{t}")(a, b), lambda x, y: pred(value(x, t), value(y, t)), a, b)
    assert VALU[f"v_cmpx_lt_{t}"].writes_exec and not VALU[f"v_cmp_lt_{t}"].writes_exec


@pytest.mark.parametrize("t", TYPES)
def test_class(t):
    a = rand_bits(RNG, t, N, 0.6)
    m = RNG.integers(0, 1024, N).astype(np.uint32)

    def ref(x, mask):
        d = dec(x, t)
        if d[0] == "nan":
            bit = 1 if x & qbit(t) else 0
        elif d[0] == "inf":
            bit = 2 if d[1] else 9
        elif d[1] == 0:
            bit = 5 if d[2] else 6
        else:
            normal = abs(d[1]) >= Fraction(2) ** (2 - (1 << ({"f16": 5, "f32": 8, "f64": 11}[t] - 1)))
            bit = (3 if d[2] else 8) if normal else (4 if d[2] else 7)
        return bool((mask >> bit) & 1)
    check(op(f"v_cmp_class_{t}")(a, m), ref, a, m)


def _exact_unary(t, f, zero_neg_rule):
    """Reference for ops whose result is an exactly representable function of the input."""
    def ref(x):
        d = dec(x, t)
        if d[0] == "nan":
            return x | qbit(t)
        if d[0] == "inf":
            return x
        r = f(d[1])
        return rnd(Fraction(r), t, zero_neg=zero_neg_rule(d[1], d[2], r))
    return ref


def _floor(q):
    return q.numerator // q.denominator


def _trunc(q):
    return -_floor(-q) if q < 0 else _floor(q)


def _ceil(q):
    return -_floor(-q)


def _rint(q):
    n = _floor(q)
    r = q - n
    return n + 1 if r > Fraction(1, 2) or (r == Fraction(1, 2) and n % 2) else n


@pytest.mark.parametrize("t", TYPES)
def test_rounding_ops(t):
    a = rand_bits(RNG, t, N)
    keep_sign = lambda q, neg, r: bool(neg) and r == 0  # noqa: E731
    check(op(f"v_trunc_{t}")(a), _exact_unary(t, _trunc, keep_sign), a)
    check(op(f"v_ceil_{t}")(a), _exact_unary(t, _ceil, keep_sign), a)
    check(op(f"v_floor_{t}")(a), _exact_unary(t, _floor, keep_sign), a)
    check(op(f"v_rndne_{t}")(a), _exact_unary(t, _rint, keep_sign), a)


@pytest.mark.parametrize("t", TYPES)
def test_fract(t):
    a = rand_bits(RNG, t, N)
    almost = {"f16": 0x3BFF, "f32": 0x3F7FFFFF, "f64": 0x3FEFFFFFFFFFFFFF}[t]

    def ref(x):
        d = dec(x, t)
        if d[0] == "nan":
            return x | qbit(t)
        if d[0] == "inf":
            return default_nan(t)
        r = rnd(d[1] - _floor(d[1]), t)
        return almost if dec(r, t)[1] >= 1 else r
    check(op(f"v_fract_{t}")(a), ref, a)
    small_neg = {"f16": 0x8001, "f32": 0x80000001, "f64": (1 << 63) | 1}[t]
    assert int(op(f"v_fract_{t}")(np.array([small_neg], a.dtype))[0]) == almost


@pytest.mark.parametrize("t", TYPES)
def test_frexp(t):
    a = rand_bits(RNG, t, N)
    mant_name = f"v_frexp_mant_{t}"
    exp_name = "v_frexp_exp_i16_f16" if t == "f16" else f"v_frexp_exp_i32_{t}"
    mask = 0xFFFF if t == "f16" else 0xFFFFFFFF

    def ref_m(x):
        d = dec(x, t)
        if d[0] != "num":
            return x
        m, _ = math.frexp(float(d[1]))
        return rnd(Fraction(m), t, zero_neg=bool(d[2]))

    def ref_e(x):
        d = dec(x, t)
        return 0 if d[0] != "num" else math.frexp(float(d[1]))[1] & mask
    check(op(mant_name)(a), ref_m, a)
    check(op(exp_name)(a), ref_e, a)


@pytest.mark.parametrize("t", TYPES)
def test_ldexp(t):
    a = rand_bits(RNG, t, N)
    bits = 16 if t == "f16" else 32
    n = RNG.integers(-60, 60, N)
    n[::7] = RNG.integers(-2**(bits - 1), 2**(bits - 1), len(n[::7]))
    nb = (n & ((1 << bits) - 1)).astype(np.uint32)

    def ref(x, e):
        e = e - (1 << bits) if e >> (bits - 1) else e
        d = dec(x, t)
        if d[0] != "num":
            return x | qbit(t) if d[0] == "nan" else x
        e = max(min(e, 5000), -5000)
        return rnd(d[1] * Fraction(2) ** e, t, zero_neg=bool(d[2]))
    check(op(f"v_ldexp_{t}")(a, nb), ref, a, nb)


# ----------------------------------------------------------------------------------------------
# transcendentals against high-precision decimal math

getcontext().prec = 60
LN2 = Decimal(2).ln()


def _dec_pi():
    """pi by the Gauss-Legendre iteration in 60-digit decimal arithmetic."""
    a, b, t, p = Decimal(1), Decimal(1) / Decimal(2).sqrt(), Decimal(1) / 4, Decimal(1)
    for _ in range(8):
        a, b, t, p = (a + b) / 2, (a * b).sqrt(), t - p * ((a - b) / 2) ** 2, 2 * p
    return (a + b) ** 2 / (4 * t)


PI = _dec_pi()


def _dsin(x: Decimal) -> Decimal:
    term, total, k = x, x, 1
    while abs(term) > Decimal(10) ** -58:
        term = -term * x * x / ((2 * k) * (2 * k + 1))
        total += term
        k += 1
    return total


def _frac_dec(q: Fraction) -> Decimal:
    return Decimal(q.numerator) / Decimal(q.denominator)


def _dec_to_bits(v: Decimal, t):
    return rnd(Fraction(v), t)


def _transcendental_ref(t, name):
    def ref(x):
        d = dec(x, t)
        if d[0] == "nan":
            return x | qbit(t)
        neg = bool(d[1]) if d[0] == "inf" else bool(d[2])
        q = d[1] if d[0] == "num" else None
        if name == "sqrt":
            if d[0] == "inf":
                return default_nan(t) if neg else x
            if q == 0:
                return x
            return default_nan(t) if q < 0 else _dec_to_bits(_frac_dec(q).sqrt(), t)
        if name == "rcp":
            if d[0] == "inf":
                return rnd(Fraction(0), t, zero_neg=neg)
            return inf_bits(t, neg) if q == 0 else rnd(1 / q, t)
        if name == "rsq":
            if d[0] == "inf":
                return default_nan(t) if neg else 0
            if q == 0:
                return inf_bits(t, neg)
            return default_nan(t) if q < 0 else _dec_to_bits(1 / _frac_dec(q).sqrt(), t)
        if name == "exp":
            if d[0] == "inf":
                return 0 if neg else x
            if abs(q) > 400:
                return 0 if q < 0 else inf_bits(t)
            v = (_frac_dec(q) * LN2).exp()
            return _dec_to_bits(v, t)
        if name == "log":
            if d[0] == "inf":
                return default_nan(t) if neg else x
            if q == 0:
                return inf_bits(t, True)
            if q < 0:
                return default_nan(t)
            return _dec_to_bits(_frac_dec(q).ln() / LN2, t)
        if name in ("sin", "cos"):
            if d[0] == "inf":
                return default_nan(t)
            turns = q - _floor(q)           # exact reduction to [0, 1)
            s = _dsin(2 * PI * _frac_dec(turns)) if name == "sin" else \
                _dsin(2 * PI * _frac_dec(turns + Fraction(1, 4)))
            if abs(s) < Decimal(10) ** -50:
                return rnd(Fraction(0), t, zero_neg=(name == "sin" and neg))
            return _dec_to_bits(s, t)
        raise AssertionError(name)
    return ref


@pytest.mark.parametrize("t", ["f16", "f32"])
@pytest.mark.parametrize("name", ["sqrt", "rcp", "rsq", "exp", "log", "sin", "cos"])
def test_transcendentals(t, name):
    a = rand_bits(RNG, t, 400)
    if name in ("sin", "cos"):
        a = np.where(np.abs(fp.wide(a, fp.FMTS[t])) < 2.0 ** 20, a, a & np.uint32(0x3FFFFFFF if t == "f32" else 0x3FFF))
    check(op(f"v_{name}_{t}")(a), _transcendental_ref(t, name), a)


def test_rcp_iflag_is_rcp():
    a = rand_bits(RNG, "f32", 300)
    assert (op("v_rcp_iflag_f32")(a) == op("v_rcp_f32")(a)).all()


@pytest.mark.parametrize("name", ["sqrt", "rcp"])
def test_f64_sqrt_rcp_correctly_rounded(name):
    a = rand_bits(RNG, "f64", 400)
    check(op(f"v_{name}_f64")(a), _transcendental_ref("f64", name), a)


def test_rsq_f64_within_one_ulp():
    a = fp.bits64(np.abs(RNG.standard_normal(400)) * 2.0 ** RNG.integers(-300, 300, 400))
    got = op("v_rsq_f64")(a)
    ref = _transcendental_ref("f64", "rsq")
    for x, g in zip(a.tolist(), got.tolist(), strict=False):
        assert abs(int(g) - ref(x)) <= 1


def test_sin_cos_exact_points():
    turns = np.array([0.0, 0.25, 0.5, 0.75, 1.0, -0.25, -0.5, 0.125, 100.0, -0.0], np.float32)
    a = fp.bits32(turns)
    s = fp.f32(op("v_sin_f32")(a)).tolist()
    c = fp.f32(op("v_cos_f32")(a)).tolist()
    assert s[:7] == [0.0, 1.0, 0.0, -1.0, 0.0, -1.0, -0.0]
    assert math.copysign(1, s[9]) < 0 and s[8] == 0.0
    assert c[:7] == [1.0, 0.0, -1.0, 0.0, 1.0, 0.0, -1.0]
    assert abs(s[7] - math.sqrt(0.5)) < 1e-7
