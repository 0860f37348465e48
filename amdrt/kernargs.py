"""Kernel arguments: checked against the code object metadata and packed into a kernarg segment.

A `KernargLayout` is built once per kernel from its metadata: one struct format covering every
explicit and hidden argument at its offset, and one converter per explicit argument that checks
the value the caller passed. Packing a launch is then one `struct.pack_into`. Hidden arguments
(block counts, group sizes, remainders, global offsets, grid dims, dynamic LDS size, apertures,
queue pointer) are filled from the launch geometry as ROCm does for code object v5.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from amdrt.errors import InvalidArgument

MAX_WORKGROUP_SIZE = 1024
MAX_GRID_SIZE = (1 << 32) - 1


@dataclass(frozen=True)
class Local:
    """A dynamic LDS allocation for an OpenCL `__local` pointer argument: `nbytes` of workgroup
    memory, placed after the kernel's static LDS."""

    nbytes: int

    def __post_init__(self):
        if isinstance(self.nbytes, bool) or not isinstance(self.nbytes, (int, np.integer)) or self.nbytes < 0:
            raise InvalidArgument(f"Local(nbytes) takes a non-negative byte count, got {self.nbytes!r}")
        object.__setattr__(self, "nbytes", int(self.nbytes))


@dataclass(frozen=True)
class Geometry:
    """A checked launch shape: work-items per dimension, workgroup size, offsets, dimensions."""

    global_size: tuple[int, int, int]
    local_size: tuple[int, int, int]
    global_offset: tuple[int, int, int]
    dims: int

    def __post_init__(self):
        pairs = tuple(zip(self.global_size, self.local_size, strict=True))
        # Full workgroups per dimension (a partial last one is described by the remainder):
        # device code takes a group's size as `id < block_count ? group_size : remainder`.
        object.__setattr__(self, "block_count", tuple(g // l for g, l in pairs))
        object.__setattr__(self, "remainder", tuple(g % l for g, l in pairs))

    @property
    def workgroup_items(self) -> int:
        return math.prod(self.local_size)


def _triple(value, name: str, default: int) -> tuple[tuple[int, int, int], int]:
    """(x, y, z) and how many dimensions the caller gave."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, (tuple, list)) or not 1 <= len(value) <= 3:
        raise InvalidArgument(f"{name} must be an int or a tuple of 1 to 3 ints, got {value!r}")
    items = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise InvalidArgument(f"{name} must hold ints, got {value!r}")
        items.append(int(v))
    dims = len(items)
    while len(items) < 3:
        items.append(default)
    return tuple(items), dims


def make_geometry(global_size, local_size=None, global_offset=None, *,
                  max_workgroup_size: int = MAX_WORKGROUP_SIZE) -> Geometry:
    """Check a launch shape. global_size counts work-items (a partial last workgroup is allowed,
    as in OpenCL 2 and HIP's hidden remainders); local_size defaults to 1 per dimension."""
    gsize, dims = _triple(global_size, "global_size", 1)
    lsize, ldims = _triple(local_size if local_size is not None else (1,) * dims, "local_size", 1)
    offset, _ = _triple(global_offset if global_offset is not None else (0,) * dims, "global_offset", 0)
    # Dimensions are those of the grid; a local size only adds the ones it actually spans.
    ldims = max((i + 1 for i, v in enumerate(lsize[:ldims]) if v != 1), default=1)
    dims = max(dims, ldims)
    for axis, (g, l) in enumerate(zip(gsize, lsize, strict=True)):
        if not 1 <= g <= MAX_GRID_SIZE:
            raise InvalidArgument(f"global_size[{axis}] = {g} must be in 1..{MAX_GRID_SIZE}")
        if not 1 <= l <= MAX_WORKGROUP_SIZE:
            raise InvalidArgument(f"local_size[{axis}] = {l} must be in 1..{MAX_WORKGROUP_SIZE}")
    if any(not 0 <= o < 1 << 64 for o in offset):
        raise InvalidArgument(f"global_offset {offset} must hold unsigned 64-bit values")
    items = math.prod(lsize)
    if items > max_workgroup_size:
        raise InvalidArgument(f"local_size {lsize} has {items} work-items; this kernel allows at most "
                              f"{max_workgroup_size} per workgroup")
    return Geometry(gsize, lsize, offset, dims)


# --- explicit arguments ----------------------------------------------------------------------------

# OpenCL type names clang writes in the metadata -> numpy dtype of the value.
_SCALAR_TYPES = {
    "char": np.int8, "signed char": np.int8, "uchar": np.uint8, "unsigned char": np.uint8,
    "short": np.int16, "ushort": np.uint16, "unsigned short": np.uint16,
    "int": np.int32, "uint": np.uint32, "unsigned int": np.uint32,
    "long": np.int64, "ulong": np.uint64, "unsigned long": np.uint64,
    "half": np.float16, "float": np.float32, "double": np.float64, "bool": np.uint8,
    "size_t": np.uint64, "ptrdiff_t": np.int64, "intptr_t": np.int64, "uintptr_t": np.uint64,
}
_INT_FORMATS = {1: "b", 2: "h", 4: "i", 8: "q"}
_FLOAT_FORMATS = {2: "e", 4: "f", 8: "d"}


def _describe(value) -> str:
    if isinstance(value, np.generic):
        return f"numpy {value.dtype}"
    return type(value).__name__


class ArgSpec:
    """One explicit argument: where it goes and how a Python value becomes its bytes."""

    def __init__(self, index: int, arg, kernel: str):
        self.index = index
        self.offset = arg.offset
        self.size = arg.size
        self.kind = arg.value_kind
        self.name = arg.name or f"#{index}"
        self.type_name = arg.type_name
        self.pointee_align = arg.pointee_align or 1
        self.where = f"kernel {kernel!r} argument {index} ({self.name}"
        self.where += f": {self.type_name})" if self.type_name else ")"
        self.dtype = None
        if self.kind == "global_buffer":
            if self.size != 8:
                raise InvalidArgument(f"{self.where} is a {self.size}-byte pointer; only 64-bit is supported")
            self.format = "Q"
        elif self.kind == "dynamic_shared_pointer":
            if self.size != 4:
                raise InvalidArgument(f"{self.where} is a {self.size}-byte LDS pointer, not 4 bytes")
            self.format = "I"
        elif self.kind == "by_value":
            scalar = _SCALAR_TYPES.get(self.type_name or "")
            if scalar is not None and np.dtype(scalar).itemsize == self.size:
                self.dtype = np.dtype(scalar)
            self.format = f"{self.size}s"
            if self.dtype is not None:
                table = _FLOAT_FORMATS if self.dtype.kind == "f" else _INT_FORMATS
                fmt = table[self.size]
                self.format = fmt.upper() if self.dtype.kind == "u" else fmt
        else:
            raise InvalidArgument(f"{self.where} has value kind {self.kind!r}, which the runtime cannot "
                                  "supply (images, samplers, pipes and queues are not supported)")

    def fail(self, message: str):
        raise InvalidArgument(f"{self.where}: {message}")

    def by_value(self, value):
        """The value as struct.pack wants it for this argument's format."""
        size = self.size
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value[()]
        if isinstance(value, (bytes, bytearray, memoryview, np.ndarray)):
            data = value.tobytes() if isinstance(value, np.ndarray) else bytes(value)
            if len(data) != size:
                self.fail(f"takes {size} bytes, got {len(data)}")
            return self._unpack(data)
        if isinstance(value, np.generic):
            if value.dtype.itemsize != size:
                self.fail(f"takes {size} bytes, got {_describe(value)} ({value.dtype.itemsize} bytes)")
            if self.dtype is not None and value.dtype.kind != self.dtype.kind and not (
                    value.dtype.kind in "iub" and self.dtype.kind in "iub"):
                self.fail(f"takes {self.dtype}, got {_describe(value)}")
            if value.dtype == self.dtype:
                return value.item()
            return self._unpack(value.tobytes())
        if isinstance(value, (bool, int)):
            if self.dtype is not None and self.dtype.kind == "f":
                return float(value)
            if size not in _INT_FORMATS:
                self.fail(f"is a {size}-byte value; pass bytes or a numpy value, not a Python int")
            bits = size * 8
            if not -(1 << (bits - 1)) <= value < 1 << bits:
                self.fail(f"{value} does not fit in {bits} bits")
            value &= (1 << bits) - 1  # C conversion: -1 passed to an unsigned argument is all ones
            if self.format.isupper():
                return value
            if not self.format.endswith("s"):
                return value - (1 << bits) if value >> (bits - 1) else value
            return value.to_bytes(size, "little")
        if isinstance(value, float):
            if self.dtype is not None and self.dtype.kind != "f":
                self.fail(f"takes {self.dtype}, got a Python float")
            if self.dtype is None and size not in _FLOAT_FORMATS:
                self.fail(f"is a {size}-byte value; pass bytes or a numpy value, not a Python float")
            if self.dtype is None:
                return struct.pack("<" + _FLOAT_FORMATS[size], value)
            if self.dtype.itemsize < 8 and math.isfinite(value) and abs(value) > float(np.finfo(self.dtype).max):
                self.fail(f"{value} overflows {self.dtype}")
            return value
        self.fail(f"got {_describe(value)}; pass a numpy scalar, a Python number or {size} bytes")

    def _unpack(self, data: bytes):
        if self.format.endswith("s"):
            return data
        return struct.unpack("<" + self.format, data)[0]


# --- hidden arguments ------------------------------------------------------------------------------

# Hidden argument kinds the runtime cannot back (device-side printf, hostcall, heap, enqueue).
UNSUPPORTED_HIDDEN = {
    "hidden_printf_buffer": "printf", "hidden_hostcall_buffer": "hostcall services",
    "hidden_heap_v1": "device-side malloc", "hidden_default_queue": "device-side enqueue",
    "hidden_completion_action": "device-side enqueue", "hidden_multigrid_sync_arg": "multi-grid sync",
}


def _hidden_getter(kind: str) -> Callable[[Geometry, int, LaunchContext], int] | None:
    axis = {"x": 0, "y": 1, "z": 2}.get(kind[-1])
    if kind.startswith("hidden_block_count_"):
        return lambda g, lds, ctx: g.block_count[axis]
    if kind.startswith("hidden_group_size_"):
        return lambda g, lds, ctx: g.local_size[axis]
    if kind.startswith("hidden_remainder_"):
        return lambda g, lds, ctx: g.remainder[axis]
    if kind.startswith("hidden_global_offset_"):
        return lambda g, lds, ctx: g.global_offset[axis]
    if kind == "hidden_grid_dims":
        return lambda g, lds, ctx: g.dims
    if kind == "hidden_dynamic_lds_size":
        return lambda g, lds, ctx: lds
    if kind == "hidden_private_base":
        return lambda g, lds, ctx: ctx.private_base >> 32
    if kind == "hidden_shared_base":
        return lambda g, lds, ctx: ctx.shared_base >> 32
    if kind == "hidden_queue_ptr":
        return lambda g, lds, ctx: ctx.queue_ptr
    return None  # hidden_none and unknown kinds stay zero


@dataclass(frozen=True)
class LaunchContext:
    """What hidden arguments need from the queue and device a kernel runs on."""

    queue_ptr: int = 0
    private_base: int = 0  # scratch aperture base
    shared_base: int = 0   # LDS aperture base


class KernargLayout:
    """The kernarg segment of one kernel, built from its code object metadata."""

    def __init__(self, metadata, *, lds_limit: int = 64 * 1024):
        self.kernel = metadata.name
        self.size = metadata.kernarg_segment_size
        self.align = max(metadata.kernarg_segment_align, 16)
        self.static_lds = metadata.group_segment_fixed_size
        self.lds_limit = lds_limit
        self.args: list[ArgSpec] = []
        self.hidden: list[Callable] = []
        self._hidden_cache: dict = {}
        self._n_explicit = 0
        # A kernel the runtime cannot feed (images, printf, ...) still loads with its code
        # object; calling it raises this.
        self.unusable: InvalidArgument | None = None
        try:
            self._build(metadata)
        except InvalidArgument as e:
            self.unusable = e
            self.struct = None

    def _build(self, metadata) -> None:
        explicit = [ArgSpec(i, a, metadata.name) for i, a in enumerate(metadata.explicit_args)]
        self.args = explicit
        fields: list[tuple[int, int, str]] = []  # (offset, size, format)
        for spec in explicit:
            fields.append((spec.offset, spec.size, spec.format))
        for arg in metadata.hidden_args:
            if arg.value_kind in UNSUPPORTED_HIDDEN:
                raise InvalidArgument(
                    f"kernel {metadata.name!r} uses {UNSUPPORTED_HIDDEN[arg.value_kind]} "
                    f"({arg.value_kind}), which this runtime does not provide")
            getter = _hidden_getter(arg.value_kind)
            if getter is None or arg.size not in _INT_FORMATS:
                continue
            fields.append((arg.offset, arg.size, _INT_FORMATS[arg.size].upper()))
            self.hidden.append(getter)
        self.struct = _struct_for(fields, self.size, metadata.name)
        self._n_explicit = len(explicit)

    def values(self, args: Sequence, geometry: Geometry, context: LaunchContext,
               pointer: Callable[[ArgSpec, object], int], extra_lds: int = 0) -> tuple[list, int]:
        """(values for self.struct, total LDS bytes) after checking every argument.
        `extra_lds` adds dynamic LDS that no argument points at (HIP's extern __shared__)."""
        if self.unusable is not None:
            raise self.unusable
        if len(args) != self._n_explicit:
            names = ", ".join(s.name for s in self.args) or "none"
            hint = ""
            if not self.args and self.size:     # hand-written code without argument metadata
                hint = (f"; its metadata lists none for its {self.size}-byte kernarg segment: describe them "
                        "in the source's .amdgpu_metadata block (.args)")
            raise InvalidArgument(f"kernel {self.kernel!r} takes {self._n_explicit} arguments ({names}), "
                                  f"got {len(args)}{hint}")
        out = []
        lds = self.static_lds
        for spec, value in zip(self.args, args, strict=True):
            kind = spec.kind
            if kind == "global_buffer":
                out.append(pointer(spec, value))
            elif kind == "by_value":
                out.append(spec.by_value(value))
            else:
                if not isinstance(value, Local):
                    spec.fail(f"is a __local pointer; pass amdrt.Local(nbytes), got {_describe(value)}")
                align = max(spec.pointee_align, 4)
                lds = -(-lds // align) * align
                out.append(lds)
                lds += value.nbytes
        if extra_lds:
            if extra_lds < 0:
                raise InvalidArgument(f"dynamic LDS size {extra_lds} is negative")
            lds += extra_lds
        if lds > self.lds_limit:
            raise InvalidArgument(f"kernel {self.kernel!r} needs {lds} bytes of LDS ({self.static_lds} static "
                                  f"+ dynamic Local arguments); a workgroup has {self.lds_limit}")
        dynamic = lds - self.static_lds
        if self.hidden:
            # Launches repeat their shapes: hidden values are computed once per shape.
            key = (geometry, dynamic, context)
            hidden = self._hidden_cache.get(key)
            if hidden is None:
                hidden = tuple(getter(geometry, dynamic, context) for getter in self.hidden)
                if len(self._hidden_cache) > 256:
                    self._hidden_cache.clear()
                self._hidden_cache[key] = hidden
            out.extend(hidden)
        return out, lds

    def pack(self, args: Sequence, geometry: Geometry, context: LaunchContext,
             pointer: Callable[[ArgSpec, object], int], extra_lds: int = 0) -> tuple[bytes, int]:
        """(kernarg bytes, total LDS bytes)."""
        values, lds = self.values(args, geometry, context, pointer, extra_lds)
        return self.struct.pack(*values), lds


def _struct_for(fields: list[tuple[int, int, str]], total: int, kernel: str) -> struct.Struct:
    """One little-endian struct with every field at its offset (explicit first, then hidden,
    which is also the order values are produced in): fields are laid out by offset, and the
    values are reordered by the returned struct's wrapper."""
    order = sorted(range(len(fields)), key=lambda i: fields[i][0])
    fmt, cursor = "<", 0
    for i in order:
        offset, size, code = fields[i]
        if offset < cursor:
            raise InvalidArgument(f"kernel {kernel!r}: kernel arguments overlap at offset {offset}")
        if offset > cursor:
            fmt += f"{offset - cursor}x"
        fmt += code
        cursor = offset + size
    if cursor > total:
        raise InvalidArgument(f"kernel {kernel!r}: arguments end at {cursor}, past the "
                              f"{total}-byte kernarg segment")
    if total > cursor:
        fmt += f"{total - cursor}x"
    if order == sorted(order):
        return struct.Struct(fmt)
    return _ReorderingStruct(fmt, order)


class _ReorderingStruct(struct.Struct):
    """A struct whose pack() takes values in field-definition order rather than offset order."""

    def __init__(self, fmt: str, order: list[int]):
        super().__init__(fmt)
        self._order = order

    def pack(self, *values):
        return super().pack(*(values[i] for i in self._order))

    def pack_into(self, buffer, offset, *values):
        return super().pack_into(buffer, offset, *(values[i] for i in self._order))
