"""A ``Plan``: an optimized graph lowered to native kernel calls over one planned arena.

The plan owns the arena; persistent state (weights, optimizer slots, the iteration count)
stays in arrays owned by the caller and is read and updated in place by address. Inputs are
written by the caller into ``plan.inputs[i][:n_rows]`` before ``plan.run(n_rows)``; outputs are
read from ``plan.outputs[name][:n_rows]`` after it. Any batch size up to ``capacity`` runs
without rebuilding.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from compiler.ir import Graph, Value
from compiler.lower import DTYPE_CODE, Buf, Call, Const, Lowerer, lower
from compiler.memplan import Interval, plan_memory


def _capacity_shape(v: Value, capacity: int) -> tuple[int, ...]:
    return v.concrete_shape(capacity)


def _nbytes(v: Value, capacity: int) -> int:
    return v.size(capacity) * np.dtype(v.dtype).itemsize


class Plan:
    def __init__(self, graph: Graph, params: Sequence[np.ndarray], capacity: int,
                 name: str = "plan") -> None:
        if capacity < 1:
            raise ValueError(f"plan capacity must be >= 1, got {capacity}")
        self.graph, self.capacity, self.name = graph, capacity, name
        self.lowerer: Lowerer = lower(graph)
        self.calls: list[Call] = self.lowerer.calls
        self._keep: list[np.ndarray] = []
        self._storage: dict[int, np.ndarray] = {}  # root value id -> array (capacity shape)
        self._bind_params(params)
        self._bind_constants()
        self._plan_arena()
        self.inputs = [self.array(v) for v in graph.inputs]
        self.outputs = {name: self.array(v) for name, v in graph.outputs.items()}
        self.program = self._encode()

    # ---- storage ------------------------------------------------------------------------
    def _bind_params(self, params: Sequence[np.ndarray]) -> None:
        if len(params) != len(self.graph.params):
            raise ValueError(f"{self.name}: expected {len(self.graph.params)} state arrays, "
                             f"got {len(params)}")
        for v, array in zip(self.graph.params, params):
            if not isinstance(array, np.ndarray) or array.dtype != np.dtype(v.dtype) \
                    or array.shape != v.shape or not array.flags.c_contiguous \
                    or not array.flags.writeable:
                raise ValueError(f"{self.name}: state {v.name or v!r} must be a writeable "
                                 f"C-contiguous {v.dtype} array of shape {v.shape}")
            self._storage[v.id] = array
            self._keep.append(array)

    def _bind_constants(self) -> None:
        for vid, (_, array) in self.lowerer.constants.items():
            self._storage[vid] = array
            self._keep.append(array)

    def _plan_arena(self) -> None:
        root = self.lowerer.root
        span: dict[int, list[int]] = {}
        values: dict[int, Value] = {}

        def touch(v: Value, at: int) -> None:
            r = root(v)
            if r.id in self._storage:
                return
            values[r.id] = r
            life = span.setdefault(r.id, [at, at])
            life[0], life[1] = min(life[0], at), max(life[1], at)

        for v in self.graph.inputs:
            touch(v, -1)
        for i, call in enumerate(self.calls):
            for v in call.reads + call.writes:
                touch(v, i)
        for v in self.graph.roots():
            touch(v, len(self.calls))
        intervals = [Interval(vid, _nbytes(values[vid], self.capacity), s, e)
                     for vid, (s, e) in span.items()]
        offsets, total = plan_memory(intervals)
        self.buffer_bytes = sum(iv.nbytes for iv in intervals)
        self.arena_bytes = total
        raw = np.zeros(total + 64, dtype=np.uint8)
        start = (-raw.ctypes.data) % 64
        self.arena = raw[start:start + total]
        self._keep.append(raw)
        self.n_buffers = len(intervals)
        for vid, offset in offsets.items():
            v = values[vid]
            self._storage[vid] = np.ndarray(_capacity_shape(v, self.capacity), v.dtype,
                                            buffer=self.arena, offset=offset)

    def array(self, v: Value) -> np.ndarray:
        """The array holding ``v`` (capacity-sized along the batch axis)."""
        storage = self._storage[self.lowerer.root(v).id]
        shape = _capacity_shape(v, self.capacity)
        return storage if storage.shape == shape else storage.reshape(shape)

    def _address(self, v: Value) -> int:
        return int(self._storage[self.lowerer.root(v).id].ctypes.data)

    # ---- encoding -----------------------------------------------------------------------
    def _encode(self):
        from cthulhu._kernels.executor import OPCODES, ROW_WIDTH, Program

        consts: list[float] = []
        aux: list[int] = []
        rows = []
        scratch = 1

        def field(f) -> int:
            if isinstance(f, Buf):
                return self._address(f.value)
            if isinstance(f, Const):
                consts.append(float(f.value))
                return len(consts) - 1
            return int(f)

        for call in self.calls:
            fields = [field(f) for f in call.fields]
            if call.ew is not None:
                ew = call.ew
                base = len(consts)
                consts.extend(ew.consts)
                prog_off = len(aux)
                for op, dst, a, b, c in ew.rows:
                    aux.extend((op, dst, a + base if op == 2 else a, b, c))
                ptr_off = len(aux)
                aux.extend(self._address(v) for v in ew.operands)
                bcast_off = len(aux)
                for red, inner in ew.bcast:
                    aux.extend((red, inner))
                fields += [prog_off, len(ew.rows), ptr_off, len(ew.operands), bcast_off]
                scratch = max(scratch, 2 * len(ew.operands))
            row = [OPCODES[call.kernel], DTYPE_CODE[call.dtype]] + fields
            if len(row) > ROW_WIDTH:
                raise AssertionError(f"{call.kernel} has too many fields")
            rows.append(row + [0] * (ROW_WIDTH - len(row)))
        code = np.array(rows, dtype=np.int64).reshape(len(rows), ROW_WIDTH)
        return Program(code, np.array(aux, dtype=np.int64), np.array(consts, dtype=np.float64),
                       scratch, list(self._keep))

    # ---- running ------------------------------------------------------------------------
    def run(self, n_rows: int) -> None:
        if not 0 <= n_rows <= self.capacity:
            raise ValueError(f"{self.name}: batch of {n_rows} rows exceeds the plan's capacity "
                             f"{self.capacity}")
        try:
            self.program.run(n_rows)
        except IndexError as err:  # bad data met by a kernel (an embedding index)
            call = self.calls[self.program.failed_instruction]
            raise IndexError(f"{self.name}: {call.note}: {err}; the plan stopped there, "
                             f"before updating any state") from None

    # ---- explaining ---------------------------------------------------------------------
    def profile(self, n_rows: int, repeats: int = 5) -> str:
        """Run the plan ``repeats`` times and list the median time of each kernel call.

        Note: a training plan updates its state on every run."""
        times = np.median([self.program.profile(n_rows) for _ in range(repeats)], axis=0)
        total = float(times.sum())
        lines = [f"plan {self.name}: {total * 1e3:.3f} ms for {n_rows} rows"]
        for i in np.argsort(-times):
            call = self.calls[i]
            lines.append(f"  {times[i] * 1e6:10.1f} us {100 * times[i] / total:5.1f}%  "
                         f"{i:3d} {call.kernel:<17} # {call.note}")
        return "\n".join(lines)

    def summary(self) -> str:
        lines = [f"plan {self.name}: {len(self.calls)} kernel calls, capacity {self.capacity} "
                 f"rows"]
        for i, call in enumerate(self.calls):
            outs = ", ".join(f"{v!r}:{v.type_str()}" for v in call.writes)
            ins = ", ".join(repr(v) for v in call.reads)
            unit = "flop/row" if call.flops_per_row else "flop"
            flops = f"  [{call.flops:,} {unit}]" if call.flops else ""
            lines.append(f"  {i:3d} {call.kernel:<17} {outs} <- ({ins})  # {call.note}{flops}")
        saved = self.buffer_bytes - self.arena_bytes
        lines.append(f"  buffers: {self.n_buffers}, {self.buffer_bytes:,} bytes; arena "
                     f"{self.arena_bytes:,} bytes ({saved:,} bytes saved by reuse)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()
