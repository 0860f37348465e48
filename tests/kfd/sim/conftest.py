import sys
from pathlib import Path

import pytest

from kfd.sim import SimDriver

sys.path.insert(0, str(Path(__file__).parent))

from hsakmt import Hsakmt  # noqa: E402


@pytest.fixture
def kfd1():
    with SimDriver(1, hang_timeout=1.0) as drv:
        yield Hsakmt(drv).bring_up()


@pytest.fixture
def kfd4():
    with SimDriver(4, hang_timeout=1.0) as drv:
        yield Hsakmt(drv).bring_up()
