"""Compute queue buffer sizes derived from a node, as kfd_queue.c derives them."""

from kfd.queue_sizes import QueueSizes
from kfd.topology_presets import gfx1100_node


def node(**props):
    n = gfx1100_node(1, gpu_id=0x1234, location_id=0x300, drm_render_minor=128)
    n.properties.update(props)
    return n


def test_rx_7900_xtx():
    sizes = QueueSizes.for_node(node())
    waves = 96 * 32
    assert sizes.eop_buffer_size == 0x1000
    assert sizes.ctl_stack_size == -(-(40 + waves * 12 + 8) // 4096) * 4096 == 0xA000
    assert sizes.cwsr_size == 96 * (0x60000 + 0x4000 + 0x10000 + 0x1000) + 0xA000
    assert sizes.debug_memory_size == waves * 32
    assert sizes.cwsr_bo_size % 4096 == 0 and sizes.cwsr_bo_size >= sizes.cwsr_size + sizes.debug_memory_size
    assert sizes.as_dict() == {"eop_buffer_size": 0x1000, "ctl_stack_size": 0xA000,
                               "ctx_save_restore_size": sizes.cwsr_size, "cwsr_bo_size": sizes.cwsr_bo_size}


def test_gfx11_parts_with_the_smaller_vgpr_file():
    large = QueueSizes.for_node(node())
    small = QueueSizes.for_node(node(gfx_target_version=110002))
    assert large.cwsr_size - small.cwsr_size == 96 * (0x60000 - 0x40000)
    assert small.ctl_stack_size == large.ctl_stack_size
