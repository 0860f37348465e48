"""64-bit integer ops on register halves (isa.emu.wide) against the general path: the same kernel
runs with the default ALU tables (halves) and with tables whose functions are wrapped (which
the halves path leaves to the general one), and against Python integers."""

import numpy as np
import pytest
from test_core_launch import run_asm, u64s

from isa.emu import Emulator, Host, wide
from isa.emu.alu import AluTables, default_tables
from isa.emu.valu import ValuOp

pytestmark = pytest.mark.llvm

GROUP = 64
GROUPS = 3
N = GROUP * GROUPS
M32 = 0xFFFFFFFF
EDGES = np.array([0, 1, 2, 31, 32, 0x7FFFFFFF, 0x80000000, 0x80000001, M32 - 1, M32], np.uint32)
INPUTS = 5                                  # v1..v5 per lane


def _inputs() -> np.ndarray:
    rng = np.random.default_rng(7)
    table = rng.integers(0, 2**32, (INPUTS, N), dtype=np.uint64).astype(np.uint32)
    table[:, ::3] = rng.choice(EDGES, (INPUTS, table[:, ::3].shape[1]))     # carries at the edges
    table[:, 1::5] = M32
    return table


def _wrapped_tables() -> AluTables:
    """The default semantics behind functions of another identity."""
    base = default_tables()
    valu = dict(base.valu)
    for name in ("v_mad_u64_u32", "v_lshlrev_b64", "v_lshrrev_b64", "v_ashrrev_i64", "v_add_co_u32",
                 "v_add_co_ci_u32"):
        op = valu[name]
        valu[name] = ValuOp(**{**op.__dict__, "fn": (lambda fn: lambda *a, **k: fn(*a, **k))(op.fn)})
    return AluTables(valu, base.salu, base.vopd_aliases, base.wmma)


def _run(body: str, results: list[int], alu: AluTables | None, wave64: bool = False) -> np.ndarray:
    host = Host(emulator=Emulator(alu=alu))
    table = host.upload(_inputs())
    out = host.alloc(4 * N * len(results))
    lines = ["s_load_b128 s[4:7], s[0:1], 0x0",      # s[4:5] inputs, s[6:7] out
             "v_mad_u32_u24 v40, s2, 64, v0",
             "v_lshlrev_b32 v40, 2, v40",              # the lane's byte offset
             "v_mov_b32 v41, v40",
             "s_waitcnt lgkmcnt(0)"]
    for i in range(INPUTS):
        lines += [f"global_load_b32 v{1 + i}, v41, s[4:5]", f"v_add_nc_u32 v41, {4 * N}, v41"]
    lines += ["s_waitcnt vmcnt(0)", body, "s_mov_b64 exec, -1"]
    for r in results:
        lines += [f"global_store_b32 v40, v{r}, s[6:7]", f"v_add_nc_u32 v40, {4 * N}, v40"]
    run_asm("\n".join(lines), args=u64s(table, out), grid=(N,), workgroup=(GROUP,), host=host, wave64=wave64)
    return host.download(out, np.uint32, N * len(results)).reshape(len(results), N)


def _both(body: str, results: list[int], monkeypatch, wave64: bool = False) -> np.ndarray:
    taken = []
    plain = wide.compile_wide
    monkeypatch.setattr(wide, "compile_wide", lambda *a: taken.append(plain(*a)) or taken[-1])
    fast = _run(body, results, None, wave64)
    assert any(t is not None for t in taken)
    taken.clear()
    general = _run(body, results, _wrapped_tables(), wave64)
    assert taken and all(t is None for t in taken)
    np.testing.assert_array_equal(fast, general)
    return fast


def _pair(lo, hi) -> list[int]:
    return [(int(h) << 32) | int(x) for x, h in zip(lo, hi, strict=True)]


def test_mad_u64_u32_sources_carries_and_overlaps(monkeypatch):
    body = """
    s_mov_b32 s8, -1
    s_mov_b32 s9, 0x12345
    v_mad_u64_u32 v[6:7], s10, v1, v3, v[2:3]        // all VGPRs, carry to an SGPR
    v_mad_u64_u32 v[8:9], null, s8, s9, v[3:4]       // a per-wave product
    v_mad_u64_u32 v[10:11], vcc_lo, -1, v3, -1       // constants
    v_mad_u64_u32 v[12:13], null, v1, 0x9abcdef1, s[8:9]
    v_mov_b32 v14, s10
    v_mov_b32 v15, vcc_lo
    v_mov_b32 v16, v3
    v_mad_u64_u32 v[3:4], s11, v3, s8, v[2:3]        // the destination overlaps the sources
    v_mov_b32 v17, s11
    v_mov_b32 v18, 0                                 // kept in the lanes EXEC leaves out
    v_mov_b32 v19, 0
    s_mov_b32 s12, exec_lo
    v_cmpx_gt_u32 v5, v1                             // a partial EXEC
    v_mad_u64_u32 v[18:19], s13, v2, v5, v[1:2]
    s_mov_b32 exec_lo, s12
    v_mov_b32 v20, s13
    v_mad_u64_u32 v[22:23], null, s9, 3, v[1:2]      // small products, sums past 2**32 in some lanes
    v_and_b32 v24, 0xffff, v1
    v_mov_b32 v25, v2
    v_mad_u64_u32 v[26:27], null, s9, 3, v[24:25]    // no sum reaches 2**32
    v_mov_b32 v29, v24
    v_mov_b32 v30, v2
    v_mad_u64_u32 v[28:29], null, s9, 3, v[29:30]    // the high half lands on the source's low one
    v_mov_b32 v31, v24
    v_mov_b32 v32, v2
    v_mad_u64_u32 v[32:33], null, s9, 3, v[31:32]    // the low half lands on the source's high one
    """
    got = _both(body, [6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 3, 4, 17, 18, 19, 20, 22, 23, 26, 27, 28, 29, 32, 33],
                monkeypatch)
    v1, v2, v3, v4, v5 = (x.astype(object) for x in _inputs())
    full = _pair(got[0], got[1])
    want = [a * m + c for a, m, c in zip(v1, v3, _pair(v2, v3), strict=True)]
    assert full == [w & (2**64 - 1) for w in want]
    carries = [w >> 64 for w in want]
    lanes = np.arange(N) % 32
    for wave in range(N // 32):
        bits = sum(int(c) << int(lane) for c, lane in zip(carries[32 * wave:32 * wave + 32], lanes[:32],
                                                              strict=True))
        assert int(got[8][32 * wave]) == bits
    assert _pair(got[2], got[3]) == [(M32 * 0x12345 + c) & (2**64 - 1) for c in _pair(v3, v4)]
    assert _pair(got[4], got[5]) == [(M32 * int(x) + 2**64 - 1) & (2**64 - 1) for x in v3]
    assert _pair(got[16], got[17]) == [(0x12345 * 3 + c) & (2**64 - 1) for c in _pair(v1, v2)]
    assert _pair(got[18], got[19]) == [0x12345 * 3 + (int(x) & 0xFFFF) + (int(h) << 32) for x, h in zip(v1, v2,
                                                                                                      strict=True)]
    assert _pair(got[20], got[21]) == _pair(got[18], got[19]) == _pair(got[22], got[23])
    assert _pair(got[10], got[11]) == [(int(x) * M32 + c) & (2**64 - 1) for x, c in zip(v3, _pair(v2, v3),
                                                                                            strict=True)]


@pytest.mark.parametrize("op", ["v_lshlrev_b64", "v_lshrrev_b64", "v_ashrrev_i64"])
def test_constant_shifts(op, monkeypatch):
    amounts = [0, 1, 5, 31, 32, 33, 63, 0x41]              # 0x41: the amount's low 6 bits
    lines = [f"{op} v[{6 + 2 * i}:{7 + 2 * i}], {k}, v[1:2]" for i, k in enumerate(amounts)]
    lines += ["v_mov_b32 v34, v1", "v_mov_b32 v35, 0",
              f"{op} v[36:37], 7, v[34:35]",              # a zero high half
              f"{op} v[2:3], 3, v[1:2]",                   # overlapping, one each way
              f"{op} v[4:5], 4, v[3:4]",
              "s_mov_b32 s8, 7",
              f"{op} v[30:31], s8, v[1:2]",               # an SGPR amount: the general path
              "v_mov_b32 v32, 0",                         # kept in the lanes EXEC leaves out
              "v_mov_b32 v33, 0",
              "s_mov_b32 s12, exec_lo",
              "v_cmpx_gt_u32 v5, v1",
              f"{op} v[32:33], 9, v[1:2]",
              "s_mov_b32 exec_lo, s12"]
    regs = [6 + i for i in range(2 * len(amounts))] + [2, 3, 4, 5, 30, 31, 32, 33, 36, 37]
    got = _both("\n".join(lines), regs, monkeypatch)
    v1, v2 = _inputs()[:2]
    value = np.array(_pair(v1, v2), np.uint64)
    for i, k in enumerate(amounts):
        k &= 63
        if op == "v_lshlrev_b64":
            want = value << np.uint64(k)
        elif op == "v_lshrrev_b64":
            want = value >> np.uint64(k)
        else:
            want = (value.view(np.int64) >> np.int64(k)).view(np.uint64)
        assert np.array_equal(np.array(_pair(got[2 * i], got[2 * i + 1]), np.uint64), want), k
    low = v1.astype(np.uint64)
    want = {"v_lshlrev_b64": low << np.uint64(7), "v_lshrrev_b64": low >> np.uint64(7),
            "v_ashrrev_i64": low >> np.uint64(7)}[op]
    assert np.array_equal(np.array(_pair(got[-2], got[-1]), np.uint64), want)


@pytest.mark.parametrize("wave64", [False, True])
def test_carry_ops_with_and_without_carries(wave64, monkeypatch):
    vcc, s10, s12, s16 = ("vcc", "s[10:11]", "s[12:13]", "s[16:17]") if wave64 else ("vcc_lo", "s10", "s12", "s16")
    body = f"""
    s_mov_b32 s8, 0x1234
    s_mov_b32 s9, 7
    v_and_b32 v10, 0xffff, v1                        // small values: nothing carries
    v_and_b32 v11, 0xffff, v2
    v_add_co_u32 v12, {vcc}, v10, v11
    v_add_co_ci_u32_e32 v13, {vcc}, 5, v11, {vcc}
    v_mov_b32 v14, vcc_lo
    v_mov_b32 v15, vcc_hi
    v_add_co_u32 v16, {vcc}, v1, v2                  // carries in some lanes
    v_add_co_ci_u32_e32 v17, {vcc}, v3, v10, {vcc}   // a carry-in in some lanes
    v_mov_b32 v18, vcc_lo
    v_mov_b32 v19, vcc_hi
    v_add_co_u32 v20, {s10}, s8, v10
    v_add_co_ci_u32_e64 v21, {s12}, v11, s9, {s10}
    v_add_co_ci_u32_e64 v22, null, v11, -1, {s10}    // a constant that carries
    v_add_co_u32 v23, {s10}, 0x10, v11               // a literal
    v_mov_b32 v24, s10
    v_mov_b32 v25, s11
    v_mov_b32 v26, s12
    v_mov_b32 v27, 0                                 // kept in the lanes EXEC leaves out
    v_mov_b32 v28, 0
    s_mov_b64 s[14:15], exec
    v_cmpx_gt_u32 v5, v1                             // a partial EXEC
    v_add_co_u32 v27, {vcc}, v10, v11
    v_add_co_ci_u32_e32 v28, {vcc}, v10, v11, {vcc}
    s_mov_b64 exec, s[14:15]
    v_mov_b32 v29, vcc_lo
    v_mov_b32 v30, vcc_hi
    v_add_co_u32 v31, {s16}, v1, v2
    v_add_co_ci_u32_e64 v31, null, v10, v11, {s16}   // small values, a carry-in in some lanes
    """
    regs = list(range(12, 32))
    got = dict(zip(regs, _both(body, regs, monkeypatch, wave64), strict=True))
    v1, v2, v3, _, v5 = (x.astype(np.uint64) for x in _inputs())
    small1, small2 = v1 & 0xFFFF, v2 & 0xFFFF
    np.testing.assert_array_equal(got[12], small1 + small2)
    np.testing.assert_array_equal(got[13], small2 + 5)
    assert not got[14].any() and not got[15].any()
    np.testing.assert_array_equal(got[16], (v1 + v2) & M32)
    np.testing.assert_array_equal(got[17], (v3 + small1 + ((v1 + v2) >> 32)) & M32)
    np.testing.assert_array_equal(got[22], (small2 + M32) & M32)
    np.testing.assert_array_equal(got[23], small2 + 0x10)
    active = v5 > v1
    np.testing.assert_array_equal(got[27], np.where(active, small1 + small2, 0))
    np.testing.assert_array_equal(got[31], small1 + small2 + ((v1 + v2) >> 32))
