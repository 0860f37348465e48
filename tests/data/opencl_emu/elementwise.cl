#include "common.cl"
#pragma OPENCL EXTENSION cl_khr_fp16 : enable

__kernel void add(__global const float *a, __global const float *b, __global float *c, int n) {
  int i = GID(x);
  if (i < n) c[i] = a[i] + b[i];
}

__kernel void saxpy_math(__global const float *x, __global float *y, float alpha, int n) {
  int i = GID(x);
  if (i < n) {
    float v = x[i];
    y[i] = fma(alpha, v, y[i]) + sqrt(fabs(v)) - v * v / (1.0f + v * v);
  }
}

__kernel void int_ops(__global const int *a, __global const int *b, __global int *out, int n) {
  int i = GID(x);
  if (i < n) {
    int x = a[i], y = b[i];
    out[4 * i + 0] = x * y + (x >> 3) - (y << 2);
    out[4 * i + 1] = (y != 0) ? x / y : 0;
    out[4 * i + 2] = (y != 0) ? x % y : 0;
    out[4 * i + 3] = (x > y ? x : y) ^ (x < y ? x : y) ^ (int)((unsigned)x >> 5);
  }
}

__kernel void doubles(__global const double *a, __global double *out, int n) {
  int i = GID(x);
  if (i < n) out[i] = a[i] * 3.0 + 1.0 / (a[i] + 2.0);
}

__kernel void halves(__global const half *a, __global const half *b, __global half *out, int n) {
  int i = GID(x);
  if (i < n) out[i] = a[i] * b[i] + (half)1.5;
}

__kernel void grid2d(__global float *out, int width, int height) {
  int x = GID(x), y = GID(y);
  if (x < width && y < height) out[y * width + x] = (float)(x * 1000 + y);
}
