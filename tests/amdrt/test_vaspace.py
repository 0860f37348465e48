"""The virtual address allocator: no overlaps, alignment, and full coalescing after frees."""

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from amdrt import OutOfMemory
from amdrt.vaspace import PAGE, VASpace

BASE = 0x7F00_0000_0000
SIZE = 256 * PAGE


class Allocator(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.space = VASpace(BASE, SIZE)
        self.live: dict[int, tuple[int, int]] = {}  # address -> (bytes asked, alignment)

    @rule(size=st.integers(1, 40 * PAGE), align_log=st.integers(12, 17))
    def allocate(self, size, align_log):
        align = 1 << align_log
        try:
            addr = self.space.allocate(size, align)
        except OutOfMemory:
            # Refusal is only right when no aligned gap of that size exists.
            need = -(-size // PAGE) * PAGE
            taken = sorted((a, a + self.space.size_of(a)) for a in self.live)
            edges = [BASE, *[x for span in taken for x in span], BASE + SIZE]
            for start, end in zip(edges[::2], edges[1::2], strict=True):
                aligned = -(-start // align) * align
                assert aligned + need > end
            return
        assert addr % align == 0
        assert BASE <= addr and addr + size <= BASE + SIZE
        self.live[addr] = (size, align)

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def free(self, data):
        addr = data.draw(st.sampled_from(sorted(self.live)))
        self.space.free(addr)
        del self.live[addr]

    @invariant()
    def no_overlap_and_accounting(self):
        spans = sorted((a, a + self.space.size_of(a)) for a in self.live)
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            assert end <= start
        used = sum(e - s for s, e in spans)
        assert self.space.free_bytes + used == SIZE

    def teardown(self):
        for addr in list(self.live):
            self.space.free(addr)
        # Every free range merged back into one.
        assert self.space.free_bytes == SIZE
        assert self.space.allocate(SIZE) == BASE


TestAllocator = Allocator.TestCase
TestAllocator.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)


def test_bad_requests():
    space = VASpace(BASE, SIZE)
    with pytest.raises(ValueError):
        space.allocate(0)
    with pytest.raises(ValueError):
        space.allocate(PAGE, align=3 * PAGE)
    addr = space.allocate(PAGE)
    space.free(addr)
    with pytest.raises(ValueError, match="not a live allocation"):
        space.free(addr)
    with pytest.raises(OutOfMemory):
        space.allocate(SIZE + PAGE)
