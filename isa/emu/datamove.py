"""How the data of a memory instruction moves between VGPRs and memory bytes, shared by LDS,
global / flat / scratch and buffer instructions: access size, sign or zero extension, and the
16-bit (d16) forms that fill or store one half of a VGPR."""

from dataclasses import dataclass

import numpy as np

from isa.emu.state import U32


@dataclass(frozen=True)
class Shape:
    nbytes: int          # bytes touched per lane
    dwords: int          # VGPRs read (stores) or written (loads)
    signed: bool = False
    half: str | None = None   # 'lo' / 'hi': a 16-bit value in that half of the VGPR, the other kept


_WIDTHS = {"b8": 1, "u8": 1, "i8": 1, "b16": 2, "u16": 2, "i16": 2, "b32": 4, "b64": 8, "b96": 12, "b128": 16}


def parse(kind: str) -> Shape:
    """A shape from an instruction's data suffix: 'b32', 'u8', 'd16_hi_i8', 'u8_d16_hi', ..."""
    parts = kind.split("_")
    half = None
    if "d16" in parts:
        half = "hi" if "hi" in parts else "lo"
        parts = [p for p in parts if p not in ("d16", "hi")]
    (width,) = [p for p in parts if p in _WIDTHS]
    nbytes = _WIDTHS[width]
    return Shape(nbytes, max(1, nbytes // 4), width.startswith("i"), half)


def to_vgprs(raw: np.ndarray, shape: Shape) -> np.ndarray:
    """Loaded bytes [N, nbytes] -> VGPR values [N, dwords] uint32 (a d16 value in the low 16
    bits, to be placed in the selected half)."""
    n = raw.shape[0]
    if shape.nbytes >= 4:
        return np.ascontiguousarray(raw).view(U32).reshape(n, shape.dwords)
    dt = {(1, False): np.uint8, (1, True): np.int8, (2, False): np.uint16, (2, True): np.int16}
    v = np.ascontiguousarray(raw).view(dt[(shape.nbytes, shape.signed)]).reshape(n)
    out = v.astype(np.int64).astype(U32)
    if shape.half is not None:
        out &= U32(0xFFFF)
    return out.reshape(n, 1)


def from_vgprs(values: np.ndarray, shape: Shape) -> np.ndarray:
    """VGPR values [N, dwords] uint32 -> the bytes [N, nbytes] a store writes (d16_hi stores
    take the high half)."""
    n = values.shape[0]
    v = np.ascontiguousarray(values, U32)
    if shape.nbytes >= 4:
        return v.view(np.uint8).reshape(n, 4 * shape.dwords)[:, :shape.nbytes]
    if shape.half == "hi":
        v = v >> U32(16)
    return np.ascontiguousarray(v[:, :1]).view(np.uint8).reshape(n, 4)[:, :shape.nbytes]


def merge_half(old: np.ndarray, value: np.ndarray, half: str) -> np.ndarray:
    if half == "hi":
        return (old & U32(0xFFFF)) | (value << U32(16))
    return (old & U32(0xFFFF0000)) | (value & U32(0xFFFF))
