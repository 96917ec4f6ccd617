"""What one op folder provides to the rest of pocketml: an :class:`OpSpec`.

Every field but ``kind`` and ``op`` is optional: an op that PyTorch never produces has no
``capture`` rules, one without code (RESHAPE aliases its input) has no ``c_kernel``. The
registry (``registry.py``) is the only place that looks an op up by its kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pocketml.graph.ir import QuantParams

OWN = "own"  # the output gets its own calibrated int8 parameters
SHARED = "shared"  # the output shares its inputs' parameters (pools, pad, reshape, concatenation)


@dataclass(frozen=True)
class OpSpec:
    """One op: its reference, its C, its .tflite mapping and its PyTorch capture, in one place.

    Attributes
    ----------
    kind : the op's name everywhere (graph, registry, C file, ``LayerRow.kind``).
    op : the reference class: a frozen dataclass with ``prepare(tensors)`` (every check and
        constant) and ``evaluate(data, *xs)`` (integer arithmetic only), ``macs``,
        ``param_count``, ``stored_bytes``, and the planner's ``in_place`` class attribute.
    c_kernel : the C kernel file in the op folder (``<kind>.c``, with ``<kind>.h`` beside it), or
        None when the op needs no code (the planner aliases its output to its input).
    c_params : ``(op, data, ctx) -> CCall``: the kernel's parameter struct as designated
        initialisers and the call's arguments (``pocketml/ops/c.py``).
    tflite_write : ``(spec, graph, op, data) -> None``: append the op's TFLite operator(s).
    tflite_read : TFLite builtin name → ``(reader, index, operator, inputs, output) ->
        (options, kinds)``: the op (and any helper ops) built from one TFLite operator.
    capture : ATen overload name (``"aten.conv2d.default"``) → ``rule(walker, node)``: how a
        PyTorch node becomes a float layer of this kind (``pocketml/graph/capture.py``).
    from_float : ``(layer, inputs, output, bits) -> op``: a float layer of this kind quantized.
    float_forward : ``(layer, inputs, weight, bias) -> tensor``: the layer in float PyTorch, NCHW,
        differentiable: what QAT, pruning and distillation train (``compress/mirror.py``).
    dsp_kernel : the kernel for cores with the DSP extension (``<kind>_dsp.c`` with ``<kind>_dsp.h``
        beside it: the header holds the inlinable body, the .c the out-of-line copy), or None.
    dsp_params : ``(op, data, ctx, wide) -> CCall | None``: that kernel's parameters, weights stored as
        its loop reads them (``wide``: int16 for a build for speed, int8 for size); None keeps the
        portable kernel for this layer (``pocketml/ops/dsp.py``, ``docs/dsp.md``).
    output_quant : how the output's int8 parameters are chosen: ``"own"`` (calibrated),
        ``"shared"`` (one set with its inputs, as TFLite requires of ops that do not rescale) or a
        fixed :class:`QuantParams` (softmax's 1/256, -128).
    """

    kind: str
    op: type
    c_kernel: str | None = None
    c_params: Callable[..., Any] | None = None
    tflite_write: Callable[..., None] | None = None
    tflite_read: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    capture: Mapping[str, Callable[..., None]] = field(default_factory=dict)
    from_float: Callable[..., Any] | None = None
    float_forward: Callable[..., Any] | None = None
    output_quant: str | QuantParams = OWN
    dsp_kernel: str | None = None
    dsp_params: Callable[..., Any] | None = None
