"""The 64-byte AMDHSA kernel descriptor (code object v4+) with every gfx11 bit field by name.

`FIELDS` is the only description of the layout: decoding, encoding and range checks all read it.
Reserved bits are fields too, so any 64 bytes decode and encode back unchanged.
"""

import dataclasses
from dataclasses import dataclass

from isa.errors import CodeObjectError

DESCRIPTOR_SIZE = 64
DESCRIPTOR_ALIGN = 64


@dataclass(frozen=True)
class Field:
    name: str
    byte_offset: int  # of the little-endian word holding the field
    word_bytes: int
    lsb: int
    bits: int
    signed: bool = False

    @property
    def mask(self) -> int:
        return (1 << self.bits) - 1

    @property
    def bit_range(self) -> tuple[int, int]:
        """(first, last) bit of the field counted from the start of the descriptor."""
        first = self.byte_offset * 8 + self.lsb
        return first, first + self.bits - 1

    def check(self, value) -> int:
        if isinstance(value, bool):
            value = int(value)
        if not isinstance(value, int):
            raise CodeObjectError(f"kernel descriptor field {self.name} must be an integer, got {value!r}")
        if self.signed:
            low, high = -(1 << (self.bits - 1)), (1 << (self.bits - 1)) - 1
        else:
            low, high = 0, self.mask
        if not low <= value <= high:
            raise CodeObjectError(
                f"kernel descriptor field {self.name} = {value} does not fit in {self.bits} bits "
                f"(allowed {low}..{high})"
            )
        return value


def _word(name: str, byte_offset: int, nbytes: int, signed: bool = False) -> Field:
    return Field(name, byte_offset, nbytes, 0, nbytes * 8, signed)


def _bits(word: tuple[int, int], spec: list[tuple[str, int, int]]) -> list[Field]:
    """Fields of one word from (name, msb, lsb) triples."""
    byte_offset, nbytes = word
    return [Field(name, byte_offset, nbytes, lsb, msb - lsb + 1) for name, msb, lsb in spec]


RSRC3 = (44, 4)
RSRC1 = (48, 4)
RSRC2 = (52, 4)
KERNEL_CODE_PROPERTIES = (56, 2)
KERNARG_PRELOAD = (58, 2)

FIELDS: tuple[Field, ...] = (
    _word("group_segment_fixed_size", 0, 4),
    _word("private_segment_fixed_size", 4, 4),
    _word("kernarg_size", 8, 4),
    _word("reserved0", 12, 4),
    _word("kernel_code_entry_byte_offset", 16, 8, signed=True),
    _word("reserved1", 24, 20),
    *_bits(RSRC3, [  # gfx11 layout of COMPUTE_PGM_RSRC3
        ("shared_vgpr_count", 3, 0),
        ("inst_pref_size", 9, 4),
        ("trap_on_start", 10, 10),
        ("trap_on_end", 11, 11),
        ("compute_pgm_rsrc3_reserved", 30, 12),
        ("image_op", 31, 31),
    ]),
    *_bits(RSRC1, [
        ("granulated_workitem_vgpr_count", 5, 0),
        ("granulated_wavefront_sgpr_count", 9, 6),
        ("priority", 11, 10),
        ("float_round_mode_32", 13, 12),
        ("float_round_mode_16_64", 15, 14),
        ("float_denorm_mode_32", 17, 16),
        ("float_denorm_mode_16_64", 19, 18),
        ("priv", 20, 20),
        ("enable_dx10_clamp", 21, 21),
        ("debug_mode", 22, 22),
        ("enable_ieee_mode", 23, 23),
        ("bulky", 24, 24),
        ("cdbg_user", 25, 25),
        ("fp16_ovfl", 26, 26),
        ("compute_pgm_rsrc1_reserved", 28, 27),
        ("wgp_mode", 29, 29),
        ("mem_ordered", 30, 30),
        ("fwd_progress", 31, 31),
    ]),
    *_bits(RSRC2, [
        ("enable_private_segment", 0, 0),
        ("user_sgpr_count", 5, 1),
        ("enable_trap_handler", 6, 6),
        ("enable_sgpr_workgroup_id_x", 7, 7),
        ("enable_sgpr_workgroup_id_y", 8, 8),
        ("enable_sgpr_workgroup_id_z", 9, 9),
        ("enable_sgpr_workgroup_info", 10, 10),
        ("enable_vgpr_workitem_id", 12, 11),
        ("enable_exception_address_watch", 13, 13),
        ("enable_exception_memory", 14, 14),
        ("granulated_lds_size", 23, 15),
        ("enable_exception_ieee_754_fp_invalid_operation", 24, 24),
        ("enable_exception_fp_denormal_source", 25, 25),
        ("enable_exception_ieee_754_fp_division_by_zero", 26, 26),
        ("enable_exception_ieee_754_fp_overflow", 27, 27),
        ("enable_exception_ieee_754_fp_underflow", 28, 28),
        ("enable_exception_ieee_754_fp_inexact", 29, 29),
        ("enable_exception_int_divide_by_zero", 30, 30),
        ("compute_pgm_rsrc2_reserved", 31, 31),
    ]),
    *_bits(KERNEL_CODE_PROPERTIES, [
        ("enable_sgpr_private_segment_buffer", 0, 0),
        ("enable_sgpr_dispatch_ptr", 1, 1),
        ("enable_sgpr_queue_ptr", 2, 2),
        ("enable_sgpr_kernarg_segment_ptr", 3, 3),
        ("enable_sgpr_dispatch_id", 4, 4),
        ("enable_sgpr_flat_scratch_init", 5, 5),
        ("enable_sgpr_private_segment_size", 6, 6),
        ("kernel_code_properties_reserved0", 9, 7),
        ("enable_wavefront_size32", 10, 10),
        ("uses_dynamic_stack", 11, 11),
        ("kernel_code_properties_reserved1", 15, 12),
    ]),
    *_bits(KERNARG_PRELOAD, [
        ("kernarg_preload_spec_length", 6, 0),
        ("kernarg_preload_spec_offset", 15, 7),
    ]),
    _word("reserved2", 60, 4),
)

FIELDS_BY_NAME = {f.name: f for f in FIELDS}
RESERVED_FIELDS = tuple(f.name for f in FIELDS if "reserved" in f.name)

# Words the hardware registers are loaded from, as (byte offset, size).
REGISTER_WORDS = {
    "compute_pgm_rsrc1": RSRC1,
    "compute_pgm_rsrc2": RSRC2,
    "compute_pgm_rsrc3": RSRC3,
    "kernel_code_properties": KERNEL_CODE_PROPERTIES,
    "kernarg_preload": KERNARG_PRELOAD,
}


def _check_all(self) -> None:
    for f in FIELDS:
        object.__setattr__(self, f.name, f.check(getattr(self, f.name)))


def _to_bytes(self) -> bytes:
    """The 64 descriptor bytes."""
    out = bytearray(DESCRIPTOR_SIZE)
    for f in FIELDS:
        value = getattr(self, f.name)
        if f.signed:
            value &= (1 << f.bits) - 1
        end = f.byte_offset + f.word_bytes
        word = int.from_bytes(out[f.byte_offset:end], "little") | (value << f.lsb)
        out[f.byte_offset:end] = word.to_bytes(f.word_bytes, "little")
    return bytes(out)


def _from_bytes(cls, data: bytes):
    """Decode 64 descriptor bytes (no target-specific validation)."""
    if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) != DESCRIPTOR_SIZE:
        size = len(data) if isinstance(data, (bytes, bytearray, memoryview)) else type(data).__name__
        raise CodeObjectError(f"a kernel descriptor is {DESCRIPTOR_SIZE} bytes, got {size}")
    data = bytes(data)
    values = {}
    for f in FIELDS:
        word = int.from_bytes(data[f.byte_offset:f.byte_offset + f.word_bytes], "little")
        value = (word >> f.lsb) & f.mask
        if f.signed and value >> (f.bits - 1):
            value -= 1 << f.bits
        values[f.name] = value
    return cls(**values)


def _register(self, name: str) -> int:
    """One of REGISTER_WORDS as an integer, e.g. register('compute_pgm_rsrc1')."""
    if name not in REGISTER_WORDS:
        raise CodeObjectError(f"unknown descriptor word {name!r}; expected one of {', '.join(REGISTER_WORDS)}")
    offset, size = REGISTER_WORDS[name]
    return int.from_bytes(self.to_bytes()[offset:offset + size], "little")


def _replace(self, **changes):
    unknown = sorted(set(changes) - set(FIELDS_BY_NAME))
    if unknown:
        raise CodeObjectError(f"unknown kernel descriptor field(s): {', '.join(unknown)}")
    return dataclasses.replace(self, **changes)


def _as_dict(self) -> dict[str, int]:
    return {f.name: getattr(self, f.name) for f in FIELDS}


def _validate_gfx11(self) -> None:
    """Reject what a gfx11 loader must not accept: reserved bits set, wave64-only fields."""
    for name in RESERVED_FIELDS:
        if getattr(self, name):
            raise CodeObjectError(f"kernel descriptor reserved field {name} is not zero")


def _repr(self) -> str:
    changed = ", ".join(f"{f.name}={getattr(self, f.name)}" for f in FIELDS if getattr(self, f.name))
    return f"KernelDescriptor({changed})"


# The class is built from FIELDS so the table stays the single description of the layout.
KernelDescriptor = dataclasses.make_dataclass(
    "KernelDescriptor",
    [(f.name, int, dataclasses.field(default=0)) for f in FIELDS],
    frozen=True,
    namespace={
        "__doc__": "A decoded kernel descriptor; every field of FIELDS is an int attribute.",
        "__post_init__": _check_all,
        "to_bytes": _to_bytes,
        "from_bytes": classmethod(_from_bytes),
        "register": _register,
        "replace": _replace,
        "as_dict": _as_dict,
        "validate_gfx11": _validate_gfx11,
        "__repr__": _repr,
    },
)
KernelDescriptor.__module__ = __name__
