"""Static memory plan: where every intermediate tensor lives in one arena, decided before run time.

The C code gets one ``static`` arena whose size comes from here; nothing is allocated at run time.
By default the graph's input and output are the caller's buffers (``invoke(input, output)``), so
they take no arena space; with several outputs each is its own caller buffer (never arena bytes,
so an output that also feeds later ops stays intact). With ``input_in_arena`` the input lives in
the arena (counted there; the first layers may write over it). What keeps the arena small
(docs/memory.md has the whole story):

1. **Liveness-based greedy placement**, like TFLite Micro's GreedyMemoryPlanner: a region is
   alive from the op that writes it to the last op that reads it; groups are placed biggest first
   (and, second try, by first use; the smaller arena wins), each at the lowest aligned offset where
   none of its regions meets a region of another group alive at the same step.
2. **Aliasing and in-place execution**, as each op declares (its class attribute ``in_place``). An
   ``"alias"`` op's output is its input's bytes (RESHAPE). An ``"elementwise"`` op (ADD, RELU, ...)
   writes over one of its inputs when that input dies at this very op and has the output's size:
   the kernel reads element ``i`` of every input before it writes element ``i`` of the output.
   A ``"raster"`` op (CONV_2D, DEPTHWISE_CONV_2D: any stride, padding, dilation) whose input dies
   at it writes its output *overlapping* the input, starting ``overlap_lag(x, y)`` bytes below it:
   the kernels write output pixels in raster order, each after reading its whole field, so the
   output may run over every input byte no later pixel reads (``raster_overlap_lag``; the DSP
   depthwise kernel, which loads whole rows into a slab first, has its own smaller lag). The
   tensors sharing bytes this way form a rigid *group*; the regions of a group keep their
   relative offsets and each region keeps its own lifetime.
3. **Recentring.** A chain of shifted layers drifts down the arena by the sum of their lags; a
   recentred op's kernel writes ``lag`` bytes low and one ``memmove`` puts its output back over
   its input (``Move``), which costs instructions, not bytes.
4. **Kernel scratch in the arena.** ``kernels`` (``deploy.c.emit.kernel_needs``) gives each op's
   fast-kernel scratch, placed as a region alive at that op's step only; ``fallback`` lets the
   search run some layers on the scratch-free portable kernels within a MAC budget.
5. **Operator order and plan search.** ``schedule`` hill-climbs over topological orders (adjacent
   swaps of independent ops) to lower the peak of live bytes; then a coordinate descent picks,
   per raster op, shift / recentre / not in place (and the portable fallback), keeping the
   smallest arena, then the fewest portable layers, then the fewest bytes moved.

``MemoryPlan.order`` is the execution order the emitter follows (indices into ``graph.ops``);
every ``first_op``/``last_op`` is a step in that order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from pocketml.graph.ir import QuantGraph

ALIGN = 4  # bytes; word alignment keeps every buffer start friendly to 32-bit loads
SHIFT, RECENTER, OFF = "shift", "recenter", "off"  # what a raster op does with its dying input


def sharing(op) -> str:
    """How ``op``'s output may share bytes with an input: alias | elementwise | raster | none."""
    return getattr(op, "in_place", "none")


@dataclass(frozen=True)
class Buffer:
    """One arena region: the tensors sharing its bytes (aliases), offset, size and lifetime (steps).

    ``group`` names the in-place group the region belongs to: regions of one group may share bytes
    at the step where an op writes over its dying input (the planner proved the access order
    safe); regions of different groups never share bytes while both are alive. A recentred op's
    work area is a region named ``<op>#work`` alive at that op's step only.
    """

    tensors: tuple[str, ...]
    offset: int
    size: int
    first_op: int
    last_op: int
    location: str = "arena"  # "arena" | "input" | "output" (caller-owned)
    group: str = ""


@dataclass(frozen=True)
class Move:
    """A recentred raster op: its kernel writes ``lag`` bytes below the output's place (over input
    it no longer reads), then one ``memmove`` puts the ``nbytes`` of output back in place, so a
    chain of in-place layers does not drift down the arena."""

    op: str
    lag: int
    nbytes: int


@dataclass(frozen=True)
class MemoryPlan:
    buffers: tuple[Buffer, ...]
    arena_bytes: int
    n_ops: int
    order: tuple[int, ...] = ()  # execution order: indices into graph.ops (empty = as listed)
    in_place_ops: tuple[str, ...] = ()  # ops that write over (part of) a dying input
    tensor_offsets: tuple[tuple[str, int], ...] = ()  # arena offset of every arena tensor
    moves: tuple[Move, ...] = ()  # recentred raster ops (one memmove each after the kernel)
    input_in_arena: bool = False  # the graph's input is copied into (or written in) the arena
    portable_ops: tuple[str, ...] = ()  # ops run with the portable kernel though a fast one exists
    lean_ops: tuple[str, ...] = ()  # ops whose fast kernel runs its scratch-free (lean) variant

    def offset_of(self, tensor: str) -> int:
        """The arena offset where ``tensor`` starts."""
        for name, offset in self.tensor_offsets:
            if name == tensor:
                return offset
        return self.buffer_of(tensor).offset

    def buffer_of(self, tensor: str) -> Buffer:
        for buf in self.buffers:
            if tensor in buf.tensors:
                return buf
        raise KeyError(tensor)

    def scratch_of(self, op_name: str) -> tuple[int, int] | None:
        """(offset, bytes) of the arena region ``op_name``'s kernel uses as scratch, or None."""
        for buf in self.buffers:
            if buf.tensors == (f"{op_name}#scratch",):
                return buf.offset, buf.size
        return None

    def move_of(self, op_name: str) -> Move | None:
        return next((m for m in self.moves if m.op == op_name), None)

    @property
    def moved_bytes(self) -> int:
        """Bytes the recentring memmoves copy per inference (their instruction cost)."""
        return sum(m.nbytes for m in self.moves)

    def live_at_peak(self) -> tuple[int, tuple[Buffer, ...]]:
        """The step where the most arena bytes are in use, and the regions live then (tensors, a
        recentred op's ``#work`` area, a kernel's ``#scratch``): what to shrink to lower the peak."""
        live = self.live_bytes()
        step = max(range(len(live)), key=live.__getitem__) if live else 0
        return step, tuple(b for b in self.buffers if b.location == "arena" and b.first_op <= step <= b.last_op)

    def live_bytes(self) -> list[int]:
        """Arena bytes in use while each step runs (the union of the live regions: the memory plan over time)."""
        out = []
        for i in range(self.n_ops):
            spans = sorted((b.offset, b.offset + b.size) for b in self.buffers
                           if b.location == "arena" and b.first_op <= i <= b.last_op)
            used, end = 0, 0
            for lo, hi in spans:
                used += max(0, hi - max(lo, end))
                end = max(end, hi)
            out.append(used)
        return out


@dataclass
class _Grouping:
    """Which tensors share a group (root), where each sits relative to its root, and the work areas."""

    root: dict[str, str]
    rel: dict[str, int]
    in_place_ops: list[str] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)
    work: list[tuple[str, str, int, int, int]] = field(default_factory=list)  # label, root, rel, size, step
    external: set[str] = field(default_factory=set)  # roots in the caller's buffers


@dataclass(frozen=True)
class KernelNeeds:
    """What an op's fast (DSP) kernel asks of the plan: ``scratch`` bytes while it runs, its own
    overlap lag when its access order allows a smaller one than the portable kernel's (None: the op's),
    and ``lean``: the scratch of its scratch-free variant (a few instructions slower), None: no such variant."""

    scratch: int
    lag: int | None = None
    lean: int | None = None


def plan_memory(graph: QuantGraph, *, reorder: bool = True, in_place: bool = True, moves: bool = True,
                input_in_arena: bool = False, kernels: Mapping[str, KernelNeeds] | None = None,
                fallback: float = 0.0, lean: bool = True) -> MemoryPlan:
    """Plan the arena: execution order (``reorder``), aliases and in-place ops, then placement.

    With ``in_place``, every stride/shape of CONV_2D and DEPTHWISE_CONV_2D may write over its dying
    input; a local search picks, per such op, whether it does (shifted by its overlap lag), does
    and is recentred by one memmove (``moves``; costs instructions, saves the drift of a chain), or
    does not, keeping the smallest arena (then the fewest bytes moved). ``input_in_arena`` (one
    input only): the graph's input lives in the arena (counted there, and the first layers may
    write over it); ``<prefix>_invoke`` copies it in unless the caller wrote it there.
    ``kernels``: op name → :class:`KernelNeeds` of the fast kernel that op runs
    (``deploy.c.emit.kernel_needs``): its scratch becomes an arena region alive at that op's step
    only (instead of a static buffer beside the arena), and its own overlap lag is used.
    ``fallback``: the largest share of the model's MACs the search may move to the portable
    kernels (no scratch, the portable lag; slower: the latency budget), layers of one shape at a
    time, each move saving at least 1% of the arena (``MemoryPlan.portable_ops``); 0: never.
    ``lean``: a kernel with a scratch-free variant (``KernelNeeds.lean``) runs it where that lowers
    the arena (``MemoryPlan.lean_ops``).
    """
    input_in_arena = input_in_arena and len(graph.inputs) == 1
    needs = dict(kernels or {})
    order = (schedule(graph, in_place=in_place, input_in_arena=input_in_arena) if reorder
             else tuple(range(len(graph.ops))))
    raster = [graph.ops[i].name for i in order if sharing(graph.ops[i]) == "raster"] if in_place else []
    search = _Search(graph, order, raster, needs, in_place, input_in_arena)
    for c in ({name: SHIFT for name in raster}, {name: OFF for name in raster}):
        search.consider(c, frozenset())
    # first without moves (free), then from there with them: a move is kept only where it pays;
    # last the portable fallback, which costs the most instructions
    search.descend((SHIFT, OFF), False)
    if moves:
        search.descend((SHIFT, RECENTER, OFF), False)
    if lean:
        search.descend_lean()
    if fallback > 0 and needs:
        search.budget = fallback * graph.macs()
        search.descend((SHIFT, RECENTER, OFF) if moves else (SHIFT, OFF), True)
    return search.best


class _Search:
    """Coordinate descent over the raster ops' choices (and the portable fallback) for the lowest score."""

    def __init__(self, graph, order, raster, needs, in_place, input_in_arena) -> None:
        self.graph, self.order, self.raster, self.needs = graph, order, raster, needs
        self.in_place, self.input_in_arena = in_place, input_in_arena
        self.best: MemoryPlan | None = None
        self.choices: dict[str, str] = {}
        self.portable: frozenset[str] = frozenset()
        self.lean: frozenset[str] = frozenset()  # ops running their kernel's scratch-free variant
        self.budget = 0.0  # MACs that may run on the portable kernels
        # layers of one kind and shape: moved to the portable kernels together (one alone rarely
        # lowers a peak its twins also reach)
        self.shapes: dict[tuple, set[str]] = {}
        for op in graph.ops:
            if op.name in needs:
                key = (op.kind, *(graph.tensors[t].shape for t in (*op.inputs[:1], op.output)),
                       tuple(getattr(op, "stride", ())))
                self.shapes.setdefault(key, set()).add(op.name)

    def consider(self, choices: dict[str, str], portable: frozenset[str], lean: frozenset[str] | None = None) -> bool:
        lean = self.lean if lean is None else lean
        lags = {name: n.lag for name, n in self.needs.items() if n.lag is not None and name not in portable}
        scratch = {name: n.lean if name in lean else n.scratch for name, n in self.needs.items()
                   if name not in portable}
        scratch = {name: b for name, b in scratch.items() if b}
        grouping = _groups(self.graph, self.order, self.in_place, choices, self.input_in_arena, lags)
        for step, i in enumerate(self.order):
            name = self.graph.ops[i].name
            if name in scratch:  # a group of its own, alive at this step only
                grouping.work.append((f"{name}#scratch", f"{name}#scratch", 0, _align(scratch[name]), step))
        plan = _place(self.graph, self.order, grouping, self.input_in_arena, tuple(sorted(portable)),
                      tuple(sorted(lean - portable)))
        if self.best is None or _score(plan) < _score(self.best):
            self.best, self.choices, self.portable, self.lean = plan, choices, portable, lean
            return True
        return False

    def descend_lean(self) -> None:
        """Run each kernel's scratch-free variant where that lowers the arena (kept only then: the
        score counts lean layers after the arena and the portable ones)."""
        improved = True
        while improved:
            improved = False
            for name, n in self.needs.items():
                if n.lean is not None:
                    improved |= self.consider(self.choices, self.portable, self.lean ^ {name})

    def descend(self, alternatives: tuple[str, ...], fallback: bool) -> None:
        improved = True
        while improved:
            improved = False
            for name in self.raster:
                for alt in alternatives:
                    if alt != self.choices[name]:
                        improved |= self.consider({**self.choices, name: alt}, self.portable)
            for names in self.shapes.values() if fallback else ():
                improved |= self._toggle(frozenset(names))

    def _toggle(self, names: frozenset[str]) -> bool:
        """Move ``names`` to the portable kernels (within the budget, saving 1% of the arena) or back."""
        if names <= self.portable:
            return self.consider(self.choices, self.portable - names)
        portable = self.portable | names
        macs = sum(op.macs(self.graph.tensors) for op in self.graph.ops if op.name in portable)
        if macs > self.budget:
            return False
        before = self.best.arena_bytes
        keep = self.best, self.choices, self.portable
        if self.consider(self.choices, portable) and self.best.arena_bytes > 0.99 * before:
            self.best, self.choices, self.portable = keep  # too little saved for the instructions
            return False
        return self.best is not keep[0]


def _score(plan: MemoryPlan) -> tuple[int, int, int, int, int]:
    """Smallest arena, then fewest portable fallbacks and lean kernels, then fewest bytes moved, then the lowest top
    of the live regions summed over the steps (the peak is a maximum: this lets the search cross
    plateaus where it does not move)."""
    top = [0] * plan.n_ops
    for b in plan.buffers:
        if b.location == "arena":
            for s in range(b.first_op, b.last_op + 1):
                top[s] = max(top[s], b.offset + b.size)
    return plan.arena_bytes, len(plan.portable_ops), len(plan.lean_ops), plan.moved_bytes, sum(top)


def schedule(graph: QuantGraph, *, in_place: bool = True, input_in_arena: bool = False) -> tuple[int, ...]:
    """A topological order with a low peak of live bytes (hill-climbing on adjacent swaps)."""
    order = list(range(len(graph.ops)))
    best = _peak(graph, order, in_place, input_in_arena)
    improved = True
    while improved:
        improved = False
        for k in range(len(order) - 1):
            a, b = graph.ops[order[k]], graph.ops[order[k + 1]]
            if a.output in b.inputs:
                continue  # b reads a: they cannot swap
            order[k], order[k + 1] = order[k + 1], order[k]
            score = _peak(graph, order, in_place, input_in_arena)
            if score < best:
                best, improved = score, True
            else:
                order[k], order[k + 1] = order[k + 1], order[k]
    return tuple(order)


def _last_reads(graph: QuantGraph, order) -> dict[str, int]:
    last_read: dict[str, int] = {}
    for step, i in enumerate(order):
        for name in graph.ops[i].inputs:
            last_read[name] = step
    for name in graph.outputs:
        last_read[name] = len(order)  # the caller reads every output after the last op
    return last_read


def _groups(graph: QuantGraph, order, allow_in_place: bool, choices: dict[str, str] | None = None,
            input_in_arena: bool = False, lags: Mapping[str, int] | None = None) -> _Grouping:
    """Tensor → root tensor of its group (reshape aliases, in-place outputs), each tensor's offset
    relative to its root, the ops that run in place and the recentred ops' work areas."""
    last_read = _last_reads(graph, order)
    g = _Grouping({name: name for name in graph.tensors}, {name: 0 for name in graph.tensors})
    members: dict[str, list[str]] = {name: [name] for name in graph.tensors}
    # tensors that are a graph output under some reshape: they live in the caller's output
    # buffer (exactly that output's bytes), so no in-place op may merge anything into them
    out_aliases = set(graph.outputs)
    for op in reversed(graph.ops):
        if sharing(op) == "alias" and op.output in out_aliases:
            out_aliases.add(op.inputs[0])
    # the caller's input buffers are const, never written over (unless the input is in the arena)
    in_roots = set() if input_in_arena else set(graph.inputs)
    for step, i in enumerate(order):
        op = graph.ops[i]
        mode = sharing(op)
        target = None
        if mode == "alias":
            target = g.root[op.inputs[0]]
            g.rel[op.output] = g.rel[op.inputs[0]]
        elif allow_in_place and op.output not in out_aliases and mode in ("raster", "elementwise"):
            for name in op.inputs if mode == "elementwise" else op.inputs[:1]:
                r = g.root[name]
                if r in in_roots or max(last_read.get(t, -1) for t in members[r]) != step:
                    continue
                if mode == "elementwise":
                    if graph.tensors[name].nbytes != graph.tensors[op.output].nbytes:
                        continue
                    g.rel[op.output] = g.rel[name]
                elif not _raster(graph, op, name, step, r, g, (choices or {}).get(op.name, SHIFT),
                                 (lags or {}).get(op.name)):
                    continue
                target = r
                g.in_place_ops.append(op.name)
                break
        if target is not None:
            g.root[op.output] = target
            members[target].append(op.output)
    out_roots = [g.root[name] for name in graph.outputs]
    if set(g.root[name] for name in graph.inputs) & set(out_roots):
        raise ValueError("the graph's output is its input reshaped: there is nothing to run")
    if len(set(out_roots)) != len(out_roots):
        raise ValueError("two graph outputs are the same bytes (one is a reshape of the other): "
                         "keep one of them as an output")
    g.external = set(out_roots) | (set() if input_in_arena else {g.root[name] for name in graph.inputs})
    return g


def _raster(graph: QuantGraph, op, name: str, step: int, r: str, g: _Grouping, choice: str,
            kernel_lag: int | None = None) -> bool:
    """Place a raster op's output over its dying input ``name`` (shifted or recentred); False: it may not."""
    if choice == OFF:
        return False
    lag = kernel_lag if kernel_lag is not None else op.overlap_lag(graph.tensors[name], graph.tensors[op.output])
    if lag is None:
        return False
    lag = _align(max(lag, 0))
    nbytes = graph.tensors[op.output].nbytes
    if choice == RECENTER and lag > 0:
        g.rel[op.output] = g.rel[name]
        g.moves.append(Move(op.name, lag, nbytes))
        g.work.append((f"{op.name}#work", r, g.rel[name] - lag, nbytes, step))
    else:
        g.rel[op.output] = g.rel[name] - lag
    return True


def _segments(graph: QuantGraph, order, g: _Grouping) -> dict[tuple[str, int, int], list]:
    """(root, rel, size) → [tensors, first step, last step]: the regions of each group, with lifetimes."""
    n = len(order)
    first = {name: 0 for name in graph.inputs}
    last: dict[str, int] = {}
    for step, i in enumerate(order):
        op = graph.ops[i]
        first.setdefault(op.output, step)
        for name in op.inputs:
            last[name] = step
    for name in graph.outputs:
        last[name] = n - 1
    segs: dict[tuple[str, int, int], list] = {}
    for t in graph.tensors:
        a = first.get(t, 0)
        b = max(last.get(t, a), a)
        key = (g.root[t], g.rel[t], graph.tensors[t].nbytes)
        seg = segs.setdefault(key, [[], a, b])
        seg[0].append(t)
        seg[1], seg[2] = min(seg[1], a), max(seg[2], b)
    for label, r, rel, size, step in g.work:
        segs[(r, rel, -size)] = [[label], step, step]  # negative size: never merged with a tensor
    return segs


def _peak(graph: QuantGraph, order, in_place: bool, input_in_arena: bool = False) -> tuple[int, int]:
    """(peak, total) of live arena bytes over the steps (every in-place group by the span of its
    live regions): the objective of ``schedule``."""
    g = _groups(graph, order, in_place, None, input_in_arena)
    n = len(order)
    lo = [dict() for _ in range(n)]
    hi = [dict() for _ in range(n)]
    for (r, rel, size), (_, a, b) in _segments(graph, order, g).items():
        if r in g.external:
            continue
        for s in range(a, b + 1):
            lo[s][r] = min(lo[s].get(r, rel), rel)
            hi[s][r] = max(hi[s].get(r, rel + abs(size)), rel + abs(size))
    live = [sum(_align(hi[s][r] - lo[s][r]) for r in lo[s]) for s in range(n)]
    return max(live, default=0), sum(live)


def _place(graph: QuantGraph, order, g: _Grouping, input_in_arena: bool, portable: tuple[str, ...] = (),
           lean: tuple[str, ...] = ()) -> MemoryPlan:
    """Every group at the lowest aligned offset where none of its regions meets a region of another
    group alive at the same step (groups are rigid: their regions keep their relative offsets)."""
    segs = _segments(graph, order, g)
    groups: dict[str, list[tuple]] = {}
    for (r, rel, size), (names, a, b) in segs.items():
        groups.setdefault(r, []).append((rel, abs(size), a, b, tuple(names)))
    external: list[Buffer] = []
    inputs = {g.root[name] for name in graph.inputs}
    arena_groups = []
    for r, regions in groups.items():
        if r in g.external:
            names = tuple(t for reg in regions for t in reg[4])
            size = max(reg[0] + reg[1] for reg in regions) - min(reg[0] for reg in regions)
            where = "input" if r in inputs else "output"
            external.append(Buffer(names, 0, size, min(reg[2] for reg in regions), max(reg[3] for reg in regions),
                                   location=where, group=r))
        else:
            arena_groups.append((r, regions))
    best: tuple[int, dict[str, int]] | None = None
    for key in (lambda rg: (-max(x[1] for x in rg[1]), min(x[2] for x in rg[1])),
                lambda rg: (min(x[2] for x in rg[1]), -max(x[1] for x in rg[1]))):
        placed = _greedy(sorted(arena_groups, key=key))
        if best is None or placed[0] < best[0]:
            best = placed
    end, bases = best or (0, {})
    buffers, offsets = [], []
    for r, regions in arena_groups:
        for rel, size, a, b, names in regions:
            buffers.append(Buffer(names, bases[r] + rel, size, a, b, group=r))
            offsets += [(t, bases[r] + rel) for t in names if "#" not in t]
    buffers.sort(key=lambda b: (b.first_op, b.offset))
    return MemoryPlan(tuple(buffers) + tuple(external), _align(end), len(graph.ops), tuple(order),
                      tuple(g.in_place_ops), tuple(offsets), tuple(g.moves), input_in_arena, portable, lean)


def _greedy(groups) -> tuple[int, dict[str, int]]:
    """First fit of each rigid group: returns the arena end and each group's base (its rel-0 offset)."""
    p_lo = np.zeros(0, np.int64)
    p_hi = p_first = p_last = p_lo
    bases: dict[str, int] = {}
    end = 0
    for r, regions in groups:
        reg = np.array([x[:4] for x in regions], np.int64)
        lo0 = int(reg[:, 0].min())
        rel, size, first, last = reg[:, 0] - lo0, reg[:, 1], reg[:, 2], reg[:, 3]
        together = (first[:, None] <= p_last[None, :]) & (p_first[None, :] <= last[:, None])
        base = 0
        while together.size:
            start = base + rel[:, None]
            clash = together & (start < p_hi[None, :]) & (p_lo[None, :] < start + size[:, None])
            if not clash.any():
                break
            base = _align(int((p_hi[None, :] - rel[:, None])[clash].max()))
        bases[r] = base - lo0
        end = max(end, int((base + rel + size).max()))
        p_lo = np.concatenate([p_lo, base + rel])
        p_hi = np.concatenate([p_hi, base + rel + size])
        p_first = np.concatenate([p_first, first])
        p_last = np.concatenate([p_last, last])
    return end, bases


def place(buffers: list[Buffer]) -> tuple[tuple[Buffer, ...], int]:
    """Place buffers of any kind (offset -1, a lifetime in steps) in one arena with the planner's own
    first fit and its two orders (biggest first, then by first use); returns the placed buffers
    (sorted by first step) and the aligned arena size. Used for memory that is not a graph tensor:
    the training step's saved activations, gradients and scratch (``graph/training.py``)."""
    groups = [(str(i), [(0, b.size, b.first_op, b.last_op, b.tensors)]) for i, b in enumerate(buffers)]
    best: tuple[int, dict[str, int]] | None = None
    for key in (lambda rg: (-rg[1][0][1], rg[1][0][2]), lambda rg: (rg[1][0][2], -rg[1][0][1])):
        placed = _greedy(sorted(groups, key=key))
        if best is None or placed[0] < best[0]:
            best = placed
    end, bases = best or (0, {})
    final = [Buffer(b.tensors, bases[str(i)], b.size, b.first_op, b.last_op) for i, b in enumerate(buffers)]
    return tuple(sorted(final, key=lambda b: (b.first_op, b.offset))), _align(end)


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN
