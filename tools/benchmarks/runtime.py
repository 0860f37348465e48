"""Runtime benchmarks on a simulated gfx1100: host-side launch overhead, SDMA copy throughput,
allocation cost, and a 2^20-float vadd run end to end through the runtime.

Launch overhead is the time from the kernel call to the doorbell, with the GPU side kept out of
the measurement: the queue first gets a barrier on a signal only the CPU sets, so the command
processor holds every dispatch behind it until the timing is done.
"""

import time

import numpy as np
from benchlib import Result, benchmark, best_time

LAUNCH_TARGET_US = 20.0
LAUNCHES = 500


def _runtime(gpus: int = 1):
    import amdrt
    from kfd.sim import SimDriver
    return amdrt.Runtime(SimDriver(gpus))


def _empty_kernel(dev):
    from isa.codeobj import KernelArg, KernelSpec, build_code_object
    s_endpgm = (0xBFB00000).to_bytes(4, "little")
    spec = KernelSpec("empty", s_endpgm, args=[KernelArg("out", 8, "global_buffer"), KernelArg("n", 4, type_name="uint"),
                                               KernelArg("scale", 4, type_name="float")], vgprs=1, sgprs=4)
    return dev.load(build_code_object([spec]))["empty"]


def _launch_overhead(rt) -> float:
    dev = rt.devices[0]
    kernel = _empty_kernel(dev)
    out = dev.alloc(4096)
    kernel(out, np.uint32(1), np.float32(1.0), global_size=64, local_size=64)  # warm caches
    queue = dev.compute
    best = float("inf")
    for _ in range(5):
        gate = dev.signal(1)
        queue.barrier([gate])
        start = time.perf_counter()
        for _ in range(LAUNCHES):
            kernel(out, np.uint32(1), np.float32(1.0), global_size=64, local_size=64, wait=False)
        elapsed = time.perf_counter() - start
        gate.set(0)
        queue.synchronize()
        best = min(best, elapsed / LAUNCHES)
    return best * 1e6


def _vadd(dev) -> Result:
    """The smoke test's assembly vadd over 2^20 floats, launched and waited for through the
    runtime: the emulator working through a simulated GPU's page table."""
    from importlib import resources

    import isa
    n = 1 << 20
    prog = dev.load(isa.assemble_code_object(resources.files("amdrt.kernels").joinpath("smoke.s").read_text()))
    a, b = np.arange(n, dtype=np.float32), np.full(n, 0.5, np.float32)
    bufs = [dev.alloc(4 * n) for _ in range(3)]
    bufs[0].copyin(a)
    bufs[1].copyin(b)

    def run():
        prog["vadd"](bufs[0], bufs[1], bufs[2], np.uint32(n), global_size=(n, 1, 1), local_size=(256, 1, 1))
    run()                                                # warm: decoding, register files
    seconds = best_time(run, repeat=5, min_time=0.0)
    assert np.array_equal(bufs[2].numpy(np.float32, n), a + b)
    for buf in bufs:
        buf.free()
    return Result("runtime.vadd_2^20", seconds, "s", "numpy", best_time(lambda: a + b, repeat=5),
                  "assembly kernel through amdrt on a simulated gfx1100, launch to completion")


@benchmark("runtime")
def runtime_benchmarks() -> list[Result]:
    rt = _runtime(2)
    try:
        launch_us = _launch_overhead(rt)
        d0, d1 = rt.devices
        kernel = _empty_kernel(d0)
        out = d0.alloc(4096)
        roundtrip = best_time(lambda: kernel(out, np.uint32(1), np.float32(1.0), global_size=64, local_size=64),
                              repeat=3, min_time=0.3)
        size = 64 << 20
        a, b, c = d0.alloc(size), d0.alloc(size), d1.alloc(size)
        host = d0.alloc(size, host=True)
        a.copyin(np.ones(size, np.uint8))
        rows = [
            Result("runtime.launch_overhead", launch_us, "us/dispatch", "target", LAUNCH_TARGET_US,
                   "kernel call to doorbell (3 explicit + 13 hidden arguments), GPU held behind a barrier"),
            Result("runtime.launch_and_wait", roundtrip * 1e6, "us/dispatch", "", None,
                   "empty kernel, 2 waves, through the simulated CP and back"),
        ]
        for name, dst, src, dev in (("vram_to_vram", b, a, d0), ("host_to_vram", a, host, d0),
                                    ("peer_gpu0_to_gpu1", c, a, d1)):
            t = best_time(lambda dst=dst, src=src, dev=dev: dev.copy(dst, src, size), repeat=3, min_time=0.2)
            rows.append(Result(f"runtime.sdma_copy.{name}", size / t / 1e9, "GB/s", "", None,
                               "64 MiB with the simulated SDMA engine, submit to completion"))
        alloc = best_time(lambda: d0.alloc(1 << 20).free(), repeat=3, min_time=0.2)
        rows.append(Result("runtime.alloc_free", alloc * 1e6, "us", "", None,
                           "1 MiB VRAM: ALLOC, mmap, MAP, then UNMAP, FREE, munmap"))
        rows.append(_vadd(d0))
        return rows
    finally:
        rt.close()
