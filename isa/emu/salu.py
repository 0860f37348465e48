"""SALU semantics of gfx11 (SOP1, SOP2, SOPK, SOPC), vectorized over waves.

`SALU` maps LLVM's mnemonic to a SaluOp. `fn(*srcs, scc=None)` takes np.uint32 arrays (np.uint64
for 64-bit operands) of any one shape, usually [waves], and SCC as a bool array where the op reads
it; it returns (D, scc_out), either of which is None when the op does not write it. `src_names`
says where each source comes from: 's0', 's1' are the encoded ssrc0/ssrc1; 'd0' is the current
value of the SDST register (SOPK compares and add/mul, s_cmov*, s_bitset*, s_fmac*); 'simm16' is
the SOPK immediate (raw 16 bits); 'simm32' the literal of s_fmaak/s_fmamk.

Ops with `exec_op` (s_*_saveexec_*, s_*_wrexec_*) are called as fn(exec, s0) and return
(sdst, new_exec, scc).

Float ops (s_add_f32 ...) round like the VALU ones (isa.emu.fp): round to nearest even, denormals
kept, IEEE-mode NaN rules for min/max; f16 results come back zero-extended.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from isa.emu import fp, valu
from isa.emu.fp import F16, F32

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF


@dataclass(frozen=True)
class SaluOp:
    fn: Callable
    dst_bits: int                      # 0 (no SDST write), 32 or 64
    src_bits: tuple[int, ...]
    src_names: tuple[str, ...]
    reads_scc: bool = False
    writes_scc: bool = False
    exec_op: bool = False


SALU: dict[str, SaluOp] = {}


def _reg(name, fn, dst_bits=32, names=("s0", "s1"), bits=None, **kw):
    if bits is None:
        bits = tuple(16 if n == "simm16" else 32 for n in names)
    SALU[name] = SaluOp(fn, dst_bits, tuple(bits), tuple(names), **kw)


def _u(x):
    return np.asarray(x, np.uint32)


def _q(x):
    return np.asarray(x, np.uint64)


def _i(x):
    return _u(x).view(np.int32).astype(np.int64)


def _iq(x):
    return _q(x).view(np.int64)


def _w32(v):
    return (np.asarray(v, np.int64) & M32).astype(np.uint32)


def _nz(x):
    return np.asarray(x) != 0


def _simm(x):
    """The sign-extended SOPK immediate."""
    v = (_u(x) & np.uint32(0xFFFF)).astype(np.int64)
    return v - ((v & 0x8000) << 1)


# ----------------------------------------------------------------------------------------------
# 64-bit bit helpers

def _lo(x):
    return (_q(x) & np.uint64(M32)).astype(np.uint32)


def _hi(x):
    return (_q(x) >> np.uint64(32)).astype(np.uint32)


def _join(lo, hi):
    return (_u(hi).astype(np.uint64) << np.uint64(32)) | _u(lo)


def clz64(x):
    h, lo = _hi(x), _lo(x)
    return np.where(h != 0, valu.clz32(h), 32 + valu.clz32(lo))


def ctz64(x):
    h, lo = _hi(x), _lo(x)
    return np.where(lo != 0, valu.ctz32(lo), 32 + valu.ctz32(h))


def _found(n, width):
    return _w32(np.where(n == width, -1, n))


def _bitreplicate(a):
    x = _u(a).astype(np.uint64)
    for shift, mask in ((16, 0x0000FFFF0000FFFF), (8, 0x00FF00FF00FF00FF), (4, 0x0F0F0F0F0F0F0F0F),
                        (2, 0x3333333333333333), (1, 0x5555555555555555)):
        x = (x | (x << np.uint64(shift))) & np.uint64(mask)
    return x | (x << np.uint64(1))


def _quadmask(x, nibbles, dtype):
    x = np.asarray(x, dtype)
    out = np.zeros(x.shape, dtype)
    for i in range(nibbles):
        nz = ((x >> dtype(4 * i)) & dtype(0xF)) != 0
        out |= nz.astype(dtype) << dtype(i)
    return out


def _wqm(x, nibbles, dtype):
    x = np.asarray(x, dtype)
    out = np.zeros(x.shape, dtype)
    for i in range(nibbles):
        nz = ((x >> dtype(4 * i)) & dtype(0xF)) != 0
        out |= np.where(nz, dtype(0xF), dtype(0)) << dtype(4 * i)
    return out


def _bfe(a, spec, wide, signed):
    """s_bfe_*: offset spec[4:0] (spec[5:0] for 64-bit), width spec[22:16]; a width reaching the
    operand size takes every remaining bit."""
    size = 64 if wide else 32
    spec = _u(spec)
    off = (spec & np.uint32(size - 1)).astype(np.uint64)
    width = ((spec >> np.uint32(16)) & np.uint32(0x7F)).astype(np.int64)
    x = _q(a) if wide else _u(a).astype(np.uint64)
    if signed:
        xs = _iq(a) if wide else _i(a)
        shifted = (xs >> off.astype(np.int64)).view(np.uint64)
    else:
        shifted = x >> off
    full = width >= size
    mask = np.where(full, np.uint64(M64 if wide else M32),
                    (np.uint64(1) << np.minimum(width, 63).astype(np.uint64)) - np.uint64(1))
    v = shifted & mask
    if signed:
        w = np.clip(width, 1, size).astype(np.uint64)
        sign = ((v >> (w - np.uint64(1))) & np.uint64(1)) == 1
        ext = np.where(sign & ~full & (width > 0), ~mask, np.uint64(0))
        v = v | ext
    if not wide:
        v = v & np.uint64(M32)
        return v.astype(np.uint32)
    return v


# ----------------------------------------------------------------------------------------------
# op bodies

def _scc32(d):
    return d, _nz(d)


def _add_u32(a, b, scc=None):
    s = _u(a).astype(np.uint64) + _u(b)
    return s.astype(np.uint32), s > M32


def _sub_u32(a, b, scc=None):
    return _u(a) - _u(b), _u(b) > _u(a)


def _addc_u32(a, b, scc=None):
    s = _u(a).astype(np.uint64) + _u(b) + np.asarray(scc, bool)
    return s.astype(np.uint32), s > M32


def _subb_u32(a, b, scc=None):
    c = np.asarray(scc, bool).astype(np.uint32)
    return _u(a) - _u(b) - c, _u(b).astype(np.uint64) + c > _u(a)


def _add_i32(a, b, scc=None):
    d = _u(a) + _u(b)
    sa, sb, sd = _u(a) >> np.uint32(31), _u(b) >> np.uint32(31), d >> np.uint32(31)
    return d, (sa == sb) & (sa != sd)


def _sub_i32(a, b, scc=None):
    d = _u(a) - _u(b)
    sa, sb, sd = _u(a) >> np.uint32(31), _u(b) >> np.uint32(31), d >> np.uint32(31)
    return d, (sa != sb) & (sa != sd)


def _abs_i32(a, scc=None):
    d = _w32(np.abs(_i(a)))
    return d, _nz(d)


def _absdiff_i32(a, b, scc=None):
    diff = (_u(a) - _u(b)).view(np.int32).astype(np.int64)
    d = _w32(np.abs(diff))
    return d, _nz(d)


def _lshl_add(n):
    def fn(a, b, scc=None):
        s = (_u(a).astype(np.uint64) << np.uint64(n)) + _u(b)
        return (s & np.uint64(M32)).astype(np.uint32), s > M32
    return fn


def _minmax(conv, is_max):
    def fn(a, b, scc=None):
        x, y = conv(a), conv(b)
        c = x >= y if is_max else x < y
        return np.where(c, _u(a), _u(b)), c
    return fn


def _logic(op, wide, invert=False, not1=False):
    def fn(a, b, scc=None):
        x, y = (_q(a), _q(b)) if wide else (_u(a), _u(b))
        if not1:
            y = ~y
        d = op(x, y)
        if invert:
            d = ~d
        return d, _nz(d)
    return fn


def _shift(kind, wide):
    def fn(a, b, scc=None):
        n = _u(b) & np.uint32(63 if wide else 31)
        if wide:
            if kind == "ashr":
                d = (_iq(a) >> n.astype(np.int64)).view(np.uint64)
            else:
                d = (_q(a) << n.astype(np.uint64)) if kind == "lshl" else (_q(a) >> n.astype(np.uint64))
        else:
            if kind == "ashr":
                d = (_u(a).view(np.int32) >> n.astype(np.int32)).view(np.uint32)
            else:
                d = (_u(a) << n) if kind == "lshl" else (_u(a) >> n)
        return d, _nz(d)
    return fn


def _bfm(wide):
    def fn(a, b, scc=None):
        m = np.uint32(63 if wide else 31)
        w, o = (_u(a) & m).astype(np.uint64), (_u(b) & m).astype(np.uint64)
        v = ((np.uint64(1) << w) - np.uint64(1)) << o
        return (v if wide else (v & np.uint64(M32)).astype(np.uint32)), None
    return fn


def _cselect(wide):
    def fn(a, b, scc=None):
        x, y = (_q(a), _q(b)) if wide else (_u(a), _u(b))
        return np.where(np.asarray(scc, bool), x, y), None
    return fn


def _pack(sel0, sel1):
    def fn(a, b, scc=None):
        x = (_u(a) >> np.uint32(16)) if sel0 else (_u(a) & np.uint32(0xFFFF))
        y = (_u(b) >> np.uint32(16)) if sel1 else (_u(b) & np.uint32(0xFFFF))
        return x | (y << np.uint32(16)), None
    return fn


def _exec_op(op, wide, save=True):
    """saveexec: sdst = old EXEC; wrexec: sdst = new EXEC. SCC = new EXEC != 0."""
    def fn(exec_, s0):
        e, s = (_q(exec_), _q(s0)) if wide else (_u(exec_), _u(s0))
        new = op(s, e)
        return (e if save else new), new, _nz(new)
    return fn


def _d_only(f):
    """Wraps a VALU-style function (bits in, bits out) as an SALU op without SCC."""
    return lambda *srcs, scc=None: (f(*srcs), None)


def _cmp_i(pred, conv):
    return lambda a, b, scc=None: (None, np.asarray(pred(conv(a), conv(b)), bool))


# ----------------------------------------------------------------------------------------------
# registration

def _register():
    r = _reg
    one = ("s0",)
    # SOP1
    r("s_mov_b32", lambda a, scc=None: (np.array(_u(a), copy=True), None), 32, one)
    r("s_mov_b64", lambda a, scc=None: (np.array(_q(a), copy=True), None), 64, one, (64,))
    r("s_cmov_b32", lambda a, d, scc=None: (np.where(np.asarray(scc, bool), _u(a), _u(d)), None), 32,
      ("s0", "d0"), reads_scc=True)
    r("s_cmov_b64", lambda a, d, scc=None: (np.where(np.asarray(scc, bool), _q(a), _q(d)), None), 64,
      ("s0", "d0"), (64, 64), reads_scc=True)
    r("s_brev_b32", lambda a, scc=None: (valu.bitrev32(a), None), 32, one)
    r("s_brev_b64", lambda a, scc=None: (_join(valu.bitrev32(_hi(a)), valu.bitrev32(_lo(a))), None), 64, one, (64,))
    r("s_ctz_i32_b32", lambda a, scc=None: (_found(valu.ctz32(a), 32), None), 32, one)
    r("s_ctz_i32_b64", lambda a, scc=None: (_found(ctz64(a), 64), None), 32, one, (64,))
    r("s_clz_i32_u32", lambda a, scc=None: (_found(valu.clz32(a), 32), None), 32, one)
    r("s_clz_i32_u64", lambda a, scc=None: (_found(clz64(a), 64), None), 32, one, (64,))
    r("s_cls_i32", lambda a, scc=None: (_found(valu.clz32(np.where(_u(a) >> np.uint32(31) == 1, ~_u(a), _u(a))), 32),
                                        None), 32, one)
    r("s_cls_i32_i64", lambda a, scc=None: (_found(clz64(np.where(_q(a) >> np.uint64(63) == 1, ~_q(a), _q(a))), 64),
                                            None), 32, one, (64,))
    r("s_sext_i32_i8", lambda a, scc=None: (_w32(_u(a).astype(np.uint8).view(np.int8)), None), 32, one, (16,))
    r("s_sext_i32_i16", lambda a, scc=None: (_w32(_u(a).astype(np.uint16).view(np.int16)), None), 32, one, (16,))
    r("s_bitset0_b32", lambda a, d, scc=None: (_u(d) & ~(np.uint32(1) << (_u(a) & np.uint32(31))), None), 32,
      ("s0", "d0"))
    r("s_bitset1_b32", lambda a, d, scc=None: (_u(d) | (np.uint32(1) << (_u(a) & np.uint32(31))), None), 32,
      ("s0", "d0"))
    r("s_bitset0_b64", lambda a, d, scc=None: (_q(d) & ~(np.uint64(1) << (_u(a) & np.uint32(63)).astype(np.uint64)),
                                               None), 64, ("s0", "d0"), (32, 64))
    r("s_bitset1_b64", lambda a, d, scc=None: (_q(d) | (np.uint64(1) << (_u(a) & np.uint32(63)).astype(np.uint64)),
                                               None), 64, ("s0", "d0"), (32, 64))
    r("s_bitreplicate_b64_b32", lambda a, scc=None: (_bitreplicate(a), None), 64, one)
    r("s_abs_i32", _abs_i32, 32, one, writes_scc=True)
    r("s_bcnt0_i32_b32", lambda a, scc=None: _scc32((32 - valu.popcount32(a).astype(np.int64)).astype(np.uint32)),
      32, one, writes_scc=True)
    r("s_bcnt1_i32_b32", lambda a, scc=None: _scc32(valu.popcount32(a).astype(np.uint32)), 32, one, writes_scc=True)
    r("s_bcnt0_i32_b64", lambda a, scc=None: _scc32((64 - np.bitwise_count(_q(a)).astype(np.int64)).astype(np.uint32)),
      32, one, (64,), writes_scc=True)
    r("s_bcnt1_i32_b64", lambda a, scc=None: _scc32(np.bitwise_count(_q(a)).astype(np.uint32)), 32, one, (64,),
      writes_scc=True)
    r("s_quadmask_b32", lambda a, scc=None: _scc32(_quadmask(a, 8, np.uint32)), 32, one, writes_scc=True)
    r("s_quadmask_b64", lambda a, scc=None: _scc32(_quadmask(a, 16, np.uint64)), 64, one, (64,), writes_scc=True)
    r("s_wqm_b32", lambda a, scc=None: _scc32(_wqm(a, 8, np.uint32)), 32, one, writes_scc=True)
    r("s_wqm_b64", lambda a, scc=None: _scc32(_wqm(a, 16, np.uint64)), 64, one, (64,), writes_scc=True)
    r("s_not_b32", lambda a, scc=None: _scc32(~_u(a)), 32, one, writes_scc=True)
    r("s_not_b64", lambda a, scc=None: _scc32(~_q(a)), 64, one, (64,), writes_scc=True)
    exec_ops = {
        "and": lambda s, e: s & e, "or": lambda s, e: s | e, "xor": lambda s, e: s ^ e,
        "nand": lambda s, e: ~(s & e), "nor": lambda s, e: ~(s | e), "xnor": lambda s, e: ~(s ^ e),
        "and_not0": lambda s, e: ~s & e, "or_not0": lambda s, e: ~s | e,
        "and_not1": lambda s, e: s & ~e, "or_not1": lambda s, e: s | ~e,
    }
    for w in (32, 64):
        for k, f in exec_ops.items():
            r(f"s_{k}_saveexec_b{w}", _exec_op(f, w == 64), w, ("exec", "s0"), (w, w), writes_scc=True, exec_op=True)
        for k in ("and_not0", "and_not1"):
            r(f"s_{k}_wrexec_b{w}", _exec_op(exec_ops[k], w == 64, save=False), w, ("exec", "s0"), (w, w),
              writes_scc=True, exec_op=True)
    # SOP1 float
    for t, fmt, w in (("f32", F32, 32), ("f16", F16, 16)):
        for k, mk in (("ceil", valu._ceil), ("floor", valu._floor), ("trunc", valu._trunc), ("rndne", valu._rndne)):
            r(f"s_{k}_{t}", _d_only(mk(fmt)), 32, one, (w,))
    r("s_cvt_f32_i32", _d_only(valu.VALU["v_cvt_f32_i32"].fn), 32, one)
    r("s_cvt_f32_u32", _d_only(valu.VALU["v_cvt_f32_u32"].fn), 32, one)
    r("s_cvt_i32_f32", _d_only(valu.VALU["v_cvt_i32_f32"].fn), 32, one)
    r("s_cvt_u32_f32", _d_only(valu.VALU["v_cvt_u32_f32"].fn), 32, one)
    r("s_cvt_f16_f32", _d_only(valu.VALU["v_cvt_f16_f32"].fn), 32, one)
    r("s_cvt_f32_f16", _d_only(valu.VALU["v_cvt_f32_f16"].fn), 32, one, (16,))
    r("s_cvt_hi_f32_f16", _d_only(lambda a: fp.widen_bits(_u(a) >> np.uint32(16), F16, F32)), 32, one)
    # SOP2
    r("s_add_u32", _add_u32, writes_scc=True)
    r("s_sub_u32", _sub_u32, writes_scc=True)
    r("s_add_i32", _add_i32, writes_scc=True)
    r("s_sub_i32", _sub_i32, writes_scc=True)
    r("s_addc_u32", _addc_u32, reads_scc=True, writes_scc=True)
    r("s_subb_u32", _subb_u32, reads_scc=True, writes_scc=True)
    r("s_absdiff_i32", _absdiff_i32, writes_scc=True)
    for n in (1, 2, 3, 4):
        r(f"s_lshl{n}_add_u32", _lshl_add(n), writes_scc=True)
    r("s_min_i32", _minmax(_i, False), writes_scc=True)
    r("s_min_u32", _minmax(_u, False), writes_scc=True)
    r("s_max_i32", _minmax(_i, True), writes_scc=True)
    r("s_max_u32", _minmax(_u, True), writes_scc=True)
    logic = {"and": (np.bitwise_and, False, False), "or": (np.bitwise_or, False, False),
             "xor": (np.bitwise_xor, False, False), "nand": (np.bitwise_and, True, False),
             "nor": (np.bitwise_or, True, False), "xnor": (np.bitwise_xor, True, False),
             "and_not1": (np.bitwise_and, False, True), "or_not1": (np.bitwise_or, False, True)}
    for k, (f, inv, n1) in logic.items():
        r(f"s_{k}_b32", _logic(f, False, inv, n1), writes_scc=True)
        r(f"s_{k}_b64", _logic(f, True, inv, n1), 64, bits=(64, 64), writes_scc=True)
    for k in ("lshl", "lshr", "ashr"):
        sfx = "i" if k == "ashr" else "b"
        r(f"s_{k}_{sfx}32", _shift(k, False), writes_scc=True)
        r(f"s_{k}_{sfx}64", _shift(k, True), 64, bits=(64, 32), writes_scc=True)
    r("s_bfe_u32", lambda a, b, scc=None: _scc32(_bfe(a, b, False, False)), writes_scc=True)
    r("s_bfe_i32", lambda a, b, scc=None: _scc32(_bfe(a, b, False, True)), writes_scc=True)
    r("s_bfe_u64", lambda a, b, scc=None: _scc32(_bfe(a, b, True, False)), 64, bits=(64, 32), writes_scc=True)
    r("s_bfe_i64", lambda a, b, scc=None: _scc32(_bfe(a, b, True, True)), 64, bits=(64, 32), writes_scc=True)
    r("s_bfm_b32", _bfm(False))
    r("s_bfm_b64", _bfm(True), 64)
    r("s_mul_i32", _d_only(valu.VALU["v_mul_lo_u32"].fn))
    r("s_mul_hi_u32", _d_only(valu.VALU["v_mul_hi_u32"].fn))
    r("s_mul_hi_i32", _d_only(valu.VALU["v_mul_hi_i32"].fn))
    r("s_cselect_b32", _cselect(False), reads_scc=True)
    r("s_cselect_b64", _cselect(True), 64, bits=(64, 64), reads_scc=True)
    r("s_pack_ll_b32_b16", _pack(False, False), bits=(16, 16))
    r("s_pack_lh_b32_b16", _pack(False, True), bits=(16, 32))
    r("s_pack_hh_b32_b16", _pack(True, True))
    r("s_pack_hl_b32_b16", _pack(True, False), bits=(32, 16))
    # SOP2 float
    for t, fmt, w in (("f32", F32, 32), ("f16", F16, 16)):
        r(f"s_add_{t}", _d_only(valu._fbin("add", fmt)), bits=(w, w))
        r(f"s_sub_{t}", _d_only(valu._fbin("sub", fmt)), bits=(w, w))
        r(f"s_mul_{t}", _d_only(valu._fbin("mul", fmt)), bits=(w, w))
        r(f"s_min_{t}", _d_only(valu._fmin(fmt)), bits=(w, w))
        r(f"s_max_{t}", _d_only(valu._fmax(fmt)), bits=(w, w))
        r(f"s_fmac_{t}", _d_only(valu._fma(fmt)), names=("s0", "s1", "d0"), bits=(w, w, w))
    r("s_fmaak_f32", _d_only(valu._fma(F32)), names=("s0", "s1", "simm32"))
    r("s_fmamk_f32", _d_only(valu._fmamk(F32)), names=("s0", "s1", "simm32"))
    r("s_cvt_pk_rtz_f16_f32", _d_only(valu._cvt_pk_rtz_f16_f32))
    # SOPK
    k2 = ("d0", "simm16")
    r("s_movk_i32", lambda k, scc=None: (_w32(_simm(k)), None), 32, ("simm16",))
    r("s_cmovk_i32", lambda d, k, scc=None: (np.where(np.asarray(scc, bool), _w32(_simm(k)), _u(d)), None), 32, k2,
      reads_scc=True)
    r("s_addk_i32", _addk, 32, k2, writes_scc=True)
    r("s_mulk_i32", lambda d, k, scc=None: (_w32(_i(d) * _simm(k)), None), 32, k2)
    preds = {"eq": np.equal, "lg": np.not_equal, "gt": np.greater, "ge": np.greater_equal,
             "lt": np.less, "le": np.less_equal}
    for k, p in preds.items():
        SALU[f"s_cmpk_{k}_i32"] = SaluOp(lambda d, kk, scc=None, p=p: (None, np.asarray(p(_i(d), _simm(kk)), bool)),
                                         0, (32, 16), k2, writes_scc=True)
        SALU[f"s_cmpk_{k}_u32"] = SaluOp(
            lambda d, kk, scc=None, p=p: (None, np.asarray(p(_u(d), _u(kk) & np.uint32(0xFFFF)), bool)),
            0, (32, 16), k2, writes_scc=True)
    # SOPC
    for k, p in preds.items():
        r(f"s_cmp_{k}_i32", _cmp_i(p, _i), 0, writes_scc=True)
        r(f"s_cmp_{k}_u32", _cmp_i(p, _u), 0, writes_scc=True)
    r("s_cmp_eq_u64", _cmp_i(np.equal, _q), 0, bits=(64, 64), writes_scc=True)
    r("s_cmp_lg_u64", _cmp_i(np.not_equal, _q), 0, bits=(64, 64), writes_scc=True)
    r("s_bitcmp0_b32", lambda a, b, scc=None: (None, ((_u(a) >> (_u(b) & np.uint32(31))) & np.uint32(1)) == 0), 0,
      writes_scc=True)
    r("s_bitcmp1_b32", lambda a, b, scc=None: (None, ((_u(a) >> (_u(b) & np.uint32(31))) & np.uint32(1)) == 1), 0,
      writes_scc=True)
    r("s_bitcmp0_b64", lambda a, b, scc=None: (None, ((_q(a) >> (_u(b) & np.uint32(63)).astype(np.uint64))
                                                      & np.uint64(1)) == 0), 0, bits=(64, 32), writes_scc=True)
    r("s_bitcmp1_b64", lambda a, b, scc=None: (None, ((_q(a) >> (_u(b) & np.uint32(63)).astype(np.uint64))
                                                      & np.uint64(1)) == 1), 0, bits=(64, 32), writes_scc=True)
    for t, fmt, w in (("f32", F32, 32), ("f16", F16, 16)):
        for cond in valu._FCMP:
            if cond in ("f", "t"):
                continue
            f = valu._fcmp(cond, fmt)
            r(f"s_cmp_{cond}_{t}", lambda a, b, scc=None, f=f: (None, f(a, b)), 0, bits=(w, w), writes_scc=True)


def _addk(d, k, scc=None):
    kk = _simm(k)
    res = _w32(_i(d) + kk)
    sd, sk, sr = _u(d) >> np.uint32(31), (kk < 0), res >> np.uint32(31)
    return res, (sd.astype(bool) == sk) & (sd != sr)


_register()
