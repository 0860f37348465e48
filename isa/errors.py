"""Typed errors of the isa package."""


class IsaError(Exception):
    """Base class of every error the isa package raises on bad input."""


class AsmError(IsaError):
    """Assembly text that cannot be assembled; carries the 1-based line and column."""

    def __init__(self, message: str, line: int = 0, column: int = 0, source_line: str = ""):
        self.message = message
        self.line = line
        self.column = column
        self.source_line = source_line
        where = f"{line}:{column}: " if line else ""
        super().__init__(f"{where}error: {message}")


class CodeObjectError(IsaError):
    """A code object that cannot be read or written: truncated, not AMDGPU, wrong target, or
    internally inconsistent."""


class DirectiveError(CodeObjectError):
    """A bad `.amdhsa_*` or `.amdgpu_metadata` directive in assembly source; carries the 1-based
    line and column (0 when unknown)."""

    def __init__(self, message: str, line: int = 0, column: int = 0):
        self.message = message
        self.line = line
        self.column = column
        where = f"{line}:{column}: " if line else ""
        super().__init__(f"{where}error: {message}")
