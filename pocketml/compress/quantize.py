"""int8 post-training quantization per the TFLite int8 specification.

    float model ──capture──▶ FloatGraph ──calibrate (observers)──▶ ranges ──convert──▶ QuantGraph

* activations: asymmetric int8 from each tensor's observed [min, max] (0.0 exactly representable);
  a max pool or flatten keeps its input's parameters, as TFLite requires;
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
from pocketml.graph.ops import Conv2D, FullyConnected, MaxPool2D, Reshape


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


def calibrate(graph: FloatGraph, calibration: np.ndarray, batch_size: int = 256) -> dict[str, QuantParams]:
    """Observe every tensor the quantized graph will hold over the calibration set."""
    if len(calibration) == 0:
        raise PocketMLError("the calibration set is empty",
                            "pass at least one representative input (a few hundred is typical)")
    observers: dict[str, MinMaxObserver] = {}
    for start in range(0, len(calibration), batch_size):
        batch = torch.as_tensor(calibration[start:start + batch_size], dtype=torch.float32)
        for name, value in graph.observe(batch).items():
            observers.setdefault(name, MinMaxObserver()).update(value)
    return {name: obs.quant_params() for name, obs in observers.items()}


def quantize_weights(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-output-channel int8 (axis 0): returns (int8 weights, float32 scales)."""
    flat = weight.reshape(weight.shape[0], -1).astype(np.float64)
    max_abs = np.max(np.abs(flat), axis=1)
    scale = np.where(max_abs > 0, max_abs / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.round(flat / scale.astype(np.float64)[:, None]), -127, 127).astype(np.int8)
    return q.reshape(weight.shape), scale


def quantize_bias(bias: np.ndarray, input_scale: float, weight_scale: np.ndarray) -> np.ndarray:
    """int32 bias with scale ``s_in · s_w[c]``."""
    scale = np.float64(np.float32(input_scale)) * weight_scale.astype(np.float64)
    q = np.round(bias.astype(np.float64) / scale)
    return np.clip(q, -(2**31) + 1, 2**31 - 1).astype(np.int32)


def quantize(graph: FloatGraph, calibration: np.ndarray) -> QuantGraph:
    """Post-training int8 quantization: calibrate, then convert every layer."""
    ranges = calibrate(graph, calibration)
    tensors: dict[str, TensorInfo] = {}
    tensors["input"] = TensorInfo("input", graph.input_shape, ranges[graph.input_source])
    ops = []
    prev = "input"
    for layer in graph.layers:
        x = tensors[prev]
        quant = x.quant if layer.kind in ("max_pool2d", "flatten") else ranges[layer.source]
        out = TensorInfo(layer.name, layer.out_shape, quant)
        tensors[out.name] = out
        ops.append(_convert(layer, x, out))
        prev = out.name
    qgraph = QuantGraph(graph.name, tensors, ops, "input", prev)
    qgraph.op_data  # prepare every op now: any bound or shape problem surfaces here
    return qgraph


def _convert(layer: FloatLayer, x: TensorInfo, out: TensorInfo):
    io = dict(name=layer.name, inputs=(x.name,), output=out.name)
    if layer.kind in ("conv2d", "linear"):
        w, s_w = quantize_weights(layer.weight)
        b = quantize_bias(layer.bias, x.quant.scale, s_w)
        if layer.kind == "conv2d":
            return Conv2D(**io, weight=w, bias=b, weight_scale=s_w, stride=layer.attrs["stride"],
                          padding=layer.attrs["padding"], dilation=layer.attrs["dilation"],
                          activation=layer.activation)
        return FullyConnected(**io, weight=w, bias=b, weight_scale=s_w, activation=layer.activation)
    if layer.kind == "max_pool2d":
        return MaxPool2D(**io, kernel=layer.attrs["kernel"], stride=layer.attrs["stride"],
                         padding=layer.attrs["padding"])
    if layer.kind == "flatten":
        return Reshape(**io, shape=out.shape)
    raise AssertionError(f"capture produced an unknown layer kind {layer.kind}")
