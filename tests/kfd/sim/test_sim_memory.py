"""Bring-up and memory ioctls of the simulated KFD, driven like libhsakmt, with the kernel's errno."""

import ctypes
import errno

import numpy as np
import pytest
from hsakmt import GTT_FLAGS, PAGE, VRAM_FLAGS

from kfd import abi as F
from kfd import hostmem
from kfd.errors import KFDError
from kfd.sim import SimDriver
from kfd.sim.gpu import PageFault
from kfd.topology import read_topology


def errno_of(fn, *args, **kw) -> int:
    with pytest.raises(KFDError) as info:
        fn(*args, **kw)
    return info.value.errno


def test_version_topology_and_apertures(kfd4):
    assert kfd4.version() == (1, 11)
    topo = read_topology(kfd4.drv.topology_root)
    assert len(topo.gpus) == 4 and len(topo.cpus) == 1
    assert all(g.gfx_target == "gfx1100" for g in topo.gpus)
    for g in topo.gpus:  # every GPU reaches every other (peer-to-peer)
        assert all(topo.can_reach(g, p) for p in topo.gpus)
    a = kfd4.ioctl(F.AMDKFD_IOC_GET_PROCESS_APERTURES_NEW, F.kfd_ioctl_get_process_apertures_new_args())
    assert a.num_of_nodes == 4
    entries = (F.kfd_process_device_apertures * 4)()
    a = F.kfd_ioctl_get_process_apertures_new_args(kfd_process_device_apertures_ptr=ctypes.addressof(entries),
                                                   num_of_nodes=4)
    kfd4.ioctl(F.AMDKFD_IOC_GET_PROCESS_APERTURES_NEW, a)
    assert sorted(e.gpu_id for e in entries) == sorted(kfd4.gpu_ids)
    assert all(e.lds_base == 1 << 48 and e.scratch_base == 2 << 48 and e.gpuvm_limit == (1 << 47) - 1
               for e in entries)
    a.kfd_process_device_apertures_ptr = 8  # not user memory
    assert errno_of(kfd4.ioctl, F.AMDKFD_IOC_GET_PROCESS_APERTURES_NEW, a) == errno.EFAULT


def test_alloc_map_free_on_four_gpus_counts_vram(kfd4):
    g = kfd4.gpu_ids
    avail = F.kfd_ioctl_get_available_memory_args(gpu_id=g[1])
    before = kfd4.ioctl(F.AMDKFD_IOC_AVAILABLE_MEMORY, avail).available
    buf = kfd4.alloc(g[1], 3 * PAGE + 5, map_to=g)  # rounded up to 4 pages, mapped on all four
    assert kfd4.ioctl(F.AMDKFD_IOC_AVAILABLE_MEMORY, avail).available == before - 4 * PAGE
    buf.view(np.uint32)[:] = 7
    for gpu_id in g:  # each GPU sees the same bytes at the same address
        pt = kfd4.drv._process.pdds[gpu_id].page_table
        assert pt.read_u32(buf.va + 12) == 7
    assert kfd4.unmap(buf, g[2:]) == 2
    with pytest.raises(PageFault):
        kfd4.drv._process.pdds[g[3]].page_table.read_u32(buf.va)
    kfd4.free(buf, g[:2])
    assert kfd4.ioctl(F.AMDKFD_IOC_AVAILABLE_MEMORY, avail).available == before
    assert errno_of(kfd4.ioctl, F.AMDKFD_IOC_FREE_MEMORY_OF_GPU,
                    F.kfd_ioctl_free_memory_of_gpu_args(handle=buf.handle)) == errno.EINVAL  # double free


def test_map_n_success_resumes_and_stops_at_unknown_gpu(kfd4):
    g = kfd4.gpu_ids
    buf = kfd4.alloc(g[0], PAGE, map_to=[])
    ids = (ctypes.c_uint32 * 3)(g[0], g[1], 0xBEEF)
    a = F.kfd_ioctl_map_memory_to_gpu_args(handle=buf.handle, device_ids_array_ptr=ctypes.addressof(ids),
                                           n_devices=3)
    assert errno_of(kfd4.ioctl, F.AMDKFD_IOC_MAP_MEMORY_TO_GPU, a) == errno.EINVAL
    assert a.n_success == 2  # progress is reported with the error
    ids[2] = g[2]
    kfd4.ioctl(F.AMDKFD_IOC_MAP_MEMORY_TO_GPU, a)  # resumes at n_success
    assert a.n_success == 3
    assert kfd4.drv._process.bos[buf.handle].mapped_on == set(g[:3])
    a.n_success = 4
    assert errno_of(kfd4.ioctl, F.AMDKFD_IOC_MAP_MEMORY_TO_GPU, a) == errno.EINVAL
    a.n_success, a.n_devices = 0, 0
    assert errno_of(kfd4.ioctl, F.AMDKFD_IOC_MAP_MEMORY_TO_GPU, a) == errno.EINVAL
    a.n_devices, a.device_ids_array_ptr = 1, 16
    assert errno_of(kfd4.ioctl, F.AMDKFD_IOC_MAP_MEMORY_TO_GPU, a) == errno.EFAULT
    a.device_ids_array_ptr, a.handle = ctypes.addressof(ids), buf.handle + 1000
    assert errno_of(kfd4.ioctl, F.AMDKFD_IOC_MAP_MEMORY_TO_GPU, a) == errno.ENOMEM  # unknown handle
    a.handle = 0x1234 << 32 | 1
    assert errno_of(kfd4.ioctl, F.AMDKFD_IOC_MAP_MEMORY_TO_GPU, a) == errno.EINVAL  # unknown gpu in handle
    # still mapped: freeing is refused until every GPU let go
    free = F.kfd_ioctl_free_memory_of_gpu_args(handle=buf.handle)
    assert errno_of(kfd4.ioctl, F.AMDKFD_IOC_FREE_MEMORY_OF_GPU, free) == errno.EBUSY
    kfd4.unmap(buf, g[:3])
    unmap = F.kfd_ioctl_unmap_memory_from_gpu_args(handle=buf.handle, device_ids_array_ptr=ctypes.addressof(ids),
                                                   n_devices=1)
    assert errno_of(kfd4.ioctl, F.AMDKFD_IOC_UNMAP_MEMORY_FROM_GPU, unmap) == errno.EINVAL  # mapped nowhere
    kfd4.ioctl(F.AMDKFD_IOC_FREE_MEMORY_OF_GPU, free)


@pytest.mark.parametrize("case, expected", [
    ("size0", errno.EINVAL), ("unaligned", errno.EINVAL), ("unknown_gpu", errno.EINVAL),
    ("no_domain", errno.EINVAL), ("too_big", errno.ENOMEM), ("outside_aperture", errno.EINVAL),
    ("overlap", errno.EINVAL), ("doorbell_size", errno.EINVAL), ("mmio_size", errno.EINVAL),
    ("userptr_null", errno.EINVAL), ("userptr_unmapped", errno.EFAULT), ("occupied", errno.EADDRINUSE),
])
def test_alloc_errors_leave_the_driver_usable(kfd1, case, expected):
    g = kfd1.gpu_ids[0]
    va = kfd1.reserve(4 * PAGE)
    a = F.kfd_ioctl_alloc_memory_of_gpu_args(va_addr=va, size=PAGE, gpu_id=g, flags=VRAM_FLAGS)
    if case == "size0":
        a.size = 0
    elif case == "unaligned":
        a.va_addr = va + 8
    elif case == "unknown_gpu":
        a.gpu_id = 0x4242
    elif case == "no_domain":
        a.flags = F.KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE
    elif case == "too_big":
        a.size = 25 << 30  # more than the 24 GiB of a 7900 XTX
    elif case == "outside_aperture":
        a.va_addr = 1 << 47
    elif case == "overlap":
        kfd1.alloc(g, 2 * PAGE, va=va)
        a.va_addr = va + PAGE
    elif case == "doorbell_size":
        a.flags = F.KFD_IOC_ALLOC_MEM_FLAGS_DOORBELL
    elif case == "mmio_size":
        a.flags, a.size = F.KFD_IOC_ALLOC_MEM_FLAGS_MMIO_REMAP, 2 * PAGE
    elif case == "userptr_null":
        a.flags = F.KFD_IOC_ALLOC_MEM_FLAGS_USERPTR | F.KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE
    elif case == "userptr_unmapped":
        a.flags = F.KFD_IOC_ALLOC_MEM_FLAGS_USERPTR | F.KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE
        a.mmap_offset = va  # reserved, not readable/writable memory
    elif case == "occupied":
        python_heap = ctypes.create_string_buffer(3 * PAGE)
        a.va_addr = (ctypes.addressof(python_heap) + PAGE) & ~(PAGE - 1)
    assert errno_of(kfd1.ioctl, F.AMDKFD_IOC_ALLOC_MEMORY_OF_GPU, a) == expected
    buf = kfd1.alloc(g, PAGE)  # the driver still works
    buf.view(np.uint8)[:] = 3
    assert kfd1.drv._process.pdds[g].page_table.read_bytes(buf.va, 4) == b"\3\3\3\3"
    avail = kfd1.ioctl(F.AMDKFD_IOC_AVAILABLE_MEMORY, F.kfd_ioctl_get_available_memory_args(gpu_id=g))
    assert avail.available == kfd1.drv.topology.gpus[0].vram_size - kfd1.drv._process.pdds[g].device.vram_used


def test_vram_capacity_is_per_gpu(kfd4):
    g = kfd4.gpu_ids
    size = 20 << 30
    bufs = [kfd4.alloc(gpu, size, map_to=[], cpu_map=False) for gpu in g[:2]]  # 20 GiB on each of two GPUs
    va = kfd4.reserve(size)
    a = F.kfd_ioctl_alloc_memory_of_gpu_args(va_addr=va, size=size, gpu_id=g[0], flags=VRAM_FLAGS)
    assert errno_of(kfd4.ioctl, F.AMDKFD_IOC_ALLOC_MEMORY_OF_GPU, a) == errno.ENOMEM
    a.gpu_id = g[2]
    kfd4.ioctl(F.AMDKFD_IOC_ALLOC_MEMORY_OF_GPU, a)
    for b in bufs:
        kfd4.ioctl(F.AMDKFD_IOC_FREE_MEMORY_OF_GPU, F.kfd_ioctl_free_memory_of_gpu_args(handle=b.handle))


def test_vm_must_be_acquired_and_render_node_must_match():
    with SimDriver(2) as drv:
        g0, g1 = (n.gpu_id for n in drv.topology.gpus)
        a = F.kfd_ioctl_alloc_memory_of_gpu_args(va_addr=1 << 30, size=PAGE, gpu_id=g0, flags=VRAM_FLAGS)
        assert errno_of(drv.ioctl, F.AMDKFD_IOC_ALLOC_MEMORY_OF_GPU, a) == errno.ENODEV
        wrong = F.kfd_ioctl_acquire_vm_args(drm_fd=drv.drm_fd(g1), gpu_id=g0)
        assert errno_of(drv.ioctl, F.AMDKFD_IOC_ACQUIRE_VM, wrong) == errno.EINVAL
        bad = F.kfd_ioctl_acquire_vm_args(drm_fd=987654, gpu_id=g0)
        assert errno_of(drv.ioctl, F.AMDKFD_IOC_ACQUIRE_VM, bad) == errno.EINVAL
        good = F.kfd_ioctl_acquire_vm_args(drm_fd=drv.drm_fd(g0), gpu_id=g0)
        drv.ioctl(F.AMDKFD_IOC_ACQUIRE_VM, good)
        drv.ioctl(F.AMDKFD_IOC_ACQUIRE_VM, good)  # the same file again is fine


def test_userptr_gtt_and_cpu_mapping_rules(kfd1):
    g = kfd1.gpu_ids[0]
    host = np.zeros(2 * PAGE, np.uint8)
    base = (host.ctypes.data + PAGE - 1) & ~(PAGE - 1)
    if base + PAGE > host.ctypes.data + host.size:
        pytest.skip("no whole page inside the array")
    gpu_va = kfd1.reserve(PAGE)
    a = F.kfd_ioctl_alloc_memory_of_gpu_args(
        va_addr=gpu_va, size=PAGE, gpu_id=g, mmap_offset=base,
        flags=F.KFD_IOC_ALLOC_MEM_FLAGS_USERPTR | F.KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE)
    kfd1.ioctl(F.AMDKFD_IOC_ALLOC_MEMORY_OF_GPU, a)
    ids = (ctypes.c_uint32 * 1)(g)
    kfd1.ioctl(F.AMDKFD_IOC_MAP_MEMORY_TO_GPU, F.kfd_ioctl_map_memory_to_gpu_args(
        handle=a.handle, device_ids_array_ptr=ctypes.addressof(ids), n_devices=1))
    pt = kfd1.drv._process.pdds[g].page_table
    pt.write_u32(gpu_va + 4, 0xCAFEF00D)  # the GPU writes user memory through its own address
    assert int(np.frombuffer(host, np.uint32, 1, base - host.ctypes.data + 4)[0]) == 0xCAFEF00D
    # VRAM without PUBLIC is not CPU-mappable; a wrong address or offset is refused
    private = kfd1.alloc(g, PAGE, VRAM_FLAGS & ~F.KFD_IOC_ALLOC_MEM_FLAGS_PUBLIC, cpu_map=False)
    rw = hostmem.PROT_READ | hostmem.PROT_WRITE
    assert errno_of(kfd1.drv.mmap, private.mmap_offset, PAGE, rw, hostmem.MAP_SHARED, address=private.va,
                    gpu_id=g) == errno.EPERM
    gtt = kfd1.alloc(g, PAGE, GTT_FLAGS, cpu_map=False)
    assert errno_of(kfd1.drv.mmap, gtt.mmap_offset + PAGE, PAGE, rw, hostmem.MAP_SHARED, gpu_id=g) == errno.EINVAL
    assert kfd1.drv.mmap(gtt.mmap_offset, PAGE, rw, hostmem.MAP_SHARED, address=gtt.va, gpu_id=g) == gtt.va
    # a read-only (no WRITABLE) buffer faults on GPU writes
    ro = kfd1.alloc(g, PAGE, VRAM_FLAGS & ~F.KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE)
    with pytest.raises(PageFault) as info:
        pt.write_u32(ro.va, 1)
    assert info.value.read_only


def test_doorbell_and_mmio_mmap(kfd1):
    g = kfd1.gpu_ids[0]
    rw = hostmem.PROT_READ | hostmem.PROT_WRITE
    off = F.kfd_mmap_offset(F.KFD_MMAP_TYPE_DOORBELL, g)
    assert errno_of(kfd1.drv.mmap, off, PAGE, rw, hostmem.MAP_SHARED) == errno.EINVAL
    assert errno_of(kfd1.drv.mmap, F.kfd_mmap_offset(F.KFD_MMAP_TYPE_DOORBELL, 0x77), 8192, rw,
                    hostmem.MAP_SHARED) == errno.ENODEV
    page = kfd1.drv.mmap(off, 8192, rw, hostmem.MAP_SHARED)
    ctypes.c_uint64.from_address(page + 16).value = 99
    assert ctypes.c_uint64.from_address(kfd1.drv._process.pdds[g].doorbells.address + 16).value == 99
    kfd1.drv.munmap(page, 8192)
    mmio = kfd1.alloc(g, PAGE, F.KFD_IOC_ALLOC_MEM_FLAGS_MMIO_REMAP | F.KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE)
    assert mmio.mmap_offset == F.kfd_mmap_offset(F.KFD_MMAP_TYPE_MMIO, g)
    assert kfd1.drv.mmap(mmio.mmap_offset, PAGE, rw, hostmem.MAP_SHARED) > 0
    assert errno_of(kfd1.drv.mmap, mmio.mmap_offset, 2 * PAGE, rw, hostmem.MAP_SHARED) == errno.EINVAL


def test_misc_ioctls(kfd1):
    g = kfd1.gpu_ids[0]
    clocks = kfd1.ioctl(F.AMDKFD_IOC_GET_CLOCK_COUNTERS, F.kfd_ioctl_get_clock_counters_args(gpu_id=g))
    later = kfd1.ioctl(F.AMDKFD_IOC_GET_CLOCK_COUNTERS, F.kfd_ioctl_get_clock_counters_args(gpu_id=g))
    assert clocks.system_clock_freq == 10**9 and 0 < clocks.gpu_clock_counter <= later.gpu_clock_counter
    assert kfd1.ioctl(F.AMDKFD_IOC_GET_CLOCK_COUNTERS,
                      F.kfd_ioctl_get_clock_counters_args(gpu_id=5)).gpu_clock_counter == 0
    kfd1.ioctl(F.AMDKFD_IOC_SET_SCRATCH_BACKING_VA, F.kfd_ioctl_set_scratch_backing_va_args(va_addr=1 << 40,
                                                                                          gpu_id=g))
    assert errno_of(kfd1.ioctl, F.AMDKFD_IOC_SET_SCRATCH_BACKING_VA,
                    F.kfd_ioctl_set_scratch_backing_va_args(gpu_id=7)) == errno.EINVAL
    assert errno_of(kfd1.ioctl, F.AMDKFD_IOC_AVAILABLE_MEMORY,
                    F.kfd_ioctl_get_available_memory_args(gpu_id=7)) == errno.EINVAL
    assert errno_of(kfd1.ioctl, F.AMDKFD_IOC_DBG_REGISTER_DEPRECATED,
                    F.kfd_ioctl_dbg_register_args(gpu_id=g)) == errno.EPERM
    assert errno_of(kfd1.ioctl, F.AMDKFD_IOC_SET_MEMORY_POLICY,
                    F.kfd_ioctl_set_memory_policy_args(gpu_id=g, default_policy=5)) == errno.EINVAL
    x = kfd1.ioctl(F.AMDKFD_IOC_SET_XNACK_MODE, F.kfd_ioctl_set_xnack_mode_args(xnack_enabled=-1))
    assert x.xnack_enabled == 0
    assert errno_of(kfd1.ioctl, F.AMDKFD_IOC_SET_XNACK_MODE,
                    F.kfd_ioctl_set_xnack_mode_args(xnack_enabled=1)) == errno.EPERM


def test_page_table_word_views_stay_inside_one_permitted_mapping(kfd1):
    """PageTable.words gives the emulator a view of one mapping's host memory, and nothing it
    could not reach by gathers: not across mappings, not unaligned, not a read-only mapping for
    writes, not unmapped memory."""
    g = kfd1.gpu_ids[0]
    pt = kfd1.drv._process.pdds[g].page_table
    a = kfd1.alloc(g, 2 * PAGE)
    ro = kfd1.alloc(g, PAGE, VRAM_FLAGS & ~F.KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE)
    with pt.lock:
        view = pt.words(a.va + 8, PAGE, write=True)
        view[:] = np.arange(PAGE // 4, dtype=np.uint32)
        assert pt.words(a.va + 2, 8) is None                  # unaligned
        assert pt.words(a.va + PAGE, 2 * PAGE) is None        # past the end of the mapping
        assert pt.words(ro.va, 16) is not None
        assert pt.words(ro.va, 16, write=True) is None        # read-only
        assert pt.words(0x100, 4) is None                     # the first page is never mapped
    np.testing.assert_array_equal(np.frombuffer(pt.read_bytes(a.va + 8, PAGE), np.uint32), np.arange(PAGE // 4))
