"""Capture a PyTorch model into float layers with ``torch.export``, ready to quantize.

``capture(model, example)`` exports the model (no Python tracing tricks: what runs is what the
exporter proves), walks the ATen graph and turns each node into a :class:`FloatLayer`:

* ``conv2d`` / ``linear`` carry their float weights; a following BatchNorm is folded into the
  conv (``w' = w·γ/σ``, ``b' = (b-μ)·γ/σ + β``) and a following ReLU/ReLU6 becomes its fused
  activation, exactly as TFLite's converter does;
* ``max_pool2d`` and ``flatten`` carry their attributes; dropout (in eval) vanishes.

Layouts change here, once: PyTorch is NCHW, the quantized graph is NHWC. Weights are turned to
OHWI, and a ``linear`` fed by a flatten of an NCHW map gets its columns permuted from CHW to HWC
order so the NHWC flatten (which moves no data) computes the same function.

Anything else fails at once, naming the node, the op and what is supported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from pocketml.errors import PocketMLError

aten = torch.ops.aten

_CONV = {aten.conv2d.default, aten.convolution.default}
_LINEAR = {aten.linear.default}
_BN = {aten.batch_norm.default, aten._native_batch_norm_legit_no_training.default}
_RELU = {aten.relu.default, aten.relu_.default}
_HARDTANH = {aten.hardtanh.default, aten.hardtanh_.default}
_MAXPOOL = {aten.max_pool2d.default}
_FLATTEN = {aten.flatten.using_ints, aten.view.default, aten.reshape.default, aten._unsafe_view.default}
_IDENTITY = {aten.dropout.default, aten.clone.default, aten.contiguous.default, aten.alias.default}
_GETITEM_OK = {"getitem"}

SUPPORTED = (
    "nn.Conv2d (groups=1, zero padding), nn.BatchNorm2d after a conv, nn.ReLU / nn.ReLU6 "
    "after a conv or linear, nn.MaxPool2d, nn.Flatten / view to (N, -1), nn.Linear, nn.Dropout"
)


@dataclass
class FloatLayer:
    """One layer of the captured model, NHWC, float32, with its fused activation.

    ``source`` names the ATen node whose output is this layer's output (after fusion): the
    quantizer observes that node's values during calibration.
    """

    kind: str  # "conv2d" | "linear" | "max_pool2d" | "flatten"
    name: str
    source: str
    out_shape: tuple[int, ...]  # per sample, NHWC
    weight: np.ndarray | None = None  # conv: OHWI; linear: [out, in] in NHWC-flatten order
    bias: np.ndarray | None = None
    activation: str = "none"
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class FloatGraph:
    """A captured model: its input and its layers in order, plus how to re-run the export."""

    name: str
    input_shape: tuple[int, ...]  # per sample, NHWC
    input_source: str
    layers: list[FloatLayer]
    program: Any  # torch.export.ExportedProgram

    def observe(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Run the exported program on an NCHW batch, returning every layer source's value."""
        wanted = {self.input_source, *(layer.source for layer in self.layers)}
        return _run_exported(self.program, x, wanted)


def capture(model: torch.nn.Module, example: torch.Tensor, name: str = "model") -> FloatGraph:
    """Export ``model`` on ``example`` (one NCHW or [N, features] batch) into a FloatGraph."""
    model = model.eval()
    try:
        program = torch.export.export(model, (example,))
    except Exception as exc:  # the exporter's own message says which line could not be traced
        raise PocketMLError(
            f"torch.export could not capture the model: {type(exc).__name__}: {str(exc)[:400]}",
            "remove data-dependent Python control flow from forward(), or pass a different example input",
        ) from exc
    return _Walker(program, name).walk()


class _Walker:
    def __init__(self, program: Any, name: str) -> None:
        self.program = program
        self.name = name
        sig = program.graph_signature
        state = program.state_dict
        self.consts: dict[str, torch.Tensor] = {}
        for ph, key in {**sig.inputs_to_parameters, **sig.inputs_to_buffers}.items():
            self.consts[ph] = state[key] if key in state else program.constants[key]
        for ph, key in getattr(sig, "inputs_to_lifted_tensor_constants", {}).items():
            self.consts[ph] = program.constants[key]
        self.layers: list[FloatLayer] = []
        self.shape_of: dict[str, tuple[int, ...]] = {}  # node name -> per-sample NHWC shape
        self.layer_of: dict[str, FloatLayer] = {}  # node name -> layer that produced it
        self.flattened_from: dict[str, tuple[int, int, int]] = {}  # flatten node -> (C, H, W)

    def walk(self) -> FloatGraph:
        graph = self.program.graph
        user_inputs = [n for n in graph.nodes if n.op == "placeholder" and n.name not in self.consts]
        if len(user_inputs) != 1:
            raise PocketMLError(f"the model takes {len(user_inputs)} inputs; pocketml supports one",
                                "wrap the model so forward() takes a single tensor")
        inp = user_inputs[0]
        shape = tuple(inp.meta["val"].shape[1:])
        self.shape_of[inp.name] = (*shape[1:], shape[0]) if len(shape) == 3 else shape
        self.tensor_alias: dict[str, str] = {inp.name: inp.name}
        for node in graph.nodes:
            if node.op != "call_function":
                continue
            self._visit(node)
        outputs = [n for n in graph.nodes if n.op == "output"][0].args[0]
        if len(outputs) != 1:
            raise PocketMLError(f"the model returns {len(outputs)} outputs; pocketml supports one",
                                "return a single tensor from forward()")
        if not self.layers:
            raise PocketMLError("the model has no layers pocketml can deploy", f"supported: {SUPPORTED}")
        return FloatGraph(self.name, self.shape_of[inp.name], inp.name, self.layers, self.program)

    # -- helpers ---------------------------------------------------------------------------
    def _args(self, node) -> dict[str, Any]:
        schema = node.target._schema
        bound = {}
        for i, arg in enumerate(schema.arguments):
            if i < len(node.args):
                bound[arg.name] = node.args[i]
            elif arg.name in node.kwargs:
                bound[arg.name] = node.kwargs[arg.name]
            else:
                bound[arg.name] = arg.default_value
        return bound

    def _const(self, node) -> np.ndarray | None:
        if node is None:
            return None
        return self.consts[node.name].detach().cpu().numpy().astype(np.float32)

    def _input_layer(self, node) -> str:
        src = node.args[0]
        return self.tensor_alias[src.name]

    def _fail(self, node, why: str) -> PocketMLError:
        return PocketMLError(
            f"unsupported layer at node '{node.name}' (op {node.target}): {why}",
            f"pocketml can deploy: {SUPPORTED}",
        )

    def _add(self, node, layer: FloatLayer) -> None:
        self.layers.append(layer)
        self.layer_of[node.name] = layer
        self.shape_of[node.name] = layer.out_shape
        self.tensor_alias[node.name] = node.name

    def _fusable(self, node) -> FloatLayer | None:
        """The conv/linear producing this node's input, if nothing else reads its output."""
        src = node.args[0]
        layer = self.layer_of.get(self.tensor_alias.get(src.name, ""))
        if layer is None or layer.kind not in ("conv2d", "linear") or len(src.users) != 1:
            return None
        return layer

    def _rename(self, node, layer: FloatLayer) -> None:
        layer.source = node.name
        self.layer_of[node.name] = layer
        self.shape_of[node.name] = layer.out_shape
        self.tensor_alias[node.name] = node.name

    # -- one ATen node ---------------------------------------------------------------------
    def _visit(self, node) -> None:
        t = node.target
        if t in _CONV:
            self._conv(node)
        elif t in _LINEAR:
            self._linear(node)
        elif t in _BN:
            self._batch_norm(node)
        elif t in _RELU or t in _HARDTANH:
            self._activation(node)
        elif t in _MAXPOOL:
            self._max_pool(node)
        elif t in _FLATTEN:
            self._flatten(node)
        elif t in _IDENTITY:
            self.tensor_alias[node.name] = self.tensor_alias[node.args[0].name]
            self.shape_of[node.name] = self.shape_of[node.args[0].name]
        else:
            raise self._fail(node, "this op is not in pocketml's op set")

    def _conv(self, node) -> None:
        a = self._args(node)
        if a.get("transposed", False):
            raise self._fail(node, "transposed convolution")
        if a.get("groups", 1) != 1:
            raise self._fail(node, f"groups={a['groups']} (depthwise/grouped conv is not supported yet)")
        padding = a["padding"]
        if isinstance(padding, str):
            raise self._fail(node, f"padding='{padding}'; give explicit integer padding")
        w = self._const(a["weight"])  # OIHW
        if w is None or w.ndim != 4:
            raise self._fail(node, "only 2-D convolution is supported")
        b = self._const(a["bias"])
        cout = w.shape[0]
        h, wd, cin = self.shape_of[self._input_layer(node)]
        stride, dilation = tuple(a["stride"]), tuple(a["dilation"])
        padding = tuple(padding) if len(padding) == 2 else (padding[0], padding[0])
        oh = (h + 2 * padding[0] - dilation[0] * (w.shape[2] - 1) - 1) // stride[0] + 1
        ow = (wd + 2 * padding[1] - dilation[1] * (w.shape[3] - 1) - 1) // stride[1] + 1
        self._add(node, FloatLayer(
            "conv2d", f"conv{sum(ly.kind == 'conv2d' for ly in self.layers) + 1}", node.name,
            (oh, ow, cout), np.ascontiguousarray(w.transpose(0, 2, 3, 1)),
            b if b is not None else np.zeros(cout, np.float32),
            attrs={"stride": stride, "padding": padding, "dilation": dilation},
        ))

    def _linear(self, node) -> None:
        a = self._args(node)
        w = self._const(a["weight"])
        b = self._const(a["bias"])
        src = self._input_layer(node)
        if src in self.flattened_from:  # NCHW flatten order -> NHWC flatten order
            c, h, wd = self.flattened_from[src]
            w = w.reshape(w.shape[0], c, h, wd).transpose(0, 2, 3, 1).reshape(w.shape[0], -1)
        if self.shape_of[src] != (w.shape[1],):
            raise self._fail(node, f"linear expects {w.shape[1]} features, gets shape {self.shape_of[src]}")
        self._add(node, FloatLayer(
            "linear", f"fc{sum(ly.kind == 'linear' for ly in self.layers) + 1}", node.name,
            (w.shape[0],), np.ascontiguousarray(w),
            b if b is not None else np.zeros(w.shape[0], np.float32),
        ))

    def _batch_norm(self, node) -> None:
        a = self._args(node)
        layer = self._fusable(node)
        if layer is None or layer.kind != "conv2d" or layer.activation != "none":
            raise self._fail(node, "BatchNorm is supported only directly after a conv (it is folded in)")
        if a.get("training", False):
            raise self._fail(node, "BatchNorm in training mode; call model.eval() first")
        gamma, beta = self._const(a["weight"]), self._const(a["bias"])
        mean, var = self._const(a["running_mean"]), self._const(a["running_var"])
        eps = float(a["eps"])
        gamma = np.ones_like(mean) if gamma is None else gamma
        beta = np.zeros_like(mean) if beta is None else beta
        factor = (gamma / np.sqrt(var.astype(np.float64) + eps)).astype(np.float32)
        layer.weight = layer.weight * factor[:, None, None, None]
        layer.bias = ((layer.bias - mean) * factor + beta).astype(np.float32)
        self._rename(node, layer)

    def _activation(self, node) -> None:
        kind = "relu"
        if node.target in _HARDTANH:
            lo, hi = (list(node.args[1:3]) + [-1.0, 1.0][len(node.args) - 1:])[:2]
            if (float(lo), float(hi)) != (0.0, 6.0):
                raise self._fail(node, f"hardtanh({lo}, {hi}); only ReLU6 = hardtanh(0, 6) is supported")
            kind = "relu6"
        layer = self._fusable(node)
        if layer is None or layer.activation != "none":
            raise self._fail(node, "ReLU/ReLU6 is supported only directly after a conv or linear (it is fused)")
        layer.activation = kind
        self._rename(node, layer)

    def _max_pool(self, node) -> None:
        a = self._args(node)
        if a.get("ceil_mode", False):
            raise self._fail(node, "ceil_mode=True")
        if tuple(a.get("dilation", [1, 1])) not in ((1, 1), (1,)):
            raise self._fail(node, "dilated max pooling")
        k = tuple(a["kernel_size"]) if len(a["kernel_size"]) == 2 else (a["kernel_size"][0],) * 2
        s = a["stride"] or k
        s = tuple(s) if len(s) == 2 else (s[0], s[0])
        p = tuple(a["padding"]) if len(a["padding"]) == 2 else (a["padding"][0],) * 2
        h, w, c = self.shape_of[self._input_layer(node)]
        oh, ow = (h + 2 * p[0] - k[0]) // s[0] + 1, (w + 2 * p[1] - k[1]) // s[1] + 1
        self._add(node, FloatLayer(
            "max_pool2d", f"pool{sum(ly.kind == 'max_pool2d' for ly in self.layers) + 1}", node.name,
            (oh, ow, c), attrs={"kernel": k, "stride": s, "padding": p},
        ))

    def _flatten(self, node) -> None:
        src = self._input_layer(node)
        shape = self.shape_of[src]
        out = tuple(node.meta["val"].shape[1:])
        if len(out) != 1 or int(np.prod(shape)) != out[0]:
            raise self._fail(node, f"reshape to {tuple(node.meta['val'].shape)}; only flatten to (N, -1) is supported")
        if len(shape) == 1:  # already flat: nothing to do
            self.tensor_alias[node.name] = src
            self.shape_of[node.name] = shape
            return
        self._add(node, FloatLayer("flatten", f"flatten{sum(ly.kind == 'flatten' for ly in self.layers) + 1}",
                                   node.name, out))
        h, w, c = shape
        self.flattened_from[node.name] = (c, h, w)


def _run_exported(program: Any, x: torch.Tensor, wanted: set[str]) -> dict[str, torch.Tensor]:
    """Interpret the exported graph on ``x``, keeping the values of the ``wanted`` nodes."""
    sig = program.graph_signature
    consts = {**sig.inputs_to_parameters, **sig.inputs_to_buffers,
              **getattr(sig, "inputs_to_lifted_tensor_constants", {})}
    state, extra = program.state_dict, program.constants
    args = []
    for node in program.graph.nodes:
        if node.op != "placeholder":
            continue
        key = consts.get(node.name)
        args.append(x if key is None else (state[key] if key in state else extra[key]))
    seen: dict[str, torch.Tensor] = {}

    class Recorder(torch.fx.Interpreter):
        def run_node(self, n):
            value = super().run_node(n)
            if n.name in wanted:
                seen[n.name] = value.detach()
            return value

    with torch.no_grad():
        Recorder(program.graph_module).run(*args)
    return seen
