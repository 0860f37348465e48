// Atomics on global and local memory.
__kernel void count_and_bound(__global int *counter, __global int *lo, __global int *hi,
                              __global const int *values, __global int *slot) {
  __local int local_count;
  uint l = __builtin_amdgcn_workitem_id_x();
  if (l == 0)
    local_count = 0;
  __builtin_amdgcn_s_barrier();
  int v = values[__builtin_amdgcn_workgroup_id_x() * 64 + l];
  __atomic_fetch_add(&local_count, 1, __ATOMIC_RELAXED);
  __atomic_fetch_min(lo, v, __ATOMIC_RELAXED);
  __atomic_fetch_max(hi, v, __ATOMIC_RELAXED);
  int expected = 0;
  __atomic_compare_exchange_n(slot, &expected, v, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
  __builtin_amdgcn_s_barrier();
  if (l == 0)
    __atomic_fetch_add(counter, local_count, __ATOMIC_RELAXED);
}
