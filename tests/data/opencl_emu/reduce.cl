#include "common.cl"

// Each work-item sums a strided slice, then the workgroup reduces in LDS; one partial per group.
__kernel void sum_partials(__global const float *x, __global float *partial, int n) {
  __local float tile[256];
  int lid = LID(x);
  int stride = GSIZE(x) * (int)__builtin_amdgcn_grid_size_x() / GSIZE(x);
  float acc = 0.0f;
  for (int i = GID(x); i < n; i += stride) acc += x[i];
  tile[lid] = acc;
  BARRIER();
  for (int s = GSIZE(x) / 2; s > 0; s >>= 1) {
    if (lid < s) tile[lid] += tile[lid + s];
    BARRIER();
  }
  if (lid == 0) partial[GROUP(x)] = tile[0];
}

__kernel void sum_atomic(__global const int *x, __global int *total, int n) {
  int i = GID(x);
  if (i < n) __atomic_fetch_add(total, x[i], __ATOMIC_RELAXED);
}

__kernel void histogram(__global const unsigned *x, __global unsigned *bins, int n) {
  __local unsigned local_bins[64];
  int lid = LID(x);
  if (lid < 64) local_bins[lid] = 0;
  BARRIER();
  int i = GID(x);
  if (i < n) __atomic_fetch_add(&local_bins[x[i] & 63], 1u, __ATOMIC_RELAXED);
  BARRIER();
  if (lid < 64) __atomic_fetch_add(&bins[lid], local_bins[lid], __ATOMIC_RELAXED);
}

__kernel void atomic_minmax(__global const int *x, __global int *out, int n) {
  int i = GID(x);
  if (i < n) {
    __atomic_fetch_min(&out[0], x[i], __ATOMIC_RELAXED);
    __atomic_fetch_max(&out[1], x[i], __ATOMIC_RELAXED);
    __atomic_exchange_n(&out[2], i, __ATOMIC_RELAXED);
    int expected = i - 1;
    __atomic_compare_exchange_n(&out[3], &expected, i, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  }
}

// Every work-item takes a ticket from one counter: the tickets must be 0 .. n-1, each once.
__kernel void tickets(__global unsigned *counter, __global unsigned *out, int n) {
  int i = GID(x);
  if (i < n) out[i] = __atomic_fetch_add(counter, 1u, __ATOMIC_RELAXED);
}
