"""Instruction forms of the vector ALU: VOP1, VOP2, VOPC (e32), their VOP3 (e64) forms, the
VOP3-only and VOP3SD instructions, VOP3P, the DPP16/DPP8 forms of each, and VOPD."""

from isa.asm.syntax import (
    FLOAT_TYPES,
    FP_MODS_EXTRA,
    NO_DPP,
    TAGS_SDST_VALU,
    TAGS_SREG32,
    TAGS_SSRC32,
    VOP3_NO_CLAMP,
    VOP3_OMOD,
    VOP3_OPSEL,
    Slot,
    Variant,
    _regs,
    _src_slot,
    otype_of,
)
from isa.tables import table

# VOP1/VOP2 instructions with no VOP3 (e64) form in LLVM's gfx11 syntax.
NO_E64 = frozenset(('v_readfirstlane_b32', 'v_swap_b32', 'v_swaprel_b32', 'v_permlane64_b32', 'v_mov_b16',
                    'v_dot2acc_f32_f16', 'v_pk_fmac_f16', 'v_fmamk_f32', 'v_fmaak_f32', 'v_fmamk_f16',
                    'v_fmaak_f16', 'v_pipeflush'))
# VOP3P instructions with DPP forms.
VOP3P_DPP = frozenset(('v_dot2_f32_f16', 'v_fma_mix_f32', 'v_fma_mixlo_f16', 'v_fma_mixhi_f16'))
# VOP3-only instructions that take no `_e64` suffix.
NO_E64_SUFFIX = frozenset(('v_readlane_b32', 'v_writelane_b32'))
# VOP3P modifier lists.
_PK_MODS = ('op_sel', 'op_sel_hi', 'neg_lo', 'neg_hi', 'clamp')
_MIX_MODS = ('op_sel', 'op_sel_hi', 'clamp')
VCC = 'vcc_lo'

_E32_SUFFIXES = ('', 'e32')
_E64_SUFFIXES = ('', 'e64')
_DPP_SUFFIXES = ('', 'dpp')
_E64_DPP_SUFFIXES = ('', 'e64_dpp')


def _vdst(op, key='vdst'):
    o = op.operands[key]
    return Slot('vgpr', 'vdst', _regs(o))


def _vgpr_src(op, key, field, index):
    o = op.operands.get(key) or op.operands.get('v' + key)
    fp = o.dtype in FLOAT_TYPES
    return Slot('src', field, _regs(o), None, otype=otype_of(o.dtype, o.bits), fpmods=fp, index=index,
                allow_s=False, allow_const=False, allow_lit=False)


def _is_fp(op, key):
    o = op.operands.get(key) or op.operands.get('v' + key)
    return o is not None and o.dtype in FLOAT_TYPES


def _vop1_e32(op):
    m = op.mnemonic
    if m in ('v_nop', 'v_pipeflush'):
        return []
    if m == 'v_readfirstlane_b32':
        return [Slot('sreg', 'vdst', 1, TAGS_SREG32), Slot('vgpr', 'src0', 1)]
    if op.operands['src0'].kind == 'SRC_VGPR':
        return [_vdst(op), Slot('vgpr', 'src0', _regs(op.operands['src0']))]
    return [_vdst(op), _src_slot(op, 'src0', 0)]


def _vop2_e32(op):
    m = op.mnemonic
    vd = _vdst(op)
    s0 = _src_slot(op, 'src0', 0)
    if op.operands['src0'].dtype.startswith('NUM_PK'):
        s0.fpmods = False
    v1 = Slot('vgpr', 'vsrc1', _regs(op.operands['vsrc1']))
    if m == 'v_cndmask_b32':
        return [vd, s0, v1, Slot('fixed', fixed=VCC, optional=True)]
    if m in ('v_add_co_ci_u32', 'v_sub_co_ci_u32', 'v_subrev_co_ci_u32'):
        return [vd, Slot('fixed', fixed=VCC, optional=True), s0, v1, Slot('fixed', fixed=VCC, optional=True)]
    if m in ('v_fmamk_f32', 'v_fmamk_f16', 'v_fmaak_f32', 'v_fmaak_f16'):
        s0.fpmods = False
    if m in ('v_fmamk_f32', 'v_fmamk_f16'):
        return [vd, s0, Slot('kimm', 'literal', otype=s0.otype), v1]
    if m in ('v_fmaak_f32', 'v_fmaak_f16'):
        return [vd, s0, v1, Slot('kimm', 'literal', otype=s0.otype)]
    return [vd, s0, v1]


def _vopc_e32(op):
    s0 = _src_slot(op, 'src0', 0)
    v1 = Slot('vgpr', 'vsrc1', _regs(op.operands['vsrc1']))
    if op.mnemonic.startswith('v_cmpx_'):
        return [s0, v1]
    return [Slot('fixed', fixed=VCC, optional=True), s0, v1]


def _vop3_slots(op, m):
    """Positional operands of the VOP3 (e64) or VOP3SD form of `op` (mnemonic m)."""
    ops = op.operands
    if op.space == 'VOP3SD':
        slots = [_vdst(op), Slot('sreg', 'sdst', 1, TAGS_SDST_VALU)]
        srcs = [k for k in ('src0', 'src1', 'src2') if k in ops]
        for i, k in enumerate(srcs):
            if m in ('v_add_co_ci_u32', 'v_sub_co_ci_u32', 'v_subrev_co_ci_u32') and k == 'src2':
                slots.append(Slot('sreg', 'src2', 1, TAGS_SDST_VALU))
            else:
                slots.append(_src_slot(op, k, i))
        return slots
    if m.startswith('v_cmpx_'):
        return [_src_slot(op, 'src0', 0), _src_slot(op, 'src1', 1)]
    if m.startswith('v_cmp_'):
        return [Slot('sreg', 'vdst', 1, TAGS_SDST_VALU), _src_slot(op, 'src0', 0), _src_slot(op, 'src1', 1)]
    if m == 'v_readlane_b32':
        return [Slot('sreg', 'vdst', 1, TAGS_SREG32), Slot('vgpr', 'src0', 1),
                Slot('src', 'src1', 1, TAGS_SSRC32, allow_v=False, allow_lit=False, index=1)]
    if m == 'v_writelane_b32':
        return [_vdst(op), Slot('src', 'src0', 1, TAGS_SSRC32, allow_v=False, index=0),
                Slot('src', 'src1', 1, TAGS_SSRC32, allow_v=False, allow_lit=False, index=1)]
    if m in ('v_permlane16_b32', 'v_permlanex16_b32'):
        return [_vdst(op), Slot('vgpr', 'src0', 1),
                Slot('src', 'src1', 1, TAGS_SSRC32, allow_v=False, index=1),
                Slot('src', 'src2', 1, TAGS_SSRC32, allow_v=False, index=2)]
    if m in ('v_cndmask_b32', 'v_cndmask_b16'):
        return [_vdst(op), _src_slot(op, 'src0', 0), _src_slot(op, 'src1', 1),
                Slot('sreg', 'src2', 1, TAGS_SDST_VALU)]
    slots = [_vdst(op)]
    for i, k in enumerate(('src0', 'src1', 'src2')):
        if k in ops or 'v' + k in ops:
            slots.append(_src_slot(op, k, i))
    return slots


def _vop3(op, m):
    """VOP3 slots with source modifiers encoded in the neg/abs fields. In an instruction with
    float source modifiers, its integer sources take `sext(...)` (the same bit)."""
    slots = _vop3_slots(op, m)
    mixed = any(s.kind == 'src' and s.fpmods for s in slots) and '_class_' not in m
    for s in slots:
        if s.kind == 'src':
            s.modbits = True
            if mixed and not s.fpmods and s.allow_v:
                s.name = 'sext'
        elif s.kind == 'sreg' and s.field == 'src2':
            s.name = 'read'
    return slots


def _lo128(op, slots):
    """16-bit operands of e32 forms address only v0..v127 (bit 7 selects the high half)."""
    keymap = {'vdst': 'vdst', 'src0': 'src0', 'vsrc1': 'vsrc1'}
    for s in slots:
        k = keymap.get(s.field)
        o = op.operands.get(k) if k else None
        if o is not None and o.bits == 16 and s.kind in ('vgpr', 'src'):
            s.lo128 = True
    return slots


def _vop3_mods(m):
    mods = []
    if m in VOP3_OPSEL:
        mods.append('op_sel')
    if m not in VOP3_NO_CLAMP and not (m.startswith(('v_cmp_', 'v_cmpx_')) and not _cmp_is_float(m)):
        mods.append('clamp')
    if m in VOP3_OMOD:
        mods.append('omod')
    return tuple(mods)


def _cmp_is_float(m):
    return m.endswith(('_f16', '_f32', '_f64')) and '_class_' not in m


def _dpp_slots(slots, op):
    """The operands of a DPP form: the first source is a VGPR (it goes into the DPP word), the
    other sources VGPRs, no immediates."""
    out = []
    seen_src = False
    for s in slots:
        if s.kind == 'src':
            src2 = seen_src and s.field == 'src2' and s.allow_s
            fp = s.fpmods or (op.space in ('VOP1', 'VOP2', 'VOPC') and s.field == 'src0' and _is_fp(op, 'src0'))
            ns = Slot('src', s.field, s.regs, TAGS_SSRC32, otype=s.otype, fpmods=fp, index=s.index,
                      allow_s=src2, allow_const=src2, allow_lit=False, name=s.name)
            ns.lo128 = s.lo128
            ns.modbits = True
            seen_src = True
            out.append(ns)
        elif s.kind == 'vgpr' and s.field == 'vsrc1':
            fp = (_is_fp(op, 'vsrc1') or 'src1' in FP_MODS_EXTRA.get(op.mnemonic, ())) and \
                '_class_' not in op.mnemonic
            ns = Slot('src', 'vsrc1', s.regs, None, otype='i32', fpmods=fp, index=1,
                      allow_s=False, allow_const=False, allow_lit=False)
            ns.lo128 = s.lo128
            ns.modbits = True
            out.append(ns)
        else:
            out.append(s)
    return out


_DPP16_MODS = ('dpp_ctrl', 'row_mask', 'bank_mask', 'bound_ctrl', 'fi')
_DPP8_MODS = ('dpp8', 'fi')


def _add_dpp(add, m, name_e32, fmt_base, opcode, slots, mods, suffixes, op, flags=frozenset()):
    dslots = _dpp_slots(slots, op)
    if m in VOP3_OPSEL and fmt_base in ('VOP3', 'VOP3SD'):
        for s in dslots:
            if s.kind == 'src' and not s.fpmods:
                s.name = 'sext'
    if fmt_base == 'VOP3P' and 'mix' in flags:
        for s in dslots:
            if s.kind == 'src' and s.field == 'src2':
                s.allow_lit = True
                s.name = 'droplit'
    d16 = dslots
    if fmt_base == 'VOPC' and any(s.kind == 'src' and s.fpmods for s in dslots):
        # the float compares' DPP16 form needs its vcc_lo written out
        d16 = [Slot('fixed', fixed=s.fixed) if s.kind == 'fixed' else s for s in dslots]
    add(Variant(m, name_e32, fmt_base, fmt_base + '_DPP16', opcode, d16, mods + _DPP16_MODS, dpp='dpp16',
                suffixes=suffixes, op=op, flags=flags))
    if fmt_base in ('VOP1', 'VOP2', 'VOPC'):
        # the DPP8 word of the e32 forms has no source modifier bits
        d8 = []
        for s in dslots:
            if s.kind == 'src' and s.fpmods:
                c = Slot('src', s.field, s.regs, s.tags, otype=s.otype, fpmods=False, index=s.index,
                         allow_s=s.allow_s, allow_const=s.allow_const, allow_lit=False, name=s.name)
                c.lo128 = s.lo128
                c.modbits = True
                s = c
            d8.append(s)
        dslots = d8
    add(Variant(m, name_e32, fmt_base, fmt_base + '_DPP8', opcode, dslots, mods + _DPP8_MODS, dpp='dpp8',
                suffixes=suffixes, op=op, flags=flags))


def _has_64(slots):
    return any(s.regs == 2 and s.kind in ('vgpr', 'src') for s in slots)


def build(add):
    t = table()
    vop3_by_name = {}
    for op in t.spaces['VOP3'].values():
        vop3_by_name[op.mnemonic] = op
    for op in t.spaces['VOP3SD'].values():
        vop3_by_name[op.mnemonic] = op
    e32_names = set()

    for space, fn in (('VOP1', _vop1_e32), ('VOP2', _vop2_e32), ('VOPC', _vopc_e32)):
        for op in t.spaces[space].values():
            m = op.mnemonic
            if m in ('v_swap_b16',):
                continue
            if m == 'v_mov_b16':
                _build_mov_b16(add, op)
                continue
            e32_names.add(m)
            slots = _lo128(op, fn(op))
            flags = frozenset(('e32',))
            add(Variant(m, m + '_e32', space, space, op.opcode, slots, (), suffixes=_E32_SUFFIXES, op=op,
                        flags=flags))
            op3 = vop3_by_name.get(m)
            if m in ('v_nop', 'v_pipeflush'):
                op3 = None
            if op3 is not None and m not in NO_E64:
                s3 = _vop3(op3, m)
                mods = _vop3_mods(m)
                fam = 'VOP3SD' if op3.space == 'VOP3SD' else 'VOP3'
                add(Variant(m, m + '_e64', fam, fam, op3.opcode, s3, mods, suffixes=_E64_SUFFIXES, op=op3))
            # DPP forms
            if m in NO_DPP or _has_64(slots) or not slots:
                continue
            _add_dpp(add, m, m + '_dpp', space, op.opcode, slots, (), _DPP_SUFFIXES, op, flags)
            if op3 is not None and m not in NO_E64:
                fam = 'VOP3SD' if op3.space == 'VOP3SD' else 'VOP3'
                _add_dpp(add, m, m + '_e64_dpp', fam, op3.opcode, _vop3(op3, m), _vop3_mods(m),
                         _E64_DPP_SUFFIXES, op3)

    # VOP3-only and VOP3SD-only instructions.
    for space in ('VOP3', 'VOP3SD'):
        for op in t.spaces[space].values():
            m = op.mnemonic
            if m in e32_names or op.amd_name.endswith('_E64') or m in ('v_mov_b16', 'v_swap_b16'):
                continue
            slots = _vop3(op, m)
            mods = _vop3_mods(m)
            fam = 'VOP3SD' if space == 'VOP3SD' else 'VOP3'
            add(Variant(m, m, fam, fam, op.opcode, slots, mods, suffixes=('',) if m in NO_E64_SUFFIX
                        else _E64_SUFFIXES, op=op))
            if m in NO_DPP or _has_64(slots):
                continue
            _add_dpp(add, m, m + '_e64_dpp', fam, op.opcode, slots, mods, _E64_DPP_SUFFIXES, op)
    # v_nop has a VOP3 encoding too.
    nop3 = t.by_mnemonic['v_nop'].get('VOP3')
    if nop3 is not None:
        add(Variant('v_nop', 'v_nop_e64', 'VOP3', 'VOP3', nop3.opcode, [], (), suffixes=('e64',), op=nop3))

    for op in t.spaces['VOP3P'].values():
        m = op.mnemonic
        slots = [_vdst(op)]
        mix = m.startswith('v_fma_mix')
        for i, k in enumerate(('src0', 'src1', 'src2')):
            if k in op.operands:
                slots.append(_src_slot(op, k, i, otype='f16' if mix else None))
                slots[-1].modbits = True
                if not mix:
                    slots[-1].fpmods = False
        if m.startswith('v_wmma_'):
            mods = ('neg_lo', 'neg_hi')
            if '_f16_16x16' in m or '_bf16_16x16' in m:
                if m.startswith(('v_wmma_f16_', 'v_wmma_bf16_')):
                    mods = ('op_sel', 'op_sel_hi', 'neg_lo', 'neg_hi')
            if m.endswith(('iu8', 'iu4')):
                mods = ('neg_lo', 'neg_hi', 'clamp')
            for s in slots[1:3]:
                s.allow_s = s.allow_const = s.allow_lit = False
            slots[3].allow_s = False
            slots[3].allow_lit = False
            slots[3].name = 'wmma'
            flags = frozenset(('wmma',))
        elif m.startswith('v_fma_mix'):
            mods = _MIX_MODS
            flags = frozenset(('mix',))
        else:
            mods = _PK_MODS
            flags = frozenset(('packed',))
        add(Variant(m, m, 'VOP3P', 'VOP3P', op.opcode, slots, mods, suffixes=_E64_SUFFIXES, op=op, flags=flags))
        if m in VOP3P_DPP:
            _add_dpp(add, m, m + '_e64_dpp', 'VOP3P', op.opcode, slots, mods, _E64_DPP_SUFFIXES, op, flags)


def _build_mov_b16(add, op):
    """v_mov_b16 takes 16-bit register halves (v1.l, v1.h) even in gfx1100's default mode."""
    slots = [Slot('v16', 'vdst'), Slot('src', 'src0', 1, TAGS_SSRC32, otype='i16', index=0, name='v16',
                                        allow_v=False)]
    add(Variant(op.mnemonic, op.mnemonic + '_e32', 'VOP1', 'VOP1', op.opcode, slots, (), suffixes=_E32_SUFFIXES,
                op=op, flags=frozenset(('e32', 't16'))))
    dslots = [Slot('v16', 'vdst'), Slot('v16', 'src0')]
    for dpp, mods in (('dpp16', _DPP16_MODS), ('dpp8', _DPP8_MODS)):
        add(Variant(op.mnemonic, op.mnemonic + '_dpp', 'VOP1', 'VOP1_' + dpp.upper(), op.opcode, dslots, mods,
                    dpp=dpp, suffixes=_DPP_SUFFIXES, op=op, flags=frozenset(('t16',))))


