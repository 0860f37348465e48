"""isa.emu: the RDNA3 wave emulator.

THE CONTRACT BETWEEN THE EMULATOR CORE (isa/emu/ core modules) AND THE ALU SEMANTICS (isa/emu/valu.py, isa/emu/salu.py, isa/emu/fp.py):
- Mnemonics are LLVM's without encoding suffix (isa.tables OpInfo.mnemonic), e.g. 'v_add_f32' serves VOP2, VOP3 and DPP forms; VOPD halves 'v_dual_add_f32' map to the same function as 'v_add_f32' ('v_dual_fmac_f32'->'v_fmac_f32', 'v_dual_dot2acc_f32_f16'->'v_dot2c_f32_f16' semantics, 'v_dual_mul_dx9_zero_f32' -> 'v_mul_dx9_zero_f32', etc.; the semantics module exports a VOPD_ALIASES dict).
- `isa.emu.valu.VALU: dict[str, ValuOp]` for every elementwise VALU op of gfx11 (VOP1, VOP2, VOP3, VOP3SD, VOPC compares/class, VOP3P packed math, dot products, v_fma_mix*, conversions, transcendentals, bit ops, 16/32/64-bit integer ops, cndmask, div_scale/div_fmas/div_fixup, ldexp/frexp, cubema etc., v_perm_b32, v_alignbit, v_bfe, v_mad_u64_u32, v_lshl_add, msad/sad, v_pack_b32_f16, v_cvt_pk_*, ...). ValuOp is a frozen dataclass: `fn`, `dst: 'u32'|'u64'|'mask'` (mask = VOPC compare result, one bool per lane), `carry_out: bool` (also returns a per-lane bool, for v_add_co_u32, v_add_co_ci_u32, v_div_scale_*, v_mad_u64_u32 etc.), `src_bits: tuple[int, ...]` (operand widths 16/32/64 in source order, as the table's operand widths say), `mask_srcs: tuple[int, ...]` (indices of sources that are per-lane bools: carry-in of v_add_co_ci_u32, the selector of v_cndmask_b32, VCC of v_div_fmas), `float_type: None|'f16'|'f32'|'f64'` of the result (core applies clamp/omod only where the op says `core_output_mods=True`; ops with integer clamp (saturation) handle `clamp` themselves), `dst_half16: bool` (16-bit result that VOP3 op_sel[3] / DPP may place in the high half).
  Call: `fn(*srcs, clamp=False)` where each src is a numpy array of raw bits (np.uint32 for <=32-bit operands — a 16-bit operand arrives in the low 16 bits, high bits already selected by the core per op_sel — np.uint64 for 64-bit operands, np.bool_ for mask sources), of shapes that broadcast to the result's (the core passes [waves, lanes] arrays, constants as [1, 1] and SGPRs as [waves, 1], so a function must combine its sources only by broadcasting operations; tests/isa/emu/test_valu_broadcast.py checks every op); input modifiers abs/neg (VOP3) and neg_lo/neg_hi/op_sel/op_sel_hi (VOP3P packed operands) are ALREADY applied by the core to the raw bits (sign-bit manipulation per operand float width, half selection/swizzle for packed operands) EXCEPT for ops flagged `raw_mods=True` (v_fma_mix*, v_dot*, WMMA, where the modifier bits change meaning), which get extra kwargs `opsel`, `opsel_hi`, `neg`, `neg_hi` (ints as encoded). Returns the D0 array (same shape; uint32/uint64; for dst='mask' a bool array), or `(D0, carry_bool_array)` when carry_out.
  Numerics: bit-exact per AMD's pseudocode (isa/data/rdna3.json): IEEE round-to-nearest-even, denormals preserved (the default clang's gfx11 kernels request), NaN handling as the pseudocode says (e.g. v_max_f32 with one NaN returns the other operand; quieting of sNaN), -0.0 vs +0.0 in min/max, fused FMA truly fused (f32: exact f64 product + round-to-odd sum, then round to f32; f16 similarly via f64; f64 FMA exact via an exact method), conversions with their saturation/rounding (v_cvt_i32_f32 saturates and NaN->0, v_cvt_f16_f32 RNE, v_cvt_pk_rtz_f16_f32 round toward zero, v_cvt_u32_f32 clamps negatives to 0, f32->f16 overflow to inf, etc.), integer shifts use only the low 5 (or 6 for 64-bit) bits of the shift amount, 24-bit multiplies sign/zero-extend 24 bits, transcendentals (exp2, log2, rcp, rsq, sqrt, sin/cos of x*2pi, ...) as the correctly rounded value of the exact math function (hardware is within 1 ulp), with special cases (inf, NaN, negative, 0, denormal) per the pseudocode.
- `isa.emu.salu.SALU: dict[str, SaluOp]` for SOP1/SOP2/SOPK/SOPC ops: `fn(*srcs, scc=None) -> (D or None, scc_out or None)`, srcs np.uint32/np.uint64 arrays of shape [waves] (or any shape), scc a bool array; SaluOp has `dst_bits` (0/32/64), `src_bits`, `reads_scc`, `writes_scc`. Includes s_bfe, s_bcnt, s_ff1/flbit, s_brev, s_bitset, s_quadmask, s_wqm, s_*_saveexec (these return (new_sdst, new_exec) — flag `exec_op=True` with fn(exec, src) -> (sdst, exec, scc)), s_cselect, s_abs, s_absdiff, s_lshl{1..4}_add, s_pack_*, s_mul_hi, s_cmpk_*, s_movk/cmovk/addk/mulk, s_sext/s_sext_i32_i16, SALU float ops of gfx11 (s_add_f32, s_fmac_f32...— if present in the table), s_cvt_*.
- Cross-lane and control ops are the CORE's, not the semantics': DPP16/DPP8 source swizzles, v_readlane/v_writelane/v_readfirstlane, v_permlane16/x16, ds_swizzle/bpermute/permute, v_mbcnt_lo/hi (needs lane id), v_mov_b32 (plain), v_movrel*, v_swap, WMMA register layout (WMMA math itself: `isa.emu.valu.WMMA: dict[str, fn(a, b, c) -> d]` on numpy arrays already gathered into matrices, [..., 16, 16] A/B/C as the proper float/int types — the core gathers per the lane layout).
"""

from isa.emu.errors import (  # noqa: E402
    BudgetExceeded,
    Cancelled,
    EmulatorError,
    IllegalInstruction,
    KernelTrap,
    LaunchError,
    MemoryFault,
)
from isa.emu.memory import Memory, PagedMemory  # noqa: E402
from isa.emu.launch import Dispatch  # noqa: E402
from isa.emu.machine import DispatchResult, Emulator, run_dispatch  # noqa: E402
from isa.emu.hazards import Hazard  # noqa: E402
from isa.emu.trace import Tracer  # noqa: E402
from isa.emu.host import Host  # noqa: E402

__all__ = [
    "BudgetExceeded", "Cancelled", "Dispatch", "DispatchResult", "Emulator", "EmulatorError", "Hazard", "Host",
    "IllegalInstruction", "KernelTrap", "LaunchError", "Memory", "MemoryFault", "PagedMemory", "Tracer",
    "run_dispatch",
]
