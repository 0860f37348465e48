#!/usr/bin/env python3
"""Generates isa/data/rdna3.json, the one instruction table of the isa package, from the shared
RDNA3 ISA description (../shared/isa/rdna3.json by default).

The output keeps only what the assembler, disassembler and emulator read: encoding formats with
their bit fields and fixed bits, every opcode of every opcode space with its LLVM mnemonic and
operand widths, the pseudocode, and the symbolic hwreg/sendmsg ids. Run it again when the
source changes; tests/isa/test_tables.py checks the committed file is up to date.
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "isa" / "rdna3.json"
OUTPUT = ROOT / "isa" / "data" / "rdna3.json"


def mnemonic(amd_name: str) -> str:
    """LLVM's mnemonic for an AMD opcode name: lower case, without the _E32/_E64 encoding suffix."""
    name = amd_name.lower()
    for suffix in ("_e32", "_e64"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def convert(src: dict) -> dict:
    formats = {}
    for name, fmt in src["formats"].items():
        fields, fixed = {}, {}
        for fname, f in fmt["fields"].items():
            fields[fname] = [f["lo"], f["hi"]]
            if f["kind"] == "FixedBitField":
                fixed[fname] = f["value"]
        bits = max(hi for _, hi in fields.values()) + 1
        formats[name] = {"fields": fields, "fixed": fixed, "bits": (bits + 31) // 32 * 32,
                         "ops": sorted(fmt.get("ops", []))}
    ops = []
    for space, table in sorted(src["opcodes"].items()):
        for amd_name, opcode in sorted(table.items(), key=lambda kv: kv[1]):
            operands = {
                field: [o["format"], o["bits"], o["type"]]
                for field, o in sorted(src["operands"].get(amd_name, {}).items())
            }
            ops.append({"space": space, "opcode": opcode, "amd": amd_name,
                        "mnemonic": mnemonic(amd_name), "operands": operands})
    return {
        "arch": src["arch"],
        "targets": src["targets"],
        "formats": formats,
        "ops": ops,
        "pseudocode": dict(sorted(src["pseudocode"].items())),
        "hwreg": src["hwreg"],
        "sendmsg": src["sendmsg"],
    }


def render(src_path: Path) -> str:
    return json.dumps(convert(json.loads(src_path.read_text())), indent=0, sort_keys=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed table is stale")
    args = parser.parse_args()
    text = render(args.source)
    if args.check:
        return 0 if OUTPUT.exists() and OUTPUT.read_text() == text else 1
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
