"""Scalar reference arithmetic for the ALU tests, written per element with Python integers and
fractions, independent of numpy's float types; and tests of the reference against struct.

Floats are bit patterns (int). `dec` turns bits into ('nan', bits) / ('inf', neg) / ('num', value,
neg) with an exact Fraction value; `rnd` rounds an exact rational to a format.
"""

import math
import struct
from fractions import Fraction

import numpy as np
import pytest

FMT = {"f16": (16, 10), "bf16": (16, 7), "f32": (32, 23), "f64": (64, 52)}


def layout(t):
    w, m = FMT[t]
    e = w - 1 - m
    return w, m, e, (1 << (e - 1)) - 1


def dec(bits: int, t: str):
    w, m, e, bias = layout(t)
    neg = (bits >> (w - 1)) & 1
    E = (bits >> m) & ((1 << e) - 1)
    M = bits & ((1 << m) - 1)
    if E == (1 << e) - 1:
        return ("nan", bits) if M else ("inf", neg)
    if E == 0:
        v = Fraction(M) * Fraction(2) ** (1 - bias - m)
    else:
        v = Fraction(M | (1 << m)) * Fraction(2) ** (E - bias - m)
    return ("num", -v if neg else v, neg)


def is_nan(bits, t):
    return dec(bits, t)[0] == "nan"


def qbit(t):
    return 1 << (FMT[t][1] - 1)


def inf_bits(t, neg=False):
    w, m, e, _ = layout(t)
    return (neg << (w - 1)) | (((1 << e) - 1) << m)


def default_nan(t):
    return inf_bits(t) | qbit(t)


def rnd(q: Fraction, t: str, mode: str = "rne", zero_neg: bool = False) -> int:
    """The bits of exact value q rounded to t ('rne' or 'rtz')."""
    w, m, e, bias = layout(t)
    emin, emax = 1 - bias, bias
    if q == 0:
        return (1 << (w - 1)) if zero_neg else 0
    neg = q < 0
    a = abs(q)
    k = a.numerator.bit_length() - a.denominator.bit_length()
    while Fraction(2) ** k > a:
        k -= 1
    while Fraction(2) ** (k + 1) <= a:
        k += 1
    k = max(k, emin)
    scaled = a / Fraction(2) ** (k - m)
    n = scaled.numerator // scaled.denominator
    rem = scaled - n
    if mode == "rne":
        if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and n % 2 == 1):
            n += 1
    elif mode != "rtz":
        raise ValueError(mode)
    if n == 1 << (m + 1):
        n >>= 1
        k += 1
    sign = int(neg) << (w - 1)
    if k > emax:
        if mode == "rne":
            return sign | inf_bits(t)
        return sign | (inf_bits(t) - 1)
    if n < (1 << m):
        return sign | n
    return sign | ((k + bias) << m) | (n - (1 << m))


def value(bits, t) -> float:
    """Python float of bits (NaN for NaN)."""
    d = dec(bits, t)
    if d[0] == "nan":
        return math.nan
    if d[0] == "inf":
        return -math.inf if d[1] else math.inf
    return math.copysign(float(d[1]), -1.0 if d[2] else 1.0)


def from_float(x: float, t: str) -> int:
    """Bits of a Python float rounded to t (NaN -> default NaN)."""
    if math.isnan(x):
        return default_nan(t)
    if math.isinf(x):
        return inf_bits(t, x < 0)
    return rnd(Fraction(x), t, zero_neg=math.copysign(1.0, x) < 0)


def first_nan(ins):
    """First NaN among (bits, type) pairs, quieted, else None."""
    for b, t in ins:
        if is_nan(b, t):
            return b | qbit(t)
    return None


def ref_add(a, b, t, sub=False):
    n = first_nan([(a, t), (b, t)])
    if n is not None:
        return n
    if sub:
        b ^= 1 << (FMT[t][0] - 1)
    A, B = dec(a, t), dec(b, t)
    if A[0] == "inf" and B[0] == "inf":
        return inf_bits(t, A[1]) if A[1] == B[1] else default_nan(t)
    if A[0] == "inf":
        return inf_bits(t, A[1])
    if B[0] == "inf":
        return inf_bits(t, B[1])
    s = A[1] + B[1]
    return rnd(s, t, zero_neg=(s == 0 and A[2] and B[2]))


def ref_mul(a, b, t):
    n = first_nan([(a, t), (b, t)])
    if n is not None:
        return n
    A, B = dec(a, t), dec(b, t)
    neg = (A[-1] if A[0] == "num" else A[1]) ^ (B[-1] if B[0] == "num" else B[1])
    if "inf" in (A[0], B[0]):
        other = B if A[0] == "inf" else A
        if other[0] == "num" and other[1] == 0:
            return default_nan(t)
        return inf_bits(t, neg)
    return rnd(A[1] * B[1], t, zero_neg=bool(neg))


def ref_fma(a, b, c, t):
    n = first_nan([(a, t), (b, t), (c, t)])
    if n is not None:
        return n
    A, B, C = dec(a, t), dec(b, t), dec(c, t)
    sa = A[-1] if A[0] == "num" else A[1]
    sb = B[-1] if B[0] == "num" else B[1]
    pneg = sa ^ sb
    if A[0] == "inf" or B[0] == "inf":
        other = B if A[0] == "inf" else A
        if other[0] == "num" and other[1] == 0:
            return default_nan(t)
        if C[0] == "inf" and C[1] != pneg:
            return default_nan(t)
        return inf_bits(t, pneg)
    if C[0] == "inf":
        return inf_bits(t, C[1])
    p = A[1] * B[1]
    s = p + C[1]
    if s == 0:
        zero_neg = p == 0 and pneg and C[2]
        return rnd(s, t, zero_neg=bool(zero_neg))
    return rnd(s, t)


# ----------------------------------------------------------------------------------------------
# random operands rich in special values

SPECIAL = {
    "f16": [0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0400, 0x3C00, 0xBC00, 0x3800, 0x7BFF, 0xFBFF,
            0x7C00, 0xFC00, 0x7E00, 0x7C01, 0xFE01, 0x7D00, 0x3BFF, 0x4000, 0x3555],
    "f32": [0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007FFFFF, 0x00800000, 0x3F800000,
            0xBF800000, 0x3F000000, 0x7F7FFFFF, 0xFF7FFFFF, 0x7F800000, 0xFF800000, 0x7FC00000,
            0x7F800001, 0xFFC00001, 0x7FA00000, 0x3F7FFFFF, 0x4B000000, 0x4B800000, 0xCB000001,
            0x4F000000, 0x4F800000, 0xCF000000, 0xCF000001, 0x3EFFFFFF, 0x3FC00000, 0x40200000],
    "f64": [0, 1 << 63, 1, (1 << 63) | 1, 0x000FFFFFFFFFFFFF, 0x0010000000000000, 0x3FF0000000000000,
            0xBFF0000000000000, 0x7FEFFFFFFFFFFFFF, 0x7FF0000000000000, 0xFFF0000000000000,
            0x7FF8000000000000, 0x7FF0000000000001, 0xFFF8000000000001, 0x3FE0000000000000,
            0x41E0000000000000, 0xC1E0000000000000, 0x41F0000000000000, 0x3FEFFFFFFFFFFFFF],
}


def rand_bits(rng, t, n, special_frac=0.3):
    """n random bit patterns of t: uniform bits, values near 1, and special values."""
    w = FMT[t][0]
    if w == 64:
        out = rng.integers(0, 2**64, n, dtype=np.uint64)
    else:
        out = rng.integers(0, 2**w, n, dtype=np.uint64).astype(np.uint32)
    # a third of the uniform ones replaced by moderate magnitudes (exponents near the bias)
    mod = rng.random(n) < 0.35
    if mod.any():
        _, m, e, bias = layout(t)
        exps = rng.integers(bias - 12, bias + 12, n)
        mants = rng.integers(0, 2**m, n, dtype=np.uint64) if m > 30 else rng.integers(0, 2**m, n)
        signs = rng.integers(0, 2, n)
        vals = [(int(s) << (w - 1)) | (int(x) << m) | int(y) for s, x, y in zip(signs, exps, mants, strict=False)]
        out = np.where(mod, np.array(vals, dtype=out.dtype), out)
    sp = rng.random(n) < special_frac
    if sp.any():
        choices = np.array(SPECIAL[t], dtype=out.dtype)
        out = np.where(sp, choices[rng.integers(0, len(choices), n)], out)
    return out


# ----------------------------------------------------------------------------------------------
# tests of the reference itself against struct (an independent correctly rounded packer)

@pytest.mark.parametrize("t,code", [("f32", "<f"), ("f16", "<e")])
def test_rnd_matches_struct_on_doubles(t, code):
    rng = np.random.default_rng(7)
    xs = list(rng.standard_normal(3000) * 2.0 ** rng.integers(-30, 30, 3000))
    if t == "f32":
        xs += [3.4028235677973366e38, 3.4028235e38 * (1 + 2**-25), 1e-45, 7e-46, 2**-150, 2**-149 * 1.5]
    else:
        xs += [65504.0, 65519.99, 65520.0, 2**-25, 2**-24 * 1.5, 2**-25 * 1.0000001]
    fmt_u = "<I" if t == "f32" else "<H"
    for x in xs:
        x = float(x)
        try:
            want = struct.unpack(fmt_u, struct.pack(code, x))[0]
        except OverflowError:
            want = inf_bits(t, x < 0)
        assert rnd(Fraction(x), t, zero_neg=x < 0) == want, x


def test_dec_roundtrip_f64():
    rng = np.random.default_rng(3)
    for b in rng.integers(0, 2**64, 2000, dtype=np.uint64).tolist():
        d = dec(b, "f64")
        x = struct.unpack("<d", struct.pack("<Q", b))[0]
        if d[0] == "nan":
            assert math.isnan(x)
        elif d[0] == "inf":
            assert math.isinf(x) and (x < 0) == bool(d[1])
        else:
            assert Fraction(x) == d[1]
            assert rnd(d[1], "f64", zero_neg=bool(d[2])) == b


def test_rtz_is_below_value():
    rng = np.random.default_rng(5)
    for x in rng.standard_normal(500).tolist():
        q = Fraction(x)
        down = dec(rnd(q, "f16", "rtz"), "f16")[1]
        near = dec(rnd(q, "f16", "rne"), "f16")[1]
        assert abs(down) <= abs(q)
        assert abs(q - down) < Fraction(2) ** -10 * abs(q) * 2 + Fraction(2) ** -24
        assert abs(near - q) <= abs(down - q)


# ----------------------------------------------------------------------------------------------
# comparing a vectorized result with a scalar reference

def as_ints(x):
    x = np.asarray(x)
    if x.dtype == bool:
        return [bool(v) for v in x.ravel()]
    return [int(v) for v in x.ravel()]


def check(got, ref, *srcs, fmt=hex):
    """Asserts got[i] == ref(*(src[i] ...)) for every element; reports the first mismatches."""
    cols = [as_ints(s) for s in srcs]
    got = as_ints(got)
    bad = []
    for i, g in enumerate(got):
        args = [c[i] for c in cols]
        want = ref(*args)
        if g != want:
            bad.append((tuple(fmt(a) if not isinstance(a, bool) else a for a in args),
                        fmt(g) if not isinstance(g, bool) else g,
                        fmt(want) if not isinstance(want, bool) else want))
            if len(bad) >= 5:
                break
    assert not bad, f"mismatches (inputs, got, want): {bad}"


def test_check_reports_mismatches():
    a = np.arange(10, dtype=np.uint32)
    check(a + np.uint32(1), lambda x: x + 1, a)
    with pytest.raises(AssertionError, match="mismatches"):
        check(a + np.uint32(1), lambda x: x + 1 if x != 7 else 0, a)
