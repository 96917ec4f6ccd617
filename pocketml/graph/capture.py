"""Capture a PyTorch model into float layers with ``torch.export``, ready to quantize.

``capture(model, example)`` exports the model (no Python tracing tricks: what runs is what the
exporter proves), walks the ATen graph and hands each node to the capture rule of the op that
claims it (``CAPTURE`` in ``pocketml/ops/<kind>/capture.py``, looked up by ATen overload name in
the registry); the rule appends a :class:`~pocketml.graph.layers.FloatLayer` of its kind. The graph
may be any DAG (residual adds, concatenations): every layer names the layers it reads (``inputs``),
producers first.

What belongs to no single op is done here, by the :class:`Walker` the rules call:

* a BatchNorm after a conv or linear is folded in (``w' = w·γ/σ``, ``b' = (b-μ)·γ/σ + β``);
* ``fuse_activation``: a ReLU/ReLU6 becomes the fused activation of the layer before it when that
  op fuses activations and nothing else reads it, exactly as TFLite's converter does;
* dropout (in eval) and copies vanish;
* layouts change once: PyTorch is NCHW (or NCW), the float layers are NHWC; a flattened map is
  remembered (``flattened_from``) so only a Linear (or an element-wise op on the way to one) may
  read it.

Anything else fails at once, naming the node, the op and what is supported.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch

from pocketml.errors import PocketMLError
from pocketml.graph.layers import FloatGraph, FloatLayer
from pocketml.ops.registry import SPECS, capture_rules

_BN = {"aten.batch_norm.default", "aten._native_batch_norm_legit_no_training.default"}
_IDENTITY = {"aten.dropout.default", "aten.clone.default", "aten.contiguous.default", "aten.alias.default",
             "aten.dropout_.default", "aten.feature_dropout.default"}
FUSES_ACTIVATION = tuple(kind for kind, spec in SPECS.items() if getattr(spec.op, "fuses_activation", False))
FOLDS_BATCH_NORM = tuple(kind for kind, spec in SPECS.items()  # the ops with weights
                         if "weight" in {f.name for f in dataclasses.fields(spec.op)})

SUPPORTED = (
    "nn.Conv2d / nn.Conv1d (groups=1 or depthwise, zero padding), nn.BatchNorm1d/2d after a conv or "
    "linear (folded), nn.ReLU / nn.ReLU6 (fused where possible), nn.MaxPool2d, nn.AvgPool2d, "
    "global average pooling (nn.AdaptiveAvgPool2d(1), x.mean over the spatial axes), tensor + tensor "
    "(residual), torch.cat on channels, zero padding (nn.ZeroPad2d, F.pad), softmax over channels, "
    "nn.Flatten / view to (N, -1), nn.Linear, nn.Dropout"
)


def capture(model: torch.nn.Module, example: torch.Tensor, name: str = "model") -> FloatGraph:
    """Export ``model`` on ``example`` (one NCHW, NCW or [N, features] batch) into a FloatGraph."""
    model = model.eval()
    try:  # a model that cannot even run on the example is not a tracing problem: say so first
        with torch.no_grad():
            model(example)
    except PocketMLError:
        raise
    except Exception as exc:
        raise PocketMLError(
            f"the model does not run on one input tensor of shape {tuple(example.shape)} "
            f"({type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:300]})",
            "pass data in the model's own layout (PyTorch: [N, C, H, W] images, [N, features]); "
            "pocketml deploys models whose forward() takes one tensor",
        ) from exc
    try:
        program = torch.export.export(model, (example,))
    except Exception as exc:  # the exporter's own message says which line could not be traced
        raise PocketMLError(
            f"torch.export could not capture the model: {type(exc).__name__}: {str(exc)[:400]}",
            "remove data-dependent Python control flow from forward(), or pass a different example input",
        ) from exc
    return Walker(program, name).walk()


def nhwc_shape(torch_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Per-sample PyTorch shape → the quantized graph's: (C,H,W) → (H,W,C); (C,W) → (1,W,C)."""
    if len(torch_shape) == 3:
        return (*torch_shape[1:], torch_shape[0])
    if len(torch_shape) == 2:
        return (1, torch_shape[1], torch_shape[0])
    return tuple(torch_shape)


class Walker:
    """Walks one exported program; capture rules read nodes and append layers through it.

    What a rule may use: ``args``, ``const``, ``tensor``, ``is_tensor``, ``torch_shape``,
    ``spatial_input``, ``pool_window``, ``fail``, ``new_name``, ``add``, ``alias``,
    ``fuse_activation``, ``elementwise``, ``no_permuted_flat``, and the tables ``shape_of``
    (layer → per-sample NHWC shape), ``tensor_of`` (FX node → layer) and ``flattened_from``.
    """

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
        self.tensor_of: dict[str, str] = {}  # FX node name -> layer name (or "input") holding its value
        self.shape_of: dict[str, tuple[int, ...]] = {}  # layer name -> per-sample NHWC shape
        self.layer_by_name: dict[str, FloatLayer] = {}
        self.flattened_from: dict[str, tuple[int, int, int]] = {}  # flat tensor -> (C, H, W) it came from

    def walk(self) -> FloatGraph:
        graph = self.program.graph
        user_inputs = [n for n in graph.nodes if n.op == "placeholder" and n.name not in self.consts]
        if len(user_inputs) != 1:
            raise PocketMLError(f"the model takes {len(user_inputs)} inputs; pocketml supports one",
                                "wrap the model so forward() takes a single tensor")
        inp = user_inputs[0]
        shape = tuple(int(d) for d in inp.meta["val"].shape[1:])
        if not 1 <= len(shape) <= 3:
            raise PocketMLError(f"the model's input has per-sample shape {shape}",
                                "pocketml takes [N, C, H, W] images, [N, C, W] signals or [N, features]")
        self.tensor_of[inp.name] = "input"
        self.shape_of["input"] = nhwc_shape(shape)
        rules = capture_rules()
        for node in graph.nodes:
            if node.op == "call_function":
                self._visit(node, rules)
        outputs = [n for n in graph.nodes if n.op == "output"][0].args[0]
        if len(outputs) != 1:
            raise PocketMLError(f"the model returns {len(outputs)} outputs; pocketml supports one",
                                "return a single tensor from forward()")
        if not self.layers:
            raise PocketMLError("the model has no layers pocketml can deploy", f"supported: {SUPPORTED}")
        out = self.tensor_of[outputs[0].name]
        if out == "input":
            raise PocketMLError("the model returns its input unchanged", f"supported: {SUPPORTED}")
        self.no_permuted_flat(outputs[0], out, "the model's output")
        # keep only layers the output depends on, in order
        needed, stack = set(), [out]
        while stack:
            name = stack.pop()
            if name in needed or name == "input":
                continue
            needed.add(name)
            stack.extend(self.layer_by_name[name].inputs)
        layers = [ly for ly in self.layers if ly.name in needed]
        return FloatGraph(self.name, self.shape_of["input"], inp.name, layers, self.program, out)

    def _visit(self, node, rules) -> None:
        target = str(node.target)
        if target in rules:
            rules[target](self, node)
        elif target in _BN:
            self._fold_batch_norm(node)
        elif target in _IDENTITY:
            self.alias(node, self.tensor(node, node.args[0]))
        else:
            raise self.fail(node, "this op is not in pocketml's op set")

    # -- what rules read ---------------------------------------------------------------------
    def args(self, node) -> dict[str, Any]:
        """The node's arguments by schema name, defaults filled in."""
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

    def const(self, node) -> np.ndarray | None:
        """A parameter/buffer argument as float32 numpy (None for None)."""
        if node is None:
            return None
        if not self.is_tensor(node) or node.name not in self.consts:
            return None
        return self.consts[node.name].detach().cpu().numpy().astype(np.float32)

    @staticmethod
    def is_tensor(value) -> bool:
        """Is ``value`` an FX node (a tensor) rather than a Python constant?"""
        return isinstance(value, torch.fx.Node)

    def tensor(self, node, arg) -> str:
        """The layer holding the value of FX node ``arg`` (an input of ``node``)."""
        if not isinstance(arg, torch.fx.Node) or arg.name not in self.tensor_of:
            raise self.fail(node, f"input {arg!r} is not a tensor computed from the model's input")
        return self.tensor_of[arg.name]

    def torch_shape(self, node) -> tuple[int, ...]:
        """The node's per-sample PyTorch shape (batch dimension dropped)."""
        return tuple(int(d) for d in node.meta["val"].shape[1:])

    def spatial_input(self, node, what: str) -> str:
        """The node's first input, which must be a feature map ([H, W, C])."""
        src = self.tensor(node, node.args[0])
        if len(self.shape_of[src]) != 3:
            raise self.fail(node, f"{what} needs a feature map, got shape {self.shape_of[src]}")
        return src

    @staticmethod
    def pool_window(a: dict[str, Any]) -> tuple[tuple[int, int], ...]:
        """(kernel, stride, padding) pairs of a pooling node's arguments (stride defaults to kernel)."""
        def pair(v):
            v = [int(i) for i in v]
            return (v[0], v[0]) if len(v) == 1 else (v[0], v[1])

        k = pair(a["kernel_size"])
        s = pair(a["stride"]) if a["stride"] else k
        p = pair(a["padding"])
        return k, s, p

    def fail(self, node, why: str) -> PocketMLError:
        return PocketMLError(
            f"unsupported layer at node '{node.name}' (op {node.target}): {why}",
            f"pocketml can deploy: {SUPPORTED}",
        )

    # -- what rules write --------------------------------------------------------------------
    def new_name(self, prefix: str) -> str:
        n = sum(ly.name.rstrip("0123456789") == prefix for ly in self.layers) + 1
        return f"{prefix}{n}"

    def add(self, node, layer: FloatLayer) -> None:
        """Append ``layer``, whose output is ``node``'s value."""
        self.layers.append(layer)
        self.layer_by_name[layer.name] = layer
        self.shape_of[layer.name] = layer.out_shape
        self.tensor_of[node.name] = layer.name

    def alias(self, node, layer_name: str) -> None:
        """``node``'s value is held by an existing layer (a no-op such as dropout or a flat view)."""
        self.tensor_of[node.name] = layer_name

    def fuse_activation(self, node, kind: str) -> bool:
        """Make ``kind`` (relu, relu6) the fused activation of the layer before ``node`` if it fuses
        activations, has none yet and nothing else reads it; True if done."""
        layer = self._fusable(node, FUSES_ACTIVATION)
        if layer is None or layer.activation != "none":
            return False
        layer.activation = kind
        self._rename(node, layer)
        return True

    def elementwise(self, node, kind: str, prefix: str) -> None:
        """A one-input element-wise layer of its own (the flat order, if any, passes through)."""
        src = self.tensor(node, node.args[0])
        self.add(node, FloatLayer(kind, self.new_name(prefix), node.name, self.shape_of[src], inputs=(src,)))
        if src in self.flattened_from:
            self.flattened_from[self.tensor_of[node.name]] = self.flattened_from[src]

    def no_permuted_flat(self, node, tensor: str, reader: str) -> None:
        """Refuse ``reader`` reading a flattened multi-channel map (its order would differ from PyTorch's)."""
        c_h_w = self.flattened_from.get(tensor)
        if c_h_w is not None and c_h_w[0] > 1 and c_h_w[1] * c_h_w[2] > 1:
            raise self.fail(node, f"{reader} reads a flattened {c_h_w[0]}x{c_h_w[1]}x{c_h_w[2]} map; pocketml "
                            "flattens in NHWC order, so only a Linear may read it (pool to 1x1 first)")

    # -- fusion ------------------------------------------------------------------------------
    def _consumers(self, node) -> int:
        """How many ops read ``node``'s value, looking through identity ops (dropout, clone)."""
        total = 0
        for user in node.users:
            if user.op == "call_function" and str(user.target) in _IDENTITY:
                total += self._consumers(user)
            else:
                total += 1
        return total

    def _fusable(self, node, kinds: tuple[str, ...]) -> FloatLayer | None:
        """The layer producing ``node``'s input, if it is of ``kinds``, its output is the FX node it
        was last renamed to and nothing else reads it."""
        src = node.args[0]
        layer = self.layer_by_name.get(self.tensor_of.get(src.name, ""))
        if layer is None or layer.kind not in kinds:
            return None
        source = next(n for n in self.program.graph.nodes if n.name == layer.source)
        return layer if self._consumers(source) == 1 else None

    def _rename(self, node, layer: FloatLayer) -> None:
        layer.source = node.name
        self.tensor_of[node.name] = layer.name

    def _fold_batch_norm(self, node) -> None:
        a = self.args(node)
        layer = self._fusable(node, FOLDS_BATCH_NORM)
        if layer is None or layer.activation != "none":
            raise self.fail(node, "BatchNorm is supported only directly after a conv or linear (it is folded in)")
        if a.get("training", False):
            raise self.fail(node, "BatchNorm in training mode; call model.eval() first")
        gamma, beta = self.const(a["weight"]), self.const(a["bias"])
        mean, var = self.const(a["running_mean"]), self.const(a["running_var"])
        eps = float(a["eps"])
        gamma = np.ones_like(mean) if gamma is None else gamma
        beta = np.zeros_like(mean) if beta is None else beta
        factor = (gamma / np.sqrt(var.astype(np.float64) + eps)).astype(np.float32)
        layer.weight = layer.weight * factor.reshape(-1, *([1] * (layer.weight.ndim - 1)))
        layer.bias = ((layer.bias - mean) * factor + beta).astype(np.float32)
        self._rename(node, layer)
