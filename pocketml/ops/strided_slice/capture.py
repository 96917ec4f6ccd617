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


def capture_select(w, node) -> None:
    """``x[:, i]`` (``aten.select``): a slice of one element on that axis, then a RESHAPE dropping it."""
    a = w.args(node)
    src = w.tensor(node, a["self"])
    w.no_permuted_flat(node, src, "a select")
    rank = len(a["self"].meta["val"].shape)
    dim = int(a["dim"]) % rank
    if dim == 0:
        raise w.fail(node, "a select on the batch axis")
    size = int(a["self"].meta["val"].shape[dim])
    index = int(a["index"]) % size
    shape = list(w.shape_of[src])
    axis = nhwc_axis(dim, rank)
    begin, sizes = [0] * len(shape), list(shape)
    begin[axis], sizes[axis] = index, 1
    out = w.torch_shape(node)
    if len(out) > 1:
        raise w.fail(node, f"a select leaving a {len(out)}-axis tensor (only to [N, features] is supported)")
    picked = FloatLayer("strided_slice", w.new_name("select"), f"{node.name}__slice", tuple(sizes),
                        attrs={"begin": tuple(begin), "size": tuple(sizes), "stride": (1,) * len(shape),
                               "torch": (dim, index, index + 1, 1), "rank": rank,
                               "observe": (node.name, lambda t: t)}, inputs=(src,))
    w.layers.append(picked)
    w.layer_by_name[picked.name] = picked
    w.shape_of[picked.name] = picked.out_shape
    w.add(node, FloatLayer("reshape", w.new_name("flatten"), node.name, out, inputs=(picked.name,)))
    picked.module = w.layer_by_name[w.tensor_of[node.name]].module


CAPTURE = {"aten.slice.Tensor": capture_slice, "aten.select.int": capture_select}


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
