"""The core's fast paths (full groups, aligned LDS addresses, kept LDS indices, direct register
writes) against the general paths: each kernel runs once as is and once with the hazard checker
on, which turns the fast LDS paths off, and both must give what numpy computes."""

import numpy as np
import pytest
from test_core_launch import run_asm, u64s

from isa.emu import Host, MemoryFault, lds, vmem

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


@pytest.mark.parametrize("wave64", [False, True])
def test_lds_loads_with_workgroup_patterns(wave64, monkeypatch):
    """Addresses from local ids alone: runs of lanes (block), a row read by every row of lanes
    (tile), one dword per run of lanes (repeat); then ones that are none of these, or differ
    between workgroups."""
    body = PROLOGUE + """
    v_and_b32 v3, 15, v0
    v_lshlrev_b32 v3, 2, v3                  // tile: lid & 15
    v_lshrrev_b32 v4, 4, v0
    v_lshlrev_b32 v4, 2, v4                  // repeat: lid >> 4
    v_cvt_f32_u32 v5, v0
    v_mul_f32 v5, 0x3d2aaaab, v5             // lid / 24 (the period does not divide the lanes)
    v_cvt_u32_f32 v5, v5
    v_mul_u32_u24 v5, v5, 24
    v_sub_nc_u32 v5, v0, v5
    v_lshlrev_b32 v5, 2, v5
    v_add_nc_u32 v6, s2, v0
    v_and_b32 v6, 0x7f, v6
    v_lshlrev_b32 v6, 2, v6                  // differs from workgroup to workgroup
    v_mov_b32 v14, v11                       // the output offset (v11 is loaded over)
    ds_load_b32 v7, v1 offset:8              // block
    ds_load_2addr_b32 v[8:9], v3 offset0:16 offset1:3
    ds_load_b64 v[10:11], v4 offset:4
    ds_load_b32 v12, v5
    ds_load_b32 v13, v6 offset:12
    s_waitcnt lgkmcnt(0)
    v_add_nc_u32 v7, v7, v8
    v_add3_u32 v7, v7, v9, v10
    v_add3_u32 v7, v7, v11, v12
    v_xor_b32 v7, v7, v13
    global_store_b32 v14, v7, s[4:5]
    """
    out = _both(body, 1, wave64, monkeypatch)
    lds = _lds_values().astype(np.int64)
    lane = np.arange(GROUP)
    wg = np.arange(GROUPS)[:, None]
    expect = (lds[:, lane + 2] + lds[:, (lane & 15) + 16] + lds[:, (lane & 15) + 3] + lds[:, (lane >> 4) + 1]
              + lds[:, (lane >> 4) + 2] + lds[:, lane % 24]) & 0xFFFFFFFF
    expect ^= np.take_along_axis(lds, ((lane + wg) & 127) + 3, axis=1)
    np.testing.assert_array_equal(out[0], expect)


@pytest.mark.parametrize("wave64", [False, True])
def test_lds_loads_with_spaced_and_uneven_patterns(wave64, monkeypatch):
    """Tile and repeat patterns whose distinct dwords are evenly spaced (read as slices of the
    LDS rows, contiguous or strided), unevenly spaced or decreasing (gathered), with two
    offsets each, against the general path and numpy."""
    body = PROLOGUE + """
    v_and_b32 v3, 15, v0
    v_lshlrev_b32 v3, 3, v3                  // tile, every second dword: 2 * (lid & 15)
    v_lshrrev_b32 v4, 4, v0
    v_lshlrev_b32 v4, 6, v4                  // repeat, every 16th dword: 16 * (lid >> 4)
    v_and_b32 v5, 15, v0
    v_mul_u32_u24 v5, v5, v5
    v_lshlrev_b32 v5, 2, v5                  // tile, uneven: (lid & 15) ** 2
    v_lshrrev_b32 v6, 4, v0
    v_mul_u32_u24 v6, v6, v6
    v_lshlrev_b32 v6, 2, v6                  // repeat, uneven: (lid >> 4) ** 2
    v_and_b32 v7, 15, v0
    v_sub_nc_u32 v7, 15, v7
    v_lshlrev_b32 v7, 2, v7                  // tile, decreasing: 15 - (lid & 15)
    v_mov_b32 v20, v11                       // the output offset (v11 is loaded over)
    ds_load_2addr_b32 v[8:9], v3 offset0:1 offset1:5
    ds_load_2addr_b32 v[10:11], v4 offset1:7
    ds_load_2addr_b32 v[12:13], v5 offset0:2 offset1:3
    ds_load_2addr_b32 v[14:15], v6 offset1:9
    ds_load_2addr_b32 v[16:17], v7 offset0:4 offset1:6
    s_waitcnt lgkmcnt(0)
    v_mul_lo_u32 v8, v8, 3
    v_add3_u32 v8, v8, v9, v10
    v_lshl_add_u32 v8, v11, 1, v8
    v_mul_lo_u32 v8, v8, 5
    v_add3_u32 v8, v8, v12, v13
    v_mul_lo_u32 v8, v8, 7
    v_add3_u32 v8, v8, v14, v15
    v_mul_lo_u32 v8, v8, 9
    v_add3_u32 v8, v8, v16, v17
    global_store_b32 v20, v8, s[4:5]
    """
    out = _both(body, 1, wave64, monkeypatch)
    lds = _lds_values().astype(np.int64)
    lane = np.arange(GROUP)
    tx, ty = lane & 15, lane >> 4
    acc = lds[:, 2 * tx + 1] * 3 + lds[:, 2 * tx + 5] + lds[:, 16 * ty] + 2 * lds[:, 16 * ty + 7]
    acc = acc * 5 + lds[:, tx * tx + 2] + lds[:, tx * tx + 3]
    acc = acc * 7 + lds[:, ty * ty] + lds[:, ty * ty + 9]
    acc = acc * 9 + lds[:, 15 - tx + 4] + lds[:, 15 - tx + 6]
    np.testing.assert_array_equal(out[0], acc & 0xFFFFFFFF)


def test_workgroup_patterns_are_recognized():
    def kind(pattern):
        lanes = lds.Lanes(np.zeros(0, np.int64), 0)
        lds._classify(lanes, np.asarray(pattern, np.int64))
        return lanes.kind, lanes.first, None if lanes.distinct is None else lanes.distinct.tolist(), lanes.reps
    i = np.arange(64)
    assert kind(5 + i) == ("block", 5, None, 1)
    assert kind(100 + (i & 15)) == ("tile", 0, list(range(100, 116)), 4)
    assert kind(3 * (i >> 3)) == ("repeat", 0, [3 * k for k in range(8)], 8)
    assert kind(i % 24)[0] is None                            # the period does not divide 64
    assert kind(i ^ 1)[0] is None
    assert kind(np.zeros(64))[0] == "tile"                    # one dword for all: a tile of one
    assert kind(np.r_[i[:32], i[:31], 7])[0] is None          # almost a tile


def test_evenly_spaced_patterns_are_read_as_slices():
    def step(pattern):
        lanes = lds.Lanes(np.zeros(0, np.int64), 0)
        lds._classify(lanes, np.asarray(pattern, np.int64))
        return lanes.kind, lanes.step
    i = np.arange(256)
    assert step(256 + (i & 15)) == ("tile", 1)
    assert step(2 * (i & 15)) == ("tile", 2)
    assert step(16 * (i >> 4)) == ("repeat", 16)
    assert step((i & 15) ** 2) == ("tile", 0)
    assert step(15 - (i & 15)) == ("tile", 0)                 # decreasing: gathered
    assert step(np.zeros(256))[0] == "tile" and step(np.zeros(256))[1] >= 1
    rows = np.arange(4 * 512, dtype=np.uint32).reshape(4, 512)
    for pattern in (2 * (i & 15), 16 * (i[:64] >> 4) + 3, (i & 15) ** 2, 15 - (i & 15), 7 * (i >> 5) ** 2):
        lanes = lds.Lanes(np.zeros(0, np.int64), 0)
        lds._classify(lanes, np.asarray(pattern, np.int64))
        assert lanes.kind in ("tile", "repeat")
        for col in (0, 1, 5):
            np.testing.assert_array_equal(lds._columns(rows, lanes, col), rows[:, lanes.distinct + col])


# ---------------------------------------------------------------------------------------------
# global / flat dword accesses straight through a view of the mapping

def _global_run(body: str, table: np.ndarray, n_out: int, fast: bool, monkeypatch, lanes_n=N):
    if not fast:
        monkeypatch.setattr(vmem, "dword_lanes", lambda *a: None)
    host = Host()
    src = host.upload(table)
    out = host.alloc(4 * n_out)
    run_asm(body, args=u64s(src, out), grid=(lanes_n,), workgroup=(GROUP,), host=host)
    monkeypatch.undo()
    return host.download(out, np.uint32, n_out)


def _global_both(body: str, table: np.ndarray, n_out: int, monkeypatch, lanes_n=N):
    taken = []
    plain = vmem.dword_lanes
    monkeypatch.setattr(vmem, "dword_lanes", lambda *a: taken.append(plain(*a)) or taken[-1])
    fast = _global_run(body, table, n_out, True, monkeypatch, lanes_n)
    assert any(t is not None for t in taken)
    general = _global_run(body, table, n_out, False, monkeypatch, lanes_n)
    np.testing.assert_array_equal(fast, general)
    return fast


GLOBAL_PROLOGUE = """
    s_load_b128 s[4:7], s[0:1], 0x0          // s[4:5] table, s[6:7] out
    v_mad_u32_u24 v1, s2, 128, v0            // global id
    v_lshlrev_b32 v2, 2, v1
    v_mul_lo_u32 v3, v1, 37
    v_and_b32 v3, 0x3ff, v3                  // a scattered dword of the table
    v_lshlrev_b32 v3, 2, v3
    s_waitcnt lgkmcnt(0)
"""
TABLE = (np.arange(1024 + 8, dtype=np.uint32) * 2654435761) & 0xFFFFFFFF
GID = np.arange(N)
PICK = (GID * 37) & 0x3FF


def test_global_loads_and_stores_of_a_vgpr_pair_address(monkeypatch):
    body = GLOBAL_PROLOGUE + """
    v_add_nc_u32 v3, 4, v3                   // past the table's first dword
    v_add_co_u32 v4, vcc_lo, s4, v3
    v_add_co_ci_u32_e64 v5, null, s5, 0, vcc_lo
    global_load_b32 v6, v[4:5], off offset:8
    global_load_b64 v[8:9], v[4:5], off
    global_load_b128 v[12:15], v[4:5], off offset:-4
    v_lshlrev_b32 v2, 3, v1                  // 8 bytes per lane
    v_add_co_u32 v4, vcc_lo, s6, v2
    v_add_co_ci_u32_e64 v5, null, s7, 0, vcc_lo
    s_waitcnt vmcnt(0)
    v_add_nc_u32 v6, v6, v13
    v_xor_b32 v7, v8, v15
    global_store_b64 v[4:5], v[6:7], off
    v_mov_b32 v10, v9
    v_mov_b32 v11, v12
    v_add_nc_u32 v2, 0x1800, v2              // the second half of the output
    v_add_co_u32 v4, vcc_lo, s6, v2
    v_add_co_ci_u32_e64 v5, null, s7, 0, vcc_lo
    global_store_b64 v[4:5], v[10:11], off
    """
    t = np.concatenate([[7], TABLE]).astype(np.uint32)
    out = _global_both(body, t, 4 * N, monkeypatch)
    p = PICK
    np.testing.assert_array_equal(out[0:2 * N:2], (t[p + 3] + t[p + 1]) & 0xFFFFFFFF)
    np.testing.assert_array_equal(out[1:2 * N:2], t[p + 1] ^ t[p + 3])
    np.testing.assert_array_equal(out[2 * N::2], t[p + 2])
    np.testing.assert_array_equal(out[2 * N + 1::2], t[p])


def test_global_accesses_with_an_sgpr_base_and_collisions(monkeypatch):
    body = GLOBAL_PROLOGUE + """
    global_load_b32 v6, v3, s[4:5]
    global_load_b64 v[8:9], v3, s[4:5] offset:4
    v_and_b32 v10, 0xffffffe0, v2            // lanes 8k..8k+7 store to one dword
    v_add_nc_u32 v11, 0x1800, v2
    s_waitcnt vmcnt(0)
    global_store_b32 v2, v6, s[6:7]
    global_store_b32 v10, v1, s[6:7] offset:3072
    v_add_nc_u32 v9, v9, v8
    global_store_b32 v11, v9, s[6:7]
    """
    out = _global_both(body, TABLE, 3 * N, monkeypatch)
    np.testing.assert_array_equal(out[:N], TABLE[PICK])
    slots = np.arange(0, N, 8)
    np.testing.assert_array_equal(out[N + slots], slots + 7)           # the last lane's id
    np.testing.assert_array_equal(out[2 * N:], (TABLE[PICK + 1] + TABLE[PICK + 2]) & 0xFFFFFFFF)


def test_flat_loads_of_global_memory(monkeypatch):
    body = GLOBAL_PROLOGUE + """
    v_add_co_u32 v4, vcc_lo, s4, v3
    v_add_co_ci_u32_e64 v5, null, s5, 0, vcc_lo
    flat_load_b32 v6, v[4:5] offset:4
    v_add_co_u32 v4, vcc_lo, s6, v2
    v_add_co_ci_u32_e64 v5, null, s7, 0, vcc_lo
    s_waitcnt vmcnt(0) lgkmcnt(0)
    flat_store_b32 v[4:5], v6
    """
    out = _global_both(body, TABLE, N, monkeypatch)
    np.testing.assert_array_equal(out, TABLE[PICK + 1])


def test_fast_global_paths_step_aside_for_faults_and_partial_waves():
    host = Host()
    src = host.upload(TABLE[:256])
    out = host.alloc(4 * N)
    body = GLOBAL_PROLOGUE + """
    v_cmp_gt_u32 vcc_lo, 200, v1             // a partial EXEC in the first waves
    s_and_saveexec_b32 s8, vcc_lo
    global_load_b32 v6, v2, s[4:5]
    s_or_b32 exec_lo, exec_lo, s8
    s_waitcnt vmcnt(0)
    global_store_b32 v2, v6, s[6:7]
    v_lshlrev_b32 v7, 1, v3
    global_load_b32 v7, v7, s[4:5]           // reaches past the table's page for some lanes
    """
    with pytest.raises(MemoryFault) as info:
        run_asm(body, args=u64s(src, out), grid=(N,), workgroup=(GROUP,), host=host)
    assert info.value.address >= src + 4096
    got = host.download(out, np.uint32, N)
    np.testing.assert_array_equal(got[:200], TABLE[:200])


def test_overlapping_multi_dword_stores_agree_with_lane_order(monkeypatch):
    """b64 / b128 stores whose lanes overlap by a dword: the fast paths must give what storing
    lane after lane gives."""
    lds_body = PROLOGUE + """
    v_add_nc_u32 v3, 0x100, v2               // a second dword per lane
    v_add_nc_u32 v4, 0x200, v2
    v_add_nc_u32 v5, 0x300, v2
    ds_store_b64 v1, v[2:3] offset:1024      // lane i: dwords 256 + i, 257 + i
    s_waitcnt lgkmcnt(0)
    s_barrier
    ds_load_b32 v6, v1 offset:1024
    s_waitcnt lgkmcnt(0)
    global_store_b32 v11, v6, s[4:5]
    """
    out = _both(lds_body, 1)
    lane = np.arange(GROUP)
    vals = _lds_values()[:, :GROUP]
    np.testing.assert_array_equal(out[0], vals[:, lane])       # lane i's first dword, stored last
    global_body = GLOBAL_PROLOGUE + """
    v_add_nc_u32 v4, 1, v1
    v_xor_b32 v5, 0x55, v1
    v_mul_u32_u24 v6, 7, v1
    v_add_nc_u32 v7, 0x3e8, v1
    global_store_b128 v2, v[4:7], s[6:7]     // 16 bytes at a 4-byte stride
    global_store_b64 v2, v[6:7], s[6:7] offset:2048
    """
    got = _global_run(global_body, TABLE, 2048, True, monkeypatch)
    want = _global_run(global_body, TABLE, 2048, False, monkeypatch)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got[:512], GID[:512] + 1)          # each lane's first dword, stored last
    np.testing.assert_array_equal(got[512:512 + N], GID * 7)


# ---------------------------------------------------------------------------------------------
# lanes that access one consecutive run of memory: a copy of the whole range

def test_consecutive_recognizes_exact_runs_only():
    ramp = np.arange(4096, dtype=np.uint32).reshape(128, 32)
    assert vmem.consecutive(ramp * 4 + 12, 4)
    assert vmem.consecutive(ramp * 8, 8)
    assert not vmem.consecutive(ramp * 4, 8)
    assert vmem.consecutive(np.array([[7]], np.uint32), 16)
    moved = ramp * 4
    moved[5, 3] += 4                          # one lane off, first and last as in a run
    assert not vmem.consecutive(moved, 4)
    swapped = ramp * 4
    swapped[0, [1, 2]] = swapped[0, [2, 1]]
    assert not vmem.consecutive(swapped, 4)
    wrapping = (ramp.astype(np.uint64) * 4 + (2**32 - 64)).astype(np.uint32)
    assert not vmem.consecutive(wrapping, 4)  # past 2**32: not one run of the low halves
    plus = ramp.astype(np.uint64) * 4 + 2**32 - 4 * ramp.size
    assert vmem.consecutive(plus.astype(np.uint32), 4)


CONSECUTIVE_PROLOGUE = """
    s_load_b128 s[4:7], s[0:1], 0x0          // s[4:5] table, s[6:7] out
    v_mad_u32_u24 v1, s2, 128, v0            // global id
    v_lshlrev_b32 v2, 2, v1
    v_lshlrev_b32 v3, 3, v1
    v_lshlrev_b32 v4, 4, v1
    s_waitcnt lgkmcnt(0)
"""


def _consecutive_both(body: str, table: np.ndarray, n_out: int, monkeypatch) -> np.ndarray:
    taken = []
    plain = vmem.dword_lanes
    monkeypatch.setattr(vmem, "dword_lanes", lambda *a: taken.append(plain(*a)) or taken[-1])
    fast = _global_run(body, table, n_out, True, monkeypatch)
    assert any(t is not None and t[1] is None for t in taken)
    general = _global_run(body, table, n_out, False, monkeypatch)
    np.testing.assert_array_equal(fast, general)
    return fast


def test_consecutive_loads_and_stores_of_every_width(monkeypatch):
    body = CONSECUTIVE_PROLOGUE + f"""
    v_add_co_u32 v10, vcc_lo, s4, v3
    v_add_co_ci_u32_e64 v11, null, s5, 0, vcc_lo
    global_load_b64 v[12:13], v[10:11], off offset:4     // 8 bytes a lane, 4-byte aligned
    global_load_b128 v[16:19], v4, s[4:5]
    global_load_b32 v14, v2, s[4:5] offset:4
    v_add_co_u32 v10, vcc_lo, s6, v4
    v_add_co_ci_u32_e64 v11, null, s7, 0, vcc_lo
    v_add_nc_u32 v5, {16 * N}, v3
    s_waitcnt vmcnt(0)
    v_add_nc_u32 v16, v16, v14
    global_store_b128 v[10:11], v[16:19], off
    global_store_b64 v5, v[12:13], s[6:7]
    """
    table = (np.arange(4 * N + 8, dtype=np.uint64) * 2654435761 & 0xFFFFFFFF).astype(np.uint32)
    out = _consecutive_both(body, table, 6 * N, monkeypatch)
    quads = out[:4 * N].reshape(N, 4)
    np.testing.assert_array_equal(quads[:, 0], table[0:4 * N:4] + table[1:N + 1])
    np.testing.assert_array_equal(quads[:, 1:], table[:4 * N].reshape(N, 4)[:, 1:])
    np.testing.assert_array_equal(out[4 * N:].reshape(N, 2), table[1:2 * N + 1].reshape(N, 2))


def test_consecutive_runs_step_aside_for_misalignment_and_partial_waves(monkeypatch):
    body = CONSECUTIVE_PROLOGUE + """
    v_add_nc_u32 v5, 2, v2                   // a run that starts two bytes into a dword
    global_load_b32 v6, v5, s[4:5]
    v_mov_b32 v7, 0                          // kept in the lanes EXEC leaves out
    v_cmp_gt_u32 vcc_lo, 200, v1             // a partial EXEC in the first waves
    s_and_saveexec_b32 s8, vcc_lo
    global_load_b32 v7, v2, s[4:5]
    s_or_b32 exec_lo, exec_lo, s8
    s_waitcnt vmcnt(0)
    global_store_b32 v2, v6, s[6:7]
    global_store_b32 v2, v7, s[6:7] offset:3072
    """
    table = (np.arange(N + 8, dtype=np.uint64) * 2654435761 & 0xFFFFFFFF).astype(np.uint32)
    out = _global_both(body, table, 2 * N, monkeypatch)
    shifted = (table[:N].astype(np.uint64) >> 16) | ((table[1:N + 1].astype(np.uint64) << 16) & 0xFFFF0000)
    np.testing.assert_array_equal(out[:N], shifted.astype(np.uint32))
    np.testing.assert_array_equal(out[N:N + 200], table[:200])


@pytest.mark.parametrize("store", [False, True])
def test_consecutive_run_into_an_unmapped_page_faults(store):
    host = Host()
    src = host.upload(np.arange(1024, dtype=np.uint32))           # one page
    start = 4096 - 2 * N                        # the second half of the lanes lies past it
    access = "global_store_b32 v5, v1, s[4:5]" if store else "global_load_b32 v6, v5, s[4:5]"
    body = CONSECUTIVE_PROLOGUE + f"v_add_nc_u32 v5, {start}, v2\n" + access
    with pytest.raises(MemoryFault) as info:
        run_asm(body, args=u64s(src, src), grid=(N,), workgroup=(GROUP,), host=host)
    assert info.value.address == src + 4096
    if store:                                   # nothing written before the fault
        np.testing.assert_array_equal(host.download(src, np.uint32, 1024), np.arange(1024))


# ---------------------------------------------------------------------------------------------
# scalar loads whose waves all use one base: one read for the group

SMEM_BODY = """
    s_load_b64 s[4:5], s[0:1], 0x0           // table + 16, the same for every wave
    s_lshl_b32 s8, s2, 2                     // a different base per workgroup
    s_waitcnt lgkmcnt(0)
    s_add_u32 s6, s4, s8
    s_addc_u32 s7, s5, 0
    s_load_b128 s[12:15], s[6:7], 0x4
    s_load_b64 s[16:17], s[4:5], -0x8        // before the base
    s_load_b32 s18, s[4:5], 0x1e             // an unaligned offset: the dword below
    s_load_b64 s[0:1], s[0:1], 0x8           // replaces its own base
    s_waitcnt lgkmcnt(0)
    v_lshlrev_b32 v1, 2, v0
    v_mad_u32_u24 v1, s2, 64 * 4 * 8, v1     // 8 dwords per work-item
"""


def _smem_run(fast: bool, monkeypatch):
    from isa.emu import scalar
    if not fast:
        monkeypatch.setattr(scalar, "shared_smem_address", lambda *a: None)
    taken = []
    plain = scalar.shared_smem_address
    monkeypatch.setattr(scalar, "shared_smem_address", lambda *a: taken.append(plain(*a)) or taken[-1])
    host = Host()
    table = (np.arange(64, dtype=np.uint64) * 2654435761 & 0xFFFFFFFF).astype(np.uint32)
    src = host.upload(table)
    out = host.alloc(4 * 8 * 64 * 4)
    stores = []
    for k, s in enumerate([12, 13, 14, 15, 16, 17, 18, 0]):
        stores += [f"v_mov_b32 v2, s{s}", f"global_store_b32 v1, v2, s[20:21] offset:{k * 256}"]
    body = SMEM_BODY + "s_mov_b64 s[20:21], s[0:1]\n" + "\n".join(stores)
    run_asm(body, args=u64s(src + 16, out), grid=(4 * 64,), workgroup=(64,), host=host)
    monkeypatch.undo()
    assert fast == any(t is not None for t in taken)
    return table, host.download(out, np.uint32, 8 * 64 * 4).reshape(4, 8, 64)


def test_shared_scalar_loads_agree_with_per_wave_loads(monkeypatch):
    table, fast = _smem_run(True, monkeypatch)
    _, general = _smem_run(False, monkeypatch)
    np.testing.assert_array_equal(fast, general)
    for wg in range(4):
        np.testing.assert_array_equal(fast[wg, :4, 0], table[4 + 1 + wg:4 + 1 + wg + 4])
    np.testing.assert_array_equal(fast[:, 4:6, :], np.broadcast_to(table[2:4, None], (4, 2, 64)))
    np.testing.assert_array_equal(fast[:, 6, :], table[4 + 7])


@pytest.mark.parametrize("load, offset, fault", [("s_load_b32 s6", -0x4, -4),
                                                  ("s_load_b128 s[8:11]", 4096 - 8, 4096)])
def test_shared_scalar_load_from_an_unmapped_address_faults(load, offset, fault):
    host = Host()
    src = host.upload(np.arange(16, dtype=np.uint32))            # one page
    with pytest.raises(MemoryFault) as info:
        run_asm(f"s_load_b64 s[4:5], s[0:1], 0x0\ns_waitcnt lgkmcnt(0)\n{load}, s[4:5], {offset}\n"
                "s_waitcnt lgkmcnt(0)", args=u64s(src), grid=(256,), workgroup=(64,), host=host)
    assert info.value.address == src + fault


# ---------------------------------------------------------------------------------------------
# SGPR operands the same in every wave reach the ALU as one value

SGPR_BODY = """
    s_load_b128 s[4:7], s[0:1], 0x0          // s[4:5] table, s[6:7] out
    v_mad_u32_u24 v1, s2, 128, v0            // global id
    v_lshlrev_b32 v2, 2, v1
    s_waitcnt lgkmcnt(0)
    global_load_b32 v3, v2, s[4:5]
    s_mov_b32 s8, 0x3f800001                 // the same in every wave
    s_mov_b32 s9, 0xfffffff0
    s_lshl_b32 s10, s2, 3                    // one value per workgroup
    s_waitcnt vmcnt(0)
    v_add_nc_u32 v10, s8, v3
    v_sub_nc_u32 v11, s10, v3
    v_mul_lo_u32 v12, v3, s9
    v_fma_f32 v13, s8, v3, s8
    v_add_nc_u16 v14, s9, v3
    v_cmp_gt_u32_e64 s11, s9, v3
    v_cndmask_b32_e64 v15, s10, v3, s11
    v_add_co_u32 v16, vcc_lo, s9, v3
    v_add_co_ci_u32_e64 v17, s12, s10, v3, vcc_lo
    v_mov_b32 v4, 0
    v_mad_u64_u32 v[18:19], null, s9, s8, v[3:4]
    v_mad_u64_u32 v[20:21], null, s10, s9, v[1:2]
    v_mov_b32 v22, s12
    v_mov_b32 v23, vcc_lo
"""


def _sgpr_run(uniform: bool, monkeypatch):
    from isa.emu import access
    if not uniform:
        monkeypatch.setattr(access, "sgpr_lanes", lambda v, lanes: np.repeat(v, lanes).reshape(v.size, lanes))
    host = Host()
    table = (np.arange(N + 8, dtype=np.uint64) * 2654435761 & 0xFFFFFFFF).astype(np.uint32)
    table[::7] = 0xFFFFFFFF
    src = host.upload(table)
    out = host.alloc(4 * N * 14)
    stores = []
    for k, r in enumerate(range(10, 24)):
        if k:
            stores.append(f"v_add_nc_u32 v2, {4 * N}, v2")
        stores.append(f"global_store_b32 v2, v{r}, s[6:7]")
    run_asm(SGPR_BODY + "\n".join(stores), args=u64s(src, out),
            grid=(N,), workgroup=(GROUP,), host=host)
    monkeypatch.undo()
    return host.download(out, np.uint32, N * 14).reshape(14, N)


def test_uniform_sgpr_operands_agree_with_repeated_ones(monkeypatch):
    fast = _sgpr_run(True, monkeypatch)
    general = _sgpr_run(False, monkeypatch)
    np.testing.assert_array_equal(fast, general)
    table = (np.arange(N, dtype=np.uint64) * 2654435761 & 0xFFFFFFFF).astype(np.uint32)
    table[::7] = 0xFFFFFFFF
    np.testing.assert_array_equal(fast[0], table + np.uint32(0x3F800001))
    s10 = (np.arange(N) // GROUP * 8).astype(np.uint64)
    np.testing.assert_array_equal(fast[1], s10.astype(np.uint32) - table)
    gid = np.arange(N, dtype=np.uint64)
    wide = s10 * np.uint64(0xFFFFFFF0) + (gid | (gid * np.uint64(4) << np.uint64(32)))
    np.testing.assert_array_equal(fast[10], (wide & np.uint64(0xFFFFFFFF)).astype(np.uint32))
    np.testing.assert_array_equal(fast[11], (wide >> np.uint64(32)).astype(np.uint32))
    carry = table.astype(np.uint64) + np.uint64(0xFFFFFFF0) > np.uint64(0xFFFFFFFF)
    np.testing.assert_array_equal(fast[7], (s10 + table + carry) & np.uint64(0xFFFFFFFF))
