"""kfd.abi and kfd.sysfs against the installed kernel headers, compiled with gcc.

The header is parsed for its structs (and their fields), ioctl requests and constants; a generated
C program prints what the compiler makes of each, and every value must match ours. Anything the
header has that kfd.abi lacks fails the test."""

from __future__ import annotations

import ctypes
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import kfd.abi as abi
import kfd.sysfs as sysfs

HEADERS = ("linux/kfd_ioctl.h", "linux/kfd_sysfs.h")


# --- locating and parsing the headers -----------------------------------------------------------

def _gcc() -> str:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed; the ABI check compiles the kernel headers with it")
    return gcc


def _drm_shim(tmp: Path, gcc: str) -> list[str]:
    """kfd_ioctl.h includes <drm/drm.h> only for the __u32/__u64 types; where that header is
    absent, an include directory with a drm/drm.h that pulls in <linux/types.h> stands in."""
    probe = subprocess.run([gcc, "-E", "-x", "c", "-"], input="#include <drm/drm.h>\n",
                           capture_output=True, text=True)
    if probe.returncode == 0:
        return []
    (tmp / "drm").mkdir(parents=True, exist_ok=True)
    (tmp / "drm" / "drm.h").write_text("#include <linux/types.h>\n")
    return ["-I", str(tmp)]


def _header_path(gcc: str, flags: list[str], header: str) -> Path:
    out = subprocess.run([gcc, *flags, "-E", "-x", "c", "-"], input=f"#include <{header}>\n",
                         capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip(f"<{header}> is not installed (package linux-libc-dev): {out.stderr.strip()}")
    for m in re.finditer(r'^# \d+ "([^"]+)"', out.stdout, re.M):
        if m.group(1).endswith(header):
            return Path(m.group(1))
    raise AssertionError(f"gcc found <{header}> but its preprocessor output does not name the file")


def _clean(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return text.replace("\\\n", " ")


@dataclass
class CStruct:
    name: str
    fields: list[str]
    flexible: set[str] = field(default_factory=set)


def parse_structs(text: str) -> dict[str, CStruct]:
    structs = {}
    for m in re.finditer(r"\bstruct\s+(\w+)\s*\{", text):
        depth, i = 1, m.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        body = text[m.end():i - 1]
        # Members of anonymous unions/structs are members of the enclosing struct in C.
        body = re.sub(r"\b(?:union|struct)\s*\{", " ", body).replace("}", " ")
        s = CStruct(m.group(1), [])
        for decl in (d.strip() for d in body.split(";")):
            if not decl:
                continue
            fm = re.search(r"(\w+)\s*(\[\s*([^\]]*)\])?\s*$", decl)
            assert fm, f"cannot read member declaration {decl!r} of struct {s.name}"
            s.fields.append(fm.group(1))
            if fm.group(2) is not None and not fm.group(3).strip():
                s.flexible.add(fm.group(1))
        structs[s.name] = s
    return structs


IOCTL_RE = re.compile(
    r"#define\s+(AMDKFD_IOC_\w+)\s+AMDKFD_IO(R|W|WR)?\(\s*(0x[0-9A-Fa-f]+|\d+)\s*,\s*struct\s+(\w+)\s*\)")


def parse_ioctls(text: str) -> dict[str, tuple[str, int, str]]:
    return {m.group(1): (m.group(2) or "", int(m.group(3), 0), m.group(4))
            for m in IOCTL_RE.finditer(text)}


def parse_constants(text: str) -> list[str]:
    """Object-like macros with a value, and enum members."""
    names = []
    for m in re.finditer(r"^[ \t]*#[ \t]*define[ \t]+(\w+)(\(?)([^\n]*)$", text, re.M):
        if not m.group(2) and m.group(3).strip():
            names.append(m.group(1))
    for m in re.finditer(r"\benum\s+\w*\s*\{(.*?)\}", text, re.S):
        for member in m.group(1).split(","):
            if member.strip():
                names.append(re.match(r"\s*(\w+)", member).group(1))
    return names


def parse_function_macros(text: str) -> list[str]:
    return re.findall(r"^[ \t]*#[ \t]*define[ \t]+(\w+)\(", text, re.M)


# --- the generated C program --------------------------------------------------------------------

@dataclass
class Reference:
    texts: dict[str, str]
    structs: dict[str, CStruct]
    ioctls: dict[str, tuple[str, int, str]]
    constants: dict[str, list[str]]
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)          # struct -> size, align
    offsets: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)  # -> offset, size
    values: dict[str, tuple[int, int]] = field(default_factory=dict)         # const -> size, value
    smi_masks: dict[int, int] = field(default_factory=dict)


def _program(ref: Reference) -> str:
    lines = ["#include <stdio.h>", "#include <stddef.h>"]
    lines += [f"#include <{h}>" for h in HEADERS]
    lines.append("int main(void) {")
    for s in ref.structs.values():
        lines.append(f'printf("S {s.name} %zu %zu\\n", sizeof(struct {s.name}), '
                     f"_Alignof(struct {s.name}));")
        for f in s.fields:
            size = "(size_t)0" if f in s.flexible else f"sizeof(((struct {s.name} *)0)->{f})"
            lines.append(f'printf("F {s.name} {f} %zu %zu\\n", offsetof(struct {s.name}, {f}), {size});')
    for names in ref.constants.values():
        for name in names:
            lines.append(f'printf("C {name} %zu %lld\\n", sizeof({name}), (long long)({name}));')
    lines.append('for (int i = 1; i <= 64; i++) printf("M %d %llu\\n", i, '
                 "(unsigned long long)KFD_SMI_EVENT_MASK_FROM_INDEX(i));")
    lines += ["return 0;", "}"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def ref(tmp_path_factory) -> Reference:
    gcc = _gcc()
    tmp = tmp_path_factory.mktemp("kfd_abi")
    flags = _drm_shim(tmp, gcc)
    texts = {h: _clean(_header_path(gcc, flags, h).read_text()) for h in HEADERS}
    ioctl_text = texts["linux/kfd_ioctl.h"]
    ref = Reference(texts=texts, structs=parse_structs(ioctl_text), ioctls=parse_ioctls(ioctl_text),
                    constants={h: parse_constants(t) for h, t in texts.items()})
    src = tmp / "abi.c"
    src.write_text(_program(ref))
    exe = tmp / "abi"
    build = subprocess.run([gcc, "-std=gnu11", "-Wall", *flags, "-o", str(exe), str(src)],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        kind, *rest = line.split()
        if kind == "S":
            ref.sizes[rest[0]] = (int(rest[1]), int(rest[2]))
        elif kind == "F":
            ref.offsets[(rest[0], rest[1])] = (int(rest[2]), int(rest[3]))
        elif kind == "C":
            ref.values[rest[0]] = (int(rest[1]), int(rest[2]))
        elif kind == "M":
            ref.smi_masks[int(rest[0])] = int(rest[1])
    return ref


# --- the checks ---------------------------------------------------------------------------------

def _python_fields(cls) -> list[tuple[str, int, int]]:
    """(name, offset, size) of every member as C sees it, anonymous unions flattened."""
    fields = []
    for name, ctype, *_ in cls._fields_:
        if name in getattr(cls, "_anonymous_", ()):
            base = getattr(cls, name).offset
            fields += [(n, base + off, size) for n, off, size in _python_fields(ctype)]
        else:
            descr = getattr(cls, name)
            fields.append((name, descr.offset, descr.size))
    return fields


def _abi_structs() -> dict[str, type]:
    return {name: obj for name, obj in vars(abi).items()
            if isinstance(obj, type) and issubclass(obj, abi.KFDStruct) and obj is not abi.KFDStruct}


def test_header_parse_found_the_abi(ref):
    # Guards the parser itself: a header this size has dozens of each.
    assert len(ref.structs) >= 40
    assert len(ref.ioctls) >= 35
    assert len(ref.constants["linux/kfd_ioctl.h"]) >= 100
    assert len(ref.constants["linux/kfd_sysfs.h"]) >= 50


def test_every_header_struct_is_defined_once(ref):
    ours = _abi_structs()
    missing = sorted(set(ref.structs) - set(ours))
    assert not missing, f"structs in kfd_ioctl.h missing from kfd.abi: {missing}"
    extra = sorted(set(ours) - set(ref.structs))
    assert not extra, f"kfd.abi structs not in the header: {extra}"
    for name, cls in ours.items():
        assert cls.__name__ == name, f"kfd.abi.{name} is an alias of {cls.__name__}"


def test_struct_sizes_and_alignment(ref):
    bad = []
    for name, (size, align) in ref.sizes.items():
        cls = getattr(abi, name, None)
        if cls is None:
            bad.append(f"{name}: missing from kfd.abi")
            continue
        if (ctypes.sizeof(cls), ctypes.alignment(cls)) != (size, align):
            bad.append(f"{name}: ours size {ctypes.sizeof(cls)} align {ctypes.alignment(cls)}, "
                       f"C size {size} align {align}")
    assert not bad, "\n".join(bad)


def test_struct_fields_names_offsets_sizes(ref):
    bad = []
    for name, cstruct in ref.structs.items():
        if not hasattr(abi, name):
            bad.append(f"{name}: missing from kfd.abi")
            continue
        ours = _python_fields(getattr(abi, name))
        if [n for n, *_ in ours] != cstruct.fields:
            bad.append(f"{name}: ours {[n for n, *_ in ours]} C {cstruct.fields}")
            continue
        for fname, offset, size in ours:
            c_offset, c_size = ref.offsets[(name, fname)]
            if (offset, size) != (c_offset, c_size):
                bad.append(f"{name}.{fname}: ours offset {offset} size {size}, "
                           f"C offset {c_offset} size {c_size}")
    assert not bad, "\n".join(bad)


def test_every_ioctl_is_in_the_table(ref):
    table_names = {f"AMDKFD_IOC_{d.name}" for d in abi.IOCTLS.values()}
    assert set(ref.ioctls) == table_names
    direction = {"": abi.IOC_NONE, "R": abi.IOC_READ, "W": abi.IOC_WRITE,
                 "WR": abi.IOC_READ | abi.IOC_WRITE}
    for name, (kind, nr, struct) in ref.ioctls.items():
        d = abi.IOCTLS_BY_NAME[name[len("AMDKFD_IOC_"):]]
        assert d.nr == nr, name
        assert d.struct.__name__ == struct, name
        assert d.direction == direction[kind], name
        assert d.copies_out == ("R" in kind), name
        assert abi.IOCTLS_BY_NR[nr] is d
        assert ref.values[name][1] == d.request == getattr(abi, name), name


@pytest.mark.parametrize("header,module", [("linux/kfd_ioctl.h", abi), ("linux/kfd_sysfs.h", sysfs)])
def test_every_constant_matches(ref, header, module):
    bad = []
    for name in ref.constants[header]:
        size, c_value = ref.values[name]
        if not hasattr(module, name):
            bad.append(f"{name} missing from {module.__name__}")
            continue
        ours = getattr(module, name)
        # C evaluates (1 << 31) in int; compare as the bits a field of that width holds.
        mask = (1 << (8 * size)) - 1
        if not isinstance(ours, int) or ours < 0 or ours > mask or (ours - c_value) & mask:
            bad.append(f"{name}: ours {ours!r}, C {c_value} ({size} bytes)")
    assert not bad, "\n".join(bad)


def test_function_macros(ref):
    macros = parse_function_macros(ref.texts["linux/kfd_ioctl.h"])
    assert set(macros) == {"AMDKFD_IO", "AMDKFD_IOR", "AMDKFD_IOW", "AMDKFD_IOWR",
                           "KFD_SMI_EVENT_MASK_FROM_INDEX"}, "a new function-like macro needs a check"
    for index, mask in ref.smi_masks.items():
        assert abi.KFD_SMI_EVENT_MASK_FROM_INDEX(index) == mask
    with pytest.raises(ValueError):
        abi.KFD_SMI_EVENT_MASK_FROM_INDEX(0)


def test_command_range_matches_table(ref):
    nrs = sorted(nr for _, nr, _ in ref.ioctls.values())
    assert nrs == list(range(abi.AMDKFD_COMMAND_START, abi.AMDKFD_COMMAND_END))


# --- properties of the encoding helpers ----------------------------------------------------------

@given(direction=st.integers(0, 3), kind=st.integers(0, 255), nr=st.integers(0, 255),
       size=st.integers(0, (1 << 14) - 1))
def test_ioc_round_trips(direction, kind, nr, size):
    request = abi._IOC(direction, kind, nr, size)
    assert 0 <= request < 1 << 32
    assert abi.decode_request(request) == abi.DecodedRequest(direction, kind, nr, size)


@pytest.mark.parametrize("args", [(4, 0, 0, 0), (0, 256, 0, 0), (0, 0, 256, 0), (0, 0, 0, 1 << 14),
                                  (-1, 0, 0, 0)])
def test_ioc_rejects_fields_that_do_not_fit(args):
    with pytest.raises(ValueError):
        abi._IOC(*args)


def test_decode_rejects_non_32_bit():
    with pytest.raises(ValueError):
        abi.decode_request(1 << 32)
    with pytest.raises(ValueError):
        abi.decode_request(-1)


@given(mmap_type=st.sampled_from([abi.KFD_MMAP_TYPE_DOORBELL, abi.KFD_MMAP_TYPE_EVENTS,
                                  abi.KFD_MMAP_TYPE_RESERVED_MEM, abi.KFD_MMAP_TYPE_MMIO]),
       gpu_id=st.integers(0, 0xFFFF), value=st.integers(0, (1 << 46) - 1))
def test_mmap_offset_fields_are_disjoint(mmap_type, gpu_id, value):
    offset = abi.kfd_mmap_offset(mmap_type, gpu_id, value)
    assert offset < 1 << 64
    assert offset & abi.KFD_MMAP_TYPE_MASK == mmap_type
    assert abi.KFD_MMAP_GET_GPU_ID(offset) == gpu_id
    assert offset & abi.KFD_MMAP_OFFSET_VALUE_MASK == value


def test_mmap_offset_rejects_out_of_range():
    with pytest.raises(ValueError):
        abi.kfd_mmap_offset(abi.KFD_MMAP_TYPE_DOORBELL, 1 << 16)
    with pytest.raises(ValueError):
        abi.kfd_mmap_offset(abi.KFD_MMAP_TYPE_DOORBELL, 1, 1 << 46)
    with pytest.raises(ValueError):
        abi.kfd_mmap_offset(5, 1)


def test_event_data_union_members_alias():
    ev = abi.kfd_event_data()
    ev.hw_exception_data.gpu_id = 0x697D
    # Both union members start at offset 0: hw gpu_id is the memory failure's 4th word.
    assert ev.memory_exception_data.failure.imprecise == 0x697D
    ev.event_id = 7
    assert bytes(ev)[40:44] == (7).to_bytes(4, "little")


@given(st.integers(0, 16))
def test_svm_args_type_extends_the_flexible_array(n):
    cls = abi.svm_args_type(n)
    assert issubclass(cls, abi.kfd_ioctl_svm_args)
    assert ctypes.sizeof(cls) == ctypes.sizeof(abi.kfd_ioctl_svm_args) + n * 8
    assert cls.attr_list.offset == abi.kfd_ioctl_svm_args.attrs.offset
    assert abi.svm_args_type(n) is cls


@pytest.mark.parametrize("bad", [-1, 1.5, "3"])
def test_svm_args_type_rejects_bad_counts(bad):
    with pytest.raises(ValueError):
        abi.svm_args_type(bad)


def test_struct_equality_and_repr():
    a = abi.kfd_ioctl_destroy_queue_args(queue_id=3)
    b = abi.kfd_ioctl_destroy_queue_args(queue_id=3)
    assert a == b and a != abi.kfd_ioctl_destroy_queue_args(queue_id=4)
    assert repr(a) == "kfd_ioctl_destroy_queue_args(queue_id=3, pad=0)"
    assert abi.ioctl_name(abi.AMDKFD_IOC_DESTROY_QUEUE) == "AMDKFD_IOC_DESTROY_QUEUE"
    assert abi.ioctl_name(0x1234) == "ioctl 0x00001234"
