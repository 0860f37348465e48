"""From `.amdhsa_*` directive values to a gfx11 kernel descriptor, with llvm-mc's defaults and rules.

Both the assembly front end (isa.amdhsa) and the Python code object builder describe kernels with
these values, so one set of rules decides every descriptor bit.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from isa.codeobj.descriptor import KernelDescriptor
from isa.errors import CodeObjectError


@dataclass(frozen=True)
class Directive:
    name: str  # without the '.amdhsa_' prefix
    bits: int  # accepted values are 0 .. 2**bits - 1
    field: str | None = None  # descriptor field set from the value (None: used by a rule below)
    default: int | None = None  # None: required, or derived when absent


# User SGPRs each enable bit adds to the user SGPR count.
USER_SGPRS = {
    "user_sgpr_dispatch_ptr": 2,
    "user_sgpr_queue_ptr": 2,
    "user_sgpr_kernarg_segment_ptr": 2,
    "user_sgpr_dispatch_id": 2,
    "user_sgpr_private_segment_size": 1,
}

DIRECTIVES: tuple[Directive, ...] = (
    Directive("group_segment_fixed_size", 32, "group_segment_fixed_size", 0),
    Directive("private_segment_fixed_size", 32, "private_segment_fixed_size", 0),
    Directive("kernarg_size", 32, "kernarg_size", 0),
    Directive("user_sgpr_count", 64),
    Directive("user_sgpr_dispatch_ptr", 1, "enable_sgpr_dispatch_ptr", 0),
    Directive("user_sgpr_queue_ptr", 1, "enable_sgpr_queue_ptr", 0),
    Directive("user_sgpr_kernarg_segment_ptr", 1, "enable_sgpr_kernarg_segment_ptr", 0),
    Directive("user_sgpr_dispatch_id", 1, "enable_sgpr_dispatch_id", 0),
    Directive("user_sgpr_private_segment_size", 1, "enable_sgpr_private_segment_size", 0),
    Directive("wavefront_size32", 1, "enable_wavefront_size32", 1),
    Directive("uses_dynamic_stack", 1, "uses_dynamic_stack", 0),
    Directive("enable_private_segment", 1, "enable_private_segment", 0),
    Directive("system_sgpr_workgroup_id_x", 1, "enable_sgpr_workgroup_id_x", 1),
    Directive("system_sgpr_workgroup_id_y", 1, "enable_sgpr_workgroup_id_y", 0),
    Directive("system_sgpr_workgroup_id_z", 1, "enable_sgpr_workgroup_id_z", 0),
    Directive("system_sgpr_workgroup_info", 1, "enable_sgpr_workgroup_info", 0),
    Directive("system_vgpr_workitem_id", 2, "enable_vgpr_workitem_id", 0),
    Directive("next_free_vgpr", 64),
    Directive("next_free_sgpr", 64),
    Directive("reserve_vcc", 1, None, 1),
    Directive("reserve_xnack_mask", 1, None, 0),
    Directive("float_round_mode_32", 2, "float_round_mode_32", 0),
    Directive("float_round_mode_16_64", 2, "float_round_mode_16_64", 0),
    Directive("float_denorm_mode_32", 2, "float_denorm_mode_32", 0),
    Directive("float_denorm_mode_16_64", 2, "float_denorm_mode_16_64", 3),
    Directive("dx10_clamp", 1, "enable_dx10_clamp", 1),
    Directive("ieee_mode", 1, "enable_ieee_mode", 1),
    Directive("fp16_overflow", 1, "fp16_ovfl", 0),
    Directive("workgroup_processor_mode", 1, "wgp_mode", 1),
    Directive("memory_ordered", 1, "mem_ordered", 1),
    Directive("forward_progress", 1, "fwd_progress", 0),
    Directive("shared_vgpr_count", 4, "shared_vgpr_count", 0),
    Directive("exception_fp_ieee_invalid_op", 1, "enable_exception_ieee_754_fp_invalid_operation", 0),
    Directive("exception_fp_denorm_src", 1, "enable_exception_fp_denormal_source", 0),
    Directive("exception_fp_ieee_div_zero", 1, "enable_exception_ieee_754_fp_division_by_zero", 0),
    Directive("exception_fp_ieee_overflow", 1, "enable_exception_ieee_754_fp_overflow", 0),
    Directive("exception_fp_ieee_underflow", 1, "enable_exception_ieee_754_fp_underflow", 0),
    Directive("exception_fp_ieee_inexact", 1, "enable_exception_ieee_754_fp_inexact", 0),
    Directive("exception_int_div_zero", 1, "enable_exception_int_divide_by_zero", 0),
)
DIRECTIVES_BY_NAME = {d.name: d for d in DIRECTIVES}
REQUIRED = ("next_free_vgpr", "next_free_sgpr")

# Directives LLVM knows for other processors, with why gfx11 refuses them.
NOT_FOR_GFX11 = {
    "user_sgpr_private_segment_buffer": "is not supported with architected flat scratch (gfx11)",
    "user_sgpr_flat_scratch_init": "is not supported with architected flat scratch (gfx11)",
    "system_sgpr_private_segment_wavefront_offset": "is not supported with architected flat scratch (gfx11)",
    "reserve_flat_scratch": "is not supported with architected flat scratch (gfx11)",
    "user_sgpr_kernarg_preload_length": "requires gfx90a or gfx940 (kernarg preloading)",
    "user_sgpr_kernarg_preload_offset": "requires gfx90a or gfx940 (kernarg preloading)",
    "accum_offset": "requires gfx90a or gfx940",
    "tg_split": "requires gfx90a or gfx940",
    "round_robin_scheduling": "requires gfx12",
}

VGPR_ENCODING_GRANULE = {32: 8, 64: 4}
MAX_USER_SGPRS = 31  # what the 5-bit USER_SGPR_COUNT field holds
VCC_SGPRS = 2


class DirectiveValueError(CodeObjectError):
    """A directive value that breaks a rule; `directive` names it (None: the block as a whole);
    `at_value` tells whether the value (rather than the directive's name) is to blame."""

    def __init__(self, message: str, directive: str | None, at_value: bool = True):
        super().__init__(message)
        self.directive = directive
        self.at_value = at_value


@dataclass(frozen=True)
class AmdhsaKernel:
    """The result of a `.amdhsa_kernel` block: the descriptor and the counts metadata reports."""

    name: str
    descriptor: KernelDescriptor
    values: Mapping[str, int] = field(repr=False)  # every directive's effective value

    @property
    def wavefront_size(self) -> int:
        return 32 if self.values["wavefront_size32"] else 64

    @property
    def vgpr_count(self) -> int:
        return self.values["next_free_vgpr"]

    @property
    def sgpr_count(self) -> int:
        """SGPRs used including VCC when reserved, as the metadata's .sgpr_count counts them."""
        return self.values["next_free_sgpr"] + (VCC_SGPRS if self.values["reserve_vcc"] else 0)


def check_directive(name: str, value: int) -> None:
    """Raise DirectiveValueError if `name` is not a gfx11 directive or `value` is out of its range."""
    if name in NOT_FOR_GFX11:
        raise DirectiveValueError(f"directive .amdhsa_{name} {NOT_FOR_GFX11[name]}", name, at_value=False)
    spec = DIRECTIVES_BY_NAME.get(name)
    if spec is None:
        raise DirectiveValueError(f"unknown .amdhsa_kernel directive .amdhsa_{name}", name, at_value=False)
    if isinstance(value, bool) or not isinstance(value, int):
        raise DirectiveValueError(f".amdhsa_{name} needs an integer, got {value!r}", name)
    if not 0 <= value < (1 << spec.bits) or (spec.bits == 64 and value >= 1 << 63):
        raise DirectiveValueError(f"value out of range: .amdhsa_{name} {value}", name)
    if name == "reserve_xnack_mask" and value:
        raise DirectiveValueError(".amdhsa_reserve_xnack_mask does not match target id (gfx11 has no xnack)",
                                  name, at_value=False)


def build_kernel(name: str, values: Mapping[str, int]) -> AmdhsaKernel:
    """Apply defaults and llvm-mc's rules to directive values (names without '.amdhsa_')."""
    for directive, value in values.items():
        check_directive(directive, value)
    for directive in REQUIRED:
        if directive not in values:
            raise DirectiveValueError(f".amdhsa_{directive} directive is required", None)
    effective = {d.name: values.get(d.name, d.default) for d in DIRECTIVES}

    wave = 32 if effective["wavefront_size32"] else 64
    vgpr_blocks = -(-max(1, effective["next_free_vgpr"]) // VGPR_ENCODING_GRANULE[wave]) - 1
    if vgpr_blocks >= 1 << 6:
        raise DirectiveValueError(
            f"value out of range: .amdhsa_next_free_vgpr {effective['next_free_vgpr']} needs "
            f"{vgpr_blocks + 1} blocks of {VGPR_ENCODING_GRANULE[wave]} (at most 64 fit)", "next_free_vgpr")

    implied_user_sgprs = sum(n for d, n in USER_SGPRS.items() if effective[d])
    user_sgprs = effective["user_sgpr_count"]
    if user_sgprs is None:
        user_sgprs = implied_user_sgprs
    elif user_sgprs < implied_user_sgprs:
        raise DirectiveValueError(
            f".amdhsa_user_sgpr_count {user_sgprs} is smaller than the {implied_user_sgprs} "
            "implied by the enabled user SGPRs", None)
    if user_sgprs > MAX_USER_SGPRS:
        raise DirectiveValueError(f"too many user SGPRs enabled ({user_sgprs}, at most {MAX_USER_SGPRS})", None)
    effective["user_sgpr_count"] = user_sgprs

    shared = effective["shared_vgpr_count"]
    # Shared VGPRs are a wave64 feature; llvm-mc objects only when wave32 is stated explicitly.
    if shared and values.get("wavefront_size32"):
        raise DirectiveValueError("shared_vgpr_count directive not valid on wavefront size 32", None)
    if shared * 2 + vgpr_blocks > 63:
        raise DirectiveValueError(
            f"shared_vgpr_count*2 + compute_pgm_rsrc1.GRANULATED_WORKITEM_VGPR_COUNT cannot exceed 63 "
            f"({shared}*2 + {vgpr_blocks})", None)

    fields = {d.field: effective[d.name] for d in DIRECTIVES if d.field is not None}
    fields["granulated_workitem_vgpr_count"] = vgpr_blocks
    # gfx10+ ignore GRANULATED_WAVEFRONT_SGPR_COUNT; llvm-mc leaves it zero.
    fields["granulated_wavefront_sgpr_count"] = 0
    fields["user_sgpr_count"] = user_sgprs
    return AmdhsaKernel(name, KernelDescriptor(**fields), effective)


def directives_from_descriptor(kd: KernelDescriptor) -> dict[str, int]:
    """The directive values a descriptor encodes (vgpr count rounded up to whole blocks), as
    llvm-objdump prints them when it disassembles a descriptor."""
    out = {d.name: getattr(kd, d.field) for d in DIRECTIVES if d.field is not None}
    wave = 32 if kd.enable_wavefront_size32 else 64
    out["next_free_vgpr"] = (kd.granulated_workitem_vgpr_count + 1) * VGPR_ENCODING_GRANULE[wave]
    out["user_sgpr_count"] = kd.user_sgpr_count
    return out
