// clang-flags: -cl-uniform-work-group-size
// Several kernels in one code object, sharing a helper function and a private buffer.
static float weight(int i) { return 1.0f / (float)(i + 1); }

__kernel void fill(__global float *out, float value) {
  out[__builtin_amdgcn_workgroup_id_x() * __builtin_amdgcn_workgroup_size_x() + __builtin_amdgcn_workitem_id_x()] = value;
}

__kernel void weighted(__global float *out, __global const float *in, int n) {
  float local_copy[32];
  uint g = __builtin_amdgcn_workitem_id_x();
  for (int i = 0; i < 32; i++)
    local_copy[i] = in[(g + i) % n] * weight(i);
  out[g] = local_copy[in[g] > 0 ? (int)in[g] % 32 : 0];
}

__kernel void queue_info(__global ulong *out) {
  out[0] = (ulong)__builtin_amdgcn_dispatch_ptr();
  out[1] = (ulong)__builtin_amdgcn_queue_ptr();
  out[2] = (ulong)__builtin_amdgcn_implicitarg_ptr();
}
