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

Anything else is a :class:`Blocker` naming the user's layer (its module path and class, from the
exported node's ``nn_module_stack``), the ATen op and why. The walk goes on past a blocker (a
stand-in of the node's shape takes its place), so one run lists every blocker: ``capture`` raises
one PocketMLError naming them all, :func:`check_model` returns them with every layer's fate (what
``pocketml shrink --check`` prints).
"""

from __future__ import annotations

import dataclasses
import operator
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from pocketml.errors import PocketMLError
from pocketml.graph import recurrent
from pocketml.graph.layers import FloatGraph, FloatLayer, nhwc_axis  # noqa: F401 - re-exported
from pocketml.graph.recurrent import check_mode
from pocketml.ops.registry import SPECS, capture_rules

_BN = {"aten.batch_norm.default", "aten._native_batch_norm_legit_no_training.default"}
_IDENTITY = {"aten.dropout.default", "aten.clone.default", "aten.contiguous.default", "aten.alias.default",
             "aten.dropout_.default", "aten.feature_dropout.default"}
FUSES_ACTIVATION = tuple(kind for kind, spec in SPECS.items() if getattr(spec.op, "fuses_activation", False))
FOLDS_BATCH_NORM = tuple(kind for kind, spec in SPECS.items()  # the ops with weights
                         if "weight" in {f.name for f in dataclasses.fields(spec.op)})

SUPPORTED = (
    "nn.Conv2d / nn.Conv1d (groups=1 or depthwise, zero padding), nn.BatchNorm1d/2d (folded after a conv "
    "or linear, else a per-channel scale and shift), nn.ReLU / nn.ReLU6 (fused where possible), nn.LeakyReLU, "
    "nn.PReLU, nn.Sigmoid, nn.Tanh, nn.Hardswish, nn.Hardsigmoid, nn.SiLU, nn.MaxPool1d/2d and "
    "nn.AvgPool1d/2d (ceil_mode too), global average pooling (nn.AdaptiveAvgPool1d/2d(1), x.mean over the "
    "spatial axes), + - * (tensors or constants, broadcasting), torch.maximum / torch.minimum, torch.cat on "
    "channels, zero padding (nn.ZeroPad2d, F.pad), nn.Upsample / F.interpolate (nearest, bilinear), softmax "
    "over channels, nn.Flatten / view to (N, -1), nn.Linear, nn.Dropout, nn.GRU / nn.LSTM (one layer, "
    "batch_first=True, zero initial state; a GRU unrolled over the fixed sequence length, an LSTM one "
    "UNIDIRECTIONAL_SEQUENCE_LSTM op or unrolled), x[:, a:b] and x[:, i] on one axis"
)


@dataclass(frozen=True)
class LayerCheck:
    """One node of the exported model: the user's layer it comes from, and what pocketml makes of it."""

    module: str  # the module path in the user's model ("features.3.block.1"; "" for the model's forward)
    layer: str  # the module's class ("Conv2d") or "forward"
    op: str  # the ATen op ("aten.conv2d.default")
    becomes: str = ""  # the pocketml op kind(s) it became ("conv2d"; "fused" / "folded" / "alias")
    problem: str | None = None  # None: supported

    @property
    def ok(self) -> bool:
        return self.problem is None

    def where(self) -> str:
        return f"{self.module} ({self.layer})" if self.module else f"{self.layer}"

    def to_dict(self) -> dict[str, Any]:
        return {"module": self.module, "layer": self.layer, "op": self.op, "becomes": self.becomes,
                "supported": self.ok, "problem": self.problem}


Blocker = LayerCheck  # a LayerCheck whose problem is not None


@dataclass(frozen=True)
class ModelCheck:
    """``check_model``: would this PyTorch model capture, layer by layer."""

    model: str
    layers: tuple[LayerCheck, ...]
    supported: str = SUPPORTED

    @property
    def compiles(self) -> bool:
        return all(c.ok for c in self.layers)

    @property
    def blockers(self) -> tuple[LayerCheck, ...]:
        return tuple(c for c in self.layers if not c.ok)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "compiles": self.compiles, "layers": [c.to_dict() for c in self.layers],
                "blockers": [c.to_dict() for c in self.blockers], "supported": self.supported}


def describe_blockers(blockers) -> str:
    """Every blocker once: the same layer class with the same problem is one line, with its count and
    (up to five of) its module paths."""
    groups: dict[tuple[str, str], list[LayerCheck]] = {}
    for b in blockers:
        groups.setdefault((b.layer, b.problem or ""), []).append(b)
    lines = []
    for (layer, problem), bs in groups.items():
        paths = [b.module or "forward" for b in bs]
        where = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
        lines.append(f"{layer} x{len(bs)} ({where}): {problem}" if len(bs) > 1 else f"{bs[0].where()}: {problem}")
    return "; ".join(lines)


def check_model(model: torch.nn.Module, example: torch.Tensor, name: str = "model",
                recurrent: str = "sequence") -> ModelCheck:
    """Every layer of ``model`` and whether pocketml can capture it, every blocker at once; nothing is
    built. ``example``: one input batch (NCHW, NCW or [N, features]); ``recurrent``: as :func:`capture`."""
    walker = _export(model, example, name, recurrent)
    try:
        walker.walk()
    except PocketMLError:
        pass  # the blockers are in walker.checks
    return ModelCheck(name, tuple(walker.checks))


def capture(model: torch.nn.Module, example: torch.Tensor, name: str = "model",
            recurrent: str = "sequence") -> FloatGraph:
    """Export ``model`` on ``example`` (one NCHW, NCW or [N, features] batch) into a FloatGraph.

    ``recurrent``: ``"sequence"`` (default) makes each ``nn.LSTM`` one UNIDIRECTIONAL_SEQUENCE_LSTM op
    (int16 cell state, state reset per inference); ``"unroll"`` unrolls it over time into ordinary
    ops, as every ``nn.GRU`` is (``graph/recurrent.py``)."""
    return _export(model, example, name, recurrent).walk()


def _export(model: torch.nn.Module, example: torch.Tensor, name: str, mode: str = "sequence") -> Walker:
    mode = check_mode(mode)
    model = model.eval()
    try:  # a model that cannot even run on the example is not a tracing problem: say so first
        with torch.no_grad():
            recurrent.refuse_packed_sequences(model, lambda: model(example))
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
        with warnings.catch_warnings():  # nn.GRU re-assigns _flat_weights while exported: harmless, not the user's
            warnings.filterwarnings("ignore", message=r"The tensor attributes .*_flat_weights")
            program = torch.export.export(model, (example,))
    except Exception as exc:  # the exporter's own message says which line could not be traced
        raise PocketMLError(
            f"torch.export could not capture the model: {type(exc).__name__}: {str(exc)[:400]}",
            "remove data-dependent Python control flow from forward(), or pass a different example input",
        ) from exc
    source = getattr(model, "source_program", None)  # a loaded .pt2: its nodes know the user's layers
    if source is not None:
        stacks = {(n.name, str(n.target)): n.meta.get("nn_module_stack") for n in source.graph.nodes}
        for n in program.graph.nodes:
            stack = stacks.get((n.name, str(n.target)))
            if stack:
                n.meta["nn_module_stack"] = stack
    return Walker(program, name, mode)


class LayerRefused(PocketMLError):
    """A capture rule's refusal of one node (``Walker.fail``): ``why``, without the node's context."""

    def __init__(self, node, why: str) -> None:
        self.node, self.why = node, why
        where = module_of(node)
        super().__init__(f"unsupported layer {where[0] or 'forward'} ({where[1]}) at node '{node.name}' "
                         f"(op {node.target}): {why}", f"pocketml can deploy: {SUPPORTED}")


def module_of(node) -> tuple[str, str]:
    """(module path, class name) of the user's layer an exported node comes from (``nn_module_stack``)."""
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return "", "forward"
    path, kind = list(stack.values())[-1]
    kind = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    return path, kind.rsplit(".", 1)[-1] if path else "forward"


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
    ``spatial_input``, ``pool_window``, ``fail``, ``new_name``, ``add``, ``alias``, ``claim``, ``stand_in``,
    ``fuse_activation``, ``elementwise``, ``no_permuted_flat``, and the tables ``shape_of``
    (layer → per-sample NHWC shape), ``tensor_of`` (FX node → layer) and ``flattened_from``.
    """

    def __init__(self, program: Any, name: str, recurrent: str = "sequence") -> None:
        self.program = program
        self.name = name
        self.recurrent = recurrent  # nn.LSTM: "sequence" (TFLite's op) or "unroll" (graph/recurrent.py)
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
        self.checks: list[LayerCheck] = []  # every node's fate, blockers included
        self.blocked: set[str] = set()  # stand-ins for the values of refused nodes
        self.claimed: dict[str, str] = {}  # FX node -> layer: values an earlier rule already made (``claim``)

    def walk(self) -> FloatGraph:
        graph = self.program.graph
        user_inputs = [n for n in graph.nodes if n.op == "placeholder" and n.name not in self.consts]
        if len(user_inputs) != 1:
            self.checks.append(LayerCheck("", "forward", "inputs", problem=f"the model takes {len(user_inputs)} "
                                          "inputs; pocketml supports one (wrap it so forward() takes one tensor)"))
            raise PocketMLError(f"the model takes {len(user_inputs)} inputs; pocketml supports one",
                                "wrap the model so forward() takes a single tensor")
        inp = user_inputs[0]
        shape = tuple(int(d) for d in inp.meta["val"].shape[1:])
        if not 1 <= len(shape) <= 3:
            raise PocketMLError(f"the model's input has per-sample shape {shape}",
                                "pocketml takes [N, C, H, W] images, [N, C, W] signals or [N, features]")
        self.tensor_of[inp.name] = "input"
        self.shape_of["input"] = nhwc_shape(shape)
        rules = dict(capture_rules())
        if set(rules) & set(recurrent.CAPTURE):  # an op folder captures a recurrent layer too: choose one
            raise AssertionError(f"captured twice: {sorted(set(rules) & set(recurrent.CAPTURE))}")
        rules.update(recurrent.CAPTURE)
        for node in graph.nodes:
            if node.op == "call_function":
                self._visit(node, rules)
        outputs = [n for n in graph.nodes if n.op == "output"][0].args[0]
        if len(outputs) != 1:
            self.checks.append(LayerCheck("", "forward", "outputs", problem=f"the model returns {len(outputs)} "
                                          "outputs; pocketml supports one (return a single tensor)"))
        blockers = [c for c in self.checks if not c.ok]
        if blockers:
            raise PocketMLError(f"{len(blockers)} layer(s) of the model cannot be deployed: "
                                + describe_blockers(blockers),
                                f"replace or remove those layers; pocketml can deploy: {SUPPORTED}")
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
        """Run the node's rule; a refusal becomes a blocker and a stand-in of the node's shape takes
        its value, so the walk (and every later blocker) goes on."""
        target = str(node.target)
        module, layer = module_of(node)
        n_before = len(self.layers)
        if node.name in self.claimed:
            self.alias(node, self.claimed[node.name])
            self.checks.append(LayerCheck(module, layer, target, f"alias of {self.claimed[node.name]}"))
            return
        try:
            if target in rules:
                rules[target](self, node)
            elif target in _BN:
                self._fold_batch_norm(node)
            elif target in _IDENTITY:
                self.alias(node, self.tensor(node, node.args[0]))
            elif node.target is operator.getitem:  # one value of an op returning several (max with indices)
                if node.args[1] == 0:
                    self.alias(node, self.tensor(node, node.args[0]))
                elif node.users:
                    raise self.fail(node, f"reads value {node.args[1]} of {node.args[0].target} (indices?); "
                                    "only its first value is supported")
                else:
                    self.checks.append(LayerCheck(module, layer, target, "unused"))
                    return
            else:
                raise self.fail(node, f"{node.target} is not in pocketml's op set")
        except LayerRefused as exc:
            del self.layers[n_before:]
            self.checks.append(LayerCheck(module, layer, target, problem=exc.why))
            self.stand_in(node)
            return
        except Exception:
            if not self._reads_blocked(node):
                raise
            del self.layers[n_before:]  # downstream of a blocker: its shapes are stand-ins; say nothing more
            self.stand_in(node)
            return
        made = [ly.kind for ly in self.layers[n_before:]]
        counts = {kind: made.count(kind) for kind in made}  # an unrolled GRU: "fully_connected x48, ..."
        made = [kind if n == 1 else f"{kind} x{n}" for kind, n in counts.items()]
        self.checks.append(LayerCheck(module, layer, target, ", ".join(made) or self._fate(node)))

    def _fate(self, node) -> str:
        """What a node that made no layer of its own became (fused, folded, an alias)."""
        name = self.tensor_of.get(node.name)
        layer = self.layer_by_name.get(name or "")
        if layer is not None and layer.source == node.name:
            return f"fused into {layer.name}" if str(node.target) not in _BN else f"folded into {layer.name}"
        return "alias"

    def stand_in(self, node) -> None:
        """A stand-in of ``node``'s shape holds its value (the node is refused): the walk goes on."""
        val = node.meta.get("val")
        shape = tuple(int(d) for d in val.shape[1:]) if isinstance(val, torch.Tensor) else ()
        stand_in = f"<blocked {node.name}>"
        self.blocked.add(stand_in)
        self.tensor_of[node.name] = stand_in
        self.shape_of[stand_in] = nhwc_shape(shape)

    def _reads_blocked(self, node) -> bool:
        return any(self.tensor_of.get(a.name) in self.blocked for a in node.all_input_nodes)

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

    def claim(self, node, layer_name: str) -> None:
        """``node`` (visited later) holds a value an earlier rule already made, in ``layer_name``: the
        walk aliases it instead of running its rule (a GRU's ``out[:, -1]`` or ``h_n[-1]``)."""
        self.claimed[node.name] = layer_name

    def fail(self, node, why: str) -> LayerRefused:
        """The refusal of ``node`` (a rule raises it): becomes one blocker naming the user's layer."""
        return LayerRefused(node, why)

    # -- what rules write --------------------------------------------------------------------
    def new_name(self, prefix: str) -> str:
        n = sum(ly.name.rstrip("0123456789") == prefix for ly in self.layers) + 1
        return f"{prefix}{n}"

    def add(self, node, layer: FloatLayer) -> None:
        """Append ``layer``, whose output is ``node``'s value."""
        if not layer.module:
            path, kind = module_of(node)
            layer.module = f"{path} ({kind})" if path else kind
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
        source = next((n for n in self.program.graph.nodes if n.name == layer.source), None)
        if source is None:  # a layer no FX node holds (inside an unrolled GRU): others may read it
            return None
        return layer if self._consumers(source) == 1 else None

    def _rename(self, node, layer: FloatLayer) -> None:
        layer.source = node.name
        self.tensor_of[node.name] = layer.name

    def _fold_batch_norm(self, node) -> None:
        a = self.args(node)
        layer = self._fusable(node, FOLDS_BATCH_NORM)
        if a.get("training", False):
            raise self.fail(node, "BatchNorm in training mode; call model.eval() first")
        gamma, beta = self.const(a["weight"]), self.const(a["bias"])
        mean, var = self.const(a["running_mean"]), self.const(a["running_var"])
        eps = float(a["eps"])
        gamma = np.ones_like(mean) if gamma is None else gamma
        beta = np.zeros_like(mean) if beta is None else beta
        factor = (gamma / np.sqrt(var.astype(np.float64) + eps)).astype(np.float32)
        if layer is None or layer.activation != "none":  # not after a conv/linear: a per-channel MUL and ADD
            self._unfused_batch_norm(node, factor, (beta - mean * factor).astype(np.float32))
            return
        layer.weight = layer.weight * factor.reshape(-1, *([1] * (layer.weight.ndim - 1)))
        layer.bias = ((layer.bias - mean) * factor + beta).astype(np.float32)
        self._rename(node, layer)

    def _unfused_batch_norm(self, node, factor: np.ndarray, shift: np.ndarray) -> None:
        """``x · factor[c] + shift[c]``: a MUL and an ADD of per-channel constants (TFLite's converter
        writes an unfused batch norm the same way)."""
        rank = len(node.meta["val"].shape)
        per_channel = (-1, *([1] * (rank - 2)))
        src = self.tensor(node, node.args[0])
        self.no_permuted_flat(node, src, "a BatchNorm")
        shape = self.shape_of[src]
        layers = []
        for kind, values, source in (("mul", factor, f"{node.name}__scale"), ("add", shift, node.name)):
            torch_values = values.reshape(per_channel)
            nhwc = torch_values.transpose(1, 2, 0) if rank == 4 else (
                torch_values.transpose(1, 0)[None] if rank == 3 else torch_values)
            attrs = {"constant_index": 1, "constant_torch": torch_values, "constant": np.ascontiguousarray(nhwc),
                     "rank": rank}
            if kind == "mul":  # no FX node holds x·factor: calibration computes it from x
                scale = torch.as_tensor(torch_values)
                attrs["observe"] = (node.args[0].name, lambda t, scale=scale: t * scale)
            layers.append(FloatLayer(kind, self.new_name(kind), source, shape, attrs=attrs,
                                     inputs=(layers[-1].name,) if layers else (src,)))
            if kind == "mul":
                self.layers.append(layers[-1])
                self.layer_by_name[layers[-1].name] = layers[-1]
                self.shape_of[layers[-1].name] = shape
        self.add(node, layers[-1])
