"""Every VALU and SALU op of the table is either implemented here or named, with its reason, as
belonging to the emulator core; the ops' metadata agrees with the table."""

import numpy as np
import pytest

from isa.emu.salu import SALU
from isa.emu.valu import EXTRA_OPS, VALU, VOPD_ALIASES, WMMA
from isa.tables import table

VALU_SPACES = ("VOP1", "VOP2", "VOP3", "VOP3SD", "VOPC", "VOP3P", "VOPD")
SALU_SPACES = ("SOP1", "SOP2", "SOPK", "SOPC")

# Ops the emulator core executes itself, and why.
CORE_VALU = {
    "v_nop": "no operation", "v_pipeflush": "no operation",
    "v_readfirstlane_b32": "cross-lane: reads the first active lane into an SGPR",
    "v_readlane_b32": "cross-lane: reads one lane into an SGPR",
    "v_writelane_b32": "cross-lane: writes one lane",
    "v_permlane16_b32": "cross-lane swizzle", "v_permlanex16_b32": "cross-lane swizzle",
    "v_permlane64_b32": "cross-lane swizzle (wave64 halves)",
    "v_mbcnt_lo_u32_b32": "needs the lane id", "v_mbcnt_hi_u32_b32": "needs the lane id",
    "v_movreld_b32": "register addressing relative to M0", "v_movrels_b32": "register addressing relative to M0",
    "v_movrelsd_b32": "register addressing relative to M0", "v_movrelsd_2_b32": "register addressing relative to M0",
    "v_swaprel_b32": "register addressing relative to M0",
    "v_swap_b32": "writes two registers", "v_swap_b16": "writes two registers",
}
CORE_SALU = {
    "s_getpc_b64": "program counter", "s_setpc_b64": "program counter", "s_swappc_b64": "program counter",
    "s_call_b64": "program counter", "s_rfe_b64": "program counter and trap state",
    "s_movrels_b32": "register addressing relative to M0", "s_movrels_b64": "register addressing relative to M0",
    "s_movreld_b32": "register addressing relative to M0", "s_movreld_b64": "register addressing relative to M0",
    "s_movrelsd_2_b32": "register addressing relative to M0",
    "s_getreg_b32": "hardware registers", "s_setreg_b32": "hardware registers",
    "s_setreg_imm32_b32": "hardware registers",
    "s_sendmsg_rtn_b32": "message to the SPI", "s_sendmsg_rtn_b64": "message to the SPI",
    "s_version": "no operation", "s_subvector_loop_begin": "control flow", "s_subvector_loop_end": "control flow",
    "s_waitcnt_vscnt": "waits on memory counters", "s_waitcnt_vmcnt": "waits on memory counters",
    "s_waitcnt_expcnt": "waits on memory counters", "s_waitcnt_lgkmcnt": "waits on memory counters",
}


def _mnemonics(spaces):
    t = table()
    return {op.mnemonic: op for sp in spaces for op in t.spaces[sp].values()}


def test_every_valu_op_is_covered():
    ops = _mnemonics(VALU_SPACES)
    missing = []
    for name in ops:
        target = VOPD_ALIASES.get(name, name)
        if target not in VALU and name not in WMMA and name not in CORE_VALU:
            missing.append(name)
    assert not missing, missing
    for name in CORE_VALU:
        assert name in ops and name not in VALU, name
    assert set(VALU) - set(ops) == set(EXTRA_OPS)


def test_every_salu_op_is_covered():
    ops = _mnemonics(SALU_SPACES)
    missing = [n for n in ops if n not in SALU and n not in CORE_SALU]
    assert not missing, missing
    assert set(SALU) <= set(ops)
    for name in CORE_SALU:
        assert name in ops and name not in SALU, name


def _width(bits):
    return 16 if bits <= 16 else 32 if bits <= 32 else bits


def _table_op(name):
    by = table().by_mnemonic[name]
    for sp in ("VOP3", "VOP3SD", "VOP3P", "VOP2", "VOP1", "VOPC"):
        if sp in by:
            return by[sp]
    raise KeyError(name)


@pytest.mark.parametrize("name", sorted(n for n in VALU if n not in EXTRA_OPS))
def test_valu_metadata_matches_table(name):
    vop, top = VALU[name], _table_op(name)
    fields = {"s0": "src0", "s1": "src1", "s2": "src2"}
    for i, sname in enumerate(vop.src_names):
        if sname in fields and fields[sname] in top.operands and i not in vop.mask_srcs:
            assert vop.src_bits[i] == _width(top.operands[fields[sname]].bits), (name, sname)
    assert len(vop.src_bits) == len(vop.src_names)
    dst = top.operands.get("vdst")
    if vop.dst == "mask":
        assert name.startswith(("v_cmp_", "v_cmpx_"))
    elif dst is not None and not name.startswith(("v_fma_mix", "v_sat_pk", "v_cvt_pk")):
        assert vop.dst_bits == _width(dst.bits), name
    assert vop.dst_half16 == (vop.dst_bits == 16)


@pytest.mark.parametrize("name", sorted(VALU))
def test_valu_op_runs_on_any_shape(name):
    """Each op takes arrays of any shape (here [waves, lanes]) and returns that shape."""
    vop = VALU[name]
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    shape = (3, 32)
    srcs = []
    for b in vop.src_bits:
        if b == 1:
            srcs.append(rng.random(shape) < 0.5)
        elif b == 64:
            srcs.append(rng.integers(0, 2**64, shape, dtype=np.uint64))
        elif b == 128:
            srcs.append(rng.integers(0, 2**32, shape + (4,), dtype=np.uint64).astype(np.uint32))
        else:
            srcs.append(rng.integers(0, 2**32, shape, dtype=np.uint64).astype(np.uint32))
    out = vop.fn(*srcs)
    if vop.carry_out:
        out, carry = out
        assert carry.dtype == np.bool_ and carry.shape == shape
    want = {"u32": np.uint32, "u64": np.uint64, "mask": np.bool_, "u128": np.uint32}[vop.dst]
    assert out.dtype == want
    assert out.shape[:2] == shape
    if vop.dst_bits == 16:
        assert (out >> np.uint32(16) == 0).all()


@pytest.mark.parametrize("name", sorted(SALU))
def test_salu_metadata_matches_table(name):
    sop = SALU[name]
    top = next(iter(table().by_mnemonic[name].values()))
    fields = {"s0": "ssrc0", "s1": "ssrc1"}
    for i, sname in enumerate(sop.src_names):
        if name == "s_cvt_hi_f32_f16":      # the table lists 16 bits; the op reads the high half
            continue
        if sname in fields and fields[sname] in top.operands:
            assert sop.src_bits[i] == _width(top.operands[fields[sname]].bits), (name, sname)
    sdst = top.operands.get("sdst")
    if sop.dst_bits:
        assert sdst is not None
        assert sop.dst_bits == max(32, sdst.bits), name
    code = top.pseudocode
    assert sop.writes_scc == ("SCC = " in code), name
    first = code.find("SCC")
    assert sop.reads_scc == (first >= 0 and not code.startswith("SCC = ", first)), name
