"""STRIDED_SLICE from PyTorch: ``x[..., a:b:s]`` on one axis (``aten.slice``; positive steps),
captured and quantized."""

from __future__ import annotations

from pocketml.graph.layers import FloatLayer, nhwc_axis
from pocketml.ops.strided_slice.op import StridedSlice


def capture_slice(w, node) -> None:
    a = w.args(node)
    src = w.tensor(node, a["self"])
    w.no_permuted_flat(node, src, "a slice")
    rank = len(a["self"].meta["val"].shape)
    dim = int(a["dim"]) % rank
    if dim == 0:
        raise w.fail(node, "a slice of the batch axis")
    size = int(a["self"].meta["val"].shape[dim])
    step = int(a.get("step") or 1)
    start, end = a.get("start"), a.get("end")
    start, stop, _ = slice(start, end, step).indices(size)
    count = len(range(start, stop, step))
    if count < 1:
        raise w.fail(node, "an empty slice")
    shape = list(w.shape_of[src])
    axis = nhwc_axis(dim, rank)
    begin, sizes, strides = [0] * len(shape), list(shape), [1] * len(shape)
    begin[axis], sizes[axis], strides[axis] = start, count, step
    w.add(node, FloatLayer("strided_slice", w.new_name("slice"), node.name, tuple(sizes),
                           attrs={"begin": tuple(begin), "size": tuple(sizes), "stride": tuple(strides),
                                  "torch": (dim, start, stop, step), "rank": rank}, inputs=(src,)))


CAPTURE = {"aten.slice.Tensor": capture_slice}


def from_float(layer: FloatLayer, xs, out, bits: int = 8) -> StridedSlice:
    a = layer.attrs
    return StridedSlice(layer.name, tuple(t.name for t in xs), out.name, a["begin"], a["size"], a["stride"])


def float_forward(layer: FloatLayer, xs, weight, bias):
    """The slice in float PyTorch (NCHW; a signal runs as (N, C, 1, W))."""
    dim, start, stop, step = layer.attrs["torch"]
    if layer.attrs["rank"] == 3 and xs[0].dim() == 4 and dim == 2:
        dim = 3
    index = [slice(None)] * xs[0].dim()
    index[dim] = slice(start, stop, step)
    return xs[0][tuple(index)]
