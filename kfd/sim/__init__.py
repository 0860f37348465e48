"""kfd.sim: a simulated KFD (the kernel driver's ioctls, checks and errno) and simulated RX 7900 XTX
(gfx1100) GPUs behind it: page tables, AQL and PM4 command processors, SDMA engines, shader waves
executed by isa.emu. SimDriver implements kfd.driver.Driver."""

from kfd.sim.driver import SimDriver

__all__ = ["SimDriver"]
