"""The assembler's instruction forms: for each mnemonic, the encodings it can take and the
operands and modifiers each encoding accepts, built once from the instruction table.

Opcode numbers, fields and operand widths come from isa.tables. What this module adds is the
assembly syntax as LLVM's AMDGPU assembler defines it for gfx11: operand order, which register
kinds each operand takes, the modifiers an encoding accepts and their order, the mnemonic
aliases, and the instructions gfx1100 lacks.
"""

from functools import cache

from isa.tables import table

# ---------------------------------------------------------------------------------------------
# Facts about LLVM's gfx1100 syntax that the ISA table does not carry.

# Scalar ALU float instructions that arrived with gfx1150: known mnemonics, not on gfx1100.
def _gfx1150_salu_float(name: str) -> bool:
    return name.startswith('s_') and (name.endswith(('_f32', '_f16')) or '_f32_' in name or '_f16_' in name)


NOT_ON_GFX1100 = frozenset(('s_endpgm_ordered_ps_done', 'flat_atomic_csub_u32'))
# Table entries LLVM does not know for gfx11 at all.
UNKNOWN = frozenset(('v_swap_b16', 'v_dual_dot2acc_f32_bf16', 'global_load_lds_addtid_b32'))

# VOP3 forms whose clamp bit has no syntax.
VOP3_NO_CLAMP = frozenset("""
v_mul_hi_i32_i24 v_mul_hi_u32_u24 v_min_i32 v_max_i32 v_min_u32 v_max_u32 v_lshlrev_b32 v_lshrrev_b32
v_ashrrev_i32 v_and_b32 v_or_b32 v_xor_b32 v_xnor_b32 v_mov_b32 v_not_b32 v_bfrev_b32 v_clz_i32_u32
v_ctz_i32_b32 v_cls_i32 v_movreld_b32 v_movrels_b32 v_movrelsd_b32 v_movrelsd_2_b32 v_sat_pk_u8_i16
v_not_b16 v_cvt_i32_i16 v_cvt_u32_u16 v_bfe_u32 v_bfe_i32 v_bfi_b32 v_lerp_u8 v_alignbit_b32
v_alignbyte_b32 v_min3_i32 v_min3_u32 v_max3_i32 v_max3_u32 v_med3_i32 v_med3_u32 v_xor3_b32 v_perm_b32
v_xad_u32 v_lshl_add_u32 v_add_lshl_u32 v_add3_u32 v_lshl_or_b32 v_and_or_b32 v_or3_b32 v_maxmin_u32
v_minmax_u32 v_maxmin_i32 v_minmax_i32 v_mul_lo_u16 v_max_u16 v_max_i16 v_min_u16 v_min_i16 v_bfm_b32
v_bcnt_u32_b32 v_mbcnt_lo_u32_b32 v_mbcnt_hi_u32_b32 v_cvt_pk_u16_u32 v_cvt_pk_i16_i32 v_mul_lo_u32
v_mul_hi_u32 v_mul_hi_i32 v_lshlrev_b16 v_lshrrev_b16 v_ashrrev_i16 v_lshlrev_b64 v_lshrrev_b64
v_ashrrev_i64 v_and_b16 v_or_b16 v_xor_b16 v_cndmask_b32 v_cndmask_b16 v_readlane_b32 v_writelane_b32
v_permlane16_b32 v_permlanex16_b32 v_dot2_f16_f16 v_dot2_bf16_bf16 v_readfirstlane_b32 v_swap_b32
v_swaprel_b32 v_permlane64_b32 v_nop v_pipeflush v_mov_b16 v_cmp_class_f16 v_cmp_class_f32
v_cmp_class_f64 v_cmpx_class_f16 v_cmpx_class_f32 v_cmpx_class_f64
""".split())

# VOP3 forms with an output modifier (mul:2, mul:4, div:2).
VOP3_OMOD = frozenset("""
v_add_f32 v_sub_f32 v_subrev_f32 v_fmac_dx9_zero_f32 v_mul_dx9_zero_f32 v_mul_f32 v_min_f32 v_max_f32
v_fmac_f32 v_cvt_pk_rtz_f16_f32 v_add_f16 v_sub_f16 v_subrev_f16 v_mul_f16 v_fmac_f16 v_max_f16 v_min_f16
v_ldexp_f16 v_cvt_i32_f64 v_cvt_f64_i32 v_cvt_f32_i32 v_cvt_f32_u32 v_cvt_u32_f32 v_cvt_i32_f32
v_cvt_f16_f32 v_cvt_f32_f16 v_cvt_off_f32_i4 v_cvt_f32_f64 v_cvt_f64_f32 v_cvt_f32_ubyte0
v_cvt_f32_ubyte1 v_cvt_f32_ubyte2 v_cvt_f32_ubyte3 v_cvt_u32_f64 v_cvt_f64_u32 v_trunc_f64 v_ceil_f64
v_rndne_f64 v_floor_f64 v_fract_f32 v_trunc_f32 v_ceil_f32 v_rndne_f32 v_floor_f32 v_exp_f32 v_log_f32
v_rcp_f32 v_rcp_iflag_f32 v_rsq_f32 v_rcp_f64 v_rsq_f64 v_sqrt_f32 v_sqrt_f64 v_sin_f32 v_cos_f32
v_frexp_exp_i32_f64 v_frexp_mant_f64 v_fract_f64 v_frexp_mant_f32 v_cvt_f16_u16 v_cvt_f16_i16
v_cvt_u16_f16 v_cvt_i16_f16 v_rcp_f16 v_sqrt_f16 v_rsq_f16 v_log_f16 v_exp_f16 v_frexp_mant_f16
v_frexp_exp_i16_f16 v_floor_f16 v_ceil_f16 v_trunc_f16 v_rndne_f16 v_fract_f16 v_sin_f16 v_cos_f16
v_cvt_norm_i16_f16 v_cvt_norm_u16_f16 v_fma_dx9_zero_f32 v_cubeid_f32 v_cubesc_f32 v_cubetc_f32
v_cubema_f32 v_fma_f32 v_fma_f64 v_mullit_f32 v_min3_f32 v_max3_f32 v_med3_f32 v_div_fixup_f32
v_div_fixup_f64 v_div_fmas_f32 v_div_fmas_f64 v_fma_f16 v_min3_f16 v_max3_f16 v_med3_f16
v_div_fixup_f16 v_maxmin_f32 v_minmax_f32 v_maxmin_f16 v_minmax_f16 v_ldexp_f32 v_add_f64 v_mul_f64
v_min_f64 v_max_f64 v_ldexp_f64 v_trig_preop_f64 v_div_scale_f32 v_div_scale_f64
""".split())

# VOP3 forms that take op_sel (16-bit operand halves; permlane's fi/bound_ctrl bits).
VOP3_OPSEL = frozenset("""
v_fmac_f16 v_mad_u16 v_fma_f16 v_min3_f16 v_min3_i16 v_min3_u16 v_max3_f16 v_max3_i16 v_max3_u16
v_med3_f16 v_med3_i16 v_med3_u16 v_mad_i16 v_div_fixup_f16 v_mad_u32_u16 v_mad_i32_i16 v_dot2_f16_f16
v_dot2_bf16_bf16 v_add_nc_u16 v_sub_nc_u16 v_add_nc_i16 v_sub_nc_i16 v_pack_b32_f16
v_cvt_pk_norm_i16_f16 v_cvt_pk_norm_u16_f16 v_permlane16_b32 v_permlanex16_b32
""".split())
# ... of which these accept only op_sel:[0,...].
VOP3_OPSEL_ZERO = frozenset(('v_dot2_f16_f16', 'v_dot2_bf16_bf16'))

# Operands with float source modifiers although the table types them as integers, and the reverse.
FP_MODS_EXTRA = {'v_cndmask_b32': ('src0', 'src1'), 'v_cndmask_b16': ('src0', 'src1'),
                 'v_fma_mix_f32': ('src0', 'src1', 'src2'), 'v_fma_mixlo_f16': ('src0', 'src1', 'src2'),
                 'v_fma_mixhi_f16': ('src0', 'src1', 'src2')}
FP_MODS_NONE = {'v_cmp_class_f16': ('src1',), 'v_cmpx_class_f16': ('src1',)}

# Opcode spaces whose `simm16` is a branch target.
BRANCHES = frozenset(('s_branch', 's_cbranch_scc0', 's_cbranch_scc1', 's_cbranch_vccz', 's_cbranch_vccnz',
                      's_cbranch_execz', 's_cbranch_execnz', 's_cbranch_cdbgsys', 's_cbranch_cdbguser',
                      's_cbranch_cdbgsys_or_user', 's_cbranch_cdbgsys_and_user'))

# Data format of an operand -> the literal/inline-constant rules it follows.
_OTYPE = {
    'NUM_F16': 'f16', 'NUM_BF16': 'bf16', 'NUM_F32': 'f32', 'NUM_F64': 'f64',
    'NUM_I16': 'i16', 'NUM_U16': 'i16', 'NUM_B16': 'i16',
    'NUM_I64': 'i64', 'NUM_U64': 'i64', 'NUM_B64': 'i64',
    'NUM_PK2_F16': 'pkf16', 'NUM_PK2_BF16': 'pkbf16', 'NUM_PK2_I16': 'pki16', 'NUM_PK2_U16': 'pki16',
    'NUM_PK2_B16': 'pki16',
}
FLOAT_TYPES = frozenset(('NUM_F16', 'NUM_F32', 'NUM_F64', 'NUM_BF16', 'NUM_PK2_F16', 'NUM_PK2_BF16'))


def otype_of(dtype: str, bits: int) -> str:
    t = _OTYPE.get(dtype)
    if t is not None:
        return t
    return 'i64' if bits == 64 else 'i32'


# ---------------------------------------------------------------------------------------------
# Register classes: the tags (see operand.Reg) an operand accepts.

TAGS_SREG32 = frozenset(('s', 'ttmp', 'vcc_lo', 'vcc_hi', 'exec_lo', 'exec_hi', 'm0', 'null', 'scc'))
TAGS_SREG64 = frozenset(('s', 'ttmp', 'vcc', 'exec', 'null', 'shared_base', 'shared_limit',
                         'private_base', 'private_limit'))
TAGS_CONST_SRC = frozenset(('shared_base', 'shared_limit', 'private_base', 'private_limit', 'scc', 'vccz'))
TAGS_SSRC32 = TAGS_SREG32 | TAGS_CONST_SRC
TAGS_SSRC64 = TAGS_SREG64 | frozenset(('scc', 'vccz'))
TAGS_SDST_VALU = TAGS_SREG32 | TAGS_CONST_SRC        # VOPC/VOP3SD scalar destinations, carry-in
TAGS_SMEM_DATA = frozenset(('s', 'ttmp', 'vcc_lo', 'vcc_hi', 'null', 'scc', 'vcc'))
TAGS_SCRATCH_SADDR = frozenset(('s', 'ttmp', 'vcc_lo', 'vcc_hi', 'exec_lo', 'm0', 'null', 'scc'))


class Slot:
    """One positional operand of an instruction form.

    kind: 'vgpr' (VGPRs only), 'sreg' (scalar registers from `tags`), 'ssrc' (scalar source:
    registers from `tags`, inline constants, literal), 'src' (VALU source: VGPR, scalar register,
    inline constant, literal), 'fixed' (a register that must be `fixed`, not encoded), and
    instruction-specific kinds: 'simm16', 'label', 'hwreg', 'sendmsg', 'imm32', 'smem_offset',
    'saddr', 'vaddr', 'soffset', 'kimm', 'imm'."""
    __slots__ = ('kind', 'field', 'regs', 'tags', 'otype', 'fpmods', 'fixed', 'allow_v', 'allow_s',
                 'allow_const', 'allow_lit', 'index', 'optional', 'lo', 'hi', 'name', 'modbits', 'lo128')

    def __init__(self, kind, field=None, regs=1, tags=None, otype='i32', fpmods=False, fixed=None,
                 allow_v=True, allow_s=True, allow_const=True, allow_lit=True, index=0, optional=False,
                 lo=0, hi=0, name=''):
        self.kind = kind
        self.field = field
        self.regs = regs
        self.tags = tags
        self.otype = otype
        self.fpmods = fpmods
        self.fixed = fixed
        self.allow_v = allow_v
        self.allow_s = allow_s
        self.allow_const = allow_const
        self.allow_lit = allow_lit
        self.index = index
        self.optional = optional
        self.lo = lo
        self.hi = hi
        self.name = name
        self.modbits = False     # source modifiers go to neg/abs bits (else folded into immediates)
        self.lo128 = False       # VGPRs v0..v127 only (16-bit operands of e32 forms)

    def __repr__(self):
        return f"Slot({self.kind}:{self.field}x{self.regs})"


class Variant:
    """One encoding of one mnemonic: format, opcode, positional operands, accepted modifiers."""
    __slots__ = ('mnemonic', 'name', 'family', 'fmt', 'opcode', 'slots', 'mods', 'dpp', 'suffixes',
                 'op', 'flags', 'custom', 'base', 'size', 'nsrc')

    def __init__(self, mnemonic, name, family, fmt, opcode, slots, mods=(), dpp=None, suffixes=('', 'e32'),
                 op=None, flags=frozenset(), custom=None):
        self.mnemonic = mnemonic
        self.name = name
        self.family = family
        self.fmt = fmt
        self.opcode = opcode
        self.slots = slots
        self.mods = mods
        self.dpp = dpp
        self.suffixes = suffixes
        self.op = op
        self.flags = flags
        self.custom = custom
        f = table().formats[fmt]
        w = f.base_word()
        opfield = 'op' if 'op' in f.fields else 'opx'
        self.base = f.fields[opfield].put(w, opcode) if opcode is not None else w
        self.size = f.size
        # the number of VALU sources (src0..src2) among the operands
        self.nsrc = sum(1 for s in slots if s.kind == 'src' and s.field in ('src0', 'src1', 'src2'))

    def __repr__(self):
        return f"Variant({self.name} {self.fmt} op={self.opcode} {self.slots} mods={self.mods})"


# ---------------------------------------------------------------------------------------------
# Builders per family.

def _regs(o) -> int:
    return max(1, (o.bits + 31) // 32)


def _sop_slot(o, field):
    n = _regs(o)
    if field == 'sdst':
        return Slot('sreg', field, n, TAGS_SREG64 if n == 2 else TAGS_SREG32)
    return Slot('src', field, n, TAGS_SSRC64 if n == 2 else TAGS_SSRC32, otype='i64' if n == 2 else 'i32',
                allow_v=False)


def _build_sop(space, op, out):
    m = op.mnemonic
    f = table().formats[space]
    slots = []
    if space == 'SOP1':
        if m in ('s_sendmsg_rtn_b32', 's_sendmsg_rtn_b64'):
            n = _regs(op.operands['sdst'])
            slots = [Slot('sreg', 'sdst', n, TAGS_SREG64 if n == 2 else TAGS_SREG32), Slot('sendmsg_rtn', 'ssrc0')]
        else:
            if 'sdst' in op.operands:
                slots.append(_sop_slot(op.operands['sdst'], 'sdst'))
            if 'ssrc0' in op.operands:
                s = _sop_slot(op.operands['ssrc0'], 'ssrc0')
                if m in ('s_setpc_b64', 's_rfe_b64', 's_movrels_b32', 's_movrels_b64'):
                    s = Slot('sreg', 'ssrc0', s.regs, TAGS_SREG64 if s.regs == 2 else TAGS_SREG32)
                slots.append(s)
    elif space == 'SOP2':
        slots = [_sop_slot(op.operands['sdst'], 'sdst'), _sop_slot(op.operands['ssrc0'], 'ssrc0'),
                 _sop_slot(op.operands['ssrc1'], 'ssrc1')]
    elif space == 'SOPC':
        slots = [_sop_slot(op.operands['ssrc0'], 'ssrc0'), _sop_slot(op.operands['ssrc1'], 'ssrc1')]
    out.append(Variant(m, m, space, space, op.opcode, slots, op=op))
    del f


_SOPK_SIGNED = ('s_movk_i32', 's_cmovk_i32', 's_addk_i32', 's_mulk_i32', 's_cmpk_eq_i32', 's_cmpk_lg_i32',
                's_cmpk_gt_i32', 's_cmpk_ge_i32', 's_cmpk_lt_i32', 's_cmpk_le_i32', 's_version')


def _build_sopk(op, out):
    m = op.mnemonic
    sd32 = Slot('sreg', 'sdst', 1, TAGS_SREG32)
    if m == 's_version':
        slots = [Slot('imm', 'simm16', lo=-0x8000, hi=0xffff)]
    elif m == 's_getreg_b32':
        slots = [sd32, Slot('hwreg', 'simm16')]
    elif m == 's_setreg_b32':
        slots = [Slot('hwreg', 'simm16'), sd32]
    elif m == 's_setreg_imm32_b32':
        slots = [Slot('hwreg', 'simm16'), Slot('imm32', 'literal')]
    elif m == 's_call_b64':
        slots = [Slot('sreg', 'sdst', 2, TAGS_SREG64), Slot('label', 'simm16')]
    elif m in ('s_subvector_loop_begin', 's_subvector_loop_end'):
        slots = [sd32, Slot('label', 'simm16')]
    elif m.startswith('s_waitcnt_'):
        slots = [Slot('sreg', 'sdst', 1, TAGS_SREG32, name='waitcnt_sdst'), Slot('imm', 'simm16', lo=-0x8000, hi=0xffff)]
    elif m in _SOPK_SIGNED:
        slots = [sd32, Slot('imm', 'simm16', lo=-0x8000, hi=0xffff)]
    else:
        slots = [sd32, Slot('imm', 'simm16', lo=0, hi=0xffff)]
    fmt = 'SOPK_LIT' if m == 's_setreg_imm32_b32' else 'SOPK'
    out.append(Variant(m, m, 'SOPK', fmt, op.opcode, slots, op=op))


_SOPP_NOARG = frozenset(('s_barrier', 's_code_end', 's_icache_inv', 's_wait_idle', 's_ttracedata', 's_wakeup',
                         's_endpgm_saved', 's_endpgm_ordered_ps_done'))


def _build_sopp(op, out):
    m = op.mnemonic
    if m in BRANCHES:
        slots = [Slot('label', 'simm16')]
    elif m == 's_waitcnt':
        slots = [Slot('waitcnt', 'simm16')]
    elif m == 's_delay_alu':
        slots = [Slot('delay', 'simm16')]
    elif m == 's_waitcnt_depctr':
        slots = [Slot('depctr', 'simm16')]
    elif m in ('s_sendmsg', 's_sendmsghalt'):
        slots = [Slot('sendmsg', 'simm16')]
    elif m in _SOPP_NOARG:
        slots = []
    elif m == 's_endpgm':
        slots = [Slot('imm', 'simm16', optional=True, lo=None)]
    else:
        slots = [Slot('imm', 'simm16', lo=None)]
    out.append(Variant(m, m, 'SOPP', 'SOPP', op.opcode, slots, op=op))


def _build_smem(op, out):
    m = op.mnemonic
    if not op.operands:
        out.append(Variant(m, m, 'SMEM', 'SMEM', op.opcode, [], op=op))
        return
    sbase_n = 4 if 'buffer' in m else 2
    if m.startswith('s_atc_probe'):
        first = Slot('imm', 'sdata', lo=None)
    else:
        n = _regs(op.operands['sdata'])
        tags = TAGS_SMEM_DATA if n == 1 else frozenset(('s', 'ttmp', 'vcc', 'null')) if n == 2 else \
            frozenset(('s', 'ttmp'))
        first = Slot('sreg', 'sdata', n, tags)
    slots = [first, Slot('sreg', 'sbase', sbase_n, TAGS_SREG64 if sbase_n == 2 else frozenset(('s', 'ttmp'))),
             Slot('smem_offset', 'offset', optional=True, name='buffer' if sbase_n == 4 else '')]
    mods = ('offset',) if m.startswith('s_atc_probe') else ('offset', 'cpol')
    out.append(Variant(m, m, 'SMEM', 'SMEM', op.opcode, slots, mods=mods, op=op))


# -- VALU --------------------------------------------------------------------------------------

def _src_slot(op, key, index, otype=None, **kw):
    o = op.operands.get(key) or op.operands.get('v' + key)
    n = _regs(o)
    ot = otype or otype_of(o.dtype, o.bits)
    fp = o.dtype in FLOAT_TYPES
    m = op.mnemonic
    if key in FP_MODS_EXTRA.get(m, ()):
        fp = True
    if key in FP_MODS_NONE.get(m, ()):
        fp = False
        ot = 'i32'
    if o.kind == 'SRC_VGPR' or m in VGPR_ONLY_SRC0 and key == 'src0':
        kw.update(allow_s=False, allow_const=False, allow_lit=False)
    return Slot('src', key, n, TAGS_SSRC64 if n == 2 else TAGS_SSRC32, otype=ot, fpmods=fp, index=index, **kw)


# VOP1 instructions whose source is a VGPR in every encoding.
VGPR_ONLY_SRC0 = frozenset(('v_movrels_b32', 'v_movrelsd_b32', 'v_movrelsd_2_b32', 'v_swap_b32', 'v_swaprel_b32',
                            'v_permlane64_b32'))


def _vop3_mods(m, family='VOP3'):
    mods = []
    if m in VOP3_OPSEL:
        mods.append('op_sel')
    if m not in VOP3_NO_CLAMP:
        mods.append('clamp')
    if m in VOP3_OMOD:
        mods.append('omod')
    return tuple(mods)


def _has_64bit(op) -> bool:
    return any(o.bits == 64 and o.kind != 'SREG' and o.dtype != 'NUM_M64' for o in op.operands.values())


# VALU instructions without DPP forms on gfx11 (beyond those with 64-bit operands).
NO_DPP = frozenset(('v_readfirstlane_b32', 'v_readlane_b32', 'v_writelane_b32', 'v_nop', 'v_pipeflush',
                    'v_swap_b32', 'v_swaprel_b32', 'v_permlane64_b32', 'v_permlane16_b32', 'v_permlanex16_b32',
                    'v_fmamk_f32', 'v_fmaak_f32', 'v_fmamk_f16', 'v_fmaak_f16', 'v_mad_u64_u32', 'v_mad_i64_i32',
                    'v_qsad_pk_u16_u8', 'v_mqsad_pk_u16_u8', 'v_mqsad_u32_u8', 'v_div_scale_f32',
                    'v_div_fmas_f32', 'v_mov_b16', 'v_mul_hi_u32', 'v_mul_lo_u32', 'v_mul_hi_i32',
                    'v_fmac_dx9_zero_f32', 'v_fma_dx9_zero_f32', 'v_div_fixup_f32'))
NO_DPP_E64 = frozenset()


def _dpp_ok(op) -> bool:
    return op.mnemonic not in NO_DPP and not _has_64bit(op)


@cache
def variants() -> dict:
    """mnemonic -> list of Variant in LLVM's match order."""
    t = table()
    out: dict[str, list] = {}

    def add(v):
        out.setdefault(v.mnemonic, []).append(v)

    def put(m, lst):
        for v in lst:
            add(v)

    for space in ('SOP1', 'SOP2', 'SOPC'):
        for op in t.spaces[space].values():
            lst = []
            _build_sop(space, op, lst)
            put(op.mnemonic, lst)
    for op in t.spaces['SOPK'].values():
        lst = []
        _build_sopk(op, lst)
        put(op.mnemonic, lst)
    for op in t.spaces['SOPP'].values():
        lst = []
        _build_sopp(op, lst)
        put(op.mnemonic, lst)
    for op in t.spaces['SMEM'].values():
        lst = []
        _build_smem(op, lst)
        put(op.mnemonic, lst)

    from isa.asm import syntax_mem, syntax_misc, syntax_valu
    syntax_valu.build(add)
    syntax_mem.build(add)
    syntax_misc.build(add)

    for name in list(out):
        if name in UNKNOWN or is_unsupported(name):
            del out[name]
    return out


def is_unsupported(name: str) -> bool:
    return name in NOT_ON_GFX1100 or _gfx1150_salu_float(name)
