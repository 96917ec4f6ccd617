"""Pieces of a quantized graph as graphs of their own: the ops before a cut, the ops after it.

A sub-graph keeps the ops (same objects, same weights, same quantization) and the tensors they
touch; its input and outputs are tensors of the original graph. Emitting it with ``emit_c`` gives
a C model that computes exactly those tensors, so a chain of sub-graphs is bit-exact with the
whole graph (used by the on-device training step's forward pass and by split inference).
"""

from __future__ import annotations

from collections.abc import Iterable

from pocketml.graph.ir import QuantGraph
from pocketml.graph.planner import sharing


def producers(graph: QuantGraph) -> dict[str, int]:
    """Tensor name → index of the op that writes it (the graph input has none)."""
    return {op.output: i for i, op in enumerate(graph.ops)}


def consumers(graph: QuantGraph) -> dict[str, list[int]]:
    """Tensor name → indices of the ops that read it, in graph order."""
    readers: dict[str, list[int]] = {name: [] for name in graph.tensors}
    for i, op in enumerate(graph.ops):
        for name in op.inputs:
            readers[name].append(i)
    return readers


def ancestors(graph: QuantGraph, tensor: str) -> list[int]:
    """Indices (graph order) of every op ``tensor`` depends on, its producer included."""
    made_by = producers(graph)
    need, stack = set(), [tensor]
    while stack:
        name = stack.pop()
        i = made_by.get(name)
        if i is not None and i not in need:
            need.add(i)
            stack.extend(graph.ops[i].inputs)
    return sorted(need)


def alias_root(graph: QuantGraph, tensor: str) -> str:
    """The tensor whose bytes ``tensor`` is (through RESHAPE-like aliases), or itself."""
    made_by = producers(graph)
    while tensor in made_by and sharing(graph.ops[made_by[tensor]]) == "alias":
        tensor = graph.ops[made_by[tensor]].inputs[0]
    return tensor


def subgraph(graph: QuantGraph, ops: Iterable[int], input: str, outputs: Iterable[str],
             name: str | None = None) -> QuantGraph:
    """The graph of ``graph.ops[i]`` for ``i`` in ``ops`` (kept in graph order), from ``input`` to ``outputs``.

    Every op's inputs must be ``input`` or written by an op of the sub-graph (a ValueError says
    which is not), so the piece runs on its own.
    """
    chosen = [graph.ops[i] for i in sorted(set(ops))]
    written = {input, *(op.output for op in chosen)}
    for op in chosen:
        missing = [t for t in op.inputs if t not in written]
        if missing:
            raise ValueError(f"{op.name} reads {missing}, which the sub-graph neither computes nor takes as input")
    outs = tuple(outputs)
    for t in outs:
        if t not in written:
            raise ValueError(f"output {t} is not computed by the sub-graph")
    names = [input, *(t for op in chosen for t in (*op.inputs, op.output))]
    tensors = {t: graph.tensors[t] for t in dict.fromkeys(names)}
    return QuantGraph(name or graph.name, tensors, chosen, input, outs)
