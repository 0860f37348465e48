"""`amdrt disasm FILE`: disassembles RDNA3 machine code, printed like `llvm-objdump -d`.

FILE is raw machine code, or an ELF file whose executable sections (with their function symbols
as labels) are disassembled. For an HSA code object, each kernel's descriptor follows (as the
`.amdhsa_kernel` block llvm-objdump prints for it) and then the metadata note (as
`llvm-readelf --notes` prints it).
"""

import argparse
import sys
from pathlib import Path

ELF_MAGIC = b"\x7fELF"
TEXT_COLUMN = 59          # llvm-objdump pads the instruction text to this width before the comment


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="raw machine code or an ELF code object")
    parser.add_argument("--offset", type=lambda s: int(s, 0), default=0,
                        help="raw input: byte offset in the file where the code starts (default 0)")
    parser.add_argument("--length", type=lambda s: int(s, 0), default=None,
                        help="raw input: number of bytes to disassemble (default: to the end)")
    parser.add_argument("--address", type=lambda s: int(s, 0), default=None,
                        help="address of the first instruction (raw input: default 0; ELF: the section address)")


def format_line(address: int, data: bytes, size: int, text: str) -> str:
    """One instruction as llvm-objdump prints it: text, then the address and encoding words."""
    words = " ".join(f"{int.from_bytes(data[i:i + 4], 'little'):08X}" for i in range(0, size - size % 4, 4))
    if size % 4:
        words = " ".join(f"{b:02X}" for b in data[:size])
    return f"\t{text.ljust(TEXT_COLUMN)}// {address:012X}: {words}"


def disassemble_block(code: bytes, address: int, labels: dict[int, str] | None = None) -> list[str]:
    from isa.disasm import disassemble_lines

    labels = labels or {}
    out = []
    for addr, size, text in disassemble_lines(code, address):
        if addr in labels:
            out.append("")
            out.append(f"{addr:016x} <{labels[addr]}>:")
        off = addr - address
        out.append(format_line(addr, code[off:off + size], size, text))
    return out


def _elf_sections(data: bytes) -> list[tuple[str, int, bytes, dict[int, str]]]:
    """(name, address, bytes, {address: symbol}) for each executable section of an ELF file."""
    import io

    from elftools.common.exceptions import ELFError
    from elftools.elf.constants import SH_FLAGS
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    try:
        elf = ELFFile(io.BytesIO(data))
        sections = []
        symbols: dict[int, dict[int, str]] = {}
        for sec in elf.iter_sections():
            if isinstance(sec, SymbolTableSection):
                for sym in sec.iter_symbols():
                    if sym["st_info"]["type"] == "STT_FUNC" and sym.name:
                        symbols.setdefault(sym["st_shndx"], {})[sym["st_value"]] = sym.name
        for index, sec in enumerate(elf.iter_sections()):
            if sec["sh_type"] == "SHT_PROGBITS" and sec["sh_flags"] & SH_FLAGS.SHF_EXECINSTR:
                sections.append((sec.name, sec["sh_addr"], sec.data(), symbols.get(index, {})))
        return sections
    except (ELFError, ValueError, KeyError) as exc:
        raise ValueError(f"not a readable ELF file: {exc}") from exc


def describe_code_object(data: bytes) -> list[str]:
    """Descriptor blocks and the metadata note of an HSA code object; nothing for other ELF files."""
    import yaml

    from isa.codeobj import CodeObject
    from isa.codeobj.directives import DIRECTIVES, directives_from_descriptor
    from isa.errors import CodeObjectError

    try:
        co = CodeObject.parse(data)
    except CodeObjectError:
        return []
    out = ["", "Kernel descriptors:"]
    for kernel in co.kernels.values():
        values = directives_from_descriptor(kernel.descriptor)
        out += ["", f"{kernel.descriptor_address:016x} <{kernel.symbol}>:", f".amdhsa_kernel {kernel.name}"]
        out += [f"\t.amdhsa_{d.name} {values[d.name]}" for d in DIRECTIVES if d.name in values]
        out += [f"\t; code at 0x{kernel.code_address:x} (entry offset "
                f"{kernel.descriptor.kernel_code_entry_byte_offset:+#x} from the descriptor)", ".end_amdhsa_kernel"]
    text = yaml.safe_dump(dict(co.metadata), sort_keys=True, default_flow_style=False, explicit_start=True,
                          explicit_end=True)
    out += ["", "Displaying notes found in: .note", "  Owner                Description",
            "  AMDGPU               NT_AMDGPU_METADATA (AMDGPU Metadata)", "    AMDGPU Metadata:"]
    out += ["        " + line for line in text.splitlines()]
    return out


def run(args: argparse.Namespace) -> int:
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        print(f"amdrt disasm: {exc}", file=sys.stderr)
        return 1
    out = sys.stdout
    if data[:4] == ELF_MAGIC:
        try:
            sections = _elf_sections(data)
        except ValueError as exc:
            print(f"amdrt disasm: {args.file}: {exc}", file=sys.stderr)
            return 1
        out.write(f"\n{args.file}:\tfile format elf64-amdgpu\n")
        for name, addr, code, labels in sections:
            base = addr if args.address is None else args.address
            labels = {base + (a - addr): n for a, n in labels.items()}
            if base not in labels:
                labels[base] = name
            out.write(f"\nDisassembly of section {name}:\n")
            out.write("\n".join(disassemble_block(code, base, labels)) + "\n")
        summary = describe_code_object(data)
        if summary:
            out.write("\n".join(summary) + "\n")
        return 0
    if args.offset < 0 or args.offset > len(data):
        print(f"amdrt disasm: --offset {args.offset} is outside the file ({len(data)} bytes)", file=sys.stderr)
        return 1
    end = len(data) if args.length is None else min(len(data), args.offset + args.length)
    code = data[args.offset:end]
    base = args.address if args.address is not None else 0
    lines = disassemble_block(code, base)
    if lines:
        out.write("\n".join(lines) + "\n")
    return 0
