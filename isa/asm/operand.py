"""Operand syntax: registers, immediates with source modifiers, named modifiers.

`parse_operands` turns the operand text of one instruction into a list of items, without
knowing the instruction: `Reg`, `Imm` (an int, a float or an `Expr`), `Named` (`clamp`,
`offset:16`, `op_sel:[0,1]`, ...) and `Func` (`hwreg(...)`, `sendmsg(...)`, `swizzle(...)`).
Items are immutable, so parsed operand strings are cached.
"""

import re

from isa import operands as ops
from isa.asm.lexer import BINOPS, MASK64, Expr, ExprParser, tokenize, wrap64
from isa.errors import AsmError

VGPR_COUNT = 256
SGPR_COUNT = ops.SGPR_MAX + 1
TTMP_COUNT = ops.TTMP_LAST - ops.TTMP_FIRST + 1


class Reg:
    """A register operand. `file` is 'v' or 's'; `code` is the VGPR number for 'v' and the
    9-bit scalar source code for 's'; `count` is the number of dwords (None for special
    sources that fit any width: null, src_scc, src_shared_base, ...); `tag` names the kind:
    'v', 's', 'ttmp' or the special register's name."""
    __slots__ = ('file', 'code', 'count', 'tag', 'col', 'neg', 'abs', 'parts')

    def __init__(self, file, code, count, tag, col=0, neg=False, abs_=False):
        self.file = file
        self.code = code
        self.count = count
        self.tag = tag
        self.col = col
        self.neg = neg
        self.abs = abs_
        self.parts = None        # the registers of a list `[v4, v5]` that formed this one

    def with_mods(self, neg, abs_, col):
        return Reg(self.file, self.code, self.count, self.tag, col, neg, abs_)

    @property
    def src_code(self) -> int:
        """The 9-bit source operand code."""
        return self.code + ops.VGPR_FIRST if self.file == 'v' else self.code

    def __repr__(self):
        return f"Reg({self.tag}:{self.code}x{self.count}{' neg' if self.neg else ''}{' abs' if self.abs else ''})"


class Imm:
    """An immediate: `value` is an int (64-bit two's complement), a float (for floating-point
    tokens, kept as a Python float of the parsed double) or an `Expr` naming symbols."""
    __slots__ = ('value', 'is_float', 'col', 'neg', 'abs', 'lit')

    def __init__(self, value, is_float=False, col=0, neg=False, abs_=False, lit=False):
        self.value = value
        self.is_float = is_float
        self.col = col
        self.neg = neg
        self.abs = abs_
        self.lit = lit

    @property
    def is_expr(self) -> bool:
        return isinstance(self.value, Expr)

    def __repr__(self):
        return f"Imm({self.value!r}{' f' if self.is_float else ''}{' neg' if self.neg else ''}{' abs' if self.abs else ''})"


class RegList:
    """A list of registers `[v4, v9, v[5:7]]` that is no single register range: image
    instructions take it as separate addresses; elsewhere `error` (the AsmError for the list
    as a range) is reported."""
    __slots__ = ('parts', 'col', 'error')
    neg = False
    abs = False

    def __init__(self, parts, col, error):
        self.parts = parts
        self.col = col
        self.error = error

    def __repr__(self):
        return f"RegList({self.parts!r})"


class Named:
    """A named modifier: a bare keyword (`clamp`, `glc`, `off`, `offen`, `row_mirror`) with
    value None, or `name:value` with an int, Expr, list of values, or Func."""
    __slots__ = ('name', 'value', 'col', 'vcol')

    def __init__(self, name, value=None, col=0, vcol=0):
        self.name = name
        self.value = value
        self.col = col
        self.vcol = vcol

    def __repr__(self):
        return f"Named({self.name}{'' if self.value is None else ':' + repr(self.value)})"


class Func:
    """A function-like operand: name(args...), e.g. hwreg(HW_REG_MODE, 0, 1)."""
    __slots__ = ('name', 'args', 'col')

    def __init__(self, name, args, col=0):
        self.name = name
        self.args = args
        self.col = col

    def __repr__(self):
        return f"Func({self.name}{tuple(self.args)!r})"


class Sym:
    """A bare identifier inside a list or function argument (e.g. BUF_FMT_32_FLOAT, VALU_DEP_1)."""
    __slots__ = ('name', 'col')

    def __init__(self, name, col=0):
        self.name = name
        self.col = col

    def __repr__(self):
        return f"Sym({self.name})"


class BadList:
    """A bit-list modifier value (op_sel:[..], neg_lo:[..] ...) that did not parse: the error
    and its 0-based column. Whether LLVM reports it as is depends on the instruction."""
    __slots__ = ('message', 'col')

    def __init__(self, message, col):
        self.message = message
        self.col = col

    def __repr__(self):
        return f"BadList({self.message!r})"


# Modifiers whose value is a list of up to four 0/1 bits.
BIT_LISTS = frozenset(('op_sel', 'op_sel_hi', 'neg_lo', 'neg_hi'))


def _parse_dim(p: ExprParser) -> Sym:
    """An image dimension `2D`, `SQ_RSRC_IMG_2D_ARRAY`: the run of number and name tokens
    with nothing between them (its text is checked by the encoder)."""
    t = p.tok
    col = t[2]
    text = ''
    end = col
    while p.tok[0] in ('int', 'id') and p.tok[2] == end:
        text += p.tok[1]
        end += len(p.tok[1])
        p.advance()
    if not text:
        raise AsmError("invalid dim value", 0, col + 1)
    return Sym(text, col)


def _parse_bit_list(p: ExprParser, name: str):
    """The elements of `[b0,b1,...]` at the cursor (on '['), or a BadList. After an error the
    rest of the operands is skipped: the error is the statement's first."""
    p.advance()
    elems = []
    err = None
    for k in range(4):
        t = p.tok
        try:
            v = p.parse_expr()
        except AsmError as e:
            err = BadList(e.message, e.column - 1)
            break
        if isinstance(v, Expr):
            err = BadList("expected absolute expression", t[2])
            break
        if v not in (0, 1):
            err = BadList(f"invalid {name} value.", t[2])
            break
        elems.append(v)
        if p.accept(']'):
            return elems
        if k == 3:
            err = BadList("expected a closing square bracket", p.tok[2])
            break
        if not p.accept(','):
            err = BadList("expected a comma", p.tok[2])
            break
    while p.kind() != 'end':
        p.advance()
    return err


# Special registers: name -> (code, count, tag). Count None fits any operand width.
SPECIAL_REGS = {
    'vcc_lo': (ops.VCC_LO, 1, 'vcc_lo'), 'vcc_hi': (ops.VCC_HI, 1, 'vcc_hi'), 'vcc': (ops.VCC_LO, 2, 'vcc'),
    'exec_lo': (ops.EXEC_LO, 1, 'exec_lo'), 'exec_hi': (ops.EXEC_HI, 1, 'exec_hi'),
    'exec': (ops.EXEC_LO, 2, 'exec'),
    'm0': (ops.M0, 1, 'm0'), 'null': (ops.NULL, None, 'null'),
    'scc': (ops.SCC, None, 'scc'), 'src_scc': (ops.SCC, None, 'scc'),
    'shared_base': (ops.SHARED_BASE, None, 'shared_base'),
    'src_shared_base': (ops.SHARED_BASE, None, 'shared_base'),
    'shared_limit': (ops.SHARED_LIMIT, None, 'shared_limit'),
    'src_shared_limit': (ops.SHARED_LIMIT, None, 'shared_limit'),
    'private_base': (ops.PRIVATE_BASE, None, 'private_base'),
    'src_private_base': (ops.PRIVATE_BASE, None, 'private_base'),
    'private_limit': (ops.PRIVATE_LIMIT, None, 'private_limit'),
    'src_private_limit': (ops.PRIVATE_LIMIT, None, 'private_limit'),
    'lds_direct': (ops.LDS_DIRECT, 1, 'lds_direct'), 'src_lds_direct': (ops.LDS_DIRECT, 1, 'lds_direct'),
}
# Registers LLVM knows but that do not exist on gfx11, with the message it gives.
UNAVAILABLE_REGS = {
    'vccz': "execz and vccz are not supported on this GPU",
    'src_vccz': "execz and vccz are not supported on this GPU",
    'execz': "execz and vccz are not supported on this GPU",
    'src_execz': "execz and vccz are not supported on this GPU",
}
for _n in ('pops_exiting_wave_id', 'src_pops_exiting_wave_id', 'flat_scratch', 'flat_scratch_lo',
           'flat_scratch_hi', 'xnack_mask', 'xnack_mask_lo', 'xnack_mask_hi', 'tba', 'tba_lo', 'tba_hi',
           'tma', 'tma_lo', 'tma_hi'):
    UNAVAILABLE_REGS[_n] = "register not available on this GPU"

# Register range sizes (in dwords) LLVM has register classes for.
VGPR_SIZES = frozenset((1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 16, 32))
SGPR_SIZES = frozenset((1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 16, 32))

_SINGLE_REG_RE = re.compile(r'(v|s|ttmp)([0-9]+)$')
_REG_PREFIXES = ('v', 's', 'ttmp')

# Bare identifiers that are modifiers, not symbols.
KEYWORDS = frozenset((
    'off', 'offen', 'idxen', 'glc', 'slc', 'dlc', 'gds', 'tfe', 'lds', 'clamp', 'row_mirror',
    'row_half_mirror', 'nv', 'done', 'vm', 'compr', 'a16', 'd16', 'r128', 'unorm', 'lwe', 'high',
    'row_en', 'noglc', 'noslc', 'nodlc', 'notfe', 'nogds', 'noclamp',
))
# Function-like operands parsed as Func items.
FUNCS = frozenset(('hwreg', 'sendmsg', 'swizzle'))


def is_register_token(p: ExprParser, j: int | None = None) -> bool:
    """Whether the token at j (default: current) starts a register."""
    toks = p.toks
    i = p.i if j is None else j
    t = toks[i]
    if t[0] == 'id':
        name = t[1]
        if name in SPECIAL_REGS or name in UNAVAILABLE_REGS:
            return True
        if _SINGLE_REG_RE.match(name):
            return True
        if name in _REG_PREFIXES and i + 1 < len(toks) and toks[i + 1][0] == '[':
            return True
        if '.' in name and _SINGLE_REG_RE.match(name.split('.', 1)[0]):
            return True
        return False
    if t[0] == '[' and i + 1 < len(toks) and toks[i + 1][0] == 'id':
        return is_register_token(p, i + 1)
    return False


def _reg_index_value(p: ExprParser) -> int:
    t = p.tok
    v = p.parse_expr()
    if not isinstance(v, int):
        raise p.error("expected an absolute expression", t)
    return v


def _make_reg(prefix: str, first: int, count: int, col: int) -> Reg:
    # LLVM checks the size, then the alignment, then the range
    if prefix == 'v':
        if count not in VGPR_SIZES:
            raise AsmError("invalid or unsupported register size", 0, col + 1)
        if first < 0 or first + count > VGPR_COUNT:
            raise AsmError("register index is out of range", 0, col + 1)
        return Reg('v', first, count, 'v', col)
    if count not in SGPR_SIZES:
        raise AsmError("invalid or unsupported register size", 0, col + 1)
    if (count == 2 and first % 2) or (count >= 4 and first % 4):
        raise AsmError("invalid register alignment", 0, col + 1)
    limit = SGPR_COUNT if prefix == 's' else TTMP_COUNT
    if first < 0 or first + count > limit:
        raise AsmError("register index is out of range", 0, col + 1)
    base = 0 if prefix == 's' else ops.TTMP_FIRST
    return Reg('s', base + first, count, prefix, col)


_VCCZ = {'vccz': ops.VCCZ, 'src_vccz': ops.VCCZ, 'execz': ops.EXECZ, 'src_execz': ops.EXECZ}


def parse_register(p: ExprParser, modified: bool = False) -> Reg:
    """A register at the cursor (the caller checked is_register_token). `modified`: the register
    carries a source modifier (LLVM then also takes src_vccz and src_execz)."""
    t = p.advance()
    col = t[2]
    if t[0] == '[':
        return _parse_reg_list(p, col)
    name = t[1]
    spec = SPECIAL_REGS.get(name)
    if spec is not None:
        return Reg('s', spec[0], spec[1], spec[2], col)
    msg = UNAVAILABLE_REGS.get(name)
    if msg is not None:
        if modified and name in _VCCZ:
            return Reg('s', _VCCZ[name], None, 'vccz', col)
        raise AsmError(msg, 0, col + 1)
    m = _SINGLE_REG_RE.match(name)
    if m:
        return _make_reg(m.group(1), int(m.group(2)), 1, col)
    if name in _REG_PREFIXES:
        p.expect('[', "expected '['")
        first = _reg_index_value(p)
        last = first
        if p.accept(':'):
            last = _reg_index_value(p)
        p.expect(']', "expected a closing square bracket")
        if last < first:
            raise AsmError("first register index should not exceed second index", 0, col + 3)
        return _make_reg(name, first, last - first + 1, col)
    # v1.l / v1.h: 16-bit register halves
    base, _, half = name.partition('.')
    m = _SINGLE_REG_RE.match(base)
    if m and m.group(1) == 'v' and half in ('l', 'h'):
        r = _make_reg('v', int(m.group(2)), 1, col)
        return Reg('v', r.code, 1, 'vl' if half == 'l' else 'vh', col)
    raise AsmError("invalid register name", 0, col + 1)


def _parse_reg_list(p: ExprParser, col: int) -> Reg:
    regs = []
    while True:
        if not is_register_token(p) or p.kind() == '[':
            raise p.error("expected a register or a list of registers")
        regs.append(parse_register(p))
        if p.accept(','):
            continue
        p.expect(']', "expected a comma or a closing square bracket")
        break
    try:
        reg = _reg_from_list(regs, col)
    except AsmError as e:
        # without its traceback, whose frames would hold the list in a reference cycle
        return RegList(regs, col, e.with_traceback(None))
    reg.parts = regs
    return reg


def _reg_from_list(regs: list, col: int) -> Reg:
    """The register range a list of consecutive 32-bit registers names."""
    first = regs[0]
    for r in regs:
        if r.count != 1 or r.tag not in ('v', 's', 'ttmp', 'vcc_lo', 'vcc_hi', 'exec_lo', 'exec_hi'):
            raise AsmError("expected a single 32-bit register", 0, r.col + 1)
    for a, b in zip(regs, regs[1:], strict=False):
        if b.file != a.file or b.code != a.code + 1 or (b.tag != a.tag and not (
                a.tag in ('vcc_lo', 'exec_lo') and b.tag in ('vcc_hi', 'exec_hi'))):
            raise AsmError("registers in a list must have consecutive indices", 0, b.col + 1)
    if len(regs) == 1:
        return Reg(first.file, first.code, 1, first.tag, col)
    if first.tag in ('vcc_lo', 'exec_lo'):
        if len(regs) != 2:
            raise AsmError("registers in a list must be of the same kind", 0, col + 1)
        name = 'vcc' if first.tag == 'vcc_lo' else 'exec'
        return Reg('s', first.code, 2, name, col)
    if first.tag == 'v':
        return _make_reg('v', first.code, len(regs), col)
    if first.tag == 's':
        return _make_reg('s', first.code, len(regs), col)
    return _make_reg('ttmp', first.code - ops.TTMP_FIRST, len(regs), col)


def _parse_value(p: ExprParser):
    """A modifier value or list element: Func, bare identifier (Sym), or expression."""
    t = p.tok
    if t[0] == 'id' and p.peek()[0] == '(' and t[1] in FUNCS:
        return _parse_func(p)
    if t[0] == 'id' and p.peek()[0] in (',', ']', ')', 'end') and t[1] != '.':
        p.advance()
        return Sym(t[1], t[2])
    if t[0] == 'str':
        p.advance()
        return t[1][1:-1]
    if t[0] == '[':
        p.advance()
        elems = []
        if p.kind() != ']':
            while True:
                elems.append(_parse_value(p))
                if p.accept(','):
                    continue
                break
        p.expect(']', "expected a closing square bracket")
        return elems
    return p.parse_expr()


def _parse_func(p: ExprParser) -> Func:
    t = p.advance()
    p.expect('(', "expected a left parenthesis")
    args = []
    if p.kind() != ')':
        while True:
            args.append(_parse_value(p))
            if p.accept(','):
                continue
            break
    p.expect(')', "expected a closing parenthesis")
    return Func(t[1], args, t[2])


def _parse_imm(p: ExprParser, in_abs: bool):
    t = p.tok
    col = t[2]
    if t[0] == 'id' and t[1] == 'lit' and p.peek()[0] == '(':
        p.advance()
        p.advance()
        imm = _parse_imm(p, in_abs)
        p.expect(')', "expected closing parentheses")
        return Imm(imm.value, imm.is_float, col, lit=True)
    if t[0] == 'real' or (t[0] == '-' and p.peek()[0] == 'real'):
        neg = t[0] == '-'
        if neg:
            p.advance()
        r = p.advance()
        try:
            v = float(r[1])
        except ValueError:
            raise p.error("invalid floating point literal", r) from None
        return Imm(-v if neg else v, True, col)
    if t[0] == '-' and p.peek()[0] == '-':
        raise p.error("invalid syntax, expected 'neg' modifier")
    v = p.parse_primary_value() if in_abs else p.parse_expr()
    return Imm(v, False, col)


def _is_named_start(p: ExprParser) -> bool:
    t = p.tok
    return t[0] == 'id' and p.peek()[0] == ':'


def parse_source(p: ExprParser):
    """A register or immediate with optional source modifiers: -x, |x|, neg(x), abs(x)."""
    t = p.tok
    col = t[2]
    sp3neg = False
    if t[0] == '-':
        nxt = p.peek()
        if nxt[0] == '-':
            # `--x`: an expression where the operand takes no modifiers, an error where it does
            # (the encoder decides by the operand's position)
            try:
                v = p.parse_expr()
            except AsmError:
                raise p.error("invalid syntax, expected 'neg' modifier", t) from None
            return Imm(v, False, col, 'expr')
        if nxt[0] == 'id' and nxt[1] == 'sext' and p.peek(2)[0] == '(':
            raise p.error("not a valid operand.")
        if nxt[0] == '|' or (nxt[0] == 'id' and nxt[1] == 'abs' and p.peek(2)[0] == '(') or \
                is_register_token(p, p.i + 1):
            p.advance()
            sp3neg = True
    t = p.tok
    if t[0] == 'id' and t[1] == 'sext' and p.peek()[0] == '(' and not sp3neg:
        p.advance()
        p.advance()
        if is_register_token(p):
            item = parse_register(p)
            if type(item) is RegList:
                raise item.error
        else:
            if p.tok[0] == 'end':
                raise p.error("expected register or immediate")
            item = _parse_imm(p, False)
        p.expect(')', "expected closing parentheses")
        if isinstance(item, Reg):
            return Reg(item.file, item.code, item.count, item.tag, col, 'sext', False)
        item.neg = 'sext'
        item.col = col
        return item
    neg = False
    if t[0] == 'id' and t[1] == 'neg' and p.peek()[0] == '(':
        if sp3neg:
            raise p.error("expected register or immediate")
        p.advance()
        p.advance()
        neg = True
    t = p.tok
    absf = False
    if t[0] == 'id' and t[1] == 'abs' and p.peek()[0] == '(':
        p.advance()
        p.advance()
        absf = True
    t = p.tok
    lit = False
    if t[0] == 'id' and t[1] == 'lit' and p.peek()[0] == '(':
        p.advance()
        p.advance()
        lit = True
    t = p.tok
    sp3abs = False
    if t[0] == '|':
        if absf:
            raise p.error("expected register or immediate")
        p.advance()
        sp3abs = True
    if is_register_token(p):
        item = parse_register(p, sp3neg or neg or absf or sp3abs)
        if type(item) is RegList and (sp3neg or neg or absf or sp3abs or lit):
            raise item.error        # a register list with modifiers is one operand range or nothing
        if lit:
            raise AsmError("expected immediate with lit modifier", 0, item.col + 1)
    else:
        if p.tok[0] == 'id' and (p.peek()[0] == ':' or (p.tok[1] in KEYWORDS and p.peek()[0] not in BINOPS)) and not (
                neg or absf or lit or sp3abs or sp3neg):
            raise p.error("not a valid operand.")
        if p.tok[0] == 'end':
            raise p.error("expected register or immediate" if (neg or absf or sp3neg or sp3abs)
                          else "not a valid operand.")
        item = _parse_imm(p, sp3abs)
        if lit:
            item.lit = True
    if sp3abs:
        p.expect('|', "expected vertical bar")
    if absf:
        p.expect(')', "expected closing parentheses")
    if lit:
        p.expect(')', "expected closing parentheses")
    if neg:
        p.expect(')', "expected closing parentheses")
    mneg = neg or sp3neg
    mabs = absf or sp3abs
    if mneg or mabs:
        if isinstance(item, Imm) and item.is_expr:
            raise AsmError("expected an absolute expression", 0, item.col + 1)
        if isinstance(item, Reg):
            return item.with_mods(mneg, mabs, col)
        item.neg, item.abs, item.col = mneg, mabs, col
    return item


def parse_item(p: ExprParser):
    """One operand item at the cursor."""
    t = p.tok
    k = t[0]
    if k == 'id':
        name = t[1]
        nxt = p.peek()[0]
        if nxt == ':':
            p.advance()
            p.advance()
            vtok = p.tok
            if name == 'dim':
                return Named(name, _parse_dim(p), t[2], vtok[2])
            if vtok[0] == 'end':
                raise p.error(f"expected a value for {name}")
            if vtok[0] == '[' and name in BIT_LISTS:
                return Named(name, _parse_bit_list(p, name), t[2], vtok[2])
            return Named(name, _parse_value(p), t[2], vtok[2])
        if name in KEYWORDS and nxt != '(' and nxt not in BINOPS:
            p.advance()
            return Named(name, None, t[2])
        if name in FUNCS and nxt == '(':
            return _parse_func(p)
    return parse_source(p)


def parse_tokens(toks: list) -> list:
    p = ExprParser(toks)
    items = []
    while p.kind() != 'end':
        if p.kind() == ',':
            raise p.error("unknown token in expression")
        items.append(parse_item(p))
        p.accept(',')
    return items


def parse_operands(text: str, col: int = 0) -> list:
    """The operand items of `text` (an instruction's operands), with columns counted from
    `col` (the position of `text` in its source line)."""
    return parse_tokens(tokenize(text, col))


# Operand pieces (text between top-level commas) -> items. No item spans a comma outside
# brackets, so a line's items are the concatenation of its pieces' items.
_piece_cache: dict = {}
_CACHE_LIMIT = 1 << 18


def _split_pieces(text: str):
    """Top-level comma-separated pieces, or None when the text has a string."""
    pieces = text.split(',')
    if '[' not in text and '(' not in text:
        return pieces
    if '"' in text:
        return None
    out = []
    acc = None
    depth = 0
    for p in pieces:
        acc = p if acc is None else acc + ',' + p
        depth += p.count('[') + p.count('(') - p.count(']') - p.count(')')
        if depth <= 0:
            out.append(acc)
            acc = None
            depth = 0
    if acc is not None:
        return None
    return out


_OP_START = frozenset('-+*/%&|^~!<>=(:,')
_OP_END = frozenset('+-*/%&^~!<>=(:,')


def _atoms(piece: str):
    """A piece split at whitespace into items that stand alone (`v3 clamp`, `off offset:16
    glc`), or None where whitespace may be inside one item (`1 + 2`, `abs( v1 )`)."""
    atoms = piece.split()
    if len(atoms) < 2:
        return atoms
    if '"' in piece:
        return None
    brackets = '[' in piece or '(' in piece
    for k, a in enumerate(atoms):
        if brackets and (a.count('[') != a.count(']') or a.count('(') != a.count(')')):
            return None
        if k and a[0] in _OP_START:
            return None
        if a[-1] in _OP_END:
            return None
    return atoms


# The commonest operand spellings, read without the tokenizer: registers (v1, v[2:3], ttmp[4:7],
# vcc_lo, lists [v4, v5]) with or without source modifiers (-v1, |v1|, neg(abs(v1)), sext(v1)),
# numbers (12, -3, 0x1f, 1.5, -2.0), keywords (off, glc), modifiers with a number or a list of
# numbers (offset:16, dpp8:[0,1,2,3,4,5,6,7], op_sel:[0,1]), image dimensions (dim:2D) and bare
# symbols (attr0.x, mrt0). Anything else goes through the full parser, and so do numbers with a
# leading zero (octal there).
_INT = r'(?:0|[1-9][0-9]*|0[xX][0-9a-fA-F]+)'
_REG = r'(?P<rp>v|s|ttmp)(?:(?P<rn>0|[1-9][0-9]*)|\[(?P<ra>0|[1-9][0-9]*)(?::(?P<rb>0|[1-9][0-9]*))?\])'
_FAST_ATOM = re.compile(rf"""
    (?P<reg>{_REG})
   |(?P<int>-?{_INT})
   |(?P<real>-?(?:(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+))
   |dim:(?P<dim>[A-Za-z_][A-Za-z0-9_]*|[1-9]D[A-Za-z0-9_]*)
   |(?P<word>[a-z_][a-z0-9_]*)(?::(?:(?P<val>-?{_INT})|\[(?P<list>{_INT}(?:,{_INT})*)\]))?
   |(?P<sym>[A-Za-z_$][A-Za-z0-9_.$@]*)
""", re.X)
_REG_ATOM = re.compile(_REG)
_BITS = frozenset(('0', '1'))


def _fast_atom(text: str):
    """The items of `text` (one operand or modifier, no spaces) when it has a common spelling,
    else None."""
    if not text or not text.isascii():
        return None
    c = text[0]
    if c in 'vs' and text[1:].isdigit() and len(text) > 1 and (text[1] != '0' or len(text) == 2):
        return [_make_reg(c, int(text[1:]), 1, 0)]
    if text.isdigit() and (c != '0' or len(text) == 1) and len(text) < 19:
        return [Imm(int(text))]
    if c == '-' or c == '|' or text[-1] == ')':
        reg = _fast_modified_reg(text)
        if reg is not None:
            return [reg]
    if c == '[' and text[-1] == ']':
        reg = _fast_reg_list(text)
        return None if reg is None else [reg]
    m = _FAST_ATOM.fullmatch(text)
    if m is None:
        return None
    k = m.lastgroup
    if k == 'reg':
        reg = _reg_of(m)
        return None if reg is None else [reg]
    if k == 'int':
        return _fast_int(text)
    if k == 'real':
        return [Imm(-float(text[1:]), True) if c == '-' else Imm(float(text), True)]
    if k == 'sym':
        return _fast_symbol(text)
    if k == 'dim':
        return [Named('dim', Sym(m.group('dim'), 4), 0, 4)]
    word = m.group('word')
    val = m.group('val')
    if val is not None:
        v = _int_value(val)
        return None if v is None or word == 'dim' else [Named(word, v, 0, len(word) + 1)]
    elems = m.group('list')
    if elems is not None:
        return _fast_list(word, elems.split(','))
    spec = SPECIAL_REGS.get(word)
    if spec is not None:
        return [Reg('s', spec[0], spec[1], spec[2], 0)]
    if word in KEYWORDS:
        return [Named(word)]
    return _fast_symbol(word)


def _reg_of(m, col=0):
    """The register a match of _REG names, None for a reversed range (AsmError for a bad size,
    alignment or range)."""
    prefix = m.group('rp')
    n = m.group('rn')
    if n is not None:
        return _make_reg(prefix, int(n), 1, col)
    a = int(m.group('ra'))
    b = m.group('rb')
    b = a if b is None else int(b)
    if b < a:
        return None
    return _make_reg(prefix, a, b - a + 1, col)


def _fast_reg_list(text: str):
    """`[v4, v5, v6]`, a list of plain registers, read as the parser reads it: a register
    range when they are consecutive, else a RegList. None for other text."""
    regs = []
    col = 1
    for part in text[1:-1].split(','):
        name = part.strip(' ')
        m = _REG_ATOM.fullmatch(name)
        at = col + part.find(name)
        if m is not None:
            reg = _reg_of(m, at)
        else:
            spec = SPECIAL_REGS.get(name)
            reg = None if spec is None else Reg('s', spec[0], spec[1], spec[2], at)
        if reg is None:
            return None
        regs.append(reg)
        col += len(part) + 1
    try:
        reg = _reg_from_list(regs, 0)
    except AsmError as e:
        return RegList(regs, 0, e.with_traceback(None))
    reg.parts = regs
    return reg


def _int_value(text: str):
    """The value of `[-]digits` or `[-]0xhex` as an expression reads it, None beyond 64 bits."""
    neg = text[0] == '-'
    if neg:
        text = text[1:]
    v = int(text, 16) if text[:2] in ('0x', '0X') else int(text)
    if v > MASK64:
        return None
    v = wrap64(v)
    return wrap64(-v) if neg else v


def _fast_int(text: str):
    v = _int_value(text)
    return None if v is None else [Imm(v)]


def _fast_symbol(name: str):
    """A bare symbol (an Imm holding its expression), None where the name may be a register."""
    if name in SPECIAL_REGS or name in UNAVAILABLE_REGS or name in KEYWORDS or name in _REG_PREFIXES or \
            _SINGLE_REG_RE.match(name) or ('.' in name and _SINGLE_REG_RE.match(name.split('.', 1)[0])):
        return None
    return [Imm(Expr(('sym', name), 0))]


def _fast_list(name: str, elems: list):
    """`name:[a,b,...]` with numbers as elements."""
    if name in BIT_LISTS:
        if len(elems) > 4 or any(e not in _BITS for e in elems):
            return None          # not a bit list: the full parser makes the BadList
        return [Named(name, [int(e) for e in elems], 0, len(name) + 1)]
    if name == 'dim':
        return None
    values = [_int_value(e) for e in elems]
    if None in values:
        return None
    return [Named(name, values, 0, len(name) + 1)]


def _fast_modified_reg(text: str):
    """A register with source modifiers: -v1, |v1|, -|v1|, neg(v1), abs(v1), neg(abs(v1)),
    sext(v1) ... None for other text."""
    neg = absf = False
    if text.startswith('sext(') and text[-1] == ')':
        reg = _fast_plain_reg(text[5:-1])
        return None if reg is None else Reg(reg.file, reg.code, reg.count, reg.tag, 0, 'sext', False)
    if text.startswith('neg(') and text[-1] == ')':
        neg = True
        text = text[4:-1]
    elif text[0] == '-':
        neg = True
        text = text[1:]
    if text.startswith('abs(') and text[-1] == ')':
        absf = True
        text = text[4:-1]
    elif len(text) > 2 and text[0] == '|' and text[-1] == '|':
        absf = True
        text = text[1:-1]
    if not (neg or absf):
        return None
    reg = _fast_plain_reg(text)
    if reg is None:
        return None
    return Reg(reg.file, reg.code, reg.count, reg.tag, 0, neg, absf)


def _fast_plain_reg(text: str):
    m = _REG_ATOM.fullmatch(text)
    if m is not None:
        return _reg_of(m)
    spec = SPECIAL_REGS.get(text)
    if spec is not None:
        return Reg('s', spec[0], spec[1], spec[2], 0)
    return None


def _cached(text: str) -> list:
    got = _piece_cache.get(text)
    if got is None:
        try:
            got = _fast_atom(text)
        except AsmError:
            got = None
        if got is None:
            got = parse_tokens(tokenize(text))
        if len(_piece_cache) > _CACHE_LIMIT:
            _piece_cache.clear()
        _piece_cache[text] = got
    return got


def _item_flags(items: list) -> int:
    """Bit 0: an item holds an expression naming symbols; bit 1: an item has source modifiers,
    is a modifier with a value or a register list; bit 2: an item is a Named."""
    f = 0
    for it in items:
        t = type(it)
        if t is Named:
            f |= 4
        if (t is Imm or t is Named) and type(it.value) is Expr:
            f |= 1
        if (t is Reg or t is Imm) and (it.neg or it.abs) or (t is Named and it.value is not None) or \
                t is RegList:
            f |= 2
    return f


def _piece_entry(piece: str):
    """(items, flags) of one comma-separated piece, cached."""
    stripped = piece.strip()
    atoms = _atoms(stripped) if ' ' in stripped or '\t' in stripped else None
    if atoms is None or len(atoms) < 2:
        got = _cached(stripped)
    else:
        got = []
        for a in atoms:
            got.extend(_cached(a))
    entry = (got, _item_flags(got))
    if len(_piece_entries) > _CACHE_LIMIT:
        _piece_entries.clear()
    _piece_entries[piece] = entry
    return entry


_piece_entries: dict = {}
_EMPTY_PIECE = re.compile(r'^\s*,|,\s*,')


def operand_items_flagged(text: str):
    """(items, whether any item holds an expression naming symbols, whether no item has source
    modifiers or is a modifier with a value, whether any item is a Named), from the caches."""
    r = _flag_cache.get(text)
    if r is not None:
        return r
    # atom by atom where the text allows (see _fast_atom), skipping the pieces' caches: a new
    # line mostly combines known atoms in a new way
    if ':[' in text:
        pieces = _split_pieces(text)
        got = None if pieces is None else _mixed_items(pieces) or _mixed_items(pieces, text)
    else:
        got = _mixed_items(text.split(',')) or _split_exactly_items(text)
    if got is not None:
        items, flags = got
    else:
        items, flags = _piece_items(text)
    r = (items, flags & 1 != 0, flags & 2 == 0, flags & 4 != 0)
    if flags & 1 or got is None:
        # kept for texts read again: the assembler keeps the encodings of the others (and
        # their atoms are cached)
        if len(_flag_cache) > _CACHE_LIMIT:
            _flag_cache.clear()
        _flag_cache[text] = r
    return r


def _piece_items(text: str):
    """(items, flags) of an operand text, piece by piece where it splits at its commas."""
    pieces = _split_pieces(text)
    if pieces is None or (len(pieces) > 1 and _EMPTY_PIECE.search(text) is not None):
        # no simple split (or an empty operand, which the full parser reports)
        items = parse_tokens(tokenize(text))
        return items, _item_flags(items)
    items = []
    flags = 0
    get = _piece_entries.get
    for piece in pieces:
        e = get(piece)
        if e is None:
            e = _piece_entry(piece)
        items += e[0]
        flags |= e[1]
    return items, flags


def _split_exactly_items(text: str):
    """_mixed_items of a text whose commas may be inside brackets (`[v4, v5]`, `hwreg(1, 2)`)."""
    pieces = _split_pieces(text) if '[' in text or '(' in text else text.split(',')
    return None if pieces is None else _mixed_items(pieces, text)


def _mixed_items(pieces: list, text: str | None = None):
    """(items, flags) of the comma-separated pieces of `text`: atom by atom where they have
    common spellings (a list `[v4, v5]` is one atom), else whole as _piece_items reads them.
    None where a piece is empty. Without `text`, only atoms with common spellings are read
    (None for any other piece)."""
    items = []
    flags = 0
    get = _atom_entries.get
    last = len(pieces) - 1
    for k, piece in enumerate(pieces):
        got = _piece_atoms(piece.split(' ') if text is None or '[' not in piece else _bracketed_atoms(piece), get)
        if got is None:
            if text is None or (last and _EMPTY_PIECE.search(text) is not None):
                return None          # an empty operand: the full parser reports it
            got = _piece_entries.get(piece) or _piece_entry(piece)
        elif got is _NO_ATOMS:
            if k < last:
                return None          # an empty operand: the full parser reports it
            continue
        items += got[0]
        flags |= got[1]
    return items, flags


_NO_ATOMS = ((), 0)


def _piece_atoms(atoms: list, get):
    """(items, flags) of one piece's atoms (split at spaces) when all have common spellings,
    _NO_ATOMS for a blank piece, None for any other."""
    items = None
    flags = 0
    for atom in atoms:
        if not atom:
            continue
        if items is None:
            items = []
        elif atom[0] == '-' or atom[0] == '|':
            return None              # might continue an expression (`1 -2`): the parser decides
        e = get(atom)
        if e is None:
            e = _atom_entry(atom)
        if not e:
            return None
        items += e[0]
        flags |= e[1]
    return _NO_ATOMS if items is None else (items, flags)


def _bracketed_atoms(piece: str) -> list:
    """A piece split at the spaces outside square brackets (`[v4, v5] glc` is two atoms)."""
    out = []
    acc = None
    depth = 0
    for a in piece.split(' '):
        acc = a if acc is None else acc + ' ' + a
        depth += a.count('[') - a.count(']')
        if depth <= 0:
            out.append(acc)
            acc = None
            depth = 0
    if acc is not None:
        out.append(acc)
    return out


def _atom_entry(atom: str):
    """(items, flags) of one atom with a common spelling, else False (both cached)."""
    try:
        got = _fast_atom(atom)
    except AsmError:
        got = None
    entry = False if got is None else (got, _item_flags(got))
    if len(_atom_entries) > _CACHE_LIMIT:
        _atom_entries.clear()
    _atom_entries[atom] = entry
    return entry


_atom_entries: dict = {}
_flag_cache: dict = {}


def operand_items(text: str) -> list:
    """The operand items of `text` from the caches. Their columns are relative to the piece
    each came from: use parse_operands for exact columns (the assembler does so to report an
    error)."""
    return operand_items_flagged(text)[0]


def clear_caches():
    """Forget every parsed operand string (benchmarks measure cold runs with this)."""
    _piece_cache.clear()
    _piece_entries.clear()
    _atom_entries.clear()
    _flag_cache.clear()
