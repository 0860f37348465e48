"""The emulator core with hand-written kernels: launch state, scheduling of wave groups, barriers,
program flow, errors, traces and the hazard checker. `run_asm` is the harness the other
test_core_* files use too; kernels are assembled by llvm-mc-19, the reference assembler."""

import io
import shutil
import subprocess
from functools import cache

import numpy as np
import pytest
from elftools.elf.elffile import ELFFile

from isa.codeobj import KernelDescriptor
from isa.emu import (
    BudgetExceeded,
    Cancelled,
    Dispatch,
    Emulator,
    Host,
    IllegalInstruction,
    KernelTrap,
    LaunchError,
    MemoryFault,
)

HEADER_SGPRS = 2          # kernarg pointer in s[0:1]
LLVM_MC = shutil.which("llvm-mc-19")

pytestmark = pytest.mark.llvm


@cache
def assemble(text: str, wave64: bool = False) -> bytes:
    """Machine code of `text` (gfx1100), the .text section of llvm-mc's object file."""
    if LLVM_MC is None:
        pytest.skip("llvm-mc-19 is not installed")
    mode = ["-mattr=+wavefrontsize64"] if wave64 else []
    done = subprocess.run([LLVM_MC, "-triple=amdgcn-amd-amdhsa", "-mcpu=gfx1100", *mode, "-filetype=obj", "-o", "-"],
                          input=text.encode(), capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    return ELFFile(io.BytesIO(done.stdout)).get_section_by_name(".text").data()


def descriptor(*, wave64=False, vgprs=64, lds=0, private=0, user_sgprs=HEADER_SGPRS, kernarg=True,
               wg_ids=(True, False, False), workitem_dims=0, **fields) -> bytes:
    granule = 4 if wave64 else 8
    kd = KernelDescriptor(
        group_segment_fixed_size=lds, private_segment_fixed_size=private,
        granulated_workitem_vgpr_count=-(-vgprs // granule) - 1,
        enable_sgpr_kernarg_segment_ptr=int(kernarg), user_sgpr_count=user_sgprs,
        enable_sgpr_workgroup_id_x=int(wg_ids[0]), enable_sgpr_workgroup_id_y=int(wg_ids[1]),
        enable_sgpr_workgroup_id_z=int(wg_ids[2]), enable_vgpr_workitem_id=workitem_dims,
        enable_wavefront_size32=int(not wave64), enable_private_segment=int(bool(private)),
        float_denorm_mode_32=3, float_denorm_mode_16_64=3, enable_dx10_clamp=1, enable_ieee_mode=1, **fields)
    return kd.to_bytes()


class Run:
    """A launched hand-written kernel: its host (memory) and the dispatch result."""

    def __init__(self, host: Host, result, kernel):
        self.host = host
        self.result = result
        self.kernel = kernel


def run_asm(body: str, *, args: bytes = b"", grid=(32,), workgroup=(32,), host: Host | None = None,
            emulator: Emulator | None = None, scratch: int = 0, run: dict | None = None, **kd) -> Run:
    """Assembles `body` (s_endpgm appended), launches it with the kernarg bytes `args` at s[0:1]."""
    host = host or Host(emulator=emulator)
    code = assemble(body + "\ns_endpgm\n", kd.get("wave64", False))
    desc = descriptor(**kd)
    kernel = host.load_raw(code, desc)
    kernarg = host.upload(np.frombuffer(args.ljust(max(len(args), 8), b"\0"), np.uint8))
    scratch_base = host.alloc(scratch) if scratch else 0
    d = Dispatch(kernel.code_address, desc, tuple(grid), tuple(workgroup), kernarg_address=kernarg,
                 scratch_base=scratch_base, scratch_size=scratch or None)
    result = host.emulator.run(host.memory, d, **(run or {}))
    return Run(host, result, kernel)


def u64s(*values: int) -> bytes:
    return b"".join(int(v).to_bytes(8, "little") for v in values)


def store_v(reg: str = "v1", out_sgpr: int = 2) -> str:
    """Stores `reg` of each work-item to out[global id] (out pointer in s[out:out+1], v0 = id)."""
    return f"""
        s_load_b64 s[{out_sgpr}:{out_sgpr + 1}], s[0:1], 0x0
        v_lshlrev_b32 v63, 2, v0
        s_waitcnt lgkmcnt(0)
        global_store_b32 v63, {reg}, s[{out_sgpr}:{out_sgpr + 1}]
    """


# ---------------------------------------------------------------------------------------------
# launch state

def test_workitem_ids_are_packed_into_v0():
    host = Host()
    out = host.alloc(4 * 4 * 2 * 3)
    body = """
        s_load_b64 s[2:3], s[0:1], 0x0
        v_and_b32 v2, 0x3ff, v0
        v_bfe_u32 v3, v0, 10, 10
        v_bfe_u32 v4, v0, 20, 10
        v_mad_u32_u24 v5, v3, 4, v2
        v_mad_u32_u24 v5, v4, 8, v5
        v_lshlrev_b32 v5, 2, v5
        v_lshlrev_b32 v6, 10, v4
        v_lshl_or_b32 v6, v3, 5, v6
        v_or_b32 v6, v6, v2
        s_waitcnt lgkmcnt(0)
        global_store_b32 v5, v6, s[2:3]
    """
    run_asm(body, args=u64s(out), grid=(4, 2, 3), workgroup=(4, 2, 3), workitem_dims=2, host=host)
    got = host.download(out, np.uint32, 24)
    z, y, x = np.mgrid[0:3, 0:2, 0:4]
    np.testing.assert_array_equal(got, ((z << 10) | (y << 5) | x).reshape(-1))


@pytest.mark.parametrize("wave64", [False, True])
def test_exec_covers_only_existing_lanes(wave64):
    host = Host()
    lanes = 64 if wave64 else 32
    out = host.alloc(4 * 8)
    body = """
        s_load_b64 s[2:3], s[0:1], 0x0
        s_bcnt1_i32_b32 s4, exec_lo
        s_bcnt1_i32_b32 s5, exec_hi
        s_add_u32 s4, s4, s5
        v_mov_b32 v1, s4
        v_mov_b32 v2, 0
        s_lshl_b32 s6, s15, 2
        v_mov_b32 v3, s6
        s_waitcnt lgkmcnt(0)
        global_store_b32 v3, v1, s[2:3]
    """ if not wave64 else """
        s_load_b64 s[2:3], s[0:1], 0x0
        s_bcnt1_i32_b64 s4, exec
        v_mov_b32 v1, s4
        s_lshl_b32 s6, s15, 2
        v_mov_b32 v3, s6
        s_waitcnt lgkmcnt(0)
        global_store_b32 v3, v1, s[2:3]
    """
    # one wave per workgroup: each stores its lane count at out[group id]
    r = run_asm(body, args=u64s(out), grid=(lanes + 8,),
                workgroup=(lanes,), wave64=wave64, user_sgprs=15, host=host)
    assert r.result.waves == 2
    assert list(host.download(out, np.uint32, 2)) == [lanes, 8]


def test_user_and_system_sgprs_in_descriptor_order():
    host = Host()
    out = host.alloc(4 * 16)
    # dispatch ptr (s[0:1]), kernarg ptr (s[2:3]), dispatch id (s[4:5]), private size (s6); group ids x, z
    body = """
        s_load_b64 s[20:21], s[2:3], 0x0
        s_waitcnt lgkmcnt(0)
        v_mov_b32 v1, 0
        v_mov_b32 v2, s0
        global_store_b32 v1, v2, s[20:21]
        v_mov_b32 v2, s1
        global_store_b32 v1, v2, s[20:21] offset:4
        v_mov_b32 v2, s4
        global_store_b32 v1, v2, s[20:21] offset:8
        v_mov_b32 v2, s6
        global_store_b32 v1, v2, s[20:21] offset:12
        v_mov_b32 v2, s7
        global_store_b32 v1, v2, s[20:21] offset:16
        v_mov_b32 v2, s8
        global_store_b32 v1, v2, s[20:21] offset:20
        v_mov_b32 v2, s9
        global_store_b32 v1, v2, s[20:21] offset:24
    """
    code = assemble(body + "\ns_endpgm\n")
    desc = descriptor(user_sgprs=7, kernarg=True, enable_sgpr_dispatch_ptr=1, enable_sgpr_dispatch_id=1,
                      enable_sgpr_private_segment_size=1, wg_ids=(True, False, True), private=48)
    kernel = host.load_raw(code, desc)
    kernarg = host.upload(np.frombuffer(u64s(out), np.uint8))
    scratch = host.alloc(1 << 16)
    d = Dispatch(kernel.code_address, desc, (1, 1, 3), (1, 1, 1), kernarg_address=kernarg,
                 dispatch_ptr=0x12345678AB, dispatch_id=77, scratch_base=scratch)
    r = host.emulator.run(host.memory, d)
    assert r.waves == 3
    got = host.download(out, np.uint32, 7)
    # the last wave to store is workgroup (0, 0, 2); its private segment byte offset is 2 slots in
    assert list(got[:6]) == [0x345678AB, 0x12, 77, 48, 0, 2]
    assert got[6] == 2 * 48 * 32


def test_pm4_user_sgprs_are_taken_as_given():
    host = Host()
    out = host.alloc(64)
    code = assemble("""
        v_mov_b32 v1, 0
        v_mov_b32 v2, s2
        global_store_b32 v1, v2, s[0:1]
        s_endpgm
    """)
    desc = descriptor(user_sgprs=3, kernarg=False)
    k = host.load_raw(code, desc)
    host.emulator.run(host.memory, Dispatch(k.code_address, desc, (1,), (1,),
                                            user_sgprs=(out & 0xFFFFFFFF, out >> 32, 4242)))
    assert host.download(out, np.uint32, 1)[0] == 4242


def test_mode_register_from_descriptor_and_s_setreg():
    host = Host()
    out = host.alloc(64)
    body = """
        s_load_b64 s[2:3], s[0:1], 0x0
        s_getreg_b32 s4, hwreg(HW_REG_MODE)
        s_setreg_imm32_b32 hwreg(HW_REG_MODE, 0, 4), 0xa
        s_getreg_b32 s5, hwreg(HW_REG_MODE, 0, 8)
        s_round_mode 0x5
        s_getreg_b32 s6, hwreg(HW_REG_MODE, 0, 4)
        v_mov_b32 v1, 0
        v_mov_b32 v2, s4
        v_mov_b32 v3, s5
        v_mov_b32 v4, s6
        s_waitcnt lgkmcnt(0)
        global_store_b96 v1, v[2:4], s[2:3]
    """
    run_asm(body, args=u64s(out), grid=(1,), workgroup=(1,), host=host)
    mode, low8, rounding = host.download(out, np.uint32, 3)
    assert mode & 0x3FF == 0x3F0          # denormals on for all types, DX10 clamp, IEEE
    assert low8 == 0xFA and rounding == 0x5


# ---------------------------------------------------------------------------------------------
# groups, divergence, barriers

def test_uniform_branches_split_and_merge_wave_groups():
    host = Host()
    out = host.alloc(4 * 256)
    body = """
        s_load_b64 s[2:3], s[0:1], 0x0
        s_and_b32 s4, s15, 1
        s_cmp_eq_u32 s4, 0
        s_cbranch_scc1 even
        v_mov_b32 v1, 100
        s_branch join
    even:
        v_mov_b32 v1, 200
    join:
        v_add_nc_u32 v1, s15, v1
        s_lshl_b32 s5, s15, 5
        v_add_nc_u32 v0, s5, v0
    """ + store_v("v1")
    r = run_asm(body, args=u64s(out), grid=(256,), workgroup=(32,), user_sgprs=15, host=host)
    assert r.result.waves == 8
    g = np.arange(8).repeat(32)
    np.testing.assert_array_equal(host.download(out, np.uint32, 256), np.where(g & 1, 100, 200) + g)


def test_loop_with_per_wave_trip_counts():
    host = Host()
    out = host.alloc(4 * 128)
    body = """
        s_load_b64 s[2:3], s[0:1], 0x0
        s_mov_b32 s4, 0
        v_mov_b32 v1, 0
    loop:
        v_add_nc_u32 v1, 3, v1
        s_add_u32 s4, s4, 1
        s_cmp_le_u32 s4, s15
        s_cbranch_scc1 loop
        s_lshl_b32 s5, s15, 5
        v_add_nc_u32 v0, s5, v0
    """ + store_v("v1")
    r = run_asm(body, args=u64s(out), grid=(128,), workgroup=(32,), user_sgprs=15, host=host)
    np.testing.assert_array_equal(host.download(out, np.uint32, 128), 3 * (np.arange(4).repeat(32) + 1))
    assert r.result.wave_instructions == sum(3 + 4 * (w + 1) + 2 + 4 + 1 for w in range(4))


def test_barrier_orders_lds_traffic_between_waves():
    host = Host()
    out = host.alloc(4 * 256)
    # every work-item writes its id to LDS, then reads its mirror image written by another wave
    body = """
        s_load_b64 s[2:3], s[0:1], 0x0
        v_lshlrev_b32 v1, 2, v0
        ds_store_b32 v1, v0
        s_waitcnt lgkmcnt(0)
        s_barrier
        v_sub_nc_u32 v2, 255, v0
        v_lshlrev_b32 v2, 2, v2
        ds_load_b32 v3, v2
        s_waitcnt lgkmcnt(0)
    """ + store_v("v3")
    r = run_asm(body, args=u64s(out), grid=(256,), workgroup=(256,), lds=1024, host=host,
                run={"check": True})
    np.testing.assert_array_equal(host.download(out, np.uint32, 256), 255 - np.arange(256))
    assert r.result.hazards == []


def test_waves_that_end_do_not_hold_up_a_barrier():
    host = Host()
    out = host.alloc(4 * 128)
    body = """
        s_load_b64 s[2:3], s[0:1], 0x0
        v_cmp_gt_u32 vcc_lo, 64, v0
        s_cbranch_vccz skip
        v_mov_b32 v1, 7
        s_barrier
    """ + store_v("v1") + "skip:\n"
    r = run_asm(body, args=u64s(out), grid=(128,), workgroup=(128,), host=host)
    got = host.download(out, np.uint32, 128)
    assert r.result.waves == 4
    np.testing.assert_array_equal(got, np.where(np.arange(128) < 64, 7, 0))


def test_calls_and_returns_through_sgpr_pairs():
    host = Host()
    out = host.alloc(4 * 32)
    body = """
        s_branch main
    func:
        v_lshlrev_b32 v1, 1, v1
        s_setpc_b64 s[30:31]
    main:
        s_getpc_b64 s[4:5]
        s_sub_u32 s4, s4, 12
        s_subb_u32 s5, s5, 0
        v_mov_b32 v1, 1
        s_swappc_b64 s[30:31], s[4:5]
        v_add_nc_u32 v1, 100, v1
        s_call_b64 s[30:31], func
    """ + store_v("v1")
    run_asm(body, args=u64s(out), host=host)
    np.testing.assert_array_equal(host.download(out, np.uint32, 32), np.full(32, (1 * 2 + 100) * 2))


# ---------------------------------------------------------------------------------------------
# errors

def test_memory_fault_reports_address_instruction_and_wave():
    host = Host()
    body = """
        v_mov_b32 v1, 0x100000
        v_cmp_eq_u32 vcc_lo, 5, v0
        s_and_saveexec_b32 s4, vcc_lo
        s_mov_b32 s2, 0x40000000
        s_mov_b32 s3, 0
        global_load_b32 v2, v1, s[2:3] offset:16
    """
    with pytest.raises(MemoryFault) as info:
        run_asm(body, grid=(96,), workgroup=(32,), user_sgprs=15, host=host)
    e = info.value
    assert e.address == 0x40100010 and e.kind == "read"
    assert e.instruction == "global_load_b32 v2, v1, s[2:3] offset:16"
    assert e.wave == 0


def test_budget_exceeded_and_cancelled():
    with pytest.raises(BudgetExceeded) as info:
        run_asm("loop:\n s_branch loop", run={"budget": 500})
    assert info.value.budget == 500 and info.value.instruction == "s_branch 65535"
    calls = []

    def stop():
        calls.append(1)
        return len(calls) > 3
    with pytest.raises(Cancelled):
        run_asm("loop:\n s_nop 0\n s_branch loop", run={"should_stop": stop})


def test_trap_and_illegal_words_stop_the_dispatch():
    with pytest.raises(KernelTrap) as info:
        run_asm("s_trap 2")
    assert info.value.trap_id == 2 and info.value.pc is not None
    with pytest.raises(IllegalInstruction) as illegal:
        run_asm("v_mov_b32 v1, 0\n.long 0xffffffff")
    assert "0xffffffff" in str(illegal.value)


def test_instructions_never_reached_need_not_be_executable():
    run_asm("s_branch over\n.long 0xffffffff\n s_trap 1\nover:")


def test_launch_errors():
    with pytest.raises(LaunchError):
        Dispatch(0, bytes(64), (0,), (1,))
    with pytest.raises(LaunchError):
        Dispatch(0, bytes(64), (1,), (33, 32))
    with pytest.raises(LaunchError):
        run_asm("s_nop 0", private=64)          # private memory but no scratch given
    with pytest.raises(LaunchError):
        run_asm("s_nop 0", lds=70000)


def test_code_changes_are_noticed_between_dispatches():
    host = Host()
    out = host.alloc(4 * 32)
    r1 = run_asm("v_mov_b32 v1, 5\n" + store_v("v1"), args=u64s(out), host=host)
    code = assemble("v_mov_b32 v1, 6\n" + store_v("v1") + "\ns_endpgm\n")
    host.memory.view(r1.kernel.code_address, len(code))[:] = np.frombuffer(code, np.uint8)
    kernarg = host.upload(np.frombuffer(u64s(out), np.uint8))
    host.emulator.run(host.memory, Dispatch(r1.kernel.code_address, r1.kernel.descriptor, (32,), (32,),
                                            kernarg_address=kernarg))
    assert host.download(out, np.uint32, 1)[0] == 6


# ---------------------------------------------------------------------------------------------
# trace and hazard checker

def test_trace_lists_instructions_and_changed_registers():
    r = run_asm("v_mov_b32 v1, 7\ns_mov_b32 s9, 0x1234\nv_add_nc_u32 v2, v0, v1", grid=(64,), workgroup=(32,),
                run={"trace": [1]})
    lines = r.result.trace
    assert lines[0] == f"w1 0x{r.kernel.code_address:x}: v_mov_b32_e32 v1, 7  v1=0x7"
    assert lines[1].endswith("s_mov_b32 s9, 0x1234  s9=0x00001234")
    assert "v2=[0x7 0x8 0x9 0xa ... (32 lanes)]" in lines[2]
    assert all(line.startswith("w1 ") for line in lines)


def test_trace_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("AMDRT_TRACE", "1")
    run_asm("s_mov_b32 s9, 3")
    assert "s_mov_b32 s9, 3  s9=0x00000003" in capsys.readouterr().err


def test_checker_reports_a_missing_wait():
    host = Host()
    data = host.upload(np.arange(64, dtype=np.uint32))
    body = """
        s_load_b64 s[2:3], s[0:1], 0x0
        s_waitcnt lgkmcnt(0)
        v_lshlrev_b32 v5, 2, v0
        global_load_b32 v1, v5, s[2:3]
        v_add_nc_u32 v2, 1, v1
        s_waitcnt vmcnt(0)
        v_add_nc_u32 v3, v1, 1
    """
    r = run_asm(body, args=u64s(data), host=host, run={"check": True})
    (h,) = r.result.hazards
    assert h.kind == "missing-wait" and h.instruction.startswith("v_add_nc_u32")
    assert "reads v1" in h.detail and "global_load_b32 v1, v5, s[2:3]" in h.detail


def test_checker_knows_smem_returns_out_of_order():
    host = Host()
    data = host.upload(np.arange(64, dtype=np.uint32))
    body = """
        s_load_b64 s[2:3], s[0:1], 0x0
        s_waitcnt lgkmcnt(0)
        s_load_b32 s4, s[2:3], 0x0
        s_load_b32 s5, s[2:3], 0x4
        s_waitcnt lgkmcnt(1)
        s_add_u32 s6, s4, 1
    """
    r = run_asm(body, args=u64s(data), host=host, run={"check": True})
    assert [h.kind for h in r.result.hazards] == ["missing-wait"]
    assert "s4" in r.result.hazards[0].detail


def test_checker_reports_an_lds_race_without_barrier():
    body = """
        v_lshlrev_b32 v1, 2, v0
        ds_store_b32 v1, v0
        s_waitcnt lgkmcnt(0)
        v_xor_b32 v2, 32, v0
        v_lshlrev_b32 v2, 2, v2
        ds_load_b32 v3, v2
        s_waitcnt lgkmcnt(0)
    """
    r = run_asm(body, grid=(64,), workgroup=(64,), lds=256, run={"check": True})
    (h,) = r.result.hazards
    assert h.kind == "lds-race" and h.instruction.startswith("ds_load_b32 v3, v2")


def test_checker_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("AMDRT_CHECK", "1")
    body = """
        v_lshlrev_b32 v1, 2, v0
        ds_store_b32 v1, v0
        ds_load_b32 v2, v1
        v_add_nc_u32 v3, 1, v2
        s_waitcnt lgkmcnt(0)
    """
    r = run_asm(body, lds=256)
    assert [h.kind for h in r.result.hazards] == ["missing-wait"]
    # asked for by the environment, the findings are printed too, as a trace is
    assert capsys.readouterr().err.splitlines() == [f"amdrt check: {r.result.hazards[0]}"]


def test_run_dispatch_keywords_as_a_command_processor_uses_them():
    from isa.emu import run_dispatch
    host = Host()
    out = host.alloc(4 * 64)
    code = assemble("""
        v_add_nc_u32 v1, 7, v0
        scratch_store_b32 off, v1, off offset:4
        s_waitcnt_vscnt null, 0
        scratch_load_b32 v2, off, off offset:4
        v_lshlrev_b32 v3, 2, v0
        s_lshl_b32 s4, s2, 7
        v_add_nc_u32 v3, s4, v3
        s_waitcnt vmcnt(0)
        global_store_b32 v3, v2, s[0:1]
        s_endpgm
    """)
    desc = descriptor(user_sgprs=2, kernarg=False, private=0)
    k = host.load_raw(code, desc)
    per_wave = 8 * 32
    scratch = host.alloc(per_wave * 2)
    r = run_dispatch(memory=host.memory, code_address=k.code_address, kernel_descriptor=desc, grid=(64, 1, 1),
                     workgroup=(32, 1, 1), user_sgprs=(out & 0xFFFFFFFF, out >> 32), lds_bytes=0,
                     scratch_base=scratch, scratch_per_wave=per_wave, emulator=host.emulator)
    assert r.waves == 2 and r.workgroups == 2
    np.testing.assert_array_equal(host.download(out, np.uint32, 64), 7 + np.arange(64) % 32)


def test_checker_reports_vgprs_used_after_they_were_released():
    r = run_asm("v_mov_b32 v1, 1\ns_sendmsg sendmsg(MSG_DEALLOC_VGPRS)\nv_mov_b32 v2, 2", run={"check": True})
    (h,) = r.result.hazards
    assert h.kind == "vgprs-released" and h.instruction.startswith("v_mov_b32")


def test_host_launches_reuse_one_area_for_packets_and_kernargs():
    """Launch after launch, the packet and kernarg area stays one mapping; bytes past this
    launch's arguments read zero even after a launch with more arguments."""
    host = Host()
    out = host.alloc(4096)
    body = """
        s_load_b64 s[2:3], s[0:1], 0x0
        s_load_b32 s4, s[0:1], 0x8
        s_load_b32 s5, s[0:1], 0x40
        s_waitcnt lgkmcnt(0)
        v_mov_b32 v1, s4
        v_mov_b32 v2, s5
        v_mov_b32 v3, 0
        global_store_b32 v3, v1, s[2:3]
        global_store_b32 v3, v2, s[2:3] offset:4
        s_endpgm
    """
    kernel = host.load_raw(assemble(body), descriptor())
    host.launch(kernel, [out, np.uint32(5)] + [np.uint32(9)] * 20, grid=(32,), workgroup=(32,))
    np.testing.assert_array_equal(host.download(out, np.uint32, 2), [5, 9])
    maps = len(host.memory.mappings())
    host.launch(kernel, [out, np.uint32(7)], grid=(32,), workgroup=(32,))
    np.testing.assert_array_equal(host.download(out, np.uint32, 2), [7, 0])
    assert len(host.memory.mappings()) == maps


def test_host_launches_reuse_one_scratch_area():
    host = Host()
    code = assemble("""
        scratch_store_b32 off, v0, off offset:4
        s_waitcnt_vscnt null, 0
        scratch_load_b32 v1, off, off offset:4
        s_waitcnt vmcnt(0)
        s_endpgm
    """)
    kernel = host.load_raw(code, descriptor(user_sgprs=0, kernarg=False, private=16))
    host.launch(kernel, [], grid=(256,), workgroup=(64,))
    mappings = len(host.memory.mappings())
    for _ in range(20):
        host.launch(kernel, [], grid=(256,), workgroup=(64,))
    assert len(host.memory.mappings()) == mappings
    host.launch(kernel, [], grid=(4096,), workgroup=(64,))     # more waves: a larger area replaces it
    assert len(host.memory.mappings()) == mappings
