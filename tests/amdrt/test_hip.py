"""amdrt.hip: HIP's runtime API names, calling convention and error codes on simulated GPUs."""

import numpy as np
import pytest

import amdrt
from amdrt import hip

HIP_KERNELS = r"""
extern "C" __global__ void scale_reversed(float *out, const float *in, float k, unsigned n) {
  extern __shared__ float tile[];
  unsigned l = threadIdx_x, i = blockIdx_x * blockDim_x + l;
  tile[l] = i < n ? in[i] : 0.0f;
  __syncthreads();
  if (i < n) out[i] = k * tile[blockDim_x - 1 - l];
}

extern "C" __global__ void add_one(int *data) {
  data[blockIdx_x * blockDim_x + threadIdx_x] += 1;
}
"""


@pytest.fixture
def machine(monkeypatch):
    """The default runtime with two simulated GPUs, as hip uses it."""
    monkeypatch.setenv("AMDRT_SIM", "2")
    amdrt.reset_default()
    hip.hipSetDevice(0)
    yield
    hip.hipGetLastError()
    amdrt.reset_default()


def ok(result):
    """The value of a (hipError_t, value) result, asserting success."""
    if isinstance(result, tuple):
        assert result[0] == hip.hipSuccess, hip.hipGetErrorName(result[0])
        return result[1]
    assert result == hip.hipSuccess, hip.hipGetErrorName(result)
    return None


def test_error_codes_and_strings():
    assert hip.hipSuccess == 0 and hip.hipErrorInvalidValue == 1 and hip.hipErrorOutOfMemory == 2
    assert hip.hipErrorInvalidDevice == 101 and hip.hipErrorInvalidImage == 200
    assert hip.hipErrorNotFound == 500 and hip.hipErrorNotReady == 600
    assert hip.hipErrorIllegalAddress == 700 and hip.hipErrorLaunchTimeOut == 702
    assert hip.hipErrorPeerAccessAlreadyEnabled == 704 and hip.hipErrorUnknown == 999
    assert hip.hipGetErrorName(hip.hipErrorIllegalAddress) == "hipErrorIllegalAddress"
    assert hip.hipGetErrorString(hip.hipSuccess) == "no error"
    assert hip.hipGetErrorString(12345) == "unknown error"
    for code in hip.hipError_t:
        assert hip.hipGetErrorString(code)


def test_devices_and_properties(machine):
    assert ok(hip.hipGetDeviceCount()) == 2
    assert ok(hip.hipSetDevice(1)) is None
    assert ok(hip.hipGetDevice()) == 1
    assert hip.hipSetDevice(2) == hip.hipErrorInvalidDevice
    assert hip.hipGetLastError() == hip.hipErrorInvalidDevice
    assert hip.hipGetLastError() == hip.hipSuccess  # reading clears it
    props = ok(hip.hipGetDeviceProperties(0))
    assert props.gcnArchName == "gfx1100" and props.warpSize == 32 and props.multiProcessorCount == 96
    assert props.maxThreadsPerBlock == 1024 and props.sharedMemPerBlock == 65536
    assert (props.major, props.minor) == (11, 0) and props.totalGlobalMem > 20 << 30
    free, total = ok(hip.hipMemGetInfo())
    assert 0 < free <= total == props.totalGlobalMem


def test_memory_round_trips_and_pointer_arithmetic(machine):
    x = np.arange(1000, dtype=np.float32)
    ptr = ok(hip.hipMalloc(x.nbytes))
    ok(hip.hipMemcpy(ptr, x, x.nbytes, hip.hipMemcpyHostToDevice))
    out = np.zeros(500, np.float32)
    ok(hip.hipMemcpy(out, ptr + 2000, 2000, hip.hipMemcpyDeviceToHost))
    assert np.array_equal(out, x[500:])
    other = ok(hip.hipMalloc(x.nbytes))
    ok(hip.hipMemset(other, 0xFF, x.nbytes))
    ok(hip.hipMemcpy(other + 4, ptr, 40, hip.hipMemcpyDeviceToDevice))
    got = np.zeros(1000, np.uint32)
    ok(hip.hipMemcpy(got, other, x.nbytes, hip.hipMemcpyDefault))
    assert got[0] == 0xFFFFFFFF and np.array_equal(got[1:11].view(np.float32), x[:10]) and got[11] == 0xFFFFFFFF
    pinned = ok(hip.hipHostMalloc(64))
    view = hip.host_array(pinned, np.int32, 16)
    view[:] = np.arange(16)
    ok(hip.hipMemcpy(ptr, pinned, 64, hip.hipMemcpyHostToDevice))
    ok(hip.hipMemcpy(out[:16], ptr, 64, hip.hipMemcpyDeviceToHost))
    assert np.array_equal(out[:16].view(np.int32), np.arange(16))
    for p in (ptr, other):
        ok(hip.hipFree(p))
    ok(hip.hipHostFree(pinned))
    ok(hip.hipFree(0))  # freeing NULL is allowed


def test_memory_errors(machine):
    ptr = ok(hip.hipMalloc(64))
    host = np.zeros(32, np.float32)
    assert hip.hipMemcpy(ptr, host, 128, hip.hipMemcpyHostToDevice) == hip.hipErrorInvalidValue  # too long
    assert hip.hipMemcpy(host, ptr, 64, hip.hipMemcpyHostToDevice) == hip.hipErrorInvalidValue
    assert hip.hipMemcpy(ptr, host, 64, hip.hipMemcpyDeviceToHost) == hip.hipErrorInvalidMemcpyDirection
    assert hip.hipMemcpy(ptr, host, 64, 17) == hip.hipErrorInvalidMemcpyDirection
    assert hip.hipMemcpy(0xDEAD0000, host, 64, hip.hipMemcpyDefault) == hip.hipErrorInvalidValue
    assert hip.hipFree(ptr + 4) == hip.hipErrorInvalidValue
    assert hip.hipHostFree(ptr) == hip.hipErrorInvalidValue
    assert hip.hipMalloc(-1)[0] == hip.hipErrorInvalidValue
    assert hip.hipMalloc(1 << 45)[0] == hip.hipErrorOutOfMemory
    ok(hip.hipFree(ptr))
    assert hip.hipFree(ptr) == hip.hipErrorInvalidValue
    assert hip.hipPeekAtLastError() == hip.hipErrorInvalidValue


def test_peer_access_and_peer_copies(machine):
    assert ok(hip.hipDeviceCanAccessPeer(0, 1)) == 1
    assert ok(hip.hipDeviceCanAccessPeer(0, 0)) == 0
    a = ok(hip.hipMalloc(4096))
    ok(hip.hipMemcpy(a, np.arange(1024, dtype=np.int32), 4096, hip.hipMemcpyHostToDevice))
    ok(hip.hipSetDevice(1))
    b = ok(hip.hipMalloc(4096))
    ok(hip.hipDeviceEnablePeerAccess(0))
    assert hip.hipDeviceEnablePeerAccess(0) == hip.hipErrorPeerAccessAlreadyEnabled
    assert hip.hipDeviceEnablePeerAccess(1) == hip.hipErrorPeerAccessUnsupported
    ok(hip.hipMemcpyPeer(b, 1, a, 0, 4096))
    out = np.zeros(1024, np.int32)
    ok(hip.hipMemcpy(out, b, 4096, hip.hipMemcpyDeviceToHost))
    assert np.array_equal(out, np.arange(1024))
    assert hip.hipMemcpyPeer(b, 0, a, 0, 4096) == hip.hipErrorInvalidValue
    ok(hip.hipDeviceDisablePeerAccess(0))
    assert hip.hipDeviceDisablePeerAccess(0) == hip.hipErrorPeerAccessNotEnabled


def test_streams_events_and_async_copies(machine):
    n = 1 << 20
    src, dst = ok(hip.hipMalloc(n)), ok(hip.hipMalloc(n))
    ok(hip.hipMemset(src, 7, n))
    stream = ok(hip.hipStreamCreate())
    start, stop = ok(hip.hipEventCreate()), ok(hip.hipEventCreate())
    assert hip.hipEventElapsedTime(start, stop)[0] == hip.hipErrorInvalidHandle  # not recorded yet
    ok(hip.hipEventRecord(start, stream))
    ok(hip.hipMemcpyAsync(dst, src, n, hip.hipMemcpyDeviceToDevice, stream))
    ok(hip.hipMemsetAsync(dst, 9, 16, stream))
    ok(hip.hipEventRecord(stop, stream))
    ok(hip.hipEventSynchronize(stop))
    ok(hip.hipEventQuery(stop))
    ok(hip.hipStreamQuery(stream))
    assert ok(hip.hipEventElapsedTime(start, stop)) >= 0
    out = np.zeros(n, np.uint8)
    ok(hip.hipMemcpyAsync(out, dst, n, hip.hipMemcpyDeviceToHost, stream))  # pageable: done on return
    assert (out[:16] == 9).all() and (out[16:] == 7).all()
    ok(hip.hipStreamSynchronize(stream))
    ok(hip.hipDeviceSynchronize())
    ok(hip.hipStreamDestroy(stream))
    assert hip.hipStreamDestroy(stream) == hip.hipErrorInvalidHandle
    assert hip.hipStreamSynchronize(stream) == hip.hipErrorInvalidHandle
    assert hip.hipStreamDestroy(None) == hip.hipErrorInvalidHandle  # the null stream
    ok(hip.hipEventDestroy(start))
    assert hip.hipEventRecord(start) == hip.hipErrorInvalidHandle


def test_module_errors(machine):
    assert hip.hipModuleLoadData(b"not an elf")[0] == hip.hipErrorInvalidImage
    assert hip.hipModuleLoadData(12)[0] == hip.hipErrorInvalidValue
    assert hip.hipModuleLoad("/nonexistent/kernel.co")[0] == hip.hipErrorFileNotFound
    assert hip.hipModuleGetFunction(object(), "f")[0] == hip.hipErrorInvalidHandle


@pytest.mark.llvm
def test_module_launch_with_params_extra_and_shared_memory(machine, toolchain):
    module = ok(hip.hipModuleLoadData(toolchain.hip(HIP_KERNELS)))
    assert hip.hipModuleGetFunction(module, "missing")[0] == hip.hipErrorNotFound
    scale = ok(hip.hipModuleGetFunction(module, "scale_reversed"))
    n, block = 1000, 128
    x = np.arange(n, dtype=np.float32)
    d_in, d_out = ok(hip.hipMalloc(x.nbytes)), ok(hip.hipMalloc(x.nbytes))
    ok(hip.hipMemcpy(d_in, x, x.nbytes, hip.hipMemcpyHostToDevice))
    grid = -(-n // block)
    ok(hip.hipModuleLaunchKernel(scale, grid, 1, 1, block, 1, 1, block * 4, None,
                                 [d_out, d_in, np.float32(2.0), np.uint32(n)], None))
    out = np.zeros(n, np.float32)
    ok(hip.hipMemcpy(out, d_out, x.nbytes, hip.hipMemcpyDeviceToHost))
    padded = np.zeros(grid * block, np.float32)
    padded[:n] = x
    assert np.array_equal(out, 2 * padded.reshape(grid, block)[:, ::-1].reshape(-1)[:n])
    # The same launch with the arguments packed in one buffer (HIP_LAUNCH_PARAM_BUFFER_POINTER).
    packed = np.zeros(24, np.uint8)
    packed[0:8] = np.frombuffer(np.uint64(d_out).tobytes(), np.uint8)
    packed[8:16] = np.frombuffer(np.uint64(d_in).tobytes(), np.uint8)
    packed[16:20] = np.frombuffer(np.float32(-1.0).tobytes(), np.uint8)
    packed[20:24] = np.frombuffer(np.uint32(n).tobytes(), np.uint8)
    extra = [hip.HIP_LAUNCH_PARAM_BUFFER_POINTER, packed, hip.HIP_LAUNCH_PARAM_BUFFER_SIZE, 24,
             hip.HIP_LAUNCH_PARAM_END]
    ok(hip.hipModuleLaunchKernel(scale, grid, 1, 1, block, 1, 1, block * 4, 0, None, extra))
    ok(hip.hipMemcpy(out, d_out, x.nbytes, hip.hipMemcpyDeviceToHost))
    assert np.array_equal(out, -padded.reshape(grid, block)[:, ::-1].reshape(-1)[:n])
    # Bad launches are refused with HIP's codes.
    args = [d_out, d_in, np.float32(1), np.uint32(n)]
    assert hip.hipModuleLaunchKernel(scale, 0, 1, 1, block, 1, 1, 0, None, args, None) == \
        hip.hipErrorInvalidConfiguration
    assert hip.hipModuleLaunchKernel(scale, 1, 1, 1, 2048, 1, 1, 0, None, args, None) == \
        hip.hipErrorInvalidConfiguration
    assert hip.hipModuleLaunchKernel(scale, 1, 1, 1, 64, 1, 1, 0, None, args[:3], None) == hip.hipErrorInvalidValue
    assert hip.hipModuleLaunchKernel(scale, 1, 1, 1, 64, 1, 1, 1 << 17, None, args, None) == \
        hip.hipErrorInvalidValue
    ok(hip.hipModuleUnload(module))
    assert hip.hipModuleLaunchKernel(scale, 1, 1, 1, 64, 1, 1, 0, None, args, None) == hip.hipErrorInvalidHandle


@pytest.mark.llvm
def test_stream_orders_copies_and_kernels(machine, toolchain):
    module = ok(hip.hipModuleLoadData(toolchain.hip(HIP_KERNELS)))
    add_one = ok(hip.hipModuleGetFunction(module, "add_one"))
    n = 256
    a, b = ok(hip.hipMalloc(4 * n)), ok(hip.hipMalloc(4 * n))
    ok(hip.hipMemcpy(a, np.arange(n, dtype=np.int32), 4 * n, hip.hipMemcpyHostToDevice))
    stream = ok(hip.hipStreamCreate())
    start, stop = ok(hip.hipEventCreate()), ok(hip.hipEventCreate())
    ok(hip.hipEventRecord(start, stream))
    for _ in range(3):  # kernel, then a copy of its result, then a kernel on the copy ...
        ok(hip.hipModuleLaunchKernel(add_one, n // 64, 1, 1, 64, 1, 1, 0, stream, [a], None))
        ok(hip.hipMemcpyAsync(b, a, 4 * n, hip.hipMemcpyDeviceToDevice, stream))
        ok(hip.hipModuleLaunchKernel(add_one, n // 64, 1, 1, 64, 1, 1, 0, stream, [b], None))
        ok(hip.hipMemcpyAsync(a, b, 4 * n, hip.hipMemcpyDeviceToDevice, stream))
    ok(hip.hipEventRecord(stop, stream))
    ok(hip.hipStreamSynchronize(stream))
    out = np.zeros(n, np.int32)
    ok(hip.hipMemcpy(out, a, 4 * n, hip.hipMemcpyDeviceToHost))
    assert np.array_equal(out, np.arange(n) + 6)
    assert ok(hip.hipEventElapsedTime(start, stop)) > 0
    ok(hip.hipStreamDestroy(stream))


@pytest.mark.llvm
def test_faulting_launch_reports_illegal_address(machine, toolchain):
    module = ok(hip.hipModuleLoadData(toolchain.hip(HIP_KERNELS)))
    add_one = ok(hip.hipModuleGetFunction(module, "add_one"))
    ok(hip.hipModuleLaunchKernel(add_one, 1, 1, 1, 32, 1, 1, 0, None, [0x1000], None))  # launches fine
    assert hip.hipDeviceSynchronize() == hip.hipErrorIllegalAddress
    assert hip.hipGetLastError() == hip.hipErrorIllegalAddress
    data = ok(hip.hipMalloc(4 * 32))  # the device goes on working
    ok(hip.hipMemset(data, 0, 4 * 32))
    ok(hip.hipModuleLaunchKernel(add_one, 1, 1, 1, 32, 1, 1, 0, None, [data], None))
    out = np.zeros(32, np.int32)
    ok(hip.hipMemcpy(out, data, 4 * 32, hip.hipMemcpyDeviceToHost))
    assert (out == 1).all()
