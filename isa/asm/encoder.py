"""Matching parsed operands against an instruction's forms, and encoding the chosen form.

`encode_instruction(mnemonic, items)` tries the forms of a mnemonic in LLVM's order (e32, e64,
DPP, ...) and returns an `Encoded` for the first that accepts the operands, or raises AsmError
with the most specific complaint. The builder calls the same function with operand objects it
made itself, so text and builder share every rule here.
"""

from isa import operands as ops
from isa.asm import special, syntax_misc
from isa.asm.immediates import F64_INLINE, ImmError, encode_float, encode_int, int_code
from isa.asm.lexer import Expr, ExprParser
from isa.asm.operand import BadList, Func, Imm, Named, Reg, RegList, Sym
from isa.asm.syntax import is_unsupported, variants
from isa.errors import AsmError
from isa.tables import table


class Fail(Exception):
    """A form does not accept the operands: message, 0-based column, and how far matching got
    (the most advanced failure across forms is the one reported)."""

    def __init__(self, message, col=None, rank=0):
        self.message = message
        self.col = col
        self.rank = rank


class Encoded:
    """An encoded instruction: its bytes, and for a branch to a label the expression to resolve
    once labels have addresses (the simm16 field is patched then)."""
    __slots__ = ('data', 'fixup', 'name')

    def __init__(self, data: bytes, fixup=None, name=''):
        self.data = data
        self.fixup = fixup
        self.name = name


# ---------------------------------------------------------------------------------------------
# Field layout per format: field -> (lo, mask).

_FIELDS = {}


def fields(fmt: str) -> dict:
    f = _FIELDS.get(fmt)
    if f is None:
        f = {n: (x.lo, x.mask) for n, x in table().formats[fmt].fields.items()}
        _FIELDS[fmt] = f
    return f


# ---------------------------------------------------------------------------------------------
# Per-instruction matching state.

class State:
    __slots__ = ('vals', 'literal', 'lit_col', 'lit_expr', 'sregs', 'neg', 'abs', 'mods')

    def __init__(self, variant=None):
        self.vals = {}
        self.literal = None
        self.lit_col = None
        self.lit_expr = None
        self.sregs = []
        self.neg = 0
        self.abs = 0
        self.mods = {}

    def add_literal(self, value, col):
        if self.literal is None:
            self.literal = value
            self.lit_col = col
        elif self.literal != value:
            raise Fail("only one unique literal operand is allowed", col, 1000)


_NOT_CONST_BUS = frozenset((ops.NULL,))
_VGPR_FIRST = ops.VGPR_FIRST


def _accept_src(slot, item, st: State):
    """A VALU/SALU source -> its 9-bit code; records literal and scalar reads."""
    cls = type(item)
    if cls is Reg:
        modified = item.neg or item.abs
        if modified:
            sext = slot.name == 'sext'
            if not slot.modbits or (not slot.fpmods and not (sext and item.neg == 'sext' and not item.abs)):
                return None
            if item.neg == 'sext' and not sext:
                return None
        if item.file == 'v':
            if not slot.allow_v or item.count != slot.regs or item.tag != 'v' or (slot.lo128 and item.code >= 128):
                return None
            code = _VGPR_FIRST + item.code
        else:
            if not slot.allow_s or item.tag not in slot.tags:
                return None
            if item.count is not None and item.count != slot.regs:
                return None
            code = item.code
            st.sregs.append((code, item.count))
        if modified:
            bit = 1 << slot.index
            if item.neg:
                st.neg |= bit
            if item.abs:
                st.abs |= bit
        return code
    sext = slot.name == 'sext'
    if cls is Imm:
        if not slot.allow_const:
            return None
        if (item.neg or item.abs) and not slot.fpmods and not (sext and item.neg == 'sext' and not item.abs):
            return None
        if item.neg == 'sext' and not sext:
            return None
        v = item.value
        if type(v) is Expr:
            if not slot.allow_lit or (slot.modbits and (slot.fpmods or sext or slot.otype != 'i32')):
                return None          # a VOP3 relocatable literal only for plain 32-bit integers
            st.add_literal(('expr', id(v)), item.col)
            st.lit_expr = v
            return ops.LITERAL
        neg, absf = item.neg, item.abs
        if (neg or absf) and not slot.modbits and not item.is_float and slot.otype in ('f64', 'i64'):
            return None          # no folded form: the VOP3 encoding carries the modifier
        if (neg or absf) and slot.modbits:
            if not item.is_float and slot.otype in ('f64', 'i64') and int_code(v) is None \
                    and F64_INLINE.get(v & 0xFFFFFFFFFFFFFFFF) is None:
                return None      # a 64-bit literal with modifiers has no 32-bit form
            bit = 1 << slot.index
            if neg:
                st.neg |= bit
            if absf:
                st.abs |= bit
            neg = absf = False
        try:
            if item.is_float:
                d = v
                if absf:
                    d = abs(d)
                if neg:
                    d = -d
                code, lit = encode_float(d, slot.otype)
            else:
                code, lit = encode_int(v, slot.otype, neg, absf)
        except ImmError:
            return None
        if slot.name == 'wmma' and code == ops.FLOAT_LAST:
            return None
        if lit is not None:
            if not slot.allow_lit:
                return None
            if slot.name == 'droplit':
                return code          # LLVM encodes the literal marker and drops the value here
            st.add_literal(lit, item.col)
        return code
    return None


def _accept_sreg(slot, item, st):
    if type(item) is not Reg or item.file != 's' or item.neg or item.abs:
        return None
    if item.tag not in slot.tags:
        return None
    if item.count is not None and item.count != slot.regs:
        return None
    return item.code


def _imm_int(item, lo, hi):
    """An integer immediate within [lo, hi] (lo None: any value, truncated)."""
    if type(item) is not Imm or item.neg or item.abs:
        return None
    v = item.value
    if item.is_float:
        return None
    if type(v) is Expr:
        return v
    if lo is not None and not lo <= v <= hi:
        return None
    return v


# ---------------------------------------------------------------------------------------------
# Positional operand matching.

def _match_slots(variant, items, st: State, skip_fixed=False) -> int:
    """Match positional operands; returns the index of the first modifier item."""
    slots = variant.slots
    n = len(items)
    i = 0
    vals = st.vals
    for slot in slots:
        kind = slot.kind
        if i < n:
            item = items[i]
            if type(item) is Named:
                if item.value is None and (kind == 'label' or (kind == 'src' and slot.allow_lit)):
                    item = Imm(Expr(('sym', item.name), item.col), False, item.col)   # a symbol named like a keyword
                elif kind not in _NAMED_OK:
                    if slot.optional:
                        if kind == 'fixed':
                            st.mods['_nofixed'] = True
                        continue
                    # LLVM does not read a modifier with a value where an operand is due
                    raise Fail("invalid operand for instruction" if item.value is None else "not a valid operand.",
                               item.col, i)
        else:
            if slot.optional:
                if kind == 'fixed':
                    st.mods['_nofixed'] = True
                continue
            raise Fail("too few operands for instruction", None, i)
        if kind == 'src':
            code = _accept_src(slot, item, st)
            if code is None:
                if slot.name == 'v16':
                    code = _accept_v16(item)
                    if code is not None:
                        vals[slot.field] = code
                        i += 1
                        continue
                raise Fail("invalid operand for instruction", item.col, i)
            vals[slot.field] = code
        elif kind == 'vgpr':
            if type(item) is not Reg or item.file != 'v' or item.tag != 'v' or item.count != slot.regs \
                    or item.neg or item.abs or (slot.lo128 and item.code >= 128):
                if slot.name == 'vdata' and type(item) is Reg and item.file == 'v' and item.tag == 'v' \
                        and item.count == slot.regs + 1 and not item.neg and not item.abs:
                    st.mods['_vdata_extra'] = True
                    vals[slot.field] = item.code
                    i += 1
                    continue
                raise Fail("invalid operand for instruction", item.col, i)
            vals[slot.field] = item.code + 256 if slot.field in _SRC_FIELDS else item.code
        elif kind == 'sreg':
            code = _accept_sreg(slot, item, st)
            if code is None:
                raise Fail("invalid operand for instruction", item.col, i)
            if slot.name == 'read':
                st.sregs.append((code, item.count))
            vals[slot.field] = code
        elif kind == 'fixed':
            if type(item) is Reg and item.tag == slot.fixed and not item.neg and not item.abs and not skip_fixed:
                st.mods['_fixed'] = st.mods.get('_fixed', 0) + 1
                i += 1
                continue
            if slot.optional:
                st.mods['_nofixed'] = True
                continue
            raise Fail("invalid operand for instruction", item.col, i)
        else:
            _match_special(slot, item, st, i)
        i += 1
    if '_nofixed' in st.mods and '_fixed' in st.mods:
        item = items[i - 1] if i else None
        raise Fail("invalid operand for instruction", getattr(item, 'col', None), i)
    return i


_SRC_FIELDS = frozenset(('src0', 'src1', 'src2'))
_EXPR_KINDS = frozenset(('label', 'imm', 'imm32', 'kimm'))
_NAMED_OK = frozenset(('saddr', 'vaddr_off', 'exp_src', 'hwreg', 'sendmsg', 'sendmsg_rtn'))


def _macro_imm(item, i, message):
    """The 16-bit value of a hwreg/sendmsg operand written as a number."""
    if type(item) is Imm and not item.neg and not item.abs and type(item.value) is not Expr:
        v = item.value
        if item.is_float or not -0x8000 <= v <= 0xFFFF:
            raise Fail("invalid immediate: only 16-bit values are legal", item.col, i)
        return v & 0xFFFF
    if (type(item) is Reg or type(item) is Imm) and (item.neg or item.abs):
        raise _bad(item, i)
    raise Fail(message, getattr(item, 'col', None), i)


def _accept_v16(item):
    if type(item) is Reg and item.file == 'v' and item.tag in ('vl', 'vh') and not item.neg and not item.abs:
        return ops.VGPR_FIRST + item.code + (128 if item.tag == 'vh' else 0)
    return None


def _bad(item, i):
    return Fail("invalid operand for instruction", getattr(item, 'col', None), i)


def _match_special(slot, item, st, i):
    match = _SPECIAL_MATCHERS.get(slot.kind)
    if match is None:
        if slot.kind in ('waitcnt', 'delay', 'depctr'):
            raise _bad(item, i)
        raise AsmError(f"internal: unknown operand kind {slot.kind}")
    match(slot, item, st, i)


# Operand kinds beyond registers and sources: kind -> matcher (slot, item, state, index), which
# stores the operand's fields in the state or raises Fail.

def _match_imm(slot, item, st, i):
    vals = st.vals
    v = _imm_int(item, slot.lo, slot.hi)
    if v is None:
        raise _bad(item, i)
    if type(v) is Expr:
        raise Fail("expected absolute expression", item.col, i)
    vals[slot.field] = v


def _match_label(slot, item, st, i):
    vals = st.vals
    v = _imm_int(item, None, None)
    if v is None:
        raise _bad(item, i)
    if type(v) is Expr:
        if v.node[0] != 'sym':
            raise Fail("expected an absolute expression or a label", item.col, i)
        st.mods['_fixup'] = v
        vals[slot.field] = 0
    else:
        vals[slot.field] = v


def _match_v16(slot, item, st, i):
    vals = st.vals
    code = _accept_v16(item)
    if code is None:
        raise _bad(item, i)
    vals[slot.field] = code if slot.field in _SRC_FIELDS else code - ops.VGPR_FIRST


def _expression_literal(item, st, i) -> bool:
    """Refuses all but a plain immediate; one that is an expression becomes the literal, resolved
    later (True)."""
    if type(item) is not Imm or item.neg or item.abs:
        raise _bad(item, i)
    v = item.value
    if type(v) is Expr:
        st.add_literal(('expr', id(v)), item.col)
        st.lit_expr = v
        return True
    return False


def _match_kimm(slot, item, st, i):
    if _expression_literal(item, st, i):
        return
    v = item.value
    if item.is_float:
        from isa.asm.immediates import f16_bits, f32_bits
        try:
            lit = f16_bits(v) if slot.otype == 'f16' else f32_bits(v)
        except ImmError:
            raise _bad(item, i) from None
    else:
        hi = 0xFFFF if slot.otype == 'f16' else 0xFFFFFFFF
        lo = -0x8000 if slot.otype == 'f16' else -0x80000000
        if not lo <= v <= hi:
            raise _bad(item, i)
        lit = v & hi
    st.add_literal(lit, item.col)


def _match_imm32(slot, item, st, i):
    if _expression_literal(item, st, i):
        return
    v = item.value
    if item.is_float:
        from isa.asm.immediates import f64_bits
        v = f64_bits(v) & 0xFFFFFFFF
    elif not -0x80000000 <= v <= 0xFFFFFFFF:
        raise _bad(item, i)
    st.add_literal(v & 0xFFFFFFFF, item.col)


def _match_hwreg(slot, item, st, i):
    vals = st.vals
    if type(item) is Func and item.name == 'hwreg':
        vals[slot.field] = special.hwreg_value(item)
    else:
        vals[slot.field] = _macro_imm(
            item, i, "expected a hwreg macro, structured immediate or an absolute expression")


def _match_sendmsg(slot, item, st, i):
    kind = slot.kind
    vals = st.vals
    if type(item) is Func and item.name == 'sendmsg':
        vals[slot.field] = special.sendmsg_value(item, kind == 'sendmsg_rtn')
    else:
        vals[slot.field] = _macro_imm(item, i, "expected a sendmsg macro or an absolute expression")


def _match_smem_offset(slot, item, st, i):
    vals = st.vals
    if type(item) is Reg:
        code = _accept_sreg(_SMEM_SOFF_SLOT, item, st)
        if code is None:
            raise _bad(item, i)
        vals['soffset'] = code
    else:
        v = _imm_int(item, None, None)
        if v is None:
            raise _bad(item, i)
        if type(v) is Expr:
            raise Fail("expected absolute expression", item.col, i)
        _check_smem_offset(slot.name == 'buffer', v, item.col, i)
        vals['offset'] = v
        st.mods['_smem_imm'] = True


def _match_saddr(slot, item, st, i):
    vals = st.vals
    if type(item) is Named and item.name == 'off' and item.value is None:
        if slot.name == 'sreg':
            raise _bad(item, i)
        vals['saddr'] = ops.NULL
    elif slot.name == 'off':
        raise _bad(item, i)
    else:
        code = _accept_sreg(slot, item, st)
        if code is None:
            raise _bad(item, i)
        vals['saddr'] = code


def _match_vaddr_off(slot, item, st, i):
    vals = st.vals
    if type(item) is Named and item.name == 'off' and item.value is None:
        st.mods['_vaddr'] = 0
    elif type(item) is Reg and item.file == 'v' and item.tag == 'v' and not item.neg and not item.abs \
            and (item.count == 1 or (slot.name == 'buf' and item.count == 2)):
        vals[slot.field] = item.code
        st.mods['_vaddr'] = item.count
    else:
        raise _bad(item, i)


def _match_soffset(slot, item, st, i):
    vals = st.vals
    if type(item) is Reg:
        code = _accept_sreg(slot, item, st)
    elif type(item) is Imm and not item.neg and not item.abs and type(item.value) is not Expr:
        try:
            code, lit = encode_float(item.value, 'i32') if item.is_float else encode_int(item.value, 'i32')
        except ImmError:
            code, lit = None, None
        if lit is not None:
            code = None
    else:
        code = None
    if code is None:
        raise _bad(item, i)
    vals[slot.field] = code


def _match_vinterp_src(slot, item, st, i):
    vals = st.vals
    if type(item) is not Reg or item.file != 'v' or item.tag != 'v' or item.count != 1 or item.neg == 'sext':
        raise _bad(item, i)
    if item.neg:
        st.neg |= 1 << slot.index      # |x| is accepted and has no bit here
    vals[slot.field] = ops.VGPR_FIRST + item.code


def _match_exp_src(slot, item, st, i):
    vals = st.vals
    if type(item) is Named and item.name == 'off' and item.value is None:
        vals[slot.field] = 0
    elif type(item) is Reg and item.file == 'v' and item.tag == 'v' and item.count == 1 and not item.neg \
            and not item.abs:
        vals[slot.field] = item.code
        vals['en'] = vals.get('en', 0) | 1 << slot.index
    else:
        raise _bad(item, i)


def _match_exp_tgt(slot, item, st, i):
    vals = st.vals
    vals[slot.field] = _exp_target(item, i)


def _match_mimg_data(slot, item, st, i):
    vals = st.vals
    if type(item) is not Reg or item.file != 'v' or item.tag != 'v' or item.neg or item.abs:
        raise _bad(item, i)
    n = item.count
    kind = slot.name
    # the data register sizes LLVM has forms for
    if n == 1 and kind == 'msaa':
        raise Fail("operands are not valid for this GPU or mode", None, 90)
    if n > 5 or (kind == 'gather' and n not in (2, 4, 5)) or (kind == 'cmpswap' and n < 2) or \
            (kind == 'atomic' and n == 4):
        raise _bad(item, i)
    vals['vdata'] = item.code
    st.mods['_vdata'] = (n, item.col, i)


def _match_mimg_addr(slot, item, st, i):
    vals = st.vals
    if type(item) is RegList and len(item.parts) == 1:
        item = item.parts[0]
    if type(item) is RegList or (type(item) is Reg and item.parts is not None and len(item.parts) > 1):
        parts = item.parts
    elif type(item) is Reg:
        parts = None
    else:
        raise _bad(item, i)
    for r in parts or (item,):
        if r.file != 'v' or r.tag != 'v' or r.neg or r.abs:
            raise _bad(r, i)
    vals['vaddr'] = (parts[0] if parts else item).code
    st.mods['_vaddr'] = (parts, item, i)


def _match_attr(slot, item, st, i):
    vals = st.vals
    vals['attr'], vals['attr_chan'] = _interp_attr(item, i)


_SPECIAL_MATCHERS = {
    'imm': _match_imm,
    'label': _match_label,
    'v16': _match_v16,
    'kimm': _match_kimm,
    'imm32': _match_imm32,
    'hwreg': _match_hwreg,
    'sendmsg': _match_sendmsg,
    'sendmsg_rtn': _match_sendmsg,
    'smem_offset': _match_smem_offset,
    'saddr': _match_saddr,
    'vaddr_off': _match_vaddr_off,
    'soffset': _match_soffset,
    'vinterp_src': _match_vinterp_src,
    'exp_src': _match_exp_src,
    'exp_tgt': _match_exp_tgt,
    'mimg_data': _match_mimg_data,
    'mimg_addr': _match_mimg_addr,
    'attr': _match_attr,
}


def _exp_target(item, i):
    if type(item) is Reg and item.tag == 'null' and not item.neg and not item.abs:
        raise Fail("exp target is not supported on this GPU", item.col, i)
    if type(item) is Imm and type(item.value) is Expr and not item.neg and not item.abs:
        node = item.value.node
        if node[0] == 'sym':
            name = node[1]
            code = syntax_misc.EXP_TARGETS.get(name)
            if code is not None:
                return code
            raise Fail("exp target is not supported on this GPU" if name in syntax_misc.EXP_TARGETS_OLD
                       else "invalid exp target", item.col, i)
        while node[0] == 'bin':
            node = node[2]
        if node[0] == 'sym':
            raise Fail("invalid exp target", item.col, i)
    raise _bad(item, i)


def _interp_attr(item, i):
    """(attribute number, channel) of `attrN.c`."""
    if type(item) is Reg and not item.neg and not item.abs and item.tag != 'vl' and item.tag != 'vh':
        raise Fail("invalid interpolation attribute", item.col, i)
    if type(item) is not Imm or type(item.value) is not Expr or item.neg or item.abs or \
            item.value.node[0] != 'sym':
        raise _bad(item, i)
    name = item.value.node[1]
    if not name.startswith('attr'):
        raise Fail("invalid interpolation attribute", item.col, i)
    chan = syntax_misc.ATTR_CHANNELS.get(name[-1]) if len(name) >= 2 and name[-2] == '.' else None
    if chan is None:
        raise Fail("invalid or missing interpolation attribute channel", item.col, i)
    digits = name[4:-2]
    if not digits.isdigit() or not digits.isascii():
        raise Fail("invalid or missing interpolation attribute number", item.col, i)
    n = int(digits)
    if n > syntax_misc.ATTR_LAST:
        raise Fail("out of bounds interpolation attribute number", item.col, i)
    return n, chan


def _check_smem_offset(buffer, v, col, i):
    if buffer:
        if not 0 <= v <= 0xFFFFF:
            raise Fail("expected a 20-bit unsigned offset", col, i)
    elif not -0x100000 <= v <= 0xFFFFF:
        raise Fail("expected a 21-bit signed offset", col, i)


class _SregSlot:
    __slots__ = ('tags', 'regs')

    def __init__(self, tags, regs):
        self.tags = tags
        self.regs = regs


_SMEM_SOFF_SLOT = _SregSlot(frozenset(('s', 'ttmp', 'vcc_lo', 'vcc_hi', 'exec_lo', 'exec_hi', 'm0', 'null',
                                        'scc')), 1)

# ---------------------------------------------------------------------------------------------
# Modifiers.

# Named modifier -> the modifier slot it fills.
_MOD_SLOT = {
    'clamp': 'clamp', 'mul': 'omod', 'div': 'omod', 'op_sel': 'op_sel', 'op_sel_hi': 'op_sel_hi',
    'neg_lo': 'neg_lo', 'neg_hi': 'neg_hi', 'glc': 'cpol', 'slc': 'cpol', 'dlc': 'cpol',
    'offset': 'offset', 'offset0': 'offset0', 'offset1': 'offset1', 'gds': 'gds', 'offen': 'offen',
    'idxen': 'idxen', 'tfe': 'tfe', 'format': 'format', 'quad_perm': 'dpp_ctrl', 'row_shl': 'dpp_ctrl',
    'row_shr': 'dpp_ctrl', 'row_ror': 'dpp_ctrl', 'row_mirror': 'dpp_ctrl', 'row_half_mirror': 'dpp_ctrl',
    'row_share': 'dpp_ctrl', 'row_xmask': 'dpp_ctrl', 'row_mask': 'row_mask', 'bank_mask': 'bank_mask',
    'bound_ctrl': 'bound_ctrl', 'fi': 'fi', 'dpp8': 'dpp8', 'done': 'done', 'row_en': 'row_en',
    'wait_vdst': 'wait_vdst', 'wait_exp': 'wait_exp', 'dmask': 'dmask', 'dim': 'dim', 'unorm': 'unorm',
    'r128': 'r128', 'a16': 'a16', 'lwe': 'lwe', 'd16': 'd16',
}
_KEYWORD_MODS = frozenset(('clamp', 'glc', 'slc', 'dlc', 'gds', 'offen', 'idxen', 'tfe', 'row_mirror',
                           'row_half_mirror', 'done', 'row_en', 'unorm', 'r128', 'a16', 'lwe', 'd16'))
# Modifiers with a small unsigned value: name -> largest value.
_WAIT_MODS = {'wait_vdst': 15, 'wait_exp': 7}
_ROW_BASE = {'row_shl': (0x100, 1, 15), 'row_shr': (0x110, 1, 15), 'row_ror': (0x120, 1, 15),
             'row_share': (0x150, 0, 15), 'row_xmask': (0x160, 0, 15)}


def _int_value(item: Named, i):
    v = item.value
    if isinstance(v, Expr):
        raise Fail("expected absolute expression", item.vcol, i)
    if not isinstance(v, int):
        raise Fail("expected absolute expression", item.vcol, i)
    return v


def _bit_list(item: Named, i, maxlen=4):
    v = item.value
    if not isinstance(v, list) or not v:
        raise Fail("expected a left square bracket", item.vcol, i)
    if len(v) > maxlen:
        raise Fail("expected a closing square bracket", item.vcol, i)
    bits = 0
    for k, e in enumerate(v):
        if not isinstance(e, int) or e not in (0, 1):
            raise Fail("expected a 0 or 1", item.vcol, i)
        bits |= e << k
    return bits, len(v)


def _mod_value(item, i):
    """(slot, value) of a modifier item."""
    if type(item) is not Named:
        raise Fail("invalid operand for instruction", getattr(item, 'col', None), i)
    name = item.name
    slot = _MOD_SLOT.get(name)
    if slot is None:
        raise Fail("not a valid operand." if item.value is not None else "invalid operand for instruction",
                   item.col, i)
    if name in _KEYWORD_MODS:
        if item.value is not None:
            raise Fail("not a valid operand.", item.col, i)
        if name == 'row_mirror':
            return slot, 0x140
        if name == 'row_half_mirror':
            return slot, 0x141
        return slot, name
    if item.value is None:
        raise Fail("invalid operand for instruction", item.col, i)
    if name == 'offset' and isinstance(item.value, Func) and item.value.name == 'swizzle':
        return 'swizzle', special.swizzle_value(item.value)
    read = _MOD_READERS.get(name)
    if read is None:
        raise Fail("not a valid operand.", item.col, i)
    return slot, read(item, i)


# Modifiers with a value: name -> the reader of its value (item, operand index) -> field value.

def _read_mul(item, i):
    v = _int_value(item, i)
    if v not in (1, 2, 4):
        raise Fail("invalid mul value.", item.col, i)
    return {1: 0, 2: 1, 4: 2}[v]


def _read_div(item, i):
    v = _int_value(item, i)
    if v not in (1, 2):
        raise Fail("invalid div value.", item.col, i)
    return 0 if v == 1 else 3


def _read_bits(item, i):
    if type(item.value) is BadList:
        raise Fail(item.value.message, item.value.col, i)
    return _bit_list(item, i)


def _lane_selects(item, i, count: int, bits: int, wrong_count: str) -> int:
    """A list of `count` lane selects of `bits` bits each (quad_perm, dpp8), packed low first."""
    v = item.value
    if not isinstance(v, list) or len(v) != count:
        raise Fail(wrong_count if isinstance(v, list) else "expected a left square bracket", item.vcol, i)
    out = 0
    for k, e in enumerate(v):
        if not isinstance(e, int) or not 0 <= e < 1 << bits:
            raise Fail(f"expected a {bits}-bit value", item.vcol, i)
        out |= e << (bits * k)
    return out


def _read_quad_perm(item, i):
    return _lane_selects(item, i, 4, 2, "expected a 2-bit value")


def _read_row(item, i):
    name = item.name
    base, lo, hi = _ROW_BASE[name]
    v = _int_value(item, i)
    if not lo <= v <= hi:
        raise Fail(f"invalid {name} value", item.vcol, i)
    return base + v


def _read_dpp8(item, i):
    return _lane_selects(item, i, 8, 3, "expected a comma")


def _read_mask(item, i):
    return _int_value(item, i) & 0xF


def _read_bound_ctrl(item, i):
    v = _int_value(item, i)
    if v not in (0, 1):
        raise Fail("invalid bound_ctrl value.", item.col, i)
    return v


def _read_fi(item, i):
    return _int_value(item, i) & 1


def _read_dmask(item, i):
    return _int_value(item, i) & 0xFFFF


def _read_dim(item, i):
    v = item.value
    text = v.name if isinstance(v, Sym) else v if isinstance(v, str) else None
    if text is not None:
        key = text[len('SQ_RSRC_IMG_'):] if text.startswith('SQ_RSRC_IMG_') else text
        key = key.upper()
        if key in syntax_misc.IMAGE_DIMS:
            return key
    raise Fail("invalid dim value", item.vcol, i)


def _read_wait(item, i):
    name = item.name
    v = _int_value(item, i)
    if not 0 <= v <= _WAIT_MODS[name]:
        raise Fail(f"invalid {name} value.", item.col, i)
    return v


def _read_format(item, i):
    return special.format_value(item.value, item.vcol)


_MOD_READERS = {
    'mul': _read_mul, 'div': _read_div, 'op_sel': _read_bits, 'op_sel_hi': _read_bits, 'neg_lo': _read_bits,
    'neg_hi': _read_bits, 'quad_perm': _read_quad_perm, 'row_shl': _read_row, 'row_shr': _read_row,
    'row_ror': _read_row, 'row_share': _read_row, 'row_xmask': _read_row, 'dpp8': _read_dpp8,
    'row_mask': _read_mask, 'bank_mask': _read_mask, 'bound_ctrl': _read_bound_ctrl, 'fi': _read_fi,
    'offset': _int_value, 'offset0': _int_value, 'offset1': _int_value, 'dmask': _read_dmask, 'dim': _read_dim,
    'wait_vdst': _read_wait, 'wait_exp': _read_wait, 'format': _read_format,
}


def _match_mods(variant, items, start, st: State):
    mods = st.mods
    allowed = variant.mods
    pos = 0
    image = variant.family == 'MIMG'
    if image and start < len(items):
        mods['_first_mod'] = getattr(items[start], 'col', None)
    for i in range(start, len(items)):
        item = items[i]
        if type(item) is not Named:
            raise Fail("invalid operand for instruction", getattr(item, 'col', None), i)
        name = item.name
        slot = _MOD_SLOT.get(name)
        if slot is None:
            raise Fail("not a valid operand." if item.value is not None else "invalid operand for instruction",
                       item.col, i)
        if slot == 'offset' and 'swizzle' in allowed:
            slot = 'swizzle'
        if item.value is not None and name in _KEYWORD_MODS:
            # LLVM reads the keyword, then stops at the colon
            if slot in allowed or slot in _mnemonic_mods(variant.mnemonic):
                raise Fail("unknown token in expression", item.vcol - 1, i)
            raise Fail("not a valid operand.", item.col, i)
        try:
            k = allowed.index(slot, pos)
        except ValueError:
            k = -1
        if k < 0:
            if slot in allowed:
                # a repeated modifier or one out of LLVM's order: a modifier with a value is not
                # read at all then, except neg_lo/neg_hi and VINTERP's
                if item.value is None or slot in ('neg_lo', 'neg_hi') or variant.family == 'VINTERP':
                    _mod_value(item, i)
                    raise Fail("invalid operand for instruction", item.col, i)
                raise Fail("not a valid operand.", item.col, i)
            if item.value is None:
                raise Fail("invalid operand for instruction", item.col, i)
            if slot in _mnemonic_mods(variant.mnemonic):
                _mod_value(item, i)      # LLVM reads the value (and reports its errors) first
                raise Fail("invalid operand for instruction", item.col, i)
            raise Fail("not a valid operand.", item.col, i)
        vslot, value = _mod_value(item, i)
        if vslot != slot and not (vslot == 'offset' and slot == 'swizzle'):
            raise Fail("not a valid operand.", item.col, i)
        if slot == 'cpol':
            bits = mods.get('cpol', ())
            if value in bits:
                raise Fail("duplicate cache policy modifier", item.col, i)
            mods['cpol'] = bits + (value,)
            pos = k
        else:
            if slot in mods:
                raise Fail("invalid operand for instruction", item.col, i)
            mods[slot] = value
            pos = k + 1
            if image:
                mods['_at_' + slot] = item.col


_ANY_MOD = frozenset(_MOD_SLOT.values())
_MNEMONIC_MODS: dict = {}


def _mnemonic_mods(mnemonic):
    """The modifier slots any form of a mnemonic accepts (LLVM parses a modifier with a value
    when some form of the instruction has it, and checks the form afterwards)."""
    got = _MNEMONIC_MODS.get(mnemonic)
    if got is None:
        got = set()
        for v in variants().get(mnemonic, ()):
            got.update(v.mods)
        got = _MNEMONIC_MODS[mnemonic] = frozenset(got)
    return got

# ---------------------------------------------------------------------------------------------
# Family encoders: turn st.vals / st.mods into bytes.


def _pack(fmt, vals, base):
    f = _FIELDS.get(fmt) or fields(fmt)
    w = base
    for name, v in vals.items():
        lo, mask = f[name]
        w |= (v & mask) << lo
    return w


def _with_literal(word, size, st):
    data = word.to_bytes(size, 'little')
    if st.literal is not None:
        lit = st.literal
        if type(lit) is tuple:
            lit = 0
        data += (lit & 0xFFFFFFFF).to_bytes(4, 'little')
    return data


def _enc_scalar(variant, st):
    fam = variant.family
    vals = st.vals
    if fam == 'SMEM':
        if 'sbase' in vals:
            vals['sbase'] = vals['sbase'] >> 1
        if st.mods.get('offset') is not None:
            if '_smem_imm' in st.mods or 'soffset' not in vals:
                raise Fail("not a valid operand.", None, 99)
            v = st.mods['offset']
            _check_smem_offset(variant.slots[-1].name == 'buffer', v, None, 99)
            vals['offset'] = v
        if 'soffset' not in vals and variant.slots:
            vals['soffset'] = ops.NULL
        if 'sdata' not in vals and variant.slots:
            vals['sdata'] = 0
        for b in st.mods.get('cpol', ()):
            if b == 'slc':
                raise Fail("invalid operand for instruction", None, 99)
            vals[b] = 1
        w = _pack('SMEM', vals, variant.base)
        return w.to_bytes(8, 'little')
    if fam == 'SOPK' and variant.mnemonic.startswith('s_waitcnt_') and vals.get('sdst') != ops.NULL:
        raise Fail("src0 must be null", None, 1)
    w = _pack(variant.fmt.replace('_LIT', ''), vals, variant.base)
    return _with_literal(w, 4, st)


_SHIFT64 = frozenset(('v_lshlrev_b64', 'v_lshrrev_b64', 'v_ashrrev_i64'))
_IMPLICIT_VCC = frozenset(('v_div_fmas_f32', 'v_div_fmas_f64'))


def _check_const_bus(variant, st):
    sregs = st.sregs
    if len(sregs) + (st.literal is not None) <= 1 and variant.mnemonic not in _IMPLICIT_VCC:
        return
    regs = set(r for r in sregs if r[0] not in _NOT_CONST_BUS)
    n = len(regs)
    if st.literal is not None:
        n += 1
    m = variant.mnemonic
    if m in _IMPLICIT_VCC and (ops.VCC_LO, 2) not in regs:
        n += 1               # the implicit read of vcc (the 64-bit register) counts on its own
    limit = 1 if m in _SHIFT64 else 2
    if n > limit:
        raise Fail("invalid operand (violates constant bus restrictions)", st.lit_col, 1001)


def _opsel_bits(variant, value, nsrc):
    bits, length = value
    if variant.mnemonic == 'v_fmac_f16':
        # src2 is tied to the destination: op_sel:[src0, src1, src2, dst], src2's bit unused
        return (bits & 3) | (8 if (bits >> 3) & 1 else 0)
    out = bits & ((1 << nsrc) - 1)
    if length > nsrc and (bits >> nsrc) & 1:
        out |= 8
    return out


def _enc_valu(variant, st):
    fam = variant.family
    vals = st.vals
    mods = st.mods
    m = variant.mnemonic
    dpp = variant.dpp
    if len(st.sregs) > 1 or (st.sregs and st.literal is not None) or m in _IMPLICIT_VCC:
        _check_const_bus(variant, st)
    nsrc = variant.nsrc
    if fam in ('VOP1', 'VOP2', 'VOPC'):
        if dpp is None:
            size = 8 if st.literal is not None else 4
            w = _pack(fam, vals, variant.base)
            return _with_literal(w, 4, st) if size == 8 else w.to_bytes(4, 'little')
        fmt = variant.fmt
        src0 = vals.pop('src0')
        if src0 < ops.VGPR_FIRST:
            raise Fail("invalid operand for instruction", None, 1)
        vals['vsrc0'] = src0 - ops.VGPR_FIRST
        if st.neg & 1:
            vals['src0_neg'] = 1
        if st.abs & 1:
            vals['src0_abs'] = 1
        if st.neg & 2:
            vals['src1_neg'] = 1
        if st.abs & 2:
            vals['src1_abs'] = 1
        if dpp == 'dpp16':
            _dpp16_fields(vals, mods)
            vals['src0'] = ops.DPP16
        else:
            _dpp8_fields(vals, mods)
            vals['src0'] = ops.DPP8_FI if mods.get('fi') else ops.DPP8
        return _pack(fmt, vals, variant.base).to_bytes(8, 'little')
    # VOP3 / VOP3SD / VOP3P
    if fam == 'VOP3P':
        return _enc_vop3p(variant, st, nsrc)
    if 'clamp' in mods:
        vals['clmp'] = 1
    if 'omod' in mods:
        vals['omod'] = mods['omod']
    if 'op_sel' in mods:
        bits = _opsel_bits(variant, mods['op_sel'], nsrc)
        if (m in _OPSEL_ZERO and bits & 3) or (m in _OPSEL_TWO and mods['op_sel'][0] >> 2):
            raise Fail("invalid op_sel operand", None, 99)
        vals['opsel'] = bits
    if st.neg:
        vals['neg'] = st.neg
    if st.abs and fam != 'VOP3SD':      # VOP3SD has no abs bits: LLVM accepts |x| and drops it
        vals['abs'] = st.abs
    if m.startswith('v_cmpx_') and fam == 'VOP3':
        vals['vdst'] = ops.EXEC_LO
    fmt = variant.fmt
    if dpp is not None:
        src0 = vals.get('src0', ops.VGPR_FIRST)
        vals['vsrc0'] = src0 - ops.VGPR_FIRST
        if dpp == 'dpp16':
            _dpp16_fields(vals, mods)
            vals['src0'] = ops.DPP16
        else:
            _dpp8_fields(vals, mods)
            vals['src0'] = ops.DPP8_FI if mods.get('fi') else ops.DPP8
        return _pack(fmt, vals, variant.base).to_bytes(12, 'little')
    w = _pack(fam if fam != 'VOP3SD' else 'VOP3SD', vals, variant.base)
    if st.literal is not None:
        return _with_literal(w, 8, st)
    return w.to_bytes(8, 'little')


_OPSEL_ZERO = frozenset(('v_dot2_f16_f16', 'v_dot2_bf16_bf16'))
_OPSEL_TWO = frozenset(('v_permlane16_b32', 'v_permlanex16_b32'))


def _enc_vop3p(variant, st, nsrc):
    vals = st.vals
    mods = st.mods
    flags = variant.flags
    hi_default = 0 if 'mix' in flags else 7
    if 'op_sel' in mods:
        bits, _ = mods['op_sel']
        vals['opsel'] = bits & 7
    hi = hi_default
    if 'op_sel_hi' in mods:
        bits, length = mods['op_sel_hi']
        mask = (1 << length) - 1
        hi = (hi_default & ~mask) | (bits & mask)
    vals['opsel_hi'] = hi & 3
    vals['opsel_hi2'] = (hi >> 2) & 1
    neg = st.neg
    if 'neg_lo' in mods:
        neg |= mods['neg_lo'][0] & 7
    if neg:
        vals['neg'] = neg
    nh = st.abs
    if 'neg_hi' in mods:
        nh |= mods['neg_hi'][0] & 7
    if nh:
        vals['neg_hi'] = nh
    if 'clamp' in mods:
        vals['clmp'] = 1
    dpp = variant.dpp
    if dpp is not None:
        src0 = vals.get('src0', ops.VGPR_FIRST)
        vals['vsrc0'] = src0 - ops.VGPR_FIRST
        if dpp == 'dpp16':
            _dpp16_fields(vals, mods)
            vals['src0'] = ops.DPP16
        else:
            _dpp8_fields(vals, mods)
            vals['src0'] = ops.DPP8_FI if mods.get('fi') else ops.DPP8
        return _pack(variant.fmt, vals, variant.base).to_bytes(12, 'little')
    w = _pack('VOP3P', vals, variant.base)
    if st.literal is not None:
        return _with_literal(w, 8, st)
    return w.to_bytes(8, 'little')


def _dpp16_fields(vals, mods):
    if 'dpp_ctrl' not in mods:
        raise Fail("invalid operand for instruction", None, 99)
    vals['dpp'] = mods['dpp_ctrl']
    vals['row_mask'] = mods.get('row_mask', 0xF)
    vals['bank_mask'] = mods.get('bank_mask', 0xF)
    if mods.get('bound_ctrl'):
        vals['bc'] = 1
    if mods.get('fi'):
        vals['fi'] = 1


def _dpp8_fields(vals, mods):
    if 'dpp8' not in mods:
        raise Fail("invalid operand for instruction", None, 99)
    sel = mods['dpp8']
    for k in range(8):
        vals[f'lane_sel_{k}'] = (sel >> (3 * k)) & 7


def _enc_ds(variant, st):
    vals = st.vals
    mods = st.mods
    if 'offset' in mods:
        v = mods['offset']
        if not 0 <= v <= 0xFFFF:
            raise Fail("expected a 16-bit unsigned offset", None, 99)
        vals['offset0'] = v & 0xFF
        vals['offset1'] = v >> 8
    if 'swizzle' in mods:
        v = mods['swizzle']
        if not 0 <= v <= 0xFFFF:
            raise Fail("expected a 16-bit offset", None, 99)
        vals['offset0'] = v & 0xFF
        vals['offset1'] = v >> 8
    for k in ('offset0', 'offset1'):
        if k in mods:
            v = mods[k]
            if not 0 <= v <= 0xFF:
                raise Fail(f"invalid {k} value.", None, 99)
            vals[k] = v
    if 'gds' in mods:
        vals['gds'] = 1
    elif 'gds_required' in variant.flags:
        raise Fail("too few operands for instruction", None, 98)
    return _pack('DS', vals, variant.base).to_bytes(8, 'little')


def _enc_flat(variant, st):
    vals = st.vals
    mods = st.mods
    fam = variant.family
    cpol = mods.get('cpol', ())
    flags = variant.flags
    if 'rtn' in flags and 'glc' not in cpol:
        raise Fail("instruction must use glc", None, 97)
    if 'nortn' in flags and 'glc' in cpol:
        raise Fail("instruction must not use glc", None, 97)
    for b in cpol:
        vals[b] = 1
    off = mods.get('offset', 0)
    if fam == 'FLAT':
        if not 0 <= off <= 0xFFF:
            raise Fail("expected a 12-bit unsigned offset", None, 99)
        vals['saddr'] = ops.NULL
    else:
        if not -0x1000 <= off <= 0xFFF:
            raise Fail("expected a 13-bit signed offset", None, 99)
    vals['offset'] = off & 0x1FFF
    if fam == 'SCRATCH':
        if mods.get('_vaddr'):
            vals['sve'] = 1
    return _pack(fam, vals, variant.base).to_bytes(8, 'little')


def _enc_buf(variant, st):
    vals = st.vals
    mods = st.mods
    fam = variant.family
    if not variant.slots:
        return _pack(fam, vals, variant.base).to_bytes(8, 'little')
    vaddr = mods.get('_vaddr', 0)
    idxen = 'idxen' in mods
    offen = 'offen' in mods
    need = int(idxen) + int(offen)
    if need != vaddr:
        raise Fail("invalid operand for instruction", None, 96)
    vals['idxen'] = int(idxen)
    vals['offen'] = int(offen)
    if 'tfe' in mods and 'store' in variant.flags:
        raise Fail("TFE modifier has no meaning for store instructions", None, 95)
    if ('tfe' in mods) != ('_vdata_extra' in mods) and 'vdata' in vals:
        raise Fail("invalid operand for instruction", None, 95)
    if 'tfe' in mods:
        vals['tfe'] = 1
    vals['srsrc'] = vals['srsrc'] >> 2
    off = mods.get('offset', 0)
    if not 0 <= off <= 0xFFFF:
        raise Fail("expected a 16-bit unsigned offset", None, 99)
    vals['offset'] = off & 0xFFF
    for b in mods.get('cpol', ()):
        vals[b] = 1
    if fam == 'MTBUF':
        vals['format'] = mods.get('format', 1)
    return _pack(fam, vals, variant.base).to_bytes(8, 'little')


def _image_fail(message, variant, st):
    return Fail(message, None, 90)


def _image_addresses(variant, st, info):
    """The address VGPR count of an image instruction and its NSA address bytes; checks the
    form of the addresses against the forms LLVM has."""
    parts, item, i = st.mods['_vaddr']
    if parts is None:
        if not info.bvh and not info.range_ok(item.count):
            raise Fail("invalid operand for instruction", item.col, i)
        return item.count, b''
    extra = bytes(r.code for r in parts[1:])
    if info.bvh:
        return sum(r.count for r in parts), extra
    for r in parts[:-1]:
        if r.count != 1:
            raise Fail("invalid operand for instruction", r.col, i)
    n = len(parts)
    last = parts[-1]
    if n > syntax_misc.NSA_SLOTS or (last.count == 1 and not info.list_ok(n)):
        raise Fail("not a valid operand.", st.mods.get('_first_mod'), i + 1)
    if last.count != 1:
        if n == syntax_misc.NSA_SLOTS - 1:
            raise Fail("operands are not valid for this GPU or mode", None, 90)
        if n < syntax_misc.NSA_SLOTS or not info.partial_ok(last.count):
            raise Fail("invalid operand for instruction", last.col, i)
    return sum(r.count for r in parts), extra


def _enc_mimg(variant, st):
    info = variant.custom
    vals = st.vals
    mods = st.mods
    a16 = 'a16' in mods
    count, extra = _image_addresses(variant, st, info)
    parts = mods['_vaddr'][0]
    if info.bvh:
        # ray tracing: fixed operand sizes; dmask, unorm and r128 are implied
        ok = (8 if a16 else 11) + info.bvh64
        item = mods['_vaddr'][1]
        if parts is None:
            if count not in (8 + info.bvh64, 11 + info.bvh64):
                raise Fail("invalid operand for instruction", item.col, mods['_vaddr'][2])
            if count != ok:
                raise Fail("image address size does not match a16", None, 90)
        else:
            for want_a16 in (a16, not a16):
                shape = info.bvh_slots(want_a16)
                if len(parts) == len(shape) and all(r.count == k for r, k in zip(parts, shape, strict=False)):
                    break
            else:
                shape = info.bvh_slots(a16)
                for r, k in zip(parts, shape, strict=False):
                    if r.count != k:
                        raise Fail("invalid operand for instruction", r.col, mods['_vaddr'][2])
                raise Fail("image address size does not match a16", None, 90)
            if want_a16 != a16:
                raise Fail("image address size does not match a16", None, 90)
        vals['dmask'] = 0xF
        vals['unrm'] = 1
        vals['r128'] = 1
        vals['a16'] = int(a16)
    else:
        dcount = mods['_vdata'][0]
        d16 = 'd16' in mods
        tfe = 'tfe' in mods
        if 'dim' not in mods:
            raise Fail("operands are not valid for this GPU or mode", None, 90)
        dim = mods['dim']
        if info.msaa and dim not in ('2D_MSAA', '2D_MSAA_ARRAY'):
            raise Fail("invalid dim; must be MSAA type", mods['_at_dim'], 89)
        dmask = mods.get('dmask', 0) & 0xF
        want = 4 if (info.gather or info.msaa) else max(1, bin(dmask).count('1'))
        if d16:
            want = (want + 1) // 2
        if tfe:
            want += 1
        if dcount != want:
            raise Fail("image data size does not match dmask, d16 and tfe" if info.d16 else
                       "image data size does not match dmask and tfe", None, 90)
        need = info.address_count(dim, a16)
        if count != need and not (parts is None and count == 8 and 5 <= need <= 7):
            raise Fail("image address size does not match dim and a16", None, 90)
        if info.atomic and dmask not in (0x1, 0x3, 0xF):
            raise Fail("invalid atomic image dmask", mods.get('_at_dmask'), 89)
        if (info.gather or info.msaa) and bin(dmask).count('1') != 1:
            raise Fail("invalid image_gather dmask: only one bit must be set", mods.get('_at_dmask'), 89)
        vals['dmask'] = dmask
        vals['dim'] = syntax_misc.IMAGE_DIMS[dim][0]
        for name, field in (('unorm', 'unrm'), ('r128', 'r128'), ('a16', 'a16'), ('tfe', 'tfe'), ('lwe', 'lwe'),
                            ('d16', 'd16')):
            if name in mods:
                vals[field] = 1
        for b in mods.get('cpol', ()):
            vals[b] = 1
    vals['srsrc'] = vals['srsrc'] >> 2
    if 'ssamp' in vals:
        vals['ssamp'] = vals['ssamp'] >> 2
    if parts is not None:
        vals['nsa'] = 1
    data = _pack('MIMG', vals, variant.base).to_bytes(8, 'little')
    if parts is not None:
        data += extra + bytes(-len(extra) % 4)
    return data


def _enc_exp(variant, st):
    vals = st.vals
    mods = st.mods
    if 'done' in mods:
        vals['done'] = 1
    if 'row_en' in mods:
        vals['row'] = 1
    return _pack('EXP', vals, variant.base).to_bytes(8, 'little')


def _enc_ldsdir(variant, st):
    st.vals['wait_vdst'] = st.mods.get('wait_vdst', 0)
    return _pack('LDSDIR', st.vals, variant.base).to_bytes(4, 'little')


def _enc_vinterp(variant, st):
    vals = st.vals
    mods = st.mods
    vals['neg'] = st.neg
    if 'clamp' in mods:
        vals['clmp'] = 1
    if 'op_sel' in mods:
        vals['opsel'] = mods['op_sel'][0]
    vals['waitexp'] = mods.get('wait_exp', 0)
    return _pack('VINTERP', vals, variant.base).to_bytes(8, 'little')


_FAMILY_ENCODERS = {
    'SOP1': _enc_scalar, 'SOP2': _enc_scalar, 'SOPC': _enc_scalar, 'SOPK': _enc_scalar, 'SOPP': _enc_scalar,
    'SMEM': _enc_scalar, 'VOP1': _enc_valu, 'VOP2': _enc_valu, 'VOPC': _enc_valu, 'VOP3': _enc_valu,
    'VOP3SD': _enc_valu, 'VOP3P': _enc_valu, 'DS': _enc_ds, 'FLAT': _enc_flat, 'GLOBAL': _enc_flat,
    'SCRATCH': _enc_flat, 'MUBUF': _enc_buf, 'MTBUF': _enc_buf, 'EXP': _enc_exp, 'LDSDIR': _enc_ldsdir,
    'VINTERP': _enc_vinterp, 'MIMG': _enc_mimg,
}


def try_variant(variant, items):
    st = State(variant)
    if variant.family == 'LDSDIR' and len(variant.slots) > 1 and len(items) > 1:
        _interp_attr(items[1], 1)       # the attribute is read (and checked) before the match
    try:
        start = _match_slots(variant, items, st)
    except Fail:
        if '_fixed' not in st.mods:
            raise
        start = None
    if start is None:
        # an implicit vcc_lo may be left out: read the operands again without it (outside the
        # handler, so that a second failure does not chain the first)
        st = State(variant)
        start = _match_slots(variant, items, st, True)
    if start < len(items):
        _match_mods(variant, items, start, st)
    data = _FAMILY_ENCODERS[variant.family](variant, st)
    return data, st


# ---------------------------------------------------------------------------------------------
# Mnemonic suffixes and the public entry point.

_SUFFIXES = (('_e64_dpp', 'e64_dpp'), ('_e64', 'e64'), ('_e32', 'e32'), ('_dpp', 'dpp'), ('_sdwa', 'sdwa'))
_SUFFIX_MSG = {'e64_dpp': 'e64_dpp', 'e64': 'e64', 'e32': 'e32', 'dpp': 'dpp', 'sdwa': 'sdwa'}


def split_suffix(name: str):
    forms = variants()
    if name in forms:
        return name, ''
    for suf, key in _SUFFIXES:
        if name.endswith(suf):
            return name[:-len(suf)], key
    return name, ''


def lookup(name: str):
    """(base mnemonic, suffix, forms) for a mnemonic as written (lower case)."""
    from isa.asm.aliases import ALIASES
    base, suffix = split_suffix(name)
    forms = variants().get(base)
    if forms is None:
        alias = ALIASES.get(base)
        if alias is not None:
            forms = variants().get(alias)
            base = alias
    return base, suffix, forms


def _sorted_mods(variant, items):
    """Items with the trailing modifiers put in the form's modifier order (builder calls)."""
    k = len(items)
    while k and type(items[k - 1]) is Named and items[k - 1].name in _MOD_SLOT:
        k -= 1
    order = variant.mods

    def rank(it):
        slot = _MOD_SLOT[it.name]
        if slot == 'offset' and 'swizzle' in order:
            slot = 'swizzle'
        return order.index(slot) if slot in order else len(order)
    return items[:k] + sorted(items[k:], key=rank)


class _Plan:
    """A mnemonic as written, resolved once: its base name and the forms to try, split by
    the kind of DPP modifier the operands carry."""
    __slots__ = ('base', 'suffix', 'plain', 'dpp16', 'dpp8', 'any', 'error', 'cmp', 'fp_pos', 'sext_pos', 'image',
                 'dpp_choice')

    def __init__(self, name):
        base, suffix, forms = lookup(name)
        self.base = base
        self.suffix = suffix
        self.error = None
        self.cmp = base.startswith('v_cmp_')
        if forms is None:
            self.error = ("instruction not supported on this GPU" if is_unsupported(base) and not suffix
                          else "invalid instruction")
            return
        cands = [v for v in forms if suffix in v.suffixes]
        if not cands:
            self.error = f"{_SUFFIX_MSG.get(suffix, suffix)} variant of this instruction is not supported"
            return
        self.any = cands
        if suffix in ('dpp', 'e64_dpp'):
            self.plain = [v for v in cands if v.dpp == 'dpp16']
        else:
            self.plain = [v for v in cands if v.dpp is None]
        self.dpp16 = [v for v in cands if v.dpp == 'dpp16'] or self.plain
        self.dpp8 = [v for v in cands if v.dpp == 'dpp8'] or self.plain
        # whether DPP modifiers choose among different forms
        self.dpp_choice = not (self.dpp16 == self.plain and self.dpp8 == self.plain and self.any == self.plain)
        self.fp_pos, self.sext_pos = _modifier_positions(forms)
        self.image = any(v.family == 'MIMG' for v in forms)


def _modifier_positions(forms):
    """Operand positions where some form of a mnemonic takes source modifiers (neg/abs) and
    where it takes sext(). LLVM reads modifiers only at such positions."""
    fp = set()
    sx = set()
    for v in forms:
        seqs = [v.slots]
        if any(s.optional and s.kind == 'fixed' for s in v.slots):
            seqs.append([s for s in v.slots if not (s.optional and s.kind == 'fixed')])
        for seq in seqs:
            for k, s in enumerate(seq):
                if (s.kind == 'src' and s.fpmods) or s.kind == 'vinterp_src':
                    fp.add(k)
                if s.kind == 'src' and s.name == 'sext':
                    sx.add(k)
    return frozenset(fp), frozenset(sx)


def _check_modifier_positions(plan, items, col0):
    """Items with source modifiers where the mnemonic takes none are no valid operands;
    `--x` is an expression there (and an error where modifiers are read)."""
    out = None
    mods = None
    for k, it in enumerate(items):
        t = type(it)
        if t is RegList:
            if not plan.image:
                raise AsmError(it.error.message, 0, col0 + it.error.column)
            continue
        if t is Named:
            if it.value is None:
                continue
            # a modifier no form of the mnemonic has does not parse
            if mods is None:
                mods = _mnemonic_mods(plan.base)
            slot = _MOD_SLOT.get(it.name)
            if slot not in mods and not (slot == 'offset' and 'swizzle' in mods):
                raise AsmError("not a valid operand.", 0, col0 + it.col + 1)
        elif (t is Reg or t is Imm) and (it.neg or it.abs):
            neg = it.neg
            if neg == 'expr':
                if k in plan.fp_pos or k in plan.sext_pos:
                    raise AsmError("invalid syntax, expected 'neg' modifier", 0, col0 + it.col + 1)
                if out is None:
                    out = list(items)
                out[k] = Imm(it.value, False, it.col)
            elif k not in (plan.sext_pos if neg == 'sext' else plan.fp_pos):
                raise AsmError("not a valid operand.", 0, col0 + it.col + 1)
    return items if out is None else out


_PLANS: dict = {}
_DPP_MODS = frozenset(('dpp_ctrl', 'dpp8', 'row_mask', 'bank_mask', 'bound_ctrl', 'fi'))


_V_ILLEGAL = frozenset(('v_illegal', 'v_illegal_e32', 'v_illegal_e64'))


def _encode_v_illegal(name: str, items: list, col0: int) -> Encoded:
    """LLVM's v_illegal: the all-zero word, which no table instruction has and the hardware refuses."""
    if name == 'v_illegal_e64':
        raise AsmError("e64 variant of this instruction is not supported", 0, 1)
    if items:
        raise AsmError("invalid operand for instruction", 0, col0 + items[0].col + 1)
    return Encoded(bytes(4), None, 'v_illegal')


def encode_instruction(name: str, items: list, col0: int = 0, any_order: bool = False, plain: bool = False,
                       named: bool = True):
    """Encode one instruction (mnemonic as written, lower case; parsed operand items).
    Returns an Encoded. Raises AsmError (column relative to the operand text + col0).
    any_order: the trailing modifiers may come in any order (the builder's keywords).
    plain: the caller knows no item has source modifiers or is a modifier with a value.
    named: False when the caller knows no item is a Named."""
    plan = _PLANS.get(name)
    if plan is None:
        if name in _V_ILLEGAL:
            return _encode_v_illegal(name, items, col0)
        plan = _PLANS[name] = _Plan(name)
    if plan.error is not None:
        raise AsmError(plan.error, 0, 1)
    cands = plan.plain
    for it in items if named and plan.dpp_choice else ():
        if type(it) is Named:
            slot = _MOD_SLOT.get(it.name)
            if slot in _DPP_MODS:
                if slot == 'dpp8':
                    cands = plan.dpp8
                    break
                if slot == 'dpp_ctrl':
                    cands = plan.dpp16
                    break
                if plan.suffix not in ('dpp', 'e64_dpp'):
                    cands = plan.any
    if not plain:
        items = _check_modifier_positions(plan, items, col0)
    if plan.cmp and items and type(items[0]) in (Reg, Imm) and (items[0].neg or items[0].abs):
        # the first operand of a compare is its destination: no source modifiers there
        raise AsmError("invalid operand for instruction", 0, col0 + items[0].col + 1)
    best = None
    for v in cands:
        try:
            data, st = try_variant(v, _sorted_mods(v, items) if any_order else items)
        except Fail as e:
            if best is None or e.rank > best.rank:
                # kept without its traceback: the frames there would hold `best` in a cycle,
                # garbage that only the cyclic collector frees
                best = e.with_traceback(None)
            continue
        fix = st.mods.get('_fixup')
        if st.lit_expr is not None:
            fix = ('lit', st.lit_expr, len(data) - 4)
        elif fix is not None:
            fix = ('br', fix, 0)
        return Encoded(data, fix, v.name)
    if best is None:
        raise AsmError("invalid operand for instruction", 0, 1)
    col = best.col
    raise AsmError(best.message, 0, (col + 1 + col0) if col is not None else 1)


def parse_special_operands(name: str, toks: list):
    """Operand items for instructions with their own operand syntax, or None."""
    kind = _SPECIAL_SYNTAX.get(name)
    if kind is None:
        return None
    p = ExprParser(toks)
    if kind == 'waitcnt':
        v = special.parse_waitcnt(p)
    elif kind == 'delay':
        v = special.parse_delay(p)
    else:
        v = special.parse_depctr(p)
    if p.kind() != 'end':
        raise p.error("invalid operand for instruction")
    return v


_SPECIAL_SYNTAX = {'s_waitcnt': 'waitcnt', 's_delay_alu': 'delay', 's_waitcnt_depctr': 'depctr'}


def encode_special(name: str, value: int) -> Encoded:
    op = table().by_mnemonic[name]['SOPP']
    w = table().formats['SOPP'].base_word()
    f = table().formats['SOPP'].fields
    w = f['op'].put(w, op.opcode)
    w = f['simm16'].put(w, value & 0xFFFF)
    return Encoded(w.to_bytes(4, 'little'), None, name)

