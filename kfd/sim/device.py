"""A simulated RX 7900 XTX as the driver sees it: its topology node, VRAM accounting and clock."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from kfd.hsa import GFX11_TIMESTAMP_HZ
from kfd.queue_sizes import QueueSizes
from kfd.topology import Node


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
