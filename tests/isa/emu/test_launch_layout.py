"""Initial wave state of a batch: the cached layout of whole workgroups and the general one for
batches with edge workgroups against a per-work-item reference."""

import numpy as np
import pytest
from test_core_launch import descriptor

from isa.emu import Dispatch
from isa.emu.access import Apertures
from isa.emu.launch import Geometry, Kernel, _full_layout, build_batch


def _reference(grid, workgroup, lanes, first_wg, nwg, dims):
    """(v0, exists, workgroup x/y/z per wave) work-item by work-item."""
    cx, cy, _ = (-(-g // w) for g, w in zip(grid, workgroup, strict=True))
    v0, live, ids = [], [], []
    for lin in range(first_wg, first_wg + nwg):
        wid = (lin % cx, (lin // cx) % cy, lin // (cx * cy))
        size = [min(w, g - i * w) for w, g, i in zip(workgroup, grid, wid, strict=True)]
        items = [(x, y, z) for z in range(size[2]) for y in range(size[1]) for x in range(size[0])]
        for first in range(0, len(items), lanes):
            wave = items[first:first + lanes]
            codes = [x | (y << 10 if dims >= 1 else 0) | (z << 20 if dims >= 2 else 0) for x, y, z in wave]
            v0.append(codes + [0] * (lanes - len(wave)))
            live.append([True] * len(wave) + [False] * (lanes - len(wave)))
            ids.append(wid)
    return np.array(v0, np.uint32), np.array(live), np.array(ids, np.uint32)


@pytest.mark.parametrize("grid, workgroup, wave64", [
    ((1024, 1, 1), (256, 1, 1), False),
    ((1000, 1, 1), (256, 1, 1), False),          # a partial last workgroup
    ((48, 40, 1), (16, 16, 1), True),
    ((20, 6, 5), (8, 4, 2), False),
])
def test_batches_start_with_the_work_item_ids_and_exec_of_their_workgroups(grid, workgroup, wave64):
    kd = descriptor(wave64=wave64, wg_ids=(True, True, True), workitem_dims=2)
    d = Dispatch(0x1000, kd, grid, workgroup)
    kernel = Kernel.of(d)
    geo = Geometry(grid, workgroup, kernel.lanes)
    total = geo.workgroups
    for first, count in ((0, 2), (total - 3, 3), (0, total)):
        b = build_batch(kernel, d, geo, first, count, 8, 0, 0, 0, 0, Apertures())
        v0, live, ids = _reference(grid, workgroup, kernel.lanes, first, count, 2)
        np.testing.assert_array_equal(b.V[0], v0)
        np.testing.assert_array_equal(b.exec, live)
        np.testing.assert_array_equal(b.mask(126, slice(None)), live)
        np.testing.assert_array_equal(b.S[2:5].T, ids)
    assert not _full_layout.cache_info().currsize or not _full_layout(tuple(workgroup), 2, kernel.lanes,
                                                                      2).v0.flags.writeable


def test_hardware_registers_read_per_wave_across_batches():
    """Hardware registers are made when first read: each batch's waves see their own ids, and a
    write to MODE stays with its wave."""
    from test_core_launch import run_asm, u64s

    from isa.emu import Emulator, Host
    body = """
        s_load_b64 s[20:21], s[0:1], 0x0
        s_getreg_b32 s4, hwreg(HW_REG_HW_ID1)
        s_getreg_b32 s5, hwreg(HW_REG_HW_ID2)
        s_getreg_b32 s6, hwreg(HW_REG_GPR_ALLOC)
        s_getreg_b32 s7, hwreg(HW_REG_LDS_ALLOC)
        s_getreg_b32 s8, hwreg(HW_REG_SH_MEM_BASES)
        s_getreg_b32 s9, hwreg(HW_REG_TRAPSTS)
        s_setreg_b32 hwreg(HW_REG_MODE, 0, 4), s2
        s_getreg_b32 s10, hwreg(HW_REG_MODE, 0, 4)
        v_lshrrev_b32 v1, 5, v0
        v_mad_u32_u24 v1, s2, 4, v1                  // the wave's index in the dispatch
        v_lshlrev_b32 v1, 5, v1                      // 8 dwords per wave
        s_waitcnt lgkmcnt(0)
    """
    for k in range(7):
        body += f"v_mov_b32 v2, s{4 + k}\nglobal_store_b32 v1, v2, s[20:21] offset:{4 * k}\n"
    host = Host(emulator=Emulator(batch_lanes=256))         # two workgroups a batch
    out = host.alloc(4 * 8 * 40)
    run_asm(body, args=u64s(out), grid=(128 * 10,), workgroup=(128,), host=host, lds=1024, vgprs=16)
    got = host.download(out, np.uint32, 8 * 40).reshape(40, 8)
    w = np.arange(40)
    hw_id1 = (w & 15) | (((w >> 4) & 3) << 8) | (((w >> 6) & 15) << 10)
    np.testing.assert_array_equal(got[:, 0], hw_id1)
    assert (got[:, 1] == 0).all() and (got[:, 5] == 0).all()
    assert (got[:, 2] == (16 // 8 - 1) << 8).all()
    assert (got[:, 3] == 2 << 12).all()
    assert (got[:, 4] == 0x10002).all()
    np.testing.assert_array_equal(got[:, 6], (w // 4) & 15)
