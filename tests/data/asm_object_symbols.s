// Data of every kind the file assembler places, and code that reaches it PC-relatively.
	.amdgcn_target "amdgcn-amd-amdhsa--gfx1100"
	.amdhsa_code_object_version 5
	.set	SCALE, 3
	TABLE_WORDS = 4
	.text
	.protected	reader
	.globl	reader
	.p2align	8
	.type	reader,@function
reader:
	s_getpc_b64 s[4:5]
	s_add_u32 s4, s4, table@rel32@lo+4
	s_addc_u32 s5, s5, table@rel32@hi+12
	s_getpc_b64 s[6:7]
	s_add_u32 s6, s6, pointers@rel32@lo+4
	s_addc_u32 s7, s7, pointers@rel32@hi+12
	s_mov_b32 s8, table
	s_mov_b32 s9, .Lend - reader
	s_mov_b32 s10, SCALE * TABLE_WORDS
	s_movk_i32 s11, SCALE
	s_load_b64 s[4:5], s[4:5], 0x0
.Lloop:
	s_sub_u32 s10, s10, 1
	s_cmp_lg_u32 s10, 0
	s_cbranch_scc1 .Lloop
	s_branch .Lend
	s_nop 0
.Lend:
	s_endpgm
.Lreader_end:
	.size	reader, .Lreader_end-reader
	.p2alignl 6, 3214868480
	.fill 16, 4, 3214868480

	.section	.rodata.tables,"a",@progbits
	.p2align	4
	.type	table,@object
table:
	.long	1, 2, 3, TABLE_WORDS
	.short	-1, 0x7fff
	.byte	1, 2, 3
	.ascii	"ab\n"
	.asciz	"c\tz"
	.balign	8, 0xee
	.quad	0x1122334455667788
	.size	table, .-table

	.section	.data.rel.ro,"aw",@progbits
	.p2align	3
pointers:
	.quad	table
	.quad	table + 8
	.quad	counter

	.data
	.globl	exported
	.p2align	2
exported:
	.long	7
	.zero	3, 0x5a
	.int	5
	.value	7
	.2byte	8
	.4byte	9
	.8byte	10
	.string	"ab"
	.skip	1, 3
	.space	2, 4
	.p2align	3
	.quad	exported + 4
	.quad	elsewhere

	.bss
	.p2align	4
counter:
	.zero	64

	.rodata
	.p2align	6
	.amdhsa_kernel reader
		.amdhsa_user_sgpr_count 2
		.amdhsa_user_sgpr_kernarg_segment_ptr 1
		.amdhsa_next_free_vgpr 1
		.amdhsa_next_free_sgpr 12
	.end_amdhsa_kernel

	.amdgpu_metadata
---
amdhsa.kernels:
  - .args:           []
    .group_segment_fixed_size: 0
    .kernarg_segment_align: 8
    .kernarg_segment_size: 0
    .max_flat_workgroup_size: 64
    .name:           reader
    .private_segment_fixed_size: 0
    .sgpr_count:     14
    .sgpr_spill_count: 0
    .symbol:         reader.kd
    .vgpr_count:     1
    .vgpr_spill_count: 0
    .wavefront_size: 32
amdhsa.target:   amdgcn-amd-amdhsa--gfx1100
amdhsa.version:
  - 1
  - 2
...
	.end_amdgpu_metadata
