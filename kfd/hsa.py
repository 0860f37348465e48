"""HSA and ROCr memory layouts the command processor reads and writes: AQL packets,
amd_signal_t and amd_queue_t (hsa.h, hsa_ext_amd.h, amd_hsa_signal.h, amd_hsa_queue.h).

The runtime writes these structures and the simulated command processor reads them, so each
layout is a ctypes struct defined once, here; tests check sizes and offsets against the headers'
documented values.
"""

from __future__ import annotations

import ctypes

u8 = ctypes.c_uint8
u16 = ctypes.c_uint16
u32 = ctypes.c_uint32
u64 = ctypes.c_uint64
i64 = ctypes.c_int64

AQL_PACKET_SIZE = 64

# hsa_packet_type_t
PACKET_TYPE_VENDOR_SPECIFIC = 0
PACKET_TYPE_INVALID = 1
PACKET_TYPE_KERNEL_DISPATCH = 2
PACKET_TYPE_BARRIER_AND = 3
PACKET_TYPE_AGENT_DISPATCH = 4
PACKET_TYPE_BARRIER_OR = 5

# hsa_packet_header_t bit positions: type [7:0], barrier [8], acquire fence scope [10:9],
# release fence scope [12:11]
HEADER_TYPE_SHIFT = 0
HEADER_TYPE_MASK = 0xFF
HEADER_BARRIER_SHIFT = 8
HEADER_ACQUIRE_FENCE_SHIFT = 9
HEADER_RELEASE_FENCE_SHIFT = 11

# hsa_fence_scope_t
FENCE_SCOPE_NONE = 0
FENCE_SCOPE_AGENT = 1
FENCE_SCOPE_SYSTEM = 2

# hsa_kernel_dispatch_packet_setup: number of grid dimensions in bits 1:0
SETUP_DIMENSIONS_SHIFT = 0
SETUP_DIMENSIONS_MASK = 3

# AMD vendor-specific packets (amd_aql_format_t): the format byte follows the header.
AMD_PACKET_PM4_IB = 1
AMD_PACKET_BARRIER_VALUE = 2

# hsa_signal_condition_t of barrier-value packets
CONDITION_EQ, CONDITION_NE, CONDITION_LT, CONDITION_GTE = 0, 1, 2, 3

# amd_signal_kind_t
SIGNAL_KIND_INVALID = 0
SIGNAL_KIND_USER = 1
SIGNAL_KIND_DOORBELL = -1
SIGNAL_KIND_LEGACY_DOORBELL = -2

# amd_queue_properties_t
QUEUE_PROPERTIES_ENABLE_TRAP_HANDLER = 1 << 0
QUEUE_PROPERTIES_IS_PTR64 = 1 << 1
QUEUE_PROPERTIES_ENABLE_TRAP_HANDLER_DEBUG_SGPRS = 1 << 2
QUEUE_PROPERTIES_ENABLE_PROFILING = 1 << 3
QUEUE_PROPERTIES_USE_SCRATCH_ONCE = 1 << 4

# hsa_queue_type_t and hsa_queue_feature_t
QUEUE_TYPE_MULTI = 0
QUEUE_FEATURE_KERNEL_DISPATCH = 1


def header(packet_type: int, *, barrier: bool = True, acquire: int = FENCE_SCOPE_SYSTEM,
           release: int = FENCE_SCOPE_SYSTEM) -> int:
    """The 16-bit AQL packet header."""
    return (packet_type << HEADER_TYPE_SHIFT | int(barrier) << HEADER_BARRIER_SHIFT
            | acquire << HEADER_ACQUIRE_FENCE_SHIFT | release << HEADER_RELEASE_FENCE_SHIFT)


def header_type(header: int) -> int:
    """The packet type of a header (or of its first byte)."""
    return header >> HEADER_TYPE_SHIFT & HEADER_TYPE_MASK


class KernelDispatchPacket(ctypes.Structure):
    """hsa_kernel_dispatch_packet_t. Grid sizes count work-items, not workgroups."""

    _fields_ = [
        ("header", u16),
        ("setup", u16),
        ("workgroup_size_x", u16),
        ("workgroup_size_y", u16),
        ("workgroup_size_z", u16),
        ("reserved0", u16),
        ("grid_size_x", u32),
        ("grid_size_y", u32),
        ("grid_size_z", u32),
        ("private_segment_size", u32),
        ("group_segment_size", u32),
        ("kernel_object", u64),
        ("kernarg_address", u64),
        ("reserved2", u64),
        ("completion_signal", u64),
    ]

    @property
    def dimensions(self) -> int:
        return self.setup >> SETUP_DIMENSIONS_SHIFT & SETUP_DIMENSIONS_MASK

    @property
    def workgroup_size(self) -> tuple[int, int, int]:
        return self.workgroup_size_x, self.workgroup_size_y, self.workgroup_size_z

    @property
    def grid_size(self) -> tuple[int, int, int]:
        return self.grid_size_x, self.grid_size_y, self.grid_size_z


class BarrierPacket(ctypes.Structure):
    """hsa_barrier_and_packet_t / hsa_barrier_or_packet_t (same layout). AND waits until every
    nonzero dep_signal has value 0; OR until any of them has."""

    _fields_ = [
        ("header", u16),
        ("reserved0", u16),
        ("reserved1", u32),
        ("dep_signal", u64 * 5),
        ("reserved2", u64),
        ("completion_signal", u64),
    ]


BARRIER_MAX_DEPS = 5


class BarrierValuePacket(ctypes.Structure):
    """amd_barrier_value_packet_t (vendor format BARRIER_VALUE): waits until the signal's value,
    masked, compares with `value` as `cond` says."""

    _fields_ = [
        ("header", u16),
        ("amd_format", u8),
        ("reserved0", u8),
        ("reserved1", u32),
        ("signal", u64),
        ("value", i64),
        ("mask", u64),
        ("cond", u32),
        ("reserved2", u32),
        ("reserved3", u64 * 2),
        ("completion_signal", u64),
    ]

    def satisfied(self, current: int) -> bool:
        v = current & self.mask
        if v >= 1 << 63:
            v -= 1 << 64
        return {CONDITION_EQ: v == self.value, CONDITION_NE: v != self.value,
                CONDITION_LT: v < self.value, CONDITION_GTE: v >= self.value}.get(self.cond, False)


class Pm4IbPacket(ctypes.Structure):
    """amd_aql_pm4_ib_packet_t (vendor format PM4_IB): an INDIRECT_BUFFER PM4 packet carried in
    an AQL slot."""

    _fields_ = [
        ("header", u16),
        ("amd_format", u8),
        ("reserved0", u8),
        ("pm4_ib_command", u32 * 4),
        ("dw_count_remain", u32),
        ("reserved1", u32 * 8),
        ("completion_signal", u64),
    ]


class AmdSignal(ctypes.Structure):
    """amd_signal_t: 64 bytes, 64-byte aligned; an hsa_signal_t handle is its address. The CP
    decrements `value` on completion, then writes event_id to the event mailbox and raises the
    interrupt that sets that KFD event; with profiling on it stores start/end timestamps."""

    _fields_ = [
        ("kind", i64),
        ("value", i64),
        ("event_mailbox_ptr", u64),
        ("event_id", u32),
        ("reserved1", u32),
        ("start_ts", u64),
        ("end_ts", u64),
        ("queue_ptr", u64),
        ("reserved3", u32 * 2),
    ]


SIGNAL_SIZE = 64


class HsaQueue(ctypes.Structure):
    """hsa_queue_t, the public head of amd_queue_t."""

    _fields_ = [
        ("type", u32),
        ("features", u32),
        ("base_address", u64),
        ("doorbell_signal", u64),
        ("size", u32),
        ("reserved1", u32),
        ("id", u64),
    ]


# COMPUTE_TMPRING_SIZE, which amd_queue_t.compute_tmpring_size holds for the CP to load: WAVES
# [11:0] (waves that may hold scratch at once), WAVESIZE [26:12] (scratch per wave, 256-byte units).
TMPRING_WAVES_MASK = 0xFFF
TMPRING_WAVESIZE_SHIFT = 12
TMPRING_WAVESIZE_MASK = 0x7FFF
TMPRING_WAVESIZE_UNIT = 256


def compute_tmpring_size(waves: int, wave_bytes: int) -> int:
    """The register value for `waves` waves of `wave_bytes` scratch each (rounded up to the unit)."""
    units = -(-wave_bytes // TMPRING_WAVESIZE_UNIT)
    return (min(waves, TMPRING_WAVES_MASK)
            | (units & TMPRING_WAVESIZE_MASK) << TMPRING_WAVESIZE_SHIFT)


def tmpring_wave_bytes(value: int) -> int:
    """Scratch bytes per wave of a COMPUTE_TMPRING_SIZE value."""
    return (value >> TMPRING_WAVESIZE_SHIFT & TMPRING_WAVESIZE_MASK) * TMPRING_WAVESIZE_UNIT


class AmdQueue(ctypes.Structure):
    """amd_queue_t (256 bytes, 64-byte aligned). The CP polls write_dispatch_id and reports its
    progress in read_dispatch_id; scratch fields describe the queue's private segment memory."""

    _fields_ = [
        ("hsa_queue", HsaQueue),
        ("caps", u32),
        ("reserved1", u32 * 3),
        ("write_dispatch_id", u64),
        ("group_segment_aperture_base_hi", u32),
        ("private_segment_aperture_base_hi", u32),
        ("max_cu_id", u32),
        ("max_wave_id", u32),
        ("max_legacy_doorbell_dispatch_id_plus_1", u64),
        ("legacy_doorbell_lock", u32),
        ("reserved2", u32 * 9),
        ("read_dispatch_id", u64),
        ("read_dispatch_id_field_base_byte_offset", u32),
        ("compute_tmpring_size", u32),
        ("scratch_resource_descriptor", u32 * 4),
        ("scratch_backing_memory_location", u64),
        ("scratch_backing_memory_byte_size", u64),
        ("scratch_wave64_lane_byte_size", u32),
        ("queue_properties", u32),
        ("scratch_max_use_index", u64),
        ("queue_inactive_signal", u64),
        ("reserved4", u32 * 14),
    ]


AMD_QUEUE_SIZE = 256

for _struct, _size in ((KernelDispatchPacket, AQL_PACKET_SIZE), (BarrierPacket, AQL_PACKET_SIZE),
                       (BarrierValuePacket, AQL_PACKET_SIZE), (Pm4IbPacket, AQL_PACKET_SIZE),
                       (AmdSignal, SIGNAL_SIZE), (AmdQueue, AMD_QUEUE_SIZE), (HsaQueue, 40)):
    if ctypes.sizeof(_struct) != _size:
        raise AssertionError(f"{_struct.__name__} is {ctypes.sizeof(_struct)} bytes, not {_size}")

WRITE_DISPATCH_ID_OFFSET = AmdQueue.write_dispatch_id.offset
READ_DISPATCH_ID_OFFSET = AmdQueue.read_dispatch_id.offset
QUEUE_PROPERTIES_OFFSET = AmdQueue.queue_properties.offset
SIGNAL_VALUE_OFFSET = AmdSignal.value.offset
SIGNAL_EVENT_MAILBOX_OFFSET = AmdSignal.event_mailbox_ptr.offset
SIGNAL_EVENT_ID_OFFSET = AmdSignal.event_id.offset
SIGNAL_START_TS_OFFSET = AmdSignal.start_ts.offset
SIGNAL_END_TS_OFFSET = AmdSignal.end_ts.offset

# gfx11 command processors and SDMA engines stamp signals with the 100 MHz GPU reference clock.
GFX11_TIMESTAMP_HZ = 100_000_000
