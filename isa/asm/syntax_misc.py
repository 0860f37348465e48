"""Instruction forms of the graphics-side families compute code may meet: EXP (exports),
LDSDIR (LDS parameter and direct loads) and VINTERP (parameter interpolation)."""

from isa.asm.syntax import Slot, Variant
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


# Image dimensions: name -> (code, coordinates, gradients).
IMAGE_DIMS = {'1D': (0, 1, 2), '2D': (1, 2, 4), '3D': (2, 3, 6), 'CUBE': (3, 3, 4), '1D_ARRAY': (4, 2, 2),
              '2D_ARRAY': (5, 3, 4), '2D_MSAA': (6, 3, 4), '2D_MSAA_ARRAY': (7, 4, 4)}
IMAGE_DIM_NAMES = {code: name for name, (code, _, _) in IMAGE_DIMS.items()}
NSA_SLOTS = 5           # addresses an image instruction can name one by one (the last may be a range)


class ImageInfo:
    """What an image instruction reads: extra arguments (offset, bias, compare), coordinates,
    a lod/clamp/mip value, derivatives (16-bit with g16), and its kind."""
    __slots__ = ('extra', 'coords', 'lod', 'grads', 'g16', 'gather', 'msaa', 'atomic', 'cmpswap', 'store',
                 'bvh', 'bvh64', 'd16', 'sampler', 'words')

    def __init__(self, m: str):
        name = m[len('image_'):]
        self.bvh = name.startswith('bvh')
        self.bvh64 = name.startswith('bvh64')
        self.atomic = name.startswith('atomic_')
        self.cmpswap = name == 'atomic_cmpswap'
        self.store = name.startswith('store')
        self.gather = name.startswith('gather4')
        self.msaa = name == 'msaa_load'
        self.extra = 0
        self.coords = True
        self.lod = False
        self.grads = False
        self.g16 = False
        if name.startswith(('sample', 'gather4')):
            parts = name.split('_')[1:]
            self.extra = sum(1 for x in parts if x in ('c', 'o', 'b'))
            self.lod = 'l' in parts or 'cl' in parts
            self.grads = 'd' in parts
            self.g16 = 'g16' in parts
        elif name == 'get_resinfo':
            self.coords = False
            self.lod = True
        else:
            self.lod = '_mip' in name
        self.d16 = not (self.atomic or self.bvh or 'pck' in name or name in ('get_resinfo', 'get_lod'))
        self.sampler = name.startswith(('sample', 'gather4')) or name == 'get_lod'
        # LLVM's forms of a sampling instruction cover the address counts from the least to
        # the most the dimensions other than MSAA need, with and without a16
        counts = [self.address_count(d, a16) for d in IMAGE_DIMS if 'MSAA' not in d for a16 in (False, True)]
        self.words = range(min(counts), max(counts) + 1)

    def range_ok(self, n: int) -> bool:
        """Whether LLVM has a form with the addresses in one range of n VGPRs."""
        if n <= 4:
            return True
        return self.sampler and (n in self.words or (n == 8 and any(5 <= w <= 7 for w in self.words)))

    def list_ok(self, n: int) -> bool:
        """Whether LLVM has a form with n addresses named one by one."""
        return n in self.words if self.sampler else 2 <= n <= 4

    def partial_ok(self, last: int) -> bool:
        """Whether LLVM has a form with four single addresses and a range of `last` VGPRs."""
        return self.sampler and NSA_SLOTS - 1 + last in self.words

    def address_count(self, dim: str, a16: bool) -> int:
        """The address VGPRs for a dimension (LLVM's rule: 16-bit coordinates pack in pairs,
        16-bit derivatives are packed per coordinate and padded to an even count)."""
        _, coords, grads = IMAGE_DIMS[dim]
        n = self.extra
        comps = (coords if self.coords else 0) + (1 if self.lod else 0)
        n += (comps + 1) // 2 if a16 else comps
        if self.grads:
            n += ((grads // 2 + 1) & ~1) if self.g16 else grads
        return n


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
