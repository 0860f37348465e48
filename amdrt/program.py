"""Code objects loaded on a device, and kernels called like functions.

Loading places the code object's image in executable GPU memory at a chosen base, with its
dynamic relocations applied for that base, so kernel descriptors and code sit where the AQL
packet's kernel_object points. A `Kernel` checks its arguments against the metadata, packs them
with the hidden arguments into a kernarg segment, and dispatches on an AQL queue.
"""

from __future__ import annotations

import ctypes

import numpy as np

from amdrt.errors import InvalidArgument
from amdrt.kernargs import Geometry, KernargLayout, Local, make_geometry
from amdrt.memory import Buffer
from amdrt.signal import Signal
from isa.codeobj import CodeObject
from isa.errors import CodeObjectError
from kfd import hsa, sdma_packets

# Largest private segment a work-item may use: what COMPUTE_TMPRING_SIZE.WAVESIZE can give a wave64.
MAX_PRIVATE_SEGMENT = hsa.TMPRING_WAVESIZE_MASK * hsa.TMPRING_WAVESIZE_UNIT // 64 // 16 * 16
# Stack given to kernels with dynamic stack use (recursion, calls through pointers), per work-item.
DYNAMIC_STACK_BYTES = 16 * 1024


class Program:
    """A code object loaded on one device. prog['name'] is the Kernel of that name."""

    def __init__(self, device, data: bytes):
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise CodeObjectError(f"a code object is bytes, got {type(data).__name__}")
        self.device = device
        self.code_object = co = CodeObject.parse(bytes(data))
        if co.target.processor != device.arch:
            raise CodeObjectError(f"the code object is built for {co.target.processor}, but {device.name} "
                                  f"is {device.arch}; compile with -mcpu={device.arch}")
        if not co.kernels:
            raise CodeObjectError("the code object has no kernels")
        self.kernels: dict[str, Kernel] = {}
        # Check every kernel before anything is allocated on the device.
        layouts = {name: KernargLayout(k.metadata, lds_limit=device.lds_size) for name, k in co.kernels.items()}
        memory = device.runtime.memory
        # Code is read-only for the GPU, unless the CPU cannot map it and the SDMA engine must
        # write the image.
        cpu = any(b.properties.get("heap_type") == 1 for b in device.node.mem_banks)
        self._alloc = memory.allocate(device.gpu_id, max(co.image_size, 1), "vram", executable=True,
                                      writable=not cpu, align=max(co.image_alignment, 4096), cpu=cpu)
        try:
            image = co.load_image(self._alloc.va)
            if self._alloc.cpu:
                ctypes.memmove(self._alloc.va, image, len(image))
            else:
                self._upload(image)
        except BaseException:
            memory.release(self._alloc)
            raise
        self.base = self._alloc.va
        for name, k in co.kernels.items():
            self.kernels[name] = Kernel(self, k, layouts[name])

    def _upload(self, image: bytes) -> None:
        """Copy the image through host memory with the SDMA engine (VRAM the CPU cannot map)."""
        device = self.device
        stage = device.alloc(len(image), host=True)
        try:
            stage.copyin(image)
            signal = Signal(device.runtime)
            device.sdma.submit(sdma_packets.copy(self._alloc.va, stage.va, len(image)), signal, "code upload",
                               (stage,))
            signal.wait()
        finally:
            stage.free()

    def __getitem__(self, name: str) -> Kernel:
        try:
            return self.kernels[name]
        except KeyError:
            names = ", ".join(sorted(self.kernels))
            raise InvalidArgument(f"no kernel {name!r} in the code object; it has: {names}") from None

    def __contains__(self, name: str) -> bool:
        return name in self.kernels

    @property
    def names(self) -> list[str]:
        return list(self.kernels)

    def free(self) -> None:
        """Unload the code (after work using it has finished)."""
        if not self._alloc.freed:
            self.device.runtime.idle_for_free()
            self.device.runtime.memory.release(self._alloc)

    def __del__(self):
        alloc = getattr(self, "_alloc", None)
        if alloc is not None and not alloc.freed:
            try:
                self.device.runtime.memory.defer_release(alloc)
            except AttributeError:
                pass


class Kernel:
    """A kernel of a loaded program: call it with its arguments and a launch shape.

        k(buf_a, buf_b, np.float32(2.0), global_size=(N, 1, 1), local_size=(256, 1, 1))

    global_size counts work-items. Pointer arguments take Buffers (or None for NULL), OpenCL
    __local pointers take amdrt.Local(nbytes), values take numpy scalars or Python numbers of
    the declared type. The call waits unless wait=False; it returns the completion Signal."""

    def __init__(self, program: Program, info, layout: KernargLayout):
        self.program = program
        self.device = program.device
        self.name = info.name
        self.info = info
        self.metadata = md = info.metadata
        self.layout = layout
        self.kernel_object = program.base + info.descriptor_address
        self.max_workgroup_size = min(md.max_flat_workgroup_size or 1024, self.device.max_workgroup_size)
        self.required_local_size = tuple(md.reqd_workgroup_size) if md.reqd_workgroup_size else None
        descriptor = info.descriptor
        private = max(md.private_segment_fixed_size, descriptor.private_segment_fixed_size)
        if md.uses_dynamic_stack or descriptor.uses_dynamic_stack:
            private += DYNAMIC_STACK_BYTES
        if private > MAX_PRIVATE_SEGMENT:
            raise InvalidArgument(f"kernel {self.name!r} needs {private} bytes of scratch per work-item; "
                                  f"the GPU allows {MAX_PRIVATE_SEGMENT}")
        self.private_segment_size = private
        if md.group_segment_fixed_size > self.device.lds_size:
            raise InvalidArgument(f"kernel {self.name!r} needs {md.group_segment_fixed_size} bytes of LDS; "
                                  f"a workgroup has {self.device.lds_size}")
        self.wave32 = bool(descriptor.enable_wavefront_size32)
        self._geometries: dict = {}

    def __repr__(self) -> str:
        args = ", ".join(f"{a.name}: {a.type_name or a.kind}" for a in self.layout.args)
        return f"Kernel {self.name}({args})"

    @property
    def arguments(self):
        """The explicit arguments (name, kind, type, size) from the metadata."""
        return self.layout.args

    def geometry(self, global_size, local_size=None, global_offset=None) -> Geometry:
        key = (global_size, local_size, global_offset)
        try:
            return self._geometries[key]
        except (KeyError, TypeError):
            pass
        if local_size is None and self.required_local_size is not None:
            local_size = self.required_local_size
        geometry = make_geometry(global_size, local_size, global_offset,
                                 max_workgroup_size=self.max_workgroup_size)
        if self.required_local_size is not None and geometry.local_size != self.required_local_size:
            raise InvalidArgument(f"kernel {self.name!r} requires local_size {self.required_local_size}, "
                                  f"got {geometry.local_size}")
        try:
            if len(self._geometries) < 64:
                self._geometries[key] = geometry
        except TypeError:
            pass
        return geometry

    def _pointer(self, spec, value) -> int:
        if isinstance(value, Buffer):
            alloc = value.allocation
            runtime = self.device.runtime
            if value.device.runtime is not runtime:
                spec.fail("is a buffer of another runtime (another process's view of the GPUs)")
            if self.device.gpu_id not in alloc.mapped:
                runtime.share(value, self.device)
            return alloc.va
        if value is None:
            return 0
        spec.fail(f"is a pointer; pass a Buffer (or None), got {type(value).__name__}")

    def __call__(self, *args, global_size, local_size=None, global_offset=None, wait: bool = True,
                 queue=None, after=(), timeout: float | None = None) -> Signal:
        geometry = self.geometry(global_size, local_size, global_offset)
        return self.launch(args, geometry, wait=wait, queue=queue, after=after, timeout=timeout)

    def launch(self, args, geometry: Geometry, *, wait: bool = True, queue=None, after=(),
               timeout: float | None = None, pointer=None, dynamic_lds: int = 0) -> Signal:
        """Launch with a checked geometry. `pointer` converts pointer arguments (default: Buffers);
        `dynamic_lds` adds LDS bytes beyond static and Local arguments."""
        device = self.device
        queue = queue if queue is not None else device.compute
        if queue.device is not device:
            raise InvalidArgument(f"kernel {self.name!r} is loaded on {device.name}, not on the queue's "
                                  f"{queue.device.name}; load the code object there too")
        context = queue.launch_context
        values, lds = self.layout.values(args, geometry, context, pointer or self._pointer, dynamic_lds)
        if self.private_segment_size:
            queue.ensure_scratch(self.private_segment_size)
        refs = tuple(a for a in args if not isinstance(a, (int, float, np.generic, Local)))
        signal = Signal(device.runtime)
        queue.dispatch(self, values, geometry, lds, signal, refs, after)
        if wait:
            signal.wait(timeout)
        return signal
