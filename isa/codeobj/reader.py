"""Reading gfx11 HSA code objects (linked ET_DYN ELF files, code object v4 to v6)."""

from collections.abc import Mapping
from dataclasses import dataclass

import msgpack

from isa.codeobj import elf
from isa.codeobj.descriptor import DESCRIPTOR_SIZE, KernelDescriptor
from isa.codeobj.elfview import ElfView, Section, Segment, Symbol
from isa.codeobj.image import Relocation, build_image
from isa.codeobj.metadata import KernelMetadata, verify_metadata
from isa.codeobj.targets import Target, parse_target, target_from_e_flags
from isa.errors import CodeObjectError

# No code object comes near this; a larger span means a damaged program header.
MAX_IMAGE_SIZE = 1 << 32


@dataclass(frozen=True)
class Kernel:
    """One kernel: where its descriptor and code are, and what the metadata says about it."""

    name: str
    symbol: str  # of the descriptor, NAME.kd
    descriptor_address: int  # image address of the 64-byte descriptor (the AQL kernel_object - base)
    descriptor: KernelDescriptor
    code_address: int  # image address of the first instruction
    code_offset: int  # file offset of the first instruction
    metadata: KernelMetadata


@dataclass(frozen=True, eq=False)
class CodeObject:
    """A parsed code object. Addresses are relative to the image base (vaddr 0)."""

    data: bytes
    target: Target
    code_object_version: int
    e_flags: int
    segments: tuple[Segment, ...]  # the PT_LOAD program headers
    sections: tuple[Section, ...]
    dynamic_symbols: tuple[Symbol, ...]
    symbols: tuple[Symbol, ...]  # .symtab, when present
    relocations: tuple[Relocation, ...]  # dynamic relocations, to apply at load time
    metadata: Mapping
    kernels: Mapping[str, Kernel]
    text: bytes
    text_address: int

    @classmethod
    def parse(cls, data: bytes) -> "CodeObject":
        """Parse and check a code object; raise CodeObjectError saying what is wrong."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise CodeObjectError(f"a code object is bytes, got {type(data).__name__}")
        return _parse(bytes(data))

    @property
    def image_size(self) -> int:
        """Bytes a loader reserves: image address 0 up to the end of the last PT_LOAD segment."""
        return max((s.end for s in self.segments), default=0)

    @property
    def image_alignment(self) -> int:
        """Alignment the load base needs (the largest PT_LOAD alignment, at least 256 for code)."""
        return max([256] + [s.align for s in self.segments])

    @property
    def printf_formats(self) -> tuple[str, ...]:
        return tuple(self.metadata.get("amdhsa.printf", ()))

    def load_image(self, base_address: int, symbols: Mapping[str, int] | None = None) -> bytes:
        """The memory image placed at `base_address`: segments copied, the rest zero, dynamic
        relocations applied. `symbols` gives addresses of symbols the code object leaves undefined."""
        return build_image(self, base_address, symbols or {})

    def __repr__(self) -> str:
        return (f"CodeObject(target={self.target.target_id!r}, v{self.code_object_version}, "
                f"kernels={list(self.kernels)}, image_size=0x{self.image_size:x}, "
                f"relocations={len(self.relocations)})")

    def symbol(self, name: str) -> Symbol:
        for table in (self.dynamic_symbols, self.symbols):
            for sym in table:
                if sym.name == name and sym.defined:
                    return sym
        raise CodeObjectError(f"no defined symbol {name!r} in the code object")


def _parse(data: bytes) -> CodeObject:
    view = ElfView(data)
    if view.osabi != elf.ELFOSABI_AMDGPU_HSA:
        raise CodeObjectError(
            f"EI_OSABI is {view.osabi}, not ELFOSABI_AMDGPU_HSA ({elf.ELFOSABI_AMDGPU_HSA}): "
            "not an HSA code object")
    version = elf.CODE_OBJECT_BY_ABI_VERSION.get(view.abi_version)
    if version is None:
        raise CodeObjectError(
            f"EI_ABIVERSION {view.abi_version} is not code object v4, v5 or v6 "
            f"(expected one of {sorted(elf.CODE_OBJECT_BY_ABI_VERSION)})")
    if view.e_type == elf.ET_REL:
        raise CodeObjectError("this is a relocatable object (ET_REL); link it first (ld.lld -shared)")
    if view.e_type != elf.ET_DYN:
        raise CodeObjectError(f"e_type is {view.e_type}; an HSA code object is a shared object (ET_DYN, 3)")
    target = target_from_e_flags(view.e_flags)
    if target.generic_version and version < 6:
        raise CodeObjectError(f"generic target {target.processor} needs code object v6, file is v{version}")

    loads = tuple(s for s in view.segments if s.type == elf.PT_LOAD)
    if not loads:
        raise CodeObjectError("no PT_LOAD program header: nothing to load")
    _check_no_overlap(loads)
    span = max(s.end for s in loads)
    if span > MAX_IMAGE_SIZE:
        raise CodeObjectError(
            f"PT_LOAD segments reach address 0x{span:x}, beyond the {MAX_IMAGE_SIZE >> 30} GiB a code object may span")

    dynsym_sections = view.sections_of_type(elf.SHT_DYNSYM)
    if len(dynsym_sections) != 1:
        raise CodeObjectError(f"expected one .dynsym section, found {len(dynsym_sections)}")
    dynamic_symbols = view.symbols(dynsym_sections[0])
    symtabs = view.sections_of_type(elf.SHT_SYMTAB)
    symbols = view.symbols(symtabs[0]) if symtabs else ()
    for sym in dynamic_symbols:
        if sym.defined and sym.section_index not in (elf.SHN_ABS,) and sym.section_index >= len(view.sections):
            raise CodeObjectError(f"symbol {sym.name!r} refers to section {sym.section_index}, which does not exist")

    relocations = _dynamic_relocations(view, loads)
    metadata = _metadata(view)
    meta_target = metadata.get("amdhsa.target")
    if meta_target is not None and parse_target(meta_target) != target:
        raise CodeObjectError(
            f"metadata target {meta_target!r} does not match the ELF header's {target.target_id!r}")

    text_section = view.section_named(".text")
    if text_section is None or text_section.type != elf.SHT_PROGBITS:
        raise CodeObjectError("no .text section")

    kernels = {}
    for entry in metadata["amdhsa.kernels"]:
        kernel = _kernel(view, loads, dynamic_symbols + symbols, KernelMetadata.from_map(entry))
        if kernel.name in kernels:
            raise CodeObjectError(f"kernel {kernel.name!r} is described twice in the metadata")
        kernels[kernel.name] = kernel

    return CodeObject(
        data=data, target=target, code_object_version=version, e_flags=view.e_flags,
        segments=loads, sections=view.sections, dynamic_symbols=dynamic_symbols, symbols=symbols,
        relocations=relocations, metadata=metadata, kernels=kernels,
        text=view.section_bytes(text_section), text_address=text_section.addr,
    )


def _check_no_overlap(loads: tuple[Segment, ...]) -> None:
    spans = sorted((s.vaddr, s.end) for s in loads if s.memsz)
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        if start < end:
            raise CodeObjectError(f"PT_LOAD segments overlap at address 0x{start:x}")


def _segment_holding(loads, address: int, size: int, file_backed: bool) -> Segment | None:
    for s in loads:
        limit = s.filesz if file_backed else s.memsz
        if s.vaddr <= address and address + size <= s.vaddr + limit:
            return s
    return None


def _dynamic_relocations(view: ElfView, loads) -> tuple[Relocation, ...]:
    out = []
    for section in view.sections_of_type(elf.SHT_RELA):
        if not section.flags & elf.SHF_ALLOC:
            continue  # static relocations; a linked code object has none that matter at load time
        table = view.symbols(view.sections[section.link]) if section.link else ()
        for r_offset, sym_index, r_type, addend in view.relocations(section):
            if r_type not in elf.RELOCATION_NAMES:
                raise CodeObjectError(f"unknown AMDGPU relocation type {r_type} at 0x{r_offset:x}")
            if sym_index >= max(len(table), 1):
                raise CodeObjectError(
                    f"relocation at 0x{r_offset:x} names symbol {sym_index}, but its table has {len(table)}")
            symbol = table[sym_index] if sym_index else None
            width = _RELOCATION_WIDTH.get(r_type, 0)
            if width and _segment_holding(loads, r_offset, width, file_backed=False) is None:
                raise CodeObjectError(
                    f"{elf.RELOCATION_NAMES[r_type]} at 0x{r_offset:x} patches memory outside every PT_LOAD segment")
            out.append(Relocation(r_offset, r_type, symbol, addend))
    return tuple(out)


_RELOCATION_WIDTH = {
    elf.R_AMDGPU_ABS32_LO: 4, elf.R_AMDGPU_ABS32_HI: 4, elf.R_AMDGPU_ABS64: 8, elf.R_AMDGPU_REL32: 4,
    elf.R_AMDGPU_REL64: 8, elf.R_AMDGPU_ABS32: 4, elf.R_AMDGPU_GOTPCREL: 4, elf.R_AMDGPU_GOTPCREL32_LO: 4,
    elf.R_AMDGPU_GOTPCREL32_HI: 4, elf.R_AMDGPU_REL32_LO: 4, elf.R_AMDGPU_REL32_HI: 4,
    elf.R_AMDGPU_RELATIVE64: 8, elf.R_AMDGPU_REL16: 2,
}


def _metadata(view: ElfView) -> dict:
    found = []
    for section in view.sections_of_type(elf.SHT_NOTE):
        for note in view.notes(section.offset, section.size, f"section {section.name or section.index}"):
            if note.name == elf.AMDGPU_NOTE_NAME and note.type == elf.NT_AMDGPU_METADATA:
                found.append(note.desc)
    if not found:
        raise CodeObjectError("no NT_AMDGPU_METADATA note (owner 'AMDGPU', type 32): metadata missing")
    if len(found) > 1:
        raise CodeObjectError(f"{len(found)} NT_AMDGPU_METADATA notes; expected one")
    try:
        metadata = msgpack.unpackb(found[0], raw=False, strict_map_key=False, use_list=True)
    except (ValueError, TypeError, msgpack.UnpackException, UnicodeDecodeError, RecursionError) as exc:
        raise CodeObjectError(f"metadata note is not valid MessagePack: {exc}") from exc
    verify_metadata(metadata)
    if metadata["amdhsa.version"][0] != 1:
        raise CodeObjectError(f"metadata version {metadata['amdhsa.version']} is not 1.x")
    return metadata


def _kernel(view: ElfView, loads, symbols, meta: KernelMetadata) -> Kernel:
    kd_symbol = next((s for s in symbols if s.name == meta.symbol and s.defined), None)
    if kd_symbol is None:
        raise CodeObjectError(f"kernel {meta.name!r}: descriptor symbol {meta.symbol!r} is not defined")
    address = kd_symbol.value
    segment = _segment_holding(loads, address, DESCRIPTOR_SIZE, file_backed=True)
    if segment is None:
        raise CodeObjectError(
            f"kernel {meta.name!r}: descriptor at 0x{address:x} is not inside the file-backed part of a "
            "PT_LOAD segment")
    at = segment.offset + address - segment.vaddr
    descriptor = KernelDescriptor.from_bytes(view.data[at:at + DESCRIPTOR_SIZE])
    descriptor.validate_gfx11()
    code_address = address + descriptor.kernel_code_entry_byte_offset
    code_segment = _segment_holding(loads, code_address, 4, file_backed=True)
    if code_segment is None or not code_segment.executable:
        raise CodeObjectError(
            f"kernel {meta.name!r}: code entry 0x{code_address:x} (descriptor 0x{address:x} + "
            f"{descriptor.kernel_code_entry_byte_offset}) is not inside an executable segment")
    if code_address % 256:
        raise CodeObjectError(f"kernel {meta.name!r}: code entry 0x{code_address:x} is not 256-byte aligned")
    misplaced = meta.misplaced_argument()
    if misplaced:
        raise CodeObjectError(f"kernel {meta.name!r}: {misplaced}")
    return Kernel(
        name=meta.name, symbol=meta.symbol, descriptor_address=address, descriptor=descriptor,
        code_address=code_address, code_offset=code_segment.offset + code_address - code_segment.vaddr,
        metadata=meta,
    )
