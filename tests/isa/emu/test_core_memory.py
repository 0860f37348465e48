"""Memory in the core: PagedMemory, the conflict resolution of atomics, LDS (DS) instructions,
global / flat / scratch and buffer instructions."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_core_launch import run_asm, u64s
from test_core_valu import lanes

from isa.emu import Host, MemoryFault, PagedMemory
from isa.emu.atomics import Op, resolve
from isa.emu.lds import swizzle_lanes

rng = np.random.default_rng(5)
PAGE = 4096


# ---------------------------------------------------------------------------------------------
# PagedMemory

class FlatModel:
    """A dictionary of mapped bytes: the reference for PagedMemory."""

    def __init__(self):
        self.bytes = {}

    def map(self, address, data):
        for i, v in enumerate(data):
            self.bytes[address + i] = int(v)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_paged_memory_matches_a_byte_model(data):
    mem, model = PagedMemory(), FlatModel()
    starts = sorted(data.draw(st.sets(st.integers(0, 12), min_size=1, max_size=4)))
    for s in starts:
        pages = data.draw(st.integers(1, 2))
        if any(t in range(s + 1, s + pages) for t in starts):
            pages = 1
        if mem.mappings() and mem.mappings()[-1][1] > s * PAGE:
            continue
        buf = rng.integers(0, 256, pages * PAGE, dtype=np.uint8)
        mem.map(s * PAGE, buf.copy())
        model.map(s * PAGE, buf)
    nbytes = data.draw(st.sampled_from([1, 2, 4, 8, 12, 16]))
    addrs = np.array(data.draw(st.lists(st.integers(0, 14 * PAGE), min_size=1, max_size=20)), np.uint64)
    inside = all(all(int(a) + i in model.bytes for i in range(nbytes)) for a in addrs)
    if not inside:
        with pytest.raises(MemoryFault) as info:
            mem.read(addrs, nbytes)
        bad = info.value.address
        assert bad not in model.bytes and any(int(a) <= bad < int(a) + nbytes for a in addrs)
        return
    got = mem.read(addrs, nbytes)
    expect = np.array([[model.bytes[int(a) + i] for i in range(nbytes)] for a in addrs], np.uint8)
    np.testing.assert_array_equal(got, expect)
    values = rng.integers(0, 256, (addrs.size, nbytes), dtype=np.uint8)
    mem.write(addrs, values)
    for row, a in enumerate(addrs):                  # later rows win
        for i in range(nbytes):
            model.bytes[int(a) + i] = int(values[row, i])
    np.testing.assert_array_equal(mem.read(addrs, nbytes),
                                  [[model.bytes[int(a) + i] for i in range(nbytes)] for a in addrs])


def test_paged_memory_rules():
    mem = PagedMemory()
    with pytest.raises(ValueError):
        mem.map(100, np.zeros(PAGE, np.uint8))
    ro = mem.map(PAGE, np.arange(PAGE, dtype=np.uint8) & 0xFF, writable=False)
    with pytest.raises(ValueError):
        mem.map(0, np.zeros(2 * PAGE, np.uint8))             # overlap
    assert mem.read_bytes(PAGE + 3, 2) == bytes([3, 4])
    with pytest.raises(MemoryFault) as info:
        mem.write(np.array([PAGE + 8], np.uint64), np.zeros((1, 4), np.uint8))
    assert info.value.kind == "write" and info.value.address == PAGE + 8
    assert ro[8] == 8
    mem.unmap(PAGE)
    with pytest.raises(MemoryFault):
        mem.read_bytes(PAGE, 1)


# ---------------------------------------------------------------------------------------------
# atomics in order

OPS32 = ["add", "sub", "rsub", "csub", "min_i", "max_i", "min_u", "max_u", "and", "or", "xor", "inc", "dec",
         "swap", "cmpswap", "mskor", "wrap", "add_f", "min_f", "max_f"]


def sequential(op: Op, old, inv, data, data2):
    """One access after another in order, with the same step function."""
    mem = list(np.asarray(old, op.ut))
    rets = []
    for i, k in enumerate(inv):
        rets.append(mem[k])
        d2 = None if data2 is None else data2[i:i + 1]
        mem[k] = op.step(np.array([mem[k]], op.ut), data[i:i + 1], d2)[0]
    return np.array(rets, op.ut), np.array(mem, op.ut)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(OPS32), st.integers(1, 4), st.integers(1, 300), st.integers(0, 2**32 - 1))
def test_conflicting_atomics_equal_sequential_execution(name, keys, n, seed):
    r = np.random.default_rng(seed)
    op = Op(name, 32)
    inv = r.integers(0, keys, n)
    if name.endswith("_f"):
        pool = np.array([0.5, -0.0, 0.0, 1.5, -2.0, np.inf, np.nan, 3.25], np.float32).view(np.uint32)
        data, old = r.choice(pool, n), r.choice(pool, keys)
    else:
        data = r.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32) % r.choice([7, 2**32])
        old = r.integers(0, 2**32, keys, dtype=np.uint64).astype(np.uint32) % r.choice([7, 2**32])
    data2 = r.integers(0, 7, n).astype(np.uint32) if op.uses_data2 else None
    got = resolve(op, old, inv, data, data2)
    expect = sequential(op, old, inv, data, data2)
    np.testing.assert_array_equal(got[0], expect[0])
    np.testing.assert_array_equal(got[1], expect[1])


def test_a_long_run_on_one_address_is_resolved_exactly():
    op = Op("add_f", 32)
    data = rng.standard_normal(100_000).astype(np.float32)
    rets, final = resolve(op, np.zeros(1, np.uint32), np.zeros(data.size, np.int64), data.view(np.uint32))
    acc = np.add.accumulate(np.concatenate(([np.float32(0)], data)), dtype=np.float32)
    np.testing.assert_array_equal(rets.view(np.float32), acc[:-1])
    assert final.view(np.float32)[0] == acc[-1]


# ---------------------------------------------------------------------------------------------
# LDS

def test_lds_stores_and_loads_of_every_width():
    perm = rng.permutation(32).astype(np.uint32)
    vals = {r: rng.integers(0, 2**32, 32, dtype=np.uint64).astype(np.uint32) for r in range(1, 5)}
    body = """
        v_lshlrev_b32 v10, 4, v0
        v_lshlrev_b32 v11, 4, v9
        ds_store_b128 v10, v[1:4]
        s_waitcnt lgkmcnt(0)
        ds_load_b128 v[12:15], v11
        ds_load_b96 v[16:18], v11 offset:4
        ds_load_b64 v[20:21], v11 offset:8
        ds_load_b32 v22, v11 offset:12
        s_waitcnt lgkmcnt(0)
    """
    out = lanes(body, {**vals, 9: perm}, [12, 13, 14, 15, 16, 17, 18, 20, 21, 22], lds=1024)
    for i in range(4):
        np.testing.assert_array_equal(out[12 + i], vals[1 + i][perm])
    np.testing.assert_array_equal(out[16], vals[2][perm])
    np.testing.assert_array_equal(out[18], vals[4][perm])
    np.testing.assert_array_equal(out[20], vals[3][perm])
    np.testing.assert_array_equal(out[22], vals[4][perm])


def test_lds_sub_dword_and_d16_forms():
    v = rng.integers(0, 2**32, 32, dtype=np.uint64).astype(np.uint32)
    keep = rng.integers(0, 2**32, 32, dtype=np.uint64).astype(np.uint32)
    body = """
        v_lshlrev_b32 v10, 2, v0
        ds_store_b32 v10, v1
        s_waitcnt lgkmcnt(0)
        ds_load_i8 v3, v10 offset:1
        ds_load_u8 v4, v10 offset:1
        ds_load_i16 v5, v10 offset:2
        ds_load_u16 v6, v10 offset:2
        ds_load_u16_d16_hi v2, v10
        s_waitcnt lgkmcnt(0)
        ds_store_b8_d16_hi v10, v1 offset:128
        ds_store_b16 v10, v1 offset:130
        s_waitcnt lgkmcnt(0)
        ds_load_b32 v7, v10 offset:128
        s_waitcnt lgkmcnt(0)
    """
    out = lanes(body, {1: v, 2: keep}, [2, 3, 4, 5, 6, 7], lds=1024)
    byte1 = (v >> 8) & 0xFF
    np.testing.assert_array_equal(out[3], byte1.astype(np.uint8).view(np.int8).astype(np.int32).view(np.uint32))
    np.testing.assert_array_equal(out[4], byte1)
    np.testing.assert_array_equal(out[5], (v >> 16).astype(np.uint16).view(np.int16).astype(np.int32).view(np.uint32))
    np.testing.assert_array_equal(out[6], v >> 16)
    np.testing.assert_array_equal(out[2], ((v & 0xFFFF) << 16) | (keep & 0xFFFF))
    np.testing.assert_array_equal(out[7] & 0xFFFF00FF, ((v & 0xFFFF) << 16) | ((v >> 16) & 0xFF))


def test_lds_two_address_forms():
    a = np.arange(32, dtype=np.uint32) + 1000
    b = np.arange(32, dtype=np.uint32) + 2000
    body = """
        v_lshlrev_b32 v10, 2, v0
        ds_store_2addr_b32 v10, v1, v2 offset1:32
        ds_store_2addr_stride64_b32 v10, v2, v1 offset0:2 offset1:3
        s_waitcnt lgkmcnt(0)
        ds_load_2addr_b32 v[4:5], v10 offset1:32
        ds_load_2addr_stride64_b32 v[6:7], v10 offset0:2 offset1:3
        s_waitcnt lgkmcnt(0)
    """
    out = lanes(body, {1: a, 2: b}, [4, 5, 6, 7], lds=2048)
    for r, e in ((4, a), (5, b), (6, b), (7, a)):
        np.testing.assert_array_equal(out[r], e)


def test_lds_atomics_return_values_in_lane_order():
    data = np.arange(1, 33, dtype=np.uint32)
    body = """
        v_and_b32 v10, 3, v0
        v_lshlrev_b32 v10, 2, v10
        ds_add_rtn_u32 v2, v10, v1
        ds_max_rtn_i32 v3, v10, v1 offset:64
        v_lshrrev_b32 v13, 2, v0
        ds_cmpstore_rtn_b32 v4, v10, v1, v13 offset:128
        s_waitcnt lgkmcnt(0)
        ds_load_b32 v5, v10
        ds_load_b32 v6, v10 offset:128
        s_waitcnt lgkmcnt(0)
    """
    out = lanes(body, {1: data}, [2, 3, 4, 5, 6], lds=1024)
    sums = np.zeros(4, np.int64)
    expect_add, expect_max, expect_cas = [], [], []
    maxes = np.zeros(4, np.int64)
    cas = np.zeros(4, np.int64)
    for lane in range(32):
        k = lane & 3
        expect_add.append(sums[k])
        sums[k] += data[lane]
        expect_max.append(maxes[k])
        maxes[k] = max(maxes[k], data[lane])
        expect_cas.append(cas[k])
        cas[k] = data[lane] if cas[k] == lane >> 2 else cas[k]
    np.testing.assert_array_equal(out[2], expect_add)
    np.testing.assert_array_equal(out[3], expect_max)
    np.testing.assert_array_equal(out[4], expect_cas)
    np.testing.assert_array_equal(out[5], sums[np.arange(32) & 3])
    np.testing.assert_array_equal(out[6], cas[np.arange(32) & 3])


def test_lds_out_of_range_reads_zero_and_drops_writes():
    body = """
        v_mov_b32 v10, 0x10000
        v_mov_b32 v1, 77
        ds_store_b32 v10, v1
        ds_load_b32 v2, v10
        s_waitcnt lgkmcnt(0)
    """
    out = lanes(body, {}, [2], lds=512)
    assert (out[2] == 0).all()


@pytest.mark.parametrize("offset", [0x8000 | 0b00011011, 0x001F | (0x10 << 10), 0x001F ^ 0x1F | (0x03 << 5),
                                    0x0018 | (0x07 << 10), 0xC000 | (1 << 10) | (3 << 5), 0xC000 | (5 << 5),
                                    0xE000 | 0x3])
def test_ds_swizzle_modes(offset):
    src = np.arange(32, dtype=np.uint32) + 500
    out = lanes(f"ds_swizzle_b32 v2, v1 offset:{offset}\ns_waitcnt lgkmcnt(0)", {1: src}, [2])
    i = np.arange(32)
    if offset >= 0xE000:
        mask = offset & 0x1F
        j = np.array([int(f"{x:05b}"[::-1], 2) for x in i]) >> bin(mask).count("1") | (i & mask)
    elif offset >= 0xC000:
        n = (offset >> 5) & 0x1F
        j = (i - n) % 32 if (offset >> 10) & 1 else (i + n) % 32
    elif offset & 0x8000:
        j = (i & ~3) | ((offset >> (2 * (i & 3))) & 3)
    else:
        j = ((i & (offset & 0x1F)) | ((offset >> 5) & 0x1F)) ^ ((offset >> 10) & 0x1F)
    np.testing.assert_array_equal(out[2], src[j])
    np.testing.assert_array_equal(swizzle_lanes(offset, 32), j)


def test_ds_permute_and_bpermute():
    src = np.arange(32, dtype=np.uint32) + 100
    target = rng.permutation(32).astype(np.uint32)
    body = """
        v_lshlrev_b32 v10, 2, v9
        ds_bpermute_b32 v2, v10, v1
        ds_permute_b32 v3, v10, v1
        s_waitcnt lgkmcnt(0)
    """
    out = lanes(body, {1: src, 9: target}, [2, 3])
    np.testing.assert_array_equal(out[2], src[target])
    expect = np.zeros(32, np.uint32)
    expect[target] = src
    np.testing.assert_array_equal(out[3], expect)


def test_ds_append_counts_active_lanes_per_wave():
    host = Host()
    out = host.alloc(4 * 128)
    body = """
        s_load_b64 s[2:3], s[0:1], 0x0
        v_and_b32 v3, 31, v0
        v_cmp_gt_u32 vcc_lo, 20, v3
        s_and_saveexec_b32 s4, vcc_lo
        s_mov_b32 m0, 16
        ds_append v1
        s_waitcnt lgkmcnt(0)
        s_or_b32 exec_lo, exec_lo, s4
        v_lshlrev_b32 v2, 2, v0
        s_waitcnt lgkmcnt(0)
        global_store_b32 v2, v1, s[2:3]
    """
    run_asm(body, args=u64s(out), grid=(128,), workgroup=(128,), lds=256, host=host)
    got = host.download(out, np.uint32, 128)
    # waves 0..3 (of one workgroup) each add their 20 active lanes: each sees the count before it
    for w in range(4):
        assert (got[w * 32:w * 32 + 20] == 20 * w).all()


# ---------------------------------------------------------------------------------------------
# global, flat, scratch

def _buffer(host: Host, values) -> int:
    return host.upload(np.asarray(values))


def test_global_loads_and_stores_with_both_address_forms():
    host = Host()
    data = rng.integers(0, 2**32, 256, dtype=np.uint64).astype(np.uint32)
    src = _buffer(host, data)
    dst = host.alloc(4 * 256)
    body = f"""
        s_mov_b32 s8, 0x{src & 0xFFFFFFFF:x}
        s_mov_b32 s9, 0x{src >> 32:x}
        s_mov_b32 s10, 0x{dst & 0xFFFFFFFF:x}
        s_mov_b32 s11, 0x{dst >> 32:x}
        v_lshlrev_b32 v10, 4, v0
        global_load_b128 v[12:15], v10, s[8:9] offset:-16
        v_add_co_u32 v20, vcc_lo, s8, v10
        v_add_co_ci_u32_e64 v21, null, s9, 0, vcc_lo
        global_load_b64 v[16:17], v[20:21], off offset:8
        global_load_u16 v18, v[20:21], off offset:2
        global_load_d16_hi_i8 v18, v[20:21], off offset:7
        s_waitcnt vmcnt(0)
        global_store_b128 v10, v[12:15], s[10:11]
        global_store_d16_hi_b16 v10, v18, s[10:11] offset:2
    """
    lane = np.arange(32)
    with pytest.raises(MemoryFault):
        lanes(body, {}, [12], host=host)                    # lane 0 reads 16 bytes before the buffer
    body = body.replace("offset:-16", "offset:16")
    out = lanes(body, {}, [12, 16, 17, 18], host=host)
    w = data.reshape(-1, 4)
    np.testing.assert_array_equal(out[12], w[lane + 1, 0])
    np.testing.assert_array_equal(out[16], w[lane, 2])
    np.testing.assert_array_equal(out[17], w[lane, 3])
    byte7 = (w[lane, 1] >> 24).astype(np.uint8).view(np.int8).astype(np.int32)
    np.testing.assert_array_equal(out[18], ((byte7 & 0xFFFF).astype(np.uint32) << 16) | (w[lane, 0] >> 16))
    stored = host.download(dst, np.uint32, 128).reshape(32, 4)
    np.testing.assert_array_equal(stored[:, 0], (w[lane + 1, 0] & 0xFFFF) | (out[18] & 0xFFFF0000))
    np.testing.assert_array_equal(stored[:, 1:], w[lane + 1, 1:])


def test_global_atomics_64_bit():
    host = Host()
    counters = _buffer(host, np.array([10, 0, 2**64 - 1, 7], np.uint64))
    body = f"""
        s_mov_b32 s8, 0x{counters & 0xFFFFFFFF:x}
        s_mov_b32 s9, 0x{counters >> 32:x}
        v_mov_b32 v10, 0
        v_mov_b32 v2, 0
        global_atomic_add_u64 v[4:5], v10, v[1:2], s[8:9] glc
        global_atomic_add_u64 v10, v[1:2], s[8:9] offset:16
        v_add_nc_u32 v12, 100, v0
        v_mov_b32 v13, 0
        v_mov_b32 v14, 7
        v_mov_b32 v15, 0
        global_atomic_cmpswap_b64 v[6:7], v10, v[12:15], s[8:9] offset:24 glc
        s_waitcnt vmcnt(0)
    """
    out = lanes(body, {1: np.arange(1, 33, dtype=np.uint32)}, [4, 5, 6, 7], host=host)
    prefix = 10 + np.concatenate(([0], np.cumsum(np.arange(1, 33))[:-1]))
    np.testing.assert_array_equal(out[4].astype(np.uint64) | (out[5].astype(np.uint64) << 32), prefix)
    np.testing.assert_array_equal(out[6], np.where(np.arange(32) == 0, 7, 100))
    assert (out[7] == 0).all()
    final = host.download(counters, np.uint64, 4)
    assert list(final) == [10 + 528, 0, 527, 100]


def test_float_atomics_on_global_memory():
    host = Host()
    cells = _buffer(host, np.array([0.0, np.inf, -np.inf], np.float32))
    vals = rng.standard_normal(32).astype(np.float32)
    body = f"""
        s_mov_b32 s8, 0x{cells & 0xFFFFFFFF:x}
        s_mov_b32 s9, 0x{cells >> 32:x}
        v_mov_b32 v10, 0
        global_atomic_add_f32 v10, v1, s[8:9]
        global_atomic_min_f32 v10, v1, s[8:9] offset:4
        global_atomic_max_f32 v10, v1, s[8:9] offset:8
        s_waitcnt vmcnt(0)
    """
    lanes(body, {1: vals}, [1], host=host)
    got = host.download(cells, np.float32, 3)
    assert got[0] == np.add.accumulate(vals, dtype=np.float32)[-1]
    assert got[1] == vals.min() and got[2] == vals.max()


def test_scratch_is_private_per_lane_and_swizzled():
    host = Host()
    body = """
        v_mul_u32_u24 v1, 3, v0
        scratch_store_b32 off, v1, off offset:8
        v_add_nc_u32 v2, 1000, v0
        v_mov_b32 v11, 12
        scratch_store_b64 v11, v[1:2], off
        s_waitcnt_vscnt null, 0
        scratch_load_b32 v3, off, off offset:8
        scratch_load_b32 v4, off, off offset:16
        s_waitcnt vmcnt(0)
    """
    out = lanes(body, {}, [3, 4], host=host, private=64, scratch=64 * 32)
    np.testing.assert_array_equal(out[3], 3 * np.arange(32))
    np.testing.assert_array_equal(out[4], 1000 + np.arange(32))


def test_flat_addresses_route_to_lds_scratch_and_global_memory():
    host = Host()
    glob = _buffer(host, np.arange(32, dtype=np.uint32) + 7000)
    body = """
        s_mov_b64 s[8:9], src_shared_base
        s_mov_b64 s[10:11], src_private_base
        v_lshlrev_b32 v10, 2, v0
        ds_store_b32 v10, v0 offset:256
        scratch_store_b32 off, v0, off offset:4
        s_waitcnt lgkmcnt(0)
        s_waitcnt_vscnt null, 0
        v_and_b32 v12, 1, v0
        v_cmp_eq_u32 vcc_lo, 0, v12
        v_add_nc_u32 v13, 256, v10
        v_mov_b32 v18, 4
        v_cndmask_b32 v14, v18, v13, vcc_lo
        v_mov_b32 v19, s11
        v_mov_b32 v20, s9
        v_cndmask_b32 v15, v19, v20, vcc_lo
        v_cmp_gt_u32 vcc_lo, 8, v0
        v_add_co_u32 v16, s12, s30, v10
        v_add_co_ci_u32_e64 v17, null, s31, 0, s12
        v_cndmask_b32 v14, v14, v16, vcc_lo
        v_cndmask_b32 v15, v15, v17, vcc_lo
        flat_load_b32 v2, v[14:15]
        s_waitcnt vmcnt(0) lgkmcnt(0)
    """
    out = lanes(body, {}, [2], host=host, private=16, scratch=16 * 32, lds=512,
                sgprs={30: glob & 0xFFFFFFFF, 31: glob >> 32})
    lane = np.arange(32)
    np.testing.assert_array_equal(out[2], np.where(lane < 8, 7000 + lane, lane))


# ---------------------------------------------------------------------------------------------
# buffer resources

def _resource(base: int, num_records: int, stride: int = 0, swizzle: int = 0, add_tid: bool = False,
              oob: int = 3, index_stride: int = 2) -> dict[int, int]:
    return {12: base & 0xFFFFFFFF, 13: ((base >> 32) & 0xFFFF) | (stride << 16) | (swizzle << 30),
            14: num_records, 15: (index_stride << 21) | (int(add_tid) << 23) | (oob << 28)}


def test_raw_buffer_loads_respect_num_records():
    host = Host()
    data = np.arange(64, dtype=np.uint32) + 9000
    base = _buffer(host, data)
    body = """
        v_lshlrev_b32 v10, 2, v0
        buffer_load_b32 v2, v10, s[12:15], 0 offen offset:4
        buffer_load_b64 v[3:4], v10, s[12:15], s20 offen
        s_waitcnt vmcnt(0)
    """
    out = lanes(body, {}, [2, 3, 4], host=host, sgprs={**_resource(base, 80), 20: 8})
    lane = np.arange(32)
    np.testing.assert_array_equal(out[2], np.where(4 * lane + 4 < 80, data[lane + 1], 0))
    # the SGPR offset moves the access but is not part of the range check
    np.testing.assert_array_equal(out[3], np.where(4 * lane < 80, data[lane + 2], 0))
    np.testing.assert_array_equal(out[4], np.where(4 * lane + 4 < 80, data[lane + 3], 0))


def test_structured_buffer_with_index_and_stride():
    host = Host()
    data = np.arange(128, dtype=np.uint32)
    base = _buffer(host, data)
    body = """
        buffer_load_b32 v2, v0, s[12:15], 0 idxen offset:8
        buffer_store_b32 v0, v0, s[12:15], 0 idxen offset:4
        s_waitcnt vmcnt(0)
    """
    out = lanes(body, {}, [2], host=host, sgprs=_resource(base, 20, stride=16, oob=1))
    lane = np.arange(32)
    np.testing.assert_array_equal(out[2], np.where(lane < 20, data[4 * lane + 2], 0))
    stored = host.download(base, np.uint32, 128).reshape(32, 4)
    np.testing.assert_array_equal(stored[:20, 1], lane[:20])
    np.testing.assert_array_equal(stored[20:, 1], data.reshape(32, 4)[20:, 1])


def test_swizzled_buffer_matches_the_scratch_layout():
    host = Host()
    base = host.alloc(4096)
    body = """
        v_add_nc_u32 v1, 100, v0
        buffer_store_b32 v1, off, s[12:15], 0 offset:8
        s_waitcnt_vscnt null, 0
    """
    lanes(body, {}, [1], host=host, sgprs=_resource(base, 0xFFFFFFFF, swizzle=1, add_tid=True))
    # dword 2 of lane l lives at (2 * 32 + l) * 4
    np.testing.assert_array_equal(host.download(base, np.uint32, 128)[64:96], 100 + np.arange(32))


def test_lds_float_atomics():
    vals = rng.standard_normal(32).astype(np.float32)
    body = """
        v_mov_b32 v10, 0
        v_mov_b32 v11, 0x7f800000
        ds_store_2addr_b32 v10, v10, v11 offset1:1
        s_waitcnt lgkmcnt(0)
        ds_add_f32 v10, v1
        ds_min_rtn_f32 v2, v10, v1 offset:4
        s_waitcnt lgkmcnt(0)
        ds_load_2addr_b32 v[3:4], v10 offset1:1
        s_waitcnt lgkmcnt(0)
    """
    out = lanes(body, {1: vals}, [2, 3, 4], lds=512)
    assert out[3][0].view(np.float32) == np.add.accumulate(vals, dtype=np.float32)[-1]
    assert out[4][0].view(np.float32) == vals.min()
    np.testing.assert_array_equal(out[2].view(np.float32), np.minimum.accumulate(np.concatenate(([np.inf], vals)),
                                                                                 dtype=np.float32)[:-1])


def test_buffer_atomics_return_pre_values():
    host = Host()
    base = _buffer(host, np.array([5, 0], np.uint32))
    body = """
        v_mov_b32 v10, 0
        buffer_atomic_add_u32 v1, v10, s[12:15], 0 offen glc
        v_mov_b32 v11, 4
        buffer_atomic_max_u32 v2, v11, s[12:15], 0 offen
        s_waitcnt vmcnt(0)
    """
    data = np.arange(1, 33, dtype=np.uint32)
    out = lanes(body, {1: data, 2: data * 3}, [1], host=host, sgprs=_resource(base, 8))
    np.testing.assert_array_equal(out[1], 5 + np.concatenate(([0], np.cumsum(data)[:-1])))
    assert list(host.download(base, np.uint32, 2)) == [5 + 528, 96]


def test_private_segment_buffer_and_flat_scratch_agree():
    host = Host()
    out = host.alloc(4 * 64)
    # s[0:3] private segment buffer, s[4:5] kernarg, s6 workgroup id x, s7 the wave's scratch offset
    body = """
        s_load_b64 s[8:9], s[4:5], 0x0
        v_add_nc_u32 v1, 500, v0
        s_lshl_b32 s10, s6, 10
        v_add_nc_u32 v1, s10, v1
        buffer_store_b32 v1, off, s[0:3], s7 offset:12
        s_waitcnt_vscnt null, 0
        scratch_load_b32 v2, off, off offset:12
        v_lshlrev_b32 v3, 2, v0
        s_lshl_b32 s11, s6, 7
        v_add_nc_u32 v3, s11, v3
        s_waitcnt vmcnt(0) lgkmcnt(0)
        global_store_b32 v3, v2, s[8:9]
    """
    run_asm(body, args=u64s(out), grid=(64,), workgroup=(32,), user_sgprs=6, host=host, private=16,
            scratch=16 * 64, enable_sgpr_private_segment_buffer=1)
    got = host.download(out, np.uint32, 64)
    np.testing.assert_array_equal(got, 500 + np.arange(64) % 32 + (np.arange(64) // 32) * 1024)
