"""The kernel descriptor table, the `.amdhsa_*` directive rules and directive expressions, checked
by properties and against llvm-mc-19 + ld.lld-19 on generated `.amdhsa_kernel` blocks."""

import io
import re
import subprocess

import pytest
from elftools.elf.elffile import ELFFile
from hypothesis import given, settings
from hypothesis import strategies as st

from isa.amdhsa import parse_amdhsa_kernel, strip_comment
from isa.codeobj.descriptor import DESCRIPTOR_SIZE, FIELDS, FIELDS_BY_NAME, KernelDescriptor
from isa.codeobj.directives import DIRECTIVES, USER_SGPRS, build_kernel, directives_from_descriptor
from isa.directive_expr import evaluate
from isa.errors import CodeObjectError, DirectiveError

# -- the descriptor table --------------------------------------------------------------------


def test_fields_cover_every_bit_exactly_once():
    owner = [None] * (DESCRIPTOR_SIZE * 8)
    for f in FIELDS:
        first, last = f.bit_range
        for bit in range(first, last + 1):
            assert owner[bit] is None, f"bit {bit} in {owner[bit]} and {f.name}"
            owner[bit] = f.name
    assert None not in owner


# Positions from AMDGPUUsage's kernel descriptor table (bit offsets from the descriptor start).
KNOWN_POSITIONS = {
    "group_segment_fixed_size": (0, 31),
    "private_segment_fixed_size": (32, 63),
    "kernarg_size": (64, 95),
    "kernel_code_entry_byte_offset": (128, 191),
    "shared_vgpr_count": (352, 355),
    "inst_pref_size": (356, 361),
    "image_op": (383, 383),
    "granulated_workitem_vgpr_count": (384, 389),
    "granulated_wavefront_sgpr_count": (390, 393),
    "float_denorm_mode_16_64": (402, 403),
    "enable_dx10_clamp": (405, 405),
    "enable_ieee_mode": (407, 407),
    "wgp_mode": (413, 413),
    "mem_ordered": (414, 414),
    "fwd_progress": (415, 415),
    "enable_private_segment": (416, 416),
    "user_sgpr_count": (417, 421),
    "enable_sgpr_workgroup_id_x": (423, 423),
    "enable_vgpr_workitem_id": (427, 428),
    "granulated_lds_size": (431, 439),
    "enable_exception_int_divide_by_zero": (446, 446),
    "enable_sgpr_private_segment_buffer": (448, 448),
    "enable_sgpr_kernarg_segment_ptr": (451, 451),
    "enable_wavefront_size32": (458, 458),
    "uses_dynamic_stack": (459, 459),
    "kernarg_preload_spec_length": (464, 470),
    "kernarg_preload_spec_offset": (471, 479),
}


@pytest.mark.parametrize("name", sorted(KNOWN_POSITIONS))
def test_field_positions(name):
    assert FIELDS_BY_NAME[name].bit_range == KNOWN_POSITIONS[name]


@given(st.binary(min_size=64, max_size=64))
def test_any_64_bytes_decode_and_encode_back(data):
    assert KernelDescriptor.from_bytes(data).to_bytes() == data


@st.composite
def descriptors(draw):
    values = {}
    for f in FIELDS:
        if f.signed:
            values[f.name] = draw(st.integers(-(1 << (f.bits - 1)), (1 << (f.bits - 1)) - 1))
        else:
            values[f.name] = draw(st.integers(0, f.mask))
    return KernelDescriptor(**values)


@given(descriptors())
def test_encode_then_decode_is_identity(kd):
    assert KernelDescriptor.from_bytes(kd.to_bytes()) == kd


@given(descriptors(), st.sampled_from(FIELDS), st.data())
def test_each_field_lands_in_its_own_bits(kd, field, data):
    value = data.draw(st.integers(0, field.mask))
    if field.signed and value >> (field.bits - 1):
        value -= 1 << field.bits
    changed = kd.replace(**{field.name: value})
    before = int.from_bytes(kd.to_bytes(), "little")
    after = int.from_bytes(changed.to_bytes(), "little")
    first, last = field.bit_range
    outside = ((1 << (DESCRIPTOR_SIZE * 8)) - 1) ^ (((1 << (last - first + 1)) - 1) << first)
    assert before & outside == after & outside
    assert (after >> first) & field.mask == value & field.mask


def test_out_of_range_values_are_refused():
    with pytest.raises(CodeObjectError, match="user_sgpr_count"):
        KernelDescriptor(user_sgpr_count=32)
    with pytest.raises(CodeObjectError):
        KernelDescriptor(group_segment_fixed_size=-1)
    with pytest.raises(CodeObjectError):
        KernelDescriptor(kernel_code_entry_byte_offset=1 << 63)
    with pytest.raises(CodeObjectError):
        KernelDescriptor(enable_ieee_mode="yes")
    with pytest.raises(CodeObjectError, match="64 bytes"):
        KernelDescriptor.from_bytes(b"\0" * 63)
    with pytest.raises(CodeObjectError, match="unknown"):
        KernelDescriptor().replace(not_a_field=1)
    with pytest.raises(CodeObjectError):
        KernelDescriptor().register("rsrc9")


def test_register_words():
    kd = KernelDescriptor(wgp_mode=1, user_sgpr_count=2, enable_wavefront_size32=1, shared_vgpr_count=5)
    assert kd.register("compute_pgm_rsrc1") == 1 << 29
    assert kd.register("compute_pgm_rsrc2") == 2 << 1
    assert kd.register("compute_pgm_rsrc3") == 5
    assert kd.register("kernel_code_properties") == 1 << 10


# -- directive rules -----------------------------------------------------------------------------


def test_defaults_match_llvm_mc():
    """The descriptor llvm-mc-19 writes for a block with only the required directives."""
    kd = build_kernel("k", {"next_free_vgpr": 1, "next_free_sgpr": 1}).descriptor
    assert kd.to_bytes()[44:64].hex() == "000000000000ac6080000000000400000000" + "0000"


@pytest.mark.parametrize("wave32, vgprs, blocks", [
    (1, 0, 0), (1, 1, 0), (1, 8, 0), (1, 9, 1), (1, 256, 31), (1, 512, 63),
    (0, 0, 0), (0, 4, 0), (0, 5, 1), (0, 256, 63),
])
def test_vgpr_granule(wave32, vgprs, blocks):
    kernel = build_kernel("k", {"next_free_vgpr": vgprs, "next_free_sgpr": 0, "wavefront_size32": wave32})
    assert kernel.descriptor.granulated_workitem_vgpr_count == blocks


def test_user_sgpr_count_is_implied_or_checked():
    flags = {name: 1 for name in USER_SGPRS}
    kernel = build_kernel("k", {"next_free_vgpr": 1, "next_free_sgpr": 1, **flags})
    assert kernel.descriptor.user_sgpr_count == sum(USER_SGPRS.values())
    with pytest.raises(CodeObjectError, match="smaller"):
        build_kernel("k", {"next_free_vgpr": 1, "next_free_sgpr": 1, "user_sgpr_dispatch_ptr": 1,
                           "user_sgpr_count": 1})
    with pytest.raises(CodeObjectError, match="too many"):
        build_kernel("k", {"next_free_vgpr": 1, "next_free_sgpr": 1, "user_sgpr_count": 32})


def test_sgpr_count_counts_vcc():
    assert build_kernel("k", {"next_free_vgpr": 1, "next_free_sgpr": 16}).sgpr_count == 18
    assert build_kernel("k", {"next_free_vgpr": 1, "next_free_sgpr": 16, "reserve_vcc": 0}).sgpr_count == 16


@given(st.builds(dict, next_free_vgpr=st.integers(0, 512), next_free_sgpr=st.integers(0, 106),
                 wavefront_size32=st.integers(0, 1), float_denorm_mode_32=st.integers(0, 3),
                 system_vgpr_workitem_id=st.integers(0, 2), shared_vgpr_count=st.integers(0, 15)))
def test_descriptor_to_directives_and_back(values):
    if values["wavefront_size32"]:
        values["shared_vgpr_count"] = 0
    else:
        values["next_free_vgpr"] = min(values["next_free_vgpr"], 256 - 8 * values["shared_vgpr_count"])
    kd = build_kernel("k", values).descriptor
    recovered = directives_from_descriptor(kd)
    assert build_kernel("k", {**recovered, "next_free_sgpr": 0}).descriptor == kd


# -- the .amdhsa_kernel block and llvm-mc ------------------------------------------------------

_ONE_BIT = [d.name for d in DIRECTIVES if d.bits == 1 and d.name not in ("reserve_xnack_mask",)]


@st.composite
def directive_sets(draw):
    values = {"next_free_vgpr": draw(st.integers(0, 256)), "next_free_sgpr": draw(st.integers(0, 106))}
    for name in draw(st.lists(st.sampled_from(_ONE_BIT), unique=True)):
        values[name] = draw(st.integers(0, 1))
    for name in draw(st.lists(st.sampled_from(["float_round_mode_32", "float_round_mode_16_64",
                                               "float_denorm_mode_32", "float_denorm_mode_16_64"]), unique=True)):
        values[name] = draw(st.integers(0, 3))
    if draw(st.booleans()):
        values["system_vgpr_workitem_id"] = draw(st.integers(0, 2))
    if draw(st.booleans()) and values.get("wavefront_size32", 1) == 0:
        values["shared_vgpr_count"] = draw(st.integers(0, 15))
    for name in ("group_segment_fixed_size", "private_segment_fixed_size", "kernarg_size"):
        if draw(st.booleans()):
            values[name] = draw(st.integers(0, 2**32 - 1))
    if draw(st.booleans()):
        implied = sum(n for d, n in USER_SGPRS.items() if values.get(d))
        values["user_sgpr_count"] = draw(st.integers(implied, 31))
    if values.get("wavefront_size32") == 0:
        values["next_free_vgpr"] = min(values["next_free_vgpr"], 256 - 8 * values.get("shared_vgpr_count", 0))
    return values


def _source(blocks: list[tuple[str, list[str]]]) -> str:
    lines = ['.amdgcn_target "amdgcn-amd-amdhsa--gfx1100"', ".amdhsa_code_object_version 5", ".text"]
    for name, _ in blocks:
        lines += [f".globl {name}", ".p2align 8", f".type {name},@function", f"{name}:", "s_endpgm"]
    lines.append(".rodata")
    for name, body in blocks:
        lines += [".p2align 6", f".amdhsa_kernel {name}", *body, ".end_amdhsa_kernel"]
    return "\n".join(lines) + "\n"


def _llvm_descriptors(llvm, tmp_path, source: str):
    """Descriptors llvm-mc assembles and ld.lld links, by kernel name; or llvm-mc's stderr."""
    asm, obj, so = tmp_path / "k.s", tmp_path / "k.o", tmp_path / "k.so"
    asm.write_text(source)
    mc = subprocess.run([llvm.mc, "-triple=amdgcn-amd-amdhsa", "-mcpu=gfx1100", "-filetype=obj", str(asm),
                         "-o", str(obj)], capture_output=True, text=True)
    if mc.returncode:
        return mc.stderr
    subprocess.run([llvm.lld, "-shared", str(obj), "-o", str(so)], check=True, capture_output=True)
    elffile = ELFFile(io.BytesIO(so.read_bytes()))
    rodata = elffile.get_section_by_name(".rodata")
    symbols = {s.name: s["st_value"] for s in elffile.get_section_by_name(".dynsym").iter_symbols()}
    out = {}
    for name, value in symbols.items():
        if name.endswith(".kd"):
            at = value - rodata["sh_addr"]
            out[name[:-3]] = (KernelDescriptor.from_bytes(rodata.data()[at:at + 64]), symbols[name[:-3]] - value)
    return out


def _block_lines(values: dict) -> list[str]:
    return [f"  .amdhsa_{name} {value}" for name, value in values.items()]


@pytest.mark.llvm
def test_generated_blocks_match_llvm_mc(llvm, tmp_path):
    @settings(max_examples=8, deadline=None)
    @given(st.lists(directive_sets(), min_size=25, max_size=25))
    def check(sets):
        blocks = [(f"k{i}", _block_lines(v)) for i, v in enumerate(sets)]
        llvm_kds = _llvm_descriptors(llvm, tmp_path, _source(blocks))
        assert isinstance(llvm_kds, dict), llvm_kds
        for name, body in blocks:
            ours = parse_amdhsa_kernel([f".amdhsa_kernel {name}", *body, ".end_amdhsa_kernel"]).descriptor
            kd, entry = llvm_kds[name]
            assert ours == kd.replace(kernel_code_entry_byte_offset=0), name
            assert kd.kernel_code_entry_byte_offset == entry

    check()


BAD_BLOCKS = [
    ["  .amdhsa_next_free_vgpr 1"],
    ["  .amdhsa_next_free_sgpr 1"],
    ["  .amdhsa_next_free_vgpr 1", "  .amdhsa_next_free_sgpr 1", "  .amdhsa_bogus 1"],
    ["  .amdhsa_next_free_vgpr 1", "  .amdhsa_next_free_sgpr 1", "  .amdhsa_user_sgpr_flat_scratch_init 1"],
    ["  .amdhsa_next_free_vgpr 1", "  .amdhsa_next_free_sgpr 1", "  .amdhsa_user_sgpr_private_segment_buffer 1"],
    ["  .amdhsa_next_free_vgpr 1", "  .amdhsa_next_free_sgpr 1", "  .amdhsa_accum_offset 4"],
    ["  .amdhsa_next_free_vgpr 1", "  .amdhsa_next_free_sgpr 1", "  .amdhsa_round_robin_scheduling 1"],
    ["  .amdhsa_next_free_vgpr 1", "  .amdhsa_next_free_sgpr 1", "  .amdhsa_reserve_xnack_mask 1"],
    ["  .amdhsa_next_free_vgpr 1", "  .amdhsa_next_free_sgpr 1", "  .amdhsa_float_round_mode_32 4"],
    ["  .amdhsa_next_free_vgpr 1", "  .amdhsa_next_free_sgpr 1", "  .amdhsa_ieee_mode 2"],
    ["  .amdhsa_next_free_vgpr 1", "  .amdhsa_next_free_sgpr 1", "  .amdhsa_shared_vgpr_count 16"],
    ["  .amdhsa_next_free_vgpr 1", "  .amdhsa_next_free_sgpr 1", "  .amdhsa_group_segment_fixed_size 0x100000000"],
    ["  .amdhsa_next_free_vgpr 1", "  .amdhsa_next_free_sgpr 1", "  .amdhsa_kernarg_size -1"],
    ["  .amdhsa_next_free_vgpr -1", "  .amdhsa_next_free_sgpr 1"],
    ["  .amdhsa_next_free_vgpr 513", "  .amdhsa_next_free_sgpr 1"],
    ["  .amdhsa_wavefront_size32 0", "  .amdhsa_next_free_vgpr 257", "  .amdhsa_next_free_sgpr 1"],
    ["  .amdhsa_next_free_vgpr 1", "  .amdhsa_next_free_sgpr 1", "  .amdhsa_ieee_mode 1", "  .amdhsa_ieee_mode 0"],
    ["  .amdhsa_next_free_vgpr 1", "  .amdhsa_next_free_sgpr 1", "  .amdhsa_ieee_mode"],
    ["  .amdhsa_next_free_vgpr 1", "  .amdhsa_next_free_sgpr 1", "  .amdhsa_ieee_mode 1 2"],
    ["  .amdhsa_next_free_vgpr 1", "  .amdhsa_next_free_sgpr 1", "  .amdhsa_ieee_mode (1"],
    ["  .amdhsa_next_free_vgpr 08", "  .amdhsa_next_free_sgpr 1"],
    ["  .amdhsa_next_free_vgpr 1", "  .amdhsa_next_free_sgpr 1", "  s_nop 0"],
    ["  .amdhsa_next_free_vgpr 1", "  .amdhsa_next_free_sgpr 1", "  .amdhsa_user_sgpr_count 1",
     "  .amdhsa_user_sgpr_dispatch_ptr 1"],
    ["  .amdhsa_next_free_vgpr 1", "  .amdhsa_next_free_sgpr 1", "  .amdhsa_user_sgpr_count 32"],
    ["  .amdhsa_next_free_vgpr 1", "  .amdhsa_next_free_sgpr 1", "  .amdhsa_wavefront_size32 1",
     "  .amdhsa_shared_vgpr_count 1"],
    ["  .amdhsa_next_free_vgpr 512", "  .amdhsa_next_free_sgpr 1", "  .amdhsa_shared_vgpr_count 1"],
    ["  .amdhsa_next_free_vgpr 1", "  .amdhsa_next_free_sgpr 1", "  .amdhsa_dx10_clamp 1 ; fine", "  .amdhsa_fp16_overflow 3"],
]


def _first_error(stderr: str) -> tuple[int, int]:
    m = re.search(r":(\d+):(\d+): error:", stderr)
    assert m, stderr
    return int(m[1]), int(m[2])


@pytest.mark.llvm
@pytest.mark.parametrize("body", BAD_BLOCKS, ids=[b[-1].strip() for b in BAD_BLOCKS])
def test_bad_blocks_are_refused_where_llvm_mc_refuses_them(llvm, tmp_path, body):
    source = _source([("k", body)])
    stderr = _llvm_descriptors(llvm, tmp_path, source)
    assert isinstance(stderr, str), "llvm-mc accepted the block"
    lines = source.splitlines()
    start = lines.index(".amdhsa_kernel k")
    end = lines.index(".end_amdhsa_kernel")
    with pytest.raises(DirectiveError) as info:
        parse_amdhsa_kernel(lines[start:end + 1], first_line=start + 1)
    assert (info.value.line, info.value.column) == _first_error(stderr)


def test_error_positions_and_comments():
    block = [".amdhsa_kernel k", "  .amdhsa_next_free_vgpr 4 // a comment", "  ; only a comment",
             "  .amdhsa_next_free_sgpr /* inline */ 2", "  .amdhsa_ieee_mode 0 ; trailing",
             ".end_amdhsa_kernel"]
    kernel = parse_amdhsa_kernel(block, first_line=7)
    assert kernel.name == "k" and kernel.descriptor.enable_ieee_mode == 0
    assert kernel.values["next_free_sgpr"] == 2
    with pytest.raises(DirectiveError) as info:
        parse_amdhsa_kernel([".amdhsa_kernel k", "  .amdhsa_next_free_vgpr 4"], first_line=3)
    assert info.value.line == 4 and "missing .end_amdhsa_kernel" in str(info.value)
    with pytest.raises(DirectiveError, match="NAME"):
        parse_amdhsa_kernel([".amdhsa_kernel", ".end_amdhsa_kernel"])
    with pytest.raises(DirectiveError, match="empty"):
        parse_amdhsa_kernel([])
    assert strip_comment("a 'x;y' ; z") == "a 'x;y' "


def test_expressions_may_use_known_symbols():
    block = [".amdhsa_kernel k", ".amdhsa_next_free_vgpr NV + 1", ".amdhsa_next_free_sgpr NS",
             ".end_amdhsa_kernel"]
    kernel = parse_amdhsa_kernel(block, symbols={"NV": 15, "NS": 3})
    assert kernel.vgpr_count == 16 and kernel.values["next_free_sgpr"] == 3
    with pytest.raises(DirectiveError, match="'NV'") as info:
        parse_amdhsa_kernel(block, first_line=10)
    assert (info.value.line, info.value.column) == (11, 24)


# -- directive expressions ------------------------------------------------------------------


def test_expression_examples():
    cases = {
        "1+2<<3": 17, "(1==1)+5": 4, "10-3-2": 5, "2*3%4": 2, "-7/2+10": 7, "~0&255": 255, "!5+3": 3,
        "1|2^3&6": 0, "'a'": 97, "0x10*2": 32, "1&&2": 1, "0||3": 1, "1 << 63 >> 62": 2, "017": 15,
        "0b11": 3, "0X1f": 31, "2+3&1": 3, "8>>1+1": 5, "-(3)+5": 2, "+5": 5, "5!2": -3, "1<2+1": -1,
        "1 << 64": 1, "16 >> 65": 8, "3 << 200": 768,  # shift counts wrap at 64, as in llvm-mc
    }
    for text, value in cases.items():
        assert evaluate(text) == value, text
    for bad in ["0o17", "1f", "4 +", "(4", "x+1", "1.5", "08", "5 % 0", "5/0", "18446744073709551616", "",
                "(-9223372036854775807-1)/-1"]:
        with pytest.raises(DirectiveError):
            evaluate(bad)


_ATOMS = st.one_of(st.integers(0, 300).map(str), st.integers(0, 255).map(hex), st.integers(1, 60).map(lambda v: f"0{v:o}"),
                   st.integers(0, 15).map(lambda v: f"0b{v:b}"), st.sampled_from(["'a'", "'z'", "'\\n'"]))
_BINARY = ["+", "-", "*", "/", "%", "<<", ">>", "|", "^", "&", "!", "==", "!=", "<>", "<", "<=", ">", ">=",
           "&&", "||"]
_EXPRESSIONS = st.recursive(
    _ATOMS,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(_BINARY), inner).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(st.sampled_from(["-", "~", "!", "+"]), inner).map(lambda t: f"{t[0]}{t[1]}"),
        inner.map(lambda e: f"({e})"),
    ),
    max_leaves=6,
)


@pytest.mark.llvm
def test_generated_expressions_match_llvm_mc(llvm, tmp_path):
    """Expressions as values of .amdhsa_group_segment_fixed_size: where our value fits the field
    llvm-mc must produce the same descriptor; where it does not, llvm-mc must refuse it too."""
    @settings(max_examples=6, deadline=None)
    @given(st.lists(_EXPRESSIONS, min_size=40, max_size=40))
    def check(expressions):
        fitting, failing = [], []
        for e in expressions:
            try:
                value = evaluate(e)
            except DirectiveError:
                failing.append(e)
                continue
            (fitting if 0 <= value < 2**32 else failing).append(e)
        blocks = [(f"k{i}", ["  .amdhsa_next_free_vgpr 1", "  .amdhsa_next_free_sgpr 1",
                             f"  .amdhsa_group_segment_fixed_size {e}"]) for i, e in enumerate(fitting)]
        if blocks:
            kds = _llvm_descriptors(llvm, tmp_path, _source(blocks))
            assert isinstance(kds, dict), kds
            for (name, _), e in zip(blocks, fitting, strict=True):
                assert kds[name][0].group_segment_fixed_size == evaluate(e), e
        for e in failing[:3]:
            result = _llvm_descriptors(llvm, tmp_path, _source([("k", ["  .amdhsa_next_free_vgpr 1",
                                                                       "  .amdhsa_next_free_sgpr 1",
                                                                       f"  .amdhsa_group_segment_fixed_size {e}"])]))
            assert isinstance(result, str), f"llvm-mc accepted {e!r}"

    check()
