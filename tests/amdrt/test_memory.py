"""Buffers on simulated GPUs: host access, lifetime (free, garbage collection, close) and limits."""

import gc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import amdrt
from amdrt import BufferFreed, InvalidArgument, OutOfMemory
from kfd import abi


def vram_available(device) -> int:
    args = abi.kfd_ioctl_get_available_memory_args(gpu_id=device.gpu_id)
    device.runtime.driver.ioctl(abi.AMDKFD_IOC_AVAILABLE_MEMORY, args)
    return args.available


def test_buffers_live_at_one_address_for_cpu_and_gpu(dev):
    buf = dev.alloc(10_000)
    host = dev.alloc(5000, host=True)
    assert buf.va % 4096 == 0 and host.va % 4096 == 0
    assert dev.runtime.va.base <= buf.va < dev.runtime.va.limit
    x = np.random.default_rng(1).random(2500, np.float32)
    buf.copyin(x)
    assert np.array_equal(buf.numpy(np.float32), x)
    host.copyin(x[:1250])
    assert np.array_equal(host.numpy(np.float32, count=1250), x[:1250])
    out = np.zeros(10, np.float32)
    buf.copyout(out, offset=40)
    assert np.array_equal(out, x[10:20])
    buf.free()
    host.free()


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_copyin_copyout_match_numpy(rt1, data):
    dev = rt1.devices[0]
    size = data.draw(st.integers(1, 20000))
    buf = dev.alloc(size, host=data.draw(st.booleans()))
    payload = data.draw(st.binary(min_size=0, max_size=size))
    offset = data.draw(st.integers(0, size - len(payload)))
    reference = np.zeros(size, np.uint8)
    buf.copyin(reference)
    buf.copyin(payload, offset)
    reference[offset:offset + len(payload)] = np.frombuffer(payload, np.uint8)
    assert np.array_equal(buf.numpy(), reference)
    buf.free()


def test_out_of_range_and_freed_use_is_refused(dev):
    buf = dev.alloc(64)
    with pytest.raises(InvalidArgument, match="does not fit"):
        buf.copyin(np.zeros(17, np.float32))
    with pytest.raises(InvalidArgument, match="does not fit"):
        buf.copyout(np.zeros(4, np.float32), offset=60)
    with pytest.raises(InvalidArgument):
        buf.copyin("text")
    with pytest.raises(InvalidArgument):
        dev.alloc(0)
    with pytest.raises(InvalidArgument):
        dev.alloc(-5)
    buf.free()
    buf.free()  # idempotent
    with pytest.raises(BufferFreed):
        buf.copyin(b"x")
    with pytest.raises(BufferFreed):
        buf.numpy()


def test_allocation_beyond_vram_raises_out_of_memory(dev):
    with pytest.raises(OutOfMemory, match="VRAM"):
        dev.alloc(dev.vram_size + (1 << 30))
    small = dev.alloc(4096)  # the failed attempt left nothing behind
    small.free()


def test_thousands_of_cycles_do_not_leak(fresh_rt):
    dev = fresh_rt.devices[0]
    memory = fresh_rt.memory
    before = (len(memory.live), fresh_rt.va.free_bytes, vram_available(dev), fresh_rt.signals.in_use)
    for i in range(2000):
        buf = dev.alloc(4096 * (1 + i % 5), host=bool(i % 3 == 0))
        buf.copyin(np.full(16, i, np.int32))
        if i % 2:
            buf.free()
        # odd buffers are freed explicitly, even ones dropped for the garbage collector
    del buf
    gc.collect()
    memory.release_deferred()
    after = (len(memory.live), fresh_rt.va.free_bytes, vram_available(dev), fresh_rt.signals.in_use)
    assert after == before


def test_garbage_collected_buffers_are_released(fresh_rt):
    dev = fresh_rt.devices[0]
    free_vram = vram_available(dev)
    buf = dev.alloc(1 << 20)
    assert vram_available(dev) == free_vram - (1 << 20)
    del buf
    gc.collect()
    dev.alloc(4096).free()  # releases what the collector queued
    assert vram_available(dev) == free_vram


def test_close_releases_everything_and_is_idempotent():
    from kfd.sim import SimDriver
    runtime = amdrt.Runtime(SimDriver(1))
    dev = runtime.devices[0]
    buf = dev.alloc(1 << 16)
    dev.copy(buf, dev.alloc(1 << 16))
    runtime.close()
    runtime.close()
    assert buf.freed
    assert not runtime.driver.is_open


def test_devices_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("AMDRT_SIM", "3")
    amdrt.reset_default()
    try:
        devs = amdrt.devices()
        assert len(devs) == 3
        assert {d.arch for d in devs} == {"gfx1100"}
        d = devs[0]
        assert d.cu_count == 96 and d.wavefront_size == 32 and d.lds_size == 65536
        assert d.vram_size == d.node.vram_size > 20 << 30
        assert d.props["gfx_target_version"] == 110000
        assert d.runtime.simulated
        assert len({x.gpu_id for x in devs}) == 3
    finally:
        amdrt.reset_default()
    monkeypatch.setenv("AMDRT_SIM", "many")
    with pytest.raises(ValueError, match="AMDRT_SIM"):
        amdrt.devices()


def test_vram_the_cpu_cannot_map_is_reached_through_the_sdma_engine(fresh_rt):
    """A small-BAR board publishes its VRAM as FB_PRIVATE: buffers are not CPU mapped and host
    access goes through a staging buffer and the SDMA engine."""
    dev = fresh_rt.devices[1]
    for bank in dev.node.mem_banks:
        bank.properties["heap_type"] = 2  # HSA_MEM_HEAP_TYPE_FB_PRIVATE
    buf = dev.alloc(10_000)
    assert not buf.cpu_visible
    data = np.random.default_rng(9).integers(0, 255, 10_000, dtype=np.uint8)
    buf.copyin(data[:6000], offset=1000)
    out = np.zeros(6000, np.uint8)
    buf.copyout(out, offset=1000)
    assert np.array_equal(out, data[:6000])
    peer = fresh_rt.devices[0].alloc(10_000)
    dev.copy(peer, buf)
    assert np.array_equal(peer.numpy()[1000:7000], data[:6000])


def test_closed_runtime_refuses_new_work():
    from kfd.sim import SimDriver
    runtime = amdrt.Runtime(SimDriver(1))
    dev = runtime.devices[0]
    runtime.close()
    with pytest.raises(amdrt.AmdrtError, match="closed"):
        dev.alloc(64)
    with pytest.raises(amdrt.AmdrtError, match="closed"):
        dev.queue()
