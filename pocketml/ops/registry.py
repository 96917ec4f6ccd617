"""The op set: every op folder's :class:`~pocketml.ops.spec.OpSpec`, by kind.

This is the only place pocketml looks an op up by its kind. Adding an op is one folder
(``pocketml/ops/<kind>/``, see ``docs/DESIGN.md``) plus its line in ``SPECS`` below.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

from pocketml.ops import (
    add,
    avg_pool2d,
    concatenation,
    conv2d,
    depthwise_conv2d,
    fully_connected,
    hard_swish,
    leaky_relu,
    logistic,
    max_pool2d,
    maximum,
    mean,
    minimum,
    mul,
    pad,
    prelu,
    quantize,
    reduce_max,
    relu,
    relu6,
    reshape,
    resize_bilinear,
    resize_nearest_neighbor,
    softmax,
    strided_slice,
    sub,
    svdf,
    tanh,
    tile,
    transpose,
    unidirectional_sequence_lstm,
)
from pocketml.ops.spec import OpSpec

SPECS: dict[str, OpSpec] = {spec.kind: spec for spec in (
    conv2d.SPEC,
    depthwise_conv2d.SPEC,
    fully_connected.SPEC,
    max_pool2d.SPEC,
    avg_pool2d.SPEC,
    mean.SPEC,
    reduce_max.SPEC,
    add.SPEC,
    mul.SPEC,
    sub.SPEC,
    maximum.SPEC,
    minimum.SPEC,
    concatenation.SPEC,
    pad.SPEC,
    relu.SPEC,
    relu6.SPEC,
    leaky_relu.SPEC,
    prelu.SPEC,
    logistic.SPEC,
    tanh.SPEC,
    hard_swish.SPEC,
    softmax.SPEC,
    reshape.SPEC,
    transpose.SPEC,
    strided_slice.SPEC,
    tile.SPEC,
    quantize.SPEC,
    resize_nearest_neighbor.SPEC,
    resize_bilinear.SPEC,
    svdf.SPEC,
    unidirectional_sequence_lstm.SPEC,
)}

OPS: dict[str, type] = {kind: spec.op for kind, spec in SPECS.items()}  # kind -> reference class


def spec_of(kind: str) -> OpSpec:
    """The spec of op kind ``kind`` (a KeyError names the known kinds)."""
    try:
        return SPECS[kind]
    except KeyError:
        raise KeyError(f"no op {kind!r}; pocketml's ops: {', '.join(SPECS)}") from None


@cache
def tflite_readers() -> dict[str, Callable]:
    """TFLite builtin name → the translation that reads it (from every op folder)."""
    readers: dict[str, Callable] = {}
    for spec in SPECS.values():
        for builtin, read in spec.tflite_read.items():
            if builtin in readers:
                raise AssertionError(f"two ops read TFLite's {builtin}")
            readers[builtin] = read
    return readers


@cache
def capture_rules() -> dict[str, Callable]:
    """ATen overload name (``"aten.conv2d.default"``) → the capture rule (from every op folder)."""
    rules: dict[str, Callable] = {}
    for spec in SPECS.values():
        for target, rule in spec.capture.items():
            if target in rules:
                raise AssertionError(f"two ops capture {target}")
            rules[target] = rule
    return rules


def kernel_source(kind: str, file: str) -> Traversable:
    """A C file of op ``kind``'s folder (its kernel ``<kind>.c`` or header ``<kind>.h``)."""
    return resources.files(f"pocketml.ops.{kind}") / file
