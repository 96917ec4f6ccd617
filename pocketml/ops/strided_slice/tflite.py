"""STRIDED_SLICE as a TFLite operator (version 2; begin/end/strides constants, shrink_axis_mask), written;
STRIDED_SLICE and SLICE read (TFLite's begin/end/masks resolved as TFLite Micro's
``StridedSliceStartForAxis`` / ``EndForAxis`` do)."""

from __future__ import annotations

import numpy as np
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt

from pocketml.ops.strided_slice.op import StridedSlice
from pocketml.ops.tflite_read import TFLiteReader, Unsupported, op_name, options
from pocketml.ops.tflite_write import operator
from pocketml.ops.tflite_write import options as write_options


def write(spec, graph, op, data) -> None:
    begin = [0, *op.begin]
    end = [1, *(b + n * s for b, n, s in zip(op.begin, op.size, op.stride, strict=True))]
    end_mask = sum(1 << (a + 1) for a, (b, n, s) in enumerate(zip(op.begin, op.size, op.stride, strict=True))
                   if b + n * s < 0)  # a backward slice to the axis's start: its end is "past index 0"
    ins = [spec.index(op.inputs[0])] + [spec.add_constant(f"{op.name}/{k}", np.array(v, dtype=np.int32))
                                        for k, v in (("begin", begin), ("end", end), ("strides", [1, *op.stride]))]
    operator(spec, Op.STRIDED_SLICE, 2, ins, [spec.index(op.output)], Opt.StridedSliceOptions,
             write_options("StridedSliceOptions", EndMask=end_mask))


def _start(begin: int, stride: int, size: int, masked: bool) -> int:
    if begin < 0:
        begin += size
    begin = min(max(begin, 0), size) if stride > 0 else min(max(begin, -1), size - 1)
    return (0 if stride > 0 else size - 1) if masked else begin


def _end(end: int, start: int, stride: int, size: int, masked: bool, shrink: bool, offset: bool) -> int:
    if shrink:
        return start if start >= size else start + 1
    end = end + start if offset else end
    if end < 0:
        end += size
    end = min(max(end, 0), size) if stride > 0 else min(max(end, -1), size - 1)
    return (size if stride > 0 else -1) if masked else end


def resolve(shape, begin, end, strides, begin_mask=0, end_mask=0, shrink_mask=0, offset=False):
    """(begin, size, stride) per axis of ``shape`` (batch included) from TFLite's slice parameters."""
    pad = len(shape) - len(begin)  # TFLite pads missing leading axes with whole-axis slices
    begin, end, strides = [0] * pad + list(begin), [1] * pad + list(end), [1] * pad + list(strides)
    begin_mask = (begin_mask << pad) | ((1 << pad) - 1)
    end_mask = (end_mask << pad) | ((1 << pad) - 1)
    shrink_mask <<= pad
    out = []
    for a, size in enumerate(shape):
        s = int(strides[a])
        if s == 0:
            raise Unsupported(f"a zero stride on axis {a}")
        start = _start(int(begin[a]), s, size, bool(begin_mask >> a & 1))
        stop = _end(int(end[a]), start, s, size, bool(end_mask >> a & 1), bool(shrink_mask >> a & 1), offset)
        count = max(0, -(-(stop - start) // s)) if s > 0 else max(0, -(-(start - stop) // -s))
        out.append((start, count, s))
    return out


def read(r: TFLiteReader, idx: int, op, ins, out) -> tuple[dict, str]:
    x, y = r.activation(ins[0]), r.activation(out)
    shape = (1, *r.tensors[x].shape)
    consts = [r.constant(i) for i in ins[1:]]
    if any(c is None for c in consts):
        raise Unsupported("the slice's begin/end/strides (or size) must be constants")
    if builtin_name(op, r) == "SLICE":
        if len(consts) != 2:
            raise Unsupported(f"{len(ins)} inputs (input, begin and size expected)")
        begin, size = (c.ravel().tolist() for c in consts)
        size = [shape[a] - b if n == -1 else n for a, (b, n) in enumerate(zip(begin, size, strict=True))]
        parts = [(int(b), int(n), 1) for b, n in zip(begin, size, strict=True)]
        opts = {"begin": begin, "size": size}
    else:
        if len(consts) != 3:
            raise Unsupported(f"{len(ins)} inputs (input, begin, end and strides expected)")
        o = options(op, "StridedSliceOptions")
        masks = {k: int(getattr(o, k)()) if o else 0 for k in ("BeginMask", "EndMask", "EllipsisMask",
                                                              "NewAxisMask", "ShrinkAxisMask")}
        offset = bool(o.Offset()) if o and hasattr(o, "Offset") else False
        if masks["EllipsisMask"] or masks["NewAxisMask"]:
            raise Unsupported("STRIDED_SLICE with an ellipsis or new-axis mask")
        parts = resolve(shape, *(c.ravel().tolist() for c in consts), masks["BeginMask"], masks["EndMask"],
                        masks["ShrinkAxisMask"], offset)
        opts = {"begin": consts[0].ravel().tolist(), "end": consts[1].ravel().tolist(),
                "strides": consts[2].ravel().tolist(), **{k: v for k, v in masks.items() if v}}
    if len(parts) != len(shape) or parts[0][:2] != (0, 1):
        raise Unsupported("the slice must keep the (single) batch")
    if any(n < 1 for _, n, _ in parts):
        raise Unsupported("an empty slice")
    b, n, s = zip(*parts[1:], strict=True)
    r.ops.append(StridedSlice(op_name(idx, "strided_slice"), (x,), y, tuple(b), tuple(n), tuple(s)))
    return opts, "strided_slice"


def builtin_name(op, r: TFLiteReader) -> str:
    from tflite.BuiltinOperator import BuiltinOperator

    code = r.model.OperatorCodes(op.OpcodeIndex())
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    return {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}.get(builtin, "")


READ = {"STRIDED_SLICE": read, "SLICE": read}
