"""``read_tflite``: an int8 ``.tflite`` flatbuffer (read with the ``tflite`` package) as a QuantGraph.

The inverse of ``writer.py`` for what TFLite's converter emits for the deployment op set:

    CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED   per-tensor or per-channel int8 weights (zero
        point 0), int32 bias (or none), SAME/VALID padding, strides, dilations, depth multiplier,
        fused NONE/RELU/RELU6
    AVERAGE_POOL_2D, MAX_POOL_2D                   SAME/VALID, strides, fused NONE/RELU/RELU6
    RESHAPE, SQUEEZE                               → Reshape (no data moves)
    SOFTMAX (any beta > 0), ADD (same shapes), MEAN over H,W, CONCATENATION (channel axis),
    PAD (H and W), RELU, RELU6
    QUANTIZE at the input / DEQUANTIZE at an output (float32 edges): dropped; the C takes and
        gives int8, with the scale/zero point of the edge in ``model.h``
    several outputs                               the subgraph's outputs list, in order (an output
        may also feed later operators); each one int8 or float32 (DEQUANTIZE)

TFLite's SAME padding puts the odd pixel at the bottom/right: ``pad_total = max(0, (out-1)·s +
k_eff - in)``, ``top = pad_total // 2``, ``bottom = pad_total - top``; the ops carry it as
``padding`` (top, left) + ``padding_end`` (bottom, right), so nothing is inserted.

Every operator is checked first (:func:`check_operators`); if any cannot run, one
``PocketMLError`` lists each with its operator index, op name and option values, plus the
supported list, before anything is built or written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tflite.ActivationFunctionType import ActivationFunctionType
from tflite.BuiltinOperator import BuiltinOperator
from tflite.Padding import Padding
from tflite.TensorType import TensorType

from pocketml.deploy.tflite.builders import Model
from pocketml.errors import PocketMLError
from pocketml.graph.ir import QuantGraph, QuantParams, TensorInfo
from pocketml.graph.ops import (
    Add,
    AvgPool2D,
    Concatenation,
    Conv2D,
    DepthwiseConv2D,
    FullyConnected,
    MaxPool2D,
    Mean,
    Pad,
    ReLU,
    ReLU6,
    Reshape,
    Softmax,
)

OP_NAMES = {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}
TYPE_NAMES = {v: k for k, v in vars(TensorType).items() if not k.startswith("_")}
ACTIVATIONS = {ActivationFunctionType.NONE: "none", ActivationFunctionType.RELU: "relu",
               ActivationFunctionType.RELU6: "relu6"}
ACTIVATION_NAMES = {v: k for k, v in vars(ActivationFunctionType).items() if not k.startswith("_")}
PADDING_NAMES = {Padding.SAME: "SAME", Padding.VALID: "VALID"}

SUPPORTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D", "RESHAPE",
             "SQUEEZE", "SOFTMAX", "ADD", "MEAN", "CONCATENATION", "PAD", "RELU", "RELU6",
             "QUANTIZE (float32 model input only)", "DEQUANTIZE (float32 model outputs only)")
SUPPORTED_TEXT = ("supported: " + ", ".join(SUPPORTED) + "; int8 activations (per-tensor), int8 weights "
                  "(per-tensor or per-channel, zero point 0), int32 bias; fused NONE/RELU/RELU6; one "
                  "subgraph, one input, one or more outputs")


class Unsupported(Exception):
    """An operator (or model property) the project cannot run; caught into an OperatorCheck."""


@dataclass(frozen=True)
class OperatorCheck:
    """One TFLite operator: would it compile, and with which options."""

    index: int  # position in the subgraph's operator list (-1: the model as a whole)
    op: str  # builtin name, e.g. CONV_2D
    options: dict[str, Any]
    problem: str | None = None  # None: supported
    becomes: str = ""  # the pocketml op kind(s) it maps to

    @property
    def ok(self) -> bool:
        return self.problem is None

    def describe(self) -> str:
        opts = ", ".join(f"{k}={v}" for k, v in self.options.items())
        where = "model" if self.index < 0 else f"operator {self.index}"
        return f"{where} {self.op}({opts}): {self.problem or 'ok'}"

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "op": self.op, "options": self.options, "supported": self.ok,
                "problem": self.problem, "becomes": self.becomes}


@dataclass(frozen=True)
class Edge:
    """How the model's input or output crosses into the int8 graph."""

    dtype: str  # "int8" or "float32" (QUANTIZE / DEQUANTIZE dropped)
    shape: tuple[int, ...]  # with the batch dimension, as in the .tflite
    quant: QuantParams


@dataclass(frozen=True)
class TFLiteImport:
    """What ``read_tflite`` returns: the graph, how its edges map, and the per-operator check."""

    graph: QuantGraph | None  # None only with strict=False when something would not compile
    input: Edge | None
    outputs: tuple[Edge, ...]  # one per model output, in the subgraph's order (empty if unknown)
    operators: tuple[OperatorCheck, ...]
    description: str = ""

    @property
    def output(self) -> Edge | None:
        """The first output's edge (the only one for a one-output model)."""
        return self.outputs[0] if self.outputs else None


@dataclass
class _Reader:
    """Walks one subgraph; ``ops``/``tensors`` accumulate the QuantGraph."""

    model: Any
    sub: Any
    name: str
    tensors: dict[str, TensorInfo] = field(default_factory=dict)
    ops: list[Any] = field(default_factory=list)
    alias: dict[int, int] = field(default_factory=dict)  # dropped QUANTIZE/DEQUANTIZE: tensor -> tensor

    # ---- tensors -------------------------------------------------------------------------------
    def tensor(self, i: int):
        return self.sub.Tensors(int(i))

    def tname(self, i: int) -> str:
        i = self.alias.get(int(i), int(i))
        raw = self.tensor(i).Name()
        return f"t{i}:{raw.decode(errors='replace') if raw else ''}"

    def shape(self, i: int) -> tuple[int, ...]:
        t = self.tensor(i)
        return tuple(int(v) for v in t.ShapeAsNumpy()) if t.ShapeLength() else ()

    def quant(self, i: int) -> tuple[np.ndarray, np.ndarray, int]:
        q = self.tensor(i).Quantization()
        if q is None or q.ScaleLength() == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64), 0
        zps = q.ZeroPointAsNumpy() if q.ZeroPointLength() else np.zeros(q.ScaleLength(), np.int64)
        return q.ScaleAsNumpy().astype(np.float32), np.asarray(zps, np.int64), int(q.QuantizedDimension())

    def constant(self, i: int) -> np.ndarray | None:
        """The tensor's data (little-endian, its TFLite type), or None for an activation."""
        t = self.tensor(i)
        buf = self.model.Buffers(t.Buffer())
        if buf is None or buf.DataLength() == 0:
            if buf is not None and buf.Offset() > 1:  # > 2 GB models keep data outside the flatbuffer
                raise Unsupported("constant data stored outside the flatbuffer (offset/size buffers)")
            return None
        dtype = {TensorType.INT8: "<i1", TensorType.INT32: "<i4", TensorType.INT64: "<i8",
                 TensorType.FLOAT32: "<f4", TensorType.UINT8: "u1"}.get(t.Type())
        if dtype is None:
            raise Unsupported(f"constant {self.tname(i)} of type {TYPE_NAMES.get(t.Type(), t.Type())}")
        return np.frombuffer(buf.DataAsNumpy().tobytes(), dtype=dtype).reshape(self.shape(i))

    def activation(self, i: int) -> str:
        """Register tensor ``i`` as an int8 activation (per-tensor quant, batch 1) and return its name."""
        i = self.alias.get(int(i), int(i))
        t = self.tensor(i)
        name = self.tname(i)
        if name in self.tensors:
            return name
        if t.Type() != TensorType.INT8:
            raise Unsupported(f"tensor {name} is {TYPE_NAMES.get(t.Type(), t.Type())}; "
                              "activations must be int8")
        shape = self.shape(i)
        if not shape or shape[0] != 1:
            raise Unsupported(f"tensor {name} has shape {list(shape)}; the batch dimension must be 1")
        if self.constant(i) is not None:
            raise Unsupported(f"tensor {name} is a constant where an activation is expected")
        scales, zps, _ = self.quant(i)
        if len(scales) != 1:
            raise Unsupported(f"activation {name} has {len(scales)} scales; per-tensor quantization expected")
        try:
            quant = QuantParams(float(scales[0]), int(zps[0]))
        except ValueError as exc:
            raise Unsupported(f"activation {name}: {exc}") from exc
        self.tensors[name] = TensorInfo(name, shape[1:], quant)
        return name

    def new_tensor(self, name: str, shape: tuple[int, ...], like: str) -> str:
        self.tensors[name] = TensorInfo(name, shape, self.tensors[like].quant)
        return name

    def weights(self, i: int, channels: int, axis: int, what: str) -> tuple[np.ndarray, np.ndarray]:
        w = self.constant(i)
        t = self.tensor(i)
        if w is None or t.Type() != TensorType.INT8:
            raise Unsupported(f"{what} must be constant int8 (hybrid or float weights are not supported), "
                              f"got {TYPE_NAMES.get(t.Type(), t.Type())}{'' if w is not None else ' activation'}")
        scales, zps, dim = self.quant(i)
        if np.any(zps != 0):
            raise Unsupported(f"{what} zero points must be 0 (symmetric int8), got {sorted(set(zps.tolist()))[:4]}")
        if len(scales) == 1:
            scales = np.full(channels, scales[0], np.float32)
        elif len(scales) != channels or dim != axis:
            raise Unsupported(f"{what} has {len(scales)} scales on axis {dim}; expected 1 or {channels} on axis {axis}")
        if not np.all(np.isfinite(scales) & (scales > 0)):
            raise Unsupported(f"{what} scales must be finite and > 0")
        return np.ascontiguousarray(w, dtype=np.int8), scales.astype(np.float32)

    def bias(self, inputs, channels: int) -> np.ndarray:
        if len(inputs) < 3 or inputs[2] < 0:
            return np.zeros(channels, np.int32)
        b = self.constant(inputs[2])
        if b is None or self.tensor(inputs[2]).Type() != TensorType.INT32 or b.size != channels:
            raise Unsupported(f"bias must be a constant int32 vector of {channels}")
        return np.ascontiguousarray(b.reshape(channels), dtype=np.int32)


def _options(op, cls) -> Any:
    table = op.BuiltinOptions()
    if table is None:
        return None
    opts = cls()
    opts.Init(table.Bytes, table.Pos)
    return opts


def _activation(code: int) -> str:
    if code not in ACTIVATIONS:
        raise Unsupported(f"fused activation {ACTIVATION_NAMES.get(code, code)} (NONE, RELU, RELU6 are supported)")
    return ACTIVATIONS[code]


def _window(in_hw, kernel, stride, dilation, padding: int, out_hw, what: str):
    """(top/left padding, bottom/right padding or None) of TFLite's SAME/VALID, checking ``out_hw``."""
    if padding not in PADDING_NAMES:
        raise Unsupported(f"padding {padding}")
    if min(*stride, *dilation) < 1:
        raise Unsupported(f"stride {stride} and dilation {dilation} must be >= 1")
    start, end = [], []
    for i in range(2):
        k_eff = (kernel[i] - 1) * dilation[i] + 1
        if padding == Padding.SAME:
            out = (in_hw[i] + stride[i] - 1) // stride[i]
            total = max(0, (out - 1) * stride[i] + k_eff - in_hw[i])
        else:
            out = (in_hw[i] - k_eff) // stride[i] + 1
            total = 0
        if out < 1 or out != out_hw[i]:
            raise Unsupported(f"{what}: output {list(out_hw)} does not follow from {PADDING_NAMES[padding]} "
                              f"padding on input {list(in_hw)} (kernel {list(kernel)}, stride {list(stride)})")
        start.append(total // 2)
        end.append(total - total // 2)
    return tuple(start), (None if end == start else tuple(end))


def _hw(shape: tuple[int, ...], what: str) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise Unsupported(f"{what} must be a [1, H, W, C] map, got {[1, *shape]}")
    return shape


# ---- one translation per builtin; each returns (options for the report, pocketml kinds) ----------

def _conv(r: _Reader, idx: int, op, ins, out) -> tuple[dict, str]:
    from tflite.Conv2DOptions import Conv2DOptions

    o = _options(op, Conv2DOptions)
    stride, dilation = (o.StrideH(), o.StrideW()), (o.DilationHFactor(), o.DilationWFactor())
    opts = {"padding": PADDING_NAMES.get(o.Padding(), o.Padding()), "stride": list(stride),
            "dilation": list(dilation), "activation": ACTIVATION_NAMES.get(o.FusedActivationFunction())}
    x, y = r.activation(ins[0]), r.activation(out)
    cout, kh, kw, cin = r.shape(ins[1])
    opts["kernel"] = [kh, kw]
    if _hw(r.tensors[x].shape, "CONV_2D input")[2] != cin:
        raise Unsupported(f"grouped convolution: input has {r.tensors[x].shape[2]} channels, filter {cin}")
    w, scales = r.weights(ins[1], cout, 0, "filter")
    pad, end = _window(r.tensors[x].shape[:2], (kh, kw), stride, dilation, o.Padding(), r.tensors[y].shape[:2],
                       "CONV_2D")
    r.ops.append(Conv2D(_op_name(idx, "conv_2d"), (x,), y, w, r.bias(ins, cout), scales, stride, pad, dilation,
                        _activation(o.FusedActivationFunction()), end))
    return opts, "conv2d"


def _depthwise(r: _Reader, idx: int, op, ins, out) -> tuple[dict, str]:
    from tflite.DepthwiseConv2DOptions import DepthwiseConv2DOptions

    o = _options(op, DepthwiseConv2DOptions)
    stride, dilation = (o.StrideH(), o.StrideW()), (o.DilationHFactor(), o.DilationWFactor())
    opts = {"padding": PADDING_NAMES.get(o.Padding(), o.Padding()), "stride": list(stride),
            "dilation": list(dilation), "depth_multiplier": o.DepthMultiplier(),
            "activation": ACTIVATION_NAMES.get(o.FusedActivationFunction())}
    x, y = r.activation(ins[0]), r.activation(out)
    one, kh, kw, cout = r.shape(ins[1])
    opts["kernel"] = [kh, kw]
    cin = _hw(r.tensors[x].shape, "DEPTHWISE_CONV_2D input")[2]
    if one != 1 or cout % cin:
        raise Unsupported(f"filter {[one, kh, kw, cout]} is not [1, KH, KW, C·M] for {cin} input channels")
    multiplier = cout // cin  # TFLM derives it from the shapes too (the option is 0 in some files)
    if o.DepthMultiplier() not in (0, multiplier):
        raise Unsupported(f"depth_multiplier {o.DepthMultiplier()} disagrees with the shapes ({multiplier})")
    w, scales = r.weights(ins[1], cout, 3, "filter")
    pad, end = _window(r.tensors[x].shape[:2], (kh, kw), stride, dilation, o.Padding(), r.tensors[y].shape[:2],
                       "DEPTHWISE_CONV_2D")
    r.ops.append(DepthwiseConv2D(_op_name(idx, "depthwise_conv_2d"), (x,), y, w, r.bias(ins, cout), scales, stride,
                                 pad, dilation, multiplier, _activation(o.FusedActivationFunction()), end))
    return opts, "depthwise_conv2d"


def _fully_connected(r: _Reader, idx: int, op, ins, out) -> tuple[dict, str]:
    from tflite.FullyConnectedOptions import FullyConnectedOptions

    o = _options(op, FullyConnectedOptions)
    act = o.FusedActivationFunction() if o else ActivationFunctionType.NONE
    opts = {"activation": ACTIVATION_NAMES.get(act), "keep_num_dims": bool(o.KeepNumDims()) if o else False,
            "weights_format": o.WeightsFormat() if o else 0}
    if o is not None and o.WeightsFormat() != 0:
        raise Unsupported("weights_format must be DEFAULT (shuffled weights are not supported)")
    x, y = r.activation(ins[0]), r.activation(out)
    cout, depth = r.shape(ins[1])
    w, scales = r.weights(ins[1], cout, 0, "weights")
    kinds = ["fully_connected"]
    if r.tensors[x].shape != (depth,):
        if r.tensors[x].nbytes != depth:
            raise Unsupported(f"input {[1, *r.tensors[x].shape]} does not flatten to one row of {depth}")
        flat = r.new_tensor(f"{x}/flat", (depth,), x)
        r.ops.append(Reshape(_op_name(idx, "fully_connected_flatten"), (x,), flat, (depth,)))
        x, kinds = flat, ["reshape", *kinds]
    target = y
    if r.tensors[y].shape != (cout,):
        if r.tensors[y].nbytes != cout:
            raise Unsupported(f"output {[1, *r.tensors[y].shape]} is not one row of {cout}")
        target = r.new_tensor(f"{y}/row", (cout,), y)
    r.ops.append(FullyConnected(_op_name(idx, "fully_connected"), (x,), target, w, r.bias(ins, cout), scales,
                                _activation(act)))
    if target != y:
        r.ops.append(Reshape(_op_name(idx, "fully_connected_keep_dims"), (target,), y, r.tensors[y].shape))
        kinds.append("reshape")
    return opts, "+".join(kinds)


def _pool(cls, builtin: str, kind: str):
    def translate(r: _Reader, idx: int, op, ins, out) -> tuple[dict, str]:
        from tflite.Pool2DOptions import Pool2DOptions

        o = _options(op, Pool2DOptions)
        kernel, stride = (o.FilterHeight(), o.FilterWidth()), (o.StrideH(), o.StrideW())
        opts = {"padding": PADDING_NAMES.get(o.Padding(), o.Padding()), "filter": list(kernel),
                "stride": list(stride), "activation": ACTIVATION_NAMES.get(o.FusedActivationFunction())}
        x, y = r.activation(ins[0]), r.activation(out)
        _hw(r.tensors[x].shape, f"{builtin} input")
        if r.tensors[x].quant != r.tensors[y].quant:
            raise Unsupported(f"input and output quantization differ ({r.tensors[x].quant} vs {r.tensors[y].quant})")
        pad, end = _window(r.tensors[x].shape[:2], kernel, stride, (1, 1), o.Padding(), r.tensors[y].shape[:2], builtin)
        r.ops.append(cls(_op_name(idx, builtin.lower()), (x,), y, kernel, stride, pad,
                         _activation(o.FusedActivationFunction()), end))
        return opts, kind
    return translate


def _reshape(builtin: str):
    def translate(r: _Reader, idx: int, op, ins, out) -> tuple[dict, str]:
        x, y = r.activation(ins[0]), r.activation(out)
        if r.tensors[x].quant != r.tensors[y].quant or r.tensors[x].nbytes != r.tensors[y].nbytes:
            raise Unsupported("input and output must hold the same elements with the same quantization")
        r.ops.append(Reshape(_op_name(idx, builtin.lower()), (x,), y, r.tensors[y].shape))
        return {"new_shape": [1, *r.tensors[y].shape]}, "reshape"
    return translate


def _softmax(r: _Reader, idx: int, op, ins, out) -> tuple[dict, str]:
    from tflite.SoftmaxOptions import SoftmaxOptions

    o = _options(op, SoftmaxOptions)
    beta = float(o.Beta()) if o is not None else 1.0
    x, y = r.activation(ins[0]), r.activation(out)
    r.ops.append(Softmax(_op_name(idx, "softmax"), (x,), y, beta))
    return {"beta": beta}, "softmax"


def _add(r: _Reader, idx: int, op, ins, out) -> tuple[dict, str]:
    from tflite.AddOptions import AddOptions

    o = _options(op, AddOptions)
    act = o.FusedActivationFunction() if o else ActivationFunctionType.NONE
    a, b, y = r.activation(ins[0]), r.activation(ins[1]), r.activation(out)
    if not r.tensors[a].shape == r.tensors[b].shape == r.tensors[y].shape:
        raise Unsupported(f"broadcasting ADD ({list(r.tensors[a].shape)} + {list(r.tensors[b].shape)})")
    r.ops.append(Add(_op_name(idx, "add"), (a, b), y, _activation(act)))
    return {"activation": ACTIVATION_NAMES.get(act)}, "add"


def _mean(r: _Reader, idx: int, op, ins, out) -> tuple[dict, str]:
    from tflite.ReducerOptions import ReducerOptions

    o = _options(op, ReducerOptions)
    axes = r.constant(ins[1])
    keep = bool(o.KeepDims()) if o else False
    opts = {"axis": None if axes is None else axes.ravel().tolist(), "keep_dims": keep}
    x, y = r.activation(ins[0]), r.activation(out)
    rank = len(r.tensors[x].shape) + 1
    if axes is None or sorted(int(a) % rank for a in axes.ravel()) != [1, 2] or rank != 4:
        raise Unsupported("MEAN must reduce axes [1, 2] (H, W) of a [1, H, W, C] map")
    r.ops.append(Mean(_op_name(idx, "mean"), (x,), y, r.tensors[y].shape))
    return opts, "mean"


def _concatenation(r: _Reader, idx: int, op, ins, out) -> tuple[dict, str]:
    from tflite.ConcatenationOptions import ConcatenationOptions

    o = _options(op, ConcatenationOptions)
    y = r.activation(out)
    rank = len(r.tensors[y].shape) + 1
    axis, act = o.Axis(), o.FusedActivationFunction()
    opts = {"axis": axis, "activation": ACTIVATION_NAMES.get(act)}
    if axis % rank != rank - 1:
        raise Unsupported("CONCATENATION must join the last (channel) axis")
    if act != ActivationFunctionType.NONE:
        raise Unsupported("a fused activation on CONCATENATION")
    xs = tuple(r.activation(i) for i in ins)
    r.ops.append(Concatenation(_op_name(idx, "concatenation"), xs, y))
    return opts, "concatenation"


def _pad(r: _Reader, idx: int, op, ins, out) -> tuple[dict, str]:
    paddings = r.constant(ins[1])
    opts = {"paddings": None if paddings is None else paddings.tolist()}
    x, y = r.activation(ins[0]), r.activation(out)
    if paddings is None or paddings.shape != (4, 2) or np.any(paddings[[0, 3]] != 0) or np.any(paddings < 0):
        raise Unsupported("PAD must be a constant [[0,0],[top,bottom],[left,right],[0,0]] on a [1, H, W, C] map")
    if r.tensors[x].quant != r.tensors[y].quant:
        raise Unsupported("PAD input and output quantization differ")
    (t, b), (left, right) = paddings[1].tolist(), paddings[2].tolist()
    r.ops.append(Pad(_op_name(idx, "pad"), (x,), y, ((int(t), int(b)), (int(left), int(right)))))
    return opts, "pad"


def _relu(cls, builtin: str, kind: str):
    def translate(r: _Reader, idx: int, op, ins, out) -> tuple[dict, str]:
        x, y = r.activation(ins[0]), r.activation(out)
        r.ops.append(cls(_op_name(idx, builtin.lower()), (x,), y))
        return {}, kind
    return translate


TRANSLATIONS: dict[str, Callable] = {
    "CONV_2D": _conv, "DEPTHWISE_CONV_2D": _depthwise, "FULLY_CONNECTED": _fully_connected,
    "AVERAGE_POOL_2D": _pool(AvgPool2D, "AVERAGE_POOL_2D", "avg_pool2d"),
    "MAX_POOL_2D": _pool(MaxPool2D, "MAX_POOL_2D", "max_pool2d"),
    "RESHAPE": _reshape("RESHAPE"), "SQUEEZE": _reshape("SQUEEZE"), "SOFTMAX": _softmax, "ADD": _add,
    "MEAN": _mean, "CONCATENATION": _concatenation, "PAD": _pad,
    "RELU": _relu(ReLU, "RELU", "relu"), "RELU6": _relu(ReLU6, "RELU6", "relu6"),
}


def _op_name(index: int, what: str) -> str:
    return f"op{index}_{what}"


def _load(source: str | Path | bytes) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray)):
        return bytes(source), "model"
    path = Path(source)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PocketMLError(f"cannot read {path}: {exc.strerror}", "pass an existing .tflite file") from exc
    return data, path.stem


def read_tflite(source: str | Path | bytes, name: str | None = None, *, strict: bool = True) -> TFLiteImport:
    """Read an int8 ``.tflite`` into a QuantGraph (see the module docstring).

    Parameters
    ----------
    source : a path to a ``.tflite`` file or its bytes.
    name : the graph's name (default: the file's stem).
    strict : raise a PocketMLError listing every operator that cannot run (default). With
        ``strict=False`` the result's ``operators`` says what would and would not compile and
        ``graph`` is None when something would not (what ``compile --check`` prints).
    """
    data, stem = _load(source)
    name = name or stem
    fix = "pass the .tflite file written by TensorFlow's converter (int8); it may be truncated or corrupt"
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise PocketMLError(f"{stem} is not a TFLite flatbuffer (no TFL3 identifier)", fix)
    try:
        model = Model.Model.GetRootAs(data, 0)
        n_sub = model.SubgraphsLength()
        sub = model.Subgraphs(0) if n_sub else None
        description = (model.Description() or b"").decode(errors="replace")
        _ = sub.OperatorsLength(), sub.TensorsLength(), model.BuffersLength(), model.OperatorCodesLength()
    except Exception as exc:  # a damaged flatbuffer raises anything from struct errors to IndexError
        raise PocketMLError(f"{stem} is not a readable TFLite flatbuffer: {type(exc).__name__}: {exc}", fix) from exc
    r = _Reader(model, sub, name)
    checks: list[OperatorCheck] = []
    model_problems = []
    if n_sub != 1:
        model_problems.append(f"{n_sub} subgraphs (control flow); one is supported")
    if sub.InputsLength() != 1:
        model_problems.append(f"{sub.InputsLength()} model inputs; one is supported")
    if sub.OutputsLength() < 1:
        model_problems.append("the model declares no outputs")
    for p in model_problems:
        checks.append(OperatorCheck(-1, "MODEL", {"subgraphs": n_sub, "inputs": sub.InputsLength(),
                                                  "outputs": sub.OutputsLength()}, p))
    in_index = int(sub.InputsAsNumpy()[0]) if sub.InputsLength() else -1
    out_indices = [int(i) for i in sub.OutputsAsNumpy()] if sub.OutputsLength() else []
    in_edge = None
    out_edges: dict[int, Edge] = {}  # float32 outputs (DEQUANTIZE), by tensor index
    n_ops = sub.OperatorsLength()
    for idx in range(n_ops):
        op = sub.Operators(idx)
        try:
            code = model.OperatorCodes(op.OpcodeIndex())
            builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        except Exception as exc:  # noqa: BLE001 - a damaged table
            checks.append(OperatorCheck(idx, "?", {}, f"unreadable operator: {exc}"))
            continue
        op_name = OP_NAMES.get(builtin, f"BUILTIN_{builtin}")
        if builtin == BuiltinOperator.CUSTOM:
            op_name = f"CUSTOM:{(code.CustomCode() or b'').decode(errors='replace')}"
        ins = [int(i) for i in op.InputsAsNumpy()] if op.InputsLength() else []
        outs = [int(i) for i in op.OutputsAsNumpy()] if op.OutputsLength() else []
        n_before = len(r.ops)
        try:
            if len(outs) != 1:
                raise Unsupported(f"{len(outs)} outputs (one expected)")
            if op_name in ("QUANTIZE", "DEQUANTIZE"):
                opts, kind = _edge(r, idx, op_name, ins, outs[0], in_index, out_indices)
                if op_name == "QUANTIZE":
                    in_edge = Edge("float32", r.shape(ins[0]), r.tensors[r.activation(outs[0])].quant)
                else:
                    out_edges[outs[0]] = Edge("float32", r.shape(outs[0]), r.tensors[r.activation(ins[0])].quant)
            elif op_name in TRANSLATIONS:
                opts, kind = TRANSLATIONS[op_name](r, idx, op, ins, outs[0])
            else:
                raise Unsupported("no pocketml kernel for this operator")
            checks.append(OperatorCheck(idx, op_name, opts, None, kind))
        except Unsupported as exc:
            del r.ops[n_before:]
            checks.append(OperatorCheck(idx, op_name, _safe_options(r, op, op_name), str(exc)))
        except Exception as exc:  # noqa: BLE001 - damaged tables, odd shapes: reported, never a traceback
            del r.ops[n_before:]
            checks.append(OperatorCheck(idx, op_name, {}, f"unreadable: {type(exc).__name__}: {exc}"))
    graph = None
    out_list = tuple(out_edges[i] for i in out_indices) if all(i in out_edges for i in out_indices) else ()
    if all(c.ok for c in checks):
        graph, in_edge, out_list, problem = _finish(r, in_index, out_indices, in_edge, out_edges)
        if problem:
            checks.append(OperatorCheck(-1, "MODEL", {}, problem))
            graph = None
    bad = [c for c in checks if not c.ok]
    if bad and strict:
        raise PocketMLError(f"{stem}.tflite cannot be compiled: " + "; ".join(c.describe() for c in bad),
                            SUPPORTED_TEXT)
    return TFLiteImport(graph, in_edge, out_list, tuple(checks), description)


def _edge(r: _Reader, idx: int, op_name: str, ins, out, in_index: int, out_indices: list[int]) -> tuple[dict, str]:
    """QUANTIZE of the float model input / DEQUANTIZE to a float model output: dropped."""
    src, dst = r.tensor(ins[0]), r.tensor(out)
    opts = {"from": TYPE_NAMES.get(src.Type()), "to": TYPE_NAMES.get(dst.Type())}
    if op_name == "QUANTIZE":
        if ins[0] != in_index or src.Type() != TensorType.FLOAT32 or dst.Type() != TensorType.INT8:
            raise Unsupported("QUANTIZE is supported only from the float32 model input to int8 "
                              "(a requantize inside the model is not)")
        r.activation(out)
        r.alias[ins[0]] = out
    else:
        if out not in out_indices or src.Type() != TensorType.INT8 or dst.Type() != TensorType.FLOAT32:
            raise Unsupported("DEQUANTIZE is supported only from int8 to a float32 model output")
        r.activation(ins[0])
        r.alias[out] = ins[0]
    return opts, "(edge: dropped)"


def _finish(r: _Reader, in_index: int, out_indices: list[int], in_edge, out_edges: dict[int, Edge]):
    """The graph once every operator translated: input/output names, edges, checks."""
    out_list: tuple[Edge, ...] = ()
    try:
        inp = r.activation(in_index)
        outps = [r.activation(i) for i in out_indices]
    except Unsupported as exc:
        return None, in_edge, out_list, str(exc)
    if not r.ops:
        return None, in_edge, out_list, "the model has no operators pocketml runs"
    in_edge = in_edge or Edge("int8", r.shape(in_index), r.tensors[inp].quant)
    out_list = tuple(out_edges.get(i) or Edge("int8", r.shape(i), r.tensors[name].quant)
                     for i, name in zip(out_indices, outps, strict=True))
    produced = {inp} | {op.output for op in r.ops}
    for op in r.ops:
        missing = [t for t in op.inputs if t not in produced]
        if missing:
            return None, in_edge, out_list, f"{op.name} reads {missing[0]}, which no earlier operator produces"
    problem = _output_problem(r, inp, outps)
    if problem:
        return None, in_edge, out_list, problem
    kinds = ", ".join(e.dtype for e in out_list)
    note = (f"read from a .tflite ({len(r.ops)} ops; input {in_edge.dtype}, "
            f"output{'s' if len(out_list) > 1 else ''} {kinds})")
    graph = QuantGraph(r.name, r.tensors, r.ops, inp, tuple(outps), notes=[note])
    try:
        _ = graph.op_data  # every op's own checks (shapes, quantization, overflow bounds)
    except (ValueError, OverflowError) as exc:
        return None, in_edge, out_list, f"an operator fails pocketml's checks: {exc}"
    return graph, in_edge, out_list, None


def _output_problem(r: _Reader, inp: str, outps: list[str]) -> str | None:
    """Why the model's outputs cannot each be a caller buffer of the C, or None.

    Each output must be computed by an operator and hold its own bytes: not the input, and not
    another output (the same tensor twice, or one a RESHAPE/SQUEEZE of the other, which share bytes).
    """
    produced = {op.output for op in r.ops}
    source = {op.output: op.inputs[0] for op in r.ops if op.kind == "reshape"}

    def bytes_of(name: str) -> str:  # the tensor whose bytes ``name`` is, through reshapes
        while name in source:
            name = source[name]
        return name

    seen: dict[str, int] = {}
    for k, name in enumerate(outps):
        if name not in produced:
            return f"model output {k} ({name}) is produced by no operator"
        root = bytes_of(name)
        if root == bytes_of(inp):
            return f"model output {k} ({name}) is the model input reshaped: there is nothing to run"
        if root in seen:
            return (f"model outputs {seen[root]} and {k} are the same int8 data ({name}; the same tensor, or a "
                    "RESHAPE/SQUEEZE of it): keep one of them as an output")
        seen[root] = k
    return None


def _safe_options(r: _Reader, op, op_name: str) -> dict[str, Any]:
    """Option values of an operator that failed (for the message), or {} if they cannot be read."""
    try:
        table = op.BuiltinOptions()
        if table is None:
            return {}
        from importlib import import_module

        type_name = _options_type_name(op.BuiltinOptionsType())
        cls = getattr(import_module(f"tflite.{type_name}"), type_name)
        opts = cls()
        opts.Init(table.Bytes, table.Pos)
        values = {}
        for attr in dir(opts):
            if attr[0].isupper() and not attr.startswith(("GetRootAs", "Init")) and not attr.endswith(
                    ("AsNumpy", "IsNone", "Length", "BufferHasIdentifier")):
                try:
                    v = getattr(opts, attr)()
                except TypeError:
                    continue
                names = {"FusedActivationFunction": ACTIVATION_NAMES, "Padding": PADDING_NAMES}.get(attr, {})
                values[attr] = names.get(v, v) if isinstance(v, (int, float, bool)) else str(v)
        return values
    except Exception:  # noqa: BLE001 - best effort, for the message only
        return {}


def _options_type_name(code: int) -> str:
    from tflite.BuiltinOptions import BuiltinOptions

    return {v: k for k, v in vars(BuiltinOptions).items() if not k.startswith("_")}[code]
