"""The driver interface everything above kfd talks to, whether the KFD is real or simulated.

A runtime drives a GPU through exactly what the kernel offers a process: ioctls on /dev/kfd with
the structs of kfd.abi, mmap of /dev/kfd offsets (doorbells, events, MMIO) and of render-node
offsets (buffer objects), the sysfs topology, and doorbell writes. Backends implement the
underscored hooks; the checks here are shared so both backends refuse the same mistakes.
"""

from __future__ import annotations

import abc
import ctypes
import errno
import os

from kfd import abi, hostmem
from kfd.errors import KFDError
from kfd.topology import Topology

_U64 = 1 << 64


def check_ioctl(request: int, args: object) -> abi.IoctlDef:
    """The IoctlDef for `request`, after checking that `args` is the struct it names.

    The kernel copies back as many bytes as the request encodes, so a struct of the wrong type
    or size would be written past its end: refuse it before any call."""
    if not isinstance(request, int):
        raise TypeError(f"ioctl request must be an int, got {type(request).__name__}")
    definition = abi.IOCTLS.get(request)
    if definition is None:
        raise KFDError(errno.ENOTTY, abi.ioctl_name(request), "not a KFD ioctl request")
    if not isinstance(args, definition.struct):
        raise TypeError(f"AMDKFD_IOC_{definition.name} takes a {definition.struct.__name__}, "
                        f"got {type(args).__name__}")
    return definition


class Doorbell(abc.ABC):
    """The doorbell of one queue. ring(value) tells the engine the queue's write pointer moved:
    AQL takes the index of the last written packet, PM4 a dword count, SDMA a byte offset."""

    def __init__(self, gpu_id: int, doorbell_offset: int):
        self.gpu_id = gpu_id
        self.doorbell_offset = doorbell_offset

    def ring(self, value: int) -> None:
        if not isinstance(value, int) or not 0 <= value < _U64:
            raise ValueError(f"doorbell value {value!r} is not a 64-bit unsigned integer")
        self._store(value)

    @abc.abstractmethod
    def _store(self, value: int) -> None:
        """Deliver a 64-bit doorbell write."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(gpu_id={self.gpu_id:#x}, offset={self.doorbell_offset:#x})"


def check_doorbell_offset(gpu_id: int, doorbell_offset: int) -> int:
    """The byte offset of the doorbell inside the process doorbell slice, after checking that the
    CREATE_QUEUE doorbell_offset is a doorbell mmap offset of this GPU."""
    if not isinstance(doorbell_offset, int) or not 0 <= doorbell_offset < _U64:
        raise ValueError(f"doorbell offset {doorbell_offset!r} is not a 64-bit unsigned integer")
    if doorbell_offset & abi.KFD_MMAP_TYPE_MASK != abi.KFD_MMAP_TYPE_DOORBELL:
        raise ValueError(f"{doorbell_offset:#x} is not a doorbell mmap offset")
    if abi.KFD_MMAP_GET_GPU_ID(doorbell_offset) != gpu_id:
        raise ValueError(f"doorbell offset {doorbell_offset:#x} belongs to gpu_id "
                         f"{abi.KFD_MMAP_GET_GPU_ID(doorbell_offset):#x}, not {gpu_id:#x}")
    in_slice = doorbell_offset & (abi.KFD_DOORBELL_SLICE_SIZE - 1)
    if in_slice % 8:
        raise ValueError(f"doorbell offset {doorbell_offset:#x} is not 8-byte aligned")
    return in_slice


def map_host(address: int | None, length: int, prot: int, flags: int, fd: int, offset: int,
             source: str) -> int:
    """mmap for a backend: exactly at `address` when one is given (MAP_FIXED), a KFDError with
    the kernel's errno naming `source` when the kernel refuses."""
    if address is not None:
        flags |= hostmem.MAP_FIXED
    try:
        return hostmem.mmap(address or 0, length, prot, flags, fd, offset)
    except OSError as e:
        raise KFDError(e.errno, "mmap", f"mapping {length:#x} bytes of {source} at offset "
                                        f"{offset:#x}: {os.strerror(e.errno)}") from None


def unmap_host(address: int, length: int) -> None:
    """munmap for a backend, failing with a KFDError."""
    try:
        hostmem.munmap(address, length)
    except OSError as e:
        raise KFDError(e.errno, "munmap", str(e)) from None


class Driver(abc.ABC):
    """One process's view of the KFD. Use as a context manager or call open() and close()."""

    name = "driver"

    def __init__(self) -> None:
        self._is_open = False
        self.version: tuple[int, int] | None = None  # (major, minor) from GET_VERSION after open
        self._render_fds: dict[int, int] = {}         # gpu_id -> render node, opened once

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._is_open

    def open(self) -> Driver:
        """Open the KFD (idempotent). Raises KFDUnavailable when there is none to open."""
        if not self._is_open:
            self.version = self._open()
            self._is_open = True
        return self

    def close(self) -> None:
        """Release every mapping and file the driver made (idempotent)."""
        if self._is_open:
            self._is_open = False
            for fd in self._render_fds.values():
                os.close(fd)
            self._render_fds.clear()
            self._close()

    def __enter__(self) -> Driver:
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    def _require_open(self, what: str) -> None:
        if not self._is_open:
            raise KFDError(errno.EBADF, what, f"the {self.name} KFD driver is not open; call open() first")

    # --- the interface -----------------------------------------------------------------------

    def queue_diagnosis(self, queue_id: int) -> str | None:
        """What the driver logged about why a queue stopped (None: nothing known). The kernel
        writes its reasons to its own log, which the KFD interface does not return; a simulated
        driver knows them."""
        return None

    @property
    @abc.abstractmethod
    def topology(self) -> Topology:
        """The KFD sysfs topology this driver's GPUs are described by."""

    def ioctl(self, request: int, args: abi.KFDStruct) -> None:
        """Issue a KFD ioctl. `args` is updated in place for requests that return data (_IOR and
        _IOWR); a failure raises KFDError with the driver's errno."""
        definition = check_ioctl(request, args)
        self._require_open(f"AMDKFD_IOC_{definition.name}")
        self._ioctl(definition, args)

    def mmap(self, offset: int, length: int, prot: int, flags: int, address: int | None = None,
             *, gpu_id: int | None = None) -> int:
        """Map `length` bytes and return the CPU address.

        The source is /dev/kfd (doorbell, event and MMIO offsets) when gpu_id is None, the render
        node of that GPU (offsets from ALLOC_MEMORY_OF_GPU) otherwise, and nothing with
        MAP_ANONYMOUS in flags (used to reserve address ranges). With `address` the mapping must
        land exactly there, replacing what was mapped (MAP_FIXED), as the KFD contract requires
        a buffer's CPU address to equal its GPU virtual address."""
        self._require_open("mmap")
        if not isinstance(length, int) or length <= 0:
            raise ValueError(f"mmap length {length!r} must be a positive integer")
        if not isinstance(offset, int) or not 0 <= offset < _U64:
            raise ValueError(f"mmap offset {offset!r} is not a 64-bit unsigned integer")
        if address is not None and (not isinstance(address, int) or not 0 < address < _U64):
            raise ValueError(f"mmap address {address!r} is not a nonzero 64-bit unsigned integer")
        return self._mmap(offset, length, prot, flags, address, gpu_id)

    def munmap(self, address: int, length: int) -> None:
        self._require_open("munmap")
        self._munmap(address, length)

    def drm_fd(self, gpu_id: int) -> int:
        """The file descriptor of the GPU's render node, for ACQUIRE_VM (opened once)."""
        self._require_open("drm_fd")
        return self._render_node_fd(gpu_id)

    def _render_node_fd(self, gpu_id: int) -> int:
        fd = self._render_fds.get(gpu_id)
        if fd is None:
            fd = self._render_fds[gpu_id] = self._open_render_node(gpu_id)
        return fd

    def doorbell(self, gpu_id: int, doorbell_offset: int) -> Doorbell:
        """The doorbell of a queue, from the gpu_id and doorbell_offset of its CREATE_QUEUE."""
        self._require_open("doorbell")
        return self._doorbell(gpu_id, doorbell_offset, check_doorbell_offset(gpu_id, doorbell_offset))

    # --- backend hooks -----------------------------------------------------------------------

    @abc.abstractmethod
    def _open(self) -> tuple[int, int]:
        """Open the device and return its KFD (major, minor) version from GET_VERSION."""

    @abc.abstractmethod
    def _close(self) -> None:
        """Release what the backend holds (render nodes are closed before this)."""

    @abc.abstractmethod
    def _ioctl(self, definition: abi.IoctlDef, args: ctypes.Structure) -> None: ...

    @abc.abstractmethod
    def _mmap(self, offset: int, length: int, prot: int, flags: int, address: int | None,
              gpu_id: int | None) -> int: ...

    @abc.abstractmethod
    def _munmap(self, address: int, length: int) -> None: ...

    @abc.abstractmethod
    def _open_render_node(self, gpu_id: int) -> int:
        """Open the render node of a GPU (drm_fd keeps it open until close)."""

    @abc.abstractmethod
    def _doorbell(self, gpu_id: int, doorbell_offset: int, offset_in_slice: int) -> Doorbell: ...
