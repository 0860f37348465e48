"""isa.builder: instructions built from Python operands encode exactly as their text does."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import isa.asm.operand as operand_module
from isa import AsmError, assemble
from isa.builder import (
    Program,
    exec,
    exec_lo,
    fabs,
    hwreg,
    ins,
    m0,
    neg,
    null,
    off,
    s,
    sendmsg,
    sext,
    swizzle,
    ttmp,
    v,
    vcc,
    vcc_lo,
    vopd,
)

CASES = [
    (lambda: ins.v_add_f32(v[1], v[2], v[3]), "v_add_f32 v1, v2, v3"),
    (lambda: ins.v_add_f32(v[1], s[2], v[3]), "v_add_f32 v1, s2, v3"),
    (lambda: ins.v_add_f32(v[1], v[2], s[3]), "v_add_f32 v1, v2, s3"),
    (lambda: ins.v_add_f32_e64(v[1], v[2], v[3]), "v_add_f32_e64 v1, v2, v3"),
    (lambda: ins.v_add_f32(v[1], -v[2], abs(v[3]), clamp=True), "v_add_f32 v1, -v2, |v3| clamp"),
    (lambda: ins.v_add_f32(v[1], v[2], v[3], omod=1), "v_add_f32 v1, v2, v3 mul:2"),
    (lambda: ins.v_add_f32(v[1], v[2], v[3], div=2), "v_add_f32 v1, v2, v3 div:2"),
    (lambda: ins.v_fma_f32(v[0], -v[1], abs(v[2]), 0.5, clamp=True), "v_fma_f32 v0, -v1, |v2|, 0.5 clamp"),
    (lambda: ins.v_fma_f32(v[0], v[1], v[2], 1.5), "v_fma_f32 v0, v1, v2, 1.5"),
    (lambda: ins.v_add_f32(v[0], neg(1.0), v[2]), "v_add_f32 v0, neg(1.0), v2"),
    (lambda: ins.v_add_f32(v[0], fabs(-2.0), v[2]), "v_add_f32 v0, abs(-2.0), v2"),
    (lambda: ins.v_mov_b32(v[1], 0x12345678), "v_mov_b32 v1, 0x12345678"),
    (lambda: ins.v_mov_b32(v[1], -1), "v_mov_b32 v1, -1"),
    (lambda: ins.v_mov_b32(v[1], v[2], quad_perm=[3, 2, 1, 0]), "v_mov_b32 v1, v2 quad_perm:[3,2,1,0]"),
    (lambda: ins.v_mov_b32(v[1], v[2], row_shl=1, bound_ctrl=1, row_mask=3),
     "v_mov_b32 v1, v2 row_shl:1 row_mask:0x3 bound_ctrl:1"),
    (lambda: ins.v_mov_b32(v[1], v[2], dpp8=[7, 6, 5, 4, 3, 2, 1, 0], fi=1),
     "v_mov_b32 v1, v2 dpp8:[7,6,5,4,3,2,1,0] fi:1"),
    (lambda: ins.v_mov_b32(v[1], v[2], row_mirror=True), "v_mov_b32 v1, v2 row_mirror"),
    (lambda: ins.v_cndmask_b32(v[1], v[2], v[3], vcc_lo), "v_cndmask_b32 v1, v2, v3, vcc_lo"),
    (lambda: ins.v_cndmask_b32(v[1], v[2], v[3], s[4]), "v_cndmask_b32 v1, v2, v3, s4"),
    (lambda: ins.v_add_co_u32(v[1], vcc_lo, v[2], v[3]), "v_add_co_u32 v1, vcc_lo, v2, v3"),
    (lambda: ins.v_add_co_ci_u32(v[1], vcc_lo, v[2], v[3], vcc_lo), "v_add_co_ci_u32 v1, vcc_lo, v2, v3, vcc_lo"),
    (lambda: ins.v_cmp_lt_f32(vcc_lo, v[1], v[2]), "v_cmp_lt_f32 vcc_lo, v1, v2"),
    (lambda: ins.v_cmp_lt_f32(s[5], v[1], 1.0), "v_cmp_lt_f32 s5, v1, 1.0"),
    (lambda: ins.v_cmpx_eq_u32(0, v[1]), "v_cmpx_eq_u32 0, v1"),
    (lambda: ins.v_lshlrev_b64(v[0:2], 2, v[2:4]), "v_lshlrev_b64 v[0:1], 2, v[2:3]"),
    (lambda: ins.v_mad_u64_u32(v[0:2], null, v[2], s[3], v[4:6]), "v_mad_u64_u32 v[0:1], null, v2, s3, v[4:5]"),
    (lambda: ins.v_fma_f16(v[1], v[2], v[3], v[4], op_sel=[1, 0, 0, 1]), "v_fma_f16 v1, v2, v3, v4 op_sel:[1,0,0,1]"),
    (lambda: ins.v_pk_fma_f16(v[1], v[2], v[3], v[4], op_sel=[1, 0, 0], neg_lo=[0, 1, 0], clamp=True),
     "v_pk_fma_f16 v1, v2, v3, v4 op_sel:[1,0,0] neg_lo:[0,1,0] clamp"),
    (lambda: ins.v_fma_mix_f32(v[1], v[2], v[3], v[4], op_sel_hi=[1, 1, 1]),
     "v_fma_mix_f32 v1, v2, v3, v4 op_sel_hi:[1,1,1]"),
    (lambda: ins.v_wmma_f32_16x16x16_f16(v[0:8], v[8:16], v[16:24], v[0:8]),
     "v_wmma_f32_16x16x16_f16 v[0:7], v[8:15], v[16:23], v[0:7]"),
    (lambda: ins.v_dot4_i32_iu8(v[1], v[2], v[3], v[4], neg_lo=[1, 1, 0]), "v_dot4_i32_iu8 v1, v2, v3, v4 neg_lo:[1,1,0]"),
    (lambda: ins.v_cvt_pk_u8_f32(v[4], v[63], v[1], sext(v[255])), "v_cvt_pk_u8_f32 v4, v63, v1, sext(v255)"),
    (lambda: ins.v_mov_b16(v[1].hi, v[2].lo), "v_mov_b16 v1.h, v2.l"),
    (lambda: ins.v_readlane_b32(s[1], v[2], 5), "v_readlane_b32 s1, v2, 5"),
    (lambda: vopd(ins.v_dual_mul_f32(v[0], v[1], v[2]), ins.v_dual_add_f32(v[3], v[4], v[5])),
     "v_dual_mul_f32 v0, v1, v2 :: v_dual_add_f32 v3, v4, v5"),
    (lambda: vopd(ins.v_dual_fmaak_f32(v[0], v[1], v[2], 0x1234), ins.v_dual_mov_b32(v[3], 1.0)),
     "v_dual_fmaak_f32 v0, v1, v2, 0x1234 :: v_dual_mov_b32 v3, 1.0"),
    (lambda: ins.s_mov_b32(s[0], 1.0), "s_mov_b32 s0, 1.0"),
    (lambda: ins.s_mov_b64(exec, s[2:4]), "s_mov_b64 exec, s[2:3]"),
    (lambda: ins.s_mov_b32(exec_lo, m0), "s_mov_b32 exec_lo, m0"),
    (lambda: ins.s_and_b64(s[0:2], vcc, ttmp[2:4]), "s_and_b64 s[0:1], vcc, ttmp[2:3]"),
    (lambda: ins.s_add_u32(s[0], s[1], 0x1234), "s_add_u32 s0, s1, 0x1234"),
    (lambda: ins.s_movk_i32(s[0], -1), "s_movk_i32 s0, -1"),
    (lambda: ins.s_getreg_b32(s[0], hwreg("HW_REG_MODE", 0, 4)), "s_getreg_b32 s0, hwreg(HW_REG_MODE, 0, 4)"),
    (lambda: ins.s_setreg_b32(hwreg(1), s[0]), "s_setreg_b32 hwreg(HW_REG_MODE), s0"),
    (lambda: ins.s_sendmsg(sendmsg("MSG_DEALLOC_VGPRS")), "s_sendmsg sendmsg(MSG_DEALLOC_VGPRS)"),
    (lambda: ins.s_sendmsg_rtn_b64(s[0:2], sendmsg("MSG_RTN_GET_REALTIME")),
     "s_sendmsg_rtn_b64 s[0:1], sendmsg(MSG_RTN_GET_REALTIME)"),
    (lambda: ins.s_waitcnt(vmcnt=0, lgkmcnt=0), "s_waitcnt vmcnt(0) lgkmcnt(0)"),
    (lambda: ins.s_waitcnt(0), "s_waitcnt 0"),
    (lambda: ins.s_delay_alu(instid0="VALU_DEP_1", instskip="NEXT", instid1="VALU_DEP_2"),
     "s_delay_alu instid0(VALU_DEP_1) | instskip(NEXT) | instid1(VALU_DEP_2)"),
    (lambda: ins.s_waitcnt_depctr(depctr_va_vdst=0), "s_waitcnt_depctr depctr_va_vdst(0)"),
    (lambda: ins.s_waitcnt_vscnt(null, 0), "s_waitcnt_vscnt null, 0x0"),
    (lambda: ins.s_endpgm(), "s_endpgm"),
    (lambda: ins.s_nop(3), "s_nop 3"),
    (lambda: ins.s_load_b64(s[0:2], s[2:4], 0x10), "s_load_b64 s[0:1], s[2:3], 0x10"),
    (lambda: ins.s_load_b128(s[4:8], s[2:4], s[4], offset=0x100, glc=True),
     "s_load_b128 s[4:7], s[2:3], s4 offset:0x100 glc"),
    (lambda: ins.global_load_b32(v[1], v[2:4], off, offset=16), "global_load_b32 v1, v[2:3], off offset:16"),
    (lambda: ins.global_load_b32(v[1], v[2], s[4:6], glc=True, offset=-8),
     "global_load_b32 v1, v2, s[4:5] offset:-8 glc"),
    (lambda: ins.global_store_b64(v[2], v[4:6], s[4:6]), "global_store_b64 v2, v[4:5], s[4:5]"),
    (lambda: ins.global_atomic_add_u32(v[1], v[2:4], v[4], off, glc=True),
     "global_atomic_add_u32 v1, v[2:3], v4, off glc"),
    (lambda: ins.scratch_load_b32(v[1], off, s[2], offset=8), "scratch_load_b32 v1, off, s2 offset:8"),
    (lambda: ins.flat_load_b32(v[1], v[2:4], slc=True, glc=True), "flat_load_b32 v1, v[2:3] glc slc"),
    (lambda: ins.ds_load_b32(v[1], v[2], offset=64), "ds_load_b32 v1, v2 offset:64"),
    (lambda: ins.ds_load_2addr_b32(v[0:2], v[2], offset1=2, offset0=1),
     "ds_load_2addr_b32 v[0:1], v2 offset0:1 offset1:2"),
    (lambda: ins.ds_swizzle_b32(v[1], v[2], offset=swizzle("QUAD_PERM", 0, 1, 2, 3)),
     "ds_swizzle_b32 v1, v2 offset:swizzle(QUAD_PERM, 0, 1, 2, 3)"),
    (lambda: ins.buffer_load_b32(v[1], v[2], s[4:8], 0, offen=True, glc=True, offset=4),
     "buffer_load_b32 v1, v2, s[4:7], 0 offen offset:4 glc"),
    (lambda: ins.buffer_load_b32(v[1:3], off, s[4:8], s[8], tfe=True), "buffer_load_b32 v[1:2], off, s[4:7], s8 tfe"),
    (lambda: ins.tbuffer_load_format_x(v[1], off, s[4:8], 0, format="BUF_FMT_32_FLOAT"),
     "tbuffer_load_format_x v1, off, s[4:7], 0 format:[BUF_FMT_32_FLOAT]"),
    (lambda: ins.tbuffer_load_format_x(v[1], off, s[4:8], 0, format=["BUF_DATA_FORMAT_32", "BUF_NUM_FORMAT_FLOAT"]),
     "tbuffer_load_format_x v1, off, s[4:7], 0 format:[BUF_FMT_32_FLOAT]"),
    (lambda: ins.exp("mrt0", v[1], v[2], off, v[4], done=True), "exp mrt0 v1, v2, off, v4 done"),
    (lambda: ins.exp("pos4", off, off, off, off, row_en=True, done=True), "exp pos4 off, off, off, off done row_en"),
    (lambda: ins.lds_param_load(v[1], "attr3.z", wait_vdst=2), "lds_param_load v1, attr3.z wait_vdst:2"),
    (lambda: ins.lds_direct_load(v[7]), "lds_direct_load v7"),
    (lambda: ins.v_interp_p10_f32(v[1], -v[2], v[3], v[4], wait_exp=3, clamp=True),
     "v_interp_p10_f32 v1, -v2, v3, v4 clamp wait_exp:3"),
    (lambda: ins.v_interp_p2_f16_f32(v[1], v[2], v[3], v[4], op_sel=[0, 0, 0, 1]),
     "v_interp_p2_f16_f32 v1, v2, v3, v4 op_sel:[0,0,0,1]"),
    (lambda: ins.image_load(v[0:4], v[4:6], s[0:8], dmask=0xF, dim="2D"),
     "image_load v[0:3], v[4:5], s[0:7] dmask:0xf dim:SQ_RSRC_IMG_2D"),
    (lambda: ins.image_sample(v[0:4], [v[4], v[9], v[7]], s[8:16], s[4:8], dmask=0xF, dim="SQ_RSRC_IMG_3D",
                              glc=True, a16=False),
     "image_sample v[0:3], [v4, v9, v7], s[8:15], s[4:7] dmask:0xf dim:3D glc"),
    (lambda: ins.image_store(v[0:3], v[4:6], s[0:8], dmask=0x7, dim="2D_ARRAY", a16=True, d16=True, tfe=True),
     "image_store v[0:2], v[4:5], s[0:7] dmask:0x7 dim:2D_ARRAY a16 tfe d16"),
    (lambda: ins.image_sample_d(v[0:4], [v[0], v[1], v[2], v[3], v[4:6]], s[0:8], s[8:12], dmask=0xF, dim="2D"),
     "image_sample_d v[0:3], [v0, v1, v2, v3, v[4:5]], s[0:7], s[8:11] dmask:0xf dim:2D"),
    (lambda: ins.image_atomic_add(v[1], v[2], s[0:8], dmask=1, dim="1D", glc=True),
     "image_atomic_add v1, v2, s[0:7] dmask:0x1 dim:1D glc"),
    (lambda: ins.image_bvh_intersect_ray(v[0:4], v[4:15], s[0:4]), "image_bvh_intersect_ray v[0:3], v[4:14], s[0:3]"),
]


@pytest.mark.parametrize("make,text", CASES, ids=[t for _, t in CASES])
def test_builder_matches_text(make, text):
    built = make()
    assert built.encode() == assemble(text)
    assert bytes(built) == built.encode() and built.size == len(built.encode())


def test_builder_does_not_go_through_text(monkeypatch):
    """The builder hands operand objects to the encoder: no tokenizing, no parsing."""
    def refuse(*args, **kwargs):
        raise AssertionError("the builder parsed text")
    monkeypatch.setattr(operand_module, "tokenize", refuse)
    monkeypatch.setattr(operand_module, "parse_tokens", refuse)
    for make, _ in CASES:
        make().encode()


def test_program_resolves_labels_like_the_assembler():
    p = Program()
    p.label("top")
    p += ins.s_add_u32(s[0], s[0], 1)
    p += ins.s_cmp_lt_u32(s[0], 10)
    p += ins.s_cbranch_scc1("top")
    p += ins.s_branch("end")
    p += ins.s_nop(0)
    p.label("end")
    p += ins.s_endpgm()
    text = "top:\n s_add_u32 s0, s0, 1\n s_cmp_lt_u32 s0, 10\n s_cbranch_scc1 top\n s_branch end\n" \
           " s_nop 0\nend:\n s_endpgm"
    assert p.encode() == assemble(text)


def test_program_errors():
    p = Program()
    p += ins.s_branch("nowhere")
    with pytest.raises(AsmError, match="undefined label 'nowhere'"):
        p.encode()
    with pytest.raises(AsmError, match="refers to a label"):
        ins.s_branch("x").encode()
    q = Program().label("a")
    with pytest.raises(AsmError, match="already defined"):
        q.label("a").encode()
    with pytest.raises(AsmError):
        Program().append("s_nop 0")


@pytest.mark.parametrize("make", [
    lambda: ins.v_add_f32(v[1], v[2]),                       # too few operands
    lambda: ins.v_add_f32(v[1], v[2], v[3], v[4]),           # too many
    lambda: ins.v_add_f32(v[1], v[2], v[3], clamp=True, mul=3),
    lambda: ins.v_bogus_f32(v[1], v[2], v[3]),
    lambda: ins.s_ceil_f32(s[0], s[1]),                      # not on gfx1100
    lambda: ins.v_add_nc_u32(v[1], -v[2], v[3]),             # no source modifiers on integers
    lambda: ins.v_add_co_ci_u32(v[1], vcc, v[2], v[3], vcc),  # wave64 carry
    lambda: ins.global_load_b32(v[1], v[2:4], off, offset=5000),
    lambda: ins.s_mov_b64(s[1:3], 0),                        # misaligned pair
    lambda: v[256],
    lambda: v[4:2],
    lambda: ins.s_waitcnt(vmcnt=64),
    lambda: ins.s_delay_alu(instid0="SOON"),
    lambda: vopd(ins.v_dual_mul_f32(v[0], v[1], v[2]), ins.v_dual_add_f32(v[2], v[4], v[5])),
    lambda: ins.v_mov_b32(v[1], object()),
])
def test_builder_errors_are_asm_errors(make):
    with pytest.raises(AsmError):
        make()


def test_instruction_text_and_repr():
    i = ins.v_fma_f32(v[0], -v[1], abs(v[2]), 0.5, clamp=True)
    assert i.text() == "v_fma_f32 v0, -v1, |v2|, 0.5 clamp"
    assert repr(i) == "<v_fma_f32 v0, -v1, |v2|, 0.5 clamp>"
    assert repr(v[0:4]) == "v[0:3]" and repr(s[7]) == "s7" and repr(-abs(v[3])) == "-|v3|"


REGS = st.integers(0, 255)
SREGS = st.integers(0, 105)
SRC = st.one_of(REGS.map(lambda n: ("v", n)), SREGS.map(lambda n: ("s", n)),
                st.integers(-16, 64).map(lambda n: ("i", n)),
                st.sampled_from([0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 4.0, -4.0, 1.5, 3.25]).map(lambda f: ("f", f)),
                st.integers(0, 0xFFFFFFFF).map(lambda n: ("x", n)))


def _obj(k):
    kind, n = k
    return v[n] if kind == "v" else s[n] if kind == "s" else n


def _txt(k):
    kind, n = k
    return f"v{n}" if kind == "v" else f"s{n}" if kind == "s" else hex(n) if kind == "x" else str(n)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["v_add_f32", "v_mul_f32", "v_max_i32", "v_and_b32", "v_add_nc_u32", "v_sub_f16",
                        "v_ldexp_f32", "v_lshlrev_b32", "v_mul_u32_u24"]),
       REGS, SRC, SRC, st.booleans(), st.booleans())
def test_builder_equals_text_for_random_operands(mnemonic, dst, a, b, neg_a, clamp):
    """Any operands: the builder raises exactly when the text fails, else gives the same bytes."""
    fp = mnemonic.endswith(("f32", "f16")) and a[0] in "vs" and neg_a
    ops = [v[dst], -_obj(a) if fp else _obj(a), _obj(b)]
    text = f"{mnemonic} v{dst}, {'-' if fp else ''}{_txt(a)}, {_txt(b)}" + (" clamp" if clamp else "")
    try:
        want = assemble(text)
    except AsmError:
        want = None
    try:
        got = ins.__getattr__(mnemonic)(*ops, clamp=clamp).encode()
    except AsmError:
        got = None
    assert got == want
