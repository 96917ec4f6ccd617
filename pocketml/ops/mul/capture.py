"""MUL from PyTorch: ``a * b`` of two tensors (squeeze-excite, gates) or of a tensor and a
constant (a per-channel scale), broadcasting; ``nn.SiLU`` as LOGISTIC then MUL; captured and quantized."""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer
from pocketml.ops import broadcast
from pocketml.ops.mul.op import Mul


def capture_mul(w, node) -> None:
    a = w.args(node)
    broadcast.capture_binary(w, node, "mul", "mul", a["self"], a["other"])


def capture_silu(w, node) -> None:
    """x · sigmoid(x): a LOGISTIC layer, then a MUL of it with x (as TFLite's converter writes SiLU)."""
    src = w.tensor(node, node.args[0])
    w.no_permuted_flat(node, src, "a SiLU")
    shape = w.shape_of[src]
    gate = FloatLayer("logistic", w.new_name("sigmoid"), f"{node.name}__sigmoid", shape, inputs=(src,))
    w.layers.append(gate)
    w.layer_by_name[gate.name] = gate
    w.shape_of[gate.name] = shape
    w.add(node, FloatLayer("mul", w.new_name("silu"), node.name, shape, inputs=(src, gate.name)))


CAPTURE = {"aten.mul.Tensor": capture_mul, "aten.mul_.Tensor": capture_mul, "aten.mul.Scalar": capture_mul,
           "aten.silu.default": capture_silu, "aten.silu_.default": capture_silu}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> Mul:
    return Mul(layer.name, tuple(t.name for t in xs), out.name, layer.activation, broadcast.quantized_constant(layer))


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch, NCHW (the fused activation is applied after)."""
    a, b = broadcast.float_operands(layer, xs)
    return a * b
