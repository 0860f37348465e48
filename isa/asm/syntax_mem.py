"""Instruction forms of the memory families: DS, FLAT, GLOBAL, SCRATCH, MUBUF and MTBUF."""

from isa.asm.syntax import TAGS_SCRATCH_SADDR, TAGS_SREG64, TAGS_SSRC32, Slot, Variant, _regs
from isa.tables import table

TAGS_RSRC = frozenset(('s', 'ttmp'))

# DS instructions whose only syntax includes `gds`, and those that may not use it.
DS_GDS_REQUIRED = frozenset(('ds_gws_init', 'ds_gws_sema_v', 'ds_gws_sema_br', 'ds_gws_sema_p',
                             'ds_gws_barrier', 'ds_gws_sema_release_all', 'ds_add_gs_reg_rtn',
                             'ds_sub_gs_reg_rtn', 'ds_ordered_count'))
DS_NO_GDS = frozenset(('ds_permute_b32', 'ds_bpermute_b32', 'ds_bvh_stack_rtn_b32', 'ds_nop'))

# Unified buffer formats of gfx11 MTBUF, in encoding order from 0.
_DFMTS = ('8', '16', '8_8', '32', '16_16', '10_11_11', '11_11_10', '10_10_10_2', '2_10_10_10', '8_8_8_8',
          '32_32', '16_16_16_16', '32_32_32', '32_32_32_32')
_NFMT_ORDER = ('UNORM', 'SNORM', 'USCALED', 'SSCALED', 'UINT', 'SINT', 'FLOAT')
_UFMT_NFMTS = {
    '8': 'UNORM SNORM USCALED SSCALED UINT SINT', '16': 'UNORM SNORM USCALED SSCALED UINT SINT FLOAT',
    '8_8': 'UNORM SNORM USCALED SSCALED UINT SINT', '32': 'UINT SINT FLOAT',
    '16_16': 'UNORM SNORM USCALED SSCALED UINT SINT FLOAT', '10_11_11': 'FLOAT', '11_11_10': 'FLOAT',
    '10_10_10_2': 'UNORM SNORM UINT SINT', '2_10_10_10': 'UNORM SNORM USCALED SSCALED UINT SINT',
    '8_8_8_8': 'UNORM SNORM USCALED SSCALED UINT SINT', '32_32': 'UINT SINT FLOAT',
    '16_16_16_16': 'UNORM SNORM USCALED SSCALED UINT SINT FLOAT', '32_32_32': 'UINT SINT FLOAT',
    '32_32_32_32': 'UINT SINT FLOAT',
}


def _unified_formats() -> dict:
    names = {'BUF_FMT_INVALID': 0}
    code = 1
    for d in _DFMTS:
        for n in _UFMT_NFMTS[d].split():
            names[f'BUF_FMT_{d}_{n}'] = code
            code += 1
    return names


UNIFIED_FORMATS = _unified_formats()
# Legacy split formats: data format and numeric format names (combined by name into a unified one).
DATA_FORMATS = {'BUF_DATA_FORMAT_INVALID': 'INVALID', **{f'BUF_DATA_FORMAT_{d}': d for d in _DFMTS},
                'BUF_DATA_FORMAT_RESERVED_15': 'RESERVED_15'}
NUM_FORMATS = {f'BUF_NUM_FORMAT_{n}': n for n in ('UNORM', 'SNORM', 'USCALED', 'SSCALED', 'UINT', 'SINT',
                                                  'RESERVED_6', 'FLOAT')}
DEFAULT_FORMAT = 1


def _ds(op, add):
    m = op.mnemonic
    ops = op.operands
    slots = []
    if 'vdst' in ops:
        slots.append(Slot('vgpr', 'vdst', _regs(ops['vdst'])))
    if 'addr' in ops:
        slots.append(Slot('vgpr', 'addr', 1))
    if 'data0' in ops:
        slots.append(Slot('vgpr', 'data0', _regs(ops['data0'])))
    if 'data1' in ops:
        slots.append(Slot('vgpr', 'data1', _regs(ops['data1'])))
    if '2addr' in m:
        mods = ('offset0', 'offset1', 'gds')
    elif m == 'ds_swizzle_b32':
        mods = ('swizzle', 'gds')
    else:
        mods = ('offset', 'gds')
    if m in DS_NO_GDS:
        mods = tuple(x for x in mods if x != 'gds')
    if m == 'ds_nop':
        mods = ()
    flags = frozenset(('gds_required',)) if m in DS_GDS_REQUIRED else frozenset()
    add(Variant(m, m, 'DS', 'DS', op.opcode, slots, mods, op=op, flags=flags))


def _is_atomic(m):
    return '_atomic_' in m


def _flat(space, op, add):
    m = op.mnemonic
    ops = op.operands
    mods = ('offset', 'cpol')
    if space == 'FLAT' and not m.startswith('flat_'):
        return
    if m in ('global_load_addtid_b32', 'global_store_addtid_b32'):
        first = Slot('vgpr', 'vdst' if 'load' in m else 'data', 1)
        add(Variant(m, m, space, space, op.opcode, [first, Slot('saddr', 'saddr', 2, TAGS_SREG64)], mods, op=op))
        return
    if 'addr' not in ops:
        return
    vd = Slot('vgpr', 'vdst', _regs(ops['vdst'])) if 'vdst' in ops else None
    data = Slot('vgpr', 'data', _regs(ops['data'])) if 'data' in ops else None
    atomic = _is_atomic(m)
    if atomic and 'cmpswap' in m and data is not None:
        vd = Slot('vgpr', 'vdst', data.regs // 2)

    def forms(addr_slots):
        # the scalar address (GLOBAL, SCRATCH) comes after the data operand
        tail = addr_slots[1:]
        addr = addr_slots[:1]
        if atomic:
            yield [vd] + addr + [data] + tail, frozenset(('rtn',))
            yield addr + [data] + tail, frozenset(('nortn',))
        elif data is not None:
            yield addr + [data] + tail, frozenset()
        else:
            yield [vd] + addr + tail, frozenset()

    if space == 'FLAT':
        layouts = [[Slot('vgpr', 'addr', 2)]]
    elif space == 'GLOBAL':
        layouts = [[Slot('vgpr', 'addr', 1), Slot('saddr', 'saddr', 2, TAGS_SREG64, name='sreg')],
                   [Slot('vgpr', 'addr', 2), Slot('saddr', 'saddr', 2, TAGS_SREG64, name='off')]]
    else:
        layouts = [[Slot('vaddr_off', 'addr', 1), Slot('saddr', 'saddr', 1, TAGS_SCRATCH_SADDR)]]
    for lay in layouts:
        for slots, flags in forms(lay):
            add(Variant(m, m, space, space, op.opcode, slots, mods, op=op, flags=flags))


def _buf(space, op, add):
    m = op.mnemonic
    ops = op.operands
    if not ops:
        add(Variant(m, m, space, space, op.opcode, [], (), op=op))
        return
    slots = []
    if 'vdata' in ops:
        slots.append(Slot('vgpr', 'vdata', _regs(ops['vdata']), name='vdata'))
    slots.append(Slot('vaddr_off', 'vaddr', 1, name='buf'))
    slots.append(Slot('sreg', 'srsrc', 4, TAGS_RSRC))
    slots.append(Slot('soffset', 'soffset', 1, TAGS_SSRC32))
    if space == 'MTBUF':
        mods = ('format', 'idxen', 'offen', 'offset', 'cpol', 'tfe')
    else:
        mods = ('idxen', 'offen', 'offset', 'cpol', 'tfe')
    flags = frozenset(('atomic',)) if _is_atomic(m) else frozenset(('store',)) if '_store_' in m else frozenset()
    add(Variant(m, m, space, space, op.opcode, slots, mods, op=op, flags=flags))


def build(add):
    t = table()
    for op in t.spaces['DS'].values():
        _ds(op, add)
    for space in ('FLAT', 'GLOBAL', 'SCRATCH'):
        for op in t.spaces[space].values():
            if '_lds_' in op.mnemonic:
                continue
            _flat(space, op, add)
    for space in ('MUBUF', 'MTBUF'):
        for op in t.spaces[space].values():
            _buf(space, op, add)
