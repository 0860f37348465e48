"""HSA/ROCr layouts the command processor reads: sizes and field offsets as hsa.h, hsa_ext_amd.h
and amd_hsa_queue.h / amd_hsa_signal.h lay them out, and the packet header bits."""

import ctypes
import struct

import pytest

from kfd import hsa

OFFSETS = [
    (hsa.KernelDispatchPacket, {"header": 0, "setup": 2, "workgroup_size_x": 4, "workgroup_size_z": 8,
                                "grid_size_x": 12, "grid_size_z": 20, "private_segment_size": 24,
                                "group_segment_size": 28, "kernel_object": 32, "kernarg_address": 40,
                                "completion_signal": 56}),
    (hsa.BarrierPacket, {"header": 0, "dep_signal": 8, "completion_signal": 56}),
    (hsa.BarrierValuePacket, {"header": 0, "amd_format": 2, "signal": 8, "value": 16, "mask": 24, "cond": 32,
                              "completion_signal": 56}),
    (hsa.Pm4IbPacket, {"header": 0, "amd_format": 2, "pm4_ib_command": 4, "dw_count_remain": 20,
                       "completion_signal": 56}),
    (hsa.AmdSignal, {"kind": 0, "value": 8, "event_mailbox_ptr": 16, "event_id": 24, "start_ts": 32,
                     "end_ts": 40, "queue_ptr": 48}),
    (hsa.AmdQueue, {"hsa_queue": 0, "caps": 40, "write_dispatch_id": 56, "group_segment_aperture_base_hi": 64,
                    "private_segment_aperture_base_hi": 68, "max_cu_id": 72, "max_wave_id": 76,
                    "max_legacy_doorbell_dispatch_id_plus_1": 80, "legacy_doorbell_lock": 88,
                    "read_dispatch_id": 128, "read_dispatch_id_field_base_byte_offset": 136,
                    "compute_tmpring_size": 140, "scratch_resource_descriptor": 144,
                    "scratch_backing_memory_location": 160, "scratch_backing_memory_byte_size": 168,
                    "scratch_wave64_lane_byte_size": 176, "queue_properties": 180,
                    "scratch_max_use_index": 184, "queue_inactive_signal": 192}),
    (hsa.HsaQueue, {"type": 0, "features": 4, "base_address": 8, "doorbell_signal": 16, "size": 24, "id": 32}),
]


@pytest.mark.parametrize("struct, offsets", OFFSETS, ids=lambda x: getattr(x, "__name__", ""))
def test_field_offsets(struct, offsets):
    for name, offset in offsets.items():
        assert getattr(struct, name).offset == offset, name


def test_sizes():
    assert ctypes.sizeof(hsa.KernelDispatchPacket) == ctypes.sizeof(hsa.BarrierPacket) == 64
    assert ctypes.sizeof(hsa.BarrierValuePacket) == ctypes.sizeof(hsa.Pm4IbPacket) == 64
    assert ctypes.sizeof(hsa.AmdSignal) == 64
    assert ctypes.sizeof(hsa.AmdQueue) == 256


def test_header_bits():
    # type [7:0], barrier [8], acquire fence scope [10:9], release fence scope [12:11]
    assert hsa.header(hsa.PACKET_TYPE_KERNEL_DISPATCH) == 2 | 1 << 8 | 2 << 9 | 2 << 11
    assert hsa.header(hsa.PACKET_TYPE_BARRIER_AND, barrier=False, acquire=0, release=1) == 3 | 1 << 11
    assert hsa.header_type(hsa.header(hsa.PACKET_TYPE_BARRIER_OR)) == 5


def test_dispatch_packet_views():
    raw = struct.pack("<HHHHHHIIIIIQQQQ", 2, 3, 8, 4, 2, 0, 64, 32, 16, 0, 0, 0, 0, 0, 0)
    p = hsa.KernelDispatchPacket.from_buffer_copy(raw)
    assert (p.dimensions, p.workgroup_size, p.grid_size) == (3, (8, 4, 2), (64, 32, 16))


@pytest.mark.parametrize("cond, value, current, mask, expected", [
    (hsa.CONDITION_EQ, 5, 5, 2**64 - 1, True), (hsa.CONDITION_EQ, 5, 0x105, 0xFF, True),
    (hsa.CONDITION_NE, 5, 5, 2**64 - 1, False), (hsa.CONDITION_LT, 0, 2**64 - 1, 2**64 - 1, True),
    (hsa.CONDITION_GTE, 0, 2**64 - 1, 2**64 - 1, False), (hsa.CONDITION_GTE, 3, 3, 2**64 - 1, True),
    (7, 0, 0, 2**64 - 1, False),
])
def test_barrier_value_condition(cond, value, current, mask, expected):
    # The signal value is signed (hsa_signal_value_t): all ones is -1.
    p = hsa.BarrierValuePacket(value=value, mask=mask, cond=cond)
    assert p.satisfied(current) is expected


@pytest.mark.parametrize("waves, wave_bytes", [(0, 0), (1, 1), (3072, 64 * 1024), (5000, 0x7FFF * 256)])
def test_compute_tmpring_size(waves, wave_bytes):
    # WAVES [11:0] (saturating), WAVESIZE [26:12] in 256-byte units, rounded up
    value = hsa.compute_tmpring_size(waves, wave_bytes)
    assert value & 0xFFF == min(waves, 0xFFF)
    assert value >> 12 == -(-wave_bytes // 256)
    assert hsa.tmpring_wave_bytes(value) == -(-wave_bytes // 256) * 256
