"""`amdrt asm FILE.s [-o OUT]`: assemble gfx1100 assembly (LLVM syntax).

With -o the raw machine code is written to OUT; otherwise each statement is listed the way
`llvm-mc -show-encoding` lists it: the source text and `; encoding: [0x..,...]`. A source with
`.amdhsa_kernel` blocks (or any source, with --code-object) is assembled as a whole file into an
HSA code object, which -o writes: what `llvm-mc -filetype=obj` and `ld.lld -shared` make of it.
Errors are reported as FILE:LINE:COL: error: MESSAGE with the source line and a caret; exit
status 1.
"""

import argparse
import re
import sys
from pathlib import Path

from isa.asm import Assembler
from isa.asmfile import assemble_code_object
from isa.errors import AsmError, DirectiveError

_KERNEL_BLOCK = re.compile(r"^[ \t]*\.amdhsa_kernel[ \t]", re.M)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="assembly source ('-' reads standard input)")
    parser.add_argument("-o", "--output", help="write the machine code (raw bytes) or the code object to this file")
    parser.add_argument("--hex", action="store_true", help="print the machine code as one hex string")
    parser.add_argument("--code-object", action="store_true",
                        help="write an HSA code object (the default for sources with .amdhsa_kernel blocks)")
    parser.add_argument("--target", default="gfx1100", help="code object target (default gfx1100)")


def format_error(path: str, e: AsmError | DirectiveError, text: str = "") -> str:
    out = f"{path}:{e.line}:{e.column}: error: {e.message}"
    source_line = getattr(e, "source_line", "")
    if not source_line and text and 1 <= e.line <= text.count("\n") + 1:
        source_line = text.split("\n")[e.line - 1]
    if source_line:
        out += "\n" + source_line.rstrip("\n")
        if e.column >= 1:
            prefix = source_line[:e.column - 1]
            out += "\n" + "".join("\t" if c == "\t" else " " for c in prefix) + "^"
    return out


def write_output(path: str, data: bytes) -> int:
    """Write the output file; the exit status."""
    try:
        Path(path).write_bytes(data)
    except OSError as e:
        print(f"amdrt asm: {path}: {e.strerror or e}", file=sys.stderr)
        return 1
    return 0


def write_code_object(args: argparse.Namespace, text: str, shown: str) -> int:
    if not args.output:
        print("amdrt asm: a code object is binary: name the file to write with -o OUT.co", file=sys.stderr)
        return 1
    try:
        code_object = assemble_code_object(text, args.target)
    except (AsmError, DirectiveError) as e:
        print(format_error(shown, e, text), file=sys.stderr)
        return 1
    return write_output(args.output, code_object)


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
    shown = "<stdin>" if path == "-" else path
    if args.code_object or _KERNEL_BLOCK.search(text):
        return write_code_object(args, text, shown)
    asm = Assembler()
    try:
        code = asm.assemble(text)
    except AsmError as e:
        print(format_error(shown, e), file=sys.stderr)
        return 1
    if args.output:
        return write_output(args.output, code)
    if args.hex:
        print(code.hex())
        return 0
    out = listing(asm)
    if out:
        print(out)
    return 0
