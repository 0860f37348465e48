"""VALU instructions (VOP1, VOP2, VOPC, VOP3, VOP3SD, VOP3P, VOPD, with DPP16 / DPP8) turned
into closures over the ALU table's elementwise functions.

The core's share of the work: reading the operands (register halves chosen by op_sel or the
16-bit register encoding of VOP1/VOP2/VOPC, where VGPR bit 7 selects the high half), the input
modifiers (abs/neg on the sign bit of float operands, VOP3P half selection and negation), the
DPP lane swizzle of src0, implicit operands (VCC, the accumulator D0, the literal of fmaak /
fmamk), EXEC, output modifiers (omod, clamp) for ops that leave them to the core, and where the
result goes (VGPR, VGPR half, VCC / SGPR lane mask, EXEC for v_cmpx, carry-out).
"""

import numpy as np

from isa import operands as opd
from isa.emu import dpp, wide
from isa.emu.access import (
    Ctx,
    is_float,
    mask_dest,
    mask_source,
    packed_source,
    vector_dest,
    vector_source,
    with_float_mods,
)
from isa.emu.alu import AluTables, attr
from isa.emu.errors import IllegalInstruction
from isa.emu.state import EXEC, U32, U64, VCC

_SRC_KEYS = ("src0", "src1", "src2")


# ---------------------------------------------------------------------------------------------
# output modifiers

_FTYPES = {"f16": (np.float16, np.uint16, 0xFFFF), "f32": (np.float32, np.uint32, None),
           "f64": (np.float64, np.uint64, None)}


def output_mods(bits, ftype: str, omod: int, clamp: bool, packed: bool = False):
    """omod (x2, x4, /2) then clamp to [0, 1] (NaN -> 0) on float result bits."""
    if ftype == "f16" and packed:
        bits = np.asarray(bits, U32)
        lo = output_mods(bits & U32(0xFFFF), "f16", omod, clamp)
        hi = output_mods(bits >> U32(16), "f16", omod, clamp)
        return lo | (hi << U32(16))
    ftype_np, utype, mask16 = _FTYPES[ftype]
    if mask16 is not None:
        x = (np.asarray(bits).astype(U32) & U32(mask16)).astype(np.uint16).view(np.float16)
    else:
        x = np.ascontiguousarray(bits, utype).view(ftype_np)
    if omod:
        x = x * ftype_np((2.0, 4.0, 0.5)[omod - 1])
    if clamp:
        x = np.where(x > 0, np.minimum(x, ftype_np(1.0)), ftype_np(0.0)).astype(ftype_np)
    out = np.ascontiguousarray(x, ftype_np).view(utype)
    return out.astype(U32) if mask16 is not None else out


# ---------------------------------------------------------------------------------------------
# operand plans

class Src:
    """One source as encoded: code and how to read it."""

    def __init__(self, code: int, bits: int, dtype: str):
        self.code = code
        self.bits = bits
        self.dtype = dtype
        self.hi = False
        self.abs = False
        self.neg = False
        self.packed = None          # (sel_lo, sel_hi, neg_lo, neg_hi) for VOP3P packed operands


def _vgpr16(code: int) -> tuple[int, bool]:
    """VOP1/VOP2/VOPC 16-bit operands: VGPR bit 7 selects the high half of v[0..127]."""
    r = code - opd.VGPR_FIRST
    return opd.VGPR_FIRST + (r & 0x7F), bool(r & 0x80)


def _operand(opi, key: str):
    o = opi.get(key)
    if o is None and key == "src0":
        o = opi.get("vsrc0")
    return o


def encoded_sources(inst, widths: dict | None = None) -> list[Src]:
    """The sources an instruction's fields name, in S0, S1, S2 order, with their modifiers.
    `widths` overrides the table's operand width per source index (the ALU op's own widths)."""
    f = inst.fields
    opi = inst.op.operands
    base = inst.base
    widths = widths or {}
    out: list[Src] = []
    if base in ("VOP1", "VOP2", "VOPC"):
        keys = [("src0", f["src0"])]
        if base != "VOP1":
            keys.append(("vsrc1", opd.VGPR_FIRST + f["vsrc1"]))
        for i, (key, code) in enumerate(keys):
            o = _operand(opi, key)
            if o is None:
                continue
            s = Src(code, widths.get(i, o.bits), o.dtype)
            if s.bits == 16 and code >= opd.VGPR_FIRST:
                s.code, s.hi = _vgpr16(code)
            if inst.dpp == "DPP16":
                s.abs = bool(f.get(f"src{i}_abs", 0))
                s.neg = bool(f.get(f"src{i}_neg", 0))
            out.append(s)
        return out
    for i, key in enumerate(_SRC_KEYS):
        o = _operand(opi, key)
        if o is None:
            continue
        s = Src(f[key], widths.get(i, o.bits), o.dtype)
        if base in ("VOP3", "VOP3SD"):
            s.abs = bool((f.get("abs", 0) >> i) & 1)
            s.neg = bool((f.get("neg", 0) >> i) & 1)
            if s.bits == 16 and base == "VOP3":
                s.hi = bool((f.get("opsel", 0) >> i) & 1)
        elif base == "VOP3P":
            opsel_hi = f.get("opsel_hi", 0) | (f.get("opsel_hi2", 0) << 2)
            s.packed = (bool((f["opsel"] >> i) & 1), bool((opsel_hi >> i) & 1),
                        bool((f["neg"] >> i) & 1), bool((f["neg_hi"] >> i) & 1))
        out.append(s)
    return out


def source_reader(s: Src, ctx: Ctx, literal, raw_mods: bool = False):
    """A reader for one non-DPP source with its modifiers applied; constants and SGPRs come as
    arrays that broadcast to [n, L] (the ALU's functions accept any broadcastable sources)."""
    if s.packed is not None and not raw_mods:
        read = vector_source(s.code, 32, ctx, literal, s.dtype, compact=True)
        if s.bits == 32 and s.dtype.startswith("NUM_PK2"):
            return packed_source(read, *s.packed, float_halves=is_float(s.dtype))
        sel_lo, _, neg_lo, _ = s.packed
        if s.bits == 16:
            read = vector_source(s.code, 16, ctx, literal, s.dtype, hi=sel_lo, compact=True)
        elif s.bits == 64:
            read = vector_source(s.code, 64, ctx, literal, s.dtype, compact=True)
        return with_float_mods(read, s.bits, False, neg_lo and is_float(s.dtype))
    read = vector_source(s.code, s.bits, ctx, literal, s.dtype, hi=s.hi, compact=True)
    if raw_mods or not is_float(s.dtype):
        return read
    return with_float_mods(read, s.bits, s.abs, s.neg)


def dpp_source_reader(inst, s: Src, ctx: Ctx):
    """src0 through DPP: (batch, group) -> (values, ok-to-write mask or None)."""
    f = inst.fields
    r = f["vsrc0"]
    hi = False
    if s.bits == 16 and inst.base in ("VOP1", "VOP2", "VOPC"):
        hi, r = bool(r & 0x80), r & 0x7F
    wide = s.bits > 32
    ctx.use_vgpr(r, 2 if wide else 1)
    if inst.dpp == "DPP16":
        raw = dpp.dpp16_reader(r, wide, f["dpp"], f["row_mask"], f["bank_mask"], bool(f["bc"]), bool(f["fi"]),
                               ctx.lanes)
    else:
        selects = [f[f"lane_sel_{i}"] for i in range(8)]
        raw = dpp.dpp8_reader(r, wide, selects, f["src0"] == opd.DPP8_FI, ctx.lanes)
    if s.bits == 16:
        shift = U32(16 if hi else 0)
        half = raw

        def raw(b, g):  # noqa: F811 - the 16-bit view of the swizzled register
            v, ok = half(b, g)
            return (v >> shift) & U32(0xFFFF), ok
    if is_float(s.dtype) and (s.abs or s.neg):
        dt = U64 if wide else U32
        sign = dt(1 << (s.bits - 1))
        full = dt((1 << (64 if wide else 32)) - 1)
        swizzled = raw

        def raw(b, g):  # noqa: F811 - with abs / neg
            v, ok = swizzled(b, g)
            if s.abs:
                v = v & (full ^ sign)
            if s.neg:
                v = v ^ sign
            return v, ok
    return raw


# ---------------------------------------------------------------------------------------------
# destinations

def _vdst_half(inst, bits16: bool) -> tuple[int, str | None]:
    """The destination VGPR and, for a 16-bit result, which half it goes to."""
    f = inst.fields
    r = f["vdst"]
    if not bits16:
        return r, None
    if inst.base in ("VOP1", "VOP2"):
        return r & 0x7F, ("hi" if r & 0x80 else "lo")
    if inst.base == "VOP3":
        return r, ("hi" if (f.get("opsel", 0) >> 3) & 1 else "lo")
    return r, "lo"


def _carry_code(inst) -> int:
    return inst.fields["sdst"] if inst.base == "VOP3SD" else VCC


def _mask_dst_code(inst, writes_exec: bool) -> int:
    if writes_exec:
        return EXEC
    if inst.base == "VOPC":
        return VCC
    return inst.fields["vdst"]


# ---------------------------------------------------------------------------------------------
# building one VALU instruction

def _f16_mods_half(m: str, vdst_dtype: str) -> str:
    """Which half of a 32-bit result holds the f16 value output modifiers apply to."""
    if vdst_dtype.startswith("NUM_PK2"):
        return "both"
    return "hi" if m.endswith("mixhi_f16") else "lo"


def _with_output_mods(res, ftype: str, omod: int, clamp: bool, dst_bits: int, where16: str):
    if ftype != "f16" or dst_bits == 16:
        return output_mods(res, ftype, omod, clamp)
    res = np.asarray(res, U32)
    if where16 == "both":
        return output_mods(res, "f16", omod, clamp, packed=True)
    if where16 == "hi":
        return (res & U32(0xFFFF)) | (output_mods(res >> U32(16), "f16", omod, clamp) << U32(16))
    return (res & U32(0xFFFF0000)) | output_mods(res & U32(0xFFFF), "f16", omod, clamp)


def _lanes(b, g, mask) -> np.ndarray:
    """A per-lane bool result as [n, L] (compact sources give broadcastable ones)."""
    mask = np.asarray(mask, bool)
    return mask if mask.shape == (g.n, b.L) else np.broadcast_to(mask, (g.n, b.L))


def compile_vop(inst, ctx: Ctx, alu: AluTables):
    """The closure (batch, group) -> None for a non-VOPD VALU instruction of the ALU table."""
    vop = alu.vector(inst.op.mnemonic)
    general = _compile_general(inst, ctx, vop)
    return wide.compile_wide(inst, ctx, vop, general) or general


def _compile_general(inst, ctx: Ctx, vop):
    m = inst.op.mnemonic
    fn = vop.fn
    f = inst.fields
    raw_mods = bool(attr(vop, "raw_mods", False))
    dst_kind = attr(vop, "dst", "u32")
    carry = bool(attr(vop, "carry_out", False))
    src_bits = tuple(attr(vop, "src_bits", ()) or ())
    names = tuple(attr(vop, "src_names", ()) or ())
    if not names:
        names = ("s0", "s1", "s2")[:len(src_bits)]
    widths = {int(n[1]): w for n, w in zip(names, src_bits) if n in ("s0", "s1", "s2")}
    enc = encoded_sources(inst, widths)
    dst_bits = attr(vop, "dst_bits", 64 if dst_kind == "u64" else 32)
    half16 = bool(attr(vop, "dst_half16", False)) or (dst_kind == "u32" and dst_bits == 16)
    dst_r, dst_half = (None, None)
    if dst_kind != "mask":
        dst_r, dst_half = _vdst_half(inst, half16)

    readers = []
    dpp_read = None
    for name, bits in zip(names, src_bits):
        if name in ("s0", "s1", "s2"):
            k = int(name[1])
            if k >= len(enc):
                raise IllegalInstruction(f"{m}: source {name} is not encoded")
            s = enc[k]
            if k == 0 and inst.dpp:
                dpp_read = dpp_source_reader(inst, s, ctx)
                readers.append(None)
            else:
                readers.append(source_reader(s, ctx, inst.literal, raw_mods))
        elif name == "vcc":
            # The SGPR mask operand of a VOP3 form sits in src2, unless src2 is a source of its own.
            own_src2 = inst.base in ("VOP3", "VOP3SD") and "s2" not in names
            readers.append(mask_source(f["src2"] if own_src2 else VCC, ctx))
        elif name == "simm32":
            readers.append(vector_source(opd.LITERAL, bits, ctx, inst.literal, "NUM_B32", compact=True))
        elif name == "d0":
            if dst_r is None:
                raise IllegalInstruction(f"{m}: reads its destination but has none")
            readers.append(vector_source(opd.VGPR_FIRST + dst_r, bits, ctx, None, "", hi=(dst_half == "hi")))
        else:
            raise IllegalInstruction(f"{m}: unknown source {name!r}")
    if dpp_read is not None and readers[0] is not None:
        raise IllegalInstruction(f"{m}: DPP needs src0 first")

    clamp = bool(f.get("clmp", 0))
    core_mods = bool(attr(vop, "core_output_mods", False))
    ftype = attr(vop, "float_type", None)
    omod = f.get("omod", 0) if inst.base in ("VOP3", "VOP3SD") else 0
    apply_mods = core_mods and ftype is not None and bool(omod or clamp)
    kw = {"clamp": clamp and not core_mods}
    if raw_mods:
        kw.update(opsel=f.get("opsel", 0), opsel_hi=f.get("opsel_hi", 0) | (f.get("opsel_hi2", 0) << 2),
                  neg=f.get("neg", 0), neg_hi=f.get("neg_hi", f.get("abs", 0)))
    vdst_o = inst.op.operands.get("vdst")
    where16 = _f16_mods_half(m, vdst_o.dtype if vdst_o is not None else "")

    if dst_kind == "mask":
        writes_exec = bool(attr(vop, "writes_exec", False))
        write_mask = mask_dest(_mask_dst_code(inst, writes_exec), ctx)

        def finish(b, g, res, ok):
            lanes = _lanes(b, g, res)
            if not g.full:
                lanes = lanes & g.exec
            elif writes_exec and ok is None and lanes.all():
                return                  # v_cmpx keeping every lane: EXEC stays as it is
            if ok is not None:
                lanes = lanes & ok
            write_mask(b, g, lanes)
    else:
        bits = {"u64": 64, "u128": 128}.get(dst_kind, 32)
        write = vector_dest(dst_r, bits, ctx, dst_half)
        write_carry = mask_dest(_carry_code(inst), ctx) if carry else None

        def finish(b, g, res, ok):
            if carry:
                res, cout = res
            if apply_mods:
                res = _with_output_mods(res, ftype, omod, clamp, dst_bits, where16)
            wm = None if ok is None else (ok & g.exec)
            write(b, g, res, wm)
            if carry:
                lanes = _lanes(b, g, cout)
                if wm is not None or not g.full:
                    lanes = lanes & (g.exec if wm is None else wm)
                write_carry(b, g, lanes)

    if dpp_read is not None:
        rest = readers[1:]

        def run_dpp(b, g):
            v0, ok = dpp_read(b, g)
            finish(b, g, fn(v0, *[r(b, g) for r in rest], **kw), ok)
        return run_dpp

    if dst_kind == "u32" and not carry and not apply_mods and not raw_mods:
        clamp_kw = kw["clamp"]
        if len(readers) == 2:
            ra, rb = readers

            def run2(b, g):
                write(b, g, fn(ra(b, g), rb(b, g), clamp=clamp_kw), None)
            return run2
        if len(readers) == 3:
            ra, rb, rc = readers

            def run3(b, g):
                write(b, g, fn(ra(b, g), rb(b, g), rc(b, g), clamp=clamp_kw), None)
            return run3

    def run(b, g):
        finish(b, g, fn(*[r(b, g) for r in readers], **kw), None)
    return run


# ---------------------------------------------------------------------------------------------
# VOPD: two independent ops, both read before either writes

def _vopd_half(inst, ctx: Ctx, alu: AluTables, which: str):
    f = inst.fields
    op = inst.op if which == "x" else inst.op_y
    m = op.mnemonic
    if which == "x":
        src0, vsrc1, vdst = f["srcx0"], f["vsrcx1"], f["vdstx"]
    else:
        src0, vsrc1 = f["srcy0"], f["vsrcy1"]
        vdst = (f["vdsty"] << 1) | ((f["vdstx"] & 1) ^ 1)
    ctx.use_vgpr(vdst)
    opi = op.operands
    dtype0 = opi["srcy0"].dtype if "srcy0" in opi else "NUM_B32"
    dtype1 = opi["vsrcy1"].dtype if "vsrcy1" in opi else "NUM_B32"
    if m == "v_dual_mov_b32":
        read = vector_source(src0, 32, ctx, inst.literal, dtype0, compact=True)
        return vdst, read
    vop = alu.vector(m)
    fn = vop.fn
    readers = []
    for name in attr(vop, "src_names", ("s0", "s1")):
        if name == "s0":
            readers.append(vector_source(src0, 32, ctx, inst.literal, dtype0, compact=True))
        elif name == "s1":
            readers.append(vector_source(opd.VGPR_FIRST + vsrc1, 32, ctx, None, dtype1))
        elif name == "vcc":
            readers.append(mask_source(VCC, ctx))
        elif name == "simm32":
            readers.append(vector_source(opd.LITERAL, 32, ctx, inst.literal, "NUM_B32", compact=True))
        elif name == "d0":
            readers.append(vector_source(opd.VGPR_FIRST + vdst, 32, ctx, None, ""))
        else:
            raise IllegalInstruction(f"{m}: unknown source {name!r}")

    def compute(b, g):
        return fn(*[r(b, g) for r in readers], clamp=False)
    return vdst, compute


def compile_vopd(inst, ctx: Ctx, alu: AluTables):
    rx, fx = _vopd_half(inst, ctx, alu, "x")
    ry, fy = _vopd_half(inst, ctx, alu, "y")
    if rx == ry:
        raise IllegalInstruction("VOPD halves write the same VGPR")
    wx = vector_dest(rx, 32, ctx)
    wy = vector_dest(ry, 32, ctx)

    def run(b, g):
        x = fx(b, g)
        y = fy(b, g)
        if np.may_share_memory(x, b.V):          # register views: keep the values read
            x = np.array(x)
        if np.may_share_memory(y, b.V):
            y = np.array(y)
        wx(b, g, x, None)
        wy(b, g, y, None)
    return run

