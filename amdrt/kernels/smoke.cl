// Kernels of the smoke test compiled by clang (OpenCL C), when clang-19 and ld.lld-19 are present.
// There is no OpenCL device library without ROCm: work-item functions come from clang's builtins
// and the hidden kernel arguments the runtime packs (group sizes at offsets 12/14 of that area).

#define LOCAL_ID(d) __builtin_amdgcn_workitem_id_##d()
#define GROUP_ID(d) __builtin_amdgcn_workgroup_id_##d()
#define GROUP_SIZE_X (*(__constant ushort *)((__constant char *)__builtin_amdgcn_implicitarg_ptr() + 12))
#define GROUP_SIZE_Y (*(__constant ushort *)((__constant char *)__builtin_amdgcn_implicitarg_ptr() + 14))
#define GLOBAL_ID(d, size) (GROUP_ID(d) * (size) + LOCAL_ID(d))
#define LOCAL_BARRIER() do { __builtin_amdgcn_fence(__ATOMIC_RELEASE, "workgroup"); \
    __builtin_amdgcn_s_barrier(); __builtin_amdgcn_fence(__ATOMIC_ACQUIRE, "workgroup"); } while (0)

// Sums n floats into one partial sum per workgroup of 256, through LDS.
__kernel void reduce_sum(__global const float *x, __global float *partial, uint n) {
    __local float tile[256];
    uint lid = LOCAL_ID(x);
    uint gid = GLOBAL_ID(x, GROUP_SIZE_X);
    tile[lid] = gid < n ? x[gid] : 0.0f;
    LOCAL_BARRIER();
    for (uint stride = 128; stride > 0; stride >>= 1) {
        if (lid < stride)
            tile[lid] += tile[lid + stride];
        LOCAL_BARRIER();
    }
    if (lid == 0)
        partial[GROUP_ID(x)] = tile[0];
}

// C = A x B for n x n row-major matrices, 16 x 16 tiles through LDS (n a multiple of 16).
__kernel void matmul(__global const float *a, __global const float *b, __global float *c, uint n) {
    __local float ta[16][16];
    __local float tb[16][16];
    uint lx = LOCAL_ID(x), ly = LOCAL_ID(y);
    uint col = GLOBAL_ID(x, GROUP_SIZE_X), row = GLOBAL_ID(y, GROUP_SIZE_Y);
    float acc = 0.0f;
    for (uint k0 = 0; k0 < n; k0 += 16) {
        ta[ly][lx] = a[row * n + k0 + lx];
        tb[ly][lx] = b[(k0 + ly) * n + col];
        LOCAL_BARRIER();
        for (uint k = 0; k < 16; k++)
            acc += ta[ly][k] * tb[k][lx];
        LOCAL_BARRIER();
    }
    c[row * n + col] = acc;
}
