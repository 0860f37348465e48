"""Virtual address allocation inside the process's GPUVM aperture.

A buffer has one address that the CPU and every GPU use. The runtime reserves a large range of
CPU address space (PROT_NONE, no backing) inside the aperture all GPUs share, and hands out
pieces of it here; freed pieces are coalesced with their neighbours so the range does not
fragment over many allocate/free cycles.
"""

from __future__ import annotations

import bisect
import threading

from amdrt.errors import OutOfMemory

PAGE = 4096


class VASpace:
    """First-fit allocator over [base, base + size) with address-ordered, coalesced free ranges."""

    def __init__(self, base: int, size: int):
        if base % PAGE or size % PAGE or size <= 0:
            raise ValueError(f"VA range {base:#x}+{size:#x} must be page aligned and non-empty")
        self.base = base
        self.size = size
        self._starts: list[int] = [base]    # free ranges, sorted by start
        self._ends: list[int] = [base + size]
        self._used: dict[int, int] = {}     # start -> size of live allocations
        self._lock = threading.Lock()

    @property
    def limit(self) -> int:
        return self.base + self.size

    @property
    def free_bytes(self) -> int:
        return sum(e - s for s, e in zip(self._starts, self._ends, strict=True))

    @property
    def allocations(self) -> int:
        return len(self._used)

    def allocate(self, size: int, align: int = PAGE) -> int:
        if not isinstance(size, int) or size <= 0:
            raise ValueError(f"allocation size must be a positive int, got {size!r}")
        if align < PAGE or align & (align - 1):
            raise ValueError(f"alignment {align} must be a power of two of at least {PAGE}")
        size = -(-size // PAGE) * PAGE
        with self._lock:
            for i, (start, end) in enumerate(zip(self._starts, self._ends, strict=True)):
                addr = -(-start // align) * align
                if addr + size > end:
                    continue
                # Split the free range into the part before the allocation and the part after.
                del self._starts[i], self._ends[i]
                if addr + size < end:
                    self._starts.insert(i, addr + size)
                    self._ends.insert(i, end)
                if start < addr:
                    self._starts.insert(i, start)
                    self._ends.insert(i, addr)
                self._used[addr] = size
                return addr
        raise OutOfMemory(f"no {size:#x}-byte range aligned to {align:#x} is left in the "
                          f"{self.size:#x}-byte GPU address space reservation")

    def size_of(self, addr: int) -> int:
        return self._used[addr]

    def free(self, addr: int) -> None:
        with self._lock:
            size = self._used.pop(addr, None)
            if size is None:
                raise ValueError(f"{addr:#x} is not a live allocation")
            end = addr + size
            i = bisect.bisect_left(self._starts, addr)
            # Merge with the free range that ends where this one starts, and the one after.
            if i > 0 and self._ends[i - 1] == addr:
                i -= 1
                addr = self._starts[i]
                del self._starts[i], self._ends[i]
            if i < len(self._starts) and self._starts[i] == end:
                end = self._ends[i]
                del self._starts[i], self._ends[i]
            self._starts.insert(i, addr)
            self._ends.insert(i, end)
