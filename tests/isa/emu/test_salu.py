"""SALU ops against per-element references written from the pseudocode with Python integers:
results, SCC (carries, signed overflow, non-zero results, compares), exec-mask ops, SOPK
immediates, bit-field extracts with wide widths, and scalar float ops."""

# ruff: noqa: B023  (the lambdas in loops are called at once by check())

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_valu_float import _PRED, ref_minmax
from test_valu_reference import check, rand_bits, ref_add, ref_fma, ref_mul, value

from isa.emu.salu import SALU

RNG = np.random.default_rng(2718)
N = 800
M = 0xFFFFFFFF
Q = 2**64 - 1
EDGE = [0, 1, 31, 32, 63, 64, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x1F0008, 0x200004, 0x7F0000, 0x8000, 0xFFFF]


def ints(n, bits=32):
    v = RNG.integers(0, 2**32, n, dtype=np.uint64)
    v = np.where(RNG.random(n) < 0.3, np.array(EDGE, np.uint64)[RNG.integers(0, len(EDGE), n)], v)
    if bits == 64:
        hi = np.where(RNG.random(n) < 0.3, np.uint64(0), RNG.integers(0, 2**32, n, dtype=np.uint64))
        return (hi << np.uint64(32)) | v
    return v.astype(np.uint32)


def s32(v):
    v &= M
    return v - 2**32 if v >> 31 else v


def s64(v):
    v &= Q
    return v - 2**64 if v >> 63 else v


def sext16(v):
    v &= 0xFFFF
    return v - 0x10000 if v >> 15 else v


def first_one(v, width, from_msb):
    for i in range(width):
        if (v >> ((width - 1 - i) if from_msb else i)) & 1:
            return i
    return -1


def cls(v, width):
    top = (v >> (width - 1)) & 1
    for i in range(1, width):
        if (v >> (width - 1 - i)) & 1 != top:
            return i
    return -1


def bfe(a, spec, width, signed):
    off = spec & (width - 1)
    w = (spec >> 16) & 0x7F
    x = (s64(a) if width == 64 else s32(a)) if signed else a
    mask = (1 << min(w, width)) - 1
    v = (x >> off) & mask
    if signed and 0 < w < width and (v >> (w - 1)) & 1:
        v -= 1 << w
    return v & ((1 << width) - 1)


def quad(v, nib):
    return sum((((v >> (4 * i)) & 0xF) != 0) << i for i in range(nib))


def wqm(v, nib):
    return sum((0xF if ((v >> (4 * i)) & 0xF) else 0) << (4 * i) for i in range(nib))


def bitrep(v):
    return sum(((v >> i) & 1) * (3 << (2 * i)) for i in range(32))


# name -> (widths, reference(*args, scc) -> (D, SCC)); D/SCC None when not written
REFS = {
    "s_mov_b32": ((32,), lambda a, c: (a, None)), "s_mov_b64": ((64,), lambda a, c: (a, None)),
    "s_cmov_b32": ((32, 32), lambda a, d, c: (a if c else d, None)),
    "s_cmov_b64": ((64, 64), lambda a, d, c: (a if c else d, None)),
    "s_brev_b32": ((32,), lambda a, c: (int(f"{a:032b}"[::-1], 2), None)),
    "s_brev_b64": ((64,), lambda a, c: (int(f"{a:064b}"[::-1], 2), None)),
    "s_ctz_i32_b32": ((32,), lambda a, c: (first_one(a, 32, False) & M, None)),
    "s_ctz_i32_b64": ((64,), lambda a, c: (first_one(a, 64, False) & M, None)),
    "s_clz_i32_u32": ((32,), lambda a, c: (first_one(a, 32, True) & M, None)),
    "s_clz_i32_u64": ((64,), lambda a, c: (first_one(a, 64, True) & M, None)),
    "s_cls_i32": ((32,), lambda a, c: (cls(a, 32) & M, None)),
    "s_cls_i32_i64": ((64,), lambda a, c: (cls(a, 64) & M, None)),
    "s_sext_i32_i8": ((32,), lambda a, c: (((a & 0xFF) - ((a & 0x80) << 1)) & M, None)),
    "s_sext_i32_i16": ((32,), lambda a, c: (sext16(a) & M, None)),
    "s_bitset0_b32": ((32, 32), lambda a, d, c: (d & ~(1 << (a & 31)) & M, None)),
    "s_bitset1_b32": ((32, 32), lambda a, d, c: (d | (1 << (a & 31)), None)),
    "s_bitset0_b64": ((32, 64), lambda a, d, c: (d & ~(1 << (a & 63)) & Q, None)),
    "s_bitset1_b64": ((32, 64), lambda a, d, c: (d | (1 << (a & 63)), None)),
    "s_bitreplicate_b64_b32": ((32,), lambda a, c: (bitrep(a), None)),
    "s_abs_i32": ((32,), lambda a, c: (abs(s32(a)) & M, abs(s32(a)) & M != 0)),
    "s_bcnt0_i32_b32": ((32,), lambda a, c: (32 - bin(a).count("1"), 32 - bin(a).count("1") != 0)),
    "s_bcnt1_i32_b32": ((32,), lambda a, c: (bin(a).count("1"), a != 0)),
    "s_bcnt0_i32_b64": ((64,), lambda a, c: (64 - bin(a).count("1"), a != Q)),
    "s_bcnt1_i32_b64": ((64,), lambda a, c: (bin(a).count("1"), a != 0)),
    "s_quadmask_b32": ((32,), lambda a, c: (quad(a, 8), quad(a, 8) != 0)),
    "s_quadmask_b64": ((64,), lambda a, c: (quad(a, 16), quad(a, 16) != 0)),
    "s_wqm_b32": ((32,), lambda a, c: (wqm(a, 8), a != 0)),
    "s_wqm_b64": ((64,), lambda a, c: (wqm(a, 16), a != 0)),
    "s_not_b32": ((32,), lambda a, c: (~a & M, a != M)), "s_not_b64": ((64,), lambda a, c: (~a & Q, a != Q)),
    "s_add_u32": ((32, 32), lambda a, b, c: ((a + b) & M, a + b > M)),
    "s_sub_u32": ((32, 32), lambda a, b, c: ((a - b) & M, b > a)),
    "s_add_i32": ((32, 32), lambda a, b, c: ((a + b) & M, not -2**31 <= s32(a) + s32(b) < 2**31)),
    "s_sub_i32": ((32, 32), lambda a, b, c: ((a - b) & M, not -2**31 <= s32(a) - s32(b) < 2**31)),
    "s_addc_u32": ((32, 32), lambda a, b, c: ((a + b + c) & M, a + b + c > M)),
    "s_subb_u32": ((32, 32), lambda a, b, c: ((a - b - c) & M, b + c > a)),
    "s_absdiff_i32": ((32, 32), lambda a, b, c: (abs(s32(a - b)) & M, abs(s32(a - b)) & M != 0)),
    "s_min_i32": ((32, 32), lambda a, b, c: (a if s32(a) < s32(b) else b, s32(a) < s32(b))),
    "s_max_i32": ((32, 32), lambda a, b, c: (a if s32(a) >= s32(b) else b, s32(a) >= s32(b))),
    "s_min_u32": ((32, 32), lambda a, b, c: (min(a, b), a < b)),
    "s_max_u32": ((32, 32), lambda a, b, c: (max(a, b), a >= b)),
    "s_bfe_u32": ((32, 32), lambda a, b, c: (bfe(a, b, 32, False), bfe(a, b, 32, False) != 0)),
    "s_bfe_i32": ((32, 32), lambda a, b, c: (bfe(a, b, 32, True), bfe(a, b, 32, True) != 0)),
    "s_bfe_u64": ((64, 32), lambda a, b, c: (bfe(a, b, 64, False), bfe(a, b, 64, False) != 0)),
    "s_bfe_i64": ((64, 32), lambda a, b, c: (bfe(a, b, 64, True), bfe(a, b, 64, True) != 0)),
    "s_bfm_b32": ((32, 32), lambda a, b, c: ((((1 << (a & 31)) - 1) << (b & 31)) & M, None)),
    "s_bfm_b64": ((32, 32), lambda a, b, c: ((((1 << (a & 63)) - 1) << (b & 63)) & Q, None)),
    "s_mul_i32": ((32, 32), lambda a, b, c: ((a * b) & M, None)),
    "s_mul_hi_u32": ((32, 32), lambda a, b, c: ((a * b) >> 32, None)),
    "s_mul_hi_i32": ((32, 32), lambda a, b, c: (((s32(a) * s32(b)) >> 32) & M, None)),
    "s_cselect_b32": ((32, 32), lambda a, b, c: (a if c else b, None)),
    "s_cselect_b64": ((64, 64), lambda a, b, c: (a if c else b, None)),
    "s_pack_ll_b32_b16": ((32, 32), lambda a, b, c: ((a & 0xFFFF) | ((b & 0xFFFF) << 16), None)),
    "s_pack_lh_b32_b16": ((32, 32), lambda a, b, c: ((a & 0xFFFF) | (b & 0xFFFF0000), None)),
    "s_pack_hh_b32_b16": ((32, 32), lambda a, b, c: ((a >> 16) | (b & 0xFFFF0000), None)),
    "s_pack_hl_b32_b16": ((32, 32), lambda a, b, c: ((a >> 16) | ((b & 0xFFFF) << 16), None)),
}
for _n in (1, 2, 3, 4):
    REFS[f"s_lshl{_n}_add_u32"] = ((32, 32), lambda a, b, c, n=_n: (((a << n) + b) & M, (a << n) + b > M))
for _k, _f in {"and": lambda a, b: a & b, "or": lambda a, b: a | b, "xor": lambda a, b: a ^ b,
               "nand": lambda a, b: ~(a & b), "nor": lambda a, b: ~(a | b), "xnor": lambda a, b: ~(a ^ b),
               "and_not1": lambda a, b: a & ~b, "or_not1": lambda a, b: a | ~b}.items():
    REFS[f"s_{_k}_b32"] = ((32, 32), lambda a, b, c, f=_f: (f(a, b) & M, f(a, b) & M != 0))
    REFS[f"s_{_k}_b64"] = ((64, 64), lambda a, b, c, f=_f: (f(a, b) & Q, f(a, b) & Q != 0))
for _w, _m in ((32, M), (64, Q)):
    REFS[f"s_lshl_b{_w}"] = ((_w, 32), lambda a, b, c, w=_w, m=_m: ((a << (b & (w - 1))) & m, (a << (b & (w - 1))) & m != 0))
    REFS[f"s_lshr_b{_w}"] = ((_w, 32), lambda a, b, c, w=_w: (a >> (b & (w - 1)), a >> (b & (w - 1)) != 0))
    REFS[f"s_ashr_i{_w}"] = ((_w, 32), lambda a, b, c, w=_w, m=_m: (((s32(a) if w == 32 else s64(a)) >> (b & (w - 1))) & m,
                                                                     a != 0 and ((s32(a) if w == 32 else s64(a)) >> (b & (w - 1))) != 0))


@pytest.mark.parametrize("name", sorted(REFS))
def test_salu_int(name):
    widths, ref = REFS[name]
    sop = SALU[name]
    srcs = [ints(N, w) for w in widths]
    scc = RNG.random(N) < 0.5
    d, c = sop.fn(*srcs, scc=scc)
    check(d, lambda *a: ref(*a)[0], *srcs, scc)
    if c is None:
        assert not sop.writes_scc
        assert all(ref(*[int(s[i]) for s in srcs], bool(scc[i]))[1] is None for i in range(5))
    else:
        check(c, lambda *a: bool(ref(*a)[1]), *srcs, scc)


@pytest.mark.parametrize("width", [32, 64])
def test_exec_ops(width):
    m = M if width == 32 else Q
    ops = {"and": lambda s, e: s & e, "or": lambda s, e: s | e, "xor": lambda s, e: s ^ e,
           "nand": lambda s, e: ~(s & e), "nor": lambda s, e: ~(s | e), "xnor": lambda s, e: ~(s ^ e),
           "and_not0": lambda s, e: ~s & e, "or_not0": lambda s, e: ~s | e,
           "and_not1": lambda s, e: s & ~e, "or_not1": lambda s, e: s | ~e}
    e, s = ints(N, width), ints(N, width)
    for k, f in ops.items():
        sd, ex, scc = SALU[f"s_{k}_saveexec_b{width}"].fn(e, s)
        check(sd, lambda x, y: x, e, s)
        check(ex, lambda x, y: f(y, x) & m, e, s)
        check(scc, lambda x, y: f(y, x) & m != 0, e, s)
        if k in ("and_not0", "and_not1"):
            sd, ex, scc = SALU[f"s_{k}_wrexec_b{width}"].fn(e, s)
            check(sd, lambda x, y: f(y, x) & m, e, s)
            check(ex, lambda x, y: f(y, x) & m, e, s)


def test_sopk():
    d, k = ints(N), ints(N) & np.uint32(0xFFFF)
    scc = RNG.random(N) < 0.5
    check(SALU["s_movk_i32"].fn(k)[0], lambda x: sext16(x) & M, k)
    check(SALU["s_cmovk_i32"].fn(d, k, scc=scc)[0], lambda x, y, c: sext16(y) & M if c else x, d, k, scc)
    out, c = SALU["s_addk_i32"].fn(d, k)
    check(out, lambda x, y: (x + sext16(y)) & M, d, k)
    check(c, lambda x, y: not -2**31 <= s32(x) + sext16(y) < 2**31, d, k)
    check(SALU["s_mulk_i32"].fn(d, k)[0], lambda x, y: (s32(x) * sext16(y)) & M, d, k)
    preds = {"eq": lambda x, y: x == y, "lg": lambda x, y: x != y, "gt": lambda x, y: x > y,
             "ge": lambda x, y: x >= y, "lt": lambda x, y: x < y, "le": lambda x, y: x <= y}
    for name, p in preds.items():
        res, c = SALU[f"s_cmpk_{name}_i32"].fn(d, k)
        assert res is None
        check(c, lambda x, y: p(s32(x), sext16(y)), d, k)
        check(SALU[f"s_cmpk_{name}_u32"].fn(d, k)[1], lambda x, y: p(x, y), d, k)


def test_sopc():
    a, b = ints(N), ints(N)
    b[::3] = a[::3]
    preds = {"eq": lambda x, y: x == y, "lg": lambda x, y: x != y, "gt": lambda x, y: x > y,
             "ge": lambda x, y: x >= y, "lt": lambda x, y: x < y, "le": lambda x, y: x <= y}
    for name, p in preds.items():
        check(SALU[f"s_cmp_{name}_i32"].fn(a, b)[1], lambda x, y: p(s32(x), s32(y)), a, b)
        check(SALU[f"s_cmp_{name}_u32"].fn(a, b)[1], lambda x, y: p(x, y), a, b)
    q, r = ints(N, 64), ints(N, 64)
    r[::2] = q[::2]
    check(SALU["s_cmp_eq_u64"].fn(q, r)[1], lambda x, y: x == y, q, r)
    check(SALU["s_cmp_lg_u64"].fn(q, r)[1], lambda x, y: x != y, q, r)
    check(SALU["s_bitcmp0_b32"].fn(a, b)[1], lambda x, y: (x >> (y & 31)) & 1 == 0, a, b)
    check(SALU["s_bitcmp1_b32"].fn(a, b)[1], lambda x, y: (x >> (y & 31)) & 1 == 1, a, b)
    check(SALU["s_bitcmp0_b64"].fn(q, b)[1], lambda x, y: (x >> (y & 63)) & 1 == 0, q, b)
    check(SALU["s_bitcmp1_b64"].fn(q, b)[1], lambda x, y: (x >> (y & 63)) & 1 == 1, q, b)


@pytest.mark.parametrize("t", ["f16", "f32"])
def test_scalar_float(t):
    a, b, c = (rand_bits(RNG, t, N) for _ in range(3))
    check(SALU[f"s_add_{t}"].fn(a, b)[0], lambda x, y: ref_add(x, y, t), a, b)
    check(SALU[f"s_sub_{t}"].fn(a, b)[0], lambda x, y: ref_add(x, y, t, sub=True), a, b)
    check(SALU[f"s_mul_{t}"].fn(a, b)[0], lambda x, y: ref_mul(x, y, t), a, b)
    check(SALU[f"s_min_{t}"].fn(a, b)[0], lambda x, y: ref_minmax(x, y, t, False), a, b)
    check(SALU[f"s_max_{t}"].fn(a, b)[0], lambda x, y: ref_minmax(x, y, t, True), a, b)
    check(SALU[f"s_fmac_{t}"].fn(a, b, c)[0], lambda x, y, z: ref_fma(x, y, z, t), a, b, c)
    for cond, pred in _PRED.items():
        if cond in ("f", "t"):
            continue
        res, scc = SALU[f"s_cmp_{cond}_{t}"].fn(a, b)
        assert res is None
        check(scc, lambda x, y: pred(value(x, t), value(y, t)), a, b)
    if t == "f32":
        check(SALU["s_fmaak_f32"].fn(a, b, c)[0], lambda x, y, z: ref_fma(x, y, z, t), a, b, c)
        check(SALU["s_fmamk_f32"].fn(a, b, c)[0], lambda x, y, k: ref_fma(x, k, y, t), a, b, c)


def test_scalar_float_conversions_match_vector_ones():
    from isa.emu.valu import VALU
    a = rand_bits(RNG, "f32", N)
    for s, v in (("s_cvt_i32_f32", "v_cvt_i32_f32"), ("s_cvt_u32_f32", "v_cvt_u32_f32"),
                 ("s_cvt_f32_i32", "v_cvt_f32_i32"), ("s_cvt_f32_u32", "v_cvt_f32_u32"),
                 ("s_cvt_f16_f32", "v_cvt_f16_f32"), ("s_cvt_f32_f16", "v_cvt_f32_f16"),
                 ("s_ceil_f32", "v_ceil_f32"), ("s_floor_f32", "v_floor_f32"), ("s_trunc_f32", "v_trunc_f32"),
                 ("s_rndne_f32", "v_rndne_f32"), ("s_ceil_f16", "v_ceil_f16"), ("s_floor_f16", "v_floor_f16"),
                 ("s_trunc_f16", "v_trunc_f16"), ("s_rndne_f16", "v_rndne_f16")):
        assert (SALU[s].fn(a)[0] == VALU[v].fn(a)).all(), s
    hi = SALU["s_cvt_hi_f32_f16"].fn(a)[0]
    assert (hi == VALU["v_cvt_f32_f16"].fn(a >> np.uint32(16))).all()
    b = rand_bits(RNG, "f32", N)
    assert (SALU["s_cvt_pk_rtz_f16_f32"].fn(a, b)[0] == VALU["v_cvt_pk_rtz_f16_f32"].fn(a, b)).all()


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(REFS)), st.lists(st.integers(0, Q), min_size=2, max_size=2), st.booleans())
def test_random_bit_patterns(name, args, scc):
    widths, ref = REFS[name]
    vals = [v & (M if w == 32 else Q) for v, w in zip(args, widths, strict=False)]
    srcs = [np.array([v], np.uint32 if w == 32 else np.uint64) for v, w in zip(vals, widths, strict=False)]
    d, c = SALU[name].fn(*srcs, scc=np.array([scc]))
    want_d, want_c = ref(*vals, scc)
    assert int(d[0]) == want_d
    assert (c is None and want_c is None) or bool(c[0]) == bool(want_c)
