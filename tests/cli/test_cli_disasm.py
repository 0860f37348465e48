"""`amdrt disasm`: raw machine code and ELF code objects, printed like llvm-objdump -d."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CODE = bytes.fromhex("ff0080be78563412" "02070206" "ffffffff" "0000b0bf")


def _run(capsys, *argv) -> tuple[int, str, str]:
    # `python -m amdrt` in a fresh interpreter: the command as a user runs it (under pytest the
    # top-level package can resolve to a namespace package that merges tests/amdrt with amdrt).
    proc = subprocess.run([sys.executable, "-m", "amdrt", "disasm", *map(str, argv)], cwd=ROOT,
                          capture_output=True, text=True)
    return proc.returncode, proc.stdout, proc.stderr


def test_raw_file(tmp_path, capsys):
    path = tmp_path / "code.bin"
    path.write_bytes(CODE)
    rc, out, _ = _run(capsys, path)
    assert rc == 0
    assert out.splitlines() == [
        "\t" + "s_mov_b32 s0, 0x12345678".ljust(59) + "// 000000000000: BE8000FF 12345678",
        "\t" + "v_add_f32_e32 v1, v2, v3".ljust(59) + "// 000000000008: 06020702",
        "\t" + ".long 0xffffffff".ljust(59) + "// 00000000000C: FFFFFFFF",
        "\t" + "s_endpgm".ljust(59) + "// 000000000010: BFB00000",
    ]


def test_offset_length_and_address(tmp_path, capsys):
    path = tmp_path / "code.bin"
    path.write_bytes(b"\0" * 6 + CODE)
    rc, out, _ = _run(capsys, path, "--offset", "14", "--length", "4", "--address", "0x2000")
    assert rc == 0
    assert out.splitlines() == ["\t" + "v_add_f32_e32 v1, v2, v3".ljust(59) + "// 000000002000: 06020702"]


def test_errors(tmp_path, capsys):
    rc, _, err = _run(capsys, tmp_path / "missing.bin")
    assert rc == 1 and "missing.bin" in err
    path = tmp_path / "code.bin"
    path.write_bytes(CODE)
    rc, _, err = _run(capsys, path, "--offset", "100")
    assert rc == 1 and "--offset" in err
    bad = tmp_path / "bad.o"
    bad.write_bytes(b"\x7fELF" + b"\0" * 12)
    rc, _, err = _run(capsys, bad)
    assert rc == 1 and "ELF" in err


SOURCE = """
.text
.globl first
.type first,@function
first:
  v_add_f32 v1, v2, v3
  s_mov_b32 s0, 0x12345678
  v_pk_fma_f16 v64, s102, v1, v141 op_sel:[0,1,1] neg_lo:[0,1,1] neg_hi:[0,0,1]
  s_endpgm
.globl second
.type second,@function
second:
  global_load_b32 v1, v2, s[4:5] offset:16
  s_waitcnt vmcnt(0) lgkmcnt(0)
  v_dual_mul_f32 v2, s97, v251 :: v_dual_lshlrev_b32 v253, v8, v6
  s_endpgm
  .long 0xffffffff
"""


@pytest.mark.llvm
def test_elf_matches_llvm_objdump(llvm, tmp_path, capsys):
    src = tmp_path / "k.s"
    src.write_text(SOURCE)
    obj = tmp_path / "k.o"
    subprocess.run([llvm.mc, "-triple=amdgcn-amd-amdhsa", "-mcpu=gfx1100", "-filetype=obj", "-o", str(obj), str(src)],
                   check=True)
    expected = subprocess.run([llvm.objdump, "-d", str(obj)], check=True, capture_output=True, text=True).stdout
    rc, out, _ = _run(capsys, obj)
    assert rc == 0
    assert out == expected
