"""SDMA 6.0 packets as the runtime builds them: dwords, splitting of large copies and fills,
and the packet sizes the engine reads from their headers."""

import pytest

from kfd import sdma_packets as sdma


def test_sdma_packets():
    copy = sdma.copy_linear(0x1_2345_6780, 0xA_BCDE_F000, 4096)
    assert copy == [1, 4095, 0, 0xBCDEF000, 0xA, 0x23456780, 0x1]
    assert len(sdma.copy(0, 0, sdma.COPY_MAX_BYTES * 2 + 1)) == 21
    assert sdma.fence(0x1000_0008, 0) == [5, 0x1000_0008, 0, 0]
    assert sdma.trap(0x1234_5678) == [6, 0x0234_5678]
    poll = sdma.poll_equal(0x2000, 0)
    assert poll[0] == 8 | 3 << 28 | 1 << 31 and poll[5] >> 16 == 0xFFF
    assert sdma.nop(3) == [2 << 16, 0, 0]
    assert sdma.timestamp(0x40) == [13 | 2 << 8, 0x40, 0]


@pytest.mark.parametrize("dst, n", [(0x1000, 16), (0x1001, 10), (0x1003, 1), (0x1002, 7), (0x1000, 3)])
def test_fill_covers_exactly_the_range(dst, n):
    covered = []
    packets = sdma.fill(dst, 0xAB, n)
    i = 0
    while i < len(packets):
        header, lo, hi, value, count = packets[i:i + 5]
        unit = 1 << (header >> 30)
        assert (value & 0xFF) == 0xAB and (unit == 1 or value == 0xABABABAB)
        start = lo | hi << 32
        assert unit == 1 or start % 4 == 0
        covered += range(start, start + count + 1)
        i += 5
    assert covered == list(range(dst, dst + n))


@pytest.mark.parametrize("packet", [
    sdma.copy_linear(0x2000, 0x1000, 64), sdma.fence(0x1000, 1), sdma.trap(3), sdma.poll_equal(0x40, 0),
    sdma.const_fill(0x1000, 0, 16, 4), sdma.timestamp(0x40), sdma.nop(1), sdma.nop(5),
    [sdma.OP_WRITE, 0x1000, 0, 2, 7, 8, 9],
])
def test_packet_dwords_reads_the_size_from_the_header(packet):
    assert sdma.packet_dwords(packet[:4]) == len(packet)


def test_packet_dwords_of_an_unknown_op():
    assert sdma.packet_dwords([0x7F]) is None
