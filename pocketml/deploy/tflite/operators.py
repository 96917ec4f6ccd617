"""Each pocketml op as TFLite builtin operators: code, version, tensors and options.

One translation function per op kind, registered in ``TRANSLATIONS``. Weights are per-channel
int8 (zero points 0) with ``quantized_dimension`` naming the output-channel axis (0 for CONV_2D
and FULLY_CONNECTED, 3 for DEPTHWISE_CONV_2D); biases are int32 with scale ``s_in · s_w[c]``.

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

from pocketml.deploy.tflite.builders import (
    AddOptions,
    ConcatenationOptions,
    Conv2DOptions,
    DepthwiseConv2DOptions,
    FullyConnectedOptions,
    PadOptions,
    Pool2DOptions,
    ReducerOptions,
    ReshapeOptions,
    SoftmaxOptions,
)
from pocketml.deploy.tflite.schema import OperatorSpec, TensorQuant, TensorSpec, TFLiteModelSpec
from pocketml.graph.ir import QuantGraph, TensorInfo

ACTIVATION = {"none": ActivationFunctionType.NONE, "relu": ActivationFunctionType.RELU,
              "relu6": ActivationFunctionType.RELU6}

# (code, version) as TFLite's converter writes them for int8 (per-channel weights where any)
VERSIONS = {Op.CONV_2D: 3, Op.DEPTHWISE_CONV_2D: 3, Op.FULLY_CONNECTED: 4, Op.MAX_POOL_2D: 2,
            Op.AVERAGE_POOL_2D: 2, Op.RESHAPE: 1, Op.MEAN: 2, Op.ADD: 2, Op.CONCATENATION: 2,
            Op.PAD: 2, Op.PADV2: 2, Op.RELU: 2, Op.RELU6: 2, Op.SOFTMAX: 2}


def batch_shape(info: TensorInfo) -> tuple[int, ...]:
    return (1, *info.shape)


def activation_quant(info: TensorInfo) -> TensorQuant:
    return TensorQuant((info.quant.scale,), (info.quant.zero_point,))


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


def _operator(spec: TFLiteModelSpec, code: int, inputs, outputs, options_type: int = 0,
              write_options: Callable[[flatbuffers.Builder], int] | None = None) -> None:
    spec.add_operator(OperatorSpec(code, VERSIONS[code], tuple(inputs), tuple(outputs),
                                   options_type, write_options))


def _weights(spec: TFLiteModelSpec, op, x: TensorInfo, weight: np.ndarray, axis: int) -> tuple[int, int]:
    """Per-channel int8 weights and their int32 bias (scale s_in·s_w[c], zero point 0)."""
    scales = np.asarray(op.weight_scale, dtype=np.float32)
    n = len(scales)
    w = spec.add_constant(f"{op.name}/weights", weight.astype(np.int8),
                          TensorQuant(tuple(map(float, scales)), (0,) * n, axis))
    bias_scales = (np.float32(x.quant.scale) * scales).astype(np.float32)
    b = spec.add_constant(f"{op.name}/bias", np.asarray(op.bias, dtype=np.int32),
                          TensorQuant(tuple(map(float, bias_scales)), (0,) * n, 0))
    return w, b


def _explicit_pad(spec: TFLiteModelSpec, op, x: TensorInfo, kernel, stride, dilation, out_hw,
                  fill_min: bool) -> tuple[str, tuple[int, int]]:
    """Write a PAD (or PADV2 filled with -128) so a VALID op after it computes ours.

    Returns the padded tensor's name and its (height, width).
    """
    h, w, c = x.shape
    amounts = []
    for i, size in enumerate((h, w)):
        need = (out_hw[i] - 1) * stride[i] + (kernel[i] - 1) * dilation[i] + 1
        amounts.append((op.padding[i], max(0, need - size - op.padding[i])))
    ph, pw = h + sum(amounts[0]), w + sum(amounts[1])
    name = f"{op.name}/padded"
    padded = spec.add_tensor(_activation_spec(name, (1, ph, pw, c), x))
    paddings = spec.add_constant(f"{op.name}/paddings",
                                 np.array([[0, 0], *amounts, [0, 0]], dtype=np.int32))
    inputs = [spec.index(x.name), paddings]
    if fill_min:
        fill = spec.add_constant(f"{op.name}/pad_value", np.array([-128], dtype=np.int8),
                                 activation_quant(x))
        _operator(spec, Op.PADV2, [*inputs, fill], [padded])
    else:
        _operator(spec, Op.PAD, inputs, [padded], Opt.PadOptions, _no_options(PadOptions, "PadOptions"))
    return name, (ph, pw)


def _activation_spec(name: str, shape: tuple[int, ...], like: TensorInfo) -> TensorSpec:
    return TensorSpec(name, shape, np.dtype(np.int8), activation_quant(like))


def _no_options(module, prefix: str) -> Callable[[flatbuffers.Builder], int]:
    def write(b: flatbuffers.Builder) -> int:
        getattr(module, f"{prefix}Start")(b)
        return getattr(module, f"{prefix}End")(b)
    return write


def _conv_like(spec: TFLiteModelSpec, graph: QuantGraph, op, kernel, fill_min: bool = False,
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
    name, _ = _explicit_pad(spec, op, x, kernel, op.stride, dilation, y.shape[:2], fill_min)
    return spec.index(name), Padding.VALID


def conv2d(spec, graph, op, data) -> None:
    x = graph.tensors[op.inputs[0]]
    src, padding = _conv_like(spec, graph, op, op.weight.shape[1:3])
    w, b = _weights(spec, op, x, op.weight, 0)

    def options(fb):
        Conv2DOptions.Conv2DOptionsStart(fb)
        Conv2DOptions.Conv2DOptionsAddPadding(fb, padding)
        Conv2DOptions.Conv2DOptionsAddStrideH(fb, op.stride[0])
        Conv2DOptions.Conv2DOptionsAddStrideW(fb, op.stride[1])
        Conv2DOptions.Conv2DOptionsAddDilationHFactor(fb, op.dilation[0])
        Conv2DOptions.Conv2DOptionsAddDilationWFactor(fb, op.dilation[1])
        Conv2DOptions.Conv2DOptionsAddFusedActivationFunction(fb, ACTIVATION[op.activation])
        return Conv2DOptions.Conv2DOptionsEnd(fb)

    _operator(spec, Op.CONV_2D, [src, w, b], [spec.index(op.output)], Opt.Conv2DOptions, options)


def depthwise_conv2d(spec, graph, op, data) -> None:
    """Weights are [1, KH, KW, C_out] already (TFLite's layout): channels on axis 3."""
    x = graph.tensors[op.inputs[0]]
    src, padding = _conv_like(spec, graph, op, op.weight.shape[1:3])
    w, b = _weights(spec, op, x, op.weight, 3)
    multiplier = op.depth_multiplier

    def options(fb):
        D = DepthwiseConv2DOptions
        D.DepthwiseConv2DOptionsStart(fb)
        D.DepthwiseConv2DOptionsAddPadding(fb, padding)
        D.DepthwiseConv2DOptionsAddStrideH(fb, op.stride[0])
        D.DepthwiseConv2DOptionsAddStrideW(fb, op.stride[1])
        D.DepthwiseConv2DOptionsAddDepthMultiplier(fb, multiplier)
        D.DepthwiseConv2DOptionsAddDilationHFactor(fb, op.dilation[0])
        D.DepthwiseConv2DOptionsAddDilationWFactor(fb, op.dilation[1])
        D.DepthwiseConv2DOptionsAddFusedActivationFunction(fb, ACTIVATION[op.activation])
        return D.DepthwiseConv2DOptionsEnd(fb)

    _operator(spec, Op.DEPTHWISE_CONV_2D, [src, w, b], [spec.index(op.output)],
              Opt.DepthwiseConv2DOptions, options)


def fully_connected(spec, graph, op, data) -> None:
    x = graph.tensors[op.inputs[0]]
    w, b = _weights(spec, op, x, op.weight, 0)

    def options(fb):
        F = FullyConnectedOptions
        F.FullyConnectedOptionsStart(fb)
        F.FullyConnectedOptionsAddFusedActivationFunction(fb, ACTIVATION[op.activation])
        F.FullyConnectedOptionsAddKeepNumDims(fb, False)
        return F.FullyConnectedOptionsEnd(fb)

    _operator(spec, Op.FULLY_CONNECTED, [spec.index(x.name), w, b], [spec.index(op.output)],
              Opt.FullyConnectedOptions, options)


def _pool(spec, graph, op, code: int, fill_min: bool, allow_pad: bool) -> None:
    src, padding = _conv_like(spec, graph, op, op.kernel, fill_min=fill_min, allow_pad=allow_pad)

    def options(fb):
        P = Pool2DOptions
        P.Pool2DOptionsStart(fb)
        P.Pool2DOptionsAddPadding(fb, padding)
        P.Pool2DOptionsAddStrideH(fb, op.stride[0])
        P.Pool2DOptionsAddStrideW(fb, op.stride[1])
        P.Pool2DOptionsAddFilterHeight(fb, op.kernel[0])
        P.Pool2DOptionsAddFilterWidth(fb, op.kernel[1])
        P.Pool2DOptionsAddFusedActivationFunction(fb, ACTIVATION[getattr(op, "activation", "none")])
        return P.Pool2DOptionsEnd(fb)

    _operator(spec, code, [src], [spec.index(op.output)], Opt.Pool2DOptions, options)


def max_pool2d(spec, graph, op, data) -> None:
    _pool(spec, graph, op, Op.MAX_POOL_2D, fill_min=True, allow_pad=True)


def avg_pool2d(spec, graph, op, data) -> None:
    _pool(spec, graph, op, Op.AVERAGE_POOL_2D, fill_min=False, allow_pad=False)


def reshape(spec, graph, op, data) -> None:
    y = graph.tensors[op.output]
    shape = spec.add_constant(f"{op.name}/shape", np.array(batch_shape(y), dtype=np.int32))

    def options(fb):
        new_shape = fb.CreateNumpyVector(np.array(batch_shape(y), dtype=np.int32))
        ReshapeOptions.ReshapeOptionsStart(fb)
        ReshapeOptions.ReshapeOptionsAddNewShape(fb, new_shape)
        return ReshapeOptions.ReshapeOptionsEnd(fb)

    _operator(spec, Op.RESHAPE, [spec.index(op.inputs[0]), shape], [spec.index(op.output)],
              Opt.ReshapeOptions, options)


def mean(spec, graph, op, data) -> None:
    """Global average pooling: MEAN over height and width (axes 1, 2 of NHWC)."""
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.output]
    axis = spec.add_constant(f"{op.name}/axis", np.array([1, 2], dtype=np.int32))
    keep = len(y.shape) == len(x.shape)

    def options(fb):
        ReducerOptions.ReducerOptionsStart(fb)
        ReducerOptions.ReducerOptionsAddKeepDims(fb, keep)
        return ReducerOptions.ReducerOptionsEnd(fb)

    _operator(spec, Op.MEAN, [spec.index(x.name), axis], [spec.index(op.output)],
              Opt.ReducerOptions, options)


def add(spec, graph, op, data) -> None:
    def options(fb):
        AddOptions.AddOptionsStart(fb)
        AddOptions.AddOptionsAddFusedActivationFunction(fb, ACTIVATION[getattr(op, "activation", "none")])
        return AddOptions.AddOptionsEnd(fb)

    _operator(spec, Op.ADD, [spec.index(n) for n in op.inputs], [spec.index(op.output)],
              Opt.AddOptions, options)


def concatenation(spec, graph, op, data) -> None:
    y = graph.tensors[op.output]
    axis = int(getattr(op, "axis", len(y.shape) - 1))
    axis = axis % len(y.shape) + 1  # per-sample axis → axis with the batch dimension

    def options(fb):
        C = ConcatenationOptions
        C.ConcatenationOptionsStart(fb)
        C.ConcatenationOptionsAddAxis(fb, axis)
        C.ConcatenationOptionsAddFusedActivationFunction(fb, ACTIVATION[getattr(op, "activation", "none")])
        return C.ConcatenationOptionsEnd(fb)

    _operator(spec, Op.CONCATENATION, [spec.index(n) for n in op.inputs], [spec.index(op.output)],
              Opt.ConcatenationOptions, options)


def pad(spec, graph, op, data) -> None:
    """PAD with the zero point (real 0.0): paddings per per-sample axis, batch axis unpadded."""
    (top, bottom), (left, right) = op.paddings
    amounts = np.array([[0, 0], [top, bottom], [left, right], [0, 0]], dtype=np.int32)
    paddings = spec.add_constant(f"{op.name}/paddings", amounts)
    _operator(spec, Op.PAD, [spec.index(op.inputs[0]), paddings], [spec.index(op.output)],
              Opt.PadOptions, _no_options(PadOptions, "PadOptions"))


def relu(spec, graph, op, data) -> None:
    _operator(spec, Op.RELU, [spec.index(op.inputs[0])], [spec.index(op.output)])


def relu6(spec, graph, op, data) -> None:
    _operator(spec, Op.RELU6, [spec.index(op.inputs[0])], [spec.index(op.output)])


def softmax(spec, graph, op, data) -> None:
    beta = float(getattr(op, "beta", 1.0))

    def options(fb):
        SoftmaxOptions.SoftmaxOptionsStart(fb)
        SoftmaxOptions.SoftmaxOptionsAddBeta(fb, beta)
        return SoftmaxOptions.SoftmaxOptionsEnd(fb)

    _operator(spec, Op.SOFTMAX, [spec.index(op.inputs[0])], [spec.index(op.output)],
              Opt.SoftmaxOptions, options)


TRANSLATIONS: dict[str, Callable] = {
    "conv2d": conv2d, "depthwise_conv2d": depthwise_conv2d, "fully_connected": fully_connected,
    "max_pool2d": max_pool2d, "avg_pool2d": avg_pool2d, "reshape": reshape, "mean": mean,
    "add": add, "concatenation": concatenation, "pad": pad, "relu": relu, "relu6": relu6,
    "softmax": softmax,
}
