"""The core's fast paths (full groups, aligned LDS addresses, kept LDS indices, direct register
writes) against the general paths: each kernel runs once as is and once with the hazard checker
on, which turns the fast LDS paths off, and both must give what numpy computes."""

import numpy as np
import pytest
from test_core_launch import run_asm, u64s

from isa.emu import Host, lds

pytestmark = pytest.mark.llvm

GROUP = 128
GROUPS = 6
N = GROUP * GROUPS


def _run(body: str, outputs: int, check: bool, wave64: bool = False):
    host = Host()
    out = host.alloc(4 * N * outputs)
    run_asm(body, args=u64s(out), grid=(N,), workgroup=(GROUP,), host=host, lds=2048, wave64=wave64,
            run={"check": check})
    return host.download(out, np.uint32, N * outputs).reshape(outputs, GROUPS, GROUP)


def _both(body: str, outputs: int, wave64: bool = False, monkeypatch=None):
    """The results of the fast and the general paths, which must agree; the fast run must have
    loaded from LDS through the fast path."""
    taken = []
    if monkeypatch is not None:
        plain = lds._load_words
        monkeypatch.setattr(lds, "_load_words", lambda *a: taken.append(plain(*a)) or taken[-1])
    fast = _run(body, outputs, False, wave64)
    assert monkeypatch is None or any(taken)
    general = _run(body, outputs, True, wave64)
    np.testing.assert_array_equal(fast, general)
    return fast


PROLOGUE = """
    s_load_b64 s[4:5], s[0:1], 0x0
    v_lshlrev_b32 v1, 2, v0                  // byte address of the lane's dword
    v_mad_u32_u24 v2, s2, 1000, v0           // a value unique to (workgroup, lane)
    v_mad_u32_u24 v11, s2, 128, v0
    v_lshlrev_b32 v11, 2, v11                // the lane's output offset
    ds_store_b32 v1, v2
    ds_store_b32 v1, v2 offset:512
    s_waitcnt lgkmcnt(0)
    s_barrier
"""


def _lds_values():
    wg = np.arange(GROUPS)[:, None]
    base = wg * 1000 + np.arange(GROUP)[None, :]
    return np.concatenate([base, base], axis=1)            # LDS dwords 0..255 of each workgroup


@pytest.mark.parametrize("wave64", [False, True])
def test_lds_loads_follow_an_address_register_that_changes(wave64, monkeypatch):
    body = PROLOGUE + """
    v_xor_b32 v3, 4, v1                      // the neighbour lane's dword
    v_mov_b32 v10, 0
    s_mov_b32 s8, 4
loop:
    ds_load_b32 v5, v3
    ds_load_2addr_b32 v[6:7], v3 offset1:3
    s_waitcnt lgkmcnt(0)
    v_mul_lo_u32 v10, v10, 3
    v_add3_u32 v10, v10, v5, v6
    v_lshl_add_u32 v10, v7, 1, v10
    v_add_nc_u32 v3, 8, v3                   // the next iteration reads two dwords further
    s_add_i32 s8, s8, -1
    s_cmp_lg_u32 s8, 0
    s_cbranch_scc1 loop
    ds_load_b32 v3, v3                       // the loaded value replaces its own address
    s_waitcnt lgkmcnt(0)
    global_store_b32 v11, v10, s[4:5]
    global_store_b32 v11, v3, s[4:5] offset:3072
    """
    out = _both(body, 2, wave64, monkeypatch)
    lds = _lds_values()
    lane = np.arange(GROUP) ^ 1
    acc = np.zeros((GROUPS, GROUP), np.int64)
    for it in range(4):
        at = lane + 2 * it
        acc = (acc * 3 + lds[:, at] + lds[:, at] + 2 * lds[:, at + 3]) & 0xFFFFFFFF
    np.testing.assert_array_equal(out[0], acc)
    np.testing.assert_array_equal(out[1], lds[:, lane + 8])


def test_lds_loads_of_waves_split_by_a_branch(monkeypatch):
    """Odd and even waves read through different code: groups of every other wave, whose
    registers are not one slice."""
    body = PROLOGUE + """
    v_readfirstlane_b32 s8, v0
    s_and_b32 s8, s8, 32
    s_cmp_eq_u32 s8, 0
    s_cbranch_scc1 even
    v_add_nc_u32 v3, 12, v1
    ds_load_2addr_b32 v[6:7], v3 offset1:5
    s_waitcnt lgkmcnt(0)
    v_sub_nc_u32 v10, v6, v7
    s_branch done
even:
    ds_load_b64 v[6:7], v1 offset:16
    s_waitcnt lgkmcnt(0)
    v_add_nc_u32 v10, v6, v7
done:
    global_store_b32 v11, v10, s[4:5]
    """
    out = _both(body, 1, monkeypatch=monkeypatch)
    lds = _lds_values()
    lane = np.arange(GROUP)
    odd = (lane >> 5) & 1
    expect = np.where(odd, lds[:, lane + 3] - lds[:, lane + 8], lds[:, lane + 4] + lds[:, lane + 5])
    np.testing.assert_array_equal(out[0], expect & 0xFFFFFFFF)


def test_lds_stores_to_one_address_keep_the_last_lane(monkeypatch):
    body = PROLOGUE + """
    v_and_b32 v3, 0x1e0, v1                  // lanes 8k..8k+7 share one dword
    ds_store_b32 v3, v2 offset:1024
    ds_store_b64 v3, v[1:2] offset:1536
    s_waitcnt lgkmcnt(0)
    s_barrier
    ds_load_b32 v5, v3 offset:1024
    ds_load_b32 v6, v3 offset:1540
    s_waitcnt lgkmcnt(0)
    global_store_b32 v11, v5, s[4:5]
    global_store_b32 v11, v6, s[4:5] offset:3072
    """
    out = _both(body, 2, monkeypatch=monkeypatch)
    last = (np.arange(GROUP) & ~7) + 7
    np.testing.assert_array_equal(out[0], _lds_values()[:, last])
    np.testing.assert_array_equal(out[1], _lds_values()[:, last])
