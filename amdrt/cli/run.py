"""`amdrt run FILE`: load a code object (or assemble a .s file), run one kernel on inputs made
from the command line, and print or save its outputs.

    amdrt run saxpy.co --kernel saxpy --global 1024 --local 256 \\
        --arg out:f32:1024 --arg buf:f32:1024:rand --arg f32:2.0 --arg u32:1024

Each --arg is one kernel argument, in order:

    buf:TYPE:COUNT[:INIT]     input buffer of COUNT elements; INIT is rand (default), zeros, ones,
                              arange, fill=VALUE or file=PATH (.npy, or raw bytes)
    out:TYPE:COUNT            output buffer (zero-filled), printed and saved after the run
    inout:TYPE:COUNT[:INIT]   an input buffer that is printed and saved like an output
    TYPE:VALUE                a value: f16 f32 f64 i8 i16 i32 i64 u8 u16 u32 u64 (f32:2.5, u32:0x10)
    local:NBYTES              dynamic LDS for an OpenCL __local pointer argument
    null                      a NULL pointer
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DTYPES = {"f16": np.float16, "f32": np.float32, "f64": np.float64, "i8": np.int8, "i16": np.int16,
          "i32": np.int32, "i64": np.int64, "u8": np.uint8, "u16": np.uint16, "u32": np.uint32, "u64": np.uint64}
BUFFER_KINDS = ("buf", "in", "out", "inout")
ASSEMBLY_SUFFIXES = (".s", ".asm")


class ArgError(ValueError):
    """A --arg that cannot be understood."""


@dataclass
class ArgSpec:
    text: str
    kind: str                      # 'buffer', 'value', 'local', 'null'
    dtype: np.dtype | None = None
    count: int = 0
    init: str = "rand"
    output: bool = False
    value: object = None


def _dtype(name: str, text: str) -> np.dtype:
    try:
        return np.dtype(DTYPES[name])
    except KeyError:
        raise ArgError(f"{text!r}: unknown type {name!r}; use one of {', '.join(DTYPES)}") from None


def _number(dtype: np.dtype, value: str, text: str):
    try:
        if dtype.kind == "f":
            return dtype.type(float(value))
        number = int(value, 0)
    except ValueError:
        raise ArgError(f"{text!r}: {value!r} is not a {dtype} value") from None
    info = np.iinfo(dtype)
    if not info.min <= number <= info.max:
        raise ArgError(f"{text!r}: {number} does not fit in {dtype}")
    return dtype.type(number)


def parse_arg(text: str) -> ArgSpec:
    """One --arg specification (see the module help)."""
    parts = text.split(":")
    head = parts[0]
    if head == "null" and len(parts) == 1:
        return ArgSpec(text, "null")
    if head == "local":
        if len(parts) != 2:
            raise ArgError(f"{text!r}: expected local:NBYTES")
        try:
            nbytes = int(parts[1], 0)
        except ValueError:
            raise ArgError(f"{text!r}: {parts[1]!r} is not a byte count") from None
        if nbytes < 0:
            raise ArgError(f"{text!r}: the size must not be negative")
        return ArgSpec(text, "local", count=nbytes)
    if head in BUFFER_KINDS:
        if len(parts) < 3:
            raise ArgError(f"{text!r}: expected {head}:TYPE:COUNT[:INIT]")
        dtype = _dtype(parts[1], text)
        try:
            count = int(parts[2], 0)
        except ValueError:
            raise ArgError(f"{text!r}: {parts[2]!r} is not an element count") from None
        if count <= 0:
            raise ArgError(f"{text!r}: a buffer needs at least one element")
        init = ":".join(parts[3:]) or ("zeros" if head == "out" else "rand")
        if head == "out" and len(parts) > 3:
            raise ArgError(f"{text!r}: out buffers start zeroed; use inout:TYPE:COUNT:INIT to initialize")
        if not (init in ("rand", "zeros", "ones", "arange") or init.startswith(("fill=", "file="))):
            raise ArgError(f"{text!r}: INIT {init!r} is not rand, zeros, ones, arange, fill=V or file=PATH")
        if init.startswith("fill="):
            _number(dtype, init[5:], text)
        return ArgSpec(text, "buffer", dtype, count, init, output=head in ("out", "inout"))
    if head in DTYPES:
        if len(parts) != 2:
            raise ArgError(f"{text!r}: expected TYPE:VALUE")
        dtype = _dtype(head, text)
        return ArgSpec(text, "value", dtype, value=_number(dtype, parts[1], text))
    raise ArgError(f"{text!r}: expected buf:, out:, inout:, local:, null or TYPE:VALUE (e.g. f32:2.0)")


def initial_data(spec: ArgSpec, rng: np.random.Generator) -> np.ndarray:
    dtype, count, init = spec.dtype, spec.count, spec.init
    if init == "zeros":
        return np.zeros(count, dtype)
    if init == "ones":
        return np.ones(count, dtype)
    if init == "arange":
        return np.arange(count).astype(dtype)
    if init.startswith("fill="):
        return np.full(count, _number(dtype, init[5:], spec.text), dtype)
    if init.startswith("file="):
        path = Path(init[5:])
        try:
            data = np.load(path) if path.suffix == ".npy" else np.fromfile(path, dtype)
        except (OSError, ValueError) as e:
            raise ArgError(f"{spec.text!r}: cannot read {path}: {e}") from None
        data = np.ascontiguousarray(data).reshape(-1)
        if data.nbytes < count * dtype.itemsize:
            raise ArgError(f"{spec.text!r}: {path} holds {data.nbytes} bytes, fewer than {count} x {dtype}")
        return np.frombuffer(data.tobytes()[:count * dtype.itemsize], dtype).copy()
    if dtype.kind == "f":
        return rng.random(count).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, -100), min(info.max, 100), count, dtype=dtype, endpoint=True)


def _triple(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v, 0) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not X[,Y[,Z]]") from None
    if not 1 <= len(values) <= 3 or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give 1 to 3 positive sizes")
    return values


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = __doc__.split("\n\n", 2)[2]
    parser.add_argument("file", type=Path, help="code object (ELF) or assembly with .amdhsa_kernel directives (.s)")
    parser.add_argument("--kernel", "-k", help="kernel name (default: the only kernel)")
    parser.add_argument("--global", "-g", dest="global_size", type=_triple, required=True,
                        help="work-items per dimension, X[,Y,Z]")
    parser.add_argument("--local", "-l", dest="local_size", type=_triple, default=None,
                        help="workgroup size, X[,Y,Z] (default: the kernel's required size, else 64)")
    parser.add_argument("--arg", "-a", dest="args", action="append", default=[], metavar="SPEC",
                        help="a kernel argument, in order (see below)")
    parser.add_argument("--device", "-d", type=int, default=0, help="GPU index (default 0)")
    parser.add_argument("--seed", type=int, default=0, help="seed of rand inputs (default 0)")
    parser.add_argument("--print", dest="print_count", type=int, default=16, metavar="N",
                        help="elements of each output to print (default 16; 0 prints none)")
    parser.add_argument("--save", type=Path, metavar="DIR", help="save every output as DIR/<argument>.npy")
    parser.add_argument("--timeout", type=float, default=None, help="seconds to wait for the kernel")


def load_code(path: Path) -> bytes:
    """Code object bytes from a file: read, or assembled when it is assembly source."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ArgError(f"cannot read {path}: {e.strerror}") from None
    if path.suffix not in ASSEMBLY_SUFFIXES:
        return data
    import isa
    assemble = getattr(isa, "assemble_code_object", None)
    if assemble is not None:
        return assemble(data.decode())
    mc, lld = shutil.which("llvm-mc-19"), shutil.which("ld.lld-19")
    if not (mc and lld):
        raise ArgError(f"{path}: assembling needs isa.assemble_code_object or llvm-mc-19 and ld.lld-19")
    with tempfile.TemporaryDirectory() as tmp:
        obj, co = Path(tmp) / "k.o", Path(tmp) / "k.co"
        for cmd in ([mc, "-triple=amdgcn-amd-amdhsa", "-mcpu=gfx1100", "-filetype=obj", str(path), "-o", str(obj)],
                    [lld, "-shared", str(obj), "-o", str(co)]):
            result = subprocess.run(cmd, capture_output=True, text=True)
            if result.returncode:
                raise ArgError(f"{path}: {Path(cmd[0]).name} failed:\n{result.stderr.strip()}")
        return co.read_bytes()


def _label(kernel, index: int) -> str:
    specs = kernel.arguments
    name = specs[index].name if index < len(specs) else f"#{index}"
    return name if not name.startswith("#") else f"arg{index}"


def run(args: argparse.Namespace) -> int:
    import amdrt
    from isa.errors import IsaError

    try:
        specs = [parse_arg(a) for a in args.args]
        code = load_code(args.file)
        devices = amdrt.devices()
        if not 0 <= args.device < len(devices):
            raise ArgError(f"--device {args.device}: there are {len(devices)} GPUs")
        dev = devices[args.device]
        program = dev.load(code)
        name = args.kernel
        if name is None:
            if len(program.names) != 1:
                raise ArgError(f"{args.file} has kernels {', '.join(program.names)}; pick one with --kernel")
            name = program.names[0]
        kernel = program[name]
        rng = np.random.default_rng(args.seed)
        values, outputs = [], []
        for i, spec in enumerate(specs):
            if spec.kind == "buffer":
                buf = dev.alloc(spec.count * spec.dtype.itemsize)
                buf.copyin(initial_data(spec, rng))
                values.append(buf)
                if spec.output:
                    outputs.append((i, spec, buf))
            elif spec.kind == "value":
                values.append(spec.value)
            elif spec.kind == "local":
                values.append(amdrt.Local(spec.count))
            else:
                values.append(None)
        local = args.local_size
        if local is None and kernel.required_local_size is None:
            local = (min(64, args.global_size[0]),) + (1,) * (len(args.global_size) - 1)
        signal = kernel(*values, global_size=args.global_size, local_size=local, timeout=args.timeout)
    except (ArgError, amdrt.AmdrtError, IsaError) as e:
        print(f"amdrt run: {e}", file=sys.stderr)
        return 1
    geometry = kernel.geometry(args.global_size, local)
    elapsed = signal.elapsed
    timing = f", {elapsed * 1e3:.3f} ms on the GPU clock" if elapsed is not None else ""
    print(f"{name}: {'x'.join(map(str, geometry.global_size[:geometry.dims]))} work-items in workgroups of "
          f"{'x'.join(map(str, geometry.local_size[:geometry.dims]))} on {dev.name}{timing}")
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
    with np.printoptions(threshold=max(args.print_count, 1), edgeitems=max(args.print_count // 2, 1)):
        for i, spec, buf in outputs:
            data = buf.numpy(spec.dtype, spec.count)
            label = _label(kernel, i)
            if args.print_count > 0:
                shown = data if data.size <= args.print_count else data[:args.print_count]
                more = f" ... ({data.size} elements)" if data.size > args.print_count else ""
                print(f"{label} = {np.array2string(shown, separator=', ')}{more}")
            if args.save:
                np.save(args.save / f"{label}.npy", data)
    return 0
