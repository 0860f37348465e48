#include "common.cl"
#pragma OPENCL EXTENSION cl_khr_fp16 : enable

typedef half v16h __attribute__((ext_vector_type(16)));
typedef float v8f __attribute__((ext_vector_type(8)));

// C (M x N, f32) = A (M x K, f16) * B (K x N, f16), all row-major and multiples of 16. One wave32
// workgroup per 16x16 tile of C. Per the RDNA3 WMMA layout: lane l holds row l % 16 of the A tile
// and column l % 16 of the B tile (16 halves each); result VGPR i of lane l is row 2i + l / 16,
// column l % 16.
__kernel void wmma_matmul(__global const half *A, __global const half *B, __global float *C, int M, int N,
                          int K) {
  int lane = LID(x);
  int l = lane % 16;
  int row0 = GROUP(y) * 16, col0 = GROUP(x) * 16;
  v8f c = 0;
  for (int k0 = 0; k0 < K; k0 += 16) {
    v16h a, b;
    for (int k = 0; k < 16; k++) {
      a[k] = A[(row0 + l) * K + k0 + k];
      b[k] = B[(k0 + k) * N + col0 + l];
    }
    c = __builtin_amdgcn_wmma_f32_16x16x16_f16_w32(a, b, c);
  }
  for (int i = 0; i < 8; i++) C[(row0 + 2 * i + lane / 16) * N + col0 + l] = c[i];
}
