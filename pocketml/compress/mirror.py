"""The captured graph as a trainable PyTorch module whose fake-quantization is the deploy arithmetic.

Training stages after capture (pruning fine-tuning, QAT) train :class:`GraphModule`, built from the
:class:`~pocketml.graph.capture.FloatGraph` the quantizer converts: BatchNorm is already folded and
ReLU fused, flatten is in NHWC order, so the module has exactly the quantized graph's layers and
tensors. With ``fake_quant`` on it rounds where the integer graph rounds:

* the input and every conv/linear output (after its fused activation) to int8 with the
  :class:`~pocketml.graph.ir.QuantParams` that PTQ calibration gives (min/max, 0.0 exact; rounding
  half away from zero, saturating), max pool and flatten keeping their input's parameters;
* weights per output channel, symmetric, ``s_w = max|w| / (2^(b-1)-1)``, rounded half to even and
  clamped (``quantize.quantize_weights``); biases to int32 at ``s_in · s_w``.

Depthwise convolutions and global average pooling (MEAN) round like convolutions (their own
calibrated output range); zero padding shares its input's parameters (zero is exact); a softmax
output takes TFLite's fixed (1/256, -128). A final softmax returns *log*-probabilities in training
mode, so the cross-entropy of the training loop is exactly the cross-entropy of the logits
(CE(log_softmax z) = CE(z)); in eval mode it returns the int8-rounded probabilities, as deployed.

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

from pocketml.errors import PocketMLError
from pocketml.graph.capture import FloatGraph
from pocketml.graph.ir import QuantParams
from pocketml.graph.ops.softmax import OUTPUT_QUANT as SOFTMAX_OUTPUT

TRAINABLE_KINDS = ("conv2d", "depthwise_conv2d", "linear", "max_pool2d", "flatten", "pad", "mean", "softmax")
WEIGHT_KINDS = ("conv2d", "depthwise_conv2d", "linear")


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
    """A FloatGraph as a module: NCHW (or flat) input, the graph's layers, logits out."""

    def __init__(self, graph: FloatGraph) -> None:
        super().__init__()
        bad = [ly for ly in graph.layers if ly.kind not in TRAINABLE_KINDS]
        if bad:
            raise PocketMLError(
                f"layer {bad[0].name} ({bad[0].kind}) cannot be trained by the compression stages yet",
                f"use the int8 recipe for this model, or only layers of kinds {', '.join(TRAINABLE_KINDS)}")
        prev = "input"
        for ly in graph.layers:  # a chain: each layer reads the one before it
            if tuple(getattr(ly, "inputs", ()) or ()) not in ((), (prev,)):
                raise PocketMLError(f"layer {ly.name} reads {ly.inputs}: the compression stages train chains only",
                                    "use the int8 recipe for models with branches")
            prev = ly.name
        self.graph = graph
        self.weights = nn.ParameterDict()
        self.biases = nn.ParameterDict()
        self.masks: dict[str, torch.Tensor] = {}
        for ly in graph.layers:
            if ly.kind in ("conv2d", "depthwise_conv2d"):  # OHWI (depthwise [C, KH, KW, 1]) → OIHW
                self.weights[ly.name] = nn.Parameter(torch.tensor(ly.weight.transpose(0, 3, 1, 2).copy()))
            elif ly.kind == "linear":
                self.weights[ly.name] = nn.Parameter(torch.tensor(ly.weight.copy()))
            if ly.kind in WEIGHT_KINDS:
                self.biases[ly.name] = nn.Parameter(torch.tensor(ly.bias.copy()))
                self.masks[ly.name] = torch.ones_like(self.weights[ly.name], dtype=torch.bool)
        self.bits: dict[str, int] = {name: 8 for name in self.weights}
        self.ranges: dict[str, QuantParams] = {}
        self.fake_quant = False

    @property
    def layer_names(self) -> list[str]:
        return list(self.weights)

    def weight(self, name: str) -> torch.Tensor:
        return self.weights[name] * self.masks[name]

    def forward(self, x: torch.Tensor, record: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        fq = self.fake_quant
        g = self.graph
        if record is not None:
            record[g.input_source] = x
        q = self.ranges.get(g.input_source) if fq else None
        if q is not None:
            x = fake_quant_activation(x, q)
        last = g.layers[-1].name if g.layers else None
        for ly in g.layers:
            if ly.kind in WEIGHT_KINDS:
                w, b = self.weight(ly.name), self.biases[ly.name]
                if fq:
                    w, s_w = fake_quant_weight(w, self.bits[ly.name])
                    b = fake_quant_bias(b, q.scale, s_w)
                a = ly.attrs
                if ly.kind == "conv2d":
                    x = F.conv2d(x, w, b, a["stride"], a["padding"], a["dilation"])
                elif ly.kind == "depthwise_conv2d":
                    x = F.conv2d(x, w, b, a["stride"], a["padding"], a["dilation"], groups=w.shape[0])
                else:
                    x = F.linear(x, w, b)
                if ly.activation == "relu":
                    x = F.relu(x)
                elif ly.activation == "relu6":
                    x = F.relu6(x)
                if fq:
                    q = self.ranges[ly.source]
                    x = fake_quant_activation(x, q)
            elif ly.kind == "max_pool2d":
                a = ly.attrs
                x = F.max_pool2d(x, a["kernel"], a["stride"], a["padding"])
            elif ly.kind == "pad":  # shares its input's int8 parameters: nothing to round
                (top, bottom), (left, right) = ly.attrs["paddings"]
                x = F.pad(x, (left, right, top, bottom))
            elif ly.kind == "mean":  # global average pooling, its own calibrated range
                x = x.mean(dim=(2, 3), keepdim=True)
                if fq:
                    q = self.ranges[ly.source]
                    x = fake_quant_activation(x, q)
            elif ly.kind == "softmax":
                if self.training and ly.name == last:  # cross-entropy of these = cross-entropy of the logits
                    x = F.log_softmax(x, dim=1)
                else:
                    x = F.softmax(x, dim=1)
                    if fq:
                        q = SOFTMAX_OUTPUT
                        x = fake_quant_activation(x, q)
            else:  # flatten in NHWC order, as the quantized graph (no data moves)
                x = x.permute(0, 2, 3, 1).reshape(len(x), -1)
            if record is not None:
                record[ly.source] = x
        return x

    @torch.no_grad()
    def calibrate(self, x: np.ndarray, batch_size: int = 256) -> None:
        """Set activation ranges as PTQ does: min/max of the float module over ``x``."""
        was, self.fake_quant = self.fake_quant, False
        lo: dict[str, float] = {}
        hi: dict[str, float] = {}
        for start in range(0, len(x), batch_size):
            rec: dict[str, torch.Tensor] = {}
            self(torch.as_tensor(x[start:start + batch_size]), rec)
            for k, v in rec.items():
                lo[k] = min(lo.get(k, np.inf), float(v.min()))
                hi[k] = max(hi.get(k, -np.inf), float(v.max()))
        self.ranges = {k: QuantParams.from_range(lo[k], hi[k]) for k in lo}
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
        """A FloatGraph with the trained, masked weights (OHWI for conv), observing this module."""
        layers = []
        for ly in self.graph.layers:
            if ly.kind in WEIGHT_KINDS:
                w = self.weight(ly.name).detach().numpy()
                w = np.ascontiguousarray(w.transpose(0, 2, 3, 1)) if ly.kind != "linear" else w.copy()
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
