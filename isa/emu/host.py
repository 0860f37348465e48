"""Running code objects on the emulator with no driver in between: a PagedMemory with a simple
bump allocator, code objects loaded into it, kernel arguments laid out per the metadata (hidden
arguments as ROCm fills them for code object v5), an AQL dispatch packet for kernels that read
it, and scratch memory sized for the kernel. For tests, benchmarks and quick experiments; the
runtime (amdrt) and the simulated GPU (kfd/sim) do the same through the driver interface.

    host = Host()
    prog = host.load(code_object_bytes)
    a = host.upload(np.arange(1024, dtype=np.float32))
    out = host.alloc(4096)
    host.launch(prog["kernel"], [a, out, np.int32(1024)], grid=(1024,), workgroup=(256,))
    host.download(out, np.float32, 1024)
"""

import struct
from dataclasses import dataclass

import numpy as np

from isa.codeobj import CodeObject
from isa.emu.launch import Dispatch
from isa.emu.machine import DispatchResult, Emulator, default_emulator
from isa.emu.memory import PAGE_SIZE, PagedMemory

DISPATCH_PACKET_SIZE = 64
KERNARG_OFFSET = 256            # the kernarg segment after the packet in the launch area


@dataclass(frozen=True)
class LoadedKernel:
    name: str
    kernel_object: int            # GPU address of the descriptor
    code_address: int
    descriptor: bytes
    metadata: object              # isa.codeobj KernelMetadata (None for raw code)


class LoadedProgram:
    def __init__(self, base: int, kernels: dict[str, LoadedKernel]):
        self.base = base
        self.kernels = kernels

    def __getitem__(self, name: str) -> LoadedKernel:
        return self.kernels[name]


class Host:
    def __init__(self, memory: PagedMemory | None = None, emulator: Emulator | None = None,
                 base: int = 0x1_0000_0000):
        self.memory = memory or PagedMemory()
        self.emulator = emulator or default_emulator()
        self._next = base
        self._launch_area: tuple[int, int] | None = None      # (address, bytes) for packets and kernargs
        self._scratch_area: tuple[int, int] | None = None     # (address, bytes) of private memory

    # -- memory -------------------------------------------------------------------------------
    def alloc(self, nbytes: int, align: int = PAGE_SIZE) -> int:
        """Fresh zeroed memory; a guard page (unmapped) follows each allocation."""
        address = -(-self._next // align) * align
        size = max(PAGE_SIZE, -(-nbytes // PAGE_SIZE) * PAGE_SIZE)
        self.memory.alloc(address, size)
        self._next = address + size + PAGE_SIZE
        return address

    def upload(self, data) -> int:
        data = np.ascontiguousarray(data)
        address = self.alloc(data.nbytes)
        self.memory.view(address, data.nbytes)[:] = data.reshape(-1).view(np.uint8)
        return address

    def download(self, address: int, dtype, count: int) -> np.ndarray:
        dtype = np.dtype(dtype)
        return self.memory.view(address, dtype.itemsize * count).view(dtype).copy()

    # -- code ---------------------------------------------------------------------------------
    def load(self, code_object: bytes) -> LoadedProgram:
        co = CodeObject.parse(code_object)
        base = self.alloc(co.image_size, max(co.image_alignment, PAGE_SIZE))
        image = co.load_image(base)
        self.memory.view(base, len(image))[:] = np.frombuffer(image, np.uint8)
        kernels = {}
        for name, k in co.kernels.items():
            kernels[name] = LoadedKernel(name, base + k.descriptor_address, base + k.code_address,
                                         k.descriptor.to_bytes(), k.metadata)
        return LoadedProgram(base, kernels)

    def load_raw(self, code: bytes, descriptor: bytes, name: str = "kernel") -> LoadedKernel:
        """Code (starting with the kernel's entry) and its descriptor, without a code object."""
        address = self.alloc(len(code) + 256, 256)
        self.memory.view(address, len(code))[:] = np.frombuffer(bytes(code), np.uint8)
        kd = self.alloc(64, 64)
        self.memory.view(kd, 64)[:] = np.frombuffer(bytes(descriptor), np.uint8)
        return LoadedKernel(name, kd, address, bytes(descriptor), None)

    # -- launching ----------------------------------------------------------------------------
    def kernargs(self, kernel: LoadedKernel, args, grid, workgroup, dynamic_lds: int = 0) -> bytes:
        """The kernarg segment: explicit arguments at their metadata offsets (ints are addresses or
        integers, floats become f32 / f64 by size, numpy scalars keep their bytes), then the
        hidden arguments."""
        meta = kernel.metadata
        if meta is None:
            out = bytearray()
            for a in args:
                out += _arg_bytes(a, 8 if isinstance(a, int) and a > 0xFFFFFFFF else 4)
            return bytes(out)
        out = bytearray(max(meta.kernarg_segment_size, 8))
        explicit = meta.explicit_args
        if len(args) != len(explicit):
            raise ValueError(f"{kernel.name} takes {len(explicit)} arguments, got {len(args)}")
        for arg, value in zip(explicit, args):
            out[arg.offset:arg.offset + arg.size] = _arg_bytes(value, arg.size)
        grid = tuple(grid) + (1,) * (3 - len(grid))
        wg = tuple(workgroup) + (1,) * (3 - len(workgroup))
        dims = 3 if grid[2] > 1 else 2 if grid[1] > 1 else 1
        values = {"hidden_grid_dims": dims, "hidden_dynamic_lds_size": dynamic_lds}
        for i, c in enumerate("xyz"):
            values[f"hidden_block_count_{c}"] = -(-grid[i] // wg[i])
            values[f"hidden_group_size_{c}"] = wg[i]
            values[f"hidden_remainder_{c}"] = grid[i] % wg[i]
            values[f"hidden_global_offset_{c}"] = 0
        for arg in meta.hidden_args:
            if arg.value_kind in values:
                out[arg.offset:arg.offset + arg.size] = values[arg.value_kind].to_bytes(arg.size, "little")
        return bytes(out)

    def _launch_addresses(self, kernarg_size: int) -> tuple[int, int]:
        """GPU addresses of the dispatch packet and the kernarg segment: one area mapped once and
        reused (launches run one at a time), grown when the arguments outgrow it."""
        # as much mapped memory after the arguments as a mapping of their own would have had
        own = max(PAGE_SIZE, -(-kernarg_size // PAGE_SIZE) * PAGE_SIZE)
        need = -(-(KERNARG_OFFSET + own) // PAGE_SIZE) * PAGE_SIZE
        if self._launch_area is None or self._launch_area[1] < need:
            self._launch_area = (self.alloc(need), need)
        address = self._launch_area[0]
        return address, address + KERNARG_OFFSET

    def _scratch(self, nbytes: int) -> int:
        """Private memory for one launch: one area reused by every launch (as uninitialised as
        scratch is on a GPU), replaced by a larger one when a launch needs more."""
        if self._scratch_area is None or self._scratch_area[1] < nbytes:
            if self._scratch_area is not None:
                self.memory.unmap(self._scratch_area[0])
            self._scratch_area = (self.alloc(nbytes), nbytes)
        return self._scratch_area[0]

    def launch(self, kernel: LoadedKernel, args, grid, workgroup, *, dynamic_lds: int = 0,
               private_segment_size: int | None = None, **run) -> DispatchResult:
        """Runs the kernel over `grid` work-items; `run` goes to Emulator.run (budget, trace,
        check, should_stop)."""
        grid = tuple(grid) + (1,) * (3 - len(grid))
        wg = tuple(workgroup) + (1,) * (3 - len(workgroup))
        kernarg_bytes = self.kernargs(kernel, args, grid, wg, dynamic_lds)
        packet, kernarg = self._launch_addresses(len(kernarg_bytes))
        kd_static = int.from_bytes(kernel.descriptor[0:4], "little")
        private = int.from_bytes(kernel.descriptor[4:8], "little") if private_segment_size is None \
            else private_segment_size
        lanes = 32 if kernel.descriptor[57] & 0x4 else 64
        packet_bytes = _aql_packet(kernel, grid, wg, kd_static + dynamic_lds, private, kernarg)
        area = self.memory.view(packet, self._launch_area[1])
        area[:] = 0                     # what fresh memory would hold past the arguments
        area[:len(packet_bytes)] = np.frombuffer(packet_bytes, np.uint8)
        area[kernarg - packet:kernarg - packet + len(kernarg_bytes)] = np.frombuffer(kernarg_bytes, np.uint8)
        scratch = 0
        per_wave = -(-private // 16) * 16 * lanes
        waves = 0
        if per_wave:
            groups = 1
            for g, w in zip(grid, wg):
                groups *= -(-g // w)
            waves = groups * -(-(wg[0] * wg[1] * wg[2]) // lanes)
            scratch = self._scratch(per_wave * min(waves, 8192))
        d = Dispatch(kernel.code_address, kernel.descriptor, grid, wg, kernarg_address=kernarg, dispatch_ptr=packet,
                     lds_bytes=kd_static + dynamic_lds, private_segment_size=private, scratch_base=scratch,
                     scratch_size=per_wave * min(waves, 8192) if per_wave else None)
        return self.emulator.run(self.memory, d, **run)


def _arg_bytes(value, size: int) -> bytes:
    if isinstance(value, np.generic):
        raw = value.tobytes()
        if len(raw) > size:
            raise ValueError(f"a {len(raw)}-byte value for a {size}-byte argument")
        return raw.ljust(size, b"\0")
    if isinstance(value, float):
        return struct.pack("<f" if size == 4 else "<d", value)
    if isinstance(value, (int, np.integer)):
        return int(value).to_bytes(size, "little", signed=int(value) < 0)
    raw = bytes(value)
    return raw.ljust(size, b"\0")[:size]


def _aql_packet(kernel: LoadedKernel, grid, wg, lds: int, private: int, kernarg: int) -> bytes:
    """An hsa_kernel_dispatch_packet_t (HSA: header, setup, workgroup and grid sizes, segment
    sizes, kernel object, kernarg address, completion signal)."""
    dims = 3 if grid[2] > 1 else 2 if grid[1] > 1 else 1
    return struct.pack("<HHHHHHIIIIIQQQQ", 2 | (1 << 8), dims, wg[0], wg[1], wg[2], 0, grid[0], grid[1], grid[2],
                       private, lds, kernel.kernel_object, kernarg, 0, 0)

