"""`amdrt info` and `amdrt run` on simulated GPUs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import amdrt
from amdrt.cli.main import main
from amdrt.cli.run import ArgError, parse_arg

SAXPY = """
__kernel void saxpy(__global float *y, __global const float *x, float a, uint n, __global int *flags) {
  uint i = GID(x);
  if (i < n) y[i] = a * x[i] + y[i];
  if (i == 0) flags[0] = 42;
}
"""


@pytest.fixture
def sim(monkeypatch):
    def use(gpus: int):
        monkeypatch.setenv("AMDRT_SIM", str(gpus))
        amdrt.reset_default()
    yield use
    amdrt.reset_default()


def test_info_lists_every_agent(sim, capsys):
    sim(2)
    assert main(["info"]) == 0
    text = capsys.readouterr().out
    assert text.count("Agent ") == 3
    assert text.count("ISA:                     amdgcn-amd-amdhsa--gfx1100") == 2
    for line in ("Compute Units:           96", "Wavefront Size:          32", "SDMA Engines:            2 x 6",
                 "Workgroup Max Size:      1024", "L2 data", "VRAM (CPU visible)", "PCIe (p2p_link)", "simulated"):
        assert line in text


def test_info_json(sim, capsys):
    sim(4)
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    gpus = [a for a in info["agents"] if a["device_type"] == "GPU"]
    cpus = [a for a in info["agents"] if a["device_type"] == "CPU"]
    assert len(gpus) == 4 and len(cpus) == 1
    gpu = gpus[0]
    assert gpu["isa"] == "amdgcn-amd-amdhsa--gfx1100" and gpu["compute_units"] == 96
    assert gpu["wavefront_size"] == 32 and gpu["max_waves_per_cu"] == 32 and gpu["lds_bytes"] == 65536
    assert gpu["sdma_engines"] == 2 and gpu["shader_engines"] == 6
    assert {p["segment"] for p in gpu["memory_pools"]} == {"global", "group"}
    assert sum(1 for link in gpu["links"] if link["kind"] == "p2p_link") == 3
    assert gpu["queue_buffers"]["ctl_stack_size"] == 0xA000
    assert info["driver"]["kind"] == "simulated"


@pytest.mark.skipif(os.path.exists("/dev/kfd"), reason="this machine has a KFD: no fallback to simulation")
def test_fallback_to_simulation_is_announced_once():
    env = {k: v for k, v in os.environ.items() if k != "AMDRT_SIM"}
    code = "import amdrt; amdrt.devices(); amdrt.reset_default(); print(len(amdrt.devices()))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"
    assert result.stderr.count("running on 1 simulated gfx1100 GPU") == 1
    assert "/dev/kfd" in result.stderr


@pytest.mark.parametrize("text, message", [
    ("buf:f33:10", "unknown type"), ("buf:f32", "expected buf:TYPE:COUNT"), ("buf:f32:0", "at least one"),
    ("buf:f32:4:sparkly", "INIT"), ("out:f32:4:rand", "start zeroed"), ("i8:300", "does not fit"),
    ("f32:abc", "not a float32"), ("local:-1", "negative"), ("thing", "expected buf:"), ("u32:1:2", "TYPE:VALUE"),
])
def test_bad_argument_specs(text, message):
    with pytest.raises(ArgError, match=message):
        parse_arg(text)


def test_argument_specs():
    spec = parse_arg("inout:i16:8:fill=-3")
    assert spec.kind == "buffer" and spec.dtype == np.int16 and spec.count == 8 and spec.output
    assert parse_arg("u32:0x10").value == np.uint32(16)
    assert parse_arg("f16:0.5").value.dtype == np.float16
    assert parse_arg("local:256").count == 256
    assert parse_arg("null").kind == "null"
    assert not parse_arg("buf:f32:4").output


@pytest.mark.llvm
def test_run_assembly_kernel(sim, capsys, tmp_path, asm_kernels):
    sim(1)
    source = tmp_path / "kernels.s"
    source.write_text(asm_kernels)
    assert main(["run", str(source), "--kernel", "fill_ids", "--global", "128", "--arg", "out:u32:128",
                 "--arg", "u32:3", "--save", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "fill_ids: 128 work-items in workgroups of 64" in out
    assert "out = [ 0,  3,  6," in out.replace("[0, ", "[ 0, ")
    assert np.array_equal(np.load(tmp_path / "out" / "out.npy"), np.arange(128, dtype=np.uint32) * 3)


@pytest.mark.llvm
def test_run_opencl_code_object_on_generated_inputs(sim, capsys, tmp_path, toolchain):
    sim(2)
    co = tmp_path / "saxpy.co"
    co.write_bytes(toolchain.opencl(SAXPY))
    x = np.linspace(0, 1, 300, dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    args = ["run", str(co), "-g", "300", "-l", "64", "--device", "1", "--save", str(tmp_path / "res"),
            "-a", "inout:f32:300:arange", "-a", f"buf:f32:300:file={tmp_path / 'x.npy'}", "-a", "f32:2.5",
            "-a", "u32:300", "-a", "out:i32:4", "--print", "4"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "on GPU 1" in printed and "... (300 elements)" in printed
    y = np.load(tmp_path / "res" / "y.npy")
    # The GPU fuses the multiply-add: one rounding of the exact a*x + y.
    exact = 2.5 * x.astype(np.float64) + np.arange(300, dtype=np.float64)
    np.testing.assert_array_equal(y, exact.astype(np.float32))
    assert np.load(tmp_path / "res" / "flags.npy").tolist() == [42, 0, 0, 0]


@pytest.mark.llvm
def test_run_reports_errors(sim, capsys, tmp_path, toolchain):
    sim(1)
    co = tmp_path / "saxpy.co"
    co.write_bytes(toolchain.opencl(SAXPY))
    assert main(["run", str(co), "-g", "64", "-a", "f32:1"]) == 1
    assert "takes 5 arguments" in capsys.readouterr().err
    assert main(["run", str(co), "-g", "64", "-k", "nope"]) == 1
    assert "no kernel 'nope'" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "missing.co"), "-g", "64"]) == 1
    assert "cannot read" in capsys.readouterr().err
    bad = tmp_path / "bad.co"
    bad.write_bytes(b"\x7fELF garbage")
    assert main(["run", str(bad), "-g", "64"]) == 1
    assert capsys.readouterr().err.startswith("amdrt run: ")


def test_python_dash_m_amdrt_runs_info():
    env = dict(os.environ, AMDRT_SIM="1")
    result = subprocess.run([sys.executable, "-m", "amdrt", "info", "--json"], capture_output=True, text=True,
                            env=env, timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["agents"][1]["name"] == "gfx1100"


RACY_KERNEL = """
.text
.globl racy
.p2align 8
racy:
  v_lshlrev_b32 v1, 2, v0
  ds_store_b32 v1, v0
  v_xor_b32 v2, 0x80, v1        // lane i of wave 0 reads what lane i of wave 1 wrote
  ds_load_b32 v3, v2
  s_waitcnt lgkmcnt(0)
  s_endpgm
.rodata
.p2align 6
.amdhsa_kernel racy
  .amdhsa_next_free_vgpr 4
  .amdhsa_next_free_sgpr 1
  .amdhsa_group_segment_fixed_size 256
.end_amdhsa_kernel
"""


def test_hazards_of_simulated_kernels_are_reported_under_amdrt_check(sim, capsys, tmp_path, monkeypatch):
    sim(1)
    source = tmp_path / "racy.s"
    source.write_text(RACY_KERNEL)
    assert main(["run", str(source), "--global", "64", "--local", "64"]) == 0
    assert "amdrt check" not in capsys.readouterr().err
    monkeypatch.setenv("AMDRT_CHECK", "1")
    assert main(["run", str(source), "--global", "64", "--local", "64"]) == 0
    (line,) = [x for x in capsys.readouterr().err.splitlines() if x.startswith("amdrt check")]
    assert "lds-race" in line and "ds_load_b32 v3, v2" in line and "no s_barrier" in line
