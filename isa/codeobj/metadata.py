"""Code object v5 metadata (the NT_AMDGPU_METADATA msgpack map): schema check and typed views.

The schema lists the keys LLVM's metadata verifier checks and the types it wants; keys it does
not know are kept untouched, as LLVM does.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from isa.errors import CodeObjectError

METADATA_VERSION_V5 = [1, 2]

VALUE_KINDS = frozenset({
    "by_value", "global_buffer", "dynamic_shared_pointer", "sampler", "image", "pipe", "queue",
    "hidden_global_offset_x", "hidden_global_offset_y", "hidden_global_offset_z", "hidden_none",
    "hidden_printf_buffer", "hidden_hostcall_buffer", "hidden_default_queue",
    "hidden_completion_action", "hidden_multigrid_sync_arg", "hidden_heap_v1",
    "hidden_block_count_x", "hidden_block_count_y", "hidden_block_count_z",
    "hidden_group_size_x", "hidden_group_size_y", "hidden_group_size_z",
    "hidden_remainder_x", "hidden_remainder_y", "hidden_remainder_z", "hidden_grid_dims",
    "hidden_private_base", "hidden_shared_base", "hidden_queue_ptr", "hidden_dynamic_lds_size",
})
ADDRESS_SPACES = frozenset({"private", "global", "constant", "local", "generic", "region"})
ACCESS_KINDS = frozenset({"read_only", "write_only", "read_write"})
LANGUAGES = frozenset({"OpenCL C", "OpenCL C++", "HCC", "HIP", "OpenMP", "Assembler"})

# Offset and size of each hidden argument inside the 256-byte block that follows the explicit
# arguments (code object v5, AMDGPUUsage).
HIDDEN_BLOCK_SIZE = 256
HIDDEN_ARGS_V5 = {
    "hidden_block_count_x": (0, 4),
    "hidden_block_count_y": (4, 4),
    "hidden_block_count_z": (8, 4),
    "hidden_group_size_x": (12, 2),
    "hidden_group_size_y": (14, 2),
    "hidden_group_size_z": (16, 2),
    "hidden_remainder_x": (18, 2),
    "hidden_remainder_y": (20, 2),
    "hidden_remainder_z": (22, 2),
    "hidden_global_offset_x": (40, 8),
    "hidden_global_offset_y": (48, 8),
    "hidden_global_offset_z": (56, 8),
    "hidden_grid_dims": (64, 2),
    "hidden_printf_buffer": (72, 8),
    "hidden_hostcall_buffer": (80, 8),
    "hidden_multigrid_sync_arg": (88, 8),
    "hidden_heap_v1": (96, 8),
    "hidden_default_queue": (104, 8),
    "hidden_completion_action": (112, 8),
    "hidden_dynamic_lds_size": (120, 4),
    "hidden_private_base": (192, 4),
    "hidden_shared_base": (196, 4),
    "hidden_queue_ptr": (200, 8),
}
# What clang emits for every OpenCL kernel; the others only when the kernel uses them.
DEFAULT_HIDDEN_ARGS = (
    "hidden_block_count_x", "hidden_block_count_y", "hidden_block_count_z",
    "hidden_group_size_x", "hidden_group_size_y", "hidden_group_size_z",
    "hidden_remainder_x", "hidden_remainder_y", "hidden_remainder_z",
    "hidden_global_offset_x", "hidden_global_offset_y", "hidden_global_offset_z",
    "hidden_grid_dims",
)

# Value checks: each takes (value, path) and raises CodeObjectError when the value is wrong.


def _fail(path: str, want: str, value) -> None:
    raise CodeObjectError(f"metadata {path}: expected {want}, got {value!r}")


def _string(value, path):
    if not isinstance(value, str):
        _fail(path, "a string", value)


def _integer(value, path):
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(path, "an integer", value)


def _boolean(value, path):
    if not isinstance(value, bool):
        _fail(path, "a boolean", value)


def _one_of(choices):
    def check(value, path):
        if not isinstance(value, str) or value not in choices:
            _fail(path, "one of " + ", ".join(sorted(choices)), value)
    return check


def _integers(count):
    def check(value, path):
        if not isinstance(value, list) or len(value) != count:
            _fail(path, f"a list of {count} integers", value)
        for i, item in enumerate(value):
            _integer(item, f"{path}[{i}]")
    return check


def _strings(value, path):
    if not isinstance(value, list):
        _fail(path, "a list of strings", value)
    for i, item in enumerate(value):
        _string(item, f"{path}[{i}]")


ARG_SCHEMA = {
    ".name": (_string, False),
    ".type_name": (_string, False),
    ".size": (_integer, True),
    ".offset": (_integer, True),
    ".value_kind": (_one_of(VALUE_KINDS), True),
    ".pointee_align": (_integer, False),
    ".address_space": (_one_of(ADDRESS_SPACES), False),
    ".access": (_one_of(ACCESS_KINDS), False),
    ".actual_access": (_one_of(ACCESS_KINDS), False),
    ".is_const": (_boolean, False),
    ".is_restrict": (_boolean, False),
    ".is_volatile": (_boolean, False),
    ".is_pipe": (_boolean, False),
}


def _map_of(schema, what):
    def check(value, path):
        if not isinstance(value, Mapping):
            _fail(path, f"a map ({what})", value)
        for key in value:
            if not isinstance(key, str):
                _fail(path, "string keys", key)
        for key, (check_value, required) in schema.items():
            if key in value:
                check_value(value[key], f"{path}.{key[1:] if key.startswith('.') else key}")
            elif required:
                raise CodeObjectError(f"metadata {path}: required key {key} is missing")
    return check


def _list_of(check_item):
    def check(value, path):
        if not isinstance(value, list):
            _fail(path, "a list", value)
        for i, item in enumerate(value):
            check_item(item, f"{path}[{i}]")
    return check


KERNEL_SCHEMA = {
    ".name": (_string, True),
    ".symbol": (_string, True),
    ".language": (_one_of(LANGUAGES), False),
    ".language_version": (_integers(2), False),
    ".args": (_list_of(_map_of(ARG_SCHEMA, "kernel argument")), False),
    ".reqd_workgroup_size": (_integers(3), False),
    ".workgroup_size_hint": (_integers(3), False),
    ".vec_type_hint": (_string, False),
    ".device_enqueue_symbol": (_string, False),
    ".kernarg_segment_size": (_integer, True),
    ".group_segment_fixed_size": (_integer, True),
    ".private_segment_fixed_size": (_integer, True),
    ".uses_dynamic_stack": (_boolean, False),
    ".workgroup_processor_mode": (_integer, False),
    ".kernarg_segment_align": (_integer, True),
    ".wavefront_size": (_integer, True),
    ".sgpr_count": (_integer, True),
    ".vgpr_count": (_integer, True),
    ".max_flat_workgroup_size": (_integer, True),
    ".sgpr_spill_count": (_integer, False),
    ".vgpr_spill_count": (_integer, False),
    ".uniform_work_group_size": (_integer, False),
}

TOP_SCHEMA = {
    "amdhsa.version": (_integers(2), True),
    "amdhsa.printf": (_strings, False),
    "amdhsa.kernels": (_list_of(_map_of(KERNEL_SCHEMA, "kernel")), True),
    "amdhsa.target": (_string, False),
}

verify_metadata_map = _map_of(TOP_SCHEMA, "code object metadata")


def verify_metadata(metadata) -> None:
    """Raise CodeObjectError when `metadata` is not a valid code object v3+ metadata map."""
    verify_metadata_map(metadata, "root")


@dataclass(frozen=True)
class KernelArgument:
    offset: int
    size: int
    value_kind: str
    name: str | None = None
    type_name: str | None = None
    address_space: str | None = None
    access: str | None = None
    actual_access: str | None = None
    pointee_align: int | None = None
    is_const: bool = False
    is_restrict: bool = False
    is_volatile: bool = False
    is_pipe: bool = False

    @property
    def hidden(self) -> bool:
        return self.value_kind.startswith("hidden_")

    @classmethod
    def from_map(cls, m: Mapping) -> "KernelArgument":
        return cls(
            offset=m[".offset"], size=m[".size"], value_kind=m[".value_kind"],
            name=m.get(".name"), type_name=m.get(".type_name"),
            address_space=m.get(".address_space"), access=m.get(".access"),
            actual_access=m.get(".actual_access"), pointee_align=m.get(".pointee_align"),
            is_const=m.get(".is_const", False), is_restrict=m.get(".is_restrict", False),
            is_volatile=m.get(".is_volatile", False), is_pipe=m.get(".is_pipe", False),
        )


@dataclass(frozen=True)
class KernelMetadata:
    name: str
    symbol: str
    args: tuple[KernelArgument, ...]
    kernarg_segment_size: int
    kernarg_segment_align: int
    group_segment_fixed_size: int
    private_segment_fixed_size: int
    wavefront_size: int
    sgpr_count: int
    vgpr_count: int
    max_flat_workgroup_size: int
    sgpr_spill_count: int = 0
    vgpr_spill_count: int = 0
    uses_dynamic_stack: bool = False
    uniform_work_group_size: int | None = None
    workgroup_processor_mode: int | None = None
    reqd_workgroup_size: tuple[int, int, int] | None = None
    workgroup_size_hint: tuple[int, int, int] | None = None
    language: str | None = None
    language_version: tuple[int, int] | None = None
    kind: object = None
    raw: Mapping = field(default_factory=dict, repr=False, compare=False)

    @property
    def explicit_args(self) -> tuple[KernelArgument, ...]:
        return tuple(a for a in self.args if not a.hidden)

    @property
    def hidden_args(self) -> tuple[KernelArgument, ...]:
        return tuple(a for a in self.args if a.hidden)

    def misplaced_argument(self) -> str | None:
        """What is wrong with the first argument outside the kernarg segment (None: all fit)."""
        for arg in self.args:
            if arg.offset < 0 or arg.size < 0 or arg.offset + arg.size > self.kernarg_segment_size:
                return (f"argument {arg.name or arg.value_kind} at offset {arg.offset} size {arg.size} lies "
                        f"outside the {self.kernarg_segment_size}-byte kernarg segment")
        return None

    @classmethod
    def from_map(cls, m: Mapping) -> "KernelMetadata":
        """A typed view of one verified `amdhsa.kernels` entry."""
        def triple(key):
            return tuple(m[key]) if key in m else None

        return cls(
            name=m[".name"], symbol=m[".symbol"],
            args=tuple(KernelArgument.from_map(a) for a in m.get(".args", [])),
            kernarg_segment_size=m[".kernarg_segment_size"],
            kernarg_segment_align=m[".kernarg_segment_align"],
            group_segment_fixed_size=m[".group_segment_fixed_size"],
            private_segment_fixed_size=m[".private_segment_fixed_size"],
            wavefront_size=m[".wavefront_size"], sgpr_count=m[".sgpr_count"],
            vgpr_count=m[".vgpr_count"], max_flat_workgroup_size=m[".max_flat_workgroup_size"],
            sgpr_spill_count=m.get(".sgpr_spill_count", 0), vgpr_spill_count=m.get(".vgpr_spill_count", 0),
            uses_dynamic_stack=m.get(".uses_dynamic_stack", False),
            uniform_work_group_size=m.get(".uniform_work_group_size"),
            workgroup_processor_mode=m.get(".workgroup_processor_mode"),
            reqd_workgroup_size=triple(".reqd_workgroup_size"),
            workgroup_size_hint=triple(".workgroup_size_hint"),
            language=m.get(".language"),
            language_version=tuple(m[".language_version"]) if ".language_version" in m else None,
            kind=m.get(".kind"), raw=m,
        )
