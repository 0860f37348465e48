#!/usr/bin/env python3
"""Runs the registered benchmarks, prints a table and writes bench.json.

    tools/bench.py                 # every benchmark
    tools/bench.py asm emu         # only those whose name contains one of the words
    tools/bench.py --list
"""

import argparse
import importlib
import json
import pkgutil
import platform
import sys
import time
import traceback
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))
sys.path.insert(0, str(TOOLS.parent))

import benchmarks  # noqa: E402
from benchlib import REGISTRY, Result  # noqa: E402


def load_all() -> None:
    for mod in pkgutil.iter_modules(benchmarks.__path__):
        importlib.import_module(f"benchmarks.{mod.name}")


def fmt(value: float | None) -> str:
    if value is None:
        return ""
    if value == 0 or 0.01 <= abs(value) < 1e6:
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


def print_table(rows: list[Result]) -> None:
    header = ("benchmark", "value", "unit", "reference", "ref value", "note")
    table = [header] + [(r.name, fmt(r.value), r.unit, r.reference, fmt(r.reference_value), r.note) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("filters", nargs="*", help="run only benchmarks whose name contains one of these")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("-o", "--output", default="bench.json", help="where to write the results")
    args = parser.parse_args()
    load_all()
    names = sorted(n for n in REGISTRY if not args.filters or any(f in n for f in args.filters))
    if args.list:
        print("\n".join(names))
        return 0
    rows: list[Result] = []
    failed = []
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        try:
            rows.extend(REGISTRY[name]())
        except Exception:
            traceback.print_exc()
            failed.append(name)
    print_table(rows)
    Path(args.output).write_text(json.dumps({
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"python": platform.python_version(), "machine": platform.machine(), "cpus": _cpus()},
        "results": [r.as_dict() for r in rows],
        "failed": failed,
    }, indent=2) + "\n")
    print(f"\nwrote {args.output}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def _cpus() -> int:
    import os
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    raise SystemExit(main())
