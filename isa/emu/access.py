"""Operand accessors built once per instruction: closures that read a source operand for a group
of waves (scalar: [n]; vector: [n, L]) or write a destination, with no decoding left for the hot
path.

Sources follow the 9-bit operand encoding of isa.operands: SGPRs and special registers, inline
constants (integers sign-extended to the operand width, floats in the operand's float format),
the trailing 32-bit literal (for 64-bit operands: the high half of an f64, sign-extended for i64,
zero-extended otherwise), and VGPRs from code 256 on.
"""

from dataclasses import dataclass, field

import numpy as np

from isa import operands as opd
from isa.emu import datamove
from isa.emu.errors import IllegalInstruction
from isa.emu.state import EXEC, NULL, U32, U64, VCC, Batch, Group, pair64

FLOAT_TYPES = ("NUM_F16", "NUM_F32", "NUM_F64", "NUM_BF16", "NUM_PK2_F16", "NUM_PK2_BF16")
PACKED_TYPES = ("NUM_PK2_F16", "NUM_PK2_BF16", "NUM_PK2_I16", "NUM_PK2_U16", "NUM_PK2_B16")
MASK32 = U64(0xFFFFFFFF)


@dataclass
class Apertures:
    """High 32 bits of the flat apertures (gfx9+ Linux layout: LDS at 1 << 48, scratch at 2 << 48)."""
    shared_hi: int = 0x10000
    private_hi: int = 0x20000


@dataclass
class Ctx:
    """What building an instruction needs to know about the machine it will run on."""
    lanes: int
    apertures: Apertures = field(default_factory=Apertures)
    max_vgpr: int = 0            # one past the highest VGPR the program names
    max_sgpr: int = 0            # one past the highest SGPR any prepared instruction can reach
    ttmps: bool = False          # whether one can reach a TTMP

    @property
    def wave64(self) -> bool:
        return self.lanes == 64

    def use_sgpr(self, first: int, count: int = 1) -> None:
        """Prepared code reads or writes the scalar registers of codes first .. first + count - 1
        (the launch zeroes the SGPRs and TTMPs named so; see Batch.name_sgprs)."""
        if first <= opd.SGPR_MAX:
            self.max_sgpr = max(self.max_sgpr, min(first + count, opd.SGPR_MAX + 1))
        if first <= opd.TTMP_LAST and first + count > opd.TTMP_FIRST:
            self.ttmps = True

    def use_vgpr(self, first: int, count: int = 1) -> None:
        if first + count > 256:
            raise IllegalInstruction(f"VGPRs v{first}..v{first + count - 1} beyond v255")
        self.max_vgpr = max(self.max_vgpr, first + count)


def is_float(dtype: str) -> bool:
    return dtype in FLOAT_TYPES


def literal_bits(literal: int, bits: int, dtype: str) -> int:
    """The value a 32-bit literal stands for in an operand of `bits` width."""
    if bits <= 32:
        return literal & ((1 << bits) - 1) if bits < 32 else literal
    if dtype == "NUM_F64":
        return literal << 32
    if dtype == "NUM_I64" and literal & 0x80000000:
        return literal | 0xFFFFFFFF00000000
    return literal


def constant_bits(code: int, bits: int, dtype: str, literal: int | None) -> int | None:
    """The bits of a constant source (inline or literal) of the given width, or None if `code`
    names a register."""
    if code == opd.LITERAL:
        if literal is None:
            raise IllegalInstruction("literal operand without a literal dword")
        return literal_bits(literal, bits, dtype)
    width = 16 if dtype in PACKED_TYPES else bits
    # A float inline constant in a 64-bit operand is the double, whatever the operand's type.
    value = opd.inline_value_bits(code, width, is_float(dtype) or bits == 64)
    if value is None:
        return None
    if dtype in PACKED_TYPES:
        # A packed operand sees an inline constant in both halves.
        return value | (value << 16)
    return value


# ---------------------------------------------------------------------------------------------
# scalar sources: [n] per wave

def scalar_source(code: int, bits: int, ctx: Ctx, literal: int | None = None, dtype: str = ""):
    """A reader (batch, group) -> uint32 [n] (uint64 [n] when bits == 64)."""
    wide = bits > 32
    dt = U64 if wide else U32
    const = constant_bits(code, bits, dtype, literal)
    if const is not None:
        c = dt(const)
        return lambda b, g: np.full(g.n, c, dt)
    if code <= opd.SGPR_MAX or opd.VCC_LO <= code <= opd.TTMP_LAST or code in (opd.M0, EXEC, EXEC + 1):
        ctx.use_sgpr(code, 2 if wide else 1)
        if wide:
            return lambda b, g: b.s64(code, g.sel)
        return lambda b, g: b.S[code, g.sel]
    if code == NULL:
        return lambda b, g: np.zeros(g.n, dt)
    if code in (opd.SHARED_BASE, opd.SHARED_LIMIT, opd.PRIVATE_BASE, opd.PRIVATE_LIMIT):
        hi = ctx.apertures.shared_hi if code in (opd.SHARED_BASE, opd.SHARED_LIMIT) else ctx.apertures.private_hi
        value = hi << 32 if wide else hi
        if code in (opd.SHARED_LIMIT, opd.PRIVATE_LIMIT):
            value = ((hi << 32) | 0xFFFFFFFF) if wide else hi
        c = dt(value)
        return lambda b, g: np.full(g.n, c, dt)
    if code == opd.POPS_EXITING_WAVE_ID:
        return lambda b, g: np.zeros(g.n, dt)
    if code == opd.VCCZ:
        return lambda b, g: (b.mask_bits(VCC, g.sel) == 0).astype(dt)
    if code == opd.EXECZ:
        return lambda b, g: (b.mask_bits(EXEC, g.sel) == 0).astype(dt)
    if code == opd.SCC:
        return lambda b, g: b.scc[g.sel].astype(dt)
    raise IllegalInstruction(f"scalar source code {code} is not readable in a compute kernel")


def scalar_dest(code: int, bits: int, ctx: Ctx):
    """A writer (batch, group, value [n]) for an SGPR / special register destination."""
    if code == NULL:
        return lambda b, g, v: None
    if not (code <= opd.SGPR_MAX or opd.VCC_LO <= code <= opd.TTMP_LAST or code in (opd.M0, EXEC, EXEC + 1)):
        raise IllegalInstruction(f"scalar destination code {code} is not writable")
    touches_exec = code in (EXEC, EXEC + 1) or (bits > 32 and code + 1 == EXEC)
    ctx.use_sgpr(code, 2 if bits > 32 else 1)
    if bits > 32:
        def write64(b: Batch, g: Group, v):
            b.set_s64(code, g.sel, v)
            if touches_exec:
                b.exec_from_sgprs(g.sel)
                g.refresh(b)
        return write64

    if code == EXEC and not ctx.wave64:
        def write_exec32(b: Batch, g: Group, v):
            # EXEC often stays as it was (a loop's lanes all continue, a branch restores it):
            # then the lanes derived from it stay too
            if not np.array_equal(b.S[EXEC, g.sel], v):
                b.S[EXEC, g.sel] = v
                b.exec_from_sgprs(g.sel)
                g.refresh(b)
        return write_exec32

    def write32(b: Batch, g: Group, v):
        b.S[code, g.sel] = v
        if touches_exec:
            b.exec_from_sgprs(g.sel)
            g.refresh(b)
    return write32


def mask_source(code: int, ctx: Ctx):
    """A reader of a lane mask (VCC or an SGPR (pair)) as bool [n, L]."""
    if code == NULL:
        return lambda b, g: np.zeros((g.n, b.L), bool)
    const = constant_bits(code, 64, "NUM_B64", None) if code != opd.LITERAL else None
    if const is not None:
        lanes = np.array([(const >> i) & 1 for i in range(ctx.lanes)], bool)
        return lambda b, g: np.broadcast_to(lanes, (g.n, b.L))
    ctx.use_sgpr(code, 2 if ctx.wave64 else 1)
    return lambda b, g: b.mask(code, g.sel)


def mask_dest(code: int, ctx: Ctx):
    """A writer of a bool [n, L] lane mask to VCC / an SGPR (pair) / EXEC."""
    if code == NULL:
        return lambda b, g, m: None
    ctx.use_sgpr(code, 2 if ctx.wave64 else 1)
    if code == EXEC:
        def write_exec(b: Batch, g: Group, m):
            b.set_exec(g.sel, m)
            g.refresh(b)
        return write_exec
    return lambda b, g, m: b.set_mask(code, g.sel, m)


# ---------------------------------------------------------------------------------------------
# vector sources: [n, L]

def vgpr_rows(b: Batch, g: Group, r: int) -> np.ndarray:
    return b.V[r, g.sel]


def _frozen(x: np.ndarray) -> np.ndarray:
    x.flags.writeable = False
    return x


def vector_source(code: int, bits: int, ctx: Ctx, literal: int | None = None, dtype: str = "",
                  hi: bool = False, compact: bool = False):
    """A reader (batch, group) -> [n, L] raw bits: uint32 for operands up to 32 bits (a 16-bit
    operand in the low half, `hi` selecting the register's high half), uint64 for 64-bit.
    With `compact`, a constant comes as a read-only [1, 1] array that broadcasts to [n, L], so the
    ALU computes on one value instead of one per lane; an SGPR comes repeated into a contiguous
    [n, L] array (cheaper than broadcasting [n, 1], which numpy runs as one inner loop per wave)."""
    wide = bits > 32
    if code >= opd.VGPR_FIRST:
        r = code - opd.VGPR_FIRST
        if bits == 128:
            ctx.use_vgpr(r, 4)
            return lambda b, g: np.stack([b.V[r + i, g.sel] for i in range(4)], axis=-1)
        ctx.use_vgpr(r, 2 if wide else 1)
        if wide:
            return lambda b, g: pair64(b.V[r, g.sel], b.V[r + 1, g.sel])
        if bits == 16:
            if hi:
                return lambda b, g: b.V[r, g.sel] >> U32(16)
            return lambda b, g: b.V[r, g.sel] & U32(0xFFFF)
        return lambda b, g: b.V[r, g.sel]
    const = constant_bits(code, bits, dtype, literal)
    if const is not None:
        dt = U64 if wide else U32
        if bits == 16 and hi:
            const >>= 16
        c = dt(const & 0xFFFF) if bits == 16 else dt(const)
        if compact:
            one = _frozen(np.full((1, 1), c, dt))
            return lambda b, g: one
        return lambda b, g: np.broadcast_to(c, (g.n, b.L))
    read = scalar_source(code, bits, ctx, literal, dtype)
    if compact:
        if bits == 16:
            shift, keep = U32(16 if hi else 0), U32(0xFFFF)
            return lambda b, g: sgpr_lanes((read(b, g) >> shift) & keep, b.L)
        return lambda b, g: sgpr_lanes(read(b, g), b.L)
    if bits == 16:
        if hi:
            return lambda b, g: np.broadcast_to((read(b, g) >> U32(16))[:, None], (g.n, b.L))
        return lambda b, g: np.broadcast_to((read(b, g) & U32(0xFFFF))[:, None], (g.n, b.L))
    return lambda b, g: np.broadcast_to(read(b, g)[:, None], (g.n, b.L))


def same_in_every_wave(values: np.ndarray) -> bool:
    """Whether per-wave values [n] (an SGPR of a group) are one value, as a kernel argument is
    (compared as bytes: one pass, cheaper than two reductions)."""
    return values.size == 1 or values.tobytes() == values[:1].tobytes() * values.size


def sgpr_lanes(values: np.ndarray, lanes: int) -> np.ndarray:
    """Per-wave values [n] as a VALU source: one [1, 1] value when every wave holds the same
    (numpy runs the op with a scalar operand), else repeated into a contiguous [n, L] array."""
    if same_in_every_wave(values):
        return values[:1].reshape(1, 1).copy()
    return np.repeat(values, lanes).reshape(values.size, lanes)


def with_float_mods(read, bits: int, absolute: bool, negate: bool):
    """Applies VOP3 abs/neg to the sign bit of a float operand of `bits` width."""
    if not (absolute or negate):
        return read
    dt = U64 if bits > 32 else U32
    sign = dt(1 << (bits - 1))
    if absolute and negate:
        return lambda b, g: read(b, g) | sign
    if absolute:
        keep = dt(~(1 << (bits - 1)) & ((1 << (64 if bits > 32 else 32)) - 1))
        return lambda b, g: read(b, g) & keep
    return lambda b, g: read(b, g) ^ sign


def packed_source(read32, sel_lo: bool, sel_hi: bool, neg_lo: bool, neg_hi: bool, float_halves: bool):
    """VOP3P: builds the operand the packed op sees from a raw 32-bit source: op_sel picks the
    half for the low result, op_sel_hi for the high one, neg/neg_hi flip the halves' signs."""
    if not sel_lo and sel_hi and not (float_halves and (neg_lo or neg_hi)):
        return read32
    flip = (0x8000 if neg_lo else 0) | (0x80000000 if neg_hi else 0) if float_halves else 0
    flip = U32(flip)

    def read(b, g):
        x = read32(b, g)
        lo = (x >> U32(16)) if sel_lo else (x & U32(0xFFFF))
        hi = (x & U32(0xFFFF0000)) if sel_hi else (x << U32(16))
        v = lo | hi
        return v ^ flip if flip else v
    return read


# ---------------------------------------------------------------------------------------------
# vector destinations

def store(b: Batch, g: Group, r: int, value, wm) -> None:
    """V[r] of the group's waves = value in the lanes of `wm` (None: the lanes of EXEC)."""
    V = b.V
    if wm is None:
        if g.full:
            V[r, g.sel] = value
            return
        wm = g.exec
    if g.contiguous:
        np.copyto(V[r, g.sel], value, where=wm, casting="unsafe")
    else:
        cur = V[r, g.idx]
        np.copyto(cur, value, where=wm, casting="unsafe")
        V[r, g.idx] = cur


def vector_dest(r: int, bits: int, ctx: Ctx, half: str | None = None):
    """A writer (batch, group, value, write_mask) to VGPR r: 32 bits, 64 bits (a pair), or the
    low/high half of a register (`half` = 'lo' / 'hi') keeping the other half."""
    if bits == 128:
        ctx.use_vgpr(r, 4)

        def write128(b, g, v, wm):
            v = np.asarray(v, U32)
            for i in range(4):
                store(b, g, r + i, v[..., i], wm)
        return write128
    if bits > 32:
        ctx.use_vgpr(r, 2)

        def write64(b, g, v, wm):
            halves = np.ascontiguousarray(v, U64).view(U32).reshape(np.shape(v) + (2,))
            store(b, g, r, halves[..., 0], wm)
            store(b, g, r + 1, halves[..., 1], wm)
        return write64
    ctx.use_vgpr(r)
    if half == "lo":
        def write_lo(b, g, v, wm):
            old = b.V[r, g.sel]
            store(b, g, r, (old & U32(0xFFFF0000)) | (np.asarray(v, U32) & U32(0xFFFF)), wm)
        return write_lo
    if half == "hi":
        def write_hi(b, g, v, wm):
            old = b.V[r, g.sel]
            store(b, g, r, (old & U32(0xFFFF)) | (np.asarray(v, U32) << U32(16)), wm)
        return write_hi
    return lambda b, g, v, wm: store(b, g, r, v, wm)


# ---------------------------------------------------------------------------------------------
# active lanes of memory instructions

def active(g: Group, x: np.ndarray) -> np.ndarray:
    """The values of the active lanes ([n, L, ...] -> [N, ...]) in wave-major, lane-minor order."""
    if g.full:
        return x.reshape((-1,) + x.shape[2:])
    return x[g.exec]


def spread(g: Group, lanes: int, values: np.ndarray) -> np.ndarray:
    """Active-lane values [N, ...] back to [n, L, ...] (inactive lanes 0)."""
    if g.full:
        return values.reshape((g.n, lanes) + values.shape[1:])
    out = np.zeros((g.n, lanes) + values.shape[1:], values.dtype)
    out[g.exec] = values
    return out


def read_vgprs(b: Batch, g: Group, r: int, count: int) -> np.ndarray:
    """VGPRs r..r+count-1 of the active lanes as uint32 [N, count]."""
    rows = [active(g, b.V[r + i, g.sel]) for i in range(count)]
    return np.stack(rows, axis=1) if count > 1 else rows[0].reshape(-1, 1)


def write_vgprs(b: Batch, g: Group, r: int, values: np.ndarray, half: str | None = None) -> None:
    """Active-lane values [N, count] into VGPRs r.. (a d16 `half` keeps the other half)."""
    full = spread(g, b.L, values)
    for i in range(values.shape[1]):
        v = full[:, :, i]
        if half is not None:
            v = datamove.merge_half(b.V[r + i, g.sel], v, half)
        store(b, g, r + i, v, None)
