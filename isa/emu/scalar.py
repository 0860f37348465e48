"""Scalar instructions: SALU (SOP1, SOP2, SOPC, SOPK) over the ALU table, the ones the core owns
(s_getreg / s_setreg, s_movrel*, s_sendmsg_rtn, the exec-mask ops' EXEC write), and SMEM loads."""

import numpy as np

from isa import operands as opd
from isa.emu.access import Ctx, scalar_dest, scalar_source
from isa.emu.alu import AluTables, attr
from isa.emu.errors import EmulatorError, IllegalInstruction
from isa.emu.memory import access_lock
from isa.emu.state import EXEC, M0, NULL, U32, U64, Batch, Group
from isa.tables import table

# Hardware register ids (s_getreg / s_setreg), from the ISA table.
HWREG = {name[len("HW_REG_"):]: value for name, value in table().hwreg.items()}
MODE, STATUS, HW_ID1, HW_ID2 = HWREG["MODE"], HWREG["STATUS"], HWREG["HW_ID1"], HWREG["HW_ID2"]
GPR_ALLOC, LDS_ALLOC, SH_MEM_BASES = HWREG["GPR_ALLOC"], HWREG["LDS_ALLOC"], HWREG["SH_MEM_BASES"]
FLAT_SCRATCH_LO, FLAT_SCRATCH_HI = HWREG["SHADER_FLAT_SCRATCH_LO"], HWREG["SHADER_FLAT_SCRATCH_HI"]
SHADER_CYCLES = HWREG["SHADER_CYCLES"]
WRITABLE_HWREGS = {MODE: 0xFFFFFFFF, HWREG["TRAPSTS"]: 0xFFFFFFFF}
SGPR_LIMIT = opd.SGPR_MAX + 1

MSG_RTN = {name: value for name, value in table().sendmsg.items()}


def _hwreg_value(b: Batch, g: Group, reg: int) -> np.ndarray:
    """The current value of a hardware register for each wave of the group."""
    if reg in b.hwreg:
        return b.hwreg[reg][g.sel]
    if reg == STATUS:
        scc = b.scc[g.sel].astype(U32)
        execz = (b.mask_bits(EXEC, g.sel) == 0).astype(U32)
        vccz = (b.mask_bits(opd.VCC_LO, g.sel) == 0).astype(U32)
        return scc | (execz << U32(9)) | (vccz << U32(10))
    if reg == FLAT_SCRATCH_LO:
        return (b.scratch_base[g.sel] & U64(0xFFFFFFFF)).astype(U32)
    if reg == FLAT_SCRATCH_HI:
        return (b.scratch_base[g.sel] >> U64(32)).astype(U32)
    if reg == SHADER_CYCLES:
        return np.full(g.n, b.clock & 0xFFFFF, U32)
    return np.zeros(g.n, U32)


def _hwreg_fields(simm16: int) -> tuple[int, int, int]:
    reg = simm16 & 0x3F
    offset = (simm16 >> 6) & 0x1F
    size = ((simm16 >> 11) & 0x1F) + 1
    return reg, offset, (1 << size) - 1


def _getreg(inst, ctx: Ctx):
    reg, offset, mask = _hwreg_fields(inst.fields["simm16"])
    write = scalar_dest(inst.fields["sdst"], 32, ctx)
    return lambda b, g: write(b, g, (_hwreg_value(b, g, reg) >> U32(offset)) & U32(mask))


def _setreg(inst, ctx: Ctx, immediate: bool):
    reg, offset, mask = _hwreg_fields(inst.fields["simm16"])
    if immediate:
        value_of = scalar_source(opd.LITERAL, 32, ctx, inst.literal)
    else:
        value_of = scalar_source(inst.fields["sdst"], 32, ctx)
    field_mask = U32((mask << offset) & WRITABLE_HWREGS.get(reg, 0) & 0xFFFFFFFF)

    def setreg(b: Batch, g: Group):
        if not field_mask:
            return
        regs = b.hwreg[reg]
        value = (value_of(b, g) << U32(offset)) & field_mask
        regs[g.sel] = (regs[g.sel] & ~field_mask) | value
    return setreg


def _check_rel(rows: np.ndarray, wide: bool) -> np.ndarray:
    top = rows + (1 if wide else 0)
    if rows.size and (int(top.max()) >= SGPR_LIMIT or int(rows.min()) < 0):
        raise EmulatorError(f"relative SGPR index s{int(top.max())} is beyond s{SGPR_LIMIT - 1}")
    return rows


def _movrel(inst, ctx: Ctx, m: str):
    f = inst.fields
    wide = m.endswith("_b64")
    src = f.get("ssrc0", 0)
    dst = f.get("sdst", 0)
    ctx.use_sgpr(0, opd.SGPR_MAX + 1)           # M0 may point anywhere

    def m0(b, g, lo=0, hi=31):
        return ((b.S[M0, g.sel].astype(np.int64)) >> lo) & ((1 << (hi - lo + 1)) - 1)

    if m.startswith("s_movrels_"):
        write = scalar_dest(dst, 64 if wide else 32, ctx)

        def movrels(b, g):
            rows = _check_rel(src + m0(b, g), wide)
            lo = b.S[rows, g.idx]
            if wide:
                lo = lo.astype(U64) | (b.S[rows + 1, g.idx].astype(U64) << U64(32))
            write(b, g, lo)
        return movrels
    if m.startswith("s_movreld_"):
        read = scalar_source(src, 64 if wide else 32, ctx, inst.literal)

        def movreld(b, g):
            rows = _check_rel(dst + m0(b, g), wide)
            v = read(b, g)
            b.S[rows, g.idx] = (v & U64(0xFFFFFFFF)).astype(U32) if wide else v
            if wide:
                b.S[rows + 1, g.idx] = (v >> U64(32)).astype(U32)
        return movreld

    def movrelsd2(b, g):                            # s_movrelsd_2_b32
        src_rows = _check_rel(src + m0(b, g, 0, 9), False)
        dst_rows = _check_rel(dst + m0(b, g, 16, 25), False)
        b.S[dst_rows, g.idx] = b.S[src_rows, g.idx]
    return movrelsd2


def _sendmsg_rtn(inst, ctx: Ctx, m: str):
    msg = inst.fields["ssrc0"]
    wide = m.endswith("_b64")
    write = scalar_dest(inst.fields["sdst"], 64 if wide else 32, ctx)
    realtime = msg == MSG_RTN.get("MSG_RTN_GET_REALTIME")
    dt = U64 if wide else U32

    def sendmsg_rtn(b, g):
        write(b, g, np.full(g.n, b.clock if realtime else 0, dt))
    return sendmsg_rtn


def compile_salu(inst, ctx: Ctx, alu: AluTables):
    m = inst.op.mnemonic
    f = inst.fields
    if m == "s_getreg_b32":
        return _getreg(inst, ctx)
    if m in ("s_setreg_b32", "s_setreg_imm32_b32"):
        return _setreg(inst, ctx, immediate=m == "s_setreg_imm32_b32")
    if m.startswith("s_movrel"):
        return _movrel(inst, ctx, m)
    if m.startswith("s_sendmsg_rtn"):
        return _sendmsg_rtn(inst, ctx, m)
    if m == "s_version":
        return lambda b, g: None
    if m.startswith("s_subvector_loop"):
        raise IllegalInstruction(f"{m}: subvector looping is not supported")
    sop = alu.scalar(m)
    fn = sop.fn
    src_bits = tuple(attr(sop, "src_bits", ()) or ())
    names = tuple(attr(sop, "src_names", ()) or ("s0", "s1")[:len(src_bits)])
    dst_bits = attr(sop, "dst_bits", 32)
    reads_scc = bool(attr(sop, "reads_scc", False))
    writes_scc = bool(attr(sop, "writes_scc", False))
    opi = inst.op.operands
    sources = []
    exec_bits = 64 if ctx.wave64 else 32
    for name, bits in zip(names, src_bits):
        if name in ("s0", "s1"):
            key = "ssrc0" if name == "s0" else "ssrc1"
            dtype = opi[key].dtype if key in opi else ""
            sources.append(scalar_source(f[key], bits, ctx, inst.literal, dtype))
        elif name == "d0":
            sources.append(scalar_source(f["sdst"], bits, ctx))
        elif name == "simm16":
            simm = U32(f["simm16"])
            sources.append(lambda b, g, simm=simm: np.full(g.n, simm, U32))
        elif name == "simm32":
            sources.append(scalar_source(opd.LITERAL, 32, ctx, inst.literal))
        elif name == "exec":
            sources.append(scalar_source(EXEC, bits or exec_bits, ctx))
        else:
            raise IllegalInstruction(f"{m}: unknown source {name!r}")

    if attr(sop, "exec_op", False):
        exec_write = scalar_dest(EXEC, exec_bits, ctx)
        write = scalar_dest(f["sdst"], dst_bits or exec_bits, ctx) if "sdst" in f else None

        def exec_op(b, g):
            d, new_exec, scc = fn(*[s(b, g) for s in sources])
            if write is not None and d is not None:
                write(b, g, d)
            exec_write(b, g, new_exec)
            if scc is not None:
                b.scc[g.sel] = scc
        return exec_op

    write = scalar_dest(f["sdst"], dst_bits, ctx) if dst_bits and "sdst" in f else None

    def salu(b, g):
        d, scc = fn(*[s(b, g) for s in sources], scc=b.scc[g.sel] if reads_scc else None)
        if write is not None and d is not None:
            write(b, g, d)
        if writes_scc and scc is not None:
            b.scc[g.sel] = scc
    return salu


# ---------------------------------------------------------------------------------------------
# SMEM

def _sign_extend(value: int, bits: int) -> int:
    return value - (1 << bits) if value & (1 << (bits - 1)) else value


def _read_within(memory, addr: np.ndarray, dwords: int, within: np.ndarray) -> np.ndarray:
    """Buffer loads: dwords past num_records read as 0 without touching memory."""
    if within.all():
        return memory.read(addr, 4 * dwords).view(U32).reshape(addr.size, dwords)
    words = np.zeros((addr.size, dwords), U32)
    rows, cols = np.nonzero(within)
    if rows.size:
        lane_addr = addr[rows] + (cols * 4).astype(U64)
        words[rows, cols] = memory.read(lane_addr, 4).view(U32).reshape(-1)
    return words


def _read_dwords(memory, address: int, dwords: int) -> np.ndarray:
    """uint32 [dwords] at a dword-aligned address: through the memory's view of one mapping
    where it has one, else a read (which raises the fault)."""
    words = getattr(memory, "words", None)
    if words is not None:
        with access_lock(memory):
            view = words(address, 4 * dwords)
            if view is not None:
                return view.copy()
    return memory.read(np.array([address], U64), 4 * dwords).view(U32)


def shared_smem_address(b: Batch, g: Group, base_code: int, imm: int) -> int | None:
    """The dword address every wave of the group loads from when their base pairs are the same
    (the kernarg pointer of a dispatch), else None."""
    pair = b.S[base_code:base_code + 2, g.sel]
    first_lo, first_hi = int(pair[0, 0]), int(pair[1, 0])
    if g.n > 1:
        low, high = pair.min(axis=1), pair.max(axis=1)
        if not (int(low[0]) == int(high[0]) and int(low[1]) == int(high[1])):
            return None
    return (((first_hi << 32) | first_lo) + imm) & ~3 & 0xFFFFFFFFFFFFFFFF


def compile_smem(inst, ctx: Ctx):
    m = inst.op.mnemonic
    f = inst.fields
    if m in ("s_dcache_inv", "s_gl1_inv", "s_atc_probe", "s_atc_probe_buffer"):
        return lambda b, g: None
    dwords = {"b32": 1, "b64": 2, "b128": 4, "b256": 8, "b512": 16}[m.rsplit("_", 1)[1]]
    base_code = f["sbase"] * 2
    sdata = f["sdata"]
    if sdata + dwords > 128:
        raise IllegalInstruction(f"{m} destination s{sdata} + {dwords} dwords is out of range")
    ctx.use_sgpr(sdata, dwords)
    imm = _sign_extend(f["offset"], 21)
    soffset = f["soffset"]
    soff = None if soffset == NULL else scalar_source(soffset, 32, ctx)
    buffer = m.startswith("s_buffer_")
    exec_dst = sdata <= EXEC < sdata + dwords or sdata <= EXEC + 1 < sdata + dwords

    def smem(b: Batch, g: Group):
        if soff is None and not buffer:
            address = shared_smem_address(b, g, base_code, imm)
            if address is not None:
                words = _read_dwords(b.memory, address, dwords)
                b.S[sdata:sdata + dwords, g.sel] = words.reshape(dwords, 1)
                if exec_dst:
                    b.exec_from_sgprs(g.sel)
                    g.refresh(b)
                return
        offset = np.full(g.n, imm, np.int64)
        if soff is not None:
            offset += soff(b, g).astype(np.int64)
        if buffer:
            base = b.s64(base_code, g.sel) & U64(0xFFFFFFFFFFFF)
            num_records = b.S[base_code + 2, g.sel].astype(np.int64)
        else:
            base = b.s64(base_code, g.sel)
        addr = (base + offset.astype(U64)) & ~U64(3)
        if buffer:
            within = ((offset & ~3)[:, None] + 4 * np.arange(dwords)) < num_records[:, None]
            words = _read_within(b.memory, addr, dwords, within)
        else:
            words = b.memory.read(addr, 4 * dwords).view(U32).reshape(g.n, dwords)
        b.S[sdata:sdata + dwords, g.sel] = words.T
        if exec_dst:
            b.exec_from_sgprs(g.sel)
            g.refresh(b)
    return smem
