"""Operator fusion that removes a buffer: a PAD into the conv after it, a MAX_POOL_2D into the conv before it.

* **PAD into the conv that reads it** (CONV_2D, DEPTHWISE_CONV_2D): a PAD of a map's rows and
  columns with the zero point is what the conv's own padding means for the integer kernels (a
  padding tap holds the input's zero point), so the conv reads the PAD's input with the PAD added
  to its padding (``with_pad``, ``ops/window.py: absorb_pad``): the padded map is never stored.
* **MAX_POOL_2D into the conv's epilogue** (``Conv2D.pool``, ops/conv2d): a conv followed by a max
  pool writes its whole output map only for the pool to read it once; the fused conv computes one
  pool window's conv outputs, requantizes each and writes only their largest: the map never
  exists, and the plan holds the pool's output (4x smaller for a 2x2 pool) where it held the map.
  Refused where the bits could differ (``with_pool``: a pool that changes the quantization, which
  TFLite's MAX_POOL_2D never does, or with a fused activation).

Each is the same bits by construction. An op declares what it absorbs with ``with_pad(pad, tensors)``
and ``with_pool(pool, tensors)`` (None: refused); the op between must be read by that op alone and
be no graph output. The fused graph is what a board's C may run (``pipeline/plans.py``: the RAM plan
takes it when it lowers the arena); the reference, the portable host C and model.tflite stay the
unfused graph, whose outputs the fused graph's equal bit for bit (tests/test_fuse.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from pocketml.graph.ir import QuantGraph


@dataclass(frozen=True)
class FusedGraph:
    """A graph with ops fused, and which: (first, second) op names of each fusion, in graph order."""

    graph: QuantGraph
    fused: tuple[tuple[str, str], ...]

    @property
    def label(self) -> str:
        """``pad1+conv2, conv3+pool4`` ("" when nothing was fused)."""
        return ", ".join(f"{a}+{b}" for a, b in self.fused)


def fuse(graph: QuantGraph, *, pads: bool = True, pools: bool = True) -> FusedGraph:
    """Every PAD into the op reading it (``pads``) and every max pool into the conv before it (``pools``)
    where the op takes it (module docstring); a PAD then a conv then a pool may fuse both."""
    readers: dict[str, list[int]] = {}
    for i, op in enumerate(graph.ops):
        for name in op.inputs:
            readers.setdefault(name, []).append(i)
    ops = list(graph.ops)
    tensors = dict(graph.tensors)
    dropped: set[int] = set()
    fused = []
    for i in range(len(ops)):
        after = readers.get(ops[i].output, [])
        if len(after) != 1 or ops[i].output in graph.outputs:
            continue
        j = after[0]
        absorb = getattr(ops[j], "with_pad", None) if pads else None
        if absorb is not None and (combined := absorb(ops[i], graph.tensors)) is not None:
            ops[j], gone = combined, i  # the next op reads the PAD's input
        elif pools and getattr(ops[i], "with_pool", None) is not None \
                and (combined := ops[i].with_pool(ops[j], graph.tensors)) is not None:
            ops[i], gone = combined, j  # this op writes the pool's output
        else:
            continue
        fused.append((graph.ops[i].name, graph.ops[j].name))
        dropped.add(gone)
        del tensors[graph.ops[i].output]
    if not fused:
        return FusedGraph(graph, ())
    kept = [op for i, op in enumerate(ops) if i not in dropped]
    return FusedGraph(QuantGraph(graph.name, tensors, kept, graph.inputs, graph.outputs, list(graph.notes)),
                      tuple(fused))
