"""Writing a code object: an ET_DYN ELF laid out as ld.lld -shared lays out a linked kernel file.

    link_code_object(text, kernels=[LinkedKernel('k', 0, descriptor)], metadata=meta)

Three PT_LOAD segments: read-only (note, dynamic symbols, hash, kernel descriptors in .rodata),
read-execute (.text, 256-byte aligned code), read-write (.dynamic). The output needs no dynamic
relocations: descriptors point at code by a relative offset.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import msgpack

from isa.codeobj import elf
from isa.codeobj.descriptor import DESCRIPTOR_ALIGN, DESCRIPTOR_SIZE, KernelDescriptor
from isa.codeobj.metadata import verify_metadata
from isa.codeobj.targets import parse_target
from isa.errors import CodeObjectError

PAGE = 0x1000
CODE_ALIGN = 256


@dataclass(frozen=True)
class LinkedKernel:
    """A kernel inside a .text blob: its entry offset in the blob and its descriptor (whose
    kernel_code_entry_byte_offset the writer fills in)."""

    name: str
    code_offset: int
    descriptor: KernelDescriptor
    code_size: int | None = None  # symbol size; None: up to the next kernel or the end of .text


def _pack(value, path: str = "root"):
    """Sort map keys (as LLVM writes them) and reject what MessagePack cannot hold."""
    if isinstance(value, Mapping):
        return {k: _pack(value[k], f"{path}.{k}") for k in sorted(value)}
    if isinstance(value, (list, tuple)):
        return [_pack(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if value is None or isinstance(value, (bool, str, float)):
        return value
    if isinstance(value, int):
        if not -(1 << 63) <= value < (1 << 64):
            raise CodeObjectError(f"metadata {path}: integer {value} does not fit in 64 bits")
        return value
    raise CodeObjectError(f"metadata {path}: {type(value).__name__} cannot be stored in MessagePack")


def encode_metadata(metadata: Mapping) -> bytes:
    verify_metadata(metadata)
    return msgpack.packb(_pack(metadata), use_bin_type=True)


class _Strings:
    """An ELF string table under construction."""

    def __init__(self):
        self.data = bytearray(b"\0")
        self.index: dict[str, int] = {"": 0}

    def add(self, text: str) -> int:
        if text not in self.index:
            self.index[text] = len(self.data)
            self.data += text.encode("utf-8") + b"\0"
        return self.index[text]


def _hash_table(names: Sequence[str]) -> bytes:
    """A SysV DT_HASH table for symbols 0..len(names)-1 (index 0 is the null symbol)."""
    nbucket = max(1, len(names) - 1)
    buckets = [0] * nbucket
    chains = [0] * len(names)
    for i in range(1, len(names)):
        b = elf.elf_hash(names[i].encode("utf-8")) % nbucket
        chains[i] = buckets[b]
        buckets[b] = i
    words = [nbucket, len(names), *buckets, *chains]
    return b"".join(w.to_bytes(4, "little") for w in words)


def _note(name: str, n_type: int, desc: bytes) -> bytes:
    raw_name = name.encode() + b"\0"
    return (elf.NHDR.pack(len(raw_name), len(desc), n_type)
            + raw_name.ljust(elf.align_up(len(raw_name), 4), b"\0")
            + desc.ljust(elf.align_up(len(desc), 4), b"\0"))


def _check_kernels(text: bytes, kernels: Sequence[LinkedKernel], metadata: Mapping) -> None:
    if not kernels:
        raise CodeObjectError("a code object needs at least one kernel")
    names = [k.name for k in kernels]
    for k in kernels:
        if not isinstance(k, LinkedKernel):
            raise CodeObjectError(f"kernels must be LinkedKernel, got {type(k).__name__}")
        if not isinstance(k.name, str) or not k.name or "\0" in k.name:
            raise CodeObjectError(f"bad kernel name {k.name!r}")
        if names.count(k.name) > 1:
            raise CodeObjectError(f"kernel {k.name!r} is defined twice")
        if not isinstance(k.descriptor, KernelDescriptor):
            raise CodeObjectError(f"kernel {k.name!r}: descriptor must be a KernelDescriptor")
        if not isinstance(k.code_offset, int) or not 0 <= k.code_offset < len(text):
            raise CodeObjectError(f"kernel {k.name!r}: code offset {k.code_offset!r} is outside the "
                                  f"{len(text)}-byte .text")
        if k.code_offset % CODE_ALIGN:
            raise CodeObjectError(f"kernel {k.name!r}: code offset {k.code_offset} is not {CODE_ALIGN}-byte aligned")
        if k.code_size is not None and (not isinstance(k.code_size, int) or k.code_size < 0
                                        or k.code_offset + k.code_size > len(text)):
            raise CodeObjectError(f"kernel {k.name!r}: code size {k.code_size!r} runs past the end of .text")
    described = [m[".name"] for m in metadata["amdhsa.kernels"]]
    if sorted(described) != sorted(names):
        raise CodeObjectError(f"metadata describes kernels {described} but the code has {names}")
    for m in metadata["amdhsa.kernels"]:
        if m[".symbol"] != m[".name"] + ".kd":
            raise CodeObjectError(f"metadata kernel {m['.name']!r}: .symbol must be {m['.name'] + '.kd'!r}")


@dataclass
class _Section:
    """An output section: its header fields, and its bytes once addresses are known."""

    name: str
    type: int
    flags: int
    align: int
    size: int
    link: str = ""
    info: int = 0
    entsize: int = 0
    segment: int | None = None  # index into the PT_LOAD list, None for non-allocated sections
    data: bytes = b""
    offset: int = 0
    addr: int = 0


@dataclass(frozen=True)
class _Symbol:
    name: str
    section: str
    value: int  # offset inside the section
    size: int
    type: int


# Allocated sections in ld.lld's order, grouped by PT_LOAD: R, R+X, R+W.
_LOADS = (elf.PF_R, elf.PF_R | elf.PF_X, elf.PF_R | elf.PF_W)
_PHNUM = 6  # PT_PHDR, three PT_LOAD, PT_DYNAMIC, PT_NOTE
_DYNAMIC_TAGS = (elf.DT_SYMTAB, elf.DT_SYMENT, elf.DT_HASH, elf.DT_STRTAB, elf.DT_STRSZ, elf.DT_NULL)


def _kernel_symbols(text_size: int, kernels: Sequence[LinkedKernel]) -> list[_Symbol]:
    """A function symbol at each kernel entry and a descriptor symbol per kernel."""
    bounds = sorted({k.code_offset for k in kernels} | {text_size})
    out = []
    for i, k in enumerate(kernels):
        size = k.code_size if k.code_size is not None else bounds[bounds.index(k.code_offset) + 1] - k.code_offset
        out.append(_Symbol(k.name, ".text", k.code_offset, size, elf.STT_FUNC))
        out.append(_Symbol(k.name + ".kd", ".rodata", i * DESCRIPTOR_SIZE, DESCRIPTOR_SIZE, elf.STT_OBJECT))
    return out


def _assign_places(sections: list[_Section]) -> int:
    """File offsets and addresses, as ld.lld assigns them: each PT_LOAD starts on a new page of
    the address space at an address congruent to its file offset. Returns the end offset."""
    offset = elf.EHDR.size + _PHNUM * elf.PHDR.size
    address = offset
    segment = 0
    for s in sections:
        offset = elf.align_up(offset, s.align)
        if s.segment is None:
            s.offset = offset
        else:
            if s.segment != segment:
                segment = s.segment
                address = elf.align_up(address, PAGE) + offset % PAGE
            address = elf.align_up(address, s.align)
            s.offset, s.addr = offset, address
            address += s.size
        offset += s.size
    return offset


def _symbol_table(symbols: list[_Symbol], strings: _Strings, where: dict[str, _Section], index: dict[str, int]) -> bytes:
    out = bytearray(elf.SYM.size)  # the null symbol
    for sym in symbols:
        out += elf.SYM.pack(strings.add(sym.name), (elf.STB_GLOBAL << 4) | sym.type, elf.STV_PROTECTED,
                            index[sym.section], where[sym.section].addr + sym.value, sym.size)
    return bytes(out)


def link_code_object(text: bytes, kernels: Sequence[LinkedKernel], metadata: Mapping,
                     target: str = "gfx1100") -> bytes:
    """An HSA code object (ELF64, code object v5 unless the target is generic) holding `text`,
    one descriptor per kernel and `metadata` (the full amdhsa.* map) in its note."""
    if not isinstance(text, (bytes, bytearray)) or not text or len(text) % 4:
        raise CodeObjectError("the .text blob must be non-empty bytes, a whole number of 4-byte words")
    text = bytes(text)
    tgt = parse_target(target)
    if not isinstance(metadata, Mapping):
        raise CodeObjectError("metadata must be a map")
    note = _note(elf.AMDGPU_NOTE_NAME, elf.NT_AMDGPU_METADATA, encode_metadata(metadata))
    if metadata.get("amdhsa.target", tgt.target_id) != tgt.target_id:
        raise CodeObjectError(f"metadata target {metadata['amdhsa.target']!r} differs from {tgt.target_id!r}")
    _check_kernels(text, kernels, metadata)

    symbols = _kernel_symbols(len(text), kernels)
    dynstr, strtab, shstrtab = _Strings(), _Strings(), _Strings()
    for sym in symbols:
        dynstr.add(sym.name)
    hash_table = _hash_table(["", *(sym.name for sym in symbols)])
    nsyms = (len(symbols) + 1) * elf.SYM.size
    sections = [
        _Section(".note", elf.SHT_NOTE, elf.SHF_ALLOC, 4, len(note), segment=0, data=note),
        _Section(".dynsym", elf.SHT_DYNSYM, elf.SHF_ALLOC, 8, nsyms, ".dynstr", 1, elf.SYM.size, segment=0),
        _Section(".hash", elf.SHT_HASH, elf.SHF_ALLOC, 4, len(hash_table), ".dynsym", 0, 4, 0, hash_table),
        _Section(".dynstr", elf.SHT_STRTAB, elf.SHF_ALLOC, 1, len(dynstr.data), segment=0, data=bytes(dynstr.data)),
        _Section(".rodata", elf.SHT_PROGBITS, elf.SHF_ALLOC, DESCRIPTOR_ALIGN, len(kernels) * DESCRIPTOR_SIZE,
                 segment=0),
        _Section(".text", elf.SHT_PROGBITS, elf.SHF_ALLOC | elf.SHF_EXECINSTR, CODE_ALIGN, len(text), segment=1,
                 data=text),
        _Section(".dynamic", elf.SHT_DYNAMIC, elf.SHF_ALLOC | elf.SHF_WRITE, 8,
                 len(_DYNAMIC_TAGS) * elf.DYN.size, ".dynstr", 0, elf.DYN.size, segment=2),
        _Section(".symtab", elf.SHT_SYMTAB, 0, 8, nsyms, ".strtab", 1, elf.SYM.size),
        _Section(".shstrtab", elf.SHT_STRTAB, 0, 1, 0),
        _Section(".strtab", elf.SHT_STRTAB, 0, 1, 0),
    ]
    for s in sections:
        shstrtab.add(s.name)
    for sym in symbols:
        strtab.add(sym.name)
    named = {s.name: s for s in sections}
    named[".shstrtab"].data = bytes(shstrtab.data)
    named[".strtab"].data = bytes(strtab.data)
    named[".shstrtab"].size, named[".strtab"].size = len(shstrtab.data), len(strtab.data)
    shoff = elf.align_up(_assign_places(sections), 8)

    # Contents that depend on addresses.
    index = {s.name: i + 1 for i, s in enumerate(sections)}
    rodata, code = named[".rodata"], named[".text"]
    named[".rodata"].data = b"".join(
        k.descriptor.replace(kernel_code_entry_byte_offset=code.addr + k.code_offset
                             - (rodata.addr + i * DESCRIPTOR_SIZE)).to_bytes()
        for i, k in enumerate(kernels))
    named[".dynsym"].data = _symbol_table(symbols, dynstr, named, index)
    named[".symtab"].data = _symbol_table(symbols, strtab, named, index)
    dynamic_values = {elf.DT_SYMTAB: named[".dynsym"].addr, elf.DT_SYMENT: elf.SYM.size,
                      elf.DT_HASH: named[".hash"].addr, elf.DT_STRTAB: named[".dynstr"].addr,
                      elf.DT_STRSZ: len(dynstr.data), elf.DT_NULL: 0}
    named[".dynamic"].data = b"".join(elf.DYN.pack(tag, dynamic_values[tag]) for tag in _DYNAMIC_TAGS)

    out = bytearray(shoff + (len(sections) + 1) * elf.SHDR.size)
    ident = (elf.ELF_MAGIC + bytes([elf.ELFCLASS64, elf.ELFDATA2LSB, elf.EV_CURRENT, elf.ELFOSABI_AMDGPU_HSA,
                                    elf.ABI_VERSION_BY_CODE_OBJECT[6 if tgt.generic_version else 5]])).ljust(16, b"\0")
    out[:elf.EHDR.size] = elf.EHDR.pack(
        ident, elf.ET_DYN, elf.EM_AMDGPU, elf.EV_CURRENT, 0, elf.EHDR.size, shoff, tgt.e_flags(), elf.EHDR.size,
        elf.PHDR.size, _PHNUM, elf.SHDR.size, len(sections) + 1, index[".shstrtab"])
    for i, phdr in enumerate(_program_headers(sections, named)):
        elf.PHDR.pack_into(out, elf.EHDR.size + i * elf.PHDR.size, *phdr)
    for i, s in enumerate(sections, start=1):
        out[s.offset:s.offset + len(s.data)] = s.data
        elf.SHDR.pack_into(out, shoff + i * elf.SHDR.size, shstrtab.index[s.name], s.type, s.flags, s.addr,
                           s.offset, s.size, index.get(s.link, 0), s.info, s.align, s.entsize)
    return bytes(out)


def _program_headers(sections: list[_Section], named: dict[str, _Section]) -> list[tuple]:
    """(type, flags, offset, vaddr, paddr, filesz, memsz, align) of each program header."""
    table_size = _PHNUM * elf.PHDR.size
    out = [(elf.PT_PHDR, elf.PF_R, elf.EHDR.size, elf.EHDR.size, elf.EHDR.size, table_size, table_size, 8)]
    for segment, flags in enumerate(_LOADS):
        members = [s for s in sections if s.segment == segment]
        # The first segment also maps the ELF and program headers, from offset and address 0.
        start_offset = 0 if segment == 0 else members[0].offset
        start_addr = 0 if segment == 0 else members[0].addr
        size = members[-1].offset + members[-1].size - start_offset
        out.append((elf.PT_LOAD, flags, start_offset, start_addr, start_addr, size, size, PAGE))
    for p_type, name, align in ((elf.PT_DYNAMIC, ".dynamic", 8), (elf.PT_NOTE, ".note", 4)):
        s = named[name]
        flags = elf.PF_R | (elf.PF_W if s.flags & elf.SHF_WRITE else 0)
        out.append((p_type, flags, s.offset, s.addr, s.addr, s.size, s.size, align))
    return out
