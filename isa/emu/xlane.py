"""VALU instructions the core executes itself because they move data between lanes or address
registers indirectly: v_mov_b32, v_readlane / v_writelane / v_readfirstlane, v_permlane16 /
v_permlanex16 / v_permlane64, v_mbcnt_lo / hi, v_movrel*, v_swap*, and the no-ops v_nop and
v_pipeflush."""

import numpy as np

from isa import operands as opd
from isa.emu.access import Ctx, scalar_dest, scalar_source, store, vector_dest
from isa.emu.errors import EmulatorError
from isa.emu.state import M0, U32, U64, Batch, Group
from isa.emu.vector import dpp_source_reader, encoded_sources, source_reader


def _vgpr_field(code: int, what: str) -> int:
    if code < opd.VGPR_FIRST:
        raise EmulatorError(f"{what} must be a VGPR")
    return code - opd.VGPR_FIRST


def _src0_code(inst) -> int:
    return inst.fields["src0"]


def _nop(inst, ctx):
    return lambda b, g: None


def _mov_b32(inst, ctx: Ctx):
    (s,) = encoded_sources(inst)[:1]
    r = inst.fields["vdst"]
    ctx.use_vgpr(r)
    if inst.dpp:
        read = dpp_source_reader(inst, s, ctx)

        def mov_dpp(b, g):
            v, ok = read(b, g)
            store(b, g, r, v, None if ok is None else ok & g.exec)
        return mov_dpp
    read = source_reader(s, ctx, inst.literal)
    return lambda b, g: store(b, g, r, read(b, g), None)


def _readlane(inst, ctx: Ctx):
    f = inst.fields
    r = _vgpr_field(f["src0"], "v_readlane_b32 src0")
    ctx.use_vgpr(r)
    lane_of = scalar_source(f["src1"], 32, ctx, inst.literal)
    write = scalar_dest(f["vdst"], 32, ctx)
    mask = U32(ctx.lanes - 1)

    def readlane(b: Batch, g: Group):
        lane = (lane_of(b, g) & mask).astype(np.intp)
        write(b, g, b.V[r, g.idx, lane])
    return readlane


def _readfirstlane(inst, ctx: Ctx):
    f = inst.fields
    r = _vgpr_field(_src0_code(inst), "v_readfirstlane_b32 src0")
    ctx.use_vgpr(r)
    write = scalar_dest(f["vdst"], 32, ctx)

    def readfirstlane(b: Batch, g: Group):
        lane = np.argmax(g.exec, axis=1)          # 0 when no lane is active
        write(b, g, b.V[r, g.idx, lane])
    return readfirstlane


def _writelane(inst, ctx: Ctx):
    f = inst.fields
    value_of = scalar_source(f["src0"], 32, ctx, inst.literal)
    lane_of = scalar_source(f["src1"], 32, ctx, inst.literal)
    r = f["vdst"]
    ctx.use_vgpr(r)
    mask = U32(ctx.lanes - 1)

    def writelane(b: Batch, g: Group):            # ignores EXEC, as the hardware does
        lane = (lane_of(b, g) & mask).astype(np.intp)
        b.V[r, g.idx, lane] = value_of(b, g)
    return writelane


def _permlane(inst, ctx: Ctx, cross: bool):
    f = inst.fields
    r = _vgpr_field(f["src0"], "v_permlane src0")
    d = f["vdst"]
    ctx.use_vgpr(r)
    ctx.use_vgpr(d)
    sel_lo = scalar_source(f["src1"], 32, ctx, inst.literal)
    sel_hi = scalar_source(f["src2"], 32, ctx, inst.literal)
    fetch_inactive = bool(f.get("opsel", 0) & 1)
    bound_ctrl = bool(f.get("opsel", 0) & 2)
    lane = np.arange(ctx.lanes)
    row = lane // 16
    if cross:
        row = row ^ 1
    nibble = (4 * (lane % 16)).astype(U64)

    def permlane(b: Batch, g: Group):
        sel = sel_lo(b, g).astype(U64) | (sel_hi(b, g).astype(U64) << U64(32))
        src = (row * 16 + ((sel[:, None] >> nibble) & U64(0xF)).astype(np.int64)).astype(np.intp)
        vals = np.take_along_axis(b.V[r, g.sel], src, axis=1)
        wm = g.exec
        if not fetch_inactive:
            valid = np.take_along_axis(g.exec, src, axis=1)
            if bound_ctrl:
                vals = np.where(valid, vals, U32(0))
            else:
                wm = wm & valid
        store(b, g, d, vals, wm)
    return permlane


def _permlane64(inst, ctx: Ctx):
    f = inst.fields
    r = _vgpr_field(f["src0"], "v_permlane64_b32 src0")
    d = f["vdst"]
    ctx.use_vgpr(r)
    ctx.use_vgpr(d)
    if ctx.lanes == 32:
        return lambda b, g: store(b, g, d, b.V[r, g.sel], None)
    swap = np.arange(64) ^ 32
    return lambda b, g: store(b, g, d, b.V[r, g.sel][:, swap], None)


def _mbcnt(inst, ctx: Ctx, high: bool):
    s0, s1 = encoded_sources(inst)[:2]
    r0 = source_reader(s0, ctx, inst.literal)
    r1 = source_reader(s1, ctx, inst.literal)
    d = inst.fields["vdst"]
    ctx.use_vgpr(d)
    below = np.array([(1 << lane) - 1 for lane in range(ctx.lanes)], dtype=np.uint64)
    part = ((below >> U64(32)) if high else (below & U64(0xFFFFFFFF))).astype(U32)

    def mbcnt(b: Batch, g: Group):
        store(b, g, d, np.bitwise_count(r0(b, g) & part).astype(U32) + r1(b, g), None)
    return mbcnt


def _m0_part(b: Batch, g: Group, lo: int, hi: int) -> np.ndarray:
    m0 = b.S[M0, g.sel].astype(np.int64)
    return (m0 >> lo) & ((1 << (hi - lo + 1)) - 1)


def _rows_checked(b: Batch, rows: np.ndarray) -> np.ndarray:
    if rows.size and (rows.max() >= b.nvgpr or rows.min() < 0):
        raise EmulatorError(f"relative VGPR index v{int(rows.max())} is beyond the wave's {b.nvgpr} VGPRs")
    return rows


def _gather_rows(b: Batch, g: Group, rows: np.ndarray) -> np.ndarray:
    return b.V[_rows_checked(b, rows), g.idx]


def _scatter_rows(b: Batch, g: Group, rows: np.ndarray, value, wm) -> None:
    rows = _rows_checked(b, rows)
    cur = b.V[rows, g.idx]
    np.copyto(cur, value, where=g.exec if wm is None else wm, casting="unsafe")
    b.V[rows, g.idx] = cur


def _movrel(inst, ctx: Ctx, mnemonic: str):
    f = inst.fields
    src_code = _src0_code(inst)
    d = f["vdst"]
    if mnemonic == "v_movrels_b32":
        s = _vgpr_field(src_code, "v_movrels_b32 src0")

        def movrels(b, g):
            store(b, g, d, _gather_rows(b, g, s + _m0_part(b, g, 0, 31)), None)
        ctx.use_vgpr(d)
        return movrels
    if mnemonic == "v_movreld_b32":
        (src,) = encoded_sources(inst)[:1]
        read = source_reader(src, ctx, inst.literal)

        def movreld(b, g):
            _scatter_rows(b, g, d + _m0_part(b, g, 0, 31), read(b, g), None)
        return movreld
    s = _vgpr_field(src_code, f"{mnemonic} src0")
    two = mnemonic == "v_movrelsd_2_b32"

    def movrelsd(b, g):
        src_rows = s + (_m0_part(b, g, 0, 9) if two else _m0_part(b, g, 0, 31))
        dst_rows = d + (_m0_part(b, g, 16, 25) if two else _m0_part(b, g, 0, 31))
        _scatter_rows(b, g, dst_rows, _gather_rows(b, g, src_rows), None)
    return movrelsd


def _swap(inst, ctx: Ctx, mnemonic: str):
    f = inst.fields
    s = _vgpr_field(f["src0"], f"{mnemonic} src0")
    d = f["vdst"]
    if mnemonic == "v_swaprel_b32":
        def swaprel(b, g):
            src_rows = s + _m0_part(b, g, 0, 9)
            dst_rows = d + _m0_part(b, g, 16, 25)
            a = _gather_rows(b, g, src_rows)
            c = _gather_rows(b, g, dst_rows)
            _scatter_rows(b, g, dst_rows, a, None)
            _scatter_rows(b, g, src_rows, c, None)
        return swaprel
    if mnemonic == "v_swap_b16":
        sr, s_hi = s & 0x7F, bool(s & 0x80)
        dr, d_hi = d & 0x7F, bool(d & 0x80)
        ctx.use_vgpr(sr)
        ctx.use_vgpr(dr)
        ws = vector_dest(sr, 32, ctx, "hi" if s_hi else "lo")
        wd = vector_dest(dr, 32, ctx, "hi" if d_hi else "lo")

        def swap16(b, g):
            a = (b.V[sr, g.sel] >> U32(16 if s_hi else 0)) & U32(0xFFFF)
            c = (b.V[dr, g.sel] >> U32(16 if d_hi else 0)) & U32(0xFFFF)
            wd(b, g, a, None)
            ws(b, g, c, None)
        return swap16
    ctx.use_vgpr(s)
    ctx.use_vgpr(d)

    def swap(b, g):
        a = b.V[s, g.sel].copy()
        c = b.V[d, g.sel].copy()
        store(b, g, d, a, None)
        store(b, g, s, c, None)
    return swap


def compile_core_valu(inst, ctx: Ctx):
    """The closure for a VALU op the core owns, or None if the ALU table's op applies."""
    m = inst.op.mnemonic
    if m in ("v_nop", "v_pipeflush"):
        return _nop(inst, ctx)
    if m == "v_mov_b32":
        return _mov_b32(inst, ctx)
    if m == "v_readlane_b32":
        return _readlane(inst, ctx)
    if m == "v_readfirstlane_b32":
        return _readfirstlane(inst, ctx)
    if m == "v_writelane_b32":
        return _writelane(inst, ctx)
    if m in ("v_permlane16_b32", "v_permlanex16_b32"):
        return _permlane(inst, ctx, cross=m == "v_permlanex16_b32")
    if m == "v_permlane64_b32":
        return _permlane64(inst, ctx)
    if m in ("v_mbcnt_lo_u32_b32", "v_mbcnt_hi_u32_b32"):
        return _mbcnt(inst, ctx, high=m.startswith("v_mbcnt_hi"))
    if m.startswith("v_movrel"):
        return _movrel(inst, ctx, m)
    if m in ("v_swap_b32", "v_swap_b16", "v_swaprel_b32"):
        return _swap(inst, ctx, m)
    return None
