"""DS instructions: LDS loads, stores and atomics (per workgroup memory, one row of Batch.lds per
workgroup), the LDS-free lane shuffles ds_swizzle / ds_permute / ds_bpermute, and ds_append /
ds_consume.

An LDS access outside the workgroup's allocation reads 0 and writes nothing. Unaligned accesses
are allowed (gfx11 runs compute in unaligned mode). GDS and the graphics-only DS ops are not
executed.
"""

import numpy as np

from isa.emu import atomics, datamove, lazy
from isa.emu.access import Ctx, active, read_vgprs, store, write_vgprs
from isa.emu.errors import IllegalInstruction
from isa.emu.memory import gather_bytes, scatter_bytes
from isa.emu.state import M0, U32, U64, Batch, Group

LDS_GRANULE = 512

_ATOMIC_NAMES = {
    "add": "add", "sub": "sub", "rsub": "rsub", "inc": "inc", "dec": "dec", "and": "and", "or": "or",
    "xor": "xor", "mskor": "mskor", "storexchg": "swap", "cmpstore": "cmpswap", "wrap": "wrap",
    "condxchg32": "condxchg",
}
_UNSUPPORTED = ("ds_gws_", "ds_ordered_count", "ds_add_gs_reg", "ds_sub_gs_reg", "ds_bvh_stack")


# ---------------------------------------------------------------------------------------------
# addresses

def lane_base(b: Batch, g: Group, unit: int = 1) -> np.ndarray:
    """Offset of each active lane's workgroup LDS in Batch.lds, in bytes (unit 1) or dwords
    (unit 4), int64 [N] (cached per EXEC)."""
    key = ("lds", unit)
    base = g.cache.get(key)
    if base is None:
        per_wave = b.wg[g.idx] * (b.lds.shape[1] * 4 // unit)
        base = np.repeat(per_wave, b.L) if g.full else np.broadcast_to(per_wave[:, None], (g.n, b.L))[g.exec]
        g.cache[key] = base
    return base


def lds_size(b: Batch) -> int:
    """The workgroup's LDS allocation in bytes (whole allocation granules)."""
    return min(b.lds.shape[1] * 4, -(-b.lds_bytes // LDS_GRANULE) * LDS_GRANULE)


def _addresses(b: Batch, g: Group, r: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """(LDS byte address within the workgroup [N] uint32, absolute offset into Batch.lds [N]
    int64) of the active lanes."""
    if b.lazy:
        lazy.settle(b, (r,))
    v = b.V[r, g.sel]
    if offset:
        v = v + U32(offset)                     # 32-bit address arithmetic wraps
    a = active(g, v)
    return a, lane_base(b, g) + a


INDEX_CACHE_SIZE = 8


class Lanes:
    """Where a full group's lanes access LDS for the addresses in one VGPR: a dword index into
    Batch.lds per lane, and -- when every workgroup of the group addresses its LDS with the same
    pattern, as kernels that derive LDS addresses from local ids do -- the pattern's shape, which
    turns a gather into slices and broadcasts:

    - 'block':  lane i of each workgroup uses dword first + i (a contiguous run);
    - 'tile':   the lanes repeat the run of dwords `distinct` `reps` times (tx-indexed reads);
    - 'repeat': each dword of `distinct` serves `reps` consecutive lanes (ty-indexed reads)."""

    __slots__ = ("index", "top", "bits", "rows", "kind", "first", "distinct", "reps", "run", "step")

    def __init__(self, index: np.ndarray, top: int, bits: int = 0):
        self.index = index
        self.top = top                  # highest byte address of any lane
        self.bits = bits                # the addresses or-ed together (their common alignment)
        self.rows = None                # slice of Batch.lds rows (workgroups) when kind is set
        self.kind = None
        self.first = 0
        self.distinct = None
        self.reps = 1
        self.run = None                 # tile: the numpy item type of one run of distinct dwords
        self.step = 0                   # tile, repeat: distinct[i] == distinct[0] + i * step, when > 0


def _size_alignment(nbytes: int) -> int:
    """The power of two at or above an access size: accesses aligned to it never partly overlap."""
    return 1 << (nbytes - 1).bit_length()


def _workgroup_rows(b: Batch, g: Group) -> slice | None:
    """The group's workgroups as a slice of Batch.lds rows when the group is consecutive
    workgroups with equally many of its waves each (so its lanes form one row per workgroup)."""
    wg = b.wg[g.sel]
    w0, w1 = int(wg[0]), int(wg[-1]) + 1
    if g.n % (w1 - w0) or not (wg == np.repeat(np.arange(w0, w1), g.n // (w1 - w0))).all():
        return None
    return slice(w0, w1)


def _classify(lanes: Lanes, pattern: np.ndarray) -> None:
    """Sets the kind of a workgroup's dword pattern (int64 [per])."""
    per = pattern.size
    first = int(pattern[0])
    if (pattern == first + np.arange(per)).all():
        lanes.kind, lanes.first = "block", first
        return
    again = np.flatnonzero(pattern[1:] == first)
    period = int(again[0]) + 1 if again.size else per
    if period < per and per % period == 0 and (pattern.reshape(-1, period) == pattern[:period]).all():
        lanes.kind, lanes.distinct, lanes.reps = "tile", pattern[:period].copy(), per // period
        lanes.run = np.dtype((np.void, 4 * period))
        lanes.step = _step(lanes.distinct)
        return
    changes = np.flatnonzero(pattern[1:] != first)
    run = int(changes[0]) + 1 if changes.size else per
    if run > 1 and per % run == 0 and (pattern.reshape(-1, run) == pattern[::run, None]).all():
        lanes.kind, lanes.distinct, lanes.reps = "repeat", pattern[::run].copy(), run
        lanes.step = _step(lanes.distinct)


def _step(distinct: np.ndarray) -> int:
    """The step of an increasing arithmetic progression (which a slice selects), else 0."""
    if distinct.size < 2:
        return 1
    step = int(distinct[1] - distinct[0])
    return step if step > 0 and (np.diff(distinct) == step).all() else 0


def _columns(rows: np.ndarray, lanes: Lanes, col: int) -> np.ndarray:
    """The distinct dwords (plus col) of every row: a view when they are evenly spaced."""
    if lanes.step:
        start = int(lanes.distinct[0]) + col
        return rows[:, start:start + lanes.step * (lanes.distinct.size - 1) + 1:lanes.step]
    return np.take(rows, lanes.distinct + col, axis=1)


def _dword_index(b: Batch, g: Group, r: int) -> Lanes | None:
    """How a full group's lanes access LDS for the addresses in VGPR r, or None when one is
    not dword aligned. Tiled kernels address LDS with the same registers over a whole loop, so
    the result is kept per register (and group) for as long as the register holds the same
    addresses. A held register (isa.emu.lazy) is kept by its value, which never changes: its
    addresses need no comparing."""
    held = lazy.get(b, g, r) if b.lazy and g.contiguous else None
    if held is not None:
        key = ("held", r, g.sel.start, g.sel.stop)
        kept = b.lds_index.get(key)
        if kept is not None and kept[0] is held:
            return kept[1]
        a = held.rows(g.n, b.L)
    else:
        if b.lazy:
            lazy.settle(b, (r,))                    # held for other waves
        a = b.V[r, g.sel]
        key = (r, g.sel.start, g.sel.stop) if g.contiguous else None
        kept = b.lds_index.get(key) if key is not None else None
        if kept is not None and (kept[0] == a).all():     # the same group: the same shape
            return kept[1]
    flat = a.reshape(-1)
    bits = int(np.bitwise_or.reduce(flat))
    if bits & 3:
        return None
    dwords = (flat >> U32(2)).astype(np.int64)
    lanes = Lanes(lane_base(b, g, 4) + dwords, int(flat.max()), bits)
    if key is not None:
        rows = _workgroup_rows(b, g)
        if rows is not None:
            per_wg = dwords.reshape(rows.stop - rows.start, -1)
            if (per_wg == per_wg[0]).all():
                lanes.rows = rows
                _classify(lanes, per_wg[0])
        if len(b.lds_index) >= INDEX_CACHE_SIZE:
            b.lds_index.clear()
        b.lds_index[key] = (held if held is not None else a.copy(), lanes)
    return lanes


def _fast_dwords(b: Batch, g: Group, r: int, offsets: tuple[int, ...], dwords: int) -> Lanes | None:
    """The lanes' LDS accesses for the fast path -- every lane active, dword aligned, inside
    the allocation -- or None when the general path must run."""
    if not g.full or not g.n or (offsets[0] | offsets[-1]) & 3:
        return None
    lanes = _dword_index(b, g, r)
    if lanes is None or lanes.top > lds_size(b) - max(offsets[0], offsets[-1]) - 4 * dwords:
        return None
    return lanes


def _load_words(b: Batch, g: Group, r: int, rd: int, offsets: tuple[int, ...], dwords: int) -> bool:
    """The fast path of LDS loads: VGPRs rd.. from one gather per loaded dword, each from a
    view that starts at the dword's offset (no index arithmetic), or from slices and broadcasts
    when the workgroups share an address pattern. False when it does not apply. The indices
    are known to be in range; numpy's 'wrap' mode is the fastest take."""
    lanes = _fast_dwords(b, g, r, offsets, dwords)
    if lanes is None:
        return False
    if b.lazy:                                  # the address may have been held in a destination
        lazy.overwrite(b, g, rd, dwords * len(offsets))
    words = b.lds.reshape(-1)
    rows = b.lds[lanes.rows] if lanes.kind is not None else None
    dst = rd
    for o in offsets:
        for i in range(dwords):
            col = o // 4 + i
            if rows is not None:
                out = b.V[dst, g.sel].reshape(rows.shape[0], -1)
                if lanes.kind == "block":
                    out[...] = rows[:, lanes.first + col:lanes.first + col + out.shape[1]]
                elif lanes.kind == "tile":
                    # each row of distinct dwords copied as one item into every place it repeats
                    vals = _columns(rows, lanes, col)
                    if lanes.step != 1:
                        vals = np.ascontiguousarray(vals)
                    out.reshape(rows.shape[0], lanes.reps, -1).view(lanes.run)[...] = vals.view(lanes.run)[:, None, :]
                else:
                    out[...] = np.repeat(_columns(rows, lanes, col), lanes.reps, axis=1)
            elif g.contiguous:                  # straight into the register rows
                np.take(words[col:], lanes.index, out=b.V[dst, g.sel].reshape(-1), mode="wrap")
            else:
                b.V[dst, g.sel] = words[col:].take(lanes.index, mode="wrap").reshape(g.n, b.L)
            dst += 1
    return True


def _store_words(b: Batch, g: Group, r: int, r0: int, offset: int, dwords: int) -> bool:
    """The fast path of LDS stores (the counterpart of _load_words); later lanes win where
    lanes share a dword, as on hardware. It stores dword by dword, which equals storing lane by
    lane only where no two lanes' accesses partly overlap: multi-dword stores need addresses
    aligned to their size."""
    lanes = _fast_dwords(b, g, r, (offset,), dwords)
    if lanes is None or (dwords > 1 and (lanes.bits | offset) & (_size_alignment(4 * dwords) - 1)):
        return False
    words = b.lds.reshape(-1)
    for i in range(dwords):
        col = offset // 4 + i
        if lanes.kind == "block":
            rows = b.lds[lanes.rows]
            per = b.V[r0 + i, g.sel].reshape(rows.shape[0], -1)
            rows[:, lanes.first + col:lanes.first + col + per.shape[1]] = per
        else:
            words[col:][lanes.index] = b.V[r0 + i, g.sel].reshape(-1)
    return True


def lds_read(b: Batch, a: np.ndarray, pos: np.ndarray, nbytes: int) -> np.ndarray:
    """Bytes [N, nbytes]; lanes outside the allocation read 0."""
    inside = a.astype(np.int64) <= lds_size(b) - nbytes
    flat = b.lds.reshape(-1).view(np.uint8)
    if inside.all():
        return gather_bytes(flat, pos, nbytes)
    out = np.zeros((a.size, nbytes), np.uint8)
    if inside.any():
        out[inside] = gather_bytes(flat, pos[inside], nbytes)
    return out


def lds_write(b: Batch, a: np.ndarray, pos: np.ndarray, data: np.ndarray) -> None:
    nbytes = data.shape[1]
    inside = a.astype(np.int64) <= lds_size(b) - nbytes
    flat = b.lds.reshape(-1).view(np.uint8)
    if inside.all():
        scatter_bytes(flat, pos, data)
    elif inside.any():
        scatter_bytes(flat, pos[inside], data[inside])


def _note(b: Batch, g: Group, pos: np.ndarray, nbytes: int, write: bool) -> None:
    if b.hazards is not None:
        b.hazards.lds_access(b, g, pos, nbytes, write)


# ---------------------------------------------------------------------------------------------
# instruction builders

def _load(inst, ctx: Ctx, kind: str):
    f = inst.fields
    shape = datamove.parse(kind)
    offset = f["offset0"] | (f["offset1"] << 8)
    ra, rd = f["addr"], f["vdst"]
    ctx.use_vgpr(ra)
    ctx.use_vgpr(rd, shape.dwords)

    written = tuple(range(rd, rd + shape.dwords))

    def load(b, g):
        if b.hazards is None and shape.nbytes % 4 == 0 and _load_words(b, g, ra, rd, (offset,), shape.dwords):
            return
        a, pos = _addresses(b, g, ra, offset)
        _note(b, g, pos, shape.nbytes, False)
        raw = lds_read(b, a, pos, shape.nbytes)
        if b.lazy:
            lazy.settle(b, written)
        write_vgprs(b, g, rd, datamove.to_vgprs(raw, shape), shape.half)
    load.lazy_registers = (ra, *written)          # settled here, dropped by the fast path
    return load


def _store(inst, ctx: Ctx, kind: str):
    f = inst.fields
    shape = datamove.parse(kind)
    offset = f["offset0"] | (f["offset1"] << 8)
    ra, r0 = f["addr"], f["data0"]
    ctx.use_vgpr(ra)
    ctx.use_vgpr(r0, shape.dwords)

    def store_(b, g):
        if b.hazards is None and shape.nbytes % 4 == 0 and _store_words(b, g, ra, r0, offset, shape.dwords):
            return
        a, pos = _addresses(b, g, ra, offset)
        _note(b, g, pos, shape.nbytes, True)
        lds_write(b, a, pos, datamove.from_vgprs(read_vgprs(b, g, r0, shape.dwords), shape))
    if not r0 <= ra < r0 + shape.dwords:
        store_.lazy_registers = (ra,)
    return store_


def _two_addr(inst, ctx: Ctx, m: str):
    f = inst.fields
    size = 8 if m.endswith("b64") else 4
    scale = size * (64 if "stride64" in m else 1)
    off0, off1 = f["offset0"] * scale, f["offset1"] * scale
    ra = f["addr"]
    dw = size // 4
    ctx.use_vgpr(ra)
    if "_load_" in m:
        rd = f["vdst"]
        ctx.use_vgpr(rd, 2 * dw)

        written = tuple(range(rd, rd + 2 * dw))

        def load2(b, g):
            if b.hazards is None and _load_words(b, g, ra, rd, (off0, off1), dw):
                return
            parts = []
            for off in (off0, off1):
                a, pos = _addresses(b, g, ra, off)
                _note(b, g, pos, size, False)
                parts.append(lds_read(b, a, pos, size).view(U32).reshape(-1, dw))
            if b.lazy:
                lazy.settle(b, written)
            write_vgprs(b, g, rd, np.concatenate(parts, axis=1))
        load2.lazy_registers = (ra, *written)
        return load2
    r0, r1 = f["data0"], f["data1"]
    ctx.use_vgpr(r0, dw)
    ctx.use_vgpr(r1, dw)
    if "storexchg" in m:
        rd = f["vdst"]
        ctx.use_vgpr(rd, 2 * dw)
        op = atomics.Op("swap", 8 * size)

        def xchg2(b, g):
            rets = []
            for off, r in ((off0, r0), (off1, r1)):
                a, pos = _addresses(b, g, ra, off)
                rets.append(atomic_apply(b, a, pos, size, op, _data(b, g, r, dw), None).reshape(-1, dw))
            write_vgprs(b, g, rd, np.concatenate(rets, axis=1))
        return xchg2

    def store2(b, g):
        for off, r in ((off0, r0), (off1, r1)):
            a, pos = _addresses(b, g, ra, off)
            _note(b, g, pos, size, True)
            lds_write(b, a, pos, read_vgprs(b, g, r, dw).view(np.uint8).reshape(-1, size))
    return store2


def _data(b, g, r, dw):
    d = read_vgprs(b, g, r, dw)
    if dw == 2:
        return d[:, 0].astype(U64) | (d[:, 1].astype(U64) << U64(32))
    return d[:, 0]


def atomic_apply(b: Batch, a, pos, size: int, op: atomics.Op, data, data2):
    """Applies an LDS atomic for the active lanes in order; returns the pre-op values."""
    inside = np.asarray(a).astype(np.int64) <= lds_size(b) - size
    view = b.lds.reshape(-1).view(U64 if size == 8 else U32)
    rets = np.zeros(a.size, op.ut)
    if not inside.any():
        return rets
    idx = pos[inside] // size
    keys, inv = np.unique(idx, return_inverse=True)
    got, final = atomics.resolve(op, view[keys], inv.reshape(-1), data[inside],
                                 None if data2 is None else data2[inside])
    view[keys] = final
    rets[inside] = got
    return rets


def _atomic(inst, ctx: Ctx, m: str):
    f = inst.fields
    parts = m.split("_")
    returns = "rtn" in parts
    typ = parts[-1]
    size = 8 if typ.endswith("64") else 4
    dw = size // 4
    opname = parts[1]
    if opname in ("min", "max"):
        name = f"{opname}_{'f' if typ[0] == 'f' else 'i' if typ[0] == 'i' else 'u'}"
    elif opname == "add" and typ[0] == "f":
        name = "add_f"
    elif opname == "cmpstore" and typ[0] == "f":
        name = "cmpswap_f"
    else:
        name = _ATOMIC_NAMES[opname]
    op = atomics.Op(name, 8 * size)
    offset = f["offset0"] | (f["offset1"] << 8)
    ra, r0, r1, rd = f["addr"], f["data0"], f["data1"], f["vdst"]
    ctx.use_vgpr(ra)
    ctx.use_vgpr(r0, dw)
    if op.uses_data2:
        ctx.use_vgpr(r1, dw)
    if returns:
        ctx.use_vgpr(rd, dw)

    def atomic(b, g):
        a, pos = _addresses(b, g, ra, offset)
        data2 = _data(b, g, r1, dw) if op.uses_data2 else None
        rets = atomic_apply(b, a, pos, size, op, _data(b, g, r0, dw), data2)
        if returns:
            write_vgprs(b, g, rd, np.ascontiguousarray(rets).view(U32).reshape(-1, dw))
    return atomic


def _condxchg(inst, ctx: Ctx):
    f = inst.fields
    offset = f["offset0"] | (f["offset1"] << 8)
    ra, r0, rd = f["addr"], f["data0"], f["vdst"]
    ctx.use_vgpr(ra)
    ctx.use_vgpr(r0, 2)
    ctx.use_vgpr(rd, 2)
    op = atomics.Op("condxchg", 32)

    def condxchg(b, g):
        a, _ = _addresses(b, g, ra, offset)
        a = a & 0xFFF8
        base = lane_base(b, g)
        data = read_vgprs(b, g, r0, 2)
        rets = []
        for half in range(2):
            ah = a + 4 * half
            rets.append(atomic_apply(b, ah, base + ah, 4, op, data[:, half], None))
        write_vgprs(b, g, rd, np.stack(rets, axis=1))
    return condxchg


def _addtid(inst, ctx: Ctx, load: bool):
    f = inst.fields
    offset = f["offset0"] | (f["offset1"] << 8)
    r = f["vdst"] if load else f["data0"]
    ctx.use_vgpr(r)

    def addtid(b, g):
        m0 = (b.S[M0, g.sel].astype(np.int64) & 0xFFFF) + offset
        a = active(g, (m0[:, None] + 4 * b.lane_ids.astype(np.int64)) & 0xFFFFFFFF)
        pos = lane_base(b, g) + a
        _note(b, g, pos, 4, not load)
        if load:
            write_vgprs(b, g, r, lds_read(b, a, pos, 4).view(U32).reshape(-1, 1))
        else:
            lds_write(b, a, pos, read_vgprs(b, g, r, 1).view(np.uint8).reshape(-1, 4))
    return addtid


def _append(inst, ctx: Ctx, consume: bool):
    f = inst.fields
    offset = f["offset0"] | (f["offset1"] << 8)
    rd = f["vdst"]
    ctx.use_vgpr(rd)
    op = atomics.Op("sub" if consume else "add", 32)

    def append(b, g):
        a = (b.S[M0, g.sel].astype(np.int64) & 0xFFFF) + offset
        pos = b.wg[g.idx] * (b.lds.shape[1] * 4) + a
        counts = g.exec.sum(axis=1).astype(U32)
        rets = atomic_apply(b, a, pos, 4, op, counts, None)
        write_vgprs(b, g, rd, active(g, np.broadcast_to(rets[:, None], (g.n, b.L))).reshape(-1, 1))
    return append


# ---------------------------------------------------------------------------------------------
# lane shuffles through the LDS crossbar (no LDS memory involved)

def swizzle_lanes(offset: int, lanes: int) -> np.ndarray:
    """The source lane of each lane for a ds_swizzle_b32 offset (patterns repeat per 32 lanes)."""
    i = np.arange(lanes)
    lo = i & 0x1F
    if offset >= 0xE000:                                     # FFT
        mask = offset & 0x1F
        rev = np.array([int(f"{x:05b}"[::-1], 2) for x in lo])
        j = (rev >> bin(mask).count("1")) | (i & mask)
    elif offset >= 0xC000:                                   # rotate within 32 lanes
        amount = (offset >> 5) & 0x1F
        j = (lo - amount) % 32 if (offset >> 10) & 1 else (lo + amount) % 32
    elif offset & 0x8000:                                    # quad permute
        j = (lo & ~3) | ((offset >> (2 * (lo & 3))) & 3)
    else:                                                    # and / or / xor masks
        j = ((lo & (offset & 0x1F)) | ((offset >> 5) & 0x1F)) ^ ((offset >> 10) & 0x1F)
    return ((j & 0x1F) | (i & 0x20)).astype(np.intp)


def _swizzle(inst, ctx: Ctx):
    f = inst.fields
    src = swizzle_lanes(f["offset0"] | (f["offset1"] << 8), ctx.lanes)
    r0, rd = f["addr"], f["vdst"]             # the data comes through the address field
    ctx.use_vgpr(r0)
    ctx.use_vgpr(rd)

    def swizzle(b, g):
        vals = b.V[r0, g.sel][:, src]
        vals = np.where(g.exec[:, src], vals, U32(0))
        store(b, g, rd, vals, None)
    return swizzle


def _permute(inst, ctx: Ctx, backward: bool):
    f = inst.fields
    offset = f["offset0"] | (f["offset1"] << 8)
    ra, r0, rd = f["addr"], f["data0"], f["vdst"]
    ctx.use_vgpr(ra)
    ctx.use_vgpr(r0)
    ctx.use_vgpr(rd)
    half = (np.arange(ctx.lanes) & 0x20)

    def permute(b, g):
        lane = (((b.V[ra, g.sel].astype(np.int64) + offset) >> 2) & 0x1F) | half
        data = b.V[r0, g.sel]
        if backward:                    # ds_bpermute: each lane reads the lane it names
            vals = np.take_along_axis(data, lane, axis=1)
            vals = np.where(np.take_along_axis(g.exec, lane, axis=1), vals, U32(0))
        else:                           # ds_permute: each active lane writes to the lane it names
            vals = np.zeros_like(data)
            rows = np.broadcast_to(np.arange(g.n)[:, None], lane.shape)
            ex = g.exec
            vals[rows[ex], lane[ex]] = data[ex]
        store(b, g, rd, vals, None)
    return permute


def compile_ds(inst, ctx: Ctx):
    m = inst.op.mnemonic
    f = inst.fields
    if f.get("gds", 0) or m.startswith(_UNSUPPORTED):
        raise IllegalInstruction(f"{m}: GDS / graphics DS operations are not executed")
    if m == "ds_nop":
        return lambda b, g: None
    if m == "ds_swizzle_b32":
        return _swizzle(inst, ctx)
    if m in ("ds_permute_b32", "ds_bpermute_b32"):
        return _permute(inst, ctx, backward=m == "ds_bpermute_b32")
    if m in ("ds_append", "ds_consume"):
        return _append(inst, ctx, consume=m == "ds_consume")
    if m in ("ds_load_addtid_b32", "ds_store_addtid_b32"):
        return _addtid(inst, ctx, load=m.startswith("ds_load"))
    if m == "ds_condxchg32_rtn_b64":
        return _condxchg(inst, ctx)
    if "2addr" in m:
        return _two_addr(inst, ctx, m)
    if m.startswith("ds_load_"):
        return _load(inst, ctx, m[len("ds_load_"):])
    if m.startswith("ds_store_") and "xchg" not in m:
        return _store(inst, ctx, m[len("ds_store_"):])
    return _atomic(inst, ctx, m)

