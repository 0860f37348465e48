"""Disassembly throughput: isa.disassemble against llvm-mc-19 --disassemble on the same 10,000
instruction words (the LLVM-accepted part of the seeded differential corpus)."""

import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchlib import Result, benchmark, best_time

ROOT = Path(__file__).resolve().parents[2]
N_INSTRUCTIONS = 10_000


def _instructions() -> list[bytes]:
    sys.path.insert(0, str(ROOT / "tests" / "isa"))
    import llvm_corpus

    if llvm_corpus.llvm_mc_path() is not None:
        entries = llvm_corpus.corpus(600, 7, families=llvm_corpus.FAMILIES[:22])
        chunks = [e.data[:e.llvm_size] for e in entries if e.llvm_text is not None and e.llvm_size]
    else:   # without LLVM: the generated words themselves
        chunks = [d for fam in llvm_corpus.FAMILIES[:22] for d in llvm_corpus.generate(fam, 600, 7)]
    return (chunks * (N_INSTRUCTIONS // max(1, len(chunks)) + 1))[:N_INSTRUCTIONS]


@benchmark("disasm")
def bench_disasm() -> list[Result]:
    from isa.disasm import disassemble, disassemble_lines
    from isa.tables import table

    insts = _instructions()
    code = b"".join(insts)
    table()
    disassemble(code[:4096])               # warm the per-opcode caches

    t_ours = best_time(lambda: disassemble(code), repeat=3, min_time=0.0)
    n = len(disassemble_lines(code))
    rows = [Result("disasm isa.disassemble", n / t_ours, "inst/s", note=f"{n} instructions, {len(code)} bytes")]

    mc = shutil.which("llvm-mc-19")
    if mc is not None:
        text = "\n".join(",".join(f"0x{b:02x}" for b in chunk) for chunk in insts) + "\n"
        args = [mc, "-triple=amdgcn-amd-amdhsa", "-mcpu=gfx1100", "--disassemble"]
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run(args, input=text, capture_output=True, text=True, check=True)
            best = min(best, time.perf_counter() - start)
        rows[0].reference = "llvm-mc-19 --disassemble"
        rows[0].reference_value = N_INSTRUCTIONS / best
        rows[0].note += "; llvm-mc time includes process start and text parsing"
    return rows
