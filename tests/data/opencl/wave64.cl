// clang-flags: -mwavefrontsize64
// Wave64 code: VGPRs are allocated in blocks of 4, the descriptor clears ENABLE_WAVEFRONT_SIZE32.
__kernel void square64(__global float *data, uint n) {
  uint i = __builtin_amdgcn_workgroup_id_x() * __builtin_amdgcn_workgroup_size_x() + __builtin_amdgcn_workitem_id_x();
  if (i < n) {
    float v = data[i];
    data[i] = v * v + __builtin_amdgcn_workgroup_size_x();
  }
}
