"""Lane-affine VGPRs held per wave (isa.emu.lazy) against the per-lane paths: random index
arithmetic runs once with holding allowed and once with it off, and every register, mask and
loaded value must agree bit for bit; the Affine helpers are checked against numpy on the
materialized lanes."""

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_core_launch import run_asm, u64s

from isa.emu import Host, lazy
from isa.emu.lazy import Affine

pytestmark = pytest.mark.llvm

EDGES = [0, 1, 2, 31, 32, 0x3FF, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFE0, 0xFFFFFFFF, 0x10000, 0xFFFF]
u32s = st.one_of(st.sampled_from(EDGES), st.integers(0, 0xFFFFFFFF), st.integers(0, 4096))

WORK = range(1, 9)                  # the registers the random code computes in
SGPRS = [f"s{i}" for i in range(8, 16)] + ["s2"]     # kernel arguments and the workgroup id


def _operand(draw, vgpr_ok=True, const_ok=True):
    kinds = ["v"] * vgpr_ok + ["s", "c"] if const_ok else ["v"] * vgpr_ok + ["s"]
    kind = draw(st.sampled_from(kinds))
    if kind == "v":
        return f"v{draw(st.sampled_from([0, *WORK]))}"
    if kind == "s":
        return draw(st.sampled_from(SGPRS))
    return str(draw(st.sampled_from([0, 1, 2, 4, 16, 64, -1, -16, 0x3FF, 0x12345678])))


def _scalar_cost(operands) -> int:
    """Constant bus reads of the operands (distinct SGPRs and literals)."""
    regs = {o for o in operands if o.startswith("s")}
    literals = {o for o in operands if not o.startswith(("s", "v")) and not -16 <= int(o) <= 64}
    return len(regs) + len(literals) * 2        # a second literal is never allowed


def _sources(draw, count: int, budget: int = 2, vgpr_last: bool = False):
    """`count` source operands within gfx11's constant bus (two scalar values per VALU op)."""
    while True:
        ops = [_operand(draw) for _ in range(count - 1)] + [_v(draw) if vgpr_last else _operand(draw)]
        if _scalar_cost(ops) <= budget:
            return ops


def _v(draw):
    return f"v{draw(st.sampled_from([0, *WORK]))}"


def _dst(draw):
    return draw(st.sampled_from(WORK))


@st.composite
def index_code(draw):
    lines = []
    for _ in range(draw(st.integers(3, 14))):
        op = draw(st.sampled_from(["add", "sub", "subrev", "mul", "shl", "shr", "ashr", "and", "bfe", "lshl_add",
                                   "add3", "co", "co3", "mad64", "shl64", "cmp", "mov", "xor", "cmpx",
                                   "lds_st", "lds_ld", "lds_ld2", "gload"]))
        d = _dst(draw)
        k = draw(st.integers(0, 31))
        if op in ("add", "sub", "subrev"):
            lines.append(f"v_{op}_nc_u32 v{d}, {_operand(draw)}, {_v(draw)}")
        elif op == "mul":
            a, b = _sources(draw, 2)
            lines.append(f"v_mul_lo_u32 v{d}, {a}, {b}")
        elif op in ("shl", "shr", "ashr"):
            name = {"shl": "v_lshlrev_b32", "shr": "v_lshrrev_b32", "ashr": "v_ashrrev_i32"}[op]
            lines.append(f"{name} v{d}, {k}, {_v(draw)}")
        elif op == "and":
            lines.append(f"v_and_b32 v{d}, {draw(st.sampled_from([0x3FF, 0xFF, 0xFFFF0000, 31, -4]))}, {_v(draw)}")
        elif op == "bfe":
            lines.append(f"v_bfe_u32 v{d}, {_v(draw)}, {k}, {draw(st.integers(0, 31))}")
        elif op == "lshl_add":
            a, b = _sources(draw, 2)
            lines.append(f"v_lshl_add_u32 v{d}, {a}, {k}, {b}")
        elif op == "add3":
            a, b, c = _sources(draw, 3)
            lines.append(f"v_add3_u32 v{d}, {a}, {b}, {c}")
        elif op == "co":
            e = _dst(draw)
            lines.append(f"v_add_co_u32 v{d}, vcc_lo, {_operand(draw)}, {_v(draw)}")
            lines.append(f"v_add_co_ci_u32_e32 v{e}, vcc_lo, {_operand(draw, const_ok=False)}, {_v(draw)}, vcc_lo")
        elif op == "co3":
            e = _dst(draw)
            a, b = _sources(draw, 2)
            lines.append(f"v_add_co_u32 v{d}, s20, {a}, {b}")
            a, b = _sources(draw, 2, budget=1)                   # the carry in is the other
            lines.append(f"v_add_co_ci_u32_e64 v{e}, s21, {a}, {b}, s20")
        elif op == "mad64":
            c = draw(st.sampled_from([0, *WORK]))
            d = min(d, 7)
            a, b = _sources(draw, 2)
            lines.append(f"v_mad_u64_u32 v[{d}:{d + 1}], null, {a}, {b}, v[{c}:{c + 1}]")
        elif op == "shl64":
            c = draw(st.sampled_from([0, *WORK]))
            d = min(d, 7)
            lines.append(f"v_lshlrev_b64 v[{d}:{d + 1}], {draw(st.integers(0, 63))}, v[{c}:{c + 1}]")
        elif op in ("cmp", "cmpx"):
            pred = draw(st.sampled_from(["lt", "le", "gt", "ge", "eq", "ne"]))
            kind = draw(st.sampled_from(["i32", "u32"]))
            a, b = _operand(draw), _v(draw)
            if op == "cmpx":
                lines.append(f"v_cmpx_{pred}_{kind} {a}, {b}")
                lines.append(f"v_add_nc_u32 v{d}, 7, {_v(draw)}")      # under the new EXEC
                lines.append("s_mov_b32 exec_lo, -1")
            else:
                dest = draw(st.sampled_from(["vcc_lo", "s22"]))
                form = "_e64" if dest != "vcc_lo" or draw(st.booleans()) else ""
                lines.append(f"v_cmp_{pred}_{kind}{form} {dest}, {a}, {b}")
                lines.append(f"v_cndmask_b32_e64 v{d}, {_v(draw)}, {_v(draw)}, {dest}")
        elif op.startswith("lds"):
            # mostly an aligned address inside the allocation (the fast paths), sometimes any
            a = _dst(draw)
            if draw(st.integers(0, 3)):
                lines.append(f"v_lshlrev_b32 v{a}, 2, {draw(st.sampled_from(['v0', _v(draw)]))}")
                lines.append(f"v_and_b32 v{a}, 0x3fc, v{a}")
            offset = draw(st.sampled_from([0, 4, 6]))
            if op == "lds_st":
                lines.append(f"ds_store_b32 v{a}, {_v(draw)} offset:{offset}")
            elif op == "lds_ld":
                lines.append(f"ds_load_b32 v{draw(st.sampled_from([a, d]))}, v{a} offset:{offset}")
            else:
                d = min(draw(st.sampled_from([a, d])), 7)
                lines.append(f"ds_load_2addr_b32 v[{d}:{d + 1}], v{a} offset1:{draw(st.integers(1, 9))}")
            lines.append("s_waitcnt lgkmcnt(0)")
        elif op == "gload":                               # a gather from `in` (4 * 128 bytes at least)
            a = _dst(draw)
            lines.append(f"v_lshlrev_b32 v{a}, 2, {draw(st.sampled_from(['v0', _v(draw)]))}")
            lines.append(f"v_and_b32 v{a}, {draw(st.sampled_from([0x1fc, 0x1f0, 0x3c]))}, v{a}")
            lines.append(f"global_load_b32 v{draw(st.sampled_from([a, d]))}, v{a}, s[6:7]")
            lines.append("s_waitcnt vmcnt(0)")
        elif op == "mov":
            lines.append(f"v_mov_b32 v{d}, {_operand(draw)}")
        else:                                             # a per-lane op in between
            lines.append(f"v_xor_b32 v{d}, {_operand(draw)}, {_v(draw)}")
    return lines


PROLOGUE = """
    s_load_b128 s[4:7], s[0:1], 0x0          // out, in
    s_load_b256 s[8:15], s[0:1], 0x10        // eight argument values
    s_waitcnt lgkmcnt(0)
"""


REGS = [f"v{i}" for i in range(9)] + ["v45", "v46", "v47", "v48"]   # v45..v48: VCC, s20, s21, s22


def _epilogue(group: int, n: int) -> str:
    """Stores v0..v8, VCC and s20..s22 of every work-item at out[reg * n + global id]."""
    stores = "".join(f"""
    s_add_u32 s40, s4, {4 * n * k}
    s_addc_u32 s41, s5, 0
    global_store_b32 v40, {reg}, s[40:41]""" for k, reg in enumerate(REGS))
    return f"""
    s_mov_b32 exec_lo, -1
    v_mov_b32_e32 v45, vcc_lo
    v_mov_b32_e32 v46, s20
    v_mov_b32_e32 v47, s21
    v_mov_b32_e32 v48, s22
    s_mov_b32 s34, 0x3ff
    v_and_b32_e64 v44, v0, s34
    v_mad_u32_u24 v40, s2, {group}, v44
    v_lshlrev_b32_e32 v40, 2, v40""" + stores


# (workgroups, work-items per workgroup, layout): "1d"; "2d" (16 x group / 16, v0 = x | y << 10,
# where the epilogue's index repeats: the last store wins in both runs alike); "partial" (the
# last workgroup is 5 work-items short: its v0 is not held)
SHAPES = [(3, 64, "1d"), (2, 128, "1d"), (4, 32, "1d"), (3, 64, "2d"), (3, 64, "partial")]


def _run(lines, args, groups: int, group: int, layout: str, lazy_on: bool, monkeypatch):
    monkeypatch.setenv("AMDRT_EMU_LAZY", "1" if lazy_on else "0")
    n = groups * group
    epilogue, words = _epilogue(group, n), len(REGS)
    host = Host()
    out = host.alloc(4 * n * words)
    src = host.upload(np.arange(n, dtype=np.uint32) * 3)
    body = PROLOGUE + "\n".join(lines) + epilogue
    if layout == "2d":
        launch = {"grid": (16, n // 16), "workgroup": (16, group // 16), "workitem_dims": 1}
    else:
        launch = {"grid": (n - 5 if layout == "partial" else n,), "workgroup": (group,)}
    run_asm(body, args=u64s(out, src) + b"".join(int(a).to_bytes(4, "little") for a in args), host=host,
            lds=1024, **launch)
    return host.download(out, np.uint32, n * words).reshape(words, n)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(code=index_code(), args=st.lists(u32s, min_size=8, max_size=8), shape=st.sampled_from(SHAPES))
@example(code=["v_mad_u64_u32 v[3:4], null, v0, v1, v[1:2]", "v_lshlrev_b32 v1, 2, v3", "v_and_b32 v1, 508, v1",
               "global_load_b32 v1, v1, s[6:7]", "s_waitcnt vmcnt(0)"], args=[0] * 8, shape=(3, 64, "1d"))
def test_held_index_arithmetic_matches_the_per_lane_paths(code, args, shape, monkeypatch):
    held = _run(code, args, *shape, True, monkeypatch)
    plain = _run(code, args, *shape, False, monkeypatch)
    np.testing.assert_array_equal(held, plain, err_msg="\n".join(code))


def test_index_arithmetic_is_held_and_loads_become_one_copy(monkeypatch):
    """clang's a[i] + b[i] address pattern: the address registers stay held from v0 to the
    loads, and each load and the store take the consecutive-run path."""
    held, runs = [], []
    put, affine_run = lazy.put, __import__("isa.emu.vmem", fromlist=["_affine_run"])._affine_run
    monkeypatch.setattr(lazy, "put", lambda b, g, r, v: held.append(r) or put(b, g, r, v))
    vmem = __import__("isa.emu.vmem", fromlist=["vmem"])
    monkeypatch.setattr(vmem, "_affine_run", lambda *a: runs.append(affine_run(*a)) or runs[-1])
    n = 4 * 256
    host = Host()
    a = np.arange(n, dtype=np.float32)
    pa, pc = host.upload(a), host.alloc(4 * n)
    body = """
    s_load_b128 s[4:7], s[0:1], 0x0
    v_mad_u64_u32 v[1:2], null, s2, 256, v[0:1]
    v_ashrrev_i32_e32 v2, 31, v1
    v_lshlrev_b64 v[1:2], 2, v[1:2]
    s_waitcnt lgkmcnt(0)
    v_add_co_u32 v3, vcc_lo, s4, v1
    v_add_co_ci_u32_e32 v4, vcc_lo, s5, v2, vcc_lo
    global_load_b32 v5, v[3:4], off
    v_add_co_u32 v3, vcc_lo, s6, v1
    v_add_co_ci_u32_e32 v4, vcc_lo, s7, v2, vcc_lo
    s_waitcnt vmcnt(0)
    v_add_f32_e32 v5, v5, v5
    global_store_b32 v[3:4], v5, off
    """
    run_asm(body, args=u64s(pa, pc), grid=(n,), workgroup=(256,), host=host)
    np.testing.assert_array_equal(host.download(pc, np.float32, n), a + a)
    assert {1, 2, 3, 4} <= set(held)
    assert len(runs) == 2 and all(r is not None for r in runs)


@settings(max_examples=300, deadline=None)
@given(base=st.lists(u32s, min_size=1, max_size=6), pattern=st.sampled_from(["ramp", "ramp4", "tile", "zero"]),
       other=u32s, k=st.integers(0, 31), cin=st.integers(0, 1))
def test_affine_helpers_match_numpy_on_the_lanes(base, pattern, other, k, cin):
    L = 32
    lanes = {"ramp": np.arange(L), "ramp4": 4 * np.arange(L), "tile": (np.arange(L) % 16) | ((np.arange(L) // 16) << 10),
             "zero": None}[pattern]
    x = Affine(np.array(base, np.uint32), lanes)
    n = len(base)
    rows = x.rows(n, L).astype(np.int64)
    y = Affine(other)
    carry = lazy.add_carry(x, y, cin, n)
    if carry is not None:
        expect = rows + other + cin > 0xFFFFFFFF
        np.testing.assert_array_equal(np.broadcast_to(np.asarray(carry).reshape(-1, 1) if np.ndim(carry) else carry,
                                                      (n, L)), expect)
    total = lazy.add(x, y, cin).rows(n, L).astype(np.int64)
    np.testing.assert_array_equal(total, (rows + other + cin) & 0xFFFFFFFF)
    np.testing.assert_array_equal(lazy.neg(x).rows(n, L).astype(np.int64), (-rows) & 0xFFFFFFFF)
    np.testing.assert_array_equal(lazy.scale(x, other).rows(n, L).astype(np.int64), (rows * other) & 0xFFFFFFFF)
    for arithmetic in (False, True):
        shifted = lazy.shift_right(x, k, arithmetic)
        if shifted is not None:
            want = (rows.astype(np.uint32).view(np.int32) >> k).view(np.uint32) if arithmetic else rows >> k
            np.testing.assert_array_equal(shifted.rows(n, L), want)
    masked = lazy.mask(x, other)
    if masked is not None:
        np.testing.assert_array_equal(masked.rows(n, L).astype(np.int64), rows & other)
    small = lazy.SMALL_GROUP_LANES
    for lane_by_lane in (True, False):            # small groups compare lanes; large ones waves
        lazy.SMALL_GROUP_LANES = n * L if lane_by_lane else 0
        try:
            for name, pred in lazy.PREDICATES.items():
                for signed in (False, True):
                    got = lazy.compare(pred, x, y, signed, n, L)
                    if got is None:
                        continue
                    a = rows.astype(np.uint32).view(np.int32) if signed else rows
                    b = np.int64(np.uint32(other).view(np.int32)) if signed else other
                    np.testing.assert_array_equal(np.broadcast_to(got, (n, L)), pred(a, b), err_msg=name)
        finally:
            lazy.SMALL_GROUP_LANES = small


@pytest.mark.parametrize("lazy_on", [True, False])
def test_waves_split_by_a_branch_use_held_addresses_of_the_whole_batch(lazy_on, monkeypatch):
    """Odd and even waves take different paths (groups that are not one run of waves), each
    loading and storing through addresses held for all waves before the branch."""
    monkeypatch.setenv("AMDRT_EMU_LAZY", "1" if lazy_on else "0")
    n = 4 * 128
    host = Host()
    a = np.arange(n, dtype=np.uint32) * 7
    pa, pc = host.upload(a), host.alloc(4 * n)
    body = """
    s_load_b128 s[4:7], s[0:1], 0x0
    v_lshl_add_u32 v1, s2, 7, v0             // global index
    v_lshlrev_b32 v1, 2, v1
    s_waitcnt lgkmcnt(0)
    v_add_co_u32 v2, vcc_lo, s4, v1
    v_add_co_ci_u32_e64 v3, vcc_lo, s5, 0, vcc_lo
    v_add_co_u32 v4, vcc_lo, s6, v1
    v_add_co_ci_u32_e64 v5, vcc_lo, s7, 0, vcc_lo
    v_readfirstlane_b32 s8, v0
    s_bitcmp1_b32 s8, 5                      // odd wave of the workgroup
    s_cbranch_scc1 odd
    global_load_b32 v6, v[2:3], off
    s_waitcnt vmcnt(0)
    v_add_nc_u32 v6, 1, v6
    global_store_b32 v[4:5], v6, off
    s_branch done
odd:
    global_load_b32 v6, v[2:3], off
    s_waitcnt vmcnt(0)
    v_add_nc_u32 v6, 2, v6
    global_store_b32 v[4:5], v6, off
done:
    """
    run_asm(body, args=u64s(pa, pc), grid=(n,), workgroup=(128,), host=host)
    odd_wave = (np.arange(n) // 32) % 2 == 1
    np.testing.assert_array_equal(host.download(pc, np.uint32, n), a + np.where(odd_wave, 2, 1))
