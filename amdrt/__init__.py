"""amdrt: a userspace AMD GPU driver and runtime for RDNA3 (gfx1100)."""

__version__ = "0.1.0"
