"""KFD events of the simulated driver: slots, set/reset, auto-reset, waits with and without timeout."""

import ctypes
import errno
import threading

import numpy as np
import pytest
from hsakmt import GTT_FLAGS, PAGE
from test_sim_memory import errno_of

from kfd import abi as F

TIMEOUT, COMPLETE, FAIL = F.KFD_IOC_WAIT_RESULT_TIMEOUT, F.KFD_IOC_WAIT_RESULT_COMPLETE, F.KFD_IOC_WAIT_RESULT_FAIL


def event_page(k):
    return k.alloc(k.gpu_ids[0], F.KFD_EVENT_PAGE_SIZE, GTT_FLAGS)


def test_signal_events_use_slots_of_the_user_event_page(kfd1):
    page = event_page(kfd1)
    first = kfd1.create_event(page=page)
    second = kfd1.create_event()
    assert first.event_page_offset == F.KFD_MMAP_TYPE_EVENTS
    assert (first.event_slot_index, second.event_slot_index) == (first.event_id, second.event_id)
    assert first.event_trigger_data == first.event_id
    slots = page.view(np.uint64)
    assert slots[first.event_id] == slots[second.event_id] == 2**64 - 1  # unsignaled
    # the page can be given once, and cannot be freed while it is the event page
    again = F.kfd_ioctl_create_event_args(event_page_offset=page.handle)
    assert errno_of(kfd1.ioctl, F.AMDKFD_IOC_CREATE_EVENT, again) == errno.EINVAL
    kfd1.unmap(page, [page.gpu_id])
    assert errno_of(kfd1.ioctl, F.AMDKFD_IOC_FREE_MEMORY_OF_GPU,
                    F.kfd_ioctl_free_memory_of_gpu_args(handle=page.handle)) == errno.EPERM
    memory = kfd1.create_event(F.KFD_IOC_EVENT_MEMORY)
    assert memory.event_id >= 0x40000000


def test_small_event_page_is_refused(kfd1):
    small = kfd1.alloc(kfd1.gpu_ids[0], PAGE, GTT_FLAGS)
    a = F.kfd_ioctl_create_event_args(event_page_offset=small.handle)
    assert errno_of(kfd1.ioctl, F.AMDKFD_IOC_CREATE_EVENT, a) == errno.EINVAL
    vram = kfd1.alloc(kfd1.gpu_ids[0], F.KFD_EVENT_PAGE_SIZE)
    a.event_page_offset = vram.handle
    assert errno_of(kfd1.ioctl, F.AMDKFD_IOC_CREATE_EVENT, a) == errno.EINVAL


def test_wait_timeout_set_reset_and_manual_reset(kfd1):
    ev = kfd1.create_event(page=event_page(kfd1)).event_id
    assert kfd1.wait([ev], 0)[0] == TIMEOUT        # poll
    assert kfd1.wait([ev], 20)[0] == TIMEOUT       # a real timeout is a result, not an errno
    kfd1.ioctl(F.AMDKFD_IOC_SET_EVENT, F.kfd_ioctl_set_event_args(event_id=ev))
    assert kfd1.wait([ev], 0)[0] == COMPLETE
    assert kfd1.wait([ev], 0)[0] == COMPLETE       # manual reset: stays signaled
    kfd1.ioctl(F.AMDKFD_IOC_RESET_EVENT, F.kfd_ioctl_reset_event_args(event_id=ev))
    assert kfd1.wait([ev], 0)[0] == TIMEOUT


def test_auto_reset_is_consumed_by_one_wait(kfd1):
    ev = kfd1.create_event(page=event_page(kfd1), auto_reset=True).event_id
    kfd1.ioctl(F.AMDKFD_IOC_SET_EVENT, F.kfd_ioctl_set_event_args(event_id=ev))
    assert kfd1.wait([ev], 0)[0] == COMPLETE
    assert kfd1.wait([ev], 0)[0] == TIMEOUT


def test_wait_any_and_all_and_wakeup_from_another_thread(kfd1):
    page = event_page(kfd1)
    a, b = kfd1.create_event(page=page).event_id, kfd1.create_event().event_id
    kfd1.ioctl(F.AMDKFD_IOC_SET_EVENT, F.kfd_ioctl_set_event_args(event_id=a))
    assert kfd1.wait([a, b], 0)[0] == COMPLETE
    assert kfd1.wait([a, b], 0, wait_all=True)[0] == TIMEOUT
    timer = threading.Timer(0.05, kfd1.ioctl, (F.AMDKFD_IOC_SET_EVENT, F.kfd_ioctl_set_event_args(event_id=b)))
    timer.start()
    assert kfd1.wait([a, b], 0xFFFFFFFF, wait_all=True)[0] == COMPLETE  # infinite wait, woken by the set
    timer.join()


def test_unknown_and_destroyed_events(kfd1):
    ev = kfd1.create_event(page=event_page(kfd1)).event_id
    data = (F.kfd_event_data * 1)()
    data[0].event_id = 12345
    a = F.kfd_ioctl_wait_events_args(events_ptr=ctypes.addressof(data), num_events=1, timeout=0)
    assert errno_of(kfd1.ioctl, F.AMDKFD_IOC_WAIT_EVENTS, a) == errno.EINVAL
    assert a.wait_result == FAIL
    a.events_ptr = 24
    assert errno_of(kfd1.ioctl, F.AMDKFD_IOC_WAIT_EVENTS, a) == errno.EFAULT
    for request, struct in ((F.AMDKFD_IOC_SET_EVENT, F.kfd_ioctl_set_event_args),
                            (F.AMDKFD_IOC_RESET_EVENT, F.kfd_ioctl_reset_event_args),
                            (F.AMDKFD_IOC_DESTROY_EVENT, F.kfd_ioctl_destroy_event_args)):
        assert errno_of(kfd1.ioctl, request, struct(event_id=999)) == errno.EINVAL
    memory = kfd1.create_event(F.KFD_IOC_EVENT_MEMORY).event_id
    assert errno_of(kfd1.ioctl, F.AMDKFD_IOC_SET_EVENT, F.kfd_ioctl_set_event_args(event_id=memory)) == errno.EINVAL
    # destroying an event someone waits on ends that wait with FAIL
    waiter = {}

    def wait():
        try:
            waiter["result"] = kfd1.wait([ev], 5000)[0]
        except Exception as e:  # the ioctl reports EIO along with wait_result FAIL
            waiter["errno"] = e.errno

    t = threading.Thread(target=wait)
    t.start()
    while not kfd1.drv._process.events.events[ev].waiters:
        threading.Event().wait(0.001)
    kfd1.ioctl(F.AMDKFD_IOC_DESTROY_EVENT, F.kfd_ioctl_destroy_event_args(event_id=ev))
    t.join()
    assert waiter == {"errno": errno.EIO}


def test_signal_slots_run_out(kfd1):
    kfd1.create_event(page=event_page(kfd1))
    for _ in range(F.KFD_SIGNAL_EVENT_LIMIT - 2):
        kfd1.create_event()
    with pytest.raises(OSError) as info:
        kfd1.create_event()
    assert info.value.errno == errno.ENOSPC
