"""Running whole dispatches: the Emulator launches the waves of a dispatch in batches of
workgroups and executes each batch group by group.

All waves of a batch live in one set of arrays (isa.emu.state). Waves at the same PC form a Group
and run a basic block together; a branch that goes different ways for different waves splits the
group, and groups that reach the same PC merge again. The group with the lowest PC runs next,
which lets waves that fell behind catch up. A group reaching s_barrier waits; when no group can
run any more, every waiting group is released (all live waves of their workgroups have arrived,
since none is running) and the barrier checker, if on, is told.

A dispatch stops with an EmulatorError (memory fault, budget exhausted, illegal instruction,
trap) carrying the PC, the instruction's text and the wave.
"""

import os
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from isa.emu import control
from isa.emu.access import Apertures
from isa.emu.alu import AluTables, default_tables
from isa.emu.errors import BudgetExceeded, Cancelled, EmulatorError, LaunchError
from isa.emu.heap import keep_temporaries
from isa.emu.launch import Dispatch, Geometry, Kernel, build_batch, lds_bytes, private_bytes
from isa.emu.program import CodePages, Program
from isa.emu.state import ArrayPool, Batch, Group

DEFAULT_BATCH_BYTES = 512 << 20       # register and LDS memory one batch of waves may take
# Work-items per batch. Every instruction of a batch pays a fixed cost in Python, and since index
# arithmetic is held per wave (isa.emu.lazy) few instructions touch every lane: measured on
# 2^20-lane dispatches, one batch beats eight of 2^17 lanes (a + b: 9.7 -> 5.5 ms median; a
# 512^3 matmul: 0.97 -> 0.90 s) though its arrays no longer fit the caches.
DEFAULT_BATCH_LANES = 1 << 20


@dataclass
class DispatchResult:
    waves: int = 0
    workgroups: int = 0
    wave_instructions: int = 0        # instructions executed, counted once per wave
    batches: int = 0
    hazards: list = field(default_factory=list)   # hazards.Hazard reports (checking on)
    trace: list = field(default_factory=list)     # trace lines (tracing into a list)


def _env_flag(name: str) -> str:
    return os.environ.get(name, "").strip()


class Emulator:
    """Executes dispatches against a Memory; keeps decoded programs and register arrays between
    dispatches, so one Emulator serves one thread at a time (default_emulator() gives each
    thread its own)."""

    def __init__(self, alu: AluTables | None = None, apertures: Apertures | None = None,
                 batch_bytes: int = DEFAULT_BATCH_BYTES, cache_size: int = 64,
                 batch_lanes: int = DEFAULT_BATCH_LANES):
        self._alu = alu
        self.apertures = apertures or Apertures()
        self.batch_bytes = batch_bytes
        self.batch_lanes = batch_lanes
        self.cache_size = cache_size
        self._programs: OrderedDict = OrderedDict()
        self.pool = ArrayPool()
        keep_temporaries()

    @property
    def alu(self) -> AluTables:
        if self._alu is None:
            self._alu = default_tables()
        return self._alu

    # -- programs -----------------------------------------------------------------------------
    def program(self, memory, kernel: Kernel, check: bool) -> Program:
        key = (id(memory), kernel.entry, kernel.lanes, check)
        prog = self._programs.get(key)
        if prog is not None and prog.code.unchanged(memory):
            self._programs.move_to_end(key)
            return prog
        instrument = None
        if check:
            from isa.emu.hazards import instrument
        prog = Program(CodePages(memory), kernel.lanes, self.alu, self.apertures, instrument)
        prog.discover(kernel.entry)
        self._programs[key] = prog
        while len(self._programs) > self.cache_size:
            self._programs.popitem(last=False)
        return prog

    # -- dispatch -----------------------------------------------------------------------------
    def run(self, memory, dispatch: Dispatch, budget: int | None = None, trace=None, check: bool | None = None,
            should_stop=None) -> DispatchResult:
        """Runs every workgroup of `dispatch` to completion.

        budget: the most wave-instructions to execute before stopping with BudgetExceeded.
        trace: None (AMDRT_TRACE decides), False, True (wave 0), a trace.Tracer, or the
            dispatch-wide indices of the waves to trace.
        check: hazard checking (None: AMDRT_CHECK decides).
        should_stop: polled between basic blocks; when it returns True the dispatch stops with
            Cancelled."""
        report_hazards = check is None and _env_flag("AMDRT_CHECK") not in ("", "0")
        if check is None:
            check = report_hazards
        tracer = None
        if trace is None and _env_flag("AMDRT_TRACE") not in ("", "0"):
            trace = _env_flag("AMDRT_TRACE")
        if trace not in (None, False):
            from isa.emu.trace import Tracer
            tracer = trace if isinstance(trace, Tracer) else Tracer.from_option(trace)
        kernel = Kernel.of(dispatch)
        prog = self.program(memory, kernel, check)
        geo = Geometry(dispatch.grid, dispatch.workgroup, kernel.lanes)
        lds = lds_bytes(kernel, dispatch)
        if lds > 64 * 1024:
            raise LaunchError(f"{lds} bytes of LDS per workgroup; gfx11 has 64 KiB")
        private = private_bytes(kernel, dispatch)
        nvgpr = max(kernel.vgprs, prog.max_vgpr, 1)
        per_group = geo.max_waves_per_group
        wave_bytes = nvgpr * kernel.lanes * 4 + 1024
        wgs = max(1, min(self.batch_bytes // (per_group * wave_bytes + lds + 64),
                         self.batch_lanes // (per_group * kernel.lanes)))
        slot = dispatch.scratch_per_wave or private * kernel.lanes
        if private:
            if not dispatch.scratch_base:
                raise LaunchError(f"the kernel needs {private} bytes of private memory per work-item and the "
                                  "dispatch gives no scratch memory (scratch_base)")
            if dispatch.scratch_size is not None:
                slots = dispatch.scratch_size // slot
                if slots < per_group:
                    raise LaunchError(f"the kernel needs {slot * per_group} bytes of scratch per workgroup; the "
                                      f"dispatch gives {dispatch.scratch_size}")
                wgs = min(wgs, slots // per_group)
        result = DispatchResult(workgroups=geo.workgroups)
        state = _Run(prog, kernel, budget, tracer, result, should_stop)
        # Lane-affine values held per wave (isa.emu.lazy) leave rows of V stale, which the
        # tracer and the checker read.
        lazy_ok = tracer is None and not check and _env_flag("AMDRT_EMU_LAZY") != "0"
        with np.errstate(all="ignore"):
            first = 0
            while first < geo.workgroups:
                count = min(wgs, geo.workgroups - first)
                b = build_batch(kernel, dispatch, geo, first, count, max(nvgpr, prog.max_vgpr), lds, private,
                                result.waves, 0, self.apertures, self.pool, lazy_ok=lazy_ok,
                                sgprs=prog.ctx.max_sgpr, ttmps=prog.ctx.ttmps)
                b.memory = memory
                if check:
                    from isa.emu.hazards import Tracker
                    b.hazards = Tracker(prog, result.hazards)
                state.run_batch(b)
                result.waves += b.W
                result.batches += 1
                first += count
        if tracer is not None:
            result.trace = tracer.lines
        if report_hazards:      # checking asked for by the environment: its findings go to stderr
            for hazard in result.hazards:
                print(f"amdrt check: {hazard}", file=sys.stderr)
        return result


class _Run:
    """The scheduler for the batches of one dispatch."""

    def __init__(self, prog: Program, kernel: Kernel, budget, tracer, result: DispatchResult, should_stop):
        self.prog = prog
        self.kernel = kernel
        self.budget = budget
        self.tracer = tracer
        self.result = result
        self.should_stop = should_stop

    def run_batch(self, b: Batch) -> None:
        prog = self.prog
        first = Group(np.arange(b.W), self.kernel.entry)
        first.refresh(b)
        groups: dict[int, Group] = {first.pc: first}
        waiting: list[tuple[int, np.ndarray]] = []
        while groups or waiting:
            if not groups:
                released = {}
                for pc, idx in waiting:
                    released.setdefault(pc, []).append(idx)
                waiting = []
                if b.hazards is not None:
                    b.hazards.barrier(b)
                for pc, parts in released.items():
                    self._add(b, groups, pc, np.sort(np.concatenate(parts)))
                continue
            pc = min(groups)
            g = groups.pop(pc)
            blk = prog.block(pc)
            b.name_sgprs(prog.ctx.max_sgpr, prog.ctx.ttmps)   # code prepared just now may name more
            self._count(b, g, blk)
            nxt = self._execute(b, g, blk)
            if isinstance(nxt, int):
                if nxt in groups:
                    self._add(b, groups, nxt, g.idx)
                else:
                    g.pc = nxt
                    groups[nxt] = g
            elif nxt is control.END:
                continue
            elif isinstance(nxt, control.Split):
                self._add(b, groups, nxt.target, g.idx[nxt.taken])
                self._add(b, groups, nxt.fallthrough, g.idx[~nxt.taken])
            elif isinstance(nxt, control.Barrier):
                waiting.append((nxt.next_pc, g.idx))
            else:                                   # PerWave
                pcs = np.asarray(nxt.pcs, np.uint64)
                for target in np.unique(pcs):
                    self._add(b, groups, int(target), g.idx[pcs == target])

    def _add(self, b: Batch, groups: dict, pc: int, idx: np.ndarray) -> None:
        if not idx.size:
            return
        old = groups.get(pc)
        if old is not None:
            idx = np.sort(np.concatenate((old.idx, idx)))
        g = Group(idx, pc)
        g.refresh(b)
        groups[pc] = g

    def _count(self, b: Batch, g: Group, blk) -> None:
        if self.should_stop is not None and self.should_stop():
            raise Cancelled("the dispatch was asked to stop", blk.start, self.prog.text(blk.start),
                            int(b.wave_id[g.idx[0]]))
        b.clock += blk.size * g.n
        self.result.wave_instructions += blk.size * g.n
        if self.budget is not None and self.result.wave_instructions > self.budget:
            raise BudgetExceeded(self.budget, self.result.wave_instructions, blk.start, self.prog.text(blk.start),
                                 int(b.wave_id[g.idx[0]]))

    def _execute(self, b: Batch, g: Group, blk):
        if self.tracer is not None and self.tracer.wants(b, g):
            return self._execute_traced(b, g, blk)
        i = 0
        try:
            for i, op in enumerate(blk.ops):  # noqa: B007 - i locates a failing instruction
                op(b, g)
            i = len(blk.ops)
            return blk.term(b, g)
        except EmulatorError as e:
            pc = blk.op_pcs[i] if i < len(blk.ops) else blk.steps[-1].pc
            raise e.locate(pc, self.prog.text(pc), int(b.wave_id[g.idx[0]])) from None
        except Exception as e:
            pc = blk.op_pcs[i] if i < len(blk.ops) else blk.steps[-1].pc
            e.add_note(f"while executing 0x{pc:x}: {self.prog.text(pc)}")
            raise

    def _execute_traced(self, b: Batch, g: Group, blk):
        tracer = self.tracer
        pc = blk.start
        try:
            for step in blk.steps:
                pc = step.pc
                snap = tracer.before(b, g)
                for op in step.ops:
                    op(b, g)
                tracer.after(b, g, step, snap, self.prog.text(pc))
            return blk.term(b, g)
        except EmulatorError as e:
            raise e.locate(pc, self.prog.text(pc), int(b.wave_id[g.idx[0]])) from None


_PER_THREAD = threading.local()


def default_emulator() -> Emulator:
    """This thread's emulator. An Emulator reuses register arrays between dispatches, so
    engines that run dispatches concurrently (one thread per simulated queue) each need their own."""
    emulator = getattr(_PER_THREAD, "emulator", None)
    if emulator is None:
        emulator = _PER_THREAD.emulator = Emulator()
    return emulator


def run_dispatch(memory, code_address: int, kernel_descriptor: bytes, grid, workgroup, *,
                 budget: int | None = None, trace=None, check: bool | None = None, should_stop=None,
                 emulator: Emulator | None = None, **fields) -> DispatchResult:
    """Runs one dispatch to completion against `memory` (a Memory: the GPU's page mappings).

    code_address: the kernel's first instruction; kernel_descriptor: its 64 bytes; grid and
    workgroup: work-items per dimension. Further Dispatch fields as keywords: kernarg_address,
    dispatch_ptr, queue_ptr, dispatch_id, lds_bytes, private_segment_size, user_sgprs,
    scratch_base, scratch_per_wave, scratch_size. See Emulator.run for the rest."""
    d = Dispatch(code_address, kernel_descriptor, tuple(grid), tuple(workgroup), **fields)
    return (emulator or default_emulator()).run(memory, d, budget=budget, trace=trace, check=check,
                                                should_stop=should_stop)
