"""Kernels for cores with the DSP extension: which layer gets one, and its constants in the kernel's order.

The emitter (``emit.py``) asks :func:`dsp_layer` for every op when the target core has the
Armv7E-M DSP extension (Cortex-M4/M7/M33, ``simd = "armv7e-m-dsp"`` in the catalogue). It answers
with the parameter struct, the call and the files the layer needs, or None: that layer keeps the
portable kernel (an op kind without a DSP kernel, or constants the fast requantization cannot
take; see ``runtime/pocketml_dsp.h``). Nothing here changes a result: the DSP kernels compute the
portable kernels' integers, and the tests hold them to the reference byte for byte.

What an ahead-of-time compiler knows and an interpreter does not is used twice:

* weights are stored in the order and width the inner loop reads them (:func:`conv_weights`):
  int16 pairs for ``optimize="speed"`` (no unpacking in the loop, twice the flash), int8 words
  widened in the loop for ``optimize="size"``; input offsets are folded into the biases and
  every per-channel constant of the requantization is precomputed (:func:`channel_table`);
* shapes are constants: built for speed, every layer gets its own C function that inlines the
  kernel with its ``static const`` parameters, so the compiler folds loop bounds and strides;
  built for size, every layer calls one shared out-of-line copy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from pocketml.errors import PocketMLError

OPTIMIZE = ("speed", "size")
DSP_SIMD = "armv7e-m-dsp"
INT32_LIMIT = 2**31


@dataclass(frozen=True)
class KernelTarget:
    """Which kernels the emitter writes: the portable C, or the DSP kernels built for speed or size."""

    dsp: bool = False
    optimize: str = "speed"

    def __post_init__(self) -> None:
        if self.optimize not in OPTIMIZE:
            raise PocketMLError(f"optimize must be one of {', '.join(OPTIMIZE)}, got {self.optimize!r}",
                                "pass --optimize speed (fewer instructions) or --optimize size (less flash)")

    @property
    def label(self) -> str:
        return f"dsp-{self.optimize}" if self.dsp else "portable"


PORTABLE = KernelTarget()


def check_optimize(optimize: str | None) -> None:
    """``--optimize`` is None (choose), ``speed`` or ``size``; anything else is refused before any work."""
    if optimize is not None and optimize not in OPTIMIZE:
        raise PocketMLError(f"--optimize must be one of {', '.join(OPTIMIZE)}, got {optimize!r}",
                            "pass --optimize speed (fewer instructions) or --optimize size (less flash)")


def has_dsp(device: Any) -> bool:
    """The board's core runs the DSP kernels (Armv7E-M / Armv8-M Main with the DSP extension)."""
    return getattr(device, "simd", "none") == DSP_SIMD and str(getattr(device, "core", "")).startswith("cortex-m")


@dataclass(frozen=True)
class DspLayer:
    """One layer's DSP kernel: its parameter struct, what it calls, and what it needs."""

    kind: str            # the runtime header / source stem, e.g. "conv2d_dsp"
    struct: str          # the C type of the parameters
    fields: str          # their initialiser, without braces
    scratch_words: int = 0   # int32 words of the shared widening buffer
    patch_bytes: int = 0     # bytes of the shared int8 gather buffer
    inputs: int = 1          # activation inputs of the kernel
    weighted: bool = False   # the kernel's body takes `wide` (1: int16 weights, built for speed)

    def definitions(self, symbol: str, optimize: str) -> list[str]:
        """The parameters, and built for speed the layer's own function (kernel inlined, constants folded)."""
        lines = [f"static const {self.struct} {symbol} = {{{self.fields}}};"]
        if optimize == "speed":
            ins = ", ".join(f"const int8_t *input{k}" for k in range(self.inputs))
            args = ", ".join(f"input{k}" for k in range(self.inputs))
            lines += [f"static __attribute__((noinline)) void {symbol}_run({ins}, int8_t *output) {{",
                      f"  pocketml_{self.kind}_body(&{symbol}, {'1, ' if self.weighted else ''}{args}, output);", "}"]
        return lines

    def call(self, symbol: str, optimize: str, inputs: list[str], output: str, name: str) -> str:
        args = ", ".join([*inputs, output])
        if optimize == "speed":
            return f"  {symbol}_run({args});  /* {name} */"
        return f"  pocketml_{self.kind}(&{symbol}, {args});  /* {name} */"


def dsp_layer(op: Any, data: Any, graph: Any, ident: str, array: Callable[[str, str, np.ndarray], str],
              target: KernelTarget, prefix: str) -> DspLayer | None:
    """The DSP kernel for ``op``, or None to keep the portable one. Declares its arrays through ``array``."""
    if not target.dsp:
        return None
    if op.kind == "conv2d":
        return _conv2d(op, data, graph, ident, array, target, prefix)
    if op.kind == "depthwise_conv2d":
        return _depthwise(op, data, graph, ident, array, target, prefix)
    if op.kind == "fully_connected":
        return _fully_connected(op, data, ident, array, target, prefix)
    if op.kind == "avg_pool2d":
        return _avg_pool2d(op, data, graph)
    if op.kind == "add":
        return _add(op, data, graph, ident, array)
    return None


def _conv2d(op, data, graph, ident, array, target, prefix) -> DspLayer | None:
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.output]
    (ih, iw, ic), (oh, ow, oc) = x.shape, y.shape
    _, kh, kw, _ = op.weight.shape
    rq = data.requant
    table = channel_table(op.weight, op.bias, data.input_offset, rq, channel_axis=0)
    if table is None:
        return None
    taps = kh * kw * ic
    depth = -(-taps // 4) * 4
    direct = int(kh == 1 and kw == 1 and tuple(op.padding) == (0, 0) and ic % 4 == 0)
    wide = target.optimize == "speed"
    weights = conv_weights(op.weight.reshape(oc, taps), depth, wide=wide)
    if wide:  # doubled weights and biases: the requantization's doubling comes free
        table = table * np.array([2, 1, 1, 1], np.int32)
    w = array("int32_t", f"{ident}_dsp_weights", weights)
    ch = array("int32_t", f"{ident}_dsp_channels", pad_channels(table, 2))
    fields = (f"{ih}, {iw}, {ic}, {oh}, {ow}, {oc}, {kh}, {kw}, {op.stride[0]}, {op.stride[1]}, "
              f"{op.padding[0]}, {op.padding[1]}, {op.dilation[0]}, {op.dilation[1]}, {depth}, "
              f"{-data.input_offset}, {rq.act_min}, {rq.act_max}, {direct}, {w}, "
              f"(const pocketml_dsp_channel *){ch}, {prefix}_dsp_scratch, "
              f"{'0' if direct else prefix + '_dsp_patch'}")
    return DspLayer("conv2d_dsp", "pocketml_conv2d_dsp_params", fields, scratch_words=depth,
                    patch_bytes=0 if direct else 2 * depth, weighted=True)


def _depthwise(op, data, graph, ident, array, target, prefix) -> DspLayer | None:
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.output]
    (ih, iw, c), (oh, ow, _) = x.shape, y.shape
    _, kh, kw, _ = op.weight.shape
    if op.depth_multiplier != 1 or c % 4:
        return None
    rq = data.requant
    table = channel_table(op.weight, op.bias, data.input_offset, rq, channel_axis=3)
    if table is None:
        return None
    wide = target.optimize == "speed"
    if wide:
        table = table * np.array([2, 1, 1, 1], np.int32)
    slot_w = (ow - 1) * op.stride[1] + (kw - 1) * op.dilation[1] + 1
    ring = (kh - 1) * op.dilation[0] + 1
    w = array("int32_t", f"{ident}_dsp_weights", depthwise_weights(op.weight, wide))
    ch = array("int32_t", f"{ident}_dsp_channels", table)
    fields = (f"{ih}, {iw}, {c}, {oh}, {ow}, {kh}, {kw}, {op.stride[0]}, {op.stride[1]}, {op.padding[0]}, "
              f"{op.padding[1]}, {op.dilation[0]}, {op.dilation[1]}, {slot_w}, {-data.input_offset}, "
              f"{rq.act_min}, {rq.act_max}, {w}, (const pocketml_dsp_channel *){ch}, "
              f"{prefix}_dsp_scratch")
    return DspLayer("depthwise_conv2d_dsp", "pocketml_depthwise_conv2d_dsp_params", fields,
                    scratch_words=ring * slot_w * c // 2, weighted=True)


def _fully_connected(op, data, ident, array, target, prefix) -> DspLayer | None:
    oc, in_depth = op.weight.shape
    rq = data.requant
    table = channel_table(op.weight, op.bias, data.input_offset, rq, channel_axis=0)
    if table is None:
        return None
    wide = target.optimize == "speed"
    if wide:
        table = table * np.array([2, 1, 1, 1], np.int32)
    depth = -(-in_depth // 4) * 4
    w = array("int32_t", f"{ident}_dsp_weights", fc_weights(op.weight, depth, wide))
    ch = array("int32_t", f"{ident}_dsp_channels", pad_channels(table, 4))
    fields = (f"{in_depth}, {depth}, {oc}, {rq.act_min}, {rq.act_max}, {w}, "
              f"(const pocketml_dsp_channel *){ch}, {prefix}_dsp_scratch")
    return DspLayer("fully_connected_dsp", "pocketml_fully_connected_dsp_params", fields, scratch_words=depth // 2,
                    weighted=True)


def fc_weights(weight: np.ndarray, depth: int, wide: bool) -> np.ndarray:
    """``[C, K]`` int8 weights as ``fully_connected_dsp.h`` reads them: blocks of 4 channels, groups of 4 k.

    wide:   words (b, g, c', 0..1) = channel 4b+c' (2 w[4g], 2 w[4g+2]), (2 w[4g+1], 2 w[4g+3]) as int16 pairs
    narrow: word  (b, g, c')      = channel 4b+c' w[4g] .. w[4g+3] as int8
    K is zero-padded to ``depth`` and C to a multiple of 4.
    """
    c, k = weight.shape
    full = np.zeros((-(-c // 4) * 4, depth), np.int8)
    full[:c, :k] = weight
    groups = full.reshape(-1, 4, depth // 4, 4).transpose(0, 2, 1, 3)  # [b, g, c', 4]
    if wide:
        lanes = groups[..., [0, 2, 1, 3]].astype("<i2") * 2
        return np.ascontiguousarray(lanes).view("<i4").ravel()
    return np.ascontiguousarray(groups).view("<i4").ravel()


MAX_POOL_WINDOW = 255  # int16 lanes: a window of 255 taps of |x| <= 128 sums below 2^15


def _avg_pool2d(op, data, graph) -> DspLayer | None:
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.output]
    (ih, iw, c), (oh, ow, _) = x.shape, y.shape
    if c % 4 or op.kernel[0] * op.kernel[1] > MAX_POOL_WINDOW:
        return None
    fields = (f"{ih}, {iw}, {c}, {oh}, {ow}, {op.kernel[0]}, {op.kernel[1]}, {op.stride[0]}, {op.stride[1]}, "
              f"{op.padding[0]}, {op.padding[1]}, {data.act_min}, {data.act_max}")
    return DspLayer("avg_pool2d_dsp", "pocketml_avg_pool2d_dsp_params", fields)


def add_table(offset: int, multiplier: int, right_shift: int) -> np.ndarray:
    """``2 * rdbp(srdhm((x + offset) * 2^20, multiplier), right_shift)`` for x = -128 .. 127 (add.c's rescale)."""
    from pocketml.graph import fixedpoint

    shifted = (np.arange(-128, 128, dtype=np.int32) + offset) * (1 << 20)
    w = fixedpoint.rounding_divide_by_pot(
        fixedpoint.saturating_rounding_doubling_high_mul(shifted, np.int32(multiplier)), right_shift)
    return 2 * np.asarray(w, np.int64)


def _add(op, data, graph, ident, array) -> DspLayer | None:
    d = data
    t1 = add_table(d.input1_offset, d.input1_multiplier, d.input1_right_shift)
    t2 = add_table(d.input2_offset, d.input2_multiplier, d.input2_right_shift)
    r = d.output_right_shift
    nudge = 2 ** (r - 1) + d.output_offset * 2 ** r if r >= 1 else 0
    s_max = int(np.abs(t1).max() + np.abs(t2).max())  # twice |w_1 + w_2|
    if not 1 <= r <= 31 or s_max >= INT32_LIMIT or s_max // 2 + 1 + abs(nudge) + 1 >= INT32_LIMIT:
        return None
    a = array("int32_t", f"{ident}_dsp_table1", t1)
    b = array("int32_t", f"{ident}_dsp_table2", t2)
    fields = (f"{graph.tensors[op.output].nbytes}, &{a}[128], &{b}[128], "
              f"{{0, {d.output_multiplier}, {nudge}, {r}}}, {d.act_min}, {d.act_max}")
    return DspLayer("add_dsp", "pocketml_add_dsp_params", fields, inputs=2)


def depthwise_weights(weight: np.ndarray, wide: bool) -> np.ndarray:
    """``[1, KH, KW, C]`` int8 weights as ``depthwise_conv2d_dsp.h`` reads them: per channel group, per tap.

    wide:   words (g, t, 0..1) = (2 w[t, 4g], 2 w[t, 4g+2]), (2 w[t, 4g+1], 2 w[t, 4g+3]) as int16 pairs
    narrow: word  (g, t)      = w[t, 4g] .. w[t, 4g+3] as int8
    """
    c = weight.shape[3]
    groups = np.asarray(weight, np.int8).reshape(-1, c // 4, 4).transpose(1, 0, 2)  # [g, t, 4]
    if wide:
        lanes = groups[:, :, [0, 2, 1, 3]].astype("<i2") * 2
        return np.ascontiguousarray(lanes).view("<i4").ravel()
    return np.ascontiguousarray(groups).view("<i4").ravel()


def channel_table(weight: np.ndarray, bias: np.ndarray, input_offset: int, rq: Any,
                  channel_axis: int = 0) -> np.ndarray | None:
    """Per output channel ``{folded bias, multiplier, nudge, shift}`` (``pocketml_dsp_channel``), int32 [C, 4].

    A channel whose output cannot depend on its input (all its weights 0, or a multiplier of 0:
    trained-away channels keep a huge bias and a tiny scale) gets the row ``{0, 0, 2 v, 1}``, which
    requantizes to its constant output v. None when the fast requantization of ``pocketml_dsp.h``
    cannot be proven exact for every reachable accumulator of another channel: no right shift,
    ``2 * |acc|`` reaching 2^31, or the nudged sum leaving int32. The partial sums of a doubled
    accumulator (int16 weights are stored doubled, ``conv_weights``) must stay in int32 too.
    """
    w = np.moveaxis(np.asarray(weight, np.int64), channel_axis, 0).reshape(np.shape(weight)[channel_axis], -1)
    bias = np.asarray(bias, np.int64)
    multiplier = np.asarray(rq.multiplier, np.int64)
    right = np.asarray(rq.right_shift, np.int64)
    constant = ~np.any(w, axis=1) | (multiplier == 0)
    live = ~constant
    x_max = max(abs(-128 + input_offset), abs(127 + input_offset))  # |x + input_offset|, x any int8
    acc = np.abs(bias) + x_max * np.abs(w).sum(axis=1)
    folded = bias + int(input_offset) * w.sum(axis=1)
    partial = np.abs(folded) + 128 * np.abs(w).sum(axis=1)  # the folded form's partial sums
    nudge = 2 ** np.maximum(right - 1, 0) + rq.output_offset * 2 ** right
    if (np.any(live & ((right < 1) | (right > 31))) or np.any(live & (2 * np.maximum(acc, partial) >= INT32_LIMIT))
            or np.any(live & (acc + 1 + np.abs(nudge) + 1 >= INT32_LIMIT))):
        return None
    value = rq.apply(bias.astype(np.int32)[None, :])[0].astype(np.int64)  # a constant channel's output
    rows = np.stack([folded, multiplier, nudge, right], axis=1)
    rows[constant] = np.stack([0 * value, 0 * value, 2 * value, 0 * value + 1], axis=1)[constant]
    return rows.astype(np.int32)


def pad_channels(table: np.ndarray, multiple: int) -> np.ndarray:
    """The table with zero rows appended up to a multiple of ``multiple`` channels (computed, never stored)."""
    extra = (-len(table)) % multiple
    pad = np.zeros((extra, table.shape[1]), np.int32)
    pad[:, 3] = 1  # a valid right shift keeps the discarded channel's arithmetic defined
    return np.concatenate([table, pad])


def conv_weights(w: np.ndarray, depth: int, wide: bool) -> np.ndarray:
    """``[C, K]`` int8 weights as the words ``conv2d_dsp.h`` reads, channel pairs, groups of 4 k.

    wide:   word (q, g, j, c') = channel 2q+c' (2 w[4g+j], 2 w[4g+j+2]) as int16 pairs (little-endian),
            doubled: the requantization's SMMULR wants twice the accumulator
    narrow: word (q, g, c')    = channel 2q+c' (w[4g], .., w[4g+3]) as int8
    K is zero-padded to ``depth`` and C to an even count.
    """
    c, k = w.shape
    full = np.zeros((c + c % 2, depth), np.int8)
    full[:c, :k] = w
    groups = full.reshape(-1, 2, depth // 4, 4)  # [q, c', g, 4]
    if wide:
        lanes = groups.reshape(-1, 2, depth // 4, 2, 2)  # [q, c', g, lane, j]: k = 4g + 2 lane + j
        words = lanes.transpose(0, 2, 4, 1, 3)  # [q, g, j, c', lane]
        return (2 * np.ascontiguousarray(words).astype("<i2")).view("<i4").ravel()
    words = groups.transpose(0, 2, 1, 3)  # [q, g, c', 4]
    return np.ascontiguousarray(words).view("<i4").ravel()
