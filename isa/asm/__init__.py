"""The gfx1100 assembler: LLVM AMDGPU assembly text in, machine code out.

    from isa import assemble
    code = assemble("v_add_f32 v1, v2, v3\\ns_endpgm")

`assemble` returns the bytes of the text section, bit for bit what
`llvm-mc -triple=amdgcn-amd-amdhsa -mcpu=gfx1100` encodes (wave32). `Assembler` keeps the
per-statement listing (offsets, encodings, source lines) for tools such as `amdrt asm`.
Every error is an `isa.AsmError` with the line and column of the offending text.
"""

import gc
import itertools
import re
import struct

from isa.asm.comments import blank_block_comments, strip_comment
from isa.asm.encoder import Encoded, encode_instruction, encode_special, parse_special_operands
from isa.asm.lexer import Expr, ExprParser, tokenize
from isa.asm.operand import Imm, Named, operand_items_flagged, parse_operands
from isa.asm.special import PREDEFINED_SYMBOLS
from isa.asm.vopd import encode_vopd
from isa.errors import AsmError

__all__ = ['assemble', 'Assembler', 'Statement']

_LABEL_RE = re.compile(r'\s*([A-Za-z_.$][A-Za-z0-9_.$@]*)\s*:(?!:)')
_ASSIGN_RE = re.compile(r'\s*([A-Za-z_.$][A-Za-z0-9_.$@]*)\s*=(?!=)')
_MNEMONIC_RE = re.compile(r'\s*([A-Za-z_.$][A-Za-z0-9_.$@]*)')
_SPACES = ' \t\r\f\v'
_SPECIAL_SYNTAX = frozenset(('s_waitcnt', 's_delay_alu', 's_waitcnt_depctr'))
# (mnemonic, operand text) -> Encoded, for instructions that name no symbols.
_encoded: dict = {}
_ENCODED_LIMIT = 1 << 18


def clear_caches():
    """Forget every cached parse and encoding (benchmarks measure cold runs with this)."""
    from isa.asm import operand
    _encoded.clear()
    operand.clear_caches()


class Statement:
    """One emitted statement: where it lives, its bytes, and the source it came from."""
    __slots__ = ('line', 'offset', 'data', 'text', 'kind', 'fixup', 'name')

    def __init__(self, line, offset, data, text, kind, fixup=None, name=''):
        self.line = line
        self.offset = offset
        self.data = data
        self.text = text
        self.kind = kind          # 'inst', 'data', 'label', 'align'
        self.fixup = fixup
        self.name = name

    def __repr__(self):
        return f"Statement({self.line}, {self.offset:#x}, {self.kind}, {self.text!r}, {self.data.hex()})"


def _remember(key, enc):
    if len(_encoded) > _ENCODED_LIMIT:
        _encoded.clear()
    _encoded[key] = enc


def _split_lines(lines: list) -> list:
    """For each line: (the line without its comment, (mnemonic, operand text) or None), or None
    for a blank line. The key is there for a statement that may be a plain instruction (no
    label, assignment or directive); the line by line pass reads the others in full. (One loop
    over the lines: a call per line would cost as much as its work.)"""
    out = []
    append = out.append
    for line in lines:
        if ';' in line or '/' in line or '"' in line:
            line = strip_comment(line)
        parts = line.split(None, 1)
        if not parts:
            append(None)
            continue
        word = parts[0]
        rest = parts[1] if len(parts) > 1 else ''
        if ':' in word or '=' in word or word[0] == '.' or (rest and rest[0] == '='):
            append((line, None))
        else:
            append((line, (word if word.islower() else word.lower(), rest)))
    return out


def _encode_ahead(split: list, start: int):
    """Encode the instructions from split[start] on whose text alone gives their encoding (no
    symbols, no special syntax) and that are not cached yet, mnemonic by mnemonic:
    instructions of one kind in a row keep their tables and code paths in the CPU caches
    (encoding a file of mixed instructions takes about a third less time). The line by line
    pass finds them in `_encoded`; it encodes the rest and reports errors in order."""
    todo: dict = {}
    for got in itertools.islice(split, start, None):
        if got is None or got[1] is None:
            continue
        key = got[1]
        if key in _encoded or key[0] in _SPECIAL_SYNTAX:
            continue
        if '::' in key[1]:
            _vopd_ahead(key)
            continue
        keys = todo.get(key[0])
        if keys is None:
            todo[key[0]] = [key]
        else:
            keys.append(key)
    for name in sorted(todo):
        for key in todo[name]:
            try:
                items, has_expr, plain, named = operand_items_flagged(key[1])
                if has_expr:
                    continue
                enc = encode_instruction(name, items, plain=plain, named=named)
            except AsmError:
                continue
            if enc.fixup is None:
                _remember(key, enc)


def _vopd_ahead(key):
    """Encode a VOPD pair ahead (see _encode_ahead) when its operands name no symbols."""
    name, rest = key
    k = rest.index('::')
    m = _MNEMONIC_RE.match(rest, k + 2)
    if m is None or _MNEMONIC_RE.fullmatch(name) is None:
        return
    enc = _vopd_from_cache(name, rest[:k], m.group(1).lower(), rest[m.end():])
    if enc is not None and enc.fixup is None:
        _remember(key, enc)


class Assembler:
    """Assembles one source text; `statements` holds the listing, `data()` the bytes."""

    def __init__(self):
        # statements as tuples (line, offset, data, text, kind, fixup, name); `statements`
        # makes Statement objects of them when asked
        self._stmts: list[tuple] = []
        self.symbols: dict[str, int] = dict(PREDEFINED_SYMBOLS)
        self.labels: dict[str, int] = {}
        self.offset = 0
        self._chunks: list[bytes] = []

    @property
    def statements(self) -> list[Statement]:
        return [Statement(*t) for t in self._stmts]

    # -- symbols -------------------------------------------------------------------------------
    def _lookup(self, name):
        if name in self.labels:
            return self.labels[name]
        return self.symbols.get(name)

    def _eval(self, value, lineno, line, col0, dot=None):
        if isinstance(value, Expr):
            try:
                return value.evaluate(self._lookup, self.offset if dot is None else dot)
            except AsmError as e:
                raise AsmError(e.message, lineno, col0 + e.column, line) from None
        return value

    # -- driver --------------------------------------------------------------------------------
    def assemble(self, text: str) -> bytes:
        # the parse makes many small acyclic objects: the cyclic collector only costs time here
        enabled = gc.isenabled()
        gc.disable()
        try:
            return self._assemble(text)
        finally:
            if enabled:
                gc.enable()

    def _assemble(self, text: str) -> bytes:
        if '/*' in text:
            text = blank_block_comments(text)
        lines = text.split('\n')
        split = _split_lines(lines)
        ahead = False    # encoded ahead yet (at the first uncached instruction naming no symbols)
        stmts = self._stmts
        chunks = self._chunks
        encoded_get = _encoded.get
        for lineno, raw in enumerate(lines, 1):
            got = split[lineno - 1]
            if got is None:
                continue
            # fast path: a plain instruction whose operands are in the caches
            line, key = got
            if key is not None:
                name, rest = key
                enc = encoded_get(key)
                if enc is None and '::' not in rest and name not in _SPECIAL_SYNTAX:
                    try:
                        items, has_expr, plain, named = operand_items_flagged(rest)
                        if not has_expr and not ahead:
                            ahead = True
                            _encode_ahead(split, lineno - 1)
                            enc = encoded_get(key)
                        if has_expr:
                            items = self._resolve_items(items)
                        if enc is None:
                            enc = encode_instruction(name, items, plain=plain, named=named)
                    except AsmError:
                        enc = None       # the slow path below reports the error with its position
                    else:
                        if not has_expr and enc.fixup is None:
                            _remember(key, enc)
                if enc is not None:
                    data = enc.data
                    stmts.append((lineno, self.offset, data, line, 'inst', enc.fixup, enc.name))
                    chunks.append(data)
                    self.offset += len(data)
                    continue
            try:
                self._statement(raw, lineno)
            except AsmError as e:
                if e.line:
                    raise
                raise AsmError(e.message, lineno, e.column, raw) from None
        self._resolve()
        return self.data()

    def data(self) -> bytes:
        return b''.join(self._chunks)

    def _emit(self, data: bytes, lineno, text, kind, fixup=None, name=''):
        self._stmts.append((lineno, self.offset, data, text, kind, fixup, name))
        self._chunks.append(data)
        self.offset += len(data)

    def _statement(self, raw: str, lineno: int):
        line = strip_comment(raw)
        pos = 0
        n = len(line)
        while pos < n and line[pos] in _SPACES:
            pos += 1
        if pos >= n:
            return
        # labels
        while True:
            m = _LABEL_RE.match(line, pos)
            if m is None:
                break
            name = m.group(1)
            if name in self.labels or name in self.symbols:
                raise AsmError(f"symbol '{name}' is already defined", lineno, m.start(1) + 1, raw)
            self.labels[name] = self.offset
            self._stmts.append((lineno, self.offset, b'', name + ':', 'label', None, ''))
            pos = m.end()
            while pos < n and line[pos] in _SPACES:
                pos += 1
            if pos >= n:
                return
        m = _ASSIGN_RE.match(line, pos)
        if m is not None:
            self._assign(m.group(1), line, m.end(), lineno, raw)
            return
        m = _MNEMONIC_RE.match(line, pos)
        if m is None:
            raise AsmError("unexpected token at start of statement", lineno, pos + 1, raw)
        word = m.group(1)
        mstart = m.start(1)
        rest_start = m.end()
        if word[0] == '.':
            self._directive(word.lower(), line, rest_start, lineno, raw, mstart)
            return
        self._instruction(word.lower(), line, rest_start, lineno, raw, mstart)

    def _instruction(self, name, line, rest_start, lineno, raw, mstart):
        key = (name, line[rest_start:].lstrip())
        if name.endswith('_e32') and name[:-4] in _SPECIAL_SYNTAX:
            name = name[:-4]
        text = line[rest_start:]
        col0 = rest_start
        if '::' in text:
            enc = self._vopd(name, text, col0, lineno, raw, mstart)
        else:
            try:
                special = None
                if name in ('s_waitcnt', 's_delay_alu', 's_waitcnt_depctr'):
                    toks = tokenize(text, col0)
                    if toks[0][0] == 'end':
                        raise AsmError("too few operands for instruction", 0, mstart + 1)
                    special = parse_special_operands(name, toks)
                    self._check_special(name, special, toks)
                if special is not None:
                    enc = encode_special(name, special)
                else:
                    try:
                        items, has_expr, plain, named = operand_items_flagged(text)
                        if has_expr:
                            items = self._resolve_items(items)
                        enc = encode_instruction(name, items, col0, plain=plain, named=named)
                    except AsmError:
                        # again with exact columns, for the error message
                        try:
                            items = parse_operands(text)
                        except AsmError as e:
                            raise AsmError(e.message, 0, col0 + e.column) from None
                        if self._has_expr(items):
                            items = self._resolve_items(items)
                        enc = encode_instruction(name, items, col0)
            except AsmError as e:
                col = e.column
                if e.message in ('invalid instruction', 'instruction not supported on this GPU') or \
                        e.message.endswith('variant of this instruction is not supported') or \
                        e.message in ('too few operands for instruction',) and col <= 1:
                    col = mstart + 1
                raise AsmError(e.message, lineno, col, raw) from None
        if enc.fixup is None and (name in _SPECIAL_SYNTAX or '::' in text) and not line[:mstart].strip():
            # the fast path finds these (their text alone gives the encoding) next time
            _remember(key, enc)
        self._emit(enc.data, lineno, line.strip(), 'inst', enc.fixup, enc.name)

    @staticmethod
    def _has_expr(items):
        for it in items:
            if type(it) is Imm or type(it) is Named:
                if type(it.value) is Expr:
                    return True
        return False

    def _resolve_items(self, items):
        """Items with expressions over absolute symbols (.set, predefined) replaced by values;
        expressions naming labels stay for fixups."""
        out = []
        for it in items:
            v = getattr(it, 'value', None)
            if type(v) is Expr and (type(it) is Imm or type(it) is Named):
                names = list(v.symbols())
                if all(n in self.symbols for n in names) and not any(n in self.labels for n in names):
                    try:
                        val = v.evaluate(self.symbols.get, self.offset)
                    except AsmError:
                        out.append(it)
                        continue
                    if type(it) is Imm:
                        it = Imm(val, False, it.col, it.neg, it.abs, it.lit)
                    else:
                        it = Named(it.name, val, it.col, it.vcol)
            out.append(it)
        return out

    def _check_special(self, name, value, toks):
        if isinstance(value, int) and not -0x8000 <= value <= 0xFFFF and name != 's_waitcnt':
            raise AsmError("invalid operand for instruction", 0, toks[0][2] + 1)

    def _vopd(self, name, text, col0, lineno, raw, mstart):
        k = text.index('::')
        left = text[:k]
        right = text[k + 2:]
        m = _MNEMONIC_RE.match(right)
        if m is None:
            raise AsmError("invalid VOPDY instruction", lineno, col0 + k + 3, raw)
        yname = m.group(1).lower()
        ycol = col0 + k + 2 + m.start(1)
        yops = right[m.end():]
        ycol0 = col0 + k + 2 + m.end()
        enc = _vopd_from_cache(name, left, yname, yops)
        if enc is not None:
            return enc
        try:
            try:
                xitems = parse_operands(left)
            except AsmError as e:
                raise AsmError(e.message, 0, col0 + e.column) from None
            try:
                yitems = parse_operands(yops)
            except AsmError as e:
                raise AsmError(e.message, 0, ycol0 + e.column) from None
            return encode_vopd(name, xitems, col0, mstart, yname, yitems, ycol0, ycol)
        except AsmError as e:
            raise AsmError(e.message, lineno, e.column, raw) from None

    # -- fixups --------------------------------------------------------------------------------
    def _resolve(self):
        if not any(t[5] is not None for t in self._stmts):
            return
        chunks = []
        stmts = self._stmts
        for k, t in enumerate(stmts):
            if t[5] is not None:
                st = Statement(*t)
                st.data = self._fix(st)
                stmts[k] = (t[0], t[1], st.data, t[3], t[4], None, t[6])
            if t[4] != 'label':
                chunks.append(stmts[k][2])
        self._chunks = chunks

    def _fix(self, st) -> bytes:
        kind, expr, at = st.fixup
        raw = st.text
        data = bytearray(st.data)
        if kind == 'data':
            for e, pos, size, col in expr:
                try:
                    v = e.evaluate(self._lookup, st.offset + pos)
                except AsmError as err:
                    raise AsmError(err.message, st.line, col, raw) from None
                _check_data(v, size, st.line, col, raw)
                data[pos:pos + size] = (v & ((1 << (8 * size)) - 1)).to_bytes(size, 'little')
            return bytes(data)
        try:
            value = expr.evaluate(self._lookup, st.offset)
        except AsmError as e:
            msg = e.message
            if kind == 'br' and msg.startswith('undefined symbol'):
                msg = 'undefined label' + msg[len('undefined symbol'):]
            raise AsmError(msg, st.line, 1, raw) from None
        if kind == 'br':
            if any(s in self.labels for s in expr.symbols()):
                delta = value - (st.offset + 4)
                if delta % 4:
                    raise AsmError("branch target is not aligned", st.line, 1, raw)
                delta //= 4
            else:
                delta = value
            if not -0x8000 <= delta <= 0x7FFF:
                raise AsmError("branch target out of range", st.line, 1, raw)
            data[0:2] = (delta & 0xFFFF).to_bytes(2, 'little')
        else:
            data[at:at + 4] = (value & 0xFFFFFFFF).to_bytes(4, 'little')
        return bytes(data)

    # -- directives ----------------------------------------------------------------------------
    def _assign(self, name, line, start, lineno, raw):
        toks = tokenize(line[start:], start)
        p = ExprParser(toks)
        try:
            v = p.parse_expr()
            if p.kind() != 'end':
                raise p.error("unexpected token")
        except AsmError as e:
            raise AsmError(e.message, lineno, e.column, raw) from None
        if name in self.labels:
            raise AsmError(f"redefinition of '{name}'", lineno, 1, raw)
        self.symbols[name] = self._eval(v, lineno, raw, 0)

    def _directive(self, d, line, start, lineno, raw, dcol):
        args_text = line[start:]
        if d in _IGNORED_DIRECTIVES:
            return
        if d in ('.set', '.equ'):
            toks = tokenize(args_text, start)
            if toks[0][0] != 'id' or toks[1][0] != ',':
                raise AsmError("expected identifier", lineno, toks[0][2] + 1, raw)
            name = toks[0][1]
            p = ExprParser(toks, 2)
            try:
                v = p.parse_expr()
                if p.kind() != 'end':
                    raise p.error("unexpected token")
            except AsmError as e:
                raise AsmError(e.message, lineno, e.column, raw) from None
            self.symbols[name] = self._eval(v, lineno, raw, 0)
            return
        if d in _DATA_DIRECTIVES:
            size = _DATA_DIRECTIVES[d]
            toks = tokenize(args_text, start)
            p = ExprParser(toks)
            out = bytearray()
            later = []
            try:
                while p.kind() != 'end':
                    vt = p.tok
                    v = p.parse_expr()
                    if isinstance(v, Expr) and any(n not in self.symbols and n not in self.labels
                                                   for n in v.symbols()):
                        later.append((v, len(out), size, vt[2] + 1))     # a label defined further on
                        v = 0
                    v = self._eval(v, lineno, raw, 0, self.offset + len(out))
                    _check_data(v, size, lineno, vt[2] + 1, raw)
                    out += (v & ((1 << (8 * size)) - 1)).to_bytes(size, 'little')
                    if not p.accept(','):
                        break
                if p.kind() != 'end':
                    raise p.error("unexpected token in directive")
            except AsmError as e:
                if e.line:
                    raise
                raise AsmError(e.message, lineno, e.column, raw) from None
            self._emit(bytes(out), lineno, line.strip(), 'data', ('data', later, 0) if later else None)
            return
        if d in ('.p2align', '.align', '.balign', '.p2alignw', '.p2alignl'):
            toks = tokenize(args_text, start)
            p = ExprParser(toks)
            try:
                a = self._eval(p.parse_expr(), lineno, raw, 0)
                fill = None
                if p.accept(','):
                    if p.kind() != ',':
                        fill = self._eval(p.parse_expr(), lineno, raw, 0)
                    if p.accept(','):
                        self._eval(p.parse_expr(), lineno, raw, 0)
                if p.kind() != 'end':
                    raise p.error("unexpected token in directive")
            except AsmError as e:
                raise AsmError(e.message, lineno, e.column, raw) from None
            if d in ('.p2align', '.align'):
                if not 0 <= a <= 32:
                    raise AsmError("invalid alignment value", lineno, toks[0][2] + 1, raw)
                align = 1 << a
            else:
                if a <= 0 or a & (a - 1):
                    raise AsmError("alignment must be a power of 2", lineno, toks[0][2] + 1, raw)
                align = a
            pad = (-self.offset) % align
            if pad:
                if fill is None:
                    words, rest = divmod(pad, 4)
                    data = b'\x00' * rest + struct.pack('<I', 0xBF800000) * words if self.offset % 4 == 0 \
                        else b'\x00' * pad
                else:
                    data = bytes([fill & 0xFF]) * pad
                self._emit(data, lineno, line.strip(), 'align')
            return
        if d in ('.zero', '.space', '.skip'):
            toks = tokenize(args_text, start)
            p = ExprParser(toks)
            try:
                cnt = self._eval(p.parse_expr(), lineno, raw, 0)
                fill = 0
                if p.accept(','):
                    fill = self._eval(p.parse_expr(), lineno, raw, 0)
            except AsmError as e:
                raise AsmError(e.message, lineno, e.column, raw) from None
            if cnt < 0:
                raise AsmError("invalid number of bytes", lineno, start + 1, raw)
            self._emit(bytes([fill & 0xFF]) * cnt, lineno, line.strip(), 'data')
            return
        if d in ('.ascii', '.asciz', '.string'):
            toks = tokenize(args_text, start)
            out = bytearray()
            k = 0
            while toks[k][0] == 'str':
                s = toks[k][1][1:-1].encode().decode('unicode_escape').encode('latin-1')
                out += s + (b'\x00' if d != '.ascii' else b'')
                k += 1
                if toks[k][0] == ',':
                    k += 1
            if toks[k][0] != 'end':
                raise AsmError("expected string", lineno, toks[k][2] + 1, raw)
            self._emit(bytes(out), lineno, line.strip(), 'data')
            return
        raise AsmError("unknown directive", lineno, dcol + 1, raw)


def _vopd_from_cache(xname, xtext, yname, ytext):
    """The encoding of a VOPD pair from cached operand items, or None when the operands name
    symbols or do not encode (the caller parses again with exact columns for the message)."""
    try:
        xitems, xexpr, _, _ = operand_items_flagged(xtext)
        yitems, yexpr, _, _ = operand_items_flagged(ytext)
        if xexpr or yexpr:
            return None
        return encode_vopd(xname, xitems, 0, 0, yname, yitems, 0, 0)
    except AsmError:
        return None


# (.word and .hword are no AMDGPU directives: llvm-mc rejects them)
_DATA_DIRECTIVES = {'.byte': 1, '.short': 2, '.2byte': 2, '.value': 2, '.long': 4, '.int': 4,
                    '.4byte': 4, '.quad': 8, '.8byte': 8}
_IGNORED_DIRECTIVES = frozenset(('.text', '.globl', '.global', '.type', '.size', '.local', '.weak', '.hidden',
                                 '.protected', '.file', '.ident', '.loc', '.cfi_startproc', '.cfi_endproc',
                                 '.amdgcn_target', '.amdgpu_hsa_kernel', '.p2align_end'))


def _check_data(v, size, lineno, col, raw):
    if not -(1 << (8 * size - 1)) <= v < (1 << (8 * size)):
        raise AsmError("out of range literal value", lineno, col, raw)


def assemble(text: str) -> bytes:
    """Assemble gfx1100 assembly text (LLVM syntax) into the bytes of its code."""
    return Assembler().assemble(text)


del Encoded
