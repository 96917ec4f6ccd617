"""``write_tflite``: a QuantGraph as a ``.tflite`` flatbuffer that TFLite Micro and LiteRT run.

    graph tensors ─▶ TFLite tensors [1, *shape] (int8, per-tensor scale/zero point)
    graph ops     ─▶ builtin operators (each op folder's ``tflite.py``), PAD inserted where padding needs it

``outputs`` lets a caller expose intermediate tensors as extra model outputs, which is how
``verify --layers`` cuts the model after every layer to find where two runtimes diverge.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pocketml._version import __version__
from pocketml.errors import PocketMLError
from pocketml.formats.tflite import TensorSpec, TFLiteModelSpec
from pocketml.graph.ir import QuantGraph
from pocketml.ops.registry import SPECS
from pocketml.ops.tflite_write import activation_quant, batch_shape


def write_tflite(graph: QuantGraph, outputs: Sequence[str] | None = None) -> bytes:
    """Serialise ``graph`` as TFLite flatbuffer bytes.

    Parameters
    ----------
    graph : the quantized graph (prepared: every op's checks have run).
    outputs : tensor names to expose as model outputs, in order (default: the graph's outputs).
    """
    return tflite_spec(graph, outputs).serialise()


def tflite_spec(graph: QuantGraph, outputs: Sequence[str] | None = None) -> TFLiteModelSpec:
    """``graph`` laid out as TFLite tensors and operators, before serialisation (see write_tflite)."""
    writable = sorted(kind for kind, spec in SPECS.items() if spec.tflite_write is not None)
    unsupported = sorted({op.kind for op in graph.ops} - set(writable))
    if unsupported:
        raise PocketMLError(f"the .tflite writer has no translation for op(s) {', '.join(unsupported)}",
                            f"supported: {', '.join(writable)}")
    outputs = list(outputs) if outputs is not None else list(graph.outputs)
    for name in outputs:
        if name not in graph.tensors:
            raise PocketMLError(f"{name!r} is not a tensor of graph {graph.name!r}",
                                f"choose from: {', '.join(graph.tensors)}")
    spec = TFLiteModelSpec(f"pocketml {__version__}: {graph.name}")
    for info in graph.tensors.values():
        spec.add_tensor(TensorSpec(info.name, batch_shape(info), np.dtype(info.dtype), activation_quant(info)))
    for op, data in zip(graph.ops, graph.op_data, strict=True):
        try:
            SPECS[op.kind].tflite_write(spec, graph, op, data)
        except ValueError as exc:
            raise PocketMLError(f"cannot write {op.name} ({op.kind}) as TFLite: {exc}",
                                "change the layer's padding to 'same' or 'valid' semantics") from exc
        except (AttributeError, KeyError, TypeError) as exc:  # an op whose fields the writer does not know
            raise PocketMLError(f"cannot write {op.name} ({op.kind}) as TFLite: {type(exc).__name__}: {exc}",
                                "this is a pocketml bug: please report it with the model") from exc
    spec.inputs = [spec.index(name) for name in graph.inputs]
    spec.outputs = [spec.index(name) for name in outputs]
    return spec
