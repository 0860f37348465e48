"""Keeps the C heap from returning every large numpy temporary to the kernel.

An instruction of a batch produces temporaries of a few hundred KiB to a few MiB (one value per
lane of every wave). glibc serves blocks above its mmap threshold (128 KiB until it adapts) with
a fresh mmap() and frees them with munmap(), so each temporary costs a page fault per 4 KiB page
when first written -- often more than the arithmetic itself, and dependent on which sizes the
process happened to free before. Raising the mmap and trim thresholds once makes freed
temporaries come back from the heap instead. Where the C library is not glibc nothing changes.
"""

import ctypes
import threading

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20          # glibc's largest accepted value on 64-bit systems
TRIM_THRESHOLD = 256 << 20         # free memory kept at the top of the heap before trimming

_lock = threading.Lock()
_done = False


def keep_temporaries() -> bool:
    """Sets the thresholds (once per process); True where the C library took them."""
    global _done
    with _lock:
        if _done:
            return True
        try:
            libc = ctypes.CDLL(None)            # the C library the interpreter runs on
            mallopt = libc.mallopt
        except (OSError, AttributeError):
            return False
        mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        mallopt.restype = ctypes.c_int
        _done = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
        return _done
