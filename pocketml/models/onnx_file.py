"""Read an ONNX model file into a PyTorch module, running no code from the file.

An ``.onnx`` file is a protobuf: a list of nodes (an op type, attributes, input and output
names) and weight tensors. :func:`load_onnx` parses it with ``onnx.load`` (external data off:
a model may not make pocketml read other files), checks it with ``onnx.checker``, and builds
an :class:`OnnxModule` whose ``forward`` calls one ``torch.nn.functional`` function per node,
chosen from a fixed table (:data:`OPS`). Nothing in the file is imported, unpickled or
evaluated: an unknown op type, a custom domain, a subgraph or external data is refused, naming
the node. The module then goes through the same ``torch.export`` capture as any PyTorch model
(``pocketml.graph.capture``), so an ONNX model becomes the same quantized graph.

Why not a converter package: onnx2torch and onnx2pytorch both import torchvision at import
time, and the torchvision wheels on PyPI are CUDA builds that do not load beside the CPU torch
(and installing either package would replace torch). The table below covers the layers pocketml
deploys (``pocketml.graph.capture.SUPPORTED``); anything else would be refused at capture anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pocketml.errors import PocketMLError

SUPPORTED_ONNX = ("Conv (1-D, 2-D), BatchNormalization, Relu, Clip (0..6 or 0..inf), MaxPool, AveragePool, "
                  "GlobalAveragePool, ReduceMean, Add, Concat, Pad (constant), Softmax, Flatten, Reshape "
                  "(to a constant shape), Gemm, Identity, Dropout, Constant")


@dataclass(frozen=True)
class OnnxNode:
    """One node: its op, the names it reads and writes, and its attributes as Python values."""

    op: str
    name: str
    inputs: tuple[str, ...]
    output: str
    attrs: dict[str, Any]


class OnnxModule(nn.Module):
    """An ONNX graph run node by node with torch functions.

    Float weights are buffers (the graph is for inference); integer constants and settings given as
    inputs (shapes, pads, clip bounds: :data:`STATIC`) stay numpy arrays. ``input_shape`` is the
    per-sample shape the file declares (``None`` for a symbolic dimension); other data is refused
    naming both shapes.
    """

    def __init__(self, nodes: list[OnnxNode], weights: dict[str, np.ndarray], input_name: str,
                 output_name: str, input_shape: tuple[int | None, ...]) -> None:
        super().__init__()
        self.nodes = nodes
        self.input_name, self.output_name, self.input_shape = input_name, output_name, input_shape
        self.static = {k: v for k, v in weights.items() if not np.issubdtype(v.dtype, np.floating) or v.ndim == 0}
        self.weight_of: dict[str, str] = {}
        for name, value in weights.items():
            if np.issubdtype(value.dtype, np.floating):
                self.weight_of[name] = f"w{len(self.weight_of)}"
                self.register_buffer(self.weight_of[name], torch.as_tensor(value))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        got = tuple(x.shape[1:])
        fixed = [(d, g) for d, g in zip(self.input_shape, got, strict=False) if d is not None]
        if len(got) != len(self.input_shape) or any(d != g for d, g in fixed):
            want = tuple("N" if d is None else d for d in self.input_shape)
            raise PocketMLError(f"the data has samples of shape {got}; the ONNX model's input "
                                f"'{self.input_name}' is {want}",
                                "pass data in the model's own layout (PyTorch exports are NCHW: [N, C, H, W])")
        env = {self.input_name: x}
        for node in self.nodes:
            static = STATIC.get(node.op, ())
            args = [None if not n else self.static[n] if i in static else env[n] if n in env
                    else getattr(self, self.weight_of[n]) for i, n in enumerate(node.inputs)]
            env[node.output] = OPS[node.op](node, *args)
        return env[self.output_name]

    def train(self, mode: bool = True) -> OnnxModule:  # an inference graph: BatchNorm and Dropout stay in eval
        return super().train(False)


def load_onnx(path: str | Path) -> OnnxModule:
    """Parse ``path`` (an ``.onnx`` file) and return it as an :class:`OnnxModule` (no code is run)."""
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError as exc:
        raise PocketMLError("reading .onnx files needs the onnx package",
                            "pip install 'pocketml[onnx]' (or pip install onnx)") from exc
    path = Path(path)
    try:
        proto = onnx.load(str(path), load_external_data=False)
        external = [t.name for t in proto.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
        if not external:
            onnx.checker.check_model(proto)
    except Exception as exc:  # DecodeError, ValidationError, ...: a damaged or foreign file
        raise PocketMLError(f"model file {path} is not a valid ONNX model ({type(exc).__name__}: "
                            f"{_first_line(exc)})",
                            "export it again with torch.onnx.export(model, (x,), 'net.onnx'); "
                            "the file may be truncated or not ONNX") from exc
    if external:  # a model may not make pocketml open other files
        raise PocketMLError(f"model file {path} keeps tensor '{external[0]}' in an external file",
                            "export with the weights inside: torch.onnx.export(..., external_data=False)")
    graph = proto.graph
    if proto.functions or any(o.domain not in ("", "ai.onnx") for o in proto.opset_import):
        raise PocketMLError(f"model file {path} uses custom ONNX functions or domains",
                            f"export with standard ONNX ops only: {SUPPORTED_ONNX}")
    weights: dict[str, np.ndarray] = {}
    for init in graph.initializer:
        weights[init.name] = _tensor(numpy_helper.to_array(init))
    inputs = [i for i in graph.input if i.name not in weights]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise PocketMLError(f"model file {path} has {len(inputs)} inputs and {len(graph.output)} outputs; "
                            "pocketml supports one of each", "export a model whose forward() takes and returns "
                            "a single tensor")
    elem = inputs[0].type.tensor_type.elem_type
    if elem != onnx.TensorProto.FLOAT:
        raise PocketMLError(f"model file {path} takes {onnx.TensorProto.DataType.Name(elem)} input, not FLOAT",
                            "export the model with a float32 input")
    dims = inputs[0].type.tensor_type.shape.dim
    shape = tuple(d.dim_value if d.HasField("dim_value") else None for d in dims[1:])
    nodes, known = [], {inputs[0].name, *weights}
    for proto_node in graph.node:
        node = _node(proto_node, weights, path, numpy_helper)
        for i, name in enumerate(node.inputs):
            if name and name not in known:
                raise PocketMLError(f"model file {path}: {node.name} reads '{name}' before any node computes it",
                                    "export the model again (its nodes must be in execution order)")
            if name and i in STATIC.get(node.op, ()) and name not in weights:
                raise PocketMLError(f"model file {path}: {node.name} computes its input {i} ('{name}') at run time; "
                                    "pocketml needs it constant", "export with static shapes and settings")
        node = CHECKS.get(node.op, _no_check)(node, path, weights)
        known.add(node.output)
        if node.op != "Constant":
            nodes.append(node)
    if graph.output[0].name not in known:
        raise PocketMLError(f"model file {path}: no node computes the output '{graph.output[0].name}'",
                            "export the model again")
    return OnnxModule(nodes, weights, inputs[0].name, graph.output[0].name, shape)


def _no_check(node: OnnxNode, path: Path, weights: dict[str, np.ndarray]) -> OnnxNode:
    return node


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else "no details"


def _tensor(a: np.ndarray) -> np.ndarray:
    """Weights become float32 (and shapes/axes int64); anything else is refused by the op that reads it."""
    if np.issubdtype(a.dtype, np.floating):
        return a.astype(np.float32)
    return a.astype(np.int64) if np.issubdtype(a.dtype, np.integer) else a


def _node(n: Any, weights: dict[str, np.ndarray], path: Path, numpy_helper: Any) -> OnnxNode:
    """An ONNX NodeProto as an OnnxNode; constants are folded into ``weights``; unknown ops refused."""
    from onnx import helper

    where = f"node '{n.name or n.output[0]}' ({n.op_type})"
    if n.domain not in ("", "ai.onnx") or n.op_type not in OPS or len(n.output) != 1:
        raise PocketMLError(f"model file {path}: {where} is not an op pocketml reads",
                            f"supported ONNX ops: {SUPPORTED_ONNX}")
    attrs = {}
    for a in n.attribute:
        if a.type in (a.GRAPH, a.GRAPHS):
            raise PocketMLError(f"model file {path}: {where} has a subgraph", f"supported ONNX ops: {SUPPORTED_ONNX}")
        value = helper.get_attribute_value(a)
        attrs[a.name] = numpy_helper.to_array(value) if a.type == a.TENSOR else value
    if n.op_type == "Constant":
        if "value" not in attrs:
            raise PocketMLError(f"model file {path}: {where} is not a tensor constant",
                                "export constants as tensors (value=...)")
        weights[n.output[0]] = _tensor(np.asarray(attrs["value"]))
    return OnnxNode(n.op_type, where, tuple(n.input), n.output[0],
                    {k: v.decode() if isinstance(v, bytes) else v for k, v in attrs.items()})


# -- the op table: ONNX semantics in torch functions ---------------------------------------------
def _torch_pads(pads: list[int]) -> tuple[int, ...]:
    """ONNX pads [x1_begin, x2_begin, ..., x1_end, x2_end, ...] → F.pad's last-axis-first pairs."""
    half = len(pads) // 2
    return tuple(p for b, e in zip(reversed(pads[:half]), reversed(pads[half:]), strict=True) for p in (b, e))


def _conv(node: OnnxNode, x, w, b=None):
    spatial = w.dim() - 2
    pads = list(node.attrs.get("pads", [0] * 2 * spatial))
    if pads[:spatial] == pads[spatial:]:  # symmetric: the conv pads
        padding = tuple(pads[:spatial])
    else:  # asymmetric: an explicit zero pad first
        x, padding = F.pad(x, _torch_pads(pads)), (0,) * spatial
    conv = F.conv1d if spatial == 1 else F.conv2d
    return conv(x, w, b, stride=tuple(node.attrs.get("strides", [1] * spatial)), padding=padding,
                dilation=tuple(node.attrs.get("dilations", [1] * spatial)), groups=int(node.attrs.get("group", 1)))


def _pool(node: OnnxNode, x, kind: str):
    kernel = tuple(node.attrs["kernel_shape"])
    strides = tuple(node.attrs.get("strides", [1] * len(kernel)))
    pads = list(node.attrs.get("pads", [0] * 2 * len(kernel)))
    ceil = bool(node.attrs.get("ceil_mode", 0))
    if kind == "max":
        return F.max_pool2d(x, kernel, strides, tuple(pads[:2]), tuple(node.attrs.get("dilations", [1, 1])),
                            ceil_mode=ceil)
    return F.avg_pool2d(x, kernel, strides, tuple(pads[:2]), ceil_mode=ceil,
                        count_include_pad=bool(node.attrs.get("count_include_pad", 0)))


def _clip(node: OnnxNode, x, lo=None, hi=None):
    lo = float(node.attrs.get("min", -np.inf) if lo is None else lo)
    hi = float(node.attrs.get("max", np.inf) if hi is None else hi)
    if lo == 0 and hi == 6:
        return F.relu6(x)
    if lo == 0 and hi == np.inf:
        return F.relu(x)
    raise PocketMLError(f"{node.name} clips to [{lo:g}, {hi:g}]; pocketml deploys ReLU (0..inf) and ReLU6 (0..6)",
                        "use nn.ReLU or nn.ReLU6 in the model")


def _pad(node: OnnxNode, x, pads, value=None, axes=None):
    pads = [int(p) for p in pads.tolist()]
    if len(pads) != 2 * x.dim() or pads[0] or pads[1] or pads[x.dim()] or pads[x.dim() + 1]:
        raise PocketMLError(f"{node.name} pads the batch or channel axis (pads {pads})",
                            "pad only the spatial axes (nn.ZeroPad2d)")
    return F.pad(x, _torch_pads(pads[2:x.dim()] + pads[x.dim() + 2:]))


def _reshape(node: OnnxNode, x, shape):
    """A reshape that keeps the batch axis; to [N, features] it is a flatten (any batch size)."""
    target = [int(d) for d in shape.tolist()]
    rest = [x.shape[i] if d == 0 and not node.attrs.get("allowzero", 0) else d for i, d in enumerate(target)][1:]
    if len(rest) == 1 and rest[0] in (-1, int(np.prod(x.shape[1:]))):
        return torch.flatten(x, 1)
    return x.reshape(x.shape[0], *rest)


def _reduce_mean(node: OnnxNode, x, axes=None):
    axes = node.attrs.get("axes") if axes is None else axes.tolist()
    dims = list(range(1, x.dim())) if axes is None else [int(a) for a in axes]
    return x.mean(dim=dims, keepdim=bool(node.attrs.get("keepdims", 1)))


OPS: dict[str, Callable[..., torch.Tensor]] = {
    "Conv": _conv,
    "BatchNormalization": lambda node, x, scale, bias, mean, var: F.batch_norm(
        x, mean, var, scale, bias, False, 0.0, float(node.attrs.get("epsilon", 1e-5))),
    "Relu": lambda node, x: F.relu(x),
    "Clip": _clip,
    "MaxPool": lambda node, x: _pool(node, x, "max"),
    "AveragePool": lambda node, x: _pool(node, x, "avg"),
    "GlobalAveragePool": lambda node, x: F.adaptive_avg_pool2d(x, 1),
    "ReduceMean": _reduce_mean,
    "Add": lambda node, a, b: a + b,
    "Concat": lambda node, *xs: torch.cat(xs, dim=int(node.attrs["axis"])),
    "Pad": _pad,
    "Softmax": lambda node, x: F.softmax(x, dim=int(node.attrs.get("axis", -1))),
    "Flatten": lambda node, x: torch.flatten(x, int(node.attrs.get("axis", 1))),
    "Reshape": _reshape,
    "Gemm": lambda node, a, w, c=None: F.linear(a, w, c),  # transB=0 weights are transposed at load
    "Identity": lambda node, x: x,
    "Dropout": lambda node, x, *rest: x,
    "Constant": lambda node: None,  # folded into the weights when read (see _node), never run
}
STATIC = {"Clip": (1, 2), "Reshape": (1,), "Pad": (1, 2, 3), "ReduceMean": (1,), "Dropout": (1, 2)}


def _check_conv(node: OnnxNode, path: Path, weights: dict[str, np.ndarray]) -> OnnxNode:
    if node.attrs.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        raise PocketMLError(f"model file {path}: {node.name} uses auto_pad={node.attrs['auto_pad']}",
                            "export with explicit pads (torch.onnx.export does)")
    return node


def _check_pool(node: OnnxNode, path: Path, weights: dict[str, np.ndarray]) -> OnnxNode:
    node = _check_conv(node, path, weights)
    pads = list(node.attrs.get("pads", []))
    if len(node.attrs.get("kernel_shape", ())) != 2 or (pads and pads[:2] != pads[2:]):
        raise PocketMLError(f"model file {path}: {node.name} is not a 2-D pool with symmetric pads",
                            "use nn.MaxPool2d / nn.AvgPool2d")
    return node


def _check_gemm(node: OnnxNode, path: Path, weights: dict[str, np.ndarray]) -> OnnxNode:
    if node.attrs.get("transA", 0) or node.attrs.get("alpha", 1.0) != 1.0 or node.attrs.get("beta", 1.0) != 1.0 \
            or len(node.inputs) < 2 or node.inputs[1] not in weights:
        raise PocketMLError(f"model file {path}: {node.name} is not a linear layer (constant weight; no transA, "
                            "alpha or beta)", "use nn.Linear")
    if not node.attrs.get("transB", 0):  # stored [in, out]: keep a transposed copy, as nn.Linear stores it
        name = node.inputs[1] + ":T"
        weights[name] = np.ascontiguousarray(weights[node.inputs[1]].T)
        return replace(node, inputs=(node.inputs[0], name, *node.inputs[2:]), attrs={**node.attrs, "transB": 1})
    return node


def _check_pad(node: OnnxNode, path: Path, weights: dict[str, np.ndarray]) -> OnnxNode:
    value = weights.get(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
    if node.attrs.get("mode", "constant") != "constant" or len(node.inputs) < 2 or len(node.inputs) > 3 \
            or (value is not None and np.any(value != 0)):
        raise PocketMLError(f"model file {path}: {node.name} is not a zero pad (opset ≥ 11, pads as an input)",
                            "use nn.ZeroPad2d or F.pad(x, pads)")
    return node


CHECKS: dict[str, Callable[[OnnxNode, Path, dict[str, np.ndarray]], OnnxNode]] = {
    "Conv": _check_conv, "MaxPool": _check_pool, "AveragePool": _check_pool, "Gemm": _check_gemm, "Pad": _check_pad,
}
