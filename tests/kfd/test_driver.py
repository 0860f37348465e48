"""kfd.driver, kfd.real and kfd.hostmem: what can be checked without an AMD GPU.

Nothing here fakes the kernel: the unavailable paths meet real files and devices (/dev/null
answers a KFD ioctl with ENOTTY), and memory mappings are real mappings of this process."""

from __future__ import annotations

import ctypes
import errno
import os
import pickle
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kfd import abi, hostmem
from kfd.driver import Doorbell, check_doorbell_offset, check_ioctl
from kfd.errors import KFDError, KFDUnavailable, TopologyError
from kfd.real import MappedDoorbell, RealDriver, render_node_path
from kfd.topology import read_topology, write_topology_tree
from kfd.topology_presets import cpu_node, gfx1100_system

FIXTURE = Path(__file__).resolve().parent.parent / "data" / "topology_mixed"


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


# --- hostmem -------------------------------------------------------------------------------------

def test_mman_constants_match_the_c_library(tmp_path):
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed; the constants are checked against <sys/mman.h> with it")
    names = ["PROT_NONE", "PROT_READ", "PROT_WRITE", "PROT_EXEC", "MAP_SHARED", "MAP_PRIVATE",
             "MAP_FIXED", "MAP_ANONYMOUS", "MAP_NORESERVE", "MAP_FIXED_NOREPLACE"]
    src = tmp_path / "mman.c"
    src.write_text("#define _GNU_SOURCE\n#include <sys/mman.h>\n#include <stdio.h>\nint main(void) {\n"
                   + "".join(f'printf("%ld\\n", (long){n});\n' for n in names) + "return 0;\n}\n")
    subprocess.run([gcc, "-o", str(tmp_path / "mman"), str(src)], check=True)
    out = subprocess.run([str(tmp_path / "mman")], capture_output=True, text=True, check=True).stdout
    assert [int(v) for v in out.split()] == [getattr(hostmem, n) for n in names]


@pytest.fixture
def reservation():
    """A reserved (PROT_NONE) range of 4 pages, unmapped afterwards."""
    length = 4 * hostmem.PAGE_SIZE
    address = hostmem.mmap(0, length, hostmem.PROT_NONE,
                           hostmem.MAP_PRIVATE | hostmem.MAP_ANONYMOUS | hostmem.MAP_NORESERVE)
    yield address, length
    hostmem.munmap(address, length)


def test_fixed_mapping_lands_on_the_reserved_address(reservation):
    address, length = reservation
    target = address + hostmem.PAGE_SIZE
    got = hostmem.mmap(target, hostmem.PAGE_SIZE, hostmem.PROT_READ | hostmem.PROT_WRITE,
                       hostmem.MAP_PRIVATE | hostmem.MAP_ANONYMOUS | hostmem.MAP_FIXED)
    assert got == target
    ctypes.memmove(target, b"kfd", 3)
    assert ctypes.string_at(target, 3) == b"kfd"


def test_no_replace_refuses_an_occupied_range(reservation):
    address, _ = reservation
    with pytest.raises(OSError) as info:
        hostmem.mmap(address, hostmem.PAGE_SIZE, hostmem.PROT_READ,
                     hostmem.MAP_PRIVATE | hostmem.MAP_ANONYMOUS | hostmem.MAP_FIXED_NOREPLACE)
    assert info.value.errno == errno.EEXIST


def test_offsets_with_bit_63_reach_the_kernel_unsigned(tmp_path):
    # KFD doorbell offsets have bits 63:62 set. /dev/zero accepts any offset; a regular file
    # refuses one beyond the largest file size, which shows the kernel saw it as huge, not negative.
    offset = abi.kfd_mmap_offset(abi.KFD_MMAP_TYPE_DOORBELL, 0x1234)
    fd = os.open("/dev/zero", os.O_RDWR)
    try:
        address = hostmem.mmap(0, hostmem.PAGE_SIZE, hostmem.PROT_READ, hostmem.MAP_PRIVATE, fd, offset)
        assert ctypes.string_at(address, 8) == bytes(8)
        hostmem.munmap(address, hostmem.PAGE_SIZE)
    finally:
        os.close(fd)
    path = tmp_path / "file"
    path.write_bytes(bytes(hostmem.PAGE_SIZE))
    fd = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(OSError) as info:
            hostmem.mmap(0, hostmem.PAGE_SIZE, hostmem.PROT_READ, hostmem.MAP_PRIVATE, fd, offset)
        assert info.value.errno == errno.EOVERFLOW
    finally:
        os.close(fd)


def test_kernel_errors_come_back_as_oserror():
    with pytest.raises(OSError) as info:
        hostmem.mmap(0, hostmem.PAGE_SIZE, hostmem.PROT_READ, hostmem.MAP_SHARED, 987654)
    assert info.value.errno == errno.EBADF
    with pytest.raises(OSError) as info:
        hostmem.munmap(hostmem.PAGE_SIZE + 1, hostmem.PAGE_SIZE)
    assert info.value.errno == errno.EINVAL


@pytest.mark.parametrize("address,length", [(0, 0), (-1, 4096), (1 << 64, 4096), (0, -5),
                                            ((1 << 64) - 4096, 8192), (0, 1.5)])
def test_hostmem_rejects_impossible_ranges(address, length):
    with pytest.raises(ValueError):
        hostmem.mmap(address, length, hostmem.PROT_READ, hostmem.MAP_PRIVATE | hostmem.MAP_ANONYMOUS)


# --- doorbells -----------------------------------------------------------------------------------

@given(st.integers(0, (1 << 64) - 1))
def test_mapped_doorbell_is_one_64_bit_store(value):
    page = hostmem.mmap(0, hostmem.PAGE_SIZE, hostmem.PROT_READ | hostmem.PROT_WRITE,
                        hostmem.MAP_PRIVATE | hostmem.MAP_ANONYMOUS)
    try:
        offset = abi.kfd_mmap_offset(abi.KFD_MMAP_TYPE_DOORBELL, 0x697D, 0x18)
        bell = MappedDoorbell(0x697D, offset, page + 0x18)
        bell.ring(value)
        assert ctypes.string_at(page + 0x18, 8) == value.to_bytes(8, "little")
        assert ctypes.string_at(page + 0x10, 8) == bytes(8) == ctypes.string_at(page + 0x20, 8)
    finally:
        hostmem.munmap(page, hostmem.PAGE_SIZE)


class _RecordingDoorbell(Doorbell):
    def __init__(self):
        super().__init__(1, abi.kfd_mmap_offset(abi.KFD_MMAP_TYPE_DOORBELL, 1))
        self.values = []

    def _store(self, value):
        self.values.append(value)


@pytest.mark.parametrize("bad", [-1, 1 << 64, 1.0, "1", None])
def test_doorbell_refuses_values_that_are_not_u64(bad):
    bell = _RecordingDoorbell()
    with pytest.raises(ValueError):
        bell.ring(bad)
    assert bell.values == []


@given(gpu_id=st.integers(1, 0xFFFF), slot=st.integers(0, 1023))
def test_doorbell_offset_locates_the_slot(gpu_id, slot):
    offset = abi.kfd_mmap_offset(abi.KFD_MMAP_TYPE_DOORBELL, gpu_id, 0x6000 + slot * 8)
    assert check_doorbell_offset(gpu_id, offset) == (0x6000 + slot * 8) % abi.KFD_DOORBELL_SLICE_SIZE


@pytest.mark.parametrize("offset,message", [
    (abi.kfd_mmap_offset(abi.KFD_MMAP_TYPE_EVENTS, 5), "not a doorbell"),
    (abi.kfd_mmap_offset(abi.KFD_MMAP_TYPE_DOORBELL, 6), "belongs to gpu_id 0x6"),
    (abi.kfd_mmap_offset(abi.KFD_MMAP_TYPE_DOORBELL, 5, 4), "8-byte aligned"),
    (-1, "64-bit"),
])
def test_doorbell_offset_checks(offset, message):
    with pytest.raises(ValueError, match=message):
        check_doorbell_offset(5, offset)


# --- ioctl argument checks -----------------------------------------------------------------------

def test_check_ioctl_accepts_the_named_struct():
    d = check_ioctl(abi.AMDKFD_IOC_CREATE_QUEUE, abi.kfd_ioctl_create_queue_args())
    assert d.name == "CREATE_QUEUE" and d.copies_out
    assert not check_ioctl(abi.AMDKFD_IOC_ACQUIRE_VM, abi.kfd_ioctl_acquire_vm_args()).copies_out
    assert check_ioctl(abi.AMDKFD_IOC_SVM, abi.svm_args_type(2)()).name == "SVM"


def test_check_ioctl_refuses_a_struct_of_another_ioctl():
    with pytest.raises(TypeError, match="kfd_ioctl_create_queue_args"):
        check_ioctl(abi.AMDKFD_IOC_CREATE_QUEUE, abi.kfd_ioctl_update_queue_args())
    with pytest.raises(TypeError):
        check_ioctl(abi.AMDKFD_IOC_GET_VERSION, bytearray(8))


def test_check_ioctl_refuses_unknown_requests():
    # CREATE_QUEUE's number with a 96-byte size (a newer header): the kernel would copy back
    # 96 bytes into an 88-byte struct, so it is refused as unknown.
    bigger = abi._IOWR(abi.AMDKFD_IOCTL_BASE, 0x02, abi.kfd_ioctl_create_queue_args) + (8 << 16)
    for request in (bigger, abi.AMDKFD_IO(0x50), 0):
        with pytest.raises(KFDError) as info:
            check_ioctl(request, abi.kfd_ioctl_create_queue_args())
        assert info.value.errno == errno.ENOTTY
    with pytest.raises(TypeError):
        check_ioctl("CREATE_QUEUE", abi.kfd_ioctl_create_queue_args())


def test_kfd_error_names_request_and_errno():
    e = KFDError(errno.EINVAL, "AMDKFD_IOC_CREATE_QUEUE", "ring size is not a power of two")
    assert isinstance(e, OSError) and e.errno == errno.EINVAL
    assert "AMDKFD_IOC_CREATE_QUEUE" in str(e) and "EINVAL" in str(e)
    assert e.request == "AMDKFD_IOC_CREATE_QUEUE"
    again = pickle.loads(pickle.dumps(e))
    assert (again.errno, again.request, str(again)) == (e.errno, e.request, str(e))
    assert "Bad file descriptor" in str(KFDError(errno.EBADF, "mmap"))


# --- the real backend without a GPU --------------------------------------------------------------

@pytest.fixture(scope="module")
def gpu_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("sys") / "topology"
    write_topology_tree(root, gfx1100_system(2))
    return root


def test_missing_device_is_unavailable_with_advice(tmp_path, gpu_tree):
    drv = RealDriver(kfd_path=tmp_path / "kfd", topology_root=gpu_tree)
    with pytest.raises(KFDUnavailable) as info:
        drv.open()
    assert "does not exist" in str(info.value) and "AMDRT_SIM=N" in str(info.value)
    assert not drv.is_open and drv.version is None


def test_default_device(gpu_tree):
    if Path("/dev/kfd").exists():
        with RealDriver() as drv:
            assert drv.version[0] == abi.KFD_IOCTL_MAJOR_VERSION and drv.topology.gpus
    else:
        with pytest.raises(KFDUnavailable, match="/dev/kfd does not exist"):
            RealDriver(topology_root=gpu_tree).open()


@pytest.mark.parametrize("device", ["/dev/null", "regular file"])
def test_a_device_that_is_not_kfd_is_unavailable(tmp_path, gpu_tree, device):
    path = Path(device) if device.startswith("/") else tmp_path / "kfd"
    if not path.exists():
        path.write_bytes(b"")
    before = _open_fds()
    drv = RealDriver(kfd_path=path, topology_root=gpu_tree)
    with pytest.raises(KFDUnavailable, match="does not answer AMDKFD_IOC_GET_VERSION") as info:
        drv.open()
    assert "AMDRT_SIM=N" in str(info.value)
    assert _open_fds() == before and not drv.is_open


def test_a_directory_is_unavailable(tmp_path, gpu_tree):
    with pytest.raises(KFDUnavailable, match="cannot open"):
        RealDriver(kfd_path=tmp_path, topology_root=gpu_tree).open()


def test_missing_or_gpu_less_topology_is_unavailable(tmp_path):
    with pytest.raises(KFDUnavailable, match="no KFD topology"):
        _ = RealDriver(topology_root=tmp_path / "absent").topology
    cpu_only = gfx1100_system(0)
    write_topology_tree(tmp_path / "cpu", cpu_only)
    with pytest.raises(KFDUnavailable, match="lists no GPU"):
        _ = RealDriver(topology_root=tmp_path / "cpu").topology


def test_topology_is_read_from_the_given_root():
    drv = RealDriver(topology_root=FIXTURE)
    assert drv.topology == read_topology(FIXTURE)
    assert drv.topology is drv.topology  # read once


def test_render_node_paths(gpu_tree):
    topo = read_topology(gpu_tree)
    assert [render_node_path(g) for g in topo.gpus] == [Path("/dev/dri/renderD128"),
                                                        Path("/dev/dri/renderD129")]
    assert render_node_path(topo.gpus[0], "/x") == Path("/x/renderD128")
    with pytest.raises(TopologyError):
        render_node_path(cpu_node(0))


def test_a_driver_that_is_not_open_refuses_calls(gpu_tree):
    drv = RealDriver(kfd_path="/nonexistent/kfd", topology_root=gpu_tree)
    with pytest.raises(KFDError) as info:
        drv.ioctl(abi.AMDKFD_IOC_GET_VERSION, abi.kfd_ioctl_get_version_args())
    assert info.value.errno == errno.EBADF and "not open" in str(info.value)
    with pytest.raises(TypeError):  # argument checks come first
        drv.ioctl(abi.AMDKFD_IOC_GET_VERSION, abi.kfd_ioctl_acquire_vm_args())
    gpu_id = read_topology(gpu_tree).gpus[0].gpu_id
    calls = [lambda: drv.mmap(0, 4096, hostmem.PROT_READ, hostmem.MAP_SHARED),
             lambda: drv.munmap(0x10000, 4096),
             lambda: drv.drm_fd(gpu_id),
             lambda: drv.doorbell(gpu_id, abi.kfd_mmap_offset(abi.KFD_MMAP_TYPE_DOORBELL, gpu_id))]
    for call in calls:
        with pytest.raises(KFDError) as info:
            call()
        assert info.value.errno == errno.EBADF
    drv.close()  # closing a driver that never opened is harmless


def test_ioctl_updates_a_ctypes_struct_in_place():
    # The real backend hands kfd.abi structs straight to fcntl.ioctl; FIONREAD on a pipe shows
    # the kernel's answer lands in the struct itself, for structs past fcntl's 1 KiB copy limit too.
    import fcntl
    import termios

    read_end, write_end = os.pipe()
    try:
        os.write(write_end, b"hello")
        for pad in (0, 2000):
            cls = type("Answer", (ctypes.Structure,),
                       {"_fields_": [("count", ctypes.c_int32), ("pad", ctypes.c_uint8 * pad)]})
            answer = cls()
            fcntl.ioctl(read_end, termios.FIONREAD, answer, True)
            assert answer.count == 5
    finally:
        os.close(read_end)
        os.close(write_end)
