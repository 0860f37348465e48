"""The ioctl entry points of the simulated /dev/kfd (kfd_chardev.c): argument checks and errno.

Like the kernel, the handler works on a copy of the argument struct and copies it back for ioctls
that return data even when it fails (so outputs such as n_success or wait_result reach the caller
along with the error). Pointers inside arguments are user addresses, read and written with
copy_from_user/copy_to_user semantics (EFAULT where the memory is not there).
"""

from __future__ import annotations

import ctypes
import errno
import time

from kfd import abi
from kfd.errors import KFDError
from kfd.sim import usermem
from kfd.sim.events import SLOT_TYPES, EventError, EventPage
from kfd.sim.process import KernelError, SimProcess, SpecialPage
from kfd.sim.queues import QueueManager

MAX_CU_MASK_BITS = 1024


def _user_array(address: int, count: int, ctype) -> list:
    raw = usermem.copy_from_user(address, count * ctypes.sizeof(ctype)) if count else b""
    if raw is None:
        raise KernelError(errno.EFAULT, f"cannot read {count} entries at user address {address:#x}")
    return list((ctype * count).from_buffer_copy(raw)) if count else []


class Chardev:
    def __init__(self, process: SimProcess, queues: QueueManager, version: tuple[int, int]):
        self.process = process
        self.queues = queues
        self.version = version
        self.options: dict[int, dict] = {}  # per-gpu settings the simulated hardware ignores
        self.handlers = {
            "GET_VERSION": self.get_version,
            "CREATE_QUEUE": self.create_queue,
            "DESTROY_QUEUE": self.destroy_queue,
            "SET_MEMORY_POLICY": self.set_memory_policy,
            "GET_CLOCK_COUNTERS": self.get_clock_counters,
            "GET_PROCESS_APERTURES": self.get_process_apertures,
            "UPDATE_QUEUE": self.update_queue,
            "CREATE_EVENT": self.create_event,
            "DESTROY_EVENT": self.destroy_event,
            "SET_EVENT": self.set_event,
            "RESET_EVENT": self.reset_event,
            "WAIT_EVENTS": self.wait_events,
            "SET_SCRATCH_BACKING_VA": self.set_scratch_backing_va,
            "GET_TILE_CONFIG": self.get_tile_config,
            "SET_TRAP_HANDLER": self.set_trap_handler,
            "GET_PROCESS_APERTURES_NEW": self.get_process_apertures_new,
            "ACQUIRE_VM": self.acquire_vm,
            "ALLOC_MEMORY_OF_GPU": self.alloc_memory,
            "FREE_MEMORY_OF_GPU": self.free_memory,
            "MAP_MEMORY_TO_GPU": self.map_memory,
            "UNMAP_MEMORY_FROM_GPU": self.unmap_memory,
            "SET_CU_MASK": self.set_cu_mask,
            "GET_QUEUE_WAVE_STATE": self.get_queue_wave_state,
            "GET_DMABUF_INFO": self.dmabuf,
            "IMPORT_DMABUF": self.dmabuf,
            "ALLOC_QUEUE_GWS": self.alloc_queue_gws,
            "SET_XNACK_MODE": self.set_xnack_mode,
            "AVAILABLE_MEMORY": self.available_memory,
        }

    # --- dispatch ------------------------------------------------------------------------------

    def ioctl(self, definition: abi.IoctlDef, args: ctypes.Structure) -> None:
        name = f"AMDKFD_IOC_{definition.name}"
        kdata = type(args).from_buffer_copy(bytes(args))
        handler = self.handlers.get(definition.name)
        try:
            if definition.name.startswith("DBG_") and definition.name.endswith("_DEPRECATED"):
                raise KernelError(errno.EPERM, "the old debugger interface is gone")
            if handler is None:
                raise KernelError(errno.EPERM, f"{definition.name} (SVM, SMI events, checkpoint/restore) "
                                               "is not provided by the simulated driver")
            handler(kdata)
            error = None
        except KernelError as e:
            error = e
        except EventError as e:
            error = KernelError(e.errno, str(e))
        if definition.copies_out:
            ctypes.memmove(ctypes.addressof(args), ctypes.addressof(kdata), ctypes.sizeof(args))
        if error is not None:
            raise KFDError(error.errno, name, str(error))

    # --- version, clocks, apertures ------------------------------------------------------------

    def get_version(self, a) -> None:
        a.major_version, a.minor_version = self.version

    def get_clock_counters(self, a) -> None:
        pdd = self.process.pdds.get(a.gpu_id)
        a.gpu_clock_counter = pdd.device.clock() if pdd else 0
        a.cpu_clock_counter = time.clock_gettime_ns(time.CLOCK_MONOTONIC_RAW)
        a.system_clock_counter = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
        a.system_clock_freq = 1_000_000_000

    def get_process_apertures(self, a) -> None:
        pdds = list(self.process.pdds.values())[:abi.NUM_OF_SUPPORTED_GPUS]
        for i, pdd in enumerate(pdds):
            a.process_apertures[i] = pdd.apertures()
        a.num_of_nodes = len(pdds)

    def get_process_apertures_new(self, a) -> None:
        pdds = list(self.process.pdds.values())
        if a.num_of_nodes == 0:
            a.num_of_nodes = len(pdds)
            return
        n = min(a.num_of_nodes, len(pdds))
        entries = (abi.kfd_process_device_apertures * n)(*[p.apertures() for p in pdds[:n]])
        if not usermem.copy_to_user(a.kfd_process_device_apertures_ptr, bytes(entries)):
            raise KernelError(errno.EFAULT, "cannot write the apertures array")
        a.num_of_nodes = n

    # --- VM and memory -------------------------------------------------------------------------

    def acquire_vm(self, a) -> None:
        self.process.acquire_vm(a.gpu_id, a.drm_fd)

    def alloc_memory(self, a) -> None:
        bo = self.process.alloc(a.gpu_id, a.va_addr, a.size, a.flags, a.mmap_offset)
        a.handle = bo.handle
        a.mmap_offset = bo.mmap_offset

    def free_memory(self, a) -> None:
        self.process.free(a.handle)

    def _device_list(self, a) -> list[int]:
        if a.n_devices == 0:
            raise KernelError(errno.EINVAL, "n_devices is 0")
        if a.n_success > a.n_devices:
            raise KernelError(errno.EINVAL, f"n_success {a.n_success} > n_devices {a.n_devices}")
        return [int(x) for x in _user_array(a.device_ids_array_ptr, a.n_devices, ctypes.c_uint32)]

    def map_memory(self, a) -> None:
        p = self.process
        devices = self._device_list(a)
        with p.lock:
            owner = p.pdd(a.handle >> 32)
            bo = p.bo(a.handle, missing_err=errno.ENOMEM)
            if not owner.bound:
                raise KernelError(errno.ENODEV, f"gpu_id {owner.gpu_id:#x} has no VM: call ACQUIRE_VM first")
            for i in range(a.n_success, a.n_devices):
                pdd = p.pdd(devices[i])
                if not pdd.bound:
                    raise KernelError(errno.ENODEV, f"gpu_id {devices[i]:#x} has no VM: call ACQUIRE_VM first")
                p.map_to_gpu(bo, devices[i])
                a.n_success = i + 1

    def unmap_memory(self, a) -> None:
        p = self.process
        devices = self._device_list(a)
        with p.lock:
            p.pdd(a.handle >> 32)
            bo = p.bo(a.handle, missing_err=errno.EINVAL)
            if not bo.mapped_on:
                raise KernelError(errno.EINVAL, f"buffer {a.handle:#x} is not mapped to any GPU")
            for i in range(a.n_success, a.n_devices):
                p.pdd(devices[i])
                p.unmap_from_gpu(bo, devices[i])
                a.n_success = i + 1

    def available_memory(self, a) -> None:
        pdd = self.process.pdd(a.gpu_id)
        a.available = pdd.device.vram_available

    def set_memory_policy(self, a) -> None:
        pdd = self.process.pdd(a.gpu_id)
        for policy in (a.default_policy, a.alternate_policy):
            if policy not in (abi.KFD_IOC_CACHE_POLICY_COHERENT, abi.KFD_IOC_CACHE_POLICY_NONCOHERENT):
                raise KernelError(errno.EINVAL, f"cache policy {policy} is neither coherent nor noncoherent")
        if not pdd.bound:
            raise KernelError(errno.ESRCH, f"gpu_id {a.gpu_id:#x} has no VM")
        self.options.setdefault(a.gpu_id, {})["memory_policy"] = (a.default_policy, a.alternate_policy)

    def set_scratch_backing_va(self, a) -> None:
        pdd = self.process.bound_pdd(a.gpu_id)
        pdd.scratch_backing_va = a.va_addr

    def set_trap_handler(self, a) -> None:
        pdd = self.process.pdd(a.gpu_id)
        if not pdd.bound:
            raise KernelError(errno.ESRCH, f"gpu_id {a.gpu_id:#x} has no VM")
        self.options.setdefault(a.gpu_id, {})["trap_handler"] = (a.tba_addr, a.tma_addr)

    def get_tile_config(self, a) -> None:
        self.process.pdd(a.gpu_id)
        # gfx11 has no tiling tables: the kernel reports its (all-zero) arrays.
        tile_configs, macro_configs = 32, 16
        a.gb_addr_config = 0
        a.num_banks = a.num_ranks = 0
        a.num_tile_configs = min(a.num_tile_configs, tile_configs)
        a.num_macro_tile_configs = min(a.num_macro_tile_configs, macro_configs)
        for ptr, n in ((a.tile_config_ptr, a.num_tile_configs),
                       (a.macro_tile_config_ptr, a.num_macro_tile_configs)):
            if n and not usermem.copy_to_user(ptr, bytes(4 * n)):
                raise KernelError(errno.EFAULT, "cannot write the tile configuration")

    def dmabuf(self, a) -> None:
        raise KernelError(errno.EINVAL, f"fd {a.dmabuf_fd} is not a dma-buf the simulated driver exported")

    def set_xnack_mode(self, a) -> None:
        if a.xnack_enabled < 0:
            a.xnack_enabled = 0  # gfx11 dGPUs run without XNACK
            return
        if self.queues.queues:
            raise KernelError(errno.EBUSY, "XNACK mode cannot change while queues exist")
        if a.xnack_enabled:
            raise KernelError(errno.EPERM, "gfx1100 does not support XNACK")

    # --- queues --------------------------------------------------------------------------------

    def create_queue(self, a) -> None:
        self.queues.create(a)

    def destroy_queue(self, a) -> None:
        self.queues.destroy(a.queue_id)

    def update_queue(self, a) -> None:
        self.queues.update(a)

    def set_cu_mask(self, a) -> None:
        if a.num_cu_mask % 32 or a.num_cu_mask == 0:
            raise KernelError(errno.EINVAL, f"num_cu_mask {a.num_cu_mask} is not a nonzero multiple of 32")
        words = min(a.num_cu_mask, MAX_CU_MASK_BITS) // 32
        mask = _user_array(a.cu_mask_ptr, words, ctypes.c_uint32)
        q = self.queues.queues.get(a.queue_id)
        if q is None:
            raise KernelError(errno.EFAULT, f"no queue {a.queue_id}")
        self.options.setdefault(q.gpu_id, {})[("cu_mask", a.queue_id)] = mask

    def get_queue_wave_state(self, a) -> None:
        q = self.queues.queues.get(a.queue_id)
        if q is None:
            raise KernelError(errno.EFAULT, f"no queue {a.queue_id}")
        if q.type != abi.KFD_IOC_QUEUE_TYPE_COMPUTE_AQL and q.type != abi.KFD_IOC_QUEUE_TYPE_COMPUTE or \
                q.is_active:
            raise KernelError(errno.EINVAL, "wave state exists only for inactive compute queues")
        a.ctl_stack_used_size = 0  # an inactive simulated queue has no waves saved
        a.save_area_used_size = 0

    def alloc_queue_gws(self, a) -> None:
        q = self.queues.queues.get(a.queue_id)
        if q is None:
            raise KernelError(errno.EINVAL, f"no queue {a.queue_id}")
        available = self.process.pdds[q.gpu_id].device.node.prop("num_gws")
        if not available:
            raise KernelError(errno.ENODEV, "the GPU has no global wave sync resources")
        a.first_gws = 0
        self.options.setdefault(q.gpu_id, {})[("gws", a.queue_id)] = a.num_gws

    # --- events --------------------------------------------------------------------------------

    def create_event(self, a) -> None:
        p = self.process
        if a.event_page_offset:
            with p.lock:
                handle = a.event_page_offset
                p.pdd(handle >> 32)
                bo = p.bo(handle)
                if bo.domain != "gtt":
                    raise KernelError(errno.EINVAL, "the event page must be a GTT buffer")
                p.events.set_page(EventPage(bo.host, bo.size, handle))

        def driver_page() -> EventPage:
            page = SpecialPage(abi.KFD_EVENT_PAGE_SIZE, "kfd-events")
            p.event_special_page = page
            return EventPage(page.address, page.size, None)

        ev = p.events.create(a.event_type, bool(a.auto_reset), a.node_id, driver_page)
        if ev.type in SLOT_TYPES:
            a.event_page_offset = abi.KFD_MMAP_TYPE_EVENTS
            a.event_slot_index = ev.id
        a.event_id = ev.id
        a.event_trigger_data = ev.id

    def destroy_event(self, a) -> None:
        self.process.events.destroy(a.event_id)

    def set_event(self, a) -> None:
        self.process.events.set(a.event_id)

    def reset_event(self, a) -> None:
        self.process.events.reset(a.event_id)

    def wait_events(self, a) -> None:
        a.wait_result = abi.KFD_IOC_WAIT_RESULT_FAIL
        data = _user_array(a.events_ptr, a.num_events, abi.kfd_event_data)
        result, outcome = self.process.events.wait([d.event_id for d in data], bool(a.wait_for_all),
                                                   a.timeout)
        a.wait_result = result
        if result == abi.KFD_IOC_WAIT_RESULT_FAIL:
            raise KernelError(errno.EIO, "an event was destroyed while waited on")
        for i, (ev, activated) in enumerate(outcome):
            if not activated or ev is None:
                continue
            entry = data[i]
            if ev.type == abi.KFD_IOC_EVENT_MEMORY and ev.memory_exception is not None:
                entry.memory_exception_data = ev.memory_exception
            elif ev.type == abi.KFD_IOC_EVENT_HW_EXCEPTION and ev.hw_exception is not None:
                entry.hw_exception_data = ev.hw_exception
            else:
                continue
            offset = i * ctypes.sizeof(abi.kfd_event_data)
            if not usermem.copy_to_user(a.events_ptr + offset, bytes(entry)):
                raise KernelError(errno.EFAULT, "cannot write the event data back")

