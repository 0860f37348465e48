"""Completion signals (HSA amd_signal_t in GPU-visible memory) and the KFD events behind waits.

The command processor decrements a signal's value when the packet it completes is done, then
writes the signal's event id into its event mailbox (a slot of the KFD event page) and raises the
interrupt that sets that KFD event; SDMA queues do the same with FENCE and TRAP packets. A waiter
checks the value and sleeps in WAIT_EVENTS until the event fires, so nothing spins on the CPU.

Each queue owns one KFD signal event that all of its signals report to; the process also listens
to one MEMORY event (GPU page faults) and one HW_EXCEPTION event (queue or GPU resets).
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Sequence

from amdrt.errors import OutOfMemory
from kfd import abi, hsa
from kfd.errors import KFDError

SIGNALS_PER_CHUNK = 256  # 16 KiB of signals per allocation


class EventManager:
    """The KFD events of the process: the event page, signal events and exception events."""

    def __init__(self, driver, memory, gpu_ids: Sequence[int]):
        self.driver = driver
        self.page = memory.allocate(gpu_ids[0], abi.KFD_EVENT_PAGE_SIZE, "gtt", uncached=True,
                                    map_to=tuple(gpu_ids))
        self._page_given = False
        self._lock = threading.Lock()
        self.memory_event = self._create(abi.KFD_IOC_EVENT_MEMORY)[0]
        self.hw_exception_event = self._create(abi.KFD_IOC_EVENT_HW_EXCEPTION)[0]

    def _create(self, event_type: int) -> tuple[int, int]:
        with self._lock:
            args = abi.kfd_ioctl_create_event_args(event_type=event_type, auto_reset=1, node_id=0)
            if not self._page_given:
                # The first event hands the driver our event page (the dGPU protocol).
                args.event_page_offset = self.page.handle
            try:
                self.driver.ioctl(abi.AMDKFD_IOC_CREATE_EVENT, args)
            except KFDError as e:
                if e.errno == 28:  # ENOSPC: every slot of the event page is taken
                    raise OutOfMemory("the process has used all KFD signal events "
                                      f"({abi.KFD_SIGNAL_EVENT_LIMIT - 1}); destroy unused queues") from None
                raise
            self._page_given = True
            return args.event_id, args.event_slot_index

    def create_signal_event(self) -> tuple[int, int]:
        """(event id, mailbox address) of a new auto-reset signal event."""
        event_id, slot = self._create(abi.KFD_IOC_EVENT_SIGNAL)
        return event_id, self.page.va + 8 * slot

    def destroy(self, event_id: int) -> None:
        self.driver.ioctl(abi.AMDKFD_IOC_DESTROY_EVENT, abi.kfd_ioctl_destroy_event_args(event_id=event_id))

    def wait(self, event_ids: Sequence[int], timeout_ms: int) -> tuple[int, ctypes.Array]:
        """WAIT_EVENTS for any of the events; returns (wait_result, per-event data)."""
        data = (abi.kfd_event_data * len(event_ids))()
        for d, event_id in zip(data, event_ids, strict=True):
            d.event_id = event_id
        args = abi.kfd_ioctl_wait_events_args(events_ptr=ctypes.addressof(data), num_events=len(event_ids),
                                              wait_for_all=0, timeout=max(0, min(int(timeout_ms), 0xFFFFFFFE)))
        self.driver.ioctl(abi.AMDKFD_IOC_WAIT_EVENTS, args)
        return args.wait_result, data


class SignalPool:
    """64-byte amd_signal_t slots in uncached system memory every GPU can reach."""

    def __init__(self, memory, gpu_ids: Sequence[int]):
        self.memory = memory
        self.gpu_ids = tuple(gpu_ids)
        self._free: list[int] = []
        self._chunks = []
        self._lock = threading.Lock()

    def acquire(self) -> tuple[int, hsa.AmdSignal]:
        """(address, ctypes view) of a free slot."""
        try:
            return self._free.pop()
        except IndexError:
            pass
        with self._lock:
            if not self._free:
                chunk = self.memory.allocate(self.gpu_ids[0], SIGNALS_PER_CHUNK * hsa.SIGNAL_SIZE, "gtt",
                                             uncached=True, map_to=self.gpu_ids)
                self._chunks.append(chunk)
                for i in reversed(range(SIGNALS_PER_CHUNK)):
                    address = chunk.va + i * hsa.SIGNAL_SIZE
                    self._free.append((address, hsa.AmdSignal.from_address(address)))
            return self._free.pop()

    def release(self, slot: tuple[int, hsa.AmdSignal]) -> None:
        self._free.append(slot)

    def share_with(self, gpu_ids: Sequence[int]) -> None:
        self.gpu_ids = tuple(dict.fromkeys((*self.gpu_ids, *gpu_ids)))
        for chunk in self._chunks:
            self.memory.map(chunk, self.gpu_ids)

    @property
    def in_use(self) -> int:
        return len(self._chunks) * SIGNALS_PER_CHUNK - len(self._free)


class Signal:
    """An HSA signal: a 64-bit value in memory the GPU decrements when work completes.

    Signals from launches and copies start at 1 and reach 0 when done. `wait()` sleeps until
    then (raising GPUFault, GPUTimeout or GPUHang if the work failed); `elapsed` is the
    kernel's execution time from the GPU's timestamps. `set()` lets the CPU release work that
    waits on the signal through a barrier."""

    __slots__ = ("runtime", "address", "_cell", "_slot", "queue", "label", "error", "__weakref__")

    def __init__(self, runtime, value: int = 1):
        self.runtime = runtime
        self._slot = slot = runtime.signals.acquire()
        self.address, cell = slot
        cell.kind = hsa.SIGNAL_KIND_USER
        cell.value = value
        cell.event_mailbox_ptr = 0
        cell.event_id = 0
        cell.start_ts = 0
        cell.end_ts = 0
        self._cell = cell
        self.queue = None    # the queue whose packet completes this signal, once submitted
        self.label = None    # what the work is, for error messages
        self.error = None    # the exception of the work, if it failed

    def __del__(self):
        try:
            self.runtime.signals.release(self._slot)
        except AttributeError:
            pass

    def __repr__(self) -> str:
        state = "failed" if self.error else f"value={self.value}"
        return f"Signal({self.label or 'user'}, {state})"

    @property
    def value(self) -> int:
        return self._cell.value

    def set(self, value: int) -> None:
        """Store a value from the CPU (releases barriers waiting for 0)."""
        self._cell.value = value

    @property
    def done(self) -> bool:
        if self.error is not None:
            raise self.error
        return self._cell.value <= 0

    def wait(self, timeout: float | None = None) -> Signal:
        """Block until the value reaches 0; returns the signal."""
        if self.error is not None:
            raise self.error
        if self._cell.value > 0:
            self.runtime.wait(self, timeout)
        return self

    def attach(self, queue, event_id: int, mailbox: int, label: str | None) -> None:
        """Point the signal's mailbox at the queue's event before it is submitted there."""
        cell = self._cell
        cell.event_mailbox_ptr = mailbox
        cell.event_id = event_id
        self.queue = queue
        self.label = label

    @property
    def start_ts(self) -> int:
        return self._cell.start_ts

    @property
    def end_ts(self) -> int:
        return self._cell.end_ts

    @property
    def elapsed(self) -> float | None:
        """Seconds between the start and end timestamps the GPU recorded (None if it did not)."""
        start, end = self._cell.start_ts, self._cell.end_ts
        if not start or end < start:
            return None
        return (end - start) / hsa.GFX11_TIMESTAMP_HZ
