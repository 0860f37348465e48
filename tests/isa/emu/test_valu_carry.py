"""Carry and borrow ops at the edges of the 32-bit range, every carry-in and clamp combination,
against Python integers."""

import itertools

import numpy as np
import pytest

from isa.emu.valu import VALU

M = 2**32 - 1
EDGES = [0, 1, 2, 0x7FFFFFFF, 0x80000000, 0x80000001, M - 1, M]


def _ref(name, x, y, k):
    if name == "v_subrev_co_u32" or name == "v_subrev_co_ci_u32":
        x, y = y, x
    if name.startswith("v_add"):
        total = x + y + k
        return total, total > M
    total = x - y - k
    return total, total < 0


@pytest.mark.parametrize("name", ["v_add_co_u32", "v_sub_co_u32", "v_subrev_co_u32", "v_add_co_ci_u32",
                                  "v_sub_co_ci_u32", "v_subrev_co_ci_u32"])
@pytest.mark.parametrize("clamp", [False, True])
def test_carry_ops_at_the_edges(name, clamp):
    with_ci = "_ci_" in name
    cases = list(itertools.product(EDGES, EDGES, (0, 1) if with_ci else (0,)))
    a, b, k = (np.array(col) for col in zip(*cases, strict=True))
    args = (a.astype(np.uint32), b.astype(np.uint32)) + ((k.astype(bool),) if with_ci else ())
    d, carry = VALU[name].fn(*args, clamp=clamp)
    for i, (x, y, ci) in enumerate(cases):
        total, out = _ref(name, x, y, ci)
        want = (M if name.startswith("v_add") else 0) if clamp and out else total & M
        assert (int(d[i]), bool(carry[i])) == (want, out), (name, x, y, ci)


@pytest.mark.parametrize("name", ["v_add_co_ci_u32", "v_sub_co_ci_u32", "v_subrev_co_ci_u32"])
@pytest.mark.parametrize("clamp", [False, True])
@pytest.mark.parametrize("k", [0, 1])
def test_carry_in_the_same_in_every_lane(name, clamp, k):
    """All-zero carry-ins take a shorter path than mixed ones; both must agree with the reference."""
    cases = list(itertools.product(EDGES, EDGES))
    a, b = (np.array(col, np.uint32) for col in zip(*cases, strict=True))
    d, carry = VALU[name].fn(a, b, np.full(a.shape, bool(k)), clamp=clamp)
    for i, (x, y) in enumerate(cases):
        total, out = _ref(name, x, y, k)
        want = (M if name.startswith("v_add") else 0) if clamp and out else total & M
        assert (int(d[i]), bool(carry[i])) == (want, out), (name, x, y, k)
