"""The GPU's view of memory: the page-mapping interface the emulator reads and writes through,
and PagedMemory, a reference implementation over host buffers.

The emulator never dereferences an address itself. Every vector or scalar memory instruction turns
into one gather (`read`) or scatter (`write`) over all lanes of all waves it runs for, so an
implementation should make those two calls fast for the common case of many addresses inside one
mapping. Addresses outside every mapping raise MemoryFault; the emulator adds the instruction.
"""

import contextlib
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from isa.emu.errors import MemoryFault

PAGE_SIZE = 4096


@runtime_checkable
class Memory(Protocol):
    """What the emulator needs from the simulated GPU's memory system."""

    def read(self, addrs: np.ndarray, nbytes: int) -> np.ndarray:
        """Gather `nbytes` bytes at each of the uint64 addresses `addrs` ([N]); returns a
        C-contiguous uint8 array [N, nbytes]. Raises MemoryFault for an unmapped byte."""

    def write(self, addrs: np.ndarray, data: np.ndarray) -> None:
        """Scatter the rows of `data` (uint8 [N, nbytes]) to the addresses `addrs` ([N]). Where
        rows overlap the later row wins. Raises MemoryFault (before writing anything) for an
        unmapped or read-only byte."""

    def read_bytes(self, address: int, nbytes: int, *, execute: bool = False) -> bytes:
        """A contiguous range, e.g. a kernel descriptor; `execute` marks an instruction fetch."""

    def write_bytes(self, address: int, data: bytes) -> None:
        """Writes a contiguous range."""

    # Optional, for speed: `words(address, nbytes, write=False)` -> a uint32 numpy view of the
    # range when one mapping backs all of it (writable, for write=True) and address is 4-byte
    # aligned, else None. The emulator gathers and scatters dword accesses through it and falls
    # back to read / write (which raise the faults) when it gives None. A memory whose mappings
    # can be removed while a dispatch runs also has `lock` (a threading.RLock that unmapping
    # takes); the emulator holds it while it uses such a view.


@dataclass
class Mapping:
    start: int
    end: int
    buf: np.ndarray        # uint8 view of the backing memory, end - start bytes
    writable: bool


_DTYPES = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _as_bytes_view(buffer) -> np.ndarray:
    if isinstance(buffer, np.ndarray):
        if not buffer.flags.c_contiguous:
            raise ValueError("a mapped numpy buffer must be C-contiguous")
        return buffer.reshape(-1).view(np.uint8)
    return np.frombuffer(buffer, dtype=np.uint8)


class PagedMemory:
    """Address ranges (whole 4 KiB pages) mapped to host buffers. The GPU addresses of the
    mappings are independent of where the host buffers live."""

    def __init__(self):
        self._maps: list[Mapping] = []
        self._starts = np.zeros(0, np.uint64)
        self._ends = np.zeros(0, np.uint64)

    # -- mapping management -------------------------------------------------------------------
    def map(self, address: int, buffer, writable: bool = True) -> np.ndarray:
        """Maps `buffer` (numpy array, bytearray, memoryview, mmap; its length a multiple of the
        page size) at the page-aligned GPU `address`; returns the uint8 view used."""
        view = _as_bytes_view(buffer)
        if address % PAGE_SIZE or view.size % PAGE_SIZE or view.size == 0:
            raise ValueError(f"mappings are whole pages: address 0x{address:x} and size {view.size} must be "
                             f"non-zero multiples of {PAGE_SIZE}")
        if writable and not view.flags.writeable:
            raise ValueError("a writable mapping needs a writable buffer")
        end = address + view.size
        if address < 0 or end > 1 << 64:
            raise ValueError("mapping outside the 64-bit address space")
        for m in self._maps:
            if address < m.end and m.start < end:
                raise ValueError(f"mapping 0x{address:x}-0x{end:x} overlaps 0x{m.start:x}-0x{m.end:x}")
        self._maps.append(Mapping(address, end, view, writable))
        self._reindex()
        return view

    def alloc(self, address: int, nbytes: int, writable: bool = True) -> np.ndarray:
        """Maps fresh zeroed host memory of `nbytes` rounded up to whole pages."""
        size = max(PAGE_SIZE, -(-nbytes // PAGE_SIZE) * PAGE_SIZE)
        return self.map(address, np.zeros(size, np.uint8), writable)

    def unmap(self, address: int) -> None:
        for i, m in enumerate(self._maps):
            if m.start == address:
                del self._maps[i]
                self._reindex()
                return
        raise ValueError(f"no mapping starts at 0x{address:x}")

    def mappings(self) -> list[tuple[int, int, bool]]:
        return [(m.start, m.end, m.writable) for m in self._maps]

    def view(self, address: int, nbytes: int) -> np.ndarray:
        """A uint8 numpy view of a range inside one mapping (host-side access for tests and
        the simulator)."""
        m = self._find(address)
        if m is None or address + nbytes > m.end:
            raise MemoryFault(address, "read", nbytes)
        return m.buf[address - m.start:address - m.start + nbytes]

    def _reindex(self) -> None:
        self._maps.sort(key=lambda m: m.start)
        self._starts = np.array([m.start for m in self._maps], np.uint64)
        self._ends = np.array([m.end for m in self._maps], np.uint64)

    def _find(self, address: int) -> Mapping | None:
        i = int(np.searchsorted(self._starts, np.uint64(address), "right")) - 1
        if i >= 0 and address < self._maps[i].end:
            return self._maps[i]
        return None

    def words(self, address: int, nbytes: int, write: bool = False) -> np.ndarray | None:
        """A uint32 view of [address, address + nbytes) inside one mapping, or None. (A memory
        whose mappings can go while a dispatch runs also has a `lock`, held around every use of
        such a view: see access_lock.)"""
        m = self._find(address)
        if m is None or address % 4 or address + nbytes > m.end or (write and not m.writable):
            return None
        first = address - m.start
        return m.buf[first:first + -(-nbytes // 4) * 4].view(np.uint32)

    # -- contiguous access --------------------------------------------------------------------
    def read_bytes(self, address: int, nbytes: int, *, execute: bool = False) -> bytes:
        if nbytes <= 0:
            return b""
        return self.read(np.array([address], np.uint64), nbytes)[0].tobytes()

    def write_bytes(self, address: int, data) -> None:
        data = np.frombuffer(bytes(data), np.uint8)
        if data.size:
            self.write(np.array([address], np.uint64), data.reshape(1, -1))

    # -- gather / scatter ---------------------------------------------------------------------
    def read(self, addrs: np.ndarray, nbytes: int) -> np.ndarray:
        addrs = np.asarray(addrs, np.uint64).reshape(-1)
        n = addrs.size
        if n == 0:
            return np.zeros((0, nbytes), np.uint8)
        m = self._single(addrs, nbytes)
        if m is not None:
            return gather_bytes(m.buf, addrs - np.uint64(m.start), nbytes)
        out = np.empty((n, nbytes), np.uint8)
        for m, lanes in self._split(addrs, nbytes, "read"):
            if lanes is None:
                out[:] = gather_bytes(m.buf, addrs - np.uint64(m.start), nbytes)
            elif isinstance(lanes, tuple):        # byte-wise: accesses that straddle mappings
                rows, cols, offs = lanes
                out[rows, cols] = m.buf[offs]
            else:
                out[lanes] = gather_bytes(m.buf, addrs[lanes] - np.uint64(m.start), nbytes)
        return out

    def write(self, addrs: np.ndarray, data: np.ndarray) -> None:
        addrs = np.asarray(addrs, np.uint64).reshape(-1)
        n = addrs.size
        if n == 0:
            return
        data = np.ascontiguousarray(data, np.uint8).reshape(n, -1)
        nbytes = data.shape[1]
        m = self._single(addrs, nbytes)
        if m is not None:
            if not m.writable:
                raise MemoryFault(int(addrs[0]), "write", nbytes)
            scatter_bytes(m.buf, addrs - np.uint64(m.start), data)
            return
        parts = list(self._split(addrs, nbytes, "write"))
        for m, _ in parts:
            if not m.writable:
                raise MemoryFault(m.start, "write", nbytes)
        for m, lanes in parts:
            if lanes is None:
                scatter_bytes(m.buf, addrs - np.uint64(m.start), data)
            elif isinstance(lanes, tuple):
                rows, cols, offs = lanes
                m.buf[offs] = data[rows, cols]
            else:
                scatter_bytes(m.buf, addrs[lanes] - np.uint64(m.start), data[lanes])

    def _single(self, addrs: np.ndarray, nbytes: int) -> Mapping | None:
        """The one mapping covering every access, if there is one (the fast path)."""
        lo = int(addrs.min())
        hi = int(addrs.max()) + nbytes
        m = self._find(lo)
        if m is not None and hi <= m.end:
            return m
        return None

    def _split(self, addrs: np.ndarray, nbytes: int, kind: str):
        """Yields (mapping, lanes) covering all accesses: lanes is None (all), a bool mask of
        whole accesses inside the mapping, or (rows, cols, offsets) of single bytes for
        accesses that straddle two mappings. Raises MemoryFault for the first unmapped byte."""
        if not self._maps:
            raise MemoryFault(int(addrs[0]), kind, nbytes)
        idx = np.searchsorted(self._starts, addrs, "right").astype(np.int64) - 1
        safe = np.maximum(idx, 0)
        inside = (idx >= 0) & (addrs + np.uint64(nbytes) <= self._ends[safe]) & (addrs >= self._starts[safe])
        for i in np.unique(idx[inside]):
            yield self._maps[int(i)], (inside & (idx == i))
        if inside.all():
            return
        rows = np.nonzero(~inside)[0]
        byte_addrs = addrs[rows][:, None] + np.arange(nbytes, dtype=np.uint64)
        bidx = np.searchsorted(self._starts, byte_addrs.reshape(-1), "right").astype(np.int64) - 1
        bsafe = np.maximum(bidx, 0)
        flat = byte_addrs.reshape(-1)
        ok = (bidx >= 0) & (flat < self._ends[bsafe])
        if not ok.all():
            raise MemoryFault(int(flat[np.argmin(ok)]), kind, nbytes)
        r = np.repeat(rows, nbytes)
        c = np.tile(np.arange(nbytes), rows.size)
        for i in np.unique(bidx):
            sel = bidx == i
            m = self._maps[int(i)]
            yield m, (r[sel], c[sel], (flat[sel] - np.uint64(m.start)).astype(np.intp))


def _indices(offsets: np.ndarray, e: int) -> np.ndarray:
    """Byte offsets (uint64 or int64) -> int64 element indices for elements of e bytes."""
    if offsets.dtype == np.uint64:
        return (offsets >> np.uint64(e.bit_length() - 1)).view(np.int64)
    return offsets >> (e.bit_length() - 1)


def _element(offsets: np.ndarray, nbytes: int) -> int:
    """The widest element size (<= 8) that divides nbytes and every offset."""
    low = int(np.bitwise_or.reduce(offsets)) if offsets.size > 1 else int(offsets[0])
    for e in (8, 4, 2):
        if nbytes % e == 0 and low % e == 0:
            return e
    return 1


def gather_bytes(buf: np.ndarray, offsets: np.ndarray, nbytes: int) -> np.ndarray:
    """buf[offset:offset + nbytes] for each offset, as uint8 [N, nbytes], through the widest
    aligned element view."""
    n = offsets.size
    e = _element(offsets, nbytes)
    k = nbytes // e
    view = buf.view(_DTYPES[e])
    idx = _indices(offsets, e)
    if k == 1:
        out = view.take(idx)
    else:
        out = view[idx[:, None] + np.arange(k)]
    return out.view(np.uint8).reshape(n, nbytes)


def scatter_bytes(buf: np.ndarray, offsets: np.ndarray, data: np.ndarray) -> None:
    """buf[offset:offset + nbytes] = row for each offset and row of data (later rows win)."""
    n, nbytes = data.shape
    e = _element(offsets, nbytes)
    k = nbytes // e
    view = buf.view(_DTYPES[e])
    idx = _indices(offsets, e)
    words = np.ascontiguousarray(data).view(_DTYPES[e]).reshape(n, k)
    if k == 1:
        view[idx] = words[:, 0]
    else:
        view[idx[:, None] + np.arange(k)] = words


_NO_LOCK = contextlib.nullcontext()


def access_lock(memory):
    """What to hold while using a view from memory.words(): the memory's lock where it has one."""
    return getattr(memory, "lock", _NO_LOCK)
