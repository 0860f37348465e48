"""Fixtures of the runtime tests: simulated machines with 1 and 4 GPUs, and kernels compiled
with clang-19 (OpenCL C) or assembled with llvm-mc-19, cached per session."""

from __future__ import annotations

import hashlib
import subprocess
from importlib import resources

import pytest

import amdrt
from kfd.sim import SimDriver

# What OpenCL's work-item functions compile to without a device library (clang builtins read
# the dispatch and the hidden arguments the runtime packs).
CL_PRELUDE = """
#define LID(d) __builtin_amdgcn_workitem_id_##d()
#define GRP(d) __builtin_amdgcn_workgroup_id_##d()
#define LSZ(d) __builtin_amdgcn_workgroup_size_##d()
#define GID(d) (GRP(d) * __builtin_amdgcn_workgroup_size_##d##_full() + LID(d))
#define BARRIER() do { __builtin_amdgcn_fence(__ATOMIC_RELEASE, "workgroup"); \\
    __builtin_amdgcn_s_barrier(); __builtin_amdgcn_fence(__ATOMIC_ACQUIRE, "workgroup"); } while (0)
#define HIDDEN(type, offset) (*(__constant type *)((__constant char *)__builtin_amdgcn_implicitarg_ptr() + (offset)))
#define __builtin_amdgcn_workgroup_size_x_full() HIDDEN(ushort, 12)
#define __builtin_amdgcn_workgroup_size_y_full() HIDDEN(ushort, 14)
#define __builtin_amdgcn_workgroup_size_z_full() HIDDEN(ushort, 16)
#define GLOBAL_OFFSET(i) HIDDEN(ulong, 40 + 8 * (i))
"""

HIP_PRELUDE = """
#define __global__ __attribute__((global))
#define __shared__ __attribute__((shared))
#define threadIdx_x __builtin_amdgcn_workitem_id_x()
#define blockIdx_x __builtin_amdgcn_workgroup_id_x()
#define blockDim_x __builtin_amdgcn_workgroup_size_x()
#define __syncthreads() do { __builtin_amdgcn_fence(__ATOMIC_RELEASE, "workgroup"); \\
    __builtin_amdgcn_s_barrier(); __builtin_amdgcn_fence(__ATOMIC_ACQUIRE, "workgroup"); } while (0)
"""


class Toolchain:
    def __init__(self, llvm, cache_dir):
        self.llvm = llvm
        self.cache_dir = cache_dir
        self._done: dict[str, bytes] = {}

    def _build(self, key: str, steps) -> bytes:
        if key not in self._done:
            for cmd in steps:
                result = subprocess.run(cmd, capture_output=True, text=True)
                if result.returncode:
                    raise AssertionError(f"{' '.join(cmd)} failed:\n{result.stderr}")
            self._done[key] = (self.cache_dir / f"{key}.co").read_bytes()
        return self._done[key]

    def opencl(self, source: str, *flags: str) -> bytes:
        """A linked gfx1100 code object from OpenCL C."""
        text = CL_PRELUDE + source
        key = hashlib.sha256((text + "\0".join(flags)).encode()).hexdigest()[:20]
        src, obj, co = (self.cache_dir / f"{key}.{ext}" for ext in ("cl", "o", "co"))
        src.write_text(text)
        return self._build(key, [
            [self.llvm.clang, "-x", "cl", "-cl-std=CL2.0", "-nogpulib", "-target", "amdgcn-amd-amdhsa",
             "-mcpu=gfx1100", "-O2", "-cl-kernel-arg-info", *flags, "-c", str(src), "-o", str(obj)],
            [self.llvm.lld, "-shared", str(obj), "-o", str(co)],
        ])

    def hip(self, source: str) -> bytes:
        """A gfx1100 code object from HIP device code (no HIP headers: builtins only)."""
        text = HIP_PRELUDE + source
        key = hashlib.sha256(text.encode()).hexdigest()[:20]
        src, co = self.cache_dir / f"{key}.hip", self.cache_dir / f"{key}.co"
        src.write_text(text)
        return self._build(key, [
            [self.llvm.clang, "-x", "hip", "--cuda-device-only", "-nogpulib", "-nogpuinc", "--offload-arch=gfx1100",
             "-O2", "--no-gpu-bundle-output", "-c", str(src), "-o", str(co)],
        ])

    def assembly(self, source: str) -> bytes:
        """A linked gfx1100 code object from assembly with .amdhsa_kernel directives."""
        key = hashlib.sha256(source.encode()).hexdigest()[:20]
        src, obj, co = (self.cache_dir / f"{key}.{ext}" for ext in ("s", "o", "co"))
        src.write_text(source)
        return self._build(key, [
            [self.llvm.mc, "-triple=amdgcn-amd-amdhsa", "-mcpu=gfx1100", "-filetype=obj", str(src), "-o", str(obj)],
            [self.llvm.lld, "-shared", str(obj), "-o", str(co)],
        ])


# Hand-written kernels (LLVM assembly syntax, .amdhsa_kernel directives, metadata). The kernels
# that fault and hang are the smoke test's (amdrt/kernels/smoke.s, the `smoke_kernels` fixture).
ASM_KERNELS = r"""
.amdgcn_target "amdgcn-amd-amdhsa--gfx1100"
.text
.globl fill_ids
.p2align 8
.type fill_ids,@function
fill_ids:                       ; out[gid] = gid * scale, workgroups of 64
  s_load_b64 s[4:5], s[0:1], 0x0
  s_load_b32 s6, s[0:1], 0x8
  s_lshl_b32 s7, s2, 6
  v_add_nc_u32 v1, s7, v0
  s_waitcnt lgkmcnt(0)
  v_mul_lo_u32 v2, v1, s6
  v_lshlrev_b32 v3, 2, v1
  global_store_b32 v3, v2, s[4:5]
  s_endpgm

.globl count
.p2align 8
.type count,@function
count:                          ; atomically add 1 to *counter per work-item
  s_load_b64 s[2:3], s[0:1], 0x0
  v_mov_b32 v1, 1
  v_mov_b32 v2, 0
  s_waitcnt lgkmcnt(0)
  global_atomic_add_u32 v2, v1, s[2:3]
  s_endpgm

.rodata
.p2align 6
.amdhsa_kernel fill_ids
  .amdhsa_user_sgpr_kernarg_segment_ptr 1
  .amdhsa_system_sgpr_workgroup_id_x 1
  .amdhsa_next_free_vgpr 4
  .amdhsa_next_free_sgpr 8
  .amdhsa_wavefront_size32 1
  .amdhsa_kernarg_size 16
.end_amdhsa_kernel
.p2align 6
.amdhsa_kernel count
  .amdhsa_user_sgpr_kernarg_segment_ptr 1
  .amdhsa_next_free_vgpr 3
  .amdhsa_next_free_sgpr 4
  .amdhsa_wavefront_size32 1
  .amdhsa_kernarg_size 8
.end_amdhsa_kernel

.amdgpu_metadata
---
amdhsa.version: [ 1, 2 ]
amdhsa.kernels:
  - .name: fill_ids
    .symbol: fill_ids.kd
    .kernarg_segment_size: 16
    .kernarg_segment_align: 8
    .group_segment_fixed_size: 0
    .private_segment_fixed_size: 0
    .wavefront_size: 32
    .sgpr_count: 8
    .vgpr_count: 4
    .max_flat_workgroup_size: 64
    .reqd_workgroup_size: [ 64, 1, 1 ]
    .args:
      - { .name: out, .offset: 0, .size: 8, .value_kind: global_buffer, .address_space: global }
      - { .name: scale, .offset: 8, .size: 4, .value_kind: by_value, .type_name: uint }
  - .name: count
    .symbol: count.kd
    .kernarg_segment_size: 8
    .kernarg_segment_align: 8
    .group_segment_fixed_size: 0
    .private_segment_fixed_size: 0
    .wavefront_size: 32
    .sgpr_count: 4
    .vgpr_count: 3
    .max_flat_workgroup_size: 256
    .args:
      - { .name: counter, .offset: 0, .size: 8, .value_kind: global_buffer, .address_space: global }
...
.end_amdgpu_metadata
"""


@pytest.fixture(scope="session")
def asm_kernels() -> str:
    return ASM_KERNELS


@pytest.fixture(scope="session")
def smoke_kernels() -> str:
    """The smoke test's kernels: vadd, fault (stores 16 GiB past its buffer) and spin (never ends)."""
    return resources.files("amdrt.kernels").joinpath("smoke.s").read_text()


@pytest.fixture(scope="session")
def toolchain(llvm, tmp_path_factory) -> Toolchain:
    return Toolchain(llvm, tmp_path_factory.mktemp("amdrt-kernels"))


@pytest.fixture(scope="session")
def rt1():
    runtime = amdrt.Runtime(SimDriver(1), timeout=60)
    yield runtime
    runtime.close()


@pytest.fixture(scope="session")
def rt4():
    runtime = amdrt.Runtime(SimDriver(4), timeout=60)
    yield runtime
    runtime.close()


@pytest.fixture
def dev(rt1):
    return rt1.devices[0]


@pytest.fixture
def fresh_rt():
    """A runtime of its own, for tests that count what the runtime holds."""
    runtime = amdrt.Runtime(SimDriver(2), timeout=60)
    yield runtime
    runtime.close()
