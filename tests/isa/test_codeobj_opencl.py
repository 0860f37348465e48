"""Reading code objects clang-19 and ld.lld-19 produce from OpenCL C (tests/data/opencl), checked
against llvm-readelf-19's view of the same files, pyelftools, and clang's own assembly output."""

import io
import json
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import msgpack
import pytest
import yaml
from elftools.elf.elffile import ELFFile
from hypothesis import given, settings
from hypothesis import strategies as st

from isa.amdgpu_metadata import parse_amdgpu_metadata
from isa.amdhsa import parse_amdhsa_kernel
from isa.codeobj import CodeObject, KernelArg, elf, layout_kernargs
from isa.errors import CodeObjectError

pytestmark = pytest.mark.llvm

OPENCL_DIR = Path(__file__).resolve().parents[1] / "data" / "opencl"
SOURCES = sorted(OPENCL_DIR.glob("*.cl"))
NAMES = [p.stem for p in SOURCES]
BASE = 0x7F12_3456_0000


class _ReadelfYaml(yaml.SafeLoader):
    """llvm-readelf prints metadata strings that look like numbers or booleans with a `!str` tag."""


_ReadelfYaml.add_constructor("!str", lambda loader, node: loader.construct_scalar(node))


@dataclass
class Compiled:
    name: str
    so: bytes
    obj: bytes
    asm: str
    readelf: dict  # llvm-readelf --elf-output-style=JSON
    metadata: dict  # the note as llvm-readelf renders it


def _run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="session")
def compiled(llvm, tmp_path_factory) -> dict[str, Compiled]:
    out = tmp_path_factory.mktemp("opencl")
    result = {}
    for src in SOURCES:
        flags = []
        for line in src.read_text().splitlines():
            if line.startswith("// clang-flags:"):
                flags = line.split(":", 1)[1].split()
        base = [llvm.clang, "-x", "cl", "-cl-std=CL2.0", "-nogpulib", "-target", "amdgcn-amd-amdhsa",
                "-mcpu=gfx1100", "-O2", *flags, str(src)]
        obj, so, asm = out / f"{src.stem}.o", out / f"{src.stem}.so", out / f"{src.stem}.s"
        _run([*base, "-c", "-o", str(obj)])
        _run([*base, "-S", "-o", str(asm)])
        _run([llvm.lld, "-shared", str(obj), "-o", str(so)])
        readelf = json.loads(_run([llvm.readelf, "--elf-output-style=JSON", "-h", "-l", "-S", "--dyn-syms",
                                   "-r", "--notes", str(so)]))[0]
        notes = [n for section in readelf["NoteSections"] for n in section["NoteSection"]["Notes"]]
        metadata = yaml.load(notes[0]["AMDGPU Metadata"], Loader=_ReadelfYaml)
        result[src.stem] = Compiled(src.stem, so.read_bytes(), obj.read_bytes(), asm.read_text(), readelf, metadata)
    return result


@pytest.fixture(scope="session")
def parsed(compiled) -> dict[str, CodeObject]:
    return {name: CodeObject.parse(c.so) for name, c in compiled.items()}


def _dynsyms(c: Compiled) -> dict[str, dict]:
    return {s["Symbol"]["Name"]["Name"]: s["Symbol"] for s in c.readelf["DynamicSymbols"]}


def test_sources_cover_the_kinds_of_kernel_we_need():
    assert len(SOURCES) >= 10


@pytest.mark.parametrize("name", NAMES)
def test_metadata_equals_what_readelf_prints(compiled, parsed, name):
    c, co = compiled[name], parsed[name]
    assert co.metadata == c.metadata
    assert list(co.kernels) == [k[".name"] for k in c.metadata["amdhsa.kernels"]]
    assert co.target.processor == "gfx1100" and co.target.target_id == c.metadata["amdhsa.target"]
    assert co.code_object_version == 5 and c.readelf["ElfHeader"]["Ident"]["ABIVersion"] == 3


@pytest.mark.parametrize("name", NAMES)
def test_typed_kernel_metadata(compiled, parsed, name):
    for entry in compiled[name].metadata["amdhsa.kernels"]:
        meta = parsed[name].kernels[entry[".name"]].metadata
        assert meta.kernarg_segment_size == entry[".kernarg_segment_size"]
        assert meta.kernarg_segment_align == entry[".kernarg_segment_align"]
        assert meta.group_segment_fixed_size == entry[".group_segment_fixed_size"]
        assert meta.private_segment_fixed_size == entry[".private_segment_fixed_size"]
        assert (meta.sgpr_count, meta.vgpr_count) == (entry[".sgpr_count"], entry[".vgpr_count"])
        assert meta.wavefront_size == entry[".wavefront_size"]
        assert meta.max_flat_workgroup_size == entry[".max_flat_workgroup_size"]
        assert meta.uses_dynamic_stack == entry.get(".uses_dynamic_stack", False)
        assert len(meta.args) == len(entry.get(".args", []))
        for arg, want in zip(meta.args, entry.get(".args", []), strict=True):
            assert (arg.offset, arg.size, arg.value_kind) == (want[".offset"], want[".size"], want[".value_kind"])
            assert arg.name == want.get(".name")
            assert arg.address_space == want.get(".address_space")
            assert arg.type_name == want.get(".type_name")
            assert arg.is_const == want.get(".is_const", False)
            assert arg.hidden == want[".value_kind"].startswith("hidden_")


@pytest.mark.parametrize("name", NAMES)
def test_segments_are_the_load_program_headers(compiled, parsed, name):
    want = [p["ProgramHeader"] for p in compiled[name].readelf["ProgramHeaders"]
            if p["ProgramHeader"]["Type"]["Value"] == elf.PT_LOAD]
    got = parsed[name].segments
    assert [(s.offset, s.vaddr, s.filesz, s.memsz, s.flags, s.align) for s in got] == [
        (p["Offset"], p["VirtualAddress"], p["FileSize"], p["MemSize"], p["Flags"]["Value"], p["Alignment"])
        for p in want]
    assert parsed[name].image_size == max(p["VirtualAddress"] + p["MemSize"] for p in want)


@pytest.mark.parametrize("name", NAMES)
def test_kernel_addresses_match_dynamic_symbols(compiled, parsed, name):
    syms = _dynsyms(compiled[name])
    co = parsed[name]
    assert {s.name for s in co.dynamic_symbols} == set(syms)
    for kernel in co.kernels.values():
        assert kernel.descriptor_address == syms[kernel.name + ".kd"]["Value"]
        assert kernel.code_address == syms[kernel.name]["Value"]
        assert syms[kernel.name]["Type"]["Name"] == "Function"
        text = co.sections[[s.name for s in co.sections].index(".text")]
        assert kernel.code_offset == text.offset + kernel.code_address - text.addr


@pytest.mark.parametrize("name", NAMES)
def test_descriptor_bytes_and_fields(compiled, parsed, name):
    c, co = compiled[name], parsed[name]
    elffile = ELFFile(io.BytesIO(c.so))
    rodata = elffile.get_section_by_name(".rodata")
    for kernel in co.kernels.values():
        at = kernel.descriptor_address - rodata["sh_addr"]
        assert kernel.descriptor.to_bytes() == rodata.data()[at:at + 64]
        kd, meta = kernel.descriptor, kernel.metadata
        assert kd.group_segment_fixed_size == meta.group_segment_fixed_size
        assert kd.private_segment_fixed_size == meta.private_segment_fixed_size
        assert kd.kernarg_size == meta.kernarg_segment_size
        assert kd.enable_wavefront_size32 == (meta.wavefront_size == 32)
        assert kd.enable_private_segment == (meta.private_segment_fixed_size > 0 or meta.uses_dynamic_stack)
        assert kd.uses_dynamic_stack == meta.uses_dynamic_stack
        assert kd.register("compute_pgm_rsrc1") == struct.unpack_from("<I", kd.to_bytes(), 48)[0]


def _blocks(asm: str, start: str, end: str):
    lines = asm.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip().startswith(start):
            j = next(k for k in range(i, len(lines)) if lines[k].strip() == end)
            yield i + 1, lines[i:j + 1]
            i = j
        i += 1


@pytest.mark.parametrize("name", NAMES)
def test_amdhsa_directives_from_clang_give_the_same_descriptors(compiled, parsed, name):
    """clang -S prints each descriptor as .amdhsa_* directives; our directive rules must rebuild
    it. clang's own object sets GRANULATED_WAVEFRONT_SGPR_COUNT, which gfx10+ ignore and llvm-mc
    leaves zero, so that field is compared separately."""
    blocks = list(_blocks(compiled[name].asm, ".amdhsa_kernel ", ".end_amdhsa_kernel"))
    assert len(blocks) == len(parsed[name].kernels)
    for line_no, block in blocks:
        built = parse_amdhsa_kernel(block, first_line=line_no)
        kernel = parsed[name].kernels[built.name]
        assert built.descriptor.granulated_wavefront_sgpr_count == 0
        assert built.descriptor.replace(granulated_wavefront_sgpr_count=0) == kernel.descriptor.replace(
            granulated_wavefront_sgpr_count=0, kernel_code_entry_byte_offset=0)
        # clang prints at least 1 for the next free registers where the metadata counts 0.
        meta = kernel.metadata
        assert built.vgpr_count == max(1, meta.vgpr_count)
        assert built.values["next_free_sgpr"] == max(1, meta.sgpr_count - 2 * built.values["reserve_vcc"])
        assert built.wavefront_size == kernel.metadata.wavefront_size


@pytest.mark.parametrize("name", NAMES)
def test_amdgpu_metadata_block_from_clang_equals_the_note(compiled, parsed, name):
    blocks = list(_blocks(compiled[name].asm, ".amdgpu_metadata", ".end_amdgpu_metadata"))
    assert len(blocks) == 1
    line_no, block = blocks[0]
    assert parse_amdgpu_metadata(block, first_line=line_no) == parsed[name].metadata


@pytest.mark.parametrize("name", NAMES)
def test_text_section(compiled, parsed, name):
    text = ELFFile(io.BytesIO(compiled[name].so)).get_section_by_name(".text")
    assert parsed[name].text == text.data()
    assert parsed[name].text_address == text["sh_addr"]


def test_the_sources_exercise_what_they_claim(parsed):
    kernels = {k.name: k for co in parsed.values() for k in co.kernels.values()}
    assert kernels["reverse_block"].metadata.group_segment_fixed_size == 256
    assert kernels["reverse_block"].metadata.reqd_workgroup_size == (64, 1, 1)
    stage_two = kernels["stage_two"].metadata
    assert [a.value_kind for a in stage_two.explicit_args][1:3] == ["dynamic_shared_pointer"] * 2
    assert "hidden_dynamic_lds_size" in [a.value_kind for a in stage_two.hidden_args]
    assert kernels["histogram_private"].metadata.private_segment_fixed_size > 0
    assert kernels["histogram_private"].descriptor.enable_private_segment == 1
    assert kernels["transpose"].descriptor.enable_vgpr_workitem_id == 1
    assert kernels["transpose"].descriptor.enable_sgpr_workgroup_id_y == 1
    assert kernels["volume_sum"].descriptor.enable_vgpr_workitem_id == 2
    assert kernels["volume_sum"].descriptor.enable_sgpr_workgroup_id_z == 1
    mixed = kernels["mixed"].metadata
    assert len(mixed.explicit_args) == 21 and mixed.kernarg_segment_align == 16
    assert {a.type_name for a in mixed.explicit_args} >= {"half", "double", "int3", "half8", "long2"}
    assert kernels["no_args"].metadata.args == ()
    assert kernels["square64"].metadata.wavefront_size == 64
    assert kernels["square64"].descriptor.enable_wavefront_size32 == 0
    assert kernels["say"].metadata.uses_dynamic_stack
    assert parsed["printf"].printf_formats
    assert "hidden_printf_buffer" in [a.value_kind for a in kernels["say"].metadata.hidden_args]
    assert kernels["queue_info"].descriptor.enable_sgpr_dispatch_ptr == 1
    # Code object v5 passes the queue pointer as a hidden argument instead of a user SGPR.
    assert kernels["queue_info"].descriptor.enable_sgpr_queue_ptr == 0
    assert "hidden_queue_ptr" in [a.value_kind for a in kernels["queue_info"].metadata.hidden_args]
    assert kernels["fill"].metadata.uniform_work_group_size == 1
    assert {r.type_name for r in parsed["globals"].relocations} == {"R_AMDGPU_RELATIVE64", "R_AMDGPU_ABS64"}


@pytest.mark.parametrize("name", ["globals", "printf"])
def test_dynamic_relocations_match_readelf(compiled, parsed, name):
    want = [r["Relocation"] for group in compiled[name].readelf["Relocations"] for r in group["Relocs"]]
    got = parsed[name].relocations
    assert want
    assert [(r.offset, r.type, r.addend, r.symbol.name if r.symbol else "-") for r in got] == [
        (w["Offset"], w["Type"]["Value"], w["Addend"], w["Symbol"]["Name"]) for w in want]


@pytest.mark.parametrize("name", NAMES)
def test_load_image_places_segments_and_applies_relocations(parsed, name):
    co = parsed[name]
    externals = {s.name: 0x5555_0000_1000 + 16 * i for i, s in enumerate(co.dynamic_symbols) if s.name and not s.defined}
    image = co.load_image(BASE, externals)
    assert len(image) == co.image_size
    patched = set()
    for r in co.relocations:
        value = struct.unpack_from("<Q", image, r.offset)[0]
        if r.type == elf.R_AMDGPU_RELATIVE64:
            assert value == BASE + r.addend
        else:
            assert r.type == elf.R_AMDGPU_ABS64
            where = BASE + r.symbol.value if r.symbol.defined else externals[r.symbol.name]
            assert value == where + r.addend
        patched.update(range(r.offset, r.offset + 8))
    for seg in co.segments:
        for i in range(seg.memsz):
            if seg.vaddr + i not in patched:
                assert image[seg.vaddr + i] == (seg.data[i] if i < seg.filesz else 0)
    # Moving the image moves every relocated pointer by the same amount and nothing else.
    moved = co.load_image(BASE + 0x10000, externals)
    diffs = [i for i in range(len(image)) if image[i] != moved[i]]
    assert set(diffs) <= patched


def test_load_image_needs_addresses_of_undefined_symbols(parsed):
    # printf's buffer allocator lives in the device library, which -nogpulib leaves out.
    co = parsed["printf"]
    assert [s.name for s in co.dynamic_symbols if s.name and not s.defined] == ["__printf_alloc"]
    with pytest.raises(CodeObjectError, match="__printf_alloc"):
        co.load_image(BASE)


def test_load_image_needs_an_aligned_base(parsed):
    co = parsed["globals"]
    with pytest.raises(CodeObjectError, match="aligned"):
        co.load_image(BASE + 0x100)
    with pytest.raises(CodeObjectError):
        co.load_image(-4096)
    with pytest.raises(CodeObjectError):
        co.load_image("0x1000")


def test_relocatable_object_is_refused(compiled):
    with pytest.raises(CodeObjectError, match="ET_REL"):
        CodeObject.parse(compiled["saxpy"].obj)


# -- damaged files ---------------------------------------------------------------------------


def _patch(data: bytes, offset: int, fmt: str, value) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


def _note_offset(data: bytes) -> int:
    note = ELFFile(io.BytesIO(data)).get_section_by_name(".note")
    return note["sh_offset"]


def _symbol_entry_offset(data: bytes, name: str) -> int:
    dynsym = ELFFile(io.BytesIO(data)).get_section_by_name(".dynsym")
    for i, sym in enumerate(dynsym.iter_symbols()):
        if sym.name == name:
            return dynsym["sh_offset"] + i * 24
    raise AssertionError(name)


def _damaged(so: bytes):
    """(description, bytes, expected message fragment) for each kind of damage."""
    note = _note_offset(so)
    namesz, descsz, _ = struct.unpack_from("<III", so, note)
    desc_at = note + 12 + (namesz + 3) // 4 * 4
    kd_sym = _symbol_entry_offset(so, "saxpy.kd")
    kd_addr = struct.unpack_from("<Q", so, kd_sym + 8)[0]
    rodata = ELFFile(io.BytesIO(so)).get_section_by_name(".rodata")
    kd_file = rodata["sh_offset"] + kd_addr - rodata["sh_addr"]
    return [
        ("empty", b"", "not an ELF"),
        ("text", b"hello world, this is not an ELF file at all" * 3, "not an ELF"),
        ("header cut", so[:40], "truncated"),
        ("half the file", so[:len(so) // 2], "past the end"),
        ("32-bit class", _patch(so, 4, "B", 1), "ELFCLASS64"),
        ("big endian", _patch(so, 5, "B", 2), "little-endian"),
        ("x86-64", _patch(so, 18, "<H", 62), "EM_AMDGPU"),
        ("Linux OS ABI", _patch(so, 7, "B", 3), "OSABI"),
        ("code object v3", _patch(so, 8, "B", 1), "ABIVERSION"),
        ("gfx1030", _patch(so, 48, "<I", 0x36), "not a gfx11"),
        ("gfx90a", _patch(so, 48, "<I", 0x3F), "not a gfx11"),
        ("executable", _patch(so, 16, "<H", elf.ET_EXEC), "ET_DYN"),
        ("no metadata note", _patch(so, note + 8, "<I", 33), "metadata missing"),
        ("note past its section", _patch(so, note + 4, "<I", descsz + 4096), "past the end"),
        ("metadata not msgpack", _patch(so, desc_at, "B", 0xC1), "MessagePack"),
        ("metadata not a map", _patch(so, desc_at, f"{descsz}s", msgpack.packb("x" * (descsz - 3))),
         "expected a map"),
        ("descriptor outside segments", _patch(so, kd_sym + 8, "<Q", 0x7FFF_0000), "not inside"),
        ("code entry outside code", _patch(so, kd_file + 16, "<q", -0x100000), "executable segment"),
        ("descriptor reserved bits", _patch(so, kd_file + 60, "<I", 1), "reserved"),
        ("section table past the end", _patch(so, 40, "<Q", len(so) - 10), "past the end"),
        ("program headers past the end", _patch(so, 32, "<Q", len(so) - 10), "past the end"),
    ]


def test_damaged_files_raise_code_object_error_saying_what(compiled):
    for what, data, message in _damaged(compiled["saxpy"].so):
        with pytest.raises(CodeObjectError, match=message):
            CodeObject.parse(data)
        assert what


def test_non_bytes_input_is_refused():
    with pytest.raises(CodeObjectError):
        CodeObject.parse("not bytes")


def parse_or_code_object_error(data: bytes) -> None:
    """A damaged file either parses (and then loads) or raises CodeObjectError, nothing else."""
    try:
        co = CodeObject.parse(data)
    except CodeObjectError:
        return
    if co.image_size > 1 << 24:
        return  # legal but too big to lay out in a test
    externals = {s.name: 0x1000 for s in co.dynamic_symbols if not s.defined}
    try:
        co.load_image(co.image_alignment * 16, externals)
    except CodeObjectError:
        pass


FUZZ = settings(max_examples=200, deadline=None)


def test_truncated_objects_parse_or_raise_code_object_error(compiled):
    @FUZZ
    @given(which=st.sampled_from(NAMES), cut=st.floats(0, 1))
    def check(which, cut):
        so = compiled[which].so
        parse_or_code_object_error(so[:int(len(so) * cut)])

    check()


def test_flipped_bytes_parse_or_raise_code_object_error(compiled):
    @FUZZ
    @given(which=st.sampled_from(NAMES),
           flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8))
    def check(which, flips):
        data = bytearray(compiled[which].so)
        for where, value in flips:
            data[int(where * len(data))] = value
        parse_or_code_object_error(bytes(data))

    check()


def test_overwritten_header_words_parse_or_raise_code_object_error(compiled):
    """Headers, tables and the note sit in the first 2 KiB; overwrite one 64-bit word there."""
    @FUZZ
    @given(which=st.sampled_from(NAMES), where=st.integers(0, 2047),
           value=st.one_of(st.integers(0, 2**64 - 1), st.integers(0, 4096)))
    def check(which, where, value):
        data = bytearray(compiled[which].so)
        where = min(where, len(data) - 8)
        data[where:where + 8] = value.to_bytes(8, "little")
        parse_or_code_object_error(bytes(data))

    check()


@pytest.mark.parametrize("name", NAMES)
def test_argument_layout_matches_clang(parsed, name):
    """Explicit arguments at their natural alignment, then the hidden ones clang chose, give
    clang's offsets, kernarg segment size and alignment."""
    for kernel in parsed[name].kernels.values():
        meta = kernel.metadata
        args = [KernelArg(a.name, a.size, a.value_kind, address_space=a.address_space, type_name=a.type_name,
                          pointee_align=a.pointee_align, is_const=a.is_const, is_restrict=a.is_restrict,
                          is_volatile=a.is_volatile, access=a.access, actual_access=a.actual_access)
                for a in meta.explicit_args]
        layout = layout_kernargs(args, [a.value_kind for a in meta.hidden_args])
        assert layout.args == tuple(meta.raw.get(".args", ()))
        assert (layout.size, layout.align) == (meta.kernarg_segment_size, meta.kernarg_segment_align)
