"""The real backend: the kernel's /dev/kfd, the amdgpu render nodes and the sysfs topology."""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
from pathlib import Path

from kfd import abi, hostmem
from kfd.driver import Doorbell, Driver, map_host, unmap_host
from kfd.errors import KFDError, KFDUnavailable, TopologyError
from kfd.topology import DEFAULT_ROOT, Node, Topology, read_topology

SIM_HINT = "set AMDRT_SIM=N to run on N simulated gfx1100 GPUs instead"
GROUP_HINT = ("add your user to the 'render' and 'video' groups (then log in again), "
              "or in a container pass --device=/dev/kfd --device=/dev/dri")


def render_node_path(node: Node, dri_dir: str | os.PathLike = "/dev/dri") -> Path:
    """/dev/dri/renderD<drm_render_minor> of a GPU node."""
    if not node.is_gpu:
        raise TopologyError(f"node {node.index} is a CPU node and has no render node")
    return Path(dri_dir) / f"renderD{node.drm_render_minor}"


class MappedDoorbell(Doorbell):
    """A doorbell in a mapped doorbell page: ringing it is one 64-bit store."""

    def __init__(self, gpu_id: int, doorbell_offset: int, address: int):
        super().__init__(gpu_id, doorbell_offset)
        self.address = address
        self._cell = ctypes.c_uint64.from_address(address)

    def _store(self, value: int) -> None:
        # Queue memory (the write pointer) is written before this; x86 keeps stores in order.
        self._cell.value = value


class RealDriver(Driver):
    name = "real"

    def __init__(self, kfd_path: str | os.PathLike = "/dev/kfd",
                 topology_root: str | os.PathLike = DEFAULT_ROOT,
                 dri_dir: str | os.PathLike = "/dev/dri"):
        super().__init__()
        self.kfd_path = Path(kfd_path)
        self.topology_root = Path(topology_root)
        self.dri_dir = Path(dri_dir)
        self._fd: int | None = None
        self._topology: Topology | None = None
        self._doorbell_pages: dict[int, int] = {}  # gpu_id -> address of the mapped slice

    # --- topology ----------------------------------------------------------------------------

    @property
    def topology(self) -> Topology:
        if self._topology is None:
            if not self.topology_root.is_dir():
                raise KFDUnavailable(f"no KFD topology at {self.topology_root}: the amdgpu kernel "
                                     f"driver has not registered any GPU with KFD; {SIM_HINT}")
            topo = read_topology(self.topology_root)
            if not topo.gpus:
                raise KFDUnavailable(f"the KFD topology at {self.topology_root} lists no GPU "
                                     f"(none installed, or all hidden from this container); {SIM_HINT}")
            self._topology = topo
        return self._topology

    # --- lifecycle ---------------------------------------------------------------------------

    def _open(self) -> tuple[int, int]:
        path = self.kfd_path
        if not path.exists():
            raise KFDUnavailable(f"{path} does not exist: no AMD GPU with the amdgpu kernel driver "
                                 f"(and its KFD) on this machine; {SIM_HINT}")
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except PermissionError:
            raise KFDUnavailable(f"permission denied opening {path}: {GROUP_HINT}; {SIM_HINT}") from None
        except OSError as e:
            raise KFDUnavailable(f"cannot open {path}: {e.strerror}; {SIM_HINT}") from None
        try:
            probe = abi.kfd_ioctl_get_version_args()
            self._ioctl(abi.IOCTLS[abi.AMDKFD_IOC_GET_VERSION], probe)
        except KFDError as e:
            self._close()
            raise KFDUnavailable(f"{path} does not answer AMDKFD_IOC_GET_VERSION ({e.strerror}); "
                                 f"it is not a KFD device; {SIM_HINT}") from None
        if probe.major_version != abi.KFD_IOCTL_MAJOR_VERSION:
            self._close()
            raise KFDUnavailable(f"{path} speaks KFD {probe.major_version}.{probe.minor_version}; "
                                 f"this runtime needs major version {abi.KFD_IOCTL_MAJOR_VERSION}")
        try:
            self.topology  # noqa: B018 - fail at open, not at first use, when sysfs is unusable
        except (KFDUnavailable, TopologyError):
            self._close()
            raise
        return probe.major_version, probe.minor_version

    def _close(self) -> None:
        for address in self._doorbell_pages.values():
            hostmem.munmap(address, abi.KFD_DOORBELL_SLICE_SIZE)
        self._doorbell_pages.clear()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # --- calls -------------------------------------------------------------------------------

    def _ioctl(self, definition: abi.IoctlDef, args: ctypes.Structure) -> None:
        while True:
            try:
                # Passing the ctypes struct as a mutable buffer lets the kernel update it in place.
                fcntl.ioctl(self._fd, definition.request, args, True)
                return
            except InterruptedError:
                # A signal arrived; the kernel leaves the call restartable (WAIT_EVENTS has
                # already shortened its timeout), and Python has run the signal's handler.
                continue
            except OSError as e:
                raise KFDError(e.errno, f"AMDKFD_IOC_{definition.name}", os.strerror(e.errno)) from None

    def _mmap(self, offset: int, length: int, prot: int, flags: int, address: int | None,
              gpu_id: int | None) -> int:
        if flags & hostmem.MAP_ANONYMOUS:
            fd, source = -1, "anonymous memory"
        elif gpu_id is None:
            fd, source = self._fd, str(self.kfd_path)
        else:
            fd, source = self._render_node_fd(gpu_id), f"the render node of gpu_id {gpu_id:#x}"
        return map_host(address, length, prot, flags, fd, offset, source)

    def _munmap(self, address: int, length: int) -> None:
        unmap_host(address, length)

    def _open_render_node(self, gpu_id: int) -> int:
        try:
            node = self.topology.node_by_gpu_id(gpu_id)
        except TopologyError as e:
            raise KFDError(errno.EINVAL, "drm_fd", str(e)) from None
        path = render_node_path(node, self.dri_dir)
        try:
            return os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except PermissionError:
            raise KFDUnavailable(f"permission denied opening {path}: {GROUP_HINT}") from None
        except OSError as e:
            raise KFDUnavailable(f"cannot open {path}, the render node of gpu_id {gpu_id:#x}: "
                                 f"{e.strerror}") from None

    def _doorbell(self, gpu_id: int, doorbell_offset: int, offset_in_slice: int) -> Doorbell:
        page = self._doorbell_pages.get(gpu_id)
        if page is None:
            # One mapping of the process's doorbell slice per GPU serves all its queues.
            slice_offset = doorbell_offset & ~(abi.KFD_DOORBELL_SLICE_SIZE - 1)
            page = self._mmap(slice_offset, abi.KFD_DOORBELL_SLICE_SIZE,
                              hostmem.PROT_READ | hostmem.PROT_WRITE, hostmem.MAP_SHARED, None, None)
            self._doorbell_pages[gpu_id] = page
        return MappedDoorbell(gpu_id, doorbell_offset, page + offset_in_slice)
