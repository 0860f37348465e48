"""Reading a whole assembly file into an ObjectFile.

This is the assembler half of `assemble_code_object`: it does what `llvm-mc -filetype=obj`
does with a file (section switching, data and alignment directives, symbol attributes,
`.amdhsa_kernel` and `.amdgpu_metadata` blocks) and hands instructions to `isa.asm.Assembler`.
Addresses are not known here; every value that needs one is recorded as a `Fixup` that
`isa.asmfile.link` resolves once the code object is laid out.
"""

import re

from isa.amdgpu_metadata import parse_amdgpu_metadata
from isa.amdhsa import parse_amdhsa_kernel
from isa.asm import Assembler
from isa.asm.comments import blank_block_comments, strip_comment
from isa.asm.lexer import Expr, ExprParser, tokenize
from isa.asmfile.objfile import DESCRIPTOR_SIZE, Fixup, KernelBlock, ObjectFile, Section, Symbol
from isa.asmfile.text import unquote
from isa.codeobj import elf
from isa.errors import AsmError, DirectiveError

_NAME = r'[A-Za-z_.$][A-Za-z0-9_.$@]*'
_LABEL_RE = re.compile(r'[ \t]*(' + _NAME + r'|"[^"]*")[ \t]*:(?!:)')
_ASSIGN_RE = re.compile(r'[ \t]*(' + _NAME + r')[ \t]*=(?!=)')
_WORD_RE = re.compile(r'[ \t]*(' + _NAME + r')')

_DATA_SIZES = {'.byte': 1, '.short': 2, '.2byte': 2, '.value': 2, '.long': 4, '.int': 4,
               '.4byte': 4, '.quad': 8, '.8byte': 8}
_ALIGN_UNITS = {'.p2align': 1, '.p2alignw': 2, '.p2alignl': 4, '.balign': 1, '.balignw': 2, '.balignl': 4,
                '.align': 1}
_IGNORED = frozenset(('.file', '.loc', '.addrsig', '.addrsig_sym', '.cfi_startproc', '.cfi_endproc',
                      '.cfi_sections', '.end'))
_VISIBILITY = {'.hidden': elf.STV_HIDDEN, '.internal': elf.STV_HIDDEN, '.protected': elf.STV_PROTECTED}
_TYPES = {'function': elf.STT_FUNC, 'object': elf.STT_OBJECT, 'notype': elf.STT_NOTYPE,
          'stt_func': elf.STT_FUNC, 'stt_object': elf.STT_OBJECT, 'stt_notype': elf.STT_NOTYPE}
# Sections the short directives open, with their flags and whether they hold no file data.
_STANDARD_SECTIONS = {'.text': ('ax', False), '.data': ('aw', False), '.bss': ('aw', True),
                      '.rodata': ('a', False), '.data.rel.ro': ('aw', False)}
S_NOP = (0xBF800000).to_bytes(4, 'little')
# Registers an instruction names (v7, s[4:5], v[3]): llvm-mc keeps .amdgcn.next_free_vgpr and
# .amdgcn.next_free_sgpr one past the highest of each it has parsed.
_REGISTER_RE = re.compile(r'\b([vs])(?:(\d+)\b|\[\s*(\d+)\s*(?::\s*(\d+)\s*)?\])')
NEXT_FREE = {'v': '.amdgcn.next_free_vgpr', 's': '.amdgcn.next_free_sgpr'}


class _AnyLabel(dict):
    """Stands for the label table while instructions are encoded: every name that is not an
    absolute symbol counts as a label, so its operand keeps a fixup (and a literal slot, as
    LLVM gives every symbolic operand). Values are never asked for: fixups are resolved after
    the layout, and `looked_up` tells if something tried."""

    def __init__(self, absolute):
        super().__init__()
        self._absolute = absolute
        self.looked_up = False

    def __contains__(self, name):
        return name not in self._absolute

    def __getitem__(self, name):
        self.looked_up = True
        return 0

    def get(self, name, default=None):
        if name in self._absolute:
            return default
        self.looked_up = True
        return 0


class _UnresolvedAssembler(Assembler):
    """The instruction assembler with its end-of-text fixup pass left out: symbol values come
    from the code object's layout, which this file's assembler does not know, so the listing
    keeps each statement's fixup for isa.asmfile.link."""

    def _resolve(self):
        pass


class SourceReader:
    """One pass over the source; `read()` returns the ObjectFile."""

    def __init__(self, text: str):
        self.raw_lines = text.split('\n')
        self.lines = blank_block_comments(text).split('\n')
        self.sections: dict[str, Section] = {}
        self.symbols: dict[str, Symbol] = {}
        self.absolute: dict[str, int] = {name: 0 for name in NEXT_FREE.values()}
        self.fixups: list[Fixup] = []
        self.kernels: list[KernelBlock] = []
        self.metadata = None
        self.metadata_line = 0
        self.target_id = None
        self.target_at = (0, 0)
        self.version = None
        self.version_at = (0, 0)
        self.idents: list[str] = []
        self.stack: list[tuple[str, str | None]] = []  # .pushsection: (current, previous)
        self.previous: str | None = None
        self.current = self._open('.text', 'ax', False)
        self.pending: list[int] = []  # line numbers of instructions not yet encoded

    # -- sections and symbols ------------------------------------------------------------------
    def _open(self, name, flags, nobits) -> str:
        if name not in self.sections:
            self.sections[name] = Section(name, flags, nobits)
        return name

    def _switch(self, name):
        if name != self.current:
            self.previous = self.current
            self.current = name

    @property
    def section(self) -> Section:
        return self.sections[self.current]

    def sym(self, name: str) -> Symbol:
        s = self.symbols.get(name)
        if s is None:
            s = self.symbols[name] = Symbol(name, len(self.symbols))
        return s

    def _mention(self, expr):
        """Create the symbols an expression names (in order), as a first mention does."""
        if isinstance(expr, Expr):
            for name in _names_in_order(expr.node):
                base = name.split('@', 1)[0]
                if base and base != '.':
                    self.sym(base)

    # -- driver --------------------------------------------------------------------------------
    def read(self) -> ObjectFile:
        lines = self.lines
        n = len(lines)
        i = 0
        while i < n:
            lineno = i + 1
            line = strip_comment(lines[i])
            stripped = line.strip()
            if not stripped:
                i += 1
                continue
            if stripped.startswith('.amdhsa_kernel') and re.match(r'\.amdhsa_kernel(\s|$)', stripped):
                i = self._amdhsa_block(i)
                continue
            if stripped == '.amdgpu_metadata':
                i = self._metadata_block(i)
                continue
            try:
                self._statement(line, lineno)
            except AsmError as e:
                if e.line:
                    raise
                raise AsmError(e.message, lineno, e.column, self.raw_lines[i]) from None
            i += 1
        self._flush()
        return ObjectFile(self.sections, self.symbols, self.fixups, self.kernels, self.metadata,
                          self.metadata_line, self.target_id, self.target_at, self.version,
                          self.version_at, self.idents)

    def _statement(self, line: str, lineno: int):
        raw = self.raw_lines[lineno - 1]
        pos = 0
        while True:
            m = _LABEL_RE.match(line, pos)
            if m is None:
                break
            self._flush()
            self._label(m.group(1).strip('"'), lineno, m.start(1) + 1, raw)
            pos = m.end()
        if not line[pos:].strip():
            return
        m = _ASSIGN_RE.match(line, pos)
        if m is not None:
            self._flush()
            self._assign(m.group(1), line, m.end(), lineno, raw, m.start(1) + 1)
            return
        m = _WORD_RE.match(line, pos)
        if m is None:
            raise AsmError("unexpected token at start of statement", lineno, pos + len(line[pos:]) -
                           len(line[pos:].lstrip()) + 1, raw)
        word = m.group(1)
        if word.startswith('.'):
            self._flush()
            self._directive(word.lower(), line, m.end(), lineno, raw, m.start(1) + 1)
            return
        self._count_registers(line[m.end():])
        if pos:
            # an instruction after a label on the same line: encode it on its own
            self._flush()
            self._encode([(lineno, ' ' * pos + line[pos:])], lineno)
            return
        self.pending.append(lineno)

    def _count_registers(self, operands: str):
        for kind, single, first, last in _REGISTER_RE.findall(operands):
            end = int(single or last or first) + 1
            name = NEXT_FREE[kind]
            if end > self.absolute[name]:
                self.absolute[name] = end

    # -- instructions --------------------------------------------------------------------------
    def _flush(self):
        if not self.pending:
            return
        first, last = self.pending[0], self.pending[-1]
        self.pending = []
        self._encode([(k, self.lines[k - 1]) for k in range(first, last + 1)], first)

    def _encode(self, numbered, first):
        """Encode instruction lines (blank and comment lines may sit among them) at the end of the
        current section, recording fixups for operands that name symbols."""
        text = '\n'.join(t for _, t in numbered)
        asm = _UnresolvedAssembler()
        asm.symbols.update(self.absolute)
        asm.labels = labels = _AnyLabel(asm.symbols)
        try:
            asm.assemble(text)
        except AsmError as e:
            if e.message == 'branch target out of range' and len(numbered) > 1:
                # the stand-in label values put a far branch out of reach: encode in halves
                half = len(numbered) // 2
                self._encode(numbered[:half], first)
                self._encode(numbered[half:], numbered[half][0])
                return
            raise AsmError(e.message, e.line + first - 1 if e.line else first, e.column,
                           self.raw_lines[first + e.line - 2] if e.line else e.source_line) from None
        if labels.looked_up:
            raise AsmError("the instruction assembler resolved symbols itself; isa.asmfile needs its "
                           "fixups left in the listing", first, 1, self.raw_lines[first - 1])
        sec = self.section
        base = len(sec.data)
        for st in asm.statements:
            if st.kind != 'inst':
                continue
            if st.fixup is not None:
                kind, expr, at = st.fixup
                lineno = st.line + first - 1
                self._mention(expr)
                raw = self.raw_lines[lineno - 1]
                col = raw.find(st.text.split(None, 1)[0]) + 1 if st.text.strip() else 1
                if kind == 'br':
                    self.fixups.append(Fixup('br', self.current, base + st.offset, 2, expr, lineno, col, raw,
                                             base + st.offset))
                else:
                    self.fixups.append(Fixup('lit', self.current, base + st.offset + at, 4, expr, lineno, col,
                                             raw, base + st.offset))
            sec.data += st.data
        if sec.nobits and any(sec.data[base:]):
            raise AsmError(f"instructions in {sec.name}, a section without file data", first, 1,
                           self.raw_lines[first - 1])

    # -- labels and assignments ----------------------------------------------------------------
    def _label(self, name, lineno, col, raw):
        s = self.sym(name)
        if s.defined:
            raise AsmError(f"invalid symbol redefinition of '{name}'", lineno, col, raw)
        s.section, s.offset, s.line = self.current, len(self.section.data), lineno

    def _assign(self, name, line, start, lineno, raw, col):
        expr = self._expr_list(line, start, lineno, raw, count=1)[0][0]
        self._set(name, expr, lineno, col, raw)

    def _set(self, name, value, lineno, col, raw):
        s = self.sym(name)
        if s.section is not None:
            raise AsmError(f"redefinition of '{name}'", lineno, col, raw)
        if isinstance(value, Expr):
            known = self._absolute_value(value)
            if known is not None:
                value = known
        s.value, s.value_at, s.line = value, (lineno, col, raw), lineno
        if isinstance(value, int):
            self.absolute[name] = value
        else:
            self.absolute.pop(name, None)
            self._mention(value)

    def _absolute_value(self, expr):
        """The value of an expression over absolute symbols and labels already placed in one
        section (their differences are known now), or None when it needs the layout."""
        if _has_dot(expr.node):
            return None
        labels = set()
        for n in expr.symbols():
            if n in self.absolute:
                continue
            s = self.symbols.get(n)
            if s is None or s.section is None:
                return None
            labels.add(s.section)
        if len(labels) > 1:
            return None
        values = []
        for shift in (0, 1 << 40):
            def lookup(n, shift=shift):
                return self.absolute[n] if n in self.absolute else shift + self.symbols[n].offset
            try:
                values.append(expr.evaluate(lookup))
            except AsmError:
                return None
        return values[0] if values[0] == values[1] else None

    # -- expressions ---------------------------------------------------------------------------
    def _expr_list(self, line, start, lineno, raw, count=None):
        """Comma-separated expressions: [(int or Expr, column)]."""
        try:
            toks = tokenize(line[start:], start)
            p = ExprParser(toks)
            out = []
            while p.kind() != 'end':
                col = p.tok[2] + 1
                out.append((p.parse_expr(), col))
                if not p.accept(','):
                    break
            if p.kind() != 'end':
                raise p.error("unexpected token in directive")
        except AsmError as e:
            raise AsmError(e.message, lineno, e.column, raw) from None
        if count is not None and len(out) != count:
            raise AsmError("expected an expression" if len(out) < count else "unexpected token in directive",
                           lineno, len(line.rstrip()) + 1, raw)
        return out

    def _absolute(self, value, lineno, col, raw):
        if isinstance(value, int):
            return value
        known = self._absolute_value(value)
        if known is None:
            raise AsmError("expected absolute expression", lineno, col, raw)
        return known

    # -- directives ----------------------------------------------------------------------------
    def _directive(self, d, line, start, lineno, raw, dcol):
        rest = line[start:]
        if d in _IGNORED or d.startswith('.cfi_'):
            return
        if d in _STANDARD_SECTIONS and not rest.strip():
            flags, nobits = _STANDARD_SECTIONS[d]
            self._switch(self._open(d, flags, nobits))
            return
        if d in ('.section', '.pushsection'):
            name = self._section_directive(rest, start, lineno, raw)
            if d == '.pushsection':
                self.stack.append((self.current, self.previous))
            self._switch(name)
            return
        if d == '.popsection':
            if not self.stack:
                raise AsmError(".popsection without corresponding .pushsection", lineno, dcol, raw)
            self.current, self.previous = self.stack.pop()
            return
        if d == '.previous':
            if self.previous is None:
                raise AsmError(".previous without corresponding .section", lineno, dcol, raw)
            self.current, self.previous = self.previous, self.current
            return
        if d in _DATA_SIZES:
            self._data(_DATA_SIZES[d], line, start, lineno, raw)
            return
        if d in _ALIGN_UNITS:
            self._align(d, line, start, lineno, raw)
            return
        if d in ('.zero', '.space', '.skip'):
            args = self._expr_list(line, start, lineno, raw)
            if not 1 <= len(args) <= 2:
                raise AsmError("expected a size and an optional fill value", lineno, dcol, raw)
            count = self._absolute(args[0][0], lineno, args[0][1], raw)
            fill = self._absolute(args[1][0], lineno, args[1][1], raw) if len(args) > 1 else 0
            if count < 0:
                raise AsmError("invalid number of bytes", lineno, args[0][1], raw)
            self._emit(bytes([fill & 0xFF]) * count, lineno, raw)
            return
        if d == '.fill':
            self._fill(line, start, lineno, raw, dcol)
            return
        if d in ('.ascii', '.asciz', '.string'):
            self._strings(d, line, start, lineno, raw)
            return
        if d in ('.globl', '.global', '.weak', '.local'):
            binding = {'.weak': elf.STB_WEAK, '.local': elf.STB_LOCAL}.get(d, elf.STB_GLOBAL)
            for name in self._names(rest, start, lineno, raw):
                s = self.sym(name)
                s.binding, s.binding_set = binding, True
            return
        if d in _VISIBILITY:
            for name in self._names(rest, start, lineno, raw):
                self.sym(name).visibility = _VISIBILITY[d]
            return
        if d == '.type':
            self._type(rest, start, lineno, raw)
            return
        if d == '.size':
            names = rest.split(',', 1)
            if len(names) != 2 or not re.fullmatch(r'\s*' + _NAME + r'\s*', names[0]):
                raise AsmError("expected a symbol name and a size", lineno, start + 1, raw)
            s = self.sym(names[0].strip())
            value, col = self._expr_list(line, start + len(names[0]) + 1, lineno, raw, count=1)[0]
            s.size, s.size_at = value, (lineno, col, raw)
            self._mention(value)
            return
        if d in ('.set', '.equ', '.equiv'):
            m = re.match(r'\s*(' + _NAME + r')\s*,', rest)
            if m is None:
                raise AsmError("expected identifier", lineno, start + 1, raw)
            value = self._expr_list(line, start + m.end(), lineno, raw, count=1)[0][0]
            name = m.group(1)
            if d == '.equiv' and self.symbols.get(name) is not None and self.symbols[name].defined:
                raise AsmError(f"redefinition of '{name}'", lineno, start + m.start(1) + 1, raw)
            self._set(name, value, lineno, start + m.start(1) + 1, raw)
            return
        if d == '.ident':
            self.idents.append(self._string_arg(rest, start, lineno, raw).decode('utf-8', 'replace'))
            return
        if d == '.amdgcn_target':
            value = self._string_arg(rest, start, lineno, raw).decode('utf-8', 'replace')
            if self.target_id is not None and value != self.target_id:
                raise DirectiveError(f".amdgcn_target {value!r} differs from the earlier {self.target_id!r}",
                                     lineno, dcol)
            self.target_id, self.target_at = value, (lineno, start + len(rest) - len(rest.lstrip()) + 1)
            return
        if d == '.amdhsa_code_object_version':
            value = self._absolute(*self._expr_list(line, start, lineno, raw, count=1)[0], lineno, raw)
            self.version, self.version_at = value, (lineno, dcol)
            return
        if d in ('.end_amdhsa_kernel', '.end_amdgpu_metadata'):
            raise DirectiveError(f"{d} without a block to end", lineno, dcol)
        if d.startswith('.amdhsa_'):
            raise DirectiveError(f"{d} outside an .amdhsa_kernel block", lineno, dcol)
        raise AsmError("unknown directive", lineno, dcol, raw)

    def _names(self, rest, start, lineno, raw):
        names = [n.strip() for n in rest.split(',')]
        for n in names:
            if not re.fullmatch(_NAME, n):
                raise AsmError("expected identifier", lineno, start + 1, raw)
        return names

    def _string_arg(self, rest, start, lineno, raw) -> bytes:
        toks = tokenize(rest, start)
        if toks[0][0] != 'str' or toks[1][0] != 'end':
            raise AsmError("expected string", lineno, toks[0][2] + 1, raw)
        return unquote(toks[0][1], lineno, toks[0][2] + 1, raw)

    def _section_directive(self, rest, start, lineno, raw) -> str:
        m = re.match(r'\s*("[^"]*"|[A-Za-z0-9_.$@\-]+)\s*(?:,\s*"([^"]*)"\s*(?:,\s*[@%](\w+))?.*)?$', rest)
        if m is None:
            raise AsmError("expected section name", lineno, start + 1, raw)
        name = m.group(1).strip('"')
        flags_text, kind = m.group(2), m.group(3)
        if flags_text is None:
            base = next((s for s in _STANDARD_SECTIONS if name == s or name.startswith(s + '.')), None)
            flags, nobits = _STANDARD_SECTIONS[base] if base else ('', False)
            if name.startswith('.rodata'):
                flags, nobits = 'a', False
            if name in self.sections:
                return name
        else:
            unknown = set(flags_text) - set('awxMSGTRoed')
            if unknown:
                raise AsmError(f"unknown flag '{sorted(unknown)[0]}'", lineno, start + m.start(2) + 1, raw)
            flags = ''.join(f for f in 'awx' if f in flags_text)
            nobits = kind == 'nobits'
        sec = self.sections.get(name)
        if sec is not None:
            if flags_text is not None and (sec.flags, sec.nobits) != (flags, nobits):
                raise AsmError(f"changed section flags for {name}", lineno, start + 1, raw)
            return name
        return self._open(name, flags, nobits)

    def _type(self, rest, start, lineno, raw):
        m = re.match(r'\s*(' + _NAME + r')\s*,\s*[@%"]?(\w+)"?\s*$', rest)
        if m is None or m.group(2).lower() not in _TYPES:
            raise AsmError("expected a symbol and a type such as @function or @object", lineno, start + 1, raw)
        self.sym(m.group(1)).type = _TYPES[m.group(2).lower()]

    def _emit(self, data: bytes, lineno, raw):
        sec = self.section
        if sec.nobits and any(data):
            raise AsmError(f"non-zero initializer in {sec.name}, a section without file data", lineno, 1, raw)
        sec.data += data

    def _data(self, size, line, start, lineno, raw):
        sec = self.section
        out = bytearray()
        for value, col in self._expr_list(line, start, lineno, raw):
            if isinstance(value, Expr):
                known = self._absolute_value(value)
                if known is None:
                    if sec.nobits:
                        raise AsmError(f"relocated data in {sec.name}, a section without file data",
                                       lineno, col, raw)
                    self._mention(value)
                    self.fixups.append(Fixup('data', self.current, len(sec.data) + len(out), size, value,
                                             lineno, col, raw))
                    out += bytes(size)
                    continue
                value = known
            check_data(value, size, lineno, col, raw)
            out += (value & ((1 << (8 * size)) - 1)).to_bytes(size, 'little')
        self._emit(bytes(out), lineno, raw)

    def _align(self, d, line, start, lineno, raw):
        # arguments may be left empty (".p2align 4,,8" has no fill value)
        args = []
        pos = start
        for piece in line[start:].split(','):
            if piece.strip() or not args:
                args.append(self._expr_list(line[:pos + len(piece)], pos, lineno, raw, count=1)[0])
            else:
                args.append((None, pos + 1))
            pos += len(piece) + 1
        if not 1 <= len(args) <= 3:
            raise AsmError("expected an alignment, an optional fill value and an optional maximum",
                           lineno, start + 1, raw)
        if len(args) == 3 and args[2][0] is None:
            raise AsmError("unknown token in expression", lineno, len(line) + 1, raw)
        value = self._absolute(args[0][0], lineno, args[0][1], raw)
        if d.startswith('.p2align'):
            if not 0 <= value <= 32:
                raise AsmError("invalid alignment value", lineno, args[0][1], raw)
            align = 1 << value
        else:
            if value <= 0 or value & (value - 1):
                raise AsmError("alignment must be a power of 2", lineno, args[0][1], raw)
            align = value
        unit = _ALIGN_UNITS[d]
        fill = None
        if len(args) > 1 and args[1][0] is not None:
            fill = self._absolute(args[1][0], lineno, args[1][1], raw)
        limit = self._absolute(args[2][0], lineno, args[2][1], raw) if len(args) > 2 else None
        sec = self.section
        pad = (-len(sec.data)) % align
        if limit is not None and pad > limit:
            return
        sec.align = max(sec.align, align)
        if not pad:
            return
        if fill is None:
            if 'x' in sec.flags and len(sec.data) % 4 == 0:
                # code is padded with s_nop 0, as LLVM pads it
                data = bytes(pad % 4) + S_NOP * (pad // 4)
            else:
                data = bytes(pad)
        else:
            mask = (1 << (8 * unit)) - 1
            data = bytes(pad % unit) + (fill & mask).to_bytes(unit, 'little') * (pad // unit)
        self._emit(data, lineno, raw)

    def _fill(self, line, start, lineno, raw, dcol):
        args = self._expr_list(line, start, lineno, raw)
        if not 1 <= len(args) <= 3:
            raise AsmError("expected a count, an optional size and an optional value", lineno, dcol, raw)
        count = self._absolute(args[0][0], lineno, args[0][1], raw)
        size = self._absolute(args[1][0], lineno, args[1][1], raw) if len(args) > 1 else 1
        value = self._absolute(args[2][0], lineno, args[2][1], raw) if len(args) > 2 else 0
        if count < 0:
            raise AsmError("'.fill' directive with negative repeat count has no effect", lineno, args[0][1], raw)
        if not 0 <= size <= 8:
            raise AsmError("invalid '.fill' size, expected 0 to 8", lineno, args[1][1], raw)
        # the pattern is 32 bits wide; bytes past the fourth are zero
        pattern = ((value & 0xFFFFFFFF).to_bytes(4, 'little') + bytes(4))[:size]
        self._emit(pattern * count, lineno, raw)

    def _strings(self, d, line, start, lineno, raw):
        toks = tokenize(line[start:], start)
        out = bytearray()
        k = 0
        while toks[k][0] == 'str':
            out += unquote(toks[k][1], lineno, toks[k][2] + 1, raw) + (b'' if d == '.ascii' else b'\0')
            k += 1
            if toks[k][0] == ',':
                k += 1
        if toks[k][0] != 'end' or k == 0:
            raise AsmError("expected string", lineno, toks[k][2] + 1, raw)
        self._emit(bytes(out), lineno, raw)

    # -- blocks --------------------------------------------------------------------------------
    def _block_end(self, i, end: str, what: str) -> int:
        for j in range(i + 1, len(self.lines)):
            if strip_comment(self.lines[j]).strip() == end:
                return j
        raise DirectiveError(f"missing {end} for the {what} that starts here", i + 1, 1)

    def _amdhsa_block(self, i) -> int:
        self._flush()
        j = self._block_end(i, '.end_amdhsa_kernel', '.amdhsa_kernel block')
        kernel = parse_amdhsa_kernel(self.lines[i:j + 1], i + 1, self.absolute)
        lineno = i + 1
        kd_name = kernel.name + '.kd'
        if kd_name in self.symbols and self.symbols[kd_name].defined:
            raise DirectiveError(f"kernel {kernel.name!r} has a second .amdhsa_kernel block "
                                 f"(or {kd_name!r} is defined elsewhere)", lineno, 1)
        code = self.sym(kernel.name)
        kd = self.sym(kd_name)
        sec = self.section
        kd.section, kd.offset, kd.line = self.current, len(sec.data), lineno
        # As llvm-mc does: the descriptor symbol takes the kernel symbol's binding and
        # visibility, then a kernel of default visibility becomes protected so the descriptor
        # can point at it without a dynamic relocation.
        kd.binding, kd.binding_set, kd.visibility = code.binding, code.binding_set, code.visibility
        kd.type, kd.size = elf.STT_OBJECT, DESCRIPTOR_SIZE
        if code.visibility == elf.STV_DEFAULT:
            code.visibility = elf.STV_PROTECTED
        if sec.nobits:
            raise DirectiveError(f"kernel descriptor in {sec.name}, a section without file data", lineno, 1)
        sec.data += kernel.descriptor.to_bytes()
        self.kernels.append(KernelBlock(kernel, self.current, kd.offset, lineno))
        return j + 1

    def _metadata_block(self, i) -> int:
        self._flush()
        j = self._block_end(i, '.end_amdgpu_metadata', '.amdgpu_metadata block')
        if self.metadata is not None:
            raise DirectiveError(f"a second .amdgpu_metadata block (the first is on line {self.metadata_line})",
                                 i + 1, 1)
        self.metadata = parse_amdgpu_metadata(self.raw_lines[i:j + 1], i + 1)
        self.metadata_line = i + 1
        return j + 1


def check_data(v, size, lineno, col, raw):
    if not -(1 << (8 * size - 1)) <= v < (1 << (8 * size)):
        raise AsmError("out of range literal value", lineno, col, raw)


def _has_dot(node) -> bool:
    if node[0] == 'dot':
        return True
    if node[0] == 'un':
        return _has_dot(node[2])
    if node[0] == 'bin':
        return _has_dot(node[2]) or _has_dot(node[3])
    return False


def _names_in_order(node):
    if node[0] == 'sym':
        yield node[1]
    elif node[0] == 'un':
        yield from _names_in_order(node[2])
    elif node[0] == 'bin':
        yield from _names_in_order(node[2])
        yield from _names_in_order(node[3])


def read_source(text: str) -> ObjectFile:
    return SourceReader(text).read()
