"""The KFD sysfs topology: a typed model, a reader and a writer.

The kernel publishes one directory per HSA node (CPU NUMA nodes first, then GPUs):

    <root>/generation_id                 decimal counter, bumped when the tree changes
    <root>/system_properties             "key value" lines
    <root>/nodes/N/gpu_id                decimal, 0 for a CPU node
    <root>/nodes/N/name                  asic name, empty for a CPU node
    <root>/nodes/N/properties            "key value" lines, decimal
    <root>/nodes/N/{mem_banks,caches,io_links,p2p_links}/M/properties

All properties are kept as ordered {key: int} dicts so that writing a parsed tree reproduces its
files; the one non-integer value, a cache's comma-separated `sibling_map`, is kept apart as a list.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from kfd import sysfs
from kfd.errors import TopologyError

DEFAULT_ROOT = Path("/sys/devices/virtual/kfd/kfd/topology")

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_UINT = re.compile(r"[0-9]+\Z")
_U64_LIMIT = 1 << 64


# --- the model -----------------------------------------------------------------------------------

def _require(properties: dict[str, int], key: str, what: str) -> int:
    try:
        return properties[key]
    except KeyError:
        raise TopologyError(f"{what} has no {key!r} property") from None


@dataclass
class MemBank:
    properties: dict[str, int] = field(default_factory=dict)

    @property
    def heap_type(self) -> int:
        return _require(self.properties, "heap_type", "memory bank")

    @property
    def size_in_bytes(self) -> int:
        return _require(self.properties, "size_in_bytes", "memory bank")

    @property
    def is_vram(self) -> bool:
        return self.heap_type in sysfs.VRAM_HEAP_TYPES


@dataclass
class Cache:
    properties: dict[str, int] = field(default_factory=dict)
    sibling_map: list[int] | None = None  # one 0/1 entry per compute unit (or CPU core)

    @property
    def level(self) -> int:
        return _require(self.properties, "level", "cache")

    @property
    def size_in_bytes(self) -> int:
        return _require(self.properties, "size", "cache") * 1024  # sysfs reports KiB

    @property
    def shared_by(self) -> int:
        """How many compute units (or cores) share this cache."""
        return sum(1 for bit in self.sibling_map or () if bit)


@dataclass
class IoLink:
    """An io_link (direct) or p2p_link (GPU to GPU through other nodes) between two nodes."""

    properties: dict[str, int] = field(default_factory=dict)

    @property
    def type(self) -> int:
        return _require(self.properties, "type", "io link")

    @property
    def node_from(self) -> int:
        return _require(self.properties, "node_from", "io link")

    @property
    def node_to(self) -> int:
        return _require(self.properties, "node_to", "io link")

    @property
    def weight(self) -> int:
        return self.properties.get("weight", 0)

    @property
    def flags(self) -> int:
        return self.properties.get("flags", 0)

    @property
    def allows_dma(self) -> bool:
        return not self.flags & sysfs.HSA_IOLINK_FLAGS_NO_PEER_TO_PEER_DMA


def gfx_target_name(version: int) -> str:
    """'gfx1100' for gfx_target_version 110000: major*10000 + minor*100 + stepping, where minor
    and stepping are printed as one hex digit each (90010 -> 'gfx90a')."""
    if not isinstance(version, int) or version <= 0:
        raise TopologyError(f"gfx_target_version {version!r} is not a positive integer")
    major, minor, stepping = version // 10000, version // 100 % 100, version % 100
    if minor > 15 or stepping > 15:
        raise TopologyError(f"gfx_target_version {version} has a minor or stepping above 15, "
                            "which no gfx target name can spell")
    return f"gfx{major}{minor:x}{stepping:x}"


@dataclass
class Node:
    index: int
    gpu_id: int = 0
    name: str = ""
    properties: dict[str, int] = field(default_factory=dict)
    mem_banks: list[MemBank] = field(default_factory=list)
    caches: list[Cache] = field(default_factory=list)
    io_links: list[IoLink] = field(default_factory=list)
    p2p_links: list[IoLink] = field(default_factory=list)

    def prop(self, key: str) -> int:
        return _require(self.properties, key, f"node {self.index}")

    @property
    def is_gpu(self) -> bool:
        # What the thunk and ROCr use: only GPU nodes carry a gpu_id.
        return self.gpu_id != 0

    @property
    def gfx_target_version(self) -> int:
        return self.prop("gfx_target_version")

    @property
    def gfx_target(self) -> str | None:
        """The LLVM processor name ('gfx1100'), or None for a CPU node."""
        return gfx_target_name(self.gfx_target_version) if self.is_gpu else None

    @property
    def vram_size(self) -> int:
        """Bytes of local video memory: the memory banks of a frame-buffer heap type."""
        return sum(bank.size_in_bytes for bank in self.mem_banks if bank.is_vram)

    @property
    def simd_count(self) -> int:
        return self.prop("simd_count")

    @property
    def cu_count(self) -> int:
        simd_per_cu = self.prop("simd_per_cu")
        return self.simd_count // simd_per_cu if simd_per_cu else 0

    @property
    def wave_front_size(self) -> int:
        return self.prop("wave_front_size")

    @property
    def lds_size(self) -> int:
        return self.prop("lds_size_in_kb") * 1024

    @property
    def num_sdma_engines(self) -> int:
        return self.prop("num_sdma_engines")

    @property
    def num_sdma_xgmi_engines(self) -> int:
        return self.prop("num_sdma_xgmi_engines")

    @property
    def num_sdma_queues_per_engine(self) -> int:
        return self.prop("num_sdma_queues_per_engine")

    @property
    def drm_render_minor(self) -> int:
        return self.prop("drm_render_minor")

    @property
    def links(self) -> list[IoLink]:
        return self.io_links + self.p2p_links


@dataclass
class Topology:
    nodes: list[Node] = field(default_factory=list)
    system_properties: dict[str, int] = field(default_factory=dict)
    generation_id: int = 1

    @property
    def gpus(self) -> list[Node]:
        return [n for n in self.nodes if n.is_gpu]

    @property
    def cpus(self) -> list[Node]:
        return [n for n in self.nodes if not n.is_gpu]

    def node(self, index: int) -> Node:
        if not isinstance(index, int) or not 0 <= index < len(self.nodes):
            raise TopologyError(f"no node {index!r}; the topology has nodes 0..{len(self.nodes) - 1}")
        return self.nodes[index]

    def node_by_gpu_id(self, gpu_id: int) -> Node:
        for n in self.nodes:
            if n.is_gpu and n.gpu_id == gpu_id:
                return n
        raise TopologyError(f"no GPU with gpu_id {gpu_id!r}")

    def _as_node(self, node: Node | int) -> Node:
        return node if isinstance(node, Node) else self.node(node)

    def peers(self, node: Node | int) -> list[Node]:
        """The nodes `node` has an io_link or p2p_link to, by index."""
        src = self._as_node(node)
        targets = {link.node_to for link in src.links} - {src.index}
        return [self.node(i) for i in sorted(targets)]

    def can_reach(self, a: Node | int, b: Node | int) -> bool:
        """Whether node a can access node b's memory: the same node, or a direct io_link or
        p2p_link from a to b that does not forbid peer DMA."""
        src, dst = self._as_node(a), self._as_node(b)
        if src.index == dst.index:
            return True
        return any(link.node_to == dst.index and link.allows_dma for link in src.links)

    def validate(self) -> None:
        """Raise TopologyError unless the tree is self-consistent: nodes numbered densely,
        unique nonzero gpu_ids, links that start at their node and end at an existing one."""
        seen_gpu_ids: set[int] = set()
        for position, n in enumerate(self.nodes):
            if n.index != position:
                raise TopologyError(f"node at position {position} claims index {n.index}")
            if not isinstance(n.gpu_id, int) or not 0 <= n.gpu_id < 1 << 32:
                raise TopologyError(f"node {position}: gpu_id {n.gpu_id!r} is not a u32")
            if n.is_gpu:
                if n.gpu_id in seen_gpu_ids:
                    raise TopologyError(f"node {position}: gpu_id {n.gpu_id} used twice")
                seen_gpu_ids.add(n.gpu_id)
            for kind, links in (("io_link", n.io_links), ("p2p_link", n.p2p_links)):
                for i, link in enumerate(links):
                    if link.node_from != position:
                        raise TopologyError(f"node {position} {kind} {i} starts at node {link.node_from}")
                    if not 0 <= link.node_to < len(self.nodes):
                        raise TopologyError(f"node {position} {kind} {i} leads to missing node {link.node_to}")


# --- reading -------------------------------------------------------------------------------------

def _read_text(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        raise TopologyError(f"{path} is missing") from None
    except PermissionError:
        raise TopologyError(f"permission denied reading {path} "
                            "(is the GPU hidden from this process by a device cgroup?)") from None
    except UnicodeDecodeError:
        raise TopologyError(f"{path} is not text") from None
    except OSError as e:
        raise TopologyError(f"cannot read {path}: {e.strerror or e}") from None


def _read_uint(path: Path) -> int:
    text = _read_text(path).strip()
    if not _UINT.match(text) or int(text) >= _U64_LIMIT:
        raise TopologyError(f"{path} holds {text!r}, not an unsigned decimal number")
    return int(text)


def parse_properties(text: str, where: str = "properties") -> tuple[dict[str, int], list[int] | None]:
    """Parse 'key value' lines; returns the integer properties and the sibling_map, if any."""
    props: dict[str, int] = {}
    sibling_map: list[int] | None = None
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not _KEY.match(parts[0]):
            raise TopologyError(f"{where}:{lineno}: expected 'key value', got {line!r}")
        key, value = parts
        if key in props or (key == "sibling_map" and sibling_map is not None):
            raise TopologyError(f"{where}:{lineno}: property {key!r} appears twice")
        if key == "sibling_map":
            bits = value.split(",")
            if not all(_UINT.match(b) for b in bits):
                raise TopologyError(f"{where}:{lineno}: sibling_map {value!r} is not a list of numbers")
            sibling_map = [int(b) for b in bits]
            continue
        if not _UINT.match(value) or int(value) >= _U64_LIMIT:
            raise TopologyError(f"{where}:{lineno}: {key} = {value!r} is not an unsigned 64-bit number")
        props[key] = int(value)
    return props, sibling_map


def _read_properties(path: Path) -> tuple[dict[str, int], list[int] | None]:
    return parse_properties(_read_text(path), str(path))


def _indexed_dirs(path: Path, required: bool = False) -> list[Path]:
    """The subdirectories 0..n-1 of path, in order (an absent optional directory has none)."""
    if not path.is_dir():
        if required:
            raise TopologyError(f"{path} is missing or not a directory")
        return []
    entries = {}
    for entry in path.iterdir():
        if not _UINT.match(entry.name) or not entry.is_dir():
            raise TopologyError(f"unexpected entry {entry} (expected numbered directories)")
        entries[int(entry.name)] = entry
    if sorted(entries) != list(range(len(entries))):
        raise TopologyError(f"{path} entries {sorted(entries)} are not numbered 0..{len(entries) - 1}")
    return [entries[i] for i in range(len(entries))]


def _read_node(index: int, path: Path) -> Node:
    name_text = _read_text(path / "name")
    node = Node(index=index, gpu_id=_read_uint(path / "gpu_id"),
                name=name_text[:-1] if name_text.endswith("\n") else name_text,
                properties=_read_properties(path / "properties")[0])
    node.mem_banks = [MemBank(_read_properties(d / "properties")[0])
                      for d in _indexed_dirs(path / "mem_banks")]
    node.caches = [Cache(*_read_properties(d / "properties")) for d in _indexed_dirs(path / "caches")]
    node.io_links = [IoLink(_read_properties(d / "properties")[0])
                     for d in _indexed_dirs(path / "io_links")]
    node.p2p_links = [IoLink(_read_properties(d / "properties")[0])
                      for d in _indexed_dirs(path / "p2p_links")]
    return node


def read_topology(root: str | os.PathLike = DEFAULT_ROOT) -> Topology:
    """Parse a KFD topology tree (the live one under /sys by default)."""
    root = Path(root)
    if not root.is_dir():
        raise TopologyError(f"no KFD topology at {root} (the amdgpu driver's KFD is not loaded here)")
    topo = Topology(generation_id=_read_uint(root / "generation_id"),
                    system_properties=_read_properties(root / "system_properties")[0])
    node_dirs = _indexed_dirs(root / "nodes", required=True)
    if not node_dirs:
        raise TopologyError(f"{root / 'nodes'} holds no nodes")
    topo.nodes = [_read_node(i, d) for i, d in enumerate(node_dirs)]
    topo.validate()
    return topo


# --- writing -------------------------------------------------------------------------------------

def format_properties(properties: dict[str, int], sibling_map: list[int] | None = None,
                      where: str = "properties") -> str:
    lines = []
    for key, value in properties.items():
        if not isinstance(key, str) or not _KEY.match(key) or key == "sibling_map":
            raise TopologyError(f"{where}: {key!r} is not a valid property name")
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < _U64_LIMIT:
            raise TopologyError(f"{where}: {key} = {value!r} is not an unsigned 64-bit integer")
        lines.append(f"{key} {value}\n")
    if sibling_map is not None:
        if not sibling_map or not all(isinstance(b, int) and 0 <= b < _U64_LIMIT for b in sibling_map):
            raise TopologyError(f"{where}: sibling_map {sibling_map!r} is not a non-empty list of numbers")
        lines.append("sibling_map " + ",".join(map(str, sibling_map)) + "\n")
    return "".join(lines)


def write_topology_tree(root: str | os.PathLike, topology: Topology) -> None:
    """Write the files a kernel would publish for `topology` under root (new or empty)."""
    root = Path(root)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise TopologyError(f"{root} exists and is not an empty directory")
    topology.validate()
    if not isinstance(topology.generation_id, int) or not 0 <= topology.generation_id < _U64_LIMIT:
        raise TopologyError(f"generation_id {topology.generation_id!r} is not an unsigned integer")
    # Format everything before touching the disk, so bad input leaves no half-written tree.
    dirs: list[Path] = []
    files: dict[Path, str] = {
        Path("generation_id"): f"{topology.generation_id}\n",
        Path("system_properties"): format_properties(topology.system_properties, where="system_properties"),
    }
    for n in topology.nodes:
        base = Path("nodes") / str(n.index)
        if not isinstance(n.name, str) or "\n" in n.name:
            raise TopologyError(f"node {n.index}: name {n.name!r} must be one line of text")
        files[base / "gpu_id"] = f"{n.gpu_id}\n"
        files[base / "name"] = f"{n.name}\n"
        files[base / "properties"] = format_properties(n.properties, where=f"node {n.index}")
        groups = (("mem_banks", n.mem_banks), ("caches", n.caches), ("io_links", n.io_links),
                  ("p2p_links", n.p2p_links))
        for dirname, items in groups:
            dirs.append(base / dirname)  # the kernel creates these even when empty
            for i, item in enumerate(items):
                where = f"node {n.index} {dirname}/{i}"
                sibling_map = item.sibling_map if isinstance(item, Cache) else None
                files[base / dirname / str(i) / "properties"] = format_properties(
                    item.properties, sibling_map, where)
    for rel in dirs:
        (root / rel).mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
