#include "common.cl"
#define TILE 16

// C = A (M x K) * B (K x N), row-major; the classic 16x16 LDS-tiled kernel.
__kernel void matmul_tiled(__global const float *A, __global const float *B, __global float *C, int M, int N,
                           int K) {
  __local float As[TILE][TILE];
  __local float Bs[TILE][TILE];
  int tx = LID(x), ty = LID(y);
  int col = GROUP(x) * TILE + tx;
  int row = GROUP(y) * TILE + ty;
  float acc = 0.0f;
  for (int t = 0; t < K; t += TILE) {
    As[ty][tx] = (row < M && t + tx < K) ? A[row * K + t + tx] : 0.0f;
    Bs[ty][tx] = (col < N && t + ty < K) ? B[(t + ty) * N + col] : 0.0f;
    BARRIER();
    for (int k = 0; k < TILE; k++) acc += As[ty][k] * Bs[k][tx];
    BARRIER();
  }
  if (row < M && col < N) C[row * N + col] = acc;
}
