"""The captured graph as a trainable PyTorch module whose fake-quantization is the deploy arithmetic.

Training stages after capture (pruning fine-tuning, QAT) train :class:`GraphModule`, built from the
:class:`~pocketml.graph.layers.FloatGraph` the quantizer converts: BatchNorm is already folded and
ReLU fused, flatten is in NHWC order, so the module has exactly the quantized graph's layers and
tensors. With ``fake_quant`` on it rounds where the integer graph rounds:

* the input and every layer's output (after its fused activation) to int8 with the
  :class:`~pocketml.graph.ir.QuantParams` that PTQ calibration gives (min/max, 0.0 exact; rounding
  half away from zero, saturating; ops that do not rescale share their input's parameters,
  softmax has its fixed ones: ``quantize.activation_params``);
* weights per output channel, symmetric, ``s_w = max|w| / (2^(b-1)-1)``, rounded half to even and
  clamped (``quantize.quantize_weights``); biases to int32 at ``s_in · s_w``.

A final softmax returns *log*-probabilities in training mode, so the cross-entropy the training loop
takes of the output is exactly the cross-entropy of the logits (CE(log_softmax z) = CE(z)); taken
of probabilities it would barely move the weights. In eval mode it returns the probabilities,
int8-rounded as deployed.

Gradients pass straight through the rounding (and stop outside an activation's range). What remains
between fake-quant accuracy and the C is the fixed-point rescale's rounding, which the Result shows.
:meth:`GraphModule.float_graph` writes the trained (and masked) weights back for ``quantize``.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pocketml.compress.quantize import activation_params, layer_inputs
from pocketml.errors import PocketMLError
from pocketml.graph.ir import QuantParams
from pocketml.graph.layers import FloatGraph
from pocketml.ops.registry import SPECS


def fake_quant_activation(x: torch.Tensor, q: QuantParams) -> torch.Tensor:
    """int8 round trip of ``QuantParams.quantize`` / ``dequantize``, straight-through inside the range."""
    lo, hi = q.scale * (-128 - q.zero_point), q.scale * (127 - q.zero_point)
    xc = torch.clamp(x, lo, hi)
    v = xc.double() / q.scale
    qv = torch.clamp(torch.sign(v) * torch.floor(v.abs() + 0.5) + q.zero_point, -128, 127)
    deq = ((qv - q.zero_point) * np.float32(q.scale)).float()
    return xc + (deq - xc).detach()


def weight_scale(w: torch.Tensor, bits: int) -> torch.Tensor:
    """Per-output-channel scale as ``quantize_weights`` computes it (float32), as float64."""
    top = float(2 ** (bits - 1) - 1)
    max_abs = w.detach().reshape(w.shape[0], -1).double().abs().amax(1)
    return torch.where(max_abs > 0, max_abs / top, torch.ones_like(max_abs)).float().double()


def fake_quant_weight(w: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric per-channel round trip of ``quantize_weights``; returns (weights, scales)."""
    top = float(2 ** (bits - 1) - 1)
    scale = weight_scale(w, bits)
    shape = (-1,) + (1,) * (w.dim() - 1)
    q = torch.clamp(torch.round(w.detach().double() / scale.view(shape)), -top, top)
    deq = (q * scale.view(shape)).float()
    return w + (deq - w).detach(), scale


def fake_quant_bias(b: torch.Tensor, input_scale: float, w_scale: torch.Tensor) -> torch.Tensor:
    """int32 bias round trip at scale ``s_in · s_w[c]`` (``quantize_bias``)."""
    scale = float(np.float32(input_scale)) * w_scale
    deq = (torch.round(b.detach().double() / scale) * scale).float()
    return b + (deq - b).detach()


class GraphModule(nn.Module):
    """A FloatGraph as a module: the model's input layout in, the graph's layers (any DAG), its output out.

    Each layer runs its op's ``float_forward`` (``pocketml/ops/<kind>/capture.py``) in NCHW; layers
    with weights hold them as trainable parameters in PyTorch's layout (OIHW, [out, in]) with a
    pruning mask. With ``fake_quant`` on, the input, every weight and bias and every layer's output
    round as the integer graph does, with the activation parameters PTQ would give
    (``quantize.activation_params`` over the calibrated ranges: shared and fixed outputs included).
    """

    def __init__(self, graph: FloatGraph) -> None:
        super().__init__()
        missing = [ly for ly in graph.layers if SPECS[ly.kind].float_forward is None]
        if missing:
            raise PocketMLError(
                f"layer {missing[0].name} ({missing[0].kind}) cannot be trained by the compression stages yet",
                "use the int8 recipe for this model")
        self.graph = graph
        self.inputs = layer_inputs(graph)
        self.weights = nn.ParameterDict()
        self.biases = nn.ParameterDict()
        self.masks: dict[str, torch.Tensor] = {}
        for ly in graph.layers:
            if ly.weight is not None:
                w = ly.weight.transpose(0, 3, 1, 2) if ly.weight.ndim == 4 else ly.weight  # OHWI -> OIHW
                self.weights[ly.name] = nn.Parameter(torch.tensor(np.ascontiguousarray(w)))
                self.biases[ly.name] = nn.Parameter(torch.tensor(ly.bias.copy()))
                self.masks[ly.name] = torch.ones_like(self.weights[ly.name], dtype=torch.bool)
        self.bits: dict[str, int] = {name: 8 for name in self.weights}
        self.ranges: dict[str, QuantParams] = {}  # layer name (and "input") -> its int8 parameters
        self.fake_quant = False

    @property
    def layer_names(self) -> list[str]:
        return list(self.weights)

    def weight(self, name: str) -> torch.Tensor:
        return self.weights[name] * self.masks[name]

    def forward(self, x: torch.Tensor, record: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        fq = self.fake_quant
        g = self.graph
        if x.dim() == 3:  # [N, C, W] signal: the graph holds it as a 1-high map
            x = x.unsqueeze(2)
        if record is not None:
            record[g.input_source] = x
        if fq:
            x = fake_quant_activation(x, self.ranges["input"])
        values = {"input": x}
        out = getattr(g, "output", "") or g.layers[-1].name
        for ly in g.layers:
            xs = [values[name] for name in self.inputs[ly.name]]
            loss_forward = SPECS[ly.kind].loss_forward
            if self.training and loss_forward is not None and ly.name == out:  # e.g. log-probabilities
                if record is not None:
                    record[ly.source] = SPECS[ly.kind].float_forward(ly, xs, None, None)
                values[ly.name] = loss_forward(ly, xs)
                continue
            w = b = None
            if ly.name in self.weights:
                w, b = self.weight(ly.name), self.biases[ly.name]
                if fq:
                    w, s_w = fake_quant_weight(w, self.bits[ly.name])
                    b = fake_quant_bias(b, self.ranges[self.inputs[ly.name][0]].scale, s_w)
            y = SPECS[ly.kind].float_forward(ly, xs, w, b)
            if record is not None:  # values inside the layer its quantization needs (FloatGraph.observe)
                record.update({f"{ly.source}#{key}": fn(ly, xs, w, b)
                               for key, fn in ly.attrs.get("observe_extra", {}).items()})
            if ly.activation == "relu":
                y = F.relu(y)
            elif ly.activation == "relu6":
                y = F.relu6(y)
            if record is not None:
                record[ly.source] = y
            if fq:
                y = fake_quant_activation(y, self.ranges[ly.name])
            values[ly.name] = y
        return values[out]

    @torch.no_grad()
    def calibrate(self, x: np.ndarray, batch_size: int = 256) -> None:
        """Set activation parameters as PTQ does: min/max of the float module over ``x``, grouped and
        fixed as ``quantize.activation_params`` does."""
        was, self.fake_quant = self.fake_quant, False
        lo: dict[str, float] = {}
        hi: dict[str, float] = {}
        for start in range(0, len(x), batch_size):
            rec: dict[str, torch.Tensor] = {}
            self(torch.as_tensor(x[start:start + batch_size]), rec)
            for k, v in rec.items():
                lo[k] = min(lo.get(k, np.inf), float(v.min()))
                hi[k] = max(hi.get(k, -np.inf), float(v.max()))
        self.ranges = activation_params(self.graph, {k: (lo[k], hi[k]) for k in lo})
        self.fake_quant = was

    def observe(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The float values the quantizer calibrates on (FloatGraph.observe's contract)."""
        was, self.fake_quant = self.fake_quant, False
        rec: dict[str, torch.Tensor] = {}
        with torch.no_grad():
            self(x, rec)
        self.fake_quant = was
        return rec

    def float_graph(self) -> FloatGraph:
        """A FloatGraph with the trained, masked weights (OHWI for convolutions), observing this module."""
        layers = []
        for ly in self.graph.layers:
            if ly.name in self.weights:
                w = self.weight(ly.name).detach().numpy()
                w = np.ascontiguousarray(w.transpose(0, 2, 3, 1)) if w.ndim == 4 else w.copy()
                ly = replace(ly, weight=w.astype(np.float32), bias=self.biases[ly.name].detach().numpy().copy())
            else:
                ly = copy.copy(ly)
            layers.append(ly)
        plain = FloatGraph(self.graph.name, self.graph.input_shape, self.graph.input_source, layers, None,
                           getattr(self.graph, "output", ""))
        return _MirrorGraph(plain, GraphModule(plain).eval())

    def sparsity(self) -> float:
        total = sum(m.numel() for m in self.masks.values())
        return 1.0 - sum(int(m.sum()) for m in self.masks.values()) / max(total, 1)


class _MirrorGraph(FloatGraph):
    """A FloatGraph whose calibration runs a GraphModule instead of the exported program."""

    def __init__(self, graph: FloatGraph, module: GraphModule) -> None:
        super().__init__(graph.name, graph.input_shape, graph.input_source, graph.layers, None,
                         getattr(graph, "output", ""))
        self.module = module

    def observe(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.module.observe(x)
