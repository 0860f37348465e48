"""`amdrt asm FILE.s [-o OUT]`: assemble gfx1100 assembly (LLVM syntax).

With -o the raw machine code is written to OUT; otherwise each statement is listed the way
`llvm-mc -show-encoding` lists it: the source text and `; encoding: [0x..,...]`. Errors are
reported as FILE:LINE:COL: error: MESSAGE with the source line and a caret; exit status 1.
"""

import argparse
import sys
from pathlib import Path

from isa.asm import Assembler
from isa.errors import AsmError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="assembly source ('-' reads standard input)")
    parser.add_argument("-o", "--output", help="write the machine code (raw bytes) to this file")
    parser.add_argument("--hex", action="store_true", help="print the machine code as one hex string")


def format_error(path: str, e: AsmError) -> str:
    out = f"{path}:{e.line}:{e.column}: error: {e.message}"
    if e.source_line:
        out += "\n" + e.source_line.rstrip("\n")
        if e.column >= 1:
            prefix = e.source_line[:e.column - 1]
            out += "\n" + "".join("\t" if c == "\t" else " " for c in prefix) + "^"
    return out


def listing(asm: Assembler) -> str:
    lines = []
    for st in asm.statements:
        if st.kind == 'label':
            lines.append(st.text)
            continue
        enc = ",".join(f"0x{b:02x}" for b in st.data)
        lines.append(f"\t{st.text.strip():<39} ; encoding: [{enc}]")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    path = args.file
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as e:
        print(f"amdrt asm: {path}: {e.strerror or e}", file=sys.stderr)
        return 1
    except UnicodeDecodeError as e:
        print(f"amdrt asm: {path}: not a text file ({e.reason})", file=sys.stderr)
        return 1
    asm = Assembler()
    try:
        code = asm.assemble(text)
    except AsmError as e:
        print(format_error("<stdin>" if path == "-" else path, e), file=sys.stderr)
        return 1
    if args.output:
        try:
            Path(args.output).write_bytes(code)
        except OSError as e:
            print(f"amdrt asm: {args.output}: {e.strerror or e}", file=sys.stderr)
            return 1
        return 0
    if args.hex:
        print(code.hex())
        return 0
    out = listing(asm)
    if out:
        print(out)
    return 0
