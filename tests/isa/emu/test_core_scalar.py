"""Scalar instructions in the core: SALU through the table with SCC, SOPK immediates, EXEC
manipulation and the branches that test it, relative SGPR moves, the PC, and SMEM loads."""

import numpy as np
import pytest
from test_core_launch import run_asm, u64s

from isa.emu import Host


def scalars(body: str, regs: list[int], *, data: bytes = b"", grid=(32,), workgroup=(32,), **kd) -> dict:
    """Runs `body` (kernarg: s[0:1] -> [out pointer, data pointer]) and returns SGPR values of
    wave 0 (`regs`, stored after `body` through v_mov + global_store)."""
    host = Host()
    out = host.alloc(4 * 128)
    pdata = host.upload(np.frombuffer(data.ljust(max(len(data), 4), b"\0"), np.uint8))
    stores = "\n".join(f"v_mov_b32 v1, s{r}\nglobal_store_b32 v62, v1, s[100:101] offset:{4 * i}"
                       for i, r in enumerate(regs))
    code = f"""
        s_load_b64 s[100:101], s[0:1], 0x0
        s_load_b64 s[102:103], s[0:1], 0x8
        v_mov_b32 v62, 0
        s_waitcnt lgkmcnt(0)
        {body}
        s_mov_b32 exec_lo, 1
        {stores}
    """
    run_asm(code, args=u64s(out, pdata), grid=grid, workgroup=workgroup, host=host, **kd)
    got = host.download(out, np.uint32, len(regs))
    return dict(zip(regs, (int(v) for v in got)))


def test_64_bit_add_with_carry_and_select():
    s = scalars("""
        s_mov_b32 s2, 0xffffffff
        s_mov_b32 s3, 0x1
        s_add_u32 s4, s2, 5
        s_addc_u32 s5, s3, 0
        s_cselect_b32 s6, 11, 22
        s_cmp_eq_u32 s5, 2
        s_cselect_b32 s7, 33, 44
    """, [4, 5, 6, 7])
    assert s == {4: 4, 5: 2, 6: 22, 7: 33}


def test_sopk_immediates_are_sign_extended():
    s = scalars("""
        s_movk_i32 s2, 0xfff0
        s_addk_i32 s2, 0x20
        s_cmpk_gt_i32 s2, 0xffff
        s_cselect_b32 s3, 1, 0
        s_mulk_i32 s2, 0xfffe
    """, [2, 3])
    assert s == {2: (-32) % 2**32, 3: 1}


def test_saveexec_brackets_a_divergent_region():
    host = Host()
    out = host.alloc(4 * 32)
    body = """
        s_load_b64 s[2:3], s[0:1], 0x0
        v_mov_b32 v1, 1
        v_cmp_gt_u32 vcc_lo, 10, v0
        s_and_saveexec_b32 s4, vcc_lo
        s_xor_b32 s4, exec_lo, s4
        s_cbranch_execz skip_then
        v_mov_b32 v1, 2
    skip_then:
        s_or_saveexec_b32 s5, s4
        s_xor_b32 exec_lo, exec_lo, s5
        s_cbranch_execz skip_else
        v_add_nc_u32 v1, 40, v1
    skip_else:
        s_or_b32 exec_lo, exec_lo, s5
        v_lshlrev_b32 v2, 2, v0
        s_waitcnt lgkmcnt(0)
        global_store_b32 v2, v1, s[2:3]
    """
    run_asm(body, args=u64s(out), host=host)
    np.testing.assert_array_equal(host.download(out, np.uint32, 32), np.where(np.arange(32) < 10, 2, 41))


@pytest.mark.parametrize("branch,taken", [("s_cbranch_vccz", False), ("s_cbranch_vccnz", True),
                                          ("s_cbranch_execz", False), ("s_cbranch_execnz", True),
                                          ("s_cbranch_scc0", True), ("s_cbranch_scc1", False)])
def test_conditional_branches(branch, taken):
    s = scalars(f"""
        s_mov_b32 vcc_lo, 4
        s_cmp_eq_u32 0, 1
        s_mov_b32 s2, 1
        {branch} target
        s_mov_b32 s2, 2
    target:
    """, [2])
    assert s[2] == (1 if taken else 2)


def test_relative_sgpr_moves():
    s = scalars("""
        s_mov_b32 s10, 10
        s_mov_b32 s11, 11
        s_mov_b32 s12, 12
        s_mov_b32 m0, 2
        s_movrels_b32 s20, s10
        s_movreld_b32 s30, 99
        s_movrels_b64 s[22:23], s[10:11]
        s_mov_b32 m0, 0x30001
        s_movrelsd_2_b32 s40, s10
    """, [20, 32, 22, 23, 43])
    assert s == {20: 12, 32: 99, 22: 12, 23: 0, 43: 11}


def test_getpc_returns_the_next_instruction():
    host = Host()
    out = host.alloc(8)
    r = run_asm("""
        s_load_b64 s[2:3], s[0:1], 0x0
        s_getpc_b64 s[4:5]
        v_mov_b32 v1, 0
        v_mov_b32 v2, s4
        v_mov_b32 v3, s5
        s_waitcnt lgkmcnt(0)
        global_store_b64 v1, v[2:3], s[2:3]
    """, args=u64s(out), host=host, grid=(1,), workgroup=(1,))
    assert int(host.download(out, np.uint64, 1)[0]) == r.kernel.code_address + 8 + 4


def test_scalar_loads_of_every_width():
    words = np.arange(1, 33, dtype=np.uint32) * 0x01010101
    body = """
        s_load_b32 s2, s[102:103], 0x4
        s_load_b64 s[4:5], s[102:103], 0x8
        s_load_b128 s[8:11], s[102:103], 0x10
        s_load_b256 s[16:23], s[102:103], 0x20
        s_load_b512 s[32:47], s[102:103], 0x40
        s_mov_b32 s60, 0xc
        s_load_b32 s61, s[102:103], s60 offset:0x10
        s_waitcnt lgkmcnt(0)
    """
    regs = [2, 4, 5, 8, 11, 16, 23, 32, 47, 61]
    s = scalars(body, regs, data=words.tobytes())
    expect = {2: words[1], 4: words[2], 5: words[3], 8: words[4], 11: words[7], 16: words[8], 23: words[15],
              32: words[16], 47: words[31], 61: words[7]}
    assert s == {k: int(v) for k, v in expect.items()}


def test_scalar_buffer_loads_stop_at_num_records():
    words = np.arange(100, 116, dtype=np.uint32)
    body = """
        s_mov_b32 s4, s102
        s_and_b32 s5, s103, 0xffff
        s_mov_b32 s6, 24
        s_mov_b32 s7, 0
        s_buffer_load_b128 s[8:11], s[4:7], 0x10
        s_buffer_load_b32 s12, s[4:7], 0x8
        s_waitcnt lgkmcnt(0)
    """
    s = scalars(body, [8, 9, 10, 11, 12], data=words.tobytes())
    assert s == {8: 104, 9: 105, 10: 0, 11: 0, 12: 102}


def test_realtime_message_counts_up():
    s = scalars("""
        s_sendmsg_rtn_b64 s[2:3], sendmsg(MSG_RTN_GET_REALTIME)
        s_nop 0
        s_branch next
    next:
        s_sendmsg_rtn_b64 s[4:5], sendmsg(MSG_RTN_GET_REALTIME)
        s_waitcnt lgkmcnt(0)
    """, [2, 4])
    assert s[4] > s[2]


def test_64_bit_operands_see_float_inline_constants_as_doubles():
    s = scalars("s_mov_b64 s[2:3], 1.0\ns_mov_b64 s[4:5], -4\ns_mov_b32 s6, 1.0", [2, 3, 4, 5, 6])
    assert s == {2: 0, 3: 0x3FF00000, 4: 2**32 - 4, 5: 2**32 - 1, 6: 0x3F800000}
