"""Two operands of different shapes (numpy's rule, as TFLite's): what every binary op shares.

ADD, SUB, MUL, MAXIMUM, MINIMUM and PRELU read two operands. Each is an activation (a tensor of
the graph, named in ``op.inputs``) or a :class:`Constant` (int8 values with their own
quantization, held by the op: a per-channel scale of an unfused batch norm, PReLU's slopes, the
3 of ``x + 3``). Shapes are per sample and right-aligned: ``(H, W, C)`` with ``(1, 1, C)`` or
``(C,)`` broadcasts the second over H and W.

The C kernels walk the output in order with 4 nested loops; operand k's element at output
position ``i`` is ``Σ i[a] · stride_k[a]``, stride 0 where the operand has size 1
(``deploy/c/runtime/pocketml_broadcast.h``). A kernel given no geometry (all dims 0) runs its
flat same-shape loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph.ir import QuantParams, TensorInfo
from pocketml.ops.c import CContext, CStruct

MAX_RANK = 4  # per-sample axes (TFLite's 5-D with the batch axis)


@dataclass(frozen=True, eq=False)
class Constant:
    """A constant operand: int8 ``values`` (per-sample shape, right-aligned), quantized by ``quant``,
    at position ``index`` among the op's two operands."""

    values: np.ndarray
    quant: QuantParams
    index: int = 1

    def __post_init__(self) -> None:
        values = np.asarray(self.values)
        if values.dtype != np.int8:
            raise ValueError(f"a constant operand must be int8, got {values.dtype}")
        if self.index not in (0, 1):
            raise ValueError(f"a constant operand is operand 0 or 1, got {self.index}")
        values = np.array(values, dtype=np.int8)
        values.setflags(write=False)
        object.__setattr__(self, "values", values)

    @classmethod
    def quantized(cls, real: np.ndarray, index: int = 1, quant: QuantParams | None = None) -> Constant:
        """Float values quantized per tensor: with ``quant`` (a shared scale), else from their own range."""
        real = np.asarray(real, dtype=np.float32)
        quant = quant or QuantParams.from_range(float(real.min()), float(real.max()))
        return cls(quant.quantize(real), quant, index)


def operand_infos(op, tensors: dict[str, TensorInfo]) -> list[TensorInfo]:
    """The op's two operands in order, a constant as a TensorInfo named ``<op>/constant``."""
    infos = [tensors[n] for n in op.inputs]
    c = op.constant
    if c is not None:
        infos.insert(c.index, TensorInfo(f"{op.name}/constant", tuple(c.values.shape), c.quant))
    if len(infos) != 2:
        raise ValueError(f"{op.name}: a binary op takes two operands (activations or one constant), got {len(infos)}")
    return infos


def broadcast_shape(name: str, a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """numpy's broadcast of two per-sample shapes, or a ValueError naming the op."""
    if max(len(a), len(b)) > MAX_RANK:
        raise ValueError(f"{name}: operands of shapes {a} and {b}: at most {MAX_RANK} axes per sample")
    try:
        return tuple(int(d) for d in np.broadcast_shapes(a, b))
    except ValueError:
        raise ValueError(f"{name}: shapes {a} and {b} do not broadcast") from None


@dataclass(frozen=True)
class Geometry:
    """The output's shape padded to 4 axes and each operand's strides in it (0 where broadcast)."""

    dims: tuple[int, ...]
    strides: tuple[tuple[int, ...], tuple[int, ...]]
    rank: int  # the output's own per-sample rank


def geometry(a: tuple[int, ...], b: tuple[int, ...], out: tuple[int, ...]) -> Geometry:
    dims = (1,) * (MAX_RANK - len(out)) + tuple(out)

    def strides(shape: tuple[int, ...]) -> tuple[int, ...]:
        padded = (1,) * (MAX_RANK - len(shape)) + tuple(shape)
        dense = np.cumprod((1, *padded[:0:-1]))[::-1]  # row-major strides of the operand itself
        return tuple(0 if size == 1 else int(s) for size, s in zip(padded, dense, strict=True))

    return Geometry(dims, (strides(a), strides(b)), len(out))


def batch_operands(op, xs: tuple[np.ndarray, ...], geom: Geometry) -> list[np.ndarray]:
    """The two operands as numpy arrays that broadcast against ``[N, *out_shape]``."""
    out_rank = geom.rank
    arrays = []
    for x in xs:
        arrays.append(x.reshape(x.shape[0], *(1,) * (out_rank - (x.ndim - 1)), *x.shape[1:]))
    c = op.constant
    if c is not None:
        arrays.insert(c.index, c.values.reshape(1, *(1,) * (out_rank - c.values.ndim), *c.values.shape))
    return arrays


def c_geometry(geom: Geometry) -> CStruct:
    """``pocketml_broadcast`` as a nested initialiser."""
    def arr(v):
        return "{" + ", ".join(str(int(i)) for i in v) + "}"
    return CStruct((("dims", arr(geom.dims)), ("stride1", arr(geom.strides[0])), ("stride2", arr(geom.strides[1]))))


def c_args(op, ctx: CContext) -> tuple[str, ...]:
    """The kernel's data arguments: operand 1, operand 2 (a constant in flash), output."""
    args = [ctx.where(n) for n in op.inputs]
    c = op.constant
    if c is not None:
        args.insert(c.index, ctx.array("int8_t", "constant", c.values))
    return (*args, ctx.where(op.output))


def constant_nbytes(op) -> int:
    """Bytes the constant operand keeps in flash (counted as the op's stored bytes)."""
    return 0 if op.constant is None else int(op.constant.values.size)


class BinaryOperands:
    """Mixin of the binary ops: a constant operand's bytes count as stored parameters."""

    def macs(self, tensors: dict[str, TensorInfo]) -> int:
        return 0

    def param_count(self) -> int:
        return constant_nbytes(self)

    def stored_bytes(self) -> int:
        return constant_nbytes(self)


@dataclass(frozen=True)
class SelectData:
    geometry: Geometry


@dataclass(frozen=True)
class SelectOperand(BinaryOperands):
    """MAXIMUM and MINIMUM: the larger (smaller) of two int8 operands, element by element, no arithmetic.

    TFLite Micro's kernel compares the raw int8 values (``MaximumMinimumBroadcastSlow``); that is
    the real max/min only when both operands and the output share one scale and zero point, which
    TFLite's converter arranges and the quantizer does too (``output_quant = SHARED``); ``prepare``
    checks it. An operand may be a constant. Subclasses name the ``builtin`` and the ``pick``.
    """

    in_place: ClassVar[str] = "elementwise"
    builtin: ClassVar[str]
    pick: ClassVar[Callable[[np.ndarray, np.ndarray], np.ndarray]]
    name: str
    inputs: tuple[str, ...]
    output: str
    constant: Constant | None = None

    def prepare(self, tensors: dict[str, TensorInfo]) -> SelectData:
        a, b = operand_infos(self, tensors)
        y = tensors[self.output]
        out = broadcast_shape(self.name, a.shape, b.shape)
        if out != y.shape:
            raise ValueError(f"{self.name}: {self.builtin} of {a.shape} and {b.shape} gives {out}, not {y.shape}")
        if not a.quant == b.quant == y.quant:
            raise ValueError(f"{self.name}: {self.builtin} compares raw int8 values: both operands and the output "
                             f"must share one quantization, got {a.quant}, {b.quant} -> {y.quant}")
        return SelectData(geometry(a.shape, b.shape, out))

    def evaluate(self, data: SelectData, *xs: np.ndarray) -> np.ndarray:
        a, b = batch_operands(self, xs, data.geometry)
        return type(self).pick(a, b).astype(np.int8)


# -- .tflite ---------------------------------------------------------------------------------------

def write_inputs(spec, op) -> list[int]:
    """The operator's input tensor indices, a constant operand written as an int8 constant tensor."""
    from pocketml.formats.tflite import TensorQuant

    ins = [spec.index(n) for n in op.inputs]
    c = op.constant
    if c is not None:
        idx = spec.add_constant(f"{op.name}/constant", c.values.reshape(1, *c.values.shape),
                                TensorQuant((c.quant.scale,), (c.quant.zero_point,)))
        ins.insert(c.index, idx)
    return ins


def read_operands(r, ins, what: str, types: tuple[str, ...] = ()) -> tuple[tuple[str, ...], Constant | None]:
    """(activation names, constant or None) of a binary TFLite operator's two inputs; ``types``: activation
    types accepted beside int8 (int16 for ADD)."""
    from tflite.TensorType import TensorType

    from pocketml.ops.tflite_read import TYPE_NAMES, Unsupported

    if len(ins) != 2:
        raise Unsupported(f"{len(ins)} inputs (two expected)")
    names, constant = [], None
    for k, i in enumerate(ins):
        values = r.constant(i)
        if values is None:
            names.append(r.activation(i, types=types))
            continue
        t = r.tensor(i)
        if t.Type() != TensorType.INT8:
            raise Unsupported(f"{what} constant operand of type {TYPE_NAMES.get(t.Type(), t.Type())}; int8 expected")
        if constant is not None:
            raise Unsupported(f"{what} of two constants (nothing to compute at run time)")
        scales, zps, _ = r.quant(i)
        if len(scales) != 1:
            raise Unsupported(f"{what} constant operand with {len(scales)} scales; per-tensor expected")
        shape = tuple(values.shape)
        if len(shape) > MAX_RANK + 1 or (len(shape) == MAX_RANK + 1 and shape[0] != 1):
            raise Unsupported(f"{what} constant operand of shape {list(shape)}")
        if len(shape) == MAX_RANK + 1:
            shape = shape[1:]
        try:
            quant = QuantParams(float(scales[0]), int(zps[0]))
        except ValueError as exc:
            raise Unsupported(f"{what} constant operand: {exc}") from exc
        constant = Constant(np.asarray(values, np.int8).reshape(shape), quant, k)
    return tuple(names), constant


def align_constant(constant: Constant | None, out_rank: int) -> Constant | None:
    """The constant with its shape padded on the left to the output's rank (drops a leading batch 1)."""
    if constant is None:
        return None
    v = constant.values
    while v.ndim > out_rank and v.shape[0] == 1:
        v = v.reshape(v.shape[1:])
    v = v.reshape((1,) * (out_rank - v.ndim) + v.shape)
    return Constant(v, constant.quant, constant.index)


def write_binary(spec, op, builtin: int, options_name: str | None = None) -> None:
    """A binary op as TFLite operator ``builtin`` (version 2), a constant operand written as a tensor;
    with ``options_name`` (ADD, SUB, MUL) its options table holds the fused activation."""
    from tflite.BuiltinOptions import BuiltinOptions as Opt

    from pocketml.ops.tflite_write import ACTIVATION, operator
    from pocketml.ops.tflite_write import options as write_options

    if options_name is None:
        operator(spec, builtin, 2, write_inputs(spec, op), [spec.index(op.output)])
        return
    operator(spec, builtin, 2, write_inputs(spec, op), [spec.index(op.output)], getattr(Opt, options_name),
             write_options(options_name, FusedActivationFunction=ACTIVATION[op.activation]))


def read_binary(r, idx: int, op, ins, out, builtin: str, op_class: type, kind: str,
                options_name: str | None = None, types: tuple[str, ...] = ()) -> tuple[dict, str]:
    """A TFLite binary operator read into ``op_class``: two operands (one may be a constant, aligned to
    the output's rank); with ``options_name`` the fused activation too; ``types``: activation types
    accepted beside int8 (int16 for ADD)."""
    from tflite.ActivationFunctionType import ActivationFunctionType

    from pocketml.ops.tflite_read import ACTIVATION_NAMES, activation, op_name, options

    names, constant = read_operands(r, ins, builtin, types)
    y = r.activation(out, types=types)
    constant = align_constant(constant, len(r.tensors[y].shape))
    if options_name is None:
        r.ops.append(op_class(op_name(idx, kind), names, y, constant))
        return {"constant": constant is not None}, kind
    o = options(op, options_name)
    act = o.FusedActivationFunction() if o else ActivationFunctionType.NONE
    r.ops.append(op_class(op_name(idx, kind), names, y, activation(act), constant))
    return {"activation": ACTIVATION_NAMES.get(act), "constant": constant is not None}, kind


# -- PyTorch ---------------------------------------------------------------------------------------

def torch_constant_to_nhwc(values: np.ndarray, rank: int) -> np.ndarray:
    """A constant broadcast against a PyTorch tensor of ``rank`` axes (batch included), in the
    graph's per-sample NHWC layout: (N, C, H, W) → (H, W, C); (N, C, W) → (1, W, C); (N, F) → (F,)."""
    v = np.asarray(values, dtype=np.float32)
    if v.ndim > rank:
        raise ValueError(f"a constant of shape {v.shape} against a {rank}-axis tensor")
    v = v.reshape((1,) * (rank - v.ndim) + v.shape)
    if v.shape[0] != 1:
        raise ValueError(f"a constant of shape {v.shape} varies along the batch axis")
    v = v[0]
    if rank == 4:
        return np.ascontiguousarray(v.transpose(1, 2, 0))
    if rank == 3:
        return np.ascontiguousarray(v.transpose(1, 0)[None])
    return v


def capture_binary(w, node, kind: str, prefix: str, a, b, attrs: dict | None = None) -> None:
    """A binary layer of ``kind`` from operands ``a`` and ``b`` (FX nodes, parameters, numbers or arrays
    in PyTorch's layout)."""
    from pocketml.graph.layers import FloatLayer

    rank = len(node.meta["val"].shape)
    tensors, constant = [], None
    for k, v in enumerate((a, b)):
        if w.is_tensor(v) and v.name in w.tensor_of:
            tensors.append(w.tensor(node, v))
            if len(v.meta["val"].shape) != rank:
                raise w.fail(node, f"{kind} of tensors of {len(v.meta['val'].shape)} and {rank} axes")
            continue
        if isinstance(v, np.ndarray):  # already resolved by the rule (PReLU's slopes, reshaped)
            value = v.astype(np.float32)
        else:
            value = w.const(v) if w.is_tensor(v) else np.array([float(v)], np.float32)
        if value is None:
            raise w.fail(node, f"{kind} operand {v!r} is neither a tensor of the model nor a constant")
        if constant is not None:
            raise w.fail(node, f"{kind} of two constants")
        torch_values = value
        try:
            value = torch_constant_to_nhwc(value, rank)
        except ValueError as exc:
            raise w.fail(node, f"{kind} with {exc}") from None
        constant = (k, torch_values, value)
    for t in tensors:
        w.no_permuted_flat(node, t, f"a {kind}")
    shapes = [w.shape_of[t] for t in tensors] + ([constant[2].shape] if constant else [])
    try:
        out = broadcast_shape(node.name, *shapes)
    except ValueError as exc:
        raise w.fail(node, str(exc)) from None
    layer_attrs = dict(attrs or {})
    if constant is not None:
        layer_attrs.update(constant_index=constant[0], constant_torch=constant[1], constant=constant[2], rank=rank)
    w.add(node, FloatLayer(kind, w.new_name(prefix), node.name, out, attrs=layer_attrs, inputs=tuple(tensors)))


def float_operands(layer, xs) -> list:
    """The layer's two operands in float PyTorch (NCHW), the constant as a tensor."""
    import torch

    ops = list(xs)
    if "constant" in layer.attrs:
        c = np.asarray(layer.attrs["constant_torch"], np.float32)
        rank = layer.attrs["rank"]
        c = c.reshape((1,) * (rank - c.ndim) + c.shape)
        if rank == 3 and xs[0].dim() == 4:  # a signal runs as a 1-high map: (N, C, W) -> (N, C, 1, W)
            c = c[:, :, None, :]
        ops.insert(layer.attrs["constant_index"], torch.as_tensor(c))
    return ops


def quantized_constant(layer, quant: QuantParams | None = None) -> Constant | None:
    """The layer's constant operand quantized per tensor (own range, or ``quant``)."""
    if "constant" not in layer.attrs:
        return None
    return Constant.quantized(layer.attrs["constant"], layer.attrs["constant_index"], quant)
