"""The `amdrt` command: one argparse parser, one module per subcommand under amdrt.cli."""

import argparse
import importlib
import sys

import amdrt

# Subcommand name -> module in amdrt.cli that defines add_arguments(parser) and run(args) -> int.
SUBCOMMANDS = {
    "info": ("info", "list the CPU and GPU agents: ISA, compute units, limits, memory pools, SDMA engines, links"),
    "smoke": ("smoke", "multi-GPU smoke test: memory, SDMA, assembly and clang kernels, faults, hangs, peer copies"),
    "run": ("run", "load or assemble a kernel, run it on given inputs and print or save its outputs"),
    "asm": ("asm", "assemble gfx1100 assembly (LLVM syntax) into machine code, or list its encodings"),
    "disasm": ("disasm", "disassemble RDNA3 machine code (raw bytes or an ELF code object) like llvm-objdump -d"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="amdrt", description="AMD GPU runtime for RDNA3 (gfx1100)")
    parser.add_argument("--version", action="version", version=f"amdrt {amdrt.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        module = importlib.import_module(f"amdrt.cli.{module_name}")
        sp = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(sp)
        sp.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "_run"):
        parser.print_help()
        return 0
    try:
        return args._run(args)
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
