"""The training step in PyTorch autograd: an independent check of the hand-written backward, and the
Python clients the C clients are compared with.

``torch_step`` computes one SGD step of ``TrainPlan``'s trainable part with ``torch.autograd`` on a
straight-through surrogate of the int8 forward pass: every op of the backward chain is written in
float PyTorch (real weights ``s_w · q_w``, real biases), and its output takes the value the int8
forward computed (``saved + mask · (f(x) − f(x).detach())``), so gradients flow where the clamp is
open and the values are the deployed ones. Its updates equal the C's within float32 rounding (the
C uses its own ``exp`` and a fixed summation order); the int32 bias steps are the real steps
divided by the bias scale, before rounding.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from pocketml.graph import backward as bw
from pocketml.graph.training import TrainPlan, TrainState


def _nchw(a: np.ndarray) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(a, np.float32))
    return t.permute(2, 0, 1)[None] if t.ndim == 3 else t[None]


def _real(plan: TrainPlan, name: str, q: np.ndarray) -> np.ndarray:
    return plan.graph.tensors[name].quant.dequantize(q)


def _op_forward(op, rule: bw.Rule, x: torch.Tensor, bias: torch.Tensor | None, tensors) -> torch.Tensor:
    """``op`` in float PyTorch on an NCHW (or [1, depth]) tensor."""
    if rule.alias:  # RESHAPE of NHWC bytes: flatten (and unflatten) in NHWC order
        flat = x.permute(0, 2, 3, 1).reshape(1, -1) if x.ndim == 4 else x.reshape(1, -1)
        shape = tensors[op.output].shape
        return flat if len(shape) == 1 else flat.reshape(1, *shape).permute(0, 3, 1, 2)
    if rule.name == "mean":
        return x.mean((2, 3), keepdim=len(tensors[op.output].shape) == 3)
    if rule.name == "relu":
        return x
    if rule.name == "dense":
        w = torch.as_tensor(np.asarray(op.weight_scale, np.float32)[:, None] * op.weight.astype(np.float32))
        return x.reshape(1, -1) @ w.T + bias
    end = op.padding if op.padding_end is None else op.padding_end
    fill = float("-inf") if rule.name == "max_pool" else 0.0
    x = F.pad(x, (op.padding[1], end[1], op.padding[0], end[0]), value=fill)
    if rule.name == "max_pool":
        return F.max_pool2d(x, op.kernel, op.stride)
    scale = np.asarray(op.weight_scale, np.float32)
    if rule.name == "depthwise":
        w = torch.as_tensor(np.transpose(op.weight.astype(np.float32) * scale, (3, 0, 1, 2)))
        return F.conv2d(x, w, bias, op.stride, 0, op.dilation, groups=w.shape[0])
    w = torch.as_tensor(np.transpose(op.weight.astype(np.float32) * scale[:, None, None, None], (0, 3, 1, 2)))
    return F.conv2d(x, w, bias, op.stride, 0, op.dilation)


def torch_step(plan: TrainPlan, state: TrainState, x: np.ndarray, label: int, lr: float
               ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """One SGD step by autograd: (new head W, new head b, the real-valued bias steps in int32 units)."""
    graph, head = plan.graph, plan.head
    values = plan.forward_values(state, np.asarray(x, np.int8)[None])
    tensors = graph.tensors
    biases: list[torch.Tensor] = []
    chain = list(reversed(plan.chain))  # forward order, from the earliest trained layer
    if chain:
        first = graph.ops[chain[0].index]
        cur = _nchw(_real(plan, first.inputs[0], values[first.inputs[0]][0]))
        for s in chain:
            op = graph.ops[s.index]
            bias = None
            if s.bias is not None:
                scale = bw.bias_scale(op, tensors)
                bias = torch.tensor(state.biases[s.bias].astype(np.float32) * scale, requires_grad=True)
                biases.append(bias)
            out = _op_forward(op, s.rule, cur, bias, tensors)
            saved = _nchw(_real(plan, op.output, values[op.output][0])).reshape(out.shape)
            if s.mask:
                lo, hi = bw.mask_range(plan.prepared(s.index))
                keep = _nchw(((values[op.output][0].astype(np.int32) > lo)
                              & (values[op.output][0].astype(np.int32) < hi)).astype(np.float32)).reshape(out.shape)
                out = saved + keep * (out - out.detach())
            elif not s.rule.alias:
                out = saved + (out - out.detach())
            cur = out
        feats = cur.permute(0, 2, 3, 1).reshape(1, -1) if cur.ndim == 4 else cur.reshape(1, -1)
    else:
        feats = torch.as_tensor(_real(plan, head.input, values[head.input][0]).reshape(1, -1))
    w = torch.tensor(state.head_w, requires_grad=head.train_weight)
    b = torch.tensor(state.head_b, requires_grad=True)
    loss = F.cross_entropy(feats @ w.T + b, torch.tensor([int(label)]))
    loss.backward()
    with torch.no_grad():
        new_w = (w - lr * w.grad).numpy() if head.train_weight else state.head_w
        new_b = (b - lr * b.grad).numpy()
    trained = [plan.bias_layers[s.bias] for s in chain if s.bias is not None]  # forward order, as `biases`
    steps = {layer.name: (-lr * t.grad.numpy().astype(np.float64)) * layer.inv_scale.astype(np.float64)
             for t, layer in zip(biases, trained, strict=True)}
    return new_w.astype(np.float32), new_b.astype(np.float32), tuple(steps[layer.name] for layer in plan.bias_layers)
