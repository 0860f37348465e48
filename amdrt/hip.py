"""The core of the HIP runtime API, under HIP's names and error codes, on top of amdrt.

Calling convention (as in AMD's Python bindings): a function that produces a value returns
`(hipError_t, value)`; one that does not returns the hipError_t alone. Errors never raise; the
code says what went wrong and hipGetLastError() returns (and clears) the last one of the thread.

Device pointers are integers (addresses); pointer arithmetic works. Host memory is a numpy
array, bytes (as a source), or a pointer from hipHostMalloc. Grids are counted in blocks, as
in HIP: hipModuleLaunchKernel(f, 4, 1, 1, 256, 1, 1, 0, None, [ptr, np.float32(2)], None).
"""

from __future__ import annotations

import bisect
import ctypes
import enum
import functools
import threading
from dataclasses import dataclass, field

import numpy as np

from amdrt.errors import (
    AmdrtError,
    BufferFreed,
    GPUFault,
    GPUHang,
    GPUTimeout,
    InvalidArgument,
    NoDevice,
    OutOfMemory,
)
from amdrt.memory import Buffer
from amdrt.signal import Signal
from isa.errors import CodeObjectError
from kfd import abi, hsa


class hipError_t(enum.IntEnum):
    """HIP's error codes, each with the text hipGetErrorString gives for it."""

    description: str

    def __new__(cls, code: int, description: str):
        member = int.__new__(cls, code)
        member._value_ = code
        member.description = description
        return member

    hipSuccess = 0, "no error"
    hipErrorInvalidValue = 1, "invalid argument"
    hipErrorOutOfMemory = 2, "out of memory"
    hipErrorNotInitialized = 3, "initialization error"
    hipErrorDeinitialized = 4, "driver shutting down"
    hipErrorInvalidConfiguration = 9, "invalid configuration argument"
    hipErrorInvalidPitchValue = 12, "invalid pitch argument"
    hipErrorInvalidSymbol = 13, "invalid device symbol"
    hipErrorInvalidDevicePointer = 17, "invalid device pointer"
    hipErrorInvalidMemcpyDirection = 21, "invalid copy direction for memcpy"
    hipErrorInvalidDeviceFunction = 98, "invalid device function"
    hipErrorNoDevice = 100, "no ROCm-capable device is detected"
    hipErrorInvalidDevice = 101, "invalid device ordinal"
    hipErrorInvalidImage = 200, "device kernel image is invalid"
    hipErrorInvalidContext = 201, "invalid device context"
    hipErrorMapFailed = 205, "mapping of buffer object failed"
    hipErrorNoBinaryForGpu = 209, "no kernel image is available for execution on the device"
    hipErrorPeerAccessUnsupported = 217, "peer access is not supported between these two devices"
    hipErrorInvalidKernelFile = 218, "invalid kernel file"
    hipErrorFileNotFound = 301, "file not found"
    hipErrorSharedObjectInitFailed = 303, "shared object initialization failed"
    hipErrorInvalidHandle = 400, "invalid resource handle"
    hipErrorNotFound = 500, "named symbol not found"
    hipErrorNotReady = 600, "device not ready"
    hipErrorIllegalAddress = 700, "an illegal memory access was encountered"
    hipErrorLaunchOutOfResources = 701, "too many resources requested for launch"
    hipErrorLaunchTimeOut = 702, "the launch timed out and was terminated"
    hipErrorPeerAccessAlreadyEnabled = 704, "peer access is already enabled"
    hipErrorPeerAccessNotEnabled = 705, "peer access has not been enabled"
    hipErrorContextIsDestroyed = 709, "context is destroyed"
    hipErrorAssert = 710, "device-side assert triggered"
    hipErrorHostMemoryAlreadyRegistered = 712, "part or all of the requested memory range is already mapped"
    hipErrorLaunchFailure = 719, "unspecified launch failure"
    hipErrorCooperativeLaunchTooLarge = 720, "too many blocks in cooperative launch"
    hipErrorNotSupported = 801, "operation not supported"
    hipErrorStreamCaptureUnsupported = 900, "operation not permitted when stream is capturing"
    hipErrorUnknown = 999, "unknown error"


globals().update(hipError_t.__members__)


class hipMemcpyKind(enum.IntEnum):
    hipMemcpyHostToHost = 0
    hipMemcpyHostToDevice = 1
    hipMemcpyDeviceToHost = 2
    hipMemcpyDeviceToDevice = 3
    hipMemcpyDefault = 4


globals().update(hipMemcpyKind.__members__)

hipHostMallocDefault = 0
hipHostMallocPortable = 1
hipHostMallocMapped = 2
hipHostMallocWriteCombined = 4
hipHostMallocCoherent = 0x40000000
hipHostMallocNonCoherent = 0x80000000

# hipModuleLaunchKernel `extra` markers (HIP's values)
HIP_LAUNCH_PARAM_BUFFER_POINTER = 0x01
HIP_LAUNCH_PARAM_BUFFER_SIZE = 0x02
HIP_LAUNCH_PARAM_END = 0x03

HIP_VERSION = 60_000_000  # reported as HIP 6.0 (major*10^7 + minor*10^5 + patch)


class HipError(Exception):
    """Internal: an error with a specific HIP code."""

    def __init__(self, code: hipError_t, message: str = ""):
        super().__init__(message or hipError_t(code).description)
        self.code = code


# --- state ------------------------------------------------------------------------------------------

class _ThreadState(threading.local):
    def __init__(self):
        self.device = 0
        self.last_error = hipError_t.hipSuccess


_thread = _ThreadState()
_state_lock = threading.RLock()


@dataclass(eq=False)
class hipStream_t:
    """A stream: an AQL queue of one device, plus the last work submitted on it."""

    device: object
    queue: object
    last: Signal | None = None
    owned: bool = True
    destroyed: bool = False

    def after(self) -> tuple:
        return (self.last,) if self.last is not None and self.last.queue is not self.queue else ()


@dataclass(eq=False)
class hipEvent_t:
    """An event: the stream work it follows (a signal), or the GPU clock when the stream was idle."""

    signal: Signal | None = None
    timestamp: int | None = None
    recorded: bool = False
    destroyed: bool = False

    def time(self) -> int | None:
        if self.signal is not None and self.signal.end_ts:
            return self.signal.end_ts
        return self.timestamp


@dataclass(eq=False)
class hipModule_t:
    program: object
    functions: dict = field(default_factory=dict)
    unloaded: bool = False


@dataclass(eq=False)
class hipFunction_t:
    kernel: object
    module: hipModule_t


@dataclass
class hipDeviceProp_t:
    name: str
    gcnArchName: str
    totalGlobalMem: int
    sharedMemPerBlock: int
    regsPerBlock: int
    warpSize: int
    maxThreadsPerBlock: int
    maxThreadsDim: tuple[int, int, int]
    maxGridSize: tuple[int, int, int]
    clockRate: int
    memoryClockRate: int
    memoryBusWidth: int
    totalConstMem: int
    major: int
    minor: int
    multiProcessorCount: int
    l2CacheSize: int
    maxThreadsPerMultiProcessor: int
    computeMode: int
    concurrentKernels: int
    pciDomainID: int
    pciBusID: int
    pciDeviceID: int
    maxSharedMemoryPerMultiProcessor: int
    isMultiGpuBoard: int
    canMapHostMemory: int
    integrated: int
    asicRevision: int = 0
    managedMemory: int = 0


class _Registry:
    """Allocations made through this API, found by any address inside them."""

    def __init__(self):
        self.starts: list[int] = []
        self.buffers: dict[int, Buffer] = {}

    def add(self, buf: Buffer) -> None:
        bisect.insort(self.starts, buf.va)
        self.buffers[buf.va] = buf

    def remove(self, va: int) -> Buffer:
        buf = self.buffers.pop(va)
        self.starts.pop(bisect.bisect_left(self.starts, va))
        return buf

    def find(self, address: int) -> tuple[Buffer, int] | None:
        i = bisect.bisect_right(self.starts, address) - 1
        if i < 0:
            return None
        buf = self.buffers[self.starts[i]]
        offset = address - buf.va
        return (buf, offset) if offset < buf.nbytes or (offset == 0 and buf.nbytes == 0) else None


_registry = _Registry()
_null_streams: dict[int, hipStream_t] = {}
_peer_enabled: set[tuple[int, int]] = set()
_runtime = None


def _rt():
    global _runtime
    from amdrt.runtime import default_runtime
    runtime = default_runtime()
    if runtime is not _runtime:
        # A new runtime (the old one closed): drop state that belonged to the old one.
        _registry.__init__()
        _null_streams.clear()
        _peer_enabled.clear()
        _runtime = runtime
    return runtime


def _devices():
    return _rt().devices


def _device(index: int | None = None):
    devs = _devices()
    index = _thread.device if index is None else index
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < len(devs):
        raise HipError(hipError_t.hipErrorInvalidDevice, f"device {index!r} does not exist ({len(devs)} devices)")
    return devs[int(index)]


def _stream(stream) -> hipStream_t:
    if stream is None or (isinstance(stream, int) and stream == 0):
        device = _device()
        s = _null_streams.get(device.index)
        if s is None:
            s = _null_streams[device.index] = hipStream_t(device, device.compute, owned=False)
        return s
    if not isinstance(stream, hipStream_t) or stream.destroyed:
        raise HipError(hipError_t.hipErrorInvalidHandle, "not a live stream")
    return stream


def _api(fn):
    """Turn exceptions into HIP error codes and remember the last error of the thread."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
            code = hipError_t.hipSuccess
        except HipError as e:
            code, result = e.code, None
        except GPUFault:
            code, result = hipError_t.hipErrorIllegalAddress, None
        except GPUTimeout:
            code, result = hipError_t.hipErrorLaunchTimeOut, None
        except GPUHang:
            code, result = hipError_t.hipErrorLaunchFailure, None
        except OutOfMemory:
            code, result = hipError_t.hipErrorOutOfMemory, None
        except NoDevice:
            code, result = hipError_t.hipErrorNoDevice, None
        except CodeObjectError as e:
            code = (hipError_t.hipErrorNoBinaryForGpu if "built for" in str(e)
                    else hipError_t.hipErrorInvalidImage)
            result = None
        except (InvalidArgument, BufferFreed, ValueError, TypeError):
            code, result = hipError_t.hipErrorInvalidValue, None
        except AmdrtError:
            code, result = hipError_t.hipErrorUnknown, None
        if code != hipError_t.hipSuccess:
            _thread.last_error = code
        if wrapper.returns_value:
            return code, result
        return code

    wrapper.returns_value = False
    return wrapper


def _returns(fn):
    wrapped = _api(fn)
    wrapped.returns_value = True
    return wrapped


# --- errors -----------------------------------------------------------------------------------------

def hipGetErrorString(error) -> str:
    try:
        return hipError_t(error).description
    except ValueError:
        return "unknown error"


def hipGetErrorName(error) -> str:
    try:
        return hipError_t(error).name
    except ValueError:
        return "hipErrorUnknown"


def hipGetLastError() -> hipError_t:
    code, _thread.last_error = _thread.last_error, hipError_t.hipSuccess
    return code


def hipPeekAtLastError() -> hipError_t:
    return _thread.last_error


# --- init and devices -------------------------------------------------------------------------------

@_api
def hipInit(flags: int = 0) -> None:
    if flags != 0:
        raise HipError(hipError_t.hipErrorInvalidValue, "hipInit takes flags 0")
    _rt()


@_returns
def hipDriverGetVersion() -> int:
    return HIP_VERSION


@_returns
def hipRuntimeGetVersion() -> int:
    return HIP_VERSION


@_returns
def hipGetDeviceCount() -> int:
    return len(_devices())


@_api
def hipSetDevice(device: int) -> None:
    _thread.device = _device(device).index


@_returns
def hipGetDevice() -> int:
    return _device().index


@_returns
def hipGetDeviceProperties(device: int | None = None) -> hipDeviceProp_t:
    d = _device(device)
    node = d.node
    version = node.gfx_target_version
    caches = [c for c in node.caches if c.level == 2]
    bank = node.mem_banks[0].properties if node.mem_banks else {}
    location = d.props.get("location_id", 0)
    return hipDeviceProp_t(
        name=d.marketing_name, gcnArchName=d.arch, totalGlobalMem=d.vram_size,
        sharedMemPerBlock=d.lds_size, regsPerBlock=65536, warpSize=d.wavefront_size,
        maxThreadsPerBlock=d.max_workgroup_size, maxThreadsDim=(1024, 1024, 1024),
        maxGridSize=(0x7FFFFFFF, 0xFFFF, 0xFFFF), clockRate=d.props.get("max_engine_clk_fcompute", 0) * 1000,
        memoryClockRate=bank.get("mem_clk_max", 0) * 1000, memoryBusWidth=bank.get("width", 0),
        totalConstMem=d.vram_size, major=version // 10000, minor=version // 100 % 100,
        multiProcessorCount=d.cu_count, l2CacheSize=caches[0].size_in_bytes if caches else 0,
        maxThreadsPerMultiProcessor=d.max_waves_per_cu * d.wavefront_size, computeMode=0,
        concurrentKernels=1, pciDomainID=d.props.get("domain", 0), pciBusID=location >> 8,
        pciDeviceID=(location >> 3) & 0x1F, maxSharedMemoryPerMultiProcessor=d.lds_size,
        isMultiGpuBoard=0, canMapHostMemory=1, integrated=0)


@_returns
def hipMemGetInfo() -> tuple[int, int]:
    """(free, total) bytes of VRAM on the current device."""
    d = _device()
    args = abi.kfd_ioctl_get_available_memory_args(gpu_id=d.gpu_id)
    d.runtime.driver.ioctl(abi.AMDKFD_IOC_AVAILABLE_MEMORY, args)
    return args.available, d.vram_size


@_api
def hipDeviceSynchronize() -> None:
    _device().synchronize()


@_returns
def hipDeviceCanAccessPeer(device: int, peer_device: int) -> int:
    a, b = _device(device), _device(peer_device)
    return int(a is not b and a.can_access_peer(b))


@_api
def hipDeviceEnablePeerAccess(peer_device: int, flags: int = 0) -> None:
    if flags != 0:
        raise HipError(hipError_t.hipErrorInvalidValue, "flags must be 0")
    me, peer = _device(), _device(peer_device)
    if me is peer or not me.can_access_peer(peer):
        raise HipError(hipError_t.hipErrorPeerAccessUnsupported)
    key = (me.index, peer.index)
    if key in _peer_enabled:
        raise HipError(hipError_t.hipErrorPeerAccessAlreadyEnabled)
    _peer_enabled.add(key)
    # Existing allocations of the peer become reachable from this device now; later ones on use.
    for buf in list(_registry.buffers.values()):
        if buf.device is peer:
            me.runtime.share(buf, me)


@_api
def hipDeviceDisablePeerAccess(peer_device: int) -> None:
    key = (_device().index, _device(peer_device).index)
    if key not in _peer_enabled:
        raise HipError(hipError_t.hipErrorPeerAccessNotEnabled)
    _peer_enabled.discard(key)


# --- memory -----------------------------------------------------------------------------------------

def _size(size) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0:
        raise HipError(hipError_t.hipErrorInvalidValue, f"size {size!r} is not a byte count")
    return int(size)


@_returns
def hipMalloc(size: int) -> int:
    size = _size(size)
    if size == 0:
        return 0
    buf = _device().alloc(size)
    _registry.add(buf)
    return buf.va


@_returns
def hipHostMalloc(size: int, flags: int = hipHostMallocDefault) -> int:
    size = _size(size)
    if flags & ~(hipHostMallocPortable | hipHostMallocMapped | hipHostMallocWriteCombined
                 | hipHostMallocCoherent | hipHostMallocNonCoherent):
        raise HipError(hipError_t.hipErrorInvalidValue, f"unknown hipHostMalloc flags {flags:#x}")
    if size == 0:
        return 0
    device = _device()
    buf = device.alloc(size, host=True)
    for other in device.runtime.devices:  # pinned host memory is reachable from every GPU
        if other is not device:
            device.runtime.share(buf, other)
    _registry.add(buf)
    return buf.va


def _free(ptr, host: bool) -> None:
    if ptr is None or ptr == 0:
        return
    buf = _registry.buffers.get(ptr)
    if buf is None or buf.host != host:
        raise HipError(hipError_t.hipErrorInvalidValue, f"{ptr!r} was not returned by "
                                                        f"{'hipHostMalloc' if host else 'hipMalloc'}")
    _registry.remove(ptr)
    # Kernels see raw addresses, so any work may use the memory: let the devices finish first.
    _rt().synchronize()
    buf.free()


@_api
def hipFree(ptr: int) -> None:
    _free(ptr, host=False)


@_api
def hipHostFree(ptr: int) -> None:
    _free(ptr, host=True)


@dataclass
class _Side:
    """One side of a copy: a registered buffer and offset, or host memory as a uint8 array."""

    buffer: Buffer | None = None
    offset: int = 0
    array: np.ndarray | None = None

    @property
    def on_device(self) -> bool:
        return self.buffer is not None and not self.buffer.host


def _side(value, nbytes: int, writable: bool, what: str) -> _Side:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        found = _registry.find(int(value))
        if found is None:
            raise HipError(hipError_t.hipErrorInvalidValue, f"{what} {int(value):#x} is not memory from "
                                                            "hipMalloc or hipHostMalloc")
        buf, offset = found
        if offset + nbytes > buf.nbytes:
            raise HipError(hipError_t.hipErrorInvalidValue, f"{nbytes} bytes at {what} run past its allocation")
        return _Side(buf, offset)
    if isinstance(value, np.ndarray):
        if not value.flags.c_contiguous or (writable and not value.flags.writeable):
            raise HipError(hipError_t.hipErrorInvalidValue, f"{what} must be a contiguous (writable) array")
        array = value.reshape(-1).view(np.uint8)
    elif isinstance(value, (bytes, bytearray, memoryview)) and not writable:
        array = np.frombuffer(value, np.uint8)
    elif isinstance(value, (bytearray, memoryview)):
        array = np.frombuffer(value, np.uint8)
        if array.flags.writeable is False:
            raise HipError(hipError_t.hipErrorInvalidValue, f"{what} is read-only")
    else:
        raise HipError(hipError_t.hipErrorInvalidValue, f"{what} must be a device pointer or host memory, "
                                                        f"got {type(value).__name__}")
    if nbytes > array.nbytes:
        raise HipError(hipError_t.hipErrorInvalidValue, f"{what} holds {array.nbytes} bytes, "
                                                        f"fewer than the {nbytes} to copy")
    return _Side(array=array)


_KIND_SIDES = {  # (destination on device, source on device); None = either
    hipMemcpyKind.hipMemcpyHostToHost: (False, False),
    hipMemcpyKind.hipMemcpyHostToDevice: (True, False),
    hipMemcpyKind.hipMemcpyDeviceToHost: (False, True),
    hipMemcpyKind.hipMemcpyDeviceToDevice: (True, True),
    hipMemcpyKind.hipMemcpyDefault: (None, None),
}


def _check_kind(kind, dst: _Side, src: _Side) -> None:
    try:
        want = _KIND_SIDES[hipMemcpyKind(kind)]
    except ValueError:
        raise HipError(hipError_t.hipErrorInvalidMemcpyDirection, f"unknown memcpy kind {kind!r}") from None
    for expected, side in zip(want, (dst, src), strict=True):
        # Pinned host memory serves either role, as with HIP's unified addressing.
        if expected is True and side.buffer is None:
            raise HipError(hipError_t.hipErrorInvalidValue, "a device pointer is needed for this copy kind")
        if expected is False and side.on_device:
            raise HipError(hipError_t.hipErrorInvalidMemcpyDirection,
                           f"{hipMemcpyKind(kind).name} got a device pointer where host memory belongs")


def _host_copy(dst: _Side, src: _Side, nbytes: int) -> None:
    if dst.array is not None and src.array is not None:
        dst.array[:nbytes] = src.array[:nbytes]
    elif dst.array is not None:
        src.buffer.copyout(dst.array[:nbytes], src.offset)
    else:
        dst.buffer.copyin(src.array[:nbytes], dst.offset)


def _engine_for(dst: _Side, src: _Side):
    """The device whose SDMA engine does a buffer-to-buffer copy."""
    if dst.on_device:
        return dst.buffer.device
    return src.buffer.device


def _buffer_copy(dst: _Side, src: _Side, nbytes: int, wait: bool, after=(), queue=None) -> Signal:
    device = _engine_for(dst, src)
    return device.copy(dst.buffer, src.buffer, nbytes, dst_offset=dst.offset, src_offset=src.offset,
                       wait=wait, after=after, queue=queue)


@_api
def hipMemcpy(dst, src, size_bytes: int, kind=hipMemcpyKind.hipMemcpyDefault) -> None:
    nbytes = _size(size_bytes)
    d, s = _side(dst, nbytes, True, "dst"), _side(src, nbytes, False, "src")
    _check_kind(kind, d, s)
    if nbytes == 0:
        return
    _rt().synchronize()  # hipMemcpy is ordered after earlier work on the devices
    if d.buffer is not None and s.buffer is not None:
        _buffer_copy(d, s, nbytes, wait=True)
    else:
        _host_copy(d, s, nbytes)


@_api
def hipMemcpyAsync(dst, src, size_bytes: int, kind=hipMemcpyKind.hipMemcpyDefault, stream=None) -> None:
    nbytes = _size(size_bytes)
    st = _stream(stream)
    d, s = _side(dst, nbytes, True, "dst"), _side(src, nbytes, False, "src")
    _check_kind(kind, d, s)
    if nbytes == 0:
        return
    if d.buffer is not None and s.buffer is not None:
        # Ordered after the stream's work; the stream's later work waits for it.
        after = (st.last,) if st.last is not None else ()
        signal = _buffer_copy(d, s, nbytes, wait=False, after=after)
        st.last = signal
        return
    # Pageable host memory: the copy happens now, after the stream's earlier work (as in HIP).
    _synchronize_stream(st)
    _host_copy(d, s, nbytes)


@_api
def hipMemcpyPeer(dst, dst_device: int, src, src_device: int, size_bytes: int) -> None:
    nbytes = _size(size_bytes)
    d, s = _side(dst, nbytes, True, "dst"), _side(src, nbytes, False, "src")
    if d.buffer is None or s.buffer is None or d.buffer.device is not _device(dst_device) or \
            s.buffer.device is not _device(src_device):
        raise HipError(hipError_t.hipErrorInvalidValue, "hipMemcpyPeer takes device pointers of the devices named")
    if nbytes:
        _rt().synchronize()
        _buffer_copy(d, s, nbytes, wait=True)


@_api
def hipMemset(dst: int, value: int, size_bytes: int) -> None:
    nbytes = _size(size_bytes)
    d = _side(dst, nbytes, True, "dst")
    if d.buffer is None:
        raise HipError(hipError_t.hipErrorInvalidValue, "hipMemset takes a device pointer")
    if nbytes:
        _rt().synchronize()
        d.buffer.device.fill(d.buffer, int(value) & 0xFF, nbytes, offset=d.offset)


@_api
def hipMemsetAsync(dst: int, value: int, size_bytes: int, stream=None) -> None:
    nbytes = _size(size_bytes)
    st = _stream(stream)
    d = _side(dst, nbytes, True, "dst")
    if d.buffer is None:
        raise HipError(hipError_t.hipErrorInvalidValue, "hipMemsetAsync takes a device pointer")
    if nbytes:
        after = (st.last,) if st.last is not None else ()
        st.last = d.buffer.device.fill(d.buffer, int(value) & 0xFF, nbytes, offset=d.offset, wait=False,
                                       after=after)


# --- modules and launches ---------------------------------------------------------------------------

@_returns
def hipModuleLoadData(image) -> hipModule_t:
    if not isinstance(image, (bytes, bytearray, memoryview)):
        raise HipError(hipError_t.hipErrorInvalidValue, "the image must be bytes of a code object")
    return hipModule_t(_device().load(bytes(image)))


@_returns
def hipModuleLoad(path: str) -> hipModule_t:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        raise HipError(hipError_t.hipErrorFileNotFound, f"cannot read {path!r}") from None
    return hipModule_t(_device().load(data))


@_api
def hipModuleUnload(module: hipModule_t) -> None:
    if not isinstance(module, hipModule_t) or module.unloaded:
        raise HipError(hipError_t.hipErrorInvalidHandle, "not a loaded module")
    module.unloaded = True
    module.program.free()


@_returns
def hipModuleGetFunction(module: hipModule_t, name: str) -> hipFunction_t:
    if not isinstance(module, hipModule_t) or module.unloaded:
        raise HipError(hipError_t.hipErrorInvalidHandle, "not a loaded module")
    if isinstance(name, bytes):
        name = name.decode()
    if name not in module.program:
        raise HipError(hipError_t.hipErrorNotFound, f"no kernel {name!r} in the module")
    fn = module.functions.get(name)
    if fn is None:
        fn = module.functions[name] = hipFunction_t(module.program[name], module)
    return fn


def _raw_pointer(spec, value) -> int:
    if value is None:
        return 0
    if isinstance(value, Buffer):
        return value.allocation.va
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and 0 <= value < 1 << 64:
        return int(value)
    spec.fail(f"is a pointer; pass a device address, got {type(value).__name__}")


def _params_from_buffer(kernel, extra) -> list:
    """Explicit argument values from HIP's `extra` launch parameters (one packed buffer)."""
    items = list(extra)
    data = size = None
    i = 0
    while i < len(items):
        key = items[i]
        if key == HIP_LAUNCH_PARAM_END:
            break
        if i + 1 >= len(items):
            raise HipError(hipError_t.hipErrorInvalidValue, "extra: a key without a value")
        if key == HIP_LAUNCH_PARAM_BUFFER_POINTER:
            data = items[i + 1]
        elif key == HIP_LAUNCH_PARAM_BUFFER_SIZE:
            size = items[i + 1]
        else:
            raise HipError(hipError_t.hipErrorInvalidValue, f"extra: unknown key {key!r}")
        i += 2
    if data is None:
        raise HipError(hipError_t.hipErrorInvalidValue, "extra has no HIP_LAUNCH_PARAM_BUFFER_POINTER")
    raw = np.ascontiguousarray(data).tobytes() if isinstance(data, np.ndarray) else bytes(data)
    if size is not None and size != len(raw):
        raise HipError(hipError_t.hipErrorInvalidValue, f"extra: buffer is {len(raw)} bytes, size says {size}")
    values = []
    for spec in kernel.layout.args:
        chunk = raw[spec.offset:spec.offset + spec.size]
        if len(chunk) != spec.size:
            raise HipError(hipError_t.hipErrorInvalidValue,
                           f"extra: the argument buffer ends before argument {spec.name} (offset {spec.offset})")
        values.append(int.from_bytes(chunk, "little") if spec.kind == "global_buffer" else chunk)
    return values


@_api
def hipModuleLaunchKernel(f: hipFunction_t, gridDimX: int, gridDimY: int, gridDimZ: int, blockDimX: int,
                          blockDimY: int, blockDimZ: int, sharedMemBytes: int = 0, stream=None,
                          kernelParams=None, extra=None) -> None:
    if not isinstance(f, hipFunction_t) or f.module.unloaded:
        raise HipError(hipError_t.hipErrorInvalidHandle, "not a function of a loaded module")
    st = _stream(stream)
    kernel = f.kernel
    if kernel.device is not st.device:
        raise HipError(hipError_t.hipErrorInvalidDevice, "the stream belongs to another device than the module")
    grid, block = (gridDimX, gridDimY, gridDimZ), (blockDimX, blockDimY, blockDimZ)
    for v in (*grid, *block):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
            raise HipError(hipError_t.hipErrorInvalidConfiguration, f"grid {grid} and block {block} must be positive")
    if kernelParams is not None and extra is not None:
        raise HipError(hipError_t.hipErrorInvalidValue, "pass kernelParams or extra, not both")
    params = list(kernelParams) if kernelParams is not None else (
        _params_from_buffer(kernel, extra) if extra is not None else [])
    try:
        geometry = kernel.geometry(tuple(int(g) * int(b) for g, b in zip(grid, block, strict=True)),
                                   tuple(int(b) for b in block))
    except InvalidArgument as e:
        raise HipError(hipError_t.hipErrorInvalidConfiguration, str(e)) from None
    if any(g * b >= 1 << 32 for g, b in zip(grid, block, strict=True)):
        raise HipError(hipError_t.hipErrorInvalidConfiguration, "the grid has more than 2^32 work-items")
    st.last = kernel.launch(params, geometry, wait=False, queue=st.queue, after=st.after(),
                            pointer=_raw_pointer, dynamic_lds=_size(sharedMemBytes))


# --- streams and events -----------------------------------------------------------------------------

@_returns
def hipStreamCreate() -> hipStream_t:
    device = _device()
    return hipStream_t(device, device.queue())


@_returns
def hipStreamCreateWithFlags(flags: int = 0) -> hipStream_t:
    device = _device()
    return hipStream_t(device, device.queue())


def _synchronize_stream(st: hipStream_t) -> None:
    st.queue.synchronize()
    if st.last is not None:
        st.last.wait()


@_api
def hipStreamSynchronize(stream=None) -> None:
    _synchronize_stream(_stream(stream))


@_api
def hipStreamQuery(stream=None) -> None:
    st = _stream(stream)
    if st.queue.busy or (st.last is not None and not st.last.done):
        raise HipError(hipError_t.hipErrorNotReady)


@_api
def hipStreamDestroy(stream) -> None:
    st = _stream(stream)
    if not st.owned:
        raise HipError(hipError_t.hipErrorInvalidHandle, "the null stream cannot be destroyed")
    _synchronize_stream(st)
    st.destroyed = True
    st.device.close_queue(st.queue)


@_api
def hipStreamWaitEvent(stream, event: hipEvent_t, flags: int = 0) -> None:
    st = _stream(stream)
    ev = _event(event)
    if ev.signal is not None and ev.signal.queue is not st.queue and ev.signal.value > 0:
        st.last = st.queue.barrier([ev.signal], "hipStreamWaitEvent")


def _event(event) -> hipEvent_t:
    if not isinstance(event, hipEvent_t) or event.destroyed:
        raise HipError(hipError_t.hipErrorInvalidHandle, "not a live event")
    return event


@_returns
def hipEventCreate() -> hipEvent_t:
    return hipEvent_t()


@_returns
def hipEventCreateWithFlags(flags: int = 0) -> hipEvent_t:
    return hipEvent_t()


@_api
def hipEventDestroy(event: hipEvent_t) -> None:
    _event(event).destroyed = True


def _gpu_clock(device) -> int:
    args = abi.kfd_ioctl_get_clock_counters_args(gpu_id=device.gpu_id)
    device.runtime.driver.ioctl(abi.AMDKFD_IOC_GET_CLOCK_COUNTERS, args)
    return args.gpu_clock_counter


@_api
def hipEventRecord(event: hipEvent_t, stream=None) -> None:
    ev, st = _event(event), _stream(stream)
    st.queue.reap()
    last = st.last
    if last is not None and last.error is None and last.value > 0:
        # The event completes, and takes its time, when the stream's latest work does.
        ev.signal, ev.timestamp = last, None
    else:
        ev.signal, ev.timestamp = None, _gpu_clock(st.device)
    ev.recorded = True


@_api
def hipEventSynchronize(event: hipEvent_t) -> None:
    ev = _event(event)
    if ev.signal is not None:
        ev.signal.wait()


@_api
def hipEventQuery(event: hipEvent_t) -> None:
    ev = _event(event)
    if ev.signal is not None and not ev.signal.done:
        raise HipError(hipError_t.hipErrorNotReady)


@_returns
def hipEventElapsedTime(start: hipEvent_t, stop: hipEvent_t) -> float:
    """Milliseconds between two recorded, completed events (from GPU timestamps)."""
    a, b = _event(start), _event(stop)
    if not (a.recorded and b.recorded):
        raise HipError(hipError_t.hipErrorInvalidHandle, "both events must be recorded")
    for ev in (a, b):
        if ev.signal is not None and not ev.signal.done:
            raise HipError(hipError_t.hipErrorNotReady)
    t0, t1 = a.time(), b.time()
    if t0 is None or t1 is None:
        raise HipError(hipError_t.hipErrorInvalidHandle, "an event has no timestamp")
    return (t1 - t0) * 1000.0 / hsa.GFX11_TIMESTAMP_HZ


def _host_pointer_view(ptr: int, nbytes: int) -> np.ndarray:
    """Host memory of a hipHostMalloc pointer, as a uint8 array (for use from Python)."""
    found = _registry.find(ptr)
    if found is None or not found[0].host:
        raise ValueError(f"{ptr:#x} is not hipHostMalloc memory")
    buf, offset = found
    if offset + nbytes > buf.nbytes:
        raise ValueError("the range runs past the allocation")
    return np.ctypeslib.as_array((ctypes.c_uint8 * nbytes).from_address(ptr))


def host_array(ptr: int, dtype, count: int) -> np.ndarray:
    """A numpy view of `count` elements of hipHostMalloc memory at `ptr` (valid until hipHostFree)."""
    dtype = np.dtype(dtype)
    return _host_pointer_view(ptr, dtype.itemsize * count).view(dtype)
