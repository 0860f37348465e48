"""What reading an assembly file gives: sections with their bytes, symbols, fixups (values that
wait for the layout) and kernel descriptors, the way an ELF relocatable object holds them."""

from dataclasses import dataclass, field

from isa.asm.lexer import Expr
from isa.codeobj import elf
from isa.codeobj.directives import AmdhsaKernel

DESCRIPTOR_SIZE = 64


@dataclass
class Section:
    """An input section: its flags and the bytes assembled into it so far."""

    name: str
    flags: str  # subset of 'awx'
    nobits: bool
    data: bytearray = field(default_factory=bytearray)
    align: int = 1

    @property
    def alloc(self) -> bool:
        return 'a' in self.flags


@dataclass
class Symbol:
    """A named symbol: where it is defined (section and offset, or an absolute value) and its
    ELF attributes."""

    name: str
    order: int  # first mention in the source: the order ELF symbol tables list symbols in
    section: str | None = None
    offset: int = 0
    binding: int = elf.STB_LOCAL
    binding_set: bool = False  # .globl/.weak/.local seen
    visibility: int = elf.STV_DEFAULT
    type: int = elf.STT_NOTYPE
    size: object = None  # int or Expr from .size
    size_at: tuple = (0, 0, '')
    value: object = None  # .set: an int, or an Expr naming labels
    value_at: tuple = (0, 0, '')
    line: int = 0  # where it was defined

    @property
    def defined(self) -> bool:
        return self.section is not None or self.value is not None


@dataclass(frozen=True)
class Fixup:
    """A value that needs the layout: a branch offset ('br'), an instruction literal ('lit',
    4 bytes) or data ('data', `size` bytes) at `offset` in `section`."""

    kind: str
    section: str
    offset: int  # of the patched field
    size: int
    expr: Expr
    line: int
    column: int
    source: str
    inst_offset: int = 0  # branches: offset of the instruction


@dataclass(frozen=True)
class KernelBlock:
    kernel: AmdhsaKernel
    section: str
    offset: int  # of the descriptor
    line: int


@dataclass
class ObjectFile:
    sections: dict[str, Section]
    symbols: dict[str, Symbol]
    fixups: list[Fixup]
    kernels: list[KernelBlock]
    metadata: dict | None
    metadata_line: int
    target_id: str | None
    target_at: tuple
    code_object_version: int | None
    version_at: tuple
    idents: list[str]
