"""End to end: OpenCL C kernels compiled by clang-19 for gfx1100, run by the emulator, checked
against numpy (or exact Python arithmetic), each with index arithmetic held per wave and lane by
lane."""

import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from isa.emu import BudgetExceeded, Host, MemoryFault

pytestmark = pytest.mark.llvm

SOURCES = Path(__file__).resolve().parents[2] / "data" / "opencl_emu"


@pytest.fixture(scope="module")
def build(llvm, tmp_path_factory):
    built = {}

    def build(name: str, wave64: bool = False) -> bytes:
        key = (name, wave64)
        if key not in built:
            out = tmp_path_factory.mktemp(name)
            obj, so = out / f"{name}.o", out / f"{name}.so"
            mode = ["-mwavefrontsize64"] if wave64 else []
            subprocess.run([llvm.clang, "-x", "cl", "-cl-std=CL2.0", "-nogpulib", "-target", "amdgcn-amd-amdhsa",
                            "-mcpu=gfx1100", *mode, "-O2", "-I", str(SOURCES), "-c", str(SOURCES / f"{name}.cl"),
                            "-o", str(obj)], check=True, capture_output=True)
            subprocess.run([llvm.lld, "-shared", str(obj), "-o", str(so)], check=True, capture_output=True)
            built[key] = so.read_bytes()
        return built[key]
    return build


@pytest.fixture(scope="module")
def host():
    return Host()


@pytest.fixture(autouse=True, params=["held", "lane by lane"])
def index_arithmetic(request, monkeypatch):
    """Every kernel runs twice: with index arithmetic held per wave (isa.emu.lazy) and with it
    computed lane by lane (AMDRT_EMU_LAZY=0)."""
    monkeypatch.setenv("AMDRT_EMU_LAZY", "1" if request.param == "held" else "0")


@pytest.fixture(scope="module")
def programs(build, host):
    loaded = {}

    def load(name, wave64=False):
        if (name, wave64) not in loaded:
            loaded[name, wave64] = host.load(build(name, wave64))
        return loaded[name, wave64]
    return load


rng = np.random.default_rng(1234)


# ---------------------------------------------------------------------------------------------
# elementwise

@pytest.mark.parametrize("n", [1, 100, 1000, 4097])
def test_add_with_partial_groups(host, programs, n):
    a = rng.standard_normal(n).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    pa, pb, pc = host.upload(a), host.upload(b), host.alloc(4 * n)
    r = host.launch(programs("elementwise")["add"], [pa, pb, pc, np.int32(n)], grid=(n,), workgroup=(256,))
    np.testing.assert_array_equal(host.download(pc, np.float32, n), a + b)
    assert r.waves == -(-n // 256) * 8 - (8 - -(-(n % 256 or 256) // 32))


def test_float_math(host, programs):
    n = 777
    x = rng.uniform(-4, 4, n).astype(np.float32)
    y = rng.uniform(-4, 4, n).astype(np.float32)
    px, py = host.upload(x), host.upload(y)
    host.launch(programs("elementwise")["saxpy_math"], [px, py, np.float32(1.25), np.int32(n)], grid=(n,),
                workgroup=(64,))
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    expect = (1.25 * x64 + y64) + np.sqrt(np.abs(x64)) - x64 * x64 / (1 + x64 * x64)
    np.testing.assert_allclose(host.download(py, np.float32, n), expect, rtol=1e-5, atol=1e-5)


def test_integer_math(host, programs):
    n = 512
    a = rng.integers(-2**31, 2**31, n, dtype=np.int64).astype(np.int32)
    b = rng.integers(-100, 100, n).astype(np.int32)
    pa, pb, po = host.upload(a), host.upload(b), host.alloc(16 * n)
    host.launch(programs("elementwise")["int_ops"], [pa, pb, po, np.int32(n)], grid=(n,), workgroup=(128,))
    got = host.download(po, np.int32, 4 * n).reshape(n, 4)
    for i in range(n):
        x, y = int(a[i]), int(b[i])
        wrap = lambda v: (v + 2**31) % 2**32 - 2**31  # noqa: E731
        quot = 0 if y == 0 else abs(x) // abs(y) * (1 if (x < 0) == (y < 0) else -1)
        rem = 0 if y == 0 else x - quot * y
        expect = [wrap(x * y + (x >> 3) - (y << 2)), wrap(quot), rem,
                  max(x, y) ^ min(x, y) ^ ((x % 2**32) >> 5)]
        assert list(got[i]) == [wrap(e) for e in expect], i


def test_doubles(host, programs):
    n = 300
    a = rng.standard_normal(n)
    pa, po = host.upload(a), host.alloc(8 * n)
    host.launch(programs("elementwise")["doubles"], [pa, po, np.int32(n)], grid=(n,), workgroup=(64,))
    # clang contracts a * 3.0 + q into one fma; the division is correctly rounded
    quotient = 1 / (a + 2)
    expect = [float(Fraction(float(x)) * 3 + Fraction(float(q))) for x, q in zip(a, quotient, strict=True)]
    np.testing.assert_array_equal(host.download(po, np.float64, n), expect)


def test_halves(host, programs):
    n = 200
    a = rng.uniform(-2, 2, n).astype(np.float16)
    b = rng.uniform(-2, 2, n).astype(np.float16)
    pa, pb, po = host.upload(a), host.upload(b), host.alloc(2 * n)
    host.launch(programs("elementwise")["halves"], [pa, pb, po, np.int32(n)], grid=(n,), workgroup=(64,))
    expect = (a.astype(np.float64) * b + 1.5).astype(np.float16)   # one fused rounding
    np.testing.assert_array_equal(host.download(po, np.float16, n), expect)


def test_2d_grid_with_partial_groups(host, programs):
    w, h = 37, 21
    po = host.alloc(4 * w * h)
    host.launch(programs("elementwise")["grid2d"], [po, np.int32(w), np.int32(h)], grid=(w, h), workgroup=(8, 4))
    y, x = np.mgrid[0:h, 0:w]
    np.testing.assert_array_equal(host.download(po, np.float32, w * h).reshape(h, w), x * 1000.0 + y)


# ---------------------------------------------------------------------------------------------
# LDS, barriers, atomics

def test_lds_tree_reduction(host, programs):
    n = 100_000
    x = rng.standard_normal(n).astype(np.float32)
    groups = 40
    px, pp = host.upload(x), host.alloc(4 * groups)
    host.launch(programs("reduce")["sum_partials"], [px, pp, np.int32(n)], grid=(256 * groups,),
                workgroup=(256,))
    partial = host.download(pp, np.float32, groups)
    stride = 256 * groups
    for g in range(groups):
        lane_sums = [np.float32(0)] * 256
        for lid in range(256):
            acc = np.float32(0)
            for i in range(g * 256 + lid, n, stride):
                acc = np.float32(acc + x[i])
            lane_sums[lid] = acc
        tree = np.array(lane_sums, np.float32)
        s = 128
        while s:
            tree[:s] = tree[:s] + tree[s:2 * s]
            s //= 2
        assert partial[g] == tree[0]


def test_global_atomic_add_from_every_lane(host, programs):
    n = 5000
    x = rng.integers(-1000, 1000, n).astype(np.int32)
    px, pt = host.upload(x), host.alloc(4)
    host.launch(programs("reduce")["sum_atomic"], [px, pt, np.int32(n)], grid=(n,), workgroup=(128,))
    assert host.download(pt, np.int32, 1)[0] == x.sum()


def test_lds_and_global_atomics_histogram(host, programs):
    n = 3000
    x = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)
    px, pb = host.upload(x), host.alloc(4 * 64)
    host.launch(programs("reduce")["histogram"], [px, pb, np.int32(n)], grid=(n,), workgroup=(256,))
    np.testing.assert_array_equal(host.download(pb, np.uint32, 64), np.bincount(x & 63, minlength=64))


def test_conflicting_atomics_apply_in_wave_then_lane_order(host, programs):
    n = 1000
    x = rng.integers(-10**6, 10**6, n).astype(np.int32)
    px = host.upload(x)
    po = host.upload(np.array([2**31 - 1, -2**31, -1, 0], np.int32))
    host.launch(programs("reduce")["atomic_minmax"], [px, po, np.int32(n)], grid=(n,), workgroup=(64,))
    out = host.download(po, np.int32, 4)
    assert out[0] == x.min() and out[1] == x.max()
    assert out[2] == n - 1          # the last exchange in order wins
    assert out[3] == n - 1          # each compare-and-swap sees its predecessor's value


def test_atomic_tickets_from_many_waves_are_unique(host, programs):
    n = 10_000
    counter, out = host.alloc(4), host.alloc(4 * n)
    host.launch(programs("reduce")["tickets"], [counter, out, np.int32(n)], grid=(n,), workgroup=(192,))
    tickets = host.download(out, np.uint32, n)
    np.testing.assert_array_equal(np.sort(tickets), np.arange(n))
    np.testing.assert_array_equal(tickets, np.arange(n))        # one group: wave, then lane order
    assert host.download(counter, np.uint32, 1)[0] == n


# ---------------------------------------------------------------------------------------------
# matrix multiplication

@pytest.mark.parametrize("m,n,k", [(64, 64, 64), (40, 24, 72)])
def test_tiled_matmul(host, programs, m, n, k):
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    pa, pb, pc = host.upload(a), host.upload(b), host.alloc(4 * m * n)
    host.launch(programs("matmul")["matmul_tiled"], [pa, pb, pc, np.int32(m), np.int32(n), np.int32(k)],
                grid=(-(-n // 16) * 16, -(-m // 16) * 16), workgroup=(16, 16))
    # The kernel accumulates in order with fused multiply-adds: the same as this loop in f64-exact fma.
    expect = np.zeros((m, n), np.float32)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    for kk in range(-(-k // 16) * 16):
        if kk < k:
            expect = (a64[:, kk:kk + 1] * b64[kk:kk + 1, :] + expect).astype(np.float32)
    got = host.download(pc, np.float32, m * n).reshape(m, n)
    np.testing.assert_allclose(got, a64 @ b64, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(got, expect)


def test_wmma_matmul_matches_the_documented_lane_layout(host, programs):
    m, n, k = 32, 48, 64
    a = rng.uniform(-1, 1, (m, k)).astype(np.float16)
    b = rng.uniform(-1, 1, (k, n)).astype(np.float16)
    pa, pb, pc = host.upload(a), host.upload(b), host.alloc(4 * m * n)
    host.launch(programs("wmma")["wmma_matmul"], [pa, pb, pc, np.int32(m), np.int32(n), np.int32(k)],
                grid=(32 * (n // 16), m // 16), workgroup=(32, 1))
    got = host.download(pc, np.float32, m * n).reshape(m, n)
    np.testing.assert_allclose(got, a.astype(np.float64) @ b.astype(np.float64), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# control flow, private memory, calls, flat addressing

def test_divergent_control_flow(host, programs):
    n = 1000
    x = rng.integers(-5000, 5000, n).astype(np.int32)
    px, po = host.upload(x), host.alloc(4 * n)
    host.launch(programs("control")["divergent"], [px, po, np.int32(n)], grid=(1024,), workgroup=(128,))
    expect = []
    for i, v in enumerate(int(t) for t in x):
        acc = 0
        for j in range(v & 15):
            if (j ^ v) & 1:
                acc += j * v
            elif j % 3 == 0:
                acc -= v >> 2
            else:
                continue
            if acc > 100000:
                break
        acc = {0: acc * 3, 1: acc + 7, 2: -acc}.get(v & 3, acc)
        if (i // 64) & 1:
            acc ^= 0x5A5A
        expect.append(acc)
    np.testing.assert_array_equal(host.download(po, np.int32, n), np.array(expect, np.int32))


def test_private_array_in_scratch(host, programs):
    items = 96
    x = rng.integers(-1000, 1000, items * 64).astype(np.int32)
    px, po = host.upload(x), host.alloc(4 * items)
    kernel = programs("control")["private_array"]
    assert int.from_bytes(kernel.descriptor[4:8], "little") >= 256     # the array really is in scratch
    host.launch(kernel, [px, po, np.int32(11)], grid=(items,), workgroup=(32,))
    arr = x.reshape(items, 64) * np.arange(64)
    i = np.arange(items)
    np.testing.assert_array_equal(host.download(po, np.int32, items),
                                  arr[i, (11 + i) & 63] + arr[i, (33 + i) & 63])


def test_function_calls_with_a_stack(host, programs):
    items = 64
    p = rng.integers(-100, 100, items + 32).astype(np.int32)
    pp, po = host.upload(p), host.alloc(4 * items)
    host.launch(programs("control")["calls"], [pp, po], grid=(items,), workgroup=(32,))

    def window(i):
        w = p[i:i + 16]
        return sum(int(w[(j * 7 + i) & 15]) for j in range(16))
    np.testing.assert_array_equal(host.download(po, np.int32, items),
                                  [window(i) + window(i + 1) for i in range(items)])


def test_generic_pointers_reach_lds_and_global_memory(host, programs):
    out = np.arange(128, dtype=np.int32) + 5000
    po = host.upload(out)
    host.launch(programs("control")["generic_pointers"], [po], grid=(64,), workgroup=(64,))
    got = host.download(po, np.int32, 64)
    i = np.arange(64)
    np.testing.assert_array_equal(got, np.where(i & 1, ((i + 1) & 63) * 10, 5064 + i))


def test_kernel_reads_the_dispatch_packet(host, programs):
    po = host.alloc(16)
    host.launch(programs("control")["dispatch_packet"], [po], grid=(96, 3), workgroup=(32, 1))
    assert list(host.download(po, np.uint32, 3)) == [32, 96, 3]


# ---------------------------------------------------------------------------------------------
# errors

def test_memory_fault_names_address_pc_and_instruction(host, programs):
    buf = host.alloc(4096)
    kernel = programs("control")["store_at"]
    offset = (1 << 20) // 4                      # far past the buffer and its guard page
    with pytest.raises(MemoryFault) as info:
        host.launch(kernel, [buf, np.int64(offset)], grid=(64,), workgroup=(64,))
    e = info.value
    assert e.address == buf + 4 * offset
    assert e.kind == "write"
    assert e.pc is not None and kernel.code_address <= e.pc < kernel.code_address + 4096
    assert e.instruction.startswith("global_store_b32")
    assert e.wave == 0
    assert f"0x{e.address:x}" in str(e) and e.instruction in str(e)


def test_budget_stops_a_kernel_that_never_ends(host, programs):
    flag = host.alloc(4)
    with pytest.raises(BudgetExceeded) as info:
        host.launch(programs("control")["spin"], [flag], grid=(64,), workgroup=(64,), budget=10_000)
    assert info.value.executed > 10_000
    assert info.value.pc is not None and info.value.instruction


# ---------------------------------------------------------------------------------------------
# wave64 and the hazard checker on compiler output

def test_wave64_kernels(host, programs):
    n = 3000
    a = rng.standard_normal(n).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    pa, pb, pc = host.upload(a), host.upload(b), host.alloc(4 * n)
    add = programs("elementwise", wave64=True)["add"]
    assert not add.descriptor[57] & 0x4                       # the descriptor asks for wave64
    r = host.launch(add, [pa, pb, pc, np.int32(n)], grid=(n,), workgroup=(256,), check=True)
    np.testing.assert_array_equal(host.download(pc, np.float32, n), a + b)
    assert r.waves == 11 * 4 + 3 and r.hazards == []          # the last workgroup has 184 items

    x = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)
    px, pbins = host.upload(x), host.alloc(4 * 64)
    r = host.launch(programs("reduce", wave64=True)["histogram"], [px, pbins, np.int32(n)], grid=(n,),
                    workgroup=(256,), check=True)
    np.testing.assert_array_equal(host.download(pbins, np.uint32, 64), np.bincount(x & 63, minlength=64))
    assert r.hazards == []

    m, k = 48, 32
    ma = rng.standard_normal((m, k)).astype(np.float32)
    mb = rng.standard_normal((k, m)).astype(np.float32)
    qa, qb, qc = host.upload(ma), host.upload(mb), host.alloc(4 * m * m)
    host.launch(programs("matmul", wave64=True)["matmul_tiled"], [qa, qb, qc, np.int32(m), np.int32(m), np.int32(k)],
                grid=(m, m), workgroup=(16, 16))
    np.testing.assert_allclose(host.download(qc, np.float32, m * m).reshape(m, m), ma.astype(np.float64) @ mb,
                               rtol=1e-4, atol=1e-4)


def test_checker_is_quiet_on_compiler_output(host, programs):
    n = 4000
    x = rng.standard_normal(n).astype(np.float32)
    px, pp = host.upload(x), host.alloc(4 * 16)
    runs = [host.launch(programs("reduce")["sum_partials"], [px, pp, np.int32(n)], grid=(256 * 16,),
                        workgroup=(256,), check=True)]
    a = rng.standard_normal((32, 32)).astype(np.float32)
    pa, pc = host.upload(a), host.alloc(4 * 32 * 32)
    runs.append(host.launch(programs("matmul")["matmul_tiled"], [pa, pa, pc, np.int32(32), np.int32(32),
                                                                np.int32(32)], grid=(32, 32), workgroup=(16, 16),
                            check=True))
    xi = rng.integers(-100, 100, 64 * 64).astype(np.int32)
    pxi, po = host.upload(xi), host.alloc(4 * 64)
    runs.append(host.launch(programs("control")["private_array"], [pxi, po, np.int32(3)], grid=(64,),
                            workgroup=(32,), check=True))
    runs.append(host.launch(programs("control")["calls"], [pxi, po], grid=(32,), workgroup=(32,), check=True))
    runs.append(host.launch(programs("control")["divergent"], [pxi, po, np.int32(64)], grid=(64,),
                            workgroup=(64,), check=True))
    for r in runs:
        assert r.hazards == [], [str(h) for h in r.hazards]

