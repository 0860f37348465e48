"""Elementwise VALU semantics of gfx11, vectorized over lanes.

`VALU` maps LLVM's mnemonic (no encoding suffix: 'v_add_f32' serves VOP2, VOP3 and DPP forms) to a
ValuOp. The core reads operands, applies DPP swizzles and the input modifiers (abs/neg per operand
float width, op_sel half selection, VOP3P op_sel/op_sel_hi/neg_lo/neg_hi), calls `fn`, applies
clamp/omod to float results where `core_output_mods` says so, and writes the destination.

Calling convention: `fn(*srcs, clamp=False)`; each source is a numpy array of raw bits (the
sources broadcast to the result's shape: constants and SGPRs may come as [1, 1] / [n, 1]), np.uint32
for operands of up to 32 bits (a 16-bit operand in the low half; the high half is ignored),
np.uint64 for 64-bit operands, np.bool_ for the per-lane mask sources listed in `mask_srcs`, and a
[..., 4] np.uint32 array for the one 128-bit operand (v_mqsad_u32_u8). `src_names` says where each
source comes from: 's0', 's1', 's2' are the encoded sources; 'd0' is the current value of the
destination register (fmac, dot2acc, fma_mixlo/hi, which keep or accumulate it); 'simm32' is the
literal constant of fmaak/fmamk; 'vcc' is VCC in VOP2/VOPD form and the SGPR mask operand (src2)
in VOP3 form. The result is an array of the broadcast shape: np.uint32 (a 16-bit result in the low
half, zero above), np.uint64, [..., 4] np.uint32 for dst 'u128', or np.bool_ for dst 'mask'
(compares, one bit per lane for VCC, an SGPR pair or, with `writes_exec`, EXEC). Ops with
`carry_out` return (D0, carry) with carry a bool array (VCC or the SDST of VOP3SD).

Ops with `raw_mods` (VOP3P v_dot*, v_fma_mix*, and the VOP3 v_dot2_f16_f16/v_dot2_bf16_bf16) get
the modifier fields as encoded in the extra keyword arguments `opsel`, `opsel_hi`, `neg`, `neg_hi`
(for VOP3 encodings `neg_hi` is the abs field) and the core must not apply them; a 16-bit result
of such an op is still placed by the core per op_sel[3].

Integer ops take `clamp` as saturation of the result (add, sub, mad, sad and dot families); it has
no effect on integer ops without a saturating form. Float results follow fp's rules: round to
nearest even, denormals kept, NaN propagation, fused FMA. Transcendentals (exp, log, rcp, rsq,
sqrt, sin, cos) return the exact function rounded once to the destination format (for f16/f32 the
function is evaluated in f64 first, so a result is off only when the true value lies within
2**-29 ulp of a rounding boundary; v_rsq_f64 is rounded twice and within 1 ulp); the hardware is
accurate to about 1 ulp, so an emulated result may differ from silicon in the last bit. v_sin/v_cos
take their argument in turns (x * 2*pi radians) and reduce it exactly, where the hardware is only
specified on a bounded input range. The wave is assumed to run with IEEE mode on (the compute
kernel default), which decides min/max NaN handling.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

from isa.emu import fp
from isa.emu.fp import F16, F32, F64

M16 = np.uint32(0xFFFF)
M32 = 0xFFFFFFFF


@dataclass(frozen=True)
class ValuOp:
    fn: Callable
    src_bits: tuple[int, ...]          # register width per source (16/32/64/128; 1 for a mask source)
    src_names: tuple[str, ...]         # 's0', 's1', 's2', 'd0', 'simm32', 'vcc'
    dst: str = "u32"                   # 'u32' | 'u64' | 'u128' | 'mask'
    dst_bits: int = 32                 # 16 for a 16-bit result (low half), 1 for a mask
    carry_out: bool = False
    mask_srcs: tuple[int, ...] = ()
    float_type: str | None = None      # float type of the result
    core_output_mods: bool = False     # core applies clamp/omod to the float result
    dst_half16: bool = False           # 16-bit result that op_sel[3] may place in the high half
    raw_mods: bool = False
    writes_exec: bool = False          # v_cmpx_*: the mask goes to EXEC


VALU: dict[str, ValuOp] = {}

# VOPD halves -> the VALU op with the same semantics.
VOPD_ALIASES = {
    "v_dual_fmac_f32": "v_fmac_f32", "v_dual_fmaak_f32": "v_fmaak_f32", "v_dual_fmamk_f32": "v_fmamk_f32",
    "v_dual_mul_f32": "v_mul_f32", "v_dual_add_f32": "v_add_f32", "v_dual_sub_f32": "v_sub_f32",
    "v_dual_subrev_f32": "v_subrev_f32", "v_dual_mul_dx9_zero_f32": "v_mul_dx9_zero_f32",
    "v_dual_mov_b32": "v_mov_b32", "v_dual_cndmask_b32": "v_cndmask_b32", "v_dual_max_f32": "v_max_f32",
    "v_dual_min_f32": "v_min_f32", "v_dual_dot2acc_f32_f16": "v_dot2acc_f32_f16",
    "v_dual_dot2acc_f32_bf16": "v_dot2acc_f32_bf16", "v_dual_add_nc_u32": "v_add_nc_u32",
    "v_dual_lshlrev_b32": "v_lshlrev_b32", "v_dual_and_b32": "v_and_b32",
}

# Ops registered here that have no non-VOPD encoding of their own in the table.
EXTRA_OPS = frozenset({"v_dot2acc_f32_bf16"})

_FT = {"f16": F16, "f32": F32, "f64": F64}
_WIDTH = {F16: 16, F32: 32, F64: 64}


def _reg(name, fn, names=("s0", "s1"), bits=None, **kw):
    if bits is None:
        bits = tuple(1 if n == "vcc" else 32 for n in names)
    if "vcc" in names and "mask_srcs" not in kw:
        kw["mask_srcs"] = tuple(i for i, n in enumerate(names) if n == "vcc")
    ft = kw.get("float_type")
    if ft is not None and "core_output_mods" not in kw and kw.get("dst") != "mask":
        kw["core_output_mods"] = True
    if kw.get("dst_bits") == 16 and "dst_half16" not in kw:
        kw["dst_half16"] = True
    if kw.get("dst") == "u64" and "dst_bits" not in kw:
        kw["dst_bits"] = 64
    VALU[name] = ValuOp(fn, tuple(bits), tuple(names), **kw)


def _shape(*xs):
    return np.broadcast_shapes(*(np.shape(x) for x in xs))


# ----------------------------------------------------------------------------------------------
# integer views

def _u(x):
    return np.asarray(x, np.uint32)


def _u16(x):
    return _u(x) & M16


def _s16(x):
    return (_u(x) & M16).astype(np.uint16).view(np.int16).astype(np.int64)


def _s32(x):
    return _u(x).view(np.int32).astype(np.int64)


def _w32(v):
    """int64 -> uint32 (two's complement wrap)."""
    return (np.asarray(v, np.int64) & M32).astype(np.uint32)


def _w16(v):
    return (np.asarray(v, np.int64) & 0xFFFF).astype(np.uint32)


def _s24(x):
    v = (_u(x) & np.uint32(0xFFFFFF)).astype(np.int64)
    return v - ((v & 0x800000) << 1)


def _u64(x):
    return np.asarray(x, np.uint64)


def _sat(v, lo, hi, clamp):
    return np.clip(v, lo, hi) if clamp else v


# ----------------------------------------------------------------------------------------------
# float arithmetic

def _fbin(op, fmt, rev=False):
    if rev:
        return lambda a, b, clamp=False: fp.binop(op, b, a, fmt)
    return lambda a, b, clamp=False: fp.binop(op, a, b, fmt)


def _fcmp_vals(a, b, fmt):
    if fmt is F16:
        return fp.f16(a).astype(np.float32), fp.f16(b).astype(np.float32)
    return fp.view(a, fmt), fp.view(b, fmt)


def _mask_in(x, fmt):
    x = np.asarray(x, fmt.utype)
    return x & M16 if fmt is F16 else x


def fminmax(a, b, fmt, is_max):
    """v_min_*/v_max_* in IEEE mode: an sNaN operand gives that NaN quieted (S0 first), a qNaN
    operand gives the other operand, and -0 < +0."""
    a, b = _mask_in(a, fmt), _mask_in(b, fmt)
    x, y = _fcmp_vals(a, b, fmt)
    sa, sb = fp.sign_bit(a, fmt), fp.sign_bit(b, fmt)
    both_zero = fp.is_zero(a, fmt) & fp.is_zero(b, fmt)
    if is_max:
        pick_a = (x > y) | (both_zero & ~sa & sb)
    else:
        pick_a = (x < y) | (both_zero & sa & ~sb)
    na, nb = fp.is_nan(a, fmt), fp.is_nan(b, fmt)
    snan_a, snan_b = fp.is_snan(a, fmt), fp.is_snan(b, fmt)
    out = np.where(pick_a, a, b)
    out = np.where(na, b, out)
    out = np.where(nb, a, out)
    out = np.where(snan_b, b | fmt.quiet_bit, out)
    out = np.where(snan_a, a | fmt.quiet_bit, out)
    return out


def _fmin(fmt):
    return lambda a, b, clamp=False: fminmax(a, b, fmt, False)


def _fmax(fmt):
    return lambda a, b, clamp=False: fminmax(a, b, fmt, True)


def _fmin3(fmt):
    return lambda a, b, c, clamp=False: fminmax(fminmax(a, b, fmt, False), c, fmt, False)


def _fmax3(fmt):
    return lambda a, b, c, clamp=False: fminmax(fminmax(a, b, fmt, True), c, fmt, True)


def _fmaxmin(fmt):   # min(max(a, b), c)
    return lambda a, b, c, clamp=False: fminmax(fminmax(a, b, fmt, True), c, fmt, False)


def _fminmax(fmt):   # max(min(a, b), c)
    return lambda a, b, c, clamp=False: fminmax(fminmax(a, b, fmt, False), c, fmt, True)


def fmed3(a, b, c, fmt):
    a, b, c = _mask_in(a, fmt), _mask_in(b, fmt), _mask_in(c, fmt)
    anynan = fp.is_nan(a, fmt) | fp.is_nan(b, fmt) | fp.is_nan(c, fmt)
    mx = fminmax(fminmax(a, b, fmt, True), c, fmt, True)
    vm = _fcmp_vals(mx, a, fmt)
    eq_a = vm[0] == vm[1]
    vm = _fcmp_vals(mx, b, fmt)
    eq_b = vm[0] == vm[1]
    out = np.where(eq_a, fminmax(b, c, fmt, True),
                   np.where(eq_b, fminmax(a, c, fmt, True), fminmax(a, b, fmt, True)))
    return np.where(anynan, fminmax(fminmax(a, b, fmt, False), c, fmt, False), out)


def _fma(fmt):
    fused = fp.fma64 if fmt is F64 else fp.fma_fast(fmt)
    return lambda a, b, c, clamp=False: fused(a, b, c)


def _fmamk(fmt):     # D = S0 * K + S1
    fused = fp.fma64 if fmt is F64 else fp.fma_fast(fmt)
    return lambda a, b, k, clamp=False: fused(a, k, b)


def _ldexp(fmt, exp16=False):
    def fn(a, n, clamp=False):
        e = _s16(n) if exp16 else _s32(n)
        return fp.ldexp(a, e, fmt)
    return fn


# ----------------------------------------------------------------------------------------------
# float unary ops

def _round_fn(np_fn):
    def make(fmt):
        def fn(a, clamp=False):
            a = _mask_in(a, fmt)
            with np.errstate(invalid="ignore"):
                if fmt is F64:
                    out = fp.bits64(np_fn(fp.f64(a)))
                else:
                    out = fp.f64_to_bits(np_fn(fp.wide(a, fmt)), fmt)    # integers: exact
            return fp.fix_nan(out, [a], fmt)
        return fn
    return make


_trunc, _ceil, _floor, _rndne = (_round_fn(f) for f in (np.trunc, np.ceil, np.floor, np.rint))

_ALMOST_ONE = {F16: fp.F16_ALMOST_ONE, F32: fp.F32_ALMOST_ONE, F64: fp.F64_ALMOST_ONE}


def _fract(fmt):
    """x - floor(x) rounded in fmt, limited to the largest value below 1.0; inf gives NaN."""
    floor = _floor(fmt)

    def fn(a, clamp=False):
        a = _mask_in(a, fmt)
        r = fp.binop("sub", a, floor(a), fmt)
        one = fmt.utype(_ALMOST_ONE[fmt])
        r = np.where(~fp.is_nan(r, fmt) & ~fp.sign_bit(r, fmt) & (r > one), one, r)
        return np.where(fp.is_inf(a, fmt), fmt.default_nan, r).astype(fmt.utype)
    return fn


def _unary(np_fn):
    def make(fmt):
        return lambda a, clamp=False: fp.unary(np_fn, _mask_in(a, fmt), fmt)
    return make


def _rcp64(x):
    return 1.0 / x


def _rsq64(x):
    return 1.0 / np.sqrt(x)


_sqrt, _rcp, _rsq, _exp, _log = (_unary(f) for f in (np.sqrt, _rcp64, _rsq64, np.exp2, np.log2))


def _trig(cos):
    def make(fmt):
        def fn(a, clamp=False):
            a = _mask_in(a, fmt)
            r = fp.sin_cos_turns(fp.wide(a, fmt), cos)
            return fp.fix_nan(fp.f64_to_bits(r, fmt), [a], fmt)
        return fn
    return make


def _frexp_mant(fmt):
    def fn(a, clamp=False):
        a = _mask_in(a, fmt)
        m, _ = np.frexp(fp.wide(a, fmt))
        out = fp.f64_to_bits(m, fmt)           # exact
        special = fp.is_nan(a, fmt) | fp.is_inf(a, fmt)
        return np.where(special, a, out).astype(fmt.utype)
    return fn


def _frexp_exp(fmt):
    def fn(a, clamp=False):
        a = _mask_in(a, fmt)
        with np.errstate(invalid="ignore"):
            _, e = np.frexp(fp.wide(a, fmt))
        e = np.where(fp.is_nan(a, fmt) | fp.is_inf(a, fmt), 0, e)
        return _w16(e) if fmt is F16 else _w32(e)
    return fn


# ----------------------------------------------------------------------------------------------
# compares

_FCMP = {
    "f": None, "t": None,
    "lt": lambda x, y: x < y, "eq": lambda x, y: x == y, "le": lambda x, y: x <= y,
    "gt": lambda x, y: x > y, "lg": lambda x, y: (x < y) | (x > y), "ge": lambda x, y: x >= y,
    "o": lambda x, y: ~(np.isnan(x) | np.isnan(y)), "u": lambda x, y: np.isnan(x) | np.isnan(y),
    "nge": lambda x, y: ~(x >= y), "nlg": lambda x, y: ~((x < y) | (x > y)),
    "ngt": lambda x, y: ~(x > y), "nle": lambda x, y: ~(x <= y), "neq": lambda x, y: ~(x == y),
    "nlt": lambda x, y: ~(x < y),
}
_ICMP = {"f": None, "t": None, "lt": np.less, "eq": np.equal, "le": np.less_equal,
         "gt": np.greater, "ne": np.not_equal, "ge": np.greater_equal}


def _const_mask(value):
    return lambda a, b, clamp=False: np.full(_shape(a, b), value, dtype=bool)


def _fcmp(cond, fmt):
    pred = _FCMP[cond]
    if pred is None:
        return _const_mask(cond == "t")

    def fn(a, b, clamp=False):
        x, y = _fcmp_vals(_mask_in(a, fmt), _mask_in(b, fmt), fmt)
        return np.asarray(pred(x, y), dtype=bool)
    return fn


def _int_view(kind):
    """Integer operands as numpy integers of their width, for comparisons (no widening pass)."""
    return {"i16": lambda x: (_u(x) & M16).astype(np.uint16).view(np.int16), "u16": _u16,
            "i32": lambda x: _u(x).view(np.int32), "u32": _u,
            "i64": lambda x: _u64(x).view(np.int64), "u64": _u64}[kind]


def _icmp(cond, kind):
    pred = _ICMP[cond]
    if pred is None:
        return _const_mask(cond == "t")
    conv = _int_view(kind)
    return lambda a, b, clamp=False: np.asarray(pred(conv(a), conv(b)), dtype=bool)


def fclass(a, mask, fmt):
    """v_cmp_class: bit of `mask` for a's class (sNaN, qNaN, -inf, -normal, -denorm, -0, +0,
    +denorm, +normal, +inf)."""
    a = _mask_in(a, fmt)
    neg = fp.sign_bit(a, fmt)
    expo = fp.exponent(a, fmt)
    top = (1 << fmt.exp_bits) - 1
    cls = np.select(
        [fp.is_snan(a, fmt), fp.is_nan(a, fmt), expo == top, expo > 0, ~fp.is_zero(a, fmt)],
        [0, 1, np.where(neg, 2, 9), np.where(neg, 3, 8), np.where(neg, 4, 7)],
        np.where(neg, 5, 6))
    return ((_u(mask).astype(np.int64) >> cls) & 1).astype(bool)


def _fclass(fmt):
    return lambda a, b, clamp=False: fclass(a, b, fmt)


# ----------------------------------------------------------------------------------------------
# conversions

def _cvt_float_to_int(src, lo, hi, out16=False):
    def fn(a, clamp=False):
        v = fp.to_int(fp.wide(_mask_in(a, src), src), lo, hi)
        return _w16(v) if out16 else _w32(v)
    return fn


def _cvt_int_to_float(conv, dst):
    def fn(a, clamp=False):
        x = conv(a).astype(np.float64)          # exact for 32-bit integers
        return fp.f64_to_bits(x, dst)
    return fn


def _cvt_nearest_i32_f32(a, clamp=False):
    with np.errstate(invalid="ignore"):
        x = np.floor(fp.wide(a, F32) + 0.5)     # exact in f64
    return _w32(fp.to_int(x, -2**31, 2**31 - 1))


def _cvt_floor_i32_f32(a, clamp=False):
    with np.errstate(invalid="ignore"):
        x = np.floor(fp.wide(a, F32))
    return _w32(fp.to_int(x, -2**31, 2**31 - 1))


_CVT_OFF = np.array([fp.f64_to_f32(np.float64(v / 16.0)) for v in list(range(8)) + list(range(-8, 0))],
                    dtype=np.uint32)


def _cvt_off_f32_i4(a, clamp=False):
    return _CVT_OFF[_u(a) & np.uint32(0xF)]


def _ubyte(n):
    def fn(a, clamp=False):
        return fp.f64_to_f32(((_u(a) >> np.uint32(8 * n)) & np.uint32(0xFF)).astype(np.float64))
    return fn


def _norm(x, signed):
    """f16/f32 value -> snorm/unorm 16: clamp to [-1, 1] or [0, 1], scale by 32767 or 65535,
    round to nearest even; NaN -> 0."""
    x = np.asarray(x, np.float64)
    with np.errstate(invalid="ignore"):
        if signed:
            v = np.clip(x, -1.0, 1.0) * 32767.0
        else:
            v = np.clip(x, 0.0, 1.0) * 65535.0
    return fp.to_int_rne(v, -32768, 65535)


def _cvt_norm(src, signed):
    return lambda a, clamp=False: _w16(_norm(fp.wide(_mask_in(a, src), src), signed))


def _cvt_pk_norm(src, signed):
    def fn(a, b, clamp=False):
        lo = _norm(fp.wide(_mask_in(a, src), src), signed)
        hi = _norm(fp.wide(_mask_in(b, src), src), signed)
        return _w16(lo) | (_w16(hi) << np.uint32(16))
    return fn


def _pack16(lo, hi):
    return (_u(lo) & M16) | ((_u(hi) & M16) << np.uint32(16))


def _cvt_pk_f32_int(lo, hi):
    def fn(a, b, clamp=False):
        x = fp.to_int(fp.wide(a, F32), lo, hi)
        y = fp.to_int(fp.wide(b, F32), lo, hi)
        return _pack16(_w16(x), _w16(y))
    return fn


def _cvt_pk_u16_u32(a, b, clamp=False):
    return _pack16(np.minimum(_u(a), np.uint32(0xFFFF)), np.minimum(_u(b), np.uint32(0xFFFF)))


def _cvt_pk_i16_i32(a, b, clamp=False):
    return _pack16(_w16(np.clip(_s32(a), -32768, 32767)), _w16(np.clip(_s32(b), -32768, 32767)))


def _cvt_pk_rtz_f16_f32(a, b, clamp=False):
    return _pack16(fp.f32_to_f16(a, "rtz"), fp.f32_to_f16(b, "rtz"))


def _cvt_pk_u8_f32(a, sel, d, clamp=False):
    """Byte sel[1:0] of d replaced by a converted to u8 (round to nearest even, saturated, NaN 0)."""
    v = fp.to_int_rne(fp.wide(a, F32), 0, 255).astype(np.uint32)
    sh = (_u(sel) & np.uint32(3)) * np.uint32(8)
    return (_u(d) & ~(np.uint32(0xFF) << sh)) | (v << sh)


def _sat_pk_u8_i16(a, clamp=False):
    lo = np.clip(_s16(a), 0, 255)
    hi = np.clip(_s16(_u(a) >> np.uint32(16)), 0, 255)
    return (lo | (hi << 8)).astype(np.uint32)


def _cvt_f16_f32(a, clamp=False):
    return fp.f32_to_f16(a)


def _widen(src, dst):
    return lambda a, clamp=False: fp.widen_bits(_mask_in(a, src), src, dst)


def _cvt_f32_f64(a, clamp=False):
    return fp.f64_to_f32(fp.f64(a))


# ----------------------------------------------------------------------------------------------
# integer arithmetic

def _add_u32(a, b, clamp=False):
    if clamp:
        return np.minimum(_u(a).astype(np.uint64) + _u(b), M32).astype(np.uint32)
    return _u(a) + _u(b)


def _sub_u32(a, b, clamp=False):
    if clamp:
        return np.where(_u(b) > _u(a), np.uint32(0), _u(a) - _u(b))
    return _u(a) - _u(b)


def _add_i32(a, b, clamp=False):
    return _w32(_sat(_s32(a) + _s32(b), -2**31, 2**31 - 1, clamp))


def _sub_i32(a, b, clamp=False):
    return _w32(_sat(_s32(a) - _s32(b), -2**31, 2**31 - 1, clamp))


def _add3_u32(a, b, c, clamp=False):
    s = _u(a).astype(np.int64) + _u(b) + _u(c)
    return _w32(_sat(s, 0, M32, clamp))


def _add_u16(a, b, clamp=False):
    return _w16(_sat(_u16(a).astype(np.int64) + _u16(b), 0, 0xFFFF, clamp))


def _sub_u16(a, b, clamp=False):
    return _w16(_sat(_u16(a).astype(np.int64) - _u16(b), 0, 0xFFFF, clamp))


def _add_i16(a, b, clamp=False):
    return _w16(_sat(_s16(a) + _s16(b), -32768, 32767, clamp))


def _sub_i16(a, b, clamp=False):
    return _w16(_sat(_s16(a) - _s16(b), -32768, 32767, clamp))


def _mul_lo_u16(a, b, clamp=False):
    return _w16(_u16(a).astype(np.int64) * _u16(b))


def _mad_u16(a, b, c, clamp=False):
    return _w16(_sat(_u16(a).astype(np.int64) * _u16(b) + _u16(c), 0, 0xFFFF, clamp))


def _mad_i16(a, b, c, clamp=False):
    return _w16(_sat(_s16(a) * _s16(b) + _s16(c), -32768, 32767, clamp))


def _mad_u32_u16(a, b, c, clamp=False):
    return _w32(_sat(_u16(a).astype(np.int64) * _u16(b) + _u(c), 0, M32, clamp))


def _mad_i32_i16(a, b, c, clamp=False):
    return _w32(_sat(_s16(a) * _s16(b) + _s32(c), -2**31, 2**31 - 1, clamp))


def _mul_lo_u32(a, b, clamp=False):
    return (_u(a).astype(np.uint64) * _u(b)).astype(np.uint32)


def _mul_hi_u32(a, b, clamp=False):
    return ((_u(a).astype(np.uint64) * _u(b)) >> np.uint64(32)).astype(np.uint32)


def _mul_hi_i32(a, b, clamp=False):
    return _w32((_s32(a) * _s32(b)) >> 32)


def _mul_i32_i24(a, b, clamp=False):
    return _w32(_s24(a) * _s24(b))


def _mul_hi_i32_i24(a, b, clamp=False):
    return _w32((_s24(a) * _s24(b)) >> 32)


def _u24(x):
    return (_u(x) & np.uint32(0xFFFFFF)).astype(np.int64)


def _mul_u32_u24(a, b, clamp=False):
    return _w32(_u24(a) * _u24(b))


def _mul_hi_u32_u24(a, b, clamp=False):
    return _w32((_u24(a) * _u24(b)) >> 32)


def _mad_i32_i24(a, b, c, clamp=False):
    return _w32(_sat(_s24(a) * _s24(b) + _s32(c), -2**31, 2**31 - 1, clamp))


def _mad_u32_u24(a, b, c, clamp=False):
    return _w32(_sat(_u24(a) * _u24(b) + _u(c), 0, M32, clamp))


def _mad_u64_u32(a, b, c, clamp=False):
    p = _u(a).astype(np.uint64) * _u(b)
    s = p + _u64(c)
    carry = s < p
    if clamp:
        s = np.where(carry, np.uint64(2**64 - 1), s)
    return s, carry


def _mad_i64_i32(a, b, c, clamp=False):
    p = _s32(a) * _s32(b)                        # exact, |p| <= 2**62
    c = _u64(c).view(np.int64)
    with np.errstate(over="ignore"):
        s = p + c                                # wraps
    overflow = ((p < 0) == (c < 0)) & ((s < 0) != (c < 0))
    negative = np.where(overflow, c < 0, s < 0)  # bit 64 of the 65-bit result
    if clamp:
        s = np.where(overflow, np.where(c < 0, np.int64(-2**63), np.int64(2**63 - 1)), s)
    return s.view(np.uint64), negative


# The carry ops stay in uint32: a carry out of a + b shows as a wrapped sum below a, a borrow of
# a - b as b above a.

def _add_co_u32(a, b, clamp=False):
    a = _u(a)
    s = a + _u(b)
    carry = s < a
    return (np.where(carry, np.uint32(M32), s) if clamp else s), carry


def _sub_co_u32(a, b, clamp=False):
    borrow = _u(b) > _u(a)
    d = _u(a) - _u(b)
    return (np.where(borrow, np.uint32(0), d) if clamp else d), borrow


def _subrev_co_u32(a, b, clamp=False):
    return _sub_co_u32(b, a, clamp)


# A carry-in of zero in every lane (address arithmetic, nearly always) needs no second add.

def _add_co_ci_u32(a, b, ci, clamp=False):
    a, ci = _u(a), np.asarray(ci, bool)
    t = a + _u(b)
    carry = t < a
    if not ci.any():
        return (np.where(carry, np.uint32(M32), t) if clamp else t), carry
    s = t + ci
    carry = carry | (ci & (s == 0))              # t was 0xFFFFFFFF
    return (np.where(carry, np.uint32(M32), s) if clamp else s), carry


def _sub_co_ci_u32(a, b, ci, clamp=False):
    a, b, ci = _u(a), _u(b), np.asarray(ci, bool)
    t = a - b
    borrow = b > a
    if not ci.any():
        return (np.where(borrow, np.uint32(0), t) if clamp else t), borrow
    borrow = borrow | (ci & (t == 0))            # 0 - 1 borrows
    d = t - ci
    return (np.where(borrow, np.uint32(0), d) if clamp else d), borrow


def _subrev_co_ci_u32(a, b, ci, clamp=False):
    return _sub_co_ci_u32(b, a, ci, clamp)


def _imin(conv, wrap):
    return lambda a, b, clamp=False: wrap(np.minimum(conv(a), conv(b)))


def _imax(conv, wrap):
    return lambda a, b, clamp=False: wrap(np.maximum(conv(a), conv(b)))


def _imin3(conv, wrap):
    return lambda a, b, c, clamp=False: wrap(np.minimum(np.minimum(conv(a), conv(b)), conv(c)))


def _imax3(conv, wrap):
    return lambda a, b, c, clamp=False: wrap(np.maximum(np.maximum(conv(a), conv(b)), conv(c)))


def _imed3(conv, wrap):
    def fn(a, b, c, clamp=False):
        x, y, z = conv(a), conv(b), conv(c)
        return wrap(np.maximum(np.minimum(x, y), np.minimum(np.maximum(x, y), z)))
    return fn


def _imaxmin(conv, wrap):
    return lambda a, b, c, clamp=False: wrap(np.minimum(np.maximum(conv(a), conv(b)), conv(c)))


def _iminmax(conv, wrap):
    return lambda a, b, c, clamp=False: wrap(np.maximum(np.minimum(conv(a), conv(b)), conv(c)))


def _sh5(x):
    return _u(x) & np.uint32(31)


def _lshlrev_b32(a, b, clamp=False):
    return _u(b) << _sh5(a)


def _lshrrev_b32(a, b, clamp=False):
    return _u(b) >> _sh5(a)


def _ashrrev_i32(a, b, clamp=False):
    return (_u(b).view(np.int32) >> _sh5(a).astype(np.int32)).view(np.uint32)


def _lshlrev_b64(a, b, clamp=False):
    return _u64(b) << (_u(a) & np.uint32(63)).astype(np.uint64)


def _lshrrev_b64(a, b, clamp=False):
    return _u64(b) >> (_u(a) & np.uint32(63)).astype(np.uint64)


def _ashrrev_i64(a, b, clamp=False):
    return (_u64(b).view(np.int64) >> (_u(a) & np.uint32(63)).astype(np.int64)).view(np.uint64)


def _lshlrev_b16(a, b, clamp=False):
    return (_u16(b) << (_u(a) & np.uint32(15))) & M16


def _lshrrev_b16(a, b, clamp=False):
    return _u16(b) >> (_u(a) & np.uint32(15))


def _ashrrev_i16(a, b, clamp=False):
    return _w16(_s16(b) >> (_u(a) & np.uint32(15)).astype(np.int64))


def _bfe_u32(a, off, width, clamp=False):
    w = _sh5(width).astype(np.uint64)
    return ((_u(a) >> _sh5(off)).astype(np.uint64) & ((np.uint64(1) << w) - np.uint64(1))).astype(np.uint32)


def _bfe_i32(a, off, width, clamp=False):
    w = _sh5(width).astype(np.int64)
    v = (_s32(a) >> _sh5(off).astype(np.int64)) & ((np.int64(1) << w) - 1)
    sign = (v >> np.maximum(w - 1, 0)) & 1
    v = np.where((w > 0) & (sign == 1), v - (np.int64(1) << w), v)
    return _w32(v)


def _bfi_b32(a, b, c, clamp=False):
    return (_u(a) & _u(b)) | (~_u(a) & _u(c))


def _bfm_b32(a, b, clamp=False):
    w = _sh5(a).astype(np.uint64)
    return (((np.uint64(1) << w) - np.uint64(1)) << _sh5(b).astype(np.uint64)).astype(np.uint32)


def popcount32(x):
    x = _u(x)
    return np.bitwise_count(x) if hasattr(np, "bitwise_count") else \
        np.unpackbits(x.view(np.uint8).reshape(x.shape + (4,)), axis=-1).sum(-1).astype(np.uint32)


def _bcnt_u32_b32(a, b, clamp=False):
    return popcount32(a).astype(np.uint32) + _u(b)


def bitrev32(x):
    x = _u(x)
    x = ((x >> np.uint32(1)) & np.uint32(0x55555555)) | ((x & np.uint32(0x55555555)) << np.uint32(1))
    x = ((x >> np.uint32(2)) & np.uint32(0x33333333)) | ((x & np.uint32(0x33333333)) << np.uint32(2))
    x = ((x >> np.uint32(4)) & np.uint32(0x0F0F0F0F)) | ((x & np.uint32(0x0F0F0F0F)) << np.uint32(4))
    x = ((x >> np.uint32(8)) & np.uint32(0x00FF00FF)) | ((x & np.uint32(0x00FF00FF)) << np.uint32(8))
    return (x >> np.uint32(16)) | (x << np.uint32(16))


def clz32(x):
    """Leading zero count of uint32 values (32 for 0)."""
    x = _u(x)
    n = np.zeros(x.shape, np.int64)
    for s in (16, 8, 4, 2, 1):
        small = x < np.uint32(1 << (32 - s))
        n = np.where(small, n + s, n)
        x = np.where(small, x << np.uint32(s), x)
    return np.where(x == 0, 32, n)


def ctz32(x):
    x = _u(x)
    return np.where(x == 0, 32, 31 - clz32(x & (~x + np.uint32(1))))


def _clz_i32_u32(a, clamp=False):
    n = clz32(a)
    return _w32(np.where(n == 32, -1, n))


def _ctz_i32_b32(a, clamp=False):
    n = ctz32(a)
    return _w32(np.where(n == 32, -1, n))


def _cls_i32(a, clamp=False):
    x = _u(a)
    x = np.where(x >> np.uint32(31) == 1, ~x, x)     # count leading copies of the sign bit
    n = clz32(x)
    return _w32(np.where(n == 32, -1, n))


def _alignbit(a, b, c, clamp=False):
    v = (_u(a).astype(np.uint64) << np.uint64(32)) | _u(b)
    return (v >> _sh5(c).astype(np.uint64)).astype(np.uint32)


def _alignbyte(a, b, c, clamp=False):
    v = (_u(a).astype(np.uint64) << np.uint64(32)) | _u(b)
    return (v >> ((_u(c) & np.uint32(3)) * np.uint32(8)).astype(np.uint64)).astype(np.uint32)


def _perm_b32(a, b, sel, clamp=False):
    """Each byte of sel picks a byte of {a, b} (0-7), a sign fill (8-11), 0x00 (12) or 0xff (13+)."""
    data = (_u(a).astype(np.uint64) << np.uint64(32)) | _u(b)
    sel = _u(sel)
    out = np.zeros(_shape(a, b, sel), np.uint32)
    for k in range(4):
        s = (sel >> np.uint32(8 * k)) & np.uint32(0xFF)
        byte = ((data >> (np.minimum(s, 7).astype(np.uint64) * np.uint64(8))) & np.uint64(0xFF)).astype(np.uint32)
        signsrc = np.uint64(1) + np.uint64(2) * (np.clip(s, 8, 11) - np.uint32(8)).astype(np.uint64)
        fill = ((data >> (signsrc * np.uint64(8) + np.uint64(7))) & np.uint64(1)).astype(np.uint32) * np.uint32(0xFF)
        v = np.where(s < 8, byte, np.where(s < 12, fill, np.where(s == 12, np.uint32(0), np.uint32(0xFF))))
        out |= v << np.uint32(8 * k)
    return out


def _bytes4(x):
    x = _u(x)
    return [((x >> np.uint32(8 * k)) & np.uint32(0xFF)).astype(np.int64) for k in range(4)]


def _lerp_u8(a, b, c, clamp=False):
    out = np.zeros(_shape(a, b, c), np.int64)
    cb = _u(c)
    for k, (x, y) in enumerate(zip(_bytes4(a), _bytes4(b), strict=False)):
        r = (x + y + ((cb >> np.uint32(8 * k)) & np.uint32(1))) >> 1
        out += r << (8 * k)
    return _w32(out)


def _sad_u8_raw(a, b, masked):
    tot = 0
    for x, y in zip(_bytes4(a), _bytes4(b), strict=False):
        d = np.abs(x - y)
        tot = tot + (np.where(y == 0, 0, d) if masked else d)
    return tot


def _sad_u8(a, b, c, clamp=False):
    return _w32(_sat(_sad_u8_raw(a, b, False) + _u(c), 0, M32, clamp))


def _msad_u8(a, b, c, clamp=False):
    return _w32(_sat(_sad_u8_raw(a, b, True) + _u(c), 0, M32, clamp))


def _sad_hi_u8(a, b, c, clamp=False):
    return _w32(_sat((_sad_u8_raw(a, b, False) << 16) + _u(c), 0, M32, clamp))


def _sad_u16(a, b, c, clamp=False):
    d = np.abs(_u16(a).astype(np.int64) - _u16(b)) + \
        np.abs((_u(a) >> np.uint32(16)).astype(np.int64) - (_u(b) >> np.uint32(16)))
    return _w32(_sat(d + _u(c), 0, M32, clamp))


def _sad_u32(a, b, c, clamp=False):
    d = np.abs(_u(a).astype(np.int64) - _u(b))
    return _w32(_sat(d + _u(c), 0, M32, clamp))


def _qsad_windows(s0):
    s0 = _u64(s0)
    return [(s0 >> np.uint64(8 * k)).astype(np.uint32) for k in range(4)]   # S0[8k+31 : 8k]


def _qsad_pk_u16_u8(a, b, c, clamp=False, masked=False):
    c = _u64(c)
    out = np.zeros(_shape(a, b, c), np.uint64)
    for k, win in enumerate(_qsad_windows(a)):
        acc = ((c >> np.uint64(16 * k)) & np.uint64(0xFFFF)).astype(np.int64)
        v = _sat(_sad_u8_raw(win, b, masked) + acc, 0, 0xFFFF, clamp)
        out |= (np.asarray(v, np.int64) & 0xFFFF).astype(np.uint64) << np.uint64(16 * k)
    return out


def _mqsad_pk_u16_u8(a, b, c, clamp=False):
    return _qsad_pk_u16_u8(a, b, c, clamp, masked=True)


def _mqsad_u32_u8(a, b, c, clamp=False):
    c = np.asarray(c, np.uint32)
    outs = []
    for k, win in enumerate(_qsad_windows(a)):
        outs.append(_w32(_sat(_sad_u8_raw(win, b, True) + c[..., k], 0, M32, clamp)))
    return np.stack(outs, axis=-1)


def _cndmask(a, b, vcc, clamp=False):
    return np.where(np.asarray(vcc, bool), _u(b), _u(a))


def _cndmask16(a, b, vcc, clamp=False):
    return np.where(np.asarray(vcc, bool), _u16(b), _u16(a))


def _mov(a, clamp=False):
    return np.array(_u(a), copy=True)


def _mov16(a, clamp=False):
    return _u16(a)


# ----------------------------------------------------------------------------------------------
# packed 16-bit ops

def _halves(x):
    x = _u(x)
    return x & M16, x >> np.uint32(16)


def _pk(fn16, n):
    """A packed op from a 16-bit op on the low halves (n sources)."""
    def fn(*srcs, clamp=False):
        lo = [(_u(s) & M16) for s in srcs[:n]]
        hi = [(_u(s) >> np.uint32(16)) for s in srcs[:n]]
        return _pack16(fn16(*lo, clamp=clamp), fn16(*hi, clamp=clamp))
    return fn


def _pk_shift(fn16):
    return _pk(fn16, 2)


# ----------------------------------------------------------------------------------------------
# dot products and mixed precision

def _dot_elems(s, i, opsel, opsel_hi, neg, neg_hi, conv):
    """The two 16-bit elements of packed source i as f32 values, per the VOP3P modifiers."""
    lo16, hi16 = _halves(s)
    a = conv(hi16 if (opsel >> i) & 1 else lo16)
    b = conv(hi16 if (opsel_hi >> i) & 1 else lo16)
    if (neg >> i) & 1:
        a = a ^ np.uint32(0x80000000)
    if (neg_hi >> i) & 1:
        b = b ^ np.uint32(0x80000000)
    return a, b


def _f16_as_f32_bits(x):
    return fp.widen_bits(x, F16, F32)


def _bf16_as_f32_bits(x):
    return (_u(x) & M16) << np.uint32(16)


def _acc_mods(c, neg, neg_hi, bits=32):
    sign = np.uint32(1 << (bits - 1))
    c = _u(c)
    if (neg_hi >> 2) & 1:
        c = c & ~sign
    if (neg >> 2) & 1:
        c = c ^ sign
    return c


def _dot2_f32(conv):
    def fn(a, b, c, clamp=False, opsel=0, opsel_hi=7, neg=0, neg_hi=0):
        a0, a1 = _dot_elems(a, 0, opsel, opsel_hi, neg, neg_hi, conv)
        b0, b1 = _dot_elems(b, 1, opsel, opsel_hi, neg, neg_hi, conv)
        acc = _acc_mods(c, neg, neg_hi)
        with np.errstate(all="ignore"):
            t = fp.f32(acc) + fp.f32(a0) * fp.f32(b0)        # products are exact in f32
            t = t + fp.f32(a1) * fp.f32(b1)
        return fp.fix_nan(fp.bits32(t), [a0, b0, a1, b1, acc], F32)
    return fn


def _dot2acc(conv):
    f = _dot2_f32(conv)
    return lambda a, b, d, clamp=False: f(a, b, d)


def _dot2_16(is_bf16):
    """v_dot2_f16_f16 / v_dot2_bf16_bf16: D = S2 + a0*b0 + a1*b1, each product and sum rounded to
    the 16-bit format in turn, as the pseudocode writes it."""
    def rnd(x32_bits):
        return fp.f32_to_bf16(x32_bits) if is_bf16 else fp.f32_to_f16(x32_bits)

    def widen(h):
        return _bf16_as_f32_bits(h) if is_bf16 else _f16_as_f32_bits(h)

    def fn(a, b, c, clamp=False, opsel=0, opsel_hi=7, neg=0, neg_hi=0):
        a0, a1 = _dot_elems(a, 0, 0, 0b111, neg, neg_hi, widen)
        b0, b1 = _dot_elems(b, 1, 0, 0b111, neg, neg_hi, widen)
        cc = _u(c) >> np.uint32(16) if (opsel >> 2) & 1 else _u(c) & M16
        acc = widen(_acc_mods(cc, neg, neg_hi, 16) & M16)
        with np.errstate(all="ignore"):
            t = acc
            for x, y in ((a0, b0), (a1, b1)):
                p = widen(rnd(fp.bits32(fp.f32(x) * fp.f32(y))))
                t = widen(rnd(fp.bits32(fp.f32(t) + fp.f32(p))))
        return rnd(fp.fix_nan(t, [a0, b0, a1, b1, acc], F32))
    return fn


def _int_elems(x, width, signed):
    x = _u(x)
    out = []
    for k in range(32 // width):
        v = ((x >> np.uint32(width * k)) & np.uint32((1 << width) - 1)).astype(np.int64)
        if signed:
            v = v - ((v >> (width - 1)) << width)
        out.append(v)
    return out


def _dot_int(width, mixed):
    def fn(a, b, c, clamp=False, opsel=0, opsel_hi=7, neg=0, neg_hi=0):
        sa, sb = (bool(neg & 1), bool(neg & 2)) if mixed else (False, False)
        tot = sum(x * y for x, y in zip(_int_elems(a, width, sa), _int_elems(b, width, sb), strict=False))
        if mixed:
            return _w32(_sat(tot + _s32(c), -2**31, 2**31 - 1, clamp))
        return _w32(_sat(tot + _u(c).astype(np.int64), 0, M32, clamp))
    return fn


def _mix_inputs(srcs, opsel, opsel_hi, neg, neg_hi):
    ins = []
    for i, s in enumerate(srcs):
        s = _u(s)
        if (opsel_hi >> i) & 1:
            v = fp.widen_bits((s >> np.uint32(16)) if (opsel >> i) & 1 else (s & M16), F16, F32)
        else:
            v = s
        if (neg_hi >> i) & 1:
            v = v & np.uint32(0x7FFFFFFF)
        if (neg >> i) & 1:
            v = v ^ np.uint32(0x80000000)
        ins.append(v)
    return ins


def _fma_mix_f32(a, b, c, clamp=False, opsel=0, opsel_hi=0, neg=0, neg_hi=0):
    x, y, z = _mix_inputs((a, b, c), opsel, opsel_hi, neg, neg_hi)
    return fp.fma(x, y, z, F32)


def _fma_mix16(hi):
    def fn(a, b, c, d, clamp=False, opsel=0, opsel_hi=0, neg=0, neg_hi=0):
        x, y, z = _mix_inputs((a, b, c), opsel, opsel_hi, neg, neg_hi)
        h = fp.f32_to_f16(fp.fma(x, y, z, F32))
        d = _u(d)
        return (d & M16) | (h << np.uint32(16)) if hi else (d & ~M16) | h
    return fn


# ----------------------------------------------------------------------------------------------
# special float ops

def _dx9_zero(a, b, fmt=F32):
    return (fp.is_zero(a, fmt)) | (fp.is_zero(b, fmt))


def _mul_dx9_zero_f32(a, b, clamp=False):
    return np.where(_dx9_zero(a, b), np.uint32(0), fp.binop("mul", a, b, F32))


def _fma_dx9_zero_f32(a, b, c, clamp=False):
    return np.where(_dx9_zero(a, b), _u(c), fp.fma(a, b, c, F32))


def _div_fmas(fmt):
    """fma(a, b, c), and where VCC is set, the exact result scaled by 2**64 (f32) or 2**128 (f64)
    before the one rounding: up when the unscaled result is at least 1.0 in magnitude (the
    denominator was scaled up by v_div_scale), down otherwise (the numerator was scaled up). AMD's
    pseudocode writes a fixed 2**32 / 2**64, which does not undo v_div_scale's 2**64 / 2**128; the
    direction-dependent scale is what makes the compilers' division sequence correctly rounded."""
    scale = 64 if fmt is F32 else 128

    def fn(a, b, c, vcc, clamp=False):
        a, b, c = (np.broadcast_to(np.asarray(x, fmt.utype), _shape(a, b, c, vcc)) for x in (a, b, c))
        vcc = np.asarray(vcc, bool)
        plain = fp.fma(a, b, c, fmt)
        if not vcc.any():
            return plain
        up = ~fp.is_nan(plain, fmt) & ((plain & fmt.abs_mask) >= fmt.utype(fmt.bias << fmt.mant))
        if fmt is F32:
            scaled = np.where(up, fp.fma_narrow(a, b, c, F32, scale), fp.fma_narrow(a, b, c, F32, -scale))
        else:
            idx = np.nonzero(vcc)
            scaled = plain.copy()
            u = up[idx]
            scaled[idx] = np.where(u, fp.fma64_scaled(a[idx], b[idx], c[idx], scale),
                                   fp.fma64_scaled(a[idx], b[idx], c[idx], -scale))
        return np.where(vcc, scaled, plain).astype(fmt.utype)
    return fn


def _div_fixup(fmt):
    def fn(a, b, c, clamp=False):
        a, b, c = _mask_in(a, fmt), _mask_in(b, fmt), _mask_in(c, fmt)
        sign_out = fp.sign_bit(b, fmt) ^ fp.sign_bit(c, fmt)
        sgn = np.where(sign_out, fmt.sign, fmt.utype(0)).astype(fmt.utype)
        inf = fmt.exp_mask
        zb, zc = fp.is_zero(b, fmt), fp.is_zero(c, fmt)
        ib, ic = fp.is_inf(b, fmt), fp.is_inf(c, fmt)
        neg_qnan = fmt.utype(int(fmt.sign) | int(fmt.default_nan))
        conds = [fp.is_nan(c, fmt), fp.is_nan(b, fmt), zb & zc, ib & ic, zb | ic, ib | zc]
        vals = [c | fmt.quiet_bit, b | fmt.quiet_bit, neg_qnan, neg_qnan, sgn | inf, sgn]
        if fmt is not F16:
            eb, ec = fp.exponent(b, fmt), fp.exponent(c, fmt)
            limit = -150 if fmt is F32 else -1075
            conds += [ec - eb < limit, eb == (1 << fmt.exp_bits) - 1]
            vals += [sgn, sgn | inf]
        shape = _shape(a, b, c)
        vals = [np.broadcast_to(np.asarray(v, fmt.utype), shape) for v in vals]
        return np.select(conds, vals, sgn | (a & fmt.abs_mask)).astype(fmt.utype)
    return fn


def _div_scale(fmt):
    """v_div_scale_*: scales the numerator or denominator of a division out of the ranges where
    the reciprocal iteration would lose precision; the carry says the quotient must be scaled back
    (by v_div_fmas)."""
    big, tiny_exp, sc = (96, 23, 64) if fmt is F32 else (768, 53, 128)

    def fn(s0, s1, s2, clamp=False):
        s0, s1, s2 = np.broadcast_arrays(_mask_in(s0, fmt), _mask_in(s1, fmt), _mask_in(s2, fmt))
        x1, x2 = fp.view(s1, fmt), fp.view(s2, fmt)
        x0 = fp.view(s0, fmt)
        e1, e2 = fp.exponent(s1, fmt), fp.exponent(s2, fmt)
        up, down = fp.ldexp(s0, np.full(s0.shape, sc), fmt), fp.ldexp(s0, np.full(s0.shape, -sc), fmt)
        with np.errstate(all="ignore"):
            rcp_denorm = fp.is_denorm(fp.bits64(1.0 / x1.astype(np.float64)), F64)
            q = fp.binop("div", s2, s1, fmt)
        q_denorm = fp.is_denorm(q, fmt)
        d = s0.copy()
        vcc = np.zeros(s0.shape, bool)
        c_zero = (x2 == 0) | (x1 == 0)
        c_big = ~c_zero & (e2 - e1 >= big)
        rest = ~c_zero & ~c_big
        c_den = rest & fp.is_denorm(s1, fmt)
        rest &= ~c_den
        c_both = rest & rcp_denorm & q_denorm
        rest &= ~c_both
        c_rcp = rest & rcp_denorm
        rest &= ~c_rcp
        c_q = rest & q_denorm
        rest &= ~c_q
        c_tiny = rest & (e2 <= tiny_exp)
        d = np.where(c_zero, fmt.default_nan, d)
        d = np.where(c_big & (x0 == x1), up, d)
        # A denominator whose reciprocal and quotient are both denormal is scaled down, as in the
        # reciprocal-denormal case below: AMD's pseudocode writes ldexp(S0, 128) here, which
        # overflows the denominator and turns the division into NaN.
        d = np.where(c_both & (x0 == x1), down, d)
        d = np.where(c_den | c_tiny, up, d)
        d = np.where(c_rcp, down, d)
        d = np.where(c_q & (x0 == x2), up, d)
        vcc = c_big | c_both | c_q
        return d.astype(fmt.utype), vcc
    return fn


def _cube_select(a, b, c):
    x, y, z = fp.f32(a), fp.f32(b), fp.f32(c)
    ax, ay, az = np.abs(x), np.abs(y), np.abs(z)
    zmaj = (az >= ax) & (az >= ay)
    ymaj = ~zmaj & (ay >= ax)
    return x, y, z, zmaj, ymaj


_SIGN32 = np.uint32(0x80000000)


def _cubeid(a, b, c, clamp=False):
    x, y, z, zmaj, ymaj = _cube_select(a, b, c)
    v = np.where(zmaj, np.where(z < 0, 5.0, 4.0), np.where(ymaj, np.where(y < 0, 3.0, 2.0), np.where(x < 0, 1.0, 0.0)))
    return fp.bits32(v.astype(np.float32))


def _cubesc(a, b, c, clamp=False):
    x, y, z, zmaj, ymaj = _cube_select(a, b, c)
    a, c = _u(a), _u(c)
    return np.where(zmaj, np.where(z < 0, a ^ _SIGN32, a), np.where(ymaj, a, np.where(x < 0, c, c ^ _SIGN32)))


def _cubetc(a, b, c, clamp=False):
    x, y, z, zmaj, ymaj = _cube_select(a, b, c)
    b, c = _u(b), _u(c)
    return np.where(zmaj, b ^ _SIGN32, np.where(ymaj, np.where(y < 0, c ^ _SIGN32, c), b ^ _SIGN32))


def _cubema(a, b, c, clamp=False):
    x, y, z, zmaj, ymaj = _cube_select(a, b, c)
    two = np.full(_shape(a, b, c), 0x40000000, np.uint32)
    m = np.where(zmaj, _u(c), np.where(ymaj, _u(b), _u(a)))
    return fp.binop("mul", m, two, F32)


def _mullit(a, b, c, clamp=False):
    y, z = fp.f32(b), fp.f32(c)
    neg_max = np.uint32(0xFF7FFFFF)
    with np.errstate(invalid="ignore"):
        bad = (_u(b) == neg_max) | (y == -np.inf) | np.isnan(y) | (z <= 0) | np.isnan(z)
    return np.where(bad, neg_max, fp.binop("mul", a, b, F32))


@cache
def _two_over_pi_bits() -> int:
    """floor(2/pi * 2**1201), the first 1201 fraction bits of 2/pi, from Machin's formula."""
    prec = 1201 + 80
    one = 1 << prec

    def arctan_inv(n):
        total, term, k, sign = 0, one // n, 1, 1
        n2 = n * n
        while term:
            total += sign * (term // k)
            term //= n2
            k += 2
            sign = -sign
        return total
    pi = 4 * (4 * arctan_inv(5) - arctan_inv(239))
    return ((2 * one * one) // pi) >> (prec - 1201)


def _trig_preop_f64(a, b, clamp=False):
    """53-bit segment b[4:0] of 2/pi, aligned for the exponent of a, as an f64 (denormal results
    truncated)."""
    a, b = np.broadcast_arrays(_u64(a), _u(b))
    e = fp.exponent(a, F64)
    shift = (b & np.uint32(31)).astype(np.int64) * 53 + np.where(e > 1077, e - 1077, 0)
    scale = -53 - shift + np.where(e >= 1968, 128, 0)
    bits = _two_over_pi_bits()
    out = np.zeros(a.shape, np.uint64)
    for sh, scl in set(zip(shift.ravel().tolist(), scale.ravel().tolist(), strict=False)):
        low = 1201 - 53 - sh
        m = ((bits >> low) if low >= 0 else (bits << -low)) & ((1 << 53) - 1)
        if scl < -1074:
            m = m >> (-1074 - scl) if -1074 - scl < 64 else 0
            scl = -1074
        out[(shift == sh) & (scale == scl if scl > -1074 else scale <= -1074)] = \
            np.float64(math.ldexp(float(m), scl)).view(np.uint64)
    return out


# ----------------------------------------------------------------------------------------------
# WMMA math (the core gathers the matrices from the lane layout)

def _wmma_float(out):
    def fn(a, b, c, clamp=False):
        acc = np.matmul(np.asarray(a, np.float64), np.asarray(b, np.float64)) + np.asarray(c, np.float64)
        if out == "f32":
            with np.errstate(over="ignore"):
                return acc.astype(np.float32)
        if out == "f16":
            return fp.f64_to_f16(acc).astype(np.uint16).view(np.float16)
        return fp.bf16(fp.f32_to_bf16(fp.f64_to_f32(acc, "odd")))
    return fn


def _wmma_int(a, b, c, clamp=False):
    acc = np.matmul(np.asarray(a, np.int64), np.asarray(b, np.int64)) + np.asarray(c, np.int64)
    if clamp:
        acc = np.clip(acc, -2**31, 2**31 - 1)
    return (acc & M32).astype(np.uint32).view(np.int32)


# A and B as float16 (f16 forms), float32 holding bf16 values (bf16 forms), or integers already
# sign- or zero-extended per the neg bits (iu8/iu4); C and D as float32, float16, float32 holding
# bf16 values, or int32.
WMMA = {
    "v_wmma_f32_16x16x16_f16": _wmma_float("f32"),
    "v_wmma_f32_16x16x16_bf16": _wmma_float("f32"),
    "v_wmma_f16_16x16x16_f16": _wmma_float("f16"),
    "v_wmma_bf16_16x16x16_bf16": _wmma_float("bf16"),
    "v_wmma_i32_16x16x16_iu8": _wmma_int,
    "v_wmma_i32_16x16x16_iu4": _wmma_int,
}


# ----------------------------------------------------------------------------------------------
# registration

def _register_float():
    for t, fmt in _FT.items():
        w = _WIDTH[fmt]
        half = dict(dst_bits=16) if fmt is F16 else (dict(dst="u64") if fmt is F64 else {})
        b2, b3 = (w, w), (w, w, w)
        ft = dict(float_type=t, **half)
        _reg(f"v_add_{t}", _fbin("add", fmt), bits=b2, **ft)
        _reg(f"v_mul_{t}", _fbin("mul", fmt), bits=b2, **ft)
        _reg(f"v_min_{t}", _fmin(fmt), bits=b2, **ft)
        _reg(f"v_max_{t}", _fmax(fmt), bits=b2, **ft)
        _reg(f"v_fma_{t}", _fma(fmt), ("s0", "s1", "s2"), b3, **ft)
        _reg(f"v_ldexp_{t}", _ldexp(fmt, fmt is F16), bits=(w, 16 if fmt is F16 else 32), **ft)
        for name, mk in (("trunc", _trunc), ("ceil", _ceil), ("floor", _floor), ("rndne", _rndne),
                         ("fract", _fract), ("sqrt", _sqrt), ("rcp", _rcp), ("rsq", _rsq),
                         ("frexp_mant", _frexp_mant)):
            _reg(f"v_{name}_{t}", mk(fmt), ("s0",), (w,), **ft)
        _reg(f"v_cmp_class_{t}", _fclass(fmt), bits=(w, 16 if fmt is F16 else 32), dst="mask", dst_bits=1)
        _reg(f"v_cmpx_class_{t}", _fclass(fmt), bits=(w, 16 if fmt is F16 else 32), dst="mask", dst_bits=1,
             writes_exec=True)
        for cond in _FCMP:
            _reg(f"v_cmp_{cond}_{t}", _fcmp(cond, fmt), bits=b2, dst="mask", dst_bits=1)
            _reg(f"v_cmpx_{cond}_{t}", _fcmp(cond, fmt), bits=b2, dst="mask", dst_bits=1, writes_exec=True)
        _reg(f"v_div_fixup_{t}", _div_fixup(fmt), ("s0", "s1", "s2"), b3, **ft)
        if fmt is not F64:
            _reg(f"v_sub_{t}", _fbin("sub", fmt), bits=b2, **ft)
            _reg(f"v_subrev_{t}", _fbin("sub", fmt, rev=True), bits=b2, **ft)
            _reg(f"v_fmac_{t}", _fma(fmt), ("s0", "s1", "d0"), b3, **ft)
            _reg(f"v_fmaak_{t}", _fma(fmt), ("s0", "s1", "simm32"), b3, **ft)
            _reg(f"v_fmamk_{t}", _fmamk(fmt), ("s0", "s1", "simm32"), b3, **ft)
            _reg(f"v_min3_{t}", _fmin3(fmt), ("s0", "s1", "s2"), b3, **ft)
            _reg(f"v_max3_{t}", _fmax3(fmt), ("s0", "s1", "s2"), b3, **ft)
            _reg(f"v_med3_{t}", lambda a, b, c, clamp=False, f=fmt: fmed3(a, b, c, f), ("s0", "s1", "s2"), b3, **ft)
            _reg(f"v_maxmin_{t}", _fmaxmin(fmt), ("s0", "s1", "s2"), b3, **ft)
            _reg(f"v_minmax_{t}", _fminmax(fmt), ("s0", "s1", "s2"), b3, **ft)
            _reg(f"v_exp_{t}", _exp(fmt), ("s0",), (w,), **ft)
            _reg(f"v_log_{t}", _log(fmt), ("s0",), (w,), **ft)
            _reg(f"v_sin_{t}", _trig(False)(fmt), ("s0",), (w,), **ft)
            _reg(f"v_cos_{t}", _trig(True)(fmt), ("s0",), (w,), **ft)
        fe = _frexp_exp(fmt)
        _reg(f"v_frexp_exp_i16_{t}" if fmt is F16 else f"v_frexp_exp_i32_{t}", fe, ("s0",), (w,),
             **(dict(dst_bits=16) if fmt is F16 else {}))
    _reg("v_rcp_iflag_f32", _rcp(F32), ("s0",), (32,), float_type="f32")
    _reg("v_div_fmas_f32", _div_fmas(F32), ("s0", "s1", "s2", "vcc"), float_type="f32")
    _reg("v_div_fmas_f64", _div_fmas(F64), ("s0", "s1", "s2", "vcc"), (64, 64, 64, 1), float_type="f64", dst="u64")
    _reg("v_div_scale_f32", _div_scale(F32), ("s0", "s1", "s2"), float_type="f32", carry_out=True)
    _reg("v_div_scale_f64", _div_scale(F64), ("s0", "s1", "s2"), (64, 64, 64), float_type="f64",
         dst="u64", carry_out=True)
    _reg("v_mul_dx9_zero_f32", _mul_dx9_zero_f32, float_type="f32")
    _reg("v_fma_dx9_zero_f32", _fma_dx9_zero_f32, ("s0", "s1", "s2"), float_type="f32")
    _reg("v_fmac_dx9_zero_f32", _fma_dx9_zero_f32, ("s0", "s1", "d0"), float_type="f32")
    _reg("v_cubeid_f32", _cubeid, ("s0", "s1", "s2"), float_type="f32")
    _reg("v_cubesc_f32", _cubesc, ("s0", "s1", "s2"), float_type="f32")
    _reg("v_cubetc_f32", _cubetc, ("s0", "s1", "s2"), float_type="f32")
    _reg("v_cubema_f32", _cubema, ("s0", "s1", "s2"), float_type="f32")
    _reg("v_mullit_f32", _mullit, ("s0", "s1", "s2"), float_type="f32")
    _reg("v_trig_preop_f64", _trig_preop_f64, bits=(64, 32), float_type="f64", dst="u64")


def _register_cvt():
    r = _reg
    r("v_cvt_i32_f64", _cvt_float_to_int(F64, -2**31, 2**31 - 1), ("s0",), (64,))
    r("v_cvt_u32_f64", _cvt_float_to_int(F64, 0, M32), ("s0",), (64,))
    r("v_cvt_i32_f32", _cvt_float_to_int(F32, -2**31, 2**31 - 1), ("s0",))
    r("v_cvt_u32_f32", _cvt_float_to_int(F32, 0, M32), ("s0",))
    r("v_cvt_i16_f16", _cvt_float_to_int(F16, -32768, 32767, True), ("s0",), (16,), dst_bits=16)
    r("v_cvt_u16_f16", _cvt_float_to_int(F16, 0, 0xFFFF, True), ("s0",), (16,), dst_bits=16)
    r("v_cvt_f64_i32", _cvt_int_to_float(_s32, F64), ("s0",), float_type="f64", dst="u64")
    r("v_cvt_f64_u32", _cvt_int_to_float(_u, F64), ("s0",), float_type="f64", dst="u64")
    r("v_cvt_f32_i32", _cvt_int_to_float(_s32, F32), ("s0",), float_type="f32")
    r("v_cvt_f32_u32", _cvt_int_to_float(_u, F32), ("s0",), float_type="f32")
    r("v_cvt_f16_i16", _cvt_int_to_float(_s16, F16), ("s0",), (16,), float_type="f16", dst_bits=16)
    r("v_cvt_f16_u16", _cvt_int_to_float(_u16, F16), ("s0",), (16,), float_type="f16", dst_bits=16)
    r("v_cvt_f16_f32", _cvt_f16_f32, ("s0",), float_type="f16", dst_bits=16)
    r("v_cvt_f32_f16", _widen(F16, F32), ("s0",), (16,), float_type="f32")
    r("v_cvt_f32_f64", _cvt_f32_f64, ("s0",), (64,), float_type="f32")
    r("v_cvt_f64_f32", _widen(F32, F64), ("s0",), float_type="f64", dst="u64")
    r("v_cvt_nearest_i32_f32", _cvt_nearest_i32_f32, ("s0",))
    r("v_cvt_floor_i32_f32", _cvt_floor_i32_f32, ("s0",))
    r("v_cvt_off_f32_i4", _cvt_off_f32_i4, ("s0",), float_type="f32")
    for n in range(4):
        r(f"v_cvt_f32_ubyte{n}", _ubyte(n), ("s0",), float_type="f32")
    r("v_cvt_norm_i16_f16", _cvt_norm(F16, True), ("s0",), (16,), dst_bits=16)
    r("v_cvt_norm_u16_f16", _cvt_norm(F16, False), ("s0",), (16,), dst_bits=16)
    r("v_cvt_pk_norm_i16_f16", _cvt_pk_norm(F16, True), bits=(16, 16))
    r("v_cvt_pk_norm_u16_f16", _cvt_pk_norm(F16, False), bits=(16, 16))
    r("v_cvt_pk_norm_i16_f32", _cvt_pk_norm(F32, True))
    r("v_cvt_pk_norm_u16_f32", _cvt_pk_norm(F32, False))
    r("v_cvt_pk_i16_f32", _cvt_pk_f32_int(-32768, 32767))
    r("v_cvt_pk_u16_f32", _cvt_pk_f32_int(0, 0xFFFF))
    r("v_cvt_pk_u16_u32", _cvt_pk_u16_u32)
    r("v_cvt_pk_i16_i32", _cvt_pk_i16_i32)
    r("v_cvt_pk_rtz_f16_f32", _cvt_pk_rtz_f16_f32)
    r("v_cvt_pk_u8_f32", _cvt_pk_u8_f32, ("s0", "s1", "s2"))
    r("v_sat_pk_u8_i16", _sat_pk_u8_i16, ("s0",), dst_bits=16)
    r("v_cvt_i32_i16", lambda a, clamp=False: _w32(_s16(a)), ("s0",), (16,))
    r("v_cvt_u32_u16", lambda a, clamp=False: _u16(a), ("s0",), (16,))
    r("v_pack_b32_f16", lambda a, b, clamp=False: _pack16(a, b), bits=(16, 16))


def _register_int():
    r = _reg
    s3 = ("s0", "s1", "s2")
    r("v_mov_b32", _mov, ("s0",))
    r("v_mov_b16", _mov16, ("s0",), (16,), dst_bits=16)
    r("v_not_b32", lambda a, clamp=False: ~_u(a), ("s0",))
    r("v_not_b16", lambda a, clamp=False: ~_u(a) & M16, ("s0",), (16,), dst_bits=16)
    r("v_bfrev_b32", lambda a, clamp=False: bitrev32(a), ("s0",))
    r("v_clz_i32_u32", _clz_i32_u32, ("s0",))
    r("v_ctz_i32_b32", _ctz_i32_b32, ("s0",))
    r("v_cls_i32", _cls_i32, ("s0",))
    r("v_cndmask_b32", _cndmask, ("s0", "s1", "vcc"))
    r("v_cndmask_b16", _cndmask16, ("s0", "s1", "vcc"), (16, 16, 1), dst_bits=16)
    r("v_add_nc_u32", _add_u32)
    r("v_sub_nc_u32", _sub_u32)
    r("v_subrev_nc_u32", lambda a, b, clamp=False: _sub_u32(b, a, clamp))
    r("v_add_nc_i32", _add_i32)
    r("v_sub_nc_i32", _sub_i32)
    r("v_add3_u32", _add3_u32, s3)
    r("v_add_nc_u16", _add_u16, bits=(16, 16), dst_bits=16)
    r("v_sub_nc_u16", _sub_u16, bits=(16, 16), dst_bits=16)
    r("v_add_nc_i16", _add_i16, bits=(16, 16), dst_bits=16)
    r("v_sub_nc_i16", _sub_i16, bits=(16, 16), dst_bits=16)
    r("v_mul_lo_u16", _mul_lo_u16, bits=(16, 16), dst_bits=16)
    r("v_mad_u16", _mad_u16, s3, (16, 16, 16), dst_bits=16)
    r("v_mad_i16", _mad_i16, s3, (16, 16, 16), dst_bits=16)
    r("v_mad_u32_u16", _mad_u32_u16, s3, (16, 16, 32))
    r("v_mad_i32_i16", _mad_i32_i16, s3, (16, 16, 32))
    r("v_mul_lo_u32", _mul_lo_u32)
    r("v_mul_hi_u32", _mul_hi_u32)
    r("v_mul_hi_i32", _mul_hi_i32)
    r("v_mul_i32_i24", _mul_i32_i24)
    r("v_mul_hi_i32_i24", _mul_hi_i32_i24)
    r("v_mul_u32_u24", _mul_u32_u24)
    r("v_mul_hi_u32_u24", _mul_hi_u32_u24)
    r("v_mad_i32_i24", _mad_i32_i24, s3)
    r("v_mad_u32_u24", _mad_u32_u24, s3)
    r("v_mad_u64_u32", _mad_u64_u32, s3, (32, 32, 64), dst="u64", carry_out=True)
    r("v_mad_i64_i32", _mad_i64_i32, s3, (32, 32, 64), dst="u64", carry_out=True)
    r("v_add_co_u32", _add_co_u32, carry_out=True)
    r("v_sub_co_u32", _sub_co_u32, carry_out=True)
    r("v_subrev_co_u32", _subrev_co_u32, carry_out=True)
    r("v_add_co_ci_u32", _add_co_ci_u32, ("s0", "s1", "vcc"), carry_out=True)
    r("v_sub_co_ci_u32", _sub_co_ci_u32, ("s0", "s1", "vcc"), carry_out=True)
    r("v_subrev_co_ci_u32", _subrev_co_ci_u32, ("s0", "s1", "vcc"), carry_out=True)
    kinds = {"i32": (_s32, _w32, 32), "u32": (_u, _w32, 32), "i16": (_s16, _w16, 16), "u16": (_u16, _w16, 16)}
    for k, (conv, wrap, w) in kinds.items():
        extra = dict(dst_bits=16) if w == 16 else {}
        r(f"v_min_{k}", _imin(conv, wrap), bits=(w, w), **extra)
        r(f"v_max_{k}", _imax(conv, wrap), bits=(w, w), **extra)
        r(f"v_min3_{k}", _imin3(conv, wrap), s3, (w, w, w), **extra)
        r(f"v_max3_{k}", _imax3(conv, wrap), s3, (w, w, w), **extra)
        r(f"v_med3_{k}", _imed3(conv, wrap), s3, (w, w, w), **extra)
        r(f"v_maxmin_{k}", _imaxmin(conv, wrap), s3, (w, w, w), **extra)
        r(f"v_minmax_{k}", _iminmax(conv, wrap), s3, (w, w, w), **extra)
    for k in ("i16", "u16", "i32", "u32", "i64", "u64"):
        w = int(k[1:])
        for cond in _ICMP:
            r(f"v_cmp_{cond}_{k}", _icmp(cond, k), bits=(w, w), dst="mask", dst_bits=1)
            r(f"v_cmpx_{cond}_{k}", _icmp(cond, k), bits=(w, w), dst="mask", dst_bits=1, writes_exec=True)
    r("v_and_b32", lambda a, b, clamp=False: _u(a) & _u(b))
    r("v_or_b32", lambda a, b, clamp=False: _u(a) | _u(b))
    r("v_xor_b32", lambda a, b, clamp=False: _u(a) ^ _u(b))
    r("v_xnor_b32", lambda a, b, clamp=False: ~(_u(a) ^ _u(b)))
    r("v_and_b16", lambda a, b, clamp=False: _u16(a) & _u16(b), bits=(16, 16), dst_bits=16)
    r("v_or_b16", lambda a, b, clamp=False: _u16(a) | _u16(b), bits=(16, 16), dst_bits=16)
    r("v_xor_b16", lambda a, b, clamp=False: _u16(a) ^ _u16(b), bits=(16, 16), dst_bits=16)
    r("v_and_or_b32", lambda a, b, c, clamp=False: (_u(a) & _u(b)) | _u(c), s3)
    r("v_or3_b32", lambda a, b, c, clamp=False: _u(a) | _u(b) | _u(c), s3)
    r("v_xor3_b32", lambda a, b, c, clamp=False: _u(a) ^ _u(b) ^ _u(c), s3)
    r("v_xad_u32", lambda a, b, c, clamp=False: (_u(a) ^ _u(b)) + _u(c), s3)
    r("v_lshl_or_b32", lambda a, b, c, clamp=False: (_u(a) << _sh5(b)) | _u(c), s3)
    r("v_lshl_add_u32", lambda a, b, c, clamp=False: (_u(a) << _sh5(b)) + _u(c), s3)
    r("v_add_lshl_u32", lambda a, b, c, clamp=False: (_u(a) + _u(b)) << _sh5(c), s3)
    r("v_lshlrev_b32", _lshlrev_b32)
    r("v_lshrrev_b32", _lshrrev_b32)
    r("v_ashrrev_i32", _ashrrev_i32)
    r("v_lshlrev_b64", _lshlrev_b64, bits=(32, 64), dst="u64")
    r("v_lshrrev_b64", _lshrrev_b64, bits=(32, 64), dst="u64")
    r("v_ashrrev_i64", _ashrrev_i64, bits=(32, 64), dst="u64")
    r("v_lshlrev_b16", _lshlrev_b16, bits=(16, 16), dst_bits=16)
    r("v_lshrrev_b16", _lshrrev_b16, bits=(16, 16), dst_bits=16)
    r("v_ashrrev_i16", _ashrrev_i16, bits=(16, 16), dst_bits=16)
    r("v_bfe_u32", _bfe_u32, s3)
    r("v_bfe_i32", _bfe_i32, s3)
    r("v_bfi_b32", _bfi_b32, s3)
    r("v_bfm_b32", _bfm_b32)
    r("v_bcnt_u32_b32", _bcnt_u32_b32)
    r("v_alignbit_b32", _alignbit, s3, (32, 32, 16))
    r("v_alignbyte_b32", _alignbyte, s3, (32, 32, 16))
    r("v_perm_b32", _perm_b32, s3)
    r("v_lerp_u8", _lerp_u8, s3)
    r("v_sad_u8", _sad_u8, s3)
    r("v_sad_hi_u8", _sad_hi_u8, s3)
    r("v_sad_u16", _sad_u16, s3)
    r("v_sad_u32", _sad_u32, s3)
    r("v_msad_u8", _msad_u8, s3)
    r("v_qsad_pk_u16_u8", _qsad_pk_u16_u8, s3, (64, 32, 64), dst="u64")
    r("v_mqsad_pk_u16_u8", _mqsad_pk_u16_u8, s3, (64, 32, 64), dst="u64")
    r("v_mqsad_u32_u8", _mqsad_u32_u8, s3, (64, 32, 128), dst="u128", dst_bits=128)


def _register_packed():
    r = _reg
    s3 = ("s0", "s1", "s2")
    pk = {
        "v_pk_add_u16": (_add_u16, 2), "v_pk_sub_u16": (_sub_u16, 2), "v_pk_add_i16": (_add_i16, 2),
        "v_pk_sub_i16": (_sub_i16, 2), "v_pk_mul_lo_u16": (_mul_lo_u16, 2), "v_pk_mad_u16": (_mad_u16, 3),
        "v_pk_mad_i16": (_mad_i16, 3), "v_pk_lshlrev_b16": (_lshlrev_b16, 2), "v_pk_lshrrev_b16": (_lshrrev_b16, 2),
        "v_pk_ashrrev_i16": (_ashrrev_i16, 2),
        "v_pk_max_i16": (_imax(_s16, _w16), 2), "v_pk_min_i16": (_imin(_s16, _w16), 2),
        "v_pk_max_u16": (_imax(_u16, _w16), 2), "v_pk_min_u16": (_imin(_u16, _w16), 2),
    }
    for name, (f, n) in pk.items():
        r(name, _pk(f, n), s3[:n])
    fpk = {
        "v_pk_add_f16": (_fbin("add", F16), 2), "v_pk_mul_f16": (_fbin("mul", F16), 2),
        "v_pk_min_f16": (_fmin(F16), 2), "v_pk_max_f16": (_fmax(F16), 2), "v_pk_fma_f16": (_fma(F16), 3),
    }
    for name, (f, n) in fpk.items():
        r(name, _pk(f, n), s3[:n], float_type="f16")
    r("v_pk_fmac_f16", _pk(_fma(F16), 3), ("s0", "s1", "d0"), float_type="f16")
    r("v_dot2_f32_f16", _dot2_f32(_f16_as_f32_bits), s3, float_type="f32", raw_mods=True)
    r("v_dot2_f32_bf16", _dot2_f32(_bf16_as_f32_bits), s3, float_type="f32", raw_mods=True)
    r("v_dot2acc_f32_f16", _dot2acc(_f16_as_f32_bits), ("s0", "s1", "d0"), float_type="f32")
    r("v_dot2acc_f32_bf16", _dot2acc(_bf16_as_f32_bits), ("s0", "s1", "d0"), float_type="f32")
    r("v_dot2_f16_f16", _dot2_16(False), s3, (32, 32, 16), float_type="f16", dst_bits=16, raw_mods=True)
    r("v_dot2_bf16_bf16", _dot2_16(True), s3, (32, 32, 16), float_type=None, dst_bits=16, raw_mods=True)
    r("v_dot4_i32_iu8", _dot_int(8, True), s3, raw_mods=True)
    r("v_dot4_u32_u8", _dot_int(8, False), s3, raw_mods=True)
    r("v_dot8_i32_iu4", _dot_int(4, True), s3, raw_mods=True)
    r("v_dot8_u32_u4", _dot_int(4, False), s3, raw_mods=True)
    r("v_fma_mix_f32", _fma_mix_f32, s3, float_type="f32", raw_mods=True)
    r("v_fma_mixlo_f16", _fma_mix16(False), ("s0", "s1", "s2", "d0"), float_type="f16", raw_mods=True)
    r("v_fma_mixhi_f16", _fma_mix16(True), ("s0", "s1", "s2", "d0"), float_type="f16", raw_mods=True)


def _prune():
    """Keeps the ops gfx11 has (the families above generate a few that it lacks)."""
    from isa.tables import table
    known = set(table().by_mnemonic)
    for name in list(VALU):
        if name not in known and name not in EXTRA_OPS:
            del VALU[name]


_register_float()
_register_cvt()
_register_int()
_register_packed()
_prune()
