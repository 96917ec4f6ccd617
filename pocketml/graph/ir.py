"""The quantized graph: int8 tensors, the ops between them, and its integer reference run.

This is the contract between quantization (which builds it) and every emitter (C, .tflite),
which are all checked against :meth:`QuantGraph.run`. Layout is NHWC, as in TFLite; tensor
shapes are per sample (no batch dimension); the reference runs a batch at once.

An op is a frozen dataclass in ``pocketml/ops/<kind>/op.py`` that follows TFLite Micro's split:
``prepare(tensors)`` does every check and computes every constant once (multipliers, shifts,
zero points, clamps) into a frozen ``*Data``; ``evaluate(data, x)`` is integer arithmetic only.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, ClassVar, Protocol

import numpy as np

from pocketml.errors import PocketMLError

MIN_SCALE = 2.0**-24  # the smallest activation scale calibration gives (see QuantParams.from_range)


@dataclass(frozen=True)
class QuantParams:
    """Affine int8 quantization ``real = scale * (q - zero_point)`` (scale stored as float32)."""

    scale: float
    zero_point: int

    def __post_init__(self) -> None:
        if not (np.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"a quantization scale must be finite and > 0, got {self.scale}")
        if not -32768 <= self.zero_point <= 32767:  # int8, uint8 or int16 (an edge): TensorInfo checks which
            raise ValueError(f"a zero point must be in [-128, 255] (8-bit) or int16, got {self.zero_point}")
        object.__setattr__(self, "scale", float(np.float32(self.scale)))

    @classmethod
    def from_range(cls, lo: float, hi: float) -> QuantParams:
        """Asymmetric int8 parameters covering [lo, hi], nudged so 0.0 is exact (TFLite rule).

        A range narrower than ``255 · MIN_SCALE`` (a dead ReLU, an untrained layer whose values
        vanish) is widened to it: a smaller scale would make the requantization multipliers of the
        layers around it overflow their shifts, and a fused RELU6's 6.0 leave int32 (TFLite Micro
        then refuses the model).
        """
        lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
        if hi - lo < 255 * MIN_SCALE:
            hi = lo + 255 * MIN_SCALE
        scale = float(np.float32((hi - lo) / 255.0))
        zero_point = int(np.clip(np.round(-128 - lo / scale), -128, 127))
        return cls(scale, zero_point)

    def quantize(self, x: np.ndarray, dtype: str = "int8") -> np.ndarray:
        """Float to int8 (or ``dtype``, e.g. int16), rounding half away from zero and saturating."""
        q = np.asarray(x, dtype=np.float64) / self.scale
        q = np.sign(q) * np.floor(np.abs(q) + 0.5) + self.zero_point
        lo, hi = RANGES[dtype]
        return np.clip(q, lo, hi).astype(DTYPES[dtype])

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        return (np.asarray(q, dtype=np.float32) - self.zero_point) * np.float32(self.scale)


# uint8, int16, int32: only where a QUANTIZE converts them (a model's edge: TFLite Micro's int16 audio
# input, an int32 output) or a SOFTMAX writes int16 for one; every other op reads and writes int8
# What an op's state between invokes means (an op with memory: SVDF, LSTM; its ``state`` field, SVDF's
# always streaming). "streaming": it persists from one invoke to the next (TFLite's variable tensors:
# a keyword spotter fed one frame per invoke); "per-inference": each invoke is one whole sequence from
# the reset state (a PyTorch sequence classifier), so the C resets it at the start of every invoke and
# TFLite Micro is reset between samples when verified (docs/compile.md, "Ops with memory").
STREAMING, PER_INFERENCE = "streaming", "per-inference"
STATE_SEMANTICS = (STREAMING, PER_INFERENCE)

DTYPES = {"int8": np.int8, "uint8": np.uint8, "int16": np.int16, "int32": np.int32}
RANGES = {name: (int(np.iinfo(t).min), int(np.iinfo(t).max)) for name, t in DTYPES.items()}


@dataclass(frozen=True)
class TensorInfo:
    """An activation tensor: its name, per-sample NHWC shape, quantization and type (int8; uint8, int16
    or int32 only where a QUANTIZE converts a model input or output, see ``DTYPES``)."""

    name: str
    shape: tuple[int, ...]
    quant: QuantParams
    dtype: str = "int8"

    def __post_init__(self) -> None:
        lo, hi = RANGES.get(self.dtype, (None, None))
        if lo is None:
            raise ValueError(f"tensor {self.name}: type {self.dtype!r}; one of {', '.join(DTYPES)} expected")
        if not lo <= self.quant.zero_point <= hi:
            raise ValueError(f"tensor {self.name}: a {self.dtype} zero point must be in [{lo}, {hi}], "
                             f"got {self.quant.zero_point}")

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * np.dtype(DTYPES[self.dtype]).itemsize


class Op(Protocol):
    """What every op in ``pocketml/ops/<kind>/op.py`` provides (see the module docstring).

    ``in_place`` (a class attribute, default ``"none"``) tells the memory planner how the output may
    share bytes with an input: ``"alias"`` (the same bytes: RESHAPE), ``"elementwise"`` (may write
    over a same-size input that dies here), ``"raster"`` (may overlap a dying input, starting
    ``overlap_lag(x, y)`` bytes below it).
    """

    kind: ClassVar[str]
    name: str
    inputs: tuple[str, ...]
    output: str

    def prepare(self, tensors: dict[str, TensorInfo]) -> Any: ...

    def evaluate(self, data: Any, *xs: np.ndarray) -> np.ndarray: ...

    def macs(self, tensors: dict[str, TensorInfo]) -> int: ...

    def param_count(self) -> int: ...

    def stored_bytes(self) -> int: ...


class Weightless:
    """Mixin for ops without weights (pools, activations, reshapes, adds): no MACs, nothing stored."""

    def macs(self, tensors: dict[str, TensorInfo]) -> int:
        return 0

    def param_count(self) -> int:
        return 0

    def stored_bytes(self) -> int:
        return 0


@dataclass(eq=False)
class QuantGraph:
    """An int8 graph (a DAG): ops in a valid execution order from ``inputs`` to ``outputs``.

    Each op reads its ``inputs`` by tensor name, so residual adds and concatenations are ordinary
    ops; the memory planner may run independent ops in another valid order (``MemoryPlan.order``).
    ``inputs`` and ``outputs`` are the model's inputs and outputs in order (a single name is accepted
    for one); an output may also feed later ops. ``input`` / ``input_info`` are the single-input view,
    ``output`` / ``output_info`` / ``run`` the single-output view: each raises a PocketMLError on a
    model with several; ``run_outputs`` and ``run_flat`` work for any number (several inputs: a tuple
    of batches or packed bytes, ``split_inputs``).
    """

    name: str
    tensors: dict[str, TensorInfo]
    ops: list[Op]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        inputs = (self.inputs,) if isinstance(self.inputs, str) else tuple(self.inputs)
        if not inputs or len(set(inputs)) != len(inputs):
            raise ValueError(f"a graph needs one or more distinct inputs, got {list(inputs)}")
        self.inputs = inputs
        outputs = (self.outputs,) if isinstance(self.outputs, str) else tuple(self.outputs)
        if not outputs or len(set(outputs)) != len(outputs):
            raise ValueError(f"a graph needs one or more distinct outputs, got {list(outputs)}")
        self.outputs = outputs

    @property
    def input(self) -> str:
        """The model's only input (a PocketMLError if it has several: use ``inputs``)."""
        if len(self.inputs) != 1:
            raise PocketMLError(f"model {self.name!r} has {len(self.inputs)} inputs "
                                f"({', '.join(self.inputs)}), not one",
                                "use graph.inputs / input_infos and packed inputs for a model with several inputs")
        return self.inputs[0]

    @property
    def output(self) -> str:
        """The model's only output (a PocketMLError if it has several: use ``outputs``)."""
        if len(self.outputs) != 1:
            raise PocketMLError(f"model {self.name!r} has {len(self.outputs)} outputs "
                                f"({', '.join(self.outputs)}), not one",
                                "use graph.outputs / output_infos / run_outputs for a model with several outputs")
        return self.outputs[0]

    @cached_property
    def op_data(self) -> list[Any]:
        """Every op prepared once, in order (all checks run here, before any output exists)."""
        return [op.prepare(self.tensors) for op in self.ops]

    @property
    def input_info(self) -> TensorInfo:
        return self.tensors[self.input]

    @property
    def input_infos(self) -> tuple[TensorInfo, ...]:
        return tuple(self.tensors[name] for name in self.inputs)

    @property
    def input_bytes(self) -> int:
        """Bytes of every input together (what ``<prefix>_invoke`` reads, packed in order)."""
        return sum(info.nbytes for info in self.input_infos)

    def split_inputs(self, x) -> tuple[np.ndarray, ...]:
        """One batch per input: ``x`` is that tuple already, one input's batch, or every input packed
        back to back as raw bytes ([N, input_bytes] int8, as the C's ``<prefix>_invoke`` reads them)."""
        if isinstance(x, (tuple, list)):
            return tuple(np.asarray(v) for v in x)
        x = np.asarray(x)
        if len(self.inputs) == 1:
            return (x,)
        if x.ndim != 2 or x.shape[1] != self.input_bytes:
            raise ValueError(f"several inputs: pass a tuple of batches or packed [N, {self.input_bytes}] bytes, "
                             f"got {x.dtype} {x.shape}")
        parts, start = [], 0
        for info in self.input_infos:
            raw = np.ascontiguousarray(x[:, start:start + info.nbytes]).view(DTYPES[info.dtype])
            parts.append(raw.reshape(len(x), *info.shape))
            start += info.nbytes
        return tuple(parts)

    @property
    def output_info(self) -> TensorInfo:
        return self.tensors[self.output]

    @property
    def output_infos(self) -> tuple[TensorInfo, ...]:
        return tuple(self.tensors[name] for name in self.outputs)

    @property
    def output_bytes(self) -> int:
        """Bytes of every output together (what ``<prefix>_invoke`` writes, packed in order)."""
        return sum(info.nbytes for info in self.output_infos)

    def run_layers(self, x) -> dict[str, np.ndarray]:
        """Run the integer reference on a batch, returning every tensor by name (several inputs: a
        tuple of batches, or packed bytes; see ``split_inputs``)."""
        values = {}
        for name, v in zip(self.inputs, self.split_inputs(x), strict=True):
            info = self.tensors[name]
            want = (v.shape[0], *info.shape)
            if v.dtype != DTYPES[info.dtype] or v.shape != want:
                raise ValueError(f"reference input {name} must be {info.dtype} of shape {want}, "
                                 f"got {v.dtype} {v.shape}")
            values[name] = v
        for op, data in zip(self.ops, self.op_data, strict=True):
            values[op.output] = op.evaluate(data, *(values[name] for name in op.inputs))
        return values

    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        """Float samples in the model's own layout (NCHW images, NCW signals, flat features) → int8 NHWC."""
        x = np.asarray(x, dtype=np.float32)
        if x.ndim == 4:
            x = x.transpose(0, 2, 3, 1)
        elif x.ndim == 3:  # [N, C, W] signal: the graph holds it as a [1, W, C] map
            x = x.transpose(0, 2, 1)[:, None]
        return self.input_info.quant.quantize(x)

    def run(self, x: np.ndarray) -> np.ndarray:
        """The integer reference: int8 batch in, int8 batch out (one-output models)."""
        return self.run_layers(x)[self.output]

    def run_outputs(self, x: np.ndarray) -> tuple[np.ndarray, ...]:
        """The integer reference: one int8 batch per output, in ``outputs`` order."""
        values = self.run_layers(x)
        return tuple(values[name] for name in self.outputs)

    def run_flat(self, x) -> np.ndarray:
        """[N, output_bytes] int8: every output flattened and packed in order, as the C writes them
        (a uint8 output's bytes read as int8)."""
        n = len(self.split_inputs(x)[0])
        return np.concatenate([y.reshape(n, -1).view(np.int8) for y in self.run_outputs(x)], axis=1)

    def macs(self) -> int:
        return sum(op.macs(self.tensors) for op in self.ops)

    def state_bytes(self) -> int:
        """RAM the ops keep from one invoke to the next (an op with memory, e.g. SVDF, declares
        ``state_bytes()``): static arrays in the C, outside the arena; TFLite's variable tensors."""
        return sum(op.state_bytes() for op in self.ops if hasattr(op, "state_bytes"))

    def state_semantics(self) -> str | None:
        """What the ops' memory means (``STREAMING`` or ``PER_INFERENCE``, see above); None: no op keeps
        any. A model mixing both has no one way to be run or verified: a PocketMLError."""
        kinds = {getattr(op, "state", STREAMING) for op in self.ops if hasattr(op, "state_bytes") and op.state_bytes()}
        if len(kinds) > 1:
            raise PocketMLError(f"model {self.name!r} has ops whose state persists between invokes and ops whose "
                                "state resets at each invoke", "give every stateful op the same state semantics")
        return kinds.pop() if kinds else None

    def with_state(self, state: str) -> QuantGraph:
        """This graph with every op that keeps memory declared ``state`` (``STREAMING`` or
        ``PER_INFERENCE``): what a .tflite cannot say (TFLite's variable tensors always persist), the
        user declares (``compile --state``). An op whose memory has one meaning only (no ``state``
        field: SVDF, always streaming) refuses another, by name."""
        if state not in STATE_SEMANTICS:
            raise PocketMLError(f"state {state!r} is not one of {', '.join(STATE_SEMANTICS)}",
                                "pass --state streaming (the default) or --state per-inference")
        stateful = [op for op in self.ops if hasattr(op, "state_bytes") and op.state_bytes()]
        fixed = [op for op in stateful if not hasattr(op, "state")]
        if fixed and state != STREAMING:
            names = ", ".join(f"{op.name} ({op.kind})" for op in fixed)
            raise PocketMLError(f"model {self.name!r}: {names} keep memory that always persists between invokes "
                                f"and cannot be declared {state}", "compile it with --state streaming (the default)")
        ops = [replace(op, state=state) if op in stateful and op not in fixed else op for op in self.ops]
        return QuantGraph(self.name, self.tensors, ops, self.inputs, self.outputs, list(self.notes))

    def param_count(self) -> int:
        """Weights and biases, as trained (the float32 model stores 4 bytes for each)."""
        return sum(op.param_count() for op in self.ops)

    def stored_bytes(self) -> int:
        """Weights and biases as the int8 artifact stores them (int8 weights, int32 biases)."""
        return sum(op.stored_bytes() for op in self.ops)
