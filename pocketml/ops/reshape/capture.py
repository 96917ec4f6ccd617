"""RESHAPE from PyTorch: ``nn.Flatten`` / ``view(N, -1)`` of a feature map, captured and quantized.

pocketml flattens in NHWC order, which moves no data; PyTorch flattens CHW. So a flattened map is
remembered (``walker.flattened_from``): a Linear reading it gets its columns permuted
(fully_connected's rule), and anything else reading it is refused (the two orders would differ).
"""

from __future__ import annotations

import numpy as np

from pocketml.graph.layers import FloatLayer
from pocketml.ops.reshape.op import Reshape


def capture_flatten(w, node) -> None:
    src = w.tensor(node, node.args[0])
    shape = w.shape_of[src]
    out = w.torch_shape(node)
    if len(out) != 1 or int(np.prod(shape)) != out[0]:
        raise w.fail(node, f"reshape to {tuple(node.meta['val'].shape)}; only flatten to (N, -1) is supported")
    if len(shape) == 1:  # already flat: nothing to do
        w.alias(node, src)
        return
    w.add(node, FloatLayer("reshape", w.new_name("flatten"), node.name, out, inputs=(src,)))
    h, wd, c = shape
    w.flattened_from[w.tensor_of[node.name]] = (c, h, wd)


CAPTURE = {"aten.flatten.using_ints": capture_flatten, "aten.view.default": capture_flatten,
           "aten.reshape.default": capture_flatten, "aten._unsafe_view.default": capture_flatten}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> Reshape:
    return Reshape(layer.name, tuple(t.name for t in xs), out.name, out.shape)


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The layer in float PyTorch: a flatten in NHWC order, as the quantized graph (no data moves);
    a layer with ``attrs["torch_shape"]`` (a GRU's step as a column of its output sequence) takes that shape."""
    x = xs[0]
    if "torch_shape" in layer.attrs:
        return x.reshape(len(x), *layer.attrs["torch_shape"])
    return (x.permute(0, 2, 3, 1) if x.dim() == 4 else x).reshape(len(x), -1)
