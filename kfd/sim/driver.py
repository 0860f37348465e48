"""SimDriver: the Driver interface over a simulated KFD and a set of simulated RX 7900 XTX GPUs.

Everything a runtime does with the real driver works the same way here: ioctls with kfd.abi
structs (checked like kfd_chardev.c), mmap of render-node offsets (buffer objects, at their GPU
virtual address) and of /dev/kfd offsets (doorbells, events, MMIO), and doorbells that wake the
queue's engine. The GPUs execute what the runtime submits on their own threads.
"""

from __future__ import annotations

import ctypes
import errno
import os

from kfd import abi, hostmem
from kfd.driver import Doorbell, Driver, map_host, unmap_host
from kfd.errors import KFDError
from kfd.sim import usermem
from kfd.sim.chardev import Chardev
from kfd.sim.device import SimDevice
from kfd.sim.engine import MemoryWatch
from kfd.sim.process import KernelError, SimProcess
from kfd.sim.queues import QueueManager
from kfd.sim.topology import SimSysfs, host_memory_bytes
from kfd.topology import Topology

DEFAULT_HANG_TIMEOUT_S = 10.0
KFD_VERSION = (abi.KFD_IOCTL_MAJOR_VERSION, abi.KFD_IOCTL_MINOR_VERSION)


class SimDoorbell(Doorbell):
    """A doorbell of the simulated GPU: the store lands in the doorbell page and wakes the engine."""

    def __init__(self, gpu_id: int, doorbell_offset: int, cell: int, driver: SimDriver, index: int):
        super().__init__(gpu_id, doorbell_offset)
        self._cell = ctypes.c_uint64.from_address(cell)
        self._driver = driver
        self._index = index

    def _store(self, value: int) -> None:
        self._cell.value = value
        queues = self._driver._queues
        q = queues.find_by_doorbell(self.gpu_id, self._index) if queues else None
        if q is not None:
            q.engine.ring(value)


class SimDriver(Driver):
    name = "simulated"

    def __init__(self, num_gpus: int = 1, *, hang_timeout: float = DEFAULT_HANG_TIMEOUT_S,
                 peer_links: str = "p2p"):
        super().__init__()
        if not isinstance(num_gpus, int) or not 1 <= num_gpus <= 64:
            raise ValueError(f"num_gpus must be an int in 1..64, got {num_gpus!r}")
        self.num_gpus = num_gpus
        self.hang_timeout = hang_timeout
        self.peer_links = peer_links
        self._sysfs: SimSysfs | None = None
        self._process: SimProcess | None = None
        self._queues: QueueManager | None = None
        self._chardev: Chardev | None = None

    # --- the machine ---------------------------------------------------------------------------

    def _machine(self) -> SimSysfs:
        if self._sysfs is None:
            self._sysfs = SimSysfs(self.num_gpus, self.peer_links)
        return self._sysfs

    @property
    def topology(self) -> Topology:
        return self._machine().topology

    @property
    def topology_root(self):
        return self._machine().topology_root

    @property
    def faults(self) -> list[dict]:
        """Every GPU page fault so far (exact address, kind, gpu and queue): the KFD event data
        carries only the page."""
        return list(self._process.faults) if self._process else []

    def queue_error(self, queue_id: int) -> Exception | None:
        """Why a queue stopped (a PageFault or QueueHang), or None while it runs."""
        q = self._queues.queues.get(queue_id) if self._queues else None
        return q.engine.error if q else None

    def queue_diagnosis(self, queue_id: int) -> str | None:
        error = self.queue_error(queue_id)
        return None if error is None else str(error)

    # --- lifecycle -----------------------------------------------------------------------------

    def _open(self) -> tuple[int, int]:
        sysfs = self._machine()
        devices = [SimDevice(node) for node in sysfs.topology.gpus]
        gtt_limit = host_memory_bytes() * 15 // 16
        self._process = SimProcess(sysfs.topology, devices, sysfs.render_node_ids(), gtt_limit)
        self._queues = QueueManager(self._process, MemoryWatch(), self.hang_timeout)
        self._chardev = Chardev(self._process, self._queues, KFD_VERSION)
        return KFD_VERSION

    def _close(self) -> None:
        if self._queues is not None:
            self._queues.close()
        if self._process is not None:
            self._process.close()
        self._queues = self._process = self._chardev = None
        if self._sysfs is not None:
            self._sysfs.close()
            self._sysfs = None

    # --- calls ---------------------------------------------------------------------------------

    def _ioctl(self, definition: abi.IoctlDef, args: ctypes.Structure) -> None:
        self._chardev.ioctl(definition, args)

    def _mmap(self, offset: int, length: int, prot: int, flags: int, address: int | None,
              gpu_id: int | None) -> int:
        if flags & hostmem.MAP_ANONYMOUS:
            return map_host(address, length, prot, flags, -1, 0, "anonymous memory")
        try:
            if gpu_id is not None:
                return self._process.mmap_bo(gpu_id, offset, length, address)
            return self._mmap_kfd(offset, length, prot, address)
        except (KernelError, OSError) as e:
            raise KFDError(e.errno, "mmap", str(e)) from None

    def _mmap_kfd(self, offset: int, length: int, prot: int, address: int | None) -> int:
        kind = offset & abi.KFD_MMAP_TYPE_MASK
        gpu_id = abi.KFD_MMAP_GET_GPU_ID(offset)
        p = self._process
        if kind == abi.KFD_MMAP_TYPE_EVENTS:
            page = p.event_special_page
            if length > abi.KFD_EVENT_PAGE_SIZE or page is None:
                raise KernelError(errno.EINVAL, "no driver-allocated event page to map (or too long)")
            return page.map_at(address, prot)
        pdd = p.pdds.get(gpu_id)
        if pdd is None:
            raise KernelError(errno.ENODEV, f"mmap offset {offset:#x} names unknown gpu_id {gpu_id:#x}")
        if kind == abi.KFD_MMAP_TYPE_DOORBELL:
            if length != abi.KFD_DOORBELL_SLICE_SIZE:
                raise KernelError(errno.EINVAL, f"the doorbell slice is {abi.KFD_DOORBELL_SLICE_SIZE} bytes")
            return pdd.doorbell_page().map_at(address, prot)
        if kind == abi.KFD_MMAP_TYPE_MMIO:
            if length != usermem.PAGE_SIZE:
                raise KernelError(errno.EINVAL, "the MMIO remap page is one 4 KiB page")
            return pdd.mmio_page().map_at(address, prot)
        raise KernelError(errno.EINVAL, f"mmap offset {offset:#x}: no reserved memory on a dGPU")

    def _munmap(self, address: int, length: int) -> None:
        if not self._process.munmap(address, length):
            unmap_host(address, length)

    def _open_render_node(self, gpu_id: int) -> int:
        path = self._machine().render_nodes.get(gpu_id)
        if path is None:
            raise KFDError(errno.EINVAL, "drm_fd", f"no GPU with gpu_id {gpu_id:#x}")
        return os.open(path, os.O_RDWR | os.O_CLOEXEC)

    def _doorbell(self, gpu_id: int, doorbell_offset: int, offset_in_slice: int) -> Doorbell:
        pdd = self._process.pdds.get(gpu_id)
        if pdd is None:
            raise KFDError(errno.ENODEV, "doorbell", f"no GPU with gpu_id {gpu_id:#x}")
        page = pdd.doorbell_page()
        return SimDoorbell(gpu_id, doorbell_offset, page.address + offset_in_slice, self, offset_in_slice // 8)
