"""The KFD user ABI of <linux/kfd_ioctl.h>: request numbers, argument structs and constants.

Every struct carries the header's name and is laid out as the C compiler lays it out on Linux
(natural alignment, no packing); tests/kfd/test_abi.py compiles the installed header with gcc and
checks every size, field offset, request number and constant here against it.

Layout notes:
- The kernel accepts a struct of any size for a known command number (it zero-extends short
  input), but copies back as many bytes as the request number encodes. A caller must therefore
  hand the driver exactly the struct the request names; `IOCTLS` maps request -> `IoctlDef` so
  drivers can check that.
- mmap offsets on /dev/kfd are not in the user header; the `KFD_MMAP_*` values below follow the
  kernel's private encoding (type in bits 63:62, gpu_id in bits 61:46).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

u32 = ctypes.c_uint32
u64 = ctypes.c_uint64
s32 = ctypes.c_int32

# --- the generic Linux ioctl request encoding (asm-generic/ioctl.h: x86, arm64, riscv) -----------

_IOC_NRBITS = 8
_IOC_TYPEBITS = 8
_IOC_SIZEBITS = 14
_IOC_DIRBITS = 2
_IOC_NRSHIFT = 0
_IOC_TYPESHIFT = _IOC_NRSHIFT + _IOC_NRBITS
_IOC_SIZESHIFT = _IOC_TYPESHIFT + _IOC_TYPEBITS
_IOC_DIRSHIFT = _IOC_SIZESHIFT + _IOC_SIZEBITS

IOC_NONE = 0
IOC_WRITE = 1  # user -> kernel
IOC_READ = 2   # kernel -> user


def _IOC(direction: int, kind: int, nr: int, size: int) -> int:
    if not 0 <= direction < 1 << _IOC_DIRBITS:
        raise ValueError(f"ioctl direction {direction} does not fit in {_IOC_DIRBITS} bits")
    if not 0 <= kind < 1 << _IOC_TYPEBITS:
        raise ValueError(f"ioctl type {kind} does not fit in {_IOC_TYPEBITS} bits")
    if not 0 <= nr < 1 << _IOC_NRBITS:
        raise ValueError(f"ioctl number {nr} does not fit in {_IOC_NRBITS} bits")
    if not 0 <= size < 1 << _IOC_SIZEBITS:
        raise ValueError(f"ioctl argument size {size} does not fit in {_IOC_SIZEBITS} bits")
    return (direction << _IOC_DIRSHIFT) | (kind << _IOC_TYPESHIFT) | (nr << _IOC_NRSHIFT) | (
        size << _IOC_SIZESHIFT)


def _IO(kind: int, nr: int) -> int:
    return _IOC(IOC_NONE, kind, nr, 0)


def _IOR(kind: int, nr: int, struct: type[ctypes.Structure]) -> int:
    return _IOC(IOC_READ, kind, nr, ctypes.sizeof(struct))


def _IOW(kind: int, nr: int, struct: type[ctypes.Structure]) -> int:
    return _IOC(IOC_WRITE, kind, nr, ctypes.sizeof(struct))


def _IOWR(kind: int, nr: int, struct: type[ctypes.Structure]) -> int:
    return _IOC(IOC_READ | IOC_WRITE, kind, nr, ctypes.sizeof(struct))


@dataclass(frozen=True)
class DecodedRequest:
    direction: int
    kind: int
    nr: int
    size: int


def decode_request(request: int) -> DecodedRequest:
    """Split an ioctl request number into its direction, type, number and size fields."""
    if not 0 <= request < 1 << 32:
        raise ValueError(f"ioctl request {request:#x} is not a 32-bit value")
    return DecodedRequest(
        direction=(request >> _IOC_DIRSHIFT) & ((1 << _IOC_DIRBITS) - 1),
        kind=(request >> _IOC_TYPESHIFT) & ((1 << _IOC_TYPEBITS) - 1),
        nr=(request >> _IOC_NRSHIFT) & ((1 << _IOC_NRBITS) - 1),
        size=(request >> _IOC_SIZESHIFT) & ((1 << _IOC_SIZEBITS) - 1),
    )


class KFDStruct(ctypes.Structure):
    """Base of every KFD argument struct: readable repr and equality by bytes."""

    def __repr__(self) -> str:
        names = [name for cls in reversed(type(self).__mro__)
                 for name, *_ in getattr(cls, "_fields_", ())]
        parts = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{type(self).__name__}({parts})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return bytes(self) == bytes(other)

    __hash__ = None  # mutable, like the C struct it mirrors


# --- version -------------------------------------------------------------------------------------

KFD_IOCTL_MAJOR_VERSION = 1
KFD_IOCTL_MINOR_VERSION = 11


class kfd_ioctl_get_version_args(KFDStruct):
    _fields_ = [("major_version", u32), ("minor_version", u32)]


# --- queues --------------------------------------------------------------------------------------

KFD_IOC_QUEUE_TYPE_COMPUTE = 0x0
KFD_IOC_QUEUE_TYPE_SDMA = 0x1
KFD_IOC_QUEUE_TYPE_COMPUTE_AQL = 0x2
KFD_IOC_QUEUE_TYPE_SDMA_XGMI = 0x3

KFD_MAX_QUEUE_PERCENTAGE = 100
KFD_MAX_QUEUE_PRIORITY = 15
KFD_MIN_QUEUE_RING_SIZE = 1024


class kfd_ioctl_create_queue_args(KFDStruct):
    _fields_ = [
        ("ring_base_address", u64),
        ("write_pointer_address", u64),
        ("read_pointer_address", u64),
        ("doorbell_offset", u64),
        ("ring_size", u32),
        ("gpu_id", u32),
        ("queue_type", u32),
        ("queue_percentage", u32),
        ("queue_priority", u32),
        ("queue_id", u32),
        ("eop_buffer_address", u64),
        ("eop_buffer_size", u64),
        ("ctx_save_restore_address", u64),
        ("ctx_save_restore_size", u32),
        ("ctl_stack_size", u32),
    ]


class kfd_ioctl_destroy_queue_args(KFDStruct):
    _fields_ = [("queue_id", u32), ("pad", u32)]


class kfd_ioctl_update_queue_args(KFDStruct):
    _fields_ = [
        ("ring_base_address", u64),
        ("queue_id", u32),
        ("ring_size", u32),
        ("queue_percentage", u32),
        ("queue_priority", u32),
    ]


class kfd_ioctl_set_cu_mask_args(KFDStruct):
    _fields_ = [("queue_id", u32), ("num_cu_mask", u32), ("cu_mask_ptr", u64)]


class kfd_ioctl_get_queue_wave_state_args(KFDStruct):
    _fields_ = [
        ("ctl_stack_address", u64),
        ("ctl_stack_used_size", u32),
        ("save_area_used_size", u32),
        ("queue_id", u32),
        ("pad", u32),
    ]


class kfd_ioctl_get_available_memory_args(KFDStruct):
    _fields_ = [("available", u64), ("gpu_id", u32), ("pad", u32)]


# --- memory policy, clocks, apertures ------------------------------------------------------------

KFD_IOC_CACHE_POLICY_COHERENT = 0
KFD_IOC_CACHE_POLICY_NONCOHERENT = 1


class kfd_ioctl_set_memory_policy_args(KFDStruct):
    _fields_ = [
        ("alternate_aperture_base", u64),
        ("alternate_aperture_size", u64),
        ("gpu_id", u32),
        ("default_policy", u32),
        ("alternate_policy", u32),
        ("pad", u32),
    ]


class kfd_ioctl_get_clock_counters_args(KFDStruct):
    _fields_ = [
        ("gpu_clock_counter", u64),
        ("cpu_clock_counter", u64),
        ("system_clock_counter", u64),
        ("system_clock_freq", u64),
        ("gpu_id", u32),
        ("pad", u32),
    ]


class kfd_process_device_apertures(KFDStruct):
    _fields_ = [
        ("lds_base", u64),
        ("lds_limit", u64),
        ("scratch_base", u64),
        ("scratch_limit", u64),
        ("gpuvm_base", u64),
        ("gpuvm_limit", u64),
        ("gpu_id", u32),
        ("pad", u32),
    ]


NUM_OF_SUPPORTED_GPUS = 7


class kfd_ioctl_get_process_apertures_args(KFDStruct):
    _fields_ = [
        ("process_apertures", kfd_process_device_apertures * NUM_OF_SUPPORTED_GPUS),
        ("num_of_nodes", u32),
        ("pad", u32),
    ]


class kfd_ioctl_get_process_apertures_new_args(KFDStruct):
    _fields_ = [
        ("kfd_process_device_apertures_ptr", u64),
        ("num_of_nodes", u32),
        ("pad", u32),
    ]


# --- deprecated debugger interface (the kernel answers -EPERM) -----------------------------------

MAX_ALLOWED_NUM_POINTS = 100
MAX_ALLOWED_AW_BUFF_SIZE = 4096
MAX_ALLOWED_WAC_BUFF_SIZE = 128


class kfd_ioctl_dbg_register_args(KFDStruct):
    _fields_ = [("gpu_id", u32), ("pad", u32)]


class kfd_ioctl_dbg_unregister_args(KFDStruct):
    _fields_ = [("gpu_id", u32), ("pad", u32)]


class kfd_ioctl_dbg_address_watch_args(KFDStruct):
    _fields_ = [("content_ptr", u64), ("gpu_id", u32), ("buf_size_in_bytes", u32)]


class kfd_ioctl_dbg_wave_control_args(KFDStruct):
    _fields_ = [("content_ptr", u64), ("gpu_id", u32), ("buf_size_in_bytes", u32)]


# --- events --------------------------------------------------------------------------------------

KFD_INVALID_FD = 0xFFFFFFFF

KFD_IOC_EVENT_SIGNAL = 0
KFD_IOC_EVENT_NODECHANGE = 1
KFD_IOC_EVENT_DEVICESTATECHANGE = 2
KFD_IOC_EVENT_HW_EXCEPTION = 3
KFD_IOC_EVENT_SYSTEM_EVENT = 4
KFD_IOC_EVENT_DEBUG_EVENT = 5
KFD_IOC_EVENT_PROFILE_EVENT = 6
KFD_IOC_EVENT_QUEUE_EVENT = 7
KFD_IOC_EVENT_MEMORY = 8

KFD_IOC_WAIT_RESULT_COMPLETE = 0
KFD_IOC_WAIT_RESULT_TIMEOUT = 1
KFD_IOC_WAIT_RESULT_FAIL = 2

KFD_SIGNAL_EVENT_LIMIT = 4096

KFD_HW_EXCEPTION_WHOLE_GPU_RESET = 0
KFD_HW_EXCEPTION_PER_ENGINE_RESET = 1

KFD_HW_EXCEPTION_GPU_HANG = 0
KFD_HW_EXCEPTION_ECC = 1

KFD_MEM_ERR_NO_RAS = 0
KFD_MEM_ERR_SRAM_ECC = 1
KFD_MEM_ERR_POISON_CONSUMED = 2
KFD_MEM_ERR_GPU_HANG = 3


class kfd_ioctl_create_event_args(KFDStruct):
    _fields_ = [
        ("event_page_offset", u64),
        ("event_trigger_data", u32),
        ("event_type", u32),
        ("auto_reset", u32),
        ("node_id", u32),
        ("event_id", u32),
        ("event_slot_index", u32),
    ]


class kfd_ioctl_destroy_event_args(KFDStruct):
    _fields_ = [("event_id", u32), ("pad", u32)]


class kfd_ioctl_set_event_args(KFDStruct):
    _fields_ = [("event_id", u32), ("pad", u32)]


class kfd_ioctl_reset_event_args(KFDStruct):
    _fields_ = [("event_id", u32), ("pad", u32)]


class kfd_memory_exception_failure(KFDStruct):
    _fields_ = [
        ("NotPresent", u32),
        ("ReadOnly", u32),
        ("NoExecute", u32),
        ("imprecise", u32),
    ]


class kfd_hsa_memory_exception_data(KFDStruct):
    _fields_ = [
        ("failure", kfd_memory_exception_failure),
        ("va", u64),
        ("gpu_id", u32),
        ("ErrorType", u32),
    ]


class kfd_hsa_hw_exception_data(KFDStruct):
    _fields_ = [
        ("reset_type", u32),
        ("reset_cause", u32),
        ("memory_lost", u32),
        ("gpu_id", u32),
    ]


class kfd_event_data_exception(ctypes.Union):
    """The anonymous union at the head of kfd_event_data (unnamed in C, so any name works)."""

    _fields_ = [
        ("memory_exception_data", kfd_hsa_memory_exception_data),
        ("hw_exception_data", kfd_hsa_hw_exception_data),
    ]


class kfd_event_data(KFDStruct):
    # `exception` is anonymous, so its members read as ev.memory_exception_data as in C.
    _anonymous_ = ("exception",)
    _fields_ = [
        ("exception", kfd_event_data_exception),
        ("kfd_event_data_ext", u64),
        ("event_id", u32),
        ("pad", u32),
    ]


class kfd_ioctl_wait_events_args(KFDStruct):
    _fields_ = [
        ("events_ptr", u64),
        ("num_events", u32),
        ("wait_for_all", u32),
        ("timeout", u32),
        ("wait_result", u32),
    ]


# --- scratch, tiling, trap handler, VM -----------------------------------------------------------

class kfd_ioctl_set_scratch_backing_va_args(KFDStruct):
    _fields_ = [("va_addr", u64), ("gpu_id", u32), ("pad", u32)]


class kfd_ioctl_get_tile_config_args(KFDStruct):
    _fields_ = [
        ("tile_config_ptr", u64),
        ("macro_tile_config_ptr", u64),
        ("num_tile_configs", u32),
        ("num_macro_tile_configs", u32),
        ("gpu_id", u32),
        ("gb_addr_config", u32),
        ("num_banks", u32),
        ("num_ranks", u32),
    ]


class kfd_ioctl_set_trap_handler_args(KFDStruct):
    _fields_ = [("tba_addr", u64), ("tma_addr", u64), ("gpu_id", u32), ("pad", u32)]


class kfd_ioctl_acquire_vm_args(KFDStruct):
    _fields_ = [("drm_fd", u32), ("gpu_id", u32)]


# --- memory objects ------------------------------------------------------------------------------

KFD_IOC_ALLOC_MEM_FLAGS_VRAM = 1 << 0
KFD_IOC_ALLOC_MEM_FLAGS_GTT = 1 << 1
KFD_IOC_ALLOC_MEM_FLAGS_USERPTR = 1 << 2
KFD_IOC_ALLOC_MEM_FLAGS_DOORBELL = 1 << 3
KFD_IOC_ALLOC_MEM_FLAGS_MMIO_REMAP = 1 << 4
KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE = 1 << 31
KFD_IOC_ALLOC_MEM_FLAGS_EXECUTABLE = 1 << 30
KFD_IOC_ALLOC_MEM_FLAGS_PUBLIC = 1 << 29
KFD_IOC_ALLOC_MEM_FLAGS_NO_SUBSTITUTE = 1 << 28
KFD_IOC_ALLOC_MEM_FLAGS_AQL_QUEUE_MEM = 1 << 27
KFD_IOC_ALLOC_MEM_FLAGS_COHERENT = 1 << 26
KFD_IOC_ALLOC_MEM_FLAGS_UNCACHED = 1 << 25


class kfd_ioctl_alloc_memory_of_gpu_args(KFDStruct):
    _fields_ = [
        ("va_addr", u64),
        ("size", u64),
        ("handle", u64),
        ("mmap_offset", u64),  # in: CPU address for USERPTR; out: render-node mmap offset
        ("gpu_id", u32),
        ("flags", u32),
    ]


class kfd_ioctl_free_memory_of_gpu_args(KFDStruct):
    _fields_ = [("handle", u64)]


class kfd_ioctl_map_memory_to_gpu_args(KFDStruct):
    _fields_ = [
        ("handle", u64),
        ("device_ids_array_ptr", u64),  # u32 gpu_id[n_devices]
        ("n_devices", u32),
        ("n_success", u32),  # in: devices already done (resume); out: devices done
    ]


class kfd_ioctl_unmap_memory_from_gpu_args(KFDStruct):
    _fields_ = [
        ("handle", u64),
        ("device_ids_array_ptr", u64),
        ("n_devices", u32),
        ("n_success", u32),
    ]


class kfd_ioctl_alloc_queue_gws_args(KFDStruct):
    _fields_ = [("queue_id", u32), ("num_gws", u32), ("first_gws", u32), ("pad", u32)]


class kfd_ioctl_get_dmabuf_info_args(KFDStruct):
    _fields_ = [
        ("size", u64),
        ("metadata_ptr", u64),
        ("metadata_size", u32),
        ("gpu_id", u32),
        ("flags", u32),
        ("dmabuf_fd", u32),
    ]


class kfd_ioctl_import_dmabuf_args(KFDStruct):
    _fields_ = [("va_addr", u64), ("handle", u64), ("gpu_id", u32), ("dmabuf_fd", u32)]


# --- SMI events ----------------------------------------------------------------------------------

# enum kfd_smi_event
KFD_SMI_EVENT_NONE = 0
KFD_SMI_EVENT_VMFAULT = 1
KFD_SMI_EVENT_THERMAL_THROTTLE = 2
KFD_SMI_EVENT_GPU_PRE_RESET = 3
KFD_SMI_EVENT_GPU_POST_RESET = 4
KFD_SMI_EVENT_MIGRATE_START = 5
KFD_SMI_EVENT_MIGRATE_END = 6
KFD_SMI_EVENT_PAGE_FAULT_START = 7
KFD_SMI_EVENT_PAGE_FAULT_END = 8
KFD_SMI_EVENT_QUEUE_EVICTION = 9
KFD_SMI_EVENT_QUEUE_RESTORE = 10
KFD_SMI_EVENT_UNMAP_FROM_GPU = 11
KFD_SMI_EVENT_ALL_PROCESS = 64

# enum KFD_MIGRATE_TRIGGERS
KFD_MIGRATE_TRIGGER_PREFETCH = 0
KFD_MIGRATE_TRIGGER_PAGEFAULT_GPU = 1
KFD_MIGRATE_TRIGGER_PAGEFAULT_CPU = 2
KFD_MIGRATE_TRIGGER_TTM_EVICTION = 3

# enum KFD_QUEUE_EVICTION_TRIGGERS
KFD_QUEUE_EVICTION_TRIGGER_SVM = 0
KFD_QUEUE_EVICTION_TRIGGER_USERPTR = 1
KFD_QUEUE_EVICTION_TRIGGER_TTM = 2
KFD_QUEUE_EVICTION_TRIGGER_SUSPEND = 3
KFD_QUEUE_EVICTION_CRIU_CHECKPOINT = 4
KFD_QUEUE_EVICTION_CRIU_RESTORE = 5

# enum KFD_SVM_UNMAP_TRIGGERS
KFD_SVM_UNMAP_TRIGGER_MMU_NOTIFY = 0
KFD_SVM_UNMAP_TRIGGER_MMU_NOTIFY_MIGRATE = 1
KFD_SVM_UNMAP_TRIGGER_UNMAP_FROM_CPU = 2

KFD_SMI_EVENT_MSG_SIZE = 96


def KFD_SMI_EVENT_MASK_FROM_INDEX(index: int) -> int:
    """The bit to write to the SMI event fd to subscribe to event `index` (counted from 1)."""
    if not 1 <= index <= 64:
        raise ValueError(f"SMI event index {index} is outside 1..64")
    return 1 << (index - 1)


class kfd_ioctl_smi_events_args(KFDStruct):
    _fields_ = [("gpuid", u32), ("anon_fd", u32)]


# --- checkpoint/restore (CRIU) -------------------------------------------------------------------

# enum kfd_criu_op
KFD_CRIU_OP_PROCESS_INFO = 0
KFD_CRIU_OP_CHECKPOINT = 1
KFD_CRIU_OP_UNPAUSE = 2
KFD_CRIU_OP_RESTORE = 3
KFD_CRIU_OP_RESUME = 4


class kfd_ioctl_criu_args(KFDStruct):
    _fields_ = [
        ("devices", u64),
        ("bos", u64),
        ("priv_data", u64),
        ("priv_data_size", u64),
        ("num_devices", u32),
        ("num_bos", u32),
        ("num_objects", u32),
        ("pid", u32),
        ("op", u32),
    ]


class kfd_criu_device_bucket(KFDStruct):
    _fields_ = [("user_gpu_id", u32), ("actual_gpu_id", u32), ("drm_fd", u32), ("pad", u32)]


class kfd_criu_bo_bucket(KFDStruct):
    _fields_ = [
        ("addr", u64),
        ("size", u64),
        ("offset", u64),
        ("restored_offset", u64),
        ("gpu_id", u32),
        ("alloc_flags", u32),
        ("dmabuf_fd", u32),
        ("pad", u32),
    ]


# --- MMIO remap page -----------------------------------------------------------------------------

# enum kfd_mmio_remap: byte offsets of the HDP flush registers in the remapped page
KFD_MMIO_REMAP_HDP_MEM_FLUSH_CNTL = 0
KFD_MMIO_REMAP_HDP_REG_FLUSH_CNTL = 4

# --- shared virtual memory -----------------------------------------------------------------------

KFD_IOCTL_SVM_FLAG_HOST_ACCESS = 0x00000001
KFD_IOCTL_SVM_FLAG_COHERENT = 0x00000002
KFD_IOCTL_SVM_FLAG_HIVE_LOCAL = 0x00000004
KFD_IOCTL_SVM_FLAG_GPU_RO = 0x00000008
KFD_IOCTL_SVM_FLAG_GPU_EXEC = 0x00000010
KFD_IOCTL_SVM_FLAG_GPU_READ_MOSTLY = 0x00000020
KFD_IOCTL_SVM_FLAG_GPU_ALWAYS_MAPPED = 0x00000040

# enum kfd_ioctl_svm_op
KFD_IOCTL_SVM_OP_SET_ATTR = 0
KFD_IOCTL_SVM_OP_GET_ATTR = 1

# enum kfd_ioctl_svm_location
KFD_IOCTL_SVM_LOCATION_SYSMEM = 0
KFD_IOCTL_SVM_LOCATION_UNDEFINED = 0xFFFFFFFF

# enum kfd_ioctl_svm_attr_type
KFD_IOCTL_SVM_ATTR_PREFERRED_LOC = 0
KFD_IOCTL_SVM_ATTR_PREFETCH_LOC = 1
KFD_IOCTL_SVM_ATTR_ACCESS = 2
KFD_IOCTL_SVM_ATTR_ACCESS_IN_PLACE = 3
KFD_IOCTL_SVM_ATTR_NO_ACCESS = 4
KFD_IOCTL_SVM_ATTR_SET_FLAGS = 5
KFD_IOCTL_SVM_ATTR_CLR_FLAGS = 6
KFD_IOCTL_SVM_ATTR_GRANULARITY = 7


class kfd_ioctl_svm_attribute(KFDStruct):
    _fields_ = [("type", u32), ("value", u32)]


class kfd_ioctl_svm_args(KFDStruct):
    # `attrs` is a C flexible array member: zero length here; see svm_args_type(n).
    _fields_ = [
        ("start_addr", u64),
        ("size", u64),
        ("op", u32),
        ("nattr", u32),
        ("attrs", kfd_ioctl_svm_attribute * 0),
    ]


_svm_args_types: dict[int, type[kfd_ioctl_svm_args]] = {}


def svm_args_type(nattr: int) -> type[kfd_ioctl_svm_args]:
    """kfd_ioctl_svm_args followed by room for `nattr` attributes (the flexible array, filled)."""
    if not isinstance(nattr, int) or nattr < 0:
        raise ValueError(f"SVM attribute count must be a non-negative int, got {nattr!r}")
    cls = _svm_args_types.get(nattr)
    if cls is None:
        # A ctypes subclass lays its fields out after the base's, i.e. exactly where attrs[] starts.
        cls = type(f"kfd_ioctl_svm_args_{nattr}", (kfd_ioctl_svm_args,),
                   {"_fields_": [("attr_list", kfd_ioctl_svm_attribute * nattr)]})
        _svm_args_types[nattr] = cls
    return cls


class kfd_ioctl_set_xnack_mode_args(KFDStruct):
    _fields_ = [("xnack_enabled", s32)]


# --- request numbers -----------------------------------------------------------------------------

AMDKFD_IOCTL_BASE = ord("K")


def AMDKFD_IO(nr: int) -> int:
    return _IO(AMDKFD_IOCTL_BASE, nr)


def AMDKFD_IOR(nr: int, struct: type[ctypes.Structure]) -> int:
    return _IOR(AMDKFD_IOCTL_BASE, nr, struct)


def AMDKFD_IOW(nr: int, struct: type[ctypes.Structure]) -> int:
    return _IOW(AMDKFD_IOCTL_BASE, nr, struct)


def AMDKFD_IOWR(nr: int, struct: type[ctypes.Structure]) -> int:
    return _IOWR(AMDKFD_IOCTL_BASE, nr, struct)


AMDKFD_IOC_GET_VERSION = AMDKFD_IOR(0x01, kfd_ioctl_get_version_args)
AMDKFD_IOC_CREATE_QUEUE = AMDKFD_IOWR(0x02, kfd_ioctl_create_queue_args)
AMDKFD_IOC_DESTROY_QUEUE = AMDKFD_IOWR(0x03, kfd_ioctl_destroy_queue_args)
AMDKFD_IOC_SET_MEMORY_POLICY = AMDKFD_IOW(0x04, kfd_ioctl_set_memory_policy_args)
AMDKFD_IOC_GET_CLOCK_COUNTERS = AMDKFD_IOWR(0x05, kfd_ioctl_get_clock_counters_args)
AMDKFD_IOC_GET_PROCESS_APERTURES = AMDKFD_IOR(0x06, kfd_ioctl_get_process_apertures_args)
AMDKFD_IOC_UPDATE_QUEUE = AMDKFD_IOW(0x07, kfd_ioctl_update_queue_args)
AMDKFD_IOC_CREATE_EVENT = AMDKFD_IOWR(0x08, kfd_ioctl_create_event_args)
AMDKFD_IOC_DESTROY_EVENT = AMDKFD_IOW(0x09, kfd_ioctl_destroy_event_args)
AMDKFD_IOC_SET_EVENT = AMDKFD_IOW(0x0A, kfd_ioctl_set_event_args)
AMDKFD_IOC_RESET_EVENT = AMDKFD_IOW(0x0B, kfd_ioctl_reset_event_args)
AMDKFD_IOC_WAIT_EVENTS = AMDKFD_IOWR(0x0C, kfd_ioctl_wait_events_args)
AMDKFD_IOC_DBG_REGISTER_DEPRECATED = AMDKFD_IOW(0x0D, kfd_ioctl_dbg_register_args)
AMDKFD_IOC_DBG_UNREGISTER_DEPRECATED = AMDKFD_IOW(0x0E, kfd_ioctl_dbg_unregister_args)
AMDKFD_IOC_DBG_ADDRESS_WATCH_DEPRECATED = AMDKFD_IOW(0x0F, kfd_ioctl_dbg_address_watch_args)
AMDKFD_IOC_DBG_WAVE_CONTROL_DEPRECATED = AMDKFD_IOW(0x10, kfd_ioctl_dbg_wave_control_args)
AMDKFD_IOC_SET_SCRATCH_BACKING_VA = AMDKFD_IOWR(0x11, kfd_ioctl_set_scratch_backing_va_args)
AMDKFD_IOC_GET_TILE_CONFIG = AMDKFD_IOWR(0x12, kfd_ioctl_get_tile_config_args)
AMDKFD_IOC_SET_TRAP_HANDLER = AMDKFD_IOW(0x13, kfd_ioctl_set_trap_handler_args)
AMDKFD_IOC_GET_PROCESS_APERTURES_NEW = AMDKFD_IOWR(0x14, kfd_ioctl_get_process_apertures_new_args)
AMDKFD_IOC_ACQUIRE_VM = AMDKFD_IOW(0x15, kfd_ioctl_acquire_vm_args)
AMDKFD_IOC_ALLOC_MEMORY_OF_GPU = AMDKFD_IOWR(0x16, kfd_ioctl_alloc_memory_of_gpu_args)
AMDKFD_IOC_FREE_MEMORY_OF_GPU = AMDKFD_IOW(0x17, kfd_ioctl_free_memory_of_gpu_args)
AMDKFD_IOC_MAP_MEMORY_TO_GPU = AMDKFD_IOWR(0x18, kfd_ioctl_map_memory_to_gpu_args)
AMDKFD_IOC_UNMAP_MEMORY_FROM_GPU = AMDKFD_IOWR(0x19, kfd_ioctl_unmap_memory_from_gpu_args)
AMDKFD_IOC_SET_CU_MASK = AMDKFD_IOW(0x1A, kfd_ioctl_set_cu_mask_args)
AMDKFD_IOC_GET_QUEUE_WAVE_STATE = AMDKFD_IOWR(0x1B, kfd_ioctl_get_queue_wave_state_args)
AMDKFD_IOC_GET_DMABUF_INFO = AMDKFD_IOWR(0x1C, kfd_ioctl_get_dmabuf_info_args)
AMDKFD_IOC_IMPORT_DMABUF = AMDKFD_IOWR(0x1D, kfd_ioctl_import_dmabuf_args)
AMDKFD_IOC_ALLOC_QUEUE_GWS = AMDKFD_IOWR(0x1E, kfd_ioctl_alloc_queue_gws_args)
AMDKFD_IOC_SMI_EVENTS = AMDKFD_IOWR(0x1F, kfd_ioctl_smi_events_args)
AMDKFD_IOC_SVM = AMDKFD_IOWR(0x20, kfd_ioctl_svm_args)
AMDKFD_IOC_SET_XNACK_MODE = AMDKFD_IOWR(0x21, kfd_ioctl_set_xnack_mode_args)
AMDKFD_IOC_CRIU_OP = AMDKFD_IOWR(0x22, kfd_ioctl_criu_args)
AMDKFD_IOC_AVAILABLE_MEMORY = AMDKFD_IOWR(0x23, kfd_ioctl_get_available_memory_args)

AMDKFD_COMMAND_START = 0x01
AMDKFD_COMMAND_END = 0x24


# --- dispatch table ------------------------------------------------------------------------------

@dataclass(frozen=True)
class IoctlDef:
    """One KFD ioctl: `name` without the AMDKFD_IOC_ prefix, e.g. 'CREATE_QUEUE'."""

    name: str
    request: int
    struct: type[ctypes.Structure]

    @property
    def nr(self) -> int:
        return decode_request(self.request).nr

    @property
    def direction(self) -> int:
        return decode_request(self.request).direction

    @property
    def copies_out(self) -> bool:
        """Whether the kernel writes results back into the struct (_IOR and _IOWR)."""
        return bool(self.direction & IOC_READ)


def _collect_ioctls() -> dict[int, IoctlDef]:
    by_nr_struct = {
        0x01: kfd_ioctl_get_version_args, 0x02: kfd_ioctl_create_queue_args,
        0x03: kfd_ioctl_destroy_queue_args, 0x04: kfd_ioctl_set_memory_policy_args,
        0x05: kfd_ioctl_get_clock_counters_args, 0x06: kfd_ioctl_get_process_apertures_args,
        0x07: kfd_ioctl_update_queue_args, 0x08: kfd_ioctl_create_event_args,
        0x09: kfd_ioctl_destroy_event_args, 0x0A: kfd_ioctl_set_event_args,
        0x0B: kfd_ioctl_reset_event_args, 0x0C: kfd_ioctl_wait_events_args,
        0x0D: kfd_ioctl_dbg_register_args, 0x0E: kfd_ioctl_dbg_unregister_args,
        0x0F: kfd_ioctl_dbg_address_watch_args, 0x10: kfd_ioctl_dbg_wave_control_args,
        0x11: kfd_ioctl_set_scratch_backing_va_args, 0x12: kfd_ioctl_get_tile_config_args,
        0x13: kfd_ioctl_set_trap_handler_args, 0x14: kfd_ioctl_get_process_apertures_new_args,
        0x15: kfd_ioctl_acquire_vm_args, 0x16: kfd_ioctl_alloc_memory_of_gpu_args,
        0x17: kfd_ioctl_free_memory_of_gpu_args, 0x18: kfd_ioctl_map_memory_to_gpu_args,
        0x19: kfd_ioctl_unmap_memory_from_gpu_args, 0x1A: kfd_ioctl_set_cu_mask_args,
        0x1B: kfd_ioctl_get_queue_wave_state_args, 0x1C: kfd_ioctl_get_dmabuf_info_args,
        0x1D: kfd_ioctl_import_dmabuf_args, 0x1E: kfd_ioctl_alloc_queue_gws_args,
        0x1F: kfd_ioctl_smi_events_args, 0x20: kfd_ioctl_svm_args,
        0x21: kfd_ioctl_set_xnack_mode_args, 0x22: kfd_ioctl_criu_args,
        0x23: kfd_ioctl_get_available_memory_args,
    }
    table: dict[int, IoctlDef] = {}
    for name, value in globals().items():
        if not name.startswith("AMDKFD_IOC_"):
            continue
        nr = decode_request(value).nr
        struct = by_nr_struct[nr]
        if decode_request(value).size != ctypes.sizeof(struct):
            raise AssertionError(f"{name} encodes a size that differs from {struct.__name__}")
        table[value] = IoctlDef(name[len("AMDKFD_IOC_"):], value, struct)
    if sorted(d.nr for d in table.values()) != list(range(AMDKFD_COMMAND_START, AMDKFD_COMMAND_END)):
        raise AssertionError("the ioctl table does not cover AMDKFD_COMMAND_START..END exactly")
    return table


IOCTLS: dict[int, IoctlDef] = _collect_ioctls()
"""Every KFD ioctl by request number."""

IOCTLS_BY_NR: dict[int, IoctlDef] = {d.nr: d for d in IOCTLS.values()}
"""Every KFD ioctl by command number (what the kernel dispatches on; it tolerates other sizes)."""

IOCTLS_BY_NAME: dict[str, IoctlDef] = {d.name: d for d in IOCTLS.values()}


def ioctl_name(request: int) -> str:
    """'AMDKFD_IOC_<NAME>' for a known request, else the number in hex (for error messages)."""
    d = IOCTLS.get(request)
    return f"AMDKFD_IOC_{d.name}" if d else f"ioctl {request:#010x}"


# --- mmap offsets on /dev/kfd (kernel-private encoding, kfd_priv.h) ------------------------------

KFD_MMAP_TYPE_SHIFT = 62
KFD_MMAP_TYPE_MASK = 0x3 << KFD_MMAP_TYPE_SHIFT
KFD_MMAP_TYPE_DOORBELL = 0x3 << KFD_MMAP_TYPE_SHIFT
KFD_MMAP_TYPE_EVENTS = 0x2 << KFD_MMAP_TYPE_SHIFT
KFD_MMAP_TYPE_RESERVED_MEM = 0x1 << KFD_MMAP_TYPE_SHIFT
KFD_MMAP_TYPE_MMIO = 0x0 << KFD_MMAP_TYPE_SHIFT

KFD_MMAP_GPU_ID_SHIFT = 46
KFD_MMAP_GPU_ID_MASK = ((1 << 16) - 1) << KFD_MMAP_GPU_ID_SHIFT
KFD_MMAP_OFFSET_VALUE_MASK = (1 << KFD_MMAP_GPU_ID_SHIFT) - 1

# The process doorbell slice: 1024 doorbells of 8 bytes on gfx9 and later (two 4 KiB pages).
KFD_DOORBELL_SLICE_SIZE = 1024 * 8
KFD_EVENT_PAGE_SIZE = KFD_SIGNAL_EVENT_LIMIT * 8


def KFD_MMAP_GPU_ID(gpu_id: int) -> int:
    if not 0 <= gpu_id < 1 << 16:
        raise ValueError(f"gpu_id {gpu_id:#x} does not fit in 16 bits")
    return gpu_id << KFD_MMAP_GPU_ID_SHIFT


def KFD_MMAP_GET_GPU_ID(offset: int) -> int:
    return (offset & KFD_MMAP_GPU_ID_MASK) >> KFD_MMAP_GPU_ID_SHIFT


def kfd_mmap_offset(mmap_type: int, gpu_id: int, value: int = 0) -> int:
    """Compose a /dev/kfd mmap offset from a KFD_MMAP_TYPE_*, a gpu_id and a 46-bit value."""
    if mmap_type & ~KFD_MMAP_TYPE_MASK:
        raise ValueError(f"{mmap_type:#x} is not a KFD_MMAP_TYPE_* value")
    if not 0 <= value <= KFD_MMAP_OFFSET_VALUE_MASK:
        raise ValueError(f"mmap offset value {value:#x} does not fit in 46 bits")
    return mmap_type | KFD_MMAP_GPU_ID(gpu_id) | value
