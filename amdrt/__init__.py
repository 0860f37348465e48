"""amdrt: a userspace AMD GPU driver and runtime for RDNA3 (gfx1100).

    import amdrt
    dev = amdrt.devices()[0]
    buf = dev.alloc(4096); buf.copyin(np.arange(1024, dtype=np.float32))
    prog = dev.load(code_object_bytes); prog["kernel"](buf, global_size=1024, local_size=256)

Real GPUs are used when /dev/kfd works, simulated gfx1100 GPUs otherwise (AMDRT_SIM=N forces N).
"""

__version__ = "0.1.0"

from amdrt.device import Device, devices
from amdrt.errors import (
    AmdrtError,
    BufferFreed,
    GPUFault,
    GPUHang,
    GPUTimeout,
    InvalidArgument,
    NoDevice,
    OutOfMemory,
)
from amdrt.kernargs import Local
from amdrt.memory import Buffer
from amdrt.program import Kernel, Program
from amdrt.queue import ComputeQueue, SdmaQueue
from amdrt.runtime import Runtime, reset_default
from amdrt.signal import Signal

__all__ = [
    "AmdrtError", "Buffer", "BufferFreed", "ComputeQueue", "Device", "GPUFault", "GPUHang", "GPUTimeout",
    "InvalidArgument", "Kernel", "Local", "NoDevice", "OutOfMemory", "Program", "Runtime", "SdmaQueue",
    "Signal", "devices", "reset_default", "__version__",
]
