"""A small libhsakmt-style client of the simulated driver for the tests: every step is the ioctl
(with kfd.abi structs) or mmap a runtime would issue against the real /dev/kfd."""

from __future__ import annotations

import ctypes
import struct
from dataclasses import dataclass

import numpy as np

from kfd import abi, hostmem
from kfd.errors import KFDError
from kfd.queue_sizes import QueueSizes

PAGE = 4096
F = abi
VRAM_FLAGS = (F.KFD_IOC_ALLOC_MEM_FLAGS_VRAM | F.KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE |
              F.KFD_IOC_ALLOC_MEM_FLAGS_EXECUTABLE | F.KFD_IOC_ALLOC_MEM_FLAGS_PUBLIC |
              F.KFD_IOC_ALLOC_MEM_FLAGS_NO_SUBSTITUTE)
GTT_FLAGS = (F.KFD_IOC_ALLOC_MEM_FLAGS_GTT | F.KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE |
             F.KFD_IOC_ALLOC_MEM_FLAGS_EXECUTABLE | F.KFD_IOC_ALLOC_MEM_FLAGS_UNCACHED |
             F.KFD_IOC_ALLOC_MEM_FLAGS_COHERENT | F.KFD_IOC_ALLOC_MEM_FLAGS_PUBLIC)


@dataclass
class Buffer:
    handle: int
    va: int
    size: int
    gpu_id: int
    mmap_offset: int

    def view(self, dtype=np.uint8, offset: int = 0, count: int | None = None) -> np.ndarray:
        n = (self.size - offset) // np.dtype(dtype).itemsize if count is None else count
        raw = (ctypes.c_uint8 * (n * np.dtype(dtype).itemsize)).from_address(self.va + offset)
        return np.frombuffer(raw, dtype=dtype)


@dataclass
class Queue:
    queue_id: int
    gpu_id: int
    kind: int
    ring: Buffer
    gart: Buffer          # read/write pointers (the AQL amd_queue_t lives here)
    doorbell: object
    rptr_offset: int
    wptr_offset: int
    ring_size: int
    wptr: int = 0

    @property
    def read_pointer(self) -> int:
        return int(self.gart.view(np.uint64, self.rptr_offset, 1)[0])


class Hsakmt:
    def __init__(self, driver):
        self.drv = driver
        self.gpu_ids = [n.gpu_id for n in driver.topology.gpus]
        self.buffers: list[Buffer] = []

    def ioctl(self, request, args):
        self.drv.ioctl(request, args)
        return args

    # --- bring-up -------------------------------------------------------------------------------

    def version(self) -> tuple[int, int]:
        a = self.ioctl(F.AMDKFD_IOC_GET_VERSION, F.kfd_ioctl_get_version_args())
        return a.major_version, a.minor_version

    def acquire_vm(self, gpu_id: int) -> None:
        self.ioctl(F.AMDKFD_IOC_ACQUIRE_VM, F.kfd_ioctl_acquire_vm_args(drm_fd=self.drv.drm_fd(gpu_id),
                                                                          gpu_id=gpu_id))

    def bring_up(self) -> Hsakmt:
        self.version()
        for g in self.gpu_ids:
            self.acquire_vm(g)
        return self

    # --- memory ---------------------------------------------------------------------------------

    def reserve(self, size: int) -> int:
        return self.drv.mmap(0, size, hostmem.PROT_NONE,
                             hostmem.MAP_PRIVATE | hostmem.MAP_ANONYMOUS | hostmem.MAP_NORESERVE)

    def alloc(self, gpu_id: int, size: int, flags: int = VRAM_FLAGS, *, map_to=None, va: int | None = None,
              cpu_map: bool = True) -> Buffer:
        size = (size + PAGE - 1) // PAGE * PAGE
        if va is None:
            va = self.reserve(size)
        a = self.ioctl(F.AMDKFD_IOC_ALLOC_MEMORY_OF_GPU, F.kfd_ioctl_alloc_memory_of_gpu_args(
            va_addr=va, size=size, gpu_id=gpu_id, flags=flags))
        buf = Buffer(a.handle, va, size, gpu_id, a.mmap_offset)
        if cpu_map and flags & (F.KFD_IOC_ALLOC_MEM_FLAGS_VRAM | F.KFD_IOC_ALLOC_MEM_FLAGS_GTT):
            got = self.drv.mmap(a.mmap_offset, size, hostmem.PROT_READ | hostmem.PROT_WRITE,
                                hostmem.MAP_SHARED, address=va, gpu_id=gpu_id)
            assert got == va
        self.map(buf, [gpu_id] if map_to is None else map_to)
        self.buffers.append(buf)
        return buf

    def map(self, buf: Buffer, gpu_ids: list[int], n_success: int = 0) -> int:
        if not gpu_ids:
            return 0
        ids = (ctypes.c_uint32 * len(gpu_ids))(*gpu_ids)
        a = F.kfd_ioctl_map_memory_to_gpu_args(handle=buf.handle, device_ids_array_ptr=ctypes.addressof(ids),
                                               n_devices=len(gpu_ids), n_success=n_success)
        self.ioctl(F.AMDKFD_IOC_MAP_MEMORY_TO_GPU, a)
        return a.n_success

    def unmap(self, buf: Buffer, gpu_ids: list[int]) -> int:
        ids = (ctypes.c_uint32 * len(gpu_ids))(*gpu_ids)
        a = F.kfd_ioctl_unmap_memory_from_gpu_args(handle=buf.handle, device_ids_array_ptr=ctypes.addressof(ids),
                                                   n_devices=len(gpu_ids))
        self.ioctl(F.AMDKFD_IOC_UNMAP_MEMORY_FROM_GPU, a)
        return a.n_success

    def free(self, buf: Buffer, gpu_ids: list[int] | None = None) -> None:
        try:
            self.unmap(buf, gpu_ids or [buf.gpu_id])
        except KFDError:
            pass
        self.ioctl(F.AMDKFD_IOC_FREE_MEMORY_OF_GPU, F.kfd_ioctl_free_memory_of_gpu_args(handle=buf.handle))
        self.drv.munmap(buf.va, buf.size)

    # --- queues ---------------------------------------------------------------------------------

    def create_queue(self, gpu_id: int, kind: int, ring_size: int = 0x1000) -> Queue:
        ring = self.alloc(gpu_id, ring_size, GTT_FLAGS)
        gart = self.alloc(gpu_id, PAGE, GTT_FLAGS)
        a = F.kfd_ioctl_create_queue_args(ring_base_address=ring.va, ring_size=ring_size, gpu_id=gpu_id,
                                          queue_type=kind, queue_percentage=100, queue_priority=7)
        if kind == F.KFD_IOC_QUEUE_TYPE_COMPUTE_AQL:
            a.write_pointer_address, a.read_pointer_address = gart.va + 56, gart.va + 128
        else:
            a.write_pointer_address, a.read_pointer_address = gart.va + 8, gart.va
        if kind in (F.KFD_IOC_QUEUE_TYPE_COMPUTE, F.KFD_IOC_QUEUE_TYPE_COMPUTE_AQL):
            sizes = QueueSizes.for_node(self.drv.topology.node_by_gpu_id(gpu_id))
            eop = self.alloc(gpu_id, sizes.eop_buffer_size)
            cwsr = self.alloc(gpu_id, sizes.cwsr_bo_size)
            a.eop_buffer_address, a.eop_buffer_size = eop.va, sizes.eop_buffer_size
            a.ctx_save_restore_address = cwsr.va
            a.ctx_save_restore_size, a.ctl_stack_size = sizes.cwsr_size, sizes.ctl_stack_size
        self.ioctl(F.AMDKFD_IOC_CREATE_QUEUE, a)
        doorbell = self.drv.doorbell(gpu_id, a.doorbell_offset)
        rptr_off, wptr_off = a.read_pointer_address - gart.va, a.write_pointer_address - gart.va
        if kind == F.KFD_IOC_QUEUE_TYPE_COMPUTE_AQL:
            ring.view(np.uint32, 0, a.ring_size // 4)[::16] = 1  # every slot INVALID
        return Queue(a.queue_id, gpu_id, kind, ring, gart, doorbell, rptr_off, wptr_off, a.ring_size)

    def destroy_queue(self, q: Queue) -> None:
        self.ioctl(F.AMDKFD_IOC_DESTROY_QUEUE, F.kfd_ioctl_destroy_queue_args(queue_id=q.queue_id))

    def submit_dwords(self, q: Queue, dwords: list[int], unit_bytes: int) -> None:
        """PM4 (unit 4: wptr in dwords) or SDMA (unit 1: wptr in bytes) submission."""
        ring = q.ring.view(np.uint32, 0, q.ring_size // 4)
        pos = q.wptr * unit_bytes // 4
        for d in dwords:
            ring[pos % ring.size] = d & 0xFFFFFFFF
            pos += 1
        q.wptr = pos * 4 // unit_bytes
        q.gart.view(np.uint64, q.wptr_offset, 1)[0] = q.wptr
        q.doorbell.ring(q.wptr)

    def submit_aql(self, q: Queue, packet: bytes) -> int:
        """Write a 64-byte packet (header last) and ring the doorbell; returns its index."""
        assert len(packet) == 64
        slots = q.ring_size // 64
        index = q.wptr
        at = (index % slots) * 64
        ctypes.memmove(q.ring.va + at + 2, packet[2:], 62)
        ctypes.c_uint16.from_address(q.ring.va + at).value = struct.unpack_from("<H", packet)[0]
        q.wptr += 1
        q.gart.view(np.uint64, q.wptr_offset, 1)[0] = q.wptr
        q.doorbell.ring(index)
        return index

    # --- events ---------------------------------------------------------------------------------

    def create_event(self, kind: int = F.KFD_IOC_EVENT_SIGNAL, auto_reset: bool = False,
                     page: Buffer | None = None) -> F.kfd_ioctl_create_event_args:
        a = F.kfd_ioctl_create_event_args(event_type=kind, auto_reset=int(auto_reset),
                                          event_page_offset=page.handle if page else 0)
        return self.ioctl(F.AMDKFD_IOC_CREATE_EVENT, a)

    def wait(self, ids: list[int], timeout_ms: int, wait_all: bool = False):
        data = (F.kfd_event_data * max(1, len(ids)))()
        for i, e in enumerate(ids):
            data[i].event_id = e
        a = F.kfd_ioctl_wait_events_args(events_ptr=ctypes.addressof(data), num_events=len(ids),
                                         wait_for_all=int(wait_all), timeout=timeout_ms)
        self.ioctl(F.AMDKFD_IOC_WAIT_EVENTS, a)
        return a.wait_result, data


def signal_layout(buf: Buffer, offset: int = 0):
    """(value, mailbox, event_id) numpy views of an amd_signal_t in `buf`."""
    return (buf.view(np.int64, offset + 8, 1), buf.view(np.uint64, offset + 16, 1),
            buf.view(np.uint32, offset + 24, 1))
