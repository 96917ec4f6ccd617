"""What the two resize ops share (RESIZE_NEAREST_NEIGHBOR, RESIZE_BILINEAR): the .tflite mapping (the
output size as an int32 constant, AlignCorners / HalfPixelCenters options) and the capture of
PyTorch's ``nn.Upsample`` / ``F.interpolate``. Each op's folder keeps its arithmetic."""

from __future__ import annotations

import numpy as np
from tflite.BuiltinOptions import BuiltinOptions as Opt

from pocketml.graph.layers import FloatLayer
from pocketml.ops.tflite_read import TFLiteReader, Unsupported, feature_map, op_name, options
from pocketml.ops.tflite_write import operator
from pocketml.ops.tflite_write import options as write_options


def write_resize(spec, graph, op, builtin: int, options_name: str) -> None:
    """Version 2, 3 with half-pixel centers; the size is an int32 constant [H, W]."""
    y = graph.tensors[op.output]
    size = spec.add_constant(f"{op.name}/size", np.array(y.shape[:2], dtype=np.int32))
    operator(spec, builtin, 3 if op.half_pixel_centers else 2, [spec.index(op.inputs[0]), size],
             [spec.index(op.output)], getattr(Opt, options_name),
             write_options(options_name, AlignCorners=op.align_corners, HalfPixelCenters=op.half_pixel_centers))


def read_resize(r: TFLiteReader, idx: int, op, ins, out, builtin: str, options_name: str, op_class: type,
                kind: str) -> tuple[dict, str]:
    """A TFLite resize operator read into ``op_class``: a constant size equal to the output's, one quantization."""
    o = options(op, options_name)
    align, half = (bool(o.AlignCorners()), bool(o.HalfPixelCenters())) if o else (False, False)
    if len(ins) != 2:
        raise Unsupported(f"{len(ins)} inputs (input and size expected)")
    size = r.constant(ins[1])
    x, y = r.activation(ins[0]), r.activation(out)
    feature_map(r.tensors[x].shape, f"{builtin}'s input")
    if size is None or size.size != 2 or tuple(int(v) for v in size.ravel()) != r.tensors[y].shape[:2]:
        raise Unsupported("the size must be a constant [H, W] matching the output's shape")
    if r.tensors[x].quant != r.tensors[y].quant:
        raise Unsupported("input and output quantization differ")
    r.ops.append(op_class(op_name(idx, kind), (x,), y, align, half))
    return {"align_corners": align, "half_pixel_centers": half}, kind


def capture_resize(w, node, kind: str, half_pixel_centers) -> None:
    """``nn.Upsample`` / ``F.interpolate`` to a whole size as op ``kind``. ``half_pixel_centers(align)``:
    TFLite's flag for PyTorch's ``align_corners`` (bilinear: ``not align``; nearest: False).

    A scale factor must give the output size exactly (PyTorch then maps positions by 1/scale,
    TFLite by in/out: the same numbers)."""
    a = w.args(node)
    src = w.spatial_input(node, "resizing")
    h, wd, c = w.shape_of[src]
    out = w.torch_shape(node)
    if len(out) != 3:
        raise w.fail(node, f"resizing to {out}; a [N, C, H, W] map is expected")
    scales = a.get("scale_factors")
    if scales and any(abs(o - i * float(s)) > 1e-6 for o, i, s in zip(out[1:], (h, wd), scales, strict=False)):
        raise w.fail(node, f"scale factors {list(scales)} that do not give whole sizes ({h}x{wd} -> {out[1]}x{out[2]});"
                     " pass size=(H, W) instead")
    align = bool(a.get("align_corners", False))
    w.add(node, FloatLayer(kind, w.new_name("resize"), node.name, (out[1], out[2], c),
                           attrs={"align_corners": align, "half_pixel_centers": half_pixel_centers(align)},
                           inputs=(src,)))
