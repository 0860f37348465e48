"""The PM4 compute command processor (MEC) of a simulated gfx11: type-3 packets from a dword ring.

The write pointer (and doorbell) counts dwords, 64-bit and monotonic; the read pointer is written
back in dwords. SET_SH_REG programs the compute registers a DISPATCH_DIRECT then launches from
(program address, resource words, user SGPRs, workgroup size); RELEASE_MEM writes data or a
timestamp and raises the interrupt that sets a KFD event; WAIT_REG_MEM polls memory; INDIRECT_BUFFER
runs a command buffer. Caches do not exist in the simulator, so ACQUIRE_MEM and EVENT_WRITE have
nothing to flush.
"""

from __future__ import annotations

from kfd.sim.device import SimDevice
from kfd.sim.dispatch import Launch, run_launch
from kfd.sim.engine import DwordPackets, DwordRingEngine, Engine, QueueHang, compare, read_dwords

# Opcodes (type-3 header bits 15:8)
NOP = 0x10
DISPATCH_DIRECT = 0x15
WRITE_DATA = 0x37
WAIT_REG_MEM = 0x3C
INDIRECT_BUFFER = 0x3F
EVENT_WRITE = 0x46
RELEASE_MEM = 0x49
ACQUIRE_MEM = 0x58
SET_SH_REG = 0x76
SET_UCONFIG_REG = 0x79

SH_REG_BASE = 0x2C00
UCONFIG_REG_BASE = 0xC000

# gfx11 compute registers (dword register addresses)
COMPUTE_DISPATCH_INITIATOR = 0x2E00
COMPUTE_DIM_X = 0x2E01
COMPUTE_START_X = 0x2E04
COMPUTE_NUM_THREAD_X = 0x2E07
COMPUTE_PGM_LO = 0x2E0C
COMPUTE_PGM_HI = 0x2E0D
COMPUTE_DISPATCH_SCRATCH_BASE_LO = 0x2E10
COMPUTE_PGM_RSRC1 = 0x2E12
COMPUTE_PGM_RSRC2 = 0x2E13
COMPUTE_TMPRING_SIZE = 0x2E18
COMPUTE_PGM_RSRC3 = 0x2E28
COMPUTE_USER_DATA_0 = 0x2E40
USER_DATA_COUNT = 16

INITIATOR_CS_W32_EN = 1 << 15

# RELEASE_MEM dword 2 fields
DATA_SEL_NONE, DATA_SEL_32, DATA_SEL_64, DATA_SEL_TIMESTAMP, DATA_SEL_PERFCOUNTER = 0, 1, 2, 3, 4
INT_SEL_NONE, INT_SEL_INT, INT_SEL_INT_AFTER_CONFIRM = 0, 1, 2
INT_SEL_DATA_AFTER_CONFIRM, INT_SEL_UNCONDITIONAL = 3, 4
INT_SEL_COND_32, INT_SEL_COND_64 = 5, 6

MAX_IB_DEPTH = 2


class Pm4Interpreter(DwordPackets):
    """Executes PM4 packets for one engine (a PM4 queue, or an AQL queue's PM4-IB packets)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.page_table = engine.page_table
        self.regs: dict[int, int] = {}

    @property
    def device(self) -> SimDevice:
        return self.engine.device

    def fail(self, what: str) -> QueueHang:
        return QueueHang(f"PM4 on queue {self.engine.queue.queue_id}: {what}")

    def packet_dwords(self, head: list[int]) -> int | None:
        kind = head[0] >> 30
        if kind == 2:
            return 1  # type-2 filler
        if kind == 3:
            return 2 + ((head[0] >> 16) & 0x3FFF)
        return None

    def execute(self, dw: list[int], depth: int) -> None:
        self.engine.check_preempted()
        header = dw[0]
        if header >> 30 == 2:
            return
        op = (header >> 8) & 0xFF
        body = dw[1:]
        pt = self.page_table
        if op in (NOP, ACQUIRE_MEM, EVENT_WRITE):
            return
        if op == SET_SH_REG:
            for i, value in enumerate(body[1:]):
                self.regs[SH_REG_BASE + body[0] + i] = value
        elif op == SET_UCONFIG_REG:
            for i, value in enumerate(body[1:]):
                self.regs[UCONFIG_REG_BASE + body[0] + i] = value
        elif op == DISPATCH_DIRECT:
            self.dispatch_direct(body)
        elif op == RELEASE_MEM:
            self.release_mem(body)
        elif op == WAIT_REG_MEM:
            self.wait_reg_mem(body)
        elif op == WRITE_DATA:
            self.write_data(body)
        elif op == INDIRECT_BUFFER:
            if depth >= MAX_IB_DEPTH:
                raise self.fail("indirect buffers nest too deep")
            address = (body[0] & ~3) | (body[1] & 0xFFFF) << 32
            size = body[2] & 0xFFFFF
            self.run_stream(read_dwords(pt, address, size), depth + 1)
        else:
            raise self.fail(f"opcode {op:#x} is not executed by the simulated compute CP")

    # --- packets -------------------------------------------------------------------------------

    def reg(self, address: int) -> int:
        return self.regs.get(address, 0)

    def dispatch_direct(self, body: list[int]) -> None:
        groups = tuple(body[0:3])
        initiator = body[3]
        wave32 = bool(initiator & INITIATOR_CS_W32_EN)
        if min(groups) == 0:
            return
        launch = Launch.from_registers(self.reg, groups, wave32)
        run_launch(self.engine, launch)

    def release_mem(self, body: list[int]) -> None:
        if len(body) < 7:
            raise self.fail("RELEASE_MEM needs 7 dwords")
        control = body[1]
        int_sel = (control >> 24) & 7
        data_sel = (control >> 29) & 7
        address = body[2] | body[3] << 32
        data = body[4] | body[5] << 32
        context_id = body[6]
        pt = self.page_table
        if data_sel == DATA_SEL_32:
            pt.write_u32(address & ~3, data)
        elif data_sel == DATA_SEL_64:
            pt.write_u64(address & ~7, data)
        elif data_sel in (DATA_SEL_TIMESTAMP, DATA_SEL_PERFCOUNTER):
            pt.write_u64(address & ~7, self.device.clock())
        elif data_sel != DATA_SEL_NONE:
            raise self.fail(f"RELEASE_MEM data_sel {data_sel} (GDS) is not supported")
        if data_sel != DATA_SEL_NONE:
            self.engine.wrote_memory()
        interrupt = int_sel in (INT_SEL_INT, INT_SEL_INT_AFTER_CONFIRM, INT_SEL_UNCONDITIONAL)
        if int_sel == INT_SEL_COND_32:
            interrupt = pt.read_u32(address & ~3) == data & 0xFFFFFFFF
        elif int_sel == INT_SEL_COND_64:
            interrupt = pt.read_u64(address & ~7) == data
        if interrupt:
            self.engine.raise_interrupt(context_id)

    def wait_reg_mem(self, body: list[int]) -> None:
        control = body[0]
        function = control & 7
        mem_space = (control >> 4) & 3
        operation = (control >> 6) & 3
        reference, mask = body[3], body[4]
        if mem_space != 1:
            if operation == 1:
                return  # write-wait-write of the HDP flush: there is no HDP cache to flush
            raise self.fail("WAIT_REG_MEM on a register; the simulated GPU has no registers to poll")
        address = (body[1] & ~3) | body[2] << 32
        pt = self.page_table
        self.engine.wait_until(lambda: compare(function, pt.read_u32(address) & mask, reference),
                               "WAIT_REG_MEM")

    def write_data(self, body: list[int]) -> None:
        control = body[0]
        dst_sel = (control >> 8) & 0xF
        address = body[1] | body[2] << 32
        values = body[3:]
        if dst_sel == 0:
            for i, value in enumerate(values):
                self.regs[body[1] + i] = value
            return
        if dst_sel not in (2, 5):
            raise self.fail(f"WRITE_DATA dst_sel {dst_sel} is not supported")
        if control & (1 << 16):  # no address increment: every dword lands on the same address
            for value in values:
                self.page_table.write_u32(address & ~3, value)
        else:
            self.page_table.write_bytes(address & ~3, b"".join(v.to_bytes(4, "little") for v in values))
        self.engine.wrote_memory()


class Pm4Engine(DwordRingEngine):
    kind = "pm4"
    unit = 4  # the write and read pointers count dwords

    def __init__(self, *args):
        super().__init__(*args)
        self.interpreter = Pm4Interpreter(self)

    @property
    def packets(self) -> Pm4Interpreter:
        return self.interpreter
