"""Backward rules: how a gradient (float32, real units) crosses each op the training step backpropagates.

The training step (``graph/training.py``) keeps the int8 forward pass exactly as deployed and
computes gradients in float32 with the straight-through estimator: a quantize/requantize step
passes the gradient unchanged, a clamp (a fused ReLU/ReLU6, or int8 saturation) blocks it where
the saved int8 output sits at a bound:

    weighted layer  y = clamp(requant(W·x + b))      dL/da = dL/dy · [act_min < q_y < act_max]
                                                      dL/db[c] = Σ_p dL/da[p, c]
                                                      dL/dx = Wᵀ · dL/da   (W real: s_w[c] · q_w)
    MAX_POOL_2D     dL/dx[argmax of each window] += dL/dy      (first maximum in scan order)
    MEAN            dL/dx[p, c] = dL/dy[c] · (1 / (H·W))
    RESHAPE         the same gradient (an alias)
    RELU / RELU6    the clamp's mask only

Only the *biases* of body layers train (TinyTL, MCUNetV3's sparse bias update), so no layer's
input activation is kept: a bias gradient needs the masks (the saved int8 outputs) and the frozen
weights only.

Every function here is the exact mirror of its C twin in ``deploy/c/runtime/pocketml_train.c``:
the same float32 operations in the same order (no pairwise sums, no fused multiply-add), so the
numpy reference and the compiled C agree bit for bit. Loops run over the reduction in C order
and vectorise only across independent outputs.

These rules sit together here rather than in the op folders while training is young; each is
keyed by the op's reference class (:data:`RULES`), never by a kind string.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pocketml.graph.ir import TensorInfo
from pocketml.ops.conv2d.op import Conv2D
from pocketml.ops.depthwise_conv2d.op import DepthwiseConv2D
from pocketml.ops.fully_connected.op import FullyConnected
from pocketml.ops.max_pool2d.op import MaxPool2D
from pocketml.ops.mean.op import Mean
from pocketml.ops.relu.op import ReLU
from pocketml.ops.relu6.op import ReLU6
from pocketml.ops.reshape.op import Reshape

F32 = np.float32


@dataclass(frozen=True)
class Rule:
    """How one op class backpropagates.

    ``weighted``: the op has an int32 bias that can train. ``mask``: the gradient of the op's
    output is masked by its clamp (its output is then kept from the forward pass). ``alias``:
    the input gradient is the output gradient's buffer (RESHAPE). ``reads_input``: the backward
    reads the op's int8 input (MAX_POOL_2D's argmax), which is then kept too.
    """

    name: str
    weighted: bool = False
    mask: bool = False
    alias: bool = False
    reads_input: bool = False


RULES: dict[type, Rule] = {
    Conv2D: Rule("conv", weighted=True, mask=True),
    DepthwiseConv2D: Rule("depthwise", weighted=True, mask=True),
    FullyConnected: Rule("dense", weighted=True, mask=True),
    MaxPool2D: Rule("max_pool", mask=True, reads_input=True),
    Mean: Rule("mean"),
    Reshape: Rule("reshape", alias=True),
    ReLU: Rule("relu", mask=True),
    ReLU6: Rule("relu", mask=True),
}


def rule_of(op) -> Rule | None:
    """The backward rule of ``op``, or None when the training step cannot backpropagate through it."""
    rule = RULES.get(type(op))
    if rule is not None and rule.name == "depthwise" and op.depth_multiplier != 1:
        return None  # the C backward walks one input channel per output channel
    if rule is not None and rule.name == "mean" and op.axes is not None and tuple(op.axes) not in ((0, 1), (1, 0)):
        return None  # the backward spreads over H and W of an [H, W, C] map only
    return rule


def mask_range(data) -> tuple[int, int]:
    """The int8 clamp of an op's output: its fused activation's range (requant) or its own act range."""
    rq = getattr(data, "requant", None)
    if rq is not None:
        return int(rq.act_min), int(rq.act_max)
    return int(data.act_min), int(data.act_max)


def bias_scale(op, tensors: dict[str, TensorInfo]) -> np.ndarray:
    """Real value of one unit of the int32 bias, per channel: ``s_x · s_w[c]`` (float32)."""
    return (F32(tensors[op.inputs[0]].quant.scale) * np.asarray(op.weight_scale, F32)).astype(F32)


# ---- the mirrors of pocketml_train.c (one sample; float32 throughout) ----------------------------

def apply_mask(grad: np.ndarray, y: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """``pocketml_train_mask``: zero the gradient where the saved int8 output sits at a clamp bound."""
    keep = (y.astype(np.int32) > lo) & (y.astype(np.int32) < hi)
    return np.where(keep.reshape(grad.shape), grad, F32(0.0)).astype(F32)


def bias_gradient(grad: np.ndarray, channels: int) -> np.ndarray:
    """Σ over pixels of the gradient map [P, C], pixel by pixel in raster order from +0."""
    g = grad.reshape(-1, channels)
    acc = np.zeros(channels, F32)
    for p in range(len(g)):
        acc = acc + g[p]
    return acc


QUANT_LIMIT = F32(16777216.0)  # 2^24: every int32 bias step and bias stays exact as a float32


def bias_step(gb: np.ndarray, lr: float, inv_scale: np.ndarray) -> np.ndarray:
    """``-lr · dL/db`` in int32 bias units (quantization-aware scaling), rounded half away from zero.

    ``q = (lr · g) · (1 / (s_x s_w))``; ``step = -round(q)`` with ``round(q) = trunc(q ± 0.5)``
    in float32, ``q`` clamped to ±2^24 first (a NaN gives 0), as the C does.
    """
    q = (F32(lr) * gb.astype(F32)) * inv_scale.astype(F32)
    q = np.where(np.isnan(q), F32(0.0), np.clip(q, -QUANT_LIMIT, QUANT_LIMIT)).astype(F32)
    rounded = np.where(q >= F32(0.0), q + F32(0.5), q - F32(0.5)).astype(F32)
    return -np.trunc(rounded).astype(np.int64)


def conv_backward(op, tensors: dict[str, TensorInfo], grad_out: np.ndarray) -> np.ndarray:
    """``pocketml_train_conv_backward`` for CONV_2D and FULLY_CONNECTED (a 1x1 map of ``depth`` channels).

    for oy, ox, co:  t = s_w[co] · g_out[oy, ox, co];  skip t == 0
        for ky, kx (inside the input), ci:  g_in[iy, ix, ci] += t · q_w[co, ky, kx, ci]
    """
    x_shape, y_shape = tensors[op.inputs[0]].shape, tensors[op.output].shape
    if isinstance(op, FullyConnected):
        ih, iw, ic = 1, 1, x_shape[0]
        oh, ow, oc = 1, 1, y_shape[0]
        w = op.weight.reshape(oc, 1, 1, ic).astype(F32)
        stride, pad, dil = (1, 1), (0, 0), (1, 1)
    else:
        ih, iw, ic = x_shape
        oh, ow, oc = y_shape
        w = op.weight.astype(F32)
        stride, pad, dil = op.stride, op.padding, op.dilation
    kh, kw = w.shape[1:3]
    scale = np.asarray(op.weight_scale, F32)
    g = grad_out.reshape(oh, ow, oc).astype(F32)
    g_in = np.zeros((ih, iw, ic), F32)
    for oy in range(oh):
        for ox in range(ow):
            for co in range(oc):
                t = scale[co] * g[oy, ox, co]
                if t == 0:
                    continue
                for ky in range(kh):
                    iy = oy * stride[0] - pad[0] + ky * dil[0]
                    if iy < 0 or iy >= ih:
                        continue
                    for kx in range(kw):
                        ix = ox * stride[1] - pad[1] + kx * dil[1]
                        if 0 <= ix < iw:
                            g_in[iy, ix] = g_in[iy, ix] + t * w[co, ky, kx]
    return g_in.reshape(x_shape)


def depthwise_backward(op, tensors: dict[str, TensorInfo], grad_out: np.ndarray) -> np.ndarray:
    """``pocketml_train_depthwise_backward`` (depth multiplier 1).

    for oy, ox, ky, kx (inside the input), c:  g_in[iy, ix, c] += (s_w[c] · g_out[oy, ox, c]) · q_w[ky, kx, c]
    """
    ih, iw, c = tensors[op.inputs[0]].shape
    oh, ow, _ = tensors[op.output].shape
    kh, kw = op.weight.shape[1:3]
    w = op.weight[0].astype(F32)
    scale = np.asarray(op.weight_scale, F32)
    g = grad_out.reshape(oh, ow, c).astype(F32)
    g_in = np.zeros((ih, iw, c), F32)
    for oy in range(oh):
        for ox in range(ow):
            t = scale * g[oy, ox]
            for ky in range(kh):
                iy = oy * op.stride[0] - op.padding[0] + ky * op.dilation[0]
                if iy < 0 or iy >= ih:
                    continue
                for kx in range(kw):
                    ix = ox * op.stride[1] - op.padding[1] + kx * op.dilation[1]
                    if 0 <= ix < iw:
                        g_in[iy, ix] = g_in[iy, ix] + t * w[ky, kx]
    return g_in


def max_pool_backward(op, tensors: dict[str, TensorInfo], x: np.ndarray, grad_out: np.ndarray) -> np.ndarray:
    """``pocketml_train_max_pool_backward``: each window's gradient to its first maximum (scan order)."""
    ih, iw, c = tensors[op.inputs[0]].shape
    oh, ow, _ = tensors[op.output].shape
    kh, kw = op.kernel
    x = x.reshape(ih, iw, c).astype(np.int32)
    g = grad_out.reshape(oh, ow, c).astype(F32)
    g_in = np.zeros((ih, iw, c), F32)
    channels = np.arange(c)
    for oy in range(oh):
        for ox in range(ow):
            best = np.full(c, -129, np.int32)  # below any int8: the first tap replaces it
            at_y = np.zeros(c, np.int64)
            at_x = np.zeros(c, np.int64)
            found = False
            for ky in range(kh):
                iy = oy * op.stride[0] - op.padding[0] + ky
                if iy < 0 or iy >= ih:
                    continue
                for kx in range(kw):
                    ix = ox * op.stride[1] - op.padding[1] + kx
                    if 0 <= ix < iw:
                        better = x[iy, ix] > best
                        best = np.where(better, x[iy, ix], best)
                        at_y = np.where(better, iy, at_y)
                        at_x = np.where(better, ix, at_x)
                        found = True
            if found:  # a window entirely in the padding passes nothing (as the C)
                g_in[at_y, at_x, channels] = g_in[at_y, at_x, channels] + g[oy, ox]
    return g_in


def mean_backward(tensors: dict[str, TensorInfo], op, grad_out: np.ndarray) -> np.ndarray:
    """``pocketml_train_mean_backward``: every pixel gets ``g_out[c] · (1 / (H·W))``."""
    h, w, c = tensors[op.inputs[0]].shape
    inv = F32(1.0 / (h * w))
    g = grad_out.reshape(c).astype(F32) * inv
    return np.broadcast_to(g, (h, w, c)).astype(F32)


def backward_input(op, rule: Rule, tensors: dict[str, TensorInfo], grad_out: np.ndarray,
                   saved_input: np.ndarray | None) -> np.ndarray:
    """The gradient of ``op``'s input from the (masked) gradient of its output."""
    if rule.alias:
        return grad_out.reshape(tensors[op.inputs[0]].shape)
    if rule.name in ("conv", "dense"):
        return conv_backward(op, tensors, grad_out)
    if rule.name == "depthwise":
        return depthwise_backward(op, tensors, grad_out)
    if rule.name == "max_pool":
        return max_pool_backward(op, tensors, saved_input, grad_out)
    if rule.name == "mean":
        return mean_backward(tensors, op, grad_out)
    return grad_out.reshape(tensors[op.inputs[0]].shape)  # relu: the mask was the whole backward
