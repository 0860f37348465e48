"""`amdrt asm`: raw output, the encoding listing, errors with a caret and exit status 1."""

from amdrt.cli.main import main
from isa import assemble

SOURCE = "start:\n  v_add_f32 v1, v2, v3 ; add\n  s_cbranch_scc0 start\n  s_endpgm\n"


def test_writes_raw_machine_code(tmp_path):
    src = tmp_path / "k.s"
    src.write_text(SOURCE)
    out = tmp_path / "k.bin"
    assert main(["asm", str(src), "-o", str(out)]) == 0
    assert out.read_bytes() == assemble(SOURCE)


def test_listing_like_llvm_mc(tmp_path, capsys):
    src = tmp_path / "k.s"
    src.write_text(SOURCE)
    assert main(["asm", str(src)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "start:"
    assert lines[1] == "\tv_add_f32 v1, v2, v3" + " " * 20 + "; encoding: [0x02,0x07,0x02,0x06]"
    assert lines[2].startswith("\ts_cbranch_scc0 start") and lines[2].endswith("[0xfe,0xff,0xa1,0xbf]")
    assert lines[3].endswith("; encoding: [0x00,0x00,0xb0,0xbf]")


def test_hex_output(tmp_path, capsys):
    src = tmp_path / "k.s"
    src.write_text("s_endpgm\n")
    assert main(["asm", str(src), "--hex"]) == 0
    assert capsys.readouterr().out.strip() == "0000b0bf"


def test_error_with_position_and_caret(tmp_path, capsys):
    src = tmp_path / "bad.s"
    src.write_text("s_nop 0\n\tv_add_f32 v1, v2, s3, s4\n")
    assert main(["asm", str(src), "-o", str(tmp_path / "x.bin")]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"{src}:2:24: error: invalid operand for instruction"
    assert err[1] == "\tv_add_f32 v1, v2, s3, s4"
    assert err[2] == "\t" + " " * 22 + "^"
    assert not (tmp_path / "x.bin").exists()


def test_missing_file(tmp_path, capsys):
    assert main(["asm", str(tmp_path / "none.s")]) == 1
    assert "none.s" in capsys.readouterr().err
