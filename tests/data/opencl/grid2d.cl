// A 2D grid: transpose a width x height matrix.
__kernel void transpose(__global float *out, __global const float *in, int width, int height) {
  int x = __builtin_amdgcn_workgroup_id_x() * __builtin_amdgcn_workgroup_size_x() + __builtin_amdgcn_workitem_id_x();
  int y = __builtin_amdgcn_workgroup_id_y() * __builtin_amdgcn_workgroup_size_y() + __builtin_amdgcn_workitem_id_y();
  if (x < width && y < height)
    out[x * height + y] = in[y * width + x];
}
