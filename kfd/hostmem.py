"""mmap/munmap at chosen addresses through libc.

Python's mmap module cannot map at a fixed address, and the KFD contract needs exactly that: a
buffer's CPU mapping must sit at the same virtual address the GPU uses. Constants are Linux's
(identical on x86-64 and arm64); a test checks them against <sys/mman.h>.
"""

from __future__ import annotations

import ctypes
import os

PROT_NONE = 0x0
PROT_READ = 0x1
PROT_WRITE = 0x2
PROT_EXEC = 0x4

MAP_SHARED = 0x01
MAP_PRIVATE = 0x02
MAP_FIXED = 0x10
MAP_ANONYMOUS = 0x20
MAP_NORESERVE = 0x4000
MAP_FIXED_NOREPLACE = 0x100000

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

libc = ctypes.CDLL(None, use_errno=True)  # the C library, for the calls Python's os lacks
_mmap = libc.mmap
_mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                  ctypes.c_int64]
_mmap.restype = ctypes.c_void_p
_munmap = libc.munmap
_munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_munmap.restype = ctypes.c_int

_MAP_FAILED = ctypes.c_void_p(-1).value
_U64 = 1 << 64


def _check_range(address: int, length: int) -> None:
    if not isinstance(address, int) or not 0 <= address < _U64:
        raise ValueError(f"address {address!r} is not a 64-bit unsigned integer")
    if not isinstance(length, int) or length <= 0 or address + length > _U64:
        raise ValueError(f"length {length!r} must be a positive integer within the address space")


def mmap(address: int, length: int, prot: int, flags: int, fd: int = -1, offset: int = 0) -> int:
    """Map and return the address; OSError with the kernel's errno on failure."""
    _check_range(address, length)
    if not isinstance(offset, int) or not 0 <= offset < _U64:
        raise ValueError(f"offset {offset!r} is not a 64-bit unsigned integer")
    # off_t is signed; KFD offsets use bit 63 (doorbell type), which the kernel reads unsigned.
    signed_offset = offset - _U64 if offset >= 1 << 63 else offset
    result = _mmap(address or None, length, prot, flags, fd, signed_offset)
    if result is None or result == _MAP_FAILED:
        err = ctypes.get_errno()
        raise OSError(err, f"mmap of {length:#x} bytes at {address:#x} failed: {os.strerror(err)}")
    return result


def munmap(address: int, length: int) -> None:
    _check_range(address, length)
    if _munmap(address, length) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"munmap of {length:#x} bytes at {address:#x} failed: {os.strerror(err)}")
