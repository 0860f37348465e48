"""Code objects we write, read back by our reader and by references nobody here wrote:
llvm-readelf-19, llvm-objdump-19 (including its kernel descriptor disassembler) and pyelftools."""

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import msgpack
import pytest
import yaml
from elftools.elf.elffile import ELFFile
from elftools.elf.hash import ELFHashSection
from hypothesis import given, settings
from hypothesis import strategies as st

from isa.amdhsa import parse_amdhsa_kernel
from isa.codeobj import (
    CodeObject,
    KernelArg,
    KernelDescriptor,
    KernelSpec,
    LinkedKernel,
    assembler_kernel_metadata,
    build_code_object,
    build_kernel,
    elf,
    link_code_object,
)
from isa.codeobj.directives import directives_from_descriptor
from isa.codeobj.metadata import DEFAULT_HIDDEN_ARGS, HIDDEN_ARGS_V5
from isa.errors import CodeObjectError

S_ENDPGM = bytes.fromhex("0000b0bf")
S_NOP = bytes.fromhex("000080bf")

BODY = """
  s_load_b64 s[0:1], s[0:1], 0x0
  v_mov_b32 v1, 1.0
  v_mov_b32 v0, 0
  s_waitcnt lgkmcnt(0)
  global_store_b32 v0, v1, s[0:1]
  s_endpgm
"""


class _ReadelfYaml(yaml.SafeLoader):
    """llvm-readelf prints metadata strings that look like numbers or booleans with a `!str` tag."""


_ReadelfYaml.add_constructor("!str", lambda loader, node: loader.construct_scalar(node))


def sample_kernels(code: bytes) -> list[KernelSpec]:
    return [
        KernelSpec("store_one", code, args=[KernelArg("out", 8, "global_buffer", type_name="float*")],
                   vgprs=2, sgprs=2),
        KernelSpec("wide", code, args=[KernelArg("a", 1, type_name="char"), KernelArg("v", 16, type_name="float4"),
                                       KernelArg("p", 8, "global_buffer", is_const=True),
                                       KernelArg("t", 4, "dynamic_shared_pointer")],
                   vgprs=40, sgprs=30, lds_size=4096, scratch_size=64, workgroup_ids="xyz", workitem_id_dims=3,
                   user_sgprs=("dispatch_ptr", "kernarg_segment_ptr"), max_flat_workgroup_size=256,
                   reqd_workgroup_size=(64, 2, 2), hidden_args=(*DEFAULT_HIDDEN_ARGS, "hidden_dynamic_lds_size"),
                   directives={"float_denorm_mode_32": 3, "ieee_mode": 0, "exception_int_div_zero": 1}),
        KernelSpec("wave64", code + S_NOP * 7, wavefront_size=64, vgprs=100, sgprs=10, hidden_args=(),
                   args=[KernelArg("n", 4)], uniform_work_group_size=True, language="OpenCL C",
                   language_version=(2, 0)),
        KernelSpec("tiny", S_ENDPGM, reserve_vcc=False, workgroup_ids="", args=[]),
    ]


@pytest.fixture(scope="session")
def body_code(llvm, tmp_path_factory) -> bytes:
    """Real gfx11 machine code, assembled by llvm-mc-19."""
    d = tmp_path_factory.mktemp("body")
    (d / "b.s").write_text(BODY)
    subprocess.run([llvm.mc, "-triple=amdgcn-amd-amdhsa", "-mcpu=gfx1100", "-filetype=obj", str(d / "b.s"),
                    "-o", str(d / "b.o")], check=True, capture_output=True)
    return ELFFile(io.BytesIO((d / "b.o").read_bytes())).get_section_by_name(".text").data()


@pytest.fixture(scope="session")
def written(llvm, body_code, tmp_path_factory):
    """Our code object, its path, and what llvm-readelf-19 reports about it."""
    data = build_code_object(sample_kernels(body_code))
    path = tmp_path_factory.mktemp("written") / "ours.so"
    path.write_bytes(data)
    plain = subprocess.run([llvm.readelf, "--notes", "--dyn-syms", "-S", "-l", "-h", str(path)],
                           capture_output=True, text=True)
    assert plain.returncode == 0 and plain.stderr == "", plain.stderr
    report = json.loads(subprocess.run([llvm.readelf, "--elf-output-style=JSON", "--notes", "--dyn-syms", "-S",
                                        "-l", "-h", str(path)], check=True, capture_output=True, text=True).stdout)[0]
    return data, path, report


def _objdump(llvm, *args) -> str:
    done = subprocess.run([llvm.objdump, *args], capture_output=True, text=True)
    assert done.returncode == 0 and "warning" not in done.stderr and "error" not in done.stderr, done.stderr
    return done.stdout


# -- round trip through our reader ---------------------------------------------------------


def test_reader_sees_what_was_written(body_code):
    specs = sample_kernels(body_code)
    co = CodeObject.parse(build_code_object(specs))
    assert co.target.processor == "gfx1100" and co.e_flags == 0x41 and co.code_object_version == 5
    assert list(co.kernels) == [s.name for s in specs]
    for spec in specs:
        k = co.kernels[spec.name]
        assert co.text[k.code_address - co.text_address:][:len(spec.code)] == spec.code
        assert k.code_address % 256 == 0 and k.descriptor_address % 64 == 0
        m = k.metadata
        assert m.symbol == spec.name + ".kd"
        assert [a.name for a in m.explicit_args] == [a.name for a in spec.args]
        assert [a.size for a in m.explicit_args] == [a.size for a in spec.args]
        hidden = DEFAULT_HIDDEN_ARGS if spec.hidden_args is None else spec.hidden_args
        assert sorted(a.value_kind for a in m.hidden_args) == sorted(hidden)
        assert m.vgpr_count == spec.vgprs and m.wavefront_size == spec.wavefront_size
        assert m.sgpr_count == spec.sgprs + (2 if spec.reserve_vcc else 0)
        assert m.group_segment_fixed_size == k.descriptor.group_segment_fixed_size == spec.lds_size
        assert m.private_segment_fixed_size == k.descriptor.private_segment_fixed_size == spec.scratch_size
        assert k.descriptor.kernarg_size == m.kernarg_segment_size
        assert k.descriptor.enable_private_segment == (spec.scratch_size > 0)
    wide = co.kernels["wide"]
    assert wide.descriptor.enable_sgpr_workgroup_id_z and wide.descriptor.enable_vgpr_workitem_id == 2
    assert wide.descriptor.enable_sgpr_dispatch_ptr and wide.descriptor.user_sgpr_count == 4
    assert wide.descriptor.float_denorm_mode_32 == 3 and wide.descriptor.enable_ieee_mode == 0
    assert wide.descriptor.enable_exception_int_divide_by_zero == 1
    assert [a.offset for a in wide.metadata.explicit_args] == [0, 16, 32, 40]
    assert wide.metadata.explicit_args[3].address_space == "local"
    assert wide.metadata.reqd_workgroup_size == (64, 2, 2)
    assert co.kernels["wave64"].descriptor.enable_wavefront_size32 == 0
    assert co.kernels["wave64"].metadata.kernarg_segment_size == 4
    assert co.kernels["tiny"].descriptor.enable_sgpr_workgroup_id_x == 0
    assert co.relocations == ()
    image = co.load_image(0x1_0000_0000)
    assert image[wide.code_address:wide.code_address + len(body_code)] == body_code


def test_hidden_arguments_sit_at_their_v5_offsets(body_code):
    spec = KernelSpec("k", body_code, args=[KernelArg("x", 4), KernelArg("y", 2)],
                      hidden_args=tuple(HIDDEN_ARGS_V5))
    meta = CodeObject.parse(build_code_object([spec])).kernels["k"].metadata
    block = 8  # explicit arguments end at 6; the hidden block starts at the next 8-byte boundary
    for arg in meta.hidden_args:
        assert (arg.offset - block, arg.size) == HIDDEN_ARGS_V5[arg.value_kind]
    assert meta.kernarg_segment_size == block + 256 and meta.kernarg_segment_align == 8


# -- what the LLVM tools say about our files -----------------------------------------------


def test_readelf_headers_and_segments(written):
    data, _, report = written
    header = report["ElfHeader"]
    assert header["Ident"]["OS/ABI"]["Value"] == 64 and header["Ident"]["ABIVersion"] == 3
    assert header["Type"].startswith("SharedObject") and header["Machine"]["Value"] == 224
    assert header["Flags"]["Flags"][0]["Name"] == "EF_AMDGPU_MACH_AMDGCN_GFX1100"
    kinds = [p["ProgramHeader"]["Type"]["Name"] for p in report["ProgramHeaders"]]
    assert kinds == ["PT_PHDR", "PT_LOAD", "PT_LOAD", "PT_LOAD", "PT_DYNAMIC", "PT_NOTE"]
    loads = [p["ProgramHeader"] for p in report["ProgramHeaders"] if p["ProgramHeader"]["Type"]["Name"] == "PT_LOAD"]
    assert [p["Flags"]["Value"] for p in loads] == [elf.PF_R, elf.PF_R | elf.PF_X, elf.PF_R | elf.PF_W]
    for p in loads:
        assert p["VirtualAddress"] % p["Alignment"] == p["Offset"] % p["Alignment"]
    sections = {s["Section"]["Name"]["Name"]: s["Section"] for s in report["Sections"]}
    assert {".note", ".dynsym", ".hash", ".dynstr", ".rodata", ".text", ".dynamic", ".symtab"} <= set(sections)
    assert sections[".text"]["AddressAlignment"] == 256 and sections[".rodata"]["AddressAlignment"] == 64
    assert len(data) == header["SectionHeaderOffset"] + int(header["SectionHeaderCount"]) * 64


def test_readelf_dynamic_symbols(written):
    data, _, report = written
    symbols = {s["Symbol"]["Name"]["Name"]: s["Symbol"] for s in report["DynamicSymbols"]}
    co = CodeObject.parse(data)
    for kernel in co.kernels.values():
        func, kd = symbols[kernel.name], symbols[kernel.name + ".kd"]
        assert func["Type"]["Name"] == "Function" and func["Section"]["Name"] == ".text"
        assert kd["Type"]["Name"] == "Object" and kd["Section"]["Name"] == ".rodata" and kd["Size"] == 64
        assert func["Other"]["Value"] == kd["Other"]["Value"] == elf.STV_PROTECTED
        assert func["Binding"]["Name"] == kd["Binding"]["Name"] == "Global"
        assert (func["Value"], kd["Value"]) == (kernel.code_address, kernel.descriptor_address)


def test_readelf_renders_our_metadata(written):
    data, _, report = written
    notes = [n for s in report["NoteSections"] for n in s["NoteSection"]["Notes"]]
    assert len(notes) == 1 and notes[0]["Owner"] == "AMDGPU"
    rendered = yaml.load(notes[0]["AMDGPU Metadata"], Loader=_ReadelfYaml)
    assert rendered == CodeObject.parse(data).metadata
    assert rendered["amdhsa.version"] == [1, 2] and rendered["amdhsa.target"] == "amdgcn-amd-amdhsa--gfx1100"


def test_objdump_disassembles_our_code_like_llvm_mc_output(llvm, written, tmp_path):
    _, path, _ = written
    text = _objdump(llvm, "-d", str(path))
    (tmp_path / "b.s").write_text(BODY)
    subprocess.run([llvm.mc, "-triple=amdgcn-amd-amdhsa", "-mcpu=gfx1100", "-filetype=obj", str(tmp_path / "b.s"),
                    "-o", str(tmp_path / "b.o")], check=True)
    reference = _objdump(llvm, "-d", str(tmp_path / "b.o"))

    def instructions(listing: str, label: str) -> list[str]:
        block = listing.split(f"<{label}>:\n", 1)[1].split("\n\n", 1)[0]
        return [line.split("//")[0].strip() for line in block.splitlines() if line.strip()]

    body = [i for i in instructions(reference, ".text") if i]
    assert body[-1] == "s_endpgm" and len(body) == 6
    for name in ("store_one", "wide"):
        assert instructions(text, name)[:len(body)] == body
    assert instructions(text, "tiny") == ["s_endpgm"]


def _objdump_descriptors(listing: str) -> dict[str, dict[str, int]]:
    out = {}
    for name, body in re.findall(r"\.amdhsa_kernel (\S+)\n(.*?)\.end_amdhsa_kernel", listing, re.S):
        out[name] = {m[0]: int(m[1], 0) for m in re.findall(r"^\s*\.amdhsa_(\w+) (\S+)$", body, re.M)}
    return out


def test_objdump_decodes_our_kernel_descriptors(llvm, written):
    """llvm-objdump disassembles each descriptor back into .amdhsa_* directives."""
    data, path, _ = written
    printed = _objdump_descriptors(_objdump(llvm, "-D", "-j", ".rodata", str(path)))
    co = CodeObject.parse(data)
    assert set(printed) == set(co.kernels)
    for name, kernel in co.kernels.items():
        ours = directives_from_descriptor(kernel.descriptor)
        # objdump prints no user SGPR count and invents SGPR counts gfx10+ do not encode.
        common = set(printed[name]) - {"next_free_sgpr", "reserve_vcc", "reserve_xnack_mask"}
        assert common >= {"next_free_vgpr", "kernarg_size", "wavefront_size32", "float_denorm_mode_32"}
        assert {k: printed[name][k] for k in common} == {k: ours[k] for k in common}


def test_pyelftools_reads_our_file(written):
    data, _, _ = written
    elffile = ELFFile(io.BytesIO(data))
    assert elffile.header["e_type"] == "ET_DYN" and elffile.header["e_machine"] == "EM_AMDGPU"
    dynsym = elffile.get_section_by_name(".dynsym")
    hash_section = elffile.get_section_by_name(".hash")
    assert isinstance(hash_section, ELFHashSection)
    co = CodeObject.parse(data)
    for name in co.kernels:
        for symbol in (name, name + ".kd"):
            assert hash_section.get_symbol(symbol).name == symbol
            assert dynsym.get_symbol_by_name(symbol)[0]["st_value"] == co.symbol(symbol).value
    dynamic = elffile.get_section_by_name(".dynamic")
    tags = {t.entry.d_tag: t.entry.d_val for t in dynamic.iter_tags()}
    assert tags["DT_SYMTAB"] == dynsym["sh_addr"] and tags["DT_HASH"] == hash_section["sh_addr"]
    assert tags["DT_STRTAB"] == elffile.get_section_by_name(".dynstr")["sh_addr"]
    notes = list(elffile.get_section_by_name(".note").iter_notes())
    assert len(notes) == 1 and notes[0]["n_name"] == "AMDGPU"
    desc = notes[0]["n_descdata"]
    assert msgpack.unpackb(desc if isinstance(desc, bytes) else desc.encode("latin-1")) == co.metadata
    for segment in elffile.iter_segments():
        if segment["p_type"] == "PT_LOAD":
            assert segment["p_offset"] + segment["p_filesz"] <= len(data)


# -- generated kernel sets ------------------------------------------------------------------

_ARGS = st.lists(st.builds(
    KernelArg,
    name=st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True),
    size=st.sampled_from([1, 2, 4, 8, 12, 16, 32]),
    value_kind=st.sampled_from(["by_value", "global_buffer"]),
), max_size=8).map(lambda args: [a if a.value_kind == "by_value" else KernelArg(a.name, 8, "global_buffer")
                                 for a in args])


@st.composite
def kernel_specs(draw, name):
    wave = draw(st.sampled_from([32, 64]))
    return KernelSpec(
        name, S_ENDPGM * draw(st.integers(1, 80)), args=draw(_ARGS),
        vgprs=draw(st.integers(0, 256)), sgprs=draw(st.integers(0, 106)), reserve_vcc=draw(st.booleans()),
        lds_size=draw(st.integers(0, 65536)), scratch_size=draw(st.integers(0, 4096)), wavefront_size=wave,
        max_flat_workgroup_size=draw(st.integers(1, 1024)),
        user_sgprs=draw(st.lists(st.sampled_from(["dispatch_ptr", "queue_ptr", "kernarg_segment_ptr",
                                                  "dispatch_id", "private_segment_size"]), unique=True)),
        workgroup_ids=draw(st.sampled_from(["", "x", "xy", "xyz", "z"])), workgroup_info=draw(st.booleans()),
        workitem_id_dims=draw(st.integers(1, 3)),
        hidden_args=draw(st.one_of(st.none(), st.lists(st.sampled_from(sorted(HIDDEN_ARGS_V5)), unique=True))),
    )


@st.composite
def kernel_sets(draw):
    names = draw(st.lists(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True), min_size=1, max_size=4,
                          unique=True))
    return [draw(kernel_specs(n)) for n in names]


@settings(max_examples=60, deadline=None)
@given(kernel_sets())
def test_generated_code_objects_round_trip(specs):
    data = build_code_object(specs)
    co = CodeObject.parse(data)
    assert list(co.kernels) == [s.name for s in specs]
    for spec in specs:
        k = co.kernels[spec.name]
        assert co.text[k.code_address - co.text_address:][:len(spec.code)] == spec.code
        assert k.descriptor.kernel_code_entry_byte_offset == k.code_address - k.descriptor_address
        assert k.metadata.wavefront_size == spec.wavefront_size
        ends = [a.offset + a.size for a in k.metadata.args]
        assert max(ends, default=0) <= k.metadata.kernarg_segment_size == k.descriptor.kernarg_size
        offsets = [a.offset for a in k.metadata.explicit_args]
        assert offsets == sorted(offsets)
        for a, b in zip(k.metadata.explicit_args, k.metadata.explicit_args[1:], strict=False):
            assert a.offset + a.size <= b.offset
    # Writing the parsed kernels again gives the same file.
    again = link_code_object(
        co.text, [LinkedKernel(k.name, k.code_address - co.text_address, k.descriptor,
                               co.symbol(k.name).size) for k in co.kernels.values()],
        co.metadata)
    assert again == data


@pytest.mark.llvm
def test_generated_code_objects_satisfy_llvm_tools(llvm, tmp_path):
    @settings(max_examples=6, deadline=None)
    @given(kernel_sets())
    def check(specs):
        path = tmp_path / "g.so"
        path.write_bytes(build_code_object(specs))
        done = subprocess.run([llvm.readelf, "--notes", "--dyn-syms", "-S", "-l", str(path)], capture_output=True,
                              text=True)
        assert done.returncode == 0 and done.stderr == ""
        printed = _objdump_descriptors(_objdump(llvm, "-D", "-j", ".rodata", str(path)))
        co = CodeObject.parse(path.read_bytes())
        for name, kernel in co.kernels.items():
            ours = directives_from_descriptor(kernel.descriptor)
            common = set(printed[name]) - {"next_free_sgpr", "reserve_vcc", "reserve_xnack_mask"}
            assert {k: printed[name][k] for k in common} == {k: ours[k] for k in common}
        listing = _objdump(llvm, "-d", str(path))
        for spec in specs:
            assert f"<{spec.name}>:" in listing

    check()


# -- bad input ---------------------------------------------------------------------------------


def _spec(**changes) -> KernelSpec:
    base = {"name": "k", "code": S_ENDPGM}
    return KernelSpec(**{**base, **changes})


@pytest.mark.parametrize("kernels, message", [
    ([], "non-empty"),
    (_spec(), "non-empty list"),
    ([_spec(code=b"")], "code"),
    ([_spec(code=b"\0\0\0")], "4-byte"),
    ([_spec(code="s_endpgm")], "code"),
    ([_spec(), _spec()], "twice"),
    ([_spec(name="")], "name"),
    ([_spec(args=[KernelArg("x", 0)])], "size"),
    ([_spec(args=[KernelArg("x", 4, align=3)])], "power of two"),
    ([_spec(args=[KernelArg("x", 8), KernelArg("y", 4, offset=4)])], "overlaps"),
    ([_spec(args=[KernelArg("x", 4, offset=2)])], "aligned"),
    ([_spec(args=[KernelArg("x", 4, "hidden_grid_dims")])], "hidden"),
    ([_spec(args=[KernelArg("x", 4, "bogus_kind")])], "value_kind"),
    ([_spec(args=[KernelArg("x", 8, "global_buffer", address_space="far")])], "address_space"),
    ([_spec(hidden_args=["hidden_everything"])], "unknown hidden"),
    ([_spec(hidden_args=["hidden_grid_dims", "hidden_grid_dims"])], "twice"),
    ([_spec(user_sgprs=["flat_scratch_init"])], "user SGPR"),
    ([_spec(workgroup_ids="w")], "workgroup_ids"),
    ([_spec(wavefront_size=16)], "wavefront"),
    ([_spec(workitem_id_dims=4)], "workitem_id_dims"),
    ([_spec(vgprs=513)], "vgprs"),
    ([_spec(vgprs=257, wavefront_size=64)], "out of range"),
    ([_spec(sgprs=107)], "sgprs"),
    ([_spec(lds_size=65537)], "lds_size"),
    ([_spec(scratch_size=-1)], "scratch_size"),
    ([_spec(max_flat_workgroup_size=0)], "max_flat_workgroup_size"),
    ([_spec(directives={"float_round_mode_32": 4})], "out of range"),
    ([_spec(directives={"accum_offset": 4})], "gfx90a"),
    ([_spec(directives={"shared_vgpr_count": 2})], "wavefront size 32"),
    ([_spec(language="Fortran")], "language"),
])
def test_bad_kernel_specs(kernels, message):
    with pytest.raises(CodeObjectError, match=message):
        build_code_object(kernels)


@pytest.mark.parametrize("target", ["gfx1030", "gfx90a", "gfx1100:xnack+", "amdgcn-amd-amdhsa--gfx1100:sramecc-",
                                    "gfx1100:bogus+", "", 1100])
def test_bad_targets(target):
    with pytest.raises(CodeObjectError):
        build_code_object([_spec()], target=target)


@pytest.mark.parametrize("target, e_flags, abi", [("gfx1100", 0x41, 3), ("gfx1101", 0x46, 3), ("gfx1102", 0x47, 3),
                                                  ("gfx1103", 0x44, 3), ("gfx1150", 0x43, 3), ("gfx1151", 0x4A, 3),
                                                  ("gfx1152", 0x55, 3), ("gfx11-generic", 0x1000054, 4),
                                                  ("amdgcn-amd-amdhsa--gfx1101", 0x46, 3)])
def test_targets(target, e_flags, abi):
    data = build_code_object([_spec()], target=target)
    assert int.from_bytes(data[48:52], "little") == e_flags and data[8] == abi
    co = CodeObject.parse(data)
    assert co.e_flags == e_flags and co.metadata["amdhsa.target"] == co.target.target_id


@pytest.mark.llvm
@pytest.mark.parametrize("target", ["gfx1101", "gfx1151", "gfx11-generic"])
def test_readelf_names_our_targets(llvm, tmp_path, target):
    path = tmp_path / "t.so"
    path.write_bytes(build_code_object([_spec()], target=target))
    out = subprocess.run([llvm.readelf, "-h", str(path)], check=True, capture_output=True, text=True).stdout
    assert re.search(rf"Flags:\s+0x[0-9a-fA-F]+, {re.escape(target)}", out)


def _linked(**changes):
    kd = build_kernel("k", {"next_free_vgpr": 1, "next_free_sgpr": 0}).descriptor
    meta = {"amdhsa.version": [1, 2], "amdhsa.target": "amdgcn-amd-amdhsa--gfx1100",
            "amdhsa.kernels": [{".name": "k", ".symbol": "k.kd", ".kernarg_segment_size": 0,
                                ".kernarg_segment_align": 4, ".group_segment_fixed_size": 0,
                                ".private_segment_fixed_size": 0, ".wavefront_size": 32, ".sgpr_count": 0,
                                ".vgpr_count": 1, ".max_flat_workgroup_size": 64, ".args": []}]}
    args = {"text": S_ENDPGM * 64, "kernels": [LinkedKernel("k", 0, kd)], "metadata": meta}
    args.update(changes)
    return args


def test_link_code_object_accepts_a_text_blob_with_offsets():
    kd = build_kernel("k", {"next_free_vgpr": 1, "next_free_sgpr": 0}).descriptor
    base = _linked()
    meta = dict(base["metadata"])
    second = dict(meta["amdhsa.kernels"][0], **{".name": "j", ".symbol": "j.kd"})
    meta["amdhsa.kernels"] = [*meta["amdhsa.kernels"], second]
    text = S_ENDPGM * 64 + S_NOP * 63 + S_ENDPGM
    data = link_code_object(text, [LinkedKernel("k", 0, kd), LinkedKernel("j", 256, kd)], meta)
    co = CodeObject.parse(data)
    assert co.kernels["j"].code_address - co.kernels["k"].code_address == 256
    assert co.symbol("k").size == 256 and co.symbol("j").size == 256


@pytest.mark.parametrize("changes, message", [
    ({"text": b""}, "non-empty"),
    ({"kernels": []}, "at least one"),
    ({"kernels": [LinkedKernel("k", 4, KernelDescriptor())]}, "aligned"),
    ({"kernels": [LinkedKernel("k", 1024, KernelDescriptor())]}, "outside"),
    ({"kernels": [LinkedKernel("k", 0, KernelDescriptor(), code_size=4096)]}, "past the end"),
    ({"kernels": [LinkedKernel("k", 0, b"\0" * 64)]}, "KernelDescriptor"),
    ({"kernels": [LinkedKernel("j", 0, KernelDescriptor())]}, "describes kernels"),
    ({"metadata": {"amdhsa.version": [1, 2]}}, "amdhsa.kernels"),
    ({"metadata": "yaml text"}, "map"),
])
def test_bad_link_requests(changes, message):
    with pytest.raises(CodeObjectError, match=message):
        link_code_object(**_linked(**changes))


def test_metadata_values_msgpack_cannot_hold():
    args = _linked()
    args["metadata"]["amdhsa.kernels"][0][".custom"] = {1, 2}
    with pytest.raises(CodeObjectError, match="MessagePack"):
        link_code_object(**args)
    args["metadata"]["amdhsa.kernels"][0][".custom"] = 1 << 70
    with pytest.raises(CodeObjectError, match="64 bits"):
        link_code_object(**args)
    args["metadata"]["amdhsa.kernels"][0][".symbol"] = "other"
    args["metadata"]["amdhsa.kernels"][0].pop(".custom")
    with pytest.raises(CodeObjectError, match="symbol"):
        link_code_object(**args)
    args = _linked()
    args["metadata"]["amdhsa.target"] = "amdgcn-amd-amdhsa--gfx1101"
    with pytest.raises(CodeObjectError, match="target"):
        link_code_object(**args)


# -- damaged copies of our files ---------------------------------------------------------------


def _parse_or_code_object_error(data: bytes) -> None:
    try:
        co = CodeObject.parse(data)
    except CodeObjectError:
        return
    if co.image_size <= 1 << 24:
        try:
            co.load_image(co.image_alignment)
        except CodeObjectError:
            pass


def test_damaged_copies_of_our_files_parse_or_raise_code_object_error(body_code):
    data = build_code_object(sample_kernels(body_code))

    @settings(max_examples=300, deadline=None)
    @given(st.one_of(
        st.integers(0, len(data)).map(lambda n: data[:n]),
        st.lists(st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255)), min_size=1, max_size=6).map(
            lambda flips: bytes(_flip(data, flips))),
    ))
    def check(damaged):
        _parse_or_code_object_error(damaged)

    check()


def _flip(data: bytes, flips) -> bytearray:
    out = bytearray(data)
    for where, value in flips:
        out[where] = value
    return out


ASM_KERNEL = """
.amdgcn_target "amdgcn-amd-amdhsa--gfx1100"
.amdhsa_code_object_version 5
.text
.globl fill
.p2align 8
.type fill,@function
fill:
{body}
.rodata
.p2align 6
.amdhsa_kernel fill
  .amdhsa_next_free_vgpr 2
  .amdhsa_next_free_sgpr 2
  .amdhsa_user_sgpr_kernarg_segment_ptr 1
  .amdhsa_kernarg_size 8
  .amdhsa_group_segment_fixed_size 128
  .amdhsa_float_denorm_mode_32 3
  .amdhsa_system_vgpr_workitem_id 1
.end_amdhsa_kernel
"""


@pytest.mark.llvm
def test_assembly_pieces_link_like_llvm_mc_and_lld(llvm, tmp_path, body_code):
    """Directive block + machine code + synthesized metadata, linked by us, carry the same
    descriptor as llvm-mc-19 + ld.lld-19 produce from the same source."""
    source = ASM_KERNEL.format(body=BODY)
    (tmp_path / "a.s").write_text(source)
    subprocess.run([llvm.mc, "-triple=amdgcn-amd-amdhsa", "-mcpu=gfx1100", "-filetype=obj", str(tmp_path / "a.s"),
                    "-o", str(tmp_path / "a.o")], check=True)
    subprocess.run([llvm.lld, "-shared", str(tmp_path / "a.o"), "-o", str(tmp_path / "a.so")], check=True)
    reference = ELFFile(io.BytesIO((tmp_path / "a.so").read_bytes()))
    rodata = reference.get_section_by_name(".rodata")
    symbols = {s.name: s["st_value"] for s in reference.get_section_by_name(".dynsym").iter_symbols()}
    at = symbols["fill.kd"] - rodata["sh_addr"]
    llvm_kd = KernelDescriptor.from_bytes(rodata.data()[at:at + 64])

    lines = source.splitlines()
    start = lines.index(".amdhsa_kernel fill")
    kernel = parse_amdhsa_kernel(lines[start:lines.index(".end_amdhsa_kernel") + 1], first_line=start + 1)
    metadata = {"amdhsa.version": [1, 2], "amdhsa.target": "amdgcn-amd-amdhsa--gfx1100",
                "amdhsa.kernels": [assembler_kernel_metadata(kernel)]}
    ours = CodeObject.parse(link_code_object(body_code, [LinkedKernel("fill", 0, kernel.descriptor)], metadata))
    fill = ours.kernels["fill"]
    assert fill.descriptor.replace(kernel_code_entry_byte_offset=0) == llvm_kd.replace(kernel_code_entry_byte_offset=0)
    assert fill.metadata.kernarg_segment_size == 8 and fill.metadata.group_segment_fixed_size == 128
    assert fill.metadata.sgpr_count == 4 and fill.metadata.vgpr_count == 2
    code = reference.get_section_by_name(".text").data()
    assert ours.text[fill.code_address - ours.text_address:][:len(code)] == code


def test_public_names_of_the_isa_package():
    """`isa.CodeObject`, `isa.build_code_object` and `isa.CodeObjectError`, imported the way users
    import them (in a fresh interpreter, so the test tree cannot shadow the package)."""
    probe = ("import isa; from isa.codeobj import CodeObject, build_code_object; from isa.errors import "
             "CodeObjectError; assert isa.CodeObject is CodeObject and isa.build_code_object is build_code_object; "
             "assert isa.CodeObjectError is CodeObjectError; print('ok')")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr
