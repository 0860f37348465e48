"""The KFD process: per-GPU process device data (VM, apertures), buffer objects, mmap offsets.

Each buffer object lives in host memory: VRAM and GTT buffers get fresh anonymous memory mapped at
exactly their virtual address (so the CPU reaches them at the address the GPU uses, as after the
runtime's mmap of the render node on real hardware); USERPTR buffers use the user's own pages;
DOORBELL and MMIO_REMAP buffers are the process doorbell slice and the HDP flush page. Mapping a
buffer to a GPU enters it into that GPU's page table; only then can the GPU reach it.
"""

from __future__ import annotations

import errno
import os
import threading
from dataclasses import dataclass, field

from kfd import abi, hostmem
from kfd.sim import usermem
from kfd.sim.device import SimDevice
from kfd.sim.events import EventTable
from kfd.sim.gpu import Mapping, PageTable
from kfd.topology import Topology

PAGE_SIZE = usermem.PAGE_SIZE

# Flat apertures of gfx9 and later (kfd_flat_memory.c).
LDS_APERTURE_BASE = 1 << 48
SCRATCH_APERTURE_BASE = 2 << 48
APERTURE_SIZE_MASK = 0xFFFFFFFF
GPUVM_BASE = 1 << 16               # AMDGPU_VA_RESERVED_BOTTOM
GPUVM_LIMIT = (1 << 47) - 1         # the canonical lower half (the VA hole starts above it)

DRM_FILE_OFFSET_START = 0x100000 << 12  # where amdgpu's fake mmap offsets begin

DOMAIN_FLAGS = (abi.KFD_IOC_ALLOC_MEM_FLAGS_VRAM, abi.KFD_IOC_ALLOC_MEM_FLAGS_GTT,
                abi.KFD_IOC_ALLOC_MEM_FLAGS_USERPTR, abi.KFD_IOC_ALLOC_MEM_FLAGS_DOORBELL,
                abi.KFD_IOC_ALLOC_MEM_FLAGS_MMIO_REMAP)
DOMAIN_NAMES = {abi.KFD_IOC_ALLOC_MEM_FLAGS_VRAM: "vram", abi.KFD_IOC_ALLOC_MEM_FLAGS_GTT: "gtt",
                abi.KFD_IOC_ALLOC_MEM_FLAGS_USERPTR: "userptr",
                abi.KFD_IOC_ALLOC_MEM_FLAGS_DOORBELL: "doorbell",
                abi.KFD_IOC_ALLOC_MEM_FLAGS_MMIO_REMAP: "mmio"}


class KernelError(Exception):
    """What an ioctl handler returns as -errno; the message is what the kernel would log."""

    def __init__(self, err: int, message: str):
        super().__init__(message)
        self.errno = err


@dataclass(eq=False)
class BufferObject:
    handle: int
    gpu_id: int
    va: int
    size: int            # page aligned
    flags: int
    domain: str          # vram, gtt, userptr, doorbell, mmio
    host: int            # host address of the first byte
    mmap_offset: int
    was_reserved: bool = False   # the host range was a PROT_NONE reservation before
    owns_host: bool = False      # the driver mapped host memory for it (and must give it back)
    mapped_on: set[int] = field(default_factory=set)
    queue_refs: int = 0
    cpu_mapped: bool = False     # the runtime mmap'ed it through the render node
    freed: bool = False

    @property
    def writable(self) -> bool:
        return bool(self.flags & abi.KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE)

    @property
    def executable(self) -> bool:
        return bool(self.flags & abi.KFD_IOC_ALLOC_MEM_FLAGS_EXECUTABLE)

    @property
    def cpu_visible(self) -> bool:
        if self.domain == "vram":
            return bool(self.flags & abi.KFD_IOC_ALLOC_MEM_FLAGS_PUBLIC)
        return self.domain == "gtt"


class SpecialPage:
    """A page of device memory the driver maps on request (doorbells, HDP flush registers):
    a shared memory file, so every mapping of it sees the same bytes."""

    def __init__(self, size: int, name: str):
        self.size = size
        self.fd = os.memfd_create(name, os.MFD_CLOEXEC)
        os.ftruncate(self.fd, size)
        self.address = usermem.mmap_anywhere(size, hostmem.PROT_READ | hostmem.PROT_WRITE,
                                             hostmem.MAP_SHARED, self.fd, 0)

    def map_at(self, address: int | None, prot: int) -> int:
        flags = hostmem.MAP_SHARED
        if address is None:
            return usermem.mmap_anywhere(self.size, prot, flags, self.fd, 0)
        return usermem.mmap_fixed(address, self.size, prot, flags | hostmem.MAP_FIXED, self.fd, 0)

    def close(self) -> None:
        usermem.munmap(self.address, self.size)
        os.close(self.fd)


@dataclass(eq=False)
class ProcessDevice:
    """kfd_process_device: one GPU as this process sees it."""

    device: SimDevice
    page_table: PageTable = field(default_factory=PageTable)
    drm_file: tuple[int, int] | None = None     # (st_dev, st_ino) of the render node acquired
    scratch_backing_va: int = 0
    doorbells: SpecialPage | None = None
    mmio: SpecialPage | None = None
    used_doorbells: set[int] = field(default_factory=set)

    @property
    def gpu_id(self) -> int:
        return self.device.gpu_id

    @property
    def bound(self) -> bool:
        return self.drm_file is not None

    def doorbell_page(self) -> SpecialPage:
        if self.doorbells is None:
            self.doorbells = SpecialPage(abi.KFD_DOORBELL_SLICE_SIZE, f"kfd-doorbells-{self.gpu_id:x}")
        return self.doorbells

    def mmio_page(self) -> SpecialPage:
        if self.mmio is None:
            self.mmio = SpecialPage(PAGE_SIZE, f"kfd-mmio-remap-{self.gpu_id:x}")
        return self.mmio

    def apertures(self) -> abi.kfd_process_device_apertures:
        ap = abi.kfd_process_device_apertures()
        ap.lds_base = LDS_APERTURE_BASE
        ap.lds_limit = LDS_APERTURE_BASE | APERTURE_SIZE_MASK
        ap.scratch_base = SCRATCH_APERTURE_BASE
        ap.scratch_limit = SCRATCH_APERTURE_BASE | APERTURE_SIZE_MASK
        ap.gpuvm_base = GPUVM_BASE
        ap.gpuvm_limit = GPUVM_LIMIT
        ap.gpu_id = self.gpu_id
        return ap


class SimProcess:
    """kfd_process: everything the driver keeps for the one process using it."""

    def __init__(self, topology: Topology, devices: list[SimDevice], render_nodes: dict[int, tuple[int, int]],
                 gtt_limit: int):
        self.topology = topology
        self.lock = threading.RLock()
        self.pdds = {d.gpu_id: ProcessDevice(d) for d in devices}
        self.render_nodes = render_nodes
        self.events = EventTable()
        self.bos: dict[int, BufferObject] = {}
        self._next_idr: dict[int, int] = {}
        self._next_mmap_offset = DRM_FILE_OFFSET_START
        self.gtt_limit = gtt_limit
        self.gtt_used = 0
        self.faults: list[dict] = []   # every GPU fault, with the exact address (diagnostics)
        self.lingering: set[BufferObject] = set()  # freed, but the CPU mapping is still there
        self.event_special_page: SpecialPage | None = None  # event page the driver made (no BO given)

    # --- lookups -------------------------------------------------------------------------------

    def pdd(self, gpu_id: int, err: int = errno.EINVAL) -> ProcessDevice:
        pdd = self.pdds.get(gpu_id)
        if pdd is None:
            raise KernelError(err, f"no GPU with gpu_id {gpu_id:#x}")
        return pdd

    def bound_pdd(self, gpu_id: int, unbound_err: int = errno.ENODEV) -> ProcessDevice:
        pdd = self.pdd(gpu_id)
        if not pdd.bound:
            raise KernelError(unbound_err, f"gpu_id {gpu_id:#x} has no VM yet: call ACQUIRE_VM first")
        return pdd

    def bo(self, handle: int, missing_err: int = errno.EINVAL) -> BufferObject:
        self.pdd(handle >> 32)
        bo = self.bos.get(handle)
        if bo is None:
            raise KernelError(missing_err, f"no buffer object with handle {handle:#x}")
        return bo

    def bo_by_mmap_offset(self, offset: int) -> BufferObject | None:
        for bo in self.bos.values():
            if bo.mmap_offset == offset:
                return bo
        return None

    # --- VM ------------------------------------------------------------------------------------

    def acquire_vm(self, gpu_id: int, drm_fd: int) -> None:
        pdd = self.pdd(gpu_id)
        try:
            st = os.fstat(drm_fd)
        except (OSError, OverflowError):
            raise KernelError(errno.EINVAL, f"drm_fd {drm_fd} is not an open file") from None
        file_id = (st.st_dev, st.st_ino)
        if self.render_nodes.get(gpu_id) != file_id:
            raise KernelError(errno.EINVAL, f"drm_fd {drm_fd} is not the render node of gpu_id {gpu_id:#x}")
        with self.lock:
            if pdd.drm_file is not None and pdd.drm_file != file_id:
                raise KernelError(errno.EBUSY, "the VM is already acquired through another file")
            pdd.drm_file = file_id

    # --- allocation ----------------------------------------------------------------------------

    def _check_va(self, va: int, size: int, gpu_id: int) -> None:
        if va % PAGE_SIZE:
            raise KernelError(errno.EINVAL, f"va_addr {va:#x} is not page aligned")
        if va < GPUVM_BASE or va + size - 1 > GPUVM_LIMIT:
            raise KernelError(errno.EINVAL, f"va_addr {va:#x}+{size:#x} is outside the GPUVM aperture "
                                            f"[{GPUVM_BASE:#x}, {GPUVM_LIMIT:#x}]")
        for other in self.bos.values():
            if other.va < va + size and va < other.va + other.size:
                raise KernelError(errno.EINVAL, f"va_addr {va:#x}+{size:#x} overlaps buffer "
                                                f"{other.handle:#x} at {other.va:#x}+{other.size:#x}")

    def alloc(self, gpu_id: int, va: int, size: int, flags: int, user_addr: int) -> BufferObject:
        if size == 0:
            raise KernelError(errno.EINVAL, "size is 0")
        pdd = self.pdd(gpu_id)
        domain_flag = next((f for f in DOMAIN_FLAGS if flags & f), None)
        if domain_flag is None:
            raise KernelError(errno.EINVAL, f"flags {flags:#x} name no memory domain")
        domain = DOMAIN_NAMES[domain_flag]
        if domain == "doorbell" and size != abi.KFD_DOORBELL_SLICE_SIZE:
            raise KernelError(errno.EINVAL, f"a doorbell buffer must be {abi.KFD_DOORBELL_SLICE_SIZE} bytes")
        if domain == "mmio" and size != PAGE_SIZE:
            raise KernelError(errno.EINVAL, f"an MMIO remap buffer must be {PAGE_SIZE} bytes")
        if domain == "userptr" and user_addr == 0:
            raise KernelError(errno.EINVAL, "USERPTR needs the CPU address in mmap_offset")
        with self.lock:
            self.bound_pdd(gpu_id)
            size = usermem.page_align_up(size)
            self._check_va(va, size, gpu_id)
            owns_host, was_reserved, reserved = False, False, 0
            if domain == "vram":
                if flags & abi.KFD_IOC_ALLOC_MEM_FLAGS_PUBLIC and pdd.device.node.mem_banks and \
                        pdd.device.node.mem_banks[0].heap_type != 1:
                    raise KernelError(errno.EINVAL, "VRAM|PUBLIC needs a large BAR")
                if not pdd.device.reserve_vram(size):
                    raise KernelError(errno.ENOMEM, f"{size:#x} bytes exceed the VRAM left on gpu_id "
                                                    f"{gpu_id:#x} ({pdd.device.vram_available:#x})")
                reserved = size
            elif domain == "gtt":
                if self.gtt_used + size > self.gtt_limit:
                    raise KernelError(errno.ENOMEM, f"{size:#x} bytes exceed the system memory limit")
                self.gtt_used += size
            try:
                if domain in ("vram", "gtt"):
                    try:
                        was_reserved = usermem.back_range(va, size)
                    except usermem.HostMemoryError as e:
                        raise KernelError(errno.EADDRINUSE if e.errno == errno.EEXIST else errno.ENOMEM,
                                          str(e)) from None
                    host, owns_host = va, True
                elif domain == "userptr":
                    if user_addr % PAGE_SIZE:
                        raise KernelError(errno.EINVAL, f"USERPTR address {user_addr:#x} is not page aligned")
                    if not usermem.user_range_writable(user_addr, size):
                        raise KernelError(errno.EFAULT, f"USERPTR range {user_addr:#x}+{size:#x} is not "
                                                        "mapped read/write in this process")
                    host = user_addr
                elif domain == "doorbell":
                    host = pdd.doorbell_page().address
                else:
                    host = pdd.mmio_page().address
            except KernelError:
                if domain == "vram":
                    pdd.device.release_vram(reserved)
                elif domain == "gtt":
                    self.gtt_used -= size
                raise
            idr = self._next_idr.get(gpu_id, 1)
            self._next_idr[gpu_id] = idr + 1
            handle = gpu_id << 32 | idr
            if domain == "mmio":
                mmap_offset = abi.kfd_mmap_offset(abi.KFD_MMAP_TYPE_MMIO, gpu_id)
            else:
                mmap_offset = self._next_mmap_offset
                self._next_mmap_offset += size
            bo = BufferObject(handle, gpu_id, va, size, flags, domain, host, mmap_offset,
                              was_reserved=was_reserved, owns_host=owns_host)
            self.bos[handle] = bo
            return bo

    def free(self, handle: int) -> None:
        with self.lock:
            bo = self.bo(handle)
            if self.events.page_handle() == handle:
                raise KernelError(errno.EPERM, "the buffer is the event page")
            if bo.mapped_on:
                raise KernelError(errno.EBUSY, f"buffer {handle:#x} is still mapped to "
                                               f"{len(bo.mapped_on)} GPU(s)")
            if bo.queue_refs:
                raise KernelError(errno.EBUSY, f"buffer {handle:#x} is still used by a queue")
            del self.bos[handle]
            bo.freed = True
            if bo.domain == "vram":
                self.pdds[bo.gpu_id].device.release_vram(bo.size)
            elif bo.domain == "gtt":
                self.gtt_used -= bo.size
            if bo.cpu_mapped:
                self.lingering.add(bo)  # the runtime munmaps its CPU view afterwards
            else:
                self._release_host(bo)

    def _release_host(self, bo: BufferObject) -> None:
        if bo.owns_host:
            bo.owns_host = False
            usermem.release_range(bo.host, bo.size, bo.was_reserved)

    # --- GPU mappings --------------------------------------------------------------------------

    def map_to_gpu(self, bo: BufferObject, gpu_id: int) -> None:
        """Enter `bo` into the page table of gpu_id (already checked to exist and be bound)."""
        pdd = self.pdds[gpu_id]
        if gpu_id in bo.mapped_on:
            return
        if bo.domain == "vram" and gpu_id != bo.gpu_id:
            owner = self.topology.node_by_gpu_id(bo.gpu_id)
            peer = self.topology.node_by_gpu_id(gpu_id)
            if not self.topology.can_reach(peer, owner):
                raise KernelError(errno.EINVAL, f"gpu_id {gpu_id:#x} has no peer-to-peer link to the "
                                                f"VRAM of gpu_id {bo.gpu_id:#x}")
        try:
            pdd.page_table.map(Mapping(bo.va, bo.size, bo.host, bo.writable, bo.executable, bo))
        except ValueError as e:
            raise KernelError(errno.EINVAL, str(e)) from None
        bo.mapped_on.add(gpu_id)

    def unmap_from_gpu(self, bo: BufferObject, gpu_id: int) -> None:
        if gpu_id not in bo.mapped_on:
            return
        self.pdds[gpu_id].page_table.unmap(bo.va)
        bo.mapped_on.discard(gpu_id)

    # --- CPU mappings through the render node --------------------------------------------------

    def mmap_bo(self, gpu_id: int, offset: int, length: int, address: int | None) -> int:
        with self.lock:
            bo = self.bo_by_mmap_offset(offset)
            if bo is None or bo.gpu_id != gpu_id or bo.domain == "mmio":
                raise KernelError(errno.EINVAL, f"no buffer object at render-node offset {offset:#x} "
                                                f"of gpu_id {gpu_id:#x}")
            if not bo.cpu_visible:
                raise KernelError(errno.EPERM, f"buffer {bo.handle:#x} is not CPU accessible "
                                               "(VRAM without PUBLIC, or not a VRAM/GTT buffer)")
            if length > bo.size:
                raise KernelError(errno.EINVAL, f"{length:#x} bytes exceed buffer size {bo.size:#x}")
            if address is not None and address != bo.va:
                raise KernelError(errno.EINVAL, f"the simulated driver maps buffer {bo.handle:#x} only at "
                                                f"its GPU address {bo.va:#x}, not {address:#x}")
            bo.cpu_mapped = True
            return bo.va

    def munmap(self, address: int, length: int) -> bool:
        """Drop the CPU mapping of a buffer; returns False when no buffer is mapped there."""
        with self.lock:
            for bo in [*self.bos.values(), *self.lingering]:
                if bo.cpu_mapped and bo.va == address:
                    bo.cpu_mapped = False
                    if bo.freed:
                        self._release_host(bo)
                        self.lingering.discard(bo)
                    return True
            return False

    # --- faults --------------------------------------------------------------------------------

    def record_fault(self, gpu_id: int, queue_id: int, fault) -> None:
        with self.lock:
            self.faults.append({"gpu_id": gpu_id, "queue_id": queue_id, "address": fault.address,
                                "write": fault.write, "execute": fault.execute, "reason": fault.reason})
        self.events.memory_fault(gpu_id, fault.address, write=fault.write, no_execute=fault.no_execute,
                                 read_only=fault.read_only)

    # --- teardown ------------------------------------------------------------------------------

    def close(self) -> None:
        with self.lock:
            for bo in list(self.bos.values()):
                for gpu_id in list(bo.mapped_on):
                    self.unmap_from_gpu(bo, gpu_id)
                if bo.domain == "vram":
                    self.pdds[bo.gpu_id].device.release_vram(bo.size)
                self._release_host(bo)
            self.bos.clear()
            for bo in self.lingering:
                self._release_host(bo)
            self.lingering.clear()
            if self.event_special_page is not None:
                self.event_special_page.close()
                self.event_special_page = None
            for pdd in self.pdds.values():
                for page in (pdd.doorbells, pdd.mmio):
                    if page is not None:
                        page.close()
                pdd.doorbells = pdd.mmio = None
