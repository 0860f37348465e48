"""The `.amdgpu_metadata` YAML block and the metadata schema, against llvm-mc-19: the same text must
give the same MessagePack map, and the same maps must be accepted or refused."""

import io
import subprocess

import msgpack
import pytest
from elftools.elf.elffile import ELFFile
from hypothesis import given, settings
from hypothesis import strategies as st

from isa.amdgpu_metadata import parse_amdgpu_metadata, scalar_value
from isa.codeobj import KernelMetadata, verify_metadata
from isa.errors import CodeObjectError, DirectiveError

REQUIRED_KERNEL_KEYS = [
    ".name: k", ".symbol: k.kd", ".kernarg_segment_size: 16", ".kernarg_segment_align: 8",
    ".group_segment_fixed_size: 0", ".private_segment_fixed_size: 0", ".wavefront_size: 32",
    ".sgpr_count: 10", ".vgpr_count: 1", ".max_flat_workgroup_size: 256",
]
ARG_KEYS = [".offset: 0", ".size: 8", ".value_kind: global_buffer", ".address_space: global"]


def _document(kernel_lines=(), arg_lines=(), drop=None) -> list[str]:
    kernel = [line for line in REQUIRED_KERNEL_KEYS if line.split(":")[0] != drop] + list(kernel_lines)
    args = [line for line in ARG_KEYS if line.split(":")[0] != drop] + list(arg_lines)
    lines = ["---", "amdhsa.kernels:"]
    lines += [("  - " if i == 0 else "    ") + line for i, line in enumerate(kernel)]
    lines.append("    .args:")
    lines += [("      - " if i == 0 else "        ") + line for i, line in enumerate(args)]
    lines += ["amdhsa.target: amdgcn-amd-amdhsa--gfx1100", "amdhsa.version: [1, 2]", "..."]
    return [".amdgpu_metadata", *lines, ".end_amdgpu_metadata"]


def _llvm_metadata(llvm, tmp_path, block: list[str]):
    """The metadata map llvm-mc writes for `block`, or its stderr when it refuses it."""
    source = ['.amdgcn_target "amdgcn-amd-amdhsa--gfx1100"', ".amdhsa_code_object_version 5", ".text",
              "k:", "s_endpgm", *block]
    (tmp_path / "m.s").write_text("\n".join(source) + "\n")
    done = subprocess.run([llvm.mc, "-triple=amdgcn-amd-amdhsa", "-mcpu=gfx1100", "-filetype=obj",
                           str(tmp_path / "m.s"), "-o", str(tmp_path / "m.o")], capture_output=True, text=True)
    if done.returncode:
        return done.stderr
    note = next(ELFFile(io.BytesIO((tmp_path / "m.o").read_bytes())).get_section_by_name(".note").iter_notes())
    desc = note["n_descdata"]
    return msgpack.unpackb(desc if isinstance(desc, bytes) else desc.encode("latin-1"), strict_map_key=False)


# -- scalars -------------------------------------------------------------------------------------

SCALARS = [
    "12", "-3", "+5", "0x1F", "0X1f", "0o17", "0O17", "017", "08", "0b101", "0B11", "00", "-0", "0x",
    "18446744073709551615", "18446744073709551616", "-9223372036854775808", "-9223372036854775809",
    "1_000", "1.5", "1e3", ".5", "5.", "inf", "-inf", "NaN", ".inf", "0x1.8p1",
    "yes", "Yes", "YES", "yEs", "no", "on", "On", "oN", "off", "OFF", "y", "Y", "n", "N", "true", "True",
    "TRUE", "tRUE", "false", "False", "~", "null", "Null", "hello", "'12'", "'yes'", "'a b'", '"x\\ty"',
    "!str 12", "!str y", "!int 12", "!bool true", "!float 1.5", "!nil x", "!foo 12", "!!int 12", "!!str y",
    "!!bool y", "[1, a, true]", "{a: 1}", "[]", "", "''",
    # block sequences that start on their key's line, which llvm-mc reads
    "-", "- 5", "- - 1", "- a: b", "!str - a", "!x -", "- [1, 2]",
]


@pytest.mark.llvm
def test_scalars_typed_as_llvm_mc_types_them(llvm, tmp_path):
    lines = [f".custom{i}: {text}" for i, text in enumerate(SCALARS)]
    block = _document(kernel_lines=lines)
    want = _llvm_metadata(llvm, tmp_path, block)
    assert isinstance(want, dict), want
    got = parse_amdgpu_metadata(block)
    assert got == want
    for i, _ in enumerate(SCALARS):
        value = got["amdhsa.kernels"][0][f".custom{i}"]
        assert type(value) is type(want["amdhsa.kernels"][0][f".custom{i}"])


_SCALAR_TEXT = st.text(alphabet="0123456789abcdefxXoObBeE+-._yYnNtTrRuUlLsSiI", min_size=1, max_size=12)
_TAGS = st.sampled_from(["", "", "", "!str ", "!int ", "!bool ", "!float ", "!nil ", "!!str ", "!!int ", "!x "])
_QUOTES = st.sampled_from(["{}", "{}", "'{}'", '"{}"'])


@pytest.mark.llvm
def test_generated_scalars_match_llvm_mc(llvm, tmp_path):
    @settings(max_examples=10, deadline=None)
    @given(st.lists(st.tuples(_TAGS, _QUOTES, _SCALAR_TEXT), min_size=30, max_size=30))
    def check(items):
        accepted, refused = [], []
        for tag, quote, text in items:
            scalar = tag + quote.format(text)
            try:
                parse_amdgpu_metadata(_document(kernel_lines=[f".custom: {scalar}"]))
            except DirectiveError:
                refused.append(scalar)
                continue
            accepted.append(scalar)
        block = _document(kernel_lines=[f".custom{i}: {s}" for i, s in enumerate(accepted)])
        want = _llvm_metadata(llvm, tmp_path, block)
        assert isinstance(want, dict), want
        assert parse_amdgpu_metadata(block) == want
        for scalar in refused[:3]:
            assert isinstance(_llvm_metadata(llvm, tmp_path, _document(kernel_lines=[f".custom: {scalar}"])), str)

    check()


def test_scalar_value_examples():
    assert scalar_value("0x10") == 16 and scalar_value("-0b11") == -3 and scalar_value("017") == 15
    assert scalar_value("Off") is False and scalar_value("Y") is True and scalar_value("oN") == "oN"
    assert scalar_value("2.5") is None and scalar_value("12", "!str") == "12"
    with pytest.raises(ValueError):
        scalar_value("x", "!int")


# -- what the schema accepts ----------------------------------------------------------------

VARIANTS = [
    ([], [], None),
    ([".language: OpenCL C", ".language_version: [2, 0]"], [], None),
    ([".language: Fortran"], [], None),
    ([".language_version: [2]"], [], None),
    ([".uses_dynamic_stack: 1"], [], None),
    ([".uses_dynamic_stack: yes"], [], None),
    ([".uniform_work_group_size: true"], [], None),
    ([".uniform_work_group_size: 1"], [], None),
    ([".reqd_workgroup_size: [1, 2]"], [], None),
    ([".reqd_workgroup_size: [1, 2, 3]"], [], None),
    ([".workgroup_size_hint: [1, 2, x]"], [], None),
    ([".vec_type_hint: 5"], [], None),
    ([".device_enqueue_symbol: 5"], [], None),
    ([".sgpr_spill_count: true"], [], None),
    ([".vgpr_spill_count: '7'"], [], None),
    ([".max_flat_workgroup_size: -1"], [], ".max_flat_workgroup_size"),
    ([".kind: weird", ".agpr_count: x", ".anything: [1, {a: b}]"], [], None),
    ([".workgroup_processor_mode: true"], [], None),
    ([], [".name: 77"], None),
    ([], [".name: x", ".type_name: 'float*'"], None),
    ([], [".access: bogus"], None),
    ([], [".access: read_only", ".actual_access: write_only"], None),
    ([], [".is_const: 1"], None),
    ([], [".is_const: no", ".is_restrict: true", ".is_volatile: false", ".is_pipe: n"], None),
    ([], [".pointee_align: x"], None),
    ([], [".value_type: bogus"], None),
    ([], [], ".name"),
    ([], [], ".symbol"),
    ([], [], ".kernarg_segment_size"),
    ([], [], ".vgpr_count"),
    ([], [], ".offset"),
    ([], [], ".size"),
    ([], [], ".value_kind"),
]


def _with_negative_workgroup(block: list[str]) -> list[str]:
    return [line.replace(".max_flat_workgroup_size: 256", ".max_flat_workgroup_size: -1") for line in block]


@pytest.mark.llvm
@pytest.mark.parametrize("kernel_lines, arg_lines, drop", VARIANTS, ids=[str(v) for v in range(len(VARIANTS))])
def test_schema_accepts_what_llvm_mc_accepts(llvm, tmp_path, kernel_lines, arg_lines, drop):
    if drop == ".max_flat_workgroup_size":
        block = _with_negative_workgroup(_document())
    else:
        block = _document(kernel_lines, arg_lines, drop)
    want = _llvm_metadata(llvm, tmp_path, block)
    if isinstance(want, str):
        assert "invalid HSA metadata" in want
        with pytest.raises(DirectiveError, match="invalid HSA metadata") as info:
            parse_amdgpu_metadata(block, first_line=6)
        assert info.value.line == 5 + len(block)
    else:
        assert parse_amdgpu_metadata(block, first_line=6) == want


@pytest.mark.llvm
@pytest.mark.parametrize("value_kind", ["by_value", "global_buffer", "dynamic_shared_pointer", "sampler", "image",
                                        "pipe", "queue", "hidden_heap_v1", "hidden_queue_ptr", "hidden_grid_dims",
                                        "hidden_private_base", "hidden_shared_base", "hidden_none", "bogus"])
def test_value_kinds_as_llvm_mc(llvm, tmp_path, value_kind):
    block = _document(arg_lines=[], drop=".value_kind")
    block.insert(block.index("amdhsa.target: amdgcn-amd-amdhsa--gfx1100"), f"        .value_kind: {value_kind}")
    want = _llvm_metadata(llvm, tmp_path, block)
    if isinstance(want, str):
        with pytest.raises(DirectiveError):
            parse_amdgpu_metadata(block)
    else:
        assert parse_amdgpu_metadata(block) == want


def test_block_errors_have_positions():
    with pytest.raises(DirectiveError) as info:
        parse_amdgpu_metadata([".amdgpu_metadata", "---", "a: [1, 2", ".end_amdgpu_metadata"], first_line=10)
    assert info.value.line >= 12
    with pytest.raises(DirectiveError, match="duplicated") as info:
        parse_amdgpu_metadata([".amdgpu_metadata", "a: 1", "a: 2", ".end_amdgpu_metadata"], first_line=1)
    assert (info.value.line, info.value.column) == (3, 1)
    with pytest.raises(DirectiveError, match="alias"):
        parse_amdgpu_metadata([".amdgpu_metadata", "a: &x 1", "b: *x", ".end_amdgpu_metadata"])
    with pytest.raises(DirectiveError, match="missing"):
        parse_amdgpu_metadata([".amdgpu_metadata", "a: 1"])
    with pytest.raises(DirectiveError, match="first line"):
        parse_amdgpu_metadata(["a: 1", ".end_amdgpu_metadata"])
    with pytest.raises(DirectiveError, match="one YAML document"):
        parse_amdgpu_metadata([".amdgpu_metadata", "--- 1", "--- 2", ".end_amdgpu_metadata"])


def test_verify_metadata_names_the_problem():
    good = parse_amdgpu_metadata(_document())
    verify_metadata(good)
    kernel = good["amdhsa.kernels"][0]
    meta = KernelMetadata.from_map(kernel)
    assert meta.name == "k" and meta.args[0].address_space == "global" and not meta.args[0].hidden
    bad = {**good, "amdhsa.kernels": [{**kernel, ".args": [{**kernel[".args"][0], ".size": "8"}]}]}
    with pytest.raises(CodeObjectError, match=r"kernels\[0\]\.args\[0\]\.size"):
        verify_metadata(bad)
    with pytest.raises(CodeObjectError, match="amdhsa.version"):
        verify_metadata({"amdhsa.kernels": []})
    with pytest.raises(CodeObjectError, match="string keys"):
        verify_metadata({**good, 5: 1})
    with pytest.raises(CodeObjectError, match="a map"):
        verify_metadata([good])


def test_errors_inside_a_sequence_on_its_key_line_point_into_that_line():
    for scalar in ("- !int x", "- - !int x", "!str - !int x"):
        block = _document(kernel_lines=[f".custom: {scalar}", ".other: 1"])
        with pytest.raises(DirectiveError, match="invalid number") as err:
            parse_amdgpu_metadata(block)
        line = block[err.value.line - 1]
        assert line.strip() == f".custom: {scalar}" and line[err.value.column - 1:] == "!int x"
