"""The assembler's own behaviour: statements, labels, directives, expressions, error positions."""

import struct

import pytest

from isa import AsmError, assemble
from isa.asm import Assembler

S_NOP0 = bytes.fromhex("000080bf")
S_ENDPGM = bytes.fromhex("0000b0bf")


def test_exported_from_isa():
    import isa
    assert isa.assemble is assemble
    assert assemble("v_add_f32 v1, v2, v3\ns_endpgm") == bytes.fromhex("02070206") + S_ENDPGM


def test_empty_and_comment_only_sources():
    assert assemble("") == b""
    assert assemble("\n  \n; comment\n// another\n/* block\n comment */\n") == b""


def test_comments_and_case():
    assert assemble("s_nop 0 ; s_nop 1") == S_NOP0
    assert assemble("s_nop 0 // s_nop 1") == S_NOP0
    assert assemble("s_nop /* 5 */ 0") == S_NOP0
    assert assemble("S_NOP 0") == S_NOP0
    assert assemble("  s_nop   0   ") == S_NOP0


def test_labels_and_branches():
    code = assemble("top:\n s_nop 0\n s_branch top\n s_cbranch_scc1 end\n s_nop 0\nend: s_endpgm")
    words = struct.unpack("<5I", code)
    assert words[1] & 0xFFFF == 0xFFFE          # back to top: (0 - 8) / 4
    assert words[2] & 0xFFFF == 1               # skip one instruction
    assert code[-4:] == S_ENDPGM


def test_several_labels_on_one_line_and_dot_names():
    code = assemble("a: b: .Lc: s_branch .Lc\n")
    assert code == bytes.fromhex("ffffa0bf")


def test_duplicate_label_is_an_error():
    with pytest.raises(AsmError) as e:
        assemble("x:\ns_nop 0\nx:\n")
    assert e.value.line == 3 and "already defined" in e.value.message


def test_undefined_label():
    with pytest.raises(AsmError) as e:
        assemble("s_nop 0\n  s_branch missing")
    assert e.value.line == 2 and e.value.message == "undefined label 'missing'"


def test_branch_offset_out_of_range():
    src = "s_branch far\n" + ".zero 0x40000\n" + "far: s_endpgm"
    with pytest.raises(AsmError) as e:
        assemble(src)
    assert "out of range" in e.value.message


def test_data_directives_and_alignment():
    code = assemble("s_nop 0\n.byte 1, 2\n.short 3\n.long 4\n.quad -1\n.p2align 4\ns_endpgm")
    assert code[:4] == S_NOP0
    assert code[4:8] == bytes([1, 2, 3, 0])
    assert code[8:12] == struct.pack("<I", 4)
    assert code[12:20] == b"\xff" * 8
    assert len(code) == 36 and code[20:32] == S_NOP0 * 3 and code[32:] == S_ENDPGM


def test_alignment_with_fill_and_balign():
    assert assemble(".byte 1\n.balign 4, 0xaa") == bytes([1, 0xAA, 0xAA, 0xAA])
    assert assemble(".p2align 2") == b""


def test_set_and_assignment_symbols():
    code = assemble(".set N, 4 * 4\nK = N + 1\ns_movk_i32 s0, N\ns_movk_i32 s1, K")
    assert code == assemble("s_movk_i32 s0, 16\ns_movk_i32 s1, 17")


def test_label_differences_in_data_forward_and_backward():
    code = assemble("a: s_nop 0\n.long b - a\nb: .long b - a")
    assert struct.unpack("<3I", code)[1:] == (8, 8)


def test_expression_operators():
    # GNU precedence: & binds tighter than +; comparisons give -1; >> is logical
    assert assemble("s_movk_i32 s0, 3 + 1 & 2") == assemble("s_movk_i32 s0, 3")
    assert assemble("s_nop 5 == 5") == assemble("s_nop 0xffff")
    assert assemble("s_nop -16 >> 60") == assemble("s_nop 15")
    assert assemble("s_nop -7 / 2") == assemble("s_nop -3")
    assert assemble("s_nop !0") == assemble("s_nop 1")
    with pytest.raises(AsmError, match="division by zero"):
        assemble("s_nop 1 / 0")


@pytest.mark.parametrize("text,message,column", [
    ("v_add_f32 v1, v2", "too few operands for instruction", 1),
    ("v_add_f32 v1, v2, v3, v4", "invalid operand for instruction", 23),
    ("v_bogus v1", "invalid instruction", 1),
    ("  s_ceil_f32 s0, s1", "instruction not supported on this GPU", 3),
    ("v_add_f32 v1, v256, v2", "register index is out of range", 15),
    ("s_mov_b64 s[1:2], 0", "invalid register alignment", 11),
    ("v_add_f32 v1, --1, v2", "invalid syntax, expected 'neg' modifier", 15),
    ("v_add_f32 v1, v2, v3 mul:3", "invalid mul value.", 22),
    ("s_waitcnt vmcnt(64)", "too large value for vmcnt", 11),
    ("v_fma_f32_e32 v1, v2, v3, v4", "e32 variant of this instruction is not supported", 1),
    ("v_mov_b32 v1, s[2:1]", "first register index should not exceed second index", 17),
])
def test_error_messages_and_columns(text, message, column):
    with pytest.raises(AsmError) as e:
        assemble("s_nop 0\n" + text)
    err = e.value
    assert (err.line, err.message, err.column, err.source_line) == (2, message, column, text)
    assert str(err) == f"2:{column}: error: {message}"


def test_unknown_directive():
    with pytest.raises(AsmError) as e:
        assemble(".frobnicate 3")
    assert e.value.message == "unknown directive" and e.value.column == 1


def test_listing_statements():
    asm = Assembler()
    code = asm.assemble("start:\n  v_add_f32 v1, v2, v3\n  s_endpgm")
    kinds = [(s.kind, s.line, s.offset, s.data) for s in asm.statements]
    assert kinds == [("label", 1, 0, b""), ("inst", 2, 0, code[:4]), ("inst", 3, 4, code[4:])]
    assert [s.name for s in asm.statements if s.kind == "inst"] == ["v_add_f32_e32", "s_endpgm"]


def test_vopd_needs_both_halves():
    with pytest.raises(AsmError) as e:
        assemble("v_dual_mul_f32 v0, v1, v2 ::")
    assert e.value.message == "invalid VOPDY instruction"


def test_repeated_lines_use_the_operand_cache_consistently():
    line = "v_fma_f32 v1, -v2, |v3|, 0.5 clamp"
    assert assemble("\n".join([line] * 3)) == assemble(line) * 3
