"""Sizes of a compute queue's EOP buffer and context-save area (CWSR) that the kernel derives
from a topology node (kfd_queue.c). CREATE_QUEUE refuses compute queue buffers of other sizes, so
the runtime allocates exactly these and the simulated driver checks them."""

from __future__ import annotations

from dataclasses import dataclass

from kfd.topology import Node

PAGE = 4096
EOP_BUFFER_SIZE = 0x1000
# Per-CU wave context: VGPRs (gfx1100/1101/1151 have 1.5x the VGPR file of other gfx11 parts),
# SGPRs, LDS and hardware registers.
VGPR_CONTEXT_LARGE = 0x60000
VGPR_CONTEXT = 0x40000
LARGE_VGPR_TARGETS = (110000, 110001, 110501)
SGPR_CONTEXT = 0x4000
LDS_CONTEXT = 0x10000
HWREG_CONTEXT = 0x1000
WAVES_PER_CU = 32
CONTROL_STACK_BYTES_PER_WAVE = 12
CONTROL_STACK_HEADER = 40
DEBUGGER_BYTES_PER_WAVE = 32
DEBUGGER_BYTES_ALIGN = 64


def _align(n: int, a: int) -> int:
    return -(-n // a) * a


@dataclass(frozen=True)
class QueueSizes:
    eop_buffer_size: int
    ctl_stack_size: int
    cwsr_size: int              # what CREATE_QUEUE's ctx_save_restore_size must reach
    debug_memory_size: int

    @property
    def cwsr_bo_size(self) -> int:
        """The buffer behind the context-save area: the area plus the debugger's memory."""
        return _align(self.cwsr_size + self.debug_memory_size, PAGE)

    @classmethod
    def for_node(cls, node: Node) -> QueueSizes:
        cu_num = node.cu_count * max(node.properties.get("num_xcc", 1), 1)
        wave_num = cu_num * WAVES_PER_CU
        vgpr = VGPR_CONTEXT
        if node.gfx_target_version in LARGE_VGPR_TARGETS or node.gfx_target_version // 10000 != 11:
            vgpr = VGPR_CONTEXT_LARGE
        wg_data = _align(cu_num * (vgpr + SGPR_CONTEXT + LDS_CONTEXT + HWREG_CONTEXT), PAGE)
        ctl_stack = _align(CONTROL_STACK_HEADER + wave_num * CONTROL_STACK_BYTES_PER_WAVE + 8, PAGE)
        return cls(eop_buffer_size=EOP_BUFFER_SIZE, ctl_stack_size=ctl_stack, cwsr_size=wg_data + ctl_stack,
                   debug_memory_size=_align(wave_num * DEBUGGER_BYTES_PER_WAVE, DEBUGGER_BYTES_ALIGN))

    def as_dict(self) -> dict[str, int]:
        """Under the names of CREATE_QUEUE's arguments (and the buffer size)."""
        return {"eop_buffer_size": self.eop_buffer_size, "ctl_stack_size": self.ctl_stack_size,
                "ctx_save_restore_size": self.cwsr_size, "cwsr_bo_size": self.cwsr_bo_size}
