"""What every simulated queue engine (AQL CP, PM4 CP, SDMA) shares: a thread that sleeps until its
doorbell is written, works through the ring up to the doorbell's write pointer, and stops on a
fault, a hang or preemption.

A fault (PageFault) sets the process's memory-exception events and stops the queue, as the kernel
stops a faulting process's queue; a hang (a dispatch that outlives the hang timeout, a malformed
packet the hardware would choke on) sets the hardware-exception events and resets the queue. Other
queues and GPUs never notice. Waits on memory (barrier packets, WAIT_REG_MEM, POLL_REGMEM) sleep on
the machine-wide memory condition, which the engines notify when they write signals; memory the
CPU writes is seen at the next poll, a few milliseconds later at most.
"""

from __future__ import annotations

import abc
import sys
import threading
import time
import traceback

from isa.emu.errors import MemoryFault
from kfd import abi
from kfd.sim.gpu import PageFault, PageTable

POLL_MIN_S = 0.0005
POLL_MAX_S = 0.01


class Preempted(Exception):
    """The queue is being destroyed (or deactivated): stop what runs on it now."""


class QueueHang(Exception):
    """The queue cannot go on: a dispatch that does not finish, or a packet the engine rejects."""


class MemoryWatch:
    """A machine-wide condition that engines notify after writing memory others may poll."""

    def __init__(self):
        self.cv = threading.Condition()

    def notify(self) -> None:
        with self.cv:
            self.cv.notify_all()

    def sleep(self, seconds: float) -> None:
        with self.cv:
            self.cv.wait(seconds)


class Engine(abc.ABC):
    """Base of a queue engine. Subclasses implement `pending()` and `step()`."""

    kind = "engine"

    def __init__(self, queue, page_table: PageTable, watch: MemoryWatch, hang_timeout: float, device):
        self.queue = queue                  # the driver's queue record (addresses, ids, process)
        self.page_table = page_table
        self.device = device                # the SimDevice (its clock)
        self.rptr = 0                       # consumed: AQL packets, PM4 dwords or SDMA bytes
        self.watch = watch
        self.hang_timeout = hang_timeout
        self.cv = threading.Condition()
        self.doorbell = 0                   # last value written to the doorbell
        self.rung = False                   # whether the doorbell was ever written
        self.active = True
        self.stopping = False
        self.error: Exception | None = None  # why the queue stopped, if it did
        self._thread = threading.Thread(target=self._run, name=f"sim-{self.kind}-q{queue.queue_id}",
                                        daemon=True)

    def start(self) -> Engine:
        """Start the engine thread (once the subclass has set itself up)."""
        self._thread.start()
        return self

    # --- control from the driver ---------------------------------------------------------------

    def ring(self, value: int) -> None:
        with self.cv:
            self.doorbell = value
            self.rung = True
            self.cv.notify_all()

    def set_active(self, active: bool) -> None:
        with self.cv:
            self.active = active
            self.cv.notify_all()

    def stop(self) -> None:
        """Preempt and end the engine thread (DESTROY_QUEUE)."""
        with self.cv:
            self.stopping = True
            self.cv.notify_all()
        self.watch.notify()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join()

    @property
    def idle(self) -> bool:
        with self.cv:
            return self.error is not None or not self.pending()

    # --- the engine thread ---------------------------------------------------------------------

    def check_preempted(self) -> None:
        if self.stopping or not self.active:
            raise Preempted()

    def _run(self) -> None:
        while True:
            with self.cv:
                while not self.stopping and (not self.active or self.error is not None or not self.pending()):
                    self.cv.wait()
                if self.stopping:
                    return
            try:
                self.step()
            except Preempted:
                continue
            except MemoryFault as error:
                fault = PageFault.from_memory_fault(error)
                self._fail(fault)
                self.queue.process.record_fault(self.queue.gpu_id, self.queue.queue_id, fault)
            except QueueHang as hang:
                self._hang(hang)
            except Exception as error:  # a fault of the simulator itself: stop this queue, loudly
                print(f"kfd.sim: {self.kind} queue {self.queue.queue_id} stopped by an internal error:",
                      file=sys.stderr)
                traceback.print_exc(file=sys.stderr)
                self._hang(QueueHang(f"{self.kind} queue {self.queue.queue_id}: simulator error: {error!r}"))

    def _hang(self, hang: QueueHang) -> None:
        """Stops the queue and raises a hardware-exception event, as the kernel does after a
        per-engine reset."""
        self._fail(hang)
        self.queue.process.events.hw_exception(
            self.queue.gpu_id, reset_type=abi.KFD_HW_EXCEPTION_PER_ENGINE_RESET,
            reset_cause=abi.KFD_HW_EXCEPTION_GPU_HANG, memory_lost=False)

    def _fail(self, error: Exception) -> None:
        with self.cv:
            self.error = error
        self.watch.notify()

    # --- helpers for subclasses ----------------------------------------------------------------

    @abc.abstractmethod
    def pending(self) -> bool:
        """Whether the ring holds work the engine has not consumed (called with cv held)."""

    @abc.abstractmethod
    def step(self) -> None:
        """Consume the ring up to the doorbell."""

    def wait_until(self, condition, what: str, deadline: float | None = None) -> bool:
        """Poll `condition()` (memory the CPU or other engines write) until true. Returns False if
        `deadline` (monotonic seconds) passes first. Preemption interrupts the wait."""
        delay = POLL_MIN_S
        while True:
            self.check_preempted()
            if condition():
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            self.watch.sleep(delay)
            delay = min(delay * 2, POLL_MAX_S)

    def raise_interrupt(self, context_id: int) -> None:
        self.queue.process.events.interrupt(context_id)

    def wrote_memory(self) -> None:
        self.watch.notify()


class DwordPackets(abc.ABC):
    """A processor of dword packets (PM4, SDMA): it knows a packet's size from its first dwords
    and executes it; the packets come from a ring or from an indirect buffer."""

    @abc.abstractmethod
    def packet_dwords(self, head: list[int]) -> int | None:
        """Dwords of the packet that starts with `head` (up to 4 dwords); None if malformed."""

    @abc.abstractmethod
    def execute(self, dw: list[int], depth: int) -> None:
        """Execute one packet; `depth` counts the indirect buffers it sits in."""

    @abc.abstractmethod
    def fail(self, what: str) -> QueueHang:
        """The hang that reports a packet the engine cannot execute."""

    def run_stream(self, dwords: list[int], depth: int) -> None:
        """Execute the packets of an indirect buffer."""
        pos = 0
        while pos < len(dwords):
            size = self.packet_dwords(dwords[pos:pos + 4])
            if size is None or pos + size > len(dwords):
                raise self.fail(f"malformed packet header {dwords[pos]:#010x} in a command buffer")
            self.execute(dwords[pos:pos + size], depth)
            pos += size


class DwordRingEngine(Engine):
    """An engine fed by a ring of dword packets (PM4, SDMA). The write pointer the doorbell
    carries and the read pointer the engine writes back count `unit` bytes, and are monotonic."""

    unit = 4

    @property
    @abc.abstractmethod
    def packets(self) -> DwordPackets:
        """What executes the packets of the ring."""

    def pending(self) -> bool:
        return self.doorbell > self.rptr

    def step(self) -> None:
        ring = RingReader(self.page_table, self.queue.ring_base, self.queue.ring_size)
        packets = self.packets
        while True:
            with self.cv:
                wptr = self.doorbell
            pos = self.rptr * self.unit // 4
            available = (wptr - self.rptr) * self.unit // 4
            if available <= 0:
                return
            head = ring.read(pos, min(4, available))
            size = packets.packet_dwords(head)
            if size is None:
                raise packets.fail(f"malformed packet header {head[0]:#010x} at ring dword {pos}")
            if size > available:
                return  # the rest of the packet has not been submitted yet
            packets.execute(ring.read(pos, size), depth=0)
            self.rptr += size * 4 // self.unit
            self.page_table.write_u64(self.queue.read_pointer_address, self.rptr)


class RingReader:
    """Dwords of a ring buffer in GPU memory, addressed by a monotonic dword position."""

    def __init__(self, page_table: PageTable, base: int, size_bytes: int):
        self.page_table = page_table
        self.base = base
        self.dwords = size_bytes // 4

    def read(self, pos: int, count: int) -> list[int]:
        """`count` dwords starting at monotonic dword position `pos` (wrapping at the ring end)."""
        out: list[int] = []
        while count:
            at = pos % self.dwords
            n = min(count, self.dwords - at)
            data = self.page_table.read_bytes(self.base + at * 4, n * 4)
            out.extend(int.from_bytes(data[i:i + 4], "little") for i in range(0, n * 4, 4))
            pos += n
            count -= n
        return out


def read_dwords(page_table: PageTable, address: int, count: int) -> list[int]:
    data = page_table.read_bytes(address, count * 4)
    return [int.from_bytes(data[i:i + 4], "little") for i in range(0, count * 4, 4)]


def compare(function: int, value: int, reference: int) -> bool:
    """The compare functions of WAIT_REG_MEM and POLL_REGMEM (0 always, 1 <, 2 <=, 3 ==, 4 !=,
    5 >=, 6 >)."""
    return (True, value < reference, value <= reference, value == reference, value != reference,
            value >= reference, value > reference, False)[function & 7]
