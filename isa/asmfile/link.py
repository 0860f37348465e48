"""Linking one assembled file into an HSA code object, laid out as `ld.lld -shared` lays it out.

The layout follows the linker's rules so that a file gives the same addresses (and so the same
PC-relative literals and descriptor offsets) here as through llvm-mc and ld.lld:

    PT_LOAD R    .note .dynsym .gnu.hash .hash .dynstr [.rela.dyn] read-only sections (.rodata)
    PT_LOAD R+X  .text
    PT_LOAD R+W  [.data.rel.ro] .dynamic [.got] .relro_padding      (the RELRO segment)
    PT_LOAD R+W  [.data] [.bss]

Each PT_LOAD begins on a new page of the address space at the address congruent to the end of
the one before (modulo the page), so no file padding is needed; the RELRO segment is padded to a
page end. Symbols of default visibility stay preemptible: addresses stored in data become
R_AMDGPU_RELATIVE64 relocations, or R_AMDGPU_ABS64 ones against a preemptible or undefined symbol.
"""

from dataclasses import dataclass, field

from isa.asmfile.elftables import (
    StringTable,
    gnu_hash,
    gnu_hash_table,
    next_power_of_two,
    note_section,
    sysv_hash,
)
from isa.asmfile.fixups import Evaluator, constant_bytes, split_variant
from isa.asmfile.objfile import ObjectFile, Symbol
from isa.codeobj import elf
from isa.codeobj.elf import align_up
from isa.codeobj.targets import Target
from isa.codeobj.writer import encode_metadata
from isa.errors import AsmError, DirectiveError

PAGE = 0x1000
SHT_GNU_HASH = 0x6FFFFFF6
DT_GNU_HASH = 0x6FFFFEF5
PT_GNU_RELRO = 0x6474E552
SHF_MERGE = 0x10
SHF_STRINGS = 0x20
ENTRY_OFFSET_FIELD = 16  # kernel_code_entry_byte_offset inside a descriptor

# Output section of an input section name, by ld.lld's prefix rules (longest prefix first).
_OUTPUT_PREFIXES = ('.text', '.rodata', '.data.rel.ro', '.data', '.bss')
_RELRO_NAMES = ('.data.rel.ro', '.bss.rel.ro')
_SEG_R, _SEG_RX, _SEG_RELRO, _SEG_RW = range(4)
_SEGMENT_FLAGS = {_SEG_R: elf.PF_R, _SEG_RX: elf.PF_R | elf.PF_X, _SEG_RELRO: elf.PF_R | elf.PF_W,
                  _SEG_RW: elf.PF_R | elf.PF_W}


@dataclass
class OutSection:
    name: str
    type: int
    flags: int
    align: int
    segment: int | None
    size: int = 0
    data: bytearray = field(default_factory=bytearray)
    link: str = ''
    info: int = 0
    entsize: int = 0
    addr: int = 0
    offset: int = 0
    inputs: list = field(default_factory=list)  # (input section name, offset inside this one)

    @property
    def nobits(self) -> bool:
        return self.type == elf.SHT_NOBITS


@dataclass(frozen=True)
class DynReloc:
    offset: int
    type: int
    symbol: str | None
    addend: int


def output_name(name: str) -> str:
    for prefix in _OUTPUT_PREFIXES:
        if name == prefix or name.startswith(prefix + '.'):
            return prefix
    return name


class Linker:
    def __init__(self, obj: ObjectFile, target: Target, version: int, metadata: dict):
        self.obj = obj
        self.target = target
        self.version = version
        self.metadata = metadata
        self.outs: dict[str, OutSection] = {}
        self.placed: dict[str, tuple[OutSection, int]] = {}  # input section -> (output, offset)
        self.got_slots: dict[str, int] = {}
        self._resolving: set[str] = set()  # .set aliases being evaluated (to catch cycles)

    # -- symbols -------------------------------------------------------------------------------
    def sym(self, name) -> Symbol | None:
        return self.obj.symbols.get(name)

    def is_local(self, s: Symbol) -> bool:
        return s.binding == elf.STB_LOCAL or s.visibility == elf.STV_HIDDEN

    def preemptible(self, name) -> bool:
        s = self.sym(name)
        if s is None or not s.defined:
            return s is None or not s.name.startswith('.L')
        return s.section in self.placed and s.binding != elf.STB_LOCAL and s.visibility == elf.STV_DEFAULT

    def address(self, name):
        """The image address of a symbol of the code object; None for one that is not loaded."""
        s = self.sym(name)
        if s is None:
            return None
        if s.section is not None:
            placed = self.placed.get(s.section)
            if placed is None:
                return None
            out, off = placed
            return out.addr + off + s.offset
        if s.value is not None and not isinstance(s.value, int):
            return self._alias(s)
        return None

    def absolute(self, name):
        s = self.sym(name)
        if s is not None and isinstance(s.value, int) and s.section is None:
            return s.value
        return None

    def _alias(self, s: Symbol):
        """A `.set` symbol whose value names labels: its value at the final layout."""
        if s.name in self._resolving:
            line, col, raw = s.value_at
            raise AsmError(f"cyclic dependency in the definition of '{s.name}'", line, col, raw)
        self._resolving.add(s.name)
        try:
            line, col, raw = s.value_at
            value = self.evaluator().linear(s.value, 0, line, col, raw)
        finally:
            self._resolving.discard(s.name)
        if set(value.terms) - {'base'} or value.half:
            raise AsmError(f"'{s.name}' must be a constant or an address in this code object", line, col, raw)
        return value.constant

    def evaluator(self) -> Evaluator:
        return Evaluator(self.address, self.absolute, self.preemptible, self.got_slots)

    # -- the steps -----------------------------------------------------------------------------
    def link(self) -> bytes:
        self._place_inputs()
        self._plan_dynamic()
        self._layout()
        self._apply_fixups()
        self._check_kernels()
        self._write_descriptors()
        return self._write()

    def _place_inputs(self):
        order = []
        for sec in self.obj.sections.values():
            if not sec.alloc or not sec.data:
                continue
            name = output_name(sec.name)
            out = self.outs.get(name)
            if out is None:
                if 'x' in sec.flags:
                    segment = _SEG_RX
                elif 'w' in sec.flags:
                    segment = _SEG_RELRO if name in _RELRO_NAMES else _SEG_RW
                else:
                    segment = _SEG_R
                out = OutSection(name, elf.SHT_NOBITS if sec.nobits else elf.SHT_PROGBITS, 0, 1, segment)
                self.outs[name] = out
                order.append(out)
            out.flags |= elf.SHF_ALLOC | (elf.SHF_WRITE if 'w' in sec.flags else 0) | \
                (elf.SHF_EXECINSTR if 'x' in sec.flags else 0)
            if not sec.nobits:
                out.type = elf.SHT_PROGBITS
            offset = align_up(out.size, sec.align)
            out.data += bytes(offset - len(out.data)) + sec.data
            out.size = len(out.data)
            out.align = max(out.align, sec.align)
            out.inputs.append((sec.name, offset))
            self.placed[sec.name] = (out, offset)
        self.input_order = order

    def _check_kernels(self):
        if not self.obj.kernels:
            raise DirectiveError("no .amdhsa_kernel block: a code object needs at least one kernel", 1, 1)
        for k in self.obj.kernels:
            code = self.sym(k.kernel.name)
            if code is None or code.section is None:
                raise DirectiveError(f"kernel {k.kernel.name!r} has a descriptor but its code label is not "
                                     "defined", k.line, 1)
            if code.section not in self.placed:
                raise DirectiveError(f"the code of kernel {k.kernel.name!r} is not in an allocated section",
                                     k.line, 1)
            if k.section not in self.placed:
                raise DirectiveError(f"the descriptor of kernel {k.kernel.name!r} is not in an allocated "
                                     "section", k.line, 1)
            # what the hardware needs (llvm-mc does not check): put .p2align 8 before the label
            if self.address(k.kernel.name) % 256:
                raise DirectiveError(f"the code of kernel {k.kernel.name!r} is not 256-byte aligned "
                                     f"(add .p2align 8 before its label)", k.line, 1)
            kd_address = self.address(k.kernel.name + '.kd')
            if kd_address % 64:
                raise DirectiveError(f"the descriptor of kernel {k.kernel.name!r} is not 64-byte aligned "
                                     f"(add .p2align 6 before .amdhsa_kernel)", k.line, 1)

    def _plan_dynamic(self):
        """GOT slots, dynamic relocations (their count fixes section sizes) and the dynamic
        symbol table, before any address is known."""
        self.got_names: list[str] = []
        for f in self.obj.fixups:
            for name in f.expr.symbols():
                base, variant = split_variant(name)
                if variant and variant.startswith('gotpcrel') and base not in self.got_names:
                    self.got_names.append(base)
        self.got_slots = {name: 0 for name in self.got_names}
        # The relocation kinds are known now: probe with a provisional layout.
        self._provisional_layout()
        self.data_relocs = []  # (fixup, symbol or None)
        ev = self.evaluator()
        for f in self.obj.fixups:
            if f.section not in self.placed:
                continue
            if f.kind == 'br':
                continue
            value = ev.linear(f.expr, self._field_address(f), f.line, f.column, f.source, f.kind == 'lit')
            if not value.terms:
                continue
            if len(value.terms) > 1 or next(iter(value.terms.values())) != 1 or value.half is not None:
                raise AsmError("expression is not a constant plus one address", f.line, f.column, f.source)
            (unknown,) = value.terms
            if f.kind == 'lit':
                if unknown != 'base' and not self._defined(unknown):
                    raise AsmError(f"undefined symbol '{unknown}'", f.line, f.column, f.source)
                raise AsmError("code cannot hold an absolute address in a shared code object; use "
                               "sym@rel32@lo / sym@rel32@hi after s_getpc_b64", f.line, f.column, f.source)
            if f.size != 8:
                raise AsmError(f"an address needs 8 bytes of data (a dynamic relocation), not {f.size}",
                               f.line, f.column, f.source)
            self.data_relocs.append((f, None if unknown == 'base' else unknown))
        # dynamic symbols: exported definitions and the undefined names the loader must supply
        dyn = []
        referenced = {s for _, s in self.data_relocs if s} | {n for n in self.got_names if self.preemptible(n)}
        for s in sorted(self.obj.symbols.values(), key=lambda s: s.order):
            if s.section is not None:
                if s.section in self.placed and not self.is_local(s):
                    dyn.append(s.name)
            elif s.value is None and (s.name in referenced or (s.binding_set and s.binding != elf.STB_LOCAL)):
                if s.name.startswith('.L'):
                    continue
                dyn.append(s.name)
        for name in referenced:
            if name not in self.obj.symbols:
                dyn.append(name)
        self.dynstr_order = dyn
        undefined = [n for n in dyn if not self._defined(n)]
        defined = [n for n in dyn if self._defined(n)]
        self.gnu_buckets = max(len(defined) // 4, 1)
        defined.sort(key=lambda n: gnu_hash(n.encode()) % self.gnu_buckets)
        self.dynsyms = undefined + defined
        self.dyn_index = {n: i + 1 for i, n in enumerate(self.dynsyms)}
        self.n_relocs = len(self.data_relocs) + len(self.got_names)

    def _defined(self, name) -> bool:
        s = self.sym(name)
        return s is not None and s.section is not None

    def _field_address(self, f) -> int:
        out, off = self.placed[f.section]
        return out.addr + off + f.offset

    def _provisional_layout(self):
        for i, out in enumerate(self.input_order):
            out.addr = (i + 1) << 32

    # -- layout --------------------------------------------------------------------------------
    def _synthetic(self):
        o = self.outs
        meta = encode_metadata(self.metadata)
        note = note_section(elf.AMDGPU_NOTE_NAME, elf.NT_AMDGPU_METADATA, meta)
        nsyms = len(self.dynsyms) + 1
        hashed = nsyms - 1 - sum(1 for n in self.dynsyms if not self._defined(n))
        mask_words = next_power_of_two(hashed * 12 // 64) if hashed else 1
        self.gnu_mask_words = mask_words
        dynstr = StringTable()
        for n in self.dynstr_order:
            dynstr.add(n)
        self.dynstr = dynstr
        nrelative = sum(1 for _, s in self.data_relocs if s is None) + \
            sum(1 for n in self.got_names if not self.preemptible(n))
        self.n_relative = nrelative
        dyn_tags = []
        if self.n_relocs:
            dyn_tags += [elf.DT_RELA, elf.DT_RELASZ, elf.DT_RELAENT] + ([elf.DT_RELACOUNT] if nrelative else [])
        dyn_tags += [elf.DT_SYMTAB, elf.DT_SYMENT, elf.DT_STRTAB, elf.DT_STRSZ, DT_GNU_HASH, elf.DT_HASH, elf.DT_NULL]
        self.dyn_tags = dyn_tags
        synth = {
            '.note': OutSection('.note', elf.SHT_NOTE, elf.SHF_ALLOC, 4, _SEG_R, len(note), bytearray(note)),
            '.dynsym': OutSection('.dynsym', elf.SHT_DYNSYM, elf.SHF_ALLOC, 8, _SEG_R, nsyms * elf.SYM.size,
                                  link='.dynstr', info=1, entsize=elf.SYM.size),
            '.gnu.hash': OutSection('.gnu.hash', SHT_GNU_HASH, elf.SHF_ALLOC, 8, _SEG_R,
                                    16 + 8 * mask_words + 4 * self.gnu_buckets + 4 * hashed, link='.dynsym'),
            '.hash': OutSection('.hash', elf.SHT_HASH, elf.SHF_ALLOC, 4, _SEG_R, 4 * (2 + 2 * nsyms),
                                link='.dynsym', entsize=4),
            '.dynstr': OutSection('.dynstr', elf.SHT_STRTAB, elf.SHF_ALLOC, 1, _SEG_R, len(dynstr.data),
                                  bytearray(dynstr.data)),
            '.rela.dyn': OutSection('.rela.dyn', elf.SHT_RELA, elf.SHF_ALLOC, 8, _SEG_R,
                                    self.n_relocs * elf.RELA.size, link='.dynsym', entsize=elf.RELA.size),
            '.dynamic': OutSection('.dynamic', elf.SHT_DYNAMIC, elf.SHF_ALLOC | elf.SHF_WRITE, 8, _SEG_RELRO,
                                   len(dyn_tags) * elf.DYN.size, link='.dynstr', entsize=elf.DYN.size),
            '.got': OutSection('.got', elf.SHT_PROGBITS, elf.SHF_ALLOC | elf.SHF_WRITE, 8, _SEG_RELRO,
                               8 * len(self.got_names)),
        }
        for s in synth.values():
            if not s.data:
                s.data = bytearray(s.size)
        self.synth = synth
        inputs = self.input_order
        alloc = [synth['.note'], synth['.dynsym'], synth['.gnu.hash'], synth['.hash'], synth['.dynstr']]
        if self.n_relocs:
            alloc.append(synth['.rela.dyn'])
        alloc += [s for s in inputs if s.segment == _SEG_R]
        alloc += [s for s in inputs if s.segment == _SEG_RX]
        alloc += [s for s in inputs if s.segment == _SEG_RELRO]
        alloc.append(synth['.dynamic'])
        if self.got_names:
            alloc.append(synth['.got'])
        rw = [s for s in inputs if s.segment == _SEG_RW]
        alloc += [s for s in rw if not s.nobits] + [s for s in rw if s.nobits]
        o.update(synth)
        return alloc

    def _layout(self):
        alloc = self._synthetic()
        segments = [seg for seg in (_SEG_R, _SEG_RX, _SEG_RELRO, _SEG_RW) if any(s.segment == seg for s in alloc)]
        self.nphdrs = 1 + len(segments) + 4  # PHDR, loads, DYNAMIC, GNU_RELRO, GNU_STACK, NOTE
        offset = elf.EHDR.size + self.nphdrs * elf.PHDR.size
        addr = offset
        first = None
        placed = []
        for seg in segments:
            members = [s for s in alloc if s.segment == seg]
            for i, s in enumerate(members):
                if i == 0 and seg != _SEG_R:
                    addr = align_up(addr, PAGE) + addr % PAGE
                addr = align_up(addr, s.align)
                if i == 0:
                    first = s
                    offset += (addr - offset) % PAGE
                    s.offset = offset
                else:
                    s.offset = first.offset + (addr - first.addr)
                s.addr = addr
                addr += s.size
                if not s.nobits:
                    offset = s.offset + s.size
                placed.append(s)
            if seg == _SEG_RELRO:
                pad = align_up(addr, PAGE) - addr
                if pad:
                    padding = OutSection('.relro_padding', elf.SHT_NOBITS, elf.SHF_ALLOC | elf.SHF_WRITE, 1,
                                         _SEG_RELRO, pad)
                    padding.addr, padding.offset = addr, first.offset + (addr - first.addr)
                    placed.append(padding)
                    self.outs['.relro_padding'] = padding
        self.alloc = placed
        self.file_end = offset
        got = self.outs['.got']
        self.got_slots = {n: got.addr + 8 * i for i, n in enumerate(self.got_names)}

    # -- contents ------------------------------------------------------------------------------
    def _apply_fixups(self):
        ev = self.evaluator()
        self.relocs: list[DynReloc] = []
        reloc_fixups = {id(f): s for f, s in self.data_relocs}
        for f in self.obj.fixups:
            placed = self.placed.get(f.section)
            if placed is None:
                continue
            out, off = placed
            at = off + f.offset
            field_at = out.addr + at
            if f.kind == 'br':
                self._branch(f, out, off)
                continue
            value = ev.linear(f.expr, field_at, f.line, f.column, f.source, f.kind == 'lit')
            if id(f) in reloc_fixups:
                sym = reloc_fixups[id(f)]
                if sym is None:
                    self.relocs.append(DynReloc(field_at, elf.R_AMDGPU_RELATIVE64, None, value.constant))
                else:
                    self.relocs.append(DynReloc(field_at, elf.R_AMDGPU_ABS64, sym, value.constant))
                continue  # the loader writes the value; the file holds zero, as ld.lld leaves it
            out.data[at:at + f.size] = constant_bytes(value, f.size, f.line, f.column, f.source)
        for name in self.got_names:
            slot = self.got_slots[name]
            if self.preemptible(name):
                self.relocs.append(DynReloc(slot, elf.R_AMDGPU_ABS64, name, 0))
            else:
                self.relocs.append(DynReloc(slot, elf.R_AMDGPU_RELATIVE64, None, self.address(name)))
        relative = sorted((r for r in self.relocs if r.type == elf.R_AMDGPU_RELATIVE64), key=lambda r: r.offset)
        other = sorted((r for r in self.relocs if r.type != elf.R_AMDGPU_RELATIVE64),
                       key=lambda r: (self.dyn_index[r.symbol], r.offset))
        self.relocs = relative + other

    def _branch(self, f, out, off):
        names = list(f.expr.symbols())
        labels = [n for n in names if self.absolute(n) is None]
        if not labels:
            try:
                value = f.expr.evaluate(self.absolute)
            except AsmError as e:
                raise AsmError(e.message, f.line, f.column, f.source) from None
        else:
            for n in labels:
                if self.address(n) is None:
                    raise AsmError(f"undefined label '{n}'", f.line, f.column, f.source)
            try:
                target = f.expr.evaluate(lambda n: self.absolute(n) if self.absolute(n) is not None
                                         else self.address(n))
            except AsmError as e:
                raise AsmError(e.message, f.line, f.column, f.source) from None
            delta = target - (out.addr + off + f.inst_offset + 4)
            if delta % 4:
                raise AsmError("branch target is not aligned", f.line, f.column, f.source)
            value = delta // 4
        if not -0x8000 <= value <= 0x7FFF:
            raise AsmError("branch target out of range", f.line, f.column, f.source)
        at = off + f.offset
        out.data[at:at + 2] = (value & 0xFFFF).to_bytes(2, 'little')

    def _write_descriptors(self):
        for k in self.obj.kernels:
            out, off = self.placed[k.section]
            at = off + k.offset
            entry = self.address(k.kernel.name) - (out.addr + at)
            out.data[at + ENTRY_OFFSET_FIELD:at + ENTRY_OFFSET_FIELD + 8] = entry.to_bytes(8, 'little', signed=True)

    def _symbol_entry(self, s: Symbol | None, name: str, strings, index: dict[str, int], local: bool) -> bytes:
        if s is None or s.section is None and not isinstance(s.value, int):
            binding = elf.STB_WEAK if s is not None and s.binding == elf.STB_WEAK else elf.STB_GLOBAL
            vis = s.visibility if s is not None else elf.STV_DEFAULT
            return elf.SYM.pack(strings.add(name), (binding << 4) | (s.type if s else 0), vis, elf.SHN_UNDEF, 0, 0)
        if s.section is None:
            shndx, value = elf.SHN_ABS, s.value & ((1 << 64) - 1)
        else:
            out = self.placed.get(s.section)
            shndx = index[out[0].name] if out else elf.SHN_ABS
            value = self.address(name)
        binding = elf.STB_LOCAL if local else s.binding
        return elf.SYM.pack(strings.add(name), (binding << 4) | s.type, s.visibility, shndx, value,
                            self._size(s))

    def _size(self, s: Symbol) -> int:
        if s.size is None:
            return 0
        line, col, raw = s.size_at
        value = self.evaluator().linear(s.size, 0, line, col, raw)
        if value.terms or value.half:
            raise AsmError(f"the size of '{s.name}' must be a constant", line, col, raw)
        return value.constant & ((1 << 64) - 1)

    def _write(self) -> bytes:
        o = self.outs
        index = {s.name: i + 1 for i, s in enumerate(self.alloc)}
        # .dynsym, .hash, .gnu.hash
        dynsym = bytearray(elf.SYM.size)
        for name in self.dynsyms:
            dynsym += self._symbol_entry(self.sym(name), name, self.dynstr, index, False)
        o['.dynsym'].data = dynsym
        o['.hash'].data = bytearray(sysv_hash([''] + self.dynsyms))
        undefined = sum(1 for n in self.dynsyms if not self._defined(n))
        o['.gnu.hash'].data = bytearray(gnu_hash_table(self.dynsyms, undefined, self.gnu_buckets,
                                                        self.gnu_mask_words))
        o['.rela.dyn'].data = bytearray(b''.join(
            elf.RELA.pack(r.offset, (self.dyn_index[r.symbol] << 32 if r.symbol else 0) | r.type, r.addend)
            for r in self.relocs))
        values = {elf.DT_RELA: o['.rela.dyn'].addr, elf.DT_RELASZ: o['.rela.dyn'].size,
                  elf.DT_RELAENT: elf.RELA.size, elf.DT_RELACOUNT: self.n_relative,
                  elf.DT_SYMTAB: o['.dynsym'].addr, elf.DT_SYMENT: elf.SYM.size, elf.DT_STRTAB: o['.dynstr'].addr,
                  elf.DT_STRSZ: len(self.dynstr.data), DT_GNU_HASH: o['.gnu.hash'].addr, elf.DT_HASH: o['.hash'].addr,
                  elf.DT_NULL: 0}
        o['.dynamic'].data = bytearray(b''.join(elf.DYN.pack(t, values[t]) for t in self.dyn_tags))

        # non-allocated sections: .comment, .symtab, .shstrtab, .strtab
        extra = []
        if self.obj.idents:
            seen = []
            for text in self.obj.idents:
                if text not in seen:
                    seen.append(text)
            comment = b'\0' + b''.join(t.encode() + b'\0' for t in seen)
            extra.append(OutSection('.comment', elf.SHT_PROGBITS, SHF_MERGE | SHF_STRINGS, 1, None, len(comment),
                                    bytearray(comment), entsize=1))
        strtab = StringTable()
        all_index = dict(index)
        symtab = bytearray(elf.SYM.size)
        ordered = sorted(self.obj.symbols.values(), key=lambda s: s.order)
        local = [s for s in ordered if not s.name.startswith('.L') and s.defined and self.is_local(s)
                 and (s.section is None or s.section in self.placed)]
        globl = [n for n in self.dynstr_order]
        for s in local:
            if s.section is None and not isinstance(s.value, int):
                continue
            symtab += self._symbol_entry(s, s.name, strtab, all_index, True)
        dynamic = o['.dynamic']
        symtab += elf.SYM.pack(strtab.add('_DYNAMIC'), elf.STB_LOCAL << 4, elf.STV_HIDDEN, index['.dynamic'],
                               dynamic.addr, 0)
        first_global = len(symtab) // elf.SYM.size
        for name in globl:
            symtab += self._symbol_entry(self.sym(name), name, strtab, all_index, False)
        extra.append(OutSection('.symtab', elf.SHT_SYMTAB, 0, 8, None, len(symtab), symtab, link='.strtab',
                                info=first_global, entsize=elf.SYM.size))
        shstrtab = StringTable()
        extra.append(OutSection('.shstrtab', elf.SHT_STRTAB, 0, 1, None))
        extra.append(OutSection('.strtab', elf.SHT_STRTAB, 0, 1, None, len(strtab.data), bytearray(strtab.data)))
        sections = self.alloc + extra
        for s in sections:
            shstrtab.add(s.name)
        extra[-2].data = bytearray(shstrtab.data)
        extra[-2].size = len(shstrtab.data)
        index = {s.name: i + 1 for i, s in enumerate(sections)}
        offset = self.file_end
        for s in extra:
            offset = align_up(offset, s.align)
            s.offset = offset
            offset += s.size
        shoff = align_up(offset, 8)

        out = bytearray(shoff + (len(sections) + 1) * elf.SHDR.size)
        ident = (elf.ELF_MAGIC + bytes([elf.ELFCLASS64, elf.ELFDATA2LSB, elf.EV_CURRENT, elf.ELFOSABI_AMDGPU_HSA,
                                        elf.ABI_VERSION_BY_CODE_OBJECT[self.version]])).ljust(16, b'\0')
        out[:elf.EHDR.size] = elf.EHDR.pack(ident, elf.ET_DYN, elf.EM_AMDGPU, elf.EV_CURRENT, 0, elf.EHDR.size,
                                            shoff, self.target.e_flags(), elf.EHDR.size, elf.PHDR.size,
                                            self.nphdrs, elf.SHDR.size, len(sections) + 1, index['.shstrtab'])
        for i, ph in enumerate(self._program_headers()):
            elf.PHDR.pack_into(out, elf.EHDR.size + i * elf.PHDR.size, *ph)
        for i, s in enumerate(sections, start=1):
            if not s.nobits:
                out[s.offset:s.offset + s.size] = bytes(s.data[:s.size]).ljust(s.size, b'\0')
            elf.SHDR.pack_into(out, shoff + i * elf.SHDR.size, shstrtab.index[s.name], s.type, s.flags, s.addr,
                               s.offset, s.size, index.get(s.link, 0), s.info, s.align, s.entsize)
        return bytes(out)

    def _program_headers(self) -> list[tuple]:
        """(type, flags, offset, vaddr, paddr, filesz, memsz, align) of each program header."""
        table = self.nphdrs * elf.PHDR.size
        out = [(elf.PT_PHDR, elf.PF_R, elf.EHDR.size, elf.EHDR.size, elf.EHDR.size, table, table, 8)]
        relro = None
        for seg in (_SEG_R, _SEG_RX, _SEG_RELRO, _SEG_RW):
            members = [s for s in self.alloc if s.segment == seg]
            if not members:
                continue
            start_off, start_addr = (0, 0) if seg == _SEG_R else (members[0].offset, members[0].addr)
            with_file = [s for s in members if not s.nobits]
            filesz = (with_file[-1].offset + with_file[-1].size - start_off) if with_file else 0
            memsz = members[-1].addr + members[-1].size - start_addr
            out.append((elf.PT_LOAD, _SEGMENT_FLAGS[seg], start_off, start_addr, start_addr, filesz, memsz, PAGE))
            if seg == _SEG_RELRO:
                relro = (start_off, start_addr, filesz, memsz)
        dynamic, note = self.outs['.dynamic'], self.outs['.note']
        out.append((elf.PT_DYNAMIC, elf.PF_R | elf.PF_W, dynamic.offset, dynamic.addr, dynamic.addr, dynamic.size,
                    dynamic.size, 8))
        out.append((PT_GNU_RELRO, elf.PF_R, relro[0], relro[1], relro[1], relro[2], relro[3], 1))
        out.append((elf.PT_GNU_STACK, elf.PF_R | elf.PF_W, 0, 0, 0, 0, 0, 0))
        out.append((elf.PT_NOTE, elf.PF_R, note.offset, note.addr, note.addr, note.size, note.size, 4))
        return out


def link_object(obj: ObjectFile, target: Target, version: int, metadata: dict) -> bytes:
    return Linker(obj, target, version, metadata).link()
