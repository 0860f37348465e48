"""The benchmark registry: modules in tools/benchmarks/ register functions with @benchmark.

A benchmark function takes no arguments and returns a list of Result rows. Timing belongs here,
never in tests.
"""

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass
class Result:
    name: str
    value: float
    unit: str
    reference: str = ""          # what the value is compared against, e.g. "llvm-mc-19"
    reference_value: float | None = None
    note: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


REGISTRY: dict[str, Callable[[], list[Result]]] = {}


def benchmark(name: str):
    def register(fn: Callable[[], list[Result]]):
        if name in REGISTRY:
            raise ValueError(f"benchmark {name!r} registered twice")
        REGISTRY[name] = fn
        return fn
    return register


def best_time(fn: Callable[[], object], repeat: int = 5, min_time: float = 0.2) -> float:
    """The best wall time of fn() in seconds over `repeat` rounds (each round at least one call,
    looping until min_time to average out very short calls)."""
    best = float("inf")
    for _ in range(repeat):
        calls = 0
        start = time.perf_counter()
        while True:
            fn()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time or calls >= 1000:
                break
        best = min(best, elapsed / calls)
    return best
