"""kfd.topology: reading, writing and querying KFD sysfs trees."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kfd import sysfs
from kfd.errors import TopologyError
from kfd.topology import (
    DEFAULT_ROOT,
    Cache,
    IoLink,
    MemBank,
    Node,
    Topology,
    format_properties,
    gfx_target_name,
    parse_properties,
    read_topology,
    write_topology_tree,
)
from kfd.topology_presets import gfx1100_system

FIXTURE = Path(__file__).resolve().parent.parent / "data" / "topology_mixed"


def _files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


# --- generated multi-GPU machines ----------------------------------------------------------------

@pytest.fixture(scope="module")
def xgmi_machine(tmp_path_factory):
    """1 CPU + 4 gfx1100 GPUs, io_links between every GPU pair and to the CPU, written and re-read."""
    topo = gfx1100_system(4, peer_links="xgmi")
    root = tmp_path_factory.mktemp("xgmi") / "topology"
    write_topology_tree(root, topo)
    return topo, root, read_topology(root)


def test_generated_tree_round_trips(xgmi_machine, tmp_path):
    topo, root, parsed = xgmi_machine
    assert parsed == topo
    again = tmp_path / "again"
    write_topology_tree(again, parsed)
    assert _files(again) == _files(root)


def test_generated_tree_has_kernel_layout(xgmi_machine):
    _, root, _ = xgmi_machine
    assert (root / "generation_id").read_text() == "1\n"
    assert (root / "nodes" / "0" / "gpu_id").read_text() == "0\n"
    assert (root / "nodes" / "0" / "name").read_text() == "\n"
    assert (root / "nodes" / "0" / "p2p_links").is_dir()  # present even when empty
    lines = (root / "nodes" / "1" / "properties").read_text().splitlines()
    assert lines[0] == "cpu_cores_count 0" and lines[-1].startswith("max_engine_clk_ccompute ")
    assert "gfx_target_version 110000" in lines and "device_id 29772" in lines
    cache = (root / "nodes" / "1" / "caches" / "0" / "properties").read_text().splitlines()
    assert cache[-1].startswith("sibling_map 1,0,")


def test_generated_gpu_nodes_describe_a_7900_xtx(xgmi_machine):
    _, _, topo = xgmi_machine
    assert len(topo.cpus) == 1 and len(topo.gpus) == 4
    gpu_ids = [g.gpu_id for g in topo.gpus]
    assert len(set(gpu_ids)) == 4 and all(0 < i < 1 << 16 for i in gpu_ids)
    for n, gpu in enumerate(topo.gpus):
        assert gpu.gfx_target == "gfx1100"
        assert gpu.cu_count == 96 and gpu.simd_count == 192
        assert gpu.wave_front_size == 32 and gpu.lds_size == 64 * 1024
        assert gpu.vram_size == 25_753_026_560
        assert gpu.num_sdma_engines == 2 and gpu.num_sdma_xgmi_engines == 0
        assert gpu.num_sdma_queues_per_engine == 6
        assert gpu.prop("vendor_id") == 0x1002 and gpu.prop("device_id") == 0x744C
        assert gpu.drm_render_minor == 128 + n
        assert gpu.prop("caches_count") == len(gpu.caches) == 206
        assert gpu.prop("io_links_count") == len(gpu.io_links) == 4
        # One vector L0 per CU, and the L2 and Infinity Cache shared by all 96.
        assert sum(1 for c in gpu.caches if c.shared_by == 1) == 96
        assert [c.size_in_bytes for c in gpu.caches if c.shared_by == 96] == [6 << 20, 96 << 20]
    cpu = topo.cpus[0]
    assert cpu.gfx_target is None and cpu.vram_size == 0 and not cpu.is_gpu
    assert cpu.prop("io_links_count") == 4


def test_generated_links_reach_everything(xgmi_machine):
    _, _, topo = xgmi_machine
    for a in topo.nodes:
        for b in topo.nodes:
            if a.is_gpu or b.is_gpu:
                assert topo.can_reach(a, b), (a.index, b.index)
    for gpu in topo.gpus:
        assert [p.index for p in topo.peers(gpu)] == [n.index for n in topo.nodes if n is not gpu]
        xgmi = [link for link in gpu.io_links if link.type == sysfs.HSA_IOLINK_TYPE_XGMI]
        assert len(xgmi) == 3


def test_p2p_and_isolated_machines(tmp_path):
    p2p = gfx1100_system(2, peer_links="p2p")
    assert [len(g.p2p_links) for g in p2p.gpus] == [1, 1]
    assert p2p.can_reach(1, 2) and p2p.can_reach(2, 1)
    alone = gfx1100_system(2, peer_links="none")
    assert not alone.can_reach(1, 2)
    assert [p.index for p in alone.peers(1)] == [0]
    small_bar = gfx1100_system(1, large_bar=False)
    assert small_bar.gpus[0].mem_banks[0].heap_type == sysfs.HSA_MEM_HEAP_TYPE_FB_PRIVATE
    assert small_bar.gpus[0].vram_size == 25_753_026_560


@pytest.mark.parametrize("kwargs", [{"num_gpus": -1}, {"num_gpus": 65}, {"num_gpus": 1.0},
                                    {"num_gpus": 1, "peer_links": "nvlink"}])
def test_generator_rejects_bad_arguments(kwargs):
    with pytest.raises(TopologyError):
        gfx1100_system(**kwargs)


# --- a hand-written tree shaped like a real machine ----------------------------------------------

@pytest.fixture(scope="module")
def mixed():
    return read_topology(FIXTURE)


def test_fixture_nodes(mixed):
    assert mixed.generation_id == 3
    assert mixed.system_properties["platform_rev"] == 2
    assert [n.gpu_id for n in mixed.nodes] == [0, 47233, 9121, 52190]
    assert [n.name for n in mixed.nodes] == ["", "ip discovery", "navi21", "aldebaran"]
    assert [n.gfx_target for n in mixed.nodes] == [None, "gfx1100", "gfx1030", "gfx90a"]
    assert [n.cu_count for n in mixed.nodes] == [0, 96, 60, 104]
    assert [n.wave_front_size for n in mixed.nodes] == [0, 32, 32, 64]
    assert [n.num_sdma_xgmi_engines for n in mixed.nodes] == [0, 0, 0, 3]
    assert mixed.node_by_gpu_id(9121).index == 2
    cpu = mixed.node(0)
    assert cpu.prop("cpu_cores_count") == 32 and cpu.mem_banks[0].size_in_bytes == 134850547712


def test_fixture_vram_counts_public_and_private_heaps(mixed):
    assert mixed.node(1).vram_size == 25753026560      # FB_PUBLIC
    assert mixed.node(2).vram_size == 34342961152      # FB_PRIVATE (small BAR)
    assert mixed.node(0).vram_size == 0                # SYSTEM heap is not VRAM


def test_fixture_optional_directories_and_newer_keys(mixed):
    n2 = mixed.node(2)
    assert n2.caches == [] and n2.p2p_links == []
    assert "p2p_links_count" not in n2.properties
    link = mixed.node(3).io_links[0]
    assert link.properties["recommended_sdma_engine_id_mask"] == 3
    assert mixed.node(1).caches[1].shared_by == 32 and mixed.node(1).caches[1].level == 3


def test_fixture_reachability(mixed):
    # GPUs reach the CPU and the CPU reaches every GPU through io_links.
    for g in (1, 2, 3):
        assert mixed.can_reach(g, 0) and mixed.can_reach(0, g)
    # The 1<->3 p2p links carry NO_PEER_TO_PEER_DMA; node 2 has no peer links at all.
    assert [p.index for p in mixed.peers(1)] == [0, 3]
    assert not mixed.can_reach(1, 3) and not mixed.can_reach(3, 1)
    assert not mixed.can_reach(1, 2) and not mixed.can_reach(2, 3)
    assert mixed.can_reach(2, 2)


def test_fixture_rewrites_identically(mixed, tmp_path):
    write_topology_tree(tmp_path / "t", mixed)
    assert _files(tmp_path / "t") == _files(FIXTURE)


def test_lookups_reject_unknown_nodes(mixed):
    with pytest.raises(TopologyError):
        mixed.node(4)
    with pytest.raises(TopologyError):
        mixed.node(-1)
    with pytest.raises(TopologyError):
        mixed.node_by_gpu_id(1)
    with pytest.raises(TopologyError, match="no 'simd_count'"):
        _ = Node(index=0).simd_count


def test_live_topology_reads_or_reports_absence():
    if DEFAULT_ROOT.is_dir():
        assert read_topology().nodes
    else:
        with pytest.raises(TopologyError, match="no KFD topology"):
            read_topology()


# --- malformed trees -----------------------------------------------------------------------------

def _corrupt(tmp_path: Path, edit) -> Path:
    root = tmp_path / "t"
    shutil.copytree(FIXTURE, root)
    edit(root)
    return root


def _write(rel: str, text: str | bytes):
    def edit(root: Path):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
    return edit


def _remove(rel: str):
    def edit(root: Path):
        path = root / rel
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return edit


def _rename(rel: str, new: str):
    return lambda root: (root / rel).rename(root / new)


MALFORMED = {
    "no generation_id": (_remove("generation_id"), "generation_id is missing"),
    "generation_id text": (_write("generation_id", "three\n"), "not an unsigned decimal"),
    "no nodes dir": (_remove("nodes"), "nodes is missing"),
    "no node properties": (_remove("nodes/1/properties"), "properties is missing"),
    "no gpu_id": (_remove("nodes/2/gpu_id"), "gpu_id is missing"),
    "negative gpu_id": (_write("nodes/2/gpu_id", "-5\n"), "not an unsigned decimal"),
    "three tokens": (_write("nodes/1/properties", "simd_count 1 2\n"), "expected 'key value'"),
    "one token": (_write("nodes/1/properties", "simd_count\n"), "expected 'key value'"),
    "hex value": (_write("nodes/1/properties", "simd_count 0x10\n"), "not an unsigned 64-bit"),
    "negative value": (_write("nodes/1/properties", "simd_count -1\n"), "not an unsigned 64-bit"),
    "too large": (_write("nodes/1/properties", f"unique_id {1 << 64}\n"), "not an unsigned 64-bit"),
    "duplicate key": (_write("nodes/1/properties", "simd_count 1\nsimd_count 1\n"), "appears twice"),
    "bad key": (_write("nodes/1/properties", "9lives 1\n"), "expected 'key value'"),
    "bad sibling map": (_write("nodes/1/caches/0/properties", "level 1\nsibling_map 1,x\n"),
                        "sibling_map"),
    "binary": (_write("nodes/1/properties", b"\xff\xfe\x00"), "not text"),
    "node gap": (_rename("nodes/3", "nodes/4"), "not numbered"),
    "named node": (_rename("nodes/3", "nodes/gpu"), "unexpected entry"),
    "file among banks": (_write("nodes/1/mem_banks/readme", "x"), "unexpected entry"),
    "properties is a dir": (lambda r: (_remove("nodes/1/properties")(r),
                                       (r / "nodes/1/properties").mkdir()), "cannot read"),
    "link to missing node": (_write("nodes/2/io_links/0/properties", "node_from 2\nnode_to 9\n"),
                             "missing node 9"),
    "link from elsewhere": (_write("nodes/2/io_links/0/properties", "node_from 1\nnode_to 0\n"),
                            "starts at node 1"),
    "link without endpoints": (_write("nodes/2/io_links/0/properties", "type 2\n"), "no 'node_from'"),
    "duplicate gpu_id": (_write("nodes/2/gpu_id", "47233\n"), "used twice"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_tree_raises_topology_error(tmp_path, case):
    edit, message = MALFORMED[case]
    root = _corrupt(tmp_path, edit)
    with pytest.raises(TopologyError, match=message):
        read_topology(root)


def test_missing_root_and_empty_nodes(tmp_path):
    with pytest.raises(TopologyError, match="no KFD topology"):
        read_topology(tmp_path / "absent")
    (tmp_path / "nodes").mkdir()
    (tmp_path / "generation_id").write_text("1\n")
    (tmp_path / "system_properties").write_text("")
    with pytest.raises(TopologyError, match="holds no nodes"):
        read_topology(tmp_path)


@pytest.mark.parametrize("version,name", [(110000, "gfx1100"), (110001, "gfx1101"),
                                          (110501, "gfx1151"), (100300, "gfx1030"),
                                          (90010, "gfx90a"), (90402, "gfx942"), (120001, "gfx1201"),
                                          (80003, "gfx803")])
def test_gfx_target_names(version, name):
    assert gfx_target_name(version) == name


@pytest.mark.parametrize("version", [0, -1, 110016, 111600, "110000", None])
def test_gfx_target_rejects_unspellable_versions(version):
    with pytest.raises(TopologyError):
        gfx_target_name(version)


def test_gpu_without_target_version_is_an_error():
    with pytest.raises(TopologyError, match="gfx_target_version"):
        _ = Node(index=1, gpu_id=5).gfx_target


# --- the writer's input checks -------------------------------------------------------------------

def _one_node(**changes) -> Topology:
    node = Node(index=0, gpu_id=0, name="", properties={"simd_count": 0})
    for key, value in changes.items():
        setattr(node, key, value)
    return Topology(nodes=[node])


@pytest.mark.parametrize("topo", [
    _one_node(properties={"simd_count": -1}),
    _one_node(properties={"simd_count": 1 << 64}),
    _one_node(properties={"simd_count": True}),
    _one_node(properties={"simd_count": "1"}),
    _one_node(properties={"two words": 1}),
    _one_node(properties={"sibling_map": 1}),
    _one_node(name="a\nb"),
    _one_node(gpu_id=-3),
    _one_node(caches=[Cache({"level": 1}, [])]),
    _one_node(io_links=[IoLink({"node_from": 0, "node_to": 1})]),
    Topology(nodes=[Node(index=1)]),
    Topology(nodes=[Node(index=0)], generation_id=-1),
], ids=lambda t: repr(t)[:60])
def test_writer_rejects_bad_topologies_and_writes_nothing(tmp_path, topo):
    with pytest.raises(TopologyError):
        write_topology_tree(tmp_path / "t", topo)
    assert not (tmp_path / "t").exists()


def test_writer_refuses_a_non_empty_directory(tmp_path):
    (tmp_path / "stale").write_text("x")
    with pytest.raises(TopologyError, match="not an empty directory"):
        write_topology_tree(tmp_path, _one_node())


# --- property tests ------------------------------------------------------------------------------

keys = st.from_regex(r"[a-z_][a-z0-9_]{0,24}", fullmatch=True).filter(lambda k: k != "sibling_map")
values = st.integers(0, (1 << 64) - 1)
prop_dicts = st.dictionaries(keys, values, max_size=12)
sibling_maps = st.none() | st.lists(st.integers(0, 1), min_size=1, max_size=64)


@given(prop_dicts, sibling_maps)
def test_properties_text_round_trips(props, sibling_map):
    text = format_properties(props, sibling_map)
    parsed, parsed_map = parse_properties(text)
    assert parsed == props and list(parsed) == list(props)
    assert parsed_map == sibling_map


@st.composite
def topologies(draw):
    count = draw(st.integers(1, 3))
    nodes = []
    for index in range(count):
        link_targets = draw(st.lists(st.integers(0, count - 1), max_size=3))
        p2p_targets = draw(st.lists(st.integers(0, count - 1), max_size=2))
        nodes.append(Node(
            index=index,
            gpu_id=0 if index == 0 else 1000 + index,
            name=draw(st.from_regex(r"[a-z0-9 ]{0,12}", fullmatch=True)),
            properties=draw(prop_dicts),
            mem_banks=[MemBank(p) for p in draw(st.lists(prop_dicts, max_size=2))],
            caches=[Cache(p, m) for p, m in draw(st.lists(st.tuples(prop_dicts, sibling_maps),
                                                          max_size=2))],
            io_links=[IoLink({**draw(prop_dicts), "node_from": index, "node_to": t})
                      for t in link_targets],
            p2p_links=[IoLink({**draw(prop_dicts), "node_from": index, "node_to": t})
                       for t in p2p_targets],
        ))
    return Topology(nodes=nodes, system_properties=draw(prop_dicts),
                    generation_id=draw(st.integers(0, (1 << 64) - 1)))


@settings(max_examples=30, deadline=None)
@given(topologies())
def test_random_trees_round_trip(topo):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "topology"
        write_topology_tree(root, topo)
        assert read_topology(root) == topo
