"""Program flow: SOPP (branches, s_endpgm, s_barrier, waits, hints, traps, mode changes) and the
scalar instructions that read or set the PC (s_getpc / s_setpc / s_swappc / s_call / s_rfe).

An instruction that ends a basic block has a terminator: a closure (batch, group) returning
where the group's waves go next -- an int (one PC for all), Split (a per-wave condition), PerWave
(one PC per wave), Barrier (wait for the workgroup, then continue) or END.
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from isa.emu.access import Ctx, scalar_dest, scalar_source
from isa.emu.errors import EmulatorError, IllegalInstruction, KernelTrap
from isa.emu.scalar import MODE
from isa.emu.state import EXEC, U32, U64, VCC, Batch, Group

END = "end"


class Split(NamedTuple):
    taken: np.ndarray          # bool [n]: the waves that branch
    target: int
    fallthrough: int


class PerWave(NamedTuple):
    pcs: np.ndarray            # uint64 [n]


class Barrier(NamedTuple):
    next_pc: int


@dataclass
class Flow:
    """What an instruction does to control flow: an operation to run in the block (or None), a
    terminator (or None when the instruction does not end its block), the PCs it can reach
    directly, and whether execution can continue with the next instruction."""
    op: object = None
    term: object = None
    targets: tuple = ()
    falls_through: bool = True


NO_OPS = frozenset({
    "s_nop", "s_clause", "s_delay_alu", "s_waitcnt", "s_waitcnt_depctr", "s_sleep", "s_setprio",
    "s_set_inst_prefetch_distance", "s_icache_inv", "s_sendmsg", "s_wait_idle", "s_wait_event",
    "s_ttracedata", "s_ttracedata_imm", "s_incperflevel", "s_decperflevel", "s_setkill", "s_wakeup",
    "s_waitcnt_vscnt", "s_waitcnt_vmcnt", "s_waitcnt_expcnt", "s_waitcnt_lgkmcnt",
})
ENDS = frozenset({"s_endpgm", "s_endpgm_saved", "s_endpgm_ordered_ps_done"})
DEBUGGER_BRANCHES = frozenset({"s_cbranch_cdbgsys", "s_cbranch_cdbguser", "s_cbranch_cdbgsys_or_user",
                               "s_cbranch_cdbgsys_and_user"})


def branch_target(pc: int, simm16: int) -> int:
    offset = simm16 - 0x10000 if simm16 & 0x8000 else simm16
    return pc + 4 + 4 * offset


def _condition(m: str):
    if m == "s_cbranch_scc0":
        return lambda b, g: ~b.scc[g.sel]
    if m == "s_cbranch_scc1":
        return lambda b, g: b.scc[g.sel].copy()
    if m == "s_cbranch_vccz":
        return lambda b, g: b.mask_bits(VCC, g.sel) == 0
    if m == "s_cbranch_vccnz":
        return lambda b, g: b.mask_bits(VCC, g.sel) != 0
    if m == "s_cbranch_execz":
        return lambda b, g: b.mask_bits(EXEC, g.sel) == 0
    if m == "s_cbranch_execnz":
        return lambda b, g: b.mask_bits(EXEC, g.sel) != 0
    return None


def _mode_bits(lo: int, width: int, value: int):
    mask = U32(((1 << width) - 1) << lo)
    bits = U32((value << lo) & int(mask))

    def set_mode(b: Batch, g: Group):
        mode = b.hwreg[MODE]
        mode[g.sel] = (mode[g.sel] & ~mask) | bits
    return set_mode


def compile_sopp(inst, pc: int, ctx: Ctx) -> Flow:
    m = inst.op.mnemonic
    simm = inst.fields.get("simm16", 0)
    nxt = pc + inst.size
    if m in NO_OPS:
        return Flow()
    if m in ENDS:
        return Flow(term=lambda b, g: END, falls_through=False)
    if m == "s_branch":
        target = branch_target(pc, simm)
        return Flow(term=lambda b, g: target, targets=(target,), falls_through=False)
    if m in DEBUGGER_BRANCHES:           # no debugger is attached: never taken
        return Flow()
    cond = _condition(m)
    if cond is not None:
        target = branch_target(pc, simm)

        def cbranch(b: Batch, g: Group):
            taken = cond(b, g)
            if taken.all():
                return target
            if not taken.any():
                return nxt
            return Split(taken, target, nxt)
        return Flow(term=cbranch, targets=(target, nxt))
    if m == "s_barrier":
        return Flow(term=lambda b, g: Barrier(nxt), targets=(nxt,))
    if m == "s_round_mode":
        return Flow(op=_mode_bits(0, 4, simm & 0xF))
    if m == "s_denorm_mode":
        return Flow(op=_mode_bits(4, 4, simm & 0xF))
    if m == "s_trap":
        trap_id = simm & 0xFF

        def trap(b, g):
            raise KernelTrap(trap_id)
        return Flow(term=trap, falls_through=False)
    if m in ("s_sethalt", "s_sendmsghalt"):
        if m == "s_sethalt" and not simm & 1:
            return Flow()

        def halt(b, g):
            raise EmulatorError(f"{m} halted the wave and no debugger can resume it")
        return Flow(term=halt, falls_through=False)
    if m == "s_code_end":
        def code_end(b, g):
            raise IllegalInstruction("executed s_code_end: the wave ran past the end of its code")
        return Flow(term=code_end, falls_through=False)
    raise IllegalInstruction(f"{m} is not executed in compute kernels")


def compile_pc_op(inst, pc: int, ctx: Ctx) -> Flow:
    """s_getpc_b64, s_setpc_b64, s_swappc_b64, s_call_b64, s_rfe_b64."""
    m = inst.op.mnemonic
    f = inst.fields
    ret = np.uint64(pc + inst.size)
    if m == "s_getpc_b64":
        write = scalar_dest(f["sdst"], 64, ctx)
        return Flow(op=lambda b, g: write(b, g, np.full(g.n, ret, U64)))
    if m == "s_call_b64":
        write = scalar_dest(f["sdst"], 64, ctx)
        target = branch_target(pc, f["simm16"])

        def call(b, g):
            write(b, g, np.full(g.n, ret, U64))
            return target
        return Flow(term=call, targets=(target, int(ret)), falls_through=False)
    read = scalar_source(f["ssrc0"], 64, ctx)
    if m == "s_swappc_b64":
        write = scalar_dest(f["sdst"], 64, ctx)

        def swappc(b, g):
            target = read(b, g)
            write(b, g, np.full(g.n, ret, U64))
            return PerWave(target)
        return Flow(term=swappc, targets=(int(ret),), falls_through=False)
    return Flow(term=lambda b, g: PerWave(read(b, g)), falls_through=False)      # s_setpc_b64, s_rfe_b64
