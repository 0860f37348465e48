"""The RDNA3 instruction table: encoding formats, opcodes and operand widths.

Loaded once from isa/data/rdna3.json, which tools/gen_isa_tables.py generates from the shared
ISA description. The assembler, the disassembler and the emulator all read this module; nothing
else in the package knows an opcode number or a bit position.
"""

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

_DATA = Path(__file__).resolve().parent / "data" / "rdna3.json"


@dataclass(frozen=True)
class Field:
    name: str
    lo: int
    hi: int

    @property
    def width(self) -> int:
        return self.hi - self.lo + 1

    @property
    def mask(self) -> int:
        return (1 << self.width) - 1

    def get(self, word: int) -> int:
        return (word >> self.lo) & self.mask

    def put(self, word: int, value: int) -> int:
        return (word & ~(self.mask << self.lo)) | ((value & self.mask) << self.lo)


@dataclass(frozen=True)
class Format:
    """An encoding format. Bit numbers count over the whole instruction (bit 32 is bit 0 of the
    second dword); `bits` is the size without a trailing literal or DPP dword where the format
    name has none."""
    name: str
    fields: dict[str, Field]
    fixed: dict[str, int]
    bits: int
    ops: frozenset[str] = frozenset()   # AMD names of the ops this format is restricted to (if any)

    @property
    def size(self) -> int:
        return self.bits // 8

    def base_word(self) -> int:
        """The instruction word with only the format's fixed bits set."""
        word = 0
        for name, value in self.fixed.items():
            word = self.fields[name].put(word, value)
        return word


@dataclass(frozen=True)
class Operand:
    field: str        # the format field that holds it (src0, vdst, sdata, simm16, ...)
    dtype: str        # AMD's data format: NUM_F32, NUM_B64, NUM_PK2_F16, ANY, ...
    bits: int         # width; a register operand spans ceil(bits / 32) registers
    kind: str         # AMD's operand type: VGPR, SRC, SSRC, SREG, SDST, LABEL, SIMM16, ...

    @property
    def regs(self) -> int:
        return max(1, (self.bits + 31) // 32)


@dataclass(frozen=True)
class OpInfo:
    space: str                     # opcode space: SOP1, VOP2, VOP3, VOP3SD, DS, GLOBAL, ...
    opcode: int
    amd_name: str                  # AMD's name, e.g. V_ADD_F32_E32
    mnemonic: str                  # LLVM's mnemonic without encoding suffix, e.g. v_add_f32
    operands: dict[str, Operand] = field(repr=False)

    @property
    def pseudocode(self) -> str:
        return pseudocode().get(self.amd_name, "")


@dataclass(frozen=True)
class Table:
    arch: str
    targets: tuple[str, ...]
    formats: dict[str, Format]
    spaces: dict[str, dict[int, OpInfo]]          # space -> opcode -> op
    by_mnemonic: dict[str, dict[str, OpInfo]]     # mnemonic -> space -> op
    hwreg: dict[str, int]
    sendmsg: dict[str, int]


def _load_raw() -> dict:
    return json.loads(_DATA.read_text())


@cache
def table() -> Table:
    raw = _load_raw()
    formats = {}
    for name, f in raw["formats"].items():
        fields = {fname: Field(fname, lo, hi) for fname, (lo, hi) in f["fields"].items()}
        formats[name] = Format(name, fields, dict(f["fixed"]), f["bits"], frozenset(f["ops"]))
    spaces: dict[str, dict[int, OpInfo]] = {}
    by_mnemonic: dict[str, dict[str, OpInfo]] = {}
    for o in raw["ops"]:
        operands = {fname: Operand(fname, fmt, bits, kind) for fname, (fmt, bits, kind) in o["operands"].items()}
        op = OpInfo(o["space"], o["opcode"], o["amd"], o["mnemonic"], operands)
        spaces.setdefault(op.space, {})[op.opcode] = op
        by_mnemonic.setdefault(op.mnemonic, {})[op.space] = op
    return Table(raw["arch"], tuple(raw["targets"]), formats, spaces, by_mnemonic,
                 dict(raw["hwreg"]), dict(raw["sendmsg"]))


@cache
def pseudocode() -> dict[str, str]:
    return _load_raw()["pseudocode"]


# Base formats as the first dword identifies them, from the fixed `encoding` prefix. FLAT, GLOBAL
# and SCRATCH share a prefix and differ in the `seg` field; VOP3, VOP3SD and the VOP3 forms with a
# scalar destination share one and differ by opcode.
BASE_FORMATS = ("SOP1", "SOP2", "SOPC", "SOPK", "SOPP", "SMEM", "VOP1", "VOP2", "VOPC", "VOP3",
                "VOP3P", "VOPD", "DS", "FLAT", "MUBUF", "MTBUF", "MIMG", "EXP", "LDSDIR", "VINTERP")


@cache
def _prefixes() -> list[tuple[int, int, str]]:
    """(mask, value, format) for each base format's encoding prefix, longest prefix first."""
    t = table()
    out = []
    for name in BASE_FORMATS:
        enc = t.formats[name].fields["encoding"]
        out.append((enc.mask << enc.lo, t.formats[name].fixed["encoding"] << enc.lo, name))
    out.sort(key=lambda p: -bin(p[0]).count("1"))
    return out


_FLAT_SEGMENTS = {0: "FLAT", 1: "SCRATCH", 2: "GLOBAL"}


def identify(dword0: int) -> str | None:
    """The base format of an instruction from its first dword (None if no format matches).
    For FLAT-family encodings the result is the segment's format: FLAT, SCRATCH or GLOBAL."""
    for mask, value, name in _prefixes():
        if dword0 & mask == value:
            if name == "FLAT":
                return _FLAT_SEGMENTS.get((dword0 >> 16) & 3)
            return name
    return None


def opcode_space(fmt: str, opcode: int) -> OpInfo | None:
    """The op a base format's opcode field names (VOP3-encoded opcodes may be VOP3SD ops)."""
    spaces = table().spaces
    if fmt == "VOP3":
        op = spaces["VOP3SD"].get(opcode)
        if op is not None:
            return op
    return spaces.get(fmt, {}).get(opcode)
