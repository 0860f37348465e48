"""DPP16 and DPP8 source swizzles: src0 of a VALU instruction read from another lane of the same
row (16 lanes) or group of 8 lanes.

A DPP reader returns (values [n, L], ok [n, L] bool or None): lanes whose `ok` is False must not
be written (source lane out of its row or inactive without bound_ctrl, or the lane's row / bank
disabled by row_mask / bank_mask). With bound_ctrl an invalid source reads as 0 and the lane is
written.
"""

import numpy as np

from isa.emu.state import U32, U64

ROW = 16


def dpp16_lanes(ctrl: int, lanes: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(source lane, source lane valid) per lane for a DPP16 control value, or None if the
    control is not one gfx11 executes."""
    lane = np.arange(lanes)
    pos = lane % ROW
    base = lane - pos
    valid = np.ones(lanes, bool)
    if ctrl <= 0xFF:                                   # quad_perm
        sel = (ctrl >> (2 * (lane & 3))) & 3
        src = (lane & ~3) | sel
    elif 0x101 <= ctrl <= 0x10F:                       # row_shl: read from the lane n above
        n = ctrl & 0xF
        src = lane + n
        valid = pos + n < ROW
    elif 0x111 <= ctrl <= 0x11F:                       # row_shr: read from the lane n below
        n = ctrl & 0xF
        src = lane - n
        valid = pos - n >= 0
    elif 0x121 <= ctrl <= 0x12F:                       # row_ror: rotate right within the row
        n = ctrl & 0xF
        src = base + (pos - n) % ROW
    elif ctrl == 0x140:                                # row_mirror
        src = base + (ROW - 1 - pos)
    elif ctrl == 0x141:                                # row_half_mirror
        src = base + (pos & 8) + (7 - (pos & 7))
    elif 0x150 <= ctrl <= 0x15F:                       # row_share: every lane reads lane n of its row
        src = base + (ctrl & 0xF)
    elif 0x160 <= ctrl <= 0x16F:                       # row_xmask: lane ^ n within the row
        src = base + (pos ^ (ctrl & 0xF))
    else:
        return None
    src = np.where(valid, src, lane)
    return src.astype(np.intp), valid


def dpp16_write_mask(row_mask: int, bank_mask: int, lanes: int) -> np.ndarray:
    lane = np.arange(lanes)
    row_on = (row_mask >> (lane // ROW)) & 1
    bank_on = (bank_mask >> ((lane % ROW) // 4)) & 1
    return (row_on & bank_on).astype(bool)


def dpp8_lanes(selects: list[int], lanes: int) -> np.ndarray:
    lane = np.arange(lanes)
    return ((lane & ~7) | np.array(selects)[lane & 7]).astype(np.intp)


def _rows(b, g, r, wide):
    x = b.V[r, g.sel]
    if wide:
        x = x.astype(U64) | (b.V[r + 1, g.sel].astype(U64) << U64(32))
    return x


def dpp16_reader(r: int, wide: bool, ctrl: int, row_mask: int, bank_mask: int, bound_ctrl: bool,
                 fetch_inactive: bool, lanes: int):
    from isa.emu.errors import IllegalInstruction
    table = dpp16_lanes(ctrl, lanes)
    if table is None:
        raise IllegalInstruction(f"DPP control 0x{ctrl:x} is not supported on gfx11")
    src, valid = table
    written = dpp16_write_mask(row_mask, bank_mask, lanes)
    static_ok = None if written.all() else written
    needs_exec = not fetch_inactive
    all_valid = bool(valid.all())
    zero = U64(0) if wide else U32(0)

    def read(b, g):
        vals = _rows(b, g, r, wide)[:, src]
        ok_src = valid if not needs_exec else (valid & b.exec[g.sel][:, src])
        if all_valid and not needs_exec:
            return vals, static_ok
        if bound_ctrl:
            vals = np.where(ok_src, vals, zero)
            return vals, static_ok
        ok = np.broadcast_to(ok_src, vals.shape)
        if static_ok is not None:
            ok = ok & static_ok
        return vals, ok
    return read


def dpp8_reader(r: int, wide: bool, selects: list[int], fetch_inactive: bool, lanes: int):
    src = dpp8_lanes(selects, lanes)
    zero = U64(0) if wide else U32(0)

    def read(b, g):
        vals = _rows(b, g, r, wide)[:, src]
        if fetch_inactive:
            return vals, None
        return np.where(b.exec[g.sel][:, src], vals, zero), None
    return read
