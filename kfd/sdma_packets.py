"""SDMA 6.0 packets (gfx11 system DMA engines): their layout, built as lists of dwords.

Dword 0 of every packet is op[7:0] | sub_op[15:8] | op-specific bits. Addresses are split into
low and high dwords. The runtime builds packets with the functions here; the simulated SDMA
engine decodes them with the same opcodes, fields and sizes.
"""

from __future__ import annotations

OP_NOP = 0
OP_COPY = 1
OP_WRITE = 2
OP_INDIRECT = 4
OP_FENCE = 5
OP_TRAP = 6
OP_POLL_REGMEM = 8
OP_CONST_FILL = 11
OP_TIMESTAMP = 13
OP_GCR_REQ = 17

SUB_COPY_LINEAR = 0
SUB_TIMESTAMP_SET = 0
SUB_TIMESTAMP_GET = 1
SUB_TIMESTAMP_GET_GLOBAL = 2

COUNT_MASK = 0x3FFFFFFF            # COPY_LINEAR and CONST_FILL counts: bytes - 1, 30 bits
TRAP_CONTEXT_MASK = 0x0FFFFFFF     # TRAP's interrupt context (the KFD event id)
FILL_SIZE_SHIFT = 30               # CONST_FILL header: log2 of the fill unit

# POLL_REGMEM header bits: compare function [30:28], memory (not register) poll [31], HDP
# flush handshake [26]; dword 5: interval [15:0], retry count [27:16].
POLL_FUNC_SHIFT = 28
POLL_MEM = 1 << 31
POLL_HDP_FLUSH = 1 << 26
POLL_FUNC_EQUAL = 3
POLL_RETRY_SHIFT = 16
POLL_RETRY_FOREVER = 0xFFF

# COPY_LINEAR's count field holds bytes - 1 in 30 bits; stay well inside it.
COPY_MAX_BYTES = 1 << 26
FILL_MAX_BYTES = 1 << 26

_FIXED_SIZES = {OP_COPY: 7, OP_INDIRECT: 6, OP_FENCE: 4, OP_TRAP: 2, OP_POLL_REGMEM: 6,
                OP_CONST_FILL: 5, OP_TIMESTAMP: 3, OP_GCR_REQ: 5}


def packet_dwords(head: list[int]) -> int | None:
    """Dwords of the packet whose first dwords are `head` (WRITE's length is in dword 3, so it
    needs four to be exact). None for an op this layout does not know."""
    header = head[0]
    op = header & 0xFF
    if op == OP_NOP:
        return 1 + ((header >> 16) & 0x3FFF)
    if op == OP_WRITE:
        return 4 + (head[3] & 0xFFFFF) + 1 if len(head) >= 4 else 4
    return _FIXED_SIZES.get(op)


def _lo_hi(address: int) -> list[int]:
    return [address & 0xFFFFFFFF, address >> 32]


def nop(total_dwords: int) -> list[int]:
    """A NOP covering `total_dwords` (header included), used to pad to the ring's end."""
    return [OP_NOP | (total_dwords - 1) << 16] + [0] * (total_dwords - 1)


def copy_linear(dst: int, src: int, nbytes: int) -> list[int]:
    if not 0 < nbytes <= COPY_MAX_BYTES:
        raise ValueError(f"one COPY_LINEAR moves 1..{COPY_MAX_BYTES} bytes, not {nbytes}")
    return [OP_COPY | SUB_COPY_LINEAR << 8, nbytes - 1, 0, *_lo_hi(src), *_lo_hi(dst)]


def copy(dst: int, src: int, nbytes: int) -> list[int]:
    """COPY_LINEAR packets for a copy of any size."""
    out: list[int] = []
    for off in range(0, nbytes, COPY_MAX_BYTES):
        out += copy_linear(dst + off, src + off, min(COPY_MAX_BYTES, nbytes - off))
    return out


def fence(address: int, value: int) -> list[int]:
    """Write a 32-bit value (a dword-aligned address) once earlier packets are done."""
    return [OP_FENCE, *_lo_hi(address), value & 0xFFFFFFFF]


def trap(context_id: int) -> list[int]:
    """Raise the interrupt that sets KFD event `context_id`."""
    return [OP_TRAP, context_id & TRAP_CONTEXT_MASK]


def poll_equal(address: int, value: int, mask: int = 0xFFFFFFFF, interval: int = 4) -> list[int]:
    """Wait until the dword at `address` (masked) equals `value`."""
    return [OP_POLL_REGMEM | POLL_FUNC_EQUAL << POLL_FUNC_SHIFT | POLL_MEM, *_lo_hi(address), value, mask,
            interval | POLL_RETRY_FOREVER << POLL_RETRY_SHIFT]


def const_fill(dst: int, value: int, nbytes: int, unit: int) -> list[int]:
    """Fill nbytes at dst with a repeated value of `unit` bytes (1 or 4)."""
    fillsize = {1: 0, 4: 2}[unit]
    if not 0 < nbytes <= FILL_MAX_BYTES:
        raise ValueError(f"one CONST_FILL writes 1..{FILL_MAX_BYTES} bytes, not {nbytes}")
    return [OP_CONST_FILL | fillsize << FILL_SIZE_SHIFT, *_lo_hi(dst), value & 0xFFFFFFFF, nbytes - 1]


def fill(dst: int, value: int, nbytes: int) -> list[int]:
    """CONST_FILL packets setting nbytes at dst to the byte `value`: dwords where the range is
    dword aligned, bytes for the rest."""
    value &= 0xFF
    out: list[int] = []
    head = min(-dst % 4, nbytes)
    if head:
        out += const_fill(dst, value, head, 1)
    body = (nbytes - head) // 4 * 4
    for off in range(0, body, FILL_MAX_BYTES):
        out += const_fill(dst + head + off, value * 0x01010101, min(FILL_MAX_BYTES, body - off), 4)
    tail = nbytes - head - body
    if tail:
        out += const_fill(dst + head + body, value, tail, 1)
    return out


def timestamp(address: int) -> list[int]:
    """Write the 64-bit GPU timestamp (an 8-byte-aligned address)."""
    return [OP_TIMESTAMP | SUB_TIMESTAMP_GET_GLOBAL << 8, *_lo_hi(address)]
