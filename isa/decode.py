"""Instruction decoding: machine words -> Inst (format, op, field values, literal, size).

The disassembler prints an Inst and the emulator executes it; both decode through here. Decoding
never raises on bad bytes: a word that is no instruction gives an Inst with op None and size 4.
"""

from dataclasses import dataclass, field
from functools import cache

from isa import operands as opd
from isa.tables import Field, Format, OpInfo, identify, opcode_space, table


@dataclass(frozen=True)
class Inst:
    fmt: Format                 # the exact format, variant included: VOP2_LIT, VOP3_DPP16, SOPK_LIT ...
    base: str                   # the base format: VOP2, VOP3, VOP3SD, GLOBAL ...
    op: OpInfo | None           # None: the words decode to no instruction
    fields: dict[str, int] = field(repr=False)
    size: int = 4               # bytes, literal and DPP words included
    literal: int | None = None  # the trailing 32-bit literal, if any
    op_y: OpInfo | None = None  # VOPD: the Y half (op is the X half)
    raw: int = 0                # the instruction's bits, little-endian over `size` bytes

    @property
    def valid(self) -> bool:
        return self.op is not None

    @property
    def dpp(self) -> str | None:
        """'DPP16', 'DPP8' or None."""
        name = self.fmt.name
        return "DPP16" if "_DPP16" in name else "DPP8" if "_DPP8" in name else None


_SRC_FIELDS = {"VOP1": ("src0",), "VOP2": ("src0",), "VOPC": ("src0",),
               "VOP3": ("src0", "src1", "src2", "vdst"), "VOP3SD": ("src0", "src1", "src2"),
               "VOP3P": ("src0", "src1", "src2"), "VOPD": ("srcx0", "srcy0"),
               "SOP1": ("ssrc0",), "SOP2": ("ssrc0", "ssrc1"), "SOPC": ("ssrc0", "ssrc1"),
               "MUBUF": ("soffset",), "MTBUF": ("soffset",), "VINTERP": ("src0", "src1", "src2")}
_DPP_BASES = ("VOP1", "VOP2", "VOPC", "VOP3", "VOP3SD", "VOP3P")


def _reads(op: OpInfo, fld: str, base: str) -> bool:
    """Whether the op reads a source field (so that the literal code there means a literal)."""
    if base in ("SOP2", "SOPC", "MUBUF", "MTBUF"):
        return True
    if fld == "vdst":      # a VOPC e64 destination holding the literal code reads a literal
        return base == "VOP3" and op.amd_name.startswith("V_CMP_")
    o = op.operands.get(fld)
    if o is None and fld == "src0" and base in ("VOP3", "VOP3SD", "VOP3P"):
        o = op.operands.get("vsrc0")     # the table names some VOP3 forms' first source vsrc0
    return o is not None and o.kind != "SENDMSG_RTN"


_EXTENDED: dict[str, Format] = {}


def _extended(fmt: Format, suffix: str, dword: tuple[Field, ...]) -> Format:
    """A format followed by one more dword holding `dword`'s fields (bits counted in that dword)."""
    name = fmt.name + suffix
    ext = _EXTENDED.get(name)
    if ext is None:
        fields = dict(fmt.fields)
        for f in dword:
            fields[f.name] = Field(f.name, fmt.bits + f.lo, fmt.bits + f.hi)
        ext = _EXTENDED[name] = Format(name, fields, dict(fmt.fixed), fmt.bits + 32, fmt.ops)
    return ext


def _with_literal(fmt: Format) -> Format:
    """A format followed by a 32-bit literal dword, for formats the table has no _LIT variant of
    (buffer instructions whose soffset holds the literal code)."""
    return _extended(fmt, "_LIT", (Field("literal", 0, 31),))


# An image instruction with its nsa bit set names its second to fifth address VGPRs one byte each
# in a further dword.
_NSA_ADDRESSES = tuple(Field(f"vaddr{k}", 8 * k - 8, 8 * k - 1) for k in range(1, 5))


def _u32(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset:offset + 4], "little")


def _variant(name: str) -> Format | None:
    return table().formats.get(name)


def _invalid(data: bytes, offset: int) -> Inst:
    word = _u32(data, offset) if offset + 4 <= len(data) else 0
    fmt = table().formats["SOPP"]
    return Inst(fmt, "", None, {}, 4, None, None, word)


def _extractor(fmt: Format) -> tuple[tuple[str, int, int], ...]:
    """(field, low bit, mask) for each field of a format, cached per format."""
    ex = _EXTRACTORS.get(fmt.name)
    if ex is None:
        ex = tuple((name, f.lo, f.mask) for name, f in fmt.fields.items())
        _EXTRACTORS[fmt.name] = ex
    return ex


_EXTRACTORS: dict[str, tuple] = {}


def _fields(fmt: Format, raw: int) -> dict[str, int]:
    return {name: (raw >> lo) & mask for name, lo, mask in _extractor(fmt)}


class _Plan:
    """What decoding needs to know about one (base format, opcode): worked out once."""
    __slots__ = ("op", "base", "name", "fmt", "used", "inherent_lit", "dpp_src0")

    def __init__(self, base: str, op: OpInfo):
        formats = table().formats
        if op.space == "VOP3SD":
            base = "VOP3SD"
        fmt = formats[base]
        name = base
        plain_ops = fmt.ops
        if (sdst := formats.get(base + "_SDST")) is not None and op.amd_name in sdst.ops:
            name = sdst.name
            plain_ops = sdst.ops
        lit = formats.get(base + "_LIT")
        self.op, self.base, self.name, self.fmt = op, base, name, fmt
        self.used = tuple((fmt.fields[f].lo, fmt.fields[f].mask) for f in _SRC_FIELDS.get(base, ())
                          if _reads(op, f, base))
        # an op that always carries a literal (fmaak, fmamk, setreg_imm32)
        self.inherent_lit = bool(lit is not None and op.amd_name in lit.ops and op.amd_name not in plain_ops
                                 and plain_ops)
        src0 = fmt.fields.get("src0")
        self.dpp_src0 = ((src0.lo, src0.mask) if base in _DPP_BASES and src0 is not None and _reads(op, "src0", base)
                         else None)

    def variant(self, suffix: str) -> Format:
        formats = table().formats
        return formats.get(self.name + suffix) or formats.get(self.base + suffix) or (
            _with_literal(self.fmt) if suffix == "_LIT" else self.fmt)


_PLANS: dict[tuple[str, int], _Plan | None] = {}


def _plan(base: str, opcode: int) -> _Plan | None:
    key = (base, opcode)
    try:
        return _PLANS[key]
    except KeyError:
        op = opcode_space(base, opcode)
        plan = _PLANS[key] = _Plan(base, op) if op is not None else None
        return plan


@cache
def _base_by_top_bits() -> tuple:
    """For each value of an instruction's top 9 bits (no encoding prefix is longer): the base
    format, its Format, whether it is longer than one dword, and its op field (lo, mask)."""
    out = []
    formats = table().formats
    for top in range(512):
        base = identify(top << 23)
        if base is None:
            out.append(None)
            continue
        fmt = formats[base]
        opf = fmt.fields.get("op")
        out.append((base, fmt, fmt.bits > 32, (opf.lo, opf.mask) if opf is not None else None))
    return tuple(out)


_FLAT_SEG = {0: "FLAT", 1: "SCRATCH", 2: "GLOBAL"}


def decode(data: bytes, offset: int = 0) -> Inst:
    """Decodes the instruction at `offset` (a multiple of 4 within data)."""
    if offset + 4 > len(data):
        return _invalid(data, offset)
    dword0 = _u32(data, offset)
    entry = _base_by_top_bits()[dword0 >> 23]
    if entry is None:
        return _invalid(data, offset)
    base, fmt, long, opf = entry
    if base in ("FLAT", "SCRATCH", "GLOBAL"):
        base = _FLAT_SEG.get((dword0 >> 16) & 3)
        if base is None:
            return _invalid(data, offset)
        fmt = table().formats[base]
    word = dword0
    if long:
        if offset + 8 > len(data):
            return _invalid(data, offset)
        word |= _u32(data, offset + 4) << 32
    if base == "VOPD":
        return _decode_vopd(data, offset, fmt, word)
    plan = _plan(base, (word >> opf[0]) & opf[1] if opf is not None else 0)
    if plan is None:
        return _invalid(data, offset)
    has_lit = plan.inherent_lit or any((word >> lo) & mask == opd.LITERAL for lo, mask in plan.used)
    dpp = ""
    if plan.dpp_src0 is not None:
        src0 = (word >> plan.dpp_src0[0]) & plan.dpp_src0[1]
        if src0 == opd.DPP16:
            dpp = "_DPP16"
        elif src0 == opd.DPP8 or src0 == opd.DPP8_FI:
            dpp = "_DPP8"
    suffix = "_LIT" if has_lit else dpp
    if has_lit and dpp:
        final = _with_literal(plan.variant(dpp))    # VOP3 DPP with a literal in src1/src2
    elif suffix:
        final = plan.variant(suffix)
    else:
        final = plan.fmt if plan.name == plan.base else plan.variant("")
    if base == "MIMG" and word & 1:       # the nsa bit
        final = _extended(final, "_NSA", _NSA_ADDRESSES)
    size = final.size
    if offset + size > len(data):
        return _invalid(data, offset)
    raw = int.from_bytes(data[offset:offset + size], "little")
    values = _fields(final, raw)
    literal = values.get("literal") if suffix == "_LIT" else None
    return Inst(final, plan.base, plan.op, values, size, literal, None, raw)


def _decode_vopd(data: bytes, offset: int, fmt: Format, word: int) -> Inst:
    spaces = table().spaces["VOPD"]
    opx = spaces.get(fmt.fields["opx"].get(word))
    opy = spaces.get(fmt.fields["opy"].get(word))
    if opx is None or opy is None:
        return _invalid(data, offset)
    inherent = {"V_DUAL_FMAAK_F32", "V_DUAL_FMAMK_F32"}
    has_lit = (opx.amd_name in inherent or opy.amd_name in inherent
               or fmt.fields["srcx0"].get(word) == opd.LITERAL or fmt.fields["srcy0"].get(word) == opd.LITERAL)
    final = table().formats["VOPD_LIT"] if has_lit else fmt
    if offset + final.size > len(data):
        return _invalid(data, offset)
    raw = int.from_bytes(data[offset:offset + final.size], "little")
    values = _fields(final, raw)
    return Inst(final, "VOPD", opx, values, final.size, values.get("literal"), opy, raw)


def decode_all(data: bytes, offset: int = 0, end: int | None = None):
    """Yields (offset, Inst) for consecutive instructions; an undecodable word advances by 4."""
    end = len(data) if end is None else end
    while offset + 4 <= end:
        inst = decode(data, offset)
        yield offset, inst
        offset += inst.size
