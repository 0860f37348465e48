"""clang-19-compiled OpenCL kernels run through dev.load and kernel calls on simulated GPUs,
checked against numpy: elementwise math, LDS reductions (static and dynamic), atomics, a tiled
matmul, WMMA, scratch, 2D/3D grids with partial workgroups, and many mixed arguments."""

import numpy as np
import pytest

import amdrt
from amdrt import InvalidArgument, Local

pytestmark = pytest.mark.llvm

SOURCE = r"""
#pragma OPENCL EXTENSION cl_khr_fp16 : enable
#pragma OPENCL EXTENSION cl_khr_fp64 : enable

__kernel void vadd(__global float *c, __global const float *a, __global const float *b, uint n) {
  uint i = GID(x);
  if (i < n) c[i] = a[i] + b[i];
}

__kernel void saxpy_offset(__global float *y, __global const float *x, float a) {
  size_t i = GID(x) + GLOBAL_OFFSET(0);
  y[i] = a * x[i] + y[i];
}

__kernel __attribute__((reqd_work_group_size(256, 1, 1)))
void reduce_static(__global const float *in, __global float *partial, uint n) {
  __local float sums[256];
  uint l = LID(x), g = GID(x);
  sums[l] = g < n ? in[g] : 0.0f;
  BARRIER();
  for (uint s = 128; s > 0; s >>= 1) {
    if (l < s) sums[l] += sums[l + s];
    BARRIER();
  }
  if (l == 0) partial[GRP(x)] = sums[0];
}

__kernel void reduce_dynamic(__global const int *in, __global int *partial, __local int *sums,
                             __local int *unused, uint n) {
  uint l = LID(x), g = GID(x), size = __builtin_amdgcn_workgroup_size_x_full();
  sums[l] = g < n ? in[g] : 0;
  BARRIER();
  for (uint s = size / 2; s > 0; s >>= 1) {
    if (l < s) sums[l] += sums[l + s];
    BARRIER();
  }
  if (l == 0) partial[GRP(x)] = sums[0] + (int)(unused - sums);
}

__kernel void histogram(__global const uint *data, __global uint *bins, uint n) {
  __local uint local_bins[64];
  uint l = LID(x), i = GID(x);
  if (l < 64) local_bins[l] = 0;
  BARRIER();
  if (i < n) __atomic_fetch_add(&local_bins[data[i] % 64], 1u, __ATOMIC_RELAXED);
  BARRIER();
  if (l < 64) __atomic_fetch_add(&bins[l], local_bins[l], __ATOMIC_RELAXED);
}

#define TS 16
__kernel __attribute__((reqd_work_group_size(TS, TS, 1)))
void matmul(__global const float *A, __global const float *B, __global float *C, uint M, uint N, uint K) {
  __local float As[TS][TS];
  __local float Bs[TS][TS];
  uint row = GID(y), col = GID(x), ly = LID(y), lx = LID(x);
  float acc = 0.0f;
  for (uint t = 0; t < (K + TS - 1) / TS; t++) {
    uint ka = t * TS + lx, kb = t * TS + ly;
    As[ly][lx] = (row < M && ka < K) ? A[row * K + ka] : 0.0f;
    Bs[ly][lx] = (kb < K && col < N) ? B[kb * N + col] : 0.0f;
    BARRIER();
    for (uint k = 0; k < TS; k++) acc += As[ly][k] * Bs[k][lx];
    BARRIER();
  }
  if (row < M && col < N) C[row * N + col] = acc;
}

typedef half half16 __attribute__((ext_vector_type(16)));
typedef float float8 __attribute__((ext_vector_type(8)));
__kernel __attribute__((reqd_work_group_size(32, 1, 1)))
void wmma(__global const half *A, __global const half *B, __global float *C) {
  uint lane = LID(x), r = lane % 16;
  __global const half *a_tile = A + GRP(x) * 256, *b_tile = B + GRP(x) * 256;
  half16 a, b;
  for (int k = 0; k < 16; k++) { a[k] = a_tile[r * 16 + k]; b[k] = b_tile[k * 16 + r]; }
  float8 c = 0.0f;
  c = __builtin_amdgcn_wmma_f32_16x16x16_f16_w32(a, b, c);
  for (int v = 0; v < 8; v++) C[GRP(x) * 256 + (2 * v + lane / 16) * 16 + r] = c[v];
}

__kernel void private_sort(__global const int *in, __global int *out) {
  int v[32];
  uint g = GID(x);
  for (int i = 0; i < 32; i++) v[i] = in[g * 32 + i];
  for (int i = 1; i < 32; i++) {
    int x = v[i], j = i - 1;
    while (j >= 0 && v[j] > x) { v[j + 1] = v[j]; j--; }
    v[j + 1] = x;
  }
  for (int i = 0; i < 32; i++) out[g * 32 + i] = v[i];
}

// The size of this work-item's group as ROCm's device library computes it from the hidden
// arguments: full groups come first (block count), the last partial group has the remainder.
#define GROUP_SIZE(d, id) (id < HIDDEN(uint, 4 * d) ? HIDDEN(ushort, 12 + 2 * d) : HIDDEN(ushort, 18 + 2 * d))
__kernel void grid3d(__global uint *out, uint width, uint height, uint depth) {
  uint x = GID(x), y = GID(y), z = GID(z);
  if (x < width && y < height && z < depth)
    out[(z * height + y) * width + x] = x + 1000 * y + 1000000 * z
        + 7 * (GROUP_SIZE(0, GRP(x)) + GROUP_SIZE(1, GRP(y)) + GROUP_SIZE(2, GRP(z))) + HIDDEN(ushort, 64);
}

__kernel void mixed(__global double *out, char c, uchar uc, __global const float *scale, short s, ushort us,
                    int i, uint ui, long l, ulong ul, float f, double d, half h, float4 f4, int2 i2,
                    __global int *counter) {
  uint g = GID(x);
  double acc = c + 2.0 * uc + 3.0 * s + 4.0 * us + 5.0 * i + 6.0 * ui + 7.0 * l + 8.0 * (double)ul
             + 9.0 * f + 10.0 * d + 11.0 * (float)h + f4.x - f4.y + f4.z * f4.w + i2.x * i2.y;
  out[g] = acc * scale[g];
  __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}
"""


@pytest.fixture(scope="module")
def code(toolchain):
    return toolchain.opencl(SOURCE)


@pytest.fixture(scope="module")
def prog(rt1, code):
    return rt1.devices[0].load(code)


def test_program_lists_kernels_and_arguments(prog):
    assert {"vadd", "matmul", "wmma", "mixed", "private_sort"} <= set(prog.names)
    assert [a.name for a in prog["vadd"].arguments] == ["c", "a", "b", "n"]
    with pytest.raises(InvalidArgument, match="no kernel 'nope'.*vadd"):
        prog["nope"]


@pytest.mark.parametrize("n, local", [(1000, 64), (4096, 256), (1, 1), (77, 32)])
def test_vadd(prog, dev, n, local):
    rng = np.random.default_rng(n)
    a, b = rng.random(n, np.float32), rng.random(n, np.float32)
    ba, bb, bc = dev.alloc(a.nbytes), dev.alloc(b.nbytes), dev.alloc(a.nbytes)
    ba.copyin(a)
    bb.copyin(b)
    signal = prog["vadd"](bc, ba, bb, np.uint32(n), global_size=n, local_size=local)
    assert np.array_equal(bc.numpy(np.float32), a + b)
    assert signal.value == 0 and signal.elapsed is not None


def test_global_offset(prog, dev):
    x = np.arange(512, dtype=np.float32)
    y = np.ones(512, np.float32)
    bx, by = dev.alloc(x.nbytes), dev.alloc(y.nbytes)
    bx.copyin(x)
    by.copyin(y)
    prog["saxpy_offset"](by, bx, 2.0, global_size=256, local_size=64, global_offset=128)
    expected = y.copy()
    expected[128:384] = 2 * x[128:384] + 1
    assert np.array_equal(by.numpy(np.float32), expected)


def test_reductions_in_lds(prog, dev):
    rng = np.random.default_rng(2)
    n = 3000
    data = rng.random(n, np.float32)
    src, partial = dev.alloc(data.nbytes), dev.alloc(4 * 12)
    src.copyin(data)
    prog["reduce_static"](src, partial, np.uint32(n), global_size=12 * 256)  # local size from the kernel
    sums = partial.numpy(np.float32)
    padded = np.zeros(12 * 256, np.float32)
    padded[:n] = data
    np.testing.assert_allclose(sums, padded.reshape(12, 256).sum(axis=1), rtol=1e-5)

    ints = rng.integers(-1000, 1000, n, dtype=np.int32)
    src.copyin(ints)
    for local in (64, 128):
        groups = -(-n // local)
        out = dev.alloc(4 * groups)
        prog["reduce_dynamic"](src, out, Local(4 * local), Local(12), np.uint32(n), global_size=groups * local,
                               local_size=local)
        padded = np.zeros(groups * local, np.int64)
        padded[:n] = ints
        # The second __local argument lands right after the first (offset difference in ints).
        assert np.array_equal(out.numpy(np.int32), padded.reshape(groups, local).sum(axis=1) + local)


def test_atomics_in_lds_and_global_memory(prog, dev):
    rng = np.random.default_rng(3)
    data = rng.integers(0, 2**32, 5000, dtype=np.uint32)
    src, bins = dev.alloc(data.nbytes), dev.alloc(64 * 4)
    src.copyin(data)
    bins.copyin(np.zeros(64, np.uint32))
    prog["histogram"](src, bins, np.uint32(data.size), global_size=5120, local_size=128)
    assert np.array_equal(bins.numpy(np.uint32), np.bincount(data % 64, minlength=64))


@pytest.mark.parametrize("m, n, k", [(32, 48, 16), (37, 21, 45)])
def test_tiled_matmul_2d_grid(prog, dev, m, n, k):
    rng = np.random.default_rng(m)
    a, b = rng.standard_normal((m, k), np.float32), rng.standard_normal((k, n), np.float32)
    ba, bb, bc = dev.alloc(a.nbytes), dev.alloc(b.nbytes), dev.alloc(4 * m * n)
    ba.copyin(a)
    bb.copyin(b)
    prog["matmul"](ba, bb, bc, np.uint32(m), np.uint32(n), np.uint32(k), global_size=(-(-n // 16) * 16, -(-m // 16) * 16))
    np.testing.assert_allclose(bc.numpy(np.float32).reshape(m, n), a @ b, rtol=1e-4, atol=1e-4)


def test_wmma(prog, dev):
    rng = np.random.default_rng(5)
    tiles = 3
    a = rng.standard_normal((tiles, 16, 16)).astype(np.float16)
    b = rng.standard_normal((tiles, 16, 16)).astype(np.float16)
    ba, bb, bc = dev.alloc(a.nbytes), dev.alloc(b.nbytes), dev.alloc(tiles * 256 * 4)
    ba.copyin(a)
    bb.copyin(b)
    prog["wmma"](ba, bb, bc, global_size=32 * tiles)
    expected = a.astype(np.float32) @ b.astype(np.float32)
    np.testing.assert_allclose(bc.numpy(np.float32).reshape(tiles, 16, 16), expected, rtol=1e-3, atol=1e-3)


def test_kernel_with_scratch(prog, dev):
    kernel = prog["private_sort"]
    assert kernel.private_segment_size > 0
    rng = np.random.default_rng(6)
    data = rng.integers(-10**6, 10**6, (96, 32), dtype=np.int32)
    src, out = dev.alloc(data.nbytes), dev.alloc(data.nbytes)
    src.copyin(data)
    kernel(src, out, global_size=96, local_size=32)
    assert np.array_equal(out.numpy(np.int32).reshape(96, 32), np.sort(data, axis=1))


@pytest.mark.parametrize("shape, local", [((37, 5, 3), (8, 4, 2)), ((64, 2, 1), (64, 1, 1)), ((9, 9, 9), (4, 4, 4))])
def test_3d_grid_with_partial_workgroups(prog, dev, shape, local):
    w, h, d = shape
    out = dev.alloc(4 * w * h * d)
    prog["grid3d"](out, np.uint32(w), np.uint32(h), np.uint32(d), global_size=shape, local_size=local)
    z, y, x = np.meshgrid(np.arange(d), np.arange(h), np.arange(w), indexing="ij")
    # The size of the workgroup each item is in: smaller for the last group when it is partial.
    sizes = [np.where(idx // lsz == (n - 1) // lsz, n - (n - 1) // lsz * lsz, lsz)
             for idx, n, lsz in ((x, w, local[0]), (y, h, local[1]), (z, d, local[2]))]
    expected = x + 1000 * y + 1000000 * z + 7 * (sizes[0] + sizes[1] + sizes[2]) + 3  # grid dims
    assert np.array_equal(out.numpy(np.uint32).reshape(d, h, w), expected)


def test_many_mixed_scalar_and_pointer_arguments(prog, dev):
    n = 64
    scale = np.linspace(0.5, 2.0, n).astype(np.float32)
    out, bscale, counter = dev.alloc(8 * n), dev.alloc(scale.nbytes), dev.alloc(4)
    bscale.copyin(scale)
    counter.copyin(np.zeros(1, np.int32))
    values = dict(c=np.int8(-5), uc=np.uint8(200), s=np.int16(-1234), us=np.uint16(50000), i=np.int32(-123456),
                  ui=np.uint32(3_000_000_000), l=np.int64(-(2**40)), ul=np.uint64(2**50 + 3), f=np.float32(1.25),
                  d=np.float64(-3.5), h=np.float16(0.75))
    f4 = np.array([1.5, 2.5, 3.0, 4.0], np.float32)
    i2 = np.array([-6, 7], np.int32)
    prog["mixed"](out, values["c"], values["uc"], bscale, values["s"], values["us"], values["i"], values["ui"],
                  values["l"], values["ul"], values["f"], values["d"], values["h"], f4, i2, counter,
                  global_size=n, local_size=32)
    acc = (float(values["c"]) + 2.0 * float(values["uc"]) + 3.0 * float(values["s"]) + 4.0 * float(values["us"])
           + 5.0 * float(values["i"]) + 6.0 * float(values["ui"]) + 7.0 * float(values["l"])
           + 8.0 * float(values["ul"]) + 9.0 * float(values["f"]) + 10.0 * float(values["d"])
           + 11.0 * float(values["h"]) + float(f4[0] - f4[1] + f4[2] * f4[3]) + float(i2[0] * i2[1]))
    np.testing.assert_allclose(out.numpy(np.float64), acc * scale.astype(np.float64), rtol=1e-12)
    assert counter.numpy(np.int32)[0] == n


def test_launch_errors_reach_nothing_on_the_gpu(prog, dev):
    kernel = prog["vadd"]
    queue = dev.compute
    before = queue.write_index
    buf = dev.alloc(64)
    with pytest.raises(InvalidArgument, match="takes 4 arguments"):
        kernel(buf, buf, global_size=16)
    with pytest.raises(InvalidArgument, match="argument 3"):
        kernel(buf, buf, buf, 1.5, global_size=16)
    with pytest.raises(InvalidArgument, match="at most 256"):
        kernel(buf, buf, buf, np.uint32(16), global_size=1024, local_size=512)
    with pytest.raises(InvalidArgument, match="requires local_size"):
        prog["reduce_static"](buf, buf, np.uint32(1), global_size=256, local_size=128)
    with pytest.raises(InvalidArgument, match="bytes of LDS"):
        prog["reduce_dynamic"](buf, buf, Local(65536), Local(4), np.uint32(1), global_size=64, local_size=64)
    freed = dev.alloc(64)
    freed.free()
    with pytest.raises(amdrt.BufferFreed):
        kernel(buf, freed, buf, np.uint32(16), global_size=16)
    assert queue.write_index == before


def test_same_kernels_on_four_gpus_with_shared_buffers(rt4, code):
    devs = rt4.devices
    progs = [d.load(code) for d in devs]
    n = 2048
    a = np.arange(n, dtype=np.float32)
    shared = devs[0].alloc(a.nbytes, host=True)  # host memory every GPU reads
    shared.copyin(a)
    outs = [d.alloc(a.nbytes) for d in devs]
    signals = []
    for i, (p, out) in enumerate(zip(progs, outs, strict=True)):
        bias = devs[i].alloc(a.nbytes)
        bias.copyin(np.full(n, i, np.float32))
        signals.append(p["vadd"](out, shared, bias, np.uint32(n), global_size=n, local_size=256, wait=False))
    for s in signals:
        s.wait()
    for i, out in enumerate(outs):
        assert np.array_equal(out.numpy(np.float32), a + i)
    # A kernel on GPU 3 reads GPU 0's VRAM directly (mapped for peer access on use).
    result = devs[3].alloc(a.nbytes)
    progs[3]["vadd"](result, outs[0], outs[1], np.uint32(n), global_size=n, local_size=256)
    assert np.array_equal(result.numpy(np.float32), 2 * a + 1)
    assert devs[3].gpu_id in outs[0].allocation.mapped
