"""KFD events of one process: signal slots in the event page, waits, interrupts, exceptions.

Follows kfd_events.c: SIGNAL (and DEBUG) events get ids equal to their slot in the event page;
other types get ids from 0x40000000 up. A waiter registered on an auto-reset event consumes its
signaled state; setting an auto-reset event that has waiters wakes them and leaves it unsignaled.
The GPU signals an event by writing the id into its slot and raising an interrupt whose context id
is the event id; the interrupt handler resets the slot and sets the event.
"""

from __future__ import annotations

import errno
import threading
import time
from dataclasses import dataclass, field

from kfd import abi
from kfd.sim.usermem import host_view

SLOT_UNSIGNALED = 0xFFFF_FFFF_FFFF_FFFF
FIRST_NONSIGNAL_EVENT_ID = 0x40000000
INFINITE_TIMEOUT = 0xFFFFFFFF
INTERRUPT_ID_BITS = 28  # width of the interrupt context id that carries the event id

SLOT_TYPES = (abi.KFD_IOC_EVENT_SIGNAL, abi.KFD_IOC_EVENT_DEBUG_EVENT)
KNOWN_TYPES = range(abi.KFD_IOC_EVENT_SIGNAL, abi.KFD_IOC_EVENT_MEMORY + 1)


class EventError(Exception):
    def __init__(self, err: int, message: str):
        super().__init__(message)
        self.errno = err


@dataclass
class Event:
    id: int
    type: int
    auto_reset: bool
    node_id: int
    signaled: bool = False
    waiters: list[_Waiter] = field(default_factory=list)
    memory_exception: abi.kfd_hsa_memory_exception_data | None = None
    hw_exception: abi.kfd_hsa_hw_exception_data | None = None

    @property
    def uses_slot(self) -> bool:
        return self.type in SLOT_TYPES


class _Waiter:
    __slots__ = ("event", "activated")

    def __init__(self, event: Event):
        self.event: Event | None = event
        self.activated = False


@dataclass
class EventPage:
    """The signal page: user memory (a GTT buffer) or one the driver made; u64 slots."""

    address: int          # host address of slot 0
    size: int
    handle: int | None    # the buffer object handle when user-allocated

    @property
    def slots(self) -> int:
        return min(self.size // 8, abi.KFD_SIGNAL_EVENT_LIMIT)

    def view(self):
        return host_view(self.address, self.slots * 8).view("<u8")


class EventTable:
    def __init__(self):
        self.cv = threading.Condition()
        self.events: dict[int, Event] = {}
        self.page: EventPage | None = None
        self._next_nonsignal = FIRST_NONSIGNAL_EVENT_ID

    # --- the event page ------------------------------------------------------------------------

    def set_page(self, page: EventPage) -> None:
        with self.cv:
            if self.page is not None:
                raise EventError(errno.EINVAL, "the event page is already set")
            if page.size < abi.KFD_EVENT_PAGE_SIZE:
                raise EventError(errno.EINVAL, f"event page of {page.size} bytes is smaller than "
                                               f"{abi.KFD_EVENT_PAGE_SIZE}")
            self.page = page
            page.view()[:] = SLOT_UNSIGNALED

    def page_handle(self) -> int | None:
        return self.page.handle if self.page else None

    # --- create / destroy / set / reset --------------------------------------------------------

    def create(self, event_type: int, auto_reset: bool, node_id: int,
               make_page=None) -> Event:
        with self.cv:
            if event_type in SLOT_TYPES:
                if self.page is None:
                    if make_page is None:
                        raise EventError(errno.ENOMEM, "no event page")
                    self.page = make_page()
                    self.page.view()[:] = SLOT_UNSIGNALED
                taken = self.events.keys()
                event_id = next((i for i in range(1, self.page.slots) if i not in taken), None)
                if event_id is None:
                    raise EventError(errno.ENOSPC, f"all {self.page.slots - 1} signal slots are in use")
                self.page.view()[event_id] = SLOT_UNSIGNALED
            else:
                event_id = self._next_nonsignal
                self._next_nonsignal += 1
            ev = Event(event_id, event_type, auto_reset, node_id)
            self.events[event_id] = ev
            return ev

    def _get(self, event_id: int) -> Event:
        ev = self.events.get(event_id)
        if ev is None:
            raise EventError(errno.EINVAL, f"no event with id {event_id}")
        return ev

    def destroy(self, event_id: int) -> None:
        with self.cv:
            ev = self._get(event_id)
            for w in ev.waiters:
                w.event = None  # the waiter fails
            ev.waiters.clear()
            del self.events[event_id]
            self.cv.notify_all()

    def _set(self, ev: Event) -> None:
        ev.signaled = not ev.auto_reset or not ev.waiters
        for w in ev.waiters:
            w.activated = True
        self.cv.notify_all()

    def _get_signal(self, event_id: int) -> Event:
        """SET_EVENT and RESET_EVENT act on signal events only."""
        ev = self._get(event_id)
        if ev.type != abi.KFD_IOC_EVENT_SIGNAL:
            raise EventError(errno.EINVAL, f"event {event_id} is not a signal event")
        return ev

    def set(self, event_id: int) -> None:
        with self.cv:
            self._set(self._get_signal(event_id))

    def reset(self, event_id: int) -> None:
        with self.cv:
            self._get_signal(event_id).signaled = False

    # --- signals from the GPU ------------------------------------------------------------------

    def interrupt(self, context_id: int) -> None:
        """An end-of-pipe / SDMA trap interrupt: context_id carries (the low bits of) an event id.

        Like the kernel: a matching slot that holds a value is consumed and its event set; when
        the id does not match, every slot is scanned."""
        with self.cv:
            if self.page is None:
                return
            slots = self.page.view()
            partial = context_id & ((1 << INTERRUPT_ID_BITS) - 1)
            ev = self.events.get(partial)
            if ev is not None and ev.uses_slot and slots[partial] != SLOT_UNSIGNALED:
                slots[partial] = SLOT_UNSIGNALED
                self._set(ev)
                return
            for ev in list(self.events.values()):
                if ev.uses_slot and slots[ev.id] != SLOT_UNSIGNALED:
                    slots[ev.id] = SLOT_UNSIGNALED
                    self._set(ev)

    def memory_fault(self, gpu_id: int, va: int, *, write: bool, no_execute: bool = False,
                     read_only: bool = False) -> None:
        """A GPU VM fault: every MEMORY event gets the fault data and is set (kfd_signal_vm_fault_event).
        The kernel reports the faulting page, not the byte."""
        with self.cv:
            for ev in self.events.values():
                if ev.type != abi.KFD_IOC_EVENT_MEMORY:
                    continue
                data = abi.kfd_hsa_memory_exception_data()
                data.va = va & ~0xFFF
                data.gpu_id = gpu_id
                data.failure.NotPresent = int(not (read_only or no_execute))
                data.failure.ReadOnly = int(read_only and write)
                data.failure.NoExecute = int(no_execute)
                data.failure.imprecise = 0
                data.ErrorType = abi.KFD_MEM_ERR_NO_RAS
                ev.memory_exception = data
                self._set(ev)

    def hw_exception(self, gpu_id: int, *, reset_type: int, reset_cause: int, memory_lost: bool) -> None:
        """A queue or GPU reset (after a hang): every HW_EXCEPTION event of the GPU's node is set."""
        with self.cv:
            for ev in self.events.values():
                if ev.type != abi.KFD_IOC_EVENT_HW_EXCEPTION:
                    continue
                data = abi.kfd_hsa_hw_exception_data()
                data.reset_type = reset_type
                data.reset_cause = reset_cause
                data.memory_lost = int(memory_lost)
                data.gpu_id = gpu_id
                ev.hw_exception = data
                self._set(ev)

    # --- waiting -------------------------------------------------------------------------------

    def wait(self, event_ids: list[int], wait_all: bool,
             timeout_ms: int) -> tuple[int, list[tuple[Event | None, bool]]]:
        """Returns (wait result, per event: (the event, or None if destroyed meanwhile; whether
        it was signaled for this waiter)).

        Raises EventError(EINVAL) for an unknown id before waiting; a destroyed event makes the
        wait end with KFD_IOC_WAIT_RESULT_FAIL."""
        if timeout_ms == INFINITE_TIMEOUT:
            deadline = None
        else:
            deadline = time.monotonic() + min(timeout_ms, 0x7FFFFFFF) / 1000.0
        with self.cv:
            waiters = []
            try:
                for event_id in event_ids:
                    ev = self._get(event_id)
                    w = _Waiter(ev)
                    w.activated = ev.signaled
                    ev.signaled = ev.signaled and not ev.auto_reset
                    ev.waiters.append(w)
                    waiters.append(w)
                while True:
                    if any(w.event is None for w in waiters):
                        result = abi.KFD_IOC_WAIT_RESULT_FAIL
                        break
                    done = [w.activated for w in waiters]
                    if (all(done) if wait_all else any(done)):
                        result = abi.KFD_IOC_WAIT_RESULT_COMPLETE
                        break
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        result = abi.KFD_IOC_WAIT_RESULT_TIMEOUT
                        break
                    self.cv.wait(remaining)
                return result, [(w.event, w.activated) for w in waiters]
            finally:
                for w in waiters:
                    if w.event is not None and w in w.event.waiters:
                        w.event.waiters.remove(w)
