"""Fuzzing: whatever the text, assemble() returns bytes or raises AsmError, nothing else."""

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isa import AsmError, assemble
from isa.asm.sample import random_lines

VALID = random_lines(400, seed=99)

TOKENS = ["v_add_f32", "v_fma_f16", "s_mov_b32", "s_waitcnt", "global_load_b32", "buffer_store_b32", "ds_load_b32",
          "v_dual_mul_f32", "::", "v_dual_add_f32", "s_delay_alu", "v_cmp_eq_u32", "v_pk_fma_f16", "s_getreg_b32",
          "v1", "v[2:3]", "v[", "]", "s0", "s[4:7]", "s[", "ttmp[2:3]", "vcc", "vcc_lo", "exec", "m0", "null", "off",
          "0", "-1", "65", "0x3f800000", "1.0", "-4.0", "1e40", "0x", "1.", ".5", "-", "|", "neg(", "abs(", "sext(",
          "(", ")", ",", ":", "[", "offset:", "offset:16", "glc", "clamp", "mul:2", "op_sel:[1,0]", "row_shl:1",
          "quad_perm:[0,1,2,3]", "dpp8:[0,0,0,0,0,0,0,0]", "hwreg(", "HW_REG_MODE", "sendmsg(", "vmcnt(0)", "&",
          "instid0(", "VALU_DEP_1", "format:[", "BUF_FMT_32_FLOAT", "lit(", "label:", "label", ".long", ".p2align",
          ".set", "=", "*", "/", "<<", ">>", "!", "~", ";", "//", "/*", "*/", "\"", "\n", " ", "\t", "v1.l", "v2.h",
          "image_load", "image_sample_d", "image_bvh_intersect_ray", "[v1, v3]", "[v1, v[4:6]]", "dim:", "dim:2D",
          "dmask:0xf", "a16", "d16", "tfe", "exp", "mrt0", "done", "lds_param_load", "attr1.x", "wait_vdst:1",
          "v_interp_p10_f32", "wait_exp:1", "--"]


def _check(text: str):
    try:
        out = assemble(text)
    except AsmError as e:
        assert isinstance(e.message, str) and e.message
        assert e.line >= 0 and e.column >= 0
        return
    assert isinstance(out, bytes)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80))
def test_arbitrary_text(text):
    _check(text)


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=14).map(" ".join))
def test_token_soup(text):
    _check(text)


@st.composite
def mutated(draw):
    line = draw(st.sampled_from(VALID))
    rng = random.Random(draw(st.integers(0, 2 ** 32)))
    for _ in range(draw(st.integers(1, 3))):
        k = rng.randrange(6)
        i = rng.randrange(len(line) + 1)
        if k == 0:
            line = line[:i] + line[i + 1:]
        elif k == 1:
            line = line[:i] + rng.choice("[](),:|-+~0123456789vsx.;e ") + line[i:]
        elif k == 2:
            line = line[:i] + rng.choice(TOKENS) + line[i:]
        elif k == 3:
            j = rng.randrange(len(line) + 1)
            line = line[:min(i, j)] + line[max(i, j):]
        elif k == 4:
            line = line + " " + rng.choice(TOKENS)
        else:
            parts = line.split(" ")
            rng.shuffle(parts)
            line = " ".join(parts)
    return line


@settings(max_examples=1500, deadline=None)
@given(mutated())
def test_mutated_valid_lines(text):
    _check(text)


@pytest.mark.parametrize("text", [
    "v_frexp_mant_f64_e32 v[29:30], neg([v12, s13])",
    "v_add_f32 v1, sext([v1, v3]), v2",
    "v_add_f32 v1, |[v1, v3]|, v2",
    "image_load v[0:3], -[v4, v5], s[0:7] dmask:0xf dim:2D",
    "v_add_f32 v1, [v1, v3], v2",
])
def test_register_lists_with_modifiers(text):
    with pytest.raises(AsmError):
        assemble(text)


def test_sample_lines_mostly_assemble():
    """The fuzz seeds are real instructions: nearly all of them assemble."""
    ok = 0
    for line in VALID:
        try:
            ok += len(assemble(line)) >= 4
        except AsmError:
            pass
    assert ok >= 0.85 * len(VALID)
