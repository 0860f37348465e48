"""User memory primitives of the simulated driver: mmap at fixed addresses, safe user copies.

The simulated driver gives every buffer object the virtual address the runtime chose, so it maps
anonymous memory there with libc's mmap. Pointers the runtime hands to ioctls are read and written
with process_vm_readv/writev on our own process, which report EFAULT for unmapped memory instead of
crashing, exactly as copy_from_user/copy_to_user do in the kernel.
"""

from __future__ import annotations

import ctypes
import errno
import os

import numpy as np

from kfd import hostmem
from kfd.hostmem import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_NORESERVE,
    MAP_PRIVATE,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    libc,
)

PAGE_SIZE = 4096


class _iovec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


libc.process_vm_readv.restype = ctypes.c_ssize_t
libc.process_vm_readv.argtypes = [ctypes.c_int, ctypes.POINTER(_iovec), ctypes.c_ulong,
                                  ctypes.POINTER(_iovec), ctypes.c_ulong, ctypes.c_ulong]
libc.process_vm_writev.restype = ctypes.c_ssize_t
libc.process_vm_writev.argtypes = libc.process_vm_readv.argtypes


class HostMemoryError(OSError):
    """An mmap/munmap the simulated driver needed failed; .errno says why."""


def page_align_up(n: int) -> int:
    return (n + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


def mmap_fixed(address: int, length: int, prot: int, flags: int, fd: int = -1, offset: int = 0) -> int:
    """mmap at exactly `address` (flags must contain MAP_FIXED or MAP_FIXED_NOREPLACE)."""
    try:
        result = hostmem.mmap(address, length, prot, flags, fd, offset)
    except OSError as e:
        raise HostMemoryError(e.errno, str(e)) from None
    if result != address:
        # An old kernel that ignores MAP_FIXED_NOREPLACE treats it as a hint: undo and report.
        hostmem.munmap(result, length)
        raise HostMemoryError(errno.EEXIST, f"mmap could not place {length:#x} bytes at {address:#x}")
    return result


def mmap_anywhere(length: int, prot: int = PROT_READ | PROT_WRITE,
                  flags: int = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, fd: int = -1,
                  offset: int = 0) -> int:
    try:
        return hostmem.mmap(0, length, prot, flags, fd, offset)
    except OSError as e:
        raise HostMemoryError(e.errno, str(e)) from None


def munmap(address: int, length: int) -> None:
    try:
        hostmem.munmap(address, length)
    except OSError as e:
        raise HostMemoryError(e.errno, str(e)) from None


def _mappings_cover(start: int, end: int, accept) -> bool:
    """Whether [start, end) lies entirely in mappings of this process that `accept` (called with
    the fields of their /proc/self/maps line: range, permissions, offset, device, inode, path)."""
    covered_to = start
    with open("/proc/self/maps") as maps:
        for line in maps:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            if hi <= covered_to or lo >= end:
                continue
            if lo > covered_to or not accept(parts):
                return False
            covered_to = hi
            if covered_to >= end:
                return True
    return covered_to >= end


def _is_reservation(parts: list[str]) -> bool:
    """An inaccessible private anonymous mapping: how a runtime reserves virtual address space
    (mmap(PROT_NONE))."""
    anonymous = len(parts) < 6 or parts[5] == ""
    return parts[1] == "---p" and anonymous and parts[4] == "0"


def back_range(address: int, length: int) -> bool:
    """Map fresh zeroed read/write anonymous memory at [address, address+length).

    The range must be free or reserved by the runtime with PROT_NONE. Returns whether it was a
    reservation (so release_range can put the reservation back). Raises HostMemoryError(EEXIST)
    when something else lives there."""
    flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE
    try:
        mmap_fixed(address, length, PROT_READ | PROT_WRITE, flags | MAP_FIXED_NOREPLACE)
        return False
    except HostMemoryError as e:
        if e.errno != errno.EEXIST:
            raise
    if not _mappings_cover(address, address + length, _is_reservation):
        raise HostMemoryError(errno.EEXIST, f"host address range {address:#x}+{length:#x} is in use "
                                            "(reserve it with mmap(PROT_NONE) before allocating there)")
    mmap_fixed(address, length, PROT_READ | PROT_WRITE, flags | MAP_FIXED)
    return True


def release_range(address: int, length: int, was_reserved: bool) -> None:
    """Give back a range mapped by back_range: restore the PROT_NONE reservation or unmap."""
    if was_reserved:
        mmap_fixed(address, length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED)
    else:
        munmap(address, length)


def host_view(address: int, length: int) -> np.ndarray:
    """A uint8 numpy array over host memory at `address` (the caller keeps it mapped)."""
    if length == 0:
        return np.zeros(0, np.uint8)
    return np.ctypeslib.as_array((ctypes.c_uint8 * length).from_address(address))


def _vm_copy(fn, local: int, remote: int, length: int) -> bool:
    liov = _iovec(local, length)
    riov = _iovec(remote, length)
    done = fn(os.getpid(), ctypes.byref(liov), 1, ctypes.byref(riov), 1, 0)
    return done == length


def copy_from_user(address: int, length: int) -> bytes | None:
    """Read `length` bytes at a user address, or None where the kernel would fault (EFAULT)."""
    if length == 0:
        return b""
    if address == 0 or address + length > 1 << 64:
        return None
    buf = ctypes.create_string_buffer(length)
    return buf.raw if _vm_copy(libc.process_vm_readv, ctypes.addressof(buf), address, length) else None


def copy_to_user(address: int, data: bytes) -> bool:
    """Write `data` at a user address; False where the kernel would fault (EFAULT)."""
    if not data:
        return True
    if address == 0 or address + len(data) > 1 << 64:
        return False
    buf = ctypes.create_string_buffer(bytes(data), len(data))
    return _vm_copy(libc.process_vm_writev, ctypes.addressof(buf), address, len(data))


def user_range_writable(address: int, length: int) -> bool:
    """Whether [address, address+length) is mapped readable and writable in this process."""
    if length <= 0 or address <= 0:
        return False
    return _mappings_cover(address, address + length, lambda parts: parts[1].startswith("rw"))
