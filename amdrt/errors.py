"""Typed errors of the runtime. Each says what went wrong and, where it can, what to do."""

from __future__ import annotations


class AmdrtError(Exception):
    """Base class of every error the runtime raises."""


class NoDevice(AmdrtError):
    """No GPU to run on (no KFD and simulation switched off, or AMDRT_SIM=0)."""


class OutOfMemory(AmdrtError, MemoryError):
    """The driver could not back an allocation (VRAM, system memory or address space)."""


class InvalidArgument(AmdrtError, ValueError):
    """A call the runtime refuses before anything reaches the GPU: wrong kernel arguments, bad
    launch sizes, a buffer too small, an unknown kernel name."""


class BufferFreed(AmdrtError):
    """A buffer was used after free()."""


class GPUFault(AmdrtError):
    """The GPU raised a memory exception (a VM fault): `address` faulted while `kernel` ran on
    `device`. The queue it ran on was recreated; the device stays usable."""

    def __init__(self, address: int, kernel: str | None, device: str, *, write: bool | None = None,
                 reason: str = "page not present"):
        self.address = address
        self.kernel = kernel
        self.device = device
        self.write = write
        self.reason = reason
        what = repr(kernel) if kernel else "queued work"
        hint = ("an access outside every buffer mapped to this GPU; check buffer sizes, indices and the "
                "global size against the data" if reason == "page not present" else
                "the page is mapped, but not for this kind of access")
        super().__init__(f"GPU memory fault at address {address:#x} ({reason}) while running {what} "
                         f"on {device}: {hint}")


class GPUTimeout(AmdrtError):
    """Work did not finish in time. The queue was torn down and recreated; the device stays
    usable. Raise the limit with timeout= or AMDRT_TIMEOUT (seconds) for long kernels."""

    def __init__(self, seconds: float, kernel: str | None, device: str):
        self.seconds = seconds
        self.kernel = kernel
        self.device = device
        what = repr(kernel) if kernel else "queued work"
        super().__init__(
            f"{what} on {device} did not finish within {seconds:g} s; the queue was reset. "
            "If it is just slow, pass a larger timeout= or set AMDRT_TIMEOUT (seconds)")


class GPUHang(GPUTimeout):
    """The driver reset a queue or the GPU (its own hang detection, or an ECC error) and the
    in-flight work was lost. A hang is work that did not finish, so this is a GPUTimeout too."""

    def __init__(self, device: str, reset_type: int, reset_cause: int, kernel: str | None = None,
                 diagnosis: str | None = None):
        self.seconds = None
        self.device = device
        self.reset_type = reset_type
        self.reset_cause = reset_cause
        self.kernel = kernel
        self.diagnosis = diagnosis      # the driver's reason, where it gives one
        cause = "an ECC error" if reset_cause == 1 else "a hang"
        kind = "the whole GPU" if reset_type == 0 else "one engine"
        what = f" running {kernel!r}" if kernel else ""
        why = f" (driver: {diagnosis})" if diagnosis else ""
        AmdrtError.__init__(self, f"{device}: the driver reset {kind} after {cause}{what}{why}; in-flight work "
                                  "was lost and the queue was recreated")
