"""Registers a kernel has not written read as zero, whatever earlier dispatches left in the
register files the emulator reuses: the VGPRs other than v0 (held or not), and the SGPRs,
including ones (and TTMPs) that only code reached through a computed jump names."""

import numpy as np
import pytest
from test_core_launch import run_asm, store_v, u64s

from isa.emu import Emulator, Host

pytestmark = pytest.mark.llvm

DIRTY = """
    s_mov_b32 s60, 0x1234
    s_mov_b32 s90, 0x5678
    s_mov_b32 s100, 0x9abc
    s_mov_b32 ttmp5, 0x77
    v_mov_b32 v40, 0xdead
    v_mov_b32 v5, 0xbeef
""" + store_v("v40")

HIDDEN = """
    s_getpc_b64 s[4:5]
    s_add_u32 s4, s4, 16                     // the code after s_endpgm below
    s_addc_u32 s5, s5, 0
    s_setpc_b64 s[4:5]
    s_endpgm
    v_mov_b32 v41, s90                       // reached only through the computed jump
    v_add_nc_u32 v41, s100, v41
    v_add_nc_u32 v41, v40, v41
    v_add_nc_u32 v41, v5, v41
    v_add_nc_u32 v41, s60, v41
    v_add_nc_u32 v41, ttmp5, v41
""" + store_v("v41")


@pytest.mark.parametrize("check", [False, True])
def test_registers_left_by_an_earlier_dispatch_read_as_zero(check):
    emulator = Emulator()
    host = Host(emulator=emulator)
    out = host.alloc(4 * 256)
    for body in (DIRTY, HIDDEN):
        run_asm(body, args=u64s(out), grid=(64,), workgroup=(64,), host=host, run={"check": check})
    np.testing.assert_array_equal(host.download(out, np.uint32, 64), 0)


def test_scalar_registers_and_lds_of_the_same_shape_are_apart():
    """128 workgroups of 4 waves with 2 KiB of LDS each: the batch's SGPRs ([128, 512] words)
    and its LDS ([128, 512] words) have one shape and must still be two arrays."""
    host = Host()
    n = 128 * 128
    out = host.alloc(4 * n)
    body = """
    s_load_b64 s[4:5], s[0:1], 0x0
    s_mov_b32 s20, 0x1234
    v_lshlrev_b32 v1, 2, v0
    ds_store_b32 v1, v0
    ds_store_b32 v1, v0 offset:1024
    s_waitcnt lgkmcnt(0)
    s_barrier
    ds_load_b32 v2, v1 offset:1024
    s_waitcnt lgkmcnt(0)
    v_add_nc_u32 v2, s20, v2
    v_mad_u32_u24 v3, s2, 128, v0
    v_lshlrev_b32 v3, 2, v3
    global_store_b32 v3, v2, s[4:5]
    """
    run_asm(body, args=u64s(out), grid=(n,), workgroup=(128,), host=host, lds=2048)
    np.testing.assert_array_equal(host.download(out, np.uint32, n), np.tile(np.arange(128) + 0x1234, 128))
