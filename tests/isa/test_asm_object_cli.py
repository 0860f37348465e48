"""`amdrt asm -o OUT.co` (whole files into code objects) and `amdrt disasm` on code objects
(descriptors and metadata after the code), checked against llvm-objdump-19 and llvm-readelf-19."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import isa
from isa.codeobj import CodeObject

pytestmark = pytest.mark.llvm

ROOT = Path(__file__).resolve().parents[2]
SYMBOLS = ROOT / "tests" / "data" / "asm_object_symbols.s"


def _amdrt(*argv, stdin=None) -> subprocess.CompletedProcess:
    # a fresh interpreter, as a user runs the command
    return subprocess.run([sys.executable, "-m", "amdrt", *map(str, argv)], cwd=ROOT, capture_output=True,
                          text=True, input=stdin)


@pytest.fixture(scope="module")
def code_object(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("asm_cli") / "symbols.co"
    proc = _amdrt("asm", SYMBOLS, "-o", out)
    assert proc.returncode == 0, proc.stderr
    return out


def test_asm_writes_the_code_object(code_object):
    assert code_object.read_bytes() == isa.assemble_code_object(SYMBOLS.read_text())
    assert list(CodeObject.parse(code_object.read_bytes()).kernels) == ["reader"]


def test_asm_reads_standard_input_and_forces_a_code_object(tmp_path):
    out = tmp_path / "stdin.co"
    proc = _amdrt("asm", "-", "-o", out, "--code-object", stdin=SYMBOLS.read_text())
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == isa.assemble_code_object(SYMBOLS.read_text())
    proc = _amdrt("asm", "-", "-o", out, "--code-object", stdin="\ts_endpgm\n")
    assert proc.returncode == 1 and "at least one kernel" in proc.stderr


def test_asm_code_object_errors(tmp_path):
    bad = tmp_path / "bad.s"
    bad.write_text("\t.text\nk:\n\ts_endpgm\n\t.rodata\n\t.amdhsa_kernel k\n\t\t.amdhsa_bogus 1\n\t.end_amdhsa_kernel\n")
    proc = _amdrt("asm", bad, "-o", tmp_path / "bad.co")
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [f"{bad}:6:3: error: unknown .amdhsa_kernel directive .amdhsa_bogus",
                                        "\t\t.amdhsa_bogus 1", "\t\t^"]
    assert not (tmp_path / "bad.co").exists()
    proc = _amdrt("asm", SYMBOLS)
    assert proc.returncode == 1 and "-o" in proc.stderr


def _descriptor_lines(text: str) -> dict[str, dict[str, int]]:
    blocks = {}
    for name, body in re.findall(r"^\.amdhsa_kernel (\S+)\n(.*?)^\.end_amdhsa_kernel", text, re.M | re.S):
        blocks[name] = {m[0]: int(m[1]) for m in re.findall(r"^\s*\.amdhsa_(\w+) (\d+)", body, re.M)}
    return blocks


def test_disasm_prints_descriptors_as_llvm_objdump(llvm, code_object):
    ours = _amdrt("disasm", code_object)
    assert ours.returncode == 0, ours.stderr
    ref = subprocess.run([llvm.objdump, "-d", "--section=.rodata", str(code_object)], capture_output=True,
                         text=True, check=True).stdout
    mine, theirs = _descriptor_lines(ours.stdout), _descriptor_lines(ref)
    assert list(mine) == list(theirs) == ["reader"]
    shared = set(mine["reader"]) & set(theirs["reader"])
    assert len(shared) >= 30
    assert {k: mine["reader"][k] for k in shared} == {k: theirs["reader"][k] for k in shared}
    # the code is there too, as llvm-objdump -d lists it
    code = subprocess.run([llvm.objdump, "-d", "--section=.text", str(code_object)], capture_output=True,
                          text=True, check=True).stdout
    want = [line.split("//")[0].strip() for line in code.splitlines() if line.startswith("\t")]
    got = [line.split("//")[0].strip() for line in ours.stdout.split("Kernel descriptors:")[0].splitlines()
           if line.startswith("\t")]
    assert got == want


def test_disasm_prints_the_metadata_llvm_readelf_reads(llvm, code_object):
    ours = _amdrt("disasm", code_object).stdout
    block = ours.split("AMDGPU Metadata:", 1)[1]
    printed = yaml.safe_load("\n".join(line[8:] for line in block.splitlines() if line.strip()))
    out = json.loads(subprocess.run([llvm.readelf, "--elf-output-style=JSON", "--notes", str(code_object)],
                                    capture_output=True, text=True, check=True).stdout)[0]
    (note,) = [n for sec in out["NoteSections"] for n in sec["NoteSection"]["Notes"]]
    assert printed == yaml.safe_load(note["AMDGPU Metadata"].replace("!str ", ""))


def test_disasm_of_a_relocatable_object_has_no_descriptor_section(llvm, tmp_path):
    obj = tmp_path / "k.o"
    subprocess.run([llvm.mc, "-triple=amdgcn-amd-amdhsa", "-mcpu=gfx1100", "-filetype=obj", str(SYMBOLS),
                    "-o", str(obj)], check=True)
    proc = _amdrt("disasm", obj)
    assert proc.returncode == 0 and "s_getpc_b64" in proc.stdout
    assert "Kernel descriptors" not in proc.stdout and "AMDGPU Metadata" not in proc.stdout
