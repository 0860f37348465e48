"""The AQL command processor: executes HSA packets from a ring of 64-byte slots.

The doorbell carries the index of the last packet written; the CP works from its read index up to
it. A slot whose header still says INVALID has not been published yet: the CP waits there (a
producer writes the header last). After a packet completes the CP turns its header back to
INVALID and reports the new read index at the queue's read pointer (amd_queue_t's
read_dispatch_id). Packets run one after another, so the barrier bit and the acquire/release
fences (memory is coherent in the simulator) hold by construction.

Completion signals (amd_signal_t) are decremented atomically; when a signal has an event mailbox
the CP writes the event id there and raises the interrupt that sets the KFD event.
"""

from __future__ import annotations

from kfd import hsa
from kfd.sim.dispatch import Launch, run_launch
from kfd.sim.engine import Engine, QueueHang

MAX_WORKGROUP_SIZE = 1024
MAX_GROUP_SEGMENT = 64 * 1024


def complete_signal(engine: Engine, signal: int, *, start_ts: int | None = None,
                    end_ts: int | None = None) -> None:
    """Decrement a completion signal and fire its event, as the CP does at end of packet."""
    pt = engine.page_table
    if start_ts is not None:
        pt.write_u64(signal + hsa.SIGNAL_START_TS_OFFSET, start_ts)
        pt.write_u64(signal + hsa.SIGNAL_END_TS_OFFSET, end_ts)
    pt.atomic_add_u64(signal + hsa.SIGNAL_VALUE_OFFSET, -1)
    mailbox = pt.read_u64(signal + hsa.SIGNAL_EVENT_MAILBOX_OFFSET)
    if mailbox:
        event_id = pt.read_u32(signal + hsa.SIGNAL_EVENT_ID_OFFSET)
        pt.write_u64(mailbox, event_id)
        engine.raise_interrupt(event_id)
    engine.wrote_memory()


class AqlEngine(Engine):
    kind = "aql"

    def __init__(self, *args):
        super().__init__(*args)
        self.dispatch_count = 0

    def pending(self) -> bool:
        return self.rung and self.doorbell + 1 > self.rptr

    @property
    def slots(self) -> int:
        return self.queue.ring_size // hsa.AQL_PACKET_SIZE

    @property
    def queue_address(self) -> int:
        """amd_queue_t, which holds the read pointer the CP reports."""
        return self.queue.read_pointer_address - hsa.READ_DISPATCH_ID_OFFSET

    def step(self) -> None:
        pt = self.page_table
        while True:
            with self.cv:
                last = self.doorbell
            if self.rptr > last:
                return
            slot = self.queue.ring_base + (self.rptr % self.slots) * hsa.AQL_PACKET_SIZE
            if hsa.header_type(pt.read_u32(slot)) == hsa.PACKET_TYPE_INVALID:
                # Rung before the header was published: wait for the producer.
                self.wait_until(lambda at=slot: hsa.header_type(pt.read_u32(at)) != hsa.PACKET_TYPE_INVALID,
                                "AQL packet header")
            raw = pt.read_bytes(slot, hsa.AQL_PACKET_SIZE)
            self.execute(raw, slot, self.rptr)
            pt.write_bytes(slot, hsa.PACKET_TYPE_INVALID.to_bytes(2, "little"))
            self.rptr += 1
            pt.write_u64(self.queue.read_pointer_address, self.rptr)
            self.wrote_memory()

    def execute(self, raw: bytes, slot: int, index: int) -> None:
        kind = hsa.header_type(raw[0])
        if kind == hsa.PACKET_TYPE_KERNEL_DISPATCH:
            self.kernel_dispatch(hsa.KernelDispatchPacket.from_buffer_copy(raw), slot, index)
        elif kind in (hsa.PACKET_TYPE_BARRIER_AND, hsa.PACKET_TYPE_BARRIER_OR):
            self.barrier(hsa.BarrierPacket.from_buffer_copy(raw), kind == hsa.PACKET_TYPE_BARRIER_AND)
        elif kind == hsa.PACKET_TYPE_VENDOR_SPECIFIC and raw[2] == hsa.AMD_PACKET_BARRIER_VALUE:
            self.barrier_value(hsa.BarrierValuePacket.from_buffer_copy(raw))
        elif kind == hsa.PACKET_TYPE_VENDOR_SPECIFIC and raw[2] == hsa.AMD_PACKET_PM4_IB:
            self.pm4_ib(hsa.Pm4IbPacket.from_buffer_copy(raw))
        else:
            raise QueueHang(f"AQL queue {self.queue.queue_id}: packet {index} has type {kind} "
                            f"(format {raw[2]}), which the GPU's packet processor does not execute")

    def _finish(self, signal: int, start: int | None = None) -> None:
        if not signal:
            return
        profiling = self.page_table.read_u32(self.queue_address + hsa.QUEUE_PROPERTIES_OFFSET) & \
            hsa.QUEUE_PROPERTIES_ENABLE_PROFILING
        if profiling and start is not None:
            complete_signal(self, signal, start_ts=start, end_ts=self.device.clock())
        else:
            complete_signal(self, signal)

    # --- packets -------------------------------------------------------------------------------

    def kernel_dispatch(self, p: hsa.KernelDispatchPacket, slot: int, index: int) -> None:
        qid = self.queue.queue_id
        if not 1 <= p.dimensions <= 3:
            raise QueueHang(f"AQL queue {qid}: dispatch packet {index} has {p.dimensions} dimensions")
        wx, wy, wz = p.workgroup_size
        if min(p.workgroup_size) == 0 or wx * wy * wz > MAX_WORKGROUP_SIZE:
            raise QueueHang(f"AQL queue {qid}: dispatch packet {index} has workgroup size "
                            f"{p.workgroup_size}")
        if p.group_segment_size > MAX_GROUP_SEGMENT:
            raise QueueHang(f"AQL queue {qid}: dispatch packet {index} asks for {p.group_segment_size} "
                            f"bytes of LDS (the limit is {MAX_GROUP_SEGMENT})")
        start = self.device.clock()
        if min(p.grid_size) > 0:
            launch = Launch.from_aql(self.page_table, p, dispatch_ptr=slot, queue_ptr=self.queue_address,
                                     dispatch_id=index)
            run_launch(self, launch)
        self.dispatch_count += 1
        self._finish(p.completion_signal, start)

    def barrier(self, p: hsa.BarrierPacket, wait_all: bool) -> None:
        deps = [s for s in p.dep_signal if s]
        pt = self.page_table

        def done() -> bool:
            values = [pt.read_u64(s + hsa.SIGNAL_VALUE_OFFSET) == 0 for s in deps]
            return all(values) if wait_all else any(values)

        if deps:
            self.wait_until(done, "barrier packet")
        self._finish(p.completion_signal)

    def barrier_value(self, p: hsa.BarrierValuePacket) -> None:
        pt = self.page_table
        self.wait_until(lambda: p.satisfied(pt.read_u64(p.signal + hsa.SIGNAL_VALUE_OFFSET)), "barrier-value packet")
        self._finish(p.completion_signal)

    def pm4_ib(self, p: hsa.Pm4IbPacket) -> None:
        from kfd.sim.cp_pm4 import Pm4Interpreter
        Pm4Interpreter(self).run_stream(list(p.pm4_ib_command), depth=0)
        self._finish(p.completion_signal)
