"""VALU execution by the core: operand modifiers, 16-bit halves, VOP3P, VOPD, DPP16/DPP8, the
cross-lane instructions, lane masks and EXEC. Inputs are loaded per lane from memory, one
instruction (or a few) runs, results are stored and compared with references written here."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_core_launch import run_asm, u64s

from isa.emu import Host

rng = np.random.default_rng(77)


def lanes(body: str, inputs: dict[int, np.ndarray], outputs: list[int], *, exec_mask: int | None = None,
          lanes_n: int = 32, sgprs: dict[int, int] | None = None, host: Host | None = None,
          check: bool = True, **kd) -> dict[int, np.ndarray]:
    """Runs `body` for one wave with VGPR r = inputs[r] per lane; returns the output VGPRs.
    With exec_mask, EXEC holds that mask while `body` runs; `kd` goes to the kernel descriptor."""
    host = host or Host()
    n_in = max(inputs) + 1 if inputs else 1
    data = np.zeros((n_in, lanes_n), np.uint32)
    for r, v in inputs.items():
        data[r] = np.asarray(v).astype(np.uint32) if np.asarray(v).dtype != np.float32 else \
            np.asarray(v, np.float32).view(np.uint32)
    pin = host.upload(data)
    pout = host.alloc(4 * lanes_n * (max(outputs) + 1))
    stride = 4 * lanes_n
    loads = "\n".join(f"global_load_b32 v{r}, v60, s[4:5] offset:{r * stride}" for r in inputs)
    stores = "\n".join(f"global_store_b32 v60, v{r}, s[6:7] offset:{r * stride}" for r in outputs)
    sets = "\n".join(f"s_mov_b32 s{k}, 0x{v & 0xFFFFFFFF:x}" for k, v in (sgprs or {}).items())
    wide = lanes_n == 64
    set_exec = restore = ""
    if exec_mask is not None:
        if wide:
            set_exec = (f"s_mov_b64 s[40:41], exec\ns_mov_b32 exec_lo, 0x{exec_mask & 0xFFFFFFFF:x}\n"
                        f"s_mov_b32 exec_hi, 0x{exec_mask >> 32:x}")
            restore = "s_mov_b64 exec, s[40:41]"
        else:
            set_exec = f"s_mov_b32 s40, exec_lo\ns_mov_b32 exec_lo, 0x{exec_mask:x}"
            restore = "s_mov_b32 exec_lo, s40"
    code = f"""
        s_load_b128 s[4:7], s[0:1], 0x0
        v_lshlrev_b32 v60, 2, v0
        s_waitcnt lgkmcnt(0)
        {loads}
        s_waitcnt vmcnt(0)
        {sets}
        {set_exec}
        {body}
        {restore}
        {stores}
    """
    r = run_asm(code, args=u64s(pin, pout), grid=(lanes_n,), workgroup=(lanes_n,), wave64=wide, host=host,
                run={"check": check}, **kd)
    assert r.result.hazards == []
    got = host.download(pout, np.uint32, lanes_n * (max(outputs) + 1)).reshape(-1, lanes_n)
    return {r: got[r] for r in outputs}


def f32(x):
    return np.asarray(x, np.float32).view(np.uint32)


def as_f32(bits):
    return np.asarray(bits, np.uint32).view(np.float32)


# ---------------------------------------------------------------------------------------------
# modifiers and halves

def test_vop3_abs_neg_on_f32_and_f64():
    a = rng.standard_normal(32).astype(np.float32)
    b = rng.standard_normal(32).astype(np.float32)
    out = lanes("v_add_f32_e64 v3, -|v1|, v2\nv_sub_f32_e64 v4, |v1|, -v2", {1: a, 2: b}, [3, 4])
    np.testing.assert_array_equal(as_f32(out[3]), -np.abs(a) + b)
    np.testing.assert_array_equal(as_f32(out[4]), np.abs(a) + b)
    x = rng.standard_normal(32)
    y = rng.standard_normal(32)
    words = {1: x.view(np.uint32).reshape(32, 2)[:, 0], 2: x.view(np.uint32).reshape(32, 2)[:, 1],
             3: y.view(np.uint32).reshape(32, 2)[:, 0], 4: y.view(np.uint32).reshape(32, 2)[:, 1]}
    out = lanes("v_add_f64 v[5:6], -v[1:2], |v[3:4]|", words, [5, 6])
    got = np.stack([out[5], out[6]], axis=1).reshape(-1).view(np.float64)
    np.testing.assert_array_equal(got, -x + np.abs(y))


def test_vop3_op_sel_picks_and_writes_16_bit_halves():
    a = rng.standard_normal(64).astype(np.float16).view(np.uint32)
    b = rng.standard_normal(64).astype(np.float16).view(np.uint32)
    keep = rng.integers(0, 2**32, 32, dtype=np.uint64).astype(np.uint32)
    # v_add_f16_e64 v3, v1, v2 op_sel:[1,0,1] (op_sel bit 0: src0 high half, bit 3: result to the high half)
    word0 = (53 << 26) | (306 << 16) | (0b1001 << 11) | 3
    word1 = (256 + 1) | ((256 + 2) << 9)
    out = lanes(f".long 0x{word0:08x}, 0x{word1:08x}", {1: a, 2: b, 3: keep}, [3])
    ah = (a >> 16).astype(np.uint16).view(np.float16)
    bl = (b & 0xFFFF).astype(np.uint16).view(np.float16)
    expect = ((ah + bl).view(np.uint16).astype(np.uint32) << 16) | (keep & 0xFFFF)
    np.testing.assert_array_equal(out[3], expect)


def test_vop2_16_bit_registers_name_halves_with_bit_7():
    a = rng.standard_normal(64).astype(np.float16).view(np.uint32)
    b = rng.standard_normal(64).astype(np.float16).view(np.uint32)
    keep = rng.integers(0, 2**32, 32, dtype=np.uint64).astype(np.uint32)
    # v_add_f16_e32 v3.h, v1.h, v2.l: opcode 50, vdst 128 + 3, src0 256 + 128 + 1, vsrc1 2
    word = (50 << 25) | ((128 + 3) << 17) | (2 << 9) | (256 + 128 + 1)
    out = lanes(f".long 0x{word:08x}", {1: a, 2: b, 3: keep}, [3])
    ah = (a >> 16).astype(np.uint16).view(np.float16)
    bl = (b & 0xFFFF).astype(np.uint16).view(np.float16)
    expect = ((ah + bl).view(np.uint16).astype(np.uint32) << 16) | (keep & 0xFFFF)
    np.testing.assert_array_equal(out[3], expect)


def test_output_modifiers_omod_and_clamp():
    a = rng.uniform(-1, 1, 32).astype(np.float32)
    b = rng.uniform(-1, 1, 32).astype(np.float32)
    out = lanes("v_mul_f32_e64 v3, v1, v2 clamp mul:2\nv_add_f32_e64 v4, v1, v2 div:2", {1: a, 2: b}, [3, 4])
    np.testing.assert_array_equal(as_f32(out[3]), np.clip(a * b * 2, 0, 1))
    np.testing.assert_array_equal(as_f32(out[4]), (a + b) / 2)


def test_vop3p_half_selection_negation_and_inline_constants():
    a = rng.standard_normal(64).astype(np.float16)
    b = rng.standard_normal(64).astype(np.float16)
    ab, bb = a.view(np.uint32), b.view(np.uint32)
    out = lanes("v_pk_add_f16 v3, v1, v2 op_sel:[1,0] op_sel_hi:[0,1] neg_lo:[1,0]\n"
                "v_pk_mul_f16 v4, v1, 2.0", {1: ab, 2: bb}, [3, 4])
    lo = -a[1::2] + b[0::2]
    hi = a[0::2] + b[1::2]
    got = out[3].view(np.float16).reshape(32, 2)
    np.testing.assert_array_equal(got[:, 0], lo)
    np.testing.assert_array_equal(got[:, 1], hi)
    np.testing.assert_array_equal(out[4].view(np.float16), a * np.float16(2))


def test_vopd_halves_read_before_either_writes():
    a = rng.integers(0, 2**32, 32, dtype=np.uint64).astype(np.uint32)
    b = rng.integers(0, 2**32, 32, dtype=np.uint64).astype(np.uint32)
    out = lanes("v_dual_mov_b32 v1, v2 :: v_dual_mov_b32 v2, v1", {1: a, 2: b}, [1, 2])
    np.testing.assert_array_equal(out[1], b)
    np.testing.assert_array_equal(out[2], a)
    x = rng.standard_normal(32).astype(np.float32)
    y = rng.standard_normal(32).astype(np.float32)
    out = lanes("v_dual_fmac_f32 v3, v1, v2 :: v_dual_fmaak_f32 v4, v6, v7, 0x40400000",
                {1: x, 2: y, 3: x, 6: x, 7: y}, [3, 4])
    ref = lambda p, q, r: (p.astype(np.float64) * q + r).astype(np.float32)  # noqa: E731 - exact fma
    np.testing.assert_array_equal(as_f32(out[3]), ref(x, y, x))
    np.testing.assert_array_equal(as_f32(out[4]), ref(x, y, np.float32(3.0)))


def test_64_bit_literals_extend_by_operand_type():
    out = lanes("v_add_f64 v[1:2], 0x40080000, 0\n"
                "v_lshlrev_b64 v[3:4], 0, 0x80000000", {}, [1, 2, 3, 4])
    assert (out[1] == 0).all() and (out[2] == 0x40080000).all()     # f64: the literal is the high half
    assert (out[3] == 0x80000000).all() and (out[4] == 0).all()     # unsigned: zero-extended


# ---------------------------------------------------------------------------------------------
# lane masks, carries, EXEC

def test_compares_write_only_active_lanes_and_cmpx_narrows_exec():
    a = rng.integers(0, 100, 32).astype(np.uint32)
    body = """
        v_cmp_gt_u32 vcc_lo, 50, v1
        v_cndmask_b32 v2, 0, 1, vcc_lo
        v_cmp_lt_u32_e64 s8, 70, v1
        v_cndmask_b32_e64 v3, 0, 1, s8
        v_mov_b32 v4, s8
        v_mov_b32 v5, vcc_lo
        v_cmpx_gt_u32 90, v1
        v_mov_b32 v6, 1
    """
    mask = 0x0FF0FFFF
    out = lanes(body, {1: a, 6: np.zeros(32)}, [2, 3, 4, 5, 6], exec_mask=mask)
    on = (mask >> np.arange(32)) & 1 == 1
    lt50, gt70 = (a < 50) & on, (a > 70) & on
    np.testing.assert_array_equal(out[2][on], lt50[on])
    np.testing.assert_array_equal(out[3][on], gt70[on])
    bits = lambda m: int(np.sum(m.astype(np.uint64) << np.arange(32, dtype=np.uint64)))  # noqa: E731
    assert out[4][0] == bits(gt70) and out[5][0] == bits(lt50)
    np.testing.assert_array_equal(out[6], (a < 90) & on)


@pytest.mark.parametrize("lanes_n", [32, 64])
def test_cmpx_that_keeps_every_lane_leaves_exec_whole(lanes_n):
    """A full group whose compare passes everywhere keeps EXEC without rewriting it."""
    a = rng.integers(0, 100, lanes_n).astype(np.uint32)
    body = """
        s_mov_b64 s[42:43], exec
        v_cmpx_gt_u32 200, v1
        v_mov_b32 v2, exec_lo
        v_mov_b32 v3, exec_hi
        v_mov_b32 v4, 1
        v_cmpx_gt_u32 50, v1
        v_mov_b32 v5, 1
        s_mov_b64 exec, s[42:43]
    """
    out = lanes(body, {1: a, 5: np.zeros(lanes_n)}, [2, 3, 4, 5], lanes_n=lanes_n)
    assert (out[2] == 0xFFFFFFFF).all() and (out[3] == (0xFFFFFFFF if lanes_n == 64 else 0)).all()
    assert (out[4] == 1).all()
    np.testing.assert_array_equal(out[5], a < 50)


def test_64_bit_add_through_carry_chain():
    x = rng.integers(0, 2**64, 32, dtype=np.uint64)
    y = rng.integers(0, 2**64, 32, dtype=np.uint64)
    lo, hi = lambda v: (v & 0xFFFFFFFF).astype(np.uint32), lambda v: (v >> 32).astype(np.uint32)  # noqa: E731
    body = "v_add_co_u32 v5, vcc_lo, v1, v3\nv_add_co_ci_u32_e32 v6, vcc_lo, v2, v4, vcc_lo\n" \
           "v_cndmask_b32 v7, 0, 1, vcc_lo"
    out = lanes(body, {1: lo(x), 2: hi(x), 3: lo(y), 4: hi(y)}, [5, 6, 7])
    s = x + y
    np.testing.assert_array_equal(out[5].astype(np.uint64) | (out[6].astype(np.uint64) << 32), s)
    np.testing.assert_array_equal(out[7], (s < x).astype(np.uint32))


def test_wave64_masks_span_two_sgprs():
    a = rng.integers(0, 100, 64).astype(np.uint32)
    body = "v_cmp_gt_u32_e64 s[8:9], 50, v1\nv_cndmask_b32_e64 v2, 5, 6, s[8:9]\nv_mov_b32 v3, s9"
    out = lanes(body, {1: a}, [2, 3], lanes_n=64)
    np.testing.assert_array_equal(out[2], np.where(a < 50, 6, 5))
    assert out[3][0] == sum(1 << (i - 32) for i in range(32, 64) if a[i] < 50)


# ---------------------------------------------------------------------------------------------
# DPP

def dpp16_reference(src, old, exec_on, ctrl, row_mask, bank_mask, bound_ctrl, fi):
    """Lane by lane, straight from the DPP16 description."""
    out = old.copy()
    for lane in range(32):
        row, pos = divmod(lane, 16)
        if not exec_on[lane] or not (row_mask >> row) & 1 or not (bank_mask >> (pos // 4)) & 1:
            continue
        if ctrl < 0x100:
            s = (lane & ~3) + ((ctrl >> (2 * (lane & 3))) & 3)
        elif 0x101 <= ctrl <= 0x10F:
            s = lane + (ctrl & 15) if pos + (ctrl & 15) < 16 else None
        elif 0x111 <= ctrl <= 0x11F:
            s = lane - (ctrl & 15) if pos - (ctrl & 15) >= 0 else None
        elif 0x121 <= ctrl <= 0x12F:
            s = row * 16 + (pos - (ctrl & 15)) % 16
        elif ctrl == 0x140:
            s = row * 16 + 15 - pos
        elif ctrl == 0x141:
            s = row * 16 + (pos // 8) * 8 + 7 - pos % 8
        elif 0x150 <= ctrl <= 0x15F:
            s = row * 16 + (ctrl & 15)
        else:
            s = row * 16 + (pos ^ (ctrl & 15))
        if s is not None and not fi and not exec_on[s]:
            s = None
        if s is None:
            if bound_ctrl:
                out[lane] = 0
            continue
        out[lane] = src[s]
    return out


DPP_CONTROLS = ["quad_perm:[2,0,3,1]", "row_shl:1", "row_shl:15", "row_shr:3", "row_ror:5", "row_mirror",
                "row_half_mirror", "row_share:7", "row_xmask:9"]


def _ctrl(text: str) -> int:
    name, _, arg = text.partition(":")
    if name == "quad_perm":
        sel = [int(v) for v in arg.strip("[]").split(",")]
        return sum(s << (2 * i) for i, s in enumerate(sel))
    base = {"row_shl": 0x100, "row_shr": 0x110, "row_ror": 0x120, "row_share": 0x150, "row_xmask": 0x160}
    if name in base:
        return base[name] + int(arg)
    return {"row_mirror": 0x140, "row_half_mirror": 0x141}[name]


@pytest.mark.parametrize("control", DPP_CONTROLS)
@pytest.mark.parametrize("masks,bound_ctrl,fi", [((0xF, 0xF), False, False), ((0xA, 0x5), True, False),
                                                  ((0xF, 0xF), True, True), ((0x3, 0xE), False, True)])
def test_dpp16_against_lane_by_lane_reference(control, masks, bound_ctrl, fi):
    src = rng.integers(1, 1000, 32).astype(np.uint32)
    old = rng.integers(5000, 6000, 32).astype(np.uint32)
    exec_mask = 0xF7FF7FEF
    exec_on = (exec_mask >> np.arange(32)) & 1 == 1
    mods = f"row_mask:0x{masks[0]:x} bank_mask:0x{masks[1]:x}" + (" bound_ctrl:1" if bound_ctrl else "") + \
        (" fi:1" if fi else "")
    out = lanes(f"v_mov_b32_dpp v2, v1 {control} {mods}", {1: src, 2: old}, [2], exec_mask=exec_mask)
    expect = dpp16_reference(src, old, exec_on, _ctrl(control), masks[0], masks[1], bound_ctrl, fi)
    np.testing.assert_array_equal(out[2], expect)


def test_dpp_feeds_src0_of_an_alu_op_with_modifiers():
    a = rng.standard_normal(32).astype(np.float32)
    b = rng.standard_normal(32).astype(np.float32)
    out = lanes("v_add_f32_dpp v3, -v1, v2 row_shr:1 row_mask:0xf bank_mask:0xf bound_ctrl:1", {1: a, 2: b}, [3])
    shifted = np.where(np.arange(32) % 16 == 0, 0, np.roll(a, 1))
    np.testing.assert_array_equal(as_f32(out[3]), -shifted + b)


def test_dpp8_selects_within_groups_of_eight():
    src = np.arange(100, 132, dtype=np.uint32)
    sel = [7, 6, 5, 4, 3, 2, 1, 0]
    out = lanes(f"v_mov_b32_dpp v2, v1 dpp8:[{','.join(map(str, sel))}]", {1: src}, [2])
    lane = np.arange(32)
    np.testing.assert_array_equal(out[2], src[(lane & ~7) | np.array(sel)[lane & 7]])


# ---------------------------------------------------------------------------------------------
# cross-lane instructions

def test_readlane_writelane_readfirstlane():
    src = np.arange(1000, 1032, dtype=np.uint32)
    body = """
        s_mov_b32 s8, 13
        v_readlane_b32 s9, v1, s8
        v_readfirstlane_b32 s10, v1
        v_mov_b32 v2, 0
        v_writelane_b32 v2, s9, 3
        v_writelane_b32 v2, s10, 31
        v_mov_b32 v3, s9
        v_mov_b32 v4, s10
    """
    out = lanes(body, {1: src}, [2, 3, 4], exec_mask=0xFFFFFFF0)
    assert out[3][4] == 1013 and out[4][4] == 1004
    assert out[2][3] == 1013 and out[2][31] == 1004       # writelane writes even inactive lanes


@pytest.mark.parametrize("cross", [False, True])
def test_permlane16_and_permlanex16(cross):
    src = np.arange(32, dtype=np.uint32) * 3 + 1
    sel = rng.integers(0, 16, 16)
    lo = sum(int(s) << (4 * i) for i, s in enumerate(sel[:8]))
    hi = sum(int(s) << (4 * i) for i, s in enumerate(sel[8:]))
    name = "v_permlanex16_b32" if cross else "v_permlane16_b32"
    out = lanes(f"{name} v2, v1, s8, s9", {1: src}, [2], sgprs={8: lo, 9: hi})
    lane = np.arange(32)
    row = lane // 16
    if cross:
        row = row ^ 1
    np.testing.assert_array_equal(out[2], src[row * 16 + sel[lane % 16]])


def test_mbcnt_counts_lanes_below():
    mask = int(rng.integers(0, 2**32))
    out = lanes(f"v_mbcnt_lo_u32_b32 v2, 0x{mask:x}, 5", {}, [2])
    expect = [5 + bin(mask & ((1 << i) - 1)).count("1") for i in range(32)]
    np.testing.assert_array_equal(out[2], expect)


def test_movrel_indexes_vgprs_by_m0():
    vals = {r: np.full(32, 100 + r, np.uint32) for r in range(1, 9)}
    body = """
        s_mov_b32 m0, 3
        v_movrels_b32 v10, v2
        v_movreld_b32 v1, v7
        s_mov_b32 m0, 0x20001
        v_movrelsd_2_b32 v11, v4
    """
    out = lanes(body, vals, [4, 10, 13])
    # v10 = v[2 + 3]; v[1 + 3] = v7; v[11 + 2] = v[4 + 1]
    assert (out[10] == 105).all() and (out[4] == 107).all() and (out[13] == 105).all()


def test_swap_respects_exec():
    a = np.arange(32, dtype=np.uint32)
    b = np.arange(32, dtype=np.uint32) + 100
    out = lanes("v_swap_b32 v1, v2", {1: a, 2: b}, [1, 2], exec_mask=0xFFFF)
    on = np.arange(32) < 16
    np.testing.assert_array_equal(out[1], np.where(on, b, a))
    np.testing.assert_array_equal(out[2], np.where(on, a, b))


# ---------------------------------------------------------------------------------------------
# WMMA

def _pack(elements: np.ndarray, bits: int) -> np.ndarray:
    """[16 lanes, 16 K] small integers -> [16 lanes, regs] uint32 words, element 0 lowest."""
    per = 32 // bits
    e = (elements.astype(np.int64) & ((1 << bits) - 1)).reshape(16, -1, per)
    return (e << (bits * np.arange(per))).sum(axis=-1).astype(np.uint32)


@pytest.mark.parametrize("kind,bits,signed", [("iu8", 8, (True, False)), ("iu4", 4, (False, True))])
def test_wmma_integer_layout_and_signedness(kind, bits, signed):
    lo_a, hi_a = (-(1 << (bits - 1)), 1 << (bits - 1)) if signed[0] else (0, 1 << bits)
    lo_b, hi_b = (-(1 << (bits - 1)), 1 << (bits - 1)) if signed[1] else (0, 1 << bits)
    a = rng.integers(lo_a, hi_a, (16, 16))
    b = rng.integers(lo_b, hi_b, (16, 16))
    c = rng.integers(-1000, 1000, (16, 16))
    regs = 16 * bits // 32
    wa, wb = _pack(a, bits), _pack(b.T, bits)
    inputs = {}
    for i in range(regs):
        inputs[1 + i] = np.tile(wa[:, i], 2)
        inputs[5 + i] = np.tile(wb[:, i], 2)
    lane = np.arange(32)
    for i in range(8):
        inputs[10 + i] = c[2 * i + lane // 16, lane % 16].astype(np.int64).astype(np.uint32)
    neg = f" neg_lo:[{int(signed[0])},{int(signed[1])},0]"
    ra, rb = f"v[1:{regs}]" if regs > 1 else "v1", f"v[5:{4 + regs}]" if regs > 1 else "v5"
    out = lanes(f"v_wmma_i32_16x16x16_{kind} v[20:27], {ra}, {rb}, v[10:17]{neg}", inputs, list(range(20, 28)))
    d = np.zeros((16, 16), np.int64)
    for i in range(8):
        d[2 * i + lane // 16, lane % 16] = out[20 + i].view(np.int32)
    np.testing.assert_array_equal(d, a @ b + c)


def test_wmma_f16_result_goes_to_the_op_sel_half():
    a = rng.uniform(-1, 1, (16, 16)).astype(np.float16)
    b = rng.uniform(-1, 1, (16, 16)).astype(np.float16)
    inputs = {}
    for i in range(8):
        inputs[1 + i] = np.tile(a[:, 2 * i:2 * i + 2].copy().view(np.uint32).reshape(16), 2)
        inputs[9 + i] = np.tile(b.T[:, 2 * i:2 * i + 2].copy().view(np.uint32).reshape(16), 2)
        inputs[20 + i] = np.full(32, 0xABCD0000, np.uint32)
    out = lanes("v_wmma_f16_16x16x16_f16 v[20:27], v[1:8], v[9:16], 0 op_sel:[0,0,1]", inputs,
                list(range(20, 28)))
    lane = np.arange(32)
    d = np.zeros((16, 16), np.float16)
    for i in range(8):
        assert ((out[20 + i] & 0xFFFF) == 0).all()                # the low halves were kept (0 here)
        d[2 * i + lane // 16, lane % 16] = (out[20 + i] >> 16).astype(np.uint16).view(np.float16)
    np.testing.assert_array_equal(d, (a.astype(np.float64) @ b.astype(np.float64)).astype(np.float16))


# ---------------------------------------------------------------------------------------------
# properties

@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 2**32 - 1), min_size=32, max_size=32), st.integers(0, 2**32 - 1))
def test_exec_masked_lanes_keep_their_values(values, mask):
    old = np.array(values, np.uint32)
    out = lanes("v_not_b32 v1, v1\nv_add_nc_u32 v1, 7, v1", {1: old}, [1], exec_mask=mask)
    on = (mask >> np.arange(32)) & 1 == 1
    np.testing.assert_array_equal(out[1], np.where(on, (~old) + np.uint32(7), old))


def test_vop3_dpp_with_vop3_modifiers():
    a = rng.standard_normal(32).astype(np.float32)
    b = rng.standard_normal(32).astype(np.float32)
    out = lanes("v_add_f32_e64_dpp v3, -v1, |v2| row_shl:1 row_mask:0xf bank_mask:0xf", {1: a, 2: b, 3: b}, [3])
    lane = np.arange(32)
    valid = lane % 16 != 15
    expect = np.where(valid, -a[np.minimum(lane + 1, 31)] + np.abs(b), b)
    np.testing.assert_array_equal(as_f32(out[3]), expect.astype(np.float32))


@pytest.mark.parametrize("out_kind", ["f32", "bf16"])
def test_wmma_bf16_inputs(out_kind):
    def bf16(x):
        return (np.asarray(x, np.float32).view(np.uint32) >> 16).astype(np.uint32)
    a = bf16(rng.uniform(-1, 1, (16, 16)))
    b = bf16(rng.uniform(-1, 1, (16, 16)))
    inputs = {}
    for i in range(8):
        inputs[1 + i] = np.tile(a[:, 2 * i] | (a[:, 2 * i + 1] << 16), 2)
        inputs[9 + i] = np.tile(b.T[:, 2 * i] | (b.T[:, 2 * i + 1] << 16), 2)
        inputs[20 + i] = np.zeros(32, np.uint32)
    name = "v_wmma_f32_16x16x16_bf16" if out_kind == "f32" else "v_wmma_bf16_16x16x16_bf16"
    out = lanes(f"{name} v[20:27], v[1:8], v[9:16], v[20:27]", inputs, list(range(20, 28)))
    lane = np.arange(32)
    af = (a << 16).view(np.float32).astype(np.float64)
    bf = (b << 16).view(np.float32).astype(np.float64)
    ref = af @ bf
    d = np.zeros((16, 16), np.float64)
    for i in range(8):
        word = out[20 + i]
        if out_kind == "f32":
            d[2 * i + lane // 16, lane % 16] = word.view(np.float32)
        else:
            assert ((word >> 16) == 0).all()
            d[2 * i + lane // 16, lane % 16] = ((word & 0xFFFF) << 16).view(np.float32)
    tol = 1e-6 if out_kind == "f32" else 2 ** -7
    np.testing.assert_allclose(d, ref, rtol=tol, atol=tol)
