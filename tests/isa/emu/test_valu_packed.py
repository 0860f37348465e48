"""Packed 16-bit ops, dot products (with their VOP3P modifiers), fma_mix and WMMA math against
per-element references."""

# ruff: noqa: B023  (the lambdas in loops are called at once by check())

from fractions import Fraction

import numpy as np
import pytest
from test_valu_float import ref_minmax
from test_valu_reference import check, dec, is_nan, qbit, rand_bits, ref_add, ref_fma, ref_mul, rnd

from isa.emu import fp
from isa.emu.valu import VALU, WMMA

RNG = np.random.default_rng(777)
N = 1200


def op(name):
    return VALU[name].fn


def lo(v):
    return v & 0xFFFF


def hi(v):
    return v >> 16


def s16(v):
    v &= 0xFFFF
    return v - 0x10000 if v >> 15 else v


def pk_ints(n):
    v = RNG.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)
    edge = np.array([0, 1, 0x7FFF, 0x8000, 0xFFFF, 15, 16, 17], np.uint32)
    v = np.where(RNG.random(n) < 0.3, edge[RNG.integers(0, 8, n)] | (edge[RNG.integers(0, 8, n)] << 16), v)
    return v


def pk_f16(n):
    return rand_bits(RNG, "f16", n) | (rand_bits(RNG, "f16", n) << np.uint32(16))


def per_half(f, n=2):
    def ref(*args):
        return (f(*[lo(a) for a in args[:n]]) & 0xFFFF) | ((f(*[hi(a) for a in args[:n]]) & 0xFFFF) << 16)
    return ref


PK_INT = {
    "v_pk_add_u16": (2, lambda a, b: a + b), "v_pk_sub_u16": (2, lambda a, b: a - b),
    "v_pk_add_i16": (2, lambda a, b: s16(a) + s16(b)), "v_pk_sub_i16": (2, lambda a, b: s16(a) - s16(b)),
    "v_pk_mul_lo_u16": (2, lambda a, b: a * b), "v_pk_mad_u16": (3, lambda a, b, c: a * b + c),
    "v_pk_mad_i16": (3, lambda a, b, c: s16(a) * s16(b) + s16(c)),
    "v_pk_lshlrev_b16": (2, lambda a, b: b << (a & 15)), "v_pk_lshrrev_b16": (2, lambda a, b: b >> (a & 15)),
    "v_pk_ashrrev_i16": (2, lambda a, b: s16(b) >> (a & 15)),
    "v_pk_max_i16": (2, lambda a, b: max(s16(a), s16(b))), "v_pk_min_i16": (2, lambda a, b: min(s16(a), s16(b))),
    "v_pk_max_u16": (2, lambda a, b: max(a, b)), "v_pk_min_u16": (2, lambda a, b: min(a, b)),
}


@pytest.mark.parametrize("name", sorted(PK_INT))
def test_packed_int(name):
    n, f = PK_INT[name]
    srcs = [pk_ints(N) for _ in range(n)]
    check(op(name)(*srcs), per_half(f, n), *srcs)


def test_packed_int_clamp():
    a, b = pk_ints(N), pk_ints(N)
    check(op("v_pk_add_u16")(a, b, clamp=True), per_half(lambda x, y: min(x + y, 0xFFFF)), a, b)
    check(op("v_pk_sub_i16")(a, b, clamp=True), per_half(lambda x, y: max(-32768, min(32767, s16(x) - s16(y)))), a, b)


PK_F16 = {
    "v_pk_add_f16": (2, lambda a, b: ref_add(a, b, "f16")), "v_pk_mul_f16": (2, lambda a, b: ref_mul(a, b, "f16")),
    "v_pk_min_f16": (2, lambda a, b: ref_minmax(a, b, "f16", False)),
    "v_pk_max_f16": (2, lambda a, b: ref_minmax(a, b, "f16", True)),
    "v_pk_fma_f16": (3, lambda a, b, c: ref_fma(a, b, c, "f16")),
    "v_pk_fmac_f16": (3, lambda a, b, c: ref_fma(a, b, c, "f16")),
}


@pytest.mark.parametrize("name", sorted(PK_F16))
def test_packed_f16(name):
    n, f = PK_F16[name]
    srcs = [pk_f16(N) for _ in range(n)]
    check(op(name)(*srcs), per_half(f, n), *srcs)


def widen16(h, t):
    """f16/bf16 bits -> f32 bits (NaN quieted)."""
    if t == "bf16":
        return h << 16
    d = dec(h, "f16")
    if d[0] == "nan":
        return ((h & 0x8000) << 16) | 0x7FC00000 | ((h & 0x3FF) << 13)
    if d[0] == "inf":
        return ((h & 0x8000) << 16) | 0x7F800000
    return rnd(d[1], "f32", zero_neg=bool(d[2]))


def elems(v, i, opsel, opsel_hi, neg, neg_hi, t):
    a = widen16(hi(v) if (opsel >> i) & 1 else lo(v), t)
    b = widen16(hi(v) if (opsel_hi >> i) & 1 else lo(v), t)
    return a ^ (((neg >> i) & 1) << 31), b ^ (((neg_hi >> i) & 1) << 31)


def ref_dot2_f32(t, opsel=0, opsel_hi=7, neg=0, neg_hi=0):
    def ref(a, b, c):
        a0, a1 = elems(a, 0, opsel, opsel_hi, neg, neg_hi, t)
        b0, b1 = elems(b, 1, opsel, opsel_hi, neg, neg_hi, t)
        if (neg_hi >> 2) & 1:
            c &= 0x7FFFFFFF
        if (neg >> 2) & 1:
            c ^= 0x80000000
        ins = [a0, b0, a1, b1, c]
        for x in ins:
            if is_nan(x, "f32"):
                return x | qbit("f32")
        acc = ref_add(c, ref_mul(a0, b0, "f32"), "f32")
        return ref_add(acc, ref_mul(a1, b1, "f32"), "f32")
    return ref


@pytest.mark.parametrize("t", ["f16", "bf16"])
def test_dot2_f32(t):
    mk = pk_f16 if t == "f16" else (lambda n: rand_bits(RNG, "f32", n) >> np.uint32(16)
                                    | (rand_bits(RNG, "f32", n) & np.uint32(0xFFFF0000)))
    a, b, c = mk(N), mk(N), rand_bits(RNG, "f32", N)
    name = f"v_dot2_f32_{t}"
    check(op(name)(a, b, c), ref_dot2_f32(t), a, b, c)
    check(op(f"v_dot2acc_f32_{t}")(a, b, c), ref_dot2_f32(t), a, b, c)
    for mods in [dict(opsel=1, opsel_hi=5, neg=2, neg_hi=1), dict(opsel=3, opsel_hi=0, neg=5, neg_hi=6),
                 dict(opsel=0, opsel_hi=7, neg=4, neg_hi=4)]:
        check(op(name)(a, b, c, **mods), ref_dot2_f32(t, **mods), a, b, c)


@pytest.mark.parametrize("t", ["f16", "bf16"])
def test_dot2_16bit_result(t):
    a, b = pk_f16(N), pk_f16(N)
    c = pk_f16(N)
    name = "v_dot2_f16_f16" if t == "f16" else "v_dot2_bf16_bf16"
    ft = "f16" if t == "f16" else "bf16"

    def narrow(x32):
        d = dec(x32, "f32")
        if d[0] == "nan":
            return ((x32 >> 16) & 0x8000) | (0x7E00 if ft == "f16" else 0x7FC0) | \
                (((x32 & 0x7FFFFF) >> 13) if ft == "f16" else ((x32 >> 16) & 0x7F))
        return x32 >> 16 if ft == "bf16" and d[0] == "inf" else rnd(d[1], ft, zero_neg=bool(d[2])) \
            if d[0] == "num" else ((x32 >> 16) & 0x8000) | 0x7C00

    def ref(x, y, z, opsel=0):
        ins = [lo(x), lo(y), hi(x), hi(y), hi(z) if opsel & 4 else lo(z)]
        for v in ins:
            if is_nan(v, ft):
                return narrow(widen16(v, t)) | (qbit(ft))
        acc = ins[4]
        for p, q in ((ins[0], ins[1]), (ins[2], ins[3])):
            acc = ref_add(acc, ref_mul(p, q, ft), ft)
        return acc
    check(op(name)(a, b, c), ref, a, b, c)
    check(op(name)(a, b, c, opsel=4), lambda x, y, z: ref(x, y, z, 4), a, b, c)


@pytest.mark.parametrize("name,width,mixed", [("v_dot4_i32_iu8", 8, True), ("v_dot4_u32_u8", 8, False),
                                              ("v_dot8_i32_iu4", 4, True), ("v_dot8_u32_u4", 4, False)])
def test_int_dots(name, width, mixed):
    a, b, c = pk_ints(N), pk_ints(N), pk_ints(N)

    def field(v, k, signed):
        x = (v >> (width * k)) & ((1 << width) - 1)
        return x - (1 << width) if signed and x >> (width - 1) else x

    def ref(x, y, z, neg=0, clamp=False):
        sa, sb = (bool(neg & 1), bool(neg & 2)) if mixed else (False, False)
        tot = sum(field(x, k, sa) * field(y, k, sb) for k in range(32 // width))
        if mixed:
            zs = z - (1 << 32) if z >> 31 else z
            tot += zs
            return (max(-2**31, min(2**31 - 1, tot)) if clamp else tot) & 0xFFFFFFFF
        tot += z
        return min(tot, 0xFFFFFFFF) if clamp else tot & 0xFFFFFFFF
    negs = (0, 1, 2, 3) if mixed else (0,)
    for neg in negs:
        check(op(name)(a, b, c, neg=neg), lambda x, y, z, neg=neg: ref(x, y, z, neg), a, b, c)
    check(op(name)(a, b, c, clamp=True, neg=3), lambda x, y, z: ref(x, y, z, 3, True), a, b, c)


def test_fma_mix():
    a, b, c = (rand_bits(RNG, "f32", N) for _ in range(3))
    d = pk_ints(N)
    for opsel, opsel_hi, neg, neg_hi in [(0, 0, 0, 0), (0, 7, 0, 0), (5, 7, 2, 1), (2, 3, 4, 2), (7, 4, 7, 7)]:
        def inputs(x, y, z):
            out = []
            for i, s in enumerate((x, y, z)):
                if (opsel_hi >> i) & 1:
                    v = widen16(hi(s) if (opsel >> i) & 1 else lo(s), "f16")
                else:
                    v = s
                if (neg_hi >> i) & 1:
                    v &= 0x7FFFFFFF
                if (neg >> i) & 1:
                    v ^= 0x80000000
                out.append(v)
            return out
        mods = dict(opsel=opsel, opsel_hi=opsel_hi, neg=neg, neg_hi=neg_hi)
        check(op("v_fma_mix_f32")(a, b, c, **mods), lambda x, y, z: ref_fma(*inputs(x, y, z), "f32"), a, b, c)

        def to16(r):
            dd = dec(r, "f32")
            if dd[0] == "nan":
                return ((r >> 16) & 0x8000) | 0x7E00 | ((r & 0x7FFFFF) >> 13)
            if dd[0] == "inf":
                return ((r >> 16) & 0x8000) | 0x7C00
            return rnd(dd[1], "f16", zero_neg=bool(dd[2]))
        check(op("v_fma_mixlo_f16")(a, b, c, d, **mods),
              lambda x, y, z, w: (w & 0xFFFF0000) | to16(ref_fma(*inputs(x, y, z), "f32")), a, b, c, d)
        check(op("v_fma_mixhi_f16")(a, b, c, d, **mods),
              lambda x, y, z, w: (w & 0xFFFF) | (to16(ref_fma(*inputs(x, y, z), "f32")) << 16), a, b, c, d)


def test_wmma_exact_on_small_integers():
    a = RNG.integers(-8, 8, (3, 16, 16))
    b = RNG.integers(-8, 8, (3, 16, 16))
    c = RNG.integers(-100, 100, (3, 16, 16))
    want = a @ b + c
    for name, ab, cd in [("v_wmma_f32_16x16x16_f16", np.float16, np.float32),
                         ("v_wmma_f32_16x16x16_bf16", np.float32, np.float32),
                         ("v_wmma_f16_16x16x16_f16", np.float16, np.float16),
                         ("v_wmma_bf16_16x16x16_bf16", np.float32, np.float32)]:
        d = WMMA[name](a.astype(ab), b.astype(ab), c.astype(cd))
        expect = want
        if name.startswith("v_wmma_bf16"):     # 8 significant bits: the exact sum rounded once
            expect = np.array([float(dec(rnd(Fraction(int(w)), "bf16") << 16, "f32")[1]) for w in want.ravel()])
            expect = expect.reshape(want.shape)
        assert d.dtype == cd and (d.astype(np.float64) == expect).all(), name
    for name in ("v_wmma_i32_16x16x16_iu8", "v_wmma_i32_16x16x16_iu4"):
        d = WMMA[name](a, b, c.astype(np.int32))
        assert (d == want).all()


def test_wmma_rounding_and_saturation():
    a = np.zeros((16, 16))
    b = np.zeros((16, 16))
    a[0, :2] = [2.0 ** 10, 1.0]
    b[:2, 0] = [2.0 ** 10, 2.0 ** -10]
    c = np.zeros((16, 16), np.float32)
    d = WMMA["v_wmma_f32_16x16x16_f16"](a.astype(np.float16), b.astype(np.float16), c)
    assert d[0, 0] == np.float32(2.0 ** 20 + 2.0 ** -10)       # one rounding of the exact sum
    h = WMMA["v_wmma_f16_16x16x16_f16"](a.astype(np.float16), b.astype(np.float16), c.astype(np.float16))
    assert h[0, 0] == np.inf                                   # 2**20 overflows f16
    bf = WMMA["v_wmma_bf16_16x16x16_bf16"](a.astype(np.float32), b.astype(np.float32), c)
    assert bf[0, 0] == 2.0 ** 20 and fp.bits32(bf[0, 0]) & 0xFFFF == 0
    ia = np.full((16, 16), 127)
    ib = np.full((16, 16), 127)
    big = np.full((16, 16), 2**31 - 1000, np.int32)
    sat = WMMA["v_wmma_i32_16x16x16_iu8"](ia, ib, big, clamp=True)
    wrap = WMMA["v_wmma_i32_16x16x16_iu8"](ia, ib, big)
    assert (sat == 2**31 - 1).all() and (wrap < 0).all()
    assert int(Fraction(2**31 - 1000) + 16 * 127 * 127) > 2**31
