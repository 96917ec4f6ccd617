"""Capture a PyTorch model into float layers with ``torch.export``, ready to quantize.

``capture(model, example)`` exports the model (no Python tracing tricks: what runs is what the
exporter proves), walks the ATen graph and turns each node into a :class:`FloatLayer`. The
graph may be any DAG (residual adds, concatenations), not only a chain: every layer names the
layers it reads (``inputs``), in an order where producers come first.

* ``conv2d`` / ``conv1d`` (``groups`` = 1, or = input channels: depthwise) and ``linear`` carry
  their float weights; a following BatchNorm is folded in (``w' = w·γ/σ``,
  ``b' = (b-μ)·γ/σ + β``) and a following ReLU/ReLU6 becomes the fused activation of the conv,
  linear or add before it, exactly as TFLite's converter does. A ReLU/ReLU6 that cannot be fused
  (its input is read elsewhere, or comes from a pool) becomes a layer of its own.
* a 1-D convolution on ``[N, C, W]`` is a 2-D one on a ``[1, W, C]`` map (TFLite has no 1-D conv);
* ``max_pool2d``, ``avg_pool2d``, global average pooling (``adaptive_avg_pool2d(1)`` or ``mean``
  over the spatial axes: MEAN), ``add``, ``cat`` on channels, zero ``pad``, ``softmax`` on the
  channel axis and ``flatten`` carry their attributes; dropout (in eval) and copies vanish.

Layouts change here, once: PyTorch is NCHW (or NCW), the quantized graph is NHWC. Weights are
turned to OHWI (depthwise: ``[C_out, KH, KW, 1]``), and a ``linear`` fed by a flatten of a
feature map gets its columns permuted from CHW to HWC order so the NHWC flatten (which moves no
data) computes the same function. A flattened map may only be read by a ``linear`` (or an
element-wise ReLU on the way to one): elsewhere the two orders would differ.

Anything else fails at once, naming the node, the op and what is supported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from pocketml.errors import PocketMLError

aten = torch.ops.aten

_CONV = {aten.conv2d.default, aten.convolution.default, aten.conv1d.default}
_LINEAR = {aten.linear.default}
_BN = {aten.batch_norm.default, aten._native_batch_norm_legit_no_training.default}
_RELU = {aten.relu.default, aten.relu_.default}
_RELU6 = {aten.relu6.default, aten.hardtanh.default, aten.hardtanh_.default}
_MAXPOOL = {aten.max_pool2d.default}
_AVGPOOL = {aten.avg_pool2d.default}
_ADAPTIVE = {aten.adaptive_avg_pool2d.default, aten._adaptive_avg_pool2d.default}
_MEAN = {aten.mean.dim}
_ADD = {aten.add.Tensor, aten.add_.Tensor}
_CAT = {aten.cat.default, aten.concat.default}
_PAD = {aten.pad.default, aten.constant_pad_nd.default}
_SOFTMAX = {aten.softmax.int, aten._softmax.default}
_FLATTEN = {aten.flatten.using_ints, aten.view.default, aten.reshape.default, aten._unsafe_view.default}
_IDENTITY = {aten.dropout.default, aten.clone.default, aten.contiguous.default, aten.alias.default,
             aten.dropout_.default, aten.feature_dropout.default}

SUPPORTED = (
    "nn.Conv2d / nn.Conv1d (groups=1 or depthwise, zero padding), nn.BatchNorm1d/2d after a conv or "
    "linear (folded), nn.ReLU / nn.ReLU6 (fused where possible), nn.MaxPool2d, nn.AvgPool2d, "
    "global average pooling (nn.AdaptiveAvgPool2d(1), x.mean over the spatial axes), tensor + tensor "
    "(residual), torch.cat on channels, zero padding (nn.ZeroPad2d, F.pad), softmax over channels, "
    "nn.Flatten / view to (N, -1), nn.Linear, nn.Dropout"
)


@dataclass
class FloatLayer:
    """One layer of the captured model, NHWC, float32, with its fused activation.

    ``source`` names the ATen node whose output is this layer's output (after fusion): the
    quantizer observes that node's values during calibration. ``inputs`` names the layers (or
    ``"input"``) it reads; empty means "the layer before it" (a chain).
    """

    kind: str  # conv2d | depthwise_conv2d | linear | max_pool2d | avg_pool2d | mean | add |
    #            concatenation | pad | relu | relu6 | softmax | flatten
    name: str
    source: str
    out_shape: tuple[int, ...]  # per sample, NHWC
    weight: np.ndarray | None = None  # conv: OHWI; depthwise: [C_out, KH, KW, 1]; linear: [out, in]
    bias: np.ndarray | None = None
    activation: str = "none"
    attrs: dict[str, Any] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()


@dataclass
class FloatGraph:
    """A captured model: its input, its layers in a valid execution order, how to re-run it."""

    name: str
    input_shape: tuple[int, ...]  # per sample, NHWC
    input_source: str
    layers: list[FloatLayer]
    program: Any  # torch.export.ExportedProgram
    output: str = ""  # the layer holding the model's output ("" = the last layer)

    def observe(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Run the exported program on a batch, returning every layer source's value."""
        wanted = {self.input_source, *(layer.source for layer in self.layers)}
        return _run_exported(self.program, x, wanted)


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
    return _Walker(program, name).walk()


def nhwc_shape(torch_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Per-sample PyTorch shape → the quantized graph's: (C,H,W) → (H,W,C); (C,W) → (1,W,C)."""
    if len(torch_shape) == 3:
        return (*torch_shape[1:], torch_shape[0])
    if len(torch_shape) == 2:
        return (1, torch_shape[1], torch_shape[0])
    return tuple(torch_shape)


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
        for node in graph.nodes:
            if node.op == "call_function":
                self._visit(node)
        outputs = [n for n in graph.nodes if n.op == "output"][0].args[0]
        if len(outputs) != 1:
            raise PocketMLError(f"the model returns {len(outputs)} outputs; pocketml supports one",
                                "return a single tensor from forward()")
        if not self.layers:
            raise PocketMLError("the model has no layers pocketml can deploy", f"supported: {SUPPORTED}")
        out = self.tensor_of[outputs[0].name]
        if out == "input":
            raise PocketMLError("the model returns its input unchanged", f"supported: {SUPPORTED}")
        self._no_permuted_flat(outputs[0], out, "the model's output")
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

    def _tensor(self, node, arg) -> str:
        """The layer holding the value of FX node ``arg`` (an input of ``node``)."""
        if not isinstance(arg, torch.fx.Node) or arg.name not in self.tensor_of:
            raise self._fail(node, f"input {arg!r} is not a tensor computed from the model's input")
        return self.tensor_of[arg.name]

    def _torch_shape(self, node) -> tuple[int, ...]:
        return tuple(int(d) for d in node.meta["val"].shape[1:])

    def _fail(self, node, why: str) -> PocketMLError:
        return PocketMLError(
            f"unsupported layer at node '{node.name}' (op {node.target}): {why}",
            f"pocketml can deploy: {SUPPORTED}",
        )

    def _new_name(self, prefix: str) -> str:
        n = sum(ly.name.rstrip("0123456789") == prefix for ly in self.layers) + 1
        return f"{prefix}{n}"

    def _add(self, node, layer: FloatLayer) -> None:
        self.layers.append(layer)
        self.layer_by_name[layer.name] = layer
        self.shape_of[layer.name] = layer.out_shape
        self.tensor_of[node.name] = layer.name

    def _consumers(self, node) -> int:
        """How many ops read ``node``'s value, looking through identity ops (dropout, clone)."""
        total = 0
        for user in node.users:
            if user.op == "call_function" and user.target in _IDENTITY:
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

    def _no_permuted_flat(self, node, tensor: str, reader: str) -> None:
        c_h_w = self.flattened_from.get(tensor)
        if c_h_w is not None and c_h_w[0] > 1 and c_h_w[1] * c_h_w[2] > 1:
            raise self._fail(node, f"{reader} reads a flattened {c_h_w[0]}x{c_h_w[1]}x{c_h_w[2]} map; pocketml "
                             "flattens in NHWC order, so only a Linear may read it (pool to 1x1 first)")

    # -- one ATen node ---------------------------------------------------------------------
    def _visit(self, node) -> None:
        t = node.target
        handlers = [(_CONV, self._conv), (_LINEAR, self._linear), (_BN, self._batch_norm),
                    (_RELU, self._activation), (_RELU6, self._activation), (_MAXPOOL, self._max_pool),
                    (_AVGPOOL, self._avg_pool), (_ADAPTIVE, self._adaptive), (_MEAN, self._mean),
                    (_ADD, self._add_op), (_CAT, self._cat), (_PAD, self._pad), (_SOFTMAX, self._softmax),
                    (_FLATTEN, self._flatten)]
        for targets, handler in handlers:
            if t in targets:
                handler(node)
                return
        if t in _IDENTITY:
            self.tensor_of[node.name] = self._tensor(node, node.args[0])
            return
        raise self._fail(node, "this op is not in pocketml's op set")

    def _conv(self, node) -> None:
        a = self._args(node)
        if a.get("transposed", False):
            raise self._fail(node, "transposed convolution")
        w = self._const(a["weight"])  # OIHW or OIW
        if w is None or w.ndim not in (3, 4):
            raise self._fail(node, "only 1-D and 2-D convolution are supported")
        src = self._tensor(node, a["input"])
        self._no_permuted_flat(node, src, "a convolution")
        h, wd, cin = self.shape_of[src]
        one_d = w.ndim == 3
        if one_d:  # [N, C, W] signal: a 1-high 2-D conv on the [1, W, C] map
            w = w[:, :, None, :]
        padding = a["padding"]
        k = w.shape[2:]
        if isinstance(padding, str):
            if padding == "valid":
                padding = [0] * (1 if one_d else 2)
            elif any(int(s) != 1 for s in a["stride"]) or any((d * (kk - 1)) % 2 for d, kk in
                                                              zip(a["dilation"], k[1:] if one_d else k, strict=True)):
                raise self._fail(node, "padding='same' with a stride or an even kernel (asymmetric padding)")
            else:
                padding = [d * (kk - 1) // 2 for d, kk in zip(a["dilation"], k[1:] if one_d else k, strict=True)]

        def pair(v, one):  # PyTorch gives [x] or [x, y]; a 1-D conv's height values are `one`
            v = [int(i) for i in v]
            if one_d:
                return (one, v[0])
            return (v[0], v[0]) if len(v) == 1 else (v[0], v[1])

        stride, padding, dilation = pair(a["stride"], 1), pair(padding, 0), pair(a["dilation"], 1)
        groups = int(a.get("groups", 1))
        b = self._const(a["bias"])
        cout = w.shape[0]
        if groups == 1:
            kind, prefix, weight, attrs = "conv2d", "conv", np.ascontiguousarray(w.transpose(0, 2, 3, 1)), {}
        elif groups == cin and w.shape[1] == 1:
            kind, prefix = "depthwise_conv2d", "dwconv"
            weight = np.ascontiguousarray(w.transpose(0, 2, 3, 1))  # [C_out, KH, KW, 1]
            attrs = {"depth_multiplier": cout // cin}
        else:
            raise self._fail(node, f"groups={groups} (only 1 or the number of input channels: depthwise)")
        oh = (h + 2 * padding[0] - dilation[0] * (w.shape[2] - 1) - 1) // stride[0] + 1
        ow = (wd + 2 * padding[1] - dilation[1] * (w.shape[3] - 1) - 1) // stride[1] + 1
        self._add(node, FloatLayer(
            kind, self._new_name(prefix), node.name, (oh, ow, cout), weight,
            b if b is not None else np.zeros(cout, np.float32),
            attrs={"stride": stride, "padding": padding, "dilation": dilation, **attrs}, inputs=(src,),
        ))

    def _linear(self, node) -> None:
        a = self._args(node)
        w = self._const(a["weight"])
        b = self._const(a["bias"])
        src = self._tensor(node, a["input"])
        if src in self.flattened_from:  # NCHW flatten order -> NHWC flatten order
            c, h, wd = self.flattened_from[src]
            w = w.reshape(w.shape[0], c, h, wd).transpose(0, 2, 3, 1).reshape(w.shape[0], -1)
        if self.shape_of[src] != (w.shape[1],):
            raise self._fail(node, f"linear expects {w.shape[1]} features, gets shape {self.shape_of[src]}")
        self._add(node, FloatLayer(
            "linear", self._new_name("fc"), node.name, (w.shape[0],), np.ascontiguousarray(w),
            b if b is not None else np.zeros(w.shape[0], np.float32), inputs=(src,),
        ))

    def _batch_norm(self, node) -> None:
        a = self._args(node)
        layer = self._fusable(node, ("conv2d", "depthwise_conv2d", "linear"))
        if layer is None or layer.activation != "none":
            raise self._fail(node, "BatchNorm is supported only directly after a conv or linear (it is folded in)")
        if a.get("training", False):
            raise self._fail(node, "BatchNorm in training mode; call model.eval() first")
        gamma, beta = self._const(a["weight"]), self._const(a["bias"])
        mean, var = self._const(a["running_mean"]), self._const(a["running_var"])
        eps = float(a["eps"])
        gamma = np.ones_like(mean) if gamma is None else gamma
        beta = np.zeros_like(mean) if beta is None else beta
        factor = (gamma / np.sqrt(var.astype(np.float64) + eps)).astype(np.float32)
        layer.weight = layer.weight * factor.reshape(-1, *([1] * (layer.weight.ndim - 1)))
        layer.bias = ((layer.bias - mean) * factor + beta).astype(np.float32)
        self._rename(node, layer)

    def _activation(self, node) -> None:
        kind = "relu"
        if node.target in _RELU6:
            if node.target != aten.relu6.default:
                a = self._args(node)
                lo, hi = a["min_val"], a["max_val"]
                if (float(lo), float(hi)) != (0.0, 6.0):
                    raise self._fail(node, f"hardtanh({lo}, {hi}); only ReLU6 = hardtanh(0, 6) is supported")
            kind = "relu6"
        layer = self._fusable(node, ("conv2d", "depthwise_conv2d", "linear", "add"))
        if layer is not None and layer.activation == "none":
            layer.activation = kind
            self._rename(node, layer)
            return
        src = self._tensor(node, node.args[0])
        self._add(node, FloatLayer(kind, self._new_name(kind), node.name, self.shape_of[src], inputs=(src,)))
        if src in self.flattened_from:  # element-wise: the flat order passes through
            self.flattened_from[self.tensor_of[node.name]] = self.flattened_from[src]

    def _spatial_input(self, node, what: str) -> str:
        src = self._tensor(node, node.args[0])
        if len(self.shape_of[src]) != 3:
            raise self._fail(node, f"{what} needs a feature map, got shape {self.shape_of[src]}")
        return src

    def _pool_attrs(self, node, a) -> tuple[tuple[int, int], ...]:
        def pair(v):
            v = [int(i) for i in v]
            return (v[0], v[0]) if len(v) == 1 else (v[0], v[1])

        k = pair(a["kernel_size"])
        s = pair(a["stride"]) if a["stride"] else k
        p = pair(a["padding"])
        return k, s, p

    def _max_pool(self, node) -> None:
        a = self._args(node)
        if a.get("ceil_mode", False):
            raise self._fail(node, "ceil_mode=True")
        if tuple(a.get("dilation", [1, 1])) not in ((1, 1), (1,)):
            raise self._fail(node, "dilated max pooling")
        src = self._spatial_input(node, "max pooling")
        k, s, p = self._pool_attrs(node, a)
        h, w, c = self.shape_of[src]
        oh, ow = (h + 2 * p[0] - k[0]) // s[0] + 1, (w + 2 * p[1] - k[1]) // s[1] + 1
        self._add(node, FloatLayer("max_pool2d", self._new_name("pool"), node.name, (oh, ow, c),
                                   attrs={"kernel": k, "stride": s, "padding": p}, inputs=(src,)))

    def _avg_pool(self, node) -> None:
        a = self._args(node)
        if a.get("ceil_mode", False):
            raise self._fail(node, "ceil_mode=True")
        if a.get("divisor_override") is not None:
            raise self._fail(node, "divisor_override")
        src = self._spatial_input(node, "average pooling")
        k, s, p = self._pool_attrs(node, a)
        if (p[0] or p[1]) and a.get("count_include_pad", True):
            raise self._fail(node, "average pooling with padding and count_include_pad=True (TFLite excludes the "
                             "padding from the average: use count_include_pad=False)")
        h, w, c = self.shape_of[src]
        oh, ow = (h + 2 * p[0] - k[0]) // s[0] + 1, (w + 2 * p[1] - k[1]) // s[1] + 1
        self._add(node, FloatLayer("avg_pool2d", self._new_name("avgpool"), node.name, (oh, ow, c),
                                   attrs={"kernel": k, "stride": s, "padding": p}, inputs=(src,)))

    def _adaptive(self, node) -> None:
        a = self._args(node)
        if [int(v) for v in a["output_size"]] not in ([1], [1, 1]):
            raise self._fail(node, f"adaptive average pooling to {list(a['output_size'])}; only to 1x1 (global)")
        src = self._spatial_input(node, "global average pooling")
        c = self.shape_of[src][2]
        self._add(node, FloatLayer("mean", self._new_name("mean"), node.name, (1, 1, c), inputs=(src,)))

    def _mean(self, node) -> None:
        a = self._args(node)
        src = self._spatial_input(node, "mean")
        rank = len(node.args[0].meta["val"].shape)
        dims = sorted(int(d) % rank for d in (a["dim"] or []))
        spatial = [2, 3] if rank == 4 else [2]
        if dims != spatial:
            raise self._fail(node, f"mean over dims {a['dim']}; only over the spatial axes {spatial} (global pooling)")
        if a.get("dtype") is not None:
            raise self._fail(node, "mean with a dtype")
        c = self.shape_of[src][2]
        shape = (1, 1, c) if a.get("keepdim", False) else (c,)
        self._add(node, FloatLayer("mean", self._new_name("mean"), node.name, shape, inputs=(src,)))

    def _add_op(self, node) -> None:
        a = self._args(node)
        if float(a.get("alpha", 1)) != 1.0:
            raise self._fail(node, "add with alpha != 1")
        if not all(isinstance(v, torch.fx.Node) for v in (a["self"], a["other"])):
            raise self._fail(node, "adding a constant; only tensor + tensor (a residual join) is supported")
        x, y = self._tensor(node, a["self"]), self._tensor(node, a["other"])
        if self.shape_of[x] != self.shape_of[y]:
            raise self._fail(node, f"add of shapes {self.shape_of[x]} and {self.shape_of[y]} (broadcasting)")
        for t in (x, y):
            self._no_permuted_flat(node, t, "an add")
        self._add(node, FloatLayer("add", self._new_name("add"), node.name, self.shape_of[x], inputs=(x, y)))

    def _cat(self, node) -> None:
        a = self._args(node)
        parts = [self._tensor(node, v) for v in a["tensors"]]
        rank = len(node.meta["val"].shape)
        if int(a.get("dim", 0)) % rank != 1:
            raise self._fail(node, f"cat on dim {a.get('dim')}; only on the channel axis (dim=1)")
        shapes = [self.shape_of[p] for p in parts]
        if len({s[:-1] for s in shapes}) != 1:
            raise self._fail(node, f"cat of shapes {shapes}")
        for t in parts:
            self._no_permuted_flat(node, t, "a concatenation")
        out = (*shapes[0][:-1], sum(s[-1] for s in shapes))
        self._add(node, FloatLayer("concatenation", self._new_name("concat"), node.name, out, inputs=tuple(parts)))

    def _pad(self, node) -> None:
        a = self._args(node)
        pads = [int(v) for v in (a.get("pad") or a.get("padding") or [])]
        mode = a.get("mode", "constant")
        value = a.get("value", 0.0)
        if mode != "constant" or float(value or 0.0) != 0.0:
            raise self._fail(node, f"pad mode={mode!r} value={value}; only zero padding is supported")
        if len(pads) not in (2, 4) or min(pads) < 0:
            raise self._fail(node, f"pad {pads}; only non-negative padding of the spatial axes is supported")
        src = self._spatial_input(node, "padding")
        rank = len(node.args[0].meta["val"].shape)
        left, right = pads[0], pads[1]
        top, bottom = (pads[2], pads[3]) if len(pads) == 4 else (0, 0)
        if rank == 3 and len(pads) == 4:
            raise self._fail(node, "padding the channel axis of a 1-D signal")
        h, w, c = self.shape_of[src]
        self._add(node, FloatLayer("pad", self._new_name("pad"), node.name, (h + top + bottom, w + left + right, c),
                                   attrs={"paddings": ((top, bottom), (left, right))}, inputs=(src,)))

    def _softmax(self, node) -> None:
        a = self._args(node)
        src = self._tensor(node, node.args[0])
        rank = len(node.args[0].meta["val"].shape)
        if int(a["dim"]) % rank != 1:
            raise self._fail(node, f"softmax over dim {a['dim']}; only over the classes/channels (dim=1)")
        if rank != 2 and len(self.shape_of[src]) != 1:
            raise self._fail(node, "softmax of a feature map; flatten or pool it first")
        self._no_permuted_flat(node, src, "a softmax")
        self._add(node, FloatLayer("softmax", self._new_name("softmax"), node.name, self.shape_of[src], inputs=(src,)))

    def _flatten(self, node) -> None:
        src = self._tensor(node, node.args[0])
        shape = self.shape_of[src]
        out = self._torch_shape(node)
        if len(out) != 1 or int(np.prod(shape)) != out[0]:
            raise self._fail(node, f"reshape to {tuple(node.meta['val'].shape)}; only flatten to (N, -1) is supported")
        if len(shape) == 1:  # already flat: nothing to do
            self.tensor_of[node.name] = src
            return
        self._add(node, FloatLayer("flatten", self._new_name("flatten"), node.name, out, inputs=(src,)))
        h, w, c = shape
        self.flattened_from[self.tensor_of[node.name]] = (c, h, w)


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
