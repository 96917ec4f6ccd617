"""What an op's C parameter builder gets and returns (``c_params`` of its :class:`OpSpec`).

The emitter (``pocketml/deploy/c/emit.py``) calls ``spec.c_params(op, data, ctx)`` for every op
that has a kernel, with a :class:`CContext` that declares constant arrays (flash, prefixed with
the model's name) and says where each tensor lives. The builder returns a :class:`CCall`: the
fields of the kernel's ``pocketml_<kind>_params`` struct, in declaration order, which the emitter
writes as designated initialisers (``.in_h = 8``), and the call's arguments.

Shared constants of the weighted kernels live here too: :func:`folded_bias` and
:func:`requant_struct`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Union

import numpy as np

from pocketml.errors import PocketMLError
from pocketml.graph.ir import TensorInfo

# a field's value: a C expression (str), an int, or a nested struct (its own fields)
CValue = Union[str, int, "CStruct"]


@dataclass(frozen=True)
class CStruct:
    """A nested struct initialiser: ``{.a = 1, .b = sym}``."""

    fields: tuple[tuple[str, CValue], ...]


@dataclass(frozen=True)
class CCall:
    """One kernel call: its parameter struct's fields and the call's data arguments.

    ``args`` None: the op's inputs in order, then its output (the usual kernel signature
    ``pocketml_<kind>(&params, in0, in1, ..., out)``).
    """

    fields: tuple[tuple[str, CValue], ...]
    args: tuple[str, ...] | None = None


class CContext(Protocol):
    """The emitter, as a C parameter builder sees it."""

    tensors: dict[str, TensorInfo]
    scratch_limit: int | None  # bytes a kernel's scratch should stay under where it can (None: any)
    lean: bool  # the plan runs this op's fast kernel without scratch where it has such a variant

    def array(self, ctype: str, ident: str, values: np.ndarray) -> str:
        """Declare ``static const ctype <prefix>_<op>_<ident>[] = {...}`` (flash); return its symbol."""

    def weights(self, op: object, stored: np.ndarray) -> str:
        """The op's weights as its kernel reads them (``stored``): a constant array, or, for a layer
        stored compressed, the scratch buffer its decoder fills right before the call."""

    def where(self, tensor: str) -> str:
        """The C expression of a tensor's bytes: ``input``, an output pointer, or an arena offset."""

    def state(self, ctype: str, ident: str, count: int, fill: int) -> str:
        """Declare ``static ctype <prefix>_<op>_<ident>[count]`` (RAM, outside the arena) that keeps its
        values between invokes (an op's memory); ``<prefix>_reset()`` fills it with ``fill``. Its symbol."""


def format_value(value: CValue, indent: str = "    ") -> str:
    """A field value as C; a nested struct becomes ``{ .field = value, ... }``, one field a line."""
    if isinstance(value, CStruct):
        inner = indent + "    "
        return ("{\n" + ",\n".join(f"{inner}.{k} = {format_value(v, inner)}" for k, v in value.fields)
                + f"\n{indent}}}")
    return str(value)


def folded_bias(weight: np.ndarray, bias: np.ndarray, input_offset: int, channel_axis: int = 0,
                name: str = "layer") -> np.ndarray:
    """``bias[c] + input_offset * (sum of weight over every axis but channel_axis)``, as int32.

    The weighted kernels then add plain ``x * w`` products (|x| <= 128, and a padding tap adds
    ``-input_offset * w``), so every partial sum is bounded by ``|folded_bias| + 128 * sum |w|``;
    that bound must stay below 2^31 (checked here, at conversion time).
    """
    w = np.moveaxis(np.asarray(weight, np.int64), channel_axis, 0).reshape(np.shape(weight)[channel_axis], -1)
    folded = np.asarray(bias, np.int64) + int(input_offset) * w.sum(axis=1)
    bound = np.abs(folded) + 128 * np.abs(w).sum(axis=1)
    if bound.max(initial=0) >= 2**31:
        raise PocketMLError(f"{name}: its int32 accumulator could overflow in the C kernel "
                            f"(worst case {int(bound.max())} >= 2^31)",
                            "split the layer into narrower ones (fewer input channels or a smaller kernel)")
    return folded.astype(np.int32)


def bias_fields(op, data, ctx: CContext, channel_axis: int = 0) -> tuple[tuple[str, object], ...]:
    """A weighted kernel's bias fields: int8, ``bias`` folded with the input offset (:func:`folded_bias`);
    16x8 (int16 activations, zero point 0: nothing to fold), ``int16 = 1`` and the bias as it is,
    ``bias64`` (int64, summed in int64) or ``bias`` (int32, summed in int32)."""
    if data.requant.out_dtype != "int16":
        return (("bias", ctx.array("int32_t", "bias", folded_bias(op.weight, op.bias, data.input_offset,
                                                                   channel_axis, op.name))),)
    if data.requant.wide:
        return ("int16", 1), ("bias64", ctx.array("int64_t", "bias64", np.asarray(op.bias, np.int64)))
    return ("int16", 1), ("bias", ctx.array("int32_t", "bias", np.asarray(op.bias, np.int32)))


def sum32_field(data, taps: int) -> tuple[tuple[str, int], ...]:
    """16x8: ``sum32 = 1`` when the window's ``taps`` products alone fit int32 (``taps·32768·127 < 2^31``):
    the kernel then sums them in int32 channel blocks and adds the int64 bias last (the same integer)."""
    return (("sum32", 1),) if data.requant.out_dtype == "int16" and taps * 32768 * 127 < 2**31 else ()


def requant_struct(ctx: CContext, rq) -> CStruct:
    """``pocketml_requant`` for a :class:`~pocketml.ops.requantize.Requantize` (arrays in flash)."""
    return CStruct((("multiplier", ctx.array("int32_t", "multiplier", rq.multiplier)),
                    ("left_shift", ctx.array("int8_t", "left_shift", rq.left_shift)),
                    ("right_shift", ctx.array("int8_t", "right_shift", rq.right_shift)),
                    ("output_offset", rq.output_offset), ("act_min", rq.act_min), ("act_max", rq.act_max)))


class _Counter:
    """A CContext that only counts the bytes of the arrays a builder declares."""

    def __init__(self, tensors: dict[str, TensorInfo], weights: dict) -> None:
        self.tensors = tensors
        self.encoded = weights
        self.total = 0
        self.seen: set[tuple[str, bytes] | None] = set()

    def array(self, ctype: str, ident: str, values: np.ndarray) -> str:
        key = shared_array_key(ctype, values)
        if key is None or key not in self.seen:  # as the emitter writes them
            self.seen.add(key)
            self.total += int(np.asarray(values).size) * np.dtype(CTYPE_DTYPE[ctype]).itemsize
        return ident

    def weights(self, op, stored: np.ndarray) -> str:
        enc = self.encoded.get(op.name)
        if enc is None:
            return self.array("int8_t", "weights", stored)
        self.total += sum(int(np.asarray(a).nbytes) for a in enc.arrays.values())
        return "scratch"

    def where(self, tensor: str) -> str:
        return tensor

    def state(self, ctype: str, ident: str, count: int, fill: int) -> str:
        return ident  # RAM, not a constant


CTYPE_DTYPE = {"int8_t": np.int8, "uint8_t": np.uint8, "int16_t": np.int16, "uint16_t": np.uint16,
               "int32_t": np.int32, "uint32_t": np.uint32, "int64_t": np.int64}  # the C types the emitted arrays use
SHARE_ARRAYS_FROM = 64  # bytes: an array this large equal to an earlier one is that one (an unrolled GRU's
#                         weights, step after step); a smaller one is written again, for a reader of model.c


def shared_array_key(ctype: str, values: np.ndarray) -> tuple[str, bytes] | None:
    """What makes two constant arrays one in model.c: their type and bytes, when they reach
    ``SHARE_ARRAYS_FROM`` bytes (None: written every time). The emitter and the byte counter both use it."""
    data = np.asarray(values).ravel().astype(CTYPE_DTYPE[ctype]).tobytes()
    return (ctype, data) if len(data) >= SHARE_ARRAYS_FROM else None


def const_bytes(graph, weights: dict | None = None) -> int:
    """Bytes of every constant array the C emitter writes for ``graph`` (weights as stored: encoded
    layers by their ``EncodedWeights`` arrays), counted by running each op's own ``c_params``."""
    from pocketml.ops.registry import SPECS

    counter = _Counter(graph.tensors, weights or {})
    for op, data in zip(graph.ops, graph.op_data, strict=True):
        spec = SPECS[op.kind]
        if spec.c_params is not None:
            spec.c_params(op, data, counter)
    return counter.total
