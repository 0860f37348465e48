"""Instruction traces for kernel developers: for selected waves, each executed instruction with
its PC, its text and the registers it changed.

Turn it on with AMDRT_TRACE=1 (wave 0), AMDRT_TRACE=all, AMDRT_TRACE=0,5,9 (dispatch-wide wave
indices), or the `trace=` argument of Emulator.run / run_dispatch. A trace from the environment
is printed to stderr; one asked for through the API is collected into DispatchResult.trace.
A line looks like

    w0 0x1e30: v_cmpx_gt_i32_e64 s3, v1  exec=0x0000ffff
    w0 0x1e60: v_add_co_u32 v2, vcc_lo, s4, v0  v2=[0x20000000 0x20000004 ... (32 lanes)] vcc=0xffffffff
"""

import sys

import numpy as np

from isa import operands as opd
from isa.emu.state import Batch, Group

_SPECIAL = {opd.VCC_LO: "vcc_lo", opd.VCC_HI: "vcc_hi", opd.M0: "m0", opd.EXEC_LO: "exec_lo",
            opd.EXEC_HI: "exec_hi"}


def _sname(code: int) -> str:
    if code <= opd.SGPR_MAX:
        return f"s{code}"
    if opd.TTMP_FIRST <= code <= opd.TTMP_LAST:
        return f"ttmp{code - opd.TTMP_FIRST}"
    return _SPECIAL.get(code, f"s?{code}")


def _lanes_text(values: np.ndarray, live: np.ndarray, show: int = 4) -> str:
    vals = values[live] if live.any() else values
    if vals.size and (vals == vals[0]).all():
        return f"0x{int(vals[0]):x}"
    shown = " ".join(f"0x{int(v):x}" for v in vals[:show])
    more = f" ... ({vals.size} lanes)" if vals.size > show else ""
    return f"[{shown}{more}]"


class Tracer:
    """Collects (and optionally prints) trace lines for a set of waves (None: every wave)."""

    def __init__(self, waves=(0,), stream=None, limit: int | None = 100_000):
        self.waves = None if waves is None else frozenset(int(w) for w in waves)
        self.stream = stream
        self.limit = limit
        self.lines: list[str] = []

    @classmethod
    def from_option(cls, option) -> "Tracer":
        """From the `trace=` argument or the AMDRT_TRACE value."""
        if isinstance(option, str):
            text = option.strip().lower()
            if text in ("1", "true", "yes", "on"):
                return cls((0,), sys.stderr)
            if text == "all":
                return cls(None, sys.stderr)
            return cls([int(w) for w in text.replace(" ", "").split(",") if w], sys.stderr)
        if option is True:
            return cls((0,))
        return cls(option)

    def _rows(self, b: Batch, g: Group) -> np.ndarray:
        ids = b.wave_id[g.idx]
        if self.waves is None:
            return np.arange(g.n)
        return np.nonzero(np.isin(ids, list(self.waves)))[0]

    def wants(self, b: Batch, g: Group) -> bool:
        if self.limit is not None and len(self.lines) >= self.limit:
            return False
        return self._rows(b, g).size > 0

    def before(self, b: Batch, g: Group):
        rows = self._rows(b, g)
        waves = g.idx[rows]
        return rows, b.S[:, waves].copy(), b.V[:, waves, :].copy(), b.scc[waves].copy()

    def after(self, b: Batch, g: Group, step, snap, text: str) -> None:
        rows, s_old, v_old, scc_old = snap
        waves = g.idx[rows]
        s_new, v_new, scc_new = b.S[:, waves], b.V[:, waves, :], b.scc[waves]
        for i, w in enumerate(waves):
            changes = []
            live = b.exec[w]
            for r in np.nonzero((v_new[:, i, :] != v_old[:, i, :]).any(axis=1))[0]:
                changes.append(f"v{r}={_lanes_text(v_new[r, i], live)}")
            for code in np.nonzero(s_new[:, i] != s_old[:, i])[0]:
                changes.append(f"{_sname(int(code))}=0x{int(s_new[code, i]):08x}")
            if scc_new[i] != scc_old[i]:
                changes.append(f"scc={int(scc_new[i])}")
            line = f"w{int(b.wave_id[w])} 0x{step.pc:x}: {text}"
            if changes:
                line += "  " + " ".join(changes)
            self.emit(line)

    def emit(self, line: str) -> None:
        if self.limit is not None and len(self.lines) >= self.limit:
            return
        self.lines.append(line)
        if self.stream is not None:
            print(line, file=self.stream)
