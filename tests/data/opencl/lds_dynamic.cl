// clang-flags: -cl-kernel-arg-info
// __local pointer arguments: LDS sized at launch time.
__kernel void stage_two(__global float *out, __local float *a, __local float *b, int shift) {
  uint l = __builtin_amdgcn_workitem_id_x();
  uint n = __builtin_amdgcn_workgroup_size_x();
  a[l] = (float)l;
  b[l] = (float)(l * 2);
  __builtin_amdgcn_s_barrier();
  out[__builtin_amdgcn_workgroup_id_x() * n + l] = a[(l + shift) % n] + b[(l + 1) % n];
}
