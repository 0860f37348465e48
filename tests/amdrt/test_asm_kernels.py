"""Hand-written assembly kernels (assembled by llvm-mc-19) through dev.load and kernel calls:
results, faults and hangs that leave the device usable, concurrency across queues and engines,
and thousands of back-to-back launches that neither leak nor pile up."""

import gc

import numpy as np
import pytest

from amdrt import GPUFault, GPUTimeout, InvalidArgument

pytestmark = pytest.mark.llvm

KERNELS = r"""
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

.globl fault
.p2align 8
.type fault,@function
fault:                          ; store 16 GiB past the buffer it is given
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
spin:                           ; never ends
  s_branch spin

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
"""


@pytest.fixture(scope="module")
def code(toolchain):
    return toolchain.assembly(KERNELS)


@pytest.mark.parametrize("machine", ["rt1", "rt4"])
def test_assembly_kernel_on_every_gpu(request, code, machine):
    runtime = request.getfixturevalue(machine)
    for dev in runtime.devices:
        prog = dev.load(code)
        out = dev.alloc(4 * 640)
        scale = 3 + dev.index
        prog["fill_ids"](out, np.uint32(scale), global_size=640)  # local size 64 from the metadata
        assert np.array_equal(out.numpy(np.uint32), np.arange(640, dtype=np.uint32) * scale)


def test_required_workgroup_size_is_enforced(dev, code):
    prog = dev.load(code)
    out = dev.alloc(256)
    with pytest.raises(InvalidArgument, match=r"requires local_size \(64, 1, 1\)"):
        prog["fill_ids"](out, np.uint32(1), global_size=64, local_size=32)


def test_faulting_kernel_raises_and_the_device_stays_usable(fresh_rt, code):
    dev = fresh_rt.devices[0]
    prog = dev.load(code)
    buf = dev.alloc(4096)
    with pytest.raises(GPUFault) as err:
        prog["fault"](buf, global_size=32, local_size=32, timeout=30)
    page = (buf.va + (4 << 32)) & ~0xFFF
    assert err.value.address == page
    assert f"{page:#x}" in str(err.value)
    assert err.value.kernel == "fault"
    assert err.value.device == dev.name
    # The queue was recreated: kernels and copies run again.
    out = dev.alloc(4 * 64)
    prog["fill_ids"](out, np.uint32(2), global_size=64)
    assert np.array_equal(out.numpy(np.uint32), np.arange(64, dtype=np.uint32) * 2)
    assert dev.compute.resets == 1


def test_spinning_kernel_times_out_and_the_device_stays_usable(fresh_rt, code):
    dev = fresh_rt.devices[0]
    prog = dev.load(code)
    with pytest.raises(GPUTimeout) as err:
        prog["spin"](global_size=32, local_size=32, timeout=0.5)
    assert err.value.kernel == "spin"
    counter = dev.alloc(4)
    counter.copyin(np.zeros(1, np.uint32))
    prog["count"](counter, global_size=96, local_size=32)
    assert counter.numpy(np.uint32)[0] == 96


def test_two_queues_and_a_copy_in_flight_ordered_by_signals(rt4, code):
    d0, d1 = rt4.devices[:2]
    p0, p1 = d0.load(code), d1.load(code)
    q_a, q_b = d0.queue(), d1.queue()
    try:
        first, moved, counter = d0.alloc(4 * 256), d1.alloc(4 * 256), d1.alloc(4)
        counter.copyin(np.zeros(1, np.uint32))
        gate = d0.signal(1)
        # queue A (GPU 0) fills `first` once the CPU opens the gate; SDMA on GPU 1 copies it
        # over; queue B (GPU 1) runs after the copy.
        k1 = p0["fill_ids"](first, np.uint32(5), global_size=256, queue=q_a, after=[gate], wait=False)
        copy = d1.copy(moved, first, wait=False, after=[k1])
        k2 = p1["count"](counter, global_size=64, local_size=64, queue=q_b, after=[copy], wait=False)
        assert (k1.value, copy.value, k2.value) == (1, 1, 1)
        gate.set(0)
        k2.wait(timeout=30)
        assert k1.value == 0 and copy.value == 0
        assert np.array_equal(moved.numpy(np.uint32), np.arange(256, dtype=np.uint32) * 5)
        assert counter.numpy(np.uint32)[0] == 64
    finally:
        d0.close_queue(q_a)
        d1.close_queue(q_b)


def test_ten_thousand_back_to_back_launches(fresh_rt, code):
    dev = fresh_rt.devices[0]
    kernel = dev.load(code)["count"]
    counter = dev.alloc(4)
    counter.copyin(np.zeros(1, np.uint32))
    queue = dev.compute

    def footprint():
        gc.collect()
        fresh_rt.memory.release_deferred()
        return (len(fresh_rt.memory.live), fresh_rt.signals.in_use, len(queue.pending))

    def launches(count):
        for i in range(count):
            # Mostly asynchronous, with a wait now and then, as a training loop does.
            kernel(counter, global_size=1, local_size=1, wait=(i % 500 == 499))
        queue.synchronize()

    launches(1000)  # pools grow to what this pattern keeps in flight
    baseline = footprint()
    launches(10_000)
    assert counter.numpy(np.uint32)[0] == 11_000
    assert footprint() == baseline
    assert queue.write_index == 11_000
