"""Register state of a batch of waves, held as numpy arrays so that one instruction executes for
many waves at once.

Layout (register-major, so that one register of a group of consecutive waves is one contiguous
view):  V[vgpr, wave, lane] uint32;  S[code, wave] uint32 for scalar source codes 0..127 (SGPRs,
VCC, TTMPs, null, M0, EXEC);  scc[wave] bool;  exec[wave, lane] bool mirrors EXEC for the VALU;
lds[workgroup, dword] uint32.

A Group is the set of waves that execute the same block together: their indices and, when they
are consecutive, a slice (numpy views instead of copies on that fast path).
"""

import numpy as np

from isa import operands as opd

U32 = np.uint32
U64 = np.uint64

VCC, EXEC, M0, NULL = opd.VCC_LO, opd.EXEC_LO, opd.M0, opd.NULL
TTMP_FIRST, TTMP_LAST = opd.TTMP_FIRST, opd.TTMP_LAST
NUM_SCALAR = 128
FULL_BYTES = b"\xff" * 4           # a wave32 lane mask with every lane


class ArrayPool:
    """Register files kept from one batch to the next: a fresh multi-megabyte array costs a page
    fault per page on first touch, which can take longer than running the kernel."""

    MAX_ARRAYS = 16
    MAX_BYTES = 1 << 30             # batches of 2^20 work-items make register files of 100s of MiB

    def __init__(self):
        self._arrays: dict = {}

    def get(self, role: str, shape: tuple, dtype) -> np.ndarray:
        """The kept array for `role` (arrays of two roles never alias, whatever their shapes)."""
        key = (role, shape, np.dtype(dtype).str)
        a = self._arrays.get(key)
        if a is None:
            a = np.empty(shape, dtype)
            if len(self._arrays) >= self.MAX_ARRAYS or self.nbytes + a.nbytes > self.MAX_BYTES:
                self._arrays.clear()
            self._arrays[key] = a
        return a

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self._arrays.values())


class HardwareRegisters(dict):
    """Hardware register id -> [W] uint32, each made on first use by its maker in `makers`
    (most kernels read none of them)."""

    def __init__(self):
        super().__init__()
        self.makers: dict = {}

    def __missing__(self, reg):
        make = self.makers.get(reg)
        if make is None:
            raise KeyError(reg)
        value = self[reg] = make()
        return value

    def __contains__(self, reg) -> bool:
        return dict.__contains__(self, reg) or reg in self.makers


class Batch:
    """The waves of one batch of workgroups (all waves of a workgroup are in the same batch).
    The launch (isa.emu.launch) sets v0 and zeroes the other VGPRs; SGPRs, SCC and LDS start at
    zero."""

    def __init__(self, nwaves: int, lanes: int, nvgpr: int, nworkgroups: int, lds_bytes: int,
                 pool: ArrayPool | None = None, sgprs: int = VCC, ttmps: bool = True, filled=(), waves=None):
        pool = pool or ArrayPool()
        self.W = nwaves
        self.L = lanes
        self.nvgpr = nvgpr
        self.V = pool.get("vgprs", (nvgpr, nwaves, lanes), U32)
        # Only the SGPRs the code can name are zeroed (name_sgprs): zeroing all of them would cost
        # as much as a few instructions of a large batch.
        self.S = pool.get("sgprs", (NUM_SCALAR, nwaves), U32)
        self.sgprs = 0                  # SGPRs s0 .. s[sgprs - 1] are zero or written
        self.ttmps = False              # whether the TTMPs are
        self.S[[VCC, VCC + 1, M0, EXEC, EXEC + 1]] = 0
        self.name_sgprs(sgprs, ttmps, filled)
        self.scc = np.zeros(nwaves, bool)
        self.exec = pool.get("exec", (nwaves, lanes), bool)
        self.lds_bytes = lds_bytes
        words = max(2, -(-lds_bytes // 8) * 2)          # even, so 64-bit LDS atomics have a view
        self.lds = pool.get("lds", (max(nworkgroups, 1), words), U32)
        self.lds.fill(0)
        self.lane_ids = np.arange(lanes, dtype=U32)
        # Where the waves sit: (workgroup (index in the batch) of each wave, its wave in the
        # workgroup, dispatch-wide wave index, first wave of each workgroup, the wave's private
        # memory (FLAT_SCRATCH)), as the launch gives them (read only: layouts are kept).
        if waves is None:
            waves = (np.zeros(nwaves, np.int64), np.zeros(nwaves, np.int64), np.zeros(nwaves, np.int64),
                     np.zeros(max(nworkgroups, 1), np.int64), np.zeros(nwaves, U64))
        self.wg, self.wave_in_wg, self.wave_id, self.wg_first_wave, self.scratch_base = waves
        self.hwreg = HardwareRegisters()              # hardware register id -> [W] uint32
        self.lds_index = {}                           # LDS address register -> dword indices (isa.emu.lds)
        self.hazards = None                           # hazards.Tracker when checking is on
        self.memory = None                            # the Memory the dispatch runs against
        self.clock = 0                                # wave-instructions executed so far (a cycle counter)
        self.lazy = {}                                # VGPR -> lazy.Held: rows of V not yet written
        self.lazy_ok = False                          # whether instructions may hold VGPRs lazily

    def name_sgprs(self, count: int, ttmps: bool, filled=()) -> None:
        """SGPRs s0 .. s[count - 1] (and the TTMPs, if `ttmps`) may be read from now on: zeroes
        the ones not yet zeroed, except the rows in `filled` (written whole by the caller)."""
        if ttmps and not self.ttmps:
            self.S[TTMP_FIRST:TTMP_LAST + 1] = 0
            self.ttmps = True
        count = min(count, VCC)
        if count > self.sgprs:
            rows = [r for r in range(self.sgprs, count) if r not in filled]
            if len(rows) == count - self.sgprs:
                self.S[self.sgprs:count] = 0
            elif rows:
                self.S[rows] = 0
            self.sgprs = count

    # -- lane masks ---------------------------------------------------------------------------
    def mask_bits(self, code: int, sel) -> np.ndarray:
        """A lane mask held in scalar registers (a pair in wave64) as uint64 bits per wave."""
        lo = self.S[code, sel].astype(U64)
        if self.L == 64:
            lo |= self.S[code + 1, sel].astype(U64) << U64(32)
        return lo

    def mask(self, code: int, sel) -> np.ndarray:
        """A lane mask held in scalar registers as bool [n, L]."""
        words = self.S[code, sel] if self.L == 32 else self.mask_bits(code, sel)
        raw = np.ascontiguousarray(words).view(np.uint8).reshape(-1)
        # one flat unpack (rows are whole bytes): numpy's per-axis form is several times slower
        return np.unpackbits(raw, bitorder="little").view(bool).reshape(-1, self.L)

    def set_mask(self, code: int, sel, lanes: np.ndarray) -> None:
        """Writes bool [n, L] as a lane mask to scalar register(s) `code`."""
        words = pack_lanes(lanes)
        if code == NULL:
            return
        self.S[code, sel] = words[:, 0]
        if self.L == 64 and code + 1 < NUM_SCALAR:
            self.S[code + 1, sel] = words[:, 1]
        if code in (EXEC, EXEC + 1) or (self.L == 64 and code + 1 == EXEC):
            self.exec_from_sgprs(sel)

    def exec_from_sgprs(self, sel) -> None:
        words = self.S[EXEC, sel]
        if self.L == 32 and words.tobytes() == FULL_BYTES * words.size:
            self.exec[sel] = True          # every lane (no unpacking)
        else:
            self.exec[sel] = self.mask(EXEC, sel)

    def set_exec(self, sel, lanes: np.ndarray, words: np.ndarray | None = None) -> None:
        """EXEC of the waves `sel` = lanes (bool [n, L]); `words`: the same packed, if known."""
        if words is None:
            words = pack_lanes(lanes)
        self.S[EXEC, sel] = words[:, 0]
        if self.L == 64:
            self.S[EXEC + 1, sel] = words[:, 1]
        self.exec[sel] = lanes

    # -- 64-bit scalar pairs ------------------------------------------------------------------
    def s64(self, code: int, sel) -> np.ndarray:
        return pair64(self.S[code, sel], self.S[code + 1, sel])

    def set_s64(self, code: int, sel, value) -> None:
        value = np.asarray(value, U64)
        self.S[code, sel] = (value & U64(0xFFFFFFFF)).astype(U32)
        self.S[code + 1, sel] = (value >> U64(32)).astype(U32)


def pair64(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Two uint32 arrays (low and high halves) as one uint64 array."""
    out = np.empty(np.broadcast_shapes(np.shape(lo), np.shape(hi)), U64)
    halves = out.view(U32).reshape(out.shape + (2,))
    halves[..., 0] = lo
    halves[..., 1] = hi
    return out


def pack_lanes(lanes: np.ndarray) -> np.ndarray:
    """bool [n, L] -> uint32 [n, L // 32] (lane 0 in bit 0 of the first word)."""
    lanes = np.ascontiguousarray(lanes, dtype=bool)
    packed = np.packbits(lanes.reshape(-1), bitorder="little")    # flat: rows are whole words
    return packed.view("<u4").astype(U32, copy=False).reshape(lanes.shape[0], lanes.shape[1] // 32)


class Group:
    """Waves that run one block together. `idx` holds sorted wave indices; `sel` is a slice over
    them when they are consecutive (views, not copies) and the index array otherwise."""

    __slots__ = ("idx", "sel", "n", "exec", "full", "pc", "contiguous", "cache")

    def __init__(self, idx: np.ndarray, pc: int):
        self.idx = idx
        self.n = int(idx.size)
        self.pc = pc
        self.contiguous = bool(self.n and int(idx[-1]) - int(idx[0]) + 1 == self.n)
        self.sel = slice(int(idx[0]), int(idx[-1]) + 1) if self.contiguous else idx
        self.exec = None
        self.full = False
        self.cache = {}             # per-lane values derived from EXEC (cleared when it changes)

    def refresh(self, batch: Batch) -> None:
        """Re-reads EXEC after an instruction changed it."""
        self.exec = batch.exec[self.sel]
        self.full = bool(self.exec.all())
        self.cache = {}

    def __repr__(self) -> str:
        return f"Group(pc=0x{self.pc:x}, waves={self.n})"
