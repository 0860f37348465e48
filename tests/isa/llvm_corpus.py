"""A seeded differential corpus of RDNA3 machine code, disassembled by LLVM.

`corpus(n_per_family, seed)` generates random instruction words for every encoding family from
the isa table (random opcode, random field values biased towards the interesting ones: register
bounds, special registers, inline constants, literals, DPP controls, modifiers), runs them through
`llvm-mc-19 --disassemble` in one batch and returns, per instruction, what LLVM made of it:

    CorpusEntry(family, data, llvm_text, llvm_bytes, llvm_size)

`llvm_text` is LLVM's canonical text (None where LLVM rejects the words), `llvm_bytes` LLVM's own
encoding of that text (`-show-encoding`; it drops bits LLVM ignores) and `llvm_size` the number of
bytes LLVM's decoder consumed. Results are cached on disk, keyed by seed, size, LLVM version,
table hash and generator version, so repeated test runs cost nothing.

How words are matched with LLVM's output: each instruction goes on its own input line followed by
three marker words (`s_nop` with bit 15 set and the input's index). LLVM's disassembler reads the input as one byte stream, so an
instruction LLVM reads as longer than ours swallows markers and one it reads as shorter leaves
extra lines; the markers name their input, so the output always resynchronises (no instruction is longer than 12 bytes). A
rejected first word is reported on stderr at column 1 of that line.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from isa import operands as opd
from isa.tables import _DATA as TABLE_PATH
from isa.tables import Format, OpInfo, table

GENERATOR_VERSION = 7
LLVM_MC = "llvm-mc-19"
MC_ARGS = ("-triple=amdgcn-amd-amdhsa", "-mcpu=gfx1100", "--disassemble", "-show-encoding")

FAMILIES = ("SOP1", "SOP2", "SOPK", "SOPC", "SOPP", "SMEM", "VOP1", "VOP2", "VOPC", "VOP3", "VOP3SD",
            "VOP3P", "WMMA", "VOPD", "DPP16", "DPP8", "DS", "FLAT", "GLOBAL", "SCRATCH", "MUBUF", "MTBUF",
            "MIMG", "EXP", "LDSDIR", "VINTERP")

N_MARKERS = 3

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CACHE = ROOT / ".pytest_cache" / "llvm_corpus"


@dataclass(frozen=True)
class CorpusEntry:
    family: str
    data: bytes                 # the generated instruction, literal / DPP words included
    llvm_text: str | None       # LLVM's text, None where LLVM rejects the first word
    llvm_bytes: bytes | None    # LLVM's encoding of llvm_text
    llvm_size: int | None       # bytes LLVM's decoder consumed for llvm_text

    def as_json(self) -> list:
        return [self.family, self.data.hex(), self.llvm_text,
                None if self.llvm_bytes is None else self.llvm_bytes.hex(), self.llvm_size]

    @classmethod
    def from_json(cls, row: list) -> CorpusEntry:
        fam, data, text, enc, size = row
        return cls(fam, bytes.fromhex(data), text, None if enc is None else bytes.fromhex(enc), size)


# ---------------------------------------------------------------------------------------------
# Random field values

VGPRS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 16, 31, 32, 63, 64, 100, 127, 128, 200, 250, 251, 252,
         253, 254, 255)
SGPRS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 16, 20, 30, 31, 32, 50, 64, 96, 100, 101, 102, 103, 104, 105)
SCALAR_SPECIAL = (opd.VCC_LO, opd.VCC_HI, opd.NULL, opd.M0, opd.EXEC_LO, opd.EXEC_HI) + tuple(range(108, 124))
SRC_SPECIAL = (235, 236, 237, 238, 239, 251, 252, 253, 254)
LITERALS = (0, 1, 2, 7, 64, 65, 100, 0xFF, 0x100, 0x1234, 0xFFFF, 0x10000, 0x3F800000, 0xBF800000, 0x3C00,
            0xBC00, 0x3800, 0x4000, 0x3E22F983, 0x3118, 0x3FC45F30, 0x40490FDB, 0x40000000, 0xC0000000,
            0x3F000000, 0x40800000, 0xFFFFFFFF, 0xFFFFFFF0, 0xFFFFFFEF, 0x80000000, 0x7FFFFFFF, 0x12345678,
            0xDEADBEEF, 0x00003C00, 0x3C003C00, 0x45800000, 0x7F800000, 0x7FC00000, 0x56, 0x3E800000)


def _vgpr(rng: random.Random) -> int:
    return rng.choice(VGPRS) if rng.random() < 0.7 else rng.randrange(256)


def _sgpr(rng: random.Random) -> int:
    return rng.choice(SGPRS) if rng.random() < 0.7 else rng.randrange(106)


def _scalar(rng: random.Random, *, special: float = 0.2) -> int:
    """A 7-bit scalar register code: SGPR, VCC, TTMP, NULL, M0, EXEC."""
    return rng.choice(SCALAR_SPECIAL) if rng.random() < special else _sgpr(rng)


def _ssrc(rng: random.Random, *, vgpr: bool = False, literal: bool = True) -> int:
    """A source code: 8-bit scalar (SOP) or, with vgpr, the 9-bit VALU form."""
    r = rng.random()
    if vgpr and r < 0.35:
        return 256 + _vgpr(rng)
    r = rng.random()
    if r < 0.35:
        return _sgpr(rng)
    if r < 0.47:
        return rng.choice(SCALAR_SPECIAL)
    if r < 0.53:
        return rng.choice(SRC_SPECIAL)
    if r < 0.70:
        return rng.randrange(128, 209)
    if r < 0.84:
        return rng.randrange(240, 249)
    if r < 0.97 and literal:
        return opd.LITERAL
    return rng.randrange(256)


def _literal(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.6:
        return rng.choice(LITERALS)
    if r < 0.8:
        return rng.randrange(1 << 32)
    return rng.randrange(1 << 16)


def _small_bits(rng: random.Random, width: int, p_zero: float = 0.6) -> int:
    return 0 if rng.random() < p_zero else rng.randrange(1 << width)


DPP16_CTRLS = (list(range(0x100)) + list(range(0x101, 0x110)) + list(range(0x111, 0x120))
               + list(range(0x121, 0x130)) + [0x140, 0x141] + list(range(0x150, 0x170)))


def _dpp_ctrl(rng: random.Random) -> int:
    return rng.choice(DPP16_CTRLS) if rng.random() < 0.95 else rng.randrange(0x200)


class _Word:
    """An instruction being generated: fields set by name over a format."""

    def __init__(self, fmt: Format):
        self.fmt = fmt
        self.value = fmt.base_word()

    def set(self, name: str, value: int) -> None:
        f = self.fmt.fields.get(name)
        if f is not None:
            self.value = f.put(self.value, value)

    def get(self, name: str) -> int:
        return self.fmt.fields[name].get(self.value)

    def bytes(self) -> bytes:
        return self.value.to_bytes(self.fmt.size, "little")


def _ops(space: str) -> list[OpInfo]:
    return sorted(table().spaces[space].values(), key=lambda o: o.opcode)


def _salu_float(op: OpInfo) -> bool:
    """The scalar float ops of the table (RDNA3.5 additions that gfx1100 lacks)."""
    return op.space in ("SOP1", "SOP2", "SOPC") and ("_F32" in op.amd_name or "_F16" in op.amd_name)


def _pick(rng: random.Random, space: str, pred=None) -> OpInfo:
    ops = [o for o in _ops(space) if pred is None or pred(o)]
    op = rng.choice(ops)
    if _salu_float(op) and rng.random() < 0.85:      # keep most of the corpus on gfx1100's ops
        op = rng.choice(ops)
    return op


def _with_literal(fmt_name: str, w: _Word, rng: random.Random, fields: tuple[str, ...]) -> _Word:
    """Moves the word to the _LIT variant when a source field holds the literal code."""
    if any(f in w.fmt.fields and w.get(f) == opd.LITERAL for f in fields):
        lit = _Word(table().formats[fmt_name + "_LIT"])
        lit.value = w.value
        lit.set("literal", _literal(rng))
        return lit
    return w


def gen_sop1(rng):
    op = _pick(rng, "SOP1")
    w = _Word(table().formats["SOP1"])
    w.set("op", op.opcode)
    w.set("sdst", _scalar(rng))
    w.set("ssrc0", _ssrc(rng))
    return _with_literal("SOP1", w, rng, ("ssrc0",)).bytes()


def gen_sop2(rng):
    op = _pick(rng, "SOP2")
    w = _Word(table().formats["SOP2"])
    w.set("op", op.opcode)
    w.set("sdst", _scalar(rng))
    w.set("ssrc0", _ssrc(rng))
    w.set("ssrc1", _ssrc(rng))
    if op.amd_name in ("S_FMAAK_F32", "S_FMAMK_F32"):
        lit = _Word(table().formats["SOP2_LIT"])
        lit.value = w.value
        lit.set("literal", _literal(rng))
        return lit.bytes()
    return _with_literal("SOP2", w, rng, ("ssrc0", "ssrc1")).bytes()


def gen_sopc(rng):
    op = _pick(rng, "SOPC")
    w = _Word(table().formats["SOPC"])
    w.set("op", op.opcode)
    w.set("ssrc0", _ssrc(rng))
    w.set("ssrc1", _ssrc(rng))
    return _with_literal("SOPC", w, rng, ("ssrc0", "ssrc1")).bytes()


def _hwreg_imm(rng):
    reg = rng.choice(list(table().hwreg.values()) + [rng.randrange(64)])
    offset = 0 if rng.random() < 0.5 else rng.randrange(32)
    size = 32 if rng.random() < 0.5 else rng.randrange(1, 33)
    return reg | (offset << 6) | ((size - 1) << 11)


def gen_sopk(rng):
    op = _pick(rng, "SOPK")
    w = _Word(table().formats["SOPK"])
    w.set("op", op.opcode)
    w.set("sdst", _scalar(rng))
    r = rng.random()
    if op.amd_name in ("S_GETREG_B32", "S_SETREG_B32", "S_SETREG_IMM32_B32") and r < 0.8:
        w.set("simm16", _hwreg_imm(rng))
    else:
        w.set("simm16", rng.choice((0, 1, 2, 0x7FFF, 0x8000, 0xFFFF, 0x1234)) if r < 0.3 else rng.randrange(1 << 16))
    if op.amd_name == "S_SETREG_IMM32_B32":
        lit = _Word(table().formats["SOPK_LIT"])
        lit.value = w.value
        lit.set("literal", _literal(rng))
        return lit.bytes()
    return w.bytes()


def _waitcnt_imm(rng):
    vm = rng.choice((0, 1, 2, 63, rng.randrange(64)))
    exp = rng.choice((0, 1, 7, rng.randrange(8)))
    lgkm = rng.choice((0, 1, 63, rng.randrange(64)))
    v = (vm << 10) | (lgkm << 4) | exp
    if rng.random() < 0.1:
        v = rng.randrange(1 << 16)
    return v


def _delay_imm(rng):
    if rng.random() < 0.1:
        return rng.randrange(1 << 16)
    id0 = rng.randrange(12)
    skip = rng.randrange(6) if rng.random() < 0.6 else 0
    id1 = rng.randrange(12) if rng.random() < 0.6 else 0
    return id0 | (skip << 4) | (id1 << 7)


def _sendmsg_imm(rng):
    if rng.random() < 0.15:
        return rng.randrange(1 << 16)
    msg = rng.choice((1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 15, 0, 12, 13, 14, 16, 128, 129, 130, 131, 132, 133,
                      134, 255))
    op = rng.choice((0, 0, 0, 1, 2, 3, rng.randrange(8)))
    stream = rng.choice((0, 0, 0, rng.randrange(4)))
    return msg | (op << 4) | (stream << 8)


def gen_sopp(rng):
    op = _pick(rng, "SOPP")
    w = _Word(table().formats["SOPP"])
    w.set("op", op.opcode)
    name = op.amd_name
    if name == "S_WAITCNT":
        imm = _waitcnt_imm(rng)
    elif name == "S_DELAY_ALU":
        imm = _delay_imm(rng)
    elif name in ("S_SENDMSG", "S_SENDMSGHALT"):
        imm = _sendmsg_imm(rng)
    elif name == "S_WAITCNT_DEPCTR":
        imm = rng.choice((0xFFFF, 0xFFFE, 0xFFE3, 0x0FFF, 0xFF1F, 0xFFFD, 0xFFFC, 0x7FFF, rng.randrange(1 << 16)))
    elif rng.random() < 0.5:
        imm = rng.choice((0, 1, 2, 3, 7, 15, 16, 0x3F, 0x7FFF, 0x8000, 0xFFFF, 0xFFFE))
    else:
        imm = rng.randrange(1 << 16)
    if name == "S_NOP":
        imm &= 0x7FFF        # marker words are s_nop with bit 15 set
    w.set("simm16", imm)
    return w.bytes()


def gen_smem(rng):
    op = _pick(rng, "SMEM")
    w = _Word(table().formats["SMEM"])
    w.set("op", op.opcode)
    w.set("sbase", rng.randrange(64) if rng.random() < 0.3 else rng.choice((0, 1, 2, 4, 8, 16, 26, 52, 53, 54, 55, 56, 62)))
    w.set("sdata", _scalar(rng, special=0.15))
    r = rng.random()
    w.set("offset", rng.choice((0, 4, 8, 0x10, 0xFFFFF, 0x100000, 0x1FFFFF, 0x1FFFFC)) if r < 0.5 else rng.randrange(1 << 21))
    w.set("soffset", opd.NULL if rng.random() < 0.5 else _scalar(rng))
    w.set("glc", rng.randrange(2))
    w.set("dlc", rng.randrange(2))
    return w.bytes()


def _vop_src0(rng, dpp: bool = False) -> int:
    return _ssrc(rng, vgpr=True)


def gen_vop1(rng):
    op = _pick(rng, "VOP1")
    w = _Word(table().formats["VOP1"])
    w.set("op", op.opcode)
    w.set("vdst", _vgpr(rng) if op.amd_name != "V_READFIRSTLANE_B32_E32" else _scalar(rng))
    w.set("src0", _vop_src0(rng))
    return _with_literal("VOP1", w, rng, ("src0",)).bytes()


def gen_vop2(rng):
    op = _pick(rng, "VOP2")
    w = _Word(table().formats["VOP2"])
    w.set("op", op.opcode)
    w.set("vdst", _vgpr(rng))
    w.set("vsrc1", _vgpr(rng))
    w.set("src0", _vop_src0(rng))
    if "FMAMK" in op.amd_name or "FMAAK" in op.amd_name:
        lit = _Word(table().formats["VOP2_LIT"])
        lit.value = w.value
        lit.set("literal", _literal(rng))
        return lit.bytes()
    return _with_literal("VOP2", w, rng, ("src0",)).bytes()


def gen_vopc(rng):
    op = _pick(rng, "VOPC")
    w = _Word(table().formats["VOPC"])
    w.set("op", op.opcode)
    w.set("vsrc1", _vgpr(rng))
    w.set("src0", _vop_src0(rng))
    return _with_literal("VOPC", w, rng, ("src0",)).bytes()


def _vop3_sources(rng, w: _Word, op: OpInfo, literal: bool = True):
    used = [f for f in ("src0", "src1", "src2") if f in op.operands]
    lit_field = rng.choice(used) if used and literal and rng.random() < 0.15 else None
    for f in ("src0", "src1", "src2"):
        if f == lit_field:
            w.set(f, opd.LITERAL)
        elif f in used or rng.random() < 0.1:
            v = _ssrc(rng, vgpr=True, literal=False)
            if rng.random() < 0.4:
                v = 256 + _vgpr(rng)
            w.set(f, v)
        else:
            w.set(f, 0)


def gen_vop3(rng):
    op = _pick(rng, "VOP3")
    w = _Word(table().formats["VOP3"])
    w.set("op", op.opcode)
    w.set("vdst", _vgpr(rng) if rng.random() < 0.8 else _scalar(rng))
    _vop3_sources(rng, w, op)
    fp = any(o.dtype in ("NUM_F16", "NUM_F32", "NUM_F64") for o in op.operands.values())
    w.set("abs", _small_bits(rng, 3, 0.6 if fp else 0.9))
    w.set("neg", _small_bits(rng, 3, 0.6 if fp else 0.9))
    w.set("opsel", _small_bits(rng, 4, 0.7))
    w.set("clmp", 1 if rng.random() < 0.2 else 0)
    w.set("omod", _small_bits(rng, 2, 0.8 if fp else 0.95))
    return _with_literal("VOP3", w, rng, ("src0", "src1", "src2")).bytes()


def gen_vop3sd(rng):
    op = _pick(rng, "VOP3SD")
    w = _Word(table().formats["VOP3SD"])
    w.set("op", op.opcode)
    w.set("vdst", _vgpr(rng))
    w.set("sdst", _scalar(rng, special=0.3))
    _vop3_sources(rng, w, op)
    w.set("neg", _small_bits(rng, 3))
    w.set("clmp", 1 if rng.random() < 0.2 else 0)
    w.set("omod", _small_bits(rng, 2, 0.8))
    return _with_literal("VOP3SD", w, rng, ("src0", "src1", "src2")).bytes()


def _vop3p_mods(rng, w: _Word):
    w.set("neg", _small_bits(rng, 3))
    w.set("neg_hi", _small_bits(rng, 3))
    w.set("opsel", _small_bits(rng, 3))
    hi = 7 if rng.random() < 0.6 else rng.randrange(8)
    w.set("opsel_hi", hi & 3)
    w.set("opsel_hi2", hi >> 2)
    w.set("clmp", 1 if rng.random() < 0.2 else 0)


def gen_vop3p(rng):
    op = _pick(rng, "VOP3P", lambda o: "WMMA" not in o.amd_name)
    w = _Word(table().formats["VOP3P"])
    w.set("op", op.opcode)
    w.set("vdst", _vgpr(rng))
    _vop3_sources(rng, w, op)
    _vop3p_mods(rng, w)
    return _with_literal("VOP3P", w, rng, ("src0", "src1", "src2")).bytes()


def gen_wmma(rng):
    op = _pick(rng, "VOP3P", lambda o: "WMMA" in o.amd_name)
    w = _Word(table().formats["VOP3P"])
    w.set("op", op.opcode)
    aligned = lambda: rng.choice((0, 8, 16, 24, 32, 64, 100, 128, 200, 240, 248)) if rng.random() < 0.9 else rng.randrange(256)  # noqa: E731
    w.set("vdst", aligned())
    w.set("src0", 256 + aligned())
    w.set("src1", 256 + aligned())
    w.set("src2", 256 + aligned() if rng.random() < 0.8 else rng.choice((128, 129, 242, 240, 193)))
    _vop3p_mods(rng, w)
    if rng.random() < 0.7:
        w.set("neg_hi", 0)
        w.set("neg", 0)
    return w.bytes()


def gen_vopd(rng):
    ops = _ops("VOPD")
    opx = rng.choice([o for o in ops if o.opcode < 16])
    opy = rng.choice(ops)
    w = _Word(table().formats["VOPD"])
    w.set("opx", opx.opcode)
    w.set("opy", opy.opcode)
    w.set("srcx0", _ssrc(rng, vgpr=True) if rng.random() < 0.5 else 256 + _vgpr(rng))
    w.set("srcy0", _ssrc(rng, vgpr=True) if rng.random() < 0.5 else 256 + _vgpr(rng))
    w.set("vsrcx1", _vgpr(rng))
    w.set("vsrcy1", _vgpr(rng))
    x = _vgpr(rng)
    w.set("vdstx", x)
    y = _vgpr(rng) >> 1 if rng.random() < 0.2 else rng.randrange(128)
    w.set("vdsty", y)
    need_lit = {"V_DUAL_FMAAK_F32", "V_DUAL_FMAMK_F32"}
    if (opx.amd_name in need_lit or opy.amd_name in need_lit or w.get("srcx0") == opd.LITERAL
            or w.get("srcy0") == opd.LITERAL):
        lit = _Word(table().formats["VOPD_LIT"])
        lit.value = w.value
        lit.set("literal", _literal(rng))
        return lit.bytes()
    return w.bytes()


_DPP_SPACES = ("VOP1", "VOP2", "VOPC", "VOP3", "VOP3P")


def _dpp_op(rng, space):
    if space == "VOP3P":
        return _pick(rng, space, lambda o: "WMMA" not in o.amd_name)
    return _pick(rng, space)


def gen_dpp(rng, kind: str):
    space = rng.choice(_DPP_SPACES)
    op = _dpp_op(rng, space)
    if space == "VOP3" and op.opcode in table().spaces["VOP3SD"]:
        fmt_space = "VOP3SD"
    else:
        fmt_space = space
    fmt = table().formats[f"{fmt_space}_{kind}"]
    w = _Word(fmt)
    w.set("op", op.opcode)
    marker = opd.DPP16 if kind == "DPP16" else (opd.DPP8_FI if rng.random() < 0.3 else opd.DPP8)
    w.set("src0", marker)
    w.set("vsrc0", _vgpr(rng))
    w.set("vsrc1", _vgpr(rng))
    w.set("vdst", _vgpr(rng))
    if space in ("VOP3", "VOP3P"):
        w.set("src1", 256 + _vgpr(rng) if rng.random() < 0.7 else _ssrc(rng, vgpr=True, literal=False))
        w.set("src2", 256 + _vgpr(rng) if rng.random() < 0.7 else _ssrc(rng, vgpr=True, literal=False))
        if fmt_space == "VOP3SD":
            w.set("sdst", _scalar(rng, special=0.3))
        if space == "VOP3P":
            _vop3p_mods(rng, w)
        else:
            w.set("abs", _small_bits(rng, 3))
            w.set("neg", _small_bits(rng, 3))
            w.set("opsel", _small_bits(rng, 4, 0.7))
            w.set("clmp", 1 if rng.random() < 0.2 else 0)
            w.set("omod", _small_bits(rng, 2, 0.85))
        if rng.random() < 0.5 and op.amd_name.startswith("V_CMP"):
            w.set("vdst", _scalar(rng, special=0.3))
    if kind == "DPP16":
        w.set("dpp", _dpp_ctrl(rng))
        w.set("row_mask", 0xF if rng.random() < 0.5 else rng.randrange(16))
        w.set("bank_mask", 0xF if rng.random() < 0.5 else rng.randrange(16))
        w.set("bc", rng.randrange(2))
        w.set("fi", rng.randrange(2))
        if space not in ("VOP3", "VOP3P"):
            for f in ("src0_neg", "src0_abs", "src1_neg", "src1_abs"):
                w.set(f, 1 if rng.random() < 0.2 else 0)
    else:
        for i in range(8):
            w.set(f"lane_sel_{i}", rng.randrange(8))
    return w.bytes()


def gen_ds(rng):
    op = _pick(rng, "DS")
    w = _Word(table().formats["DS"])
    w.set("op", op.opcode)
    for f in ("addr", "data0", "data1", "vdst"):
        w.set(f, _vgpr(rng) if f in op.operands or rng.random() < 0.15 else 0)
    w.set("offset0", rng.choice((0, 0, 1, 4, 0xFF, rng.randrange(256))))
    w.set("offset1", rng.choice((0, 0, 1, 4, 0xFF, rng.randrange(256))))
    w.set("gds", 1 if rng.random() < 0.1 else 0)
    return w.bytes()


def _flat_common(rng, space: str, w: _Word, op: OpInfo):
    w.set("op", op.opcode)
    w.set("addr", _vgpr(rng))
    w.set("data", _vgpr(rng) if "data" in op.operands or rng.random() < 0.1 else 0)
    w.set("vdst", _vgpr(rng) if "vdst" in op.operands or rng.random() < 0.1 else 0)
    off = rng.choice((0, 0, 1, 4, 0x7FF, 0x800, 0xFFF, 0x1000, 0x1FFF)) if rng.random() < 0.6 else rng.randrange(1 << 13)
    w.set("offset", off)
    w.set("glc", rng.randrange(2))
    w.set("slc", rng.randrange(2))
    w.set("dlc", rng.randrange(2))


def gen_flat(rng):
    op = _pick(rng, "FLAT", lambda o: o.amd_name.startswith("FLAT_"))
    w = _Word(table().formats["FLAT"])
    _flat_common(rng, "FLAT", w, op)
    w.set("saddr", opd.NULL if rng.random() < 0.9 else _scalar(rng))
    return w.bytes()


def gen_global(rng):
    op = _pick(rng, "GLOBAL")
    w = _Word(table().formats["GLOBAL"])
    _flat_common(rng, "GLOBAL", w, op)
    w.set("saddr", opd.NULL if rng.random() < 0.4 else _scalar(rng))
    return w.bytes()


def gen_scratch(rng):
    op = _pick(rng, "SCRATCH")
    w = _Word(table().formats["SCRATCH"])
    _flat_common(rng, "SCRATCH", w, op)
    w.set("saddr", opd.NULL if rng.random() < 0.4 else _scalar(rng))
    w.set("sve", 1 if rng.random() < 0.4 else 0)
    return w.bytes()


def _buf_common(rng, w: _Word, op: OpInfo):
    w.set("op", op.opcode)
    w.set("vdata", _vgpr(rng))
    w.set("vaddr", _vgpr(rng))
    w.set("srsrc", rng.choice((0, 1, 2, 4, 8, 12, 16, 24, 25, 26)) if rng.random() < 0.8 else rng.randrange(32))
    w.set("soffset", _ssrc(rng, literal=False) if rng.random() < 0.7 else rng.choice((opd.NULL, 128, 129, 0)))
    w.set("offset", rng.choice((0, 0, 1, 4, 0x7FF, 0x800, 0xFFF)) if rng.random() < 0.6 else rng.randrange(1 << 12))
    w.set("offen", rng.randrange(2))
    w.set("idxen", rng.randrange(2))
    w.set("glc", rng.randrange(2))
    w.set("slc", rng.randrange(2))
    w.set("dlc", rng.randrange(2))
    w.set("tfe", 1 if rng.random() < 0.15 else 0)


def gen_mubuf(rng):
    op = _pick(rng, "MUBUF")
    w = _Word(table().formats["MUBUF"])
    _buf_common(rng, w, op)
    return w.bytes()


def gen_mtbuf(rng):
    op = _pick(rng, "MTBUF")
    w = _Word(table().formats["MTBUF"])
    _buf_common(rng, w, op)
    w.set("format", rng.choice((0, 1, 4, 22, 32, 63, 64, 77)) if rng.random() < 0.3 else rng.randrange(128))
    return w.bytes()


def gen_mimg(rng):
    op = _pick(rng, "MIMG")
    w = _Word(table().formats["MIMG"])
    w.set("op", op.opcode)
    w.set("vdata", _vgpr(rng))
    w.set("vaddr", _vgpr(rng))
    w.set("srsrc", rng.choice((0, 1, 2, 4, 8, 12, 16, 24)) if rng.random() < 0.8 else rng.randrange(32))
    w.set("ssamp", rng.choice((0, 4, 8, 12, 16, 20)) if rng.random() < 0.8 else rng.randrange(32))
    w.set("dmask", rng.choice((1, 3, 7, 15, rng.randrange(16))))
    w.set("dim", rng.randrange(8))
    for f in ("unrm", "glc", "slc", "dlc", "r128", "a16", "d16", "tfe", "lwe"):
        w.set(f, 1 if rng.random() < 0.2 else 0)
    if rng.random() < 0.3:          # NSA: the second to fifth address VGPRs in one more dword
        w.set("nsa", 1)
        return w.bytes() + bytes(_vgpr(rng) for _ in range(4))
    return w.bytes()


def gen_exp(rng):
    w = _Word(table().formats["EXP"])
    w.set("target", rng.choice((0, 7, 8, 9, 12, 13, 20, 21, 32, 63, rng.randrange(64))))
    w.set("en", rng.randrange(16))
    w.set("done", rng.randrange(2))
    w.set("row", 1 if rng.random() < 0.2 else 0)
    for i in range(4):
        w.set(f"vsrc{i}", _vgpr(rng))
    return w.bytes()


def gen_ldsdir(rng):
    op = _pick(rng, "LDSDIR")
    w = _Word(table().formats["LDSDIR"])
    w.set("op", op.opcode)
    w.set("vdst", _vgpr(rng))
    w.set("attr", rng.randrange(64))
    w.set("attr_chan", rng.randrange(4))
    w.set("wait_vdst", rng.randrange(16))
    return w.bytes()


def gen_vinterp(rng):
    op = _pick(rng, "VINTERP")
    w = _Word(table().formats["VINTERP"])
    w.set("op", op.opcode)
    w.set("vdst", _vgpr(rng))
    for f in ("src0", "src1", "src2"):
        w.set(f, 256 + _vgpr(rng) if rng.random() < 0.9 else _ssrc(rng, vgpr=True, literal=False))
    w.set("neg", _small_bits(rng, 3))
    w.set("opsel", _small_bits(rng, 4))
    w.set("clmp", 1 if rng.random() < 0.2 else 0)
    w.set("waitexp", rng.randrange(8))
    return w.bytes()


GENERATORS = {
    "SOP1": gen_sop1, "SOP2": gen_sop2, "SOPK": gen_sopk, "SOPC": gen_sopc, "SOPP": gen_sopp,
    "SMEM": gen_smem, "VOP1": gen_vop1, "VOP2": gen_vop2, "VOPC": gen_vopc, "VOP3": gen_vop3,
    "VOP3SD": gen_vop3sd, "VOP3P": gen_vop3p, "WMMA": gen_wmma, "VOPD": gen_vopd,
    "DPP16": lambda rng: gen_dpp(rng, "DPP16"), "DPP8": lambda rng: gen_dpp(rng, "DPP8"),
    "DS": gen_ds, "FLAT": gen_flat, "GLOBAL": gen_global, "SCRATCH": gen_scratch, "MUBUF": gen_mubuf,
    "MTBUF": gen_mtbuf, "MIMG": gen_mimg, "EXP": gen_exp, "LDSDIR": gen_ldsdir, "VINTERP": gen_vinterp,
}


def _corrupt(rng: random.Random, data: bytes) -> bytes:
    """Flips a few random bits outside the encoding prefix, to reach encodings LLVM rejects."""
    value = int.from_bytes(data, "little")
    for _ in range(rng.randrange(1, 3)):
        bit = rng.randrange(len(data) * 8)
        if bit < 32 and bit >= 23:
            continue
        value ^= 1 << bit
    return value.to_bytes(len(data), "little")


def generate(family: str, n: int, seed: int, corrupt: float = 0.03) -> list[bytes]:
    """n random instructions of one family (a fraction with flipped bits), reproducible by seed."""
    rng = random.Random(f"{seed}:{family}")
    gen = GENERATORS[family]
    out = []
    for _ in range(n):
        data = gen(rng)
        if rng.random() < corrupt:
            data = _corrupt(rng, data)
        out.append(data)
    return out


# ---------------------------------------------------------------------------------------------
# Running LLVM

def llvm_mc_path() -> str | None:
    return shutil.which(LLVM_MC)


def llvm_version(mc: str) -> str:
    out = subprocess.run([mc, "--version"], capture_output=True, text=True, check=True).stdout
    m = re.search(r"LLVM version ([\w.\-+]+)", out)
    return m.group(1) if m else out.strip()


_ENC_RE = re.compile(r"^\t(.*?)\s*; encoding: \[([0-9a-fx,]*)\]\s*$")
_WARN_RE = re.compile(r"^<stdin>:(\d+):(\d+): warning: invalid instruction encoding")


def _hexbytes(seq: bytes) -> str:
    return ",".join(f"0x{b:02x}" for b in seq)


def _marker(i: int) -> tuple[int, str]:
    """The marker word after input i and LLVM's text for it: an s_nop whose immediate names i."""
    tag = 0x8000 | (i % 0x7FFF)
    return 0xBF800000 | tag, f"s_nop 0x{tag:x}"


def _run_mc(mc: str, chunks: list[bytes]) -> tuple[list[list[tuple[str, bytes]]], list[int], dict[int, list[int]]]:
    """Disassembles each chunk followed by its marker words. Returns per chunk: the (text,
    encoding) lines LLVM printed before the chunk's markers, the number of its markers LLVM
    printed, and for each chunk with rejected words the byte offsets LLVM rejected."""
    lines = []
    for i, c in enumerate(chunks):
        word = _marker(i)[0].to_bytes(4, "little")
        lines.append(_hexbytes(c + word * N_MARKERS))
    proc = subprocess.run([mc, *MC_ARGS], input="\n".join(lines) + "\n", capture_output=True, text=True,
                          check=False)
    rejected: dict[int, list[int]] = {}
    for line in proc.stderr.splitlines():
        m = _WARN_RE.match(line)
        if m:
            # each byte is written as "0xNN," (5 characters)
            rejected.setdefault(int(m.group(1)) - 1, []).append((int(m.group(2)) - 1) // 5)
    regions: list[list[tuple[str, bytes]]] = [[] for _ in chunks]
    markers = [0] * len(chunks)
    i = 0
    expect = _marker(0)[1]
    for line in proc.stdout.splitlines():
        m = _ENC_RE.match(line)
        if not m or i >= len(chunks):
            continue
        text, enc = m.group(1), bytes(int(x, 16) for x in m.group(2).split(",") if x)
        if text == expect:
            markers[i] += 1
            continue
        if markers[i]:
            i += 1
            if i >= len(chunks):
                break
            expect = _marker(i)[1]
            if text == expect:
                markers[i] += 1
                continue
        regions[i].append((text, enc))
    if any(n == 0 for n in markers):
        raise RuntimeError("llvm-mc output lost sync with its input")
    return regions, markers, rejected


def llvm_disassemble(chunks: list[bytes], mc: str | None = None) -> list[tuple[str | None, bytes | None, int | None]]:
    """LLVM's (text, encoding, size consumed) for the first instruction of each chunk; (None, None,
    None) where LLVM rejects the chunk's first word."""
    mc = mc or llvm_mc_path()
    if mc is None:
        raise FileNotFoundError(f"{LLVM_MC} not found")
    regions, markers, rejected = _run_mc(mc, chunks)
    results: list = [None] * len(chunks)
    unsure = []
    for i, chunk in enumerate(chunks):
        bad = sorted(rejected.get(i, ()))
        if (bad and bad[0] == 0) or not regions[i]:
            results[i] = (None, None, None)
            continue
        text, enc = regions[i][0]
        if len(regions[i]) == 1 and not bad:
            results[i] = (text, enc, len(chunk) + 4 * (N_MARKERS - markers[i]))
        elif len(regions[i]) == 1 and bad[0] < len(chunk):
            results[i] = (text, enc, bad[0])
        else:
            results[i] = (text, enc, None)
            unsure.append(i)
    # LLVM stopped early inside the chunk: find the shortest prefix that gives the same text alone.
    if unsure:
        probes, owners = [], []
        for i in unsure:
            for size in range(4, len(chunks[i]), 4):
                probes.append(chunks[i][:size])
                owners.append((i, size))
        p_regions, p_markers, p_rejected = _run_mc(mc, probes)
        done = set()
        for k, (i, size) in enumerate(owners):
            if i in done or p_rejected.get(k):
                continue
            if len(p_regions[k]) == 1 and p_markers[k] == N_MARKERS and p_regions[k][0][0] == results[i][0]:
                results[i] = (results[i][0], results[i][1], size)
                done.add(i)
    return results


def _table_hash() -> str:
    return hashlib.sha256(Path(TABLE_PATH).read_bytes()).hexdigest()[:16]


def corpus(n_per_family: int = 1000, seed: int = 0, families: tuple[str, ...] = FAMILIES,
           cache_dir: Path | str | None = None) -> list[CorpusEntry]:
    """The differential corpus: n_per_family random instructions of each family with LLVM's
    disassembly. Cached on disk; needs llvm-mc-19 on a cache miss."""
    mc = llvm_mc_path()
    if mc is None:
        raise FileNotFoundError(f"{LLVM_MC} not found")
    version = llvm_version(mc)
    key = hashlib.sha256(json.dumps([GENERATOR_VERSION, n_per_family, seed, list(families), version,
                                     _table_hash()]).encode()).hexdigest()[:20]
    cache = Path(cache_dir or os.environ.get("AMDRT_CORPUS_CACHE") or DEFAULT_CACHE)
    path = cache / f"corpus-{key}.json"
    if path.exists():
        try:
            return [CorpusEntry.from_json(r) for r in json.loads(path.read_text())]
        except (ValueError, KeyError, TypeError):
            pass
    items = [(fam, data) for fam in families for data in generate(fam, n_per_family, seed)]
    results = llvm_disassemble([d for _, d in items], mc)
    entries = []
    for i, ((fam, data), (text, enc, size)) in enumerate(zip(items, results, strict=True)):
        if size is not None and size > len(data):
            # LLVM read past the generated words into the marker (e.g. as a literal): keep the
            # bytes it read, so that the entry stands on its own.
            data = (data + _marker(i)[0].to_bytes(4, "little") * N_MARKERS)[:size]
        entries.append(CorpusEntry(fam, data, text, enc, size))
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps([e.as_json() for e in entries]))
    tmp.replace(path)
    return entries
