#!/usr/bin/env python3
"""Generates isa/data/vop3_modifiers.json: which VOP3/VOP3P modifier bits each opcode takes, as
LLVM's gfx1100 disassembler (the arbiter of assembly syntax) reads them.

For every VOP3, VOP3SD and VOP3P opcode the tool disassembles a plain encoding and then the same
encoding with one modifier bit set (clamp, omod, each neg/abs/op_sel bit; for VOP3P also neg_hi
and the op_sel_hi defaults) and records per bit one letter:

    R  LLVM rejects the encoding        I  LLVM accepts it and prints nothing for the bit
    S  LLVM prints the modifier          X  (neg on an integer source) LLVM prints sext(...)

plus how many entries LLVM's op_sel:[...] list has. The disassembler reads the result; rerun
this tool (it needs llvm-mc-19) when the table changes.
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "isa"))

import llvm_corpus as lc  # noqa: E402

from isa.tables import table  # noqa: E402

OUTPUT = ROOT / "isa" / "data" / "vop3_modifiers.json"

VOP3_BITS = (("clmp", 1), ("omod", 1), ("neg", 1), ("neg", 2), ("neg", 4), ("abs", 1), ("abs", 2), ("abs", 4),
             ("opsel", 1), ("opsel", 2), ("opsel", 4), ("opsel", 8))
VOP3SD_BITS = (("clmp", 1), ("omod", 1), ("neg", 1), ("neg", 2), ("neg", 4))
VOP3P_BITS = (("clmp", 1), ("neg", 1), ("neg", 2), ("neg", 4), ("neg_hi", 1), ("neg_hi", 2), ("neg_hi", 4),
              ("opsel", 1), ("opsel", 2), ("opsel", 4), ("opsel_hi", 2), ("opsel_hi", 1), ("opsel_hi2", 0))


def _sources(op) -> list[str]:
    return [f for f in ("src0", "src1", "src2") if f in op.operands or (f == "src0" and "vsrc0" in op.operands)]


def _word(space: str, op, bit) -> bytes:
    t = table()
    w = lc._Word(t.formats[space])
    w.set("op", op.opcode)
    if space == "VOP3P":
        w.set("opsel_hi", 3)
        w.set("opsel_hi2", 1)
    w.set("vdst", 0 if op.amd_name.startswith("V_CMP") else 8)
    w.set("sdst", 10)
    for i, f in enumerate(_sources(op)):
        w.set(f, 256 + 16 * (i + 1))
    if bit is not None:
        name, value = bit
        if name in ("opsel_hi", "opsel_hi2"):
            full = 7 & ~(value if name == "opsel_hi" else 4)
            w.set("opsel_hi", full & 3)
            w.set("opsel_hi2", full >> 2)
        else:
            w.set(name, value)
    return w.bytes()


def _letter(base: str | None, text: str | None) -> str:
    if text is None:
        return "R"
    if text == base:
        return "I"
    return "X" if "sext(" in text else "S"


def probe() -> dict:
    t = table()
    jobs = []
    for space, bits in (("VOP3", VOP3_BITS), ("VOP3SD", VOP3SD_BITS), ("VOP3P", VOP3P_BITS)):
        for op in sorted(t.spaces[space].values(), key=lambda o: o.opcode):
            jobs.append((space, op, None))
            jobs.extend((space, op, b) for b in bits)
    results = lc.llvm_disassemble([_word(s, op, b) for s, op, b in jobs])
    out: dict[str, dict] = {}
    base_text: dict[str, str | None] = {}
    for (space, op, bit), (text, _, _) in zip(jobs, results, strict=True):
        entry = out.setdefault(f"{space}:{op.opcode}", {"name": op.amd_name, "bits": "", "opsel_len": 0})
        if bit is None:
            base_text[op.amd_name] = text
            if text is None:
                entry["bits"] = None
            continue
        if entry["bits"] is None:
            continue
        base = base_text[op.amd_name]
        entry["bits"] += _letter(base, text)
        if text and "op_sel:[" in text and bit[0] == "opsel" and (base is None or "op_sel:[" not in base):
            entry["opsel_len"] = text.split("op_sel:[", 1)[1].split("]", 1)[0].count(",") + 1
    return {"vop3_bits": [f"{n}{v}" for n, v in VOP3_BITS], "vop3sd_bits": [f"{n}{v}" for n, v in VOP3SD_BITS],
            "vop3p_bits": [f"{n}{v}" for n, v in VOP3P_BITS], "ops": out}


def main() -> int:
    data = probe()
    OUTPUT.write_text(json.dumps(data, indent=0, sort_keys=True) + "\n")
    print(f"wrote {OUTPUT.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
