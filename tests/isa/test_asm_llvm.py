"""The assembler against llvm-mc-19 (gfx1100, wave32), bit for bit.

Three corpora, each sent to llvm-mc in one batch (results cached on disk per text hash):
  * LLVM's canonical text: random instruction words of every family (tests/isa/llvm_corpus.py)
    disassembled by LLVM, then re-assembled by LLVM and by us;
  * random text from isa.asm.sample: every form without and with encoding suffixes, both
    spellings of source modifiers, optional operands left out, modifiers in any subset;
  * the same text slightly mutated, mostly into invalid instructions: we must reject what
    LLVM rejects, and encode what it accepts as it does.
Plus hand-written cases in LLVM's documentation style and whole programs with labels and
directives compared with `llvm-mc -filetype=obj`.
"""

import collections
import hashlib
import io
import json
import random
import re
import subprocess
from pathlib import Path

import pytest
from llvm_corpus import corpus

from isa.asm import assemble
from isa.asm.sample import mutate, random_instructions
from isa.errors import AsmError

FAMILIES = ("SOP1", "SOP2", "SOPK", "SOPC", "SOPP", "SMEM", "VOP1", "VOP2", "VOPC", "VOP3", "VOP3SD", "VOP3P",
            "WMMA", "VOPD", "DPP16", "DPP8", "DS", "FLAT", "GLOBAL", "SCRATCH", "MUBUF", "MTBUF", "MIMG", "EXP", "LDSDIR",
            "VINTERP")
WORDS_PER_FAMILY = 1000
WORD_SEED = 20240601        # shared with the disassembler tests' corpus (one disk cache)
TEXT_LINES = 21_000
TEXT_SEED = 7
MUTATED_LINES = 4_000
MIN_AGREEMENT = 0.99
CACHE = Path(__file__).resolve().parents[2] / ".pytest_cache" / "asm_llvm"
MC_ARGS = ("-triple=amdgcn-amd-amdhsa", "-mcpu=gfx1100")

_DIAG = re.compile(r"^<stdin>:(\d+):(\d+): (error|warning): (.*)$")


def _mc_encode(mc: str, lines: list[str]) -> list[tuple[bytes | None, str | None]]:
    """llvm-mc's encoding of each line (None and its first error where it rejects the line)."""
    key = hashlib.sha256(("\n".join(lines) + mc).encode()).hexdigest()[:24]
    path = CACHE / f"enc-{key}.json"
    if path.exists():
        try:
            return [(None if b is None else bytes.fromhex(b), e) for b, e in json.loads(path.read_text())]
        except (ValueError, TypeError):
            pass
    r = subprocess.run([mc, *MC_ARGS, "-show-encoding"], input="\n".join(lines) + "\n",
                       capture_output=True, text=True, check=False)
    errors: dict[int, str] = {}
    for line in r.stderr.splitlines():
        m = _DIAG.match(line)
        if m and m.group(3) == "error":
            errors.setdefault(int(m.group(1)) - 1, f"{m.group(2)}: {m.group(4)}")
    encs = iter(line for line in r.stdout.splitlines() if "; encoding: [" in line)
    out = []
    for i, text in enumerate(lines):
        if i in errors:
            out.append((None, errors[i]))
        elif not text.strip():
            out.append((b"", None))
        else:
            enc = next(encs).split("; encoding: [", 1)[1]
            out.append((bytes(int(x, 16) for x in re.findall(r"0x([0-9a-f]{2})", enc)), None))
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([(None if b is None else b.hex(), e) for b, e in out]))
    tmp.replace(path)
    return out


def _ours(text: str):
    try:
        return assemble(text), None
    except AsmError as e:
        return None, e


def _compare(pairs, mc, title, capsys, min_agreement=MIN_AGREEMENT):
    """Per family: of the lines LLVM accepts, how many we encode identically; of those it
    rejects, how many we reject. Prints the table and returns (table, failing families)."""
    ref = _mc_encode(mc, [t for _, t in pairs])
    acc, good, rej, rej_ok = (collections.Counter() for _ in range(4))
    undefined = collections.Counter()
    examples = collections.defaultdict(list)
    for (fam, text), (want, err) in zip(pairs, ref):
        got, ours_err = _ours(text)
        if want is not None:
            if ours_err is not None and ours_err.message.startswith("undefined symbol"):
                # LLVM makes a relocation for an unknown name; raw bytes cannot hold one
                undefined[fam] += 1
                continue
            acc[fam] += 1
            if got == want:
                good[fam] += 1
            elif len(examples[fam]) < 4:
                examples[fam].append(f"  {text!r}: llvm {want.hex()}, ours "
                                     f"{got.hex() if got is not None else ours_err}")
        else:
            rej[fam] += 1
            if got is None:
                rej_ok[fam] += 1
            elif len(examples[fam]) < 4:
                examples[fam].append(f"  {text!r}: llvm rejects ({err}), ours {got.hex()}")
    fams = sorted(set(acc) | set(rej), key=lambda f: (f.rstrip('*') not in FAMILIES, f))
    rows = [f"{'family':8} {'encoded':>9} {'accepted':>9} {'rate':>8} {'rejected':>9} {'by llvm':>8}"]
    for f in fams:
        rate = 100 * good[f] / acc[f] if acc[f] else 100.0
        rows.append(f"{f:8} {good[f]:9d} {acc[f]:9d} {rate:7.2f}% {rej_ok[f]:9d} {rej[f]:8d}")
    ta, tg = sum(acc.values()), sum(good.values())
    rows.append(f"{'all':8} {tg:9d} {ta:9d} {100 * tg / max(ta, 1):7.2f}% {sum(rej_ok.values()):9d} "
                f"{sum(rej.values()):8d}")
    if undefined:
        rows.append(f"(not compared: {sum(undefined.values())} lines naming undefined symbols)")
    table = "\n".join(rows)
    with capsys.disabled():
        print(f"\n{title}:\n{table}")
    low = [f for f in fams if good[f] < min_agreement * acc[f] or rej_ok[f] < min_agreement * rej[f]]
    detail = "\n".join(line for f in low for line in [f + ":"] + examples[f])
    return table, low, detail, ta


@pytest.mark.llvm
def test_llvm_canonical_text_per_family(llvm, capsys):
    """LLVM's own text for random instruction words of every family encodes as LLVM encodes it."""
    entries = corpus(WORDS_PER_FAMILY, WORD_SEED, families=FAMILIES)
    pairs = [(e.family, e.llvm_text) for e in entries if e.llvm_text is not None]
    table, low, detail, accepted = _compare(pairs, llvm.mc, "LLVM canonical text vs llvm-mc-19", capsys)
    assert accepted >= 14_000
    assert not low, f"families below {MIN_AGREEMENT:.0%}:\n{table}\n{detail}"


@pytest.mark.llvm
def test_random_text_per_family(llvm, capsys):
    """Random text in every accepted spelling (no suffix: LLVM's choice of encoding)."""
    pairs = random_instructions(TEXT_LINES, TEXT_SEED)
    table, low, detail, accepted = _compare(pairs, llvm.mc, "random assembly text vs llvm-mc-19", capsys)
    assert accepted >= 0.9 * TEXT_LINES
    assert not low, f"families below {MIN_AGREEMENT:.0%}:\n{table}\n{detail}"


@pytest.mark.llvm
def test_mutated_text_rejections(llvm, capsys):
    """Slightly broken lines: rejected where LLVM rejects them, encoded alike where it accepts."""
    rng = random.Random(11)
    pairs = [(fam, mutate(text, rng)) for fam, text in random_instructions(MUTATED_LINES, 3)]
    table, low, detail, _ = _compare(pairs, llvm.mc, "mutated assembly text vs llvm-mc-19", capsys,
                                     min_agreement=0.98)
    assert not low, f"families below 98%:\n{table}\n{detail}"


# ---------------------------------------------------------------------------------------------
# Hand-written cases in LLVM's documentation style.

SYNTAX_CASES = """
v_illegal
v_illegal_e32
v_add_f32 v1, v2, v3
v_add_f32 v1, s2, v3
v_add_f32 v1, v2, s3
v_add_f32_e32 v1, 0.5, v3
v_add_f32_e64 v1, v2, v3
v_add_f32 v1, -v2, |v3|
v_add_f32 v1, neg(v2), abs(v3)
v_add_f32 v1, -|v2|, v3 clamp
v_add_f32 v1, v2, v3 mul:2
v_add_f32 v1, v2, v3 div:2
v_add_f32 v1, v2, v3 clamp mul:4
v_add_f32 v1, 1.0, v3
v_add_f32 v1, -4.0, v3
v_add_f32 v1, 0.15915494, v3
v_add_f32 v1, 3.14, v3
v_add_f32 v1, 0x3f800000, v3
v_add_f32 v1, 64, v3
v_add_f32 v1, 65, v3
v_add_f32 v1, -16, v3
v_add_f32 v1, -17, v3
v_add_f32 v1, 0xffffffff, v3
v_add_f32 v1, 1 + 2 * 3, v3
v_add_f32 v1, (1 << 4) | 1, v3
v_add_f32 v1, v2 v3
v_add_f16 v1, 0x3c00, v2
v_add_f16 v1, 1.0, v2
v_add_f16 v1, 0.5, v2
v_add_f16_e64 v1, v2, 0x3118
v_add_f64 v[0:1], v[2:3], 1.0
v_add_f64 v[0:1], v[2:3], 0x3ff00000
v_add_f64 v[0:1], v[2:3], 1.5
v_add_f64 v[0:1], v[2:3], 0x3ff0000000000000
v_mov_b32 v1, v[2]
v_mov_b32 v1, s[2:2]
v_mov_b32 v255, v0
v_mov_b32 v0, ttmp15
v_mov_b32 v0, vcc_hi
v_mov_b32 v0, exec_lo
v_mov_b32 v0, m0
v_mov_b32 v0, null
v_mov_b32 v0, src_scc
v_mov_b32 v0, src_shared_base
v_mov_b32 v0, lit(1.0)
v_mov_b32_e64 v0, v1
v_nop
v_nop_e64
v_cndmask_b32 v1, v2, v3
v_cndmask_b32 v1, v2, v3, vcc_lo
v_cndmask_b32 v1, v2, v3, s4
v_cndmask_b32 v1, -v2, v3, vcc_lo
v_add_co_ci_u32 v1, vcc_lo, v2, v3, vcc_lo
v_add_co_ci_u32 v1, v2, v3
v_add_co_ci_u32 v1, s4, v2, v3, s5
v_add_co_u32 v1, vcc_lo, v2, v3
v_add_co_u32 v1, s4, v2, s5
v_sub_co_u32 v1, null, v2, v3 clamp
v_cmp_eq_f32 vcc_lo, v1, v2
v_cmp_eq_f32 v1, v2
v_cmp_eq_f32 s5, v1, v2
v_cmp_eq_f32 vcc_lo, v1, s2
v_cmp_eq_f32_e64 vcc_lo, -v1, |v2|
v_cmp_lt_u32 vcc_lo, 0x1234, v2
v_cmp_class_f32 vcc_lo, v1, 3
v_cmpx_eq_f32 v1, v2
v_cmpx_eq_f32 v1, s2
v_cmpx_eq_f32_e64 -v1, v2
v_cmp_eq_u64 vcc_lo, v[0:1], v[2:3]
v_cmp_eq_u64 s4, v[0:1], v[2:3]
v_readfirstlane_b32 s1, v2
v_readlane_b32 s1, v2, s3
v_readlane_b32 s1, v2, 31
v_writelane_b32 v1, s2, s3
v_fma_f32 v1, v2, v3, v4
v_fma_f32 v1, v2, s3, 1.5
v_fma_f32 v1, -v2, v3, |v4| clamp div:2
v_fma_f16 v1, v2, v3, v4 op_sel:[1,0,0,1]
v_fma_f16 v1, v2, v3, v4 op_sel:[0,1,1,0] clamp
v_add_nc_u16 v1, v2, v3 op_sel:[0,0,1]
v_add_nc_u32 v1, v2, v3 clamp
v_mad_u64_u32 v[0:1], s2, v3, v4, v[5:6]
v_mad_u64_u32 v[0:1], null, v3, 10, v[5:6]
v_div_scale_f32 v1, vcc_lo, v2, v3, v4
v_div_fmas_f32 v1, v2, v3, v4
v_lshlrev_b64 v[0:1], 2, v[2:3]
v_lshlrev_b64 v[0:1], s2, v[2:3]
v_bfe_u32 v1, v2, 8, 8
v_perm_b32 v1, v2, v3, 0x5040100
v_permlane16_b32 v1, v2, s3, s4
v_permlane16_b32 v1, v2, s3, s4 op_sel:[1,0]
v_pk_add_f16 v1, v2, v3
v_pk_add_f16 v1, v2, v3 op_sel:[1,1] op_sel_hi:[0,0]
v_pk_fma_f16 v1, v2, v3, v4 neg_lo:[1,0,0] neg_hi:[0,1,0] clamp
v_pk_mul_f16 v1, 1.0, v2
v_pk_add_u16 v1, 0x10001, v2
v_fma_mix_f32 v1, v2, v3, v4 op_sel_hi:[1,1,1]
v_fma_mix_f32 v1, -v2, |v3|, v4 op_sel:[1,0,0]
v_fma_mixlo_f16 v1, v2, v3, v4 clamp
v_dot2_f32_f16 v1, v2, v3, v4
v_dot2_f32_f16 v1, v2, v3, v4 neg_lo:[1,1,0] clamp
v_dot4_i32_iu8 v1, v2, v3, v4 neg_lo:[1,1,0]
v_dot4_u32_u8 v1, v2, v3, 5
v_dot8_i32_iu4 v1, v2, v3, v4
v_dot2_f16_f16 v1, v2, v3, v4
v_dot2acc_f32_f16 v1, v2, v3
v_wmma_f32_16x16x16_f16 v[0:7], v[8:15], v[16:23], v[0:7]
v_wmma_f32_16x16x16_bf16 v[0:7], v[8:15], v[16:23], v[24:31] neg_lo:[1,0,0]
v_wmma_f16_16x16x16_f16 v[0:7], v[8:15], v[16:23], v[0:7] op_sel:[0,0,1]
v_wmma_i32_16x16x16_iu8 v[0:7], v[8:11], v[12:15], v[0:7] clamp
v_wmma_i32_16x16x16_iu4 v[0:7], v[8:9], v[10:11], 1
v_fmamk_f32 v1, v2, 0x40490fdb, v3
v_fmaak_f32 v1, v2, v3, 0x40490fdb
v_fmaak_f32 v1, 0x40490fdb, v3, 0x40490fdb
v_fmac_f32 v1, v2, v3
v_fmac_f32 v1, s2, v3
v_mov_b32_dpp v1, v2 quad_perm:[0,1,2,3] row_mask:0xf bank_mask:0xf
v_mov_b32 v1, v2 quad_perm:[3,2,1,0]
v_mov_b32 v1, v2 row_shl:1
v_mov_b32 v1, v2 row_shr:15 bound_ctrl:1
v_mov_b32 v1, v2 row_ror:4 row_mask:0x3 bank_mask:0xc
v_mov_b32 v1, v2 row_mirror
v_mov_b32 v1, v2 row_half_mirror fi:1
v_mov_b32 v1, v2 row_share:2
v_mov_b32 v1, v2 row_xmask:7
v_mov_b32 v1, v2 dpp8:[7,6,5,4,3,2,1,0]
v_mov_b32 v1, v2 dpp8:[0,0,0,0,0,0,0,0] fi:1
v_add_f32_dpp v1, -v2, |v3| row_shl:1 bound_ctrl:1 fi:1
v_add_f32 v1, v2, v3 clamp row_shl:1
v_add_f32_e64_dpp v1, v2, v3 mul:2 row_shl:1
v_fma_f32 v1, v2, v3, v4 dpp8:[7,6,5,4,3,2,1,0]
v_cmp_eq_f32 vcc_lo, v1, v2 row_shl:1
v_cmp_eq_f32 s5, v1, v2 row_shl:1
v_cndmask_b32 v1, v2, v3, vcc_lo row_shl:1
v_add_co_ci_u32 v1, vcc_lo, v2, v3, vcc_lo row_shl:1
v_dot2_f32_f16 v1, v2, v3, v4 row_shl:1
v_mov_b16 v1.l, v2.h
v_dual_mul_f32 v0, v1, v2 :: v_dual_add_f32 v3, v4, v5
v_dual_fmaak_f32 v0, v1, v2, 0x1234 :: v_dual_fmamk_f32 v3, v4, 0x1234, v5
v_dual_mov_b32 v0, s1 :: v_dual_mov_b32 v3, 1.0
v_dual_cndmask_b32 v0, v1, v2 :: v_dual_and_b32 v3, v4, v5
v_dual_dot2acc_f32_f16 v0, v1, v2 :: v_dual_lshlrev_b32 v3, v4, v5
s_mov_b32 s1, s2
s_mov_b32 s1, 1.0
s_mov_b32 s1, 0x12345678
s_mov_b32 m0, -1
s_mov_b32 exec_lo, vcc_lo
s_mov_b64 s[0:1], exec
s_mov_b64 exec, s[2:3]
s_mov_b64 s[0:1], 0x3ff0000000000000
s_mov_b64 vcc, [s2, s3]
s_and_saveexec_b32 s0, vcc_lo
s_add_u32 s0, s1, 0x1234
s_add_u32 s0, 0x1234, 0x1234
s_lshl_b64 s[0:1], s[2:3], 4
s_cselect_b32 s0, 1, 0
s_cmp_eq_u32 s0, 0x10000
s_cmp_lg_u64 s[0:1], 0
s_bitcmp1_b32 s0, 31
s_movk_i32 s0, 0x1234
s_movk_i32 s0, -1
s_cmpk_eq_u32 s0, 0xffff
s_addk_i32 s0, 0x8000
s_getreg_b32 s0, hwreg(HW_REG_MODE)
s_getreg_b32 s0, hwreg(HW_REG_MODE, 0, 4)
s_getreg_b32 s0, hwreg(1, 8, 8)
s_setreg_b32 hwreg(HW_REG_MODE, 4, 4), s0
s_setreg_imm32_b32 hwreg(HW_REG_MODE, 0, 8), 0xff
s_getreg_b32 s0, 0x1801
s_nop 0
s_nop 7
s_sleep 2
s_setprio 3
s_trap 2
s_endpgm
s_endpgm 1
s_barrier
s_code_end
s_icache_inv
s_clause 0x3
s_waitcnt vmcnt(0)
s_waitcnt lgkmcnt(0)
s_waitcnt vmcnt(0) lgkmcnt(0)
s_waitcnt vmcnt(1) & expcnt(2) & lgkmcnt(3)
s_waitcnt vmcnt(1), lgkmcnt(3)
s_waitcnt lgkmcnt(3) vmcnt(1)
s_waitcnt vmcnt_sat(100)
s_waitcnt 0
s_waitcnt 0xfc07
s_waitcnt_vscnt null, 0x0
s_waitcnt_vscnt null, 1
s_waitcnt_lgkmcnt null, 0
s_waitcnt_depctr depctr_va_vdst(0)
s_waitcnt_depctr depctr_sa_sdst(0) depctr_vm_vsrc(1)
s_waitcnt_depctr 0xfffe
s_delay_alu instid0(VALU_DEP_1)
s_delay_alu instid0(VALU_DEP_1) | instskip(NEXT) | instid1(VALU_DEP_2)
s_delay_alu instid0(TRANS32_DEP_1) | instskip(SKIP_1) | instid1(SALU_CYCLE_1)
s_delay_alu instid1(SALU_CYCLE_3) | instid0(VALU_DEP_4)
s_delay_alu 0x91
s_sendmsg sendmsg(MSG_DEALLOC_VGPRS)
s_sendmsg sendmsg(MSG_INTERRUPT)
s_sendmsg sendmsg(MSG_GS_ALLOC_REQ)
s_sendmsg sendmsg(2, 1, 0)
s_sendmsg 0x3
s_sendmsghalt sendmsg(MSG_HALT_WAVES)
s_sendmsg_rtn_b32 s0, sendmsg(MSG_RTN_GET_REALTIME)
s_sendmsg_rtn_b64 s[0:1], sendmsg(MSG_RTN_GET_DOORBELL)
s_version UC_VERSION_GFX11 | UC_VERSION_W32_BIT
s_load_b32 s0, s[2:3], 0x10
s_load_b64 s[0:1], s[2:3], 0x0
s_load_b128 s[4:7], s[2:3], s4
s_load_b256 s[8:15], s[2:3], s4 offset:0x100
s_load_b512 s[16:31], s[2:3], -0x100000
s_load_b32 s0, s[2:3]
s_load_b32 s0, s[2:3], 0 glc dlc
s_buffer_load_b32 s0, s[4:7], 0xfffff
s_buffer_load_b64 s[0:1], s[4:7], m0
s_dcache_inv
s_gl1_inv
s_atc_probe 7, s[2:3], 0x10
global_load_b32 v1, v[2:3], off
global_load_b32 v1, v[2:3], off offset:16
global_load_b32 v1, v[2:3], off, offset:-4096
global_load_b32 v1, v2, s[4:5] offset:4095
global_load_b32 v1, v[2:3], off glc slc dlc
global_load_b32 v1, v[2:3], off slc glc
global_load_b128 v[0:3], v4, s[4:5]
global_store_b32 v[2:3], v1, off
global_store_b64 v2, v[4:5], s[4:5] offset:8
global_atomic_add_u32 v1, v[2:3], v4, off glc
global_atomic_add_u32 v[2:3], v4, off
global_atomic_cmpswap_b32 v1, v2, v[4:5], s[4:5] glc
global_load_addtid_b32 v1, s[4:5]
global_load_d16_hi_b16 v1, v[2:3], off
flat_load_b32 v1, v[2:3]
flat_load_b32 v1, v[2:3] offset:4095
flat_store_b128 v[2:3], v[4:7] glc
flat_atomic_swap_b32 v1, v[2:3], v4 glc
scratch_load_b32 v1, off, s2
scratch_load_b32 v1, v2, off
scratch_load_b32 v1, v2, s2 offset:-16
scratch_load_b32 v1, off, off
scratch_store_b32 off, v1, s2 offset:8
ds_load_b32 v1, v2
ds_load_b32 v1, v2 offset:65535
ds_load_b64 v[0:1], v2 offset:8 gds
ds_store_b32 v2, v1 offset:16
ds_load_2addr_b32 v[0:1], v2 offset0:1 offset1:2
ds_load_2addr_b32 v[0:1], v2 offset1:2
ds_store_2addr_stride64_b64 v2, v[4:5], v[6:7] offset0:3 offset1:4
ds_add_rtn_u32 v1, v2, v3
ds_cmpstore_rtn_b32 v1, v2, v3, v4
ds_swizzle_b32 v1, v2 offset:swizzle(QUAD_PERM, 0, 1, 2, 3)
ds_swizzle_b32 v1, v2 offset:swizzle(BITMASK_PERM, "01pip")
ds_swizzle_b32 v1, v2 offset:swizzle(BROADCAST, 8, 7)
ds_swizzle_b32 v1, v2 offset:swizzle(SWAP, 16)
ds_swizzle_b32 v1, v2 offset:swizzle(REVERSE, 8)
ds_swizzle_b32 v1, v2 offset:0x8000
ds_permute_b32 v1, v2, v3
ds_bpermute_b32 v1, v2, v3 offset:4
ds_append v1
ds_gws_init v1 gds
ds_nop
buffer_load_b32 v1, off, s[4:7], 0
buffer_load_b32 v1, v2, s[4:7], s8 offen offset:4095
buffer_load_b32 v1, v2, s[4:7], 0 idxen
buffer_load_b32 v1, v[2:3], s[4:7], 0 idxen offen
buffer_load_b32 v[1:2], off, s[4:7], 0 tfe
buffer_load_b128 v[0:3], off, ttmp[4:7], m0 offset:16 glc slc dlc
buffer_store_b32 v1, off, s[4:7], -1
buffer_atomic_add_u32 v1, v2, s[4:7], 0 offen glc
buffer_atomic_cmpswap_b32 v[0:1], off, s[4:7], 0 glc
buffer_gl0_inv
buffer_gl1_inv
tbuffer_load_format_x v1, off, s[4:7], 0
tbuffer_load_format_x v1, off, s[4:7], 0 format:[BUF_FMT_32_FLOAT]
tbuffer_load_format_xyzw v[0:3], v4, s[4:7], 0 format:[BUF_FMT_32_32_32_32_FLOAT] offen
tbuffer_store_format_x v1, off, s[4:7], 0 format:[BUF_DATA_FORMAT_32, BUF_NUM_FORMAT_FLOAT]
tbuffer_load_format_x v1, off, s[4:7], 0 format:22
tbuffer_load_format_x v1, off, s[4:7], 0 format:0
S_NOP 5
V_ADD_F32 v1, v2, v3
ds_write_b32 v1, v2 offset:4
ds_read2_b32 v[0:1], v2 offset0:1 offset1:2
global_load_dword v1, v[2:3], off
buffer_load_dwordx4 v[0:3], off, s[4:7], 0
s_load_dwordx2 s[0:1], s[2:3], 0x8
s_andn2_b32 s0, s1, s2
v_cvt_pkrtz_f16_f32 v1, v2, v3
v_add_u32 v1, v2, v3
flat_atomic_add v1, v[2:3], v4 glc
v_add_f32 v1, v2, v3 ; comment
v_add_f32 v1, v2, v3 // comment
v_add_f32 v1, /* inline */ v2, v3
v_add_f32 v1 v2 v3
s_nop 0,
v_add_f32 v1, v2, v3,
v_mov_b32 v1, --1
s_nop --1
s_mov_b32_e32 s1, s2
global_load_b32_e32 v1, v[2:3], off
s_waitcnt_e32 vmcnt(0)
v_dual_mul_f32_e32 v1, v2, v3 :: v_dual_mov_b32 v2, v3
exp mrt0 v1, v2, v3, v4
exp mrt7 v1, off, v3, off done
exp mrtz v1, v2, v3, v4 done row_en
exp pos4 off, off, off, off
exp prim v1, v2, v3, v4
exp dual_src_blend1, v1, v2, v3, v4
exp_e32 mrt0 v1, v2, v3, v4
lds_param_load v1, attr0.x
lds_param_load v255, attr32.w wait_vdst:15
lds_param_load v1, attr01.y, wait_vdst:3
lds_param_load_e32 v1, attr1.z
lds_direct_load v1
lds_direct_load v1 wait_vdst:0x7
v_interp_p10_f32 v1, v2, v3, v4
v_interp_p10_f32 v1, -v2, |v3|, -|v4| clamp wait_exp:7
v_interp_p2_f32_e64 v1, neg(v2), abs(v3), v4 wait_exp:2
v_interp_p10_f16_f32 v1, v2, v3, v4 op_sel:[1,0,1,0]
v_interp_p2_f16_f32 v1, v2, v3, v4 clamp op_sel:[0,0,0,1] wait_exp:5
v_interp_p10_rtz_f16_f32 v1, v2, v3, v4 op_sel:[1]
v_interp_p2_rtz_f16_f32 v255, v254, v253, v252 op_sel:[1,1,1]
image_load v[0:3], v[4:5], s[0:7] dmask:0xf dim:SQ_RSRC_IMG_2D
image_load v[0:3], v[4:5], s[0:7] dmask:0xf dim:2D unorm glc slc dlc r128
image_load v0, v4, s[0:7] dim:1D
image_load v[0:4], v[4:5], ttmp[8:15] dmask:0xf dim:2D tfe lwe
image_load v[0:1], v[4:5], s[0:7] dmask:0x7 dim:2D d16
image_load v[0:3], [v4, v9], s[0:7] dmask:0xf dim:2D
image_load v[0:3], [v4, v6, v9, v1], s[0:7] dmask:0xf dim:2D_MSAA_ARRAY
image_load v[0:3], [v4], s[0:7] dmask:0xf dim:1D
image_load v[0:3], v[4:5], s[0:7], dmask:0xf, dim:2D,
image_load v[0:3], v4, s[0:7] dmask:0xf dim:2D a16
image_load_mip v[0:3], v[4:5], s[0:7] dmask:0xf dim:2D a16
image_store v[0:3], v[4:6], s[0:7] dmask:0xf dim:3D
image_store v[0:4], v[4:5], s[0:7] dmask:0xf dim:2D tfe
image_atomic_add v0, v[4:5], s[0:7] dmask:0x1 dim:2D glc
image_atomic_cmpswap v[0:1], v[4:5], s[0:7] dmask:0x3 dim:2D glc
image_atomic_cmpswap v[0:3], v[4:5], s[0:7] dmask:0xf dim:2D glc
image_get_resinfo v[0:3], v4, s[0:7] dmask:0xf dim:2D
image_msaa_load v[0:3], v[4:6], s[0:7] dmask:0x1 dim:2D_MSAA
image_sample v[0:3], v[4:5], s[0:7], s[8:11] dmask:0xf dim:2D
image_sample v[0:3], [v4, v6, v9], s[0:7], s[8:11] dmask:0xf dim:3D
image_sample_d v[0:3], [v0, v1, v2, v3, v[4:5]], s[0:7], s[8:11] dmask:0xf dim:2D
image_sample_d v[0:3], v[0:7], s[0:7], s[8:11] dmask:0xf dim:2D
image_sample_c_d_cl_o v[0:3], v[0:11], s[0:7], s[8:11] dmask:0xf dim:3D
image_sample_c_d_cl_o v[0:3], v[0:9], s[0:7], s[8:11] dmask:0xf dim:3D a16
image_sample_d_g16 v[0:3], v[0:2], s[0:7], s[8:11] dmask:0xf dim:1D
image_sample_c_d_o_g16 v[0:3], v[0:7], s[0:7], s[8:11] dmask:0xf dim:CUBE
image_gather4 v[0:3], v[4:5], s[0:7], s[8:11] dmask:0x1 dim:2D
image_gather4 v[0:1], v[4:5], s[0:7], s[8:11] dmask:0x4 dim:2D d16
image_gather4h v[0:3], v[4:5], s[0:7], s[8:11] dmask:0x1 dim:2D
image_get_lod v[0:1], v[4:5], s[0:7], s[8:11] dmask:0x3 dim:2D
image_bvh_intersect_ray v[0:3], v[4:14], s[0:3]
image_bvh_intersect_ray v[0:3], v[4:11], s[0:3] a16
image_bvh64_intersect_ray v[0:3], v[4:15], ttmp[0:3]
image_bvh_intersect_ray v[0:3], [v4, v5, v[6:8], v[9:11], v[12:14]], s[0:3]
image_bvh64_intersect_ray v[0:3], [v[4:5], v5, v[6:8], v[9:11]], s[0:3] a16
s_nop 1+1.0
""".strip().splitlines()

ERROR_CASES = """
v_add_f32 v1, v2
v_add_f32 v1, v2, v3, v4
v_add_f32 v1, v2, v3 mul:3
v_add_f32 v1, v2, v3 mul:4 clamp
v_add_f32 v1, 1e40, v3
v_add_f32 v1, 0x100000000, v3
v_add_f32 v1, --1, v3
v_add_f32 v1, |v2, v3
v_add_f32 v1, v256, v3
v_add_f32 v1, s106, v3
v_add_f32 v1, ttmp16, v3
v_add_f32 v1, vcc, v3
v_add_f32 v1, src_vccz, v3
v_add_f32 v1, flat_scratch_lo, v3
v_add_f32_e32 v1, v2, s3
v_add_f32_sdwa v1, v2, v3
v_fma_f32_e32 v1, v2, v3, v4
v_add_nc_u32 v1, -v2, v3
v_add_co_ci_u32 v1, vcc, v2, v3, vcc
v_add_co_ci_u32_e32 v1, vcc_lo, v2, v3
v_cmp_eq_f32 s[0:1], v1, v2
v_cmp_eq_u64 s[4:5], v[0:1], v[2:3]
v_cmpx_eq_f32_e64 exec_lo, v1, v2
v_cndmask_b32_e32 v1, v2, v3, vcc
v_lshlrev_b64 v[0:1], v2, v[2:4]
v_lshlrev_b64 v[0:1], s2, s[2:3]
v_fma_f32 v1, s2, s3, s4
v_fma_f32 v1, 0x1234, 0x5678, v2
v_fmamk_f32 v1, 0x1235, 0x1234, v3
v_add_f16 v1.l, v2.l, v3.l
v_mov_b32 v1, 1.0 row_shl:1
v_mov_b32 v1, v2 row_shl:0
v_mov_b32 v1, v2 row_shl:16
v_mov_b32 v1, v2 quad_perm:[4,0,0,0]
v_mov_b32 v1, v2 dpp8:[8,0,0,0,0,0,0,0]
v_mov_b32 v1, v2 wave_shl:1
v_dual_mul_f32 v0, v1, v2 :: v_dual_add_f32 v2, v4, v5
v_dual_mul_f32 v0, v1, v2 :: v_dual_add_f32 v3, v5, v6
v_dual_mul_f32 v0, 1.5, v2 :: v_dual_add_f32 v3, 2.5, v5
s_mov_b64 s[1:2], s[4:5]
s_mov_b64 s[0:1], s2
s_mov_b32 s0, v1
s_mov_b32 s0, s[2:1]
s_movk_i32 s0, 0x10000
s_cmpk_eq_u32 s0, -1
s_getreg_b32 s0, hwreg(HW_REG_HW_ID)
s_getreg_b32 s0, hwreg(64)
s_getreg_b32 s0, hwreg(HW_REG_MODE, 32, 1)
s_getreg_b32 s0, hwreg(HW_REG_MODE, 0, 33)
s_sendmsg sendmsg(MSG_GS, GS_OP_EMIT, 0)
s_waitcnt vmcnt(64)
s_waitcnt lgkmcnt(0) expcnt(8)
s_waitcnt
s_waitcnt_vscnt s1, 0
s_delay_alu instskip(SKIP_5)
s_delay_alu instid0(VALU_DEP_1), instid1(VALU_DEP_2)
s_waitcnt_depctr depctr_va_vdst(16)
s_load_b32 s0, s[2:3], 0x1fffff
s_load_b128 s[2:5], s[0:1], 0
s_buffer_load_b32 s0, s[4:7], -1
s_load_b32 s0, s[2:3] offset:4
s_ceil_f32 s0, s1
s_fmac_f32 s0, s1, s2
global_load_b32 v1, v[2:3], off offset:4096
global_load_b32 v1, v2, off
global_load_b32 v1, v[2:3], s[4:5]
global_load_b32 v1, v[2:3], off glc offset:16
global_load_b32 v1, v[2:3], off glc glc
global_atomic_add_u32 v1, v[2:3], v4, off
global_atomic_add_u32 v[2:3], v4, off glc
flat_load_b32 v1, v[2:3] offset:-1
scratch_load_b32 v1, off, s[2:3]
ds_load_b32 v1, v2 offset:65536
ds_load_2addr_b32 v[0:1], v2 offset0:256
ds_load_2addr_b32 v[0:1], v2 offset1:2 offset0:1
ds_gws_init v1
buffer_load_b32 v1, v2, s[4:7], 0
buffer_load_b32 v1, off, s[4:7], 0 offen
buffer_load_b32 v1, off, s[4:7], 0 tfe
buffer_load_b32 v1, off, s[5:8], 0
buffer_load_b32 v1, off, s[4:7], 65
buffer_store_b64 v[0:2], off, s[4:7], 0 tfe
tbuffer_load_format_x v1, off, s[4:7], 0 format:128
tbuffer_load_format_x v1, off, s[4:7], 0 format:[BUF_DATA_FORMAT_32]
foo v1, v2
v_foo_f32 v1, v2, v3
s_branch label + 4
""".strip().splitlines()

# Rejected lines whose message and column are LLVM's exactly.
EXACT_ERROR_CASES = """
v_illegal v1
v_illegal_e64
v_add_f32 v1,, v2, v3
v_add_f32 , v1, v2, v3
s_endpgm ,
v_add_f32 -v1, v2, v3
v_and_b32 v1, -v2, v3
v_mov_b32 v1, |v2|
s_mov_b32 s1, -s2
global_load_b32 v1, -v[2:3], off
v_add_f32 v1, sext(v2), v3
v_add_f32 v1, --1, v2
v_add_f32 v1, v2, v3 done
v_add_f32 v1, v2, v3 wait_exp:1
v_add_f32 v1, v2, v3 offset:1
v_add_f32_e64 v1, v2, v3 clamp:1
global_load_b32 v1, v[2:3], off glc:1
v_mad_u16 v1, v2, v3, v4 op_sel:[2,0,0,0]
v_mad_u16 v1, v2, v3, v4 op_sel:[1,0,0,0] op_sel:[0,0,0,0]
v_mad_u16 v1, v2, v3, v4 clamp op_sel:[1,0,0,0]
v_mad_u16 v1, v2, v3, v4 op_sel:[]
v_mad_u16 v1, v2, v3, v4 op_sel:[1,0,0,0,0]
v_mad_u16 v1, v2, v3, v4 op_sel:[1 0]
v_mad_u16 v1, v2, v3, v4 op_sel:[x]
v_pk_add_f16 v1, v2, v3 neg_lo:[1,0] neg_lo:[2]
v_pk_add_f16 v1, v2, v3 neg_hi:[1,0] neg_lo:[0,0]
s_mov_b32 s[100:140], s1
s_mov_b32 s[105:108], s1
s_mov_b32 s[1:12], s1
v_mov_b32 v[254:257], v1
s_mov_b64 s[1:2], 0
s_getreg_b32 s1, foo
s_sendmsg v1
s_sendmsg 0x10000
s_mov_b32_e64 s1, s2
v_fma_f32_e32 v1, v2, v3, v4
v_dual_mov_b32_e64 v1, v2 :: v_dual_mov_b32 v2, v3
exp mrt8 v1, v2, v3, v4
exp null v1, v2, v3, v4
exp param3 v1, v2, v3, v4
exp mrt01 v1, v2, v3, v4
exp mrt0 v1, v2, v3
exp mrt0 v1, v2, v3, v4 row_en done
exp mrt0 v1, v2, v3, v4 compr
exp mrt0 s1, v2, v3, v4
exp_e64 mrt0 v1, v2, v3, v4
lds_param_load v1, attr33.x
lds_param_load v1, attr1.q
lds_param_load v1, attr1
lds_param_load v1, attr.x
lds_param_load v1, ATTR1.x
lds_param_load v1, v2
lds_param_load attr1.x, v1
lds_param_load v1, attr1.x wait_vdst:16
lds_param_load v1, attr1.x wait_vdst:1 wait_vdst:2
lds_direct_load v1, attr1.x
lds_direct_load_e64 v1
v_interp_p10_f32 v1, v2, v3, v4 wait_exp:8
v_interp_p10_f32 v1, s2, v3, v4
v_interp_p10_f32 v1, 1.0, v3, v4
v_interp_p10_f32 v1, v2, v3, v4 op_sel:[0,0,0,0]
v_interp_p10_f32 v1, v2, v3, v4 wait_exp:1 clamp
v_interp_p10_f32 v1, v2, v3, v4 mul:2
v_interp_p10_f32 -v1, v2, v3, v4
v_interp_p10_f32 v1, sext(v2), v3, v4
v_interp_p10_f16_f32 v1, v2.l, v3, v4
v_interp_p10_f16_f32 v1, v2, v3, v4 op_sel:[1,1,1,1] op_sel:[2]
v_interp_p10_f32_e32 v1, v2, v3, v4
.word 1
.hword 2
image_load v[0:3], v[4:5], s[0:7] dim:2D dmask:0xf
image_load v[0:3], v[4:5], s[0:7] dmask:0xf dim:2D d16 unorm
image_load v[0:3], v[4:5], s[0:7] dmask:0xf
image_load v[0:3], v[4:5], s[0:7] dim:2D
image_load v[0:4], v[4:5], s[0:7] dmask:0xf dim:2D lwe
image_load v[0:3], v[4:6], s[0:7] dmask:0xf dim:2D
image_load v[0:3], v[4:11], s[0:7] dmask:0xf dim:2D
image_load v[0:3], v[4:5], s[0:3] dmask:0xf dim:2D
image_load v[0:3], v[4:5], s[2:9] dmask:0xf dim:2D
image_load v[0:3], v[4:5], s[0:7] dmask:0xf dim:SQ_RSRC_IMG_4D
image_load v[0:3], v[4:5], s[0:7] dmask:0xf dim:[1D]
image_load v[0:3], [v4, v5, v6, v7, v8], s[0:7] dmask:0xf dim:2D
image_load v[0:3], [v4, s5], s[0:7] dmask:0xf dim:2D
image_load v[0:3], [v4 v5], s[0:7] dmask:0xf dim:2D
image_load v[0:3], [v[4:5], v6], s[0:7] dmask:0xf dim:2D_ARRAY
image_load_pck v[0:3], v[4:5], s[0:7] dmask:0xf dim:2D d16
image_sample_d v[0:3], [v0, v1, v2, v[3:5]], s[0:7], s[8:11] dmask:0xf dim:2D
image_sample v[0:3], [v4, v5, v6, v7], s[0:7], s[8:11] dmask:0xf dim:2D
image_sample v[0:3], v[4:5], s[0:7] dmask:0xf dim:2D
image_sample_c_lz_o v[0:3], v[4:9], s[0:7], s[8:11] dmask:0xf dim:2D_MSAA_ARRAY
image_atomic_add v[0:3], v[4:5], s[0:7] dmask:0xf dim:2D
image_atomic_add v0, v[4:5], s[0:7] dmask:0x2 dim:2D
image_atomic_add v[0:1], v[4:5], s[0:7] dmask:0x1 dim:2D
image_atomic_cmpswap v0, v[4:5], s[0:7] dmask:0x1 dim:2D glc
image_gather4 v[0:3], v[4:5], s[0:7], s[8:11] dmask:0x3 dim:2D
image_gather4 v[0:2], v[4:5], s[0:7], s[8:11] dmask:0x1 dim:2D
image_msaa_load v[0:3], v[4:5], s[0:7] dmask:0x1 dim:2D
image_msaa_load v0, v[4:6], s[0:7] dmask:0x1 dim:2D_MSAA
image_get_lod v[0:3], v[4:7], s[0:7], s[8:11] dmask:0x1 dim:2D
image_bvh_intersect_ray v[0:3], v[4:13], s[0:3]
image_bvh_intersect_ray v[0:3], v[4:11], s[0:3]
image_bvh_intersect_ray v[0:3], v[4:14], s[0:3] glc
image_bvh_intersect_ray v[0:3], [v4, v5, v[6:8], v[9:11], v[12:14]], s[0:3] a16
global_load_b32 v1, offset:4
v_add_f32_e64 v1, v2 mul:2
v_mov_b32 v1, [v2, v4]
s_mov_b32 s0, 1 + 1.0
.long 1.5
""".strip().splitlines()


@pytest.mark.llvm
def test_syntax_cases_match_llvm(llvm):
    ref = _mc_encode(llvm.mc, SYNTAX_CASES)
    bad = []
    for text, (want, err) in zip(SYNTAX_CASES, ref):
        assert err is None, f"llvm-mc rejects a case meant to be valid: {text!r}: {err}"
        got, ours = _ours(text)
        if got != want:
            bad.append(f"{text!r}: llvm {want.hex()}, ours {got.hex() if got is not None else ours}")
    assert not bad, "\n".join(bad)


@pytest.mark.llvm
def test_error_cases_rejected_like_llvm(llvm):
    """What LLVM rejects raises AsmError here, at the same line; the messages say the same."""
    ref = _mc_encode(llvm.mc, ERROR_CASES)
    bad = []
    same_message = 0
    for text, (want, err) in zip(ERROR_CASES, ref):
        assert want is None, f"llvm-mc accepts a case meant to be invalid: {text!r}"
        got, ours = _ours(text)
        if got is not None:
            bad.append(f"{text!r}: llvm rejects ({err}), ours {got.hex()}")
            continue
        assert ours.line == 1 and ours.column >= 1 and ours.source_line == text
        same_message += ours.message == err.split(": ", 1)[1]
    assert not bad, "\n".join(bad)
    # the message is LLVM's own for most cases (it may differ where several forms fail)
    assert same_message >= 0.75 * len(ERROR_CASES), same_message


@pytest.mark.llvm
def test_exact_error_messages_and_columns(llvm):
    """For these the message and the column are LLVM's own."""
    ref = _mc_encode(llvm.mc, EXACT_ERROR_CASES)
    bad = []
    for text, (want, err) in zip(EXACT_ERROR_CASES, ref):
        assert want is None, f"llvm-mc accepts a case meant to be invalid: {text!r}"
        got, ours = _ours(text)
        mine = f"{ours.column}: {ours.message}" if got is None else got.hex()
        if mine != err:
            bad.append(f"{text!r}: llvm {err}, ours {mine}")
    assert not bad, "\n".join(bad)


@pytest.mark.llvm
def test_every_alias_encodes_like_llvm(llvm):
    """Each old mnemonic LLVM still accepts, with the operands of a valid line of its new name."""
    from isa.asm.aliases import ALIASES
    from isa.asm.sample import _Gen, _line
    from isa.asm.syntax import variants
    gen = _Gen(random.Random(5))
    lines = []
    for old, new in sorted(ALIASES.items()):
        for _ in range(20):
            form = gen.pick([f for f in variants()[new] if f.dpp is None])
            text = _line(gen, form)
            name, _, ops = text.partition(" ")
            if name != new:
                continue
            try:
                assemble(text)
            except AsmError:
                continue
            lines.append(f"{old} {ops}")
            break
    assert len(lines) == len(ALIASES)
    bad = []
    for text, (want, err) in zip(lines, _mc_encode(llvm.mc, lines)):
        got, ours = _ours(text)
        if got != want:
            bad.append(f"{text!r}: llvm {want.hex() if want else err}, ours {got.hex() if got else ours}")
    assert not bad, "\n".join(bad)


# ---------------------------------------------------------------------------------------------
# Whole programs: labels, branches, directives, compared with llvm-mc's object file.

PROGRAMS = {
    "branches": """
        .text
        .globl kernel
        .p2align 8
    kernel:
        s_load_b64 s[0:1], s[0:1], 0x0
        s_mov_b32 s2, 0
    loop:
        s_add_u32 s2, s2, 1
        s_cmp_lt_u32 s2, 10
        s_cbranch_scc1 loop
        s_branch done
        s_nop 0
    done:
        s_cbranch_execz .Lskip
        v_mov_b32 v0, s2
    .Lskip:
        s_call_b64 s[30:31], done
        s_branch 2 * 3
        s_cbranch_vccnz -1
        s_endpgm
    """,
    "data": """
        s_nop 0
        .byte 1, 2, 0xff, 0
        .p2align 3
        .short 0x1234, -1
        .long 0xdeadbeef, 7
        .quad 0x0123456789abcdef
        .balign 16
        s_endpgm
    label_a: .long label_b - label_a
    label_b:
        .set CONST, 5 * 4
        s_movk_i32 s0, CONST
        v_mov_b32 v0, CONST + 1
        x = 3
        s_nop x
    """,
    "comments": """
        // a line comment
        s_nop 1 ; trailing
        s_nop /* block */ 2
        /* multi
           line */ s_nop 3
        v_add_f32 v1, v2, v3   // c++ style
    """,
}


def _llvm_text_section(llvm, src: str) -> bytes:
    from elftools.elf.elffile import ELFFile
    r = subprocess.run([llvm.mc, *MC_ARGS, "-filetype=obj", "-o", "-"], input=src.encode(), capture_output=True,
                       check=True)
    elf = ELFFile(io.BytesIO(r.stdout))
    return elf.get_section_by_name(".text").data()


@pytest.mark.llvm
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_programs_match_llvm_object(llvm, name):
    src = PROGRAMS[name]
    assert assemble(src) == _llvm_text_section(llvm, src)


@pytest.mark.llvm
def test_undefined_label_is_an_error_as_in_llvm(llvm):
    src = "s_nop 0\ns_branch nowhere\n"
    r = subprocess.run([llvm.mc, *MC_ARGS, "-filetype=obj", "-o", "/dev/null"], input=src, capture_output=True,
                       text=True, check=False)
    assert r.returncode != 0 and "undefined label 'nowhere'" in r.stderr
    with pytest.raises(AsmError) as e:
        assemble(src)
    assert e.value.message == "undefined label 'nowhere'" and e.value.line == 2


@pytest.mark.llvm
def test_assembling_our_disassembly_gives_back_the_words_llvm_round_trips(llvm):
    """Wherever llvm-mc assembles its own disassembly of random words back into those words,
    assemble(disassemble(words)) gives them back too."""
    from isa.disasm import disassemble
    entries = [e for e in corpus(WORDS_PER_FAMILY, WORD_SEED, families=FAMILIES) if e.llvm_text is not None]
    encoded = _mc_encode(llvm.mc, [e.llvm_text for e in entries])
    words = [e.data[:e.llvm_size] for e, (want, _) in zip(entries, encoded) if want == e.data[:e.llvm_size]]
    assert len(words) >= 10_000
    wrong = []
    for data in words:
        text = disassemble(data)
        again, err = _ours(text)
        if again != data:
            wrong.append(f"  {data.hex()}: {text!r} -> {again.hex() if again is not None else err}")
    assert not wrong, f"{len(wrong)} of {len(words)} do not round-trip:\n" + "\n".join(wrong[:10])
