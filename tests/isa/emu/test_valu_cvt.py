"""Conversion ops: float<->int saturation and NaN rules, rounding modes of float narrowing,
normalized and packed conversions, against scalar references."""

from fractions import Fraction

import numpy as np
import pytest
from test_valu_reference import check, dec, default_nan, qbit, rand_bits, rnd

from isa.emu.valu import VALU

RNG = np.random.default_rng(99)
N = 2000


def op(name):
    return VALU[name].fn


def _trunc(q):
    n = abs(q.numerator) // q.denominator
    return -n if q < 0 else n


def _rint(q):
    n = q.numerator // q.denominator
    r = q - n
    return n + 1 if r > Fraction(1, 2) or (r == Fraction(1, 2) and n % 2) else n


def to_int_ref(t, lo, hi, rounding=_trunc, mask=0xFFFFFFFF):
    def ref(x):
        d = dec(x, t)
        if d[0] == "nan":
            return 0
        if d[0] == "inf":
            return (lo if d[1] else hi) & mask
        return max(lo, min(hi, rounding(d[1]))) & mask
    return ref


def _ints(n):
    v = RNG.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)
    v[: n // 4] = RNG.integers(-300, 300, n // 4).astype(np.int64) & 0xFFFFFFFF
    v[-4:] = [0x80000000, 0x7FFFFFFF, 0xFFFFFFFF, 0x01000001]
    return v


@pytest.mark.parametrize("name,t,lo,hi,mask", [
    ("v_cvt_i32_f32", "f32", -2**31, 2**31 - 1, 0xFFFFFFFF),
    ("v_cvt_u32_f32", "f32", 0, 2**32 - 1, 0xFFFFFFFF),
    ("v_cvt_i32_f64", "f64", -2**31, 2**31 - 1, 0xFFFFFFFF),
    ("v_cvt_u32_f64", "f64", 0, 2**32 - 1, 0xFFFFFFFF),
    ("v_cvt_i16_f16", "f16", -32768, 32767, 0xFFFF),
    ("v_cvt_u16_f16", "f16", 0, 65535, 0xFFFF),
])
def test_float_to_int_saturates(name, t, lo, hi, mask):
    a = rand_bits(RNG, t, N)
    check(op(name)(a), to_int_ref(t, lo, hi, mask=mask), a)


def test_float_to_int_edges():
    a = np.array([0x4F000000, 0xCF000000, 0xCF000001, 0x7FC00000, 0xBF7FFFFF, 0x4F800000, 0xBF800000], np.uint32)
    assert op("v_cvt_i32_f32")(a).tolist() == [0x7FFFFFFF, 0x80000000, 0x80000000, 0, 0, 0x7FFFFFFF, 0xFFFFFFFF]
    assert op("v_cvt_u32_f32")(a).tolist() == [0x80000000, 0, 0, 0, 0, 0xFFFFFFFF, 0]


def test_nearest_and_floor_to_int():
    a = rand_bits(RNG, "f32", N)
    a[:6] = [0x3F000000, 0xBF000000, 0x3FC00000, 0x3EFFFFFF, 0xC0200000, 0x40200000]   # .5, -.5, 1.5, ...
    floor = lambda q: q.numerator // q.denominator                                    # noqa: E731
    check(op("v_cvt_floor_i32_f32")(a), to_int_ref("f32", -2**31, 2**31 - 1, floor), a)
    check(op("v_cvt_nearest_i32_f32")(a), to_int_ref("f32", -2**31, 2**31 - 1, lambda q: floor(q + Fraction(1, 2))), a)


@pytest.mark.parametrize("name,dst,signed,bits", [
    ("v_cvt_f32_i32", "f32", True, 32), ("v_cvt_f32_u32", "f32", False, 32),
    ("v_cvt_f64_i32", "f64", True, 32), ("v_cvt_f64_u32", "f64", False, 32),
    ("v_cvt_f16_i16", "f16", True, 16), ("v_cvt_f16_u16", "f16", False, 16),
])
def test_int_to_float_rounds_to_nearest_even(name, dst, signed, bits):
    a = _ints(N) & np.uint32((1 << bits) - 1)
    a[:3] = [(1 << bits) - 1, 1 << (bits - 1), 0xFFE0 if bits == 16 else 0x7FFFFFC0]

    def ref(x):
        if signed and x >> (bits - 1):
            x -= 1 << bits
        return rnd(Fraction(x), dst)
    check(op(name)(a), ref, a)


@pytest.mark.parametrize("name,src,dst", [("v_cvt_f16_f32", "f32", "f16"), ("v_cvt_f32_f64", "f64", "f32")])
def test_narrowing_rne_and_overflow(name, src, dst):
    a = rand_bits(RNG, src, N)

    def ref(x):
        d = dec(x, src)
        ws, ms = (32, 23) if src == "f32" else (64, 52)
        wd, md = (16, 10) if dst == "f16" else (32, 23)
        sign = (x >> (ws - 1)) << (wd - 1)
        if d[0] == "nan":
            return sign | default_nan(dst) | ((x & ((1 << ms) - 1)) >> (ms - md))
        if d[0] == "inf":
            return sign | (default_nan(dst) & ~qbit(dst))
        return rnd(d[1], dst, zero_neg=bool(d[2]))
    check(op(name)(a), ref, a)


@pytest.mark.parametrize("name,src,dst", [("v_cvt_f32_f16", "f16", "f32"), ("v_cvt_f64_f32", "f32", "f64")])
def test_widening(name, src, dst):
    a = rand_bits(RNG, src, N)
    out = op(name)(a)
    for x, y in zip(a.tolist(), out.tolist(), strict=False):
        d = dec(x, src)
        if d[0] == "nan":
            assert dec(y, dst)[0] == "nan" and y & qbit(dst)
        else:
            assert dec(y, dst)[:2] == d[:2]


def test_cvt_pk_rtz_rounds_toward_zero():
    a, b = rand_bits(RNG, "f32", N), rand_bits(RNG, "f32", N)
    out = op("v_cvt_pk_rtz_f16_f32")(a, b)

    def half(x):
        d = dec(x, "f32")
        if d[0] == "nan":
            return ((x >> 16) & 0x8000) | 0x7E00 | ((x & 0x7FFFFF) >> 13)
        if d[0] == "inf":
            return 0xFC00 if d[1] else 0x7C00
        return rnd(d[1], "f16", "rtz", zero_neg=bool(d[2]))
    check(out, lambda x, y: half(x) | (half(y) << 16), a, b)
    big = np.array([0x47800000], np.uint32)   # 65536.0: overflows f16, rtz gives max finite
    assert int(op("v_cvt_pk_rtz_f16_f32")(big, big)[0]) == 0x7BFF7BFF


def _norm_ref(t, signed):
    def ref(x):
        d = dec(x, t)
        if d[0] == "nan":
            return 0
        v = Fraction(-1 if d[1] else 1) if d[0] == "inf" else d[1]
        lo = -1 if signed else 0
        v = max(Fraction(lo), min(Fraction(1), v)) * (32767 if signed else 65535)
        return _rint(v) & 0xFFFF
    return ref


@pytest.mark.parametrize("t", ["f16", "f32"])
@pytest.mark.parametrize("signed", [True, False])
def test_norm_conversions(t, signed):
    a, b = rand_bits(RNG, t, N), rand_bits(RNG, t, N)
    ref = _norm_ref(t, signed)
    kind = "i16" if signed else "u16"
    check(op(f"v_cvt_pk_norm_{kind}_{t}")(a, b), lambda x, y: ref(x) | (ref(y) << 16), a, b)
    if t == "f16":
        check(op(f"v_cvt_norm_{kind}_f16")(a), ref, a)


def test_pk_int_conversions():
    a, b = rand_bits(RNG, "f32", N), rand_bits(RNG, "f32", N)
    i16 = to_int_ref("f32", -32768, 32767, mask=0xFFFF)
    u16 = to_int_ref("f32", 0, 65535, mask=0xFFFF)
    check(op("v_cvt_pk_i16_f32")(a, b), lambda x, y: i16(x) | (i16(y) << 16), a, b)
    check(op("v_cvt_pk_u16_f32")(a, b), lambda x, y: u16(x) | (u16(y) << 16), a, b)
    c, d = _ints(N), _ints(N)
    s = lambda v: v - (1 << 32) if v >> 31 else v  # noqa: E731
    check(op("v_cvt_pk_u16_u32")(c, d), lambda x, y: min(x, 0xFFFF) | (min(y, 0xFFFF) << 16), c, d)
    check(op("v_cvt_pk_i16_i32")(c, d),
          lambda x, y: (max(-32768, min(32767, s(x))) & 0xFFFF) | ((max(-32768, min(32767, s(y))) & 0xFFFF) << 16), c, d)


def test_cvt_pk_u8_f32():
    a = rand_bits(RNG, "f32", N)
    a[::3] = (RNG.random(len(a[::3])) * 300 - 20).astype(np.float32).view(np.uint32)
    sel, d = RNG.integers(0, 2**32, N, dtype=np.uint64).astype(np.uint32), _ints(N)
    u8 = to_int_ref("f32", 0, 255, _rint)

    def ref(x, s, dd):
        sh = (s & 3) * 8
        return (dd & ~(0xFF << sh) & 0xFFFFFFFF) | (u8(x) << sh)
    check(op("v_cvt_pk_u8_f32")(a, sel, d), ref, a, sel, d)


def test_small_int_conversions():
    a = _ints(N)
    s16 = lambda v: (v & 0xFFFF) - 0x10000 if v & 0x8000 else v & 0xFFFF  # noqa: E731
    check(op("v_cvt_i32_i16")(a), lambda x: s16(x) & 0xFFFFFFFF, a)
    check(op("v_cvt_u32_u16")(a), lambda x: x & 0xFFFF, a)
    sat8 = lambda v: max(0, min(255, s16(v)))  # noqa: E731
    check(op("v_sat_pk_u8_i16")(a), lambda x: sat8(x) | (sat8(x >> 16) << 8), a)
    for n in range(4):
        check(op(f"v_cvt_f32_ubyte{n}")(a), lambda x, n=n: rnd(Fraction((x >> (8 * n)) & 0xFF), "f32"), a)
    table = [Fraction(v, 16) for v in list(range(8)) + list(range(-8, 0))]
    check(op("v_cvt_off_f32_i4")(a), lambda x: rnd(table[x & 15], "f32"), a)
    b = _ints(N)
    check(op("v_pack_b32_f16")(a, b), lambda x, y: (x & 0xFFFF) | ((y & 0xFFFF) << 16), a, b)
