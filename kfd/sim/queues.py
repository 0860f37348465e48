"""User-mode queues of the process (kfd_process_queue_manager + the buffer checks of kfd_queue.c).

CREATE_QUEUE validates its arguments like the kernel, checks that the ring, read and write
pointers (and for compute queues the EOP buffer and the CWSR area) are GPU-mapped buffers of
exactly the expected size, gives the queue a doorbell in the process doorbell slice and starts its
engine: the AQL or PM4 command processor, or an SDMA engine.
"""

from __future__ import annotations

import errno
import threading
from dataclasses import dataclass, field

from kfd import abi
from kfd.sim.engine import Engine, MemoryWatch
from kfd.sim.process import PAGE_SIZE, BufferObject, KernelError, ProcessDevice, SimProcess

ENOTSUPP = 524  # the kernel-internal "operation not supported" CREATE_QUEUE returns for bad types
TASK_SIZE = (1 << 47) - PAGE_SIZE  # the end of x86-64 user space: access_ok's limit
MAX_QUEUES_PER_DEVICE = 127
MAX_QUEUES_PER_PROCESS = 1024
DOORBELLS_PER_SLICE = abi.KFD_DOORBELL_SLICE_SIZE // 8
SDMA_DOORBELL_BASE = 0x100           # SDMA doorbells sit at fixed places per engine and queue
SDMA_DOORBELLS_PER_ENGINE = 0x10

QUEUE_TYPE_NAMES = {abi.KFD_IOC_QUEUE_TYPE_COMPUTE: "PM4 compute", abi.KFD_IOC_QUEUE_TYPE_SDMA: "SDMA",
                    abi.KFD_IOC_QUEUE_TYPE_COMPUTE_AQL: "AQL compute",
                    abi.KFD_IOC_QUEUE_TYPE_SDMA_XGMI: "SDMA XGMI"}
SDMA_TYPES = (abi.KFD_IOC_QUEUE_TYPE_SDMA, abi.KFD_IOC_QUEUE_TYPE_SDMA_XGMI)


def access_ok(address: int, size: int) -> bool:
    return address + size <= TASK_SIZE


def is_power_of_2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


@dataclass(eq=False)
class SimQueue:
    queue_id: int
    gpu_id: int
    type: int
    process: SimProcess
    ring_base: int
    ring_size: int
    write_pointer_address: int
    read_pointer_address: int
    doorbell_index: int
    percentage: int
    priority: int
    eop_buffer_address: int = 0
    ctx_save_restore_address: int = 0
    sdma_engine: int = -1
    sdma_queue: int = -1
    buffers: list[BufferObject] = field(default_factory=list)
    engine: Engine | None = None

    @property
    def doorbell_offset(self) -> int:
        return abi.kfd_mmap_offset(abi.KFD_MMAP_TYPE_DOORBELL, self.gpu_id, self.doorbell_index * 8)

    @property
    def is_active(self) -> bool:
        return self.ring_size > 0 and self.ring_base != 0 and (self.percentage & 0xFF) > 0

    @property
    def type_name(self) -> str:
        return QUEUE_TYPE_NAMES.get(self.type, str(self.type))


def check_common(percentage: int, priority: int, ring_base: int, ring_size: int) -> int:
    """The checks CREATE_QUEUE and UPDATE_QUEUE share; returns the (clamped) ring size."""
    if (percentage & 0xFF) > abi.KFD_MAX_QUEUE_PERCENTAGE:
        raise KernelError(errno.EINVAL, f"queue percentage {percentage & 0xFF} is over 100")
    if priority > abi.KFD_MAX_QUEUE_PRIORITY:
        raise KernelError(errno.EINVAL, f"queue priority {priority} is over {abi.KFD_MAX_QUEUE_PRIORITY}")
    if ring_base and not access_ok(ring_base, 8):
        raise KernelError(errno.EFAULT, f"ring address {ring_base:#x} is not a user address")
    if ring_size and not is_power_of_2(ring_size):
        raise KernelError(errno.EINVAL, f"ring size {ring_size:#x} is not a power of two")
    return max(ring_size, abi.KFD_MIN_QUEUE_RING_SIZE)


class QueueManager:
    def __init__(self, process: SimProcess, watch: MemoryWatch, hang_timeout: float):
        self.process = process
        self.watch = watch
        self.hang_timeout = hang_timeout
        self.lock = threading.RLock()
        self.queues: dict[int, SimQueue] = {}

    # --- buffer checks -------------------------------------------------------------------------

    def _buffer(self, pdd: ProcessDevice, address: int, size: int, what: str) -> BufferObject:
        """The buffer mapped on this GPU whose first page holds `address` and whose mapping is
        exactly `size` bytes (kfd_queue_buffer_get, which counts whole pages: a size below one
        page only asks for the start)."""
        mapping = pdd.page_table.find(address)
        pages = size // PAGE_SIZE
        if mapping is None or mapping.va != address & ~(PAGE_SIZE - 1) or \
                (pages and mapping.size != pages * PAGE_SIZE):
            found = "nothing" if mapping is None else f"a mapping at {mapping.va:#x}+{mapping.size:#x}"
            raise KernelError(errno.EINVAL, f"{what} at {address:#x} must be in the first page of a GPU "
                                            f"mapping of exactly {size:#x} bytes; found {found}")
        return mapping.owner

    def _acquire_buffers(self, pdd: ProcessDevice, args, ring_size: int) -> list[BufferObject]:
        bufs = [self._buffer(pdd, args.write_pointer_address, PAGE_SIZE, "the write pointer"),
                self._buffer(pdd, args.read_pointer_address, PAGE_SIZE, "the read pointer"),
                self._buffer(pdd, args.ring_base_address, ring_size, "the ring")]
        if args.ring_base_address % PAGE_SIZE:
            raise KernelError(errno.EINVAL, f"the ring at {args.ring_base_address:#x} must start its mapping")
        if args.queue_type in SDMA_TYPES:
            return bufs
        sizes = pdd.device.queue_sizes
        if args.eop_buffer_address:
            if args.eop_buffer_size != sizes.eop_buffer_size:
                raise KernelError(errno.EINVAL, f"EOP buffer size {args.eop_buffer_size:#x} is not "
                                                f"{sizes.eop_buffer_size:#x}")
            bufs.append(self._buffer(pdd, args.eop_buffer_address, sizes.eop_buffer_size, "the EOP buffer"))
        if args.ctl_stack_size != sizes.ctl_stack_size:
            raise KernelError(errno.EINVAL, f"control stack size {args.ctl_stack_size:#x} is not "
                                            f"{sizes.ctl_stack_size:#x}")
        if args.ctx_save_restore_size < sizes.cwsr_size:
            raise KernelError(errno.EINVAL, f"context save area size {args.ctx_save_restore_size:#x} is "
                                            f"below {sizes.cwsr_size:#x}")
        bufs.append(self._buffer(pdd, args.ctx_save_restore_address, sizes.cwsr_bo_size,
                                 "the context save area"))
        return bufs

    # --- create / destroy / update -------------------------------------------------------------

    def create(self, args) -> SimQueue:
        ring_size = check_common(args.queue_percentage, args.queue_priority, args.ring_base_address,
                                 args.ring_size)
        args.ring_size = ring_size
        for address, what in ((args.read_pointer_address, "read pointer"),
                              (args.write_pointer_address, "write pointer")):
            if not access_ok(address, 4):
                raise KernelError(errno.EFAULT, f"{what} {address:#x} is not a user address")
        for address, what in ((args.eop_buffer_address, "EOP buffer"),
                              (args.ctx_save_restore_address, "context save area")):
            if address and not access_ok(address, 4):
                raise KernelError(errno.EFAULT, f"{what} {address:#x} is not a user address")
        if args.queue_type not in QUEUE_TYPE_NAMES:
            raise KernelError(ENOTSUPP, f"queue type {args.queue_type} is not supported")
        p = self.process
        with p.lock, self.lock:
            pdd = p.pdd(args.gpu_id)
            if not pdd.bound:
                raise KernelError(errno.ESRCH, f"gpu_id {args.gpu_id:#x} has no VM: call ACQUIRE_VM first")
            bufs = self._acquire_buffers(pdd, args, ring_size)
            on_device = [q for q in self.queues.values() if q.gpu_id == args.gpu_id]
            if len(on_device) >= MAX_QUEUES_PER_DEVICE:
                raise KernelError(errno.ENOSPC, f"gpu_id {args.gpu_id:#x} already has {len(on_device)} queues")
            queue_id = next((i for i in range(MAX_QUEUES_PER_PROCESS) if i not in self.queues), None)
            if queue_id is None:
                raise KernelError(errno.ENOMEM, "no free queue id")
            engine_id = queue_slot = -1
            if args.queue_type in SDMA_TYPES:
                engine_id, queue_slot, doorbell = self._sdma_slot(pdd, args.queue_type, on_device)
            else:
                doorbell = next((i for i in range(DOORBELLS_PER_SLICE) if i not in pdd.used_doorbells
                                 and not SDMA_DOORBELL_BASE <= i < 2 * SDMA_DOORBELL_BASE), None)
                if doorbell is None:
                    raise KernelError(errno.ENOMEM, "no free doorbell")
            q = SimQueue(queue_id, args.gpu_id, args.queue_type, p, args.ring_base_address, ring_size,
                         args.write_pointer_address, args.read_pointer_address, doorbell,
                         args.queue_percentage, args.queue_priority, args.eop_buffer_address,
                         args.ctx_save_restore_address, engine_id, queue_slot, bufs)
            pdd.doorbell_page()
            pdd.used_doorbells.add(doorbell)
            for bo in bufs:
                bo.queue_refs += 1
            q.engine = self._make_engine(q, pdd)
            q.engine.set_active(q.is_active)
            self.queues[queue_id] = q
            q.engine.start()
            args.queue_id = queue_id
            args.doorbell_offset = q.doorbell_offset
            return q

    def _sdma_slot(self, pdd: ProcessDevice, queue_type: int, on_device: list[SimQueue]):
        engines = pdd.device.sdma_engines
        if queue_type == abi.KFD_IOC_QUEUE_TYPE_SDMA_XGMI:
            engines = pdd.device.node.num_sdma_xgmi_engines
        per_engine = pdd.device.sdma_queues_per_engine
        taken = {(q.sdma_engine, q.sdma_queue) for q in on_device if q.type in SDMA_TYPES}
        for sdma_id in range(engines * per_engine):
            engine, slot = sdma_id % engines, sdma_id // engines
            if (engine, slot) not in taken:
                return engine, slot, SDMA_DOORBELL_BASE + engine * SDMA_DOORBELLS_PER_ENGINE + slot
        raise KernelError(errno.ENOMEM, f"all {engines * per_engine} SDMA queues of gpu_id "
                                        f"{pdd.gpu_id:#x} are in use")

    def _make_engine(self, q: SimQueue, pdd: ProcessDevice) -> Engine:
        if q.type in SDMA_TYPES:
            from kfd.sim.sdma import SdmaEngine as engine
        elif q.type == abi.KFD_IOC_QUEUE_TYPE_COMPUTE_AQL:
            from kfd.sim.cp_aql import AqlEngine as engine
        else:
            from kfd.sim.cp_pm4 import Pm4Engine as engine
        return engine(q, pdd.page_table, self.watch, self.hang_timeout, pdd.device)

    def destroy(self, queue_id: int) -> None:
        with self.lock:
            q = self.queues.get(queue_id)
            if q is None:
                raise KernelError(errno.EINVAL, f"queue id {queue_id} does not match any known queue")
            del self.queues[queue_id]
        q.engine.stop()  # preempts whatever runs on it
        with self.process.lock:
            for bo in q.buffers:
                bo.queue_refs -= 1
            self.process.pdds[q.gpu_id].used_doorbells.discard(q.doorbell_index)

    def update(self, args) -> None:
        ring_size = check_common(args.queue_percentage, args.queue_priority, args.ring_base_address,
                                 args.ring_size)
        with self.process.lock, self.lock:
            q = self.queues.get(args.queue_id)
            if q is None:
                raise KernelError(errno.EFAULT, f"queue id {args.queue_id} does not match any known queue")
            if args.ring_base_address and args.ring_size:
                pdd = self.process.pdds[q.gpu_id]
                mapping = pdd.page_table.find(args.ring_base_address)
                if mapping is None or mapping.va != args.ring_base_address or mapping.size != ring_size:
                    raise KernelError(errno.EFAULT, f"the new ring at {args.ring_base_address:#x} is not a "
                                                    f"GPU mapping of exactly {ring_size:#x} bytes")
                old = q.buffers[2]
                old.queue_refs -= 1
                mapping.owner.queue_refs += 1
                q.buffers[2] = mapping.owner
            with q.engine.cv:
                q.ring_base = args.ring_base_address
                q.ring_size = ring_size if args.ring_base_address else 0
                q.percentage = args.queue_percentage
                q.priority = args.queue_priority
            q.engine.set_active(q.is_active)

    def find_by_doorbell(self, gpu_id: int, index: int) -> SimQueue | None:
        with self.lock:
            for q in self.queues.values():
                if q.gpu_id == gpu_id and q.doorbell_index == index:
                    return q
            return None

    def close(self) -> None:
        with self.lock:
            queues = list(self.queues)
        for queue_id in queues:
            self.destroy(queue_id)
