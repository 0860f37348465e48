"""The runtime of one process: the KFD driver brought up, its GPUs, memory, events and waits.

Bring-up follows ROCm's thunk: open the KFD, bind each GPU's VM to its render node (ACQUIRE_VM),
read the process apertures, reserve the virtual address range buffers will live in, hand the
driver an event page, and create the exception events. Waiting for a signal sleeps in
WAIT_EVENTS on the signal's queue event and the process's MEMORY and HW_EXCEPTION events; a
fault or a reset fails the affected queues' work with GPUFault or GPUHang and recreates them, and
a wait that outlives its timeout fails the queue's work with GPUTimeout and recreates it.
"""

from __future__ import annotations

import atexit
import ctypes
import math
import os
import sys
import threading
import time
import weakref

from amdrt.errors import AmdrtError, GPUFault, GPUHang, GPUTimeout, InvalidArgument, NoDevice
from amdrt.memory import RESERVE_FLAGS, MemoryManager
from amdrt.signal import EventManager, Signal, SignalPool
from amdrt.vaspace import VASpace
from kfd import abi, hostmem
from kfd.errors import KFDError, KFDUnavailable

DEFAULT_TIMEOUT_S = 60.0
USER_SIGNAL_POLL_S = 0.01      # CPU-set signals raise no interrupt: look again this often
EVENT_WAIT_SLICE_S = 1.0       # re-check for failures handled by other threads this often
VA_ALIGN = 2 << 20
MIN_VA_RESERVATION = 64 << 30
MAX_VA_RESERVATION = 64 << 40

_default = None
_default_lock = threading.Lock()
_announced = False


def _env_timeout() -> float:
    value = os.environ.get("AMDRT_TIMEOUT")
    if not value:
        return DEFAULT_TIMEOUT_S
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"AMDRT_TIMEOUT={value!r} is not a number of seconds") from None
    if not seconds > 0:
        raise ValueError(f"AMDRT_TIMEOUT={value!r} must be positive")
    return seconds


def open_driver():
    """(driver, simulated): the real KFD when it works, else simulated GPUs; AMDRT_SIM=N forces N
    simulated gfx1100 GPUs and AMDRT_SIM=0 forbids simulation."""
    global _announced
    from kfd.real import RealDriver

    setting = os.environ.get("AMDRT_SIM", "").strip()
    if setting:
        try:
            count = int(setting)
        except ValueError:
            raise ValueError(f"AMDRT_SIM={setting!r}: expected a number of simulated GPUs") from None
        if not 0 <= count <= 64:
            raise ValueError(f"AMDRT_SIM={setting!r}: simulate between 0 and 64 GPUs")
        if count:
            return _sim_driver(count), True
    try:
        driver = RealDriver()
        driver.open()
        return driver, False
    except KFDUnavailable as e:
        if setting == "0":
            raise NoDevice(f"no usable AMD GPU: {e}") from None
        if not _announced:
            print(f"amdrt: {e}\namdrt: running on 1 simulated gfx1100 GPU", file=sys.stderr)
            _announced = True
        return _sim_driver(1), True


def _sim_driver(count: int):
    """Simulated GPUs whose own hang detection stays out of the way of the runtime's timeout, so
    work that does not finish is reported as a GPUTimeout naming the limit to raise."""
    from kfd.sim import SimDriver
    return SimDriver(count, hang_timeout=_env_timeout() + 30.0)


def default_runtime() -> Runtime:
    global _default
    with _default_lock:
        if _default is None or _default.closed:
            driver, simulated = open_driver()
            _default = Runtime(driver, simulated=simulated)
        return _default


def reset_default() -> None:
    """Close the default runtime (the next devices() call opens a new one, rereading AMDRT_SIM)."""
    global _default
    with _default_lock:
        if _default is not None:
            _default.close()
            _default = None


class Runtime:
    """Owns the driver and everything allocated through it; `devices` are its GPUs."""

    def __init__(self, driver, *, simulated: bool | None = None, timeout: float | None = None):
        from amdrt.device import Device

        self.driver = driver
        self.simulated = type(driver).__name__ == "SimDriver" if simulated is None else simulated
        self.timeout = timeout if timeout is not None else _env_timeout()
        self.closed = False
        self.lock = threading.RLock()
        driver.open()
        try:
            self.topology = driver.topology
            nodes = self.topology.gpus
            if not nodes:
                raise NoDevice("the KFD topology lists no GPU")
            for node in nodes:
                driver.ioctl(abi.AMDKFD_IOC_ACQUIRE_VM,
                             abi.kfd_ioctl_acquire_vm_args(drm_fd=driver.drm_fd(node.gpu_id), gpu_id=node.gpu_id))
            self.apertures = self._read_apertures()
            self.va = self._reserve_va(nodes)
            self.memory = MemoryManager(driver, self.va)
            gpu_ids = [n.gpu_id for n in nodes]
            self.events = EventManager(driver, self.memory, gpu_ids)
            self.signals = SignalPool(self.memory, gpu_ids)
            self.devices = [Device(self, node, i) for i, node in enumerate(nodes)]
        except BaseException:
            driver.close()
            raise
        self._by_gpu_id = {d.gpu_id: d for d in self.devices}
        me = weakref.ref(self)
        self._atexit = lambda: (me() is not None and me().close())
        atexit.register(self._atexit)

    def __repr__(self) -> str:
        kind = "simulated" if self.simulated else "real"
        return f"Runtime({kind}, {len(self.devices)} GPU(s))"

    # --- bring-up --------------------------------------------------------------------------------

    def _read_apertures(self) -> dict[int, abi.kfd_process_device_apertures]:
        count = abi.kfd_ioctl_get_process_apertures_new_args(num_of_nodes=0)
        self.driver.ioctl(abi.AMDKFD_IOC_GET_PROCESS_APERTURES_NEW, count)
        entries = (abi.kfd_process_device_apertures * max(count.num_of_nodes, 1))()
        args = abi.kfd_ioctl_get_process_apertures_new_args(
            kfd_process_device_apertures_ptr=ctypes.addressof(entries), num_of_nodes=count.num_of_nodes)
        self.driver.ioctl(abi.AMDKFD_IOC_GET_PROCESS_APERTURES_NEW, args)
        return {e.gpu_id: e for e in entries[:args.num_of_nodes]}

    def _reserve_va(self, nodes) -> VASpace:
        """Reserve CPU address space (PROT_NONE, no backing) inside every GPU's GPUVM aperture."""
        low = max(self.apertures[n.gpu_id].gpuvm_base for n in nodes)
        high = min(self.apertures[n.gpu_id].gpuvm_limit for n in nodes) + 1
        memory = sum(n.vram_size for n in nodes) + sum(c.mem_banks[0].size_in_bytes for c in self.topology.cpus
                                                        if c.mem_banks)
        size = min(max(2 ** math.ceil(math.log2(max(memory, 1))), MIN_VA_RESERVATION), MAX_VA_RESERVATION)
        while True:
            base = self.driver.mmap(0, size + VA_ALIGN, hostmem.PROT_NONE, RESERVE_FLAGS)
            aligned = -(-base // VA_ALIGN) * VA_ALIGN
            if low <= aligned and aligned + size <= high:
                break
            self.driver.munmap(base, size + VA_ALIGN)
            if size <= MIN_VA_RESERVATION:
                raise NoDevice(f"cannot reserve address space inside the GPU aperture "
                               f"[{low:#x}, {high:#x}) (the kernel placed it at {base:#x})")
            size //= 2
        self._va_mapping = (base, size + VA_ALIGN)
        return VASpace(aligned, size)

    # --- lookups ---------------------------------------------------------------------------------

    def device_by_gpu_id(self, gpu_id: int):
        return self._by_gpu_id.get(gpu_id)

    def share(self, buffer, device) -> None:
        """Map a buffer on another device too (peer access), if the topology allows it."""
        alloc = buffer.allocation
        if device.gpu_id in alloc.mapped:
            return
        owner = buffer.device
        if not buffer.host and not self.topology.can_reach(device.node, owner.node):
            raise InvalidArgument(f"{device.name} has no peer link to the memory of {owner.name}")
        try:
            self.memory.map(alloc, (device.gpu_id,))
        except KFDError as e:
            raise AmdrtError(f"{device.name} cannot map {buffer!r} for peer access ({e.strerror}); peer access "
                             "to VRAM needs a large BAR (resizable BAR on) and, behind an IOMMU, iommu=pt") from e

    # --- synchronisation -------------------------------------------------------------------------

    def queues(self):
        for device in self.devices:
            yield from device.queues

    def synchronize(self) -> None:
        """Wait until all work submitted on every device has finished."""
        for queue in list(self.queues()):
            if queue.pending:
                queue.synchronize()

    def idle_for_free(self) -> None:
        self.synchronize()

    def wait_for_buffer(self, buffer) -> None:
        """Wait for submitted work that uses `buffer` (a kernel argument or a copy's end)."""
        for queue in list(self.queues()):
            with queue.lock:
                queue.reap()
                last = None
                for work in queue.pending:
                    if any(ref is buffer for ref in work.refs):
                        last = work.signal
            if last is not None:
                last.wait()

    def wait(self, signal: Signal, timeout: float | None = None) -> None:
        """Sleep until `signal` reaches 0, or raise the error of the work it tracks."""
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        queue = signal.queue
        events = self.events
        ids = [events.memory_event, events.hw_exception_event]
        if queue is not None:
            ids.append(queue.event_id)
        cell = signal._cell
        while True:
            if signal.error is not None:
                raise signal.error
            if cell.value <= 0:
                if queue is not None:
                    with queue.lock:
                        queue.reap()
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._timed_out(signal, limit)
                continue
            slice_s = EVENT_WAIT_SLICE_S if queue is not None else USER_SIGNAL_POLL_S
            result, data = events.wait(ids, math.ceil(min(remaining, slice_s) * 1000))
            if result != abi.KFD_IOC_WAIT_RESULT_COMPLETE:
                continue
            fault = data[0].memory_exception_data
            if fault.gpu_id:
                self._on_fault(fault)
            reset = data[1].hw_exception_data
            if reset.gpu_id:
                self._on_reset(reset)

    def _timed_out(self, signal: Signal, limit: float) -> None:
        queue = signal.queue
        if queue is None:
            raise GPUTimeout(limit, None, "the CPU (nothing set this signal)")
        with queue.lock:
            if signal.value <= 0 or signal.error is not None:
                return
            queue.reset(GPUTimeout(limit, signal.label or queue.current_label, queue.device.name))

    def _fail_device(self, device, make_error) -> None:
        """Reset every queue of `device` that has unfinished work, failing that work."""
        for queue in list(device.queues):
            with queue.lock:
                queue.reap()
                if queue.pending:
                    queue.reset(make_error(queue))

    def _on_fault(self, fault) -> None:
        device = self.device_by_gpu_id(fault.gpu_id)
        if device is None:
            return
        failure = fault.failure
        reason = ("write to read-only memory" if failure.ReadOnly else
                  "instruction fetch from non-executable memory" if failure.NoExecute else
                  "page not present")
        self._fail_device(device, lambda queue: GPUFault(fault.va, queue.current_label, device.name, reason=reason))

    def _on_reset(self, reset) -> None:
        device = self.device_by_gpu_id(reset.gpu_id)
        if device is None:
            return
        self._fail_device(device, lambda queue: GPUHang(device.name, reset.reset_type, reset.reset_cause,
                                                        queue.current_label,
                                                        self.driver.queue_diagnosis(queue.queue_id)))

    # --- host staging for memory the CPU cannot map ----------------------------------------------

    def staged_copyin(self, buffer, src: memoryview, offset: int) -> None:
        device = buffer.device
        stage = device.alloc(src.nbytes, host=True)
        try:
            stage.copyin(src)
            device.copy(buffer, stage, src.nbytes, dst_offset=offset)
        finally:
            stage.free()

    def staged_copyout(self, buffer, out, offset: int) -> None:
        device = buffer.device
        stage = device.alloc(out.nbytes, host=True)
        try:
            device.copy(stage, buffer, out.nbytes, src_offset=offset)
            stage.copyout(out)
        finally:
            stage.free()

    # --- teardown --------------------------------------------------------------------------------

    def close(self) -> None:
        """Destroy queues, free every buffer and event, and close the driver (idempotent)."""
        with self.lock:
            if self.closed:
                return
            self.closed = True
            atexit.unregister(self._atexit)
            try:
                for device in self.devices:
                    device.close()
                # The event page stays with the driver until it closes (FREE refuses it).
                self.memory.live.pop(self.events.page.va, None)
                self.memory.release_all()
            finally:
                self.driver.close()
                base, size = self._va_mapping
                hostmem.munmap(base, size)

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
