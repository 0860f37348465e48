"""Typed errors of the emulator. Each one stops the whole dispatch and says where and why."""

from isa.errors import IsaError


class EmulatorError(IsaError):
    """Base class of everything a dispatch can stop with. `pc` is the byte address of the
    instruction that stopped it (None where no instruction is to blame) and `instruction` its
    disassembly; `wave` the dispatch-wide index of the first wave concerned."""

    def __init__(self, message: str, pc: int | None = None, instruction: str = "", wave: int | None = None):
        self.message = message
        self.pc = pc
        self.instruction = instruction
        self.wave = wave
        super().__init__(message)

    def locate(self, pc: int | None, instruction: str = "", wave: int | None = None) -> "EmulatorError":
        """Fills in the location once the executing instruction is known (first caller wins)."""
        if self.pc is None:
            self.pc = pc
            self.instruction = instruction
        if self.wave is None:
            self.wave = wave
        return self

    def __str__(self) -> str:
        where = ""
        if self.pc is not None:
            where = f" at pc 0x{self.pc:x}"
            if self.instruction:
                where += f" ({self.instruction})"
        if self.wave is not None:
            where += f" in wave {self.wave}"
        return self.message + where


class MemoryFault(EmulatorError):
    """An access to an address no page mapping covers (or a write to a read-only mapping)."""

    def __init__(self, address: int, kind: str = "read", nbytes: int = 0, pc: int | None = None,
                 instruction: str = "", wave: int | None = None):
        self.address = int(address)
        self.kind = kind
        self.nbytes = nbytes
        super().__init__(f"memory fault: {kind} of {nbytes} byte(s) at 0x{self.address:x} is not mapped"
                         + (" writable" if kind == "write" else ""), pc, instruction, wave)


class BudgetExceeded(EmulatorError):
    """The dispatch executed more wave-instructions than the caller allowed: most likely a kernel
    that never finishes."""

    def __init__(self, budget: int, executed: int, pc: int | None = None, instruction: str = "",
                 wave: int | None = None):
        self.budget = budget
        self.executed = executed
        super().__init__(f"instruction budget of {budget} wave-instructions exceeded ({executed} executed)",
                         pc, instruction, wave)


class IllegalInstruction(EmulatorError):
    """Words that are no instruction, or an instruction this emulator does not execute (graphics
    only, global wave sync), reached by a wave."""


class KernelTrap(EmulatorError):
    """A wave executed s_trap (no trap handler is installed) or reported a fatal condition."""

    def __init__(self, trap_id: int, pc: int | None = None, instruction: str = "", wave: int | None = None):
        self.trap_id = trap_id
        super().__init__(f"s_trap {trap_id} executed with no trap handler", pc, instruction, wave)


class LaunchError(EmulatorError):
    """Launch parameters that cannot describe a dispatch (bad sizes, missing scratch, bad kernel
    descriptor)."""


class Cancelled(EmulatorError):
    """The caller's should_stop() asked a running dispatch to stop (a hang timeout, a queue
    being destroyed)."""
