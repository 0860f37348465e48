"""Lane-affine VGPRs held per wave instead of per lane.

Index arithmetic in compiled kernels computes values such as `workgroup_id * size + local_id`
or `base + 4 * index`: every lane holds the wave's own value plus a lane pattern that is the
same in every wave. Such a value is kept as an Affine -- base[wave] + lanes[lane], mod 2**32 --
and the register's rows in Batch.V are left stale until something needs them. Address
arithmetic then costs one value per wave (one value in all when the waves agree, as kernel
arguments do), and a global load or store whose addresses form one consecutive run becomes a
slice copy with no per-lane address at all.

Batch.lazy maps a VGPR to the Held value of one group's waves. The rule that keeps this exact:
before any instruction that is not one of the affine operations (isa.emu.lazy_valu) touches a
VGPR (reads or writes it, as isa.emu.hazards.registers names them), the register is
materialized; an instruction whose registers are not known that way materializes every held
register first. Affine operations run only for full groups (every lane active, so a written
register is written whole) and fall back to the general path, after materializing, whenever a
condition for the per-wave form does not hold.
"""

import operator
from dataclasses import dataclass

import numpy as np

from isa.emu.access import same_in_every_wave
from isa.emu.state import EXEC, NULL, U32, Batch, Group

M32 = (1 << 32) - 1
FULL_WORD = U32(0xFFFFFFFF)


class Ramp:
    """Bases first + step * i mod 2**32 of the waves i = 0 .. n-1 (consecutive waves holding
    consecutive work-items, as a global index does): arithmetic on it costs no array."""

    __slots__ = ("first", "step", "n", "_array")

    def __init__(self, first: int, step: int, n: int):
        self.first = first & M32
        self.step = step & M32
        self.n = n
        self._array = None

    def array(self) -> np.ndarray:
        if self._array is None:
            self._array = (np.arange(self.n, dtype=np.int64) * self.step + self.first).astype(U32)
        return self._array

    def bounds(self) -> tuple[int, int]:
        last = self.first + self.step * (self.n - 1)
        if last <= M32:
            return self.first, last
        a = self.array()
        return int(a.min()), int(a.max())


def as_ramp(base: np.ndarray):
    """A Ramp for per-wave bases that form one, else the array itself (one pass to check)."""
    n = base.size
    if n < 2:
        return base
    ramp = Ramp(int(base[0]), int(base[1]) - int(base[0]), n)
    return ramp if np.array_equal(ramp.array(), base) else base


def _base_array(base, n: int) -> np.ndarray:
    if isinstance(base, int):
        return np.full(n, base, U32)
    if isinstance(base, Ramp):
        return base.array()
    return base


def _base_add(a, b):
    """Bases a + b (mod 2**32): ints and ramps stay so, arrays otherwise."""
    if isinstance(a, int) and isinstance(b, int):
        return (a + b) & M32
    if isinstance(a, Ramp) and isinstance(b, (int, Ramp)):
        return Ramp(a.first + (b if isinstance(b, int) else b.first), a.step + (0 if isinstance(b, int) else b.step), a.n)
    if isinstance(b, Ramp) and isinstance(a, int):
        return Ramp(b.first + a, b.step, b.n)
    if isinstance(a, Ramp):
        a = a.array()
    if isinstance(b, Ramp):
        b = b.array()
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return as_ramp(a + b)
    return a + b                          # an array and an int (a uint32 array)


def _base_scale(a, c: int):
    if isinstance(a, int):
        return (a * c) & M32
    if isinstance(a, Ramp):
        return Ramp(a.first * c, a.step * c, a.n)
    return a * U32(c)


class Affine:
    """base + lanes[lane] mod 2**32, where base is one int for every wave, a Ramp, or uint32 [n]
    (one per wave) and lanes int64 [L] (None: 0 in every lane). The lanes are normalized so that their
    smallest entry is 0: base is then each wave's smallest value whenever no lane wraps past
    2**32, and `span` (the largest entry) bounds the rest. Bounds of the bases are kept where an
    operation knows them and computed when asked otherwise."""

    __slots__ = ("base", "lanes", "span", "_bounds", "_lanes32", "_lanes_or", "_base_or")

    def __init__(self, base, lanes: np.ndarray | None = None, bounds: tuple[int, int] | None = None,
                 span: int | None = None):
        if isinstance(base, np.ndarray) and base.dtype != U32:
            base = base.astype(U32)
        if span is not None:              # lanes already normalized
            pass
        elif lanes is not None:
            low = int(lanes.min())
            if low:
                lanes = lanes - low
                base = _base_add(base, low)
                bounds = None
            span = int(lanes.max())
            if span == 0:
                lanes = None
        else:
            span = 0
        if isinstance(base, int):
            bounds = (base, base)
        self.base = base
        self.lanes = lanes
        self.span = span
        self._bounds = bounds
        self._lanes32 = None
        self._lanes_or = None
        self._base_or = None

    @property
    def uniform(self) -> bool:
        return self.lanes is None

    def bounds(self) -> tuple[int, int]:
        """The smallest and largest base."""
        if self._bounds is None:
            base = self.base
            self._bounds = base.bounds() if isinstance(base, Ramp) else (int(base.min()), int(base.max()))
        return self._bounds

    def same_value(self) -> int | None:
        """The one value of every lane of every wave, or None."""
        if self.lanes is not None:
            return None
        lo, hi = self.bounds()
        return lo if lo == hi else None

    def base_array(self, n: int) -> np.ndarray:
        """The bases as uint32 [n] (n matters only for an int base; callers that know the base
        is not one pass 0)."""
        return _base_array(self.base, n)

    def wide_base(self, n: int) -> np.ndarray:
        """The bases as int64 [n] (room for sums past 2**32)."""
        return self.base_array(n).astype(np.int64)

    def lanes32(self) -> np.ndarray:
        if self._lanes32 is None:
            self._lanes32 = self.lanes.astype(U32)
        return self._lanes32

    def lanes_or(self) -> int:
        if self._lanes_or is None:
            self._lanes_or = 0 if self.lanes is None else int(np.bitwise_or.reduce(self.lanes))
        return self._lanes_or

    def base_or(self) -> int:
        if self._base_or is None:
            self._base_or = self.base if isinstance(self.base, int) else \
                int(np.bitwise_or.reduce(self.base_array(0)))
        return self._base_or

    def rows(self, n: int, L: int) -> np.ndarray:
        """The values as [n, L] uint32."""
        base = self.base_array(n)
        if self.lanes is None:
            return np.repeat(base, L).reshape(n, L)
        return base[:, None] + self.lanes32()[None, :]

    def no_wrap(self) -> bool:
        """No wave's lanes wrap past 2**32: every value is base + lanes exactly."""
        return self.bounds()[1] + self.span <= M32

    def disjoint(self) -> bool:
        """The bases and the lane pattern share no set bit: every value is base | lanes."""
        return not (self.base_or() & self.lanes_or())


def from_values(values: np.ndarray) -> "Affine":
    """An Affine of per-wave values [n] (a copy): one int when the waves agree."""
    if same_in_every_wave(values):
        return Affine(int(values[0]))
    return Affine(values.astype(U32))


@dataclass
class Held:
    """A VGPR's value for the waves start..stop of the batch (the rows of V are stale)."""
    start: int
    stop: int
    value: Affine


# ---------------------------------------------------------------------------------------------
# the batch's held registers

def materialize(b: Batch, r: int) -> None:
    held = b.lazy.pop(r, None)
    if held is not None:
        value = held.value
        if value.lanes is None:         # one fill, no [n, L] temporary
            b.V[r, held.start:held.stop] = value.base if isinstance(value.base, int) else \
                value.base_array(held.stop - held.start)[:, None]
        else:
            b.V[r, held.start:held.stop] = value.rows(held.stop - held.start, b.L)


def settle(b: Batch, regs) -> None:
    """Materializes the held registers among `regs` (VGPR numbers)."""
    for r in regs:
        if r in b.lazy:
            materialize(b, r)


def settle_all(b: Batch) -> None:
    for r in list(b.lazy):
        materialize(b, r)


def get(b: Batch, g: Group, r: int) -> Affine | None:
    """The held value of VGPR r for exactly the waves of g, or None."""
    held = b.lazy.get(r)
    if held is None or not g.contiguous or held.start != g.sel.start or held.stop != g.sel.stop:
        return None
    return held.value


def put(b: Batch, g: Group, r: int, value: Affine) -> None:
    """VGPR r of every lane of g's waves (a full, contiguous group) holds `value`."""
    held = b.lazy.get(r)
    if held is not None and (held.start != g.sel.start or held.stop != g.sel.stop):
        materialize(b, r)                 # other waves keep their values
    b.lazy[r] = Held(g.sel.start, g.sel.stop, value)


def overwrite(b: Batch, g: Group, r: int, count: int = 1) -> None:
    """VGPRs r.. are about to be written in every active lane of g's waves by a general path:
    a held value of exactly these waves is dropped when every lane is active, else made."""
    for i in range(r, r + count):
        held = b.lazy.get(i)
        if held is not None:
            if g.full and g.contiguous and held.start == g.sel.start and held.stop == g.sel.stop:
                del b.lazy[i]
            else:
                materialize(b, i)


def put_rows(b: Batch, g: Group, r: int, rows: np.ndarray) -> None:
    overwrite(b, g, r)
    b.V[r, g.sel] = rows


# ---------------------------------------------------------------------------------------------
# arithmetic on Affine values (mod 2**32)

def _sum_bounds(x: Affine, y: Affine, extra: tuple[int, int]):
    if x._bounds is None or y._bounds is None:
        return None
    lo = x._bounds[0] + y._bounds[0] + extra[0]
    hi = x._bounds[1] + y._bounds[1] + extra[1]
    return (lo, hi) if hi <= M32 else None


def add(x: Affine, y: Affine, extra=0) -> Affine:
    """x + y (+ extra: an int, or 0/1 per wave as uint32 [n])."""
    base = _base_add(x.base, y.base)
    if isinstance(extra, np.ndarray):
        base = _base_add(base, extra)
        extra_range = (0, 1)
    elif extra:
        base = _base_add(base, extra)
        extra_range = (extra, extra)
    else:
        extra_range = (0, 0)
    bounds = _sum_bounds(x, y, extra_range)
    if y.lanes is None:
        return Affine(base, x.lanes, bounds, x.span)
    if x.lanes is None:
        return Affine(base, y.lanes, bounds, y.span)
    return Affine(base, (x.lanes + y.lanes) & M32)     # normalizing may move the bases


def neg(x: Affine) -> Affine:
    """-(base + lanes) as (-base - span) + (span - lanes), keeping the lanes' range."""
    base = _base_add(_base_scale(x.base, M32), (-x.span) & M32)      # * M32 is * -1
    return Affine(base, None if x.lanes is None else x.span - x.lanes)


def scale(x: Affine, c: int) -> Affine:
    c &= M32
    base = _base_scale(x.base, c)
    bounds = None
    if x._bounds is not None and x._bounds[1] * c <= M32:
        bounds = (x._bounds[0] * c, x._bounds[1] * c)
    return Affine(base, None if x.lanes is None else (x.lanes * c) & M32, bounds)


def shift_right(x: Affine, k: int, arithmetic: bool) -> Affine | None:
    """x >> k (k < 32) when every wave's result is one value, or when each value is
    base | lanes (the halves then shift apart); None otherwise."""
    lo, hi = x.bounds()
    if hi + x.span <= M32 and lo >> k == (hi + x.span) >> k:
        # every value of every wave lies in one aligned block of 2**k: one result
        return Affine((_as_signed(lo) >> k) & M32 if arithmetic else lo >> k)
    if isinstance(x.base, int):
        base = (_as_signed(x.base) >> k) & M32 if arithmetic else x.base >> k
    else:
        array = x.base_array(0)
        base = (array.view(np.int32) >> np.int32(k)).view(U32) if arithmetic else array >> U32(k)
    if x.lanes is None:
        return Affine(base)
    if x.no_wrap() and _same_block(x, k):
        return Affine(base)
    if x.disjoint() and not (x.lanes_or() >> 31):
        return Affine(base, x.lanes >> k)
    return None


def _as_signed(v: int) -> int:
    return v - (1 << 32) if v >> 31 else v


def _same_block(x: Affine, k: int) -> bool:
    """Within every wave, all values lie in one aligned block of 2**k."""
    if isinstance(x.base, int):
        return x.base >> k == (x.base + x.span) >> k
    lo = x.base_array(0).astype(np.int64)
    return bool(((lo >> k) == ((lo + x.span) >> k)).all())


def mask(x: Affine, m: int) -> Affine | None:
    base = x.base & m if isinstance(x.base, int) else x.base_array(0) & U32(m)
    if x.lanes is None:
        return Affine(base)
    if x.disjoint():
        return Affine(base, x.lanes & m)
    return None


def add_carry(x: Affine, y: Affine, cin, n: int):
    """The carry out of x + y (+ cin: an int or 0/1 per wave): False or True when it is the
    same in every lane of every wave, bool [n] when it is the same within each wave, else
    None."""
    c_lo, c_hi = (cin, cin) if isinstance(cin, int) else (0, 1)
    (x_lo, x_hi), (y_lo, y_hi) = x.bounds(), y.bounds()
    if x_hi + x.span + y_hi + y.span + c_hi <= M32:
        return False              # wrapped values are never larger than unwrapped ones
    if not (x.no_wrap() and y.no_wrap()):
        return None
    if x_lo + y_lo + c_lo > M32:
        return True
    low = x.wide_base(n) + y.wide_base(n) + cin
    out = low > M32
    if (out == (low + (x.span + y.span) > M32)).all():
        return out
    return None


def carry_in(b: Batch, g: Group, code: int):
    """A carry-in mask (wave32) as an int when every wave's is all zeros or all ones, 0/1 per
    wave (uint32 [n]) when each wave's is, else None."""
    words = b.S[code, g.sel]
    if not words.any():
        return 0
    ones = words == FULL_WORD
    if ones.all():
        return 1
    if not (ones | (words == 0)).all():
        return None
    return ones.astype(U32)


def mask_words(b: Batch, g: Group, code: int, value) -> None:
    """A lane mask to VCC / an SGPR (wave32, full group): True / False for every lane, bool [n]
    per wave, or bool [n, L] per lane."""
    if code == NULL:
        return
    if code == EXEC:
        if value is True:
            return                      # every lane of a full group stays active
        lanes = value if isinstance(value, np.ndarray) and value.ndim == 2 else \
            np.broadcast_to(np.asarray(value, bool).reshape(-1, 1), (g.n, b.L))
        b.set_exec(g.sel, lanes)
        g.refresh(b)
        return
    if isinstance(value, np.ndarray) and value.ndim == 2:
        b.set_mask(code, g.sel, value)
    elif isinstance(value, np.ndarray):
        b.S[code, g.sel] = np.where(value, FULL_WORD, U32(0))
    else:
        b.S[code, g.sel] = FULL_WORD if value else U32(0)


# ---------------------------------------------------------------------------------------------
# comparisons

class Pred:
    def __init__(self, fn, scalar, monotone: bool, apart: bool = False):
        self.fn = fn                # on arrays
        self.scalar = scalar        # on ints
        self.monotone = monotone
        self.apart = apart          # eq / ne: the result where the two ranges do not meet

    def __call__(self, a, b):
        return self.fn(a, b)


PREDICATES = {
    "lt": Pred(np.less, operator.lt, True), "le": Pred(np.less_equal, operator.le, True),
    "gt": Pred(np.greater, operator.gt, True), "ge": Pred(np.greater_equal, operator.ge, True),
    "eq": Pred(np.equal, operator.eq, False), "ne": Pred(np.not_equal, operator.ne, False, True),
}


def _range(x: Affine, signed: bool) -> tuple[int, int] | None:
    """All values of x in the compare's domain as [lo, hi], when they keep their order there."""
    lo, hi = x.bounds()
    hi += x.span
    if hi > M32:
        return None
    if signed:
        if lo < 1 << 31 <= hi:
            return None
        if lo >= 1 << 31:
            lo, hi = lo - (1 << 32), hi - (1 << 32)
    return lo, hi


def compare(pred: Pred, a: Affine, b_: Affine, signed: bool, n: int, L: int):
    """pred(a, b_) in every lane: True / False when one answer holds for all lanes of all
    waves, else bool [n, L] (whole waves decided by their ranges, lane by lane only where they
    are not, or lane by lane throughout for a small group); None when a range wraps or neither
    side is uniform in a large group."""
    ra, rb = _range(a, signed), _range(b_, signed)
    if ra is not None and rb is not None:
        if pred.monotone:
            corners = {pred.scalar(x, y) for x in ra for y in rb}
            if len(corners) == 1:
                return corners.pop()
        elif ra[1] < rb[0] or rb[1] < ra[0]:
            return pred.apart
    if n * L <= SMALL_GROUP_LANES:
        return pred(_lane_values(a, signed, n, L), _lane_values(b_, signed, n, L))
    if ra is None or rb is None or not (a.uniform or b_.uniform):
        return None
    return _compare_waves(pred, a, b_, signed, n, L)


# Up to this many lanes, comparing every lane (two passes) costs less than deciding waves by
# their ranges.
SMALL_GROUP_LANES = 1 << 16


def _lane_values(x: Affine, signed: bool, n: int, L: int):
    """x's values in every lane ([n, L], or an int when all are one), as signed when asked."""
    if x.lanes is None and isinstance(x.base, int):
        return _as_signed(x.base) if signed else x.base
    rows = x.rows(n, L)
    return rows.view(np.int32) if signed else rows


def _compare_waves(pred: Pred, a: Affine, b_: Affine, signed: bool, n: int, L: int):
    if signed and not (_no_sign_cross(a, n) and _no_sign_cross(b_, n)):
        return None
    lo_a, lo_b = _signed(a.base_array(n), signed), _signed(b_.base_array(n), signed)
    hi_a, hi_b = lo_a + a.span, lo_b + b_.span
    if pred.monotone:
        first = pred(lo_a, lo_b)
        decided = first == pred(hi_a, hi_b)
    else:
        decided = (hi_a < lo_b) | (hi_b < lo_a)
        first = np.full(n, pred.apart)
    out = np.repeat(first, L).reshape(n, L)
    rows = np.flatnonzero(~decided)
    if rows.size:
        va = lo_a[rows, None] + (a.lanes if a.lanes is not None else 0)
        vb = lo_b[rows, None] + (b_.lanes if b_.lanes is not None else 0)
        out[rows] = pred(va, vb)
    return out


def _signed(base: np.ndarray, signed: bool) -> np.ndarray:
    return base.view(np.int32).astype(np.int64) if signed else base.astype(np.int64)


def _no_sign_cross(x: Affine, n: int) -> bool:
    """No wave's values straddle 2**31 (their signed order is their unsigned order)."""
    if x.uniform:
        return True
    base = x.wide_base(n)
    return bool(((base + x.span < (1 << 31)) | (base >= (1 << 31))).all())
