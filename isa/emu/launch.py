"""What a dispatch is, and the state the hardware gives each wave when it starts, per the kernel
descriptor (LLVM AMDGPUUsage, "Initial Kernel Execution State", gfx11):

- user SGPRs from s0, in this order where the descriptor enables them: private segment buffer
  (4), dispatch ptr (2), queue ptr (2), kernarg segment ptr (2), dispatch id (2), flat scratch
  init (2), private segment size (1), then preloaded kernarg dwords; system SGPRs from
  s[user_sgpr_count]: workgroup id x, y, z, workgroup info, private segment wave byte offset;
- v0: the work-item id, x | y << 10 | z << 20 (y and z as enable_vgpr_workitem_id asks);
- EXEC: the lanes of the wave that exist (a workgroup's last wave may be partial; a workgroup at
  the grid's edge may be smaller); VCC, SCC and M0 zero; MODE from the descriptor's float modes.

Private memory: the caller gives a region at scratch_base. Each wave in flight uses a slot of
scratch_per_wave bytes (private_segment_size * lanes; the swizzled layout of isa.emu.vmem); with
a scratch_size, a dispatch runs at most scratch_size // scratch_per_wave waves at a time.
"""

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from isa.codeobj.descriptor import DESCRIPTOR_SIZE, KernelDescriptor
from isa.emu import lazy, scalar
from isa.emu.errors import LaunchError
from isa.emu.state import U32, U64, VCC, Batch, pack_lanes
from isa.errors import CodeObjectError

PRIVATE_ALIGN = 16          # bytes per work-item the private segment size is rounded up to


@dataclass(frozen=True)
class Dispatch:
    """One kernel dispatch: what a command processor takes from an AQL packet and the kernel
    descriptor (or from the COMPUTE_* registers a PM4 stream set)."""
    code_address: int                   # GPU address of the first instruction
    descriptor: bytes                   # the 64-byte kernel descriptor
    grid: tuple[int, int, int]          # work-items per dimension
    workgroup: tuple[int, int, int]     # work-items per workgroup per dimension
    kernarg_address: int = 0
    dispatch_ptr: int = 0               # the AQL packet, for kernels that read it
    queue_ptr: int = 0
    dispatch_id: int = 0
    lds_bytes: int | None = None        # LDS per workgroup (None: the descriptor's static size)
    private_segment_size: int | None = None  # private bytes per work-item (None: as below)
    user_sgprs: tuple[int, ...] | None = None  # PM4: the user SGPR values as programmed
    scratch_base: int = 0               # private memory: wave slot i at scratch_base + i * per wave
    scratch_per_wave: int = 0           # 0: private_segment_size (or the descriptor's) * lanes
    scratch_size: int | None = None     # bytes at scratch_base (None: one slot per wave of a batch)

    def __post_init__(self):
        grid = tuple(int(x) for x in self.grid) + (1,) * (3 - len(self.grid))
        wg = tuple(int(x) for x in self.workgroup) + (1,) * (3 - len(self.workgroup))
        object.__setattr__(self, "grid", grid)
        object.__setattr__(self, "workgroup", wg)
        object.__setattr__(self, "descriptor", bytes(self.descriptor))
        if len(grid) != 3 or len(wg) != 3 or any(x < 1 for x in grid) or any(x < 1 for x in wg):
            raise LaunchError(f"grid {self.grid} and workgroup {self.workgroup} need 1 to 3 sizes of at least 1")
        if wg[0] * wg[1] * wg[2] > 1024:
            raise LaunchError(f"workgroup {wg} has more than 1024 work-items")
        if self.user_sgprs is not None and len(self.user_sgprs) > 32:
            raise LaunchError("at most 32 user SGPRs can be programmed")

    @classmethod
    def from_kernel_object(cls, memory, kernel_object: int, grid, workgroup, **fields) -> "Dispatch":
        """An AQL-style dispatch: the descriptor read from memory at `kernel_object`, the code
        at the descriptor's entry offset."""
        data = memory.read_bytes(kernel_object, DESCRIPTOR_SIZE)
        entry = int.from_bytes(data[16:24], "little", signed=True)
        return cls((kernel_object + entry) & ((1 << 64) - 1), data, grid, workgroup, **fields)


@dataclass(frozen=True)
class Kernel:
    """The parts of a kernel descriptor that shape a launch."""
    kd: KernelDescriptor
    entry: int
    lanes: int

    @classmethod
    def of(cls, d: Dispatch) -> "Kernel":
        return _kernel(d.descriptor, d.code_address)

    @property
    def vgprs(self) -> int:
        granule = 8 if self.lanes == 32 else 4
        return (self.kd.granulated_workitem_vgpr_count + 1) * granule

    @property
    def mode(self) -> int:
        kd = self.kd
        return (kd.float_round_mode_32 | (kd.float_round_mode_16_64 << 2) | (kd.float_denorm_mode_32 << 4)
                | (kd.float_denorm_mode_16_64 << 6) | (kd.enable_dx10_clamp << 8) | (kd.enable_ieee_mode << 9)
                | (kd.fp16_ovfl << 23))


@lru_cache(maxsize=256)
def _kernel(descriptor: bytes, entry: int) -> Kernel:
    try:
        kd = KernelDescriptor.from_bytes(descriptor)
    except CodeObjectError as e:
        raise LaunchError(f"bad kernel descriptor: {e}") from None
    if kd.kernarg_preload_spec_length:
        raise LaunchError("the kernel descriptor asks for kernarg preloading, which gfx11 does not have")
    return Kernel(kd, entry, 32 if kd.enable_wavefront_size32 else 64)


@dataclass(frozen=True)
class Geometry:
    """How a dispatch splits into workgroups and waves."""
    grid: tuple[int, int, int]
    workgroup: tuple[int, int, int]
    lanes: int

    @property
    def counts(self) -> tuple[int, int, int]:
        return tuple(-(-g // w) for g, w in zip(self.grid, self.workgroup))

    @property
    def workgroups(self) -> int:
        cx, cy, cz = self.counts
        return cx * cy * cz

    @property
    def no_edges(self) -> bool:
        """Every workgroup has the full size (the grid is a multiple of the workgroup)."""
        return all(g % w == 0 for g, w in zip(self.grid, self.workgroup))

    @property
    def max_waves_per_group(self) -> int:
        wx, wy, wz = self.workgroup
        return -(-(wx * wy * wz) // self.lanes)

    def workgroup_ids(self, first: int, count: int) -> np.ndarray:
        """[count, 3] (x, y, z) ids of consecutive linear workgroups (x fastest)."""
        return np.stack([self.workgroup_id(dim, first, count) for dim in range(3)], axis=1)

    def workgroup_id(self, dim: int, first: int, count: int) -> np.ndarray:
        """[count] ids in dimension `dim` of consecutive linear workgroups."""
        cx, cy, _ = self.counts
        lin = np.arange(first, first + count, dtype=np.int64)
        if dim == 0:
            return lin % cx if first + count > cx else lin
        if dim == 1:
            return (lin // cx) % cy
        return lin // (cx * cy)

    def sizes(self, ids: np.ndarray) -> np.ndarray:
        """[k, 3] actual sizes of the workgroups (smaller at the grid's far edges)."""
        wg = np.array(self.workgroup, np.int64)
        return np.minimum(wg, np.array(self.grid, np.int64) - ids * wg)


def private_bytes(kernel: Kernel, d: Dispatch) -> int:
    """Private bytes per work-item (the wave's slot holds this many per lane)."""
    if d.private_segment_size is not None:
        size = d.private_segment_size
    elif d.scratch_per_wave:
        return d.scratch_per_wave // kernel.lanes
    else:
        size = kernel.kd.private_segment_fixed_size
    return -(-size // PRIVATE_ALIGN) * PRIVATE_ALIGN


def lds_bytes(kernel: Kernel, d: Dispatch) -> int:
    static = kernel.kd.group_segment_fixed_size
    return static if d.lds_bytes is None else max(d.lds_bytes, static)


def _workitem_pattern(sx: int, sy: int, sz: int, lanes: int, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """v0 and the live lanes of each wave of a workgroup of the given size."""
    items = sx * sy * sz
    waves = -(-items // lanes)
    flat = np.arange(waves * lanes, dtype=np.int64).reshape(waves, lanes)
    x = flat % sx
    y = (flat // sx) % sy
    z = flat // (sx * sy)
    v0 = x
    if dims >= 1:
        v0 = v0 | (y << 10)
    if dims >= 2:
        v0 = v0 | (z << 20)
    live = flat < items
    return np.where(live, v0, 0).astype(U32), live


@dataclass(frozen=True)
class _Layout:
    """Where the waves of a batch's workgroups sit, and the v0 and EXEC they start with."""
    waves_per: np.ndarray       # [nwg] waves of each workgroup
    wg_of_wave: np.ndarray      # [W] the workgroup (index in the batch) of each wave
    wave_in_wg: np.ndarray      # [W]
    first_of_wg: np.ndarray     # [nwg] index of each workgroup's first wave
    v0: np.ndarray              # [W, L] uint32
    exists: np.ndarray          # [W, L] bool: the lanes that have a work-item

    @property
    def waves(self) -> int:
        return self.wg_of_wave.size

    @cached_property
    def exec_words(self) -> np.ndarray:
        """`exists` as EXEC words [W, L // 32]."""
        return pack_lanes(self.exists)

    @cached_property
    def v0_affine(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(base [W], lanes [L]) with v0 = base + lanes in every wave, when every lane exists
        and the work-item ids have that form (they do for any workgroup shape whose rows are
        a multiple of the wave), else None."""
        if not self.exists.all():
            return None
        v0 = self.v0.astype(np.int64)
        lanes = v0[0] - v0[0, 0]
        if not (v0 - v0[:, :1] == lanes).all():
            return None
        base = self.v0[:, 0].copy()
        base.flags.writeable = False
        return base, lanes


def _layout(sizes: np.ndarray, lanes: int, dims: int) -> _Layout:
    """The layout of workgroups of the given [k, 3] sizes: one work-item pattern per distinct
    size, repeated."""
    nwg = sizes.shape[0]
    waves_per = -(-sizes.prod(axis=1) // lanes)
    W = int(waves_per.sum())
    wg_of_wave = np.repeat(np.arange(nwg), waves_per)
    first_of_wg = np.concatenate(([0], np.cumsum(waves_per)[:-1]))
    wave_in_wg = np.arange(W) - first_of_wg[wg_of_wave]
    v0 = np.empty((W, lanes), U32)
    exists = np.empty((W, lanes), bool)
    shapes, which = np.unique(sizes, axis=0, return_inverse=True)
    which = which.reshape(-1)
    for k, (sx, sy, sz) in enumerate(shapes):
        pattern, live = _workitem_pattern(int(sx), int(sy), int(sz), lanes, dims)
        if shapes.shape[0] == 1:
            v0[:] = np.tile(pattern, (nwg, 1))
            exists[:] = np.tile(live, (nwg, 1))
        else:
            rows = np.nonzero(which[wg_of_wave] == k)[0]
            v0[rows] = pattern[wave_in_wg[rows]]
            exists[rows] = live[wave_in_wg[rows]]
    return _Layout(waves_per, wg_of_wave, wave_in_wg, first_of_wg, v0, exists)


@lru_cache(maxsize=4)
def _full_layout(workgroup: tuple[int, int, int], nwg: int, lanes: int, dims: int) -> _Layout:
    """The layout of nwg whole workgroups, the same for every batch away from the grid's edges
    (kept read-only between batches)."""
    layout = _layout(np.tile(np.array(workgroup, np.int64), (nwg, 1)), lanes, dims)
    for a in (layout.waves_per, layout.wg_of_wave, layout.wave_in_wg, layout.first_of_wg, layout.v0,
              layout.exists):
        a.flags.writeable = False
    return layout


def _hardware_registers(b: Batch, mode: int, nvgpr: int, lds: int, apertures) -> None:
    """The waves' hardware registers, each made when an instruction first reads it."""
    W, wave_id = b.W, b.wave_id                 # not the batch: no reference cycle to keep it alive

    def const(value: int):
        return lambda: np.full(W, value, U32)

    def hw_id1():
        w = wave_id.astype(U32)                 # the fields take the low 14 bits
        return ((w & 15) | (((w >> 4) & 3) << 8) | (((w >> 6) & 15) << 10) | (((w >> 10) & 1) << 16)
                | (((w >> 11) & 7) << 18))

    b.hwreg.makers.update({
        scalar.MODE: const(mode),
        scalar.HWREG["TRAPSTS"]: const(0),
        scalar.HW_ID1: hw_id1,
        scalar.HW_ID2: const(0),
        scalar.GPR_ALLOC: const(((nvgpr // 8 - 1) & 0xFF) << 8),
        scalar.LDS_ALLOC: const((-(-lds // 512) & 0x1FF) << 12),
        scalar.SH_MEM_BASES: const(((apertures.shared_hi >> 16) << 16) | (apertures.private_hi >> 16)),
    })


def build_batch(kernel: Kernel, d: Dispatch, geo: Geometry, first_wg: int, nwg: int, nvgpr: int,
                lds: int, private: int, first_wave: int, slot_base: int, apertures, pool=None,
                lazy_ok: bool = False, sgprs: int = VCC, ttmps: bool = True) -> Batch:
    """The initial state of the waves of workgroups first_wg .. first_wg + nwg - 1. With
    lazy_ok, lane-affine values may be held per wave (isa.emu.lazy), v0 among them. `sgprs`:
    how many SGPRs the prepared code names, `ttmps` whether it names a TTMP (Batch.name_sgprs
    zeroes more when more code is prepared); the ones the launch fills are added."""
    L = kernel.lanes
    kd = kernel.kd
    dims = kd.enable_vgpr_workitem_id
    sizes = None if geo.no_edges else geo.sizes(geo.workgroup_ids(first_wg, nwg))
    if sizes is None or (sizes == np.array(geo.workgroup)).all():
        layout = _full_layout(tuple(geo.workgroup), nwg, L, dims)
    else:
        layout = _layout(sizes, L, dims)
    W = layout.waves
    waves_per, wg_of_wave = layout.waves_per, layout.wg_of_wave
    # private memory: one slot per wave in flight
    slot_bytes = d.scratch_per_wave or private * L
    slots = slot_base + np.arange(W, dtype=np.int64)
    scratch_base = (d.scratch_base + slots * slot_bytes).astype(U64)
    b = Batch(W, L, nvgpr, nwg, lds, pool, sgprs=0, ttmps=ttmps,
              waves=(wg_of_wave, layout.wave_in_wg, first_wave + np.arange(W), layout.first_of_wg, scratch_base))
    # VGPRs other than the work-item ids start at zero (on hardware: whatever the register file
    # held), held per wave where that is allowed, so that no lane pays for them.
    b.lazy_ok = lazy_ok and L == 32
    held_v0 = layout.v0_affine if b.lazy_ok else None
    if held_v0 is None:
        b.V[0] = layout.v0
    else:
        b.lazy[0] = lazy.Held(0, W, lazy.Affine(held_v0[0], held_v0[1]))
    if b.lazy_ok:
        zero = lazy.Affine(0)
        b.lazy.update((r, lazy.Held(0, W, zero)) for r in range(1, nvgpr))
    else:
        b.V[1:] = 0
    b.set_exec(slice(None), layout.exists, layout.exec_words)


    # user SGPRs: as programmed (PM4), or the ones the descriptor enables (AQL)
    s = 0
    filled = set()

    def put(value) -> None:
        nonlocal s
        b.S[s] = value if isinstance(value, np.ndarray) else U32(value & 0xFFFFFFFF)
        filled.add(s)
        s += 1

    def put64(value) -> None:
        put(value)
        put(value >> 32)

    for value in d.user_sgprs or ():
        put(value)
    if kd.enable_sgpr_private_segment_buffer:
        index_stride = 2 if L == 32 else 3
        for word in (d.scratch_base, ((d.scratch_base >> 32) & 0xFFFF) | (1 << 30), 0xFFFFFFFF,
                     (index_stride << 21) | (1 << 23) | (3 << 28)):
            put(word)
    if kd.enable_sgpr_dispatch_ptr:
        put64(d.dispatch_ptr)
    if kd.enable_sgpr_queue_ptr:
        put64(d.queue_ptr)
    if kd.enable_sgpr_kernarg_segment_ptr:
        put64(d.kernarg_address)
    if kd.enable_sgpr_dispatch_id:
        put64(d.dispatch_id)
    if kd.enable_sgpr_flat_scratch_init:
        put64(d.scratch_base)
    if kd.enable_sgpr_private_segment_size:
        put(private)
    # system SGPRs
    s = kd.user_sgpr_count
    enabled = (kd.enable_sgpr_workgroup_id_x, kd.enable_sgpr_workgroup_id_y, kd.enable_sgpr_workgroup_id_z)
    for dim in range(3):
        if enabled[dim]:
            put(np.repeat(geo.workgroup_id(dim, first_wg, nwg).astype(U32), waves_per))
    if kd.enable_sgpr_workgroup_info:
        put(waves_per[wg_of_wave].astype(U32))
    if kd.enable_private_segment:
        put((slots * slot_bytes).astype(U32))
    if s > 106:
        raise LaunchError(f"the descriptor asks for {s} initial SGPRs, more than the 106 a wave has")
    b.name_sgprs(max(sgprs, s), ttmps, filled)  # the rows written above are not zeroed

    _hardware_registers(b, kernel.mode, nvgpr, lds, apertures)
    return b

