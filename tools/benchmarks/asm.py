"""Assembler throughput: isa.assemble against llvm-mc-19 on the same 10,000-line files.

Two files: compute-kernel-shaped code (isa.asm.sample.kernel_lines: argument loads, address
arithmetic, memory, float math, waits) and instructions drawn evenly from every family with
random operands and modifiers (isa.asm.sample.random_lines, the lines both assemblers accept).
Ours is timed cold (operand and encoding caches emptied before each run; the instruction tables,
including each mnemonic's resolved list of forms, are built once beforehand) and warm (the same
file again); llvm-mc is the wall time of one `llvm-mc-19 -filetype=obj` run over the file,
process start included.
"""

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from benchlib import Result, benchmark, best_time

N_LINES = 10_000
MC = "llvm-mc-19"
MC_ARGS = ("-triple=amdgcn-amd-amdhsa", "-mcpu=gfx1100", "-filetype=obj", "-o", "/dev/null")


def _files() -> dict[str, list[str]]:
    from isa import AsmError, assemble
    from isa.asm.sample import kernel_lines, random_lines

    mixed = []
    for line in random_lines(int(N_LINES * 1.15), seed=5):
        try:
            assemble(line)
        except AsmError:
            continue
        mixed.append(line)
    return {"kernel-like": kernel_lines(N_LINES, seed=1), "all families": mixed[:N_LINES]}


def _cold(src: str) -> float:
    from isa.asm import assemble, clear_caches
    best = float("inf")
    for _ in range(5):
        clear_caches()
        t = time.perf_counter()
        assemble(src)
        best = min(best, time.perf_counter() - t)
    return best


def _llvm_time(path: Path) -> float | None:
    mc = shutil.which(MC)
    if mc is None:
        return None

    def run():
        subprocess.run([mc, *MC_ARGS, str(path)], check=True, capture_output=True)
    return best_time(run, repeat=3, min_time=0.0)


@benchmark("asm")
def bench_asm() -> list[Result]:
    from isa.asm import assemble
    from isa.asm.syntax import variants

    variants()                                  # instruction tables: built once per process
    assemble("v_dual_mov_b32 v0, v1 :: v_dual_mov_b32 v3, v2")
    rows = []
    for name, lines in _files().items():
        n = len(lines)
        src = "\n".join(lines) + "\n"
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "bench.s"
            path.write_text(src)
            t_llvm = _llvm_time(path)
        t_cold = _cold(src)
        t_warm = best_time(lambda src=src: assemble(src), repeat=5, min_time=0.0)
        ref = n / t_llvm if t_llvm else None
        rows.append(Result(f"asm {name} (cold caches)", n / t_cold, "inst/s", MC if ref else "", ref,
                           f"{n} lines, {t_cold * 1e3:.0f} ms; llvm-mc -filetype=obj "
                           + (f"{t_llvm * 1e3:.0f} ms" if t_llvm else "not installed")))
        rows.append(Result(f"asm {name} (warm caches)", n / t_warm, "inst/s", MC if ref else "", ref,
                           f"same file assembled again, {t_warm * 1e3:.0f} ms"))
    return rows
