"""A simulated RX 7900 XTX as the driver sees it: its topology node, VRAM accounting and clock."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from kfd.hsa import GFX11_TIMESTAMP_HZ
from kfd.topology import Node

# gfx11 queue sizes the kernel derives from the node (kfd_queue.c), for 96 CUs in one XCC.
GFX1100_EOP_BUFFER_SIZE = 0x1000
GFX1100_VGPR_CONTEXT = 0x60000
SGPR_CONTEXT = 0x4000
LDS_CONTEXT = 0x10000
HWREG_CONTEXT = 0x1000


def _align(n: int, a: int) -> int:
    return (n + a - 1) // a * a


@dataclass
class QueueSizes:
    """Sizes CREATE_QUEUE checks compute queue buffers against."""

    eop_buffer_size: int
    ctl_stack_size: int
    cwsr_size: int
    debug_memory_size: int

    @property
    def cwsr_bo_size(self) -> int:
        return _align(self.cwsr_size + self.debug_memory_size, 4096)

    @classmethod
    def for_node(cls, node: Node) -> QueueSizes:
        cu_num = node.cu_count
        wave_num = cu_num * 32
        wg_data = _align(cu_num * (GFX1100_VGPR_CONTEXT + SGPR_CONTEXT + LDS_CONTEXT + HWREG_CONTEXT), 4096)
        ctl_stack = _align(40 + wave_num * 12 + 8, 4096)
        return cls(eop_buffer_size=GFX1100_EOP_BUFFER_SIZE, ctl_stack_size=ctl_stack,
                   cwsr_size=wg_data + ctl_stack, debug_memory_size=_align(wave_num * 32, 64))


@dataclass
class SimDevice:
    node: Node
    vram_used: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def gpu_id(self) -> int:
        return self.node.gpu_id

    @property
    def vram_size(self) -> int:
        return self.node.vram_size

    @property
    def queue_sizes(self) -> QueueSizes:
        return QueueSizes.for_node(self.node)

    @property
    def sdma_engines(self) -> int:
        return self.node.num_sdma_engines

    @property
    def sdma_queues_per_engine(self) -> int:
        return self.node.num_sdma_queues_per_engine

    def reserve_vram(self, size: int) -> bool:
        with self.lock:
            if self.vram_used + size > self.vram_size:
                return False
            self.vram_used += size
            return True

    def release_vram(self, size: int) -> None:
        with self.lock:
            self.vram_used -= size

    @property
    def vram_available(self) -> int:
        with self.lock:
            return self.vram_size - self.vram_used

    @staticmethod
    def clock() -> int:
        """The GPU timestamp counter (100 MHz ticks)."""
        return time.monotonic_ns() // (1_000_000_000 // GFX11_TIMESTAMP_HZ)
