"""Immediate operands of ALU instructions: when a value is an inline constant and which source
code it gets, and what literal dword it becomes otherwise, per operand type.

Operand types (see syntax.otype_of): 'f16', 'f32', 'f64', 'i16', 'i32', 'i64', 'pkf16' (two
packed halves, f16 constants), 'pki16' (two packed halves, f32 constants).
"""

import math
import struct

from isa import operands as ops

M32 = 0xFFFFFFFF
M64 = (1 << 64) - 1

# Bit patterns of the inline float constants, per width -> source code.
_FLOAT_CODES = range(ops.FLOAT_FIRST, ops.FLOAT_LAST + 1)
F16_INLINE = {ops.inline_float_bits(c, 16): c for c in _FLOAT_CODES}
F32_INLINE = {ops.inline_float_bits(c, 32): c for c in _FLOAT_CODES}
F64_INLINE = {ops.inline_float_bits(c, 64): c for c in _FLOAT_CODES}
BF16_INLINE = {ops.inline_float_bits(c, 32) >> 16: c for c in _FLOAT_CODES}

_F32_MIN_NORMAL = 2.0 ** -126
_F16_MIN_NORMAL = 2.0 ** -14


class ImmError(Exception):
    """The immediate cannot be an operand of this type."""


def int_code(v: int):
    """Inline code of a small integer, or None."""
    if 0 <= v <= 64:
        return ops.INT_ZERO + v
    if -16 <= v < 0:
        return ops.INT_POS_LAST - v
    return None


def f32_bits(d: float) -> int:
    """IEEE single bits of d; ImmError when d overflows or underflows single precision."""
    try:
        b = struct.unpack('<I', struct.pack('<f', d))[0]
    except OverflowError:
        raise ImmError("overflow") from None
    if d != 0.0 and math.isfinite(d):
        f = struct.unpack('<f', struct.pack('<I', b))[0]
        if abs(f) < _F32_MIN_NORMAL and f != d:
            raise ImmError("underflow")
    return b


def f16_bits(d: float) -> int:
    try:
        b = struct.unpack('<H', struct.pack('<e', d))[0]
    except OverflowError:
        raise ImmError("overflow") from None
    if d != 0.0 and math.isfinite(d):
        f = struct.unpack('<e', struct.pack('<H', b))[0]
        if abs(f) < _F16_MIN_NORMAL and f != d:
            raise ImmError("underflow")
    return b


def bf16_bits(d: float) -> int:
    """bfloat16 bits of d (round to nearest even); ImmError on overflow or underflow."""
    if math.isnan(d):
        return 0x7FC0
    b = f32_bits(d) if abs(d) >= 2.0 ** -126 or d == 0.0 else struct.unpack('<I', struct.pack('<f', d))[0]
    lower = b & 0xFFFF
    upper = b >> 16
    if lower > 0x8000 or (lower == 0x8000 and upper & 1):
        upper += 1
    if (upper & 0x7F80) == 0x7F80 and math.isfinite(d):
        raise ImmError("overflow")
    if d != 0.0 and (upper & 0x7F80) == 0:
        back = struct.unpack('<f', struct.pack('<I', upper << 16))[0]
        if back != d:
            raise ImmError("underflow")
    return upper & 0xFFFF


def f64_bits(d: float) -> int:
    return struct.unpack('<Q', struct.pack('<d', d))[0]


def _sext(v: int, bits: int) -> int:
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def encode_float(d: float, otype: str):
    """(code, literal) for a floating-point token of value d (literal None when inline)."""
    if otype in ('f32', 'i32', 'pki16'):
        b = f32_bits(d)
        c = int_code(_sext(b, 32)) if b == 0 else F32_INLINE.get(b)
        return (c, None) if c is not None else (ops.LITERAL, b)
    if otype in ('f16', 'pkf16'):
        b = f16_bits(d)
        c = ops.INT_ZERO if b == 0 else F16_INLINE.get(b)
        return (c, None) if c is not None else (ops.LITERAL, b)
    if otype == 'pkbf16':
        b = f32_bits(d)
        c = ops.INT_ZERO if b == 0 else F32_INLINE.get(b)
        return (c, None) if c is not None else (ops.LITERAL, bf16_bits(d))
    if otype == 'bf16':
        h = f16_bits(d)
        c = ops.INT_ZERO if h == 0 else F16_INLINE.get(h)
        return (c, None) if c is not None else (ops.LITERAL, bf16_bits(d))
    if otype == 'i16':
        h = f16_bits(d)
        c = ops.INT_ZERO if h == 0 else F16_INLINE.get(h)
        if c is not None:
            return c, None
        return ops.LITERAL, f32_bits(d)
    b = f64_bits(d)
    c = ops.INT_ZERO if b == 0 else F64_INLINE.get(b)
    if c is not None:
        return c, None
    if otype == 'f64':
        return ops.LITERAL, b >> 32
    raise ImmError("not an inline constant")


def apply_fp_mods(v: int, size: int, neg: bool, abs_: bool) -> int:
    sign = 1 << (size - 1)
    v &= M64
    if abs_:
        v &= ~sign
    if neg:
        v ^= sign
    return v


_FP_SIZE = {'f16': 16, 'f32': 32, 'f64': 64, 'pkf16': 32, 'pki16': 32, 'i32': 32, 'i16': 16, 'i64': 64}


def encode_int(v: int, otype: str, neg: bool = False, abs_: bool = False):
    """(code, literal) for an integer token of value v (a signed 64-bit value)."""
    if otype in ('f32', 'i32', 'pki16', 'pkf16', 'pkbf16'):
        if not (-0x80000000 <= v <= M32):
            raise ImmError("out of range")
        if neg or abs_:
            v = apply_fp_mods(v, 32, neg, abs_)
        v32 = v & M32
        c = int_code(_sext(v32, 32))
        if c is None:
            c = (F16_INLINE if otype == 'pkf16' else BF16_INLINE if otype == 'pkbf16' else F32_INLINE).get(v32)
        return (c, None) if c is not None else (ops.LITERAL, v32)
    if otype in ('f16', 'i16', 'bf16'):
        if not (-0x8000 <= v <= 0xFFFF):
            raise ImmError("out of range")
        if otype == 'i16':
            c = int_code(v)
            return (c, None) if c is not None else (ops.LITERAL, v & 0xFFFF)
        if neg or abs_:
            v = apply_fp_mods(v, 16, neg, abs_)
        v16 = v & 0xFFFF
        c = int_code(_sext(v16, 16))
        if c is None:
            c = (BF16_INLINE if otype == 'bf16' else F16_INLINE).get(v16)
        return (c, None) if c is not None else (ops.LITERAL, v16)
    # 64-bit operands
    if neg or abs_:
        v = _sext(apply_fp_mods(v, 64, neg, abs_), 64)
    c = int_code(v)
    if c is None:
        c = F64_INLINE.get(v & M64)
    if c is not None:
        return c, None
    if not (-0x80000000 <= v <= M32):
        raise ImmError("out of range")
    if otype == 'f64':
        # a 32-bit literal of a double operand is its high half
        c = F64_INLINE.get((v & M32) << 32)
        if c is not None:
            return c, None
    return ops.LITERAL, v & M32
