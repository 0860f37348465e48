"""The SDMA 6.0 engine of a simulated gfx1100: a byte-addressed ring of SDMA packets.

Write and read pointers count bytes (64-bit, monotonic); the engine writes its read pointer back
to the queue's read_pointer_address after every packet. Packets (dword 0 = op[7:0] | sub_op[15:8]):
NOP, COPY_LINEAR (also between GPUs: a peer's memory must be mapped to this GPU), WRITE, INDIRECT,
FENCE, TRAP, POLL_REGMEM, CONST_FILL, TIMESTAMP and GCR_REQ. Memory is coherent in the
simulator, so cache-control packets and bits have nothing to do.
"""

from __future__ import annotations

import time

from kfd import sdma_packets
from kfd.sdma_packets import (
    COUNT_MASK,
    FILL_SIZE_SHIFT,
    OP_CONST_FILL,
    OP_COPY,
    OP_FENCE,
    OP_GCR_REQ,
    OP_INDIRECT,
    OP_NOP,
    OP_POLL_REGMEM,
    OP_TIMESTAMP,
    OP_TRAP,
    OP_WRITE,
    POLL_FUNC_SHIFT,
    POLL_HDP_FLUSH,
    POLL_MEM,
    POLL_RETRY_FOREVER,
    POLL_RETRY_SHIFT,
    SUB_COPY_LINEAR,
    SUB_TIMESTAMP_GET,
    SUB_TIMESTAMP_GET_GLOBAL,
    SUB_TIMESTAMP_SET,
    TRAP_CONTEXT_MASK,
)
from kfd.sim.engine import DwordPackets, DwordRingEngine, QueueHang, compare, read_dwords

COPY_CHUNK = 64 << 20  # preemption is checked between chunks of a large copy
POLL_INTERVAL_UNIT_S = 160e-9


class SdmaEngine(DwordRingEngine, DwordPackets):
    kind = "sdma"
    unit = 1  # the write and read pointers count bytes

    def __init__(self, *args):
        super().__init__(*args)
        self.timestamp_offset = 0

    @property
    def packets(self) -> SdmaEngine:
        return self

    packet_dwords = staticmethod(sdma_packets.packet_dwords)

    def fail(self, what: str) -> QueueHang:
        return QueueHang(f"SDMA queue {self.queue.queue_id}: {what}")

    def execute(self, dw: list[int], depth: int) -> None:
        self.check_preempted()
        header = dw[0]
        op, sub = header & 0xFF, (header >> 8) & 0xFF
        pt = self.page_table
        if op in (OP_NOP, OP_GCR_REQ):
            return
        if op == OP_COPY:
            if sub != SUB_COPY_LINEAR:
                raise self.fail(f"COPY sub-op {sub} is not supported")
            count = (dw[1] & COUNT_MASK) + 1
            src = dw[3] | dw[4] << 32
            dst = dw[5] | dw[6] << 32
            self.copy(dst, src, count)
        elif op == OP_WRITE:
            dst = dw[1] | dw[2] << 32
            data = b"".join(x.to_bytes(4, "little") for x in dw[4:])
            pt.write_bytes(dst & ~3, data)
            self.wrote_memory()
        elif op == OP_INDIRECT:
            if depth:
                raise self.fail("indirect buffer inside an indirect buffer")
            base = dw[1] | dw[2] << 32
            size = dw[3] & 0xFFFFF
            self.run_stream(read_dwords(pt, base & ~3, size), depth + 1)
        elif op == OP_FENCE:
            pt.write_u32((dw[1] | dw[2] << 32) & ~3, dw[3])
            self.wrote_memory()
        elif op == OP_TRAP:
            self.raise_interrupt(dw[1] & TRAP_CONTEXT_MASK)
        elif op == OP_POLL_REGMEM:
            self.poll(header, dw)
        elif op == OP_CONST_FILL:
            dst = dw[1] | dw[2] << 32
            count = (dw[4] & COUNT_MASK) + 1
            unit = 1 << ((header >> FILL_SIZE_SHIFT) & 3)
            pattern = (dw[3] | dw[3] << 32).to_bytes(8, "little")[:unit]
            pt.fill(dst, count, pattern)
            self.wrote_memory()
        elif op == OP_TIMESTAMP:
            address = (dw[1] & ~7) | dw[2] << 32
            if sub == SUB_TIMESTAMP_SET:
                self.timestamp_offset = address - self.device.clock()
            elif sub in (SUB_TIMESTAMP_GET, SUB_TIMESTAMP_GET_GLOBAL):
                pt.write_u64(address, self.device.clock() + (self.timestamp_offset if sub == SUB_TIMESTAMP_GET else 0))
                self.wrote_memory()
            else:
                raise self.fail(f"TIMESTAMP sub-op {sub} is not supported")

    def copy(self, dst: int, src: int, count: int) -> None:
        # Chunks go backwards when the destination overlaps above the source (memmove).
        chunks = [(off, min(COPY_CHUNK, count - off)) for off in range(0, count, COPY_CHUNK)]
        if src < dst < src + count:
            chunks.reverse()
        for off, n in chunks:
            self.check_preempted()
            self.page_table.copy(dst + off, src + off, n)
        self.wrote_memory()

    def poll(self, header: int, dw: list[int]) -> None:
        function = (header >> POLL_FUNC_SHIFT) & 7
        if not header & POLL_MEM:
            if header & POLL_HDP_FLUSH:
                return  # the HDP flush handshake: the simulator has no HDP cache to flush
            raise self.fail("POLL_REGMEM on a register; the simulated GPU has no registers to poll")
        address = (dw[1] | dw[2] << 32) & ~3
        reference, mask = dw[3], dw[4]
        interval = dw[5] & 0xFFFF
        retries = (dw[5] >> POLL_RETRY_SHIFT) & POLL_RETRY_FOREVER

        def satisfied() -> bool:
            return compare(function, self.page_table.read_u32(address) & mask, reference)

        deadline = None
        if retries != POLL_RETRY_FOREVER:
            deadline = time.monotonic() + (retries + 1) * max(interval, 1) * POLL_INTERVAL_UNIT_S
        self.wait_until(satisfied, "POLL_REGMEM", deadline)
