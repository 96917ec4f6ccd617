"""The ``.tflite`` flatbuffer as data: a model spec serialised with the ``tflite`` package's builders.

Two steps, so the op translations (each op's ``tflite.py`` in ``pocketml/ops/<kind>/``) never
touch flatbuffers:

1. :class:`TFLiteModelSpec` collects tensors (shape, type, constant bytes, quantization) and
   operators (builtin code, version, inputs, outputs, a function that writes its options);
2. :meth:`TFLiteModelSpec.serialise` writes the TFLite schema (version 3, file identifier
   ``TFL3``): buffer 0 is the empty sentinel, every constant tensor gets its own buffer whose
   data starts 16-byte aligned, activation tensors point at buffer 0.

No TensorFlow is involved: only the generated builder functions of the ``tflite`` package.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from types import ModuleType

import flatbuffers
import numpy as np
from tflite.TensorType import TensorType


def table(name: str) -> ModuleType:
    """The ``tflite`` package's generated module for schema table ``name`` (e.g. ``"Conv2DOptions"``).

    ``tflite/__init__.py`` re-exports each table's *class* under the module's name, hiding the
    module-level builder functions (``Conv2DOptionsStart`` ...); this returns the module itself.
    """
    return import_module(f"tflite.{name}")


Buffer, Model, Operator, OperatorCode = table("Buffer"), table("Model"), table("Operator"), table("OperatorCode")
QuantizationParameters, SubGraph, Tensor = table("QuantizationParameters"), table("SubGraph"), table("Tensor")

SCHEMA_VERSION = 3
TYPES = {np.dtype(np.int8): TensorType.INT8, np.dtype(np.int32): TensorType.INT32,
         np.dtype(np.int16): TensorType.INT16,  # int16: SVDF's time weights and memory, 16x8 activations
         np.dtype(np.int64): TensorType.INT64,  # int64: a 16x8 layer's bias
         np.dtype(np.uint8): TensorType.UINT8,  # uint8: a model input or output a QUANTIZE converts
         np.dtype(np.float32): TensorType.FLOAT32}  # float32: edges of float-I/O models (tests of the reader)


@dataclass(frozen=True)
class TensorQuant:
    """Affine quantization of a TFLite tensor: one (scale, zero point) or one per channel."""

    scales: tuple[float, ...]
    zero_points: tuple[int, ...]
    quantized_dimension: int = 0


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple[int, ...]  # with the batch dimension for activations
    dtype: np.dtype
    quant: TensorQuant | None
    data: bytes | None = None  # constant tensors only
    variable: bool = False  # a TFLite variable tensor: kept between invokes (an op's memory, e.g. SVDF's)


@dataclass(frozen=True)
class OperatorSpec:
    builtin_code: int
    version: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options_type: int = 0  # BuiltinOptions enum; 0 = none
    write_options: Callable[[flatbuffers.Builder], int] | None = None


@dataclass
class TFLiteModelSpec:
    """Tensors and operators of one subgraph, in execution order; see the module docstring."""

    description: str
    tensors: list[TensorSpec] = field(default_factory=list)
    operators: list[OperatorSpec] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    _index: dict[str, int] = field(default_factory=dict)

    def add_tensor(self, spec: TensorSpec) -> int:
        if spec.name in self._index:
            raise ValueError(f"tensor name {spec.name!r} is used twice")
        self._index[spec.name] = len(self.tensors)
        self.tensors.append(spec)
        return len(self.tensors) - 1

    def add_constant(self, name: str, values: np.ndarray, quant: TensorQuant | None = None) -> int:
        values = np.ascontiguousarray(values)
        if values.dtype not in TYPES:
            raise ValueError(f"constant {name}: dtype {values.dtype} is not one of "
                             f"{', '.join(sorted(str(t) for t in TYPES))}")
        return self.add_tensor(TensorSpec(name, tuple(values.shape), values.dtype, quant,
                                          values.astype(values.dtype.newbyteorder("<")).tobytes()))

    def index(self, name: str) -> int:
        return self._index[name]

    def add_operator(self, spec: OperatorSpec) -> None:
        self.operators.append(spec)

    def serialise(self) -> bytes:
        b = flatbuffers.Builder(1024)
        codes: list[tuple[int, int]] = []
        for op in self.operators:
            if (op.builtin_code, op.version) not in codes:
                codes.append((op.builtin_code, op.version))

        # buffers: 0 is the empty sentinel; constants take 1.. in tensor order, equal constants one
        # buffer (the weights of every step of an unrolled GRU)
        buffer_of: dict[int, int] = {}
        buffer_offsets = [_buffer(b, None)]
        by_data: dict[bytes, int] = {}
        for i, t in enumerate(self.tensors):
            if t.data is not None:
                if t.data not in by_data:
                    by_data[t.data] = len(buffer_offsets)
                    buffer_offsets.append(_buffer(b, t.data))
                buffer_of[i] = by_data[t.data]

        tensor_offsets = [_tensor(b, t, buffer_of.get(i, 0)) for i, t in enumerate(self.tensors)]
        op_offsets = []
        for op in self.operators:
            opts = op.write_options(b) if op.write_options else None
            ins, outs = _int_vector(b, op.inputs), _int_vector(b, op.outputs)
            Operator.OperatorStart(b)
            Operator.OperatorAddOpcodeIndex(b, codes.index((op.builtin_code, op.version)))
            Operator.OperatorAddInputs(b, ins)
            Operator.OperatorAddOutputs(b, outs)
            if opts is not None:
                Operator.OperatorAddBuiltinOptionsType(b, op.options_type)
                Operator.OperatorAddBuiltinOptions(b, opts)
            op_offsets.append(Operator.OperatorEnd(b))

        tensors_vec = _offset_vector(b, tensor_offsets)
        ops_vec = _offset_vector(b, op_offsets)
        ins, outs = _int_vector(b, self.inputs), _int_vector(b, self.outputs)
        name = b.CreateString("main")
        SubGraph.SubGraphStart(b)
        SubGraph.SubGraphAddTensors(b, tensors_vec)
        SubGraph.SubGraphAddInputs(b, ins)
        SubGraph.SubGraphAddOutputs(b, outs)
        SubGraph.SubGraphAddOperators(b, ops_vec)
        SubGraph.SubGraphAddName(b, name)
        subgraph = SubGraph.SubGraphEnd(b)

        code_offsets = []
        for code, version in codes:
            OperatorCode.OperatorCodeStart(b)
            OperatorCode.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
            OperatorCode.OperatorCodeAddBuiltinCode(b, code)
            OperatorCode.OperatorCodeAddVersion(b, version)
            code_offsets.append(OperatorCode.OperatorCodeEnd(b))

        codes_vec = _offset_vector(b, code_offsets)
        subgraphs_vec = _offset_vector(b, [subgraph])
        buffers_vec = _offset_vector(b, buffer_offsets)
        desc = b.CreateString(self.description)
        Model.ModelStart(b)
        Model.ModelAddVersion(b, SCHEMA_VERSION)
        Model.ModelAddOperatorCodes(b, codes_vec)
        Model.ModelAddSubgraphs(b, subgraphs_vec)
        Model.ModelAddDescription(b, desc)
        Model.ModelAddBuffers(b, buffers_vec)
        b.Finish(Model.ModelEnd(b), file_identifier=b"TFL3")
        return bytes(b.Output())


def _buffer(b: flatbuffers.Builder, data: bytes | None) -> int:
    vec = None
    if data is not None:
        b.StartVector(1, len(data), 16)  # 16-byte aligned, as TFLite's own converter aligns
        b.head -= len(data)
        b.Bytes[b.head:b.head + len(data)] = data
        vec = b.EndVector()
    Buffer.BufferStart(b)
    if vec is not None:
        Buffer.BufferAddData(b, vec)
    return Buffer.BufferEnd(b)


def _tensor(b: flatbuffers.Builder, t: TensorSpec, buffer: int) -> int:
    name = b.CreateString(t.name)
    shape = _int_vector(b, t.shape)
    quant = None
    if t.quant is not None:
        scales = b.CreateNumpyVector(np.asarray(t.quant.scales, dtype=np.float32))
        zps = b.CreateNumpyVector(np.asarray(t.quant.zero_points, dtype=np.int64))
        QuantizationParameters.QuantizationParametersStart(b)
        QuantizationParameters.QuantizationParametersAddScale(b, scales)
        QuantizationParameters.QuantizationParametersAddZeroPoint(b, zps)
        QuantizationParameters.QuantizationParametersAddQuantizedDimension(b, t.quant.quantized_dimension)
        quant = QuantizationParameters.QuantizationParametersEnd(b)
    Tensor.TensorStart(b)
    Tensor.TensorAddShape(b, shape)
    Tensor.TensorAddType(b, TYPES[np.dtype(t.dtype)])
    Tensor.TensorAddBuffer(b, buffer)
    Tensor.TensorAddName(b, name)
    if quant is not None:
        Tensor.TensorAddQuantization(b, quant)
    if t.variable:
        Tensor.TensorAddIsVariable(b, True)
    return Tensor.TensorEnd(b)


def _int_vector(b: flatbuffers.Builder, values) -> int:
    return b.CreateNumpyVector(np.asarray(list(values), dtype=np.int32))


def _offset_vector(b: flatbuffers.Builder, offsets: list[int]) -> int:
    b.StartVector(4, len(offsets), 4)
    for off in reversed(offsets):
        b.PrependUOffsetTRelative(off)
    return b.EndVector()
