#include "common.cl"

// Per-lane trip counts, nested branches, early exits: waves and lanes diverge and reconverge.
__kernel void divergent(__global const int *x, __global int *out, int n) {
  int i = GID(x);
  if (i >= n) return;
  int v = x[i];
  int acc = 0;
  for (int j = 0; j < (v & 15); j++) {
    if ((j ^ v) & 1)
      acc += j * v;
    else if (j % 3 == 0)
      acc -= v >> 2;
    else
      continue;
    if (acc > 100000) break;
  }
  switch (v & 3) {
    case 0: acc = acc * 3; break;
    case 1: acc = acc + 7; break;
    case 2: acc = -acc; break;
    default: break;
  }
  // Whole waves take one side (i / 64 is uniform per wave).
  if ((i / 64) & 1) acc ^= 0x5a5a;
  out[i] = acc;
}

// A private array indexed by data: lives in scratch memory.
__kernel void private_array(__global const int *x, __global int *out, int k) {
  int arr[64];
  int i = GID(x);
  for (int j = 0; j < 64; j++) arr[j] = x[i * 64 + j] * j;
  out[i] = arr[(k + i) & 63] + arr[(k * 3 + i) & 63];
}

__attribute__((noinline)) int window_sum(__global const int *p, int i) {
  volatile int w[16];
  for (int j = 0; j < 16; j++) w[j] = p[i + j];
  int s = 0;
  for (int j = 0; j < 16; j++) s += w[(j * 7 + i) & 15];
  return s;
}

// A real call (s_swappc_b64 / s_setpc_b64) with a stack frame in scratch.
__kernel void calls(__global const int *p, __global int *out) {
  int i = GID(x);
  out[i] = window_sum(p, i) + window_sum(p, i + 1);
}

// A generic pointer that points at LDS for some lanes and at global memory for others.
__kernel void generic_pointers(__global int *out) {
  __local int buf[64];
  int i = LID(x);
  buf[i] = i * 10;
  BARRIER();
  int *g = (i & 1) ? (int *)&buf[(i + 1) & 63] : (int *)&out[64 + i];
  out[i] = *g;
}

// Reads the grid size from the AQL dispatch packet through the dispatch pointer.
__kernel void dispatch_packet(__global unsigned *out) {
  __constant unsigned short *p = (__constant unsigned short *)__builtin_amdgcn_dispatch_ptr();
  __constant unsigned *q = (__constant unsigned *)__builtin_amdgcn_dispatch_ptr();
  if (GID(x) == 0) {
    out[0] = p[2];   // workgroup_size_x
    out[1] = q[3];   // grid_size_x
    out[2] = q[4];   // grid_size_y
  }
}

__kernel void store_at(__global int *base, long offset) {
  if (GID(x) == 5) base[offset] = 1;
}

__kernel void spin(__global volatile int *flag) {
  while (*flag == 0) {
  }
}
