"""Typed errors of the kfd package."""

from __future__ import annotations

import errno as _errno
import os


class KFDError(OSError):
    """A KFD ioctl (or mmap) failed: the errno the driver returned, which request, and why.

    It is an OSError, so `.errno` holds the error number; `.request` names the ioctl
    (e.g. 'AMDKFD_IOC_CREATE_QUEUE')."""

    def __init__(self, errno: int, request: str, message: str = ""):
        code = _errno.errorcode.get(errno, str(errno))
        detail = message or os.strerror(errno)
        super().__init__(errno, f"{request} failed with {code}: {detail}")
        self.request = request
        self.message = detail

    def __reduce__(self):
        return (type(self), (self.errno, self.request, self.message))


class KFDUnavailable(RuntimeError):
    """No usable KFD on this machine; the message says what is missing and what to do instead."""


class TopologyError(ValueError):
    """A KFD sysfs topology tree (or a Topology object) is missing, malformed or inconsistent."""
