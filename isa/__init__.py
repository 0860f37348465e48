"""isa: RDNA3 (gfx11) instruction tables, assembler, disassembler, code objects and emulator."""

from isa.errors import AsmError, CodeObjectError, IsaError
