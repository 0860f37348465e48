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


def link_code_object(text: bytes, kernels: Sequence[LinkedKernel], metadata: Mapping,
                     target: str = "gfx1100") -> bytes:
    """An HSA code object (ELF64, code object v5 unless the target is generic) holding `text`,
    one descriptor per kernel and `metadata` (the full amdhsa.* map) in its note."""
    if not isinstance(text, (bytes, bytearray)) or not text or len(text) % 4:
        raise CodeObjectError("the .text blob must be non-empty bytes, a whole number of 4-byte words")
    tgt = parse_target(target)
    version = 6 if tgt.generic_version else 5
    if not isinstance(metadata, Mapping):
        raise CodeObjectError("metadata must be a map")
    note_desc = encode_metadata(metadata)
    if metadata.get("amdhsa.target", tgt.target_id) != tgt.target_id:
        raise CodeObjectError(f"metadata target {metadata['amdhsa.target']!r} differs from {tgt.target_id!r}")
    _check_kernels(bytes(text), kernels, metadata)
    text = bytes(text)

    # Symbols: a function symbol at each entry and a descriptor symbol per kernel.
    entries = sorted({k.code_offset for k in kernels}) + [len(text)]
    dynstr = _Strings()
    sym_names = [""]
    sym_specs = []  # (name, section key, value key, size, type)
    for i, k in enumerate(kernels):
        size = k.code_size if k.code_size is not None else entries[entries.index(k.code_offset) + 1] - k.code_offset
        sym_specs.append((k.name, "text", k.code_offset, size, elf.STT_FUNC))
        sym_specs.append((k.name + ".kd", "rodata", i * DESCRIPTOR_SIZE, DESCRIPTOR_SIZE, elf.STT_OBJECT))
    for name, *_ in sym_specs:
        dynstr.add(name)
        sym_names.append(name)

    # Layout, following ld.lld: the read-only segment starts at file offset and address 0.
    phnum = 6
    layout = {}
    offset = elf.EHDR.size + phnum * elf.PHDR.size
    note = _note(elf.AMDGPU_NOTE_NAME, elf.NT_AMDGPU_METADATA, note_desc)
    nsyms = len(sym_names)
    hash_table = _hash_table(sym_names)
    for key, size, align in (("note", len(note), 4), ("dynsym", nsyms * elf.SYM.size, 8),
                             ("hash", len(hash_table), 4), ("dynstr", len(dynstr.data), 1),
                             ("rodata", len(kernels) * DESCRIPTOR_SIZE, DESCRIPTOR_ALIGN)):
        offset = elf.align_up(offset, align)
        layout[key] = (offset, offset)  # (file offset, address)
        offset += size
    ro_end = offset
    text_off = elf.align_up(ro_end, CODE_ALIGN)
    text_addr = elf.align_up(ro_end, PAGE) + text_off % PAGE
    layout["text"] = (text_off, text_addr)
    dyn_entries_count = 6
    dyn_off = elf.align_up(text_off + len(text), 8)
    dyn_addr = elf.align_up(text_addr + len(text), PAGE) + dyn_off % PAGE
    layout["dynamic"] = (dyn_off, dyn_addr)
    dyn_size = dyn_entries_count * elf.DYN.size

    def addr(key):
        return layout[key][1]

    # Descriptors with their code entry offsets.
    rodata = bytearray()
    for k in kernels:
        kd_addr = addr("rodata") + len(rodata)
        rodata += k.descriptor.replace(
            kernel_code_entry_byte_offset=text_addr + k.code_offset - kd_addr).to_bytes()

    section_index = {"note": 1, "dynsym": 2, "hash": 3, "dynstr": 4, "rodata": 5, "text": 6, "dynamic": 7}
    symbols = bytearray(elf.SYM.size)
    for name, key, value, size, st_type in sym_specs:
        symbols += elf.SYM.pack(dynstr.index[name], (elf.STB_GLOBAL << 4) | st_type, elf.STV_PROTECTED,
                                section_index[key], addr(key) + value, size)
    strtab = _Strings()
    static_symbols = bytearray(elf.SYM.size)
    for name, key, value, size, st_type in sym_specs:
        static_symbols += elf.SYM.pack(strtab.add(name), (elf.STB_GLOBAL << 4) | st_type, elf.STV_PROTECTED,
                                       section_index[key], addr(key) + value, size)
    dynamic = b"".join(elf.DYN.pack(tag, value) for tag, value in (
        (elf.DT_SYMTAB, addr("dynsym")), (elf.DT_SYMENT, elf.SYM.size), (elf.DT_HASH, addr("hash")),
        (elf.DT_STRTAB, addr("dynstr")), (elf.DT_STRSZ, len(dynstr.data)), (elf.DT_NULL, 0)))

    # Non-allocated sections after the segments, then the section headers.
    shstrtab = _Strings()
    offset = dyn_off + dyn_size
    symtab_off = elf.align_up(offset, 8)
    offset = symtab_off + len(static_symbols)
    names = [".note", ".dynsym", ".hash", ".dynstr", ".rodata", ".text", ".dynamic", ".symtab",
             ".shstrtab", ".strtab"]
    for n in names:
        shstrtab.add(n)
    shstrtab_off = offset
    offset += len(shstrtab.data)
    strtab_off = offset
    offset += len(strtab.data)
    shoff = elf.align_up(offset, 8)

    ro_size = layout["rodata"][0] + len(rodata)
    sections = [
        (0, elf.SHT_NULL, 0, 0, 0, 0, 0, 0, 0, 0),
        (shstrtab.index[".note"], elf.SHT_NOTE, elf.SHF_ALLOC, addr("note"), layout["note"][0], len(note), 0, 0, 4, 0),
        (shstrtab.index[".dynsym"], elf.SHT_DYNSYM, elf.SHF_ALLOC, addr("dynsym"), layout["dynsym"][0],
         len(symbols), 4, 1, 8, elf.SYM.size),
        (shstrtab.index[".hash"], elf.SHT_HASH, elf.SHF_ALLOC, addr("hash"), layout["hash"][0], len(hash_table),
         2, 0, 4, 4),
        (shstrtab.index[".dynstr"], elf.SHT_STRTAB, elf.SHF_ALLOC, addr("dynstr"), layout["dynstr"][0],
         len(dynstr.data), 0, 0, 1, 0),
        (shstrtab.index[".rodata"], elf.SHT_PROGBITS, elf.SHF_ALLOC, addr("rodata"), layout["rodata"][0],
         len(rodata), 0, 0, DESCRIPTOR_ALIGN, 0),
        (shstrtab.index[".text"], elf.SHT_PROGBITS, elf.SHF_ALLOC | elf.SHF_EXECINSTR, text_addr, text_off,
         len(text), 0, 0, CODE_ALIGN, 0),
        (shstrtab.index[".dynamic"], elf.SHT_DYNAMIC, elf.SHF_ALLOC | elf.SHF_WRITE, dyn_addr, dyn_off, dyn_size,
         4, 0, 8, elf.DYN.size),
        (shstrtab.index[".symtab"], elf.SHT_SYMTAB, 0, 0, symtab_off, len(static_symbols), 10, 1, 8, elf.SYM.size),
        (shstrtab.index[".shstrtab"], elf.SHT_STRTAB, 0, 0, shstrtab_off, len(shstrtab.data), 0, 0, 1, 0),
        (shstrtab.index[".strtab"], elf.SHT_STRTAB, 0, 0, strtab_off, len(strtab.data), 0, 0, 1, 0),
    ]
    phdrs = [
        (elf.PT_PHDR, elf.PF_R, elf.EHDR.size, elf.EHDR.size, phnum * elf.PHDR.size, phnum * elf.PHDR.size, 8),
        (elf.PT_LOAD, elf.PF_R, 0, 0, ro_size, ro_size, PAGE),
        (elf.PT_LOAD, elf.PF_R | elf.PF_X, text_off, text_addr, len(text), len(text), PAGE),
        (elf.PT_LOAD, elf.PF_R | elf.PF_W, dyn_off, dyn_addr, dyn_size, dyn_size, PAGE),
        (elf.PT_DYNAMIC, elf.PF_R | elf.PF_W, dyn_off, dyn_addr, dyn_size, dyn_size, 8),
        (elf.PT_NOTE, elf.PF_R, layout["note"][0], addr("note"), len(note), len(note), 4),
    ]
    ident = (elf.ELF_MAGIC + bytes([elf.ELFCLASS64, elf.ELFDATA2LSB, elf.EV_CURRENT, elf.ELFOSABI_AMDGPU_HSA,
                                    elf.ABI_VERSION_BY_CODE_OBJECT[version]])).ljust(16, b"\0")
    header = elf.EHDR.pack(ident, elf.ET_DYN, elf.EM_AMDGPU, elf.EV_CURRENT, 0, elf.EHDR.size, shoff,
                           tgt.e_flags(), elf.EHDR.size, elf.PHDR.size, phnum, elf.SHDR.size, len(sections),
                           names.index(".shstrtab") + 1)

    out = bytearray(shoff + len(sections) * elf.SHDR.size)

    def put(at: int, blob: bytes) -> None:
        out[at:at + len(blob)] = blob

    put(0, header)
    for i, (p_type, flags, off, vaddr, filesz, memsz, align) in enumerate(phdrs):
        put(elf.EHDR.size + i * elf.PHDR.size, elf.PHDR.pack(p_type, flags, off, vaddr, vaddr, filesz, memsz, align))
    put(layout["note"][0], note)
    put(layout["dynsym"][0], symbols)
    put(layout["hash"][0], hash_table)
    put(layout["dynstr"][0], dynstr.data)
    put(layout["rodata"][0], rodata)
    put(text_off, text)
    put(dyn_off, dynamic)
    put(symtab_off, static_symbols)
    put(shstrtab_off, shstrtab.data)
    put(strtab_off, strtab.data)
    for i, s in enumerate(sections):
        put(shoff + i * elf.SHDR.size, elf.SHDR.pack(*s))
    return bytes(out)
