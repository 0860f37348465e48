"""Hand-written assembly kernels (assembled by llvm-mc-19) through dev.load and kernel calls:
results, faults and hangs that leave the device usable, concurrency across queues and engines,
and thousands of back-to-back launches that neither leak nor pile up."""

import gc
import threading

import numpy as np
import pytest

from amdrt import GPUFault, GPUTimeout, InvalidArgument

pytestmark = pytest.mark.llvm


@pytest.fixture(scope="module")
def code(toolchain, asm_kernels):
    return toolchain.assembly(asm_kernels)


@pytest.fixture(scope="module")
def failing(toolchain, smoke_kernels):
    """The fault and spin kernels."""
    return toolchain.assembly(smoke_kernels)


@pytest.mark.parametrize("machine", ["rt1", "rt4"])
def test_assembly_kernel_on_every_gpu(request, code, machine):
    runtime = request.getfixturevalue(machine)
    for dev in runtime.devices:
        prog = dev.load(code)
        out = dev.alloc(4 * 640)
        scale = 3 + dev.index
        prog["fill_ids"](out, np.uint32(scale), global_size=640)  # local size 64 from the metadata
        assert np.array_equal(out.numpy(np.uint32), np.arange(640, dtype=np.uint32) * scale)


def test_required_workgroup_size_is_enforced(dev, code):
    prog = dev.load(code)
    out = dev.alloc(256)
    with pytest.raises(InvalidArgument, match=r"requires local_size \(64, 1, 1\)"):
        prog["fill_ids"](out, np.uint32(1), global_size=64, local_size=32)


def test_faulting_kernel_raises_and_the_device_stays_usable(fresh_rt, code, failing):
    dev = fresh_rt.devices[0]
    prog = dev.load(code)
    buf = dev.alloc(4096)
    with pytest.raises(GPUFault) as err:
        dev.load(failing)["fault"](buf, global_size=32, local_size=32, timeout=30)
    page = (buf.va + (4 << 32)) & ~0xFFF
    assert err.value.address == page
    assert f"{page:#x}" in str(err.value)
    assert err.value.kernel == "fault"
    assert err.value.device == dev.name
    # The queue was recreated: kernels and copies run again.
    out = dev.alloc(4 * 64)
    prog["fill_ids"](out, np.uint32(2), global_size=64)
    assert np.array_equal(out.numpy(np.uint32), np.arange(64, dtype=np.uint32) * 2)
    assert dev.compute.resets == 1


def test_spinning_kernel_times_out_and_the_device_stays_usable(fresh_rt, code, failing):
    dev = fresh_rt.devices[0]
    prog = dev.load(code)
    with pytest.raises(GPUTimeout) as err:
        dev.load(failing)["spin"](global_size=32, local_size=32, timeout=0.5)
    assert err.value.kernel == "spin"
    counter = dev.alloc(4)
    counter.copyin(np.zeros(1, np.uint32))
    prog["count"](counter, global_size=96, local_size=32)
    assert counter.numpy(np.uint32)[0] == 96


def test_two_queues_and_a_copy_in_flight_ordered_by_signals(rt4, code):
    d0, d1 = rt4.devices[:2]
    p0, p1 = d0.load(code), d1.load(code)
    q_a, q_b = d0.queue(), d1.queue()
    try:
        first, moved, counter = d0.alloc(4 * 256), d1.alloc(4 * 256), d1.alloc(4)
        counter.copyin(np.zeros(1, np.uint32))
        gate = d0.signal(1)
        # queue A (GPU 0) fills `first` once the CPU opens the gate; SDMA on GPU 1 copies it
        # over; queue B (GPU 1) runs after the copy.
        k1 = p0["fill_ids"](first, np.uint32(5), global_size=256, queue=q_a, after=[gate], wait=False)
        copy = d1.copy(moved, first, wait=False, after=[k1])
        k2 = p1["count"](counter, global_size=64, local_size=64, queue=q_b, after=[copy], wait=False)
        assert (k1.value, copy.value, k2.value) == (1, 1, 1)
        gate.set(0)
        k2.wait(timeout=30)
        assert k1.value == 0 and copy.value == 0
        assert np.array_equal(moved.numpy(np.uint32), np.arange(256, dtype=np.uint32) * 5)
        assert counter.numpy(np.uint32)[0] == 64
    finally:
        d0.close_queue(q_a)
        d1.close_queue(q_b)


def test_ten_thousand_back_to_back_launches(fresh_rt, code):
    dev = fresh_rt.devices[0]
    kernel = dev.load(code)["count"]
    counter = dev.alloc(4)
    counter.copyin(np.zeros(1, np.uint32))
    queue = dev.compute

    def footprint():
        gc.collect()
        fresh_rt.memory.release_deferred()
        return (len(fresh_rt.memory.live), fresh_rt.signals.in_use, len(queue.pending))

    def launches(count):
        for i in range(count):
            # Mostly asynchronous, with a wait now and then, as a training loop does.
            kernel(counter, global_size=1, local_size=1, wait=(i % 500 == 499))
        queue.synchronize()

    launches(1000)  # pools grow to what this pattern keeps in flight
    baseline = footprint()
    launches(10_000)
    assert counter.numpy(np.uint32)[0] == 11_000
    assert footprint() == baseline
    assert queue.write_index == 11_000


def test_host_access_waits_only_for_work_that_uses_the_buffer(dev, code):
    prog = dev.load(code)
    used, unrelated = dev.alloc(4 * 64), dev.alloc(4 * 64)
    gate = dev.signal(1)
    pending = prog["fill_ids"](used, np.uint32(7), global_size=64, after=[gate], wait=False)
    unrelated.copyin(np.arange(64, dtype=np.uint32))  # returns at once
    assert np.array_equal(unrelated.numpy(np.uint32), np.arange(64))
    assert pending.value == 1
    timer = threading.Timer(0.1, gate.set, (0,))
    timer.start()
    try:
        result = used.numpy(np.uint32)  # waits for the kernel that writes it
    finally:
        timer.join()
    assert pending.value == 0
    assert np.array_equal(result, np.arange(64, dtype=np.uint32) * 7)


def test_code_and_data_in_vram_the_cpu_cannot_map(fresh_rt, code):
    dev = fresh_rt.devices[0]
    for bank in dev.node.mem_banks:
        bank.properties["heap_type"] = 2  # a small BAR: VRAM is FB_PRIVATE
    prog = dev.load(code)  # uploaded through host memory by the SDMA engine
    assert not prog._alloc.cpu
    out = dev.alloc(4 * 128)
    prog["fill_ids"](out, np.uint32(9), global_size=128)
    assert np.array_equal(out.numpy(np.uint32), np.arange(128, dtype=np.uint32) * 9)


def test_buffers_of_another_runtime_are_refused(rt1, fresh_rt, code):
    foreign = rt1.devices[0].alloc(256)
    kernel = fresh_rt.devices[0].load(code)["fill_ids"]
    with pytest.raises(InvalidArgument, match="another runtime"):
        kernel(foreign, np.uint32(1), global_size=64)


def test_driver_reset_of_a_hung_queue_raises_gpu_hang(code, failing):
    import amdrt
    from kfd.sim import SimDriver
    with amdrt.Runtime(SimDriver(1, hang_timeout=0.3), timeout=30) as runtime:
        dev = runtime.devices[0]
        prog = dev.load(code)
        with pytest.raises(amdrt.GPUHang) as err:
            dev.load(failing)["spin"](global_size=32, local_size=32)
        assert isinstance(err.value, GPUTimeout)  # work that never finished
        assert err.value.kernel == "spin" and "reset one engine after a hang" in str(err.value)
        assert "hang timeout" in err.value.diagnosis and "(driver: " in str(err.value)
        out = dev.alloc(4 * 64)
        prog["fill_ids"](out, np.uint32(1), global_size=64)
        assert np.array_equal(out.numpy(np.uint32), np.arange(64))


ILLEGAL_KERNEL = """
.text
.globl illegal
.p2align 8
illegal:
  .long 0                       // no instruction: the wave halts and the queue hangs
  s_endpgm
.rodata
.p2align 6
.amdhsa_kernel illegal
  .amdhsa_next_free_vgpr 1
  .amdhsa_next_free_sgpr 1
.end_amdhsa_kernel
"""


def test_an_illegal_instruction_hangs_the_queue_and_the_simulator_says_why(fresh_rt, code):
    import amdrt
    import isa
    dev = fresh_rt.devices[0]
    with pytest.raises(amdrt.GPUHang) as err:
        dev.load(isa.assemble_code_object(ILLEGAL_KERNEL))["illegal"](global_size=32, local_size=32)
    assert err.value.kernel == "illegal"
    assert "0x00000000" in err.value.diagnosis and "0x00000000" in str(err.value)
    out = dev.alloc(4 * 64)
    dev.load(code)["fill_ids"](out, np.uint32(1), global_size=64)
    assert np.array_equal(out.numpy(np.uint32), np.arange(64))


def test_a_simulator_error_stops_only_that_dispatch(fresh_rt, code, failing, monkeypatch, capfd):
    """An internal error of the simulated GPU is reported at once as a hang of that queue (never a
    silent stall until the timeout), and the device runs the next launch."""
    from isa import emu


    def broken(*args, **kwargs):
        raise RuntimeError("injected simulator bug")

    dev = fresh_rt.devices[0]
    prog = dev.load(code)
    monkeypatch.setattr(emu, "run_dispatch", broken)
    with pytest.raises(GPUTimeout):
        dev.load(failing)["spin"](global_size=32, local_size=32, timeout=30)
    assert "injected simulator bug" in capfd.readouterr().err
    monkeypatch.undo()
    counter = dev.alloc(4)
    counter.copyin(np.zeros(1, np.uint32))
    prog["count"](counter, global_size=64, local_size=32)
    assert counter.numpy(np.uint32)[0] == 64


def test_simulated_gpu_memory_takes_the_emulators_view_paths(fresh_rt, failing, monkeypatch):
    """Loads and stores of consecutive dwords reach the simulated GPU's memory as views of its
    page table (one copy, the table's lock held), not as gathers of every lane's address."""
    from isa.emu import vmem

    used = []
    load_found = vmem._load_found
    monkeypatch.setattr(vmem, "_load_found", lambda *a: used.append(a) or load_found(*a))
    dev = fresh_rt.devices[0]
    prog = dev.load(failing)
    n = 4096
    a, b = np.arange(n, dtype=np.float32), np.full(n, 0.5, np.float32)
    bufs = [dev.alloc(4 * n) for _ in range(3)]
    bufs[0].copyin(a)
    bufs[1].copyin(b)
    prog["vadd"](bufs[0], bufs[1], bufs[2], np.uint32(n), global_size=(n, 1, 1), local_size=(256, 1, 1))
    np.testing.assert_array_equal(bufs[2].numpy(np.float32, n), a + b)
    assert len(used) >= 2                 # both loads
