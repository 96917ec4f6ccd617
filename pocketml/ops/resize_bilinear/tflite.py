"""RESIZE_BILINEAR as a TFLite operator (version 2, 3 with half-pixel centers; the size as an int32 constant),
written and read."""

from __future__ import annotations

import numpy as np
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt

from pocketml.ops.resize_bilinear.op import ResizeBilinear
from pocketml.ops.tflite_read import TFLiteReader, Unsupported, feature_map, op_name, options
from pocketml.ops.tflite_write import operator
from pocketml.ops.tflite_write import options as write_options


def write(spec, graph, op, data) -> None:
    y = graph.tensors[op.output]
    size = spec.add_constant(f"{op.name}/size", np.array(y.shape[:2], dtype=np.int32))
    operator(spec, Op.RESIZE_BILINEAR, 3 if op.half_pixel_centers else 2, [spec.index(op.inputs[0]), size],
             [spec.index(op.output)], Opt.ResizeBilinearOptions,
             write_options("ResizeBilinearOptions", AlignCorners=op.align_corners,
                           HalfPixelCenters=op.half_pixel_centers))


def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
    o = options(op, "ResizeBilinearOptions")
    align, half = (bool(o.AlignCorners()), bool(o.HalfPixelCenters())) if o else (False, False)
    if len(ins) != 2:
        raise Unsupported(f"{len(ins)} inputs (input and size expected)")
    size = r.constant(ins[1])
    x, y = r.activation(ins[0]), r.activation(out)
    feature_map(r.tensors[x].shape, "RESIZE_BILINEAR's input")
    if size is None or size.size != 2 or tuple(int(v) for v in size.ravel()) != r.tensors[y].shape[:2]:
        raise Unsupported("the size must be a constant [H, W] matching the output's shape")
    if r.tensors[x].quant != r.tensors[y].quant:
        raise Unsupported("input and output quantization differ")
    r.ops.append(ResizeBilinear(op_name(idx, "resize_bilinear"), (x,), y, align, half))
    return {"align_corners": align, "half_pixel_centers": half}, "resize_bilinear"


READ = {"RESIZE_BILINEAR": read}
