"""The fast f32/f16 fused multiply-add (one rounding in the wider format, then one to the narrow
one, with the exact path for the lanes where that could go wrong) against the Fraction reference
and against the exact round-to-odd path: random operands, and sums built to land on or next to
the midpoints between neighbouring results, where rounding twice decides ties wrongly."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_valu_reference import check, dec, rand_bits, ref_fma, rnd

from isa.emu import fp

RNG = np.random.default_rng(1234)
FMTS = {"f32": fp.F32, "f16": fp.F16}
LAYOUT = {"f32": (32, 23, 127), "f16": (16, 10, 15)}     # width, mantissa bits, exponent bias


def _bits_of(value: Fraction, t: str) -> int:
    bits = rnd(value, t)
    assert dec(bits, t)[1] == value, "the construction needs representable operands"
    return bits


def tie_case(c_bits: int, t: str, k: int, up: bool, flip: bool) -> tuple[int, int, int]:
    """(a, b, c) with a*b = +-(half an ulp of c) * (1 - 2**-2k): the exact sum sits just inside
    the midpoint next to c, by less than half an ulp of the wide format when k is large."""
    width, mant, bias = LAYOUT[t]
    exp_field = (c_bits >> mant) & (2 * bias + 1)
    ulp_exp = max(exp_field, 1) - bias - mant               # the ulp of c's binade
    half = ulp_exp - 1
    e1 = half // 2
    x = Fraction(2) ** e1 * (1 + Fraction(1, 2 ** k))
    y = Fraction(2) ** (half - e1) * (1 - Fraction(1, 2 ** k))
    c_neg = (c_bits >> (width - 1)) & 1
    toward_up = up != bool(c_neg)                             # away from zero when `up`
    if not toward_up:
        x = -x
    if flip:                                                  # the sign on the other factor
        x, y = -x, -y
    return _bits_of(x, t), _bits_of(y, t), c_bits


def _finite(t: str, n: int) -> np.ndarray:
    bits = rand_bits(RNG, t, n, special_frac=0.1)
    return bits[~(fp.is_nan(bits, FMTS[t]) | fp.is_inf(bits, FMTS[t]))]


def _tie_arrays(t: str, n: int, ks) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cs = _finite(t, n)
    cases = [tie_case(int(c), t, int(RNG.choice(ks)), bool(RNG.integers(2)), bool(RNG.integers(2))) for c in cs]
    a, b, c = (np.array(col, np.uint32) for col in zip(*cases, strict=True))
    return a, b, c


def _naive(a, b, c, t):
    """Rounding twice with no repair: what the fast path would give without its exact lanes."""
    fmt = FMTS[t]
    x, y, z = (fp.wide(v, fmt) for v in (a, b, c))
    with np.errstate(all="ignore"):
        if t == "f32":
            return (x * y + z).astype(np.float32).view(np.uint32)
        s = (x.astype(np.float32) * y.astype(np.float32) + z.astype(np.float32))
        return s.astype(np.float16).view(np.uint16).astype(np.uint32)


def test_ties_f32():
    a, b, c = _tie_arrays("f32", 3000, range(15, 24))
    got = fp.fma(a, b, c, fp.F32)
    check(got, lambda x, y, z: ref_fma(x, y, z, "f32"), a, b, c)
    # the cases are adversarial: rounding twice without the repair gets many of them wrong
    assert (_naive(a, b, c, "f32") != got).sum() > len(a) // 10


def test_ties_f16():
    a, b, c = _tie_arrays("f16", 3000, range(7, 11))
    got = fp.fma(a, b, c, fp.F16)
    check(got, lambda x, y, z: ref_fma(x, y, z, "f16"), a, b, c)
    assert (_naive(a, b, c, "f16") != got).sum() > len(a) // 10


def test_near_ties_not_repaired_are_right():
    """Perturbations too big to make the wide sum a midpoint: plain double rounding is right there."""
    for t, ks in (("f32", range(2, 15)), ("f16", range(2, 7))):
        a, b, c = _tie_arrays(t, 1500, ks)
        check(fp.fma(a, b, c, FMTS[t]), lambda x, y, z, t=t: ref_fma(x, y, z, t), a, b, c)


@settings(max_examples=400, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(15, 23), st.booleans(), st.booleans())
def test_tie_property_f32(c, k, up, flip):
    if dec(c, "f32")[0] != "num":
        c &= 0x807FFFFF                                       # a denormal or zero instead
    a, b, c = tie_case(c, "f32", k, up, flip)
    assert int(fp.fma(np.array([a], np.uint32), np.array([b], np.uint32), np.array([c], np.uint32),
                      fp.F32)[0]) == ref_fma(a, b, c, "f32")


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**16 - 1), st.integers(7, 10), st.booleans(), st.booleans())
def test_tie_property_f16(c, k, up, flip):
    if dec(c, "f16")[0] != "num":
        c &= 0x83FF
    a, b, c = tie_case(c, "f16", k, up, flip)
    assert int(fp.fma(np.array([a], np.uint32), np.array([b], np.uint32), np.array([c], np.uint32),
                      fp.F16)[0]) == ref_fma(a, b, c, "f16")


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**16 - 1), st.integers(0, 2**16 - 1), st.integers(0, 2**16 - 1))
def test_fma_f16_property(x, y, z):
    a, b, c = (np.array([v], np.uint32) for v in (x, y, z))
    assert int(fp.fma(a, b, c, fp.F16)[0]) == ref_fma(x, y, z, "f16")


def test_fast_equals_exact_path_on_random_arrays():
    for t, fmt in FMTS.items():
        a, b, c = (rand_bits(RNG, t, 20000) for _ in range(3))
        # products cancelled by c, and products far below c (the sums that are inexact)
        with np.errstate(all="ignore"):
            prod = fp.wide(a, fmt) * fp.wide(b, fmt)
        c = np.where(np.arange(c.size) % 4 == 0, fp.f64_to_bits(-prod, fmt), c).astype(np.uint32)
        assert np.array_equal(fp.fma(a, b, c, fmt), fp.fma_narrow_exact(a, b, c, fmt))


def test_high_half_of_f16_operands_is_ignored():
    a, b, c = (rand_bits(RNG, "f16", 2000) for _ in range(3))
    junk = [(RNG.integers(0, 2**16, a.size).astype(np.uint32) << 16) | v for v in (a, b, c)]
    assert np.array_equal(fp.fma(*junk, fp.F16), fp.fma(a, b, c, fp.F16))


def test_shapes_and_broadcasting():
    a = rand_bits(RNG, "f32", 64).reshape(2, 32)
    b = rand_bits(RNG, "f32", 32)
    c = np.uint32(0x3F800000)
    got = fp.fma(a, b, c, fp.F32)
    assert got.shape == (2, 32) and got.dtype == np.uint32
    assert np.array_equal(got, fp.fma_narrow_exact(a, np.broadcast_to(b, (2, 32)), np.full((2, 32), c), fp.F32))
    one = fp.fma(np.uint32(0x40000000), np.uint32(0x40400000), np.uint32(0x3F800000), fp.F32)
    assert one.shape == () and int(one) == 0x40E00000                  # 2 * 3 + 1
    # a tie lane among broadcast operands takes the exact path with its own values
    ta, tb, tc = tie_case(0x3F800001, "f32", 20, True, False)
    bb = np.full(5, tb, np.uint32)
    got = fp.fma(np.uint32(ta), bb, np.array([tc] * 5, np.uint32), fp.F32)
    assert got.tolist() == [ref_fma(ta, tb, tc, "f32")] * 5


# ---------------------------------------------------------------------------------------------
# whole batches: the fast path decides per batch whether any lane needs the exact path, so the
# lanes that need it are mixed here with ordinary ones, and every lane must equal the reference

def _special_values(t: str) -> list[int]:
    width, mant, bias = LAYOUT[t]
    sign = 1 << (width - 1)
    exp_all = ((1 << (width - 1 - mant)) - 1) << mant
    quiet = 1 << (mant - 1)
    pos = [0, 1, 2, (1 << mant) - 1, 1 << mant, (1 << mant) + 1,        # zero, denormals, smallest normals
           bias << mant, (bias << mant) | 1, exp_all - 1, exp_all,    # one, the largest finite, inf
           exp_all | quiet, exp_all | quiet | 5, exp_all | 1, exp_all | 3]   # quiet and signalling NaNs
    return pos + [v | sign for v in pos]


def _lane_strategy(t: str):
    width = LAYOUT[t][0]
    return st.one_of(st.integers(0, 2**width - 1), st.sampled_from(_special_values(t)))


def _batch_strategy(t: str):
    """Lanes of (a, b, c): random and special operands, tie constructions, and products that
    cancel c exactly (zero sums of either sign) or nearly (denormal results)."""
    width, mant, _ = LAYOUT[t]
    k_lo, k_hi = (15, 23) if t == "f32" else (7, 10)
    plain = st.tuples(_lane_strategy(t), _lane_strategy(t), _lane_strategy(t))

    @st.composite
    def tie(draw):
        c = draw(st.integers(0, 2**width - 1))
        if dec(c, t)[0] != "num":
            c &= (1 << (width - 1)) | ((1 << mant) - 1)
        return tie_case(c, t, draw(st.integers(k_lo, k_hi)), draw(st.booleans()), draw(st.booleans()))

    @st.composite
    def cancel(draw):
        a, b = draw(_lane_strategy(t)), draw(_lane_strategy(t))
        with np.errstate(all="ignore"):
            p = fp.wide(np.array([a], np.uint32), FMTS[t]) * fp.wide(np.array([b], np.uint32), FMTS[t])
        c = int(fp.f64_to_bits(-p, FMTS[t])[0])
        return a, b, c ^ draw(st.sampled_from([0, 0, 1, 2, 1 << (width - 1)]))

    return st.lists(st.one_of(plain, tie(), cancel()), min_size=1, max_size=40)


def _check_batch(lanes, t: str):
    fmt = FMTS[t]
    a, b, c = (np.array(col, np.uint32) for col in zip(*lanes, strict=True))
    got = fp.fma(a, b, c, fmt)
    assert got.dtype == np.uint32 and got.shape == a.shape
    assert got.tolist() == fp.fma_narrow_exact(a, b, c, fmt).tolist()
    assert got.tolist() == [ref_fma(int(x), int(y), int(z), t) for x, y, z in lanes]


@settings(max_examples=300, deadline=None)
@given(_batch_strategy("f32"))
def test_batches_f32(lanes):
    _check_batch(lanes, "f32")


@settings(max_examples=300, deadline=None)
@given(_batch_strategy("f16"))
def test_batches_f16(lanes):
    _check_batch(lanes, "f16")


def test_exact_zero_sums_next_to_exact_lanes():
    """Zero sums keep the fast result (their sign by the rounding rules of the sum) while a
    denormal result in the same batch takes the exact path."""
    one, two, tiny = 0x3F800000, 0x40000000, 0x00000003
    a = np.array([one, one, 0x80000000, 0, tiny, one], np.uint32)
    b = np.array([two, 0xC0000000, one, one, 0x3F000000, one], np.uint32)
    c = np.array([0xC0000000, 0x40000000, 0x80000000, 0x80000000, 0, 0x80000000 | one], np.uint32)
    got = fp.fma(a, b, c, fp.F32)
    assert got.tolist() == [ref_fma(int(x), int(y), int(z), "f32") for x, y, z in zip(a, b, c, strict=True)]
    assert got.tolist()[:4] == [0, 0, 0x80000000, 0]


def test_results_are_not_work_arrays():
    """The fast path keeps work arrays between calls: a result must not change with a later call."""
    a, b, c = (rand_bits(RNG, "f32", 4096).reshape(128, 32) for _ in range(3))
    first = fp.fma(a, b, c, fp.F32)
    keep = first.copy()
    for _ in range(3):
        fp.fma(c, a, b, fp.F32)
        fp.fma(a[:, :16], b[:, :16], c[:, :16], fp.F32)
        fp.fma(a & 0xFFFF, b & 0xFFFF, c & 0xFFFF, fp.F16)
    assert np.array_equal(first, keep)
    assert np.array_equal(first, fp.fma_narrow_exact(a, b, c, fp.F32))


def test_threads_have_their_own_work_arrays():
    import threading
    inputs = [tuple(rand_bits(np.random.default_rng(i), "f32", 8192) for _ in range(3)) for i in range(4)]
    expect = [fp.fma_narrow_exact(*v, fp.F32) for v in inputs]
    bad = []

    def run(i):
        for _ in range(20):
            if not np.array_equal(fp.fma(*inputs[i], fp.F32), expect[i]):
                bad.append(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not bad


@pytest.mark.parametrize("t", ["f32", "f16"])
def test_one_lane_that_needs_the_exact_path_in_a_long_batch(t):
    """The batch tests reduce over all lanes: a single NaN, denormal, smallest normal or tie
    lane anywhere in a long batch (first, last, inside a vector block, in the tail) is found."""
    fmt = FMTS[t]
    width, mant, bias = LAYOUT[t]
    n = 70001
    one = bias << mant
    a = np.full(n, one, np.uint32)
    b = np.full(n, one, np.uint32)
    c = np.full(n, one, np.uint32)                             # 1 * 1 + 1 everywhere
    ta, tb, tc = tie_case(one | 1, t, 20 if t == "f32" else 9, True, False)
    exp_all = ((1 << (width - 1 - mant)) - 1) << mant
    lanes = [(0x0, 0x0, 1), (one, one, exp_all | 1), (one, 0x1, 0x0), (1 << mant, one, 0x0), (ta, tb, tc),
             (one, one, (1 << (width - 1)) | one),           # sNaN, denormal, smallest normal, tie, zero sum
             (exp_all, 0x0, one)]                             # inf * 0: the default NaN of the format
    for pos in (0, 1, 15, 16, 17, 4097, n - 2, n - 1):
        for x, y, z in lanes:
            aa, bb, cc = a.copy(), b.copy(), c.copy()
            aa[pos], bb[pos], cc[pos] = x, y, z
            got = fp.fma(aa, bb, cc, fmt)
            assert int(got[pos]) == ref_fma(x, y, z, t), (pos, hex(x), hex(y), hex(z))
            assert (np.delete(got, pos) == ref_fma(one, one, one, t)).all()
