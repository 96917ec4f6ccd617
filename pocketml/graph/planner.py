"""Static memory plan: where every intermediate tensor lives in one arena, decided before run time.

The C code gets one ``static int8_t arena[N]`` whose size comes from here; nothing is allocated
at run time. The graph's input and output are the caller's buffers (``invoke(input, output)``),
so they take no arena space. A RESHAPE's output is the same bytes as its input (an alias).

Placement is greedy by size, like TFLite Micro's GreedyMemoryPlanner: biggest buffers first,
each at the lowest offset that overlaps no already-placed buffer alive at the same time.
A buffer is alive from the op that writes it to the last op that reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pocketml.graph.ir import QuantGraph

ALIGN = 4  # bytes; word alignment keeps every buffer start friendly to 32-bit loads


@dataclass(frozen=True)
class Buffer:
    """One arena region: the tensors sharing it (aliases), offset, size and lifetime."""

    tensors: tuple[str, ...]
    offset: int
    size: int
    first_op: int
    last_op: int
    location: str = "arena"  # "arena" | "input" | "output" (caller-owned)


@dataclass(frozen=True)
class MemoryPlan:
    buffers: tuple[Buffer, ...]
    arena_bytes: int
    n_ops: int

    def buffer_of(self, tensor: str) -> Buffer:
        for buf in self.buffers:
            if tensor in buf.tensors:
                return buf
        raise KeyError(tensor)

    def live_bytes(self) -> list[int]:
        """Arena bytes in use while each op runs (the memory plan over time)."""
        return [
            sum(b.size for b in self.buffers if b.location == "arena" and b.first_op <= i <= b.last_op)
            for i in range(self.n_ops)
        ]


def plan_memory(graph: QuantGraph) -> MemoryPlan:
    # 1. group aliases: a reshape's output shares its input's bytes
    root = {name: name for name in graph.tensors}
    for op in graph.ops:
        if op.kind == "reshape":
            root[op.output] = root[op.inputs[0]]
    groups: dict[str, list[str]] = {}
    for name in graph.tensors:
        groups.setdefault(root[name], []).append(name)
    if root[graph.output] == root[graph.input]:
        raise ValueError("the graph's output is its input reshaped: there is nothing to run")

    # 2. lifetimes in op indices
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for i, op in enumerate(graph.ops):
        r = root[op.output]
        first.setdefault(r, i)
        last[r] = max(last.get(r, i), i)
        for name in op.inputs:
            last[root[name]] = max(last.get(root[name], i), i)

    # 3. greedy placement of the arena buffers, biggest first
    placed: list[Buffer] = []
    external: list[Buffer] = []
    for r, names in groups.items():
        size = graph.tensors[r].nbytes
        where = "input" if r == root[graph.input] else "output" if r == root[graph.output] else "arena"
        span = (first.get(r, 0), last.get(r, len(graph.ops) - 1))
        if where != "arena":
            external.append(Buffer(tuple(names), 0, size, *span, location=where))
            continue
        placed.append(Buffer(tuple(names), -1, size, *span))
    placed.sort(key=lambda b: (-b.size, b.first_op))
    final: list[Buffer] = []
    for buf in placed:
        offset = 0
        for other in sorted(final, key=lambda o: o.offset):
            overlaps_in_time = not (buf.last_op < other.first_op or other.last_op < buf.first_op)
            if overlaps_in_time and offset < other.offset + other.size and other.offset < offset + buf.size:
                offset = _align(other.offset + other.size)
        final.append(Buffer(buf.tensors, offset, buf.size, buf.first_op, buf.last_op))
    arena = max((b.offset + b.size for b in final), default=0)
    return MemoryPlan(tuple(sorted(final, key=lambda b: b.first_op)) + tuple(external),
                      _align(arena), len(graph.ops))


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN
