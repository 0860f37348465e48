"""Floating-point building blocks of the ALU semantics.

Values travel as raw bits: np.uint32 arrays for 16- and 32-bit floats (a 16-bit value in the low
half), np.uint64 arrays for f64. The helpers here turn bits into numpy floats and back, apply the
NaN rules of the hardware and round exactly:

- Rounding is IEEE round-to-nearest-even unless a mode is named ('rtz' toward zero, 'odd' for
  round-to-odd, the sticky rounding that makes a later narrower rounding exact). Denormals are kept
  (the mode gfx11 compute kernels run in), both as inputs and as results.
- NaN results: an operation with a NaN input returns the first NaN input (in source order), quieted;
  an invalid operation on non-NaN inputs (inf - inf, 0 * inf, sqrt(-1)) returns the default quiet
  NaN (0x7e00 / 0x7fc00000 / 0x7ff8000000000000).
- Fused multiply-add is truly fused: for f16 and f32 the product is exact in f64 and the sum is
  rounded to odd in f64 before the one rounding to the destination format (exact because f64 has at
  least two more bits than the destination); a faster path rounds the sum to nearest in f64 (f32
  for f16) and takes the round-to-odd path only for the lanes where rounding twice could differ;
  for f64 the product is split exactly (Veltkamp/Dekker),
  summed with an error-free transformation and rounded to odd (Boldo and Melquiond's emulation), with
  an exact rational fallback for the rare inputs whose product or sum leaves the range where that
  emulation is proved (huge, tiny, or overflowing intermediates).
"""

import threading
from fractions import Fraction

import numpy as np

U16_MASK = np.uint32(0xFFFF)


class Fmt:
    """An IEEE binary format: widths, masks and the numpy types that hold it."""

    def __init__(self, name, bits, mant, utype, ftype):
        self.name, self.bits, self.mant = name, bits, mant
        self.utype, self.ftype = utype, ftype
        self.exp_bits = bits - 1 - mant
        self.sign = utype(1 << (bits - 1))
        self.abs_mask = utype((1 << (bits - 1)) - 1)
        self.exp_mask = utype(((1 << self.exp_bits) - 1) << mant)
        self.mant_mask = utype((1 << mant) - 1)
        self.quiet_bit = utype(1 << (mant - 1))
        self.default_nan = utype(int(self.exp_mask) | int(self.quiet_bit))
        self.bias = (1 << (self.exp_bits - 1)) - 1


F16 = Fmt("f16", 16, 10, np.uint32, np.float16)   # held in uint32 lanes
F32 = Fmt("f32", 32, 23, np.uint32, np.float32)
F64 = Fmt("f64", 64, 52, np.uint64, np.float64)
FMTS = {"f16": F16, "f32": F32, "f64": F64}

F32_ALMOST_ONE = 0x3F7FFFFF
F16_ALMOST_ONE = 0x3BFF
F64_ALMOST_ONE = 0x3FEFFFFFFFFFFFFF


# ----------------------------------------------------------------------------------------------
# bit views

def u32(x) -> np.ndarray:
    return np.asarray(x, dtype=np.uint32)


def u64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.uint64)


def f16(bits) -> np.ndarray:
    """f16 bits (low half of uint32 lanes) as np.float16."""
    return (u32(bits) & U16_MASK).astype(np.uint16).view(np.float16)


def f32(bits) -> np.ndarray:
    return np.ascontiguousarray(bits, dtype=np.uint32).view(np.float32)


def f64(bits) -> np.ndarray:
    return np.ascontiguousarray(bits, dtype=np.uint64).view(np.float64)


def bf16(bits) -> np.ndarray:
    """bf16 bits (low half of uint32 lanes) as np.float32 (exact)."""
    return ((u32(bits) & U16_MASK) << np.uint32(16)).view(np.float32)


def bits16(x) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float16).view(np.uint16).astype(np.uint32)


def bits32(x) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)


def bits64(x) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float64).view(np.uint64)


def view(bits, fmt: Fmt) -> np.ndarray:
    return {"f16": f16, "f32": f32, "f64": f64}[fmt.name](bits)


def to_bits(x, fmt: Fmt) -> np.ndarray:
    """Bits of an array already of fmt's float type (no rounding happens here)."""
    return {"f16": bits16, "f32": bits32, "f64": bits64}[fmt.name](x)


def wide(bits, fmt: Fmt) -> np.ndarray:
    """Exact float64 value of bits in fmt."""
    with np.errstate(invalid="ignore"):
        return view(bits, fmt).astype(np.float64)


# ----------------------------------------------------------------------------------------------
# classification and NaN rules

def is_nan(bits, fmt: Fmt) -> np.ndarray:
    b = fmt.utype(bits) if np.isscalar(bits) else np.asarray(bits, fmt.utype)
    if fmt is F16:
        b = b & U16_MASK
    return (b & fmt.abs_mask) > fmt.exp_mask


def is_snan(bits, fmt: Fmt) -> np.ndarray:
    b = np.asarray(bits, fmt.utype)
    return is_nan(b, fmt) & ((b & fmt.quiet_bit) == 0)


def is_inf(bits, fmt: Fmt) -> np.ndarray:
    b = np.asarray(bits, fmt.utype)
    if fmt is F16:
        b = b & U16_MASK
    return (b & fmt.abs_mask) == fmt.exp_mask


def is_zero(bits, fmt: Fmt) -> np.ndarray:
    b = np.asarray(bits, fmt.utype)
    if fmt is F16:
        b = b & U16_MASK
    return (b & fmt.abs_mask) == 0


def is_denorm(bits, fmt: Fmt) -> np.ndarray:
    b = np.asarray(bits, fmt.utype)
    if fmt is F16:
        b = b & U16_MASK
    return ((b & fmt.exp_mask) == 0) & ((b & fmt.mant_mask) != 0)


def sign_bit(bits, fmt: Fmt) -> np.ndarray:
    b = np.asarray(bits, fmt.utype)
    return (b & fmt.sign) != 0


def exponent(bits, fmt: Fmt) -> np.ndarray:
    """The biased exponent field, as int64."""
    b = np.asarray(bits, fmt.utype)
    return ((b & fmt.exp_mask) >> fmt.utype(fmt.mant)).astype(np.int64)


def quiet(bits, fmt: Fmt) -> np.ndarray:
    return np.asarray(bits, fmt.utype) | fmt.quiet_bit


def fix_nan(out, ins, fmt: Fmt) -> np.ndarray:
    """Replaces NaN results by the first NaN input quieted, or the default NaN when no input is a
    NaN (an invalid operation). `out` and `ins` are bit arrays of fmt."""
    out = np.asarray(out, fmt.utype)
    bad = is_nan(out, fmt)
    if not bad.any():
        return out
    pick = np.full(out.shape, fmt.default_nan, fmt.utype)
    for x in reversed(ins):
        x = np.broadcast_to(np.asarray(x, fmt.utype), out.shape)
        if fmt is F16:
            x = x & U16_MASK
        pick = np.where(is_nan(x, fmt), x | fmt.quiet_bit, pick)
    return np.where(bad, pick, out)


def canon_nan_from(bits, fmt: Fmt) -> np.ndarray:
    """Where bits is a NaN, its quieted form; used by ops that return a NaN input unchanged but quiet."""
    b = np.asarray(bits, fmt.utype)
    return np.where(is_nan(b, fmt), b | fmt.quiet_bit, b)


# ----------------------------------------------------------------------------------------------
# narrowing with a rounding mode

def _step_toward_zero(rb, too_big):
    return np.where(too_big, rb - rb.dtype.type(1), rb)


def f64_to_f32(x, mode: str = "rne") -> np.ndarray:
    """float64 values -> f32 bits, rounded per mode ('rne', 'rtz', 'odd'). NaNs keep sign and the
    top payload bits and come out quiet."""
    x = np.asarray(x, np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        r = x.astype(np.float32)
    rb = np.asarray(r).view(np.uint32).copy()
    if mode != "rne":
        rw = r.astype(np.float64)
        finite = np.isfinite(x)
        rb = _step_toward_zero(rb, finite & (np.abs(rw) > np.abs(x)))
        if mode == "odd":
            inexact = finite & (np.abs(f32(rb).astype(np.float64)) != np.abs(x))
            rb = np.where(inexact, rb | np.uint32(1), rb)
    nan = np.isnan(x)
    if nan.any():
        xb = x.view(np.uint64)
        nb = ((xb >> np.uint64(32)) & np.uint64(0x80000000)) | np.uint64(0x7FC00000) | \
             ((xb >> np.uint64(29)) & np.uint64(0x7FFFFF))
        rb = np.where(nan, nb.astype(np.uint32), rb)
    return rb.astype(np.uint32)


def f32_to_f16(bits32_in, mode: str = "rne") -> np.ndarray:
    """f32 bits -> f16 bits (in uint32), rounded per mode ('rne', 'rtz')."""
    b = u32(bits32_in)
    x = f32(b)
    with np.errstate(over="ignore", invalid="ignore"):
        r = x.astype(np.float16)
    rb = np.asarray(r).view(np.uint16).astype(np.uint32)
    if mode == "rtz":
        rb = _step_toward_zero(rb, np.isfinite(x) & (np.abs(r.astype(np.float32)) > np.abs(x)))
    elif mode != "rne":
        raise ValueError(f"unknown rounding mode {mode!r}")
    nan = is_nan(b, F32)
    if nan.any():
        nb = ((b >> np.uint32(16)) & np.uint32(0x8000)) | np.uint32(0x7E00) | ((b >> np.uint32(13)) & np.uint32(0x3FF))
        rb = np.where(nan, nb, rb)
    return rb


def f64_to_f16(x, mode: str = "rne") -> np.ndarray:
    """float64 values -> f16 bits (uint32): round to odd into f32 first, which makes the final
    rounding exact."""
    return f32_to_f16(f64_to_f32(x, "odd"), mode)


def f32_to_bf16(bits32_in) -> np.ndarray:
    """f32 bits -> bf16 bits (uint32), round to nearest even; NaNs quieted."""
    b = u32(bits32_in)
    rounded = (b + np.uint32(0x7FFF) + ((b >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)
    return np.where(is_nan(b, F32), (b >> np.uint32(16)) | np.uint32(0x40), rounded).astype(np.uint32)


def f64_to_bits(x, fmt: Fmt, mode: str = "rne") -> np.ndarray:
    """float64 values -> bits of fmt."""
    if fmt is F64:
        return bits64(x)
    if fmt is F32:
        return f64_to_f32(x, mode)
    return f64_to_f16(x, mode)


def widen_bits(bits, src: Fmt, dst: Fmt) -> np.ndarray:
    """Exact widening conversion (f16->f32, f16/f32->f64) with NaNs quieted, payload kept."""
    b = np.asarray(bits, src.utype)
    if src is F16:
        b = b & U16_MASK
    with np.errstate(invalid="ignore"):
        w = view(b, src).astype(dst.ftype)
    out = to_bits(w, dst)
    nan = is_nan(b, src)
    if nan.any():
        shift = dst.mant - src.mant
        sgn = (b & src.sign).astype(dst.utype) << dst.utype(dst.bits - src.bits)
        payload = (b & src.mant_mask).astype(dst.utype) << dst.utype(shift)
        out = np.where(nan, sgn | dst.exp_mask | dst.quiet_bit | payload, out)
    return out.astype(dst.utype)


# ----------------------------------------------------------------------------------------------
# exact arithmetic

def two_sum(a, b):
    """s + e == a + b exactly, s the rounded sum (finite inputs, no overflow)."""
    s = a + b
    bb = s - a
    e = (a - (s - bb)) + (b - bb)
    return s, e


def add_odd(a, b) -> np.ndarray:
    """a + b in float64 rounded to odd (finite inputs whose sum does not overflow)."""
    with np.errstate(invalid="ignore", over="ignore"):
        s, e = two_sum(a, b)
    fix = (e != 0) & np.isfinite(e) & ((s.view(np.uint64) & np.uint64(1)) == 0)
    if fix.any():
        s = np.where(fix, np.nextafter(s, np.where(e > 0, np.inf, -np.inf)), s)
    return s


_SPLIT = 134217729.0   # 2**27 + 1


def _split(a):
    t = _SPLIT * a
    hi = t - (t - a)
    return hi, a - hi


def two_prod(a, b):
    """p + e == a * b exactly (when |a|, |b| < 2**995 and the product is not tiny)."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, e


def fma_narrow(a, b, c, fmt: Fmt, scale_exp: int = 0) -> np.ndarray:
    """Fused a*b+c for f16/f32 operands given as bit arrays of fmt; returns bits of fmt. With
    scale_exp the exact result is multiplied by 2**scale_exp before the one rounding."""
    if scale_exp == 0 and fmt is not F64:
        return _fma_rounded_twice(a, b, c, fmt)
    return fma_narrow_exact(a, b, c, fmt, scale_exp)


def fma_fast(fmt: Fmt):
    """fma_narrow for fmt without scaling, as a function of (a, b, c)."""
    return lambda a, b, c: _fma_rounded_twice(a, b, c, fmt)


# The fast fused multiply-add of f32 (f16) computes in f64 (f32): the product is exact there, the
# sum s is rounded once in the wide format and rounded again to the narrow one. The second
# rounding gives the correctly rounded fused result unless s lies exactly halfway between two
# neighbours of the narrow format: every such midpoint is a number of the wide format, so the
# exact sum and s are never on different sides of one, and only a tie can be decided wrongly.
# Lanes whose s is a midpoint, whose result is zero, denormal or the smallest normal (the
# midpoint test assumes a normal result) or NaN (the NaN rules) take the exact path, except
# where s is an exact zero (a zero sum of f64 numbers is exact and has the right sign).
class _Twice:
    """The wide format of a narrow one for the fast fused multiply-add, and the constants of
    its tests."""

    def __init__(self, fmt: Fmt, wide_t, wide_u, wide_i):
        self.wide_t, self.wide_u, self.wide_i = wide_t, wide_u, wide_i
        wide_mant = np.finfo(wide_t).nmant
        # the mantissa bits of s below the narrow format's, shifted to the top of the word
        self.shift = wide_u(8 * np.dtype(wide_t).itemsize - (wide_mant - fmt.mant))
        # a midpoint has only the top one of them set: then the shifted word is the most negative
        self.most_negative = wide_i(np.iinfo(wide_i).min)
        self.min_normal = fmt.ftype(2.0 ** (1 - fmt.bias))
        self.narrow_bits = np.uint32 if fmt is F32 else np.uint16


_TWICE = {"f32": _Twice(F32, np.float64, np.uint64, np.int64),
          "f16": _Twice(F16, np.float32, np.uint32, np.int32)}


def _float_view(bits, fmt: Fmt) -> np.ndarray:
    if fmt is F16:
        return f16(bits)
    if type(bits) is np.ndarray and bits.dtype == np.uint32:
        return bits.view(np.float32)
    return np.asarray(bits, np.uint32).view(np.float32)


_min = np.minimum.reduce


_SCRATCH = threading.local()
_SCRATCH_KEPT = 4


def _scratch(shape, dtype) -> np.ndarray:
    """A work array of shape and dtype kept per thread between calls (fresh large arrays can
    come from newly mapped memory, whose first touch costs more than the arithmetic). Its
    caller must not return it or keep it past the call."""
    kept = getattr(_SCRATCH, "arrays", None)
    if kept is None:
        kept = _SCRATCH.arrays = {}
    key = (shape, dtype)
    work = kept.get(key)
    if work is None:
        if len(kept) >= _SCRATCH_KEPT:
            kept.clear()
        work = kept[key] = np.empty(shape, dtype)
    return work


def _fma_rounded_twice(a, b, c, fmt: Fmt) -> np.ndarray:
    tw = _TWICE[fmt.name]
    x, y, z = _float_view(a, fmt), _float_view(b, fmt), _float_view(c, fmt)
    shape = x.shape if x.shape == y.shape == z.shape else np.broadcast_shapes(x.shape, y.shape, z.shape)
    s = _scratch(shape or (1,), tw.wide_t)           # ufuncs give scalars for 0-d arrays
    with np.errstate(invalid="ignore", over="ignore"):
        np.copyto(s, x)                              # widened first: the product is one exact multiply
        np.multiply(s, y, out=s)
        np.add(s, z, out=s)
        r = s.astype(fmt.ftype)
    low = np.left_shift(s.view(tw.wide_u), tw.shift, out=s.view(tw.wide_u)).view(tw.wide_i)   # s is spent
    midpoint = _min(low, axis=None) == tw.most_negative
    # zero, denormal and smallest normal results, and NaNs (the smallest magnitude is NaN when
    # one is), fail the comparison with the smallest normal
    mag = np.abs(r, out=_scratch(r.shape, r.dtype))
    special = not _min(mag, axis=None) > tw.min_normal
    bits = r.view(tw.narrow_bits)
    if midpoint or special:
        suspect = low == tw.most_negative
        if special:
            suspect |= ~(mag > tw.min_normal)
        idx = np.flatnonzero(suspect)
        pick = [np.broadcast_to(np.asarray(v, fmt.utype), r.shape).flat[idx] for v in (a, b, c)]
        if special:
            with np.errstate(invalid="ignore", over="ignore"):
                xs, ys, zs = (_float_view(v, fmt).astype(tw.wide_t) for v in pick)
                exact_zero = xs * ys + zs == 0      # s again, for these lanes
            idx, pick = idx[~exact_zero], [v[~exact_zero] for v in pick]
        if idx.size:
            bits.reshape(-1)[idx] = fma_narrow_exact(*pick, fmt)
    return (bits if fmt is F32 else bits.astype(np.uint32)).reshape(shape)


def fma_narrow_exact(a, b, c, fmt: Fmt, scale_exp: int = 0) -> np.ndarray:
    """fma_narrow by round-to-odd: the sum is rounded to odd in f64, then once to fmt."""
    x, y, z = wide(a, fmt), wide(b, fmt), wide(c, fmt)
    with np.errstate(invalid="ignore", over="ignore"):
        p = x * y                                   # exact: at most 2*24 significant bits
        finite = np.isfinite(p) & np.isfinite(z)
        s = np.where(finite, add_odd(np.where(finite, p, 0.0), np.where(finite, z, 0.0)), p + z)
        if scale_exp:
            s = s * 2.0 ** scale_exp                # exact in f64 for these magnitudes
    return fix_nan(f64_to_bits(s, fmt), [a, b, c], fmt)


def _fma64_exact(a: float, b: float, c: float, scale_exp: int = 0) -> float:
    """Correctly rounded (a*b+c) * 2**scale_exp of finite floats by rational arithmetic."""
    exact = (Fraction(a) * Fraction(b) + Fraction(c)) * Fraction(2) ** scale_exp
    if exact == 0:
        prod_zero = a == 0 or b == 0
        prod_neg = (np.copysign(1.0, a) * np.copysign(1.0, b)) < 0
        if prod_zero and c == 0 and prod_neg and np.copysign(1.0, c) < 0:
            return -0.0
        return 0.0
    try:
        r = exact.numerator / exact.denominator      # correctly rounded integer division
    except OverflowError:
        return np.inf if exact > 0 else -np.inf
    if r == 0:
        return -0.0 if exact < 0 else 0.0
    return r


def fma64(a_bits, b_bits, c_bits) -> np.ndarray:
    """Fused a*b+c on f64 bit arrays, correctly rounded; returns f64 bits."""
    a_bits, b_bits, c_bits = np.broadcast_arrays(u64(a_bits), u64(b_bits), u64(c_bits))
    a, b, c = f64(a_bits), f64(b_bits), f64(c_bits)
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):
        direct = a * b + c                          # right for non-finite operands and zero products
        c_inf_only = np.isinf(c) & np.isfinite(a) & np.isfinite(b)
        out = np.where(c_inf_only, c, direct)
        allfin = np.isfinite(a) & np.isfinite(b) & np.isfinite(c)
        zero_prod = allfin & ((a == 0) | (b == 0))
        aa, ab, ac = np.abs(a), np.abs(b), np.abs(c)
        pa = aa * ab
        safe = (allfin & ~zero_prod & (aa < 2.0 ** 995) & (ab < 2.0 ** 995) & (pa >= 2.0 ** -960)
                & (pa <= 2.0 ** 1020) & (ac <= 2.0 ** 1020))
        if safe.any():
            sa, sb, sc = a[safe], b[safe], c[safe]
            uh, ul = two_prod(sa, sb)
            th, tl = two_sum(sc, uh)
            v = add_odd(tl, ul)
            out[safe] = th + v
        slow = allfin & ~zero_prod & ~safe
        if slow.any():
            idx = np.nonzero(slow)
            out[idx] = [_fma64_exact(float(x), float(y), float(z))
                        for x, y, z in zip(a[idx], b[idx], c[idx], strict=False)]
    return fix_nan(bits64(out), [a_bits, b_bits, c_bits], F64)


def fma(a, b, c, fmt: Fmt) -> np.ndarray:
    return fma64(a, b, c) if fmt is F64 else fma_narrow(a, b, c, fmt)


def fma64_scaled(a_bits, b_bits, c_bits, scale_exp: int) -> np.ndarray:
    """(a*b+c) * 2**scale_exp on f64 bits with one rounding: the operands a and c are scaled
    exactly where that stays exact, the rest take the rational path."""
    a_bits, b_bits, c_bits = np.broadcast_arrays(u64(a_bits), u64(b_bits), u64(c_bits))
    a, b, c = f64(a_bits), f64(b_bits), f64(c_bits)
    k = 2.0 ** scale_exp
    with np.errstate(all="ignore"):
        xs, zs = a * k, c * k
        exact = (xs / k == a) & (zs / k == c) & np.isfinite(xs) & np.isfinite(zs)
    special = ~(np.isfinite(a) & np.isfinite(b) & np.isfinite(c))
    out = f64(fma64(bits64(np.where(exact, xs, a)), b_bits, bits64(np.where(exact, zs, c)))).copy()
    slow = ~exact & ~special
    if slow.any():
        idx = np.nonzero(slow)
        out[idx] = [_fma64_exact(float(x), float(y), float(z), scale_exp)
                    for x, y, z in zip(a[idx], b[idx], c[idx], strict=False)]
    return fix_nan(bits64(out), [a_bits, b_bits, c_bits], F64)


# ----------------------------------------------------------------------------------------------
# rounded elementary operations on bits

_BINOPS = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}
_max = np.maximum.reduce


def binop(op, a, b, fmt: Fmt) -> np.ndarray:
    """a op b ('add', 'sub', 'mul', 'div') correctly rounded in fmt. f16 is computed in f32, which
    is exact for these operations since 24 >= 2*11+2 bits (double rounding is innocuous)."""
    ufunc = _BINOPS[op]
    if fmt is F32 and type(a) is np.ndarray and type(b) is np.ndarray and a.dtype == b.dtype == np.uint32:
        # the common case, with nothing but the arithmetic and one reduction (a NaN is the
        # maximum when there is one, and only a NaN differs from itself)
        with np.errstate(all="ignore"):
            r = ufunc(a.view(np.float32), b.view(np.float32))
        if r.size:
            top = _max(r, axis=None)
            if top == top:
                return r.view(np.uint32)
        else:
            return r.view(np.uint32)
        return fix_nan(r.view(np.uint32), [a, b], fmt)
    with np.errstate(all="ignore"):
        if fmt is F16:
            r = ufunc(f16(a).astype(np.float32), f16(b).astype(np.float32))
            out = f32_to_f16(bits32(r))
        else:
            r = ufunc(view(a, fmt), view(b, fmt))
            out = to_bits(r, fmt)
            if not np.size(r) or not np.isnan(np.max(r)):     # no NaN result: no NaN rule to apply
                return out
    return fix_nan(out, [a, b], fmt)


def ldexp(a, n, fmt: Fmt) -> np.ndarray:
    """a * 2**n (n an int array) with one rounding; NaNs quieted."""
    n = np.clip(np.asarray(n, np.int64), -4000, 4000)
    with np.errstate(all="ignore"):
        if fmt is F64:
            out = bits64(np.ldexp(f64(a), n.astype(np.int32)))
        else:
            out = f64_to_bits(np.ldexp(wide(a, fmt), np.clip(n, -1100, 1100).astype(np.int32)), fmt)
    return fix_nan(out, [a], fmt)


def unary(fn, a, fmt: Fmt) -> np.ndarray:
    """fn evaluated on the exact float64 value (f16/f32) or on float64 (f64), then rounded."""
    with np.errstate(all="ignore"):
        if fmt is F64:
            out = bits64(fn(f64(a)))
        else:
            out = f64_to_bits(fn(wide(a, fmt)), fmt)
    return fix_nan(out, [a], fmt)


def sin_cos_turns(x, cos: bool) -> np.ndarray:
    """sin(2*pi*x) or cos(2*pi*x) for float64 x, with exact argument reduction in turns: the
    quarter-turn index comes from 4*x exactly, the remainder is at most an eighth of a turn.
    Exact zeros of sin carry the sign of x; exact zeros of cos are +0; inf gives NaN."""
    x = np.asarray(x, np.float64)
    with np.errstate(invalid="ignore"):
        t = 4.0 * x
        n = np.rint(t)
        f = t - n
        q = np.mod(n, 4.0).astype(np.int64) if np.all(np.isfinite(n)) else \
            np.mod(np.where(np.isfinite(n), n, 0.0), 4.0).astype(np.int64)
        if cos:
            q = (q + 1) % 4
        theta = f * (np.pi / 2)
        s, c = np.sin(theta), np.cos(theta)
        r = np.select([q == 0, q == 1, q == 2], [s, c, -s], -c)
        zero = r == 0
        if zero.any():
            r = np.where(zero, 0.0 if cos else np.copysign(0.0, x), r)
        r = np.where(np.isfinite(x), r, np.nan)
    return r


def to_int(x, lo: int, hi: int) -> np.ndarray:
    """Float values -> int64, truncated toward zero, saturated to [lo, hi], NaN -> 0."""
    x = np.asarray(x, np.float64)
    with np.errstate(invalid="ignore"):
        t = np.clip(np.trunc(x), lo, hi)
    return np.where(np.isnan(t), 0, t).astype(np.int64)


def to_int_rne(x, lo: int, hi: int) -> np.ndarray:
    """Float values -> int64, rounded to nearest even, saturated to [lo, hi], NaN -> 0."""
    x = np.asarray(x, np.float64)
    with np.errstate(invalid="ignore"):
        t = np.clip(np.rint(x), lo, hi)
    return np.where(np.isnan(t), 0, t).astype(np.int64)
