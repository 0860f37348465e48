"""Laying a code object out in memory at a chosen base address, as a loader does."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from isa.codeobj import elf
from isa.codeobj.elfview import Symbol
from isa.errors import CodeObjectError

if TYPE_CHECKING:
    from isa.codeobj.reader import CodeObject

_U64 = (1 << 64) - 1
_U32 = (1 << 32) - 1


@dataclass(frozen=True)
class Relocation:
    offset: int  # image address patched
    type: int  # R_AMDGPU_*
    symbol: Symbol | None
    addend: int

    @property
    def type_name(self) -> str:
        return elf.RELOCATION_NAMES[self.type]


def _symbol_address(rel: Relocation, base: int, externals: Mapping[str, int]) -> int:
    sym = rel.symbol
    if sym is None:
        return 0
    if sym.defined:
        return sym.value if sym.section_index == elf.SHN_ABS else base + sym.value
    if sym.name in externals:
        return externals[sym.name]
    raise CodeObjectError(
        f"{rel.type_name} at 0x{rel.offset:x} needs undefined symbol {sym.name!r}; pass its address in `symbols`")


def _value(rel: Relocation, base: int, externals: Mapping[str, int]) -> tuple[int, int]:
    """(patched value, width in bytes) following the AMDGPU relocation formulas."""
    s = _symbol_address(rel, base, externals)
    a = rel.addend
    p = base + rel.offset
    t = rel.type
    if t == elf.R_AMDGPU_RELATIVE64:
        return (base + a) & _U64, 8
    if t == elf.R_AMDGPU_ABS64:
        return (s + a) & _U64, 8
    if t == elf.R_AMDGPU_ABS32_LO:
        return (s + a) & _U32, 4
    if t == elf.R_AMDGPU_ABS32_HI:
        return ((s + a) >> 32) & _U32, 4
    if t == elf.R_AMDGPU_ABS32:
        if not 0 <= s + a <= _U32:
            raise CodeObjectError(f"R_AMDGPU_ABS32 at 0x{rel.offset:x}: value 0x{s + a:x} does not fit in 32 bits")
        return s + a, 4
    if t == elf.R_AMDGPU_REL64:
        return (s + a - p) & _U64, 8
    if t in (elf.R_AMDGPU_REL32, elf.R_AMDGPU_REL32_LO):
        return (s + a - p) & _U32, 4
    if t == elf.R_AMDGPU_REL32_HI:
        return ((s + a - p) >> 32) & _U32, 4
    if t == elf.R_AMDGPU_REL16:
        return ((s + a - p - 4) >> 2) & 0xFFFF, 2
    raise CodeObjectError(f"{rel.type_name} at 0x{rel.offset:x} cannot be applied by a loader (no GOT is built)")


def build_image(co: "CodeObject", base: int, externals: Mapping[str, int]) -> bytes:
    if not isinstance(base, int) or isinstance(base, bool) or not 0 <= base <= _U64 - co.image_size:
        raise CodeObjectError(f"base address {base!r} is not an address the image fits above")
    if base % co.image_alignment:
        raise CodeObjectError(
            f"base address 0x{base:x} is not aligned to 0x{co.image_alignment:x} (the code object's alignment)")
    if not isinstance(externals, Mapping):
        raise CodeObjectError("symbols must map names to addresses")
    for name, address in externals.items():
        if isinstance(address, bool) or not isinstance(address, int) or not 0 <= address <= _U64:
            raise CodeObjectError(f"address of symbol {name!r} must be an integer in 0..2**64-1, got {address!r}")
    image = bytearray(co.image_size)
    for seg in co.segments:
        image[seg.vaddr:seg.vaddr + seg.filesz] = seg.data
    for rel in co.relocations:
        if rel.type == elf.R_AMDGPU_NONE:
            continue
        value, width = _value(rel, base, externals)
        image[rel.offset:rel.offset + width] = value.to_bytes(width, "little")
    return bytes(image)
