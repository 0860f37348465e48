// A private array indexed with run-time values lives in scratch memory.
__kernel void histogram_private(__global const uchar *in, __global uint *out, uint count) {
  uint bins[48];
  for (int i = 0; i < 48; i++)
    bins[i] = 0;
  uint g = __builtin_amdgcn_workgroup_id_x() * __builtin_amdgcn_workgroup_size_x() + __builtin_amdgcn_workitem_id_x();
  for (uint i = 0; i < count; i++)
    bins[in[g * count + i] % 48]++;
  for (int i = 0; i < 48; i++)
    out[g * 48 + i] = bins[i];
}
