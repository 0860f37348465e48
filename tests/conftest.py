"""Shared fixtures. Differential tests use LLVM 19 as the reference; `make test` installs it
where apt-get can, and tests marked `llvm` skip with a reason where it is absent."""

import os
import shutil
from dataclasses import dataclass

import pytest
from hypothesis import settings

# CI runs the same examples every time (a new failure there comes from a change, not from the
# draw); elsewhere each run searches afresh.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

LLVM_TOOLS = ("llvm-mc-19", "clang-19", "ld.lld-19", "llvm-readelf-19", "llvm-objdump-19")


@dataclass(frozen=True)
class LLVM:
    mc: str
    clang: str
    lld: str
    readelf: str
    objdump: str


def _find_llvm() -> tuple[LLVM | None, list[str]]:
    paths = {tool: shutil.which(tool) for tool in LLVM_TOOLS}
    missing = [tool for tool, path in paths.items() if path is None]
    if missing:
        return None, missing
    return LLVM(*(paths[t] for t in LLVM_TOOLS)), []


_LLVM, _MISSING = _find_llvm()
_SKIP_REASON = (
    f"LLVM 19 reference tools not installed ({', '.join(_MISSING)}); "
    "run `make test` (installs llvm-19 clang-19 lld-19 with apt-get) to enable differential tests"
)


def pytest_collection_modifyitems(config, items):
    if _LLVM is not None:
        return
    skip = pytest.mark.skip(reason=_SKIP_REASON)
    for item in items:
        if "llvm" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def llvm() -> LLVM:
    """Paths of the LLVM 19 reference tools; skips the test where they are missing."""
    if _LLVM is None:
        pytest.skip(_SKIP_REASON)
    return _LLVM
