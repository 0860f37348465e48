"""The simulated machine's sysfs: a KFD topology tree and render nodes in a temporary directory.

kfd.topology reads the tree exactly as it reads /sys/devices/virtual/kfd/kfd/topology, so code
above the driver sees simulated GPUs through the same parser as real ones. The render nodes are
plain files standing in for /dev/dri/renderD*: ACQUIRE_VM checks that it gets the one of the
right GPU, as the kernel does.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from kfd.topology import Topology, read_topology, write_topology_tree
from kfd.topology_presets import gfx1100_system


def _scratch_dir() -> str | None:
    """A memory-backed directory for the tree when the machine has one (sysfs is in memory too;
    writing hundreds of small files to disk would make every driver start slow)."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def host_memory_bytes() -> int:
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


class SimSysfs:
    """A topology tree for `num_gpus` RX 7900 XTX GPUs and a CPU node, on disk until close()."""

    def __init__(self, num_gpus: int, peer_links: str = "p2p"):
        self.root = Path(tempfile.mkdtemp(prefix="amdrt-sim-kfd-", dir=_scratch_dir()))
        try:
            model = gfx1100_system(num_gpus, peer_links=peer_links, cpu_cores=os.cpu_count() or 1,
                                   memory_bytes=host_memory_bytes())
            self.topology_root = self.root / "topology"
            write_topology_tree(self.topology_root, model)
            self.topology: Topology = read_topology(self.topology_root)
            self.dri_dir = self.root / "dri"
            self.dri_dir.mkdir()
            self.render_nodes: dict[int, Path] = {}
            for node in self.topology.gpus:
                path = self.dri_dir / f"renderD{node.drm_render_minor}"
                path.write_bytes(b"")
                self.render_nodes[node.gpu_id] = path
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    def render_node_ids(self) -> dict[int, tuple[int, int]]:
        """(st_dev, st_ino) of each GPU's render node, by gpu_id."""
        out = {}
        for gpu_id, path in self.render_nodes.items():
            st = path.stat()
            out[gpu_id] = (st.st_dev, st.st_ino)
        return out

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
