"""Queues of the simulated GPU: creation checks and the SDMA and PM4 engines, through doorbells."""

import ctypes
import errno
import threading
import time

import numpy as np
import pytest
from hsakmt import GTT_FLAGS, PAGE, Buffer
from hypothesis import given, settings
from hypothesis import strategies as st
from test_sim_memory import errno_of

from kfd import abi as F
from kfd.queue_sizes import QueueSizes

SDMA, PM4, AQL = F.KFD_IOC_QUEUE_TYPE_SDMA, F.KFD_IOC_QUEUE_TYPE_COMPUTE, F.KFD_IOC_QUEUE_TYPE_COMPUTE_AQL
COMPLETE, TIMEOUT = F.KFD_IOC_WAIT_RESULT_COMPLETE, F.KFD_IOC_WAIT_RESULT_TIMEOUT
WAIT_MS = 5000


def lo(x):
    return x & 0xFFFFFFFF


def hi(x):
    return x >> 32


def sdma_copy(dst, src, n):
    return [1, n - 1, 0, lo(src), hi(src), lo(dst), hi(dst)]


def sdma_fence(address, value):
    return [5, lo(address), hi(address), value]


def sdma_signal(page, event_id):
    """Write the event id into its slot, then trap with it (what a runtime does to raise an event)."""
    return sdma_fence(page.va + 8 * event_id, event_id) + [6, event_id]


def pm4(op, *body):
    return [3 << 30 | (len(body) - 1) << 16 | op << 8, *body]


def release_mem(address, value, event_id=0, data_sel=1):
    int_sel = 2 if event_id else 0
    return pm4(0x49, 0x14 | 5 << 8, int_sel << 24 | data_sel << 29, lo(address), hi(address), lo(value),
               hi(value), event_id)


@pytest.fixture
def events(kfd1):
    page = kfd1.alloc(kfd1.gpu_ids[0], F.KFD_EVENT_PAGE_SIZE, GTT_FLAGS)
    kfd1.create_event(page=page)  # sets the page; id 1 is spare
    return page


def wait_event(k, event_id, timeout=WAIT_MS):
    return k.wait([event_id], timeout)[0]


def test_create_each_queue_type_and_destroy(kfd1):
    g = kfd1.gpu_ids[0]
    queues = [kfd1.create_queue(g, kind) for kind in (SDMA, PM4, AQL, SDMA)]
    assert len({q.queue_id for q in queues}) == 4
    offsets = {q.doorbell.doorbell_offset for q in queues}
    assert len(offsets) == 4
    assert all(o & F.KFD_MMAP_TYPE_MASK == F.KFD_MMAP_TYPE_DOORBELL and F.KFD_MMAP_GET_GPU_ID(o) == g
               for o in offsets)
    for q in queues:
        kfd1.destroy_queue(q)
    assert errno_of(kfd1.ioctl, F.AMDKFD_IOC_DESTROY_QUEUE,
                    F.kfd_ioctl_destroy_queue_args(queue_id=queues[0].queue_id)) == errno.EINVAL


def queue_args(k, kind=AQL, ring_size=PAGE):
    g = k.gpu_ids[0]
    ring = k.alloc(g, ring_size, GTT_FLAGS)
    gart = k.alloc(g, PAGE, GTT_FLAGS)
    sizes = QueueSizes.for_node(k.drv.topology.gpus[0])
    eop = k.alloc(g, sizes.eop_buffer_size)
    cwsr = k.alloc(g, sizes.cwsr_bo_size)
    return F.kfd_ioctl_create_queue_args(
        ring_base_address=ring.va, ring_size=ring_size, gpu_id=g, queue_type=kind, queue_percentage=100,
        queue_priority=7, write_pointer_address=gart.va + 56, read_pointer_address=gart.va + 128,
        eop_buffer_address=eop.va, eop_buffer_size=sizes.eop_buffer_size, ctx_save_restore_address=cwsr.va,
        ctx_save_restore_size=sizes.cwsr_size, ctl_stack_size=sizes.ctl_stack_size)


@pytest.mark.parametrize("field, value, expected", [
    ("queue_type", 9, 524), ("queue_percentage", 101, errno.EINVAL), ("queue_priority", 16, errno.EINVAL),
    ("ring_size", 3000, errno.EINVAL), ("ring_size", 2 * PAGE, errno.EINVAL),  # bigger than its buffer
    ("gpu_id", 0x999, errno.EINVAL), ("read_pointer_address", 1 << 47, errno.EFAULT),
    ("write_pointer_address", 0, errno.EINVAL), ("eop_buffer_size", 0x2000, errno.EINVAL),
    ("ctl_stack_size", 0x1000, errno.EINVAL), ("ctx_save_restore_size", 0x1000, errno.EINVAL),
    ("ctx_save_restore_address", 0, errno.EINVAL), ("ring_base_address", 1 << 47, errno.EFAULT),
])
def test_create_queue_errors(kfd1, field, value, expected):
    a = queue_args(kfd1)
    setattr(a, field, value)
    assert errno_of(kfd1.ioctl, F.AMDKFD_IOC_CREATE_QUEUE, a) == expected
    good = queue_args(kfd1)
    kfd1.ioctl(F.AMDKFD_IOC_CREATE_QUEUE, good)  # still usable
    assert good.queue_id == 0


def test_small_rings_are_clamped(kfd1):
    a = queue_args(kfd1, ring_size=PAGE)
    a.ring_size = 512
    kfd1.ioctl(F.AMDKFD_IOC_CREATE_QUEUE, a)
    assert a.ring_size == 1024  # the kernel's minimum, written back


def test_create_queue_needs_exact_buffers(kfd1):
    a = queue_args(kfd1)
    a.ring_base_address += 64  # not the start of the ring's mapping... but still in its first page
    assert errno_of(kfd1.ioctl, F.AMDKFD_IOC_CREATE_QUEUE, a) == errno.EINVAL
    a = queue_args(kfd1)
    big = kfd1.alloc(kfd1.gpu_ids[0], 2 * PAGE, GTT_FLAGS)
    a.read_pointer_address = big.va  # pointers need a one-page buffer
    assert errno_of(kfd1.ioctl, F.AMDKFD_IOC_CREATE_QUEUE, a) == errno.EINVAL
    a = queue_args(kfd1)
    ring = kfd1.drv._process.pdds[a.gpu_id].page_table.find(a.ring_base_address).owner
    kfd1.unmap(Buffer(ring.handle, ring.va, ring.size, ring.gpu_id, ring.mmap_offset), [a.gpu_id])
    assert errno_of(kfd1.ioctl, F.AMDKFD_IOC_CREATE_QUEUE, a) == errno.EINVAL  # the ring is not GPU-mapped


def test_queue_buffers_cannot_be_freed_while_in_use(kfd1):
    a = queue_args(kfd1, SDMA)
    kfd1.ioctl(F.AMDKFD_IOC_CREATE_QUEUE, a)
    ring = kfd1.drv._process.pdds[a.gpu_id].page_table.find(a.ring_base_address).owner
    ids = (ctypes.c_uint32 * 1)(a.gpu_id)
    kfd1.ioctl(F.AMDKFD_IOC_UNMAP_MEMORY_FROM_GPU, F.kfd_ioctl_unmap_memory_from_gpu_args(
        handle=ring.handle, device_ids_array_ptr=ctypes.addressof(ids), n_devices=1))
    free = F.kfd_ioctl_free_memory_of_gpu_args(handle=ring.handle)
    assert errno_of(kfd1.ioctl, F.AMDKFD_IOC_FREE_MEMORY_OF_GPU, free) == errno.EBUSY
    kfd1.ioctl(F.AMDKFD_IOC_DESTROY_QUEUE, F.kfd_ioctl_destroy_queue_args(queue_id=a.queue_id))
    kfd1.ioctl(F.AMDKFD_IOC_FREE_MEMORY_OF_GPU, free)


def test_sdma_queues_run_out(kfd1):
    node = kfd1.drv.topology.gpus[0]
    total = node.num_sdma_engines * node.num_sdma_queues_per_engine
    queues = [kfd1.create_queue(kfd1.gpu_ids[0], SDMA) for _ in range(total)]
    assert len(queues) == 12
    with pytest.raises(OSError) as info:
        kfd1.create_queue(kfd1.gpu_ids[0], SDMA)
    assert info.value.errno == errno.ENOMEM


def test_sdma_copy_between_gpus_fence_and_trap(kfd4):
    g = kfd4.gpu_ids
    page = kfd4.alloc(g[0], F.KFD_EVENT_PAGE_SIZE, GTT_FLAGS, map_to=g)
    ev = kfd4.create_event(page=page).event_id
    src = kfd4.alloc(g[0], 1 << 20, map_to=[g[0], g[3]])
    dst = kfd4.alloc(g[3], 1 << 20, map_to=[g[3]])
    fence = kfd4.alloc(g[3], PAGE, GTT_FLAGS)
    data = np.random.default_rng(1).integers(0, 2**32, 1 << 18, dtype=np.uint32)
    src.view(np.uint32)[:] = data
    q = kfd4.create_queue(g[3], SDMA)  # the destination GPU's engine pulls from its peer
    kfd4.submit_dwords(q, sdma_copy(dst.va, src.va, 1 << 20) + sdma_fence(fence.va, 77)
                       + sdma_signal(page, ev), 1)
    assert wait_event(kfd4, ev) == COMPLETE
    assert np.array_equal(dst.view(np.uint32), data)
    assert fence.view(np.uint32)[0] == 77
    assert q.read_pointer == q.wptr  # bytes consumed, written back


def test_sdma_copy_needs_the_peer_mapped(kfd4):
    g = kfd4.gpu_ids
    mem_ev = kfd4.create_event(F.KFD_IOC_EVENT_MEMORY).event_id
    src = kfd4.alloc(g[0], PAGE)              # mapped on GPU 0 only
    dst = kfd4.alloc(g[1], PAGE)
    q = kfd4.create_queue(g[1], SDMA)
    kfd4.submit_dwords(q, sdma_copy(dst.va, src.va + 64, 128), 1)
    result, data = kfd4.wait([mem_ev], WAIT_MS)
    assert result == COMPLETE
    info = data[0].memory_exception_data
    assert (info.va, info.gpu_id, info.failure.NotPresent) == (src.va, g[1], 1)  # the page, as the kernel says
    assert kfd4.drv.faults[-1]["address"] == src.va + 64
    assert kfd4.drv.queue_error(q.queue_id) is not None
    # the faulting queue stopped; another queue on the same GPU and other GPUs work on
    other = kfd4.create_queue(g[1], SDMA)
    page = kfd4.alloc(g[1], F.KFD_EVENT_PAGE_SIZE, GTT_FLAGS)
    ev = kfd4.create_event(page=page).event_id
    ok = kfd4.alloc(g[1], PAGE)
    ok.view(np.uint8)[:] = 9
    kfd4.submit_dwords(other, sdma_copy(dst.va, ok.va, PAGE) + sdma_signal(page, ev), 1)
    assert wait_event(kfd4, ev) == COMPLETE
    assert (dst.view(np.uint8) == 9).all()


@settings(max_examples=15, deadline=None)
@given(size=st.integers(1, 3 * PAGE), src_off=st.integers(0, PAGE), dst_off=st.integers(0, PAGE),
       fill=st.integers(0, 2**32 - 1), unit=st.sampled_from([0, 2]))
def test_sdma_copy_and_fill_match_numpy(kfd_sdma, size, src_off, dst_off, fill, unit):
    k, q, page, ev, src, dst = kfd_sdma
    rng = np.random.default_rng(size)
    src.view(np.uint8)[:] = rng.integers(0, 256, src.size, dtype=np.uint8)
    dst.view(np.uint8)[:] = 0
    expect = dst.view(np.uint8).copy()
    expect[dst_off:dst_off + size] = src.view(np.uint8)[src_off:src_off + size]
    fill_at, fill_len = dst_off + size, 64
    element = (fill | fill << 32).to_bytes(8, "little")[:1 << unit]
    expect[fill_at:fill_at + fill_len] = np.frombuffer(element * (fill_len // len(element)), np.uint8)
    k.submit_dwords(q, sdma_copy(dst.va + dst_off, src.va + src_off, size)
                    + [11 | unit << 30, lo(dst.va + fill_at), hi(dst.va + fill_at), fill, fill_len - 1]
                    + sdma_signal(page, ev), 1)
    assert wait_event(k, ev) == COMPLETE
    assert np.array_equal(dst.view(np.uint8), expect)


@pytest.fixture(scope="module")
def kfd_sdma():
    from hsakmt import Hsakmt

    from kfd.sim import SimDriver
    with SimDriver(1, hang_timeout=1.0) as drv:
        k = Hsakmt(drv).bring_up()
        g = k.gpu_ids[0]
        page = k.alloc(g, F.KFD_EVENT_PAGE_SIZE, GTT_FLAGS)
        ev = k.create_event(page=page, auto_reset=True).event_id
        q = k.create_queue(g, SDMA, ring_size=1 << 16)
        # the destination holds the largest copy (3 pages from an offset of up to a page) and the fill after it
        yield k, q, page, ev, k.alloc(g, 4 * PAGE), k.alloc(g, 5 * PAGE)


def test_sdma_poll_waits_for_cpu_memory_and_timestamps(kfd1, events):
    g = kfd1.gpu_ids[0]
    ev = kfd1.create_event().event_id
    flag = kfd1.alloc(g, PAGE, GTT_FLAGS)
    out = kfd1.alloc(g, PAGE, GTT_FLAGS)
    q = kfd1.create_queue(g, SDMA)
    poll = [8 | 3 << 28 | 1 << 31, lo(flag.va), hi(flag.va), 5, 0xFFFFFFFF, 4 | 0xFFF << 16]  # == 5, forever
    stamp = [13 | 2 << 8, lo(out.va), hi(out.va)]
    kfd1.submit_dwords(q, stamp + poll + [13 | 2 << 8, lo(out.va + 8), hi(out.va + 8)]
                       + sdma_signal(events, ev), 1)
    assert wait_event(kfd1, ev, 30) == TIMEOUT    # held at the poll
    flag.view(np.uint32)[0] = 5                   # a plain CPU store releases it
    assert wait_event(kfd1, ev) == COMPLETE
    first, second = out.view(np.uint64, 0, 2)
    assert 0 < first < second


def test_pm4_release_mem_write_data_wait_and_indirect_buffer(kfd1, events):
    g = kfd1.gpu_ids[0]
    ev = kfd1.create_event().event_id
    mem = kfd1.alloc(g, PAGE, GTT_FLAGS)
    ib = kfd1.alloc(g, PAGE, GTT_FLAGS)
    ib_cmds = pm4(0x37, 5 << 8 | 1 << 20, lo(mem.va + 16), hi(mem.va + 16), 0xAAAA, 0xBBBB)  # WRITE_DATA
    ib.view(np.uint32)[:len(ib_cmds)] = ib_cmds
    q = kfd1.create_queue(g, PM4)
    cmds = (pm4(0x58, 0, 0xFFFFFFFF, 0xFF, 0, 0, 10, 0)                      # ACQUIRE_MEM
            + pm4(0x3F, lo(ib.va), hi(ib.va), len(ib_cmds) | 1 << 23)        # INDIRECT_BUFFER
            + pm4(0x3C, 3 | 1 << 4, lo(mem.va + 32), hi(mem.va + 32), 42, 0xFFFFFFFF, 4)  # WAIT_REG_MEM ==
            + release_mem(mem.va, 0x1_0000_0001, data_sel=2)
            + release_mem(events.va + 8 * ev, ev, ev))                      # event slot + interrupt
    kfd1.submit_dwords(q, cmds, 4)
    assert wait_event(kfd1, ev, 30) == TIMEOUT
    assert list(mem.view(np.uint32, 16, 2)) == [0xAAAA, 0xBBBB]  # the IB ran before the wait
    mem.view(np.uint32)[8] = 42
    assert wait_event(kfd1, ev) == COMPLETE
    assert mem.view(np.uint64)[0] == 0x1_0000_0001
    assert q.read_pointer == q.wptr == len(cmds)


def test_bad_pm4_packet_resets_only_that_queue(kfd1, events):
    g = kfd1.gpu_ids[0]
    hw = kfd1.create_event(F.KFD_IOC_EVENT_HW_EXCEPTION).event_id
    q = kfd1.create_queue(g, PM4)
    kfd1.submit_dwords(q, pm4(0xEE, 0), 4)
    result, data = kfd1.wait([hw], WAIT_MS)
    assert result == COMPLETE
    assert data[0].hw_exception_data.gpu_id == g
    assert data[0].hw_exception_data.reset_cause == F.KFD_HW_EXCEPTION_GPU_HANG
    assert "opcode 0xee" in str(kfd1.drv.queue_error(q.queue_id))
    other = kfd1.create_queue(g, PM4)
    ev = kfd1.create_event().event_id
    kfd1.submit_dwords(other, release_mem(events.va + 8 * ev, ev, ev), 4)
    assert wait_event(kfd1, ev) == COMPLETE


def test_destroy_preempts_a_waiting_queue_and_update_deactivates(kfd1, events):
    g = kfd1.gpu_ids[0]
    flag = kfd1.alloc(g, PAGE, GTT_FLAGS)
    q = kfd1.create_queue(g, PM4)
    kfd1.submit_dwords(q, pm4(0x3C, 3 | 1 << 4, lo(flag.va), hi(flag.va), 1, 1, 4), 4)  # never satisfied
    time.sleep(0.01)
    done = threading.Event()
    threading.Thread(target=lambda: (kfd1.destroy_queue(q), done.set()), daemon=True).start()
    assert done.wait(5)
    # a queue at 0 percent is inactive: its doorbell does not run it until re-activated
    ev = kfd1.create_event().event_id
    q2 = kfd1.create_queue(g, PM4)
    upd = F.kfd_ioctl_update_queue_args(ring_base_address=q2.ring.va, queue_id=q2.queue_id,
                                        ring_size=q2.ring.size, queue_percentage=0, queue_priority=7)
    kfd1.ioctl(F.AMDKFD_IOC_UPDATE_QUEUE, upd)
    kfd1.submit_dwords(q2, release_mem(events.va + 8 * ev, ev, ev), 4)
    assert wait_event(kfd1, ev, 30) == TIMEOUT
    upd.queue_percentage = 100
    kfd1.ioctl(F.AMDKFD_IOC_UPDATE_QUEUE, upd)
    assert wait_event(kfd1, ev) == COMPLETE
    upd.queue_id = 77
    assert errno_of(kfd1.ioctl, F.AMDKFD_IOC_UPDATE_QUEUE, upd) == errno.EFAULT
    upd.queue_id, upd.ring_size = q2.queue_id, 3000
    assert errno_of(kfd1.ioctl, F.AMDKFD_IOC_UPDATE_QUEUE, upd) == errno.EINVAL
