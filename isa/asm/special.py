"""Instruction-specific operand syntaxes: s_waitcnt counters, s_delay_alu, s_waitcnt_depctr,
hwreg(...), sendmsg(...), ds_swizzle offsets and MTBUF formats. Each returns the field value or
raises AsmError with the column of the offending token."""

from isa.asm.lexer import Expr, ExprParser
from isa.asm.operand import Func, Sym
from isa.errors import AsmError
from isa.tables import table

# --- s_waitcnt (gfx11 layout: expcnt [2:0], lgkmcnt [9:4], vmcnt [15:10]) -------------------
WAITCNT_FIELDS = {'vmcnt': (10, 6), 'expcnt': (0, 3), 'lgkmcnt': (4, 6)}
WAITCNT_DEFAULT = 0xFC07 | (0x3F << 4)


def _abs_value(p: ExprParser, what: str):
    t = p.tok
    v = p.parse_expr()
    if isinstance(v, Expr):
        raise AsmError("expected absolute expression", 0, t[2] + 1)
    return v


def parse_waitcnt(p: ExprParser) -> int:
    t = p.tok
    if not (t[0] == 'id' and p.peek()[0] == '('):
        return _abs_value(p, 'waitcnt')
    value = WAITCNT_DEFAULT
    while True:
        t = p.tok
        if t[0] != 'id':
            raise p.error("expected a counter name")
        name = t[1]
        sat = name.endswith('_sat')
        base = name[:-4] if sat else name
        if base not in WAITCNT_FIELDS:
            raise p.error(f"invalid counter name {name}")
        p.advance()
        p.expect('(', "expected a left parenthesis")
        vtok = p.tok
        v = _abs_value(p, name)
        p.expect(')', "expected a closing parenthesis")
        shift, width = WAITCNT_FIELDS[base]
        limit = (1 << width) - 1
        if v > limit or v < 0:
            if sat:
                v = limit if v > limit else 0
            else:
                raise AsmError(f"too large value for {name}", 0, vtok[2] + 1 - len(name) - 1)
        value = (value & ~(limit << shift)) | (v << shift)
        if p.kind() in ('&', ','):
            p.advance()
            if p.kind() == 'end':
                raise p.error("expected a counter name")
            continue
        if p.kind() == 'end':
            return value


# --- s_delay_alu ---------------------------------------------------------------------------------
DELAY_IDS = {'NO_DEP': 0, 'VALU_DEP_1': 1, 'VALU_DEP_2': 2, 'VALU_DEP_3': 3, 'VALU_DEP_4': 4,
             'TRANS32_DEP_1': 5, 'TRANS32_DEP_2': 6, 'TRANS32_DEP_3': 7, 'FMA_ACCUM_CYCLE_1': 8,
             'SALU_CYCLE_1': 9, 'SALU_CYCLE_2': 10, 'SALU_CYCLE_3': 11}
DELAY_SKIPS = {'SAME': 0, 'NEXT': 1, 'SKIP_1': 2, 'SKIP_2': 3, 'SKIP_3': 4, 'SKIP_4': 5}
DELAY_FIELDS = {'instid0': (0, DELAY_IDS), 'instskip': (4, DELAY_SKIPS), 'instid1': (7, DELAY_IDS)}


def parse_delay(p: ExprParser) -> int:
    t = p.tok
    if not (t[0] == 'id' and p.peek()[0] == '('):
        return _abs_value(p, 'delay')
    value = 0
    while True:
        t = p.tok
        if t[0] != 'id' or t[1] not in DELAY_FIELDS:
            raise p.error("invalid field name " + t[1] if t[0] == 'id' else "expected a field name")
        shift, names = DELAY_FIELDS[t[1]]
        p.advance()
        p.expect('(', "expected a left parenthesis")
        vt = p.tok
        if vt[0] != 'id' or vt[1] not in names:
            raise p.error(f"invalid value name {vt[1]}" if vt[0] == 'id' else "expected a value name")
        p.advance()
        p.expect(')', "expected a closing parenthesis")
        value |= names[vt[1]] << shift
        if p.kind() == '|':
            p.advance()
            continue
        if p.kind() == 'end':
            return value
        raise p.error("invalid operand for instruction")


# --- s_waitcnt_depctr ----------------------------------------------------------------------------
DEPCTR_FIELDS = {  # name -> (shift, width)
    'depctr_hold_cnt': (7, 1), 'depctr_sa_sdst': (0, 1), 'depctr_va_vdst': (12, 4),
    'depctr_va_sdst': (9, 3), 'depctr_va_ssrc': (8, 1), 'depctr_va_vcc': (1, 1), 'depctr_vm_vsrc': (2, 3),
}
DEPCTR_DEFAULT = 0xFF9F


def parse_depctr(p: ExprParser) -> int:
    t = p.tok
    if not (t[0] == 'id' and p.peek()[0] == '('):
        return _abs_value(p, 'depctr')
    value = DEPCTR_DEFAULT
    seen = set()
    while True:
        t = p.tok
        if t[0] != 'id' or t[1] not in DEPCTR_FIELDS:
            raise p.error(f"invalid counter name {t[1]}" if t[0] == 'id' else "expected a counter name")
        name = t[1]
        if name in seen:
            raise p.error(f"duplicate counter name {name}")
        seen.add(name)
        p.advance()
        p.expect('(', "expected a left parenthesis")
        v = _abs_value(p, name)
        p.expect(')', "expected a closing parenthesis")
        shift, width = DEPCTR_FIELDS[name]
        if not 0 <= v < (1 << width):
            raise AsmError(f"invalid value for {name}", 0, t[2] + 1)
        value = (value & ~(((1 << width) - 1) << shift)) | (v << shift)
        if p.kind() in ('&', ','):
            p.advance()
            continue
        if p.kind() == 'end':
            return value


# --- hwreg(...) ----------------------------------------------------------------------------------
# The names LLVM gives gfx11's hardware registers (some differ from the ISA document's).
GFX11_HWREGS = {
    'HW_REG_MODE': 1, 'HW_REG_STATUS': 2, 'HW_REG_TRAPSTS': 3, 'HW_REG_GPR_ALLOC': 5, 'HW_REG_LDS_ALLOC': 6,
    'HW_REG_IB_STS': 7, 'HW_REG_SH_MEM_BASES': 15, 'HW_REG_PERF_SNAPSHOT_PC_LO': 18,
    'HW_REG_PERF_SNAPSHOT_PC_HI': 19, 'HW_REG_FLAT_SCR_LO': 20, 'HW_REG_FLAT_SCR_HI': 21, 'HW_REG_HW_ID1': 23,
    'HW_REG_HW_ID2': 24, 'HW_REG_PERF_SNAPSHOT_DATA': 27, 'HW_REG_SHADER_CYCLES': 29,
}
# Names of other targets' registers.
_UNSUPPORTED_HWREGS = frozenset(('HW_REG_HW_ID', 'HW_REG_XNACK_MASK', 'HW_REG_POPS_PACKER', 'HW_REG_TBA_LO',
                                 'HW_REG_TBA_HI', 'HW_REG_TMA_LO', 'HW_REG_TMA_HI', 'HW_REG_SH_MEM_BASES_OLD'))


def _arg_value(a, what):
    if isinstance(a, int):
        return a
    col = getattr(a, 'col', 0)
    raise AsmError(f"expected absolute expression for {what}" if not isinstance(a, Sym)
                   else f"invalid {what}", 0, col + 1)


def hwreg_value(item) -> int:
    """The simm16 of a hwreg(...) Func or a plain integer."""
    if isinstance(item, int):
        if not 0 <= item <= 0xFFFF and not -0x8000 <= item < 0:
            raise AsmError("invalid immediate: only 16-bit values are legal", 0, 1)
        return item & 0xFFFF
    args = item.args
    if not args or len(args) not in (1, 3):
        raise AsmError("expected a register name or an absolute expression" if not args
                       else "expected a comma or a closing parenthesis", 0, item.col + 1)
    reg = args[0]
    if isinstance(reg, Sym):
        hw = GFX11_HWREGS
        if reg.name not in hw:
            if reg.name in _UNSUPPORTED_HWREGS:
                raise AsmError("invalid hardware register: not supported on this GPU", 0, reg.col + 1)
            raise AsmError("expected a register name or an absolute expression", 0, reg.col + 1)
        rid = hw[reg.name]
    else:
        rid = _arg_value(reg, 'register id')
        if not 0 <= rid < 64:
            raise AsmError("invalid hardware register: only 6-bit values are legal", 0, item.col + 7)
    offset, size = 0, 32
    if len(args) == 3:
        offset = _arg_value(args[1], 'bit offset')
        size = _arg_value(args[2], 'bitfield width')
        if not 0 <= offset < 32:
            raise AsmError("invalid bit offset: only 5-bit values are legal", 0, item.col + 1)
        if not 1 <= size <= 32:
            raise AsmError("invalid bitfield width: only values from 1 to 32 are legal", 0, item.col + 1)
    return rid | (offset << 6) | ((size - 1) << 11)


# --- sendmsg(...) --------------------------------------------------------------------------------
GFX11_MSGS = {'MSG_INTERRUPT': 1, 'MSG_HS_TESSFACTOR': 2, 'MSG_DEALLOC_VGPRS': 3, 'MSG_STALL_WAVE_GEN': 5,
              'MSG_HALT_WAVES': 6, 'MSG_GS_ALLOC_REQ': 9}
_OTHER_MSGS = frozenset(('MSG_GS', 'MSG_GS_DONE', 'MSG_SAVEWAVE', 'MSG_ORDERED_PS_DONE', 'MSG_EARLY_PRIM_DEALLOC',
                         'MSG_GET_DOORBELL', 'MSG_GET_DDID', 'MSG_SYSMSG'))


# Symbols LLVM predefines for s_version operands (and any expression).
PREDEFINED_SYMBOLS = {'UC_VERSION_GFX7': 0, 'UC_VERSION_GFX10': 4, 'UC_VERSION_GFX11': 6, 'UC_VERSION_GFX12': 9,
                      'UC_VERSION_W64_BIT': 0x2000, 'UC_VERSION_W32_BIT': 0x4000, 'UC_VERSION_MDP_BIT': 0x8000}


def sendmsg_value(item, rtn: bool = False) -> int:
    if isinstance(item, int):
        if not -0x8000 <= item <= 0xFFFF:
            raise AsmError("invalid immediate: only 16-bit values are legal", 0, 1)
        return item & 0xFFFF
    args = item.args
    if not args:
        raise AsmError("expected a message name or an absolute expression", 0, item.col + 1)
    msg = args[0]
    rtn_msgs = table().sendmsg
    if isinstance(msg, Sym):
        if msg.name in GFX11_MSGS:
            mid = GFX11_MSGS[msg.name]
        elif msg.name in rtn_msgs:
            mid = rtn_msgs[msg.name]
        elif msg.name in GFX11_MSGS or msg.name in _OTHER_MSGS:
            if msg.name == 'MSG_SYSMSG':
                raise AsmError("missing message operation", 0, msg.col + 1)
            raise AsmError("specified message id is not supported on this GPU", 0, msg.col + 1)
        else:
            raise AsmError("expected a message name or an absolute expression", 0, msg.col + 1)
        symbolic = True
    else:
        mid = _arg_value(msg, 'message id')
        symbolic = False
    op, stream = 0, 0
    if len(args) > 1:
        if symbolic:
            raise AsmError("message does not support operations", 0, item.col + 1)
        op = _arg_value(args[1], 'message operation')
    if len(args) > 2:
        stream = _arg_value(args[2], 'message stream')
    if len(args) > 3:
        raise AsmError("expected a closing parenthesis", 0, item.col + 1)
    if not symbolic and not (0 <= mid < 256 and 0 <= op < 8 and 0 <= stream < 4):
        raise AsmError("invalid message id", 0, item.col + 1)
    return mid | (op << 4) | (stream << 8)


# --- ds_swizzle offsets --------------------------------------------------------------------------
def swizzle_value(f: Func) -> int:
    args = f.args
    if not args or not isinstance(args[0], Sym):
        raise AsmError("expected a swizzle mode", 0, f.col + 1)
    mode = args[0].name
    vals = args[1:]

    def ints(n, lo, hi, what):
        if len(vals) != n:
            raise AsmError("expected a comma" if len(vals) < n else "expected a closing parenthesis", 0, f.col + 1)
        out = []
        for v in vals:
            if not isinstance(v, int):
                raise AsmError("expected absolute expression", 0, getattr(v, 'col', f.col) + 1)
            if not lo <= v <= hi:
                raise AsmError(f"{what}", 0, f.col + 1)
            out.append(v)
        return out

    if mode == 'QUAD_PERM':
        q = ints(4, 0, 3, "expected a 2-bit lane id")
        return 0x8000 | q[0] | (q[1] << 2) | (q[2] << 4) | (q[3] << 6)
    if mode == 'BROADCAST':
        size, lane = ints(2, 0, 63, "invalid lane id")
        if size not in (2, 4, 8, 16, 32):
            raise AsmError("group size must be a power of two", 0, f.col + 1)
        if lane >= size:
            raise AsmError("lane id must be in the interval [0,group size - 1]", 0, f.col + 1)
        and_mask = 0x1F & ~(size - 1)
        return and_mask | (lane << 5)
    if mode == 'SWAP':
        (size,) = ints(1, 1, 16, "group size must be a power of two")
        if size & (size - 1):
            raise AsmError("group size must be a power of two", 0, f.col + 1)
        return 0x1F | (size << 10)
    if mode == 'REVERSE':
        (size,) = ints(1, 2, 32, "group size must be a power of two")
        if size & (size - 1):
            raise AsmError("group size must be a power of two", 0, f.col + 1)
        return 0x1F | ((size - 1) << 10)
    if mode == 'BITMASK_PERM':
        if len(vals) != 1 or not isinstance(vals[0], str):
            raise AsmError("expected a string", 0, f.col + 1)
        s = vals[0]
        if len(s) != 5:
            raise AsmError("expected a 5-character mask", 0, f.col + 1)
        and_m = or_m = xor_m = 0
        for i, c in enumerate(s):
            bit = 1 << (4 - i)
            if c == '0':
                pass
            elif c == '1':
                or_m |= bit
            elif c == 'p':
                and_m |= bit
            elif c == 'i':
                and_m |= bit
                xor_m |= bit
            else:
                raise AsmError("invalid mask", 0, f.col + 1)
        return and_m | (or_m << 5) | (xor_m << 10)
    raise AsmError("expected a swizzle mode", 0, args[0].col + 1)


def format_value(value, vcol: int) -> int:
    """MTBUF format:N or format:[UNIFIED] or format:[DATA, NUM]."""
    from isa.asm.syntax_mem import DATA_FORMATS, NUM_FORMATS, UNIFIED_FORMATS
    if isinstance(value, int):
        if not 0 <= value < 128:
            raise AsmError("out of range format", 0, vcol + 1)
        return value
    if isinstance(value, list) and value and all(isinstance(v, Sym) for v in value) and len(value) <= 2:
        names = [v.name for v in value]
        if len(names) == 1 and names[0] in UNIFIED_FORMATS:
            return UNIFIED_FORMATS[names[0]]
        dfmt, nfmt = '8', 'UNORM'
        for v in value:
            if v.name in DATA_FORMATS:
                dfmt = DATA_FORMATS[v.name]
            elif v.name in NUM_FORMATS:
                nfmt = NUM_FORMATS[v.name]
            else:
                raise AsmError("expected a format string", 0, v.col + 1)
        name = 'BUF_FMT_INVALID' if dfmt == 'INVALID' else f'BUF_FMT_{dfmt}_{nfmt}'
        if name not in UNIFIED_FORMATS:
            raise AsmError("unsupported format", 0, vcol + 2)
        return UNIFIED_FORMATS[name]
    raise AsmError("expected absolute expression", 0, vcol + 1)

