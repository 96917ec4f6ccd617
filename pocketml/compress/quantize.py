"""int8 post-training quantization per the TFLite int8 specification.

    float model ──capture──▶ FloatGraph ──calibrate (observers)──▶ ranges ──convert──▶ QuantGraph

* activations: asymmetric int8 from each tensor's observed [min, max] (0.0 exactly representable);
  ops that do not rescale (pools, pad, reshape, ReLU6, concatenation) share their inputs'
  parameters and softmax has TFLite's fixed output, as TFLite requires: each op says which in its
  ``OpSpec.output_quant`` (see ``activation_params``);
* weights and biases (``pocketml/ops/weights.py``): symmetric int8 per output channel,
  ``s_w[c] = max|w[c]| / 127``, zero point 0; int32 biases with scale ``s_in · s_w[c]``;
* each float layer becomes its op through the op folder's ``from_float``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from pocketml.errors import PocketMLError
from pocketml.graph.ir import QuantGraph, QuantParams, TensorInfo
from pocketml.graph.layers import FloatGraph, FloatLayer
from pocketml.ops.registry import SPECS
from pocketml.ops.spec import OWN, SHARED
from pocketml.ops.weights import quantize_bias, quantize_weights

__all__ = ["MinMaxObserver", "activation_params", "calibrate", "calibrate_ranges", "quantize", "quantize_bias",
           "quantize_weights"]


@dataclass
class MinMaxObserver:
    """Running minimum and maximum of a tensor over the calibration set."""

    lo: float = np.inf
    hi: float = -np.inf

    def update(self, value: torch.Tensor) -> None:
        self.lo = min(self.lo, float(value.min()))
        self.hi = max(self.hi, float(value.max()))

    def quant_params(self) -> QuantParams:
        return QuantParams.from_range(self.lo, self.hi)


def calibrate_ranges(graph: FloatGraph, calibration: np.ndarray,
                     batch_size: int = 256) -> dict[str, tuple[float, float]]:
    """Observed [min, max] of every tensor the quantized graph will hold, over the calibration set."""
    if len(calibration) == 0:
        raise PocketMLError("the calibration set is empty",
                            "pass at least one representative input (a few hundred is typical)")
    observers: dict[str, MinMaxObserver] = {}
    for start in range(0, len(calibration), batch_size):
        batch = torch.as_tensor(calibration[start:start + batch_size], dtype=torch.float32)
        for name, value in graph.observe(batch).items():
            observers.setdefault(name, MinMaxObserver()).update(value)
    return {name: (obs.lo, obs.hi) for name, obs in observers.items()}


def calibrate(graph: FloatGraph, calibration: np.ndarray, batch_size: int = 256) -> dict[str, QuantParams]:
    """Observe every tensor the quantized graph will hold over the calibration set."""
    return {name: QuantParams.from_range(lo, hi)
            for name, (lo, hi) in calibrate_ranges(graph, calibration, batch_size).items()}


def activation_params(graph: FloatGraph, ranges: dict[str, tuple[float, float]]) -> dict[str, QuantParams]:
    """int8 parameters of every tensor ("input" and each layer's name).

    Layers whose op does not rescale (``output_quant == "shared"``: pools, pad, reshape, ReLU6,
    concatenation) share one set of parameters with their inputs: the tensors joined this way form a group whose range
    is the union of its members' calibrated ranges. For a concatenation this forces all inputs onto
    the output's scale and zero point, as the TFLite converter does and TFLite Micro requires (its
    int8 CONCATENATION does not rescale); the producers then write in that scale directly. A group
    holding a SOFTMAX output takes TFLite's fixed (1/256, -128) (a fixed ``output_quant``).
    """
    observed = {"input": ranges[graph.input_source]}
    parent = {"input": "input"}
    for layer in graph.layers:
        observed[layer.name] = ranges[layer.source]
        parent[layer.name] = layer.name

    def find(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    inputs = layer_inputs(graph)
    for layer in graph.layers:
        if SPECS[layer.kind].output_quant == SHARED:
            for name in inputs[layer.name]:
                parent[find(name)] = find(layer.name)
    groups: dict[str, list[str]] = {}
    for name in parent:
        groups.setdefault(find(name), []).append(name)
    fixed_of = {layer.name: SPECS[layer.kind].output_quant for layer in graph.layers
                if SPECS[layer.kind].output_quant not in (OWN, SHARED)}
    params: dict[str, QuantParams] = {}
    for members in groups.values():
        fixed = {fixed_of[m] for m in members if m in fixed_of}
        if len(fixed) > 1:
            raise PocketMLError(f"tensors {members} must share int8 parameters but two are fixed differently",
                                "insert a layer that rescales (e.g. a ReLU) between them")
        if fixed:
            quant = fixed.pop()
        else:
            quant = QuantParams.from_range(min(observed[m][0] for m in members), max(observed[m][1] for m in members))
        params.update({m: quant for m in members})
    return params


def with_ranges(layer: FloatLayer, ranges: dict[str, tuple[float, float]]) -> FloatLayer:
    """``layer`` with ``attrs["ranges"]``: the calibrated [min, max] of each value it asked to have
    observed (``attrs["observe_extra"]``, e.g. an LSTM's cell state); the layer itself when none."""
    extra = layer.attrs.get("observe_extra", {})
    if not extra:
        return layer
    return dataclasses.replace(layer, attrs={**layer.attrs,
                                             "ranges": {key: ranges[f"{layer.source}#{key}"] for key in extra}})


def layer_inputs(graph: FloatGraph) -> dict[str, tuple[str, ...]]:
    """Each layer's input tensors; a layer without ``inputs`` reads the one before it (a chain)."""
    out, prev = {}, "input"
    for layer in graph.layers:
        out[layer.name] = tuple(layer.inputs) or (prev,)
        prev = layer.name
    return out


def quantize(graph: FloatGraph, calibration: np.ndarray, weight_bits: dict[str, int] | None = None) -> QuantGraph:
    """Post-training int8 quantization: calibrate, then convert every layer.

    ``weight_bits``: layer name → weight bit width (8, 4 or 2) for layers stored below 8 bits.
    """
    weight_bits = weight_bits or {}
    ranges = calibrate_ranges(graph, calibration)
    params = activation_params(graph, ranges)
    tensors: dict[str, TensorInfo] = {"input": TensorInfo("input", graph.input_shape, params["input"])}
    inputs = layer_inputs(graph)
    ops = []
    for layer in graph.layers:
        out = TensorInfo(layer.name, layer.out_shape, params[layer.name])
        tensors[out.name] = out
        xs = [tensors[n] for n in inputs[layer.name]]
        ops.append(SPECS[layer.kind].from_float(with_ranges(layer, ranges), xs, out, weight_bits.get(layer.name, 8)))
    for layer, op in zip(graph.layers, ops, strict=True):  # every bound and shape check, naming the user's layer
        try:
            op.prepare(tensors)
        except (ValueError, OverflowError) as exc:
            where = f"{layer.module}, " if layer.module else ""
            raise PocketMLError(f"layer {layer.name} ({where}{layer.kind}) cannot be quantized: {exc}",
                                "calibrate with inputs that exercise this layer (an output range of almost 0 "
                                "means a dead or untrained layer), or change the layer as the message says") from exc
    output = getattr(graph, "output", "") or graph.layers[-1].name
    qgraph = QuantGraph(graph.name, tensors, ops, "input", output)
    try:
        _ = qgraph.op_data  # prepare every op now: any bound or shape problem surfaces here
    except (OverflowError, ValueError) as exc:  # e.g. a range of ~0 gives a scale no int32 bias can reach
        raise PocketMLError(f"the model cannot be quantized to int8: {exc}",
                            "calibrate with varied inputs: a layer whose calibration values are all equal "
                            "(constant data, or a layer that only outputs zeros) has no int8 range") from exc
    return qgraph
