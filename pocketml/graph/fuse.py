"""Operator fusion that removes a buffer: a MAX_POOL_2D in the epilogue of the CONV_2D before it.

A conv followed by a max pool writes its whole output map only for the pool to read it once; the
fused conv (``Conv2D.pool``, ops/conv2d) computes one pool window's conv outputs, requantizes
each, and writes only their largest: the map never exists, so the memory plan holds the pool's
output (4x smaller for a 2x2 pool) where it held the map. The bits are the same by construction
(MAX_POOL_2D only compares values on the conv's own scale and zero point); an op declares what it
can take into its epilogue with ``with_pool(next_op, tensors)`` (None: refused, e.g. a pool that
changes the quantization or has a fused activation).

The fused graph is what a board's C may run (``pipeline/plans.py``: the RAM plan takes it when it
lowers the arena); the reference, the portable host C and model.tflite stay the unfused graph,
whose outputs the fused graph's equal bit for bit (tests/test_fuse.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from pocketml.graph.ir import QuantGraph


@dataclass(frozen=True)
class FusedGraph:
    """A graph with pools fused into the convs before them, and which: (conv, pool) op names."""

    graph: QuantGraph
    fused: tuple[tuple[str, str], ...]

    @property
    def label(self) -> str:
        """``conv1+pool1, conv2+pool2`` ("" when nothing was fused)."""
        return ", ".join(f"{conv}+{pool}" for conv, pool in self.fused)


def fuse_pools(graph: QuantGraph) -> FusedGraph:
    """Every op that takes the op reading its output into its epilogue (``with_pool``), fused: the
    producer's output must be read by that op alone and be no graph output."""
    readers: dict[str, list[int]] = {}
    for i, op in enumerate(graph.ops):
        for name in op.inputs:
            readers.setdefault(name, []).append(i)
    ops = list(graph.ops)
    tensors = dict(graph.tensors)
    dropped: set[int] = set()
    fused = []
    for i, op in enumerate(graph.ops):
        after = readers.get(op.output, [])
        if getattr(op, "with_pool", None) is None or len(after) != 1 or op.output in graph.outputs:
            continue
        nxt = graph.ops[after[0]]
        combined = op.with_pool(nxt, graph.tensors)
        if combined is None:
            continue
        ops[i] = combined
        dropped.add(after[0])
        del tensors[op.output]
        fused.append((op.name, nxt.name))
    if not fused:
        return FusedGraph(graph, ())
    kept = [op for i, op in enumerate(ops) if i not in dropped]
    return FusedGraph(QuantGraph(graph.name, tensors, kept, graph.inputs, graph.outputs, list(graph.notes)),
                      tuple(fused))
