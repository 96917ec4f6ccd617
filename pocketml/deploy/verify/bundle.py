"""What an OUT folder keeps so that ``pocketml verify OUT`` can re-check it later, anywhere.

    OUT/model.tflite          the graph as TFLite (runs in TFLite Micro and LiteRT)
    OUT/c/                    the emitted C (already written by shrink)
    OUT/verify/inputs.npy     the test inputs, int8 (uint8 for a uint8 model input), quantized, NHWC, [N, *shape]
    OUT/verify/graph.npz      the quantized graph, to rerun the numpy reference: every array of
                              every op as its own entry, the rest as JSON (no pickle: loading an
                              OUT folder never runs code from it)

The graph file is written generically from the ops' dataclass fields, so a new op needs no
change here as long as its fields are arrays, numbers, strings, tuples of them and the value types
below (a binary op's constant operand).
"""

from __future__ import annotations

import dataclasses
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pocketml.deploy.tflite import write_tflite
from pocketml.devices.footprint import Footprint
from pocketml.errors import PocketMLError
from pocketml.graph.ir import DTYPES, QuantGraph, QuantParams, TensorInfo
from pocketml.graph.planner import MemoryPlan
from pocketml.ops.broadcast import Constant
from pocketml.ops.registry import OPS
from pocketml.outputs import write_atomic

VALUE_TYPES = {"TensorInfo": TensorInfo, "QuantParams": QuantParams, "Constant": Constant}  # besides the ops

GRAPH_FORMAT = 1
TFLITE_FILE = "model.tflite"
INPUTS_FILE = "verify/inputs.npy"
GRAPH_FILE = "verify/graph.npz"


@dataclass(frozen=True)
class Bundle:
    """What verify compares: an OUT folder's verifiable pieces, loaded and checked, or (in ``shrink``)
    the same objects still in memory, with what the pipeline already computed (the memory plan, the
    C's outputs on the inputs, its host footprint), so nothing is re-planned, rebuilt or rerun."""

    out: Path
    graph: QuantGraph
    inputs: np.ndarray  # int8 [N, *input shape]
    tflite: Path
    c_dir: Path
    plan: MemoryPlan | None = None  # None: planned again from the graph
    c_outputs: np.ndarray | None = None  # the C's packed outputs on ``inputs``; None: build and run it
    c_footprint: Footprint | None = None  # the C's host flash/RAM; None: measured from its objects


def save_bundle(out: str | Path, graph: QuantGraph, inputs: np.ndarray) -> dict[str, str]:
    """Write model.tflite and verify/ into ``out``; returns {file key: relative path}."""
    out = Path(out)
    (out / "verify").mkdir(parents=True, exist_ok=True)
    write_atomic(out / TFLITE_FILE, write_tflite(graph))
    if len(graph.inputs) == 1:
        np.save(out / INPUTS_FILE, np.ascontiguousarray(inputs, dtype=DTYPES[graph.input_info.dtype]))
    else:  # several inputs: packed back to back as raw bytes, [N, input_bytes] int8
        np.save(out / INPUTS_FILE, np.concatenate([np.ascontiguousarray(v).reshape(len(v), -1).view(np.int8)
                                                   for v in graph.split_inputs(inputs)], axis=1))
    arrays: dict[str, np.ndarray] = {}
    doc = {"format": GRAPH_FORMAT, "name": graph.name, "input": graph.inputs[0], "inputs": list(graph.inputs),
           "output": graph.outputs[0],
           "outputs": list(graph.outputs),  # "output": the first, as OUT folders before several outputs
           "tensors": [_encode(t, arrays) for t in graph.tensors.values()],
           "ops": [_encode(op, arrays) for op in graph.ops]}
    np.savez(out / GRAPH_FILE, __graph__=np.array(json.dumps(doc)), **arrays)
    return {"tflite": TFLITE_FILE, "verify_inputs": INPUTS_FILE, "verify_graph": GRAPH_FILE}


def load_bundle(out: str | Path) -> Bundle:
    """Load an OUT folder written by ``shrink``; a missing or damaged piece is a PocketMLError."""
    out = Path(out)
    if not out.is_dir():
        raise PocketMLError(f"{out} is not a folder", "pass the OUT folder that `pocketml shrink --out OUT` wrote")
    missing = [p for p in (TFLITE_FILE, INPUTS_FILE, GRAPH_FILE, "c/model.c", "c/model.h") if not (out / p).is_file()]
    if missing:
        raise PocketMLError(f"{out} is missing {', '.join(missing)}",
                            "rerun `pocketml shrink --out OUT` (OUT folders from before verify existed lack them)")
    try:
        with np.load(out / GRAPH_FILE, allow_pickle=False) as z:
            doc = json.loads(str(z["__graph__"]))
            arrays = {k: z[k] for k in z.files if k != "__graph__"}
        if doc.get("format") != GRAPH_FORMAT:
            raise ValueError(f"graph format {doc.get('format')} (this pocketml reads {GRAPH_FORMAT})")
        tensors = [_decode(t, arrays) for t in doc["tensors"]]
        graph = QuantGraph(doc["name"], {t.name: t for t in tensors}, [_decode(o, arrays) for o in doc["ops"]],
                           tuple(doc.get("inputs") or [doc["input"]]), tuple(doc.get("outputs") or [doc["output"]]))
        _ = graph.op_data  # every op's checks run now
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise PocketMLError(f"{out / GRAPH_FILE} is damaged: {exc}", "rerun `pocketml shrink --out OUT`") from exc
    try:
        inputs = np.load(out / INPUTS_FILE, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise PocketMLError(f"{out / INPUTS_FILE} is damaged: {exc}", "rerun `pocketml shrink --out OUT`") from exc
    if len(graph.inputs) == 1:
        want, dtype = graph.input_info.shape, graph.input_info.dtype
    else:
        want, dtype = (graph.input_bytes,), "int8"
    if inputs.dtype != DTYPES[dtype] or inputs.shape[1:] != want or len(inputs) == 0:
        raise PocketMLError(f"{out / INPUTS_FILE} holds {inputs.dtype} {inputs.shape}, not {dtype} [N, {want}]",
                            "rerun `pocketml shrink --out OUT`")
    return Bundle(out, graph, inputs, out / TFLITE_FILE, out / "c")


def _encode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = value
        return {"__array__": key}
    if type(value).__name__ in VALUE_TYPES or hasattr(type(value), "kind"):
        cls = type(value)
        tag = cls.kind if hasattr(cls, "kind") else cls.__name__
        return {"__type__": tag, "fields": {f.name: _encode(getattr(value, f.name), arrays)
                                            for f in dataclasses.fields(value)}}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return [_encode(v, arrays) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in the graph file")


def _decode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if "__array__" in value:
        return arrays[value["__array__"]]
    if "__tuple__" in value:
        return tuple(_decode(v, arrays) for v in value["__tuple__"])
    tag = value["__type__"]
    cls = {**VALUE_TYPES, **OPS}.get(tag)
    if cls is None:
        raise ValueError(f"unknown op kind {tag!r} (this pocketml knows {', '.join(OPS)})")
    return cls(**{k: _decode(v, arrays) for k, v in value["fields"].items()})
