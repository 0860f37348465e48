"""The VALU instructions of index arithmetic, on lane-affine values (isa.emu.lazy).

compile_affine(inst, ...) gives, for the integer operations compilers use to compute indices
and addresses (moves, adds with and without carry, shifts, masks, multiplies by a uniform
value, 64-bit shifts and multiply-adds, integer compares), a closure that computes the result
per wave when its sources are held or wave-uniform, and otherwise materializes the registers the
instruction touches and runs the general closure.
"""

import numpy as np

from isa import operands as opd
from isa.emu import lazy
from isa.emu.access import Ctx, constant_bits
from isa.emu.lazy import Affine
from isa.emu.state import EXEC, NULL, U32, VCC

V = opd.VGPR_FIRST
_MODS = ("neg", "abs", "opsel", "clmp", "omod", "neg_hi", "opsel_hi")


def _readable_sgpr(code: int) -> bool:
    return code <= opd.SGPR_MAX or opd.VCC_LO <= code <= opd.TTMP_LAST or code in (opd.M0, EXEC)


def _source(code: int, inst, dtype: str = "NUM_B32"):
    """(batch, group) -> Affine or None for a 32-bit source; None when it cannot be one."""
    if code >= V:
        r = code - V
        return lambda b, g: lazy.get(b, g, r)
    const = _constant(code, inst, dtype)
    if const is not None:
        value = Affine(const & lazy.M32)
        return lambda b, g: value
    if _readable_sgpr(code):      # a copy: the Affine may be held after the SGPR changes
        return lambda b, g: lazy.from_values(b.S[code, g.sel])
    return None


def _constant(code: int, inst, dtype: str = "NUM_B32") -> int | None:
    if code >= V:
        return None
    if code == opd.LITERAL and inst.literal is None:
        return None
    return constant_bits(code, 32, dtype, inst.literal)


def _operands(inst) -> tuple[list[int], int | None, int | None]:
    """(source codes, VGPR destination, scalar destination code) in VOP3 terms."""
    f = inst.fields
    base = inst.base
    if base == "VOP1":
        return [f["src0"]], f["vdst"], None
    if base == "VOP2":
        return [f["src0"], V + f["vsrc1"]], f["vdst"], None
    if base == "VOPC":
        return [f["src0"], V + f["vsrc1"]], None, None
    if base in ("VOP3", "VOP3SD"):
        return [f["src0"], f["src1"], f["src2"]], f["vdst"], f.get("sdst")
    return [], None, None


def compile_affine(inst, ctx: Ctx, general, regs):
    """The lazy-aware closure for `inst`, or None when it is not an affine operation. `regs`:
    the VGPRs it touches (materialized before the general path runs)."""
    if ctx.lanes != 32 or inst.op is None:
        return None
    f = inst.fields
    if any(f.get(k, 0) for k in _MODS):
        return None
    m = inst.op.mnemonic
    srcs, vdst, sdst = _operands(inst)
    if not srcs:
        return None
    fast = _BUILDERS.get(_family(m))
    fast = fast(m, inst, srcs, vdst, sdst) if fast is not None else None
    if fast is None:
        return None

    def run(b, g):
        if b.lazy_ok and g.full and g.contiguous and fast(b, g):
            return
        if b.lazy:
            lazy.settle(b, regs)
        general(b, g)
    return run


def _family(m: str) -> str:
    if m.startswith(("v_cmp_", "v_cmpx_")):
        kind = m.split("_")[-1]
        return "cmp" if kind in ("i32", "u32") else ""
    return m


# ---------------------------------------------------------------------------------------------
# builders: (mnemonic, inst, sources, vdst, sdst) -> fast(b, g) -> bool, or None

def _unary(build):
    """For ops of one 32-bit result: build(readers...) -> (b, g) -> Affine or None."""
    def make(m, inst, srcs, vdst, sdst):
        if vdst is None or (sdst is not None and sdst != NULL):
            return None
        compute = build(inst, srcs)
        if compute is None:
            return None

        def fast(b, g):
            out = compute(b, g)
            if out is None:
                return False
            lazy.put(b, g, vdst, out)
            return True
        return fast
    return make


def _readers(inst, srcs, count):
    readers = [_source(c, inst) for c in srcs[:count]]
    return None if any(r is None for r in readers) else readers


def _two(inst, srcs):
    """(batch, group) -> both 32-bit sources as Affines, or None; None when they cannot be."""
    readers = _readers(inst, srcs, 2)
    if readers is None:
        return None
    ra, rb = readers

    def read(b, g):
        x = ra(b, g)
        if x is None:
            return None
        y = rb(b, g)
        return None if y is None else (x, y)
    return read


def _binary(combine):
    def build(inst, srcs):
        read = _two(inst, srcs)
        if read is None:
            return None

        def compute(b, g):
            xy = read(b, g)
            return None if xy is None else combine(*xy)
        return compute
    return build


def _mov(inst, srcs):
    return _source(srcs[0], inst)


def _shift_by_constant(apply):
    """Shifts (count in src0, as in the *rev forms) whose count is an instruction constant."""
    def build(inst, srcs):
        k = _constant(srcs[0], inst)
        read = _source(srcs[1], inst)
        if k is None or read is None:
            return None
        k &= 31

        def compute(b, g):
            x = read(b, g)
            return None if x is None else apply(x, k)
        return compute
    return build


def _and(inst, srcs):
    for value_src, mask_src in ((1, 0), (0, 1)):
        m = _constant(srcs[mask_src], inst)
        read = _source(srcs[value_src], inst)
        if m is not None and read is not None:
            def compute(b, g, read=read, m=m):
                x = read(b, g)
                return None if x is None else lazy.mask(x, m)
            return compute
    return None


def _bfe_u32(inst, srcs):
    offset, width = _constant(srcs[1], inst), _constant(srcs[2], inst)
    read = _source(srcs[0], inst)
    if offset is None or width is None or read is None:
        return None
    offset, width = offset & 31, width & 31

    def compute(b, g):
        x = read(b, g)
        if x is None:
            return None
        shifted = lazy.shift_right(x, offset, False)
        return None if shifted is None else lazy.mask(shifted, (1 << width) - 1)
    return compute


def _mul_lo(x: Affine, y: Affine) -> Affine | None:
    for value, factor in ((x, y), (y, x)):
        c = factor.same_value()
        if c is not None:
            return lazy.scale(value, c)
    if x.uniform and y.uniform:                   # one product per wave
        return Affine(np.multiply(x.base_array(0), y.base_array(0), dtype=U32))
    return None


def _lshl_add(inst, srcs):
    k = _constant(srcs[1], inst)
    readers = _readers(inst, [srcs[0], srcs[2]], 2)
    if k is None or readers is None:
        return None
    ra, rc = readers
    k &= 31

    def compute(b, g):
        x, z = ra(b, g), rc(b, g)
        if x is None or z is None:
            return None
        return lazy.add(lazy.scale(x, 1 << k), z)
    return compute


def _add3(inst, srcs):
    readers = _readers(inst, srcs, 3)
    if readers is None:
        return None

    def compute(b, g):
        x, y, z = (r(b, g) for r in readers)
        if x is None or y is None or z is None:
            return None
        return lazy.add(lazy.add(x, y), z)
    return compute


# -- carries ----------------------------------------------------------------------------------

def _add_co(m, inst, srcs, vdst, sdst):
    """v_add_co_u32 (and v_add_co_ci_u32 with its carry in): sum and carry out, whole waves."""
    with_ci = m == "v_add_co_ci_u32"
    if vdst is None:
        return None
    if inst.base == "VOP2":
        cin_code, cout_code = (VCC if with_ci else None), VCC
    else:
        cin_code, cout_code = (srcs[2] if with_ci else None), sdst
    if cout_code is None or cout_code == EXEC or (cin_code is not None and not _readable_sgpr(cin_code)):
        return None
    read = _two(inst, srcs)
    if read is None:
        return None

    def fast(b, g):
        xy = read(b, g)
        if xy is None:
            return False
        x, y = xy
        cin = 0
        if cin_code is not None:
            cin = lazy.carry_in(b, g, cin_code)
            if cin is None:
                return False
        carry = lazy.add_carry(x, y, cin, g.n)
        if carry is None:
            return False
        lazy.put(b, g, vdst, lazy.add(x, y, cin))
        lazy.mask_words(b, g, cout_code, carry)
        return True
    return fast


# -- 64-bit -----------------------------------------------------------------------------------

def _source64(code: int, inst):
    """(batch, group) -> (lo, hi) of a 64-bit source: Affines, or hi as the number of the VGPR
    to read it from (a held low half, a materialized high half); None when it cannot be read
    so."""
    if code >= V:
        r = code - V

        def read_pair(b, g):
            lo = lazy.get(b, g, r)
            if lo is None:
                return None
            hi = lazy.get(b, g, r + 1)
            if hi is None and (r + 1) in b.lazy:
                return None
            return lo, (hi if hi is not None else r + 1)
        return read_pair
    const = opd.inline_int(code)
    if const is not None:
        const &= (1 << 64) - 1
        pair = (Affine(const & lazy.M32), Affine(const >> 32))
        return lambda b, g: pair
    if not _readable_sgpr(code):
        return None
    return lambda b, g: (lazy.from_values(b.S[code, g.sel]), lazy.from_values(b.S[code + 1, g.sel]))


def _lshlrev_b64(m, inst, srcs, vdst, sdst):
    k = _constant(srcs[0], inst)
    read = _source64(srcs[1], inst)
    if vdst is None or k is None or read is None:
        return None
    k &= 63

    def fast(b, g):
        pair = read(b, g)
        if pair is None or isinstance(pair[1], int):
            return False
        lo, hi = pair
        if k >= 32:
            new_lo, new_hi = Affine(0), lazy.scale(lo, 1 << (k - 32))
        elif k == 0:
            new_lo, new_hi = lo, hi
        else:
            if not lo.no_wrap():
                return False
            spill = lazy.shift_right(lo, 32 - k, False)       # the bits that cross into hi
            if spill is None or not spill.uniform:
                return False
            new_lo = lazy.scale(lo, 1 << k)
            new_hi = lazy.add(lazy.scale(hi, 1 << k), spill)  # below the shifted bits: + is |
        lazy.put(b, g, vdst, new_lo)
        lazy.put(b, g, vdst + 1, new_hi)
        return True
    return fast


def _product64(x: Affine, y: Affine, n: int):
    """The low and high halves of the 64-bit product x * y: of uniform factors one value per
    wave; of an affine factor and one value every wave shares, when no lane's product passes
    2**32 (the high half is then 0). None otherwise."""
    if x.uniform and y.uniform:
        if isinstance(x.base, int) and isinstance(y.base, int):
            product = x.base * y.base
            return Affine(product & lazy.M32), Affine(product >> 32)
        product = x.base_array(n).astype(np.uint64) * y.base_array(n).astype(np.uint64)
        return Affine((product & np.uint64(lazy.M32)).astype(U32)), Affine((product >> np.uint64(32)).astype(U32))
    for value, factor in ((x, y), (y, x)):
        c = factor.same_value()
        if c is not None and value.no_wrap() and (value.bounds()[1] + value.span) * c <= lazy.M32:
            return lazy.scale(value, c), Affine(0)
    return None


def _mad_u64_u32(m, inst, srcs, vdst, sdst):
    """vdst:vdst+1 = src0 * src1 + src2 (64-bit) where the product has a per-wave form
    (_product64): the low half stays affine, and a materialized high half of src2 takes the
    wave's carry in one pass."""
    if vdst is None or (sdst is not None and sdst != NULL):
        return None
    readers = _readers(inst, srcs, 2)
    add64 = _source64(srcs[2], inst)
    if readers is None or add64 is None:
        return None
    ra, rb = readers

    def fast(b, g):
        x, y = ra(b, g), rb(b, g)
        if x is None or y is None:
            return False
        product = _product64(x, y, g.n)
        if product is None:
            return False
        pair = add64(b, g)
        if pair is None:
            return False
        lo, hi = pair
        p_lo, p_hi = product
        carry = lazy.add_carry(p_lo, lo, 0, g.n)
        if carry is None:
            return False
        carry = int(carry) if isinstance(carry, bool) else carry.astype(U32)
        new_lo = lazy.add(p_lo, lo)
        if isinstance(hi, int):
            top = p_hi.base_array(g.n) + carry if not isinstance(p_hi.base, int) or not isinstance(carry, int) \
                else U32((p_hi.base + carry) & lazy.M32)
            rows = b.V[hi, g.sel] + (top[:, None] if isinstance(top, np.ndarray) else top)
            lazy.put(b, g, vdst, new_lo)
            lazy.put_rows(b, g, vdst + 1, rows)
        else:
            lazy.put(b, g, vdst, new_lo)
            lazy.put(b, g, vdst + 1, lazy.add(hi, p_hi, carry))
        return True
    return fast


# -- compares ---------------------------------------------------------------------------------

def _compare(m, inst, srcs, vdst, sdst):
    parts = m.split("_")              # v_cmp_gt_i32 / v_cmpx_gt_i32
    pred = lazy.PREDICATES.get(parts[2])
    if pred is None:
        return None
    signed = parts[3] == "i32"
    if parts[1] == "cmpx":
        dest = EXEC
    elif inst.base == "VOPC":
        dest = VCC
    else:
        dest = vdst
    if dest is None or not (dest == NULL or _readable_sgpr(dest)):
        return None
    read = _two(inst, srcs)
    if read is None:
        return None

    def fast(b, g):
        xy = read(b, g)
        if xy is None:
            return False
        lanes = lazy.compare(pred, *xy, signed, g.n, b.L)
        if lanes is None:
            return False
        lazy.mask_words(b, g, dest, lanes)
        return True
    return fast


_BUILDERS = {
    "v_mov_b32": _unary(_mov),
    "v_add_nc_u32": _unary(_binary(lazy.add)),
    "v_sub_nc_u32": _unary(_binary(lambda x, y: lazy.add(x, lazy.neg(y)))),
    "v_subrev_nc_u32": _unary(_binary(lambda x, y: lazy.add(y, lazy.neg(x)))),
    "v_mul_lo_u32": _unary(_binary(_mul_lo)),
    "v_lshlrev_b32": _unary(_shift_by_constant(lambda x, k: lazy.scale(x, 1 << k))),
    "v_lshrrev_b32": _unary(_shift_by_constant(lambda x, k: lazy.shift_right(x, k, False))),
    "v_ashrrev_i32": _unary(_shift_by_constant(lambda x, k: lazy.shift_right(x, k, True))),
    "v_and_b32": _unary(_and),
    "v_bfe_u32": _unary(_bfe_u32),
    "v_lshl_add_u32": _unary(_lshl_add),
    "v_add3_u32": _unary(_add3),
    "v_add_co_u32": _add_co,
    "v_add_co_ci_u32": _add_co,
    "v_lshlrev_b64": _lshlrev_b64,
    "v_mad_u64_u32": _mad_u64_u32,
    "cmp": _compare,
}
