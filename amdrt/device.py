"""Devices: the GPUs of the KFD topology, with memory, code loading, queues and copies."""

from __future__ import annotations

import numpy as np

from amdrt.errors import AmdrtError, InvalidArgument
from amdrt.memory import Buffer
from amdrt.queue import ComputeQueue, SdmaQueue
from amdrt.signal import Signal
from kfd import sdma_packets

# PCI device ids of gfx11 boards (the marketing name table ROCm reads from libdrm's amdgpu.ids).
MARKETING_NAMES = {
    0x744C: "AMD Radeon RX 7900 XTX",
    0x7448: "AMD Radeon Pro W7900",
    0x745E: "AMD Radeon Pro W7800",
    0x747E: "AMD Radeon RX 7800 XT",
    0x7480: "AMD Radeon RX 7600",
}


def devices():
    """The GPUs of this machine (simulated ones when there is no usable /dev/kfd)."""
    from amdrt.runtime import default_runtime
    return list(default_runtime().devices)


class Device:
    """One GPU. `arch` is the LLVM target ('gfx1100'); `props` its KFD topology properties."""

    def __init__(self, runtime, node, index: int):
        self.runtime = runtime
        self.node = node
        self.index = index
        self.gpu_id = node.gpu_id
        self.arch = node.gfx_target
        self.props = dict(node.properties)
        self.device_id = self.props.get("device_id", 0)
        marketing = MARKETING_NAMES.get(self.device_id, f"AMD GPU {self.device_id:#06x}")
        self.marketing_name = marketing
        self.name = f"GPU {index} ({self.arch}{', simulated' if runtime.simulated else ''})"
        self.vram_size = node.vram_size
        self.cu_count = node.cu_count
        self.wavefront_size = node.wave_front_size
        self.lds_size = node.lds_size
        self.max_workgroup_size = 1024
        self.max_waves_per_cu = node.prop("max_waves_per_simd") * node.prop("simd_per_cu")
        self.max_waves = self.cu_count * self.max_waves_per_cu
        self.apertures = runtime.apertures[self.gpu_id]
        self.queues: list = []
        self._compute: ComputeQueue | None = None
        self._sdma: SdmaQueue | None = None

    def __repr__(self) -> str:
        return (f"Device({self.name}, {self.marketing_name}, {self.cu_count} CUs, "
                f"{self.vram_size / 2**30:.1f} GiB, gpu_id={self.gpu_id:#x})")

    def _check_open(self) -> None:
        if self.runtime.closed:
            raise AmdrtError(f"{self.name} belongs to a runtime that was closed; call amdrt.devices() again")

    # --- memory ------------------------------------------------------------------------------------

    def alloc(self, nbytes: int, host: bool = False) -> Buffer:
        """`nbytes` of device memory (VRAM), or of system memory every GPU can reach (host=True)."""
        self._check_open()
        if isinstance(nbytes, np.integer):
            nbytes = int(nbytes)
        if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes <= 0:
            raise InvalidArgument(f"alloc takes a positive number of bytes, got {nbytes!r}")
        memory = self.runtime.memory
        if host:
            alloc = memory.allocate(self.gpu_id, nbytes, "gtt")
        else:
            large_bar = any(bank.properties.get("heap_type") == 1 for bank in self.node.mem_banks)
            alloc = memory.allocate(self.gpu_id, nbytes, "vram", cpu=large_bar)
        return Buffer(self, alloc, nbytes, host)

    def signal(self, value: int = 1) -> Signal:
        """A signal the CPU sets (signal.set(0)); work can wait for it with after=[signal]."""
        return Signal(self.runtime, value)

    # --- code --------------------------------------------------------------------------------------

    def load(self, code_object: bytes):
        """Load an HSA code object (ours or clang/LLVM's); index the result by kernel name."""
        from amdrt.program import Program
        self._check_open()
        return Program(self, code_object)

    # --- queues ------------------------------------------------------------------------------------

    @property
    def compute(self) -> ComputeQueue:
        """The default AQL queue."""
        if self._compute is None:
            self._compute = self.queue()
        return self._compute

    @property
    def sdma(self) -> SdmaQueue:
        """The default SDMA queue."""
        if self._sdma is None:
            self._sdma = self.sdma_queue()
        return self._sdma

    def queue(self) -> ComputeQueue:
        """A new AQL compute queue (work on different queues may run concurrently)."""
        self._check_open()
        q = ComputeQueue(self)
        self.queues.append(q)
        return q

    def sdma_queue(self) -> SdmaQueue:
        """A new queue on one of the SDMA engines."""
        self._check_open()
        q = SdmaQueue(self)
        self.queues.append(q)
        return q

    def close_queue(self, queue) -> None:
        queue.synchronize()
        queue.close()
        self.queues.remove(queue)
        if queue is self._compute:
            self._compute = None
        if queue is self._sdma:
            self._sdma = None

    def synchronize(self) -> None:
        """Wait for all work submitted to this device's queues."""
        for q in list(self.queues):
            q.synchronize()

    def close(self) -> None:
        for q in list(self.queues):
            q.close()
        self.queues.clear()
        self._compute = self._sdma = None

    # --- copies ------------------------------------------------------------------------------------

    def can_access_peer(self, other: Device) -> bool:
        """Whether this GPU can reach `other`'s VRAM (a peer link in the topology)."""
        return self.runtime.topology.can_reach(self.node, other.node)

    def _region(self, buf, offset: int, nbytes: int, what: str) -> int:
        if not isinstance(buf, Buffer):
            raise InvalidArgument(f"copy {what} must be a Buffer, got {type(buf).__name__}")
        if offset < 0 or nbytes < 0 or offset + nbytes > buf.nbytes:
            raise InvalidArgument(f"copy of {nbytes} bytes at {what} offset {offset} does not fit in {buf!r}")
        if buf.device.runtime is not self.runtime:
            raise InvalidArgument(f"copy {what} belongs to another runtime")
        self.runtime.share(buf, self)
        return buf.allocation.va + offset

    def copy(self, dst: Buffer, src: Buffer, nbytes: int | None = None, *, dst_offset: int = 0,
             src_offset: int = 0, wait: bool = True, after=(), queue: SdmaQueue | None = None,
             timeout: float | None = None) -> Signal:
        """Copy with this GPU's SDMA engine; either buffer may live on another GPU (it is mapped
        here for peer access) or in host memory. Returns the completion signal."""
        if nbytes is None:
            nbytes = min(dst.nbytes - dst_offset, src.nbytes - src_offset)
        d = self._region(dst, dst_offset, nbytes, "destination")
        s = self._region(src, src_offset, nbytes, "source")
        signal = Signal(self.runtime)
        commands = sdma_packets.copy(d, s, nbytes) if nbytes else []
        (queue or self.sdma).submit(commands, signal, f"SDMA copy of {nbytes} bytes", (dst, src), after)
        if wait:
            signal.wait(timeout)
        return signal

    def fill(self, dst: Buffer, value: int, nbytes: int | None = None, *, offset: int = 0, wait: bool = True,
             after=(), queue: SdmaQueue | None = None) -> Signal:
        """Set nbytes of dst to the byte `value` with the SDMA engine."""
        if nbytes is None:
            nbytes = dst.nbytes - offset
        if not isinstance(value, (int, np.integer)) or not 0 <= value <= 255:
            raise InvalidArgument(f"fill value must be a byte (0..255), got {value!r}")
        d = self._region(dst, offset, nbytes, "destination")
        signal = Signal(self.runtime)
        commands = sdma_packets.fill(d, int(value), nbytes) if nbytes else []
        (queue or self.sdma).submit(commands, signal, f"SDMA fill of {nbytes} bytes", (dst,), after)
        if wait:
            signal.wait()
        return signal
