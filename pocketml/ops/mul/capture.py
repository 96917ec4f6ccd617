"""MUL from PyTorch: ``a * b`` of two tensors (squeeze-excite, gates) or of a tensor and a
constant (a per-channel scale), broadcasting; ``nn.SiLU`` as LOGISTIC then MUL and ``nn.Hardsigmoid``
as ADD(+3, RELU6) then MUL(1/6), as TFLite writes them; captured and quantized."""

from __future__ import annotations

import numpy as np
import torch

from pocketml.graph.layers import FloatLayer
from pocketml.ops import broadcast
from pocketml.ops.mul.op import Mul


def capture_mul(w, node) -> None:
    a = w.args(node)
    broadcast.capture_binary(w, node, "mul", "mul", a["self"], a["other"])


def _helper(w, layer: FloatLayer) -> str:
    """Append a layer no FX node holds (``attrs["observe"]`` computes its calibration values)."""
    w.layers.append(layer)
    w.layer_by_name[layer.name] = layer
    w.shape_of[layer.name] = layer.out_shape
    return layer.name


def capture_silu(w, node) -> None:
    """x · sigmoid(x): a LOGISTIC layer, then a MUL of it with x (as TFLite's converter writes SiLU)."""
    src = w.tensor(node, node.args[0])
    w.no_permuted_flat(node, src, "a SiLU")
    shape = w.shape_of[src]
    gate = _helper(w, FloatLayer("logistic", w.new_name("sigmoid"), f"{node.name}__sigmoid", shape,
                                 attrs={"observe": (node.args[0].name, torch.sigmoid)}, inputs=(src,)))
    w.add(node, FloatLayer("mul", w.new_name("silu"), node.name, shape, inputs=(src, gate)))


def capture_hardsigmoid(w, node) -> None:
    """relu6(x + 3) / 6: an ADD of the constant 3 with a fused RELU6, then a MUL by the constant 1/6."""
    src = w.tensor(node, node.args[0])
    w.no_permuted_flat(node, src, "a Hardsigmoid")
    shape = w.shape_of[src]
    rank = len(node.meta["val"].shape)
    three = {"constant_index": 1, "constant_torch": np.array([3.0], np.float32),
             "constant": np.full((1,) * len(shape), 3.0, np.float32), "rank": rank,
             "observe": (node.args[0].name, lambda t: torch.clamp(t + 3.0, 0.0, 6.0))}
    shifted = _helper(w, FloatLayer("add", w.new_name("add"), f"{node.name}__plus3", shape, activation="relu6",
                                    attrs=three, inputs=(src,)))
    sixth = {"constant_index": 1, "constant_torch": np.array([1 / 6], np.float32),
             "constant": np.full((1,) * len(shape), 1 / 6, np.float32), "rank": rank}
    w.add(node, FloatLayer("mul", w.new_name("hardsigmoid"), node.name, shape, attrs=sixth, inputs=(shifted,)))


CAPTURE = {"aten.mul.Tensor": capture_mul, "aten.mul_.Tensor": capture_mul, "aten.mul.Scalar": capture_mul,
           "aten.silu.default": capture_silu, "aten.silu_.default": capture_silu,
           "aten.hardsigmoid.default": capture_hardsigmoid, "aten.hardsigmoid_.default": capture_hardsigmoid}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> Mul:
    return Mul(layer.name, tuple(t.name for t in xs), out.name, layer.activation, broadcast.quantized_constant(layer))


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch, NCHW (the fused activation is applied after)."""
    a, b = broadcast.float_operands(layer, xs)
    return a * b
