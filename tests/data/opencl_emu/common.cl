// Work-item helpers for kernels built with -nogpulib (no OpenCL device library).
#define LID(d) ((int)__builtin_amdgcn_workitem_id_##d())
#define GROUP(d) ((int)__builtin_amdgcn_workgroup_id_##d())
#define GSIZE(d) ((int)__builtin_amdgcn_workgroup_size_##d())
#define GID(d) (GROUP(d) * GSIZE(d) + LID(d))
#define BARRIER()                                          \
  do {                                                     \
    __builtin_amdgcn_fence(__ATOMIC_RELEASE, "workgroup"); \
    __builtin_amdgcn_s_barrier();                          \
    __builtin_amdgcn_fence(__ATOMIC_ACQUIRE, "workgroup"); \
  } while (0)
