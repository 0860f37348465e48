"""Every VALU function accepts sources that broadcast to the result's shape, as the core passes
constants ([1, 1]) and SGPRs ([n, 1]): the result equals the one computed from full [n, L]
sources holding the same values."""

import itertools

import numpy as np
import pytest

from isa.emu.valu import VALU

RNG = np.random.default_rng(99)
N, L = 3, 8
EDGES = np.array([0, 1, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0x3F800000, 0xFFFFFFFF, 0x7E00,
                  0x3C00, 0xFC00, 0x00800000], np.uint32)


def _bits(width: int, shape: tuple) -> np.ndarray:
    if width == 1:
        return RNG.random(shape) < 0.5
    if width == 64:
        hi = RNG.integers(0, 2**32, shape, dtype=np.uint64) << np.uint64(32)
        return hi | _bits(32, shape).astype(np.uint64)
    if width == 128:
        return RNG.integers(0, 2**32, shape + (4,), dtype=np.uint64).astype(np.uint32)
    v = RNG.integers(0, 2**32, shape, dtype=np.uint64).astype(np.uint32)
    return np.where(RNG.random(shape) < 0.3, EDGES[RNG.integers(0, EDGES.size, shape)], v)


def _parts(result) -> tuple:
    return result if isinstance(result, tuple) else (result,)


@pytest.mark.parametrize("name", sorted(VALU))
def test_sources_may_broadcast(name):
    op = VALU[name]
    k = len(op.src_bits)
    # mask sources and the 128-bit operand always arrive whole
    fixed = [i in op.mask_srcs or w == 128 for i, w in enumerate(op.src_bits)]
    for trial in range(4):
        kw = {"clamp": trial >= 2}
        if op.raw_mods:
            kw.update(opsel=int(RNG.integers(0, 16)), opsel_hi=int(RNG.integers(0, 8)),
                      neg=int(RNG.integers(0, 8)), neg_hi=int(RNG.integers(0, 8)))
        small = (N, 1) if trial % 2 == 0 else (1, 1)
        for combo in itertools.product((False, True), repeat=k):
            whole, compact = [], []
            for i, width in enumerate(op.src_bits):
                if combo[i] and not fixed[i]:
                    c = _bits(width, small)
                    whole.append(np.broadcast_to(c, (N, L)))
                    compact.append(c)
                else:
                    v = _bits(width, (N, L))
                    whole.append(v)
                    compact.append(v)
            with np.errstate(all="ignore"):
                want = _parts(op.fn(*whole, **kw))
                got = _parts(op.fn(*compact, **kw))
            assert len(got) == len(want)
            for w, g in zip(want, got, strict=True):
                w, g = np.asarray(w), np.asarray(g)
                assert g.dtype == w.dtype
                np.testing.assert_array_equal(np.broadcast_to(g, w.shape), w)
