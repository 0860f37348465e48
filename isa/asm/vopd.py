"""VOPD: two VALU operations issued as one instruction, `v_dual_X ... :: v_dual_Y ...`."""

from isa import operands as ops
from isa.asm.encoder import Encoded, Fail, State, _accept_src, _match_special, _pack
from isa.asm.immediates import ImmError, encode_int
from isa.asm.operand import Imm, Named, Reg
from isa.asm.syntax import TAGS_SSRC32, Slot
from isa.errors import AsmError
from isa.tables import table

# Operations only the Y half may name (and the one LLVM leaves out).
_Y_ONLY = frozenset(('v_dual_add_nc_u32', 'v_dual_lshlrev_b32', 'v_dual_and_b32'))
_EXCLUDED = frozenset(('v_dual_dot2acc_f32_bf16',))


def _shape(name):
    """Positional operand kinds of a dual operation."""
    if name == 'v_dual_mov_b32':
        return ('vdst', 'src0')
    if name == 'v_dual_fmaak_f32':
        return ('vdst', 'src0', 'vsrc1', 'kimm')
    if name == 'v_dual_fmamk_f32':
        return ('vdst', 'src0', 'kimm', 'vsrc1')
    return ('vdst', 'src0', 'vsrc1')


def _ops():
    t = table()
    return {op.mnemonic: op.opcode for op in t.spaces['VOPD'].values() if op.mnemonic not in _EXCLUDED}


_OPCODES = None
_BASE = None
_SRC_TAGS = TAGS_SSRC32 | frozenset(('lds_direct',))
_SRC_SLOT = Slot('src', 'src0', 1, _SRC_TAGS, otype='f32', index=0)
_SRC_SLOT_I = Slot('src', 'src0', 1, _SRC_TAGS, otype='i32', index=0)
_SRC_SLOT_PK = Slot('src', 'src0', 1, _SRC_TAGS, otype='pkf16', index=0)
_KIMM_SLOT = Slot('kimm', 'literal', otype='f32')


def _half(name, items, st, col0, base_col):
    """Match one half; returns dict(vdst=, src0=, vsrc1=)."""
    shape = _shape(name)
    out = {}
    n = len(items)
    for k, kind in enumerate(shape):
        if k >= n:
            raise AsmError("too few operands for instruction", 0, base_col + 1)
        item = items[k]
        if kind in ('vdst', 'vsrc1'):
            if type(item) is not Reg or item.file != 'v' or item.tag != 'v' or item.count != 1 or item.neg or \
                    item.abs:
                raise _bad_operand(item, col0)
            out[kind] = item.code
        elif kind == 'src0':
            if (type(item) is Reg or type(item) is Imm) and (item.neg or item.abs):
                raise AsmError("not a valid operand.", 0, col0 + item.col + 1)
            slot = _SRC_SLOT_I if name in ('v_dual_add_nc_u32', 'v_dual_lshlrev_b32', 'v_dual_and_b32',
                                           'v_dual_mov_b32', 'v_dual_cndmask_b32') else \
                _SRC_SLOT_PK if name == 'v_dual_dot2acc_f32_f16' else _SRC_SLOT
            try:
                code = _accept_src(slot, item, st)
            except Fail as e:
                raise AsmError(e.message, 0, col0 + (e.col or 0) + 1) from None
            if code is None:
                raise _bad_operand(item, col0)
            out['src0'] = code
        else:
            try:
                _match_special(_KIMM_SLOT, item, st, k)
            except Fail as e:
                raise AsmError(e.message, 0, col0 + (e.col or 0) + 1) from None
    if n > len(shape):
        item = items[len(shape)]
        raise AsmError("invalid operand for instruction", 0, col0 + getattr(item, 'col', 0) + 1)
    return out


def _bad_operand(item, col0):
    return AsmError("invalid operand for instruction" if not isinstance(item, Named) else "not a valid operand.",
                    0, col0 + getattr(item, 'col', 0) + 1)


def _roles(name, half):
    """The VGPR numbers in the src0, src1 and src2 roles of one half (None: no VGPR there).
    lds_direct takes a VGPR bank of its own: LLVM refuses it in both src0 operands."""
    src0 = half['src0']
    s0 = src0 - ops.VGPR_FIRST if src0 >= ops.VGPR_FIRST else ('lds_direct' if src0 == ops.LDS_DIRECT else None)
    if name == 'v_dual_fmamk_f32':
        return s0, None, half['vsrc1']
    if name in ('v_dual_fmac_f32', 'v_dual_dot2acc_f32_f16'):
        return s0, half['vsrc1'], half['vdst']
    return s0, half.get('vsrc1'), None


def _role_pos(name, k):
    """The operand position of role k in the text of `name`."""
    if k == 0:
        return 1
    if name == 'v_dual_fmamk_f32':
        return 3
    if k == 1:
        return 2
    return 0


def encode_vopd(xname, xitems, xcol0, xmcol, yname, yitems, ycol0, ymcol):
    global _OPCODES
    if _OPCODES is None:
        _OPCODES = _ops()
    if xname.endswith('_e32') and xname[:-4] in _OPCODES and xname[:-4] not in _Y_ONLY:
        xname = xname[:-4]       # the X half may carry the suffix of its VOP2 form
    if xname not in _OPCODES or xname in _Y_ONLY:
        for suffix, what in (('_e64', 'e64'), ('_dpp', 'dpp'), ('_e64_dpp', 'e64_dpp'), ('_sdwa', 'sdwa')):
            if xname.endswith(suffix) and xname[:-len(suffix)] in _OPCODES:
                raise AsmError(f"{what} variant of this instruction is not supported", 0, xmcol + 1)
        raise AsmError("invalid instruction", 0, xmcol + 1)
    if yname not in _OPCODES:
        raise AsmError("invalid VOPDY instruction", 0, ymcol + 1)
    st = State(None)
    x = _half(xname, xitems, st, xcol0, xmcol)
    y = _half(yname, yitems, st, ycol0, ymcol)
    # LLVM counts an integer that is no 32-bit inline constant as a literal when it checks
    # that the two halves share one literal value
    cands = set()
    if st.literal is not None:
        cands.add(st.literal)
    for items, col0 in ((xitems, xcol0), (yitems, ycol0)):
        for it in items:
            if type(it) is Imm and not it.is_float and type(it.value) is int:
                try:
                    code, lit = encode_int(it.value, 'i32')
                except ImmError:
                    continue
                if lit is not None:
                    cands.add(lit)
                    if len(cands) > 1:
                        raise AsmError("only one unique literal operand is allowed", 0, col0 + it.col + 1)
    # constant bus: scalar sources, the literal and cndmask's implicit vcc_lo (lds_direct is
    # not read over it: LLVM pairs it with any scalar)
    sregs = {v for v in (x['src0'], y['src0']) if (v <= ops.EXEC_HI and v != ops.NULL) or
             ops.SHARED_BASE <= v <= ops.POPS_EXITING_WAVE_ID or ops.VCCZ <= v < ops.LDS_DIRECT}
    implicit = (xname == 'v_dual_cndmask_b32') + (yname == 'v_dual_cndmask_b32') > 0
    if len(sregs) + (st.literal is not None) + implicit > 2:
        raise AsmError("invalid operand (violates constant bus restrictions)", 0, ycol0 + yitems[1].col + 1)
    # register bank rules
    if (x['vdst'] & 1) == (y['vdst'] & 1):
        raise AsmError("one dst register must be even and the other odd", 0, ycol0 + yitems[0].col + 1)
    xr, yr = _roles(xname, x), _roles(yname, y)
    for k, what in enumerate(('src0', 'src1', 'src2')):
        a, b = xr[k], yr[k]
        banks = 2 if k == 2 else 4
        if a is not None and b is not None and (a == b if isinstance(a, str) or isinstance(b, str)
                                                 else a % banks == b % banks):
            pos = _role_pos(yname, k)
            raise AsmError(f"{what} operands must use different VGPR banks", 0, ycol0 + yitems[pos].col + 1)
    vals = {'opx': _OPCODES[xname], 'opy': _OPCODES[yname], 'vdstx': x['vdst'], 'vdsty': y['vdst'] >> 1,
            'srcx0': x['src0'], 'srcy0': y['src0'], 'vsrcx1': x.get('vsrc1', 0), 'vsrcy1': y.get('vsrc1', 0)}
    global _BASE
    if _BASE is None:
        _BASE = table().formats['VOPD'].base_word()
    data = _pack('VOPD', vals, _BASE).to_bytes(8, 'little')
    fix = None
    if st.literal is not None:
        lit = st.literal
        if type(lit) is tuple:
            fix = ('lit', st.lit_expr, 8)
            lit = 0
        data += (lit & 0xFFFFFFFF).to_bytes(4, 'little')
    return Encoded(data, fix, f'{xname} :: {yname}')


