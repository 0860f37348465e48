"""Kernel launches of the simulated GPU: what a command processor hands the shader array.

A Launch gathers what the hardware takes from an AQL dispatch packet and its kernel descriptor, or
from the COMPUTE_* registers a PM4 stream programmed, and run_launch executes it with isa.emu over
the GPU's page table. Private (scratch) memory comes from the GPU itself: the CP maps a zeroed
pool into that GPU's address space for the duration of the dispatch, at addresses no user buffer
can have (above the 47-bit user space and away from the LDS and private flat apertures).
The dispatch is preempted when its queue is destroyed, and declared hung (QueueHang) when it runs
longer than the engine's hang timeout.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass

from isa.codeobj.descriptor import (
    DESCRIPTOR_SIZE,
    FIELDS_BY_NAME,
    KERNEL_CODE_PROPERTIES,
    RSRC1,
    RSRC2,
    RSRC3,
)
from kfd import hsa
from kfd.sim import usermem
from kfd.sim.engine import Engine, Preempted, QueueHang
from kfd.sim.gpu import Mapping, PageTable

# The kernel descriptor fields the command processor reads itself (the emulator takes the rest).
KD_ENTRY = FIELDS_BY_NAME["kernel_code_entry_byte_offset"]
KD_WAVE32 = FIELDS_BY_NAME["enable_wavefront_size32"]
LDS_GRANULE = 512
SCRATCH_POOL_BASE = 3 << 48  # GPU-only addresses: never a user virtual address, nor an aperture
SCRATCH_WINDOW = 1 << 40
SCRATCH_POOL_LIMIT = 256 << 20  # the emulator runs as many workgroups at once as this holds


@dataclass
class Launch:
    code_address: int                      # first instruction
    descriptor: bytes                      # 64-byte kernel descriptor (synthesised for PM4)
    grid: tuple[int, int, int]             # work-items
    workgroup: tuple[int, int, int]
    lds_bytes: int
    private_segment_size: int              # bytes per work-item
    kernarg_address: int = 0
    dispatch_ptr: int = 0
    queue_ptr: int = 0
    dispatch_id: int = 0
    user_sgprs: tuple[int, ...] | None = None  # PM4: COMPUTE_USER_DATA values, taken as they are

    @property
    def wave32(self) -> bool:
        at = KD_WAVE32.byte_offset
        return bool(int.from_bytes(self.descriptor[at:at + KD_WAVE32.word_bytes], "little") >> KD_WAVE32.lsb & 1)

    @classmethod
    def from_aql(cls, pt: PageTable, packet, *, dispatch_ptr: int, queue_ptr: int,
                 dispatch_id: int) -> Launch:
        kd = pt.read_bytes(packet.kernel_object, DESCRIPTOR_SIZE)
        entry = packet.kernel_object + struct.unpack_from("<q", kd, KD_ENTRY.byte_offset)[0]
        return cls(entry & ((1 << 64) - 1), kd, packet.grid_size, packet.workgroup_size,
                   packet.group_segment_size, packet.private_segment_size, packet.kernarg_address,
                   dispatch_ptr, queue_ptr, dispatch_id)

    @classmethod
    def from_registers(cls, reg, groups: tuple[int, int, int], wave32: bool) -> Launch:
        from kfd.sim import cp_pm4 as r
        entry = (reg(r.COMPUTE_PGM_LO) | reg(r.COMPUTE_PGM_HI) << 32) << 8
        rsrc1, rsrc2, rsrc3 = reg(r.COMPUTE_PGM_RSRC1), reg(r.COMPUTE_PGM_RSRC2), reg(r.COMPUTE_PGM_RSRC3)
        workgroup = tuple(max(1, reg(r.COMPUTE_NUM_THREAD_X + i) & 0xFFFF) for i in range(3))
        user_count = (rsrc2 >> 1) & 0x1F
        user = tuple(reg(r.COMPUTE_USER_DATA_0 + i) for i in range(min(user_count, r.USER_DATA_COUNT)))
        lds = ((rsrc2 >> 15) & 0x1FF) * LDS_GRANULE
        # A descriptor with no user-SGPR enables: the user SGPRs are the register values as given.
        kd = bytearray(DESCRIPTOR_SIZE)
        words = ((RSRC1, rsrc1), (RSRC2, rsrc2), (RSRC3, rsrc3), (KERNEL_CODE_PROPERTIES, int(wave32) << KD_WAVE32.lsb))
        for (offset, size), value in words:
            kd[offset:offset + size] = value.to_bytes(size, "little")
        grid = tuple(g * w for g, w in zip(groups, workgroup, strict=True))
        private = hsa.tmpring_wave_bytes(reg(r.COMPUTE_TMPRING_SIZE)) // (32 if wave32 else 64)
        return cls(entry, bytes(kd), grid, workgroup, lds, private, user_sgprs=user)


class ScratchPool:
    """Private memory for the waves of one dispatch, mapped at the GPU's private aperture."""

    def __init__(self, page_table: PageTable, nbytes: int, queue_id: int):
        self.page_table = page_table
        self.size = usermem.page_align_up(max(nbytes, 1))
        self.host = usermem.mmap_anywhere(self.size)
        # Each queue has its own window, so dispatches of concurrent queues never collide.
        self.base = SCRATCH_POOL_BASE + queue_id * SCRATCH_WINDOW
        page_table.map(Mapping(self.base, self.size, self.host, True, False, self))

    def close(self) -> None:
        self.page_table.unmap(self.base)  # waits for accesses in flight
        usermem.munmap(self.host, self.size)


def run_launch(engine: Engine, launch: Launch) -> None:
    """Execute a launch on the engine's GPU; returns when every wave has ended."""
    from isa import emu

    deadline = time.monotonic() + engine.hang_timeout

    def should_stop() -> bool:
        engine.check_preempted()  # raises Preempted out of the emulator
        return time.monotonic() > deadline

    # The first instruction must come from executable memory (the emulator fetches the rest
    # through the page table with the same check).
    engine.page_table.segments(launch.code_address, 4, execute=True)
    lanes = 32 if launch.wave32 else 64
    wg_items = launch.workgroup[0] * launch.workgroup[1] * launch.workgroup[2]
    per_group = -(-wg_items // lanes) * launch.private_segment_size * lanes
    groups = 1
    for g, w in zip(launch.grid, launch.workgroup, strict=True):
        groups *= -(-g // w)
    scratch = None
    if per_group:
        size = per_group * max(1, min(groups, SCRATCH_POOL_LIMIT // per_group))
        scratch = ScratchPool(engine.page_table, size, engine.queue.queue_id)
    try:
        emu.run_dispatch(
            engine.page_table, launch.code_address, launch.descriptor, launch.grid, launch.workgroup,
            kernarg_address=launch.kernarg_address, dispatch_ptr=launch.dispatch_ptr,
            queue_ptr=launch.queue_ptr, dispatch_id=launch.dispatch_id, lds_bytes=launch.lds_bytes,
            private_segment_size=launch.private_segment_size, user_sgprs=launch.user_sgprs,
            scratch_base=scratch.base if scratch else 0, scratch_size=scratch.size if scratch else None,
            should_stop=should_stop)
    except emu.Cancelled:
        engine.check_preempted()
        raise QueueHang(f"{engine.kind} queue {engine.queue.queue_id}: a dispatch ran longer than the "
                        f"hang timeout of {engine.hang_timeout:g} s (kernel at {launch.code_address:#x})") from None
    except emu.MemoryFault:
        raise
    except emu.EmulatorError as error:
        raise QueueHang(f"{engine.kind} queue {engine.queue.queue_id}: {error}") from error
    finally:
        if scratch is not None:
            scratch.close()


__all__ = ["Launch", "run_launch", "Preempted"]
