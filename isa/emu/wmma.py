"""WMMA (v_wmma_*_16x16x16_*): gathering the A, B and C matrices out of a wave's VGPRs and
scattering D back, per the RDNA3 wave32 register layout; the arithmetic is the ALU table's.

Wave32 layout (M rows, N columns, K the reduction index):
  A  lane l (0..15) holds row l; lanes 16..31 repeat lanes 0..15 and are not read. 16-bit types:
     VGPR i holds K = 2i (low half) and 2i+1 (high half); iu8: VGPR i holds K = 4i..4i+3 (byte
     0 first); iu4: VGPR i holds K = 8i..8i+7 (nibble 0 first).
  B  the same with lane l holding column l.
  C, D  8 VGPRs; VGPR i of lane l holds row 2i + l // 16, column l % 16. f32 / i32 fill the
     VGPR; f16 / bf16 use the half op_sel[2] selects (the other half is kept).
For iu8 / iu4, neg[0] and neg[1] mark A and B signed; clamp saturates the i32 result.
"""

import numpy as np

from isa import operands as opd
from isa.emu.access import Ctx, constant_bits, store
from isa.emu.alu import AluTables
from isa.emu.errors import IllegalInstruction
from isa.emu.state import U32

# mnemonic -> (A/B element type, C/D type)
KINDS = {
    "v_wmma_f32_16x16x16_f16": ("f16", "f32"),
    "v_wmma_f32_16x16x16_bf16": ("bf16", "f32"),
    "v_wmma_f16_16x16x16_f16": ("f16", "f16"),
    "v_wmma_bf16_16x16x16_bf16": ("bf16", "bf16"),
    "v_wmma_i32_16x16x16_iu8": ("iu8", "i32"),
    "v_wmma_i32_16x16x16_iu4": ("iu4", "i32"),
}
_AB_REGS = {"f16": 8, "bf16": 8, "iu8": 4, "iu4": 2}


def _elements(words: np.ndarray, kind: str, signed: bool) -> np.ndarray:
    """[..., regs] uint32 words -> [..., 16] elements in K order, as the matrix type."""
    if kind in ("f16", "bf16"):
        halves = np.stack([words & U32(0xFFFF), words >> U32(16)], axis=-1).reshape(words.shape[:-1] + (16,))
        if kind == "f16":
            return halves.astype(np.uint16).view(np.float16)
        return (halves << U32(16)).view(np.float32)
    width = 8 if kind == "iu8" else 4
    per = 32 // width
    shifts = (np.arange(per, dtype=U32) * U32(width))
    parts = (words[..., None] >> shifts) & U32((1 << width) - 1)
    parts = parts.reshape(words.shape[:-1] + (16,)).astype(np.int16)
    if signed:
        parts = np.where(parts >= (1 << (width - 1)), parts - (1 << width), parts)
        return parts.astype(np.int8)
    return parts.astype(np.uint8)


def gather_ab(b, g, r: int, kind: str, signed: bool) -> np.ndarray:
    """[n, 16 (lane), 16 (K)] for A (lane = row) or B (lane = column)."""
    regs = _AB_REGS[kind]
    words = np.stack([b.V[r + i, g.sel][:, :16] for i in range(regs)], axis=-1)   # [n, 16, regs]
    return _elements(words, kind, signed)


def _cd_layout(words: np.ndarray) -> np.ndarray:
    """[8, n, 32] register words -> [n, 16, 16] by (row, column)."""
    n = words.shape[1]
    return words.reshape(8, n, 2, 16).transpose(1, 0, 2, 3).reshape(n, 16, 16)


def _cd_words(m: np.ndarray) -> np.ndarray:
    """Inverse of _cd_layout: [n, 16, 16] -> [8, n, 32]."""
    n = m.shape[0]
    return m.reshape(n, 8, 2, 16).transpose(1, 0, 2, 3).reshape(8, n, 32)


def _cd_to_type(words: np.ndarray, kind: str) -> np.ndarray:
    if kind == "f32":
        return np.ascontiguousarray(words).view(np.float32)
    if kind == "i32":
        return np.ascontiguousarray(words).view(np.int32)
    if kind == "f16":
        return (words & U32(0xFFFF)).astype(np.uint16).view(np.float16)
    return ((words & U32(0xFFFF)) << U32(16)).view(np.float32)           # bf16, exact in f32


def _type_to_bits(d: np.ndarray, kind: str) -> np.ndarray:
    d = np.asarray(d)
    if kind in ("f32", "i32"):
        if d.dtype in (np.float32, np.int32, np.uint32):
            return np.ascontiguousarray(d).view(U32)
        return np.ascontiguousarray(d.astype(np.float32 if kind == "f32" else np.int32)).view(U32)
    if kind == "f16":
        if d.dtype == np.float16:
            return np.ascontiguousarray(d).view(np.uint16).astype(U32)
        return d.astype(U32) & U32(0xFFFF)
    if d.dtype == np.float32:                                              # bf16 held in f32
        return np.ascontiguousarray(d).view(U32) >> U32(16)
    return d.astype(U32) & U32(0xFFFF)


def compile_wmma(inst, ctx: Ctx, alu: AluTables):
    m = inst.op.mnemonic
    if ctx.lanes != 32:
        raise IllegalInstruction(f"{m}: only the wave32 register layout is implemented")
    ab, cd = KINDS[m]
    fn = alu.matrix(m)
    f = inst.fields
    if f["src0"] < opd.VGPR_FIRST or f["src1"] < opd.VGPR_FIRST:
        raise IllegalInstruction(f"{m}: A and B must be VGPRs")
    ra, rb = f["src0"] - opd.VGPR_FIRST, f["src1"] - opd.VGPR_FIRST
    rd = f["vdst"]
    regs = _AB_REGS[ab]
    ctx.use_vgpr(ra, regs)
    ctx.use_vgpr(rb, regs)
    ctx.use_vgpr(rd, 8)
    signed_a = bool(f["neg"] & 1) if ab.startswith("iu") else False
    signed_b = bool(f["neg"] & 2) if ab.startswith("iu") else False
    clamp = bool(f["clmp"])
    hi = bool((f["opsel"] >> 2) & 1) and cd in ("f16", "bf16")
    c_code = f["src2"]
    if c_code >= opd.VGPR_FIRST:
        rc = c_code - opd.VGPR_FIRST
        ctx.use_vgpr(rc, 8)
        const = None
    else:
        rc = None
        const = constant_bits(c_code, 16 if cd in ("f16", "bf16") else 32,
                              {"f32": "NUM_F32", "i32": "NUM_I32", "f16": "NUM_F16", "bf16": "NUM_BF16"}[cd],
                              inst.literal)
        if const is None:
            raise IllegalInstruction(f"{m}: C must be VGPRs or an inline constant")
    kwargs = {"clamp": True} if clamp else {}

    def wmma(b, g):
        a = gather_ab(b, g, ra, ab, signed_a)
        bm = gather_ab(b, g, rb, ab, signed_b).transpose(0, 2, 1)
        if rc is not None:
            words = np.stack([b.V[rc + i, g.sel] for i in range(8)])
            if hi:
                words = words >> U32(16)
        else:
            words = np.full((8, g.n, 32), const, U32)
        c = _cd_to_type(_cd_layout(words), cd)
        d = _cd_words(_type_to_bits(fn(a, bm, c, **kwargs), cd))
        for i in range(8):
            v = d[i]
            if cd in ("f16", "bf16"):
                old = b.V[rd + i, g.sel]
                v = (old & U32(0xFFFF)) | (v << U32(16)) if hi else (old & U32(0xFFFF0000)) | (v & U32(0xFFFF))
            store(b, g, rd + i, v, None)
    return wmma
