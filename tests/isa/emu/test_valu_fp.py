"""isa.emu.fp against the scalar reference: narrowing conversions in every rounding mode, widening,
NaN rules, fused multiply-add in f16/f32/f64, and the rounded basic operations."""

# ruff: noqa: B023  (the lambdas in loops are called at once by check())

from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from test_valu_reference import (
    check,
    dec,
    default_nan,
    first_nan,
    is_nan,
    qbit,
    rand_bits,
    ref_add,
    ref_fma,
    ref_mul,
    rnd,
)

from isa.emu import fp

RNG = np.random.default_rng(20240601)


def _narrow_ref(src, dst, mode):
    def ref(b):
        d = dec(b, src)
        if d[0] == "nan":
            w_s, m_s = (32, 23) if src == "f32" else (64, 52)
            w_d, m_d = (16, 10) if dst == "f16" else (32, 23)
            sign = (b >> (w_s - 1)) << (w_d - 1)
            payload = (b & ((1 << m_s) - 1)) >> (m_s - m_d)
            return sign | default_nan(dst) | payload
        if d[0] == "inf":
            return (0x7C00 if dst == "f16" else 0x7F800000) | ((0x8000 if dst == "f16" else 0x80000000) if d[1] else 0)
        if mode == "odd":
            r = rnd(d[1], dst, "rtz", zero_neg=bool(d[2]))
            return r | 1 if dec(r, dst)[1] != d[1] else r
        return rnd(d[1], dst, mode, zero_neg=bool(d[2]))
    return ref


def test_f64_to_f32_all_modes():
    b = rand_bits(RNG, "f64", 3000)
    # values near f32 rounding boundaries: f32 midpoints and neighbours
    mid = fp.f64(b).copy()
    base = fp.wide(rand_bits(RNG, "f32", 500), fp.F32)
    near = np.concatenate([base * (1 + 2.0 ** -24), base * (1 - 2.0 ** -24), base * (1 + 2.0 ** -25)])
    b = np.concatenate([b, fp.bits64(near), fp.bits64(mid[:10])])
    for mode in ("rne", "rtz", "odd"):
        check(fp.f64_to_f32(fp.f64(b), mode), _narrow_ref("f64", "f32", mode), b)


def test_f32_to_f16_rne_rtz():
    b = rand_bits(RNG, "f32", 4000)
    small = (RNG.integers(0x33000000, 0x47800000, 4000, dtype=np.uint64)).astype(np.uint32)  # f16 range
    b = np.concatenate([b, small])
    for mode in ("rne", "rtz"):
        check(fp.f32_to_f16(b, mode), _narrow_ref("f32", "f16", mode), b)


def test_f64_to_f16_has_no_double_rounding():
    # x = an f16 midpoint plus a tiny amount: rounding to f32 first would land on the midpoint
    h = RNG.integers(0x0001, 0x7BFF, 2000)
    lo = np.array([float(dec(int(v), "f16")[1]) for v in h])
    hi = np.array([float(dec(int(v) + 1, "f16")[1]) for v in h])
    midp = (lo + hi) / 2
    xs = np.concatenate([midp * (1 + 2.0 ** -40), midp * (1 - 2.0 ** -40), midp, -midp * (1 + 2.0 ** -40)])
    b = fp.bits64(xs)
    check(fp.f64_to_f16(xs), _narrow_ref("f64", "f16", "rne"), b)


def test_f32_to_bf16():
    b = rand_bits(RNG, "f32", 3000)

    def ref(x):
        d = dec(x, "f32")
        if d[0] == "nan":
            return (x >> 16) | 0x40
        if d[0] == "inf":
            return x >> 16
        return rnd(d[1], "bf16", zero_neg=bool(d[2]))
    check(fp.f32_to_bf16(b), ref, b)


def test_widen_exact_and_quiets_nans():
    h = np.arange(0x10000, dtype=np.uint32)
    out = fp.widen_bits(h, fp.F16, fp.F32)

    def ref(x):
        d = dec(x, "f16")
        if d[0] == "nan":
            return ((x & 0x8000) << 16) | 0x7FC00000 | ((x & 0x3FF) << 13)
        if d[0] == "inf":
            return 0xFF800000 if d[1] else 0x7F800000
        return rnd(d[1], "f32", zero_neg=bool(d[2]))
    check(out, ref, h)
    s = rand_bits(RNG, "f32", 2000)
    w = fp.widen_bits(s, fp.F32, fp.F64)
    for x, y in zip(s.tolist(), w.tolist(), strict=False):
        if is_nan(x, "f32"):
            assert y == (((x >> 31) << 63) | 0x7FF8000000000000 | ((x & 0x7FFFFF) << 29))
        else:
            assert dec(x, "f32")[:2] == dec(y, "f64")[:2]


def test_classification_helpers():
    h = np.arange(0x10000, dtype=np.uint32)
    for i, (n, s, inf, z, den) in enumerate(zip(fp.is_nan(h, fp.F16), fp.is_snan(h, fp.F16), fp.is_inf(h, fp.F16),
                                                fp.is_zero(h, fp.F16), fp.is_denorm(h, fp.F16), strict=False)):
        d = dec(i, "f16")
        assert n == (d[0] == "nan")
        assert s == (d[0] == "nan" and not i & 0x200)
        assert inf == (d[0] == "inf")
        assert z == (d[0] == "num" and d[1] == 0)
        assert den == (d[0] == "num" and d[1] != 0 and (i & 0x7C00) == 0)


def _fma_cases(t, n):
    a, b, c = (rand_bits(RNG, t, n) for _ in range(3))
    # adversarial: c cancels the rounded product, leaving only the product's low part
    view = {"f16": fp.f16, "f32": fp.f32, "f64": fp.f64}[t]
    with np.errstate(all="ignore"):
        prod = view(a).astype(np.float64) * view(b).astype(np.float64)
    to_bits = {"f16": lambda x: fp.f64_to_f16(x), "f32": lambda x: fp.f64_to_f32(x), "f64": fp.bits64}[t]
    if t != "f64":
        neg = to_bits(-prod)
        c = np.where(np.arange(n) % 3 == 0, neg, c)
    else:
        with np.errstate(all="ignore"):
            p = fp.f64(a) * fp.f64(b)
        c = np.where(np.arange(n) % 3 == 0, fp.bits64(-p), c)
        # half-ulp neighbours of the product
        c = np.where(np.arange(n) % 3 == 1, fp.bits64(-p * (1 + 2.0 ** -53)), c)
    return a, b, c.astype(a.dtype)


def test_fma_f32():
    a, b, c = _fma_cases("f32", 4000)
    check(fp.fma(a, b, c, fp.F32), lambda x, y, z: ref_fma(x, y, z, "f32"), a, b, c)


def test_fma_f16():
    a, b, c = _fma_cases("f16", 4000)
    check(fp.fma(a, b, c, fp.F16), lambda x, y, z: ref_fma(x, y, z, "f16"), a, b, c)


def test_fma_f64():
    a, b, c = _fma_cases("f64", 3000)
    check(fp.fma(a, b, c, fp.F64), lambda x, y, z: ref_fma(x, y, z, "f64"), a, b, c)


def test_fma_f64_near_limits():
    """Products and sums near overflow and deep in the denormal range take the exact path."""
    n = 600
    e = RNG.integers(-1074, 1023, (3, n))
    m = RNG.random((3, n)) + 1.0
    s = np.where(RNG.random((3, n)) < 0.5, -1.0, 1.0)
    vals = s * np.ldexp(m, e)
    vals[0, :200] = np.ldexp(m[0, :200], RNG.integers(500, 1023, 200))
    vals[1, :200] = np.ldexp(m[1, :200], RNG.integers(0, 523, 200))
    with np.errstate(over="ignore"):
        vals[2, :100] = -vals[0, :100] * vals[1, :100] * 0.75
    vals[0, 300:400] = np.ldexp(m[0, 300:400], RNG.integers(-600, -400, 100))
    vals[1, 300:400] = np.ldexp(m[1, 300:400], RNG.integers(-600, -400, 100))
    with np.errstate(all="ignore"):
        a, b, c = (fp.bits64(v) for v in vals)
    check(fp.fma64(a, b, c), lambda x, y, z: ref_fma(x, y, z, "f64"), a, b, c)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
def test_fma_f32_property(x, y, z):
    a, b, c = (np.array([v], np.uint32) for v in (x, y, z))
    assert int(fp.fma(a, b, c, fp.F32)[0]) == ref_fma(x, y, z, "f32")


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1))
def test_fma_f64_property(x, y, z):
    a, b, c = (np.array([v], np.uint64) for v in (x, y, z))
    assert int(fp.fma64(a, b, c)[0]) == ref_fma(x, y, z, "f64")


def test_binops_all_formats():
    for t, F in (("f16", fp.F16), ("f32", fp.F32), ("f64", fp.F64)):
        a, b = rand_bits(RNG, t, 3000), rand_bits(RNG, t, 3000)
        check(fp.binop("add", a, b, F), lambda x, y: ref_add(x, y, t), a, b)
        check(fp.binop("sub", a, b, F), lambda x, y: ref_add(x, y, t, sub=True), a, b)
        check(fp.binop("mul", a, b, F), lambda x, y: ref_mul(x, y, t), a, b)


def test_binops_without_nan_results_agree_with_the_nan_rule_path():
    """Arrays with no NaN result skip the NaN rule: lane by lane (mostly that path) must give
    what the whole array (with NaNs, the rule's path) gives."""
    for t, F in (("f16", fp.F16), ("f32", fp.F32), ("f64", fp.F64)):
        a, b = rand_bits(RNG, t, 400), rand_bits(RNG, t, 400)
        for op in ("add", "sub", "mul", "div"):
            whole = fp.binop(op, a, b, F)
            one = [int(fp.binop(op, a[i:i + 1], b[i:i + 1], F)[0]) for i in range(a.size)]
            assert whole.tolist() == one, (t, op)


def test_nan_rule_first_nan_input_quieted():
    a = np.array([0x7F800001, 0x3F800000, 0x7FC00005, 0xFF800000], np.uint32)
    b = np.array([0x7FC00002, 0x7F800003, 0x7F800007, 0x7F800000], np.uint32)
    out = fp.binop("add", a, b, fp.F32)
    assert out.tolist() == [0x7FC00001, 0x7FC00003, 0x7FC00005, 0x7FC00000]
    assert first_nan([(0x7C01, "f16")]) == 0x7C01 | qbit("f16")


def test_add_odd_is_round_to_odd():
    x = RNG.standard_normal(3000)
    y = RNG.standard_normal(3000) * 2.0 ** RNG.integers(-60, 0, 3000)
    s = fp.add_odd(x, y)
    for xi, yi, si in zip(x.tolist(), y.tolist(), s.tolist(), strict=False):
        exact = Fraction(xi) + Fraction(yi)
        r = Fraction(si)
        if r != exact:
            assert fp.bits64(np.float64(si)) & 1 == 1
            # the exact sum lies strictly between r's neighbours
            assert abs(r - exact) < abs(Fraction(np.spacing(si)))
