"""HSA/ROCr memory layouts the command processor reads and writes: AQL packets (64 bytes),
amd_signal_t and the fields of amd_queue_t the CP uses. Offsets are HSA's and ROCr's."""

from __future__ import annotations

import struct
from dataclasses import dataclass

AQL_PACKET_SIZE = 64

# Packet header: type [7:0], barrier [8], acquire fence scope [10:9], release fence scope [12:11].
PACKET_TYPE_VENDOR_SPECIFIC = 0
PACKET_TYPE_INVALID = 1
PACKET_TYPE_KERNEL_DISPATCH = 2
PACKET_TYPE_BARRIER_AND = 3
PACKET_TYPE_AGENT_DISPATCH = 4
PACKET_TYPE_BARRIER_OR = 5
HEADER_BARRIER_BIT = 8

# AMD vendor-specific packets: format byte at offset 2.
AMD_PACKET_PM4_IB = 1
AMD_PACKET_BARRIER_VALUE = 2

# amd_signal_t
SIGNAL_KIND = 0
SIGNAL_VALUE = 8
SIGNAL_EVENT_MAILBOX = 16
SIGNAL_EVENT_ID = 24
SIGNAL_START_TS = 32
SIGNAL_END_TS = 40
SIGNAL_SIZE = 64

# amd_queue_t: the CP's read pointer report address points at read_dispatch_id.
QUEUE_READ_DISPATCH_ID = 128
QUEUE_PROPERTIES = 180
QUEUE_PROPERTY_ENABLE_PROFILING = 1 << 3

# hsa_signal_condition of BARRIER_VALUE packets
CONDITION_EQ, CONDITION_NE, CONDITION_LT, CONDITION_GTE = 0, 1, 2, 3


def header_type(header: int) -> int:
    return header & 0xFF


@dataclass(frozen=True)
class KernelDispatchPacket:
    header: int
    setup: int
    workgroup_size: tuple[int, int, int]
    grid_size: tuple[int, int, int]
    private_segment_size: int
    group_segment_size: int
    kernel_object: int
    kernarg_address: int
    completion_signal: int

    @classmethod
    def parse(cls, raw: bytes) -> KernelDispatchPacket:
        (header, setup, wx, wy, wz, _r0, gx, gy, gz, private, group, kobj, kernarg, _r2,
         signal) = struct.unpack_from("<HHHHHHIIIIIQQQQ", raw)
        return cls(header, setup, (wx, wy, wz), (gx, gy, gz), private, group, kobj, kernarg, signal)

    @property
    def dimensions(self) -> int:
        return self.setup & 3


@dataclass(frozen=True)
class BarrierPacket:
    header: int
    dep_signals: tuple[int, ...]
    completion_signal: int

    @classmethod
    def parse(cls, raw: bytes) -> BarrierPacket:
        deps = struct.unpack_from("<5Q", raw, 8)
        return cls(struct.unpack_from("<H", raw)[0], deps, struct.unpack_from("<Q", raw, 56)[0])


@dataclass(frozen=True)
class BarrierValuePacket:
    header: int
    signal: int
    value: int
    mask: int
    condition: int
    completion_signal: int

    @classmethod
    def parse(cls, raw: bytes) -> BarrierValuePacket:
        header = struct.unpack_from("<H", raw)[0]
        signal, value, mask = struct.unpack_from("<QqQ", raw, 8)
        condition = struct.unpack_from("<I", raw, 32)[0]
        return cls(header, signal, value, mask, condition, struct.unpack_from("<Q", raw, 56)[0])

    def satisfied(self, current: int) -> bool:
        v = current & self.mask
        if v >= 1 << 63:
            v -= 1 << 64
        return {CONDITION_EQ: v == self.value, CONDITION_NE: v != self.value,
                CONDITION_LT: v < self.value, CONDITION_GTE: v >= self.value}.get(self.condition, False)


@dataclass(frozen=True)
class Pm4IbPacket:
    """amd_aql_pm4_ib_packet_t: an INDIRECT_BUFFER PM4 packet carried in an AQL slot."""

    header: int
    pm4_command: tuple[int, int, int, int]
    dw_count_remain: int
    completion_signal: int

    @classmethod
    def parse(cls, raw: bytes) -> Pm4IbPacket:
        header = struct.unpack_from("<H", raw)[0]
        cmd = struct.unpack_from("<4I", raw, 4)
        remain = struct.unpack_from("<I", raw, 20)[0]
        return cls(header, cmd, remain, struct.unpack_from("<Q", raw, 56)[0])
