"""The disassembler: machine code -> LLVM's canonical gfx1100 assembly text.

`disassemble(data)` prints what `llvm-mc -mcpu=gfx1100 --disassemble` prints, one instruction
per line; words LLVM's decoder rejects print as `.long 0x...`, one word at a time, as a
disassembler that resumes at the next word would. `disassemble_lines` gives the same as
(offset, size, text) rows and `disassemble_inst` prints one decoded `Inst`.

Printing goes through the decoder (isa.decode) and then through a per-opcode plan: each
operand's LLVM type (f16/f32/f64, integer, packed), the registers it spans, its register class
and the modifiers the opcode takes, worked out once per opcode from the table and cached.
"""

from __future__ import annotations

import json
import struct
from functools import cache
from pathlib import Path

from isa import operands as opd
from isa.decode import Inst, decode
from isa.image import IMAGE_DIM_NAMES, NSA_SLOTS, ImageInfo
from isa.tables import OpInfo, table


class _Reject(Exception):
    """The words are no instruction LLVM's decoder accepts."""


# ---------------------------------------------------------------------------------------------
# Immediate values as LLVM prints them

def _f32(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def _f64(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def _f16(x: float) -> int:
    return struct.unpack("<H", struct.pack("<e", x))[0]


_FLOAT_TEXT = {0.5: "0.5", -0.5: "-0.5", 1.0: "1.0", -1.0: "-1.0", 2.0: "2.0", -2.0: "-2.0", 4.0: "4.0",
               -4.0: "-4.0"}
F32_TEXT = {_f32(v): t for v, t in _FLOAT_TEXT.items()} | {opd.INV_2PI_F32_BITS: opd.INV_2PI_TEXT_F32}
F16_TEXT = {_f16(v): t for v, t in _FLOAT_TEXT.items()} | {opd.INV_2PI_F16_BITS: opd.INV_2PI_TEXT_F32}
F64_TEXT = {_f64(v): t for v, t in _FLOAT_TEXT.items()} | {opd.INV_2PI_F64_BITS: opd.INV_2PI_TEXT_F64}
_FLOAT_CODE_VALUE = {240: 0.5, 241: -0.5, 242: 1.0, 243: -1.0, 244: 2.0, 245: -2.0, 246: 4.0, 247: -4.0}


def _sext(v: int, bits: int) -> int:
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def imm32_text(v: int) -> str:
    v &= 0xFFFFFFFF
    s = _sext(v, 32)
    if -16 <= s <= 64:
        return str(s)
    return F32_TEXT.get(v) or f"0x{v:x}"


def imm16f_text(v: int) -> str:
    v &= 0xFFFF
    s = _sext(v, 16)
    if -16 <= s <= 64:
        return str(s)
    return F16_TEXT.get(v) or f"0x{v:x}"


def imm64_text(v: int) -> str:
    v &= (1 << 64) - 1
    s = _sext(v, 64)
    if -16 <= s <= 64:
        return str(s)
    t = F64_TEXT.get(v)
    if t:
        return t
    if v & 0xFFFFFFFF == 0:
        return f"0x{v >> 32:x}"
    return f"0x{v:x}"


# Operand types, as LLVM prints constants in them:
#   i32 f32    32-bit: literal values that equal an inline constant print as that constant
#   f16 i16    16-bit: the literal's low half (i16 also prints f32 inline patterns by value)
#   f64 i64    64-bit: an f64 literal is the high dword; an integer one is zero-extended
#   pk_f16 pk_i16 bf16   packed and bf16 operands: 32-bit literals with 16-bit float patterns
_INLINE_FLOAT_TEXT = {240: "0.5", 241: "-0.5", 242: "1.0", 243: "-1.0", 244: "2.0", 245: "-2.0", 246: "4.0",
                      247: "-4.0", 248: opd.INV_2PI_TEXT_F32}


def _inline_text(code: int, ty: str) -> str:
    i = opd.inline_int(code)
    if i is not None:
        return str(i)
    if ty == "i16":
        return f"0x{_f16(_FLOAT_CODE_VALUE[code]) if code != 248 else opd.INV_2PI_F16_BITS:x}"
    if code == 248 and ty in ("f64", "i64"):
        return opd.INV_2PI_TEXT_F64
    return _INLINE_FLOAT_TEXT[code]


def literal_text(lit: int, ty: str) -> str:
    if ty in ("i32", "f32"):
        return imm32_text(lit)
    if ty == "f16":
        return imm16f_text(lit)
    if ty == "f64":
        return imm64_text(lit << 32)
    if ty == "i64":
        return imm64_text(lit)
    s = _sext(lit, 32)
    if ty == "i16":
        if -16 <= s <= 64:
            return str(s)
        return F32_TEXT.get(lit) or f"0x{lit & 0xFFFF:x}"
    if ty == "bf16":
        s16 = _sext(lit, 16)
        return str(s16) if -16 <= s16 <= 64 else f"0x{lit:x}"
    if -16 <= s <= 64:
        return str(s)
    if ty == "pk_f16" and lit in F16_TEXT:
        return F16_TEXT[lit]
    return f"0x{lit:x}"


def const_text(code: int, ty: str, literal: int | None) -> str:
    """Text of an inline constant or the literal in an operand of type ty."""
    if code == opd.LITERAL:
        if literal is None:
            raise _Reject
        return literal_text(literal, ty)
    return _inline_text(code, ty)


def is_const(code: int) -> bool:
    return opd.INT_ZERO <= code <= opd.INT_NEG_LAST or opd.FLOAT_FIRST <= code <= opd.FLOAT_LAST or code == opd.LITERAL


# ---------------------------------------------------------------------------------------------
# Registers

def vgpr(first: int, n: int = 1) -> str:
    if n == 1:
        return f"v{first}"
    if first + n - 1 > 255:
        raise _Reject
    return f"v[{first}:{first + n - 1}]"


def _align(code: int, n: int) -> int:
    return code & ~(1 if n == 2 else 3) if n > 1 else code


def sreg(code: int, n: int = 1) -> str | None:
    """LLVM's name of a scalar register operand of n dwords at 7/8-bit code (None: no register)."""
    if code <= opd.SGPR_MAX:
        if n == 1:
            return f"s{code}"
        base = _align(code, n)
        if base + n - 1 > opd.SGPR_MAX:
            return None
        return f"s[{base}:{base + n - 1}]"
    if opd.TTMP_FIRST <= code <= opd.TTMP_LAST:
        t = code - opd.TTMP_FIRST
        if n == 1:
            return f"ttmp{t}"
        base = _align(t, n)
        if base + n - 1 > 15:
            return None
        return f"ttmp[{base}:{base + n - 1}]"
    if n == 1:
        return opd.SPECIAL_NAMES.get(code)
    if n == 2:
        if code == opd.VCC_LO:
            return "vcc"
        if code == opd.EXEC_LO:
            return "exec"
        if code in (opd.NULL, opd.SHARED_BASE, opd.SHARED_LIMIT, opd.PRIVATE_BASE, opd.PRIVATE_LIMIT,
                    opd.POPS_EXITING_WAVE_ID, opd.SCC, opd.VCCZ, opd.EXECZ):
            return opd.SPECIAL_NAMES[code]
        return None
    if code == opd.NULL:
        return "null"
    return None


def src_text(code: int, ty: str, n: int, literal: int | None) -> str:
    """A 9-bit source operand: VGPR, scalar register, special source or constant."""
    if code >= opd.VGPR_FIRST:
        return vgpr(code - opd.VGPR_FIRST, n)
    if code <= opd.EXEC_HI:
        name = sreg(code, n)
        if name is None:
            raise _Reject
        return name
    if is_const(code):
        return const_text(code, ty, literal)
    name = sreg(code, n) if code in opd.SPECIAL_NAMES else None
    if name is None:
        raise _Reject
    return name


# ---------------------------------------------------------------------------------------------
# Per-opcode operand plans

_DTYPE_TYPE = {
    "NUM_F16": "f16", "NUM_BF16": "bf16", "NUM_F32": "f32", "NUM_F64": "f64",
    "NUM_I16": "i16", "NUM_U16": "i16", "NUM_B16": "i16",
    "NUM_I64": "i64", "NUM_U64": "i64", "NUM_B64": "i64", "NUM_M64": "i64",
    "NUM_PK2_F16": "pk_f16", "NUM_PK2_BF16": "pk_i16",
    "WMMA_DC_F32": "f64", "WMMA_DC_F16": "f64", "WMMA_DC_BF16": "f64", "WMMA_DC_I32": "f64",
}
# Where LLVM's operand type differs from what the table's data format suggests.
_TYPE_OVERRIDES = {
    ("V_CMP_CLASS_F16_E64", "src1"): "i32", ("V_CMPX_CLASS_F16_E64", "src1"): "i32",
    ("V_ALIGNBIT_B32", "src2"): "i32", ("V_ALIGNBYTE_B32", "src2"): "i32", ("V_LDEXP_F16_E32", "vsrc1"): "i16",
} | {(name, f): "f16" for name in ("V_FMA_MIX_F32", "V_FMA_MIXLO_F16", "V_FMA_MIXHI_F16")
     for f in ("src0", "src1", "src2")}
# VALU sources that take registers only: LLVM prints constants there marked /*Invalid immediate*/.
_REG_ONLY_SRC = frozenset(
    [(n + sfx, "src0") for n in ("V_READFIRSTLANE_B32", "V_MOVRELS_B32", "V_MOVRELSD_B32", "V_MOVRELSD_2_B32",
                                 "V_SWAP_B32", "V_PERMLANE64_B32", "V_SWAPREL_B32") for sfx in ("_E32", "_E64")]
    + [("V_CNDMASK_B32_E64", "src2"), ("V_CNDMASK_B16", "src2"), ("V_MQSAD_U32_U8", "src2"),
       ("V_PERMLANE16_B32", "src0"), ("V_PERMLANEX16_B32", "src0"), ("V_READLANE_B32", "src0")]
    + [(o.amd_name, f) for o in table().spaces["VOP3P"].values() if "WMMA" in o.amd_name for f in ("src0", "src1")])


def _ty(op: OpInfo, fld: str, default: str = "i32") -> str:
    o = _operand(op, fld)
    if o is None:
        return default
    return _TYPE_OVERRIDES.get((op.amd_name, fld)) or _DTYPE_TYPE.get(o.dtype, "i32")


def _operand(op: OpInfo, fld: str):
    o = op.operands.get(fld)
    if o is None and fld == "src0":
        o = op.operands.get("vsrc0")
    return o


def _regs(op: OpInfo, fld: str, default: int = 1) -> int:
    o = _operand(op, fld)
    return default if o is None else o.regs


def _has(op: OpInfo, fld: str) -> bool:
    return _operand(op, fld) is not None


# ---------------------------------------------------------------------------------------------
# Scalar ALU

_SALU_REG_ONLY = frozenset({"S_SETPC_B64", "S_RFE_B64", "S_MOVRELS_B32", "S_MOVRELS_B64"})
_SALU_TYPE = {"i16": "i32", "f16": "i32", "pk_i16": "i32", "pk_f16": "i32", "pk_bf16": "i32"}


def _ssrc(inst: Inst, fld: str, op: OpInfo) -> str:
    code = inst.fields[fld]
    n = _regs(op, fld)
    if op.amd_name in _SALU_REG_ONLY and is_const(code):
        return const_text(code, "i32", inst.literal) + "/*Invalid immediate*/"
    text = src_text(code, _SALU_TYPE.get(_ty(op, fld), _ty(op, fld)), n, inst.literal)
    if code == opd.LDS_DIRECT:
        if n > 1:
            raise _Reject
        text += f"/*Invalid register, operand has '{'SReg_32' if n == 1 else 'SReg_64'}' register class*/"
    return text


def _sdst(code: int, n: int) -> str:
    name = sreg(code, n)
    if name is None:
        raise _Reject
    return name


def _p_sop1(inst: Inst, op: OpInfo) -> str:
    args = []
    if _has(op, "sdst"):
        args.append(_sdst(inst.fields["sdst"], _regs(op, "sdst")))
    if _has(op, "ssrc0"):
        if op.operands["ssrc0"].kind == "SENDMSG_RTN":
            args.append(sendmsg_text(inst.fields["ssrc0"]))
        else:
            args.append(_ssrc(inst, "ssrc0", op))
    return _join(op.mnemonic, args)


def _p_sop2(inst: Inst, op: OpInfo) -> str:
    args = [_sdst(inst.fields["sdst"], _regs(op, "sdst")), _ssrc(inst, "ssrc0", op), _ssrc(inst, "ssrc1", op)]
    return _join(op.mnemonic, args)


def _p_sopc(inst: Inst, op: OpInfo) -> str:
    return _join(op.mnemonic, [_ssrc(inst, "ssrc0", op), _ssrc(inst, "ssrc1", op)])


HWREG_NAMES = {1: "HW_REG_MODE", 2: "HW_REG_STATUS", 3: "HW_REG_TRAPSTS", 5: "HW_REG_GPR_ALLOC",
               6: "HW_REG_LDS_ALLOC", 7: "HW_REG_IB_STS", 15: "HW_REG_SH_MEM_BASES",
               18: "HW_REG_PERF_SNAPSHOT_PC_LO", 19: "HW_REG_PERF_SNAPSHOT_PC_HI", 20: "HW_REG_FLAT_SCR_LO",
               21: "HW_REG_FLAT_SCR_HI", 23: "HW_REG_HW_ID1", 24: "HW_REG_HW_ID2",
               27: "HW_REG_PERF_SNAPSHOT_DATA", 29: "HW_REG_SHADER_CYCLES"}


def hwreg_text(imm: int) -> str:
    reg, offset, size = imm & 0x3F, (imm >> 6) & 0x1F, ((imm >> 11) & 0x1F) + 1
    name = HWREG_NAMES.get(reg, str(reg))
    if offset == 0 and size == 32:
        return f"hwreg({name})"
    return f"hwreg({name}, {offset}, {size})"


_UC_VERSIONS = {0: "UC_VERSION_GFX7", 4: "UC_VERSION_GFX10", 6: "UC_VERSION_GFX11", 9: "UC_VERSION_GFX12"}
_UC_FLAGS = ((0x2000, "UC_VERSION_W64_BIT"), (0x4000, "UC_VERSION_W32_BIT"), (0x8000, "UC_VERSION_MDP_BIT"))


def version_text(imm: int) -> str:
    if imm & 0x1F00:
        return f"0x{imm:x}"
    text = _UC_VERSIONS.get(imm & 0xFF, str(imm & 0xFF))
    first = True
    for bit, name in _UC_FLAGS:
        if imm & bit:
            text = f"{text}|{name}" if first else f"({text})|{name}"
            first = False
    return text


def _p_sopk(inst: Inst, op: OpInfo) -> str:
    name = op.amd_name
    imm = inst.fields["simm16"]
    sdst = inst.fields["sdst"]
    if name == "S_GETREG_B32":
        return _join(op.mnemonic, [_sdst(sdst, 1), hwreg_text(imm)])
    if name == "S_SETREG_B32":
        return _join(op.mnemonic, [hwreg_text(imm), _sdst(sdst, 1)])
    if name == "S_SETREG_IMM32_B32":
        return _join(op.mnemonic, [hwreg_text(imm), imm32_text(inst.literal)])
    if name == "S_VERSION":
        return _join(op.mnemonic, [version_text(imm)])
    if name in ("S_CALL_B64",):
        return _join(op.mnemonic, [_sdst(sdst, 2), str(imm)])
    if name in ("S_SUBVECTOR_LOOP_BEGIN", "S_SUBVECTOR_LOOP_END"):
        return _join(op.mnemonic, [_sdst(sdst, 1), str(imm)])
    return _join(op.mnemonic, [_sdst(sdst, _regs(op, "sdst")), f"0x{imm:x}"])


SENDMSG_NAMES = {1: "MSG_INTERRUPT", 2: "MSG_HS_TESSFACTOR", 3: "MSG_DEALLOC_VGPRS", 5: "MSG_STALL_WAVE_GEN",
                 6: "MSG_HALT_WAVES", 9: "MSG_GS_ALLOC_REQ"} | {v: k for k, v in table().sendmsg.items()
                                                                if k != "MSG_RTN_ILLEGAL_MSG"}


def sendmsg_text(imm: int) -> str:
    name = SENDMSG_NAMES.get(imm & 0xFF)
    if name is not None:
        return f"sendmsg({name})"
    if imm <= 0xFF:
        return f"sendmsg({imm}, 0, 0)"
    return str(imm)


def waitcnt_text(imm: int) -> str:
    vm, exp, lgkm = (imm >> 10) & 0x3F, imm & 7, (imm >> 4) & 0x3F
    parts = []
    if vm != 0x3F:
        parts.append(f"vmcnt({vm})")
    if exp != 7:
        parts.append(f"expcnt({exp})")
    if lgkm != 0x3F:
        parts.append(f"lgkmcnt({lgkm})")
    if not parts:
        return "vmcnt(63) expcnt(7) lgkmcnt(63)"
    return " ".join(parts)


_DELAY_ID = ("NO_DEP", "VALU_DEP_1", "VALU_DEP_2", "VALU_DEP_3", "VALU_DEP_4", "TRANS32_DEP_1",
             "TRANS32_DEP_2", "TRANS32_DEP_3", "FMA_ACCUM_CYCLE_1", "SALU_CYCLE_1", "SALU_CYCLE_2",
             "SALU_CYCLE_3")
_DELAY_SKIP = ("SAME", "NEXT", "SKIP_1", "SKIP_2", "SKIP_3", "SKIP_4")


def delay_text(imm: int) -> str:
    id0, skip, id1 = imm & 0xF, (imm >> 4) & 7, (imm >> 7) & 0xF
    parts = []
    if id0:
        parts.append(f"instid0({_DELAY_ID[id0] if id0 < len(_DELAY_ID) else '/* invalid instid value */'})")
    if skip:
        parts.append(f"instskip({_DELAY_SKIP[skip] if skip < len(_DELAY_SKIP) else '/* invalid instskip value */'})")
    if id1:
        parts.append(f"instid1({_DELAY_ID[id1] if id1 < len(_DELAY_ID) else '/* invalid instid value */'})")
    return " | ".join(parts) if parts else "0"


# s_waitcnt_depctr fields: name, low bit, width (each field's default is all ones).
_DEPCTR = (("depctr_hold_cnt", 7, 1), ("depctr_sa_sdst", 0, 1), ("depctr_va_vdst", 12, 4),
           ("depctr_va_sdst", 9, 3), ("depctr_va_ssrc", 8, 1), ("depctr_va_vcc", 1, 1),
           ("depctr_vm_vsrc", 2, 3))


def depctr_text(imm: int) -> str:
    if imm & 0x60:
        return f"0x{imm:x}"
    vals = [(name, (imm >> lo) & ((1 << w) - 1), (1 << w) - 1) for name, lo, w in _DEPCTR]
    shown = [(n, v) for n, v, d in vals if v != d] or [(n, v) for n, v, _ in vals]
    return " ".join(f"{n}({v})" for n, v in shown)


def u16_text(imm: int) -> str:
    return str(imm) if imm <= 64 else f"0x{imm:x}"


_SOPP_NOARG = {"S_ENDPGM", "S_ENDPGM_SAVED", "S_WAKEUP", "S_ICACHE_INV", "S_BARRIER", "S_WAIT_IDLE",
               "S_TTRACEDATA", "S_CODE_END", "S_ENDPGM_ORDERED_PS_DONE"}
_SOPP_HEX = {"S_ROUND_MODE", "S_SET_INST_PREFETCH_DISTANCE", "S_CLAUSE", "S_TTRACEDATA_IMM", "S_WAIT_EVENT"}
_SOPP_LABEL = {"S_BRANCH", "S_CBRANCH_SCC0", "S_CBRANCH_SCC1", "S_CBRANCH_VCCZ", "S_CBRANCH_VCCNZ",
               "S_CBRANCH_EXECZ", "S_CBRANCH_EXECNZ", "S_CBRANCH_CDBGSYS", "S_CBRANCH_CDBGUSER",
               "S_CBRANCH_CDBGSYS_OR_USER", "S_CBRANCH_CDBGSYS_AND_USER"}


def _p_sopp(inst: Inst, op: OpInfo) -> str:
    name = op.amd_name
    imm = inst.fields["simm16"]
    if name in _SOPP_NOARG:
        if imm:
            if name == "S_ENDPGM":
                return f"{op.mnemonic} {imm}"
            raise _Reject
        return op.mnemonic
    if name in _SOPP_HEX:
        return f"{op.mnemonic} 0x{imm:x}"
    if name == "S_WAITCNT_DEPCTR":
        return f"{op.mnemonic} {depctr_text(imm)}"
    if name in _SOPP_LABEL:
        return f"{op.mnemonic} {imm}"
    if name == "S_WAITCNT":
        return f"{op.mnemonic} {waitcnt_text(imm)}"
    if name == "S_DELAY_ALU":
        return f"{op.mnemonic} {delay_text(imm)}"
    if name in ("S_SENDMSG", "S_SENDMSGHALT"):
        return f"{op.mnemonic} {sendmsg_text(imm)}"
    return f"{op.mnemonic} {u16_text(imm)}"


# ---------------------------------------------------------------------------------------------
# Scalar memory

def _smem_base(code: int, n: int) -> str:
    name = sreg(code, n)
    if name is not None:
        return name
    if n == 4 and code in (opd.VCC_LO, opd.EXEC_LO):
        return f"{sreg(code, 2)}/*Invalid register, operand has 'SReg_128' register class*/"
    raise _Reject


def _smem_data(code: int, n: int) -> str:
    name = sreg(code, n)
    if n >= 4 and name is None and code in (opd.VCC_LO, opd.EXEC_LO):
        return f"{sreg(code, 2)}/*Invalid register, operand has 'SReg_{32 * n}' register class*/"
    if name is None:
        raise _Reject
    if n == 1 and code in (opd.M0, opd.EXEC_LO, opd.EXEC_HI):
        name += "/*Invalid register, operand has 'SReg_32_XM0_XEXEC' register class*/"
    elif n == 2 and code == opd.EXEC_LO:
        name += "/*Invalid register, operand has 'SReg_64_XEXEC' register class*/"
    return name


def _p_smem(inst: Inst, op: OpInfo) -> str:
    f = inst.fields
    name = op.amd_name
    if name in ("S_GL1_INV", "S_DCACHE_INV"):
        if f["glc"] or f["dlc"]:
            raise _Reject
        return op.mnemonic
    if name.startswith("S_ATC_PROBE"):
        if f["glc"] or f["dlc"]:
            raise _Reject
        data = u16_text(f["sdata"])
    else:
        data = _smem_data(f["sdata"], _regs(op, "sdata"))
    args = [data, _smem_base(f["sbase"] << 1, _regs(op, "sbase", 2))]
    offset = _sext(f["offset"], 21)
    mods = []
    if offset == 0:
        args.append(_sdst(f["soffset"], 1))
    elif f["soffset"] == opd.NULL:
        args.append(_hex_signed(offset))
    else:
        args.append(_sdst(f["soffset"], 1))
        mods.append(f"offset:{_hex_signed(offset)}")
    if f["glc"]:
        mods.append("glc")
    if f["dlc"]:
        mods.append("dlc")
    return _join(op.mnemonic, args, mods)


def _hex_signed(v: int) -> str:
    return f"-0x{-v:x}" if v < 0 else f"0x{v:x}"


def _join(mn: str, args: list[str], mods: list[str] | tuple = ()) -> str:
    text = mn
    if args:
        text += " " + ", ".join(args)
    if mods:
        text += " " + " ".join(mods)
    return text


# ---------------------------------------------------------------------------------------------
# Vector ALU

def _float_type(ty: str) -> bool:
    return ty in ("f16", "f32", "f64")


def _per_op(fn):
    """Caches a function of an OpInfo by (space, opcode)."""
    memo: dict = {}

    def wrapper(op: OpInfo):
        key = (op.space, op.opcode)
        if key not in memo:
            memo[key] = fn(op)
        return memo[key]
    return wrapper


@_per_op
def _e64_twin(op: OpInfo) -> bool:
    """Whether a VOP1/VOP2/VOPC op also exists as VOP3 (LLVM then prints _e32 / _e64)."""
    t = table()
    name = op.amd_name
    if op.space in ("VOP1", "VOP2", "VOPC"):
        base = name[:-4] if name.endswith("_E32") else name
        return any(o.amd_name in (base + "_E64", base) for o in t.by_mnemonic.get(op.mnemonic, {}).values()
                   if o.space in ("VOP3", "VOP3SD"))
    if op.space in ("VOP3", "VOP3SD"):
        return name.endswith("_E64") or any(o.space == "VOP2" for o in t.by_mnemonic.get(op.mnemonic, {}).values())
    return False


@_per_op
def _vop_info(op: OpInfo) -> dict:
    """What printing a VALU op needs: its sources (field, type, registers), destination, and which
    modifiers it takes."""
    srcs = []
    for f in ("src0", "src1", "src2"):
        o = _operand(op, f)
        if o is not None:
            if o.dtype == "NUM_M64":
                srcs.append((f, "mask", 1))
            else:
                srcs.append((f, _ty(op, f), o.regs))
    vdst = _operand(op, "vdst")
    info = {
        "srcs": srcs,
        "dst_regs": vdst.regs if vdst is not None else 0,
        "dst_kind": vdst.kind if vdst is not None else None,
        "fmods": any(_float_type(t) for _, t, _ in srcs),
        "opsel": any(_operand(op, f) is not None and _operand(op, f).bits == 16 for f in ("src0", "src1", "src2", "vdst")),
        # e32 and DPP forms of 16-bit ops reach only v0..v127 (LLVM's Lo128 register classes)
        "lo128": any(_operand(op, f) is not None and _operand(op, f).bits == 16 for f in ("src0", "vsrc1", "vdst")),
        "src16": _operand(op, "src0") is not None and _operand(op, "src0").bits == 16,
        "dst16": vdst is not None and vdst.bits == 16,
        "true16": op.amd_name in ("V_MOV_B16_E32",),
    }
    return info


def _mod_src(text: str, code: int, neg: int, abs_: int) -> str:
    if abs_:
        text = f"|{text}|"
    if neg:
        text = f"neg({text})" if not abs_ and is_const(code) else "-" + text
    return text


_NO_SUFFIX = frozenset({"v_readfirstlane_b32", "v_pipeflush", "v_nop"})


def _mn(op: OpInfo, enc: str) -> str:
    """Mnemonic with LLVM's encoding suffix: enc is 'e32', 'e64', 'dpp', 'e64_dpp' or ''."""
    if enc in ("e32", "e64") and (not _e64_twin(op) or op.mnemonic in _NO_SUFFIX):
        return op.mnemonic
    return f"{op.mnemonic}_{enc}" if enc else op.mnemonic


_LO128_NOTE = "/*Invalid register, operand has '{}' register class*/"


def _half(code: int) -> str:
    """A true16 register operand: bit 7 of the VGPR field selects the high half."""
    return f"v{code & 0x7F}.{'h' if code & 0x80 else 'l'}"


def _e32_dst(info: dict, code: int) -> str:
    if info["true16"]:
        return _half(code)
    if info["dst16"] and code >= 128:
        raise _Reject
    return vgpr(code, info["dst_regs"] or 1)


# VALU sources that take scalar registers only: LLVM marks a VGPR there with the register class.
_SCALAR_SRC = {("V_WRITELANE_B32", "src0"): "SRegOrLds_32", ("V_WRITELANE_B32", "src1"): "SReg_32",
               ("V_READLANE_B32", "src1"): "SReg_32", ("V_PERMLANE16_B32", "src1"): "SReg_32",
               ("V_PERMLANE16_B32", "src2"): "SReg_32", ("V_PERMLANEX16_B32", "src1"): "SReg_32",
               ("V_PERMLANEX16_B32", "src2"): "SReg_32"}


_VGPR_SRC = {(n, "src0"): "VGPR_32" for n in ("V_PERMLANE16_B32", "V_PERMLANEX16_B32", "V_READLANE_B32")} | {
    (n + "_E64", "src0"): "VGPR_32" for n in ("V_MOVRELS_B32", "V_MOVRELSD_B32", "V_MOVRELSD_2_B32", "V_SWAP_B32",
                                              "V_PERMLANE64_B32", "V_SWAPREL_B32")} | {
    ("V_MQSAD_U32_U8", "src2"): "VReg_128"}


def _not_vgpr(code: int) -> bool:
    """A register LLVM marks as outside a VGPR-only operand's class (null and constants are not)."""
    return (code <= opd.EXEC_HI and code != opd.NULL) or code == opd.LDS_DIRECT


def _mask_operand(code: int, literal: int | None, cls: str = "SReg_1_XEXEC") -> str:
    """A wave32 lane-mask operand (carry in/out, VOPC e64 destination): one scalar register."""
    if is_const(code):
        return const_text(code, "i32", literal) + "/*Invalid immediate*/"
    if code >= opd.VGPR_FIRST:
        return vgpr(code - opd.VGPR_FIRST) + _LO128_NOTE.format(cls)
    text = src_text(code, "i32", 1, literal)
    if code == opd.LDS_DIRECT or (cls.endswith("XEXEC") and code in (opd.EXEC_LO, opd.EXEC_HI)):
        text += _LO128_NOTE.format(cls)
    return text


def _valu_src(inst: Inst, op: OpInfo, fld: str, ty: str, n: int) -> str:
    code = inst.fields[fld]
    if ty == "mask":
        return _mask_operand(code, inst.literal)
    if is_const(code) and (op.amd_name, fld) in _REG_ONLY_SRC:
        return const_text(code, "i32", inst.literal) + "/*Invalid immediate*/"
    text = src_text(code, ty, n, inst.literal)
    if code >= opd.VGPR_FIRST and (op.amd_name, fld) in _SCALAR_SRC:
        text += _LO128_NOTE.format(_SCALAR_SRC[(op.amd_name, fld)])
    elif _not_vgpr(code) and (op.amd_name, fld) in _VGPR_SRC:
        text += _LO128_NOTE.format(_VGPR_SRC[(op.amd_name, fld)])
    elif _not_vgpr(code) and ty in ("f64",) and n >= 2 and "WMMA" in op.amd_name or (
            _not_vgpr(code) and (op.amd_name, fld) in _REG_ONLY_SRC and "WMMA" in op.amd_name):
        text += _LO128_NOTE.format(f"VReg_{32 * n}")
    return text


def _e32_src0(inst: Inst, info: dict, ty: str, n: int) -> str:
    code = inst.fields["src0"]
    if info["true16"] and code >= opd.VGPR_FIRST:
        return _half(code - opd.VGPR_FIRST)
    text = _valu_src(inst, inst.op, "src0", ty, n)
    if info["src16"] and code >= opd.VGPR_FIRST + 128:
        text += _LO128_NOTE.format("VS_32_Lo128")
    return text


def _e32_vsrc1(info: dict, code: int, n: int) -> str:
    text = vgpr(code, n)
    if info["lo128"] and code >= 128:
        text += _LO128_NOTE.format("VGPR_32_Lo128")
    return text


_VGPR_ONLY_SRC0 = frozenset(n + sfx for n in ("V_MOVRELS_B32", "V_MOVRELSD_B32", "V_MOVRELSD_2_B32", "V_SWAP_B32",
                                              "V_PERMLANE64_B32", "V_SWAPREL_B32") for sfx in ("_E32", "_E64"))


def _p_vop1(inst: Inst, op: OpInfo) -> str:
    f = inst.fields
    name = op.amd_name
    if name in ("V_NOP_E32", "V_PIPEFLUSH_E32"):
        if f["vdst"]:
            raise _Reject
        return _mn(op, "e32")
    info = _vop_info(op)
    args = []
    if name == "V_READFIRSTLANE_B32_E32":
        args.append(_sdst(f["vdst"], 1))
    else:
        args.append(_e32_dst(info, f["vdst"]))
    _, ty, n = info["srcs"][0] if info["srcs"] else ("src0", "i32", 1)
    src = _e32_src0(inst, info, ty, n)
    if f["src0"] <= opd.EXEC_HI and f["src0"] != opd.NULL and name == "V_READFIRSTLANE_B32_E32":
        src += _LO128_NOTE.format("VRegOrLds_32")
    elif _not_vgpr(f["src0"]) and name in _VGPR_ONLY_SRC0:
        src += _LO128_NOTE.format("VGPR_32")
    args.append(src)
    return _join(_mn(op, "e32"), args)


def _p_vop2(inst: Inst, op: OpInfo) -> str:
    f = inst.fields
    name = op.amd_name
    info = _vop_info(op)
    types = {fl: (ty, n) for fl, ty, n in info["srcs"]}
    ty0, n0 = types.get("src0", ("i32", 1))
    n1 = _regs(op, "vsrc1")
    s0 = _e32_src0(inst, info, ty0, n0)
    if info["lo128"] and f["vsrc1"] >= 128 and name in ("V_LDEXP_F16_E32", "V_FMAAK_F16_E32", "V_FMAMK_F16_E32"):
        raise _Reject
    s1 = _e32_vsrc1(info, f["vsrc1"], n1)
    dst = _e32_dst(info, f["vdst"])
    mn = _mn(op, "e32")
    if "FMAMK" in name:
        return _join(mn, [dst, s0, f"0x{inst.literal:x}", s1])
    if "FMAAK" in name:
        return _join(mn, [dst, s0, s1, f"0x{inst.literal:x}"])
    if name == "V_CNDMASK_B32_E32":
        return _join(mn, [dst, s0, s1, "vcc_lo"])
    if name in ("V_ADD_CO_CI_U32_E32", "V_SUB_CO_CI_U32_E32", "V_SUBREV_CO_CI_U32_E32"):
        return _join(mn, [dst, "vcc_lo", s0, s1, "vcc_lo"])
    return _join(mn, [dst, s0, s1])


def _p_vopc(inst: Inst, op: OpInfo) -> str:
    f = inst.fields
    info = _vop_info(op)
    types = {fl: (ty, n) for fl, ty, n in info["srcs"]}
    ty0, n0 = types.get("src0", ("i32", 1))
    s0 = _e32_src0(inst, info, ty0, n0)
    s1 = _e32_vsrc1(info, f["vsrc1"], _regs(op, "vsrc1"))
    if op.amd_name.startswith("V_CMPX"):
        return _join(_mn(op, "e32"), [s0, s1])
    return _join(_mn(op, "e32"), ["vcc_lo", s0, s1])


_OMOD = ("", "mul:2", "mul:4", "div:2")
_MODS_PATH = Path(__file__).resolve().parent / "data" / "vop3_modifiers.json"


@cache
def _modifier_table() -> dict:
    """(space, opcode) -> (letters, op_sel list length); see tools/gen_disasm_modifiers.py."""
    raw = json.loads(_MODS_PATH.read_text())
    return {tuple((k.split(":")[0], int(k.split(":")[1]))): (v["bits"], v["opsel_len"]) for k, v in raw["ops"].items()}


def _mods_of(op: OpInfo) -> tuple[str | None, int]:
    return _modifier_table().get((op.space, op.opcode), (None, 0))


def _bitlist(bits: int, n: int) -> str:
    return "[" + ",".join(str((bits >> i) & 1) for i in range(n)) + "]"


def _letters_for(letters: str, start: int, value: int, width: int) -> list[str]:
    """The letters of the set bits of a `width`-bit field whose per-bit letters start at `start`."""
    return [letters[start + i] for i in range(width) if (value >> i) & 1]


def _p_vop3(inst: Inst, op: OpInfo) -> str:
    f = inst.fields
    name = op.amd_name
    info = _vop_info(op)
    if name in ("V_NOP_E64", "V_PIPEFLUSH_E64"):
        if any(v for k, v in f.items() if k not in ("op", "encoding")):
            raise _Reject
        return _mn(op, "e64")
    letters, opsel_len = _mods_of(op)
    if letters is None:
        raise _Reject
    srcs = info["srcs"]
    used = {fl for fl, _, _ in srcs}
    for fl in ("src0", "src1", "src2"):
        if fl not in used and f[fl]:
            raise _Reject
    sd = op.space == "VOP3SD"
    # letters: VOP3 clamp omod neg0-2 abs0-2 opsel0-3; VOP3SD clamp omod neg0-2
    if f["clmp"] and letters[0] == "R" or f["omod"] and letters[1] == "R":
        raise _Reject
    neg, abs_ = f["neg"], (0 if sd else f["abs"])
    opsel = 0 if sd else f["opsel"]
    if "R" in _letters_for(letters, 2, neg, 3) or (not sd and ("R" in _letters_for(letters, 5, abs_, 3)
                                                                 or "R" in _letters_for(letters, 8, opsel, 4))):
        raise _Reject
    args = []
    if sd:
        args.append(vgpr(f["vdst"], info["dst_regs"] or 1))
        args.append(_sdst(f["sdst"], 1))
    elif name.startswith("V_CMPX"):
        pass
    elif name.startswith("V_CMP"):
        args.append(_mask_operand(f["vdst"], inst.literal, "SReg_1"))
    elif info["dst_kind"] == "SREG":
        code = f["vdst"]
        args.append(const_text(code, "i32", inst.literal) + "/*Invalid immediate*/" if is_const(code)
                    else _sdst(code, 1))
    else:
        args.append(vgpr(f["vdst"], info["dst_regs"] or 1))
    dpp = inst.dpp
    if dpp and (any(n > 1 for _, _, n in srcs) or (info["dst_regs"] > 1 and not name.startswith("V_CMP"))
                or name in _NO_DPP3):
        raise _Reject
    for i, (fl, ty, n) in enumerate(srcs):
        code = f[fl]
        if dpp and i == 0:
            code = opd.VGPR_FIRST + f["vsrc0"]
            t = vgpr(f["vsrc0"])
        else:
            t = _valu_src(inst, op, fl, ty, n)
        if (abs_ >> i) & 1 and letters[5 + i] == "S":
            t = f"|{t}|"
        if (neg >> i) & 1:
            kind = letters[2 + i]
            if kind == "X" or (dpp and kind == "I" and not info["fmods"]):
                t = f"sext({t})"
            elif kind == "S":
                t = f"neg({t})" if not (abs_ >> i) & 1 and is_const(code) else "-" + t
        args.append(t)
    mods = []
    if not sd and opsel_len:
        shown = 0
        for i in range(4):
            if (opsel >> i) & 1 and letters[8 + i] == "S":
                shown |= 1 << i
        if shown:
            order = {4: (0, 1, 2, 3), 3: (0, 1, 3), 2: (0, 1)}.get(opsel_len, tuple(range(opsel_len)))
            mods.append("op_sel:[" + ",".join(str((shown >> b) & 1) for b in order) + "]")
    if f["clmp"] and letters[0] == "S":
        mods.append("clamp")
    if f["omod"] and letters[1] == "S":
        mods.append(_OMOD[f["omod"]])
    if dpp:
        return _join(f"{op.mnemonic}_e64_dpp", args, mods + _dpp_tail(inst))
    return _join(_mn(op, "e64"), args, mods)


def _p_vop3p(inst: Inst, op: OpInfo) -> str:
    f = inst.fields
    info = _vop_info(op)
    letters, _ = _mods_of(op)
    if letters is None:
        raise _Reject
    srcs = info["srcs"]
    nsrc = len(srcs)
    used = {fl for fl, _, _ in srcs}
    for fl in ("src0", "src1", "src2"):
        if fl not in used and f[fl]:
            raise _Reject
    # letters: clamp, neg_lo 0-2, neg_hi 0-2, op_sel 0-2, op_sel_hi src1, src0, src2
    neg, neg_hi, opsel = f["neg"], f["neg_hi"], f["opsel"]
    opsel_hi = f["opsel_hi"] | f["opsel_hi2"] << 2
    hi_letters = (letters[11], letters[10], letters[12])
    if (f["clmp"] and letters[0] == "R" or "R" in _letters_for(letters, 1, neg, 3)
            or "R" in _letters_for(letters, 4, neg_hi, 3) or "R" in _letters_for(letters, 7, opsel, 3)
            or any(hi_letters[i] == "R" and not (opsel_hi >> i) & 1 for i in range(3))):
        raise _Reject
    mix = "FMA_MIX" in op.amd_name
    dpp = inst.dpp
    if dpp and op.amd_name not in _DPP_VOP3P:
        raise _Reject
    args = [vgpr(f["vdst"], info["dst_regs"] or 1)]
    for i, (fl, ty, n) in enumerate(srcs):
        if dpp and i == 0:
            t = vgpr(f["vsrc0"])
        elif dpp and mix and i == 1 and f[fl] < opd.VGPR_FIRST:
            t = _valu_src(inst, op, fl, ty, n)
            if is_const(f[fl]):
                t += "/*Invalid immediate*/"
            elif _not_vgpr(f[fl]):
                t += _LO128_NOTE.format("VGPR_32")
        else:
            t = _valu_src(inst, op, fl, ty, n)
        if mix:
            if (neg_hi >> i) & 1:
                t = f"|{t}|"
            if (neg >> i) & 1:
                t = f"neg({t})" if not (neg_hi >> i) & 1 and is_const(f[fl]) else "-" + t
        args.append(t)
    mods = []
    shown_opsel = sum(1 << i for i in range(3) if (opsel >> i) & 1 and letters[7 + i] == "S")
    if shown_opsel:
        mods.append("op_sel:" + _bitlist(shown_opsel, nsrc))
    hi_shown = [i for i in range(nsrc) if hi_letters[i] == "S"]
    default = 0 if mix else (1 << nsrc) - 1
    hi_value = sum(((opsel_hi >> i) & 1) << i for i in hi_shown) | (default & ~sum(1 << i for i in hi_shown))
    if hi_shown and hi_value != default:
        mods.append("op_sel_hi:" + _bitlist(hi_value, nsrc))
    if not mix:
        lo = sum(1 << i for i in range(3) if (neg >> i) & 1 and letters[1 + i] == "S")
        hi = sum(1 << i for i in range(3) if (neg_hi >> i) & 1 and letters[4 + i] == "S")
        if lo:
            mods.append("neg_lo:" + _bitlist(lo, nsrc))
        if hi:
            mods.append("neg_hi:" + _bitlist(hi, nsrc))
    if f["clmp"] and letters[0] == "S":
        mods.append("clamp")
    if dpp:
        return _join(f"{op.mnemonic}_e64_dpp", args, mods + _dpp_tail(inst))
    return _join(_mn(op, ""), args, mods)


# ---------------------------------------------------------------------------------------------
# DPP

def dpp_ctrl_text(ctrl: int) -> str:
    if ctrl <= 0xFF:
        return f"quad_perm:[{ctrl & 3},{(ctrl >> 2) & 3},{(ctrl >> 4) & 3},{(ctrl >> 6) & 3}]"
    kind, n = ctrl >> 4, ctrl & 0xF
    if n:
        name = {0x10: "row_shl", 0x11: "row_shr", 0x12: "row_ror"}.get(kind)
        if name:
            return f"{name}:{n}"
    if ctrl == 0x140:
        return "row_mirror"
    if ctrl == 0x141:
        return "row_half_mirror"
    if kind == 0x15:
        return f"row_share:{n}"
    if kind == 0x16:
        return f"row_xmask:{n}"
    old = {0x130: "wave_shl", 0x134: "wave_rol", 0x138: "wave_shr", 0x13C: "wave_ror", 0x142: "row_bcast",
           0x143: "row_bcast"}.get(ctrl)
    if old:
        return f"/* {old} is not supported starting from GFX10 */"
    return "/* Invalid dpp_ctrl value */"


def _dpp_tail(inst: Inst) -> list[str]:
    f = inst.fields
    if inst.dpp == "DPP8":
        sel = ",".join(str(f[f"lane_sel_{i}"]) for i in range(8))
        tail = [f"dpp8:[{sel}]"]
        if f["src0"] == opd.DPP8_FI:
            tail.append("fi:1")
        return tail
    tail = [dpp_ctrl_text(f["dpp"]), f"row_mask:0x{f['row_mask']:x}", f"bank_mask:0x{f['bank_mask']:x}"]
    if f["bc"]:
        tail.append("bound_ctrl:1")
    if f["fi"]:
        tail.append("fi:1")
    return tail


def _dpp_vsrc0(info: dict, code: int) -> str:
    if info["true16"]:
        return _half(code)
    text = vgpr(code)
    if info["src16"] and code >= 128:
        text += _LO128_NOTE.format("VGPR_32_Lo128")
    return text


def _p_dpp_vop12c(inst: Inst, op: OpInfo) -> str:
    """DPP16 / DPP8 forms of VOP1, VOP2 and VOPC."""
    f = inst.fields
    info = _vop_info(op)
    name = op.amd_name
    if any(n > 1 for _, _, n in info["srcs"]) or info["dst_regs"] > 1 or name in _NO_DPP:
        raise _Reject
    has_mods = (info["fmods"] or any(t == "pk_f16" for _, t, _ in info["srcs"])
                or name in ("V_CNDMASK_B32_E32", "V_MOV_B16_E32"))
    fmods = has_mods and inst.dpp == "DPP16"
    if inst.dpp == "DPP16" and (not has_mods and (f["src0_neg"] or f["src0_abs"] or f["src1_neg"] or f["src1_abs"])
                                or inst.base == "VOP1" and (f["src1_neg"] or f["src1_abs"])):
        raise _Reject
    types = {fl: ty for fl, ty, _ in info["srcs"]}
    cnd = name == "V_CNDMASK_B32_E32"
    fm0 = fmods and (cnd or types.get("src0") in ("f16", "f32", "pk_f16"))
    fm1 = fmods and (cnd or _ty(op, "vsrc1") in ("f16", "f32", "pk_f16"))
    s0 = _dpp_vsrc0(info, f["vsrc0"])
    if fm0:
        s0 = _mod_src(s0, 256, f["src0_neg"], f["src0_abs"])
    elif fmods and name == "V_MOV_B16_E32":
        if f["src0_neg"]:
            s0 = f"sext({s0})"
    args = []
    if inst.base == "VOPC":
        if not name.startswith("V_CMPX"):
            args.append("vcc_lo")
        args.append(s0)
        if "CLASS" in name and (f.get("src1_neg") or f.get("src1_abs")):
            raise _Reject
        s1 = _e32_vsrc1(info, f["vsrc1"], 1)
        if fm1:
            s1 = _mod_src(s1, 256, f["src1_neg"], f["src1_abs"])
        args.append(s1)
        return _join(op.mnemonic, args, _dpp_tail(inst))
    if name in ("V_NOP_E32", "V_PIPEFLUSH_E32"):
        raise _Reject
    args.append(_e32_dst(info, f["vdst"]))
    if inst.base == "VOP2":
        if name in ("V_ADD_CO_CI_U32_E32", "V_SUB_CO_CI_U32_E32", "V_SUBREV_CO_CI_U32_E32"):
            args.append("vcc_lo")
        args.append(s0)
        if info["lo128"] and f["vsrc1"] >= 128 and name in ("V_LDEXP_F16_E32",):
            raise _Reject
        s1 = _e32_vsrc1(info, f["vsrc1"], 1)
        if fm1:
            s1 = _mod_src(s1, 256, f["src1_neg"], f["src1_abs"])
        elif fmods and name == "V_LDEXP_F16_E32" and f["src1_neg"]:
            s1 = f"sext({s1})"
        args.append(s1)
        if name in ("V_CNDMASK_B32_E32", "V_ADD_CO_CI_U32_E32", "V_SUB_CO_CI_U32_E32", "V_SUBREV_CO_CI_U32_E32"):
            args.append("vcc_lo")
    else:
        args.append(s0)
    return _join(_mn(op, "dpp"), args, _dpp_tail(inst))


# The VOP3P ops with DPP forms on gfx1100.
_DPP_VOP3P = frozenset({"V_FMA_MIX_F32", "V_FMA_MIXLO_F16", "V_FMA_MIXHI_F16", "V_DOT2_F32_F16"})
# VOP3 ops without DPP forms on gfx1100.
_NO_DPP3 = frozenset({"V_READLANE_B32", "V_WRITELANE_B32", "V_PERMLANE16_B32", "V_PERMLANEX16_B32",
                      "V_READFIRSTLANE_B32_E64", "V_FMA_DX9_ZERO_F32", "V_DIV_FIXUP_F32", "V_DIV_FMAS_F32"})
# VOP1/VOP2/VOPC ops without DPP forms on gfx1100.
_NO_DPP = frozenset({"V_READFIRSTLANE_B32_E32", "V_SWAP_B32_E32", "V_SWAPREL_B32_E32", "V_PERMLANE64_B32_E32",
                     "V_FMAMK_F32_E32", "V_FMAAK_F32_E32", "V_FMAMK_F16_E32", "V_FMAAK_F16_E32",
                     "V_FMAC_DX9_ZERO_F32_E32"})


# ---------------------------------------------------------------------------------------------
# VOPD (dual issue)

def _vopd_type(op: OpInfo) -> str:
    name = op.amd_name
    return "pk_f16" if "DOT2ACC" in name else "f32" if "F32" in name else "i32"


def _vopd_half(inst: Inst, op: OpInfo, dst: int, src0_field: str, vsrc1: int, lit_ty: str) -> str:
    name = op.amd_name
    ty = _vopd_type(op)
    code = inst.fields[src0_field]
    s0 = src_text(code, lit_ty if code == opd.LITERAL else ty, 1, inst.literal)
    d = vgpr(dst)
    if name == "V_DUAL_MOV_B32":
        if vsrc1:
            raise _Reject
        return _join(op.mnemonic, [d, s0])
    if name == "V_DUAL_FMAAK_F32":
        return _join(op.mnemonic, [d, s0, vgpr(vsrc1), f"0x{inst.literal:x}"])
    if name == "V_DUAL_FMAMK_F32":
        return _join(op.mnemonic, [d, s0, f"0x{inst.literal:x}", vgpr(vsrc1)])
    return _join(op.mnemonic, [d, s0, vgpr(vsrc1)])


def _p_vopd(inst: Inst, op: OpInfo) -> str:
    f = inst.fields
    opy = inst.op_y
    if opy is None or op.opcode > 15 or opy.amd_name in _NOT_VOPD or op.amd_name in _NOT_VOPD:
        raise _Reject
    dsty = (f["vdsty"] << 1) | ((f["vdstx"] & 1) ^ 1)
    # One literal serves both halves; where it is also an fmaak/fmamk constant LLVM reads it as f32.
    k = "f32" if {op.amd_name, opy.amd_name} & {"V_DUAL_FMAAK_F32", "V_DUAL_FMAMK_F32"} else None
    x = _vopd_half(inst, op, f["vdstx"], "srcx0", f["vsrcx1"], k or _vopd_type(op))
    y = _vopd_half(inst, opy, dsty, "srcy0", f["vsrcy1"], k or _vopd_type(opy))
    return f"{x} :: {y}"


_NOT_VOPD = frozenset({"V_DUAL_DOT2ACC_F32_BF16"})


# ---------------------------------------------------------------------------------------------
# LDS / GDS

def swizzle_text(imm: int) -> str:
    if imm & 0x8000:
        if imm & 0x7F00:
            return str(imm)
        return "swizzle(QUAD_PERM," + ",".join(str((imm >> (2 * i)) & 3) for i in range(4)) + ")"
    and_mask, or_mask, xor_mask = imm & 0x1F, (imm >> 5) & 0x1F, (imm >> 10) & 0x1F
    if and_mask == 0x1F and or_mask == 0 and xor_mask and xor_mask & (xor_mask - 1) == 0:
        return f"swizzle(SWAP,{xor_mask})"
    if and_mask == 0x1F and or_mask == 0 and xor_mask and (xor_mask + 1) & xor_mask == 0:
        return f"swizzle(REVERSE,{xor_mask + 1})"
    group = 0x1F - and_mask + 1
    if group > 1 and group & (group - 1) == 0 and or_mask < group and xor_mask == 0:
        return f"swizzle(BROADCAST,{group},{or_mask})"
    bits = ""
    for b in range(4, -1, -1):
        m = 1 << b
        if and_mask & m and not or_mask & m:
            bits += "i" if xor_mask & m else "p"
        else:
            bits += str(((or_mask ^ xor_mask) >> b) & 1)
    return f'swizzle(BITMASK_PERM,"{bits}")'


def _p_ds(inst: Inst, op: OpInfo) -> str:
    f = inst.fields
    name = op.amd_name
    if ("GWS" in name or "GS_REG" in name or name == "DS_ORDERED_COUNT") and not f["gds"]:
        raise _Reject
    if name == "DS_NOP" and (f["gds"] or f["offset0"] or f["offset1"]):
        raise _Reject
    if f["gds"] and name in ("DS_BVH_STACK_RTN_B32", "DS_PERMUTE_B32", "DS_BPERMUTE_B32"):
        raise _Reject
    args = []
    for fl in ("vdst", "addr", "data0", "data1"):
        o = op.operands.get(fl)
        if o is None:
            if f[fl]:
                raise _Reject
            continue
        args.append(vgpr(f[fl], o.regs))
    mods = []
    if "2ADDR" in name:
        if f["offset0"]:
            mods.append(f"offset0:{f['offset0']}")
        if f["offset1"]:
            mods.append(f"offset1:{f['offset1']}")
    else:
        offset = f["offset1"] << 8 | f["offset0"]
        if offset:
            mods.append(f"offset:{swizzle_text(offset)}" if name == "DS_SWIZZLE_B32" else f"offset:{offset}")
    if f["gds"]:
        mods.append("gds")
    return _join(op.mnemonic, args, mods)


# ---------------------------------------------------------------------------------------------
# FLAT / GLOBAL / SCRATCH

def _cache_mods(f: dict) -> list[str]:
    return [m for m in ("glc", "slc", "dlc") if f.get(m)]


def _p_flat(inst: Inst, op: OpInfo) -> str:
    f = inst.fields
    name = op.amd_name
    seg = inst.base
    if not name.startswith(seg) or name in ("FLAT_ATOMIC_CSUB_U32",) or "_LOAD_LDS_" in name:
        raise _Reject
    if seg != "SCRATCH" and f["sve"]:
        raise _Reject
    atomic = "_ATOMIC_" in name
    returns = "vdst" in op.operands and (not atomic or f["glc"])
    args = []
    if returns:
        n = op.operands["vdst"].regs
        if "CMPSWAP" in name:
            n = op.operands["data"].regs // 2
        args.append(vgpr(f["vdst"], n))
    addtid = "ADDTID" in name
    if seg == "FLAT":
        if f["saddr"] != opd.NULL:
            raise _Reject
        args.append(vgpr(f["addr"], 2))
    elif seg == "GLOBAL":
        if addtid:
            pass
        elif f["saddr"] == opd.NULL:
            args.append(vgpr(f["addr"], 2))
        else:
            args.append(vgpr(f["addr"]))
    else:
        args.append(vgpr(f["addr"]) if f["sve"] else "off")
    if "data" in op.operands:
        args.append(vgpr(f["data"], op.operands["data"].regs))
    if seg != "FLAT":
        saddr = f["saddr"]
        if saddr == opd.NULL:
            args.append("off")
        elif seg == "SCRATCH" and saddr == opd.EXEC_HI:
            args.append("exec_hi" + _LO128_NOTE.format("SReg_32_XEXEC_HI"))
        else:
            args.append(_sdst(saddr, 2 if seg == "GLOBAL" else 1))
    mods = []
    offset = f["offset"] if seg == "FLAT" else _sext(f["offset"], 13)
    if offset:
        mods.append(f"offset:{offset}")
    return _join(op.mnemonic, args, mods + _cache_mods(f))


# ---------------------------------------------------------------------------------------------
# Buffer memory (MUBUF / MTBUF)

_BUF_FMT = ["INVALID", "8_UNORM", "8_SNORM", "8_USCALED", "8_SSCALED", "8_UINT", "8_SINT", "16_UNORM", "16_SNORM",
            "16_USCALED", "16_SSCALED", "16_UINT", "16_SINT", "16_FLOAT", "8_8_UNORM", "8_8_SNORM",
            "8_8_USCALED", "8_8_SSCALED", "8_8_UINT", "8_8_SINT", "32_UINT", "32_SINT", "32_FLOAT",
            "16_16_UNORM", "16_16_SNORM", "16_16_USCALED", "16_16_SSCALED", "16_16_UINT", "16_16_SINT",
            "16_16_FLOAT", "10_11_11_FLOAT", "11_11_10_FLOAT", "10_10_10_2_UNORM", "10_10_10_2_SNORM",
            "10_10_10_2_UINT", "10_10_10_2_SINT", "2_10_10_10_UNORM", "2_10_10_10_SNORM", "2_10_10_10_USCALED",
            "2_10_10_10_SSCALED", "2_10_10_10_UINT", "2_10_10_10_SINT", "8_8_8_8_UNORM", "8_8_8_8_SNORM",
            "8_8_8_8_USCALED", "8_8_8_8_SSCALED", "8_8_8_8_UINT", "8_8_8_8_SINT", "32_32_UINT", "32_32_SINT",
            "32_32_FLOAT", "16_16_16_16_UNORM", "16_16_16_16_SNORM", "16_16_16_16_USCALED",
            "16_16_16_16_SSCALED", "16_16_16_16_UINT", "16_16_16_16_SINT", "16_16_16_16_FLOAT", "32_32_32_UINT",
            "32_32_32_SINT", "32_32_32_FLOAT", "32_32_32_32_UINT", "32_32_32_32_SINT", "32_32_32_32_FLOAT"]
BUF_FMT_NAMES = {i: f"BUF_FMT_{n}" for i, n in enumerate(_BUF_FMT)}
_BUF_FMT_DEFAULT = 1


def _soffset(code: int, literal: int | None) -> str:
    if is_const(code):
        return const_text(code, "i32", literal)
    text = src_text(code, "i32", 1, None)
    if code == opd.LDS_DIRECT:
        text += _LO128_NOTE.format("SReg_32")
    return text


def _p_buf(inst: Inst, op: OpInfo) -> str:
    f = inst.fields
    name = op.amd_name
    if name in ("BUFFER_GL0_INV", "BUFFER_GL1_INV"):
        if f["idxen"] or f["offen"] or f["tfe"] or f["glc"] or f["dlc"]:
            raise _Reject
        return op.mnemonic
    atomic = "_ATOMIC_" in name
    args = []
    lds = "_LOAD_LDS_" in name
    if f["tfe"] and (atomic or lds or inst.base == "MTBUF"):
        raise _Reject
    if not lds:
        o = op.operands.get("vdata")
        n = o.regs if o is not None else 1
        if atomic and "CMPSWAP" in name and not f["glc"]:
            pass
        if f["tfe"]:
            n += 1
        args.append(vgpr(f["vdata"], n))
    if f["idxen"] and f["offen"]:
        args.append(vgpr(f["vaddr"], 2))
    elif f["idxen"] or f["offen"]:
        args.append(vgpr(f["vaddr"]))
    else:
        args.append("off")
    rsrc = sreg(f["srsrc"] << 2, 4)
    if rsrc is None:
        raise _Reject
    args.append(rsrc)
    args.append(_soffset(f["soffset"], inst.literal))
    mods = []
    if inst.base == "MTBUF" and f["format"] != _BUF_FMT_DEFAULT:
        fmt = f["format"]
        mods.append(f"format:[{BUF_FMT_NAMES[fmt]}]" if fmt in BUF_FMT_NAMES else f"format:{fmt}")
    if f["idxen"]:
        mods.append("idxen")
    if f["offen"]:
        mods.append("offen")
    if f["offset"]:
        mods.append(f"offset:{f['offset']}")
    mods += _cache_mods(f)
    if f["tfe"]:
        mods.append("tfe")
    return _join(op.mnemonic, args, mods)


# ---------------------------------------------------------------------------------------------
# Image memory (MIMG)

_IMAGE_FLAGS = (("unrm", "unorm"), ("glc", "glc"), ("slc", "slc"), ("dlc", "dlc"), ("r128", "r128"),
                ("a16", "a16"), ("tfe", "tfe"), ("lwe", "lwe"), ("d16", "d16"))


@_per_op
def _image_info(op: OpInfo) -> ImageInfo:
    return ImageInfo(op.mnemonic)


def _fits(first: int, n: int) -> bool:
    return first + n <= 256


def _image_sizes(inst: Inst, info: ImageInfo, nsa: bool) -> tuple[int, int]:
    """(data VGPRs, address VGPRs) as LLVM prints them: the sizes dmask, d16, tfe, dim and a16
    call for where LLVM has that form and its registers fit, else the decoder's default form."""
    f = inst.fields
    default = (info.default_data, info.default_addresses(nsa))
    if not _fits(f["vdata"], default[0]) or not (nsa or _fits(f["vaddr"], default[1])):
        raise _Reject
    data = info.data_regs(info.data_count(f["dmask"], f["d16"], f["tfe"]))
    addresses = info.address_count(IMAGE_DIM_NAMES[f["dim"]], bool(f["a16"]))
    if data is None or not (info.nsa_ok(addresses) if nsa else info.range_ok(addresses)):
        return default
    if not _fits(f["vdata"], data):
        return default
    if nsa:
        last = addresses - NSA_SLOTS + 1
        if last > 1 and not _fits(f[f"vaddr{NSA_SLOTS - 1}"], last):
            return default
    elif not _fits(f["vaddr"], addresses):
        return default
    return data, addresses


def _nsa_list(inst: Inst, slots: list[int]) -> str:
    """The address VGPRs named one by one: slot k holds slots[k] VGPRs from its own byte."""
    f = inst.fields
    firsts = [f["vaddr"]] + [f[f"vaddr{k}"] for k in range(1, len(slots))]
    return "[" + ", ".join(vgpr(first, n) for first, n in zip(firsts, slots, strict=True)) + "]"


def _image_resource(code: int, n: int) -> str:
    name = sreg(code << 2, n)
    if name is None:
        raise _Reject
    return name


def _p_bvh(inst: Inst, op: OpInfo, info: ImageInfo) -> str:
    """Ray tracing: fixed operand sizes; dmask 0xf, unorm and r128 are part of the encoding."""
    f = inst.fields
    if (f["dmask"], f["unrm"], f["r128"]) != (0xF, 1, 1) or f["ssamp"] or f["dim"] or \
            any(f[k] for k in ("glc", "slc", "dlc", "d16", "tfe", "lwe")):
        raise _Reject
    slots = info.bvh_slots(bool(f["a16"]))
    addresses = _nsa_list(inst, list(slots)) if f["nsa"] else vgpr(f["vaddr"], sum(slots))
    args = [vgpr(f["vdata"], 4), addresses, _image_resource(f["srsrc"], 4)]
    return _join(op.mnemonic, args, ["a16"] if f["a16"] else [])


def _p_mimg(inst: Inst, op: OpInfo) -> str:
    f = inst.fields
    info = _image_info(op)
    if info.bvh:
        return _p_bvh(inst, op, info)
    if (f["d16"] and not info.d16) or (f["ssamp"] and not info.sampler):
        raise _Reject
    nsa = bool(f["nsa"])
    data, addresses = _image_sizes(inst, info, nsa)
    if nsa:
        singles = min(addresses, NSA_SLOTS)
        address_text = _nsa_list(inst, [1] * (singles - 1) + [addresses - singles + 1])
    else:
        address_text = vgpr(f["vaddr"], addresses)
    args = [vgpr(f["vdata"], data), address_text, _image_resource(f["srsrc"], 8)]
    if info.sampler:
        args.append(_image_resource(f["ssamp"], 4))
    mods = [f"dmask:0x{f['dmask']:x}"] if f["dmask"] else []
    mods.append("dim:SQ_RSRC_IMG_" + IMAGE_DIM_NAMES[f["dim"]])
    mods += [name for field, name in _IMAGE_FLAGS if f[field]]
    # LLVM's NSA sampling forms print two spaces after the mnemonic
    return _join(op.mnemonic + (" " if nsa and info.sampler else ""), args, mods)


# ---------------------------------------------------------------------------------------------
# Graphics: export, LDS parameter loads, interpolation

EXP_TARGETS = {i: f"mrt{i}" for i in range(8)} | {8: "mrtz", 20: "prim", 21: "dual_src_blend0",
                                                  22: "dual_src_blend1"} | {12 + i: f"pos{i}" for i in range(5)}


def _p_exp(inst: Inst, op: OpInfo) -> str:
    f = inst.fields
    target = EXP_TARGETS.get(f["target"], f"invalid_target_{f['target']}")
    srcs = [vgpr(f[f"vsrc{i}"]) if (f["en"] >> i) & 1 else "off" for i in range(4)]
    mods = (["done"] if f["done"] else []) + (["row_en"] if f["row"] else [])
    return _join(f"exp {target}", srcs, mods)


def _p_ldsdir(inst: Inst, op: OpInfo) -> str:
    f = inst.fields
    if inst.raw & 0xC00000:      # bits 22-23 are reserved
        raise _Reject
    mods = [f"wait_vdst:{f['wait_vdst']}"]
    if op.amd_name == "LDS_DIRECT_LOAD":
        return _join(op.mnemonic, [vgpr(f["vdst"])], mods)
    return _join(op.mnemonic, [vgpr(f["vdst"]), f"attr{f['attr']}.{'xyzw'[f['attr_chan']]}"], mods)


def _p_vinterp(inst: Inst, op: OpInfo) -> str:
    f = inst.fields
    args = [vgpr(f["vdst"])]
    for i, fl in enumerate(("src0", "src1", "src2")):
        code = f[fl]
        if is_const(code):
            t = const_text(code, "i32", inst.literal) + "/*Invalid immediate*/"
        else:
            t = src_text(code, "i32", 1, None)
            if (code <= opd.EXEC_HI and code != opd.NULL) or code == opd.LDS_DIRECT:
                t += _LO128_NOTE.format("VGPR_32")
        args.append(_mod_src(t, code, (f["neg"] >> i) & 1, 0))
    mods = ["clamp"] if f["clmp"] else []
    if "F16" in op.amd_name:
        if f["opsel"]:
            mods.append("op_sel:" + _bitlist(f["opsel"], 4))
    elif f["opsel"]:
        raise _Reject
    mods.append(f"wait_exp:{f['waitexp']}")
    return _join(op.mnemonic, args, mods)


# ---------------------------------------------------------------------------------------------
# Dispatch

_PRINTERS = {
    "SOP1": _p_sop1, "SOP2": _p_sop2, "SOPC": _p_sopc, "SOPK": _p_sopk, "SOPP": _p_sopp, "SMEM": _p_smem,
    "VOP1": _p_vop1, "VOP2": _p_vop2, "VOPC": _p_vopc, "VOP3": _p_vop3, "VOP3SD": _p_vop3, "VOP3P": _p_vop3p,
    "VOPD": _p_vopd, "DS": _p_ds, "FLAT": _p_flat, "GLOBAL": _p_flat, "SCRATCH": _p_flat,
    "MUBUF": _p_buf, "MTBUF": _p_buf, "MIMG": _p_mimg, "EXP": _p_exp, "LDSDIR": _p_ldsdir, "VINTERP": _p_vinterp,
}


def disassemble_inst(inst: Inst) -> str:
    """LLVM's text for one decoded instruction; `.long 0x...` (first word) where LLVM rejects it."""
    text = _text(inst)
    if text is None:
        return f".long 0x{inst.raw & 0xFFFFFFFF:08x}"
    return text


# Ops of the RDNA3 table that gfx1100 lacks (RDNA3.5 additions and the like): LLVM rejects them.
NOT_GFX1100 = frozenset(
    [o.amd_name for sp in ("SOP1", "SOP2", "SOPC") for o in table().spaces[sp].values()
     if o.amd_name.endswith(("_F32", "_F16")) or "_F32_" in o.amd_name or "_F16_" in o.amd_name]
    + ["S_CVT_F32_I32", "S_CVT_F32_U32", "S_ENDPGM_ORDERED_PS_DONE", "V_SWAP_B16_E32"])


def _text(inst: Inst) -> str | None:
    if inst.op is None or inst.op.amd_name in NOT_GFX1100:
        # the all-zero word is LLVM's v_illegal (no table op: the hardware rejects it)
        return "v_illegal" if inst.raw & 0xFFFFFFFF == 0 and inst.size == 4 else None
    if inst.dpp and inst.base in ("VOP1", "VOP2", "VOPC"):
        printer = _p_dpp_vop12c
    else:
        printer = _PRINTERS.get(inst.base)
    if printer is None:
        return None
    try:
        return printer(inst, inst.op)
    except _Reject:
        return None


def disassemble_lines(data: bytes, base_address: int = 0) -> list[tuple[int, int, str]]:
    """(address, size, text) for each instruction; a rejected word is one `.long` row of size 4.
    Trailing bytes short of a word print as `.byte` rows."""
    data = bytes(data)
    out = []
    offset = 0
    end = len(data) - len(data) % 4
    while offset < end:
        inst = decode(data, offset)
        text = _text(inst)
        if text is None:
            word = int.from_bytes(data[offset:offset + 4], "little")
            out.append((base_address + offset, 4, f".long 0x{word:08x}"))
            offset += 4
        else:
            out.append((base_address + offset, inst.size, text))
            offset += inst.size
    for i in range(end, len(data)):
        out.append((base_address + i, 1, f".byte 0x{data[i]:02x}"))
    return out


def disassemble(data: bytes) -> str:
    """LLVM's canonical text for the machine code in data, one instruction per line."""
    return "\n".join(text for _, _, text in disassemble_lines(data))


