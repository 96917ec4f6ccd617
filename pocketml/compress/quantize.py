"""int8 post-training quantization per the TFLite int8 specification.

    float model ──capture──▶ FloatGraph ──calibrate (observers)──▶ ranges ──convert──▶ QuantGraph

* activations: asymmetric int8 from each tensor's observed [min, max] (0.0 exactly representable);
  pools, pad, flatten, ReLU6 and concatenation share their inputs' parameters and softmax has
  TFLite's fixed output, as TFLite requires (see ``activation_params``);
* weights: symmetric int8 per output channel, ``s_w[c] = max|w[c]| / 127``, zero point 0;
* biases: int32 with scale ``s_in · s_w[c]``, zero point 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from pocketml.errors import PocketMLError
from pocketml.graph.capture import FloatGraph, FloatLayer
from pocketml.graph.ir import QuantGraph, QuantParams, TensorInfo
from pocketml.graph.ops import (
    Add,
    AvgPool2D,
    Concatenation,
    Conv2D,
    DepthwiseConv2D,
    FullyConnected,
    MaxPool2D,
    Mean,
    Pad,
    ReLU,
    ReLU6,
    Reshape,
    Softmax,
)
from pocketml.graph.ops.softmax import OUTPUT_QUANT as SOFTMAX_OUTPUT


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


def calibrate_ranges(graph: FloatGraph, calibration: np.ndarray, batch_size: int = 256) -> dict[str, tuple[float, float]]:
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


def quantize_weights(weight: np.ndarray, bits: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-output-channel weights (axis 0): returns (int8 weights, float32 scales).

    ``bits`` < 8 (4 or 2, see compress/encoding.py) restricts the values to ``±(2^(bits-1) - 1)``
    with ``s_w[c] = max|w[c]| / (2^(bits-1) - 1)``; they are still held as int8 in the graph.
    """
    top = float(2 ** (bits - 1) - 1)
    flat = weight.reshape(weight.shape[0], -1).astype(np.float64)
    max_abs = np.max(np.abs(flat), axis=1)
    scale = np.where(max_abs > 0, max_abs / top, 1.0).astype(np.float32)
    q = np.clip(np.round(flat / scale.astype(np.float64)[:, None]), -top, top).astype(np.int8)
    return q.reshape(weight.shape), scale


def quantize_bias(bias: np.ndarray, input_scale: float, weight_scale: np.ndarray) -> np.ndarray:
    """int32 bias with scale ``s_in · s_w[c]``."""
    scale = np.float64(np.float32(input_scale)) * weight_scale.astype(np.float64)
    q = np.round(bias.astype(np.float64) / scale)
    return np.clip(q, -(2**31) + 1, 2**31 - 1).astype(np.int32)


# How each layer's output gets its int8 parameters (TFLite's converter rules):
SHARES_INPUT = ("max_pool2d", "avg_pool2d", "pad", "flatten", "relu6", "concatenation")  # one set with inputs
FIXED_OUTPUT = {"softmax": SOFTMAX_OUTPUT}  # TFLite requires 1/256, -128
# every other layer (conv, depthwise, linear, add, mean, relu) gets its own calibrated range


def activation_params(graph: FloatGraph, ranges: dict[str, tuple[float, float]]) -> dict[str, QuantParams]:
    """int8 parameters of every tensor ("input" and each layer's name).

    Layers that move values without rescaling (pools, pad, flatten, ReLU6, concatenation) share
    one set of parameters with their inputs: the tensors joined this way form a group whose range
    is the union of its members' calibrated ranges. For a concatenation this forces all inputs onto
    the output's scale and zero point, as the TFLite converter does and TFLite Micro requires (its
    int8 CONCATENATION does not rescale); the producers then write in that scale directly. A group
    holding a SOFTMAX output takes TFLite's fixed (1/256, -128).
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

    inputs = _layer_inputs(graph)
    for layer in graph.layers:
        if layer.kind in SHARES_INPUT:
            for name in inputs[layer.name]:
                parent[find(name)] = find(layer.name)
    groups: dict[str, list[str]] = {}
    for name in parent:
        groups.setdefault(find(name), []).append(name)
    kinds = {layer.name: layer.kind for layer in graph.layers}
    params: dict[str, QuantParams] = {}
    for members in groups.values():
        fixed = {FIXED_OUTPUT[kinds[m]] for m in members if kinds.get(m) in FIXED_OUTPUT}
        if len(fixed) > 1:
            raise PocketMLError(f"tensors {members} must share int8 parameters but two are fixed differently",
                                "insert a layer that rescales (e.g. a ReLU) between them")
        if fixed:
            quant = fixed.pop()
        else:
            quant = QuantParams.from_range(min(observed[m][0] for m in members), max(observed[m][1] for m in members))
        params.update({m: quant for m in members})
    return params


def _layer_inputs(graph: FloatGraph) -> dict[str, tuple[str, ...]]:
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
    params = activation_params(graph, calibrate_ranges(graph, calibration))
    tensors: dict[str, TensorInfo] = {"input": TensorInfo("input", graph.input_shape, params["input"])}
    inputs = _layer_inputs(graph)
    ops = []
    for layer in graph.layers:
        out = TensorInfo(layer.name, layer.out_shape, params[layer.name])
        tensors[out.name] = out
        ops.append(_convert(layer, [tensors[n] for n in inputs[layer.name]], out, weight_bits.get(layer.name, 8)))
    output = getattr(graph, "output", "") or graph.layers[-1].name
    qgraph = QuantGraph(graph.name, tensors, ops, "input", output)
    try:
        qgraph.op_data  # prepare every op now: any bound or shape problem surfaces here
    except (OverflowError, ValueError) as exc:  # e.g. a range of ~0 gives a scale no int32 bias can reach
        raise PocketMLError(f"the model cannot be quantized to int8: {exc}",
                            "calibrate with varied inputs: a layer whose calibration values are all equal "
                            "(constant data, or a layer that only outputs zeros) has no int8 range") from exc
    return qgraph


def _convert(layer: FloatLayer, xs: list[TensorInfo], out: TensorInfo, bits: int = 8):
    x = xs[0]
    io = dict(name=layer.name, inputs=tuple(t.name for t in xs), output=out.name)
    if layer.kind in ("conv2d", "linear"):
        w, s_w = quantize_weights(layer.weight, bits)
        b = quantize_bias(layer.bias, x.quant.scale, s_w)
        if layer.kind == "conv2d":
            return Conv2D(**io, weight=w, bias=b, weight_scale=s_w, stride=layer.attrs["stride"],
                          padding=layer.attrs["padding"], dilation=layer.attrs["dilation"],
                          activation=layer.activation)
        return FullyConnected(**io, weight=w, bias=b, weight_scale=s_w, activation=layer.activation)
    if layer.kind == "depthwise_conv2d":  # [C_out, KH, KW, 1] → per-channel int8 → TFLite's [1, KH, KW, C_out]
        w, s_w = quantize_weights(layer.weight, bits)
        b = quantize_bias(layer.bias, x.quant.scale, s_w)
        return DepthwiseConv2D(**io, weight=np.ascontiguousarray(w.transpose(3, 1, 2, 0)), bias=b, weight_scale=s_w,
                               stride=layer.attrs["stride"], padding=layer.attrs["padding"],
                               dilation=layer.attrs["dilation"], depth_multiplier=layer.attrs["depth_multiplier"],
                               activation=layer.activation)
    if layer.kind in ("max_pool2d", "avg_pool2d"):
        pool = MaxPool2D if layer.kind == "max_pool2d" else AvgPool2D
        return pool(**io, kernel=layer.attrs["kernel"], stride=layer.attrs["stride"], padding=layer.attrs["padding"])
    if layer.kind == "mean":
        return Mean(**io, shape=out.shape)
    if layer.kind == "add":
        return Add(**io, activation=layer.activation)
    if layer.kind == "concatenation":
        return Concatenation(**io)
    if layer.kind == "pad":
        return Pad(**io, paddings=layer.attrs["paddings"])
    if layer.kind == "relu":
        return ReLU(**io)
    if layer.kind == "relu6":
        return ReLU6(**io)
    if layer.kind == "softmax":
        return Softmax(**io)
    if layer.kind == "flatten":
        return Reshape(**io, shape=out.shape)
    raise AssertionError(f"capture produced an unknown layer kind {layer.kind}")
