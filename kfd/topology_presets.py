"""Topologies of machines we simulate: a CPU node and RX 7900 XTX (gfx1100, Navi31) GPU nodes.

Node properties are those a real 7900 XTX publishes (key order as the kernel prints them). The
per-level cache split, processor id bases, link bandwidths and gpu_id/unique_id values are modelled
(the kernel derives them from firmware tables and hashes), not copied from one machine.
"""

from __future__ import annotations

import zlib

from kfd import sysfs
from kfd.errors import TopologyError
from kfd.topology import Cache, IoLink, MemBank, Node, Topology

# What the kernel reports for a 7900 XTX's 24 GiB of GDDR6 (a little is reserved by firmware).
RX_7900_XTX_VRAM_BYTES = 25_753_026_560
GFX1100_CU_COUNT = 96
GFX1100_SHADER_ARRAYS = 12         # 6 shader engines x 2 shader arrays
GFX1100_CUS_PER_ARRAY = 8
GPU_PROCESSOR_ID_BASE = 0x80001000  # GPU compute units are numbered from here, after CPU cores

PCIE_GEN4_X16_MBPS = 31_507
PCIE_GEN1_X1_MBPS = 250
XGMI_MBPS = 50_000

PCIE_WEIGHT_GPU_CPU = 20
PCIE_WEIGHT_GPU_GPU = 40
XGMI_WEIGHT = 15

# Keys every node prints, in kernel order; GPU nodes add GPU_ONLY_KEYS before the last one.
COMMON_KEYS = (
    "cpu_cores_count", "simd_count", "mem_banks_count", "caches_count", "io_links_count",
    "p2p_links_count", "cpu_core_id_base", "simd_id_base", "max_waves_per_simd", "lds_size_in_kb",
    "gds_size_in_kb", "num_gws", "wave_front_size", "array_count", "simd_arrays_per_engine",
    "cu_per_simd_array", "simd_per_cu", "max_slots_scratch_cu", "gfx_target_version", "vendor_id",
    "device_id", "location_id", "domain", "drm_render_minor", "hive_id", "num_sdma_engines",
    "num_sdma_xgmi_engines", "num_sdma_queues_per_engine", "num_cp_queues",
)
GPU_ONLY_KEYS = (
    "max_engine_clk_fcompute", "local_mem_size", "fw_version", "capability", "debug_prop",
    "sdma_fw_version", "unique_id", "num_xcc",
)
LAST_KEY = "max_engine_clk_ccompute"

# watch points (4) + 64-bit doorbells + debugger support bits + SVM, as a 7900 XTX reports them
GFX1100_CAPABILITY = 0x2807A280


def update_counts(node: Node) -> Node:
    """Set the *_count properties from the node's lists (keeps the key order)."""
    node.properties["mem_banks_count"] = len(node.mem_banks)
    node.properties["caches_count"] = len(node.caches)
    node.properties["io_links_count"] = len(node.io_links)
    node.properties["p2p_links_count"] = len(node.p2p_links)
    return node


def cpu_node(index: int = 0, *, cores: int = 16, memory_bytes: int = 64 << 30, clock_mhz: int = 4500,
             mem_width: int = 64, mem_clk_max: int = 4800) -> Node:
    props = dict.fromkeys(COMMON_KEYS, 0)
    props["cpu_cores_count"] = cores
    props[LAST_KEY] = clock_mhz
    bank = MemBank({"heap_type": sysfs.HSA_MEM_HEAP_TYPE_SYSTEM, "size_in_bytes": memory_bytes,
                    "flags": 0, "width": mem_width, "mem_clk_max": mem_clk_max})
    return update_counts(Node(index=index, gpu_id=0, name="", properties=props, mem_banks=[bank]))


def _gfx1100_caches(processor_id_low: int) -> list[Cache]:
    """Per CU: 32 KiB vector L0; per WGP (2 CUs): 32 KiB instruction and 16 KiB scalar cache;
    per shader array: 256 KiB GL1; one 6 MiB L2 and one 96 MiB Infinity Cache. 206 in all."""
    data_cu = sysfs.HSA_CACHE_TYPE_DATA | sysfs.HSA_CACHE_TYPE_HSACU
    inst_cu = sysfs.HSA_CACHE_TYPE_INSTRUCTION | sysfs.HSA_CACHE_TYPE_HSACU

    def cache(first_cu: int, shared: int, level: int, size_kib: int, kind: int) -> Cache:
        # Sibling maps span 32 bits per shader array; bits mark the CUs sharing this cache.
        width = 32 if shared <= GFX1100_CUS_PER_ARRAY else 32 * GFX1100_SHADER_ARRAYS
        bits = [1] * shared + [0] * (width - shared) if shared <= GFX1100_CUS_PER_ARRAY else [
            int(b < GFX1100_CUS_PER_ARRAY) for _ in range(GFX1100_SHADER_ARRAYS) for b in range(32)]
        props = {"processor_id_low": processor_id_low + first_cu, "level": level, "size": size_kib,
                 "cache_line_size": 128, "cache_lines_per_tag": 0, "association": 0,
                 "latency": 0, "type": kind}
        return Cache(props, bits)

    caches = [cache(cu, 1, 1, 32, data_cu) for cu in range(GFX1100_CU_COUNT)]
    caches += [cache(cu, 2, 1, 32, inst_cu) for cu in range(0, GFX1100_CU_COUNT, 2)]
    caches += [cache(cu, 2, 1, 16, data_cu) for cu in range(0, GFX1100_CU_COUNT, 2)]
    caches += [cache(cu, GFX1100_CUS_PER_ARRAY, 1, 256, data_cu)
               for cu in range(0, GFX1100_CU_COUNT, GFX1100_CUS_PER_ARRAY)]
    caches.append(cache(0, GFX1100_CU_COUNT, 2, 6 * 1024, data_cu))
    caches.append(cache(0, GFX1100_CU_COUNT, 3, 96 * 1024, data_cu))
    return caches


def gfx1100_node(index: int, *, gpu_id: int, location_id: int, drm_render_minor: int,
                 simd_id_base: int = GPU_PROCESSOR_ID_BASE, unique_id: int = 0, domain: int = 0,
                 cpu_clock_mhz: int = 4500, vram_bytes: int = RX_7900_XTX_VRAM_BYTES,
                 large_bar: bool = True) -> Node:
    """An RX 7900 XTX node without links (see gfx1100_system for a wired machine)."""
    if not 0 < gpu_id < 1 << 16:
        raise TopologyError(f"gpu_id {gpu_id!r} must be a nonzero 16-bit value")
    props = dict.fromkeys(COMMON_KEYS, 0)
    props.update(
        simd_count=192, simd_id_base=simd_id_base, max_waves_per_simd=16, lds_size_in_kb=64,
        gds_size_in_kb=0, num_gws=64, wave_front_size=32, array_count=GFX1100_SHADER_ARRAYS,
        simd_arrays_per_engine=2, cu_per_simd_array=GFX1100_CUS_PER_ARRAY, simd_per_cu=2,
        max_slots_scratch_cu=32, gfx_target_version=110000, vendor_id=0x1002, device_id=0x744C,
        location_id=location_id, domain=domain, drm_render_minor=drm_render_minor, hive_id=0,
        num_sdma_engines=2, num_sdma_xgmi_engines=0, num_sdma_queues_per_engine=6, num_cp_queues=8,
    )
    props.update(
        max_engine_clk_fcompute=2482, local_mem_size=0, fw_version=2140,
        capability=GFX1100_CAPABILITY, debug_prop=1495, sdma_fw_version=20, unique_id=unique_id,
        num_xcc=1,
    )
    props[LAST_KEY] = cpu_clock_mhz
    heap = sysfs.HSA_MEM_HEAP_TYPE_FB_PUBLIC if large_bar else sysfs.HSA_MEM_HEAP_TYPE_FB_PRIVATE
    bank = MemBank({"heap_type": heap, "size_in_bytes": vram_bytes, "flags": 0, "width": 384,
                    "mem_clk_max": 1250})
    node = Node(index=index, gpu_id=gpu_id, name="ip discovery", properties=props,
                mem_banks=[bank], caches=_gfx1100_caches(simd_id_base))
    return update_counts(node)


def link(node_from: int, node_to: int, *, link_type: int = sysfs.HSA_IOLINK_TYPE_PCIEXPRESS,
         weight: int = PCIE_WEIGHT_GPU_CPU, min_bandwidth: int = PCIE_GEN1_X1_MBPS,
         max_bandwidth: int = PCIE_GEN4_X16_MBPS, flags: int = sysfs.HSA_IOLINK_FLAGS_ENABLED) -> IoLink:
    return IoLink({"type": link_type, "version_major": 0, "version_minor": 0,
                   "node_from": node_from, "node_to": node_to, "weight": weight,
                   "min_latency": 0, "max_latency": 0, "min_bandwidth": min_bandwidth,
                   "max_bandwidth": max_bandwidth, "recommended_transfer_size": 0, "flags": flags})


def make_gpu_id(seed: str, taken: set[int]) -> int:
    """A nonzero 16-bit id not in `taken`, stable for a given seed (the kernel hashes PCI data)."""
    value = zlib.crc32(seed.encode()) & 0xFFFF
    while value == 0 or value in taken:
        value = (value * 31 + 7) & 0xFFFF
    return value


def gfx1100_system(num_gpus: int = 1, *, peer_links: str = "p2p", cpu_cores: int = 16,
                   memory_bytes: int = 64 << 30, cpu_clock_mhz: int = 4500,
                   first_render_minor: int = 128, large_bar: bool = True) -> Topology:
    """One CPU node and `num_gpus` 7900 XTX nodes on PCIe, each GPU linked to the CPU both ways.

    peer_links: 'p2p' gives every GPU pair p2p_links (PCIe peer access through the root complex,
    as on real multi-GPU PCIe machines), 'xgmi' direct io_links of XGMI type, 'none' nothing."""
    if not isinstance(num_gpus, int) or not 0 <= num_gpus <= 64:
        raise TopologyError(f"num_gpus must be an int in 0..64, got {num_gpus!r}")
    if peer_links not in ("p2p", "xgmi", "none"):
        raise TopologyError(f"peer_links must be 'p2p', 'xgmi' or 'none', got {peer_links!r}")
    cpu = cpu_node(0, cores=cpu_cores, memory_bytes=memory_bytes, clock_mhz=cpu_clock_mhz)
    gpus, taken = [], set()
    for i in range(num_gpus):
        bus = 0x03 + 0x20 * i
        location_id = bus << 8  # bus << 8 | device << 3 | function
        gpu_id = make_gpu_id(f"0000:{bus:02x}:00.0 744c", taken)
        taken.add(gpu_id)
        gpus.append(gfx1100_node(
            i + 1, gpu_id=gpu_id, location_id=location_id, drm_render_minor=first_render_minor + i,
            simd_id_base=GPU_PROCESSOR_ID_BASE + i * GFX1100_CU_COUNT,
            unique_id=zlib.crc32(f"uid{gpu_id}".encode()) << 32 | gpu_id,
            cpu_clock_mhz=cpu_clock_mhz, large_bar=large_bar))
    for gpu in gpus:
        gpu.io_links.append(link(gpu.index, cpu.index))
        cpu.io_links.append(link(cpu.index, gpu.index))
        for peer in gpus:
            if peer is gpu:
                continue
            if peer_links == "p2p":
                gpu.p2p_links.append(link(gpu.index, peer.index, weight=PCIE_WEIGHT_GPU_GPU))
            elif peer_links == "xgmi":
                gpu.io_links.append(link(gpu.index, peer.index, link_type=sysfs.HSA_IOLINK_TYPE_XGMI,
                                         weight=XGMI_WEIGHT, min_bandwidth=XGMI_MBPS,
                                         max_bandwidth=XGMI_MBPS))
    for node in (cpu, *gpus):
        update_counts(node)
    topo = Topology(nodes=[cpu, *gpus],
                    system_properties={"platform_oem": int.from_bytes(b"AMDRT ", "little"),
                                       "platform_id": int.from_bytes(b"SIMULATE", "little"),
                                       "platform_rev": 1},
                    generation_id=1)
    topo.validate()
    return topo
