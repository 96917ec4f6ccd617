"""Helpers every op's ``.tflite`` writer shares (``tflite_write`` of its :class:`OpSpec`).

Weights are per-channel int8 (zero points 0) with ``quantized_dimension`` naming the
output-channel axis; biases are int32 with scale ``s_in · s_w[c]``.

Padding. Our conv and pool ops store explicit (top, left) padding with the output shape of
PyTorch; TFLite only knows SAME and VALID. TFLite Micro computes, for both,
``offset = max(0, (out-1)·stride + (k-1)·dilation + 1 - in) // 2`` from the output size
(``out = ceil(in/stride)`` for SAME, ``(in - k_eff)//stride + 1`` for VALID) and skips taps
outside the input, exactly as our kernels do. So a layer maps to SAME or VALID when that rule
gives our output size and our top/left padding; otherwise an explicit PAD (PADV2 with -128 before
a max pool, so padding never wins a max) is written before a VALID op, padding top/left by ours
and bottom/right by what the output size needs. Average pools count only real taps, which a PAD
cannot express: those must map to SAME/VALID or are refused.
"""

from __future__ import annotations

from collections.abc import Callable

import flatbuffers
import numpy as np
from tflite.ActivationFunctionType import ActivationFunctionType
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt
from tflite.Padding import Padding

from pocketml.formats.tflite import OperatorSpec, TensorQuant, TensorSpec, TFLiteModelSpec, table
from pocketml.graph.ir import DTYPES, RANGES, QuantGraph, TensorInfo

ACTIVATION = {"none": ActivationFunctionType.NONE, "relu": ActivationFunctionType.RELU,
              "relu6": ActivationFunctionType.RELU6}


def batch_shape(info: TensorInfo) -> tuple[int, ...]:
    return (1, *info.shape)


def activation_quant(info: TensorInfo) -> TensorQuant:
    return TensorQuant((info.quant.scale,), (info.quant.zero_point,))


def operator(spec: TFLiteModelSpec, code: int, version: int, inputs, outputs, options_type: int = 0,
             write_options: Callable[[flatbuffers.Builder], int] | None = None) -> None:
    """Append one builtin operator (``version`` as TFLite's converter writes it for int8)."""
    spec.add_operator(OperatorSpec(code, version, tuple(inputs), tuple(outputs), options_type, write_options))


def options(name: str, **values) -> Callable[[flatbuffers.Builder], int]:
    """A writer for the options table ``name`` (e.g. ``"Conv2DOptions"``) with ``values``
    (``Padding=..., StrideH=...``: the schema's field names); no values: an empty table."""
    module = table(name)

    def write(b: flatbuffers.Builder) -> int:
        getattr(module, f"{name}Start")(b)
        for field, value in values.items():
            getattr(module, f"{name}Add{field}")(b, value)
        return getattr(module, f"{name}End")(b)
    return write


def same_or_valid(in_hw, kernel, stride, dilation, padding, out_hw) -> int | None:
    """The TFLite padding that computes exactly our op, or None if neither does."""
    for mode in (Padding.VALID, Padding.SAME):
        ok = True
        for i in range(2):
            k_eff = (kernel[i] - 1) * dilation[i] + 1
            if mode == Padding.SAME:
                out = (in_hw[i] + stride[i] - 1) // stride[i]
            else:
                out = (in_hw[i] - k_eff) // stride[i] + 1
            offset = max(0, (out - 1) * stride[i] + k_eff - in_hw[i]) // 2
            ok &= out == out_hw[i] and offset == padding[i]
        if ok:
            return mode
    return None


def weights(spec: TFLiteModelSpec, op, x: TensorInfo, weight: np.ndarray, axis: int) -> tuple[int, int]:
    """Per-channel int8 weights and their bias (scale s_in·s_w[c], zero point 0): int32, or int64 as a
    16x8 layer holds it."""
    scales = np.asarray(op.weight_scale, dtype=np.float32)
    n = len(scales)
    w = spec.add_constant(f"{op.name}/weights", weight.astype(np.int8),
                          TensorQuant(tuple(map(float, scales)), (0,) * n, axis))
    bias_scales = (np.float32(x.quant.scale) * scales).astype(np.float32)
    bias_type = np.int64 if np.asarray(op.bias).dtype == np.int64 else np.int32
    b = spec.add_constant(f"{op.name}/bias", np.asarray(op.bias, dtype=bias_type),
                          TensorQuant(tuple(map(float, bias_scales)), (0,) * n, 0))
    return w, b


def _explicit_pad(spec: TFLiteModelSpec, op, x: TensorInfo, kernel, stride, dilation, out_hw,
                  fill_min: bool) -> str:
    """Write a PAD (or PADV2 filled with -128) so a VALID op after it computes ours; the padded tensor."""
    h, w, c = x.shape
    amounts = []
    for i, size in enumerate((h, w)):
        need = (out_hw[i] - 1) * stride[i] + (kernel[i] - 1) * dilation[i] + 1
        amounts.append((op.padding[i], max(0, need - size - op.padding[i])))
    ph, pw = h + sum(amounts[0]), w + sum(amounts[1])
    name = f"{op.name}/padded"
    padded = spec.add_tensor(TensorSpec(name, (1, ph, pw, c), np.dtype(DTYPES[x.dtype]), activation_quant(x)))
    paddings = spec.add_constant(f"{op.name}/paddings", np.array([[0, 0], *amounts, [0, 0]], dtype=np.int32))
    inputs = [spec.index(x.name), paddings]
    if fill_min:
        lowest = RANGES[x.dtype][0]  # -128, or -32768 for an int16 input
        fill = spec.add_constant(f"{op.name}/pad_value", np.array([lowest], dtype=DTYPES[x.dtype]), activation_quant(x))
        operator(spec, Op.PADV2, 2, [*inputs, fill], [padded])
    else:
        operator(spec, Op.PAD, 2, inputs, [padded], Opt.PadOptions, options("PadOptions"))
    return name


def windowed_input(spec: TFLiteModelSpec, graph: QuantGraph, op, kernel, fill_min: bool = False,
                   allow_pad: bool = True) -> tuple[int, int]:
    """(input tensor index, TFLite padding) for a windowed op, writing a PAD first if needed."""
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.output]
    dilation = getattr(op, "dilation", (1, 1))
    mode = same_or_valid(x.shape[:2], kernel, op.stride, dilation, op.padding, y.shape[:2])
    if mode is not None:
        return spec.index(x.name), mode
    if not allow_pad:
        raise ValueError(
            f"{op.name}: padding {op.padding} with kernel {kernel} and stride {op.stride} on a "
            f"{x.shape[0]}x{x.shape[1]} input matches neither TFLite's SAME nor VALID padding, and "
            f"an explicit PAD would change which taps an average counts")
    name = _explicit_pad(spec, op, x, kernel, op.stride, dilation, y.shape[:2], fill_min)
    return spec.index(name), Padding.VALID


def io(spec: TFLiteModelSpec, op) -> tuple[list[int], list[int]]:
    """The op's input and output tensor indices."""
    return [spec.index(n) for n in op.inputs], [spec.index(op.output)]
