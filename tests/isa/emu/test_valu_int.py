"""Integer VALU ops against per-element references written from the pseudocode with Python
integers: wraparound, saturation (clamp), carries and borrows, shift amounts past the width,
24-bit multiplies, bit-field and byte ops, SAD family, compares."""

# ruff: noqa: B023  (the lambdas in loops are called at once by check())

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_valu_reference import check

from isa.emu.valu import VALU

RNG = np.random.default_rng(4242)
N = 1500
M = 0xFFFFFFFF
EDGE = [0, 1, 2, 15, 16, 17, 31, 32, 33, 63, 64, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
        0x7FFFFF, 0x800000, 0xFFFFFF, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFE, 0xFFFFFFFF]


def s32(v):
    v &= M
    return v - (1 << 32) if v >> 31 else v


def s16(v):
    v &= 0xFFFF
    return v - (1 << 16) if v >> 15 else v


def s24(v):
    v &= 0xFFFFFF
    return v - (1 << 24) if v >> 23 else v


def u16(v):
    return v & 0xFFFF


def clip(v, lo, hi):
    return max(lo, min(hi, v))


def ints(n, bits=32):
    v = RNG.integers(0, 2**32, n, dtype=np.uint64)
    pick = RNG.random(n) < 0.3
    v = np.where(pick, np.array(EDGE, np.uint64)[RNG.integers(0, len(EDGE), n)], v)
    small = RNG.random(n) < 0.2
    v = np.where(small, RNG.integers(0, 40, n).astype(np.uint64), v)
    if bits == 64:
        hi = RNG.integers(0, 2**32, n, dtype=np.uint64)
        hi = np.where(RNG.random(n) < 0.3, np.uint64(0xFFFFFFFF), hi)
        return (hi << np.uint64(32)) | v
    return v.astype(np.uint32)


def op(name):
    return VALU[name].fn


def absdiff(x, y):
    return x - y if x > y else y - x


def byte(v, k):
    return (v >> (8 * k)) & 0xFF


def sad_u8(a, b, c, masked=False):
    t = c
    for k in range(4):
        if masked and byte(b, k) == 0:
            continue
        t += absdiff(byte(a, k), byte(b, k))
    return t


def perm_ref(a, b, sel):
    data = (a << 32) | b
    ins = [(data >> (8 * i)) & 0xFF for i in range(8)]
    out = 0
    for k in range(4):
        s = (sel >> (8 * k)) & 0xFF
        if s >= 13:
            v = 0xFF
        elif s == 12:
            v = 0
        elif s >= 8:
            v = 0xFF * (ins[2 * (s - 8) + 1] >> 7)
        else:
            v = ins[s]
        out |= v << (8 * k)
    return out


def clz_ref(v, width=32):
    for i in range(width):
        if (v >> (width - 1 - i)) & 1:
            return i
    return -1


def ctz_ref(v, width=32):
    for i in range(width):
        if (v >> i) & 1:
            return i
    return -1


def cls_ref(v, width=32):
    top = (v >> (width - 1)) & 1
    for i in range(1, width):
        if (v >> (width - 1 - i)) & 1 != top:
            return i
    return -1


def bfe_i_ref(a, off, w):
    off, w = off & 31, w & 31
    tmp = (s32(a) >> off) & ((1 << w) - 1)
    if w and (tmp >> (w - 1)) & 1:
        tmp -= 1 << w
    return tmp & M


def med3(x, y, z):
    mx = max(x, y, z)
    if mx == x:
        return max(y, z)
    if mx == y:
        return max(x, z)
    return max(x, y)


# name -> (reference(args...) -> int, source widths)
TWO = {
    "v_add_nc_u32": lambda a, b: (a + b) & M, "v_sub_nc_u32": lambda a, b: (a - b) & M,
    "v_subrev_nc_u32": lambda a, b: (b - a) & M, "v_add_nc_i32": lambda a, b: (a + b) & M,
    "v_sub_nc_i32": lambda a, b: (a - b) & M,
    "v_add_nc_u16": lambda a, b: (u16(a) + u16(b)) & 0xFFFF, "v_sub_nc_u16": lambda a, b: (u16(a) - u16(b)) & 0xFFFF,
    "v_add_nc_i16": lambda a, b: (a + b) & 0xFFFF, "v_sub_nc_i16": lambda a, b: (a - b) & 0xFFFF,
    "v_mul_lo_u16": lambda a, b: (u16(a) * u16(b)) & 0xFFFF,
    "v_mul_lo_u32": lambda a, b: (a * b) & M, "v_mul_hi_u32": lambda a, b: (a * b) >> 32,
    "v_mul_hi_i32": lambda a, b: ((s32(a) * s32(b)) >> 32) & M,
    "v_mul_i32_i24": lambda a, b: (s24(a) * s24(b)) & M, "v_mul_hi_i32_i24": lambda a, b: ((s24(a) * s24(b)) >> 32) & M,
    "v_mul_u32_u24": lambda a, b: ((a & 0xFFFFFF) * (b & 0xFFFFFF)) & M,
    "v_mul_hi_u32_u24": lambda a, b: ((a & 0xFFFFFF) * (b & 0xFFFFFF)) >> 32,
    "v_min_i32": lambda a, b: a if s32(a) < s32(b) else b, "v_max_i32": lambda a, b: a if s32(a) >= s32(b) else b,
    "v_min_u32": lambda a, b: min(a, b), "v_max_u32": lambda a, b: max(a, b),
    "v_min_i16": lambda a, b: s16(a) & 0xFFFF if s16(a) < s16(b) else s16(b) & 0xFFFF,
    "v_max_i16": lambda a, b: s16(a) & 0xFFFF if s16(a) >= s16(b) else s16(b) & 0xFFFF,
    "v_min_u16": lambda a, b: min(u16(a), u16(b)), "v_max_u16": lambda a, b: max(u16(a), u16(b)),
    "v_and_b32": lambda a, b: a & b, "v_or_b32": lambda a, b: a | b, "v_xor_b32": lambda a, b: a ^ b,
    "v_xnor_b32": lambda a, b: ~(a ^ b) & M, "v_and_b16": lambda a, b: a & b & 0xFFFF,
    "v_or_b16": lambda a, b: (a | b) & 0xFFFF, "v_xor_b16": lambda a, b: (a ^ b) & 0xFFFF,
    "v_lshlrev_b32": lambda a, b: (b << (a & 31)) & M, "v_lshrrev_b32": lambda a, b: b >> (a & 31),
    "v_ashrrev_i32": lambda a, b: (s32(b) >> (a & 31)) & M,
    "v_lshlrev_b16": lambda a, b: (u16(b) << (a & 15)) & 0xFFFF, "v_lshrrev_b16": lambda a, b: u16(b) >> (a & 15),
    "v_ashrrev_i16": lambda a, b: (s16(b) >> (a & 15)) & 0xFFFF,
    "v_bfm_b32": lambda a, b: (((1 << (a & 31)) - 1) << (b & 31)) & M,
    "v_bcnt_u32_b32": lambda a, b: (bin(a).count("1") + b) & M,
}
ONE = {
    "v_not_b32": lambda a: ~a & M, "v_not_b16": lambda a: ~a & 0xFFFF, "v_mov_b32": lambda a: a,
    "v_mov_b16": lambda a: a & 0xFFFF, "v_bfrev_b32": lambda a: int(f"{a:032b}"[::-1], 2),
    "v_clz_i32_u32": lambda a: clz_ref(a) & M, "v_ctz_i32_b32": lambda a: ctz_ref(a) & M,
    "v_cls_i32": lambda a: cls_ref(a) & M,
}
THREE = {
    "v_add3_u32": lambda a, b, c: (a + b + c) & M, "v_mad_u16": lambda a, b, c: (u16(a) * u16(b) + u16(c)) & 0xFFFF,
    "v_mad_i16": lambda a, b, c: (s16(a) * s16(b) + s16(c)) & 0xFFFF,
    "v_mad_u32_u16": lambda a, b, c: (u16(a) * u16(b) + c) & M,
    "v_mad_i32_i16": lambda a, b, c: (s16(a) * s16(b) + s32(c)) & M,
    "v_mad_i32_i24": lambda a, b, c: (s24(a) * s24(b) + s32(c)) & M,
    "v_mad_u32_u24": lambda a, b, c: ((a & 0xFFFFFF) * (b & 0xFFFFFF) + c) & M,
    "v_min3_i32": lambda a, b, c: min(s32(a), s32(b), s32(c)) & M, "v_max3_i32": lambda a, b, c: max(s32(a), s32(b), s32(c)) & M,
    "v_med3_i32": lambda a, b, c: med3(s32(a), s32(b), s32(c)) & M,
    "v_min3_u32": lambda a, b, c: min(a, b, c), "v_max3_u32": lambda a, b, c: max(a, b, c),
    "v_med3_u32": lambda a, b, c: med3(a, b, c),
    "v_min3_i16": lambda a, b, c: min(s16(a), s16(b), s16(c)) & 0xFFFF,
    "v_max3_i16": lambda a, b, c: max(s16(a), s16(b), s16(c)) & 0xFFFF,
    "v_med3_i16": lambda a, b, c: med3(s16(a), s16(b), s16(c)) & 0xFFFF,
    "v_min3_u16": lambda a, b, c: min(u16(a), u16(b), u16(c)), "v_max3_u16": lambda a, b, c: max(u16(a), u16(b), u16(c)),
    "v_med3_u16": lambda a, b, c: med3(u16(a), u16(b), u16(c)),
    "v_maxmin_i32": lambda a, b, c: min(max(s32(a), s32(b)), s32(c)) & M,
    "v_minmax_i32": lambda a, b, c: max(min(s32(a), s32(b)), s32(c)) & M,
    "v_maxmin_u32": lambda a, b, c: min(max(a, b), c), "v_minmax_u32": lambda a, b, c: max(min(a, b), c),
    "v_and_or_b32": lambda a, b, c: (a & b) | c, "v_or3_b32": lambda a, b, c: a | b | c,
    "v_xor3_b32": lambda a, b, c: a ^ b ^ c, "v_xad_u32": lambda a, b, c: ((a ^ b) + c) & M,
    "v_lshl_or_b32": lambda a, b, c: ((a << (b & 31)) & M) | c,
    "v_lshl_add_u32": lambda a, b, c: ((a << (b & 31)) + c) & M,
    "v_add_lshl_u32": lambda a, b, c: (((a + b) & M) << (c & 31)) & M,
    "v_bfe_u32": lambda a, b, c: (a >> (b & 31)) & ((1 << (c & 31)) - 1),
    "v_bfe_i32": bfe_i_ref, "v_bfi_b32": lambda a, b, c: (a & b) | (~a & c & M),
    "v_alignbit_b32": lambda a, b, c: (((a << 32) | b) >> (c & 31)) & M,
    "v_alignbyte_b32": lambda a, b, c: (((a << 32) | b) >> ((c & 3) * 8)) & M,
    "v_perm_b32": perm_ref,
    "v_lerp_u8": lambda a, b, c: sum(((byte(a, k) + byte(b, k) + ((c >> (8 * k)) & 1)) >> 1) << (8 * k) for k in range(4)),
    "v_sad_u8": lambda a, b, c: sad_u8(a, b, c) & M, "v_msad_u8": lambda a, b, c: sad_u8(a, b, c, True) & M,
    "v_sad_hi_u8": lambda a, b, c: ((sad_u8(a, b, 0) << 16) + c) & M,
    "v_sad_u16": lambda a, b, c: (c + absdiff(a & 0xFFFF, b & 0xFFFF) + absdiff(a >> 16, b >> 16)) & M,
    "v_sad_u32": lambda a, b, c: (absdiff(a, b) + c) & M,
}
# clamp (saturating) forms: name -> reference
CLAMPED = {
    "v_add_nc_u32": (2, lambda a, b: min(a + b, M)), "v_sub_nc_u32": (2, lambda a, b: max(a - b, 0)),
    "v_add_nc_i32": (2, lambda a, b: clip(s32(a) + s32(b), -2**31, 2**31 - 1) & M),
    "v_sub_nc_i32": (2, lambda a, b: clip(s32(a) - s32(b), -2**31, 2**31 - 1) & M),
    "v_add_nc_u16": (2, lambda a, b: min(u16(a) + u16(b), 0xFFFF)),
    "v_sub_nc_u16": (2, lambda a, b: max(u16(a) - u16(b), 0)),
    "v_add_nc_i16": (2, lambda a, b: clip(s16(a) + s16(b), -32768, 32767) & 0xFFFF),
    "v_sub_nc_i16": (2, lambda a, b: clip(s16(a) - s16(b), -32768, 32767) & 0xFFFF),
    "v_add3_u32": (3, lambda a, b, c: min(a + b + c, M)),
    "v_mad_u32_u24": (3, lambda a, b, c: min((a & 0xFFFFFF) * (b & 0xFFFFFF) + c, M)),
    "v_mad_i32_i24": (3, lambda a, b, c: clip(s24(a) * s24(b) + s32(c), -2**31, 2**31 - 1) & M),
    "v_mad_u16": (3, lambda a, b, c: min(u16(a) * u16(b) + u16(c), 0xFFFF)),
    "v_mad_i16": (3, lambda a, b, c: clip(s16(a) * s16(b) + s16(c), -32768, 32767) & 0xFFFF),
    "v_sad_u32": (3, lambda a, b, c: min(absdiff(a, b) + c, M)),
}


@pytest.mark.parametrize("name", sorted(ONE))
def test_unary(name):
    a = ints(N)
    check(op(name)(a), ONE[name], a)


@pytest.mark.parametrize("name", sorted(TWO))
def test_binary(name):
    a, b = ints(N), ints(N)
    check(op(name)(a, b), TWO[name], a, b)


@pytest.mark.parametrize("name", sorted(THREE))
def test_ternary(name):
    a, b, c = ints(N), ints(N), ints(N)
    check(op(name)(a, b, c), THREE[name], a, b, c)


@pytest.mark.parametrize("name", sorted(CLAMPED))
def test_clamp_saturates(name):
    n, ref = CLAMPED[name]
    srcs = [ints(N) for _ in range(n)]
    check(op(name)(*srcs, clamp=True), ref, *srcs)


def test_shift_amount_uses_low_bits_only():
    x = np.full(6, 0x80000001, np.uint32)
    sh = np.array([0, 31, 32, 33, 63, 0xFFFFFFE1], np.uint32)
    assert op("v_lshlrev_b32")(sh, x).tolist() == [0x80000001, 0x80000000, 0x80000001, 2, 0x80000000, 2]
    assert op("v_ashrrev_i32")(sh, x).tolist() == [0x80000001, 0xFFFFFFFF, 0x80000001, 0xC0000000, 0xFFFFFFFF,
                                                   0xC0000000]


def test_shifts_64():
    a, b = ints(N), ints(N, 64)
    check(op("v_lshlrev_b64")(a, b), lambda s, v: (v << (s & 63)) & (2**64 - 1), a, b)
    check(op("v_lshrrev_b64")(a, b), lambda s, v: v >> (s & 63), a, b)
    s64 = lambda v: v - 2**64 if v >> 63 else v  # noqa: E731
    check(op("v_ashrrev_i64")(a, b), lambda s, v: (s64(v) >> (s & 63)) & (2**64 - 1), a, b)


def test_carry_ops():
    a, b = ints(N), ints(N)
    ci = RNG.random(N) < 0.5
    d, c = op("v_add_co_u32")(a, b)
    check(d, lambda x, y: (x + y) & M, a, b)
    check(c, lambda x, y: x + y > M, a, b)
    d, c = op("v_sub_co_u32")(a, b)
    check(d, lambda x, y: (x - y) & M, a, b)
    check(c, lambda x, y: y > x, a, b)
    d, c = op("v_subrev_co_u32")(a, b)
    check(d, lambda x, y: (y - x) & M, a, b)
    check(c, lambda x, y: x > y, a, b)
    d, c = op("v_add_co_ci_u32")(a, b, ci)
    check(d, lambda x, y, k: (x + y + k) & M, a, b, ci)
    check(c, lambda x, y, k: x + y + k > M, a, b, ci)
    d, c = op("v_sub_co_ci_u32")(a, b, ci)
    check(d, lambda x, y, k: (x - y - k) & M, a, b, ci)
    check(c, lambda x, y, k: y + k > x, a, b, ci)
    d, c = op("v_subrev_co_ci_u32")(a, b, ci)
    check(d, lambda x, y, k: (y - x - k) & M, a, b, ci)
    check(c, lambda x, y, k: x + k > y, a, b, ci)
    d, c = op("v_add_co_u32")(a, b, clamp=True)
    check(d, lambda x, y: min(x + y, M), a, b)


def test_mad_64():
    a, b, c = ints(N), ints(N), ints(N, 64)
    d, carry = op("v_mad_u64_u32")(a, b, c)
    check(d, lambda x, y, z: (x * y + z) & (2**64 - 1), a, b, c)
    check(carry, lambda x, y, z: (x * y + z) >> 64 == 1, a, b, c)
    s64 = lambda v: v - 2**64 if v >> 63 else v  # noqa: E731
    d, carry = op("v_mad_i64_i32")(a, b, c)
    check(d, lambda x, y, z: (s32(x) * s32(y) + s64(z)) & (2**64 - 1), a, b, c)
    check(carry, lambda x, y, z: ((s32(x) * s32(y) + s64(z)) >> 64) & 1 == 1, a, b, c)


def test_cndmask():
    a, b = ints(N), ints(N)
    m = RNG.random(N) < 0.5
    check(op("v_cndmask_b32")(a, b, m), lambda x, y, k: y if k else x, a, b, m)
    check(op("v_cndmask_b16")(a, b, m), lambda x, y, k: (y if k else x) & 0xFFFF, a, b, m)


def test_qsad_family():
    a, b = ints(N, 64), ints(N)
    c = ints(N, 64)
    c4 = np.stack([ints(N) for _ in range(4)], axis=-1)

    def win(x, k):
        return (x >> (8 * k)) & M

    def qsad(x, y, z, masked):
        return sum((sad_u8(win(x, k), y, (z >> (16 * k)) & 0xFFFF, masked) & 0xFFFF) << (16 * k) for k in range(4))
    check(op("v_qsad_pk_u16_u8")(a, b, c), lambda x, y, z: qsad(x, y, z, False), a, b, c)
    check(op("v_mqsad_pk_u16_u8")(a, b, c), lambda x, y, z: qsad(x, y, z, True), a, b, c)
    out = op("v_mqsad_u32_u8")(a, b, c4)
    assert out.shape == (N, 4)
    for k in range(4):
        check(out[:, k], lambda x, y, z, k=k: sad_u8(win(x, k), y, z, True) & M, a, b, c4[:, k])


_ICMP = {"lt": lambda x, y: x < y, "eq": lambda x, y: x == y, "le": lambda x, y: x <= y,
         "gt": lambda x, y: x > y, "ne": lambda x, y: x != y, "ge": lambda x, y: x >= y,
         "f": lambda x, y: False, "t": lambda x, y: True}


@pytest.mark.parametrize("kind", ["i16", "u16", "i32", "u32", "i64", "u64"])
def test_int_compares(kind):
    bits = int(kind[1:])
    a, b = ints(600, 64 if bits == 64 else 32), ints(600, 64 if bits == 64 else 32)
    b[::3] = a[::3]
    mask = (1 << bits) - 1

    def conv(v):
        v &= mask
        return v - (1 << bits) if kind[0] == "i" and v >> (bits - 1) else v
    for cond, pred in _ICMP.items():
        name = f"v_cmp_{cond}_{kind}"
        if name in VALU:
            check(op(name)(a, b), lambda x, y: pred(conv(x), conv(y)), a, b)
            check(op(f"v_cmpx_{cond}_{kind}")(a, b), lambda x, y: pred(conv(x), conv(y)), a, b)


_ALL = {**{k: (1, v) for k, v in ONE.items()}, **{k: (2, v) for k, v in TWO.items()},
        **{k: (3, v) for k, v in THREE.items()}}


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(_ALL)), st.lists(st.integers(0, M), min_size=3, max_size=3))
def test_random_bit_patterns(name, args):
    n, ref = _ALL[name]
    srcs = [np.array([v], np.uint32) for v in args[:n]]
    assert int(op(name)(*srcs)[0]) == ref(*args[:n])
