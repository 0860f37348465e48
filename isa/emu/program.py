"""A kernel's code decoded once into basic blocks of prepared closures.

Program discovers the code reachable from the entry point (following branches and calls;
targets of indirect jumps are discovered when a wave first gets there), decodes every
instruction once and builds, per instruction, the closure that executes it for a group of waves.
A Block is a run of such closures from a leader (a branch target, the instruction after a
branch, a call's return point) up to the next leader or an instruction that changes control flow;
its terminator says where the waves go next.
"""

from dataclasses import dataclass, field

from isa import operands as opd
from isa.decode import Inst, decode
from isa.disasm import disassemble_inst
from isa.emu import control, lazy, lazy_valu, lds, scalar, vector, vmem, wmma, xlane
from isa.emu.access import Apertures, Ctx
from isa.emu.alu import AluTables
from isa.emu.errors import EmulatorError, IllegalInstruction, MemoryFault
from isa.emu.hazards import registers

PC_OPS = frozenset({"s_getpc_b64", "s_setpc_b64", "s_swappc_b64", "s_call_b64", "s_rfe_b64"})
VALU_BASES = frozenset({"VOP1", "VOP2", "VOPC", "VOP3", "VOP3SD", "VOP3P"})
SALU_BASES = frozenset({"SOP1", "SOP2", "SOPC", "SOPK"})
VMEM_BASES = frozenset({"GLOBAL", "FLAT", "SCRATCH", "MUBUF"})
NO_VGPR_BASES = SALU_BASES | {"SOPP", "SMEM"}
# Formats whose VGPR operands isa.emu.hazards.registers names completely.
KNOWN_VGPR_BASES = VALU_BASES | VMEM_BASES | {"VOPD", "DS"}


def describe(inst: Inst, pc: int = 0) -> str:
    """The instruction as assembly text (LLVM syntax where the disassembler knows it)."""
    try:
        return disassemble_inst(inst).strip()
    except Exception:  # noqa: BLE001 - text for an error message must never raise
        data = inst.raw.to_bytes(inst.size, "little")
        words = " ".join(f"{int.from_bytes(data[i:i + 4], 'little'):08x}" for i in range(0, len(data), 4))
        name = inst.op.mnemonic if inst.op is not None else ".long"
        return f"{name} {words}"


@dataclass
class Step:
    pc: int
    inst: Inst
    ops: tuple                    # closures (batch, group) to run for it (checker hooks included)


@dataclass
class Block:
    start: int
    steps: list[Step]
    ops: list                     # the non-None closures, in order (the fast path)
    op_pcs: list[int]
    term: object                  # (batch, group) -> next (see isa.emu.control)
    size: int = field(init=False)  # instructions, terminator included

    def __post_init__(self):
        self.size = len(self.steps)


def _lazy_aware(inst: Inst, op, ctx: Ctx):
    """`op` made safe around held lane-affine VGPRs (isa.emu.lazy): the affine form of index
    arithmetic where there is one, else a closure that first materializes the held registers
    the instruction touches (all of them when its VGPR operands are not known)."""
    if op is None or inst.op is None or inst.base in NO_VGPR_BASES:
        return op
    if inst.base not in KNOWN_VGPR_BASES or "movrel" in inst.op.mnemonic:
        def settle_all(b, g):
            if b.lazy:
                lazy.settle_all(b)
            op(b, g)
        return settle_all
    reads, writes, loads, _ = registers(inst, ctx.lanes)
    regs = tuple(sorted({r - opd.VGPR_FIRST for r in reads + writes + loads if r >= opd.VGPR_FIRST}))
    fast = lazy_valu.compile_affine(inst, ctx, op, regs)
    if fast is not None:
        return fast
    handled = getattr(op, "lazy_registers", ())      # VGPRs the op settles itself
    regs = tuple(r for r in regs if r not in handled)
    if not regs:
        return op

    def settle(b, g):
        if b.lazy:
            lazy.settle(b, regs)
        op(b, g)
    return settle


def _raiser(error: EmulatorError):
    def fail(b, g):
        raise error
    return fail


class CodePages:
    """Instruction fetch from the GPU's memory, one 4 KiB page at a time, remembering what it
    read so a cached Program can check that the code is still the same."""

    PAGE = 4096

    def __init__(self, memory):
        self.memory = memory
        self.pages: dict[int, bytes] = {}

    def page(self, address: int) -> bytes:
        data = self.pages.get(address)
        if data is None:
            data = self.memory.read_bytes(address, self.PAGE, execute=True)
            self.pages[address] = data
        return data

    def fetch(self, pc: int, nbytes: int = 16) -> bytes:
        """Up to `nbytes` bytes at pc (fewer where the next page is not mapped)."""
        first = pc - pc % self.PAGE
        data = self.page(first)[pc - first:]
        if len(data) < nbytes:
            try:
                data += self.page(first + self.PAGE)
            except MemoryFault:
                pass
        return data[:nbytes]

    def unchanged(self, memory) -> bool:
        try:
            return all(memory.read_bytes(a, self.PAGE, execute=True) == d for a, d in self.pages.items())
        except MemoryFault:
            return False


class Program:
    """Decoded and prepared code for one wave size, fetched from memory as waves reach it."""

    def __init__(self, code: CodePages, lanes: int, alu: AluTables, apertures: Apertures | None = None,
                 instrument=None):
        self.code = code
        self.ctx = Ctx(lanes, apertures or Apertures())
        self.alu = alu
        self.instrument = instrument      # optional hook (inst, pc, ctx) -> (before, after) closures
        self._insts: dict[int, Inst] = {}
        self._flows: dict[int, control.Flow] = {}
        self.leaders: set[int] = set()
        self.blocks: dict[int, Block] = {}
        self._explored: set[int] = set()

    # -- decoding -----------------------------------------------------------------------------
    def inst_at(self, pc: int) -> Inst:
        inst = self._insts.get(pc)
        if inst is None:
            if pc % 4:
                raise IllegalInstruction(f"jump to the unaligned address 0x{pc:x}", pc=pc)
            try:
                data = self.code.fetch(pc)
            except MemoryFault as e:
                raise e.locate(pc, "instruction fetch") from None
            inst = decode(data, 0)
            self._insts[pc] = inst
        return inst

    def text(self, pc: int) -> str:
        try:
            return describe(self.inst_at(pc), pc)
        except EmulatorError:
            return "<unreadable>"

    def flow(self, pc: int) -> control.Flow:
        flow = self._flows.get(pc)
        if flow is None:
            inst = self.inst_at(pc)
            try:
                flow = self._compile(inst, pc)
            except EmulatorError as e:
                # Fails when (and only if) a wave executes it.
                e.locate(pc, describe(inst, pc))
                flow = control.Flow(term=_raiser(e), falls_through=False)
            self._flows[pc] = flow
        return flow

    def _compile(self, inst: Inst, pc: int) -> control.Flow:
        if inst.op is None:
            raise IllegalInstruction(f"no instruction encodes the word 0x{inst.raw & 0xFFFFFFFF:08x}")
        m = inst.op.mnemonic
        base = inst.base
        ctx = self.ctx
        if base == "SOPP":
            return control.compile_sopp(inst, pc, ctx)
        if m in PC_OPS:
            return control.compile_pc_op(inst, pc, ctx)
        if base in SALU_BASES:
            if m in control.NO_OPS:
                return control.Flow()
            return control.Flow(op=scalar.compile_salu(inst, ctx, self.alu))
        if base == "SMEM":
            return control.Flow(op=scalar.compile_smem(inst, ctx))
        if base in VALU_BASES:
            if m in wmma.KINDS:
                return control.Flow(op=wmma.compile_wmma(inst, ctx, self.alu))
            op = xlane.compile_core_valu(inst, ctx)
            if op is None:
                op = vector.compile_vop(inst, ctx, self.alu)
            return control.Flow(op=op)
        if base == "VOPD":
            return control.Flow(op=vector.compile_vopd(inst, ctx, self.alu))
        if base == "DS":
            return control.Flow(op=lds.compile_ds(inst, ctx))
        if base in VMEM_BASES:
            return control.Flow(op=vmem.compile_vmem(inst, ctx))
        raise IllegalInstruction(f"{m}: {base} instructions are not executed by compute waves")

    # -- discovery ----------------------------------------------------------------------------
    def discover(self, start: int) -> None:
        """Follows the code from `start`, marking block leaders and preparing each instruction."""
        self.leaders.add(start)
        work = [start]
        while work:
            pc = work.pop()
            while pc not in self._explored:
                self._explored.add(pc)
                try:
                    flow = self.flow(pc)
                except EmulatorError:
                    break              # unreadable code: reported if a wave gets there
                for t in flow.targets:
                    if t not in self.leaders:
                        self.leaders.add(t)
                        work.append(t)
                nxt = pc + self.inst_at(pc).size
                if flow.term is not None:
                    if flow.falls_through:
                        self.leaders.add(nxt)
                        work.append(nxt)
                    break
                pc = nxt

    def block(self, pc: int) -> Block:
        blk = self.blocks.get(pc)
        if blk is None:
            if pc not in self.leaders:
                self.discover(pc)
            blk = self._build(pc)
            self.blocks[pc] = blk
        return blk

    def _build(self, start: int) -> Block:
        steps: list[Step] = []
        ops: list = []
        op_pcs: list[int] = []
        pc = start
        while True:
            try:
                inst = self.inst_at(pc)
            except EmulatorError as e:
                if not steps:
                    raise
                term = _raiser(e)
                break
            flow = self.flow(pc)
            hooks = self.instrument(inst, pc, self.ctx) if self.instrument is not None else (None, None)
            op = _lazy_aware(inst, flow.op, self.ctx) if self.instrument is None else flow.op
            step_ops = tuple(f for f in (hooks[0], op, hooks[1]) if f is not None)
            ops.extend(step_ops)
            op_pcs.extend([pc] * len(step_ops))
            steps.append(Step(pc, inst, step_ops))
            nxt = pc + inst.size
            if flow.term is not None:
                term = flow.term
                break
            if nxt in self.leaders:
                term = (lambda target: (lambda b, g: target))(nxt)
                break
            pc = nxt
        return Block(start, steps, ops, op_pcs, term)

    @property
    def max_vgpr(self) -> int:
        return self.ctx.max_vgpr
