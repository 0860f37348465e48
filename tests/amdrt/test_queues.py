"""SDMA copies and fills (also between GPUs), barriers and signals ordering work across queues
and devices, and recovery from faults and timeouts on simulated GPUs."""

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amdrt import GPUFault, GPUTimeout, InvalidArgument, Signal
from kfd import sdma_packets


def test_copy_between_all_devices_of_a_four_gpu_machine(rt4):
    devs = rt4.devices
    assert len(devs) == 4
    rng = np.random.default_rng(4)
    data = rng.integers(0, 2**31, 50_000, dtype=np.int32)
    bufs = [d.alloc(data.nbytes) for d in devs]
    bufs[0].copyin(data)
    # A ring of peer-to-peer copies: 0 -> 1 -> 2 -> 3, each on the destination's SDMA engine.
    for i in range(1, 4):
        devs[i].copy(bufs[i], bufs[i - 1])
    # ... and back on the source's engine.
    devs[3].copy(bufs[0], bufs[3], 4000, dst_offset=100, src_offset=2000)
    assert np.array_equal(bufs[3].numpy(np.int32), data)
    expected = data.view(np.uint8).copy()
    expected[100:4100] = data.view(np.uint8)[2000:6000]
    assert np.array_equal(bufs[0].numpy(), expected)
    assert all(devs[i].gpu_id in bufs[i - 1].allocation.mapped for i in range(1, 4))  # peer mapped for us


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_copies_and_fills_match_numpy(rt1, data):
    dev = rt1.devices[0]
    size = data.draw(st.integers(1, 70_000))
    src, dst = dev.alloc(size, host=data.draw(st.booleans())), dev.alloc(size)
    a = np.frombuffer(data.draw(st.binary(min_size=size, max_size=size)), np.uint8)
    src.copyin(a)
    dst.copyin(np.zeros(size, np.uint8))
    n = data.draw(st.integers(0, size))
    so, do = data.draw(st.integers(0, size - n)), data.draw(st.integers(0, size - n))
    dev.copy(dst, src, n, dst_offset=do, src_offset=so)
    expected = np.zeros(size, np.uint8)
    expected[do:do + n] = a[so:so + n]
    value = data.draw(st.integers(0, 255))
    fo = data.draw(st.integers(0, size - 1))
    fn = data.draw(st.integers(0, size - fo))
    dev.fill(dst, value, fn, offset=fo)
    expected[fo:fo + fn] = value
    assert np.array_equal(dst.numpy(), expected)


def test_copy_arguments_are_checked(rt4):
    d0, d1 = rt4.devices[:2]
    a, b = d0.alloc(100), d1.alloc(50)
    with pytest.raises(InvalidArgument):
        d0.copy(a, b, 60)
    with pytest.raises(InvalidArgument):
        d0.copy(a, b, 10, dst_offset=95)
    with pytest.raises(InvalidArgument):
        d0.copy(a, np.zeros(10), 10)
    with pytest.raises(InvalidArgument):
        d0.fill(a, 256)


def test_sdma_reports_timestamps(dev):
    a, b = dev.alloc(1 << 20), dev.alloc(1 << 20)
    signal = dev.copy(b, a)
    assert signal.value == 0
    assert signal.start_ts and signal.end_ts >= signal.start_ts
    assert signal.elapsed is not None and signal.elapsed >= 0


def test_barriers_order_queues_and_devices(rt4):
    d0, d1, d2 = rt4.devices[:3]
    src = d0.alloc(4096)
    mid, out = d1.alloc(4096), d2.alloc(4096)
    src.copyin(np.arange(1024, dtype=np.int32))
    gate = d0.signal(1)
    compute = d0.queue()
    try:
        # compute queue on GPU 0 waits for the CPU; GPU 1 copies after it; GPU 2 after GPU 1.
        barrier = compute.barrier([gate])
        first = d1.copy(mid, src, wait=False, after=[barrier])
        second = d2.copy(out, mid, wait=False, after=[first])
        time.sleep(0.05)
        assert (barrier.value, first.value, second.value) == (1, 1, 1)
        gate.set(0)
        second.wait(timeout=10)
        assert first.value == 0 and barrier.value == 0
        assert np.array_equal(out.numpy(np.int32), np.arange(1024, dtype=np.int32))
        # More dependencies than one barrier packet holds.
        gates = [d0.signal(1) for _ in range(12)]
        many = compute.barrier(gates)
        for g in gates[:-1]:
            g.set(0)
        time.sleep(0.02)
        assert many.value == 1
        gates[-1].set(0)
        many.wait(timeout=10)
    finally:
        d0.close_queue(compute)


def test_work_in_flight_on_two_engines_at_once(rt4):
    d0, d1 = rt4.devices[:2]
    big = 8 << 20
    a0, b0 = d0.alloc(big), d0.alloc(big)
    a1, b1 = d1.alloc(big), d1.alloc(big)
    a0.copyin(np.full(big // 4, 7, np.int32))
    a1.copyin(np.full(big // 4, 9, np.int32))
    gate = d0.signal(1)
    s0 = d0.copy(b0, a0, wait=False, after=[gate])
    s1 = d1.copy(b1, a1, wait=False, after=[gate])
    extra = d0.sdma_queue()
    try:
        s2 = d0.copy(a1, b1, 4096, wait=False, after=[s1], queue=extra)
        assert all(s.value == 1 for s in (s0, s1, s2))
        gate.set(0)
        for s in (s0, s1, s2):
            s.wait(timeout=20)
        assert b0.numpy(np.int32, count=8).tolist() == [7] * 8
        assert b1.numpy(np.int32, count=8).tolist() == [9] * 8
    finally:
        d0.close_queue(extra)


def test_fault_on_the_sdma_engine_raises_and_the_device_recovers(fresh_rt):
    dev = fresh_rt.devices[0]
    buf = dev.alloc(4096)
    unmapped = fresh_rt.va.base + fresh_rt.va.size - (1 << 20)  # reserved, never mapped to a GPU
    signal = Signal(fresh_rt)
    dev.sdma.submit(sdma_packets.copy(unmapped, buf.va, 4096), signal, "bad copy")
    with pytest.raises(GPUFault) as err:
        signal.wait(timeout=10)
    assert err.value.address == unmapped & ~0xFFF
    assert err.value.kernel == "bad copy"
    assert dev.sdma.resets == 1
    other = dev.alloc(4096)
    buf.copyin(np.arange(1024, dtype=np.int32))
    dev.copy(other, buf)
    assert np.array_equal(other.numpy(np.int32), np.arange(1024))


def test_wait_that_never_ends_times_out_and_the_queue_recovers(fresh_rt):
    dev = fresh_rt.devices[0]
    a, b = dev.alloc(4096), dev.alloc(4096)
    never = dev.signal(1)
    stuck = dev.copy(b, a, wait=False, after=[never])
    with pytest.raises(GPUTimeout, match="did not finish within 0.3 s"):
        stuck.wait(timeout=0.3)
    with pytest.raises(GPUTimeout):  # the signal keeps its failure
        stuck.wait()
    a.copyin(np.arange(1024, dtype=np.int32))
    dev.copy(b, a)
    assert np.array_equal(b.numpy(np.int32), np.arange(1024))
    with pytest.raises(GPUTimeout, match="nothing set this signal"):
        never.wait(timeout=0.05)
