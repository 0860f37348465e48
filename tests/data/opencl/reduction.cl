// A work-group tree reduction in LDS, one partial sum per group.
__kernel __attribute__((reqd_work_group_size(256, 1, 1)))
void reduce_sum(__global const float *in, __global float *partial, uint n) {
  __local float sums[256];
  uint l = __builtin_amdgcn_workitem_id_x();
  uint g = __builtin_amdgcn_workgroup_id_x() * 256 + l;
  sums[l] = g < n ? in[g] : 0.0f;
  __builtin_amdgcn_s_barrier();
  for (uint stride = 128; stride > 0; stride >>= 1) {
    if (l < stride)
      sums[l] += sums[l + stride];
    __builtin_amdgcn_fence(__ATOMIC_RELEASE, "workgroup");
    __builtin_amdgcn_s_barrier();
    __builtin_amdgcn_fence(__ATOMIC_ACQUIRE, "workgroup");
  }
  if (l == 0)
    partial[__builtin_amdgcn_workgroup_id_x()] = sums[0];
}
