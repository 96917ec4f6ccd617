"""Static memory plan: where every intermediate tensor lives in one arena, decided before run time.

The C code gets one ``static int8_t arena[N]`` whose size comes from here; nothing is allocated
at run time. The graph's input and output are the caller's buffers (``invoke(input, output)``),
so they take no arena space; with several outputs each is its own caller buffer (never arena
bytes, so an output that also feeds later ops stays intact). Three things keep the arena small:

1. **Liveness-based greedy placement**, like TFLite Micro's GreedyMemoryPlanner: a buffer is
   alive from the op that writes it to the last op that reads it; buffers are placed biggest
   first, each at the lowest offset that overlaps no already-placed buffer alive at the same time.
   (We also try a second order, by first use, and keep whichever arena is smaller.)
2. **Aliasing and in-place execution**, as each op declares (its class attribute ``in_place``). An
   ``"alias"`` op's output is its input's bytes (RESHAPE). An ``"elementwise"`` op (ADD, RELU,
   RELU6) writes over one of its inputs when that input dies at this very op and has the output's
   size. This is safe because the kernel reads element ``i`` of every input
   before it writes element ``i`` of the output, and touches no other element of the output: no
   value is overwritten before it is read. The input must die here (no later op reads it, through
   any alias), must be in the arena (the caller's input is ``const``) and the two must be the same
   size. Pools, softmax and concat never run in place.
   A ``"raster"`` op (stride-1 CONV_2D / DEPTHWISE_CONV_2D) whose input dies at it writes its
   output *overlapping* the input, starting ``op.overlap_lag(x, y)`` bytes below it: the kernels
   produce outputs in raster order (pixel p, then channel), and output pixel p never reads an
   input pixel below ``p - (pad_top·W + pad_left)``; with the output shifted down by that many
   pixels plus one output pixel, every byte written belongs to an input pixel no later output
   reads. The pair then needs ``in + lag`` bytes instead of ``in + out``.
3. **Operator order.** On a DAG (residual branches) the order in which independent ops run
   decides what is alive together. ``schedule`` hill-climbs over topological orders by swapping
   adjacent independent ops while the peak of live bytes (then the total) goes down.

``MemoryPlan.order`` is the execution order the emitter follows (indices into ``graph.ops``);
every ``first_op``/``last_op`` is a step in that order.
"""

from __future__ import annotations

from dataclasses import dataclass

from pocketml.graph.ir import QuantGraph

ALIGN = 4  # bytes; word alignment keeps every buffer start friendly to 32-bit loads


def sharing(op) -> str:
    """How ``op``'s output may share bytes with an input: alias | elementwise | raster | none."""
    return getattr(op, "in_place", "none")


@dataclass(frozen=True)
class Buffer:
    """One arena region: the tensors sharing it (aliases), offset, size and lifetime (steps)."""

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
    order: tuple[int, ...] = ()  # execution order: indices into graph.ops (empty = as listed)
    in_place_ops: tuple[str, ...] = ()  # element-wise ops that write over a dying input
    tensor_offsets: tuple[tuple[str, int], ...] = ()  # arena offset of every arena tensor

    def offset_of(self, tensor: str) -> int:
        """The arena offset where ``tensor`` starts (inside its buffer, for shifted in-place outputs)."""
        for name, offset in self.tensor_offsets:
            if name == tensor:
                return offset
        return self.buffer_of(tensor).offset

    def buffer_of(self, tensor: str) -> Buffer:
        for buf in self.buffers:
            if tensor in buf.tensors:
                return buf
        raise KeyError(tensor)

    def live_bytes(self) -> list[int]:
        """Arena bytes in use while each step runs (the memory plan over time)."""
        return [
            sum(b.size for b in self.buffers if b.location == "arena" and b.first_op <= i <= b.last_op)
            for i in range(self.n_ops)
        ]


def plan_memory(graph: QuantGraph, *, reorder: bool = True, in_place: bool = True) -> MemoryPlan:
    """Plan the arena: execution order (``reorder``), aliases and in-place ops, then placement.

    With ``in_place``, plans are made with and without the shifted (overlapping) conv outputs and
    the smaller arena is kept: on small maps the shift can cost more than it saves.
    """
    plans = [_plan(graph, reorder, in_place, shifted) for shifted in ((True, False) if in_place else (False,))]
    return min(plans, key=lambda plan: plan.arena_bytes)


def _plan(graph: QuantGraph, reorder: bool, in_place: bool, shifted: bool) -> MemoryPlan:
    order = schedule(graph, in_place=in_place, shifted=shifted) if reorder else tuple(range(len(graph.ops)))
    root, rel, in_place_ops = _groups(graph, order, in_place, shifted)
    plan = _place(graph, order, root, rel)
    lo = {r: min(rel[t] for t in root if root[t] == r) for r in set(root.values())}
    offsets = tuple((t, plan.buffer_of(t).offset + rel[t] - lo[root[t]]) for t in graph.tensors
                    if plan.buffer_of(t).location == "arena")
    return MemoryPlan(plan.buffers, plan.arena_bytes, plan.n_ops, plan.order, in_place_ops, offsets)


def schedule(graph: QuantGraph, *, in_place: bool = True, shifted: bool = True) -> tuple[int, ...]:
    """A topological order with a low peak of live bytes (hill-climbing on adjacent swaps)."""
    order = list(range(len(graph.ops)))
    best = _peak(graph, order, in_place, shifted)
    improved = True
    while improved:
        improved = False
        for k in range(len(order) - 1):
            a, b = graph.ops[order[k]], graph.ops[order[k + 1]]
            if a.output in b.inputs:
                continue  # b reads a: they cannot swap
            order[k], order[k + 1] = order[k + 1], order[k]
            score = _peak(graph, order, in_place, shifted)
            if score < best:
                best, improved = score, True
            else:
                order[k], order[k + 1] = order[k + 1], order[k]
    return tuple(order)


def _groups(graph: QuantGraph, order, allow_in_place: bool,
            shifted: bool = True) -> tuple[dict[str, str], dict[str, int], tuple[str, ...]]:
    """tensor → root tensor of its buffer (reshape aliases, in-place outputs), each tensor's offset
    relative to its root, and the ops that run in place."""
    last_read: dict[str, int] = {}
    for step, i in enumerate(order):
        for name in graph.ops[i].inputs:
            last_read[name] = step
    for name in graph.outputs:
        last_read[name] = len(order)  # the caller reads every output after the last op
    root = {name: name for name in graph.tensors}
    members: dict[str, list[str]] = {name: [name] for name in graph.tensors}
    in_place_ops: list[str] = []
    rel = {name: 0 for name in graph.tensors}
    # tensors that are a graph output under some reshape: they live in the caller's output
    # buffer (exactly that output's bytes), so no in-place op may merge anything into them
    out_aliases = set(graph.outputs)
    for op in reversed(graph.ops):
        if sharing(op) == "alias" and op.output in out_aliases:
            out_aliases.add(op.inputs[0])
    in_roots = set(graph.inputs)  # the caller's input buffers: const, never written over (no op aliases them)
    for step, i in enumerate(order):
        op = graph.ops[i]
        target = None
        mode = sharing(op)
        if mode == "alias":
            target = root[op.inputs[0]]
            rel[op.output] = rel[op.inputs[0]]
        elif allow_in_place and shifted and mode == "raster" and op.output not in out_aliases:
            name = op.inputs[0]
            r = root[name]
            lag = op.overlap_lag(graph.tensors[name], graph.tensors[op.output])
            lag = None if lag is None else _align(lag)
            if (lag is not None and r not in in_roots
                    and max(last_read.get(t, -1) for t in members[r]) == step):
                target = r
                rel[op.output] = rel[name] - lag
                in_place_ops.append(op.name)
        elif allow_in_place and mode == "elementwise" and op.output not in out_aliases:
            for name in op.inputs:
                r = root[name]
                if (r not in in_roots and graph.tensors[name].nbytes == graph.tensors[op.output].nbytes
                        and max(last_read.get(t, -1) for t in members[r]) == step):
                    target = r
                    rel[op.output] = rel[name]
                    in_place_ops.append(op.name)
                    break
        if target is not None:
            root[op.output] = target
            members[target].append(op.output)
    out_roots = [root[name] for name in graph.outputs]
    if in_roots & set(out_roots):
        raise ValueError("the graph's output is its input reshaped: there is nothing to run")
    if len(set(out_roots)) != len(out_roots):
        raise ValueError("two graph outputs are the same bytes (one is a reshape of the other): "
                         "keep one of them as an output")
    return root, rel, tuple(in_place_ops)


def _lifetimes(graph: QuantGraph, order, root: dict[str, str]) -> dict[str, tuple[int, int]]:
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for step, i in enumerate(order):
        op = graph.ops[i]
        r = root[op.output]
        first.setdefault(r, step)
        last[r] = max(last.get(r, step), step)
        for name in op.inputs:
            last[root[name]] = max(last.get(root[name], step), step)
    n = len(order)
    return {r: (first.get(r, 0), last.get(r, n - 1)) for r in set(root.values())}


def _peak(graph: QuantGraph, order, in_place: bool, shifted: bool = True) -> tuple[int, int]:
    """(peak, total) of live arena bytes over the steps: the objective of ``schedule``."""
    root, rel, _ = _groups(graph, order, in_place, shifted)
    external = {*(root[name] for name in graph.inputs), *(root[name] for name in graph.outputs)}
    extent = _extents(graph, root, rel)
    live = [0] * (len(order) + 1)
    for r, (a, b) in _lifetimes(graph, order, root).items():
        if r not in external:
            size = _align(extent[r])
            live[a] += size
            live[b + 1] -= size
    running, peak, total = 0, 0, 0
    for v in live[:-1]:
        running += v
        peak, total = max(peak, running), total + running
    return peak, total


def _extents(graph: QuantGraph, root: dict[str, str], rel: dict[str, int]) -> dict[str, int]:
    """Bytes each buffer spans: from its lowest member's start to its highest member's end."""
    lo: dict[str, int] = {}
    hi: dict[str, int] = {}
    for t, r in root.items():
        lo[r] = min(lo.get(r, rel[t]), rel[t])
        hi[r] = max(hi.get(r, rel[t] + graph.tensors[t].nbytes), rel[t] + graph.tensors[t].nbytes)
    return {r: hi[r] - lo[r] for r in lo}


def _place(graph: QuantGraph, order, root: dict[str, str], rel: dict[str, int]) -> MemoryPlan:
    groups: dict[str, list[str]] = {}
    for name in graph.tensors:
        groups.setdefault(root[name], []).append(name)
    spans = _lifetimes(graph, order, root)
    extent = _extents(graph, root, rel)
    out_roots = {root[name] for name in graph.outputs}
    arena: list[Buffer] = []
    external: list[Buffer] = []
    for r, names in groups.items():
        size = extent[r]
        where = "input" if r in {root[name] for name in graph.inputs} else "output" if r in out_roots else "arena"
        if where != "arena":
            external.append(Buffer(tuple(names), 0, size, *spans[r], location=where))
        else:
            arena.append(Buffer(tuple(names), -1, size, *spans[r]))
    best: list[Buffer] | None = None
    for key in (lambda b: (-b.size, b.first_op), lambda b: (b.first_op, -b.size)):
        placed = _greedy(sorted(arena, key=key))
        if best is None or _end(placed) < _end(best):
            best = placed
    final = best or []
    return MemoryPlan(tuple(sorted(final, key=lambda b: b.first_op)) + tuple(external),
                      _align(_end(final)), len(graph.ops), tuple(order))


def place(buffers: list[Buffer]) -> tuple[tuple[Buffer, ...], int]:
    """Place buffers of any kind (offset -1, a lifetime in steps) in one arena, as ``plan_memory`` does.

    The same greedy placement and the same two orders (biggest first, then by first use); returns
    the placed buffers (sorted by first step) and the aligned arena size. Used for memory that is
    not a graph tensor: the training step's saved activations, gradients and scratch
    (``graph/training.py``).
    """
    best: list[Buffer] | None = None
    for key in (lambda b: (-b.size, b.first_op), lambda b: (b.first_op, -b.size)):
        placed = _greedy(sorted(buffers, key=key))
        if best is None or _end(placed) < _end(best):
            best = placed
    final = best or []
    return tuple(sorted(final, key=lambda b: (b.first_op, b.offset))), _align(_end(final))


def _greedy(buffers: list[Buffer]) -> list[Buffer]:
    """Each buffer at the lowest aligned offset free of every placed buffer alive with it."""
    final: list[Buffer] = []
    for buf in buffers:
        offset = 0
        for other in sorted(final, key=lambda o: o.offset):
            overlaps_in_time = not (buf.last_op < other.first_op or other.last_op < buf.first_op)
            if overlaps_in_time and offset < other.offset + other.size and other.offset < offset + buf.size:
                offset = _align(other.offset + other.size)
        final.append(Buffer(buf.tensors, offset, buf.size, buf.first_op, buf.last_op))
    return final


def _end(buffers: list[Buffer]) -> int:
    return max((b.offset + b.size for b in buffers), default=0)


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN
