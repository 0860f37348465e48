"""`amdrt info`: every agent of the machine (CPUs and GPUs) as rocminfo shows them: ISA, compute
units, wavefront and workgroup limits, caches, memory pools, SDMA engines and links to peers.

Everything comes from the KFD topology the driver publishes (real or simulated); --json prints
the same facts as one JSON document.
"""

from __future__ import annotations

import argparse
import json
import sys

from kfd import sysfs

LINK_TYPES = {sysfs.HSA_IOLINK_TYPE_PCIEXPRESS: "PCIe", sysfs.HSA_IOLINK_TYPE_XGMI: "XGMI"}
HEAP_NAMES = {0: "system", 1: "VRAM (CPU visible)", 2: "VRAM (not CPU visible)"}
GRID_MAX = 0xFFFFFFFF


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")


def _links(topology, node) -> list[dict]:
    out = []
    for kind, links in (("io_link", node.io_links), ("p2p_link", node.p2p_links)):
        for link in links:
            props = link.properties
            out.append({
                "kind": kind, "to_node": link.node_to, "type": LINK_TYPES.get(link.type, f"type {link.type}"),
                "weight": link.weight, "min_bandwidth_mbps": props.get("min_bandwidth", 0),
                "max_bandwidth_mbps": props.get("max_bandwidth", 0), "peer_dma": link.allows_dma,
            })
    return out


def _caches(node) -> list[dict]:
    """Distinct cache levels: size of one instance and how many there are."""
    levels: dict[tuple[int, int, int], int] = {}
    for cache in node.caches:
        key = (cache.level, cache.size_in_bytes, cache.properties.get("type", 0))
        levels[key] = levels.get(key, 0) + 1
    out = []
    for (level, size, kind), count in sorted(levels.items()):
        what = "instruction" if kind & sysfs.HSA_CACHE_TYPE_INSTRUCTION else "data"
        out.append({"level": level, "type": what, "size_bytes": size, "instances": count})
    return out


def describe(driver) -> dict:
    """The machine as a JSON-ready dict."""
    from amdrt.device import MARKETING_NAMES
    from kfd.queue_sizes import QueueSizes

    topology = driver.topology
    agents = []
    for node in topology.nodes:
        props = node.properties
        agent = {
            "node": node.index, "gpu_id": node.gpu_id,
            "device_type": "GPU" if node.is_gpu else "CPU",
            "memory_pools": [{"segment": "global", "kind": HEAP_NAMES.get(b.heap_type, f"heap {b.heap_type}"),
                              "size_bytes": b.size_in_bytes, "width_bits": b.properties.get("width", 0),
                              "max_clock_mhz": b.properties.get("mem_clk_max", 0)} for b in node.mem_banks],
            "caches": _caches(node),
            "links": _links(topology, node),
        }
        if node.is_gpu:
            device_id = props.get("device_id", 0)
            agent.update({
                "name": node.gfx_target, "marketing_name": MARKETING_NAMES.get(device_id, f"AMD GPU {device_id:#06x}"),
                "vendor_id": props.get("vendor_id", 0), "device_id": device_id,
                "isa": f"amdgcn-amd-amdhsa--{node.gfx_target}",
                "compute_units": node.cu_count, "simds_per_cu": props.get("simd_per_cu", 0),
                "shader_engines": props.get("array_count", 0) // max(props.get("simd_arrays_per_engine", 1), 1),
                "shader_arrays_per_engine": props.get("simd_arrays_per_engine", 0),
                "wavefront_size": node.wave_front_size,
                "max_waves_per_cu": props.get("max_waves_per_simd", 0) * props.get("simd_per_cu", 0),
                "workgroup_max_size": 1024, "workgroup_max_dims": [1024, 1024, 1024],
                "grid_max_size": GRID_MAX, "grid_max_dims": [GRID_MAX] * 3,
                "lds_bytes": node.lds_size, "max_clock_mhz": props.get("max_engine_clk_fcompute", 0),
                "pci_bdf": "{:04x}:{:02x}:{:02x}.{}".format(props.get("domain", 0), props.get("location_id", 0) >> 8,
                                                            (props.get("location_id", 0) >> 3) & 0x1F,
                                                            props.get("location_id", 0) & 7),
                "render_node": f"/dev/dri/renderD{props.get('drm_render_minor', 0)}",
                "sdma_engines": node.num_sdma_engines, "sdma_xgmi_engines": node.num_sdma_xgmi_engines,
                "sdma_queues_per_engine": node.num_sdma_queues_per_engine,
                "compute_queues": props.get("num_cp_queues", 0),
                "firmware": {"mec": props.get("fw_version", 0), "sdma": props.get("sdma_fw_version", 0)},
                "queue_buffers": QueueSizes.for_node(node).as_dict(),
            })
            agent["memory_pools"].append({"segment": "group", "kind": "LDS", "size_bytes": node.lds_size,
                                          "allocatable": False})
        else:
            agent.update({"name": f"CPU node {node.index}", "compute_units": props.get("cpu_cores_count", 0),
                          "max_clock_mhz": props.get("max_engine_clk_ccompute", 0)})
        agents.append(agent)
    version = driver.version or (0, 0)
    return {
        "driver": {"kind": driver.name, "kfd_version": f"{version[0]}.{version[1]}"},
        "agents": agents,
    }


def _size(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.1f} {unit}" if n % (1 << shift) else f"{n >> shift} {unit}"
    return f"{n} B"


def format_text(info: dict) -> str:
    lines = ["=" * 60, "System", "=" * 60,
             f"  KFD driver:              {info['driver']['kind']} (KFD {info['driver']['kfd_version']})",
             f"  Agents:                  {len(info['agents'])}", ""]
    for i, a in enumerate(info["agents"], 1):
        lines += ["=" * 60, f"Agent {i}", "=" * 60,
                  f"  Name:                    {a['name']}"]
        if a["device_type"] == "GPU":
            lines += [
                f"  Marketing Name:          {a['marketing_name']}",
                f"  Device Type:             GPU (node {a['node']}, gpu_id {a['gpu_id']:#x})",
                f"  ISA:                     {a['isa']}",
                f"  Chip ID:                 {a['device_id']:#06x}",
                f"  PCI BDF:                 {a['pci_bdf']}  ({a['render_node']})",
                f"  Compute Units:           {a['compute_units']}",
                f"  SIMDs per CU:            {a['simds_per_cu']}",
                f"  Shader Engines:          {a['shader_engines']} x {a['shader_arrays_per_engine']} arrays",
                f"  Wavefront Size:          {a['wavefront_size']}",
                f"  Max Waves per CU:        {a['max_waves_per_cu']}",
                f"  Workgroup Max Size:      {a['workgroup_max_size']} (per dim {a['workgroup_max_dims']})",
                f"  Grid Max Size:           {a['grid_max_size']:#x}",
                f"  Max Clock:               {a['max_clock_mhz']} MHz",
                f"  SDMA Engines:            {a['sdma_engines']} x {a['sdma_queues_per_engine']} queues"
                + (f" (+{a['sdma_xgmi_engines']} XGMI)" if a["sdma_xgmi_engines"] else ""),
                f"  Compute Queues:          {a['compute_queues']} per pipe",
            ]
        else:
            lines += [f"  Device Type:             CPU (node {a['node']})",
                      f"  Cores:                   {a['compute_units']}",
                      f"  Max Clock:               {a['max_clock_mhz']} MHz"]
        if a["caches"]:
            lines.append("  Caches:")
            for c in a["caches"]:
                lines.append(f"    L{c['level']} {c['type']:<12} {_size(c['size_bytes']):>10} x {c['instances']}")
        lines.append("  Memory Pools:")
        for p in a["memory_pools"]:
            extra = f", {p['width_bits']}-bit @ {p['max_clock_mhz']} MHz" if p.get("width_bits") else ""
            lines.append(f"    {p['segment']:<7} {p['kind']:<24} {_size(p['size_bytes']):>10}{extra}")
        if a["links"]:
            lines.append("  Links:")
            for link in a["links"]:
                dma = "" if link["peer_dma"] else ", no peer DMA"
                lines.append(f"    -> node {link['to_node']}: {link['type']} ({link['kind']}), weight {link['weight']}, "
                             f"{link['max_bandwidth_mbps']} MB/s{dma}")
        lines.append("")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from amdrt.runtime import open_driver

    try:
        driver, _simulated = open_driver()
    except (ValueError, RuntimeError) as e:
        print(f"amdrt info: {e}", file=sys.stderr)
        return 1
    with driver:
        info = describe(driver)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(format_text(info))
    return 0
