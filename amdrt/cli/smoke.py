"""`amdrt smoke`: a multi-GPU smoke test of the whole stack.

On every GPU: memory round trips (VRAM and host memory), SDMA fill and copy, a kernel from an
assembly file (our assembler and code-object writer), kernels built by clang from OpenCL C when
clang-19 is installed, a deliberately faulting kernel and a never-ending one (each must be
reported, and the GPU must work afterwards); between every pair of GPUs, a peer-to-peer copy.
Every result is checked against numpy. The exit status is 1 when any check fails.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import numpy as np

MiB = 1 << 20


@dataclass
class Check:
    name: str
    status: str          # 'ok', 'FAIL' or 'skip'
    detail: str
    seconds: float


class Smoke:
    def __init__(self, out, verbose: bool):
        self.out = out
        self.verbose = verbose
        self.checks: list[Check] = []

    def run(self, name: str, fn, *args) -> None:
        """Runs one check; fn returns a detail string, or raises (a failure) or Skip."""
        start = time.perf_counter()
        try:
            detail, status = fn(*args), "ok"
        except Skip as skip:
            detail, status = str(skip), "skip"
        except Exception as exc:  # a failing check is reported, and the next one runs
            detail, status = f"{type(exc).__name__}: {exc}", "FAIL"
        seconds = time.perf_counter() - start
        self.checks.append(Check(name, status, detail, seconds))
        print(f"  {status:>4}  {name:<44} {detail}  ({seconds:.2f} s)", file=self.out, flush=True)

    @property
    def failed(self) -> int:
        return sum(c.status == "FAIL" for c in self.checks)


class Skip(Exception):
    """A check that cannot run here (e.g. no clang-19), with the reason."""


def _rate(nbytes: int, seconds: float) -> str:
    return f"{nbytes / max(seconds, 1e-9) / MiB:,.0f} MiB/s"


def check_memory(dev, nbytes: int, host: bool) -> str:
    rng = np.random.default_rng(1)
    data = rng.integers(0, 256, nbytes, dtype=np.uint8)
    buf = dev.alloc(nbytes, host=host)
    try:
        start = time.perf_counter()
        buf.copyin(data)
        back = buf.copyout()
        seconds = time.perf_counter() - start
        if not np.array_equal(back, data):
            raise AssertionError(f"{int(np.count_nonzero(back != data))} bytes differ after the round trip")
    finally:
        buf.free()
    return f"{nbytes // MiB} MiB written and read back, {_rate(2 * nbytes, seconds)}"


def timed_copy(dev, dst, src, data: np.ndarray, what: str) -> float:
    """Put `data` in src, copy it to dst with dev's SDMA engine and check it; the seconds the
    copy took."""
    src.copyin(data)
    start = time.perf_counter()
    dev.copy(dst, src, data.nbytes)
    seconds = time.perf_counter() - start
    if not np.array_equal(dst.numpy(data.dtype), data):
        raise AssertionError(f"{what} differs from its source")
    return seconds


def check_sdma(dev, nbytes: int) -> str:
    src, dst = dev.alloc(nbytes), dev.alloc(nbytes)
    try:
        dev.fill(src, 0x5A)
        if not np.all(src.numpy(np.uint8) == 0x5A):
            raise AssertionError("SDMA constant fill left wrong words")
        seconds = timed_copy(dev, dst, src, np.arange(nbytes // 4, dtype=np.uint32), "SDMA copy")
    finally:
        src.free()
        dst.free()
    return f"fill + copy of {nbytes // MiB} MiB, copy {_rate(nbytes, seconds)}"


def run_vadd(dev, prog, n: int) -> float:
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal(n, dtype=np.float32), rng.standard_normal(n, dtype=np.float32)
    bufs = [dev.alloc(4 * n) for _ in range(3)]
    try:
        bufs[0].copyin(a)
        bufs[1].copyin(b)
        start = time.perf_counter()
        prog["vadd"](bufs[0], bufs[1], bufs[2], np.uint32(n), global_size=(n, 1, 1), local_size=(256, 1, 1))
        seconds = time.perf_counter() - start
        got = bufs[2].numpy(np.float32, n)
        if not np.array_equal(got, a + b):
            raise AssertionError(f"{int(np.count_nonzero(got != a + b))} of {n} sums differ from numpy")
    finally:
        for buf in bufs:
            buf.free()
    return seconds


def check_asm_kernel(dev, prog, n: int) -> str:
    seconds = run_vadd(dev, prog, n)
    return f"vadd of {n:,} floats matches numpy in {seconds:.3f} s"


def check_fault(dev, prog, vadd_n: int) -> str:
    import amdrt
    buf = dev.alloc(4096)
    try:
        prog["fault"](buf, global_size=(32, 1, 1), local_size=(32, 1, 1), timeout=30)
    except amdrt.GPUFault as fault:
        reported = f"GPUFault at {fault.address:#x} in {fault.kernel}"
    else:
        raise AssertionError("a store 16 GiB past a buffer was not reported")
    finally:
        buf.free()
    run_vadd(dev, prog, vadd_n)
    return f"{reported}; the GPU runs kernels afterwards"


def check_timeout(dev, prog, vadd_n: int) -> str:
    import amdrt
    try:
        prog["spin"](global_size=(32, 1, 1), local_size=(32, 1, 1), timeout=1.0)
    except amdrt.GPUTimeout as timeout:
        reported = f"GPUTimeout after {timeout.seconds:g} s"
    else:
        raise AssertionError("a kernel that never ends was not reported")
    run_vadd(dev, prog, vadd_n)
    return f"{reported}; the GPU runs kernels afterwards"


def build_opencl(source: str) -> bytes:
    clang, lld = shutil.which("clang-19"), shutil.which("ld.lld-19")
    if clang is None or lld is None:
        raise Skip("clang-19 and ld.lld-19 are not installed")
    with tempfile.TemporaryDirectory(prefix="amdrt-smoke-") as tmp:
        src, obj, co = (Path(tmp) / name for name in ("smoke.cl", "smoke.o", "smoke.co"))
        src.write_text(source)
        for cmd in ([clang, "-x", "cl", "-cl-std=CL2.0", "-nogpulib", "-target", "amdgcn-amd-amdhsa",
                     "-mcpu=gfx1100", "-O2", "-c", str(src), "-o", str(obj)],
                    [lld, "-shared", str(obj), "-o", str(co)]):
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode:
                raise RuntimeError(f"{Path(cmd[0]).name} failed: {done.stderr.strip()}")
        return co.read_bytes()


def check_clang_kernels(dev, code_object: bytes | None, n: int, size: int) -> str:
    if code_object is None:
        raise Skip("clang-19 and ld.lld-19 are not installed")
    prog = dev.load(code_object)
    rng = np.random.default_rng(3)
    x = rng.standard_normal(n, dtype=np.float32)
    groups = (n + 255) // 256
    xb, pb = dev.alloc(4 * n), dev.alloc(4 * groups)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    ab, bb, cb = (dev.alloc(4 * size * size) for _ in range(3))
    try:
        xb.copyin(x)
        prog["reduce_sum"](xb, pb, np.uint32(n), global_size=(groups * 256, 1, 1), local_size=(256, 1, 1))
        total = float(pb.numpy(np.float32, groups).astype(np.float64).sum())
        expected = float(x.astype(np.float64).sum())
        if abs(total - expected) > 1e-3 * max(1.0, abs(expected)) + 1e-2:
            raise AssertionError(f"reduce_sum gave {total}, numpy {expected}")
        ab.copyin(a)
        bb.copyin(b)
        prog["matmul"](ab, bb, cb, np.uint32(size), global_size=(size, size, 1), local_size=(16, 16, 1))
        c = cb.numpy(np.float32, size * size).reshape(size, size)
        np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-3)
    finally:
        for buf in (xb, pb, ab, bb, cb):
            buf.free()
    return f"reduce_sum of {n:,} floats and a {size}x{size} tiled matmul match numpy"


def check_peer_copy(src_dev, dst_dev, nbytes: int) -> str:
    data = np.random.default_rng(4).integers(0, 1 << 32, nbytes // 4, dtype=np.uint32)
    src, dst = src_dev.alloc(nbytes), dst_dev.alloc(nbytes)
    try:
        seconds = timed_copy(src_dev, dst, src, data, "the peer copy")
    finally:
        src.free()
        dst.free()
    return f"{nbytes // MiB} MiB over SDMA, {_rate(nbytes, seconds)}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size", type=int, default=16, help="MiB per memory and copy check (default 16)")
    parser.add_argument("--elements", type=int, default=1 << 18,
                        help="elements of the vector kernels (default 262144)")
    parser.add_argument("--matmul", type=int, default=64, help="matrix size of the matmul check (default 64)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")


def run(args: argparse.Namespace) -> int:
    import amdrt
    import isa

    out = sys.stdout
    nbytes = max(1, args.size) * MiB
    start = time.perf_counter()
    devs = amdrt.devices()
    runtime = devs[0].runtime
    kind = "simulated" if runtime.simulated else "real"
    print(f"amdrt smoke: {len(devs)} {kind} GPU(s): " + ", ".join(f"{d.marketing_name} ({d.arch})" for d in devs),
          file=out)
    smoke = Smoke(out, verbose=False)
    asm_source = resources.files("amdrt.kernels").joinpath("smoke.s").read_text()
    cl_source = resources.files("amdrt.kernels").joinpath("smoke.cl").read_text()
    asm_object = isa.assemble_code_object(asm_source)
    try:
        cl_object = build_opencl(cl_source)
    except Skip:
        cl_object = None
    vadd_small = 4096
    for i, dev in enumerate(devs):
        print(f"GPU {i}: {dev.marketing_name} ({dev.arch}), {dev.cu_count} CUs, {dev.vram_size / (1 << 30):.1f} GiB VRAM", file=out)
        prog = dev.load(asm_object)
        smoke.run(f"gpu{i} VRAM write/read", check_memory, dev, nbytes, False)
        smoke.run(f"gpu{i} host memory write/read", check_memory, dev, nbytes, True)
        smoke.run(f"gpu{i} SDMA fill and copy", check_sdma, dev, nbytes)
        smoke.run(f"gpu{i} assembly kernel (vadd)", check_asm_kernel, dev, prog, args.elements)
        smoke.run(f"gpu{i} clang OpenCL kernels", check_clang_kernels, dev, cl_object, args.elements, args.matmul)
        smoke.run(f"gpu{i} faulting kernel is reported", check_fault, dev, prog, vadd_small)
        smoke.run(f"gpu{i} hanging kernel is reported", check_timeout, dev, prog, vadd_small)
    if len(devs) > 1:
        print("Peer to peer:", file=out)
        for i, src in enumerate(devs):
            for j, dst in enumerate(devs):
                if i != j:
                    smoke.run(f"gpu{i} -> gpu{j} copy", check_peer_copy, src, dst, nbytes)
    counts = {s: sum(c.status == s for c in smoke.checks) for s in ("ok", "FAIL", "skip")}
    elapsed = time.perf_counter() - start
    print(f"{counts['ok']} passed, {counts['FAIL']} failed, {counts['skip']} skipped in {elapsed:.1f} s", file=out)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "devices": [{"name": d.name, "arch": d.arch} for d in devs], "simulated": runtime.simulated,
            "checks": [asdict(c) for c in smoke.checks]}, indent=2) + "\n")
    return 1 if smoke.failed else 0
