"""Random assembly text for gfx1100, drawn from the assembler's own instruction forms.

`random_lines(n, seed)` writes instructions of every family with random operands and
modifiers, in the spellings LLVM accepts (with and without encoding suffixes, both forms of
source modifiers, modifiers in any subset, cache bits in any order). `mutate` makes a line
slightly wrong (operand widths, ranges, modifier order) for rejection tests. Used by the
differential tests against llvm-mc and by the assembler benchmark.
"""

import random

from isa.asm.special import DELAY_IDS, DELAY_SKIPS, DEPCTR_FIELDS, GFX11_HWREGS, GFX11_MSGS
from isa.asm.syntax import variants
from isa.asm.syntax_mem import UNIFIED_FORMATS
from isa.asm.syntax_misc import ATTR_LAST, EXP_TARGETS, IMAGE_DIMS, NSA_SLOTS

FAMILIES = ('SOP1', 'SOP2', 'SOPK', 'SOPC', 'SOPP', 'SMEM', 'VOP1', 'VOP2', 'VOPC', 'VOP3', 'VOP3SD', 'VOP3P',
            'DPP16', 'DPP8', 'VOPD', 'DS', 'FLAT', 'GLOBAL', 'SCRATCH', 'MUBUF', 'MTBUF', 'MIMG', 'EXP', 'LDSDIR',
            'VINTERP')

_SPECIAL32 = ('vcc_lo', 'vcc_hi', 'exec_lo', 'exec_hi', 'm0', 'null')
_SPECIAL64 = ('vcc', 'exec', 'null')
_CONST_SRC = ('src_scc', 'src_shared_base', 'src_private_limit', 'scc')
_INLINE_FLOATS = ('0.5', '-0.5', '1.0', '-1.0', '2.0', '-2.0', '4.0', '-4.0', '0.15915494')
_FLOATS = ('1.5', '-3.25', '0.1', '100.0', '65504.0', '1e3', '.5', '2.', '-0.0', '0.0')
_INTS = ('0', '1', '7', '16', '64', '65', '-1', '-16', '-17', '0x3f800000', '0x3c00', '0x3118', '0xffff',
         '0x10000', '0x12345678', '0xffffffff', '-0x80000000', '255', '1000', '0x7fff', '0b101', '010')
_EXPRS = ('1+2', '(3*4)', '8>>1', '1<<4', '0x10|0x1', '~0', '-(5)')


class _Gen:
    def __init__(self, rng: random.Random):
        self.r = rng

    def pick(self, seq):
        return seq[self.r.randrange(len(seq))]

    def chance(self, p):
        return self.r.random() < p

    # registers ----------------------------------------------------------------------------
    def vgpr(self, n, lo128=False):
        top = 128 if lo128 else 256
        first = self.r.randrange(0, top - n + 1)
        if n == 1:
            return f'v{first}' if not self.chance(0.05) else f'v[{first}]'
        return f'v[{first}:{first + n - 1}]'

    def sgpr(self, n):
        align = 1 if n == 1 else 2 if n == 2 else 4
        first = self.r.randrange(0, (106 - n) // align + 1) * align
        if n == 1:
            return f's{first}'
        if self.chance(0.05):
            return '[' + ', '.join(f's{first + k}' for k in range(n)) + ']'
        return f's[{first}:{first + n - 1}]'

    def ttmp(self, n):
        align = 1 if n == 1 else 2 if n == 2 else 4
        first = self.r.randrange(0, (16 - n) // align + 1) * align
        return f'ttmp{first}' if n == 1 else f'ttmp[{first}:{first + n - 1}]'

    def scalar(self, n, tags):
        choices = ['s'] * 6 + ['ttmp']
        if n == 1:
            choices += [t for t in _SPECIAL32 if t in tags]
        elif n == 2:
            choices += [t for t in _SPECIAL64 if t in tags]
        k = self.pick(choices)
        if k == 's':
            return self.sgpr(n)
        if k == 'ttmp':
            return self.ttmp(n)
        return k

    # sources -------------------------------------------------------------------------------
    def imm(self, lit=True, inline=True):
        c = self.r.random()
        if inline and c < 0.35:
            return str(self.r.randrange(-16, 65))
        if inline and c < 0.6:
            return self.pick(_INLINE_FLOATS)
        if lit and c < 0.8:
            return self.pick(_INTS)
        if lit and c < 0.93:
            return self.pick(_FLOATS)
        if lit:
            return self.pick(_EXPRS)
        return str(self.r.randrange(-16, 65))

    def src(self, slot, dpp=False):
        r = self.r.random()
        n = slot.regs
        text = None
        if slot.allow_v and (r < 0.5 or not (slot.allow_s or slot.allow_const)):
            text = self.vgpr(n, slot.lo128)
        elif slot.allow_s and r < 0.75:
            tags = slot.tags or ()
            if n <= 2 and self.chance(0.05):
                text = self.pick(_CONST_SRC[:2] if n == 2 else _CONST_SRC)
            else:
                text = self.scalar(n, tags)
        elif slot.allow_const:
            text = self.imm(slot.allow_lit)
        elif slot.allow_v:
            text = self.vgpr(n, slot.lo128)
        else:
            text = self.scalar(n, slot.tags or ())
        if slot.fpmods and self.chance(0.3):
            form = self.r.randrange(6)
            text = (f'-{text}', f'|{text}|', f'neg({text})', f'abs({text})', f'-|{text}|',
                    f'neg(abs({text}))')[form]
        elif slot.name == 'sext' and self.chance(0.2) and not text.startswith('-'):
            text = f'sext({text})'
        return text

    # modifiers -------------------------------------------------------------------------------
    def bits(self, n):
        return '[' + ','.join(str(self.r.randrange(2)) for _ in range(n)) + ']'

    def mod(self, name, variant):
        r = self.r
        fam = variant.family
        if name == 'clamp':
            return 'clamp'
        if name == 'omod':
            return self.pick(('mul:2', 'mul:4', 'div:2'))
        if name in ('done', 'row_en'):
            return name
        if name == 'wait_vdst':
            return f'wait_vdst:{r.randrange(16)}'
        if name == 'wait_exp':
            return f'wait_exp:{r.randrange(8)}'
        if fam == 'VINTERP' and name == 'op_sel':
            return 'op_sel:' + self.bits(r.randrange(1, 5))
        if name in ('op_sel', 'op_sel_hi', 'neg_lo', 'neg_hi'):
            nsrc = sum(1 for s in variant.slots if s.kind == 'src')
            if fam == 'VOP3' and name == 'op_sel':
                return 'op_sel:' + self.bits(nsrc + 1)
            return f'{name}:' + self.bits(max(2, nsrc))
        if name == 'cpol':
            opts = ['glc', 'slc', 'dlc'] if fam != 'SMEM' else ['glc', 'dlc']
            r.shuffle(opts)
            return ' '.join(opts[:r.randrange(1, len(opts) + 1)])
        if name == 'offset':
            if fam == 'DS':
                return f'offset:{r.randrange(0, 65536)}'
            if fam == 'FLAT':
                return f'offset:{r.randrange(0, 4096)}'
            if fam in ('GLOBAL', 'SCRATCH'):
                return f'offset:{r.randrange(-4096, 4096)}'
            if fam == 'SMEM':
                return f'offset:{hex(r.randrange(0, 0x100000))}'
            return f'offset:{r.randrange(0, 4096)}'
        if name in ('offset0', 'offset1'):
            return f'{name}:{r.randrange(0, 256)}'
        if name == 'gds':
            return 'gds'
        if name in ('offen', 'idxen', 'tfe'):
            return name
        if name == 'format':
            if self.chance(0.5):
                return f'format:{r.randrange(0, 128)}'
            return 'format:[' + self.pick(sorted(UNIFIED_FORMATS)) + ']'
        if name == 'dpp_ctrl':
            k = r.randrange(8)
            if k == 0:
                return 'quad_perm:[' + ','.join(str(r.randrange(4)) for _ in range(4)) + ']'
            if k < 4:
                return f"{('row_shl', 'row_shr', 'row_ror')[k - 1]}:{r.randrange(1, 16)}"
            if k == 4:
                return self.pick(('row_mirror', 'row_half_mirror'))
            return f"{self.pick(('row_share', 'row_xmask'))}:{r.randrange(0, 16)}"
        if name in ('row_mask', 'bank_mask'):
            return f'{name}:{hex(r.randrange(16))}'
        if name == 'bound_ctrl':
            return 'bound_ctrl:1'
        if name == 'fi':
            return f'fi:{r.randrange(2)}'
        if name == 'dpp8':
            return 'dpp8:[' + ','.join(str(r.randrange(8)) for _ in range(8)) + ']'
        if name == 'swizzle':
            return self.pick(('offset:swizzle(QUAD_PERM,0,1,2,3)', 'offset:swizzle(SWAP,4)',
                              'offset:swizzle(REVERSE,8)', 'offset:swizzle(BROADCAST,4,1)',
                              'offset:swizzle(BITMASK_PERM,"01pip")', f'offset:{r.randrange(0, 65536)}'))
        return None

    # special operands --------------------------------------------------------------------------
    def special(self, slot):
        r = self.r
        k = slot.kind
        if k == 'imm':
            if slot.lo is None:
                return str(r.randrange(0, 1 << 16)) if self.chance(0.5) else hex(r.randrange(0, 1 << 16))
            return str(r.randrange(slot.lo, slot.hi + 1))
        if k == 'label':
            return str(r.randrange(-32768, 32768))
        if k == 'hwreg':
            name = self.pick(sorted(GFX11_HWREGS))
            c = r.randrange(3)
            if c == 0:
                return f'hwreg({name})'
            if c == 1:
                off = r.randrange(32)
                return f'hwreg({name}, {off}, {r.randrange(1, 33 - off)})'
            return f'hwreg({r.randrange(64)}, {r.randrange(32)}, {r.randrange(1, 33)})'
        if k in ('sendmsg', 'sendmsg_rtn'):
            names = sorted(GFX11_MSGS)
            if k == 'sendmsg_rtn':
                names = ['MSG_RTN_GET_DOORBELL', 'MSG_RTN_GET_DDID', 'MSG_RTN_GET_TMA', 'MSG_RTN_GET_REALTIME',
                         'MSG_RTN_SAVE_WAVE', 'MSG_RTN_GET_TBA']
            return f'sendmsg({self.pick(names)})' if self.chance(0.8) else str(r.randrange(0, 256))
        if k == 'imm32':
            return self.pick(_INTS)
        if k == 'kimm':
            return self.pick(('0x1234', '0x3c00', '1.5', '0x41', '-2.5', '0x4000'))
        if k == 'smem_offset':
            if self.chance(0.5):
                return hex(r.randrange(0, 0x100000)) if slot.name == 'buffer' else str(r.randrange(-0x1000, 0x1000))
            return self.scalar(1, ('m0', 'null', 'vcc_lo'))
        if k == 'saddr':
            if slot.name == 'off':
                return 'off'
            return self.scalar(slot.regs, slot.tags) if slot.name == 'sreg' or self.chance(0.6) else 'off'
        if k == 'vaddr_off':
            return None
        if k == 'soffset':
            return self.scalar(1, slot.tags) if self.chance(0.6) else str(r.randrange(-16, 65))
        if k == 'v16':
            return f'v{r.randrange(128)}.{self.pick("lh")}'
        if k == 'exp_tgt':
            return self.pick(sorted(EXP_TARGETS))
        if k == 'exp_src':
            return 'off' if self.chance(0.2) else self.vgpr(1)
        if k == 'attr':
            return f'attr{r.randrange(ATTR_LAST + 1)}.{self.pick("xyzw")}'
        if k == 'vinterp_src':
            text = self.vgpr(1)
            if self.chance(0.3):
                text = self.pick((f'-{text}', f'|{text}|', f'neg({text})', f'abs({text})', f'-|{text}|'))
            return text
        return None

    def waitcnt(self):
        r = self.r
        parts = []
        for name, limit in (('vmcnt', 63), ('expcnt', 7), ('lgkmcnt', 63)):
            if self.chance(0.6):
                parts.append(f'{name}({r.randrange(limit + 1)})')
        if not parts:
            return hex(r.randrange(0x10000))
        return self.pick((' ', ' & ', ', ')).join(parts)

    def delay(self):
        r = self.r
        parts = [f'instid0({self.pick(sorted(DELAY_IDS))})']
        if self.chance(0.5):
            parts.append(f'instskip({self.pick(sorted(DELAY_SKIPS))})')
        if self.chance(0.5):
            parts.append(f'instid1({self.pick(sorted(DELAY_IDS))})')
        return ' | '.join(parts) if self.chance(0.9) else str(r.randrange(0x800))

    def depctr(self):
        r = self.r
        names = sorted(DEPCTR_FIELDS)
        r.shuffle(names)
        parts = []
        for n in names[:r.randrange(1, 4)]:
            width = DEPCTR_FIELDS[n][1]
            parts.append(f'{n}({r.randrange(1 << width)})')
        return ' '.join(parts)


def _by_family():
    out = {f: [] for f in FAMILIES}
    for forms in variants().values():
        for v in forms:
            fam = v.family
            if v.dpp == 'dpp16':
                out['DPP16'].append(v)
            elif v.dpp == 'dpp8':
                out['DPP8'].append(v)
            elif fam in out:
                out[fam].append(v)
    return out


_FAMILY_FORMS = None


def _line(g: _Gen, v) -> str:
    r = g.r
    m = v.mnemonic
    suffix = g.pick(v.suffixes)
    name = m + ('_' + suffix if suffix else '')
    if r.random() < 0.02:
        name = name.upper()
    if m == 's_waitcnt':
        return f'{name} {g.waitcnt()}'
    if m == 's_delay_alu':
        return f'{name} {g.delay()}'
    if m == 's_waitcnt_depctr':
        return f'{name} {g.depctr()}'
    if v.family == 'MIMG':
        return _image_line(g, v, name)
    ops = []
    vaddr_count = 0
    for s in v.slots:
        k = s.kind
        if k == 'vgpr':
            ops.append(g.vgpr(s.regs, s.lo128))
        elif k == 'src':
            if s.name == 'v16' and g.chance(0.5):
                ops.append(f'v{r.randrange(128)}.{g.pick("lh")}')
            else:
                ops.append(g.src(s, v.dpp is not None))
        elif k == 'sreg':
            if s.name == 'waitcnt_sdst':
                ops.append('null')
            else:
                ops.append(g.scalar(s.regs, s.tags))
        elif k == 'fixed':
            if not s.optional or g.chance(0.8):
                ops.append(s.fixed)
        elif k == 'vaddr_off':
            if s.name == 'buf':
                vaddr_count = r.randrange(3)
                ops.append('off' if vaddr_count == 0 else g.vgpr(vaddr_count))
            elif g.chance(0.5):
                ops.append('off')
            else:
                ops.append(g.vgpr(1))
                vaddr_count = 1
        else:
            t = g.special(s)
            if t is None:
                if s.optional:
                    continue
                t = '0'
            if s.optional and g.chance(0.2):
                continue
            ops.append(t)
    mods = []
    for mod in v.mods:
        if v.dpp == 'dpp16' and mod == 'dpp_ctrl':
            mods.append(g.mod(mod, v))
            continue
        if v.dpp == 'dpp8' and mod == 'dpp8':
            mods.append(g.mod(mod, v))
            continue
        if v.family in ('MUBUF', 'MTBUF') and mod in ('idxen', 'offen'):
            continue
        if mod == 'gds' and 'gds_required' in v.flags:
            mods.append('gds')
            continue
        if mod == 'cpol' and 'rtn' in v.flags:
            mods.append(g.pick(('glc', 'glc slc', 'slc glc', 'glc dlc')))
            continue
        if mod == 'cpol' and 'nortn' in v.flags:
            if g.chance(0.4):
                mods.append(g.pick(('slc', 'dlc', 'slc dlc')))
            continue
        if mod == 'tfe':
            continue
        if g.chance(0.3):
            t = g.mod(mod, v)
            if t:
                mods.append(t)
        if v.family in ('MUBUF', 'MTBUF') and mod == 'format':
            if vaddr_count == 2:
                mods.append('idxen offen')
            elif vaddr_count == 1:
                mods.append(g.pick(('idxen', 'offen')))
    if v.family == 'MUBUF' and not any(x in ('idxen', 'offen', 'idxen offen') for x in mods):
        if vaddr_count == 2:
            mods.insert(0, 'idxen offen')
        elif vaddr_count == 1:
            mods.insert(0, g.pick(('idxen', 'offen')))
    text = name
    if ops:
        sep = ', ' if r.random() < 0.97 else ' '
        text += ' ' + sep.join(ops)
    if mods:
        text += ' ' + ' '.join(mods)
    return text


def _image_addr(g: _Gen, info, count: int) -> str:
    """Address operand text for `count` VGPRs: a range, or one by one (NSA) where LLVM has
    such a form."""
    r = g.r
    if count >= 2 and g.chance(0.35):
        if count <= NSA_SLOTS and info.list_ok(count):
            return '[' + ', '.join(g.vgpr(1) for _ in range(count)) + ']'
        if count > NSA_SLOTS and info.partial_ok(count - NSA_SLOTS + 1):
            return '[' + ', '.join([g.vgpr(1) for _ in range(NSA_SLOTS - 1)] +
                                   [g.vgpr(count - NSA_SLOTS + 1)]) + ']'
    if not info.range_ok(count):
        count = 8
    if count == 1 and r.random() < 0.1:
        return '[' + g.vgpr(1) + ']'
    return g.vgpr(count)


def _image_line(g: _Gen, v, name: str) -> str:
    """A valid image instruction: data and address sizes that fit its dmask, d16, tfe, dim
    and a16."""
    r = g.r
    info = v.custom
    rsrc4 = g.scalar(4, ('s', 'ttmp'))
    if info.bvh:
        a16 = g.chance(0.3)
        shape = ([2] if info.bvh64 else [1]) + ([1, 3, 3] if a16 else [1, 3, 3, 3])
        if g.chance(0.4):
            addr = '[' + ', '.join(g.vgpr(k) for k in shape) + ']'
        else:
            addr = g.vgpr(sum(shape))
        return f"{name} {g.vgpr(4)}, {addr}, {rsrc4}" + (' a16' if a16 else '')
    while True:
        dim = g.pick(sorted(IMAGE_DIMS))
        if info.msaa and 'MSAA' not in dim:
            continue
        a16 = g.chance(0.25)
        count = info.address_count(dim, a16)
        if info.range_ok(count) or (5 <= count <= 7 and info.range_ok(8)):
            break
    d16 = info.d16 and g.chance(0.2)
    tfe = g.chance(0.2) and not (d16 and (info.gather or info.msaa))
    if info.gather or info.msaa:
        dmask = 1 << r.randrange(4)
        data = 4
    elif info.atomic:
        dmask = g.pick((0x3, 0xF) if info.cmpswap else (0x1, 0x3) + ((0xF,) if tfe else ()))
        data = bin(dmask).count('1')
    else:
        dmask = r.randrange(16) if g.chance(0.9) else None
        data = max(1, bin(dmask or 0).count('1'))
    if d16:
        data = (data + 1) // 2
    if tfe:
        data += 1
    ops = [g.vgpr(data), _image_addr(g, info, count), g.scalar(8, ('s', 'ttmp'))]
    if len(v.slots) > 3:
        ops.append(rsrc4)
    mods = []
    if dmask is not None:
        mods.append(f'dmask:{hex(dmask)}' if g.chance(0.8) else f'dmask:{dmask}')
    mods.append('dim:' + (dim if g.chance(0.5) else 'SQ_RSRC_IMG_' + dim))
    for flag, p in (('unorm', 0.2), ('cpol', 0.3), ('r128', 0.15), ('a16', None), ('tfe', None), ('lwe', 0.1),
                    ('d16', None)):
        if flag == 'cpol':
            if g.chance(p):
                mods.append(g.mod('cpol', v))
        elif flag == 'a16':
            if a16:
                mods.append('a16')
        elif flag == 'tfe':
            if tfe:
                mods.append('tfe')
        elif flag == 'd16':
            if d16:
                mods.append('d16')
        elif g.chance(p):
            mods.append(flag)
    return f"{name} {', '.join(ops)} {' '.join(mods)}"


def _vopd_line(g: _Gen) -> str:
    from isa.tables import table
    ops = [o.mnemonic for o in table().spaces['VOPD'].values() if o.mnemonic != 'v_dual_dot2acc_f32_bf16']
    xs = [m for m in ops if m not in ('v_dual_add_nc_u32', 'v_dual_lshlrev_b32', 'v_dual_and_b32')]
    x = g.pick(xs)
    y = g.pick(ops)

    def half(m, dst_parity, bank_avoid):
        dst = g.r.randrange(0, 128) * 2 + dst_parity
        parts = [f'v{dst}']
        s0 = g.pick((f'v{g.r.randrange(256)}', g.sgpr(1), g.imm(True), 'vcc_lo'))
        parts.append(s0)
        v1 = f'v{g.r.randrange(256)}'
        if m == 'v_dual_mov_b32':
            pass
        elif m == 'v_dual_fmaak_f32':
            parts += [v1, '0x1234']
        elif m == 'v_dual_fmamk_f32':
            parts += ['0x1234', v1]
        else:
            parts.append(v1)
        return f'{m} ' + ', '.join(parts)
    p = g.r.randrange(2)
    return half(x, p, None) + ' :: ' + half(y, 1 - p, None)


def random_instructions(n: int, seed: int = 0, families=FAMILIES) -> list[tuple[str, str]]:
    """n random (family, instruction text) pairs spread evenly over `families`."""
    global _FAMILY_FORMS
    if _FAMILY_FORMS is None:
        _FAMILY_FORMS = _by_family()
    rng = random.Random(seed)
    g = _Gen(rng)
    out = []
    fams = [f for f in families if f == 'VOPD' or _FAMILY_FORMS.get(f)]
    for i in range(n):
        fam = fams[i % len(fams)]
        if fam == 'VOPD':
            out.append((fam, _vopd_line(g)))
            continue
        v = g.pick(_FAMILY_FORMS[fam])
        out.append((fam, _line(g, v)))
    return out


def random_lines(n: int, seed: int = 0, families=FAMILIES) -> list[str]:
    """n random instruction lines spread evenly over `families`."""
    return [line for _, line in random_instructions(n, seed, families)]


def mutate(line: str, rng: random.Random) -> str:
    """A small random change that often makes the line invalid."""
    k = rng.randrange(8)
    toks = line.split(' ')
    if k == 0 and len(toks) > 2:
        i, j = rng.randrange(1, len(toks)), rng.randrange(1, len(toks))
        toks[i], toks[j] = toks[j], toks[i]
        return ' '.join(toks)
    if k == 1:
        return line.replace('v[', 'v[1', 1) if 'v[' in line else line + ' clamp'
    if k == 2:
        return line.replace('s', 'v', 1)
    if k == 3:
        return line + ', v1'
    if k == 4:
        return line.replace(':', ':9', 1)
    if k == 5:
        return line.rsplit(',', 1)[0] if ',' in line else line + ' glc'
    if k == 6:
        return line.replace('v', 's', 2)
    return line.replace('0', '0x100000000', 1)


def kernel_lines(n: int, seed: int = 0) -> list[str]:
    """n lines shaped like compiler output for compute kernels: kernel-argument loads, address
    arithmetic, global and LDS memory, float math, compares and branches, waits and delays."""
    r = random.Random(seed)
    out = []

    def vr(k=1):
        a = r.randrange(0, 256 - k)
        return f'v{a}' if k == 1 else f'v[{a}:{a + k - 1}]'

    def sr(k=1):
        a = r.randrange(0, 100 // k) * k
        return f's{a}' if k == 1 else f's[{a}:{a + k - 1}]'

    def src():
        c = r.random()
        if c < 0.7:
            return vr()
        if c < 0.85:
            return sr()
        return r.choice(('0', '1.0', '-1.0', '0.5', '2', '0x3f000000', '0x7fffffff', '4.0'))

    templates = [
        lambda: f's_load_b64 {sr(2)}, s[0:1], 0x{8 * r.randrange(8):x}',
        lambda: f's_load_b128 {sr(4)}, s[0:1], 0x{16 * r.randrange(4):x}',
        lambda: r.choice(('s_waitcnt lgkmcnt(0)', 's_waitcnt vmcnt(0)', 's_waitcnt vmcnt(0) lgkmcnt(0)',
                          's_waitcnt_vscnt null, 0x0')),
        lambda: r.choice(('s_delay_alu instid0(VALU_DEP_1)', 's_delay_alu instid0(VALU_DEP_2) | '
                          'instskip(NEXT) | instid1(VALU_DEP_1)', 's_delay_alu instid0(SALU_CYCLE_1)')),
        lambda: f'v_add_co_u32 {vr()}, vcc_lo, {sr()}, {vr()}',
        lambda: f'v_add_co_ci_u32_e32 {vr()}, vcc_lo, {sr()}, {vr()}, vcc_lo',
        lambda: f'v_lshlrev_b64 {vr(2)}, 2, {vr(2)}',
        lambda: f'global_load_b32 {vr()}, {vr()}, {sr(2)} offset:{4 * r.randrange(64)}',
        lambda: f'global_load_b128 {vr(4)}, {vr(2)}, off',
        lambda: f'global_store_b32 {vr()}, {vr()}, {sr(2)}',
        lambda: f'ds_load_b32 {vr()}, {vr()} offset:{4 * r.randrange(256)}',
        lambda: f'ds_store_b64 {vr()}, {vr(2)} offset:{8 * r.randrange(128)}',
        lambda: f'v_fma_f32 {vr()}, {src()}, {vr()}, {vr()}',
        lambda: f'v_fmac_f32_e32 {vr()}, {src()}, {vr()}',
        lambda: f'v_mul_f32_e32 {vr()}, {src()}, {vr()}',
        lambda: f'v_add_f32_e32 {vr()}, {src()}, {vr()}',
        lambda: f'v_max_f32_e32 {vr()}, {src()}, {vr()}',
        lambda: f'v_mov_b32_e32 {vr()}, {src()}',
        lambda: f'v_cvt_f32_u32_e32 {vr()}, {vr()}',
        lambda: f'v_mad_u64_u32 {vr(2)}, null, {sr()}, {vr()}, {vr(2)}',
        lambda: f'v_mul_lo_u32 {vr()}, {sr()}, {vr()}',
        lambda: f'v_cmp_gt_i32_e32 vcc_lo, {sr()}, {vr()}',
        lambda: f's_and_saveexec_b32 {sr()}, vcc_lo',
        lambda: f's_mov_b32 {sr()}, {r.choice(("0", "exec_lo", "0x10000", "-1"))}',
        lambda: f's_add_u32 {sr()}, {sr()}, {r.randrange(1, 65)}',
        lambda: f's_lshl_b32 {sr()}, {sr()}, {r.randrange(1, 8)}',
        lambda: f'v_pk_fma_f16 {vr()}, {vr()}, {vr()}, {vr()}',
        lambda: f'v_dot2_f32_f16 {vr()}, {vr()}, {vr()}, {vr()}',
        lambda: f'v_dual_fmac_f32 v{2 * r.randrange(100)}, v{4 * r.randrange(60)}, v{4 * r.randrange(60) + 2} :: '
                f'v_dual_mul_f32 v{2 * r.randrange(100) + 1}, v{4 * r.randrange(60) + 1}, '
                f'v{4 * r.randrange(60) + 3}',
        lambda: f'v_mov_b32_dpp {vr()}, {vr()} row_shr:{r.randrange(1, 16)} row_mask:0xf bank_mask:0xf',
        lambda: f'v_cndmask_b32_e64 {vr()}, 0, {src()}, {sr()}',
        lambda: 's_endpgm' if r.random() < 0.1 else 's_nop 0',
    ]
    for _ in range(n):
        out.append(templates[r.randrange(len(templates))]())
    return out
