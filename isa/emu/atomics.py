"""Read-modify-write semantics of the LDS and memory atomics, and their resolution when many
lanes (of many waves) hit the same address in one instruction.

Lanes are applied one after another in a defined order -- wave by wave, lane by lane -- so each
lane returns the value the previous lane left. Addresses hit once are resolved in one vectorized
step; repeated addresses in rounds (the k-th access of every address in round k); an address hit
many times by an exact sequential scan where the operation has one (integer add/sub/and/or/xor/
min/max, float add in order, exchange, float min/max) and a plain loop otherwise.
"""

import numpy as np

U32 = np.uint32
U64 = np.uint64

_SIGNED = {32: np.int32, 64: np.int64}
_FLOAT = {32: np.float32, 64: np.float64}
_UNSIGNED = {32: U32, 64: U64}

BIG_SEGMENT = 64


def _as(x, dtype):
    return np.ascontiguousarray(x).view(dtype)


class Op:
    """One atomic operation on `bits`-wide values: step(acc, data, data2) -> new value."""

    def __init__(self, name: str, bits: int):
        self.name = name
        self.bits = bits
        self.ut = _UNSIGNED[bits]
        self.st = _SIGNED[bits]
        self.ft = _FLOAT[bits]
        if name not in _STEPS:
            raise KeyError(name)
        self.uses_data2 = name in ("cmpswap", "cmpswap_f", "mskor", "wrap")

    def step(self, acc, d, d2=None):
        return _STEPS[self.name](self, np.asarray(acc, self.ut), np.asarray(d, self.ut),
                                 None if d2 is None else np.asarray(d2, self.ut))


def _f(op: Op, x):
    return _as(x, op.ft)


def _s(op: Op, x):
    return _as(x, op.st)


_STEPS = {
    "swap": lambda o, a, d, d2: d.copy(),
    "cmpswap": lambda o, a, d, d2: np.where(a == d2, d, a),
    "cmpswap_f": lambda o, a, d, d2: np.where(_f(o, a) == _f(o, d2), d, a),
    "add": lambda o, a, d, d2: a + d,
    "sub": lambda o, a, d, d2: a - d,
    "rsub": lambda o, a, d, d2: d - a,
    "csub": lambda o, a, d, d2: np.where(a < d, o.ut(0), a - d),
    "min_i": lambda o, a, d, d2: np.where(_s(o, d) < _s(o, a), d, a),
    "max_i": lambda o, a, d, d2: np.where(_s(o, d) > _s(o, a), d, a),
    "min_u": lambda o, a, d, d2: np.minimum(a, d),
    "max_u": lambda o, a, d, d2: np.maximum(a, d),
    "and": lambda o, a, d, d2: a & d,
    "or": lambda o, a, d, d2: a | d,
    "xor": lambda o, a, d, d2: a ^ d,
    "inc": lambda o, a, d, d2: np.where(a >= d, o.ut(0), a + o.ut(1)),
    "dec": lambda o, a, d, d2: np.where((a == 0) | (a > d), d, a - o.ut(1)),
    "mskor": lambda o, a, d, d2: (a & ~d) | d2,
    "wrap": lambda o, a, d, d2: np.where(a >= d, a - d, a + d2),
    "add_f": lambda o, a, d, d2: _as((_f(o, a) + _f(o, d)).astype(o.ft), o.ut),
    "min_f": lambda o, a, d, d2: np.where(_f(o, d) < _f(o, a), d, a),
    "max_f": lambda o, a, d, d2: np.where(_f(o, d) > _f(o, a), d, a),
    # ds_condxchg32: store the low 31 bits where the data's top bit asks for it
    "condxchg": lambda o, a, d, d2: np.where(d >> o.ut(o.bits - 1), d & o.ut((1 << (o.bits - 1)) - 1), a),
}


# ---------------------------------------------------------------------------------------------
# exact sequential scans of one address's accesses: (acc0, data) -> (returned values, final)

def _chain(acc0, data, dtype):
    x = np.empty(data.size + 1, dtype)
    x[0] = acc0
    x[1:] = data
    return x


def _scan_ufunc(ufunc, view):
    def scan(op: Op, acc0, d, d2):
        x = _as(_chain(acc0, d, op.ut), view(op))
        y = _as(np.ascontiguousarray(ufunc.accumulate(x, dtype=x.dtype)), op.ut)
        return y[:-1], y[-1]
    return scan


def _scan_sub(op: Op, acc0, d, d2):
    x = _chain(acc0, -d, op.ut)
    y = np.add.accumulate(x, dtype=op.ut)
    return y[:-1], y[-1]


def _scan_swap(op: Op, acc0, d, d2):
    x = _chain(acc0, d, op.ut)
    return x[:-1], x[-1]


def _scan_record(better):
    """Float min / max as the pseudocode folds them (`src < tmp ? src : tmp`): the running value
    changes only at a strictly better element; a NaN never wins, a NaN already stored stays."""
    def scan(op: Op, acc0, d, d2):
        x = _chain(acc0, d, op.ut)
        f = _as(x, op.ft).astype(np.float64)
        if np.isnan(f[0]):
            return np.full(d.size, x[0], op.ut), x[0]
        f[1:][np.isnan(f[1:])] = np.inf if better is np.less else -np.inf
        best = (np.minimum if better is np.less else np.maximum).accumulate(f)
        record = np.zeros(f.size, bool)
        record[0] = True
        record[1:] = better(f[1:], best[:-1])
        winner = np.maximum.accumulate(np.where(record, np.arange(f.size), 0))
        y = x[winner]
        return y[:-1], y[-1]
    return scan


def _scan_loop(op: Op, acc0, d, d2):
    rets = np.empty(d.size, op.ut)
    acc = op.ut(acc0)
    for i in range(d.size):
        rets[i] = acc
        acc = op.step(acc, d[i], None if d2 is None else d2[i])[()]
    return rets, acc


_SCANS = {
    "add": _scan_ufunc(np.add, lambda o: o.ut),
    "sub": _scan_sub,
    "and": _scan_ufunc(np.bitwise_and, lambda o: o.ut),
    "or": _scan_ufunc(np.bitwise_or, lambda o: o.ut),
    "xor": _scan_ufunc(np.bitwise_xor, lambda o: o.ut),
    "min_u": _scan_ufunc(np.minimum, lambda o: o.ut),
    "max_u": _scan_ufunc(np.maximum, lambda o: o.ut),
    "min_i": _scan_ufunc(np.minimum, lambda o: o.st),
    "max_i": _scan_ufunc(np.maximum, lambda o: o.st),
    "add_f": _scan_ufunc(np.add, lambda o: o.ft),
    "swap": _scan_swap,
    "min_f": _scan_record(np.less),
    "max_f": _scan_record(np.greater),
}


def resolve(op: Op, old: np.ndarray, inv: np.ndarray, data: np.ndarray, data2: np.ndarray | None = None):
    """Applies the accesses in order. `old` [U] holds the current value of each distinct
    address, `inv` [N] the address index of each access (in execution order), `data`/`data2`
    [N] the operands. Returns (value each access returns [N], final value per address [U])."""
    old = np.asarray(old, op.ut)
    data = np.asarray(data, op.ut)
    data2 = None if data2 is None else np.asarray(data2, op.ut)
    n = inv.size
    final = old.copy()
    if n == 0:
        return np.zeros(0, op.ut), final
    counts = np.bincount(inv, minlength=old.size)
    if counts.max() <= 1:
        before = old[inv]
        final[inv] = op.step(before, data, data2)
        return before, final
    rets = np.empty(n, op.ut)
    order = np.argsort(inv, kind="stable")
    sinv = inv[order]
    starts = np.concatenate(([0], np.nonzero(np.diff(sinv))[0] + 1))
    lengths = np.diff(np.concatenate((starts, [n])))
    seg = np.repeat(np.arange(starts.size), lengths)
    rank = np.arange(n) - starts[seg]
    big = lengths > BIG_SEGMENT
    scan = _SCANS.get(op.name, _scan_loop)
    for s in np.nonzero(big)[0]:
        pos = order[starts[s]:starts[s] + lengths[s]]
        key = sinv[starts[s]]
        r, f = scan(op, final[key], data[pos], None if data2 is None else data2[pos])
        rets[pos] = r
        final[key] = f
    small = ~big[seg]
    if small.any():
        spos = order[small]
        srank = rank[small]
        by_rank = np.argsort(srank, kind="stable")
        spos = spos[by_rank]
        bounds = np.concatenate(([0], np.cumsum(np.bincount(srank[by_rank]))))
        for k in range(bounds.size - 1):
            pos = spos[bounds[k]:bounds[k + 1]]
            keys = inv[pos]
            before = final[keys]
            rets[pos] = before
            final[keys] = op.step(before, data[pos], None if data2 is None else data2[pos])
    return rets, final
