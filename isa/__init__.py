"""isa: RDNA3 (gfx11) instruction tables, assembler, disassembler, code objects and emulator."""

from isa.errors import AsmError, CodeObjectError, IsaError
from isa.codeobj import CodeObject, build_code_object
from isa.errors import DirectiveError
from isa.disasm import disassemble, disassemble_inst, disassemble_lines  # noqa: E402,F401
from isa.asm import Assembler, assemble  # noqa: E402,F401
from isa.asmfile import assemble_code_object  # noqa: E402,F401
