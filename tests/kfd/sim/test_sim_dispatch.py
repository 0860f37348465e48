"""Kernels on the simulated GPU: AQL and PM4 dispatches executed by isa.emu over the GPU's page
table; faults and never-ending kernels reported through KFD events while other queues go on."""

import struct
import subprocess
import threading

import numpy as np
import pytest
from hsakmt import GTT_FLAGS, PAGE, Hsakmt
from test_sim_aql import Signals, dispatch_packet
from test_sim_queues import AQL, COMPLETE, PM4, WAIT_MS, hi, lo, pm4, release_mem, wait_event

import isa
from isa import CodeObject
from kfd import abi as F
from kfd.sim import SimDriver

AXPY_CL = """
__kernel void axpy(__global float *out, __global const float *x, __global const float *y, float a,
                   uint n) {
    uint i = __builtin_amdgcn_workgroup_id_x() * __builtin_amdgcn_workgroup_size_x()
             + __builtin_amdgcn_workitem_id_x();
    if (i < n) out[i] = a * x[i] + y[i];
}
"""


@pytest.fixture(scope="module")
def axpy_code_object(llvm, tmp_path_factory):
    d = tmp_path_factory.mktemp("axpy")
    (d / "k.cl").write_text(AXPY_CL)
    subprocess.run([llvm.clang, "-x", "cl", "-cl-std=CL2.0", "-nogpulib", "-target", "amdgcn-amd-amdhsa",
                    "-mcpu=gfx1100", "-O2", "-c", str(d / "k.cl"), "-o", str(d / "k.o")], check=True)
    subprocess.run([llvm.lld, "-shared", str(d / "k.o"), "-o", str(d / "k.co")], check=True)
    return CodeObject.parse((d / "k.co").read_bytes())


def load(k: Hsakmt, gpu_id: int, co: CodeObject):
    """Place the code object's image in executable VRAM; returns the buffer (image base = va)."""
    code = k.alloc(gpu_id, max(co.image_size, PAGE))
    image = co.load_image(code.va)
    code.view(np.uint8)[:len(image)] = np.frombuffer(image, np.uint8)
    return code


def kernargs(k: Hsakmt, gpu_id: int, kernel, explicit: list[bytes], grid, wg):
    """The kernarg segment: explicit arguments, then the hidden ones the metadata asks for."""
    buf = k.alloc(gpu_id, PAGE, GTT_FLAGS)
    seg = bytearray(max(kernel.metadata.kernarg_segment_size, 256))
    explicit = iter(explicit)
    for arg in kernel.metadata.args:
        kind = arg.value_kind
        if kind in ("global_buffer", "by_value"):
            value = next(explicit)
        elif kind.startswith("hidden_block_count_"):
            axis = "xyz".index(kind[-1])
            value = struct.pack("<I", -(-grid[axis] // wg[axis]))
        elif kind.startswith("hidden_group_size_"):
            value = struct.pack("<H", wg["xyz".index(kind[-1])])
        elif kind.startswith("hidden_remainder_"):
            axis = "xyz".index(kind[-1])
            value = struct.pack("<H", grid[axis] % wg[axis])
        elif kind == "hidden_grid_dims":
            value = struct.pack("<H", 1)
        else:
            continue  # zero
        seg[arg.offset:arg.offset + len(value)] = value
    buf.view(np.uint8)[:len(seg)] = np.frombuffer(bytes(seg), np.uint8)
    return buf


def descriptor(code_offset: int, user_sgprs: int = 2, vgprs: int = 8, properties: int = 1 << 3 | 1 << 10) -> bytes:
    """A hand-made kernel descriptor: wave32, kernarg pointer in s[0:1] (properties bit 3)."""
    kd = bytearray(64)
    struct.pack_into("<q", kd, 16, code_offset)
    rsrc1 = (vgprs // 8 - 1) | 3 << 16 | 3 << 18 | 1 << 21 | 1 << 23 | 1 << 29
    rsrc2 = user_sgprs << 1 | 1 << 7
    struct.pack_into("<IIH", kd, 48, rsrc1, rsrc2, properties)
    return bytes(kd)


def hand_kernel(k: Hsakmt, gpu_id: int, source: str):
    """A kernel of assembled code behind a hand-made descriptor: returns (kernel_object, code address)."""
    buf = k.alloc(gpu_id, PAGE)
    code = isa.assemble(source)
    buf.view(np.uint8)[:64] = np.frombuffer(descriptor(256), np.uint8)
    buf.view(np.uint8)[256:256 + len(code)] = np.frombuffer(code, np.uint8)
    return buf.va, buf.va + 256


# out[workgroup_id * 64 + workitem_id] = 0x1234, with `out` the first kernel argument
STORE_PREFIX = """
s_load_b64 s[4:5], s[0:1], 0x0
s_waitcnt lgkmcnt(0)
s_lshl_b32 s6, s2, 8
v_lshlrev_b32 v0, 2, v0
v_add_nc_u32 v0, s6, v0
v_mov_b32 v1, 0x1234
"""
STORE_TO_KERNARG_POINTER = STORE_PREFIX + "global_store_b32 v0, v1, s[4:5]\ns_endpgm\n"
SPIN = "loop:\ns_branch loop\ns_endpgm"


def store_on_a_new_queue(k: Hsakmt, sig, gpu_id: int, out, lanes: int) -> None:
    """Run STORE_TO_KERNARG_POINTER (one workgroup of `lanes`, storing to `out`) on a new AQL
    queue of the GPU, and check that it completes."""
    kobj, _ = hand_kernel(k, gpu_id, STORE_TO_KERNARG_POINTER)
    args = k.alloc(gpu_id, PAGE, GTT_FLAGS)
    args.view(np.uint64)[0] = out.va
    q = k.create_queue(gpu_id, AQL)
    done, _, ev = sig.new(1)
    k.submit_aql(q, dispatch_packet(kobj, args.va, (lanes, 1, 1), (lanes, 1, 1), done))
    assert wait_event(k, ev) == COMPLETE


@pytest.mark.llvm
@pytest.mark.parametrize("n, wg", [(1000, 64), (256, 256), (33, 32)])
def test_aql_dispatch_of_a_clang_kernel_matches_numpy(kfd1, axpy_code_object, n, wg):
    k = kfd1
    g = k.gpu_ids[0]
    co = axpy_code_object
    kernel = co.kernels["axpy"]
    code = load(k, g, co)
    rng = np.random.default_rng(n)
    x, y = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    bx, by, out = (k.alloc(g, 4 * n) for _ in range(3))
    bx.view(np.float32, 0, n)[:] = x
    by.view(np.float32, 0, n)[:] = y
    grid = (n, 1, 1)
    args = kernargs(k, g, kernel, [struct.pack("<Q", b.va) for b in (out, bx, by)]
                    + [struct.pack("<f", 2.5), struct.pack("<I", n)], grid, (wg, 1, 1))
    q = k.create_queue(g, AQL)
    sig = Signals(k)
    done, value, ev = sig.new(1)
    k.submit_aql(q, dispatch_packet(code.va + kernel.descriptor_address, args.va, grid, (wg, 1, 1), done))
    assert wait_event(k, ev) == COMPLETE
    assert value[0] == 0
    # clang fuses a * x + y into one FMA: the exact product (exact in float64), rounded once
    fused = (2.5 * x.astype(np.float64) + y.astype(np.float64)).astype(np.float32)
    np.testing.assert_array_equal(out.view(np.float32, 0, n), fused)


def test_pm4_dispatch_direct_runs_user_sgprs_as_programmed(kfd1):
    k = kfd1
    g = k.gpu_ids[0]
    _, entry = hand_kernel(k, g, STORE_TO_KERNARG_POINTER)
    out = k.alloc(g, PAGE)
    args = k.alloc(g, PAGE, GTT_FLAGS)
    args.view(np.uint64)[0] = out.va
    page = k.alloc(g, F.KFD_EVENT_PAGE_SIZE, GTT_FLAGS)
    ev = k.create_event(page=page).event_id
    rsrc1 = struct.unpack_from("<I", descriptor(0), 48)[0]
    rsrc2 = 2 << 1 | 1 << 7
    q = k.create_queue(g, PM4)
    cmds = (pm4(0x76, 0x20C, lo(entry >> 8), hi(entry >> 8))             # COMPUTE_PGM_LO/HI
            + pm4(0x76, 0x212, rsrc1, rsrc2)                             # COMPUTE_PGM_RSRC1/2
            + pm4(0x76, 0x240, lo(args.va), hi(args.va))                 # USER_DATA_0/1
            + pm4(0x76, 0x207, 64, 1, 1)                                 # NUM_THREAD_X/Y/Z
            + pm4(0x15, 3, 1, 1, 1 | 1 << 15)                            # DISPATCH_DIRECT 3 groups, wave32
            + pm4(0x46, 7 | 4 << 8)                                      # CS_PARTIAL_FLUSH
            + release_mem(page.va + 8 * ev, ev, ev))
    k.submit_dwords(q, cmds, 4)
    assert wait_event(k, ev) == COMPLETE
    assert (out.view(np.uint32, 0, 192) == 0x1234).all() and out.view(np.uint32)[192] == 0


def test_fault_in_a_kernel_stops_that_queue_only(kfd4):
    k = kfd4
    g = k.gpu_ids
    mem = k.create_event(F.KFD_IOC_EVENT_MEMORY).event_id
    kobj, entry = hand_kernel(k, g[2], STORE_TO_KERNARG_POINTER)
    args = k.alloc(g[2], PAGE, GTT_FLAGS)
    stray = 0x7A00_0000_0000
    args.view(np.uint64)[0] = stray
    bad = k.create_queue(g[2], AQL)
    k.submit_aql(bad, dispatch_packet(kobj, args.va, (64, 1, 1), (32, 1, 1)))
    result, data = k.wait([mem], WAIT_MS)
    assert result == COMPLETE
    info = data[0].memory_exception_data
    assert (info.va, info.gpu_id, info.failure.NotPresent) == (stray, g[2], 1)
    fault = k.drv.queue_error(bad.queue_id)
    assert fault.address == stray and fault.pc == entry + len(isa.assemble(STORE_PREFIX))  # the store
    # the same kernel with a good pointer still runs on another queue of that GPU and on a peer GPU
    sig = Signals(k)
    for gpu in (g[2], g[0]):
        out = k.alloc(g[2], PAGE, map_to=[g[2], g[0]])
        store_on_a_new_queue(k, sig, gpu, out, 64)
        assert (out.view(np.uint32, 0, 64) == 0x1234).all()


def test_never_ending_kernel_is_reset_and_others_keep_working():
    with SimDriver(2, hang_timeout=0.3) as drv:
        k = Hsakmt(drv).bring_up()
        g = k.gpu_ids
        hw = k.create_event(F.KFD_IOC_EVENT_HW_EXCEPTION).event_id
        kobj, _ = hand_kernel(k, g[0], SPIN)
        q = k.create_queue(g[0], AQL)
        k.submit_aql(q, dispatch_packet(kobj, 0, (32, 1, 1), (32, 1, 1)))
        result, data = k.wait([hw], WAIT_MS)
        assert result == COMPLETE
        assert data[0].hw_exception_data.gpu_id == g[0]
        assert data[0].hw_exception_data.reset_cause == F.KFD_HW_EXCEPTION_GPU_HANG
        assert "hang timeout" in str(drv.queue_error(q.queue_id))
        sig = Signals(k)
        for gpu in g:
            store_on_a_new_queue(k, sig, gpu, k.alloc(gpu, PAGE), 32)


def test_destroying_a_queue_preempts_its_running_kernel():
    with SimDriver(1, hang_timeout=3600) as drv:
        k = Hsakmt(drv).bring_up()
        g = k.gpu_ids[0]
        kobj, _ = hand_kernel(k, g, SPIN)
        q = k.create_queue(g, AQL)
        k.submit_aql(q, dispatch_packet(kobj, 0, (1024, 1, 1), (256, 1, 1)))
        engine = drv._queues.queues[q.queue_id].engine
        while engine.idle:
            threading.Event().wait(0.001)
        stopped = threading.Event()
        threading.Thread(target=lambda: (k.destroy_queue(q), stopped.set()), daemon=True).start()
        assert stopped.wait(10)
        assert drv.queue_error(q.queue_id) is None  # gone, not failed


def test_code_must_be_executable(kfd1):
    k = kfd1
    g = k.gpu_ids[0]
    mem = k.create_event(F.KFD_IOC_EVENT_MEMORY).event_id
    buf = k.alloc(g, PAGE, (GTT_FLAGS & ~F.KFD_IOC_ALLOC_MEM_FLAGS_EXECUTABLE))
    buf.view(np.uint8)[:64] = np.frombuffer(descriptor(256), np.uint8)
    buf.view(np.uint8)[256:264] = np.frombuffer(isa.assemble("s_endpgm\ns_endpgm"), np.uint8)
    q = k.create_queue(g, AQL)
    k.submit_aql(q, dispatch_packet(buf.va, 0, (32, 1, 1), (32, 1, 1)))
    result, data = k.wait([mem], WAIT_MS)
    assert result == COMPLETE
    assert data[0].memory_exception_data.failure.NoExecute == 1
    assert data[0].memory_exception_data.va == buf.va
