"""User-mode queues: AQL compute queues and SDMA queues, behind one abstraction.

A queue is a ring in GPU-visible memory, read and write pointers, and a doorbell. The runtime
writes packets into the ring, publishes the new write pointer, and rings the doorbell; the
engine (the CP's AQL packet processor or an SDMA engine) works through them and reports
completion through signals. Every submission carries a signal; the queue keeps the submission
(and the buffers it uses) until that signal reaches 0, so nothing is freed or reused under the
GPU. After a fault or a timeout the queue is destroyed and created again with the same memory.
"""

from __future__ import annotations

import abc
import collections
import ctypes
import functools
import struct
import threading
import time

from amdrt.errors import AmdrtError, InvalidArgument
from amdrt.kernargs import LaunchContext
from amdrt.signal import Signal
from kfd import abi, hsa, sdma_packets
from kfd.queue_sizes import QueueSizes

QUEUE_PRIORITY_NORMAL = 7      # the KFD priority ROCr uses for HSA's default priority
RETIRE_POLL_S = 50e-6          # the engine finishes retiring a packet it has just completed


class _Work:
    """A submission in flight: its end position in the ring, its signal, what it keeps alive."""

    __slots__ = ("end", "signal", "refs")

    def __init__(self, end: int, signal: Signal, refs):
        self.end = end
        self.signal = signal
        self.refs = refs


class Queue(abc.ABC):
    """What AQL and SDMA queues share: creation, doorbell, in-flight work, reset and teardown."""

    kind = "queue"
    queue_type = -1

    def __init__(self, device):
        self.device = device
        self.runtime = device.runtime
        self.driver = device.runtime.driver
        self.lock = threading.RLock()
        self.pending: collections.deque[_Work] = collections.deque()
        self.event_id, self.mailbox = self.runtime.events.create_signal_event()
        self.queue_id: int | None = None
        self.doorbell = None
        self.resets = 0
        self._allocations = []
        try:
            self._allocate()
            self._start()
        except BaseException:
            self._release()
            raise

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.device.name}, queue_id={self.queue_id}, pending={len(self.pending)})"

    # --- lifecycle -------------------------------------------------------------------------------

    def _alloc(self, nbytes: int, domain: str, **kw):
        alloc = self.runtime.memory.allocate(self.device.gpu_id, nbytes, domain, **kw)
        self._allocations.append(alloc)
        return alloc

    @abc.abstractmethod
    def _allocate(self) -> None:
        """Allocate the ring and the other memory the queue lives in."""

    @abc.abstractmethod
    def _initialise_memory(self) -> None:
        """Put the queue memory in its initial state (before every CREATE_QUEUE)."""

    @abc.abstractmethod
    def _create_args(self) -> abi.kfd_ioctl_create_queue_args:
        """CREATE_QUEUE arguments for the queue's memory (type, GPU and priority are added)."""

    def _start(self) -> None:
        self._initialise_memory()
        args = self._create_args()
        args.gpu_id = self.device.gpu_id
        args.queue_type = self.queue_type
        args.queue_percentage = 100
        args.queue_priority = QUEUE_PRIORITY_NORMAL
        self.driver.ioctl(abi.AMDKFD_IOC_CREATE_QUEUE, args)
        self.queue_id = args.queue_id
        self.doorbell = self.driver.doorbell(self.device.gpu_id, args.doorbell_offset)

    def _stop(self) -> None:
        if self.queue_id is not None:
            queue_id, self.queue_id = self.queue_id, None
            self.driver.ioctl(abi.AMDKFD_IOC_DESTROY_QUEUE, abi.kfd_ioctl_destroy_queue_args(queue_id=queue_id))

    def _release(self) -> None:
        for alloc in self._allocations:
            self.runtime.memory.release(alloc)
        self._allocations.clear()
        if self.event_id is not None:
            self.runtime.events.destroy(self.event_id)
            self.event_id = None

    def close(self) -> None:
        with self.lock:
            self._stop()
            for work in self.pending:
                if work.signal.error is None and work.signal.value > 0:
                    work.signal.error = AmdrtError(f"{self.device.name}: the queue was closed before "
                                                   f"{work.signal.label or 'the work'} finished")
            self.pending.clear()
            self._release()

    def reset(self, error: Exception) -> None:
        """Destroy the queue (stopping whatever runs on it), fail its unfinished work with
        `error` (each signal gets its own copy naming its work), and create it again."""
        with self.lock:
            self._stop()
            for work in self.pending:
                signal = work.signal
                if signal.error is None and signal.value > 0:
                    signal.error = error
            self.pending.clear()
            self.resets += 1
            self._start()
        # Wake anyone sleeping on this queue's event so they see the failure.
        self.driver.ioctl(abi.AMDKFD_IOC_SET_EVENT, abi.kfd_ioctl_set_event_args(event_id=self.event_id))

    # --- work in flight --------------------------------------------------------------------------

    def reap(self) -> None:
        """Forget finished submissions (releasing what they kept alive)."""
        pending = self.pending
        while pending and pending[0].signal._cell.value <= 0:
            pending.popleft()

    @property
    def busy(self) -> bool:
        self.reap()
        return bool(self.pending)

    @property
    def current_label(self) -> str | None:
        """What the oldest unfinished submission runs (for error messages)."""
        self.reap()
        return self.pending[0].signal.label if self.pending else None

    def synchronize(self, timeout: float | None = None) -> None:
        """Wait until everything submitted so far has finished."""
        while True:
            with self.lock:
                self.reap()
                if not self.pending:
                    return
                signal = self.pending[-1].signal
            signal.wait(timeout)

    def _wait_oldest(self) -> None:
        self.reap()
        if self.pending:
            self.pending[0].signal.wait()
        else:
            time.sleep(RETIRE_POLL_S)

    def _foreign(self, after) -> list[Signal]:
        """Dependencies that are not already ordered by this queue and not yet complete."""
        deps = []
        for s in after:
            if not isinstance(s, Signal):
                raise InvalidArgument(f"after= takes Signals, got {type(s).__name__}")
            if s.error is not None:
                raise s.error
            if s.queue is not self and s._cell.value > 0:
                deps.append(s)
        return deps


# --- AQL compute queues ---------------------------------------------------------------------------

_DISPATCH_BODY = struct.Struct("<HHHHIIIIIQQQQ")  # the dispatch packet after header and setup
_BARRIER_BODY = struct.Struct("<HI5QQQ")           # the barrier packet after its header
_DISPATCH_HEADER = hsa.header(hsa.PACKET_TYPE_KERNEL_DISPATCH)
_BARRIER_AND_HEADER = hsa.header(hsa.PACKET_TYPE_BARRIER_AND)
_INVALID_HEADER = hsa.PACKET_TYPE_INVALID


class ComputeQueue(Queue):
    """An AQL queue on the GPU's command processor: kernel dispatch and barrier packets."""

    kind = "compute"
    queue_type = abi.KFD_IOC_QUEUE_TYPE_COMPUTE_AQL
    slots = 1024            # packets in the ring
    kernarg_slot = 1024     # kernarg bytes kept with each ring slot

    def _allocate(self) -> None:
        sizes = QueueSizes.for_node(self.device.node)
        self.sizes = sizes
        self.ring = self._alloc(self.slots * hsa.AQL_PACKET_SIZE, "gtt", uncached=True)
        self.amd_queue_mem = self._alloc(4096, "gtt", uncached=True)
        self.kernarg_mem = self._alloc(self.slots * self.kernarg_slot, "gtt")
        self.eop = self._alloc(sizes.eop_buffer_size, "vram", cpu=False)
        self.cwsr = self._alloc(sizes.cwsr_bo_size, "vram", cpu=False)
        self.amd_queue = hsa.AmdQueue.from_address(self.amd_queue_mem.va)
        self._ring_view = memoryview((ctypes.c_char * self.ring.size).from_address(self.ring.va)).cast("B")
        self._headers = (ctypes.c_uint32 * (self.ring.size // 4)).from_address(self.ring.va)
        self._kernargs = memoryview((ctypes.c_char * self.kernarg_mem.size).from_address(
            self.kernarg_mem.va)).cast("B")
        self.scratch = None
        self.scratch_lane_bytes = 0
        self._large_kernargs = None

    def _initialise_memory(self) -> None:
        for i in range(self.slots):
            self._headers[i * 16] = _INVALID_HEADER
        ctypes.memset(self.amd_queue_mem.va, 0, hsa.AMD_QUEUE_SIZE)
        q = self.amd_queue
        q.hsa_queue.type = hsa.QUEUE_TYPE_MULTI
        q.hsa_queue.features = hsa.QUEUE_FEATURE_KERNEL_DISPATCH
        q.hsa_queue.base_address = self.ring.va
        q.hsa_queue.size = self.slots
        q.hsa_queue.id = id(self) & 0xFFFFFFFF
        q.read_dispatch_id_field_base_byte_offset = hsa.READ_DISPATCH_ID_OFFSET
        node = self.device.node
        q.max_cu_id = max(node.cu_count - 1, 0)
        q.max_wave_id = max(node.prop("max_waves_per_simd") * node.prop("simd_per_cu") - 1, 0)
        q.group_segment_aperture_base_hi = self.device.apertures.lds_base >> 32
        q.private_segment_aperture_base_hi = self.device.apertures.scratch_base >> 32
        q.queue_properties = hsa.QUEUE_PROPERTIES_IS_PTR64 | hsa.QUEUE_PROPERTIES_ENABLE_PROFILING
        self._describe_scratch()
        self.write_index = 0

    def _create_args(self) -> abi.kfd_ioctl_create_queue_args:
        base = self.amd_queue_mem.va
        return abi.kfd_ioctl_create_queue_args(
            ring_base_address=self.ring.va, ring_size=self.ring.size,
            write_pointer_address=base + hsa.WRITE_DISPATCH_ID_OFFSET,
            read_pointer_address=base + hsa.READ_DISPATCH_ID_OFFSET,
            eop_buffer_address=self.eop.va, eop_buffer_size=self.sizes.eop_buffer_size,
            ctx_save_restore_address=self.cwsr.va,
            ctx_save_restore_size=self.sizes.cwsr_size,
            ctl_stack_size=self.sizes.ctl_stack_size)

    @property
    def address(self) -> int:
        """The amd_queue_t (what kernels get as their queue pointer)."""
        return self.amd_queue_mem.va

    @functools.cached_property
    def launch_context(self) -> LaunchContext:
        """What hidden kernel arguments need from this queue and its device."""
        apertures = self.device.apertures
        return LaunchContext(self.address, apertures.scratch_base, apertures.lds_base)

    # --- scratch ---------------------------------------------------------------------------------

    def _describe_scratch(self) -> None:
        """Publish the queue's private-segment backing memory in amd_queue_t, where the CP reads
        it when it launches waves that use scratch (architected flat scratch on gfx11)."""
        q = self.amd_queue
        if self.scratch is None:
            q.scratch_backing_memory_location = 0
            q.scratch_backing_memory_byte_size = 0
            q.scratch_wave64_lane_byte_size = 0
            q.compute_tmpring_size = 0
            return
        waves = self.device.max_waves
        q.scratch_backing_memory_location = self.scratch.va
        q.scratch_backing_memory_byte_size = self.scratch.size
        q.scratch_wave64_lane_byte_size = self.scratch_lane_bytes
        q.compute_tmpring_size = hsa.compute_tmpring_size(waves, self.scratch_lane_bytes * 64)  # per wave64

    def ensure_scratch(self, lane_bytes: int) -> None:
        """Back `lane_bytes` of private memory per work-item for every wave the GPU can run."""
        if lane_bytes <= self.scratch_lane_bytes:
            return
        lane_bytes = -(-lane_bytes // 1024) * 1024
        self.synchronize()  # waves in flight may use the old backing memory
        with self.lock:
            if self.scratch is not None:
                self._allocations.remove(self.scratch)
                self.runtime.memory.release(self.scratch)
                self.scratch = None
            self.scratch = self._alloc(lane_bytes * 64 * self.device.max_waves, "vram", cpu=False)
            self.scratch_lane_bytes = lane_bytes
            self._describe_scratch()

    # --- submission ------------------------------------------------------------------------------

    def _reserve(self) -> int:
        """The next packet index, once its ring slot and kernarg slot are free."""
        index = self.write_index
        while True:
            # The slot's previous packet must be consumed (read_dispatch_id) and finished.
            if index - self.amd_queue.read_dispatch_id < self.slots and (
                    not self.pending or self.pending[0].end > index - self.slots + 1):
                return index
            self._wait_oldest()

    def _publish(self, index: int, header: int) -> None:
        # The header goes in last, in one 32-bit store: only then may the CP read the packet.
        self._headers[(index % self.slots) * 16] = header
        self.write_index = index + 1
        self.amd_queue.write_dispatch_id = index + 1
        self.doorbell.ring(index)

    def _barrier_packets(self, deps: list[Signal], signal: Signal | None) -> None:
        for start in range(0, len(deps), hsa.BARRIER_MAX_DEPS):
            chunk = [d.address for d in deps[start:start + hsa.BARRIER_MAX_DEPS]]
            chunk += [0] * (hsa.BARRIER_MAX_DEPS - len(chunk))
            last = start + hsa.BARRIER_MAX_DEPS >= len(deps)
            index = self._reserve()
            completion = signal.address if (last and signal is not None) else 0
            _BARRIER_BODY.pack_into(self._ring_view, (index % self.slots) * hsa.AQL_PACKET_SIZE + 2,
                                    0, 0, *chunk, 0, completion)
            self._publish(index, _BARRIER_AND_HEADER)

    def barrier(self, after, label: str = "barrier") -> Signal:
        """Make later work on this queue wait for `after` (signals of any queue or device)."""
        signal = Signal(self.runtime)
        with self.lock:
            deps = self._foreign(after)
            signal.attach(self, self.event_id, self.mailbox, label)
            self._barrier_packets(deps or [], signal)
            self.pending.append(_Work(self.write_index, signal, tuple(after)))
        return signal

    def dispatch(self, kernel, values, geometry, lds: int, signal: Signal, refs, after=()) -> None:
        """Write a kernel dispatch packet (kernarg values packed by kernel.layout)."""
        with self.lock:
            self.reap()
            if after:
                deps = self._foreign(after)
                if deps:
                    self._barrier_packets(deps, None)
                    refs = (*refs, *deps)
            index = self._reserve()
            slot = index % self.slots
            layout = kernel.layout
            if layout.size <= self.kernarg_slot:
                kernarg = self.kernarg_mem.va + slot * self.kernarg_slot
                layout.struct.pack_into(self._kernargs, slot * self.kernarg_slot, *values)
            else:
                block = self.runtime.memory.allocate(self.device.gpu_id, layout.size, "gtt")
                kernarg = block.va
                ctypes.memmove(kernarg, layout.struct.pack(*values), layout.size)
                refs = (*refs, _KernargBlock(self.runtime, block))
            signal.attach(self, self.event_id, self.mailbox, kernel.name)
            wx, wy, wz = geometry.local_size
            gx, gy, gz = geometry.global_size
            _DISPATCH_BODY.pack_into(self._ring_view, slot * hsa.AQL_PACKET_SIZE + 4, wx, wy, wz, 0, gx, gy, gz,
                                     kernel.private_segment_size, lds, kernel.kernel_object, kernarg, 0,
                                     signal.address)
            self.pending.append(_Work(index + 1, signal, refs))
            self._publish(index, _DISPATCH_HEADER | geometry.dims << 16)


class _KernargBlock:
    """A kernarg segment too large for a ring slot: its own allocation, freed with the work."""

    __slots__ = ("runtime", "block")

    def __init__(self, runtime, block):
        self.runtime = runtime
        self.block = block

    def __del__(self):
        try:
            self.runtime.memory.defer_release(self.block)
        except AttributeError:
            pass


# --- SDMA queues ------------------------------------------------------------------------------------

class SdmaQueue(Queue):
    """A queue on one of the GPU's SDMA engines: copies and fills, also between GPUs."""

    kind = "sdma"
    queue_type = abi.KFD_IOC_QUEUE_TYPE_SDMA
    ring_bytes = 64 * 1024

    def _allocate(self) -> None:
        self.ring = self._alloc(self.ring_bytes, "gtt", uncached=True)
        self.pointers = self._alloc(4096, "gtt", uncached=True)
        self._ring_dwords = (ctypes.c_uint32 * (self.ring_bytes // 4)).from_address(self.ring.va)
        self._rptr = ctypes.c_uint64.from_address(self.pointers.va)
        self._wptr = ctypes.c_uint64.from_address(self.pointers.va + 8)

    def _initialise_memory(self) -> None:
        ctypes.memset(self.pointers.va, 0, 16)
        self.write_pointer = 0

    def _create_args(self) -> abi.kfd_ioctl_create_queue_args:
        return abi.kfd_ioctl_create_queue_args(
            ring_base_address=self.ring.va, ring_size=self.ring_bytes,
            read_pointer_address=self.pointers.va, write_pointer_address=self.pointers.va + 8)

    def submit(self, commands: list[int], signal: Signal, label: str, refs=(), after=()) -> None:
        """Run SDMA packets after `after`, then complete `signal` (with timestamps around the
        commands, a fence on its value, and the interrupt that wakes its waiter)."""
        with self.lock:
            self.reap()
            deps = self._foreign(after)
            signal.attach(self, self.event_id, self.mailbox, label)
            body: list[int] = []
            for dep in deps:
                body += sdma_packets.poll_equal(dep.address + hsa.SIGNAL_VALUE_OFFSET, 0)
            body += sdma_packets.timestamp(signal.address + hsa.SIGNAL_START_TS_OFFSET)
            body += commands
            body += sdma_packets.timestamp(signal.address + hsa.SIGNAL_END_TS_OFFSET)
            body += sdma_packets.fence(signal.address + hsa.SIGNAL_VALUE_OFFSET, 0)
            body += sdma_packets.fence(self.mailbox, self.event_id)
            body += sdma_packets.trap(self.event_id)
            self._write(body)
            self.pending.append(_Work(self.write_pointer, signal, (*refs, *deps)))
            self._wptr.value = self.write_pointer
            self.doorbell.ring(self.write_pointer)

    def _write(self, body: list[int]) -> None:
        ring_dwords = self.ring_bytes // 4
        if len(body) > ring_dwords // 2:
            raise InvalidArgument(f"an SDMA submission of {len(body)} dwords does not fit the ring")
        position = self.write_pointer // 4
        at = position % ring_dwords
        pad = ring_dwords - at if at + len(body) > ring_dwords else 0
        needed = (pad + len(body)) * 4
        while self.write_pointer + needed - self._rptr.value > self.ring_bytes - 8:
            self._wait_oldest()
        if pad:
            self._ring_dwords[at:ring_dwords] = sdma_packets.nop(pad)
            position += pad
            at = 0
        self._ring_dwords[at:at + len(body)] = body
        self.write_pointer = (position + len(body)) * 4
