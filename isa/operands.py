"""Operand encodings shared by the assembler, disassembler and emulator: the 9-bit source field
(scalar registers, special registers, inline constants, literal and DPP markers), register names
as LLVM prints them, and inline constant values per operand type."""

import struct

# 9-bit source operand codes (SrcField) on gfx11.
SGPR_MAX = 105
VCC_LO, VCC_HI = 106, 107
TTMP_FIRST, TTMP_LAST = 108, 123
NULL = 124
M0 = 125
EXEC_LO, EXEC_HI = 126, 127
INT_ZERO = 128               # 128..192 are 0..64, 193..208 are -1..-16
INT_POS_LAST = 192
INT_NEG_LAST = 208
DPP8 = 233
DPP8_FI = 234
SHARED_BASE, SHARED_LIMIT, PRIVATE_BASE, PRIVATE_LIMIT = 235, 236, 237, 238
POPS_EXITING_WAVE_ID = 239
FLOAT_FIRST, FLOAT_LAST = 240, 248   # 0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 4.0, -4.0, 1/(2*pi)
DPP16 = 250
VCCZ, EXECZ, SCC = 251, 252, 253
LDS_DIRECT = 254
LITERAL = 255
VGPR_FIRST = 256

# Names of the single special registers and constant sources, as LLVM prints them for 32-bit use.
SPECIAL_NAMES = {
    VCC_LO: "vcc_lo", VCC_HI: "vcc_hi", NULL: "null", M0: "m0", EXEC_LO: "exec_lo", EXEC_HI: "exec_hi",
    SHARED_BASE: "src_shared_base", SHARED_LIMIT: "src_shared_limit",
    PRIVATE_BASE: "src_private_base", PRIVATE_LIMIT: "src_private_limit",
    POPS_EXITING_WAVE_ID: "src_pops_exiting_wave_id", VCCZ: "src_vccz", EXECZ: "src_execz",
    SCC: "src_scc", LDS_DIRECT: "src_lds_direct",
}
# Register pairs that have a 64-bit name of their own.
PAIR_NAMES = {VCC_LO: "vcc", EXEC_LO: "exec"}

# Inline float constants: code -> value. 248 is 1/(2*pi), rounded per operand type.
INLINE_FLOATS = {240: 0.5, 241: -0.5, 242: 1.0, 243: -1.0, 244: 2.0, 245: -2.0, 246: 4.0, 247: -4.0}
INV_2PI_F32_BITS = 0x3E22F983
INV_2PI_F16_BITS = 0x3118
INV_2PI_F64_BITS = 0x3FC45F306DC9C882
INV_2PI_TEXT_F32 = "0.15915494"           # how LLVM prints code 248 for 16- and 32-bit operands
INV_2PI_TEXT_F64 = "0.15915494309189532"  # and for 64-bit operands


def inline_int(code: int) -> int | None:
    """The integer an inline-constant code stands for, or None."""
    if INT_ZERO <= code <= INT_POS_LAST:
        return code - INT_ZERO
    if INT_POS_LAST < code <= INT_NEG_LAST:
        return INT_POS_LAST - code
    return None


def int_code(value: int) -> int | None:
    """The inline-constant code of an integer in -16..64, or None."""
    if 0 <= value <= 64:
        return INT_ZERO + value
    if -16 <= value < 0:
        return INT_POS_LAST - value
    return None


def f32_bits(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def f16_bits(x: float) -> int:
    return struct.unpack("<H", struct.pack("<e", x))[0]


def f64_bits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def inline_float_bits(code: int, bits: int) -> int | None:
    """The bit pattern an inline float code stands for in an operand of `bits` width
    (16, 32 or 64), or None if the code is not an inline float."""
    if code == FLOAT_LAST:
        return {16: INV_2PI_F16_BITS, 32: INV_2PI_F32_BITS, 64: INV_2PI_F64_BITS}[bits]
    value = INLINE_FLOATS.get(code)
    if value is None:
        return None
    return {16: f16_bits, 32: f32_bits, 64: f64_bits}[bits](value)


def inline_value_bits(code: int, bits: int, is_float: bool) -> int | None:
    """The bits an inline constant code puts into an operand of the given width and kind.
    Integer constants are sign-extended to the width; float constants are the value in that
    float format (integer operands also accept float codes and see their f32 pattern)."""
    i = inline_int(code)
    if i is not None:
        return i & ((1 << bits) - 1)
    if FLOAT_FIRST <= code <= FLOAT_LAST:
        return inline_float_bits(code, bits if is_float else min(bits, 32))
    return None


def vgpr_name(first: int, count: int = 1) -> str:
    return f"v{first}" if count == 1 else f"v[{first}:{first + count - 1}]"


def sgpr_name(first: int, count: int = 1) -> str:
    return f"s{first}" if count == 1 else f"s[{first}:{first + count - 1}]"


def ttmp_name(first: int, count: int = 1) -> str:
    return f"ttmp{first}" if count == 1 else f"ttmp[{first}:{first + count - 1}]"


def scalar_name(code: int, count: int = 1) -> str | None:
    """LLVM's name for a scalar register operand of `count` dwords starting at source code
    `code`, or None where that code names no such register (e.g. an odd vcc_hi pair)."""
    if code <= SGPR_MAX:
        return sgpr_name(code, count) if code + count - 1 <= SGPR_MAX else None
    if TTMP_FIRST <= code <= TTMP_LAST:
        return ttmp_name(code - TTMP_FIRST, count) if code + count - 1 <= TTMP_LAST else None
    if count == 1:
        return SPECIAL_NAMES.get(code)
    if count == 2:
        if code in PAIR_NAMES:
            return PAIR_NAMES[code]
        if code in (NULL, SHARED_BASE, SHARED_LIMIT, PRIVATE_BASE, PRIVATE_LIMIT, POPS_EXITING_WAVE_ID,
                    SCC, VCCZ, EXECZ):
            return SPECIAL_NAMES[code]
    return None
