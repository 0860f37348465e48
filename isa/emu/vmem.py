"""Vector memory instructions: GLOBAL, FLAT (routed per lane to global memory, LDS or scratch by
the address's aperture), SCRATCH, and MUBUF with buffer resources.

Private (scratch) memory is swizzled as the hardware lays it out: dword d of lane l of a wave
lives at wave_base + (d * lanes + l) * 4, so a wave's lanes touching the same private offset touch
consecutive dwords. wave_base is the wave's FLAT_SCRATCH (Batch.scratch_base).

Every access of every active lane of the group goes to the Memory in one gather or scatter;
atomics resolve conflicting lanes in wave, then lane order (isa.emu.atomics).
"""

import numpy as np

from isa.emu import atomics, datamove, lazy
from isa.emu.access import Ctx, active, read_vgprs, scalar_source, spread, store, write_vgprs
from isa.emu.errors import IllegalInstruction, MemoryFault
from isa.emu.lds import atomic_apply, lds_read, lds_write
from isa.emu.memory import access_lock
from isa.emu.state import NULL, U32, U64, Batch, Group, pair64

MASK32 = U64(0xFFFFFFFF)
_ATOMIC_NAMES = {"swap": "swap", "cmpswap": "cmpswap", "add": "add", "sub": "sub", "csub": "csub",
                 "and": "and", "or": "or", "xor": "xor", "inc": "inc", "dec": "dec"}


def _sext(value: int, bits: int) -> int:
    return value - (1 << bits) if value & (1 << (bits - 1)) else value


def _lane_coords(b: Batch, g: Group) -> tuple[np.ndarray, np.ndarray]:
    """(group row, lane) of each active lane."""
    rows = np.broadcast_to(np.arange(g.n)[:, None], (g.n, b.L))
    lanes = np.broadcast_to(np.arange(b.L)[None, :], (g.n, b.L))
    return active(g, rows), active(g, lanes)


# ---------------------------------------------------------------------------------------------
# memory access with fault attribution

def _blame(e: MemoryFault, b: Batch, g: Group, addrs: np.ndarray, nbytes: int, rows=None) -> MemoryFault:
    """Names the first wave whose lane made the faulting access (`rows`: the group row of each
    access; by default one access per active lane)."""
    if e.wave is None and addrs.size:
        if rows is None:
            rows, _ = _lane_coords(b, g)
        hit = np.nonzero((addrs <= U64(e.address)) & (U64(e.address) < addrs + U64(max(nbytes, 1))))[0]
        if hit.size and rows.size == addrs.size:
            e.wave = int(b.wave_id[g.idx[rows[hit[0]]]])
    return e


def mem_read(b: Batch, g: Group, addrs: np.ndarray, nbytes: int, rows=None) -> np.ndarray:
    try:
        return b.memory.read(addrs, nbytes)
    except MemoryFault as e:
        raise _blame(e, b, g, addrs, nbytes, rows) from None


def mem_write(b: Batch, g: Group, addrs: np.ndarray, data: np.ndarray, rows=None) -> None:
    try:
        b.memory.write(addrs, data)
    except MemoryFault as e:
        raise _blame(e, b, g, addrs, data.shape[1], rows) from None


# ---------------------------------------------------------------------------------------------
# private memory (scratch) layout

class Private:
    """The physical accesses that implement `nbytes` at private offsets `p` of the given lanes:
    whole swizzled dwords when aligned, single bytes otherwise."""

    def __init__(self, b: Batch, g: Group, p: np.ndarray, nbytes: int, rows=None, lanes=None):
        if rows is None:
            rows, lanes = _lane_coords(b, g)
        base = b.scratch_base[g.idx[rows]]
        stride = U64(4 * b.L)
        lane_off = lanes.astype(U64) * U64(4)
        self.n = p.size
        self.nbytes = nbytes
        self.rows = rows
        low = int(np.bitwise_or.reduce(p & U64(3))) if p.size else 0
        if low == 0 and nbytes % 4 == 0:
            d = (p >> U64(2))[:, None] + np.arange(nbytes // 4, dtype=U64)
            self.addrs = (base[:, None] + d * stride + lane_off[:, None]).reshape(-1)
            self.unit = 4
        elif nbytes < 4 and bool(np.all((p & U64(3)) + U64(nbytes) <= U64(4))):
            self.addrs = base + (p >> U64(2)) * stride + lane_off + (p & U64(3))
            self.unit = nbytes
        else:
            q = p[:, None] + np.arange(nbytes, dtype=U64)
            self.addrs = (base[:, None] + (q >> U64(2)) * stride + lane_off[:, None] + (q & U64(3))).reshape(-1)
            self.unit = 1
        self.rows_per_access = np.repeat(rows, self.addrs.size // max(self.n, 1)) if self.n else rows

    def read(self, b: Batch, g: Group) -> np.ndarray:
        raw = mem_read(b, g, self.addrs, self.unit, self.rows_per_access)
        return raw.reshape(self.n, self.nbytes)

    def write(self, b: Batch, g: Group, data: np.ndarray) -> None:
        mem_write(b, g, self.addrs, np.ascontiguousarray(data).reshape(-1, self.unit), self.rows_per_access)


# ---------------------------------------------------------------------------------------------
# address generation: (batch, group) -> Target describing each active lane's access

class Target:
    """Where the active lanes go: global addresses, and for FLAT the lanes routed to LDS or to
    private memory instead."""

    def __init__(self, addrs: np.ndarray, lds=None, private=None):
        self.addrs = addrs          # uint64 [N] (global lanes; all lanes when lds/private are None)
        self.lds = lds              # None or (lane mask [N], lds offset [N])
        self.private = private      # None or (lane mask [N], private offset [N])


def _global_address(inst, ctx: Ctx):
    f = inst.fields
    offset = _sext(f["offset"], 13)
    r = f["addr"]
    saddr = f["saddr"]
    if saddr != NULL and saddr != 0x7F:
        ctx.use_vgpr(r)
        base = scalar_source(saddr, 64, ctx)

        def gaddr_s(b, g):
            a = base(b, g)[:, None] + b.V[r, g.sel].astype(U64) + U64(offset & 0xFFFFFFFFFFFFFFFF)
            return Target(active(g, a))
        return gaddr_s
    ctx.use_vgpr(r, 2)

    def gaddr_v(b, g):
        a = pair64(b.V[r, g.sel], b.V[r + 1, g.sel])
        if offset:
            a += U64(offset & (2**64 - 1))
        return Target(active(g, a))
    return gaddr_v


def _global_span(inst, ctx: Ctx):
    """For the fast path of dword accesses: (batch, group) -> (base, low) with every lane's
    address base + low (base an int; low uint32 [n, L], or a held lazy.Affine) when the group
    is full and the high address halves (64-bit VGPR form) or the SGPR bases (saddr form) are
    the same for all lanes; else None."""
    f = inst.fields
    offset = _sext(f["offset"], 13)
    r = f["addr"]
    saddr = f["saddr"]
    if saddr != NULL and saddr != 0x7F:
        def span_s(b, g):
            if not g.full:
                return None
            base = b.s64(saddr, g.sel)
            first = int(base[0])
            if g.n > 1 and (int(base.min()) != first or int(base.max()) != first):
                return None
            return first + offset, _low(b, g, r)
        return span_s

    def span_v(b, g):
        if not g.full:
            return None
        held = lazy.get(b, g, r + 1) if b.lazy else None
        if held is not None:
            top = held.same_value()
            if top is None:
                return None
        else:
            if b.lazy:
                lazy.settle(b, (r + 1,))
            hi = b.V[r + 1, g.sel]
            top = int(hi.min())
            if int(hi.max()) != top:
                return None
        return (top << 32) + offset, _low(b, g, r)
    return span_v


def _low(b: Batch, g: Group, r: int):
    """The low address halves in VGPR r: its held Affine (with a base per wave), or its rows."""
    if b.lazy:
        held = lazy.get(b, g, r)
        if held is not None:
            return held if not isinstance(held.base, int) else held.rows(g.n, b.L)
        lazy.settle(b, (r,))
    return b.V[r, g.sel]


def _address_registers(inst) -> tuple[int, ...]:
    f = inst.fields
    return (f["addr"],) if f["saddr"] not in (NULL, 0x7F) else (f["addr"], f["addr"] + 1)


def _flat_span(inst, ctx: Ctx):
    """_global_span for FLAT addresses that all lie outside the LDS and private apertures."""
    f = inst.fields
    offset = f["offset"] & 0xFFF
    r = f["addr"]
    apertures = (ctx.apertures.shared_hi, ctx.apertures.private_hi)

    def span(b, g):
        if not g.full:
            return None
        hi = b.V[r + 1, g.sel]
        top = int(hi.min())
        if int(hi.max()) != top or top in apertures:
            return None
        return (top << 32) + offset, b.V[r, g.sel]
    return span


_RAMPS: dict[tuple[int, int], np.ndarray] = {}


def _ramp(n: int, step: int) -> np.ndarray:
    """uint32 [0, step, 2 * step, ...] of n values (kept: the same sizes come batch after batch)."""
    ramp = _RAMPS.get((n, step))
    if ramp is None:
        if len(_RAMPS) > 8:
            _RAMPS.clear()
        ramp = _RAMPS[(n, step)] = np.arange(0, n * step, step, dtype=U32)
    return ramp


def consecutive(low: np.ndarray, step: int) -> bool:
    """Whether the uint32 values are low[0], low[0] + step, low[0] + 2 * step, ... exactly (no
    wrap past 2**32): each value minus its lane's step multiple, taken mod 2**32, is low[0]
    only then. The last value alone rejects most other patterns."""
    flat = low.reshape(-1)
    first, n = int(flat[0]), flat.size
    last = first + step * (n - 1)
    if last > 0xFFFFFFFF or int(flat[-1]) != last:
        return False
    offsets = flat - _ramp(n, step)
    return int(offsets.min()) == first == int(offsets.max())


_last_ramp: tuple = (None, 0, False)     # the lane pattern last checked: held values share theirs


def _is_ramp(lanes: np.ndarray, step: int) -> bool:
    """Whether the lane pattern is 0, step, 2 * step, ..."""
    global _last_ramp
    last = _last_ramp                   # one tuple: consistent under threads
    if last[0] is not lanes or last[1] != step:
        last = _last_ramp = (lanes, step, bool(np.array_equal(lanes, _ramp(lanes.size, step))))
    return last[2]


def _waves(low: lazy.Affine) -> int:
    return low.base.n if isinstance(low.base, lazy.Ramp) else low.base.size


def _affine_run(low: lazy.Affine, step: int, L: int) -> int | None:
    """low[0] when the held low address halves are low[0], low[0] + step, ... over the
    waves' lanes in order (no wrap past 2**32), else None."""
    base = low.base
    if low.lanes is None:
        return None
    ramp = isinstance(base, lazy.Ramp)
    n = _waves(low)
    first = base.first if ramp else int(base[0])
    if low.span != step * (L - 1) or first + step * (n * L - 1) > 0xFFFFFFFF:
        return None
    if not _is_ramp(low.lanes, step):
        return None
    if ramp:
        return first if n == 1 or base.step == step * L else None
    if n > 1 and not np.array_equal(base - U32(first), _ramp(n, step * L)):
        return None
    return first


def dword_lanes(b: Batch, found, nbytes: int, write: bool):
    """(uint32 view of the memory the lanes touch, each lane's dword index in it as intp [N])
    for a span from _global_span whose lanes are all dword aligned inside one mapping, or None.
    Stores go dword by dword, which equals lane by lane only where no two lanes' accesses
    partly overlap: multi-dword stores need addresses aligned to their size.
    The index is None when lane i accesses the i-th run of nbytes of the view (lanes in
    order, no gaps, no overlaps): the access is a copy of the whole range."""
    words = getattr(b.memory, "words", None)
    if found is None or words is None:
        return None
    base, low = found
    align = (1 << (nbytes - 1).bit_length()) - 1 if write and nbytes > 4 else 3
    if isinstance(low, lazy.Affine):
        first = _affine_run(low, nbytes, b.L)
        if first is not None and base + first >= 0 and (base + first) % 4 == 0:
            view = words(base + first, _waves(low) * b.L * nbytes, write)
            if view is not None:
                return view, None
        if low.no_wrap() and not (base | low.base_or() | low.lanes_or()) & align:
            # every lane at base + its wave's base + its lane's offset: the index is one
            # broadcast add of the two, with no address per lane to inspect
            lo, hi = low.bounds()
            start, n = base + lo, _waves(low)
            if start >= 0 and base + hi + low.span + nbytes <= 1 << 64:
                view = words(start, hi + low.span - lo + nbytes, write)
                if view is None:
                    return None
                waves = ((low.base_array(n) - U32(lo)) >> U32(2)).astype(np.intp)
                lanes = (low.lanes >> 2).astype(np.intp) if low.lanes is not None else np.zeros(b.L, np.intp)
                return view, (waves[:, None] + lanes).reshape(-1)
        low = low.rows(_waves(low), b.L)
    if consecutive(low, nbytes):
        start = base + int(low.reshape(-1)[0])
        if start >= 0 and start % 4 == 0 and start + low.size * nbytes <= 1 << 64:
            view = words(start, low.size * nbytes, write)
            if view is not None:
                return view, None
    lo, hi = int(low.min()), int(low.max())
    start = base + lo
    if start < 0 or (base | int(np.bitwise_or.reduce(low, axis=None))) & align or base + hi + nbytes > 1 << 64:
        return None
    view = words(start, hi - lo + nbytes, write)
    if view is None:
        return None
    index = (low.reshape(-1) >> U32(2)).astype(np.intp)
    if lo:
        index -= lo >> 2
    return view, index


def _flat_address(inst, ctx: Ctx):
    f = inst.fields
    offset = f["offset"] & 0xFFF
    r = f["addr"]
    ctx.use_vgpr(r, 2)
    shared, private = ctx.apertures.shared_hi, ctx.apertures.private_hi

    def faddr(b, g):
        a = active(g, pair64(b.V[r, g.sel], b.V[r + 1, g.sel])) + U64(offset)
        hi = a >> U64(32)
        to_lds = hi == U64(shared)
        to_priv = hi == U64(private)
        if not (to_lds.any() or to_priv.any()):
            return Target(a)
        return Target(a, (to_lds, a & MASK32) if to_lds.any() else None,
                      (to_priv, a & MASK32) if to_priv.any() else None)
    return faddr


def _scratch_address(inst, ctx: Ctx):
    f = inst.fields
    offset = _sext(f["offset"], 13)
    saddr = f["saddr"]
    base = scalar_source(saddr, 32, ctx) if saddr != NULL and saddr != 0x7F else None
    r = f["addr"] if f.get("sve", 0) else None
    if r is not None:
        ctx.use_vgpr(r)

    def saddr_(b, g):
        p = np.full((g.n, b.L), offset & 0xFFFFFFFF, U64)
        if base is not None:
            p = p + base(b, g).astype(U64)[:, None]
        if r is not None:
            p = p + b.V[r, g.sel].astype(U64)
        p = active(g, p & MASK32)
        return Target(np.zeros(0, U64), None, (np.ones(p.size, bool), p))
    return saddr_


# ---------------------------------------------------------------------------------------------
# loads and stores over a Target

def _read(b: Batch, g: Group, t: Target, nbytes: int) -> np.ndarray:
    if t.lds is None and t.private is None:
        return mem_read(b, g, t.addrs, nbytes)
    n = t.private[1].size if t.lds is None and not t.addrs.size else t.addrs.size
    out = np.zeros((n, nbytes), np.uint8)
    rest = np.ones(n, bool)
    rows, lanes = _lane_coords(b, g)
    for route, kind in ((t.lds, "lds"), (t.private, "private")):
        if route is None:
            continue
        mask, off = route
        rest &= ~mask
        if kind == "lds":
            a = off[mask].astype(np.int64)
            out[mask] = lds_read(b, a, b.wg[g.idx[rows[mask]]] * (b.lds.shape[1] * 4) + a, nbytes)
        else:
            out[mask] = Private(b, g, off[mask], nbytes, rows[mask], lanes[mask]).read(b, g)
    if rest.any():
        out[rest] = mem_read(b, g, t.addrs[rest], nbytes, rows[rest])
    return out


def _write(b: Batch, g: Group, t: Target, data: np.ndarray) -> None:
    nbytes = data.shape[1]
    if t.lds is None and t.private is None:
        mem_write(b, g, t.addrs, data)
        return
    n = data.shape[0]
    rest = np.ones(n, bool)
    rows, lanes = _lane_coords(b, g)
    for route, kind in ((t.lds, "lds"), (t.private, "private")):
        if route is None:
            continue
        mask, off = route
        rest &= ~mask
        if kind == "lds":
            a = off[mask].astype(np.int64)
            lds_write(b, a, b.wg[g.idx[rows[mask]]] * (b.lds.shape[1] * 4) + a, data[mask])
        else:
            Private(b, g, off[mask], nbytes, rows[mask], lanes[mask]).write(b, g, data[mask])
    if rest.any():
        mem_write(b, g, t.addrs[rest], data[rest], rows[rest])


def _load(address, shape: datamove.Shape, rd: int, ctx: Ctx, span=None, addr_regs=()):
    ctx.use_vgpr(rd, shape.dwords)

    def load(b, g):
        t = address(b, g)
        raw = _read(b, g, t, shape.nbytes)
        write_vgprs(b, g, rd, datamove.to_vgprs(raw, shape), shape.half)
    if span is not None and shape.nbytes % 4 == 0:
        written = tuple(range(rd, rd + shape.dwords))

        def load_dwords(b, g):
            with access_lock(b.memory):
                found = dword_lanes(b, span(b, g), shape.nbytes, False)
                if found is not None:
                    return _load_found(b, g, found, rd, shape.dwords)
            if b.lazy:
                lazy.settle(b, addr_regs + written)
            return load(b, g)
        load_dwords.lazy_registers = addr_regs + written
        return load_dwords
    if shape.nbytes == 4 and shape.half is None:
        def load_b32(b, g):
            t = address(b, g)
            if t.lds is not None or t.private is not None:
                return load(b, g)
            raw = mem_read(b, g, t.addrs, 4)
            store(b, g, rd, spread(g, b.L, raw.view(U32).reshape(-1)), None)
        return load_b32
    return load


def _load_found(b: Batch, g: Group, found, rd: int, dwords: int) -> None:
    """The fast path of loads: VGPRs rd.. from the memory view of dword_lanes."""
    if b.lazy:
        lazy.overwrite(b, g, rd, dwords)
    view, index = found
    if index is None:
        rows = view.reshape(-1, dwords)
        for i in range(dwords):
            b.V[rd + i, g.sel] = rows[:, i].reshape(g.n, b.L)
        return
    for i in range(dwords):
        if g.contiguous:                # straight into the register rows
            np.take(view[i:], index, out=b.V[rd + i, g.sel].reshape(-1), mode="wrap")
        else:
            b.V[rd + i, g.sel] = view[i:].take(index, mode="wrap").reshape(g.n, b.L)


def _store(address, shape: datamove.Shape, rdata: int, ctx: Ctx, span=None, addr_regs=()):
    ctx.use_vgpr(rdata, shape.dwords)

    def store_(b, g):
        t = address(b, g)
        _write(b, g, t, datamove.from_vgprs(read_vgprs(b, g, rdata, shape.dwords), shape))
    if span is not None and shape.nbytes % 4 == 0:
        def store_dwords(b, g):
            with access_lock(b.memory):
                found = dword_lanes(b, span(b, g), shape.nbytes, True)
                if found is not None:
                    return _store_found(b, g, found, rdata, shape.dwords)
            if b.lazy:
                lazy.settle(b, addr_regs)
            return store_(b, g)
        store_dwords.lazy_registers = addr_regs
        return store_dwords
    return store_


def _store_found(b: Batch, g: Group, found, rdata: int, dwords: int) -> None:
    """The fast path of stores: VGPRs rdata.. to the memory view of dword_lanes."""
    view, index = found
    if index is None:
        rows = view.reshape(-1, dwords)
        for i in range(dwords):
            rows[:, i] = b.V[rdata + i, g.sel].reshape(-1)
        return
    for i in range(dwords):                     # later lanes win, as on hardware
        view[i:][index] = b.V[rdata + i, g.sel].reshape(-1)


# ---------------------------------------------------------------------------------------------
# atomics

def atomic_op(m: str) -> tuple[atomics.Op, bool]:
    """(operation, 64-bit) from a global_atomic_* / flat_atomic_* / buffer_atomic_* name."""
    name, typ = m.split("_atomic_", 1)[1].rsplit("_", 1)
    bits = 64 if typ.endswith("64") else 32
    if name in ("min", "max"):
        kind = "f" if typ[0] == "f" else ("i" if typ[0] == "i" else "u")
        return atomics.Op(f"{name}_{kind}", bits), bits == 64
    if name == "add" and typ[0] == "f":
        return atomics.Op("add_f", bits), bits == 64
    if name == "cmpswap" and typ[0] == "f":
        return atomics.Op("cmpswap_f", bits), bits == 64
    return atomics.Op(_ATOMIC_NAMES[name], bits), bits == 64


def _mem_atomic(b: Batch, g: Group, addrs: np.ndarray, op: atomics.Op, data, data2, rows=None):
    size = op.bits // 8
    if not addrs.size:
        return np.zeros(0, op.ut)
    keys, inv = np.unique(addrs, return_inverse=True)
    old = mem_read(b, g, keys, size, None).view(op.ut).reshape(-1)
    rets, final = atomics.resolve(op, old, inv.reshape(-1), data, data2)
    mem_write(b, g, keys, np.ascontiguousarray(final).view(np.uint8).reshape(-1, size))
    return rets


def _atomic(address, m: str, f: dict, ctx: Ctx, rdata: int, rd: int, returns: bool):
    op, wide = atomic_op(m)
    dw = 2 if wide else 1
    ctx.use_vgpr(rdata, dw * (2 if op.uses_data2 else 1))
    if returns:
        ctx.use_vgpr(rd, dw)
    size = 4 * dw

    def pack(d):
        return d[:, 0].astype(U64) | (d[:, 1].astype(U64) << U64(32)) if wide else d[:, 0]

    def atomic(b, g):
        t = address(b, g)
        d = read_vgprs(b, g, rdata, dw * (2 if op.uses_data2 else 1))
        data = pack(d[:, :dw])
        data2 = pack(d[:, dw:]) if op.uses_data2 else None
        n = d.shape[0]
        rets = np.zeros(n, op.ut)
        rest = np.ones(n, bool)
        if t.lds is not None:
            mask, off = t.lds
            rows, _ = _lane_coords(b, g)
            a = off[mask].astype(np.int64)
            rets[mask] = atomic_apply(b, a, b.wg[g.idx[rows[mask]]] * (b.lds.shape[1] * 4) + a, size, op,
                                      data[mask], None if data2 is None else data2[mask])
            rest &= ~mask
        if t.private is not None:
            mask, off = t.private
            rows, lanes = _lane_coords(b, g)
            where = Private(b, g, off[mask], size, rows[mask], lanes[mask])
            if where.unit != 4:
                raise IllegalInstruction(f"{m} on an unaligned private address")
            if wide:
                raise IllegalInstruction(f"{m}: 64-bit atomics on private memory are not supported")
            rets[mask] = _mem_atomic(b, g, where.addrs, op, data[mask], None if data2 is None else data2[mask])
            rest &= ~mask
        if rest.all():
            rets = _mem_atomic(b, g, t.addrs, op, data, data2)
        elif rest.any():
            rets[rest] = _mem_atomic(b, g, t.addrs[rest], op, data[rest], None if data2 is None else data2[rest])
        if returns:
            write_vgprs(b, g, rd, np.ascontiguousarray(rets).view(U32).reshape(-1, dw))
    return atomic


# ---------------------------------------------------------------------------------------------
# MUBUF

class Resource:
    """A gfx11 buffer resource (V#) per wave."""

    def __init__(self, b: Batch, g: Group, code: int):
        w0, w1, w2, w3 = (b.S[code + i, g.sel].astype(U64) for i in range(4))
        self.base = w0 | ((w1 & U64(0xFFFF)) << U64(32))
        self.stride = (w1 >> U64(16)) & U64(0x3FFF)
        self.swizzle = (w1 >> U64(30)) & U64(3)
        self.num_records = w2
        self.index_stride = U64(8) << ((w3 >> U64(21)) & U64(3))
        self.add_tid = ((w3 >> U64(23)) & U64(1)).astype(bool)
        self.oob = (w3 >> U64(28)) & U64(3)


def col(x: np.ndarray) -> np.ndarray:
    """Per-wave values as a column, to broadcast over the lanes."""
    return x[:, None]


def _buffer_address(inst, ctx: Ctx, nbytes: int):
    f = inst.fields
    code = f["srsrc"] * 4
    ctx.use_sgpr(code, 4)
    idxen, offen = f["idxen"], f["offen"]
    r = f["vaddr"]
    if idxen or offen:
        ctx.use_vgpr(r, 2 if idxen and offen else 1)
    soff = scalar_source(f["soffset"], 32, ctx)
    inst_offset = f["offset"] & 0xFFF
    dwords = max(1, nbytes // 4)

    def baddr(b, g):
        res = Resource(b, g, code)
        shape = (g.n, b.L)
        index = np.zeros(shape, U64)
        offset = np.full(shape, inst_offset, U64)
        if idxen:
            index = index + b.V[r, g.sel].astype(U64)
        if offen:
            offset = offset + b.V[r + (1 if idxen else 0), g.sel].astype(U64)
        index = index + np.where(res.add_tid[:, None], b.lane_ids.astype(U64)[None, :], U64(0))
        swz = res.swizzle != 0
        es = np.where(res.swizzle == 1, U64(4), np.where(res.swizzle == 2, U64(8), U64(16)))
        ist = res.index_stride
        linear = res.base[:, None] + res.stride[:, None] * index + offset
        swizzled = (res.base[:, None]
                    + (index // col(ist) * col(res.stride) + offset // col(es) * col(es)) * col(ist)
                    + index % col(ist) * col(es) + offset % col(es))
        addr = np.where(swz[:, None], swizzled, linear) + soff(b, g).astype(U64)[:, None]
        # Range checks per dword of the access (oob_select: 0 index and offset, 1 index, 2 none, 3 raw).
        oob = col(res.oob)
        nrec = col(res.num_records)
        within = []
        for j in range(dwords):
            raw_off = res.stride[:, None] * index + offset + U64(4 * j)
            ok = np.where(oob == 3, raw_off < nrec,
                          np.where(oob == 2, True,
                                   np.where(oob == 1, index < nrec,
                                            (index < nrec) & ((offset + U64(4 * j) < col(res.stride))
                                                              | (col(res.stride) == 0)))))
            within.append(ok)
        return active(g, addr), np.stack([active(g, w) for w in within], axis=1)
    return baddr


def _buffer_load(inst, ctx, shape: datamove.Shape, rd: int):
    addr_of = _buffer_address(inst, ctx, shape.nbytes)
    ctx.use_vgpr(rd, shape.dwords)

    def load(b, g):
        addrs, within = addr_of(b, g)
        ok = within.all(axis=1)
        raw = np.zeros((addrs.size, shape.nbytes), np.uint8)
        if ok.all():
            raw = mem_read(b, g, addrs, shape.nbytes)
        else:
            for j in range(within.shape[1]):
                lanes = within[:, j]
                if lanes.any():
                    width = min(4, shape.nbytes)
                    raw[lanes, 4 * j:4 * j + width] = mem_read(b, g, addrs[lanes] + U64(4 * j), width)
        write_vgprs(b, g, rd, datamove.to_vgprs(raw, shape), shape.half)
    return load


def _buffer_store(inst, ctx, shape: datamove.Shape, rdata: int):
    addr_of = _buffer_address(inst, ctx, shape.nbytes)
    ctx.use_vgpr(rdata, shape.dwords)

    def store_(b, g):
        addrs, within = addr_of(b, g)
        data = datamove.from_vgprs(read_vgprs(b, g, rdata, shape.dwords), shape)
        if within.all():
            mem_write(b, g, addrs, data)
            return
        for j in range(within.shape[1]):
            lanes = within[:, j]
            if lanes.any():
                width = min(4, shape.nbytes)
                mem_write(b, g, addrs[lanes] + U64(4 * j), np.ascontiguousarray(data[lanes, 4 * j:4 * j + width]))
    return store_


def _buffer_atomic(inst, ctx, m: str):
    f = inst.fields
    op, wide = atomic_op(m)
    dw = 2 if wide else 1
    addr_of = _buffer_address(inst, ctx, 4 * dw)
    rdata = f["vdata"]
    ctx.use_vgpr(rdata, dw * (2 if op.uses_data2 else 1))
    returns = bool(f["glc"])

    def pack(d):
        return d[:, 0].astype(U64) | (d[:, 1].astype(U64) << U64(32)) if wide else d[:, 0]

    def atomic(b, g):
        addrs, within = addr_of(b, g)
        ok = within.all(axis=1)
        d = read_vgprs(b, g, rdata, dw * (2 if op.uses_data2 else 1))
        rets = np.zeros(addrs.size, op.ut)
        rets[ok] = _mem_atomic(b, g, addrs[ok], op, pack(d[:, :dw])[ok],
                               pack(d[:, dw:])[ok] if op.uses_data2 else None)
        if returns:
            write_vgprs(b, g, rdata, np.ascontiguousarray(rets).view(U32).reshape(-1, dw))
    return atomic


# ---------------------------------------------------------------------------------------------

def compile_vmem(inst, ctx: Ctx):
    m = inst.op.mnemonic
    f = inst.fields
    base = inst.base
    if m in ("buffer_gl0_inv", "buffer_gl1_inv"):
        return lambda b, g: None
    if "_lds_" in m or "load_lds" in m or "format" in m:
        raise IllegalInstruction(f"{m}: LDS-direct loads and typed buffer formats are not executed")
    if base == "MUBUF":
        if "_atomic_" in m:
            return _buffer_atomic(inst, ctx, m)
        kind = m.split("_", 2)[2]
        shape = datamove.parse(kind)
        if "_load_" in m:
            return _buffer_load(inst, ctx, shape, f["vdata"])
        return _buffer_store(inst, ctx, shape, f["vdata"])
    if m in ("global_load_addtid_b32", "global_store_addtid_b32"):
        return _addtid(inst, ctx, load="load" in m)
    span = None
    addr_regs = ()
    if base == "GLOBAL":
        address = _global_address(inst, ctx)
        span = _global_span(inst, ctx)
        addr_regs = _address_registers(inst)
    elif base == "FLAT":
        address = _flat_address(inst, ctx)
        span = _flat_span(inst, ctx)
    else:
        address = _scratch_address(inst, ctx)
    if "_atomic_" in m:
        return _atomic(address, m, f, ctx, f["data"], f["vdst"], bool(f["glc"]))
    kind = m.split("_", 2)[2]
    shape = datamove.parse(kind)
    if "_load_" in m:
        return _load(address, shape, f["vdst"], ctx, span, addr_regs)
    return _store(address, shape, f["data"], ctx, span, addr_regs)


def _addtid(inst, ctx: Ctx, load: bool):
    f = inst.fields
    base = scalar_source(f["saddr"], 64, ctx) if f["saddr"] not in (NULL, 0x7F) else None
    offset = f["offset"] & 0xFFF
    r = f["vdst"] if load else f["data"]
    ctx.use_vgpr(r)

    def addtid(b, g):
        start = base(b, g) if base is not None else np.zeros(g.n, U64)
        a = active(g, start[:, None] + U64(offset) + b.lane_ids.astype(U64)[None, :] * U64(4))
        if load:
            write_vgprs(b, g, r, mem_read(b, g, a, 4).view(U32).reshape(-1, 1))
        else:
            mem_write(b, g, a, read_vgprs(b, g, r, 1).view(np.uint8).reshape(-1, 4))
    return addtid

