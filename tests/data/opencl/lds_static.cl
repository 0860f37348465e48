// A static __local array: reverse each 64-element block through LDS.
__kernel __attribute__((reqd_work_group_size(64, 1, 1)))
void reverse_block(__global int *data) {
  __local int tile[64];
  uint l = __builtin_amdgcn_workitem_id_x();
  uint base = __builtin_amdgcn_workgroup_id_x() * 64;
  tile[l] = data[base + l];
  __builtin_amdgcn_s_barrier();
  data[base + l] = tile[63 - l];
}
