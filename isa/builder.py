"""Building gfx1100 instructions from Python, for code generators.

    from isa.builder import v, s, ins, off, vcc_lo
    ins.v_add_f32(v[1], v[2], v[3]).encode()
    ins.global_load_b32(v[1], v[2:4], off, offset=16)       # v[2:4] is v2..v3 (end excluded)
    ins.v_fma_f32(v[0], -v[1], abs(v[2]), 0.5, clamp=True)
    ins.v_mov_b32(v[1], v[2], row_shl=1)                     # DPP chosen from the modifier
    ins.s_waitcnt(vmcnt=0, lgkmcnt=0)
    vopd(ins.v_dual_mul_f32(v[0], v[1], v[2]), ins.v_dual_add_f32(v[3], v[4], v[5]))

Operands become the same objects the assembler parses text into and go through the same
matcher and encoders (isa.asm.encoder), so a built instruction encodes exactly as its text
would; nothing is formatted as text and parsed again. Modifier keywords may come in any order.
Errors are `isa.AsmError`.

`Program` collects instructions and labels and resolves branches:

    p = Program()
    p.label('loop')
    p += ins.s_sub_u32(s[0], s[0], 1)
    p += ins.s_cbranch_scc0('loop')
    code = p.encode()
"""

from isa import operands as _ops
from isa.asm import special as _special
from isa.asm.encoder import encode_instruction, encode_special
from isa.asm.lexer import Expr
from isa.asm.operand import SPECIAL_REGS, Func, Imm, Named, Reg, RegList, Sym, _make_reg
from isa.asm.vopd import encode_vopd
from isa.errors import AsmError

__all__ = ['v', 's', 'ttmp', 'ins', 'off', 'vopd', 'sext', 'hwreg', 'sendmsg', 'swizzle', 'Instruction', 'Program',
           'vcc', 'vcc_lo', 'vcc_hi', 'exec', 'exec_lo', 'exec_hi', 'm0', 'null', 'scc', 'src_scc',
           'src_shared_base', 'src_shared_limit', 'src_private_base', 'src_private_limit']


# ---------------------------------------------------------------------------------------------
# Registers


class _RegOps:
    """Python operators on registers: -r (neg), abs(r) (abs)."""

    def __neg__(self):
        r = self._reg
        return _Operand(r.with_mods(not r.neg, r.abs, r.col))

    def __abs__(self):
        r = self._reg
        return _Operand(r.with_mods(r.neg, True, r.col))


class _Operand(_RegOps):
    """A register operand (with or without source modifiers)."""
    __slots__ = ('_reg',)

    def __init__(self, reg: Reg):
        self._reg = reg

    def __repr__(self):
        return _reg_text(self._reg)

    def __eq__(self, other):
        return isinstance(other, _Operand) and _key(self._reg) == _key(other._reg)

    def __hash__(self):
        return hash(_key(self._reg))

    @property
    def lo(self):
        """The low 16 bits of a VGPR (v_mov_b16 operands)."""
        return self._half('vl')

    @property
    def hi(self):
        return self._half('vh')

    def _half(self, tag):
        r = self._reg
        if r.file != 'v' or r.count != 1:
            raise AsmError("only a single VGPR has 16-bit halves")
        return _Operand(Reg('v', r.code, 1, tag))


def _key(r):
    return (r.file, r.code, r.count, r.tag, r.neg, r.abs)


def _reg_text(r: Reg) -> str:
    if r.tag in ('vl', 'vh'):
        t = f"v{r.code}.{'l' if r.tag == 'vl' else 'h'}"
    elif r.tag == 'v':
        t = f'v{r.code}' if r.count == 1 else f'v[{r.code}:{r.code + r.count - 1}]'
    elif r.tag in ('s', 'ttmp'):
        base = r.code - (_ops.TTMP_FIRST if r.tag == 'ttmp' else 0)
        t = f'{r.tag}{base}' if r.count == 1 else f'{r.tag}[{base}:{base + r.count - 1}]'
    else:
        t = _SPECIAL_TEXT.get(r.tag, r.tag)
    if r.neg == 'sext':
        return f'sext({t})'
    if r.abs:
        t = f'|{t}|'
    if r.neg:
        t = f'-{t}'
    return t


_SPECIAL_TEXT = {'scc': 'src_scc', 'shared_base': 'src_shared_base', 'shared_limit': 'src_shared_limit',
                 'private_base': 'src_private_base', 'private_limit': 'src_private_limit'}


class _RegFile:
    """v[3], v[0:4] (v0..v3), s[4:6] (s4..s5): Python indexing, end excluded."""

    def __init__(self, prefix: str):
        self._prefix = prefix

    def __getitem__(self, key):
        if isinstance(key, slice):
            if key.step not in (None, 1):
                raise AsmError("register ranges have no step")
            first = 0 if key.start is None else key.start
            if key.stop is None:
                raise AsmError("a register range needs an end")
            count = key.stop - first
        elif isinstance(key, int) and not isinstance(key, bool):
            first, count = key, 1
        else:
            raise AsmError(f"register index must be an int or a slice, not {type(key).__name__}")
        if count < 1:
            raise AsmError("empty register range")
        return _Operand(_make_reg(self._prefix, first, count, 0))

    def __repr__(self):
        return self._prefix


v = _RegFile('v')
s = _RegFile('s')
ttmp = _RegFile('ttmp')


def _special_reg(name):
    code, count, tag = SPECIAL_REGS[name]
    return _Operand(Reg('s', code, count, tag))


vcc = _special_reg('vcc')
vcc_lo = _special_reg('vcc_lo')
vcc_hi = _special_reg('vcc_hi')
exec = _special_reg('exec')   # noqa: A001 - the register's name
exec_lo = _special_reg('exec_lo')
exec_hi = _special_reg('exec_hi')
m0 = _special_reg('m0')
null = _special_reg('null')
scc = src_scc = _special_reg('src_scc')
src_shared_base = _special_reg('src_shared_base')
src_shared_limit = _special_reg('src_shared_limit')
src_private_base = _special_reg('src_private_base')
src_private_limit = _special_reg('src_private_limit')


class _Off:
    """`off`: no address register (GLOBAL saddr, SCRATCH addresses, MUBUF vaddr)."""

    def __repr__(self):
        return 'off'


off = _Off()


class _Mod:
    """A source modifier applied to an immediate: neg(x), abs(x), sext(x)."""
    __slots__ = ('value', 'neg', 'abs')

    def __init__(self, value, neg=False, abs_=False):
        self.value = value
        self.neg = neg
        self.abs = abs_


def sext(x):
    """sext(x): sign-extend an integer operand (VOP3 forms with source modifiers)."""
    if isinstance(x, _Operand):
        r = x._reg
        return _Operand(Reg(r.file, r.code, r.count, r.tag, 0, 'sext', False))
    return _Mod(x, 'sext', False)


def neg(x):
    if isinstance(x, _Operand):
        return -x
    return _Mod(x, True, False)


def fabs(x):
    """abs(x) for an immediate (abs() works on registers directly)."""
    if isinstance(x, _Operand):
        return abs(x)
    return _Mod(x, False, True)


def hwreg(reg, offset=None, size=None):
    """hwreg(HW_REG_..., offset, size) for s_getreg/s_setreg."""
    args = [Sym(reg) if isinstance(reg, str) else reg]
    if offset is not None or size is not None:
        args += [0 if offset is None else offset, 32 if size is None else size]
    return Func('hwreg', args)


def sendmsg(msg, op=None, stream=None):
    args = [Sym(msg) if isinstance(msg, str) else msg]
    if op is not None:
        args.append(op)
    if stream is not None:
        args.append(stream)
    return Func('sendmsg', args)


def swizzle(mode, *args):
    return Func('swizzle', [Sym(mode)] + list(args))


# ---------------------------------------------------------------------------------------------
# Operand conversion


def _item(x):
    if isinstance(x, _Operand):
        return x._reg
    if x is off:
        return Named('off')
    if isinstance(x, bool):
        raise AsmError("a bool is not an operand")
    if isinstance(x, int):
        return Imm(x)
    if isinstance(x, float):
        return Imm(x, True)
    if isinstance(x, _Mod):
        inner = _item(x.value)
        if not isinstance(inner, Imm):
            raise AsmError("expected register or immediate")
        return Imm(inner.value, inner.is_float, 0, x.neg, x.abs)
    if isinstance(x, (Func, Named)):
        return x
    if isinstance(x, str):
        return Imm(Expr(('sym', x), 0))
    if isinstance(x, (list, tuple)):
        # image addresses named one by one: [v[4], v[9], v[12:15]]
        parts = [_item(r) for r in x]
        if not parts or not all(isinstance(r, Reg) for r in parts):
            raise AsmError("expected a list of registers")
        return RegList(parts, 0, AsmError("registers in a list must have consecutive indices", 0, 1))
    raise AsmError(f"not an operand: {x!r}")


_FLAG_MODS = frozenset(('clamp', 'glc', 'slc', 'dlc', 'gds', 'offen', 'idxen', 'tfe', 'row_mirror',
                        'row_half_mirror', 'done', 'row_en', 'unorm', 'r128', 'a16', 'lwe', 'd16'))


def _mod_items(kw: dict) -> list:
    out = []
    for name, value in kw.items():
        if name in _FLAG_MODS:
            if value:
                out.append(Named(name))
            continue
        if name == 'omod':
            if value not in (0, 1, 2, 3):
                raise AsmError("omod is 0, 1 (mul:2), 2 (mul:4) or 3 (div:2)")
            if value:
                out.append(Named('div', 2) if value == 3 else Named('mul', 2 * value))
            continue
        if name == 'format' and isinstance(value, str):
            value = [Sym(value)]
        elif name == 'format' and isinstance(value, (list, tuple)):
            value = [Sym(x) if isinstance(x, str) else x for x in value]
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, bool):
            value = int(value)
        out.append(Named(name, value))
    return out


# ---------------------------------------------------------------------------------------------
# Instructions


class Instruction:
    """An encoded instruction: `.encode()` (or bytes(instr)) gives its machine code."""
    __slots__ = ('mnemonic', 'operands', 'modifiers', '_enc')

    def __init__(self, mnemonic, operands, modifiers, enc):
        self.mnemonic = mnemonic
        self.operands = operands
        self.modifiers = modifiers
        self._enc = enc

    def encode(self) -> bytes:
        if self._enc.fixup is not None:
            raise AsmError(f"{self.mnemonic} refers to a label: encode it in a Program")
        return self._enc.data

    def __bytes__(self):
        return self.encode()

    @property
    def size(self) -> int:
        return len(self._enc.data)

    def text(self) -> str:
        """The instruction as assembly text (operands as given, not LLVM's canonical spelling)."""
        ops = ', '.join(_text(o) for o in self.operands)
        mods = ' '.join(_mod_text(k, w) for k, w in self.modifiers.items() if w is not False and w is not None)
        return ' '.join(x for x in (self.mnemonic, ops, mods) if x)

    def __repr__(self):
        return f'<{self.text()}>'


def _text(o):
    if isinstance(o, _Operand):
        return _reg_text(o._reg)
    if isinstance(o, (list, tuple)):
        return '[' + ', '.join(_text(x) for x in o) + ']'
    if isinstance(o, _Mod):
        t = _text(o.value)
        if o.neg == 'sext':
            return f'sext({t})'
        if o.abs:
            t = f'|{t}|'
        return f'-{t}' if o.neg else t
    if isinstance(o, Func):
        return f"{o.name}({', '.join(a.name if isinstance(a, Sym) else str(a) for a in o.args)})"
    if isinstance(o, int) and not isinstance(o, bool):
        return hex(o) if o > 64 else str(o)
    return str(o)


def _mod_text(k, w):
    if w is True:
        return k
    if isinstance(w, (list, tuple)):
        return f"{k}:[{','.join(str(x) for x in w)}]"
    return f'{k}:{w}'


_WAITCNT_NAMES = ('vmcnt', 'expcnt', 'lgkmcnt')


def _waitcnt(kw):
    value = _special.WAITCNT_DEFAULT
    for name, n in kw.items():
        base = name[:-4] if name.endswith('_sat') else name
        if base not in _special.WAITCNT_FIELDS:
            raise AsmError(f"invalid counter name {name}")
        shift, width = _special.WAITCNT_FIELDS[base]
        limit = (1 << width) - 1
        if not isinstance(n, int) or not 0 <= n <= limit:
            if name.endswith('_sat') and isinstance(n, int):
                n = min(max(n, 0), limit)
            else:
                raise AsmError(f"too large value for {name}")
        value = (value & ~(limit << shift)) | (n << shift)
    return value


def _delay(kw):
    value = 0
    for name, sel in kw.items():
        if name not in _special.DELAY_FIELDS:
            raise AsmError(f"invalid field name {name}")
        shift, names = _special.DELAY_FIELDS[name]
        if sel not in names:
            raise AsmError(f"invalid value name {sel}")
        value |= names[sel] << shift
    return value


def _depctr(kw):
    value = _special.DEPCTR_DEFAULT
    for name, n in kw.items():
        if name not in _special.DEPCTR_FIELDS:
            raise AsmError(f"invalid counter name {name}")
        shift, width = _special.DEPCTR_FIELDS[name]
        if not isinstance(n, int) or not 0 <= n < (1 << width):
            raise AsmError(f"invalid value for {name}")
        value = (value & ~(((1 << width) - 1) << shift)) | (n << shift)
    return value


_CUSTOM = {'s_waitcnt': _waitcnt, 's_delay_alu': _delay, 's_waitcnt_depctr': _depctr}


class _Dual:
    """One half of a VOPD instruction; combine two with vopd(x, y)."""
    __slots__ = ('mnemonic', 'operands')

    def __init__(self, mnemonic, operands):
        self.mnemonic = mnemonic
        self.operands = operands

    def text(self):
        return f"{self.mnemonic} {', '.join(_text(o) for o in self.operands)}"


def vopd(x: _Dual, y: _Dual) -> Instruction:
    """The dual-issue instruction `x :: y`."""
    if not isinstance(x, _Dual) or not isinstance(y, _Dual):
        raise AsmError("vopd takes two ins.v_dual_* halves")
    enc = encode_vopd(x.mnemonic, [_item(o) for o in x.operands], 0, 0, y.mnemonic,
                      [_item(o) for o in y.operands], 0, 0)
    return Instruction(f'{x.mnemonic} :: {y.mnemonic}', list(x.operands) + list(y.operands), {}, enc)


def build(mnemonic: str, *operands, **modifiers) -> Instruction:
    """Encode `mnemonic` with the given operands and modifier keywords."""
    name = mnemonic.lower()
    if name in _CUSTOM:
        if operands and (modifiers or len(operands) > 1 or not isinstance(operands[0], int)):
            raise AsmError(f"{name} takes either one integer or keyword fields")
        value = operands[0] if operands else _CUSTOM[name](modifiers)
        if not -0x8000 <= value <= 0xFFFF:
            raise AsmError("invalid operand for instruction")
        return Instruction(name, list(operands), modifiers, encode_special(name, value))
    if name.startswith('v_dual_') and not modifiers:
        return _Dual(name, operands)
    items = [_item(o) for o in operands] + _mod_items(modifiers)
    enc = encode_instruction(name, items, 0, any_order=True)
    return Instruction(name, list(operands), modifiers, enc)


class _Ins:
    """ins.<mnemonic>(operands..., modifiers...) -> Instruction."""

    def __getattr__(self, name):
        if name.startswith('__'):
            raise AttributeError(name)

        def make(*operands, **modifiers):
            return build(name, *operands, **modifiers)
        make.__name__ = name
        return make


ins = _Ins()


class Program:
    """A sequence of instructions and labels; branches to labels are resolved by encode()."""

    def __init__(self):
        self.items: list = []

    def label(self, name: str):
        self.items.append(name)
        return self

    def append(self, instr: Instruction):
        if not isinstance(instr, Instruction):
            raise AsmError(f"not an instruction: {instr!r}")
        self.items.append(instr)
        return self

    def __iadd__(self, instr):
        return self.append(instr)

    def encode(self) -> bytes:
        labels = {}
        offset = 0
        for it in self.items:
            if isinstance(it, str):
                if it in labels:
                    raise AsmError(f"symbol '{it}' is already defined")
                labels[it] = offset
            else:
                offset += it.size
        out = bytearray()
        for it in self.items:
            if isinstance(it, str):
                continue
            enc = it._enc
            data = bytearray(enc.data)
            if enc.fixup is not None:
                kind, expr, at = enc.fixup
                try:
                    value = expr.evaluate(labels.get, len(out))
                except AsmError as e:
                    msg = e.message.replace('undefined symbol', 'undefined label') if kind == 'br' else e.message
                    raise AsmError(msg) from None
                if kind == 'br':
                    delta = value - (len(out) + 4)
                    if delta % 4 or not -0x20000 <= delta <= 0x1FFFC:
                        raise AsmError("branch target out of range")
                    data[0:2] = ((delta // 4) & 0xFFFF).to_bytes(2, 'little')
                else:
                    data[at:at + 4] = (value & 0xFFFFFFFF).to_bytes(4, 'little')
            out += data
        return bytes(out)
