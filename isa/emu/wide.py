"""64-bit integer VALU ops computed on the two 32-bit halves of their register pairs.

The general path packs a VGPR pair into one uint64 array and splits the result again, which
costs more than the arithmetic itself. Address arithmetic in compiled kernels (v_mad_u64_u32 of a
workgroup id and size plus the local id, v_lshlrev_b64 by a constant) stays in uint32 here: the
low half, its carry, the high half. A wave-uniform operand (SGPR, constant) stays one value per
wave, so the product of two of them costs one multiply per wave. The carry ops that add 64-bit
addresses half by half (v_add_co_u32, v_add_co_ci_u32) check first whether anything can carry:
with a zero carry-in and source maxima whose sum fits in 32 bits, the result is the plain sum
and the carry-out mask is zero, with no per-lane compare, pack or unpack.

Only the ALU table's own semantics take this path (a dispatch given other tables keeps them),
and only without clamp; the results are the general path's bit for bit.
"""

import numpy as np

from isa import operands as opd
from isa.emu.access import Ctx, constant_bits, mask_dest, same_in_every_wave, scalar_source, store
from isa.emu.state import EXEC, NULL, NUM_SCALAR, U32, U64, VCC

_HIGH = U64(32)
_M32 = 0xFFFFFFFF


def _operand(inst, key: str):
    return inst.op.operands.get(key)


def _source32(code: int, ctx: Ctx, literal, dtype: str):
    """(batch, group) -> uint32 that broadcasts to [n, L]: the VGPR's rows, an SGPR as a
    column [n, 1] (a scalar when all waves hold the same), a constant as a scalar."""
    if code >= opd.VGPR_FIRST:
        r = code - opd.VGPR_FIRST
        ctx.use_vgpr(r)
        return lambda b, g: b.V[r, g.sel]
    const = constant_bits(code, 32, dtype, literal)
    if const is not None:
        c = U32(const)
        return lambda b, g: c
    read = scalar_source(code, 32, ctx, literal, dtype)

    def sgpr(b, g):
        v = read(b, g)
        if same_in_every_wave(v):
            return v[0]
        return v[:, None]
    return sgpr


def _source64(code: int, ctx: Ctx, literal, dtype: str):
    """(batch, group) -> (low, high) uint32 halves that broadcast to [n, L]."""
    if code >= opd.VGPR_FIRST:
        r = code - opd.VGPR_FIRST
        ctx.use_vgpr(r, 2)
        return lambda b, g: (b.V[r, g.sel], b.V[r + 1, g.sel])
    const = constant_bits(code, 64, dtype, literal)
    if const is not None:
        halves = (U32(const & 0xFFFFFFFF), U32(const >> 32))
        return lambda b, g: halves
    read = scalar_source(code, 64, ctx, literal, dtype)

    def sgpr_pair(b, g):
        v = read(b, g)[:, None]
        return v.astype(U32), (v >> _HIGH).astype(U32)
    return sgpr_pair


def _pair_writer(r: int, ctx: Ctx):
    """Writes the halves of a 64-bit result to VGPRs r, r + 1 in EXEC's lanes. Both halves are
    computed before either is written, so a destination overlapping a source is safe."""
    ctx.use_vgpr(r, 2)

    def write(b, g, lo, hi):
        store(b, g, r, lo, None)
        store(b, g, r + 1, hi, None)
    return write


def _lanes(b, g, mask) -> np.ndarray:
    mask = np.broadcast_to(mask, (g.n, b.L))
    return mask if g.full else mask & g.exec


# ---------------------------------------------------------------------------------------------
# v_mad_u64_u32: D = S0 * S1 + S2 (64-bit), carry out of bit 63

def _mad_u64_u32(inst, ctx: Ctx):
    f = inst.fields
    lit = inst.literal
    a = _source32(f["src0"], ctx, lit, _operand(inst, "src0").dtype)
    m = _source32(f["src1"], ctx, lit, _operand(inst, "src1").dtype)
    c = _source64(f["src2"], ctx, lit, _operand(inst, "src2").dtype)
    write = _pair_writer(f["vdst"], ctx)
    r = f["vdst"]
    carry_code = f["sdst"]
    write_carry = None if carry_code == NULL else mask_dest(carry_code, ctx)

    def mad(b, g):
        p = np.multiply(a(b, g), m(b, g), dtype=U64)     # exact: at most 64 bits
        p_lo, p_hi = p.astype(U32), (p >> _HIGH).astype(U32)
        c_lo, c_hi = c(b, g)
        lo = p_lo + c_lo
        if write_carry is None and not p_hi.any() and int(p_lo.max()) + int(c_lo.max()) <= _M32:
            # the usual index arithmetic: no sum reaches 2**32, the high half stays. It is
            # copied first, before the low half's write can replace the register it comes from.
            store(b, g, r + 1, c_hi, None)
            store(b, g, r, lo, None)
            return
        k = lo < c_lo                                    # carry into the high half
        t = p_hi + c_hi
        hi = t + k
        if write_carry is not None:
            out = (t < c_hi) | (hi < t)
            write_carry(b, g, _lanes(b, g, out))
        write(b, g, lo, hi)
    return mad


# ---------------------------------------------------------------------------------------------
# 64-bit shifts by a constant amount: D = S1 << S0[5:0] (>> for lshrrev / ashrrev)

def _shift_halves(kind: str, k: int, lo, hi):
    """The (low, high) halves of the 64-bit value (lo, hi) shifted by k (0..63)."""
    if k == 0:
        return np.array(lo, U32), np.array(hi, U32)
    if kind == "lshl":
        if k >= 32:
            return U32(0), lo << U32(k - 32)
        spill = lo >> U32(32 - k)
        if not hi.any():                    # a non-negative 32-bit index widened: only the spill
            return lo << U32(k), spill
        return lo << U32(k), (hi << U32(k)) | spill
    if kind == "lshr":
        if k >= 32:
            return hi >> U32(k - 32), U32(0)
        return (lo >> U32(k)) | (hi << U32(32 - k)), hi >> U32(k)
    signed = np.asarray(hi, U32).view(np.int32)
    top = (signed >> np.int32(31)).view(U32)
    if k >= 32:
        return (signed >> np.int32(k - 32)).view(U32), top
    return (lo >> U32(k)) | (hi << U32(32 - k)), (signed >> np.int32(k)).view(U32)


def _shift64(inst, ctx: Ctx, kind: str):
    f = inst.fields
    lit = inst.literal
    amount = constant_bits(f["src0"], 32, _operand(inst, "src0").dtype, lit)
    if amount is None:
        return None
    k = amount & 63
    src = _source64(f["src1"], ctx, lit, _operand(inst, "src1").dtype)
    write = _pair_writer(f["vdst"], ctx)

    def shift(b, g):
        lo, hi = src(b, g)
        write(b, g, *_shift_halves(kind, k, lo, hi))
    return shift


_SHIFTS = {"v_lshlrev_b64": "lshl", "v_lshrrev_b64": "lshr", "v_ashrrev_i64": "ashr"}


# ---------------------------------------------------------------------------------------------
# the 32-bit halves of a 64-bit add: v_add_co_u32, v_add_co_ci_u32 where nothing carries

def _mask_words(code: int, lanes: int, ctx: Ctx):
    """(batch, group) -> the uint32 word(s) [k, n] of a lane mask in SGPRs, or None for a
    constant or special source."""
    if not (code <= opd.SGPR_MAX or opd.VCC_LO <= code <= opd.TTMP_LAST):
        return None
    rows = slice(code, code + (2 if lanes == 64 else 1))
    ctx.use_sgpr(code, rows.stop - code)
    return lambda b, g: b.S[rows, g.sel]


def _clear_mask(code: int, lanes: int):
    """A writer of an all-zero lane mask to SGPR(s) `code`, as Batch.set_mask writes one; None
    where the mask would reach EXEC."""
    last = code + 1 if lanes == 64 else code
    if code == NULL:
        return lambda b, g: None
    if EXEC in (code, last) or EXEC + 1 in (code, last):
        return None
    rows = slice(code, min(last + 1, NUM_SCALAR))
    return lambda b, g: b.S.__setitem__((rows, g.sel), 0)


def _carry_free_add(inst, ctx: Ctx, general):
    """D = S0 + S1 (+ carry-in): when the carry-in mask is zero and the largest values of the
    sources cannot carry, D is the plain sum and the carry-out mask is zero; otherwise the
    general closure runs."""
    f = inst.fields
    lit = inst.literal
    vop2 = inst.base == "VOP2"
    x = _source32(f["src0"], ctx, lit, _operand(inst, "src0").dtype)
    y = _source32(opd.VGPR_FIRST + f["vsrc1"] if vop2 else f["src1"], ctx, lit, "NUM_B32")
    carry_in = None
    if inst.op.mnemonic == "v_add_co_ci_u32":
        carry_in = _mask_words(VCC if vop2 else f["src2"], ctx.lanes, ctx)
        if carry_in is None:
            return None
    clear = _clear_mask(VCC if vop2 else f["sdst"], ctx.lanes)
    if clear is None:
        return None
    r = f["vdst"]

    def add(b, g):
        if carry_in is not None and carry_in(b, g).any():
            return general(b, g)
        a, c = x(b, g), y(b, g)
        if int(a.max()) + int(c.max()) > _M32:
            return general(b, g)
        if g.full and g.contiguous:
            np.add(a, c, out=b.V[r, g.sel])
        else:
            store(b, g, r, a + c, None)
        clear(b, g)
    return add


_SHIFTS = {"v_lshlrev_b64": "lshl", "v_lshrrev_b64": "lshr", "v_ashrrev_i64": "ashr"}


def compile_wide(inst, ctx: Ctx, vop, general):
    """The halves closure for a 64-bit integer op (`general`: the general path's closure for the
    same instruction), or None where the general path applies."""
    from isa.emu import valu

    m = inst.op.mnemonic
    own = valu.VALU.get(m)
    if own is None or vop.fn is not own.fn or inst.dpp or inst.fields.get("clmp", 0):
        return None
    if m == "v_mad_u64_u32":
        return _mad_u64_u32(inst, ctx)
    if m in _SHIFTS:
        return _shift64(inst, ctx, _SHIFTS[m])
    if m in ("v_add_co_u32", "v_add_co_ci_u32") and inst.base in ("VOP2", "VOP3SD"):
        return _carry_free_add(inst, ctx, general)
    return None
