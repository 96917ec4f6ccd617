"""Builds the ``.tflite`` files of the compile tests with pocketml's own writer (no TensorFlow).

``GraphBuilder`` chains int8 ops by hand (random int8 weights, scales chosen so outputs use
the int8 range) with TFLite's own SAME/VALID padding, including SAME's extra bottom/right pixel,
so the writer emits SAME/VALID exactly as the converter does. What the writer never emits is
patched into its ``TFLiteModelSpec`` here, with the ``tflite`` package's flatbuffer builders:
float32 edges (QUANTIZE / DEQUANTIZE), SQUEEZE instead of RESHAPE, per-tensor weight
quantization, an unsupported fused activation or operator.
"""

from __future__ import annotations

import math
from dataclasses import replace
from importlib import import_module

import numpy as np
from tflite.ActivationFunctionType import ActivationFunctionType
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt

from pocketml.deploy.tflite.writer import tflite_spec
from pocketml.formats.tflite import OperatorSpec, TensorQuant, TensorSpec, TFLiteModelSpec
from pocketml.graph.ir import QuantGraph, QuantParams, TensorInfo
from pocketml.ops.registry import OPS

Add, AvgPool2D, Concatenation, Conv2D, DepthwiseConv2D, FullyConnected, MaxPool2D, Mean, Pad, ReLU, ReLU6, Reshape, \
    Softmax, Quantize, Sub, Mul = (OPS[k] for k in ("add", "avg_pool2d", "concatenation", "conv2d",
                                                    "depthwise_conv2d", "fully_connected", "max_pool2d", "mean", "pad",
                                                    "relu", "relu6", "reshape", "softmax", "quantize", "sub", "mul"))
Logistic, Tanh = OPS["logistic"], OPS["tanh"]
SqueezeOptions = import_module("tflite.SqueezeOptions")
Conv2DOptions = import_module("tflite.Conv2DOptions")
INPUT_QUANT = QuantParams(0.05, 3)


def tflite_window(in_hw, kernel, stride, dilation, mode: str):
    """(out_hw, padding (top, left), padding_end (bottom, right) or None) as TFLite computes them."""
    out, start, end = [], [], []
    for i in range(2):
        k_eff = (kernel[i] - 1) * dilation[i] + 1
        if mode == "same":
            o = -(-in_hw[i] // stride[i])
            total = max(0, (o - 1) * stride[i] + k_eff - in_hw[i])
        else:
            o, total = (in_hw[i] - k_eff) // stride[i] + 1, 0
        out.append(o)
        start.append(total // 2)
        end.append(total - total // 2)
    return tuple(out), tuple(start), (None if start == end else tuple(end))


class GraphBuilder:
    """Append ops one by one; every method returns the name of its output tensor."""

    def __init__(self, name: str, input_shape: tuple[int, ...], seed: int = 0, input_quant: QuantParams = INPUT_QUANT):
        self.rng = np.random.default_rng(seed)
        self.name = name
        self.tensors: dict[str, TensorInfo] = {}
        self.ops: list = []
        self.input = self._tensor("input", input_shape, input_quant)

    def _tensor(self, name: str, shape, quant: QuantParams, dtype: str = "int8") -> str:
        self.tensors[name] = TensorInfo(name, tuple(int(s) for s in shape), quant, dtype)
        return name

    def _like(self, name: str, shape, x: str, quant: QuantParams | None = None) -> str:
        """A tensor of ``x``'s type (int8, or int16 after :meth:`to_int16`) and, by default, quantization."""
        return self._tensor(name, shape, quant or self.tensors[x].quant, self.tensors[x].dtype)

    def to_int16(self, x: str, spread: float = 200.0) -> str:
        """QUANTIZE int8 -> int16 (symmetric, scale s_x / ``spread``): the ops after it run TFLite's 16x8."""
        name = self._name("to_int16")
        y = self._tensor(name, self.tensors[x].shape, QuantParams(self.tensors[x].quant.scale / spread, 0), "int16")
        self.ops.append(Quantize(name, (x,), y))
        return y

    def to_int8(self, x: str, quant: QuantParams) -> str:
        """QUANTIZE int16 -> int8."""
        name = self._name("to_int8")
        y = self._tensor(name, self.tensors[x].shape, quant)
        self.ops.append(Quantize(name, (x,), y))
        return y

    def _name(self, kind: str) -> str:
        return f"{kind}{len(self.ops)}"

    def _weighted_out(self, x: str, fan_in: int, w_scales: np.ndarray, act: str, quant) -> QuantParams:
        if quant is not None:
            return quant
        s = float(self.tensors[x].quant.scale * np.median(w_scales) * math.sqrt(fan_in) * 60.0)
        if self.tensors[x].dtype == "int16":  # 16x8: symmetric; an int16 input's values are ~256 times larger
            return QuantParams(s * 1.5, 0)
        return QuantParams(s, -128 if act != "none" else int(self.rng.integers(-20, 20)))

    def _weights(self, shape, channels: int, per_tensor: bool, x: str | None = None, bias32: bool = False):
        """Random int8 weights, scales and a bias: int32, or for an int16 input ``x`` (16x8) int64 unless
        ``bias32``, spread 256 times wider (as the input)."""
        w = self.rng.integers(-127, 128, size=shape).astype(np.int8)
        scales = np.full(channels, 0.004, np.float32) if per_tensor else \
            self.rng.uniform(0.002, 0.008, channels).astype(np.float32)
        if x is not None and self.tensors[x].dtype == "int16":
            top = 2000 * 256
            return w, scales, self.rng.integers(-top, top, size=channels).astype(np.int32 if bias32 else np.int64)
        bias = self.rng.integers(-2000, 2000, size=channels).astype(np.int32)
        return w, scales, bias

    def conv(self, x: str, cout: int, k=3, stride=1, mode="same", dilation=1, act="none", per_tensor=False,
             quant: QuantParams | None = None, bias32: bool = False) -> str:
        h, w_, cin = self.tensors[x].shape
        k, stride, dilation = _pair(k), _pair(stride), _pair(dilation)
        out_hw, pad, end = tflite_window((h, w_), k, stride, dilation, mode)
        w, scales, bias = self._weights((cout, *k, cin), cout, per_tensor, x, bias32)
        name = self._name("conv")
        y = self._like(name, (*out_hw, cout), x, self._weighted_out(x, k[0] * k[1] * cin, scales, act, quant))
        self.ops.append(Conv2D(name, (x,), y, w, bias, scales, stride, pad, dilation, act, end))
        return y

    def depthwise(self, x: str, multiplier=1, k=3, stride=1, mode="same", dilation=1, act="none") -> str:
        h, w_, cin = self.tensors[x].shape
        k, stride, dilation = _pair(k), _pair(stride), _pair(dilation)
        out_hw, pad, end = tflite_window((h, w_), k, stride, dilation, mode)
        cout = cin * multiplier
        w, scales, bias = self._weights((1, *k, cout), cout, False, x)
        name = self._name("dw")
        y = self._like(name, (*out_hw, cout), x, self._weighted_out(x, k[0] * k[1], scales, act, None))
        self.ops.append(DepthwiseConv2D(name, (x,), y, w, bias, scales, stride, pad, dilation, multiplier, act, end))
        return y

    def pool(self, x: str, kind: str, k=2, stride=2, mode="valid", act="none") -> str:
        h, w_, c = self.tensors[x].shape
        k, stride = _pair(k), _pair(stride)
        out_hw, pad, end = tflite_window((h, w_), k, stride, (1, 1), mode)
        name = self._name(kind)
        y = self._like(name, (*out_hw, c), x)
        cls = MaxPool2D if kind == "maxpool" else AvgPool2D
        self.ops.append(cls(name, (x,), y, k, stride, pad, act, end))
        return y

    def reshape(self, x: str, shape) -> str:
        name = self._name("reshape")
        y = self._like(name, shape, x)
        self.ops.append(Reshape(name, (x,), y, tuple(shape)))
        return y

    def fc(self, x: str, cout: int, act="none", per_tensor=False, bias32: bool = False) -> str:
        (depth,) = self.tensors[x].shape
        w, scales, bias = self._weights((cout, depth), cout, per_tensor, x, bias32)
        name = self._name("fc")
        y = self._like(name, (cout,), x, self._weighted_out(x, depth, scales, act, None))
        self.ops.append(FullyConnected(name, (x,), y, w, bias, scales, act))
        return y

    def softmax(self, x: str, beta=1.0) -> str:
        name = self._name("softmax")
        if self.tensors[x].dtype == "int16":  # 16x8: int16 out at 1/32768
            y = self._tensor(name, self.tensors[x].shape, QuantParams(1 / 32768, 0), "int16")
        else:
            y = self._tensor(name, self.tensors[x].shape, QuantParams(1 / 256, -128))
        self.ops.append(Softmax(name, (x,), y, beta))
        return y

    def curve(self, x: str, kind: str) -> str:
        """LOGISTIC or TANH (``kind``) at TFLite's fixed output quantization (int16: 1/32768, 0)."""
        name = self._name(kind)
        if self.tensors[x].dtype == "int16":
            y = self._tensor(name, self.tensors[x].shape, QuantParams(1 / 32768, 0), "int16")
        else:
            y = self._tensor(name, self.tensors[x].shape, QuantParams(1 / 256, -128) if kind == "logistic"
                             else QuantParams(1 / 128, 0))
        self.ops.append((Logistic if kind == "logistic" else Tanh)(name, (x,), y))
        return y

    def add(self, a: str, b: str, act="none") -> str:
        qa, qb = self.tensors[a].quant, self.tensors[b].quant
        name = self._name("add")
        zero_point = 0 if self.tensors[a].dtype == "int16" else -5  # int16 (16x8): symmetric
        y = self._like(name, self.tensors[a].shape, a, QuantParams(2 * max(qa.scale, qb.scale), zero_point))
        self.ops.append(Add(name, (a, b), y, act))
        return y

    def mean(self, x: str, keep_dims=False) -> str:
        c = self.tensors[x].shape[-1]
        name = self._name("mean")
        q = self.tensors[x].quant
        y = self._like(name, (1, 1, c) if keep_dims else (c,), x, QuantParams(q.scale * 0.7, q.zero_point // 2))
        self.ops.append(Mean(name, (x,), y, self.tensors[y].shape))
        return y

    def concat(self, xs) -> str:
        name = self._name("concat")
        first = self.tensors[xs[0]]
        c = sum(self.tensors[x].shape[-1] for x in xs)
        y = self._tensor(name, (*first.shape[:-1], c), first.quant)
        self.ops.append(Concatenation(name, tuple(xs), y))
        return y

    def pad(self, x: str, paddings) -> str:
        h, w_, c = self.tensors[x].shape
        (t, b), (left, r) = paddings
        name = self._name("pad")
        y = self._like(name, (h + t + b, w_ + left + r, c), x)
        self.ops.append(Pad(name, (x,), y, paddings))
        return y

    def relu(self, x: str, six=False) -> str:
        name = self._name("relu6" if six else "relu")
        q = self.tensors[x].quant
        zero_point = 0 if self.tensors[x].dtype == "int16" else -128  # int16 (16x8): symmetric
        y = self._like(name, self.tensors[x].shape, x, q if six else QuantParams(q.scale * 0.8, zero_point))
        self.ops.append((ReLU6 if six else ReLU)(name, (x,), y))
        return y

    def sub(self, a: str, b: str, act="none") -> str:
        qa, qb = self.tensors[a].quant, self.tensors[b].quant
        name = self._name("sub")
        zero_point = 0 if self.tensors[a].dtype == "int16" else 3  # int16 (16x8): symmetric
        y = self._like(name, self.tensors[a].shape, a, QuantParams(2 * max(qa.scale, qb.scale), zero_point))
        self.ops.append(Sub(name, (a, b), y, act))
        return y

    def mul(self, a: str, b: str, act="none", gate: bool = False) -> str:
        """a · b at an output scale that keeps typical products in range (the multiplier stays below one);
        ``gate``: ``b`` is in [0, 1] (a LOGISTIC), the product keeps ``a``'s scale."""
        qa, qb = self.tensors[a].quant, self.tensors[b].quant
        name = self._name("mul")
        wide = self.tensors[a].dtype == "int16"
        scale = qa.scale if gate else qa.scale * qb.scale * (4096 if wide else 16)
        y = self._like(name, self.tensors[a].shape, a, QuantParams(scale, 0 if wide else -2))
        self.ops.append(Mul(name, (a, b), y, act))
        return y

    def graph(self, output) -> QuantGraph:
        """The graph ending at ``output`` (a tensor name, or a tuple of names for several outputs)."""
        g = QuantGraph(self.name, dict(self.tensors), list(self.ops), self.input, output)
        _ = g.op_data
        return g


def model_16x8(seed: int = 0, int16: bool = True, int16_edges: bool = False) -> QuantGraph:
    """TFLite's 16x8 scheme end to end: int8 input -> QUANTIZE to int16 -> CONV_2D (int64 bias, RELU)
    -> MAX_POOL_2D -> DEPTHWISE_CONV_2D + the pool (a residual ADD) -> CONV_2D 1x1 (int32 bias)
    -> AVERAGE_POOL_2D -> RESHAPE -> FULLY_CONNECTED (int64 bias) -> QUANTIZE to int8 (the logits).
    ``int16_edges``: the model's input and output are the int16 tensors themselves (no QUANTIZE; what
    the converter writes between float edges, see :func:`float_edges`). ``int16=False``: the same
    layers all int8 (no QUANTIZE), its twin for side-by-side figures (bench/int16.py)."""
    quant = QuantParams(INPUT_QUANT.scale / 200, 0) if int16_edges else INPUT_QUANT
    b = GraphBuilder("m16x8" if int16 else "m8x8", (8, 8, 3), seed=seed, input_quant=quant)
    if int16_edges:
        b.tensors[b.input] = replace(b.tensors[b.input], dtype="int16")
    x = b.to_int16(b.input) if int16 and not int16_edges else b.input
    x = b.conv(x, 8, k=3, mode="same", act="relu")
    pooled = b.pool(x, "maxpool", k=2, stride=2)
    x = b.add(pooled, b.depthwise(pooled, k=3, mode="same"))
    x = b.pool(b.conv(x, 6, k=1, mode="valid", bias32=True), "avgpool", k=2, stride=2)
    x = b.fc(b.reshape(x, (24,)), 10)
    if int16 and not int16_edges:
        x = b.to_int8(x, QuantParams(b.tensors[x].quant.scale * 256, 0))
    return b.graph(x)


def model_16x8_elementwise(seed: int = 0, int16: bool = True) -> QuantGraph:
    """The element-wise ops of TFLite's 16x8 scheme: int8 input -> QUANTIZE to int16 -> CONV_2D 3x3 -> TANH
    -> PAD -> DEPTHWISE_CONV_2D (valid) -> RELU; RELU6 of the conv; SUB of the two; MUL by the LOGISTIC
    of the conv (a gate) -> AVERAGE_POOL_2D -> MEAN (H, W) -> FULLY_CONNECTED -> SOFTMAX (beta 0.1) ->
    QUANTIZE to int8. ``int16=False``: its int8 twin (bench/int16.py)."""
    b = GraphBuilder("e16x8" if int16 else "e8x8", (8, 8, 3), seed=seed)
    x = b.to_int16(b.input) if int16 else b.input
    c = b.conv(x, 6, k=3, mode="same")
    d = b.relu(b.depthwise(b.pad(b.curve(c, "tanh"), ((1, 1), (1, 1))), k=3, mode="valid"))
    m = b.mul(b.sub(d, b.relu(c, six=True)), b.curve(c, "logistic"), gate=True)
    y = b.softmax(b.fc(b.mean(b.pool(m, "avgpool", k=2, stride=2)), 10), beta=0.1)  # beta: not one-hot
    if int16:
        y = b.to_int8(y, QuantParams(1 / 256, -128))
    return b.graph(y)


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


# ---- patches of the writer's spec: what the converter emits and the writer never does ------------

def spec_of(graph: QuantGraph, outputs=None) -> TFLiteModelSpec:
    return tflite_spec(graph, outputs)


def float_edges(spec: TFLiteModelSpec, graph: QuantGraph, inp=True, out=True) -> None:
    """A float32 model input + QUANTIZE, and/or DEQUANTIZE + a float32 model output."""
    if inp:
        f = spec.add_tensor(TensorSpec("input_float", (1, *graph.input_info.shape), np.dtype(np.float32), None))
        spec.operators.insert(0, OperatorSpec(Op.QUANTIZE, 1, (f,), (spec.index(graph.input),)))
        spec.inputs = [f]
    if out:
        f = spec.add_tensor(TensorSpec("output_float", (1, *graph.output_info.shape), np.dtype(np.float32), None))
        spec.operators.append(OperatorSpec(Op.DEQUANTIZE, 2, (spec.index(graph.output),), (f,)))
        spec.outputs = [f]


def float_outputs(spec: TFLiteModelSpec, which) -> None:
    """DEQUANTIZE + a float32 model output in place of each int8 output whose position is in ``which``."""
    outputs = list(spec.outputs)
    for k in which:
        src = spec.tensors[outputs[k]]
        f = spec.add_tensor(TensorSpec(f"output{k}_float", src.shape, np.dtype(np.float32), None))
        spec.operators.append(OperatorSpec(Op.DEQUANTIZE, 2, (outputs[k],), (f,)))
        outputs[k] = f
    spec.outputs = outputs


def squeeze_reshapes(spec: TFLiteModelSpec) -> int:
    """Every RESHAPE [1, 1, 1, C] → [1, C] becomes SQUEEZE(squeeze_dims=[1, 2]); returns how many."""
    n = 0
    for i, op in enumerate(spec.operators):
        if op.builtin_code != Op.RESHAPE:
            continue
        src, dst = spec.tensors[op.inputs[0]].shape, spec.tensors[op.outputs[0]].shape
        if len(src) == 4 and src[1:3] == (1, 1) and dst == (1, src[3]):
            def options(fb):
                dims = fb.CreateNumpyVector(np.array([1, 2], dtype=np.int32))
                SqueezeOptions.SqueezeOptionsStart(fb)
                SqueezeOptions.SqueezeOptionsAddSqueezeDims(fb, dims)
                return SqueezeOptions.SqueezeOptionsEnd(fb)
            spec.operators[i] = OperatorSpec(Op.SQUEEZE, 1, (op.inputs[0],), op.outputs, Opt.SqueezeOptions, options)
            n += 1
    return n


def per_tensor_weights(spec: TFLiteModelSpec, op_name: str) -> None:
    """Store ``op_name``'s weights (and bias) with one scale, as older converters did."""
    for suffix in ("/weights", "/bias"):
        i = spec.index(op_name + suffix)
        t = spec.tensors[i]
        assert len(set(t.quant.scales)) == 1, "build the op with per_tensor=True (equal scales)"
        spec.tensors[i] = replace(t, quant=TensorQuant((t.quant.scales[0],), (0,), 0))


def conv_activation(spec: TFLiteModelSpec, index: int, activation: int = ActivationFunctionType.RELU_N1_TO_1,
                    stride=(1, 1)) -> None:
    """Rewrite operator ``index`` (a CONV_2D) with another fused activation (SAME padding)."""
    op = spec.operators[index]
    assert op.builtin_code == Op.CONV_2D

    def options(fb):
        Conv2DOptions.Conv2DOptionsStart(fb)
        Conv2DOptions.Conv2DOptionsAddPadding(fb, 0)
        Conv2DOptions.Conv2DOptionsAddStrideH(fb, stride[0])
        Conv2DOptions.Conv2DOptionsAddStrideW(fb, stride[1])
        Conv2DOptions.Conv2DOptionsAddDilationHFactor(fb, 1)
        Conv2DOptions.Conv2DOptionsAddDilationWFactor(fb, 1)
        Conv2DOptions.Conv2DOptionsAddFusedActivationFunction(fb, activation)
        return Conv2DOptions.Conv2DOptionsEnd(fb)
    spec.operators[index] = replace(op, write_options=options)


def append_operator(spec: TFLiteModelSpec, code: int, version: int = 1) -> None:
    """Append a weightless one-in one-out operator (e.g. TANH) after the output; it becomes the output."""
    src = spec.outputs[0]
    t = spec.tensors[src]
    y = spec.add_tensor(replace(t, name=f"{t.name}/after"))
    spec.operators.append(OperatorSpec(code, version, (src,), (y,)))
    spec.outputs = [y]
