"""Helpers every op's ``.tflite`` reader shares (``tflite_read`` of its :class:`OpSpec`).

A translation is ``translate(r, index, operator, inputs, output) -> (options, kinds)``: it reads
the operator's options and tensors through the :class:`TFLiteReader` ``r``, appends the op(s)
to ``r.ops`` and returns the option values (for ``compile --check``) and the pocketml kind(s) it
became. Anything it cannot run raises :class:`Unsupported` with the reason; the driver
(``pocketml/deploy/tflite/reader.py``) turns that into one line of the refusal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tflite.ActivationFunctionType import ActivationFunctionType
from tflite.Padding import Padding
from tflite.TensorType import TensorType

from pocketml.graph.ir import QuantParams, TensorInfo

TYPE_NAMES = {v: k for k, v in vars(TensorType).items() if not k.startswith("_")}
ACTIVATIONS = {ActivationFunctionType.NONE: "none", ActivationFunctionType.RELU: "relu",
               ActivationFunctionType.RELU6: "relu6"}
ACTIVATION_NAMES = {v: k for k, v in vars(ActivationFunctionType).items() if not k.startswith("_")}
PADDING_NAMES = {Padding.SAME: "SAME", Padding.VALID: "VALID"}
MAX_TENSOR_BYTES = 64 << 20  # an activation larger than this is a damaged file, not a microcontroller model
_NUMPY = {TensorType.INT8: "<i1", TensorType.INT32: "<i4", TensorType.INT64: "<i8", TensorType.FLOAT32: "<f4",
          TensorType.UINT8: "u1", TensorType.INT16: "<i2"}


EDGE_TYPES = ("uint8", "int16", "int32")  # what a QUANTIZE may convert to or from int8
# what reads or writes int16 activations (TFLite's 16x8 models; tests: test_compile.py)
INT16_OPS = ("QUANTIZE", "RESHAPE", "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED (16x8)", "MAX_POOL_2D",
             "AVERAGE_POOL_2D", "ADD", "CONCATENATION", "PAD", "RELU", "RELU6", "SUB", "MUL", "MEAN",
             "SOFTMAX", "LOGISTIC", "TANH")


def _only_where(dtype: str) -> str:
    """Where pocketml takes an activation of type ``dtype`` other than int8 (for a refusal)."""
    if dtype == "int16":
        return f"this op does not run int16 activations here; int16 ones are read by {', '.join(INT16_OPS)}"
    return f"{dtype} only where a QUANTIZE converts it"


class Unsupported(Exception):
    """An operator (or model property) pocketml cannot run; becomes one line of the refusal."""


@dataclass
class TFLiteReader:
    """Walks one subgraph; translations read tensors through it and append to ``ops``/``tensors``."""

    model: Any
    sub: Any
    name: str
    tensors: dict[str, TensorInfo] = field(default_factory=dict)
    ops: list[Any] = field(default_factory=list)
    alias: dict[int, int] = field(default_factory=dict)  # dropped QUANTIZE/DEQUANTIZE: tensor -> tensor
    folded: dict[int, np.ndarray] = field(default_factory=dict)  # outputs of constant sub-graphs (fold.py)

    def tensor(self, i: int):
        i = int(i)
        if not 0 <= i < self.sub.TensorsLength():
            raise Unsupported(f"tensor index {i} is outside the subgraph's {self.sub.TensorsLength()} tensors")
        return self.sub.Tensors(i)

    def tname(self, i: int) -> str:
        """``t<index>:<name>``; the name as the file gives it, made printable and cut to 48 characters
        (a damaged file's name can be any bytes, and it ends up in messages)."""
        i = self.alias.get(int(i), int(i))
        raw = (self.tensor(i).Name() or b"").decode(errors="replace")
        name = "".join(ch if ch.isprintable() else "?" for ch in raw[:48]) + ("..." if len(raw) > 48 else "")
        return f"t{i}:{name}"

    def shape(self, i: int) -> tuple[int, ...]:
        t = self.tensor(i)
        return tuple(int(v) for v in t.ShapeAsNumpy()) if t.ShapeLength() else ()

    def quant(self, i: int) -> tuple[np.ndarray, np.ndarray, int]:
        q = self.tensor(i).Quantization()
        if q is None or q.ScaleLength() == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64), 0
        if q.ZeroPointLength() != q.ScaleLength():  # TFLite Micro would read these differently: refuse
            raise Unsupported(f"tensor {self.tname(i)} has {q.ScaleLength()} scales but {q.ZeroPointLength()} "
                              "zero points (a damaged file)")
        zps = q.ZeroPointAsNumpy()
        return q.ScaleAsNumpy().astype(np.float32), np.asarray(zps, np.int64), int(q.QuantizedDimension())

    def constant(self, i: int) -> np.ndarray | None:
        """The tensor's data (little-endian, its TFLite type), or None for an activation."""
        if int(i) in self.folded:
            return self.folded[int(i)]
        t = self.tensor(i)
        if not 0 <= t.Buffer() < self.model.BuffersLength():
            raise Unsupported(f"tensor {self.tname(i)} names buffer {t.Buffer()}, which does not exist")
        buf = self.model.Buffers(t.Buffer())
        if buf is None or buf.DataLength() == 0:
            if buf is not None and buf.Offset() > 1:  # > 2 GB models keep data outside the flatbuffer
                raise Unsupported("constant data stored outside the flatbuffer (offset/size buffers)")
            return None
        dtype = _NUMPY.get(t.Type())
        if dtype is None:
            raise Unsupported(f"constant {self.tname(i)} of type {TYPE_NAMES.get(t.Type(), t.Type())}")
        data = buf.DataAsNumpy().tobytes()
        shape = self.shape(i)
        if len(data) != int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize:
            raise Unsupported(f"constant {self.tname(i)} holds {len(data)} bytes, not the {list(shape)} "
                              f"{TYPE_NAMES.get(t.Type())} its shape says")
        return np.frombuffer(data, dtype=dtype).reshape(shape)

    def activation(self, i: int, uint8: bool = False, types: tuple[str, ...] = ()) -> str:
        """Register tensor ``i`` as an int8 activation (per-tensor quant, batch 1) and return its name;
        ``uint8``: a uint8 tensor is accepted too (what a QUANTIZE reads or writes); ``types``: other
        types accepted here (``EDGE_TYPES`` for a QUANTIZE, int16 for a SOFTMAX output)."""
        i = self.alias.get(int(i), int(i))
        t = self.tensor(i)
        name = self.tname(i)
        allowed = {"int8", *(("uint8",) if uint8 else ()), *types}
        if name in self.tensors:
            if self.tensors[name].dtype not in allowed:
                raise Unsupported(f"tensor {name} is {self.tensors[name].dtype.upper()}; "
                                  + _only_where(self.tensors[name].dtype))
            return name
        dtype = {TensorType.INT8: "int8", TensorType.UINT8: "uint8", TensorType.INT16: "int16",
                 TensorType.INT32: "int32"}.get(t.Type())
        if dtype is None or dtype not in allowed:
            raise Unsupported(f"tensor {name} is {TYPE_NAMES.get(t.Type(), t.Type())}; activations must be int8"
                              + (f" ({_only_where(dtype)})" if dtype else ""))
        shape = self.shape(i)
        if not shape or shape[0] != 1:
            raise Unsupported(f"tensor {name} has shape {list(shape)}; the batch dimension must be 1")
        if min(shape) < 1:
            raise Unsupported(f"tensor {name} has shape {list(shape)}; every dimension must be >= 1")
        if int(np.prod(shape, dtype=np.int64)) > MAX_TENSOR_BYTES:
            raise Unsupported(f"tensor {name} of shape {list(shape)} would take more than "
                              f"{MAX_TENSOR_BYTES >> 20} MiB, more than any board pocketml targets")
        if self.constant(i) is not None:
            raise Unsupported(f"tensor {name} is a constant where an activation is expected")
        scales, zps, _ = self.quant(i)
        if len(scales) != 1:
            raise Unsupported(f"activation {name} has {len(scales)} scales; per-tensor quantization expected")
        try:
            quant = QuantParams(float(scales[0]), int(zps[0]))
            self.tensors[name] = TensorInfo(name, shape[1:], quant, dtype)
        except ValueError as exc:
            raise Unsupported(f"activation {name}: {exc}") from exc
        return name

    def new_tensor(self, name: str, shape: tuple[int, ...], like: str) -> str:
        self.tensors[name] = TensorInfo(name, shape, self.tensors[like].quant, self.tensors[like].dtype)
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

    def bias(self, inputs, channels: int, wide: tuple[str, ...] = ()) -> np.ndarray:
        """The int32 bias, or zeros; ``wide``: the bias types of a 16x8 layer (TFLite Micro sums in int64
        unless the bias is int32; an absent one is zeros of the first type, see :func:`bias_types`)."""
        if len(inputs) < 3 or inputs[2] < 0:
            return np.zeros(channels, np.dtype(wide[0]) if wide else np.int32)
        b = self.constant(inputs[2])
        types = {TensorType.INT32: np.int32, TensorType.INT64: np.int64}
        allowed = wide or ("int32",)
        dtype = types.get(self.tensor(inputs[2]).Type())
        if b is None or dtype is None or np.dtype(dtype).name not in allowed or b.size != channels:
            raise Unsupported(f"bias must be a constant {' or '.join(allowed)} vector of {channels}")
        return np.ascontiguousarray(b.reshape(channels), dtype=dtype)

    def activations_16x8(self, x: int, y: int, what: str, int32_bias: bool = True) -> tuple[str, str, tuple]:
        """The input and output of a weighted layer: int8, or int16 both (TFLite's 16x8: zero points 0);
        with the bias types it may take for ``bias(wide=...)`` (empty for int8)."""
        xn, yn = self.activation(x, types=("int16",)), self.activation(y, types=("int16",))
        types = (self.tensors[xn].dtype, self.tensors[yn].dtype)
        if types == ("int8", "int8"):
            return xn, yn, ()
        if types != ("int16", "int16"):
            raise Unsupported(f"{what} reads {types[0].upper()} and writes {types[1].upper()}: TFLite Micro runs it "
                              "int8 -> int8 or int16 -> int16 (16x8)")
        zps = (self.tensors[xn].quant.zero_point, self.tensors[yn].quant.zero_point)
        if zps != (0, 0):
            raise Unsupported(f"{what} with int16 activations needs zero points 0 (symmetric), got {list(zps)}")
        return xn, yn, ("int64", "int32") if int32_bias else ("int64",)


def check_int16_pair(r: TFLiteReader, x: str, y: str, what: str) -> None:
    """An element-wise op reads and writes one type: int8, or int16 (TFLite's 16x8 models)."""
    tx, ty = r.tensors[x].dtype, r.tensors[y].dtype
    if tx != ty:
        raise Unsupported(f"{what} reads {tx.upper()} and writes {ty.upper()}: TFLite Micro runs it on one type")


def bias_types(types: tuple[str, ...], opts) -> tuple[str, ...]:
    """A 16x8 layer's bias types with the one an absent bias stands for first: int32 when the options'
    ``quantized_bias_type`` says so (TFLite Micro then sums in int32), else int64."""
    if "int32" in types and opts is not None and opts.QuantizedBiasType() == TensorType.INT32:
        return ("int32", *(t for t in types if t != "int32"))
    return types


def options(op, name: str) -> Any:
    """The operator's builtin options as the ``tflite`` package's table class ``name``, or None.

    The table is read only when the operator says it is of that type: a file whose options are of
    another type is damaged (TFLite Micro would ignore them and run with defaults), so it is refused.
    """
    from importlib import import_module

    from tflite.BuiltinOptions import BuiltinOptions

    found = op.BuiltinOptions()
    kind = op.BuiltinOptionsType()
    if found is None or kind == BuiltinOptions.NONE:
        return None
    if kind != getattr(BuiltinOptions, name):
        names = {v: k for k, v in vars(BuiltinOptions).items() if not k.startswith("_")}
        raise Unsupported(f"its options are of type {names.get(kind, kind)}, not {name} (a damaged file)")
    opts = getattr(import_module(f"tflite.{name}"), name)()
    opts.Init(found.Bytes, found.Pos)
    return opts


def activation(code: int) -> str:
    """A fused activation code as pocketml's name (NONE, RELU, RELU6), or Unsupported."""
    if code not in ACTIVATIONS:
        raise Unsupported(f"fused activation {ACTIVATION_NAMES.get(code, code)} (NONE, RELU, RELU6 are supported)")
    return ACTIVATIONS[code]


def window(in_hw, kernel, stride, dilation, padding: int, out_hw, what: str):
    """(top/left padding, bottom/right padding or None) of TFLite's SAME/VALID, checking ``out_hw``.

    TFLite's SAME padding puts the odd pixel at the bottom/right: ``pad_total = max(0, (out-1)·s +
    k_eff - in)``, ``top = pad_total // 2``, ``bottom = pad_total - top``.
    """
    if padding not in PADDING_NAMES:
        raise Unsupported(f"padding {padding}")
    if min(*stride, *dilation) < 1:
        raise Unsupported(f"stride {stride} and dilation {dilation} must be >= 1")
    if min(kernel) < 1:
        raise Unsupported(f"kernel {list(kernel)} must be at least 1x1")
    start, end = [], []
    for i in range(2):
        k_eff = (kernel[i] - 1) * dilation[i] + 1
        # SAME centres every window on an input pixel, so a window wider than the input is legal (taps
        # outside are skipped: YOLO's 9x9 max pool on a 3x3 map, a 9-tap depthwise conv on 2 frames);
        # far wider is no real model but a damaged file, whose loops would run for nothing
        if k_eff > 4 * in_hw[i] + 16:
            raise Unsupported(f"{what}: kernel {list(kernel)} with dilation {list(dilation)} spans {k_eff} pixels "
                              f"of a {in_hw[i]}-pixel input")
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


def feature_map(shape: tuple[int, ...], what: str) -> tuple[int, int, int]:
    """``shape`` (per sample) if it is an [H, W, C] map, else Unsupported."""
    if len(shape) != 3:
        raise Unsupported(f"{what} must be a [1, H, W, C] map, got {[1, *shape]}")
    return shape


def op_name(index: int, what: str) -> str:
    """The graph name of the op made from TFLite operator ``index``."""
    return f"op{index}_{what}"
