"""The hazard checker (AMDRT_CHECK=1, or `check=True`): finds what works by luck in an emulator
that completes every memory access at once but would break on hardware, where loads return
later and waves of a workgroup run at their own pace.

- Missing waits: a register written by a load (VMEM, SMEM, DS, FLAT) that an instruction reads or
  overwrites before an s_waitcnt has accounted for that load. Each wave counts its outstanding
  loads per counter (vmcnt, lgkmcnt); s_waitcnt vmcnt(N) retires all but the N most recent
  VMEM loads, lgkmcnt(N) likewise for DS loads; scalar memory loads return out of order, so only
  lgkmcnt(0) retires them. FLAT loads count on both counters.
- LDS races: two waves of a workgroup touching the same LDS bytes, at least one writing (atomics
  excepted), with no s_barrier between the two accesses.
- VGPRs used after s_sendmsg(MSG_DEALLOC_VGPRS), which hands the wave's VGPRs back early.

Each finding is reported once per instruction as a Hazard with the PC and the instruction's
text (in DispatchResult.hazards, and on stderr when AMDRT_CHECK asked for the check); the
dispatch continues.
"""

from dataclasses import dataclass

import numpy as np

from isa import operands as opd
from isa.emu.access import active
from isa.emu.state import NULL, Batch, Group

NREGS = 512            # scalar codes 0..255 and VGPRs at 256 + n, as in the operand encoding
COUNTERS = ("vm", "lgkm", "sm")
MSG_DEALLOC_VGPRS = 3  # s_sendmsg message id (gfx11)


@dataclass(frozen=True)
class Hazard:
    kind: str            # 'missing-wait' or 'lds-race'
    pc: int
    instruction: str
    wave: int
    detail: str

    def __str__(self) -> str:
        return f"{self.kind} at 0x{self.pc:x} ({self.instruction}) in wave {self.wave}: {self.detail}"


def _reg_name(r: int) -> str:
    if r >= opd.VGPR_FIRST:
        return f"v{r - opd.VGPR_FIRST}"
    if r <= opd.SGPR_MAX:
        return f"s{r}"
    return {opd.VCC_LO: "vcc_lo", opd.VCC_HI: "vcc_hi", opd.M0: "m0", opd.EXEC_LO: "exec_lo",
            opd.EXEC_HI: "exec_hi"}.get(r, f"reg{r}")


def _span(code: int, bits: int) -> list[int]:
    """Register indices an operand names (none for constants and other non-registers)."""
    n = max(1, -(-bits // 32))
    if code >= opd.VGPR_FIRST or code <= opd.SGPR_MAX or opd.VCC_LO <= code <= opd.TTMP_LAST \
            or code in (opd.M0, opd.EXEC_LO, opd.EXEC_HI):
        return list(range(code, code + n))
    return []


def _bits(inst, key: str, default: int = 32, lanes: int = 64) -> int:
    o = inst.op.operands.get(key)
    if o is None:
        return default
    if o.dtype == "NUM_M64":            # a lane mask: one SGPR in wave32
        return lanes
    return o.bits


def registers(inst, lanes: int = 32) -> tuple[list[int], list[int], list[int], tuple[str, ...]]:
    """(registers read, registers written, registers a load fills later, its counters)."""
    f = inst.fields
    base = inst.base
    m = inst.op.mnemonic
    V = opd.VGPR_FIRST
    reads: list[int] = []
    writes: list[int] = []
    loads: list[int] = []
    counters: tuple[str, ...] = ()
    if base in ("VOP1", "VOP2", "VOPC", "VOP3", "VOP3SD", "VOP3P"):
        for key in ("src0", "src1", "src2"):
            if key in f and (key in inst.op.operands or (key == "src0" and "vsrc0" in inst.op.operands)):
                code = f[key]
                if code in (opd.DPP16, opd.DPP8, opd.DPP8_FI) and "vsrc0" in f:
                    code = V + f["vsrc0"]
                reads += _span(code, _bits(inst, key, _bits(inst, "vsrc0"), lanes))
        if "vsrc1" in f and "vsrc1" in inst.op.operands:
            reads += _span(V + (f["vsrc1"] & (0x7F if _bits(inst, "vsrc1") == 16 else 0xFF)), _bits(inst, "vsrc1"))
        o = inst.op.operands.get("vdst")
        if o is not None:
            if o.kind in ("SREG", "SDST"):
                writes += _span(f["vdst"], _bits(inst, "vdst", lanes=lanes))
            elif o.kind == "VGPR":
                writes += _span(V + (f["vdst"] & (0x7F if o.bits == 16 and base in ("VOP1", "VOP2") else 0xFF)),
                                o.bits)
        if "sdst" in f and base == "VOP3SD":
            writes += _span(f["sdst"], lanes)
    elif base == "VOPD":
        reads += _span(f["srcx0"], 32) + _span(f["srcy0"], 32) + _span(V + f["vsrcx1"], 32) + _span(V + f["vsrcy1"], 32)
        writes += _span(V + f["vdstx"], 32) + _span(V + ((f["vdsty"] << 1) | ((f["vdstx"] & 1) ^ 1)), 32)
    elif base in ("SOP1", "SOP2", "SOPC", "SOPK"):
        for key in ("ssrc0", "ssrc1"):
            if key in f and key in inst.op.operands:
                reads += _span(f[key], _bits(inst, key))
        if "sdst" in f and "sdst" in inst.op.operands:
            writes += _span(f["sdst"], _bits(inst, "sdst"))
            if base == "SOPK":
                reads += _span(f["sdst"], 32)
    elif base == "SMEM":
        if "sdata" in inst.op.operands:
            reads += _span(f["sbase"] * 2, 128 if m.startswith("s_buffer") else 64) + _span(f["soffset"], 32)
            loads = _span(f["sdata"], _bits(inst, "sdata"))
            counters = ("sm",)
    elif base == "DS":
        for key in ("addr", "data0", "data1"):
            if key in inst.op.operands:
                reads += _span(V + f[key], _bits(inst, key))
        if "vdst" in inst.op.operands:
            loads = _span(V + f["vdst"], _bits(inst, "vdst"))
            counters = ("lgkm",)
    elif base in ("GLOBAL", "FLAT", "SCRATCH"):
        saddr = f.get("saddr", NULL)
        if base == "SCRATCH":
            if f.get("sve", 0):
                reads += _span(V + f["addr"], 32)
            if saddr not in (NULL, 0x7F):
                reads += _span(saddr, 32)
        elif base == "GLOBAL" and saddr not in (NULL, 0x7F):
            reads += _span(V + f["addr"], 32) + _span(saddr, 64)
        elif "addr" in inst.op.operands:
            reads += _span(V + f["addr"], 64)
        if "data" in inst.op.operands:
            reads += _span(V + f["data"], _bits(inst, "data"))
        returns = "_load_" in m or ("_atomic_" in m and f.get("glc", 0))
        if returns and "vdst" in inst.op.operands:
            loads = _span(V + f["vdst"], _bits(inst, "vdst"))
            counters = ("vm", "lgkm") if base == "FLAT" else ("vm",)
    elif base == "MUBUF":
        reads += _span(f["srsrc"] * 4, 128) + _span(f["soffset"], 32)
        if f.get("idxen") or f.get("offen"):
            reads += _span(V + f["vaddr"], 64 if f.get("idxen") and f.get("offen") else 32)
        if "_store_" in m or "_atomic_" in m:
            reads += _span(V + f["vdata"], _bits(inst, "vdata"))
        if "_load_" in m or ("_atomic_" in m and f.get("glc", 0)):
            loads = _span(V + f["vdata"], _bits(inst, "vdata"))
            counters = ("vm",)
    return reads, writes, loads, counters


class Tracker:
    """Per-batch state of the checker; reports go to the shared `reports` list."""

    def __init__(self, prog, reports: list):
        self.prog = prog
        self.reports = reports
        self.seen: set = set()
        self.W = None
        self.pc = 0

    def _setup(self, b: Batch) -> None:
        if self.W == b.W:
            return
        self.W = b.W
        self.owner = {c: np.full((NREGS, b.W), -1, np.int64) for c in COUNTERS}
        self.issued = {c: np.zeros(b.W, np.int64) for c in COUNTERS}
        self.done = {c: np.zeros(b.W, np.int64) for c in COUNTERS}
        self.load_pc = np.zeros((NREGS, b.W), np.int64)
        self.writer = np.full(b.lds.shape, -1, np.int16)
        self.readers = np.zeros(b.lds.shape, np.uint64)
        self.released = np.zeros(b.W, bool)

    def release_vgprs(self, b: Batch, g: Group) -> None:
        self._setup(b)
        self.released[g.idx] = True

    def check_released(self, b: Batch, g: Group) -> None:
        self._setup(b)
        gone = self.released[g.idx]
        if gone.any():
            self.report("vgprs-released", b, g, int(np.argmax(gone)),
                        "uses VGPRs after s_sendmsg(MSG_DEALLOC_VGPRS) released them")

    def report(self, kind: str, b: Batch, g: Group, row: int, detail: str) -> None:
        key = (kind, self.pc)
        if key in self.seen:
            return
        self.seen.add(key)
        self.reports.append(Hazard(kind, self.pc, self.prog.text(self.pc), int(b.wave_id[g.idx[row]]), detail))

    # -- missing waits ------------------------------------------------------------------------
    def check_registers(self, b: Batch, g: Group, regs: list[int], writing: bool, in_order=()) -> None:
        """Reports the first of `regs` a load has not been waited for; loads counted on the
        counters `in_order` are skipped (a later load on the same counter returns after them)."""
        self._setup(b)
        if not regs:
            return
        rows = np.asarray(regs)
        for c in COUNTERS:
            if c in in_order and c != "sm":
                continue
            owner = self.owner[c][rows][:, g.idx]
            pending = (owner >= 0) & (owner >= self.done[c][g.idx][None, :])
            if pending.any():
                ri, wi = np.argwhere(pending)[0]
                reg = int(rows[ri])
                src = int(self.load_pc[reg, g.idx[wi]])
                verb = "overwrites" if writing else "reads"
                self.report("missing-wait", b, g, int(wi),
                            f"{verb} {_reg_name(reg)} before an s_waitcnt for the load at 0x{src:x} "
                            f"({self.prog.text(src)})")
                return

    def issue(self, b: Batch, g: Group, regs: list[int], counters: tuple[str, ...]) -> None:
        self._setup(b)
        rows = np.asarray(regs)
        for c in counters:
            index = self.issued[c][g.idx]
            self.owner[c][np.ix_(rows, g.idx)] = index[None, :]
            self.issued[c][g.idx] = index + 1
        self.load_pc[np.ix_(rows, g.idx)] = self.pc

    def wait(self, b: Batch, g: Group, counter: str, count) -> None:
        self._setup(b)
        count = np.broadcast_to(np.asarray(count, np.int64), (g.n,))
        if counter == "lgkm":
            smem_done = count == 0
            self.done["sm"][g.idx[smem_done]] = self.issued["sm"][g.idx[smem_done]]
        done = np.maximum(self.done[counter][g.idx], self.issued[counter][g.idx] - count)
        self.done[counter][g.idx] = done

    # -- LDS races ----------------------------------------------------------------------------
    def lds_access(self, b: Batch, g: Group, pos: np.ndarray, nbytes: int, write: bool) -> None:
        self._setup(b)
        rows = active(g, np.broadcast_to(np.arange(g.n)[:, None], (g.n, b.L)))
        wave = b.wave_in_wg[g.idx[rows]]
        first = pos // 4
        last = (pos + nbytes - 1) // 4
        span = int((last - first).max()) + 1 if pos.size else 1
        dwords = (first[:, None] + np.arange(span)).reshape(-1)
        lane_rows = np.repeat(rows, span)
        lane_wave = np.repeat(wave, span)
        keep = (dwords <= np.repeat(last, span)) & (dwords < self.writer.size)
        dwords, lane_rows, lane_wave = dwords[keep], lane_rows[keep], lane_wave[keep]
        writer = self.writer.reshape(-1)
        readers = self.readers.reshape(-1)
        other_writer = (writer[dwords] >= 0) & (writer[dwords] != lane_wave)
        bit = np.left_shift(np.uint64(1), lane_wave.astype(np.uint64))
        if write:
            other_reader = (readers[dwords] & ~bit) != 0
            clash = other_writer | other_reader
            # two waves writing the same dword in this one instruction
            order = np.lexsort((lane_wave, dwords))
            same = (np.diff(dwords[order]) == 0) & (np.diff(lane_wave[order]) != 0)
            if same.any():
                clash[order[1:][same]] = True
        else:
            clash = other_writer
        if clash.any():
            i = int(np.argmax(clash))
            what = "writes" if write else "reads"
            self.report("lds-race", b, g, int(lane_rows[i]),
                        f"{what} LDS byte 0x{int(dwords[i] * 4) % (b.lds.shape[1] * 4):x} that another wave of "
                        f"the workgroup accessed with no s_barrier in between")
        if write:
            writer[dwords] = lane_wave
        else:
            np.bitwise_or.at(readers, dwords, bit)

    def barrier(self, b: Batch) -> None:
        if self.W is not None:
            self.writer.fill(-1)
            self.readers.fill(0)


def _wait_counts(inst):
    """For s_waitcnt*: [(counter, count or a reader of the count)]."""
    m = inst.op.mnemonic
    f = inst.fields
    if m == "s_waitcnt":
        simm = f["simm16"]
        return [("vm", (simm >> 10) & 0x3F), ("lgkm", (simm >> 4) & 0x3F)]
    if m in ("s_waitcnt_vmcnt", "s_waitcnt_lgkmcnt"):
        counter = "vm" if m == "s_waitcnt_vmcnt" else "lgkm"
        return [(counter, (f["sdst"], f["simm16"]))]
    return []


def instrument(inst, pc: int, ctx):
    """(before, after) closures that keep the checker's state for one instruction."""
    if inst.op is None:
        return None, None
    waits = _wait_counts(inst)
    reads, writes, loads, counters = registers(inst, ctx.lanes)
    uses_vgprs = any(r >= opd.VGPR_FIRST for r in reads + writes + loads)
    releases = inst.op.mnemonic == "s_sendmsg" and inst.fields["simm16"] & 0xFF == MSG_DEALLOC_VGPRS

    def before(b: Batch, g: Group):
        t = b.hazards
        t.pc = pc
        if uses_vgprs:
            t.check_released(b, g)
        if releases:
            t.release_vgprs(b, g)
        for counter, count in waits:
            if isinstance(count, tuple):
                code, simm = count
                base = b.S[code, g.sel].astype(np.int64) if code != NULL else 0
                count = (base + simm) & 0x3F
            t.wait(b, g, counter, count)
        t.check_registers(b, g, reads, False)
        t.check_registers(b, g, writes, True)
        t.check_registers(b, g, loads, True, counters)

    after = None
    if loads:
        def after(b: Batch, g: Group):
            b.hazards.issue(b, g, loads, counters)
    return before, after
