// clang-flags: -cl-kernel-arg-info
// Scalars and pointers: y = a*x + y over a 1D grid, with argument info in the metadata.
#define GID_X (__builtin_amdgcn_workgroup_id_x() * __builtin_amdgcn_workgroup_size_x() + __builtin_amdgcn_workitem_id_x())

__kernel void saxpy(__global float *restrict y, __global const float *restrict x, float a, uint n) {
  uint i = GID_X;
  if (i < n)
    y[i] = a * x[i] + y[i];
}
