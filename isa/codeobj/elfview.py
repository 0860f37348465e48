"""Checked access to the ELF structure of a code object.

Every table is bounds-checked before it is read, so damaged input surfaces as CodeObjectError
saying which table is wrong, never as an exception from deep inside a parser.
"""

from collections.abc import Iterator
from dataclasses import dataclass

from isa.codeobj import elf
from isa.errors import CodeObjectError


@dataclass(frozen=True)
class Segment:
    """A program header; `data` holds the file-backed bytes (filesz of them)."""

    type: int
    offset: int
    vaddr: int
    filesz: int
    memsz: int
    flags: int
    align: int
    data: bytes = b""

    @property
    def readable(self) -> bool:
        return bool(self.flags & elf.PF_R)

    @property
    def writable(self) -> bool:
        return bool(self.flags & elf.PF_W)

    @property
    def executable(self) -> bool:
        return bool(self.flags & elf.PF_X)

    @property
    def end(self) -> int:
        return self.vaddr + self.memsz

    def __repr__(self) -> str:
        perms = ("R" if self.readable else "-") + ("W" if self.writable else "-") + ("X" if self.executable else "-")
        return (f"Segment(type={self.type}, vaddr=0x{self.vaddr:x}, memsz=0x{self.memsz:x}, "
                f"filesz=0x{self.filesz:x}, offset=0x{self.offset:x}, flags={perms})")


@dataclass(frozen=True)
class Section:
    index: int
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    align: int
    entsize: int


@dataclass(frozen=True)
class Symbol:
    name: str
    value: int
    size: int
    type: int  # STT_*
    binding: int  # STB_*
    visibility: int  # STV_*
    section_index: int

    @property
    def defined(self) -> bool:
        return self.section_index != elf.SHN_UNDEF


@dataclass(frozen=True)
class Note:
    name: str
    type: int
    desc: bytes


class ElfView:
    """The header, program headers, sections, symbols, notes and relocations of an ELF64 file."""

    def __init__(self, data: bytes):
        self.data = data
        self._check_identity()
        (ident, self.e_type, self.e_machine, _version, self.e_entry, self.e_phoff, self.e_shoff,
         self.e_flags, self.e_ehsize, self.e_phentsize, self.e_phnum, self.e_shentsize, self.e_shnum,
         self.e_shstrndx) = elf.EHDR.unpack_from(data, 0)
        self.osabi = ident[elf.EI_OSABI]
        self.abi_version = ident[elf.EI_ABIVERSION]
        if self.e_machine != elf.EM_AMDGPU:
            raise CodeObjectError(f"e_machine is {self.e_machine}, not EM_AMDGPU ({elf.EM_AMDGPU}): not an AMDGPU code object")
        self.segments = self._read_program_headers()
        self.sections = self._read_section_headers()

    # -- header and tables -------------------------------------------------------------------

    def _check_identity(self) -> None:
        data = self.data
        if len(data) < 4 or data[:4] != elf.ELF_MAGIC:
            raise CodeObjectError("not an ELF file (bad magic; a code object starts with 7f 45 4c 46)")
        if len(data) < elf.EHDR.size:
            raise CodeObjectError(f"truncated ELF header: {len(data)} bytes, need {elf.EHDR.size}")
        if data[elf.EI_CLASS] != elf.ELFCLASS64:
            raise CodeObjectError(f"ELF class {data[elf.EI_CLASS]} is not ELFCLASS64: AMDGPU code objects are 64-bit")
        if data[elf.EI_DATA] != elf.ELFDATA2LSB:
            raise CodeObjectError(f"ELF data encoding {data[elf.EI_DATA]} is not little-endian (ELFDATA2LSB)")
        if data[elf.EI_VERSION] != elf.EV_CURRENT:
            raise CodeObjectError(f"ELF identification version {data[elf.EI_VERSION]} is not EV_CURRENT (1)")

    def _table(self, what: str, offset: int, count: int, entsize: int, want: int) -> None:
        if count == 0:
            return
        if entsize != want:
            raise CodeObjectError(f"{what} entry size is {entsize}, expected {want}")
        if offset + count * entsize > len(self.data):
            raise CodeObjectError(
                f"{what} table (offset 0x{offset:x}, {count} entries) runs past the end of the "
                f"{len(self.data)}-byte file: truncated?"
            )

    def _read_program_headers(self) -> tuple[Segment, ...]:
        self._table("program header", self.e_phoff, self.e_phnum, self.e_phentsize, elf.PHDR.size)
        segments = []
        for i in range(self.e_phnum):
            p_type, p_flags, p_offset, p_vaddr, _paddr, p_filesz, p_memsz, p_align = elf.PHDR.unpack_from(
                self.data, self.e_phoff + i * elf.PHDR.size)
            if p_type in (elf.PT_LOAD, elf.PT_NOTE, elf.PT_DYNAMIC):
                if p_offset + p_filesz > len(self.data):
                    raise CodeObjectError(
                        f"program header {i} file range 0x{p_offset:x}+0x{p_filesz:x} runs past the end "
                        f"of the {len(self.data)}-byte file: truncated?")
                if p_filesz > p_memsz:
                    raise CodeObjectError(f"program header {i} has filesz 0x{p_filesz:x} > memsz 0x{p_memsz:x}")
                if p_vaddr + p_memsz > 1 << 64:
                    raise CodeObjectError(f"program header {i} address range wraps around 2**64")
                if p_align & (p_align - 1):
                    raise CodeObjectError(f"program header {i} alignment 0x{p_align:x} is not a power of two")
            data = self.data[p_offset:p_offset + p_filesz] if p_type == elf.PT_LOAD else b""
            segments.append(Segment(p_type, p_offset, p_vaddr, p_filesz, p_memsz, p_flags, p_align, data))
        return tuple(segments)

    def _read_section_headers(self) -> tuple[Section, ...]:
        if self.e_shoff == 0 or self.e_shnum == 0:
            raise CodeObjectError("the ELF file has no section headers (needed for its symbol tables)")
        self._table("section header", self.e_shoff, self.e_shnum, self.e_shentsize, elf.SHDR.size)
        if self.e_shstrndx >= self.e_shnum:
            raise CodeObjectError(f"section name table index {self.e_shstrndx} is out of range ({self.e_shnum} sections)")
        raw = [elf.SHDR.unpack_from(self.data, self.e_shoff + i * elf.SHDR.size) for i in range(self.e_shnum)]
        sections = []
        for i, (name, sh_type, flags, addr, offset, size, link, info, align, entsize) in enumerate(raw):
            if sh_type != elf.SHT_NOBITS and sh_type != elf.SHT_NULL and offset + size > len(self.data):
                raise CodeObjectError(
                    f"section {i} (offset 0x{offset:x}, size 0x{size:x}) runs past the end of the "
                    f"{len(self.data)}-byte file: truncated?")
            if sh_type in (elf.SHT_SYMTAB, elf.SHT_DYNSYM, elf.SHT_RELA, elf.SHT_HASH, elf.SHT_DYNAMIC):
                if link >= self.e_shnum:
                    raise CodeObjectError(f"section {i} links to section {link}, which does not exist")
            if sh_type in (elf.SHT_SYMTAB, elf.SHT_DYNSYM):
                self._entries(i, size, entsize, elf.SYM.size)
                if raw[link][1] != elf.SHT_STRTAB:
                    raise CodeObjectError(f"symbol table section {i} links to section {link}, which is not a string table")
            if sh_type == elf.SHT_RELA:
                self._entries(i, size, entsize, elf.RELA.size)
                if raw[link][1] not in (elf.SHT_SYMTAB, elf.SHT_DYNSYM) and link != 0:
                    raise CodeObjectError(f"relocation section {i} links to section {link}, which is not a symbol table")
            if sh_type == elf.SHT_DYNAMIC:
                self._entries(i, size, entsize, elf.DYN.size)
            sections.append((i, name, sh_type, flags, addr, offset, size, link, info, align, entsize))
        names = raw[self.e_shstrndx]
        if names[1] != elf.SHT_STRTAB:
            raise CodeObjectError(f"section name table (section {self.e_shstrndx}) is not a string table")
        return tuple(
            Section(i, self._string(names[4], names[5], name, f"name of section {i}"), *rest)
            for i, name, *rest in sections
        )

    @staticmethod
    def _entries(index: int, size: int, entsize: int, want: int) -> None:
        if entsize != want or size % want:
            raise CodeObjectError(
                f"section {index} has entry size {entsize} and size {size}; expected entries of {want} bytes")

    def _string(self, table_offset: int, table_size: int, index: int, what: str) -> str:
        if index >= table_size:
            raise CodeObjectError(f"{what} at string index {index} lies outside its {table_size}-byte string table")
        start = table_offset + index
        end = self.data.find(b"\0", start, table_offset + table_size)
        if end < 0:
            raise CodeObjectError(f"{what} at string index {index} is not NUL-terminated")
        try:
            return self.data[start:end].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CodeObjectError(f"{what} at string index {index} is not valid UTF-8") from exc

    # -- contents ----------------------------------------------------------------------------

    def sections_of_type(self, sh_type: int) -> list[Section]:
        return [s for s in self.sections if s.type == sh_type]

    def section_named(self, name: str) -> Section | None:
        for s in self.sections:
            if s.name == name:
                return s
        return None

    def section_bytes(self, section: Section) -> bytes:
        if section.type == elf.SHT_NOBITS:
            return b""
        return self.data[section.offset:section.offset + section.size]

    def symbols(self, section: Section) -> tuple[Symbol, ...]:
        """The symbols of a SHT_SYMTAB/SHT_DYNSYM section, index 0 included."""
        strings = self.sections[section.link]
        body = self.section_bytes(section)
        out = []
        for i in range(0, len(body), elf.SYM.size):
            st_name, st_info, st_other, st_shndx, st_value, st_size = elf.SYM.unpack_from(body, i)
            name = self._string(strings.offset, strings.size, st_name, f"name of symbol {i // elf.SYM.size}")
            out.append(Symbol(name, st_value, st_size, st_info & 0xF, st_info >> 4, st_other & 3, st_shndx))
        return tuple(out)

    def relocations(self, section: Section) -> Iterator[tuple[int, int, int, int]]:
        """(r_offset, symbol index, type, addend) of each entry of a SHT_RELA section."""
        body = self.section_bytes(section)
        for i in range(0, len(body), elf.RELA.size):
            r_offset, r_info, r_addend = elf.RELA.unpack_from(body, i)
            yield r_offset, r_info >> 32, r_info & 0xFFFFFFFF, r_addend

    def dynamic_entries(self, section: Section) -> list[tuple[int, int]]:
        body = self.section_bytes(section)
        entries = []
        for i in range(0, len(body), elf.DYN.size):
            tag, value = elf.DYN.unpack_from(body, i)
            if tag == elf.DT_NULL:
                break
            entries.append((tag, value))
        return entries

    def notes(self, offset: int, size: int, where: str) -> list[Note]:
        """Parse the notes in file range [offset, offset+size)."""
        notes = []
        end = offset + size
        while offset + elf.NHDR.size <= end:
            namesz, descsz, n_type = elf.NHDR.unpack_from(self.data, offset)
            name_at = offset + elf.NHDR.size
            desc_at = name_at + elf.align_up(namesz, 4)
            next_at = desc_at + elf.align_up(descsz, 4)
            if desc_at + descsz > end:
                raise CodeObjectError(
                    f"note at file offset 0x{offset:x} in {where} (name {namesz} bytes, "
                    f"descriptor {descsz} bytes) runs past the end of its section")
            raw_name = self.data[name_at:name_at + namesz]
            if namesz and raw_name[-1:] != b"\0":
                raise CodeObjectError(f"note name at file offset 0x{name_at:x} is not NUL-terminated")
            try:
                name = raw_name[:-1].decode("utf-8") if namesz else ""
            except UnicodeDecodeError as exc:
                raise CodeObjectError(f"note name at file offset 0x{name_at:x} is not valid UTF-8") from exc
            notes.append(Note(name, n_type, self.data[desc_at:desc_at + descsz]))
            offset = next_at
        return notes
