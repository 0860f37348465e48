"""Instruction forms of the graphics-side families compute code may meet: EXP (exports),
LDSDIR (LDS parameter and direct loads) and VINTERP (parameter interpolation)."""

from isa.asm.syntax import Slot, Variant
from isa.image import IMAGE_DIMS, NSA_SLOTS, ImageInfo  # noqa: F401  (the assembler's modules find them here)
from isa.tables import table

# Export targets: name -> target number. gfx11 keeps MRT0-7, MRTZ, POS0-4, PRIM and the two
# dual-source blend targets; NULL and PARAM0-31 are named but no longer exported to.
EXP_TARGETS = {**{f'mrt{k}': k for k in range(8)}, 'mrtz': 8, **{f'pos{k}': 12 + k for k in range(5)},
               'prim': 20, 'dual_src_blend0': 21, 'dual_src_blend1': 22}
EXP_TARGETS_OLD = frozenset(('null', *(f'param{k}' for k in range(32))))

# Interpolation attributes: attr0..attr32, channels x y z w.
ATTR_LAST = 32
ATTR_CHANNELS = {'x': 0, 'y': 1, 'z': 2, 'w': 3}

_VINTERP_OPSEL = frozenset(('v_interp_p10_f16_f32', 'v_interp_p2_f16_f32', 'v_interp_p10_rtz_f16_f32',
                            'v_interp_p2_rtz_f16_f32'))


def build(add):
    t = table()
    for op in t.spaces['EXP'].values():
        slots = [Slot('exp_tgt', 'target')]
        slots += [Slot('exp_src', f'vsrc{k}', index=k) for k in range(4)]
        add(Variant(op.mnemonic, op.mnemonic, 'EXP', 'EXP', None, slots, ('done', 'row_en'), op=op))
    for op in t.spaces['LDSDIR'].values():
        slots = [Slot('vgpr', 'vdst', 1)]
        if 'attr' in op.operands:
            slots.append(Slot('attr', 'attr'))
        add(Variant(op.mnemonic, op.mnemonic, 'LDSDIR', 'LDSDIR', op.opcode, slots, ('wait_vdst',), op=op))
    for op in t.spaces['VINTERP'].values():
        m = op.mnemonic
        slots = [Slot('vgpr', 'vdst', 1)] + [Slot('vinterp_src', f'src{k}', index=k) for k in range(3)]
        mods = ('clamp', 'op_sel', 'wait_exp') if m in _VINTERP_OPSEL else ('clamp', 'wait_exp')
        add(Variant(m, m, 'VINTERP', 'VINTERP', op.opcode, slots, mods, suffixes=('', 'e64'), op=op))
    _build_image(add)


def _build_image(add):
    from isa.asm.syntax_mem import TAGS_RSRC
    for op in table().spaces['MIMG'].values():
        m = op.mnemonic
        info = ImageInfo(m)
        if info.bvh:
            slots = [Slot('vgpr', 'vdata', 4), Slot('mimg_addr', 'vaddr'), Slot('sreg', 'srsrc', 4, TAGS_RSRC)]
            mods = ('a16',)
        else:
            data = Slot('mimg_data', 'vdata')
            data.name = ('gather' if info.gather else 'msaa' if info.msaa else 'cmpswap' if info.cmpswap else
                         'atomic' if info.atomic else '')
            slots = [data, Slot('mimg_addr', 'vaddr'), Slot('sreg', 'srsrc', 8, TAGS_RSRC)]
            if 'ssamp' in op.operands:
                slots.append(Slot('sreg', 'ssamp', 4, TAGS_RSRC))
            mods = ('dmask', 'dim', 'unorm', 'cpol', 'r128', 'a16', 'tfe', 'lwe') + (('d16',) if info.d16 else ())
        add(Variant(m, m, 'MIMG', 'MIMG', op.opcode, slots, mods, op=op, custom=info))
