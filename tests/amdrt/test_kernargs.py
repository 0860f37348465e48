"""Kernel argument packing from code object metadata (clang-19 kernels) and launch geometry."""

import math
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amdrt import InvalidArgument, Local
from amdrt.kernargs import KernargLayout, LaunchContext, make_geometry
from isa import CodeObject

MIXED = """
#pragma OPENCL EXTENSION cl_khr_fp16 : enable
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
__kernel void mixed(char c, uchar uc, short s, ushort us, int i, uint ui, long l, ulong ul,
                    float f, double d, half h, float4 f4, int2 i2, __global double *out,
                    __local float *tmp, __global int *hist) {
  double acc = c + uc + s + us + i + ui + l + ul + f + d + (float)h + f4.x + f4.w + i2.y;
  tmp[LID(x)] = acc;
  BARRIER();
  out[GID(x) + GLOBAL_OFFSET(0)] = acc + tmp[0] + LSZ(x) + GRP(y) + __builtin_amdgcn_workgroup_size_z();
  __atomic_fetch_add(hist + (i & 7), 1, __ATOMIC_RELAXED);
}
"""

HIDDEN_V5 = {  # offsets inside the hidden block (AMDGPUUsage, code object v5)
    "hidden_block_count_x": (0, "I"), "hidden_block_count_y": (4, "I"), "hidden_block_count_z": (8, "I"),
    "hidden_group_size_x": (12, "H"), "hidden_group_size_y": (14, "H"), "hidden_group_size_z": (16, "H"),
    "hidden_remainder_x": (18, "H"), "hidden_remainder_y": (20, "H"), "hidden_remainder_z": (22, "H"),
    "hidden_global_offset_x": (40, "Q"), "hidden_global_offset_y": (48, "Q"),
    "hidden_global_offset_z": (56, "Q"), "hidden_grid_dims": (64, "H"), "hidden_dynamic_lds_size": (120, "I"),
}


class FakeBuffer:
    def __init__(self, va):
        self.va = va


def pointer(spec, value):
    if isinstance(value, FakeBuffer):
        return value.va
    spec.fail("needs a buffer")


@pytest.fixture(scope="module")
def mixed(toolchain):
    return CodeObject.parse(toolchain.opencl(MIXED)).kernels["mixed"].metadata


ARGS = [np.int8(-3), np.uint8(250), np.int16(-300), np.uint16(60000), np.int32(-70000), np.uint32(4_000_000_000),
        np.int64(-(1 << 40)), np.uint64((1 << 63) + 5), np.float32(1.5), np.float64(-2.25), np.float16(0.5),
        np.array([1, 2, 3, 4], np.float32), np.array([-7, 9], np.int32)]


def test_explicit_arguments_land_at_their_metadata_offsets(mixed):
    layout = KernargLayout(mixed)
    geometry = make_geometry((100, 3, 2), (32, 2, 1))
    data, lds = layout.pack([*ARGS, FakeBuffer(0x7000_0000_1000), Local(256), FakeBuffer(0x7000_0000_2000)],
                            geometry, LaunchContext(), pointer)
    assert len(data) == mixed.kernarg_segment_size
    explicit = mixed.explicit_args
    for arg, value in zip(explicit[:13], ARGS, strict=True):
        assert data[arg.offset:arg.offset + arg.size] == np.asarray(value).tobytes(), arg.name
    assert struct.unpack_from("<Q", data, explicit[13].offset)[0] == 0x7000_0000_1000
    assert struct.unpack_from("<I", data, explicit[14].offset)[0] == mixed.group_segment_fixed_size
    assert struct.unpack_from("<Q", data, explicit[15].offset)[0] == 0x7000_0000_2000
    assert lds == mixed.group_segment_fixed_size + 256


def test_python_numbers_convert_like_c(mixed):
    layout = KernargLayout(mixed)
    geometry = make_geometry(64, 64)
    values = [-3, 250, -300, 60000, -1, 4_000_000_000, -5, -1, 2, 0.1, 0.5, b"\0" * 16, b"\1" * 8]
    data, _ = layout.pack([*values, None, Local(4), None], geometry, LaunchContext(), lambda s, v: 0)
    args = mixed.explicit_args
    assert struct.unpack_from("<i", data, args[4].offset)[0] == -1
    assert struct.unpack_from("<Q", data, args[7].offset)[0] == (1 << 64) - 1  # -1 to ulong is all ones
    assert struct.unpack_from("<f", data, args[8].offset)[0] == 2.0           # int to float converts
    assert struct.unpack_from("<d", data, args[9].offset)[0] == 0.1
    assert struct.unpack_from("<e", data, args[10].offset)[0] == 0.5


def test_hidden_arguments_follow_the_launch(mixed):
    layout = KernargLayout(mixed)
    hidden = {a.value_kind: a.offset for a in mixed.hidden_args}
    assert "hidden_block_count_x" in hidden
    base = hidden["hidden_block_count_x"]
    geometry = make_geometry((1000, 7, 3), (64, 4, 2), (5, 6, 7))
    data, lds = layout.pack([*ARGS, FakeBuffer(0), Local(100), FakeBuffer(0)], geometry, LaunchContext(), pointer)
    expected = {
        "hidden_block_count_x": 1000 // 64, "hidden_block_count_y": 1, "hidden_block_count_z": 1,
        "hidden_group_size_x": 64, "hidden_group_size_y": 4, "hidden_group_size_z": 2,
        "hidden_remainder_x": 1000 % 64, "hidden_remainder_y": 3, "hidden_remainder_z": 1,
        "hidden_global_offset_x": 5, "hidden_global_offset_y": 6, "hidden_global_offset_z": 7,
        "hidden_grid_dims": 3, "hidden_dynamic_lds_size": 100,
    }
    for kind, offset in hidden.items():
        if kind in expected:
            rel, fmt = HIDDEN_V5[kind]
            assert offset - base == rel, kind
            assert struct.unpack_from("<" + fmt, data, offset)[0] == expected[kind], kind
    assert lds == mixed.group_segment_fixed_size + 100


@pytest.mark.parametrize("index, value, message", [
    (4, 1.5, "takes int32, got a Python float"),
    (4, np.float32(1), "takes int32, got numpy float32"),
    (0, 300, "does not fit in 8 bits"),
    (1, np.int16(3), "takes 1 bytes"),
    (8, 1e39, "overflows float32"),
    (11, b"\0" * 12, "takes 16 bytes, got 12"),
    (11, 3, "pass bytes or a numpy value"),
    (13, 0x1000, "needs a buffer"),
    (14, 16, "pass amdrt.Local"),
    (15, Local(8), "needs a buffer"),
    (2, "3", "got str"),
])
def test_bad_arguments_are_refused_with_their_name(mixed, index, value, message):
    layout = KernargLayout(mixed)
    args = [*ARGS, FakeBuffer(0), Local(4), FakeBuffer(0)]
    args[index] = value
    with pytest.raises(InvalidArgument, match=message) as err:
        layout.pack(args, make_geometry(1, 1), LaunchContext(), pointer)
    assert f"argument {index} ({mixed.explicit_args[index].name}" in str(err.value)


def test_argument_count_and_lds_limit(mixed):
    layout = KernargLayout(mixed, lds_limit=65536)
    with pytest.raises(InvalidArgument, match="takes 16 arguments"):
        layout.pack(ARGS, make_geometry(1, 1), LaunchContext(), pointer)
    args = [*ARGS, FakeBuffer(0), Local(65537), FakeBuffer(0)]
    with pytest.raises(InvalidArgument, match="bytes of LDS"):
        layout.pack(args, make_geometry(1, 1), LaunchContext(), pointer)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 5000), min_size=1, max_size=3), st.lists(st.integers(1, 16), min_size=3, max_size=3))
def test_geometry_counts_blocks_and_remainders(global_size, local_size):
    local = tuple(local_size[:len(global_size)])
    if math.prod(local) > 1024:
        with pytest.raises(InvalidArgument):
            make_geometry(tuple(global_size), local)
        return
    g = make_geometry(tuple(global_size), local)
    assert g.dims == len(global_size)
    full = tuple(global_size) + (1,) * (3 - len(global_size))
    for axis in range(3):
        # Full workgroups, plus the remainder (a last partial one) make up the grid.
        blocks, rem = g.block_count[axis], g.remainder[axis]
        assert blocks * g.local_size[axis] + rem == full[axis]
        assert 0 <= rem < g.local_size[axis]


@pytest.mark.parametrize("global_size, local_size", [
    (0, 1), ((4, 0), (1, 1)), (2**32, 1), (8, 1025), ((8, 8), (64, 32)), (8, 2.5), ("8", 1), ((1, 2, 3, 4), 1),
])
def test_bad_launch_shapes(global_size, local_size):
    with pytest.raises(InvalidArgument):
        make_geometry(global_size, local_size)


def test_metadata_workgroup_limit(mixed):
    assert mixed.max_flat_workgroup_size == 256  # clang's default for OpenCL kernels
    with pytest.raises(InvalidArgument, match="at most 256"):
        make_geometry(1024, 512, max_workgroup_size=mixed.max_flat_workgroup_size)


def test_kernels_the_runtime_cannot_feed_load_but_refuse_to_launch(toolchain):
    source = """
    __kernel void with_image(__read_only image2d_t img, __global int *out) { out[0] = 1; }
    __kernel void plain(__global int *out) { out[0] = 2; }
    __kernel void talk(__global int *out) { printf("%d\\n", out[0]); }
    """
    kernels = CodeObject.parse(toolchain.opencl(source)).kernels
    image = KernargLayout(kernels["with_image"].metadata)
    with pytest.raises(InvalidArgument, match="images, samplers"):
        image.pack([None, FakeBuffer(0)], make_geometry(1, 1), LaunchContext(), pointer)
    plain = KernargLayout(kernels["plain"].metadata)
    assert plain.unusable is None
    talk = KernargLayout(kernels["talk"].metadata)
    with pytest.raises(InvalidArgument, match="uses printf"):
        talk.pack([FakeBuffer(0)], make_geometry(1, 1), LaunchContext(), pointer)


def test_hand_written_kernel_without_argument_metadata_says_what_to_add():
    import isa
    source = """
    .text
    .globl raw
    .p2align 8
    raw:
      s_endpgm
    .rodata
    .p2align 6
    .amdhsa_kernel raw
      .amdhsa_next_free_vgpr 1
      .amdhsa_next_free_sgpr 2
      .amdhsa_user_sgpr_kernarg_segment_ptr 1
      .amdhsa_kernarg_size 16
    .end_amdhsa_kernel
    """
    layout = KernargLayout(CodeObject.parse(isa.assemble_code_object(source)).kernels["raw"].metadata)
    with pytest.raises(InvalidArgument, match=r"takes 0 arguments \(none\), got 1; .* 16-byte kernarg segment.*"
                                              r"\.amdgpu_metadata"):
        layout.values([FakeBuffer(0)], make_geometry(1, 1), LaunchContext(), pointer)
