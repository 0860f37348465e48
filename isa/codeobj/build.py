"""Describing kernels in Python and turning them into a code object (for the tensor compiler).

    build_code_object([KernelSpec("scale", code, args=[KernelArg("x", 8, "global_buffer"),
                                                        KernelArg("k", 4)], vgprs=4, sgprs=8)])

Arguments are laid out as clang lays them out; hidden arguments follow in the 256-byte code
object v5 block; the descriptor comes from the same `.amdhsa_*` rules the assembler uses.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from isa.codeobj import metadata as md
from isa.codeobj.directives import AmdhsaKernel, build_kernel
from isa.codeobj.elf import align_up
from isa.codeobj.targets import parse_target
from isa.codeobj.writer import CODE_ALIGN, LinkedKernel, link_code_object
from isa.errors import CodeObjectError

_DEFAULT_ADDRESS_SPACE = {"global_buffer": "global", "dynamic_shared_pointer": "local"}
# Padding between kernels: s_nop 0, as the LLVM assembler fills gaps in code.
_S_NOP = (0xBF800000).to_bytes(4, "little")
_USER_SGPR_NAMES = ("dispatch_ptr", "queue_ptr", "kernarg_segment_ptr", "dispatch_id", "private_segment_size")


@dataclass(frozen=True)
class KernelArg:
    """An explicit kernel argument. `align` defaults to the size rounded up to a power of two;
    `offset` (if given) places it exactly."""

    name: str | None
    size: int
    value_kind: str = "by_value"
    align: int | None = None
    offset: int | None = None
    address_space: str | None = None  # defaults: global_buffer -> global, dynamic_shared_pointer -> local
    type_name: str | None = None
    access: str | None = None
    actual_access: str | None = None
    pointee_align: int | None = None
    is_const: bool = False
    is_restrict: bool = False
    is_volatile: bool = False


@dataclass(frozen=True)
class KernelSpec:
    """A kernel described in code: its machine code, arguments and resources."""

    name: str
    code: bytes
    args: Sequence[KernelArg] = ()
    vgprs: int = 1  # next free VGPR (VGPRs used)
    sgprs: int = 0  # next free SGPR, not counting VCC
    reserve_vcc: bool = True
    lds_size: int = 0  # group segment fixed size, bytes
    scratch_size: int = 0  # private segment fixed size per work-item, bytes
    wavefront_size: int = 32
    max_flat_workgroup_size: int = 1024
    reqd_workgroup_size: tuple[int, int, int] | None = None
    user_sgprs: Sequence[str] = ("kernarg_segment_ptr",)
    workgroup_ids: str = "x"  # which of s_workgroup_id x/y/z the hardware loads into SGPRs
    workgroup_info: bool = False
    workitem_id_dims: int = 1  # 1: v0 = id x; 2: v0 = x | y << 10; 3: also z << 20
    hidden_args: Sequence[str] | None = None  # None: what clang always emits (md.DEFAULT_HIDDEN_ARGS)
    uses_dynamic_stack: bool = False
    uniform_work_group_size: bool | None = None
    directives: Mapping[str, int] = field(default_factory=dict)  # any other .amdhsa_* values
    language: str | None = None
    language_version: tuple[int, int] | None = None


@dataclass(frozen=True)
class KernargLayout:
    args: tuple[dict, ...]  # metadata argument maps, explicit then hidden
    size: int
    align: int


def _check_int(value, what: str, low: int = 0, high: int = (1 << 32) - 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise CodeObjectError(f"{what} must be an integer in {low}..{high}, got {value!r}")
    return value


def layout_kernargs(args: Sequence[KernelArg], hidden: Sequence[str]) -> KernargLayout:
    """Offsets of explicit arguments (natural alignment, in order) and of hidden ones (fixed
    offsets inside the v5 block at the next 8-byte boundary), with the segment size and alignment."""
    maps = []
    end = 0
    align = 4
    for i, arg in enumerate(args):
        if not isinstance(arg, KernelArg):
            raise CodeObjectError(f"argument {i} must be a KernelArg, got {type(arg).__name__}")
        what = f"argument {arg.name or i}"
        size = _check_int(arg.size, f"{what} size", 1)
        arg_align = arg.align if arg.align is not None else 1 << (size - 1).bit_length()
        _check_int(arg_align, f"{what} alignment", 1)
        if arg_align & (arg_align - 1):
            raise CodeObjectError(f"{what} alignment {arg_align} is not a power of two")
        if arg.value_kind.startswith("hidden_"):
            raise CodeObjectError(f"{what}: hidden arguments are requested with hidden_args, not listed")
        offset = align_up(end, arg_align) if arg.offset is None else _check_int(arg.offset, f"{what} offset")
        if offset < end:
            raise CodeObjectError(f"{what} at offset {offset} overlaps the previous argument (ends at {end})")
        if offset % arg_align:
            raise CodeObjectError(f"{what} offset {offset} is not aligned to {arg_align}")
        m = {".offset": offset, ".size": size, ".value_kind": arg.value_kind}
        space = arg.address_space or _DEFAULT_ADDRESS_SPACE.get(arg.value_kind)
        for key, value in ((".name", arg.name), (".type_name", arg.type_name), (".address_space", space),
                           (".access", arg.access), (".actual_access", arg.actual_access),
                           (".pointee_align", arg.pointee_align)):
            if value is not None:
                m[key] = value
        for key, flag in ((".is_const", arg.is_const), (".is_restrict", arg.is_restrict),
                          (".is_volatile", arg.is_volatile)):
            if flag:
                m[key] = True
        if arg.value_kind == "dynamic_shared_pointer" and arg.pointee_align is None:
            m[".pointee_align"] = 4
        maps.append(m)
        end = offset + size
        align = max(align, arg_align)
    if not hidden:
        return KernargLayout(tuple(maps), align_up(end, 4), align)
    unknown = [h for h in hidden if h not in md.HIDDEN_ARGS_V5]
    if unknown:
        raise CodeObjectError(f"unknown hidden argument(s) {unknown}; known: {sorted(md.HIDDEN_ARGS_V5)}")
    if len(set(hidden)) != len(hidden):
        raise CodeObjectError(f"hidden arguments listed twice: {list(hidden)}")
    block = align_up(end, 8)
    for kind in sorted(hidden, key=lambda h: md.HIDDEN_ARGS_V5[h][0]):
        offset, size = md.HIDDEN_ARGS_V5[kind]
        maps.append({".offset": block + offset, ".size": size, ".value_kind": kind})
    return KernargLayout(tuple(maps), block + md.HIDDEN_BLOCK_SIZE, max(align, 8))


def _amdhsa_values(spec: KernelSpec, kernarg_size: int) -> dict[str, int]:
    unknown = sorted(set(spec.user_sgprs) - set(_USER_SGPR_NAMES))
    if unknown:
        raise CodeObjectError(f"kernel {spec.name!r}: unknown user SGPR(s) {unknown}; known: {_USER_SGPR_NAMES}")
    if not set(spec.workgroup_ids) <= set("xyz"):
        raise CodeObjectError(f"kernel {spec.name!r}: workgroup_ids must be a subset of 'xyz', got {spec.workgroup_ids!r}")
    if spec.wavefront_size not in (32, 64):
        raise CodeObjectError(f"kernel {spec.name!r}: wavefront size must be 32 or 64, got {spec.wavefront_size!r}")
    if spec.workitem_id_dims not in (1, 2, 3):
        raise CodeObjectError(f"kernel {spec.name!r}: workitem_id_dims must be 1, 2 or 3")
    values = {
        "next_free_vgpr": _check_int(spec.vgprs, "vgprs", 0, 512),
        "next_free_sgpr": _check_int(spec.sgprs, "sgprs", 0, 106),
        "reserve_vcc": int(bool(spec.reserve_vcc)),
        "group_segment_fixed_size": _check_int(spec.lds_size, "lds_size", 0, 65536),
        "private_segment_fixed_size": _check_int(spec.scratch_size, "scratch_size"),
        "kernarg_size": kernarg_size,
        "wavefront_size32": int(spec.wavefront_size == 32),
        "uses_dynamic_stack": int(bool(spec.uses_dynamic_stack)),
        "enable_private_segment": int(spec.scratch_size > 0 or bool(spec.uses_dynamic_stack)),
        "system_sgpr_workgroup_info": int(bool(spec.workgroup_info)),
        "system_vgpr_workitem_id": spec.workitem_id_dims - 1,
    }
    for axis in "xyz":
        values[f"system_sgpr_workgroup_id_{axis}"] = int(axis in spec.workgroup_ids)
    for name in _USER_SGPR_NAMES:
        values[f"user_sgpr_{name}"] = int(name in spec.user_sgprs)
    if not isinstance(spec.directives, Mapping):
        raise CodeObjectError(f"kernel {spec.name!r}: directives must be a map of .amdhsa_* names to values")
    for name, value in spec.directives.items():
        key = name.removeprefix(".amdhsa_") if isinstance(name, str) else name
        values[key] = value
    return values


def kernel_metadata(spec: KernelSpec, kernel: AmdhsaKernel, layout: KernargLayout) -> dict:
    """The `amdhsa.kernels` entry of one kernel."""
    m = {
        ".name": spec.name,
        ".symbol": spec.name + ".kd",
        ".args": [dict(a) for a in layout.args],
        ".kernarg_segment_size": layout.size,
        ".kernarg_segment_align": layout.align,
        ".group_segment_fixed_size": kernel.descriptor.group_segment_fixed_size,
        ".private_segment_fixed_size": kernel.descriptor.private_segment_fixed_size,
        ".wavefront_size": kernel.wavefront_size,
        ".sgpr_count": kernel.sgpr_count,
        ".vgpr_count": kernel.vgpr_count,
        ".max_flat_workgroup_size": _check_int(spec.max_flat_workgroup_size, "max_flat_workgroup_size", 1, 1024),
        ".sgpr_spill_count": 0,
        ".vgpr_spill_count": 0,
        ".uses_dynamic_stack": bool(spec.uses_dynamic_stack),
        ".workgroup_processor_mode": kernel.descriptor.wgp_mode,
    }
    if spec.reqd_workgroup_size is not None:
        m[".reqd_workgroup_size"] = [_check_int(v, "reqd_workgroup_size", 1, 1024) for v in spec.reqd_workgroup_size]
    if spec.uniform_work_group_size is not None:
        m[".uniform_work_group_size"] = int(bool(spec.uniform_work_group_size))
    if spec.language is not None:
        m[".language"] = spec.language
    if spec.language_version is not None:
        m[".language_version"] = list(spec.language_version)
    return m


def assembler_kernel_metadata(kernel: AmdhsaKernel, max_flat_workgroup_size: int = 1024) -> dict:
    """An `amdhsa.kernels` entry for a kernel assembled from `.amdhsa_kernel` directives alone, for
    sources without an `.amdgpu_metadata` block: no argument list, the kernarg segment as the
    descriptor states it."""
    kd = kernel.descriptor
    return {
        ".name": kernel.name,
        ".symbol": kernel.name + ".kd",
        ".args": [],
        ".kernarg_segment_size": kd.kernarg_size,
        ".kernarg_segment_align": 8,
        ".group_segment_fixed_size": kd.group_segment_fixed_size,
        ".private_segment_fixed_size": kd.private_segment_fixed_size,
        ".wavefront_size": kernel.wavefront_size,
        ".sgpr_count": kernel.sgpr_count,
        ".vgpr_count": kernel.vgpr_count,
        ".max_flat_workgroup_size": _check_int(max_flat_workgroup_size, "max_flat_workgroup_size", 1, 1024),
        ".sgpr_spill_count": 0,
        ".vgpr_spill_count": 0,
        ".uses_dynamic_stack": bool(kd.uses_dynamic_stack),
        ".language": "Assembler",
    }


def build_code_object(kernels: Sequence[KernelSpec], target: str = "gfx1100",
                      printf_formats: Sequence[str] = ()) -> bytes:
    """A complete code object for `kernels`: each kernel's code at its own 256-byte aligned
    offset in .text, a descriptor per kernel, and v5 metadata describing all of them."""
    tgt = parse_target(target)
    if isinstance(kernels, KernelSpec) or not kernels:
        raise CodeObjectError("build_code_object needs a non-empty list of KernelSpec")
    text = bytearray()
    linked = []
    entries = []
    for spec in kernels:
        if not isinstance(spec, KernelSpec):
            raise CodeObjectError(f"expected KernelSpec, got {type(spec).__name__}")
        if not isinstance(spec.code, (bytes, bytearray)) or not spec.code or len(spec.code) % 4:
            raise CodeObjectError(f"kernel {spec.name!r}: code must be non-empty bytes, whole 4-byte words")
        hidden = md.DEFAULT_HIDDEN_ARGS if spec.hidden_args is None else tuple(spec.hidden_args)
        layout = layout_kernargs(spec.args, hidden)
        kernel = build_kernel(spec.name, _amdhsa_values(spec, layout.size))
        offset = align_up(len(text), CODE_ALIGN)
        text += _S_NOP * ((offset - len(text)) // 4) + spec.code
        linked.append(LinkedKernel(spec.name, offset, kernel.descriptor, len(spec.code)))
        entries.append(kernel_metadata(spec, kernel, layout))
    metadata = {
        "amdhsa.version": list(md.METADATA_VERSION_V5),
        "amdhsa.target": tgt.target_id,
        "amdhsa.kernels": entries,
    }
    if printf_formats:
        metadata["amdhsa.printf"] = list(printf_formats)
    return link_code_object(bytes(text), linked, metadata, target)
