// clang-flags: -cl-kernel-arg-info
// Arguments of every size and alignment clang lays out: scalars, vectors, half, double, pointers.
#pragma OPENCL EXTENSION cl_khr_fp16 : enable
#pragma OPENCL EXTENSION cl_khr_fp64 : enable

__kernel void mixed(char c, uchar uc, short s, ushort us, int i, uint ui, long l, ulong ul,
                    float f, double d, half h, char4 c4, short2 s2, int3 i3, float4 f4,
                    double2 d2, half8 h8, long2 l2, __global double *out,
                    __constant float *table, __global volatile int *flag) {
  double acc = c + uc + s + us + i + ui + l + ul + f + d + (float)h;
  acc += c4.x + c4.w + s2.y + i3.z + f4.w + d2.x + (float)h8.s7 + l2.y + table[i & 7];
  *flag = 1;
  out[0] = acc;
}

__kernel void no_args(void) { }
