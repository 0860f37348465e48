// A 3D grid with a required work-group size; work-item ids in all three dimensions.
__kernel __attribute__((reqd_work_group_size(4, 4, 4)))
void volume_sum(__global float *out, __global const float *in, int nx, int ny) {
  int x = __builtin_amdgcn_workgroup_id_x() * 4 + __builtin_amdgcn_workitem_id_x();
  int y = __builtin_amdgcn_workgroup_id_y() * 4 + __builtin_amdgcn_workitem_id_y();
  int z = __builtin_amdgcn_workgroup_id_z() * 4 + __builtin_amdgcn_workitem_id_z();
  int i = (z * ny + y) * nx + x;
  out[i] = in[i] + (float)(x + y + z);
}
