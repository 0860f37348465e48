"""The AQL command processor: packet protocol, barriers, completion signals and their events."""

import struct
import threading
import time

import numpy as np
import pytest
from hsakmt import GTT_FLAGS, PAGE, signal_layout
from test_sim_queues import AQL, COMPLETE, TIMEOUT, WAIT_MS, pm4, release_mem, wait_event

from kfd import abi as F

INVALID, DISPATCH, BARRIER_AND, BARRIER_OR, VENDOR = 1, 2, 3, 5, 0
SYSTEM_FENCES = 1 << 8 | 2 << 9 | 2 << 11  # barrier bit, system acquire and release


def barrier_packet(kind, deps=(), completion=0):
    deps = list(deps) + [0] * (5 - len(deps))
    return struct.pack("<HHI5QQQ", SYSTEM_FENCES | kind, 0, 0, *deps, 0, completion)


def barrier_value_packet(signal, value, condition, completion=0, mask=2**64 - 1):
    return struct.pack("<HBBIQqQI20xQ", SYSTEM_FENCES | VENDOR, 2, 0, 0, signal, value, mask, condition,
                       completion)


def pm4_ib_packet(ib_va, ndw, completion=0):
    cmd = pm4(0x3F, ib_va & 0xFFFFFFFF, ib_va >> 32, ndw | 1 << 23)
    return struct.pack("<HBB4II32xQ", SYSTEM_FENCES | VENDOR, 1, 0, *cmd, 10, completion)


def dispatch_packet(kernel_object, kernarg=0, grid=(1, 1, 1), wg=(1, 1, 1), completion=0, dims=1):
    return struct.pack("<HHHHHHIIIIIQQQQ", SYSTEM_FENCES | DISPATCH, dims, *wg, 0, *grid, 0, 0,
                       kernel_object, kernarg, 0, completion)


class Signals:
    """amd_signal_t objects in one GTT buffer, with the KFD event page as their mailbox."""

    def __init__(self, k, n=8):
        g = k.gpu_ids[0]
        self.k = k
        self.page = k.alloc(g, F.KFD_EVENT_PAGE_SIZE, GTT_FLAGS, map_to=k.gpu_ids)
        k.create_event(page=self.page)
        self.buf = k.alloc(g, PAGE, GTT_FLAGS, map_to=k.gpu_ids)  # every GPU may complete them
        self.n = 0

    def new(self, value=1, with_event=True):
        at = self.n * 64
        self.n += 1
        v, mailbox, event_id = signal_layout(self.buf, at)
        v[0] = value
        ev = None
        if with_event:
            ev = self.k.create_event().event_id
            mailbox[0], event_id[0] = self.page.va + 8 * ev, ev
        return self.buf.va + at, v, ev


@pytest.fixture
def aql(kfd1):
    return kfd1, kfd1.create_queue(kfd1.gpu_ids[0], AQL), Signals(kfd1)


def test_barrier_and_waits_for_every_dependency(aql):
    k, q, sig = aql
    d1, v1, _ = sig.new(1, with_event=False)
    d2, v2, _ = sig.new(1, with_event=False)
    done, v, ev = sig.new(1)
    k.submit_aql(q, barrier_packet(BARRIER_AND, [d1, d2], done))
    assert wait_event(k, ev, 20) == TIMEOUT
    v1[0] = 0
    assert wait_event(k, ev, 20) == TIMEOUT
    v2[0] = 0
    assert wait_event(k, ev) == COMPLETE
    assert v[0] == 0                                # decremented by the CP
    assert q.read_pointer == 1                      # read_dispatch_id reported
    assert q.ring.view(np.uint16)[0] == INVALID     # the slot is handed back


def test_barrier_or_and_barrier_value(aql):
    k, q, sig = aql
    d1, v1, _ = sig.new(1, with_event=False)
    d2, v2, _ = sig.new(1, with_event=False)
    done, v, ev = sig.new(2)
    k.submit_aql(q, barrier_packet(BARRIER_OR, [d1, d2], done))
    k.submit_aql(q, barrier_value_packet(d1, 5, 3, done))  # GTE 5
    assert wait_event(k, ev, 20) == TIMEOUT
    v2[0] = 0
    deadline = time.monotonic() + 5
    while v[0] != 1 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert v[0] == 1 and q.read_pointer == 1
    assert wait_event(k, ev, 0) == COMPLETE  # every completion raises the signal's event
    k.ioctl(F.AMDKFD_IOC_RESET_EVENT, F.kfd_ioctl_reset_event_args(event_id=ev))
    v1[0] = 7
    assert wait_event(k, ev) == COMPLETE
    assert v[0] == 0 and q.read_pointer == 2


def test_completion_signals_count_down_across_a_ring_wraparound(kfd1):
    k = kfd1
    q = k.create_queue(k.gpu_ids[0], AQL, ring_size=1024)  # 16 slots
    sig = Signals(k)
    done, v, ev = sig.new(40)
    deadline = time.monotonic() + 10
    for _ in range(40):
        while q.wptr - q.read_pointer >= 16 and time.monotonic() < deadline:
            time.sleep(0.0005)  # ring full: wait for the CP, as a producer must
        k.submit_aql(q, barrier_packet(BARRIER_AND, [], done))
    while v[0] and time.monotonic() < deadline:
        assert wait_event(k, ev) == COMPLETE  # each completion raises the event
        k.ioctl(F.AMDKFD_IOC_RESET_EVENT, F.kfd_ioctl_reset_event_args(event_id=ev))
    assert v[0] == 0 and q.read_pointer == 40


def test_doorbell_before_header_waits_for_the_header(aql):
    k, q, sig = aql
    done, v, ev = sig.new(1)
    packet = barrier_packet(BARRIER_AND, [], done)
    q.ring.view(np.uint8)[2:64] = np.frombuffer(packet[2:], np.uint8)
    q.doorbell.ring(0)  # rung early: the header still says INVALID
    assert wait_event(k, ev, 20) == TIMEOUT
    q.ring.view(np.uint16)[0] = struct.unpack_from("<H", packet)[0]
    assert wait_event(k, ev) == COMPLETE


def test_pm4_ib_inside_aql(aql):
    k, q, sig = aql
    done, v, ev = sig.new(1)
    out = k.alloc(k.gpu_ids[0], PAGE, GTT_FLAGS)
    ib = k.alloc(k.gpu_ids[0], PAGE, GTT_FLAGS)
    cmds = release_mem(out.va, 0xDEADBEEF)
    ib.view(np.uint32)[:len(cmds)] = cmds
    k.submit_aql(q, pm4_ib_packet(ib.va, len(cmds), done))
    assert wait_event(k, ev) == COMPLETE
    assert out.view(np.uint32)[0] == 0xDEADBEEF


def test_bad_dispatch_packets_are_reported(kfd1):
    k = kfd1
    g = k.gpu_ids[0]
    hw = k.create_event(F.KFD_IOC_EVENT_HW_EXCEPTION).event_id
    mem = k.create_event(F.KFD_IOC_EVENT_MEMORY).event_id
    q = k.create_queue(g, AQL)
    k.submit_aql(q, dispatch_packet(0x1000, dims=0))  # no dimensions
    result, data = k.wait([hw], WAIT_MS)
    assert result == COMPLETE and data[0].hw_exception_data.gpu_id == g
    q2 = k.create_queue(g, AQL)
    k.submit_aql(q2, dispatch_packet(0x7654_3000))  # a kernel object nobody mapped
    result, data = k.wait([mem], WAIT_MS)
    assert result == COMPLETE
    assert data[0].memory_exception_data.va == 0x7654_3000 and data[0].memory_exception_data.gpu_id == g
    # the ring is stuck at the faulting packet; destroying the queue still works at once
    stopped = threading.Event()
    threading.Thread(target=lambda: (k.destroy_queue(q2), stopped.set()), daemon=True).start()
    assert stopped.wait(5)
