; Kernels of the smoke test, in LLVM's AMDGPU assembly syntax for gfx1100 (wave32).
.amdgcn_target "amdgcn-amd-amdhsa--gfx1100"
.text

.globl vadd
.p2align 8
.type vadd,@function
vadd:                                   ; out[i] = a[i] + b[i] for i < count, workgroups of 256
  s_load_b128 s[4:7], s[0:1], 0x0       ; a, b
  s_load_b64 s[8:9], s[0:1], 0x10       ; out
  s_load_b32 s10, s[0:1], 0x18          ; count
  s_lshl_b32 s2, s2, 8                  ; first item of this workgroup
  v_add_nc_u32 v0, s2, v0               ; global id
  s_waitcnt lgkmcnt(0)
  v_cmp_gt_u32 vcc_lo, s10, v0
  s_and_saveexec_b32 s11, vcc_lo        ; lanes past count do nothing
  s_cbranch_execz .Lvadd_end
  v_lshlrev_b32 v1, 2, v0
  global_load_b32 v2, v1, s[4:5]
  global_load_b32 v3, v1, s[6:7]
  s_waitcnt vmcnt(0)
  v_add_f32 v2, v2, v3
  global_store_b32 v1, v2, s[8:9]
.Lvadd_end:
  s_endpgm
.Lvadd_size:
.size vadd, .Lvadd_size-vadd

.globl fault
.p2align 8
.type fault,@function
fault:                                  ; stores 16 GiB past the buffer it is given
  s_load_b64 s[2:3], s[0:1], 0x0
  s_waitcnt lgkmcnt(0)
  s_add_u32 s2, s2, 0
  s_addc_u32 s3, s3, 4
  v_lshlrev_b32 v1, 2, v0
  v_mov_b32 v2, 7
  global_store_b32 v1, v2, s[2:3]
  s_endpgm

.globl spin
.p2align 8
.type spin,@function
spin:                                   ; never ends
  s_sleep 1
  s_branch spin

.rodata
.p2align 6
.amdhsa_kernel vadd
  .amdhsa_user_sgpr_kernarg_segment_ptr 1
  .amdhsa_system_sgpr_workgroup_id_x 1
  .amdhsa_next_free_vgpr 4
  .amdhsa_next_free_sgpr 12
  .amdhsa_wavefront_size32 1
  .amdhsa_kernarg_size 28
.end_amdhsa_kernel
.p2align 6
.amdhsa_kernel fault
  .amdhsa_user_sgpr_kernarg_segment_ptr 1
  .amdhsa_next_free_vgpr 3
  .amdhsa_next_free_sgpr 4
  .amdhsa_wavefront_size32 1
  .amdhsa_kernarg_size 8
.end_amdhsa_kernel
.p2align 6
.amdhsa_kernel spin
  .amdhsa_next_free_vgpr 1
  .amdhsa_next_free_sgpr 1
  .amdhsa_wavefront_size32 1
.end_amdhsa_kernel

.amdgpu_metadata
---
amdhsa.version: [ 1, 2 ]
amdhsa.kernels:
  - .name: vadd
    .symbol: vadd.kd
    .kernarg_segment_size: 28
    .kernarg_segment_align: 8
    .group_segment_fixed_size: 0
    .private_segment_fixed_size: 0
    .wavefront_size: 32
    .sgpr_count: 12
    .vgpr_count: 4
    .max_flat_workgroup_size: 256
    .args:
      - { .name: a, .offset: 0, .size: 8, .value_kind: global_buffer, .address_space: global }
      - { .name: b, .offset: 8, .size: 8, .value_kind: global_buffer, .address_space: global }
      - { .name: out, .offset: 16, .size: 8, .value_kind: global_buffer, .address_space: global }
      - { .name: count, .offset: 24, .size: 4, .value_kind: by_value, .type_name: uint }
  - .name: fault
    .symbol: fault.kd
    .kernarg_segment_size: 8
    .kernarg_segment_align: 8
    .group_segment_fixed_size: 0
    .private_segment_fixed_size: 0
    .wavefront_size: 32
    .sgpr_count: 4
    .vgpr_count: 3
    .max_flat_workgroup_size: 32
    .args:
      - { .name: buf, .offset: 0, .size: 8, .value_kind: global_buffer, .address_space: global }
  - .name: spin
    .symbol: spin.kd
    .kernarg_segment_size: 0
    .kernarg_segment_align: 8
    .group_segment_fixed_size: 0
    .private_segment_fixed_size: 0
    .wavefront_size: 32
    .sgpr_count: 1
    .vgpr_count: 1
    .max_flat_workgroup_size: 32
...
.end_amdgpu_metadata
