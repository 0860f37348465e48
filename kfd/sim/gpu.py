"""A simulated GPU's view of memory: its page table (what MAP_MEMORY_TO_GPU made reachable).

Every access by the command processors, SDMA engines and shader waves of one GPU goes through its
PageTable: the address is looked up among the mappings of that GPU and the bytes are read or
written in the host memory behind the mapping. Anything unmapped, a write to a read-only mapping
or an instruction fetch from a non-executable one raises PageFault; nothing reaches host memory
that was not mapped to this GPU.

Lookups are vectorised: a sorted array of mapping starts and numpy searchsorted translate a whole
wave's (or dispatch's) addresses at once, and the bytes are gathered/scattered through a numpy
view of the whole user address space, indexed only with translated (validated) host addresses.
Unmapping takes the table's lock, which every access holds while it touches host memory, so host
memory is never released under an access in flight.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass

import numpy as np

from isa.emu.errors import MemoryFault

PAGE_SIZE = 4096
_VIEW_BASE = PAGE_SIZE           # numpy refuses a NULL data pointer; the first page is never mapped
_VIEW_LIMIT = 1 << 47            # the canonical lower half: all user addresses live below it


class _AddressSpace:
    __array_interface__ = {"shape": (_VIEW_LIMIT - _VIEW_BASE,), "typestr": "|u1",
                           "data": (_VIEW_BASE, False), "version": 3}


# Element i is the host byte at address i + _VIEW_BASE. Index it only with validated addresses.
_HOST = np.asarray(_AddressSpace())


# Read-modify-write operations of all engines of all GPUs serialise on this lock.
ATOMIC_LOCK = threading.Lock()


class PageFault(MemoryFault):
    """A GPU access outside its page mappings (or against their protection). It is the
    emulator's MemoryFault, so a fault inside a dispatch stops the dispatch and reaches the
    command processor with the instruction that caused it."""

    def __init__(self, address: int, *, write: bool = False, execute: bool = False,
                 reason: str = "not present", nbytes: int = 0):
        kind = "execute" if execute else "write" if write else "read"
        super().__init__(address, kind, nbytes)
        self.write = write
        self.execute = execute
        self.reason = reason  # 'not present', 'read-only' or 'no-execute'
        self.message = f"GPU page fault: {kind} at {address:#x} ({reason})"

    @property
    def read_only(self) -> bool:
        return self.reason == "read-only"

    @property
    def no_execute(self) -> bool:
        return self.reason == "no-execute"

    @classmethod
    def from_memory_fault(cls, fault: MemoryFault) -> PageFault:
        if isinstance(fault, PageFault):
            return fault
        pf = cls(fault.address, write=fault.kind == "write", execute=fault.kind == "execute",
                 nbytes=fault.nbytes)
        pf.locate(fault.pc, fault.instruction, fault.wave)
        return pf


@dataclass(frozen=True)
class Mapping:
    va: int
    size: int
    host: int             # host address of the byte at va
    writable: bool
    executable: bool
    owner: object = None  # the buffer object

    @property
    def end(self) -> int:
        return self.va + self.size


class PageTable:
    """The mappings of one GPU (one process VM on one device)."""

    def __init__(self):
        self.lock = threading.RLock()
        self._mappings: list[Mapping] = []
        self._rebuild()

    # --- building the table --------------------------------------------------------------------

    def _rebuild(self) -> None:
        m = self._mappings
        self._starts = [x.va for x in m]
        self._va = np.array([x.va for x in m], np.uint64)
        self._end = np.array([x.end for x in m], np.uint64)
        self._delta = np.array([x.host - x.va for x in m], np.int64)
        self._writable = np.array([x.writable for x in m], bool)

    def map(self, mapping: Mapping) -> None:
        if mapping.va % PAGE_SIZE or mapping.size <= 0 or mapping.size % PAGE_SIZE:
            raise ValueError(f"mapping {mapping.va:#x}+{mapping.size:#x} is not page aligned")
        with self.lock:
            i = bisect.bisect_left(self._starts, mapping.va)
            before = self._mappings[i - 1] if i else None
            after = self._mappings[i] if i < len(self._mappings) else None
            if (before and before.end > mapping.va) or (after and after.va < mapping.end):
                raise ValueError(f"mapping {mapping.va:#x}+{mapping.size:#x} overlaps another")
            self._mappings.insert(i, mapping)
            self._rebuild()

    def unmap(self, va: int) -> Mapping:
        with self.lock:
            i = bisect.bisect_left(self._starts, va)
            if i == len(self._mappings) or self._mappings[i].va != va:
                raise KeyError(va)
            mapping = self._mappings.pop(i)
            self._rebuild()
            return mapping

    def find(self, address: int) -> Mapping | None:
        with self.lock:
            i = bisect.bisect_right(self._starts, address) - 1
            if i >= 0 and self._mappings[i].va <= address < self._mappings[i].end:
                return self._mappings[i]
            return None

    def mappings(self) -> list[Mapping]:
        with self.lock:
            return list(self._mappings)

    def is_mapped(self, va: int, size: int) -> bool:
        """Whether exactly one mapping starts at va and is `size` bytes long."""
        m = self.find(va)
        return m is not None and m.va == va and m.size == size

    # --- translation ---------------------------------------------------------------------------

    def _lookup(self, addrs: np.ndarray, nbytes: int, write: bool) -> tuple[np.ndarray, np.ndarray]:
        """(mapping index per address, whether the access lies inside that mapping and is allowed)."""
        idx = np.searchsorted(self._va, addrs, side="right").astype(np.int64) - 1
        safe = np.maximum(idx, 0)
        if not self._va.size:
            return safe, np.zeros(addrs.shape, bool)
        end = addrs + np.uint64(nbytes)
        ok = (idx >= 0) & (end <= self._end[safe]) & (end >= addrs)
        if write:
            ok &= self._writable[safe]
        return safe, ok

    def _host_index(self, addrs, nbytes: int, write: bool) -> np.ndarray:
        """Indices into the host view of every byte of an `nbytes` access at each address:
        int64 [len(addrs), nbytes]. PageFault at the first byte (in address order) that no
        mapping covers, or that a write may not change."""
        addrs = np.asarray(addrs, np.uint64).ravel()
        offsets = np.arange(nbytes, dtype=np.int64) - _VIEW_BASE
        safe, ok = self._lookup(addrs, nbytes, write)
        if ok.all():
            return (addrs.astype(np.int64) + self._delta[safe])[:, None] + offsets
        # Some accesses straddle two mappings (or fault): translate those byte by byte.
        byte_addrs = addrs[:, None] + np.arange(nbytes, dtype=np.uint64)
        bsafe, bok = self._lookup(byte_addrs.ravel(), 1, write)
        if not bok.all():
            bad = int(byte_addrs.ravel()[np.flatnonzero(~bok)[0]])
            m = self.find(bad)
            if m is not None and write and not m.writable:
                raise PageFault(bad, write=True, reason="read-only")
            raise PageFault(bad, write=write)
        host = byte_addrs.ravel().astype(np.int64) + self._delta[bsafe] - _VIEW_BASE
        return host.reshape(len(addrs), nbytes)

    def _first_unmapped(self, address: int, nbytes: int) -> int:
        """The first byte of [address, address+nbytes) that no mapping covers."""
        a, end = address, address + nbytes
        while a < end:
            m = self.find(a)
            if m is None:
                return a
            a = m.end
        return address

    def segments(self, address: int, nbytes: int, *, write: bool = False,
                 execute: bool = False) -> list[tuple[int, int]]:
        """(host address, length) pieces covering [address, address+nbytes), which may span
        adjacent mappings; PageFault at the first byte not mapped (or not permitted)."""
        out = []
        a, end = address, address + nbytes
        while a < end:
            m = self.find(a)
            if m is None:
                raise PageFault(a, write=write, execute=execute)
            if write and not m.writable:
                raise PageFault(a, write=True, reason="read-only")
            if execute and not m.executable:
                raise PageFault(a, execute=True, reason="no-execute")
            n = min(end, m.end) - a
            out.append((m.host + (a - m.va), n))
            a += n
        return out

    # --- the memory interface (emulator and engines) -------------------------------------------

    def words(self, address: int, nbytes: int, write: bool = False) -> np.ndarray | None:
        """A uint32 view of the host memory behind [address, address + nbytes) when that lies
        inside one mapping that allows the access and is dword aligned, else None (the caller
        then gathers, which raises the fault if there is one). The view is only valid while the
        caller holds `lock`: an unmap takes it before the memory goes."""
        m = self.find(address)
        if m is None or address % 4 or address + nbytes > m.end or (write and not m.writable):
            return None
        first = m.host + (address - m.va) - _VIEW_BASE
        if first % 4:
            return None
        return _HOST[first:first + -(-nbytes // 4) * 4].view(np.uint32)

    def read(self, addrs: np.ndarray, nbytes: int) -> np.ndarray:
        """Gather `nbytes` at each address: uint8 array of shape [len(addrs), nbytes]."""
        with self.lock:
            return _HOST[self._host_index(addrs, nbytes, False)]

    def write(self, addrs: np.ndarray, data: np.ndarray) -> None:
        """Scatter rows of `data` (uint8 [len(addrs), nbytes]) to the addresses. Where addresses
        repeat, the last row wins (as later lanes do on hardware)."""
        data = np.asarray(data, np.uint8)
        data = data.reshape(len(np.asarray(addrs).ravel()), -1)
        with self.lock:
            _HOST[self._host_index(addrs, data.shape[1], True)] = data

    def read_bytes(self, address: int, nbytes: int, *, execute: bool = False) -> bytes:
        with self.lock:
            return b"".join(_HOST[h - _VIEW_BASE:h - _VIEW_BASE + n].tobytes()
                            for h, n in self.segments(address, nbytes, execute=execute))

    def write_bytes(self, address: int, data: bytes | np.ndarray) -> None:
        src = np.frombuffer(bytes(data), np.uint8) if not isinstance(data, np.ndarray) else data.view(np.uint8).ravel()
        with self.lock:
            pos = 0
            for h, n in self.segments(address, len(src), write=True):
                _HOST[h - _VIEW_BASE:h - _VIEW_BASE + n] = src[pos:pos + n]
                pos += n

    def fill(self, address: int, nbytes: int, pattern: bytes) -> None:
        """Write `pattern` (1, 2, 4 or 8 bytes) repeatedly over [address, address+nbytes)."""
        unit = np.frombuffer(pattern, np.uint8)
        with self.lock:
            pos = 0
            for h, n in self.segments(address, nbytes, write=True):
                phase = pos % len(unit)
                reps = (n + phase + len(unit) - 1) // len(unit)
                _HOST[h - _VIEW_BASE:h - _VIEW_BASE + n] = np.tile(unit, reps)[phase:phase + n]
                pos += n

    def copy(self, dst: int, src: int, nbytes: int) -> None:
        """memmove within this GPU's address space: both ranges must be mapped (dst writable)."""
        with self.lock:
            srcs = self.segments(src, nbytes)
            dsts = self.segments(dst, nbytes, write=True)
            pieces = []  # (dst host, src host, n), split where either side changes mapping
            si = di = 0
            s_host, s_left = srcs[0] if srcs else (0, 0)
            d_host, d_left = dsts[0] if dsts else (0, 0)
            while si < len(srcs):
                n = min(s_left, d_left)
                pieces.append((d_host, s_host, n))
                s_host, s_left, d_host, d_left = s_host + n, s_left - n, d_host + n, d_left - n
                if s_left == 0:
                    si += 1
                    if si < len(srcs):
                        s_host, s_left = srcs[si]
                if d_left == 0:
                    di += 1
                    if di < len(dsts):
                        d_host, d_left = dsts[di]
            if len(pieces) == 1:
                d, s, n = pieces[0]
                _HOST[d - _VIEW_BASE:d - _VIEW_BASE + n] = _HOST[s - _VIEW_BASE:s - _VIEW_BASE + n]
            else:
                data = [_HOST[s - _VIEW_BASE:s - _VIEW_BASE + n].copy() for _, s, n in pieces]
                for (d, _, n), chunk in zip(pieces, data, strict=True):
                    _HOST[d - _VIEW_BASE:d - _VIEW_BASE + n] = chunk

    def read_u32(self, address: int) -> int:
        return int.from_bytes(self.read_bytes(address, 4), "little")

    def read_u64(self, address: int) -> int:
        return int.from_bytes(self.read_bytes(address, 8), "little")

    def write_u32(self, address: int, value: int) -> None:
        self.write_bytes(address, (value & 0xFFFFFFFF).to_bytes(4, "little"))

    def write_u64(self, address: int, value: int) -> None:
        self.write_bytes(address, (value & 0xFFFF_FFFF_FFFF_FFFF).to_bytes(8, "little"))

    def atomic_add_u64(self, address: int, delta: int) -> int:
        """Add to a u64 in memory atomically with respect to every simulated engine; returns the
        new value."""
        with ATOMIC_LOCK, self.lock:
            value = (self.read_u64(address) + delta) & 0xFFFF_FFFF_FFFF_FFFF
            self.write_u64(address, value)
            return value
