"""GPU memory: KFD buffer objects at addresses from the runtime's VA space, and `Buffer`.

An allocation follows the KFD recipe: pick a virtual address inside the reserved range,
ALLOC_MEMORY_OF_GPU there (VRAM or GTT system memory), mmap the returned render-node offset at
the same address so the CPU sees the buffer where the GPU does, and MAP_MEMORY_TO_GPU on the
owner (and later on peers that use it). Release undoes it in the kernel's order: unmap from every
GPU, free, drop the CPU view, and put the PROT_NONE reservation back so nothing else lands in the
range before the allocator hands it out again.
"""

from __future__ import annotations

import collections
import ctypes
import threading
import weakref
from dataclasses import dataclass, field

import numpy as np

from amdrt.errors import BufferFreed, InvalidArgument, OutOfMemory
from amdrt.vaspace import PAGE, VASpace
from kfd import abi, hostmem
from kfd.errors import KFDError

F = abi
VRAM_FLAGS = F.KFD_IOC_ALLOC_MEM_FLAGS_VRAM | F.KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE | \
    F.KFD_IOC_ALLOC_MEM_FLAGS_NO_SUBSTITUTE
GTT_FLAGS = F.KFD_IOC_ALLOC_MEM_FLAGS_GTT | F.KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE | \
    F.KFD_IOC_ALLOC_MEM_FLAGS_PUBLIC
RESERVE_FLAGS = hostmem.MAP_PRIVATE | hostmem.MAP_ANONYMOUS | hostmem.MAP_NORESERVE


@dataclass(eq=False)
class Allocation:
    """One KFD buffer object."""

    handle: int
    va: int
    size: int            # page-aligned bytes of the buffer object
    gpu_id: int          # the GPU whose memory (or GART) it belongs to
    domain: str          # 'vram' or 'gtt'
    flags: int
    mmap_offset: int
    cpu: bool = False    # mapped for the CPU at va
    mapped: set[int] = field(default_factory=set)
    freed: bool = False

    @property
    def executable(self) -> bool:
        return bool(self.flags & F.KFD_IOC_ALLOC_MEM_FLAGS_EXECUTABLE)


def _ids_array(gpu_ids) -> ctypes.Array:
    return (ctypes.c_uint32 * len(gpu_ids))(*gpu_ids)


class MemoryManager:
    """Allocates and releases buffer objects for one driver; thread-safe."""

    def __init__(self, driver, va_space: VASpace):
        self.driver = driver
        self.va = va_space
        self.lock = threading.RLock()
        self.live: dict[int, Allocation] = {}  # va -> allocation
        self._deferred: collections.deque[Allocation] = collections.deque()

    # --- allocate ----------------------------------------------------------------------------------

    def allocate(self, gpu_id: int, nbytes: int, domain: str = "vram", *, cpu: bool = True,
                 executable: bool = False, uncached: bool = False, writable: bool = True,
                 map_to: tuple[int, ...] | None = None, align: int = PAGE) -> Allocation:
        """A buffer object of at least nbytes, CPU-mapped when `cpu`, GPU-mapped on `map_to`
        (default: its own GPU)."""
        if not isinstance(nbytes, int) or nbytes <= 0:
            raise InvalidArgument(f"allocation size must be a positive number of bytes, got {nbytes!r}")
        self.release_deferred()
        size = -(-nbytes // PAGE) * PAGE
        if domain == "vram":
            flags = VRAM_FLAGS | (F.KFD_IOC_ALLOC_MEM_FLAGS_PUBLIC if cpu else 0)
        elif domain == "gtt":
            flags = GTT_FLAGS
        else:
            raise ValueError(f"unknown memory domain {domain!r}")
        if not writable:
            flags &= ~F.KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE
        if executable:
            flags |= F.KFD_IOC_ALLOC_MEM_FLAGS_EXECUTABLE
        if uncached:
            flags |= F.KFD_IOC_ALLOC_MEM_FLAGS_UNCACHED | F.KFD_IOC_ALLOC_MEM_FLAGS_COHERENT
        va = self.va.allocate(size, align)
        args = abi.kfd_ioctl_alloc_memory_of_gpu_args(va_addr=va, size=size, gpu_id=gpu_id, flags=flags)
        try:
            self.driver.ioctl(abi.AMDKFD_IOC_ALLOC_MEMORY_OF_GPU, args)
        except KFDError as e:
            self.va.free(va)
            if e.errno == 12:  # ENOMEM
                where = "VRAM" if domain == "vram" else "system memory"
                raise OutOfMemory(f"cannot allocate {size:#x} bytes of {where} on gpu_id {gpu_id:#x}: "
                                  f"{e.message}; free buffers you no longer need") from None
            raise
        alloc = Allocation(args.handle, va, size, gpu_id, domain, flags, args.mmap_offset)
        try:
            if cpu:
                self.driver.mmap(alloc.mmap_offset, size, hostmem.PROT_READ | hostmem.PROT_WRITE,
                                 hostmem.MAP_SHARED, address=va, gpu_id=gpu_id)
                alloc.cpu = True
            self.map(alloc, map_to if map_to is not None else (gpu_id,))
        except BaseException:
            self._release(alloc)
            raise
        with self.lock:
            self.live[va] = alloc
        return alloc

    def map(self, alloc: Allocation, gpu_ids) -> None:
        """Make the buffer reachable from more GPUs (peers reach VRAM over PCIe/XGMI)."""
        todo = [g for g in gpu_ids if g not in alloc.mapped]
        if not todo:
            return
        if alloc.freed:
            raise BufferFreed("the buffer was freed")
        ids = _ids_array(todo)
        args = abi.kfd_ioctl_map_memory_to_gpu_args(handle=alloc.handle,
                                                    device_ids_array_ptr=ctypes.addressof(ids),
                                                    n_devices=len(todo), n_success=0)
        try:
            self.driver.ioctl(abi.AMDKFD_IOC_MAP_MEMORY_TO_GPU, args)
        finally:
            alloc.mapped.update(todo[:args.n_success])

    # --- release -----------------------------------------------------------------------------------

    def release(self, alloc: Allocation) -> None:
        with self.lock:
            if alloc.freed:
                return
            self.live.pop(alloc.va, None)
        self._release(alloc)

    def defer_release(self, alloc: Allocation) -> None:
        """Release later, at a safe point (called from garbage-collection finalizers, which may
        run in the middle of other runtime calls)."""
        self._deferred.append(alloc)

    def release_deferred(self) -> None:
        while self._deferred:
            try:
                alloc = self._deferred.popleft()
            except IndexError:
                return
            self.release(alloc)

    def _release(self, alloc: Allocation) -> None:
        alloc.freed = True
        if alloc.mapped:
            ids = _ids_array(sorted(alloc.mapped))
            args = abi.kfd_ioctl_unmap_memory_from_gpu_args(handle=alloc.handle,
                                                            device_ids_array_ptr=ctypes.addressof(ids),
                                                            n_devices=len(ids), n_success=0)
            self.driver.ioctl(abi.AMDKFD_IOC_UNMAP_MEMORY_FROM_GPU, args)
            alloc.mapped.clear()
        self.driver.ioctl(abi.AMDKFD_IOC_FREE_MEMORY_OF_GPU,
                          abi.kfd_ioctl_free_memory_of_gpu_args(handle=alloc.handle))
        if alloc.cpu:
            self.driver.munmap(alloc.va, alloc.size)
            alloc.cpu = False
        # Keep the range reserved so no other mapping lands where the allocator may place a buffer.
        self.driver.mmap(0, alloc.size, hostmem.PROT_NONE, RESERVE_FLAGS, address=alloc.va)
        self.va.free(alloc.va)

    def release_all(self) -> None:
        self.release_deferred()
        with self.lock:
            allocs = list(self.live.values())
        for alloc in allocs:
            self.release(alloc)

    def find(self, address: int) -> Allocation | None:
        """The live allocation holding `address`."""
        with self.lock:
            if address in self.live:
                return self.live[address]
            for alloc in self.live.values():
                if alloc.va <= address < alloc.va + alloc.size:
                    return alloc
        return None


def host_array(address: int, nbytes: int) -> np.ndarray:
    """A uint8 view of mapped memory (the caller keeps the mapping alive while using it)."""
    return np.ctypeslib.as_array((ctypes.c_uint8 * nbytes).from_address(address))


def _as_bytes(data) -> memoryview:
    if isinstance(data, np.ndarray):
        return memoryview(np.ascontiguousarray(data)).cast("B")
    if isinstance(data, (bytes, bytearray, memoryview)):
        return memoryview(data).cast("B")
    raise InvalidArgument(f"copyin takes a numpy array or bytes, got {type(data).__name__}")


class Buffer:
    """Memory on a device (VRAM) or host memory the GPUs can reach (`host=True`).

    `va` is the address kernels see; buffers pass to kernels as pointer arguments. The buffer is
    freed by free(), when it is garbage collected, or when the runtime closes at exit."""

    def __init__(self, device, alloc: Allocation, nbytes: int, host: bool):
        self.device = device
        self._alloc = alloc
        self.nbytes = nbytes
        self.host = host
        self.va = alloc.va
        self._finalizer = weakref.finalize(self, device.runtime.memory.defer_release, alloc)

    def __repr__(self) -> str:
        where = "host" if self.host else "vram"
        state = "freed" if self.freed else f"va={self.va:#x}"
        return f"Buffer({self.nbytes} bytes, {where} of {self.device.name}, {state})"

    @property
    def size(self) -> int:
        return self.nbytes

    @property
    def freed(self) -> bool:
        return self._alloc.freed

    @property
    def allocation(self) -> Allocation:
        if self._alloc.freed:
            raise BufferFreed(f"{self!r} was freed; allocate a new buffer")
        return self._alloc

    @property
    def cpu_visible(self) -> bool:
        return self._alloc.cpu

    def free(self) -> None:
        """Release the memory now (after work that may use it has finished)."""
        if self._alloc.freed:
            return
        self._finalizer.detach()
        self.device.runtime.wait_for_buffer(self)
        self.device.runtime.memory.release(self._alloc)

    def map_to(self, device) -> None:
        """Let `device` access this buffer (peer access over the PCIe/XGMI link)."""
        self.device.runtime.share(self, device)

    # --- host access -------------------------------------------------------------------------------

    def _check_range(self, offset: int, nbytes: int, what: str) -> None:
        if not isinstance(offset, (int, np.integer)) or offset < 0 or offset + nbytes > self.nbytes:
            raise InvalidArgument(f"{what} of {nbytes} bytes at offset {offset} does not fit in "
                                  f"{self!r}")

    def copyin(self, data, offset: int = 0) -> None:
        """Copy a numpy array (its raw bytes) or bytes into the buffer, after queued work that
        uses it has finished."""
        src = _as_bytes(data)
        self._check_range(offset, src.nbytes, "copyin")
        alloc = self.allocation
        runtime = self.device.runtime
        runtime.wait_for_buffer(self)
        if alloc.cpu:
            if src.nbytes:
                ctypes.memmove(alloc.va + offset, np.frombuffer(src, np.uint8).ctypes.data, src.nbytes)
        else:
            runtime.staged_copyin(self, src, offset)

    def copyout(self, out=None, offset: int = 0) -> np.ndarray:
        """Copy the buffer into `out` (a writable contiguous numpy array; all of it is filled) or
        into a new uint8 array of the whole buffer; returns the array."""
        if out is None:
            out = np.empty(self.nbytes - offset, np.uint8)
        if not isinstance(out, np.ndarray) or not out.flags.c_contiguous or not out.flags.writeable:
            raise InvalidArgument("copyout needs a writable C-contiguous numpy array")
        self._check_range(offset, out.nbytes, "copyout")
        alloc = self.allocation
        runtime = self.device.runtime
        runtime.wait_for_buffer(self)
        if out.nbytes == 0:
            return out
        if alloc.cpu:
            ctypes.memmove(out.ctypes.data, alloc.va + offset, out.nbytes)
        else:
            runtime.staged_copyout(self, out, offset)
        return out

    def numpy(self, dtype=np.uint8, count: int | None = None, offset: int = 0) -> np.ndarray:
        """A copy of the contents as `count` elements of `dtype` (default: as many as fit)."""
        dtype = np.dtype(dtype)
        if count is None:
            count = (self.nbytes - offset) // dtype.itemsize
        if not isinstance(count, (int, np.integer)) or count < 0:
            raise InvalidArgument(f"count must be a non-negative int, got {count!r}")
        out = np.empty(int(count), dtype)
        return self.copyout(out, offset)
