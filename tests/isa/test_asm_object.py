"""isa.assemble_code_object against llvm-mc-19 + ld.lld-19 on the same assembly files: clang-19's
`-S` output for tests/data/opencl and hand-written kernels. The code objects must agree byte for
byte in every allocated section (code, descriptors, metadata note, symbols, relocations) and be
read the same way by llvm-readelf-19, llvm-objdump-19, pyelftools and CodeObject.parse."""

import io
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml
from elftools.elf.elffile import ELFFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import isa
from isa.codeobj import CodeObject, elf
from isa.errors import AsmError, DirectiveError

pytestmark = pytest.mark.llvm

OPENCL_DIR = Path(__file__).resolve().parents[1] / "data" / "opencl"
SOURCES = sorted(OPENCL_DIR.glob("*.cl"))
WAVE32 = [p.stem for p in SOURCES if "wavefrontsize64" not in p.read_text()]
MC = ["-triple=amdgcn-amd-amdhsa", "-mcpu=gfx1100", "-filetype=obj"]

VADD = """\
// c[i] = a[i] + b[i] for i < count
	.amdgcn_target "amdgcn-amd-amdhsa--gfx1100"
	.amdhsa_code_object_version 5
	.text
	.globl	vadd
	.p2align	8
	.type	vadd,@function
vadd:
	s_load_b32 s10, s[0:1], 0x18          ; count
	s_load_b32 s3, s[0:1], 0x2c           ; hidden_group_size_x and _y
	s_waitcnt lgkmcnt(0)
	s_and_b32 s3, s3, 0xffff
	v_mad_u64_u32 v[1:2], null, s2, s3, v[0:1]
	v_cmp_gt_u32_e32 vcc_lo, s10, v1
	s_and_saveexec_b32 s10, vcc_lo
	s_cbranch_execz .Ldone
	s_load_b128 s[4:7], s[0:1], 0x0
	s_load_b64 s[8:9], s[0:1], 0x10
	v_lshlrev_b32_e32 v0, 2, v1
	s_waitcnt lgkmcnt(0)
	global_load_b32 v1, v0, s[4:5]
	global_load_b32 v2, v0, s[6:7]
	s_waitcnt vmcnt(0)
	v_add_f32_e32 v1, v1, v2
	global_store_b32 v0, v1, s[8:9]
.Ldone:
	s_endpgm
.Lvadd_end:
	.size	vadd, .Lvadd_end-vadd

	.rodata
	.p2align	6
	.amdhsa_kernel vadd
		.amdhsa_user_sgpr_kernarg_segment_ptr 1
		.amdhsa_kernarg_size 288
		.amdhsa_next_free_vgpr 3
		.amdhsa_next_free_sgpr 16
		.amdhsa_float_denorm_mode_32 3
	.end_amdhsa_kernel
"""

VADD_METADATA = """
	.amdgpu_metadata
---
amdhsa.kernels:
  - .args:
      - { .name: a, .offset: 0, .size: 8, .value_kind: global_buffer, .address_space: global }
      - { .name: b, .offset: 8, .size: 8, .value_kind: global_buffer, .address_space: global }
      - { .name: c, .offset: 16, .size: 8, .value_kind: global_buffer, .address_space: global }
      - { .name: count, .offset: 24, .size: 4, .value_kind: by_value }
      - { .offset: 32, .size: 4, .value_kind: hidden_block_count_x }
      - { .offset: 36, .size: 4, .value_kind: hidden_block_count_y }
      - { .offset: 40, .size: 4, .value_kind: hidden_block_count_z }
      - { .offset: 44, .size: 2, .value_kind: hidden_group_size_x }
      - { .offset: 46, .size: 2, .value_kind: hidden_group_size_y }
      - { .offset: 48, .size: 2, .value_kind: hidden_group_size_z }
    .group_segment_fixed_size: 0
    .kernarg_segment_align: 8
    .kernarg_segment_size: 288
    .max_flat_workgroup_size: 256
    .name:           vadd
    .private_segment_fixed_size: 0
    .sgpr_count:     18
    .sgpr_spill_count: 0
    .symbol:         vadd.kd
    .vgpr_count:     3
    .vgpr_spill_count: 0
    .wavefront_size: 32
amdhsa.target:   amdgcn-amd-amdhsa--gfx1100
amdhsa.version:
  - 1
  - 2
...
	.end_amdgpu_metadata
"""

REVERSE_LDS = """\
/* Reverses each block of 64 floats in place, through LDS. */
	.amdgcn_target "amdgcn-amd-amdhsa--gfx1100"
	.text
	.protected	reverse64
	.globl	reverse64
	.p2align	8
	.type	reverse64,@function
reverse64:
	s_load_b64 s[0:1], s[0:1], 0x0
	s_lshl_b32 s4, s2, 8                  // the block's byte offset
	v_lshlrev_b32_e32 v1, 2, v0
	v_sub_nc_u32_e32 v2, 63, v0
	v_lshlrev_b32_e32 v2, 2, v2
	s_waitcnt lgkmcnt(0)
	s_add_u32 s0, s0, s4
	s_addc_u32 s1, s1, 0
	global_load_b32 v3, v1, s[0:1]
	s_waitcnt vmcnt(0)
	ds_store_b32 v1, v3
	s_waitcnt lgkmcnt(0)
	s_barrier
	buffer_gl0_inv
	ds_load_b32 v3, v2
	s_waitcnt lgkmcnt(0)
	global_store_b32 v1, v3, s[0:1]
	s_endpgm
.Lend:
	.size	reverse64, .Lend-reverse64

	.section	.rodata,"a",@progbits
	.p2align	6, 0x0
	.amdhsa_kernel reverse64
		.amdhsa_group_segment_fixed_size 256
		.amdhsa_kernarg_size 8
		.amdhsa_user_sgpr_kernarg_segment_ptr 1
		.amdhsa_next_free_vgpr 4
		.amdhsa_next_free_sgpr 8
		.amdhsa_reserve_vcc 0
	.end_amdhsa_kernel

	.amdgpu_metadata
---
amdhsa.kernels:
  - .args:
      - .address_space:  global
        .name:           data
        .offset:         0
        .size:           8
        .value_kind:     global_buffer
    .group_segment_fixed_size: 256
    .kernarg_segment_align: 8
    .kernarg_segment_size: 8
    .max_flat_workgroup_size: 64
    .reqd_workgroup_size: [64, 1, 1]
    .name:           reverse64
    .private_segment_fixed_size: 0
    .sgpr_count:     8
    .sgpr_spill_count: 0
    .symbol:         reverse64.kd
    .vgpr_count:     4
    .vgpr_spill_count: 0
    .wavefront_size: 32
amdhsa.target:   amdgcn-amd-amdhsa--gfx1100
amdhsa.version:
  - 1
  - 2
...
	.end_amdgpu_metadata
"""

SYMBOLS = (Path(__file__).resolve().parents[1] / "data" / "asm_object_symbols.s").read_text()

# Register counts left to the assembler, as in LLVM's AMDGPUUsage example.
VADD_COUNTED = (VADD + VADD_METADATA).replace(".amdhsa_next_free_vgpr 3", ".amdhsa_next_free_vgpr .amdgcn.next_free_vgpr") \
    .replace(".amdhsa_next_free_sgpr 16", ".amdhsa_next_free_sgpr .amdgcn.next_free_sgpr")

HAND_WRITTEN = {"vadd": VADD + VADD_METADATA, "vadd_no_metadata": VADD, "reverse_lds": REVERSE_LDS,
                "symbols": SYMBOLS, "vadd_counted": VADD_COUNTED}
LINKED = WAVE32 + ["saxpy_debug", "vadd", "reverse_lds", "symbols", "vadd_counted"]  # compared section by section with ld.lld


@dataclass
class Pair:
    source: str
    ours: bytes
    ref: bytes  # llvm-mc-19 -filetype=obj, then ld.lld-19 -shared


def _run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def _reference(llvm, source: str, path: Path) -> bytes:
    path.with_suffix(".s").write_text(source)
    _run([llvm.mc, *MC, str(path.with_suffix(".s")), "-o", str(path.with_suffix(".o"))])
    _run([llvm.lld, "-shared", str(path.with_suffix(".o")), "-o", str(path.with_suffix(".so"))])
    return path.with_suffix(".so").read_bytes()


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("asm_object")


@pytest.fixture(scope="session")
def clang_sources(llvm, workdir) -> dict[str, str]:
    """clang-19 -S output of each OpenCL file (flags as in test_codeobj_opencl.py)."""
    out = {}
    for src in SOURCES:
        flags = []
        for line in src.read_text().splitlines():
            if line.startswith("// clang-flags:"):
                flags = line.split(":", 1)[1].split()
        asm = workdir / f"{src.stem}.clang.s"
        _run([llvm.clang, "-x", "cl", "-cl-std=CL2.0", "-nogpulib", "-target", "amdgcn-amd-amdhsa",
              "-mcpu=gfx1100", "-O2", *flags, str(src), "-S", "-o", str(asm)])
        out[src.stem] = asm.read_text()
        if src.stem == "saxpy":  # with DWARF: debug sections, .loc and .file directives
            debug = workdir / "saxpy_debug.clang.s"
            _run([llvm.clang, "-x", "cl", "-cl-std=CL2.0", "-nogpulib", "-target", "amdgcn-amd-amdhsa",
                  "-mcpu=gfx1100", "-O2", "-g", str(src), "-S", "-o", str(debug)])
            out["saxpy_debug"] = debug.read_text()
    return out


@pytest.fixture(scope="session")
def pairs(llvm, workdir, clang_sources) -> dict[str, Pair]:
    sources = {name: clang_sources[name] for name in WAVE32 + ["saxpy_debug"]} | HAND_WRITTEN
    return {name: Pair(text, isa.assemble_code_object(text), _reference(llvm, text, workdir / name))
            for name, text in sources.items()}


def _elf(data: bytes) -> ELFFile:
    return ELFFile(io.BytesIO(data))


def _alloc_sections(data: bytes) -> dict[str, tuple]:
    out = {}
    for s in _elf(data).iter_sections():
        if s["sh_flags"] & elf.SHF_ALLOC:
            body = b"" if s["sh_type"] == "SHT_NOBITS" else s.data()
            out[s.name] = (s["sh_type"], s["sh_flags"], s["sh_addr"], s["sh_offset"], s["sh_size"],
                           s["sh_addralign"], s["sh_entsize"], s["sh_info"], body)
    return out


def _program_headers(data: bytes) -> list[dict]:
    return [dict(seg.header) for seg in _elf(data).iter_segments()]


def _section(data: bytes, name: str) -> bytes:
    return _elf(data).get_section_by_name(name).data()


def test_every_wave32_opencl_file_is_covered():
    assert len(WAVE32) >= 12 and len(WAVE32) == len(SOURCES) - 1


@pytest.mark.parametrize("name", LINKED)
def test_same_loaded_image_as_llvm_mc_and_ld_lld(pairs, name):
    """Every allocated section (note, dynamic symbols, hashes, relocations, descriptors, code,
    data, GOT) and every program header is the one ld.lld writes."""
    p = pairs[name]
    ours, ref = _alloc_sections(p.ours), _alloc_sections(p.ref)
    assert list(ours) == list(ref)
    for section in ref:
        assert ours[section] == ref[section], section
    assert _program_headers(p.ours) == _program_headers(p.ref)
    assert _elf(p.ours).header["e_flags"] == _elf(p.ref).header["e_flags"]
    assert p.ours[:16] == p.ref[:16]


@pytest.mark.parametrize("name", LINKED)
def test_text_descriptors_and_metadata_match(pairs, name):
    p = pairs[name]
    ours, ref = CodeObject.parse(p.ours), CodeObject.parse(p.ref)
    assert ours.text == ref.text and ours.text_address == ref.text_address
    assert ours.metadata == ref.metadata
    assert list(ours.kernels) == list(ref.kernels)
    for kname, k in ref.kernels.items():
        mine = ours.kernels[kname]
        assert mine.descriptor.to_bytes() == k.descriptor.to_bytes()
        assert (mine.descriptor_address, mine.code_address) == (k.descriptor_address, k.code_address)
    assert [(r.offset, r.type, r.symbol and r.symbol.name, r.addend) for r in ours.relocations] == \
        [(r.offset, r.type, r.symbol and r.symbol.name, r.addend) for r in ref.relocations]


def test_relocated_data_and_code(pairs):
    """globals.cl: PC-relative literals to data, pointers in data (relative and symbolic
    relocations); printf.cl: a GOT slot for an undefined symbol."""
    g = CodeObject.parse(pairs["globals"].ours)
    kinds = sorted(elf.RELOCATION_NAMES[r.type] for r in g.relocations)
    assert kinds == ["R_AMDGPU_ABS64"] + ["R_AMDGPU_RELATIVE64"] * 3
    assert {s.name for s in g.dynamic_symbols} >= {"lookup", "lookup.kd", "exported_total"}
    p = CodeObject.parse(pairs["printf"].ours)
    (got,) = p.relocations
    assert got.symbol.name == "__printf_alloc" and not got.symbol.defined
    image = p.load_image(0x7F00_0000_0000, {"__printf_alloc": 0x1234_5678_9ABC})
    assert int.from_bytes(image[got.offset:got.offset + 8], "little") == 0x1234_5678_9ABC


@pytest.mark.parametrize("name", LINKED + ["vadd_no_metadata"])
def test_readelf_prints_the_same_notes(llvm, pairs, workdir, name):
    p = pairs[name]
    path = workdir / f"{name}.ours.so"
    path.write_bytes(p.ours)
    notes = _run([llvm.readelf, "--notes", str(path)])
    assert "AMDGPU Metadata" in notes and "warning" not in notes.lower()
    if name != "vadd_no_metadata":
        ref = workdir / f"{name}.so"
        want = _run([llvm.readelf, "--notes", str(ref)])
        assert notes.split("AMDGPU Metadata", 1)[1] == want.split("AMDGPU Metadata", 1)[1]


def _objdump_instructions(llvm, path: Path) -> list[str]:
    out = _run([llvm.objdump, "-d", "--no-show-raw-insn", str(path)])
    return [line.split("//")[0].strip() for line in out.splitlines() if line.startswith("\t")]


def _source_instructions(source: str) -> list[str]:
    """Instruction lines of the source (code sections only), comments removed."""
    out = []
    in_code = True
    for raw in re.sub(r"/\*.*?\*/", "", source, flags=re.S).splitlines():
        line = re.split(r";|//", raw, maxsplit=1)[0].strip()
        if line.startswith((".text", ".section", ".rodata", ".data", ".bss")):
            in_code = line.startswith(".text") or (line.startswith(".section") and '"ax"' in line)
            continue
        if in_code and line and not line.startswith(".") and not line.endswith(":") and "=" not in line:
            out.append(re.sub(r"\s+", " ", line))
    return out


def _symbol_names(source: str) -> set[str]:
    name = r"([A-Za-z_.$][\w.$]*)"
    return set(re.findall(r"^\s*" + name + ":", source, re.M) + re.findall(r"^\s*\.set\s+" + name, source, re.M)
               + re.findall(r"^\s*" + name + r"\s*=", source, re.M))


def _same_instruction(source: str, printed: str, names: set[str]) -> bool:
    operands = set(re.findall(r"[A-Za-z_.$][\w.$@]*", source.split(None, 1)[-1]))
    if re.match(r"s_(c?branch|cbranch_\w+)\b", source) or "@" in source or operands & names:
        # objdump prints the branch offset, the relocated literal or the symbol's value
        return printed.split()[0] == source.split()[0]
    # LLVM prints an SMEM immediate offset of 0 as a null soffset (and drops "offset:0x0")
    normal = re.sub(r"^(s_(?:buffer_)?load_\w+ .*), 0x0$", r"\1, null", source)
    normal = re.sub(r" offset:0x0$", "", normal)
    return printed == normal


@pytest.mark.parametrize("name", LINKED + ["vadd_no_metadata"])
def test_objdump_disassembles_the_source(llvm, pairs, workdir, name):
    """llvm-objdump-19 reads back every instruction of the source, in order; what lies between
    them is alignment padding (s_nop 0, s_code_end). Its listing is the reference's listing."""
    p = pairs[name]
    path = workdir / f"{name}.dis.so"
    path.write_bytes(p.ours)
    dis = [re.sub(r"\s+", " ", t) for t in _objdump_instructions(llvm, path)]
    src = _source_instructions(p.source)
    names = _symbol_names(p.source)
    k = 0
    for want in src:
        while k < len(dis) and not _same_instruction(want, dis[k], names):
            assert dis[k] in ("s_nop 0", "s_code_end"), (want, dis[k])
            k += 1
        assert k < len(dis), want
        k += 1
    assert set(dis[k:]) <= {"s_nop 0", "s_code_end"}
    if name in LINKED:
        ref = workdir / f"{name}.so"
        assert dis == [re.sub(r"\s+", " ", t) for t in _objdump_instructions(llvm, ref)]


def test_symbols_match_ld_lld(pairs):
    for name in LINKED:
        p = pairs[name]
        want = {s.name: (s.value, s.size, s.type, s.binding, s.visibility, s.defined)
                for s in CodeObject.parse(p.ref).dynamic_symbols}
        got = {s.name: (s.value, s.size, s.type, s.binding, s.visibility, s.defined)
               for s in CodeObject.parse(p.ours).dynamic_symbols}
        assert got == want, name
        ref_symtab = {s.name: s.entry["st_value"] for s in _elf(p.ref).get_section_by_name(".symtab").iter_symbols()}
        our_symtab = {s.name: s.entry["st_value"] for s in _elf(p.ours).get_section_by_name(".symtab").iter_symbols()}
        assert our_symtab == ref_symtab, name


def test_register_counts_from_the_instructions(pairs):
    counted = CodeObject.parse(pairs["vadd_counted"].ours).kernels["vadd"].descriptor
    stated = CodeObject.parse(pairs["vadd"].ours).kernels["vadd"].descriptor
    assert counted.granulated_workitem_vgpr_count == stated.granulated_workitem_vgpr_count == 0
    source = "\t.text\n\t.p2align 8\nk:\n\tv_mov_b32 v9, s3\n\tglobal_load_b64 v[12:13], v0, s[6:7]\n\ts_endpgm\n" \
        "\t.rodata\n\t.p2align 6\n\t.amdhsa_kernel k\n\t\t.amdhsa_next_free_vgpr .amdgcn.next_free_vgpr\n" \
        "\t\t.amdhsa_next_free_sgpr .amdgcn.next_free_sgpr\n\t.end_amdhsa_kernel\n"
    meta = CodeObject.parse(isa.assemble_code_object(source)).metadata["amdhsa.kernels"][0]
    assert (meta[".vgpr_count"], meta[".sgpr_count"]) == (14, 8 + 2)


def test_source_without_metadata_gets_metadata_from_its_descriptor(pairs):
    p = pairs["vadd_no_metadata"]
    co = CodeObject.parse(p.ours)
    ref = CodeObject.parse(p.ref) if b"AMDGPU" in p.ref[:4096] else None
    assert ref is None or not ref.metadata  # llvm-mc writes no note without the block
    (entry,) = co.metadata["amdhsa.kernels"]
    assert entry[".name"] == "vadd" and entry[".symbol"] == "vadd.kd"
    assert entry[".kernarg_segment_size"] == 288 and entry[".vgpr_count"] == 3 and entry[".sgpr_count"] == 18
    assert entry[".language"] == "Assembler" and entry[".wavefront_size"] == 32
    assert co.metadata["amdhsa.target"] == "amdgcn-amd-amdhsa--gfx1100"
    # the code and the descriptor (but for its code offset, which follows the note) are LLVM's
    ref_text = _section(p.ref, ".text")
    assert co.text == ref_text
    kd_ref = bytearray(_section(p.ref, ".rodata")[:64])
    kd_ours = bytearray(co.kernels["vadd"].descriptor.to_bytes())
    assert kd_ours[:16] + kd_ours[24:] == kd_ref[:16] + kd_ref[24:]
    kernel = co.kernels["vadd"]
    assert kernel.descriptor_address + kernel.descriptor.kernel_code_entry_byte_offset == kernel.code_address


def test_wave64_file_is_refused_with_its_line(clang_sources):
    """The instruction assembler is wave32 (as llvm-mc without +wavefrontsize64): the first
    wave64-only operand is reported where it is."""
    name = next(p.stem for p in SOURCES if p.stem not in WAVE32)
    source = clang_sources[name]
    with pytest.raises(AsmError) as err:
        isa.assemble_code_object(source)
    line = source.splitlines()[err.value.line - 1]
    assert "vcc" in line and err.value.column >= 1


@pytest.fixture(scope="module")
def runtime():
    import amdrt
    from kfd.sim import SimDriver

    rt = amdrt.Runtime(SimDriver(1), timeout=60)
    yield rt
    rt.close()


def test_hand_written_kernels_run(runtime, pairs):
    dev = runtime.devices[0]
    n = 1000
    a = np.arange(n, dtype=np.float32)
    b = np.full(n, 0.5, dtype=np.float32)
    bufs = [dev.alloc(4 * n) for _ in range(3)]
    bufs[0].copyin(a)
    bufs[1].copyin(b)
    dev.load(pairs["vadd"].ours)["vadd"](*bufs, np.uint32(n), global_size=(1024, 1, 1), local_size=(128, 1, 1))
    assert np.array_equal(bufs[2].numpy(np.float32), a + b)

    data = np.random.default_rng(1).standard_normal(64 * 5).astype(np.float32)
    buf = dev.alloc(data.nbytes)
    buf.copyin(data)
    dev.load(pairs["reverse_lds"].ours)["reverse64"](buf, global_size=(64 * 5, 1, 1), local_size=(64, 1, 1))
    assert np.array_equal(buf.numpy(np.float32), data.reshape(5, 64)[:, ::-1].ravel())


# -- descriptor bits, directive by directive ------------------------------------------------------

_DIRECTIVES = {
    "group_segment_fixed_size": st.integers(0, 65536),
    "private_segment_fixed_size": st.integers(0, 4096),
    "kernarg_size": st.integers(0, 1024),
    "user_sgpr_dispatch_ptr": st.integers(0, 1),
    "user_sgpr_queue_ptr": st.integers(0, 1),
    "user_sgpr_dispatch_id": st.integers(0, 1),
    "enable_private_segment": st.integers(0, 1),
    "system_sgpr_workgroup_id_y": st.integers(0, 1),
    "system_sgpr_workgroup_id_z": st.integers(0, 1),
    "system_sgpr_workgroup_info": st.integers(0, 1),
    "system_vgpr_workitem_id": st.integers(0, 2),
    "next_free_vgpr": st.integers(0, 256),
    "next_free_sgpr": st.integers(0, 100),
    "reserve_vcc": st.integers(0, 1),
    "float_round_mode_32": st.integers(0, 3),
    "float_denorm_mode_16_64": st.integers(0, 3),
    "dx10_clamp": st.integers(0, 1),
    "ieee_mode": st.integers(0, 1),
    "fp16_overflow": st.integers(0, 1),
    "workgroup_processor_mode": st.integers(0, 1),
    "memory_ordered": st.integers(0, 1),
    "forward_progress": st.integers(0, 1),
    "exception_fp_ieee_div_zero": st.integers(0, 1),
    "exception_int_div_zero": st.integers(0, 1),
}


def _directive_source(values: dict[str, int]) -> str:
    lines = "\n".join(f"\t\t.amdhsa_{k} {v}" for k, v in values.items())
    return f"""\t.text
\t.globl k
\t.p2align 8
k:
\ts_endpgm
\t.rodata
\t.p2align 6
\t.amdhsa_kernel k
{lines}
\t.end_amdhsa_kernel
\t.amdgpu_metadata
---
amdhsa.kernels:
  - {{ .name: k, .symbol: k.kd, .kernarg_segment_size: 0, .kernarg_segment_align: 8,
      .group_segment_fixed_size: 0, .private_segment_fixed_size: 0, .wavefront_size: 32,
      .sgpr_count: 0, .vgpr_count: 0, .max_flat_workgroup_size: 64 }}
amdhsa.target: amdgcn-amd-amdhsa--gfx1100
amdhsa.version: [1, 2]
...
\t.end_amdgpu_metadata
"""


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.fixed_dictionaries({}, optional=_DIRECTIVES).filter(
    lambda d: "next_free_vgpr" in d and "next_free_sgpr" in d))
def test_descriptor_bits_agree_with_llvm(llvm, tmp_path, values):
    source = _directive_source(values)
    ref = _reference(llvm, source, tmp_path / "kd")
    ours = isa.assemble_code_object(source)
    assert _section(ours, ".rodata") == _section(ref, ".rodata")
    assert _alloc_sections(ours) == _alloc_sections(ref)


# -- errors ---------------------------------------------------------------------------------------

BAD_SOURCES = [
    # (source, error class, line, column); the line is llvm-mc's where it reports one
    ("\t.text\nk:\n\ts_endpgm\n\tv_bogus v0, v1\n", AsmError, 4, 2),
    ("\t.text\n\t.bogus 1\n", AsmError, 2, 2),
    ("\t.text\nk:\n\ts_branch .Lnowhere\n", AsmError, 3, 2),
    ("\t.text\nk:\nk:\n", AsmError, 3, 1),
    ("\t.text\nk:\n\ts_endpgm\n\t.rodata\n\t.amdhsa_kernel k\n\t.amdhsa_next_free_vgpr 1\n", DirectiveError, 5, 1),
    ("\t.text\nk:\n\ts_endpgm\n\t.rodata\n\t.amdhsa_kernel k\n\t.amdhsa_next_free_vgpr 1\n"
     "\t.amdhsa_next_free_sgpr 1\n\t.amdhsa_bogus 1\n\t.end_amdhsa_kernel\n", DirectiveError, 8, 2),
    ("\t.amdgcn_target \"amdgcn-amd-amdhsa--gfx1030\"\n", DirectiveError, 1, 17),
    ("\t.amdhsa_code_object_version 3\n", DirectiveError, 1, 2),
    ("\t.text\nk:\n\ts_add_u32 s0, s0, x@rel32@bogus\n", AsmError, 3, 2),
    ("\t.text\nk:\n\ts_mov_b32 s0, k@abs32@lo\n", AsmError, 3, 2),
    ("\t.data\nd:\n\t.long d\n", AsmError, 3, 8),
    ("\t.text\n\t.p2align 3, , \n", AsmError, 2, 16),
    ("\t.text\n\ts_endpgm\n\t.end_amdhsa_kernel\n", DirectiveError, 3, 2),
    ("\t.text\n\t.fill -1, 4, 0\n", AsmError, 2, 8),
]


@pytest.mark.parametrize("source,kind,line,column", BAD_SOURCES)
def test_errors_name_line_and_column(source, kind, line, column):
    with pytest.raises(kind) as err:
        isa.assemble_code_object(source)
    assert (err.value.line, err.value.column) == (line, column), str(err.value)


def test_missing_kernel_code_and_metadata_mismatch():
    no_code = ("\t.rodata\n\t.p2align 6\n\t.amdhsa_kernel k\n\t.amdhsa_next_free_vgpr 1\n"
               "\t.amdhsa_next_free_sgpr 1\n\t.end_amdhsa_kernel\n")
    with pytest.raises(DirectiveError, match="code label is not defined") as err:
        isa.assemble_code_object(no_code)
    assert err.value.line == 3
    other = REVERSE_LDS.replace(".name:           reverse64", ".name:           other")
    with pytest.raises(DirectiveError, match="no .amdhsa_kernel block") as err:
        isa.assemble_code_object(other)
    assert REVERSE_LDS.splitlines()[err.value.line - 1].strip() == ".amdgpu_metadata"
    unaligned = "\t.text\n\ts_nop 0\nk:\n\ts_endpgm\n" + no_code.replace("\t.p2align 6\n", "")
    with pytest.raises(DirectiveError, match="not 256-byte aligned") as err:
        isa.assemble_code_object(unaligned)
    assert err.value.line == 6
    with pytest.raises(DirectiveError, match="needs at least one kernel"):
        isa.assemble_code_object("\t.text\n\ts_endpgm\n")
    # an argument past the kernarg segment: a loader would refuse the file, so it is not written
    outside = REVERSE_LDS.replace(".kernarg_segment_size: 8", ".kernarg_segment_size: 4")
    with pytest.raises(DirectiveError, match="at offset 0 size 8 lies outside the 4-byte kernarg segment") as err:
        isa.assemble_code_object(outside)
    assert REVERSE_LDS.splitlines()[err.value.line - 1].strip() == ".amdgpu_metadata"


def test_error_lines_agree_with_llvm_mc(llvm, tmp_path):
    for i, (source, _, line, _) in enumerate(BAD_SOURCES[:4] + BAD_SOURCES[8:10]):
        path = tmp_path / f"bad{i}.s"
        path.write_text(source)
        proc = subprocess.run([llvm.mc, *MC, str(path), "-o", str(tmp_path / "bad.o")], capture_output=True,
                              text=True)
        m = re.search(r":(\d+):(\d+): error", proc.stderr)
        if m is None:  # llvm-mc defers some errors to the linker
            lld = subprocess.run([llvm.lld, "-shared", str(tmp_path / "bad.o"), "-o", str(tmp_path / "bad.so")],
                                 capture_output=True, text=True)
            assert lld.returncode != 0, source
            continue
        assert int(m.group(1)) == line, (source, proc.stderr)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_damaged_sources_raise_only_typed_errors(clang_sources, data):
    sources = {"saxpy": clang_sources["saxpy"], "globals": clang_sources["globals"], "symbols": SYMBOLS,
               "reverse_lds": REVERSE_LDS}
    lines = sources[data.draw(st.sampled_from(sorted(sources)))].splitlines()
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(lines) - 1))
        junk = data.draw(st.text(alphabet=st.sampled_from(list("\t .,:;@\"'-+*/()[]0123456789abcsvx_")),
                                 max_size=30))
        how = data.draw(st.sampled_from(["replace", "insert", "append"]))
        if how == "replace":
            lines[i] = junk
        elif how == "insert":
            lines.insert(i, junk)
        else:
            lines[i] += junk
    try:
        co = isa.assemble_code_object("\n".join(lines))
    except (AsmError, DirectiveError) as e:
        assert e.line >= 1 or isinstance(e, DirectiveError)
    else:
        CodeObject.parse(co)


def test_metadata_yaml_is_what_readelf_reads(pairs, llvm, workdir):
    """The note decodes (by llvm-readelf) to the YAML block of the source."""
    p = pairs["reverse_lds"]
    path = workdir / "meta.so"
    path.write_bytes(p.ours)
    out = json.loads(_run([llvm.readelf, "--elf-output-style=JSON", "--notes", str(path)]))[0]
    (note,) = [n for sec in out["NoteSections"] for n in sec["NoteSection"]["Notes"]]
    printed = yaml.safe_load(note["AMDGPU Metadata"].replace("!str ", ""))
    source = p.source.split(".amdgpu_metadata", 1)[1]
    source = source[:source.index("\n...")]
    assert printed == yaml.safe_load(source)
    assert printed["amdhsa.kernels"][0][".reqd_workgroup_size"] == [64, 1, 1]
