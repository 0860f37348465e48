// Program-scope globals holding pointers: the linker leaves dynamic relocations
// (R_AMDGPU_RELATIVE64 for local targets, R_AMDGPU_ABS64 for an exported variable).
__constant int table_a[4] = {1, 2, 3, 4};
__constant int table_b[4] = {5, 6, 7, 8};
__constant int *__constant tables[2] = {table_a, table_b};
__global int counter = 0;
__global int *__global counter_ptr = &counter;
__attribute__((visibility("default"))) __global int exported_total = 7;
__global int *__global exported_ptr = &exported_total;

__kernel void lookup(__global int *out, int which) {
  uint l = __builtin_amdgcn_workitem_id_x();
  out[l] = tables[which & 1][l & 3] + *counter_ptr + *exported_ptr;
  __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
}
