"""SVDF: a rank-decomposed filter over time, with a memory that persists from one invoke to the next.

TFLite Micro's integer kernel (``kernels/svdf_common.cc``), int8 input and output, the memory
(``activation_state``, a TFLite *variable* tensor) and the time weights both int16 (the "int8 x
int16" kernel) or both int8. For F filters, M memory steps, rank R and U = F / R units:

    state[f, :] ← state[f, 1:] + [new]                 every row slides one step left (TFLM shifts
                                                        the whole buffer by one element: the same)
    new[f]  = wrap_T(z_s + clamp_T(Σ_c w_f[f,c] · (q_x[c] − z_x) · M1))       M1 = s_x·s_wf / s_s
    t[f]    = Σ_m w_t[f,m] · (state[f,m] − z_s)                                 int32
    acc[u]  = bias[u] + Σ_r t[u·R + r]                                          int32
    q_y[u]  = clamp(z_y + acc[u] · M2, −128, 127)                               M2 = s_s·s_wt / s_y

M1 and M2 are computed as TFLite Micro's build does: the float32 scales multiplied and divided in
double, then QuantizeMultiplier (measured: in float32, 0.05·0.01/0.004 rounds to 0.125 exactly where
TFLite Micro gets 0.12499999, and then every tie of the feature sum rounds the other way;
``test_svdf.py`` runs those scales). ``wrap_T`` is TFLite Micro's store into the state's type T: the
clamp is to T's range *before* adding z_s, so an int8 state with z_s ≠ 0 wraps modulo 256 (kept).
The fused activation is not applied by TFLite Micro's integer kernel (only the int8 clamp): kept.

Overflow: the time sums and the unit sums are int32 in TFLite Micro with no bound (the kernel's
int16 time weights against a full-range int16 memory reach ~2^34, and biases near 2^31 occur in
TFLite Micro's own example models); a two's-complement CPU wraps them, so pocketml computes them
modulo 2^32, exactly (numpy: int64 then wrap; C: uint32 arithmetic, no undefined behaviour). The
same holds for ``x << left_shift`` inside the multiplier. The feature sum is bounded (checked):
Σ|w_f|·255 < 2^31.

Memory across invokes: the state starts at z_s (TFLite Micro's ResetVariableTensors fills a
variable tensor with its zero point) and persists: sample i's output depends on samples 0..i. So
:meth:`evaluate` runs a batch as a *time sequence* from the reset state (row i after row i − 1),
which is what TFLite Micro does when one interpreter is invoked on the samples in order, and what
the generated C does between two calls of ``<prefix>_reset()`` (docs/compile.md "Ops with memory").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph import fixedpoint
from pocketml.graph.ir import TensorInfo

STATE_TYPES = {"int8": (np.int8, -128, 127), "int16": (np.int16, -32768, 32767)}


def wrap(x: np.ndarray, bits: int) -> np.ndarray:
    """Two's-complement wrap of an int64 array to ``bits`` bits (what a store to a narrower type does)."""
    half = 1 << (bits - 1)
    return ((np.asarray(x, np.int64) + half) & ((1 << bits) - 1)) - half


def mbqm_wrapping(x: np.ndarray, multiplier: int, left_shift: int, right_shift: int) -> np.ndarray:
    """TFLite's MultiplyByQuantizedMultiplier with ``x << left_shift`` wrapping in int32, as in TFLite Micro."""
    shifted = wrap(np.asarray(x, np.int64) << left_shift, 32).astype(np.int32)
    high = fixedpoint.saturating_rounding_doubling_high_mul(shifted, np.int32(multiplier))
    return fixedpoint.rounding_divide_by_pot(high, right_shift).astype(np.int64)


@dataclass(frozen=True, eq=False)
class SvdfData:
    input_offset: int  # -z_x
    feature: tuple[int, int, int]  # M1: multiplier, left_shift, right_shift
    time: tuple[int, int, int]  # M2
    state_zero_point: int
    output_zero_point: int
    state_dtype: str


@dataclass(frozen=True, eq=False)
class Svdf:
    kind: ClassVar[str] = "svdf"
    name: str
    inputs: tuple[str, ...]
    output: str
    weights_feature: np.ndarray  # int8 [F, I]
    weights_time: np.ndarray  # int8 or int16 [F, M], the state's type
    bias: np.ndarray  # int32 [U]
    rank: int
    feature_scale: float  # s_wf (per tensor)
    time_scale: float  # s_wt
    bias_scale: float  # as the file gives it (TFLite Micro checks it against s_s·s_wt)
    state_scale: float
    state_zero_point: int
    activation: str = "none"  # written back to the .tflite; TFLite Micro's integer kernel ignores it

    @property
    def state_dtype(self) -> str:
        return "int16" if self.weights_time.dtype == np.int16 else "int8"

    @property
    def state_shape(self) -> tuple[int, int]:
        """(F, M): the memory, one row per filter, oldest step first."""
        return tuple(self.weights_time.shape)

    def prepare(self, tensors: dict[str, TensorInfo]) -> SvdfData:
        x, y = tensors[self.inputs[0]], tensors[self.output]
        n_filter, n_input = self.weights_feature.shape
        if self.weights_feature.dtype != np.int8 or self.weights_time.dtype not in (np.int8, np.int16):
            raise ValueError(f"{self.name}: feature weights must be int8 and time weights int8 or int16")
        if self.rank < 1 or n_filter % self.rank:
            raise ValueError(f"{self.name}: {n_filter} filters do not split into rank {self.rank}")
        n_unit = n_filter // self.rank
        if self.weights_time.shape[0] != n_filter or self.weights_time.shape[1] < 1:
            raise ValueError(f"{self.name}: time weights {self.weights_time.shape} do not match {n_filter} filters")
        if x.shape != (n_input,) or y.shape != (n_unit,) or self.bias.shape != (n_unit,):
            raise ValueError(f"{self.name}: shapes {x.shape} -> {y.shape} (bias {self.bias.shape}) do not match "
                             f"{n_filter} filters of {n_input} inputs at rank {self.rank}")
        if x.dtype != "int8" or y.dtype != "int8":
            raise ValueError(f"{self.name}: SVDF's input and output must be int8")
        _, lo, hi = STATE_TYPES[self.state_dtype]
        if not lo <= self.state_zero_point <= hi:
            raise ValueError(f"{self.name}: state zero point {self.state_zero_point} is outside {self.state_dtype}")
        f32 = np.float32
        s_state = f32(self.state_scale)
        if not abs(float(f32(self.bias_scale)) - float(s_state * f32(self.time_scale))) < 1e-5:
            raise ValueError(f"{self.name}: bias scale {self.bias_scale:g} is not state scale x time weight scale "
                             f"({float(s_state * f32(self.time_scale)):g}); TFLite Micro refuses it")
        d = [float(f32(v)) for v in (x.quant.scale, self.feature_scale, self.state_scale, self.time_scale,
                                     y.quant.scale)]
        m1 = fixedpoint.quantize_multiplier(d[0] * d[1] / d[2])  # in double, as TFLite Micro's build computes it
        m2 = fixedpoint.quantize_multiplier(d[2] * d[3] / d[4])
        worst = int(np.abs(self.weights_feature.astype(np.int64)).sum(axis=1).max(initial=0)) * 255
        if worst >= 2**31:
            raise ValueError(f"{self.name}: the feature sum could overflow int32 ({worst} >= 2^31)")
        return SvdfData(-x.quant.zero_point, m1, m2, self.state_zero_point, y.quant.zero_point, self.state_dtype)

    def reset_state(self) -> np.ndarray:
        """The memory as TFLite Micro's ResetVariableTensors leaves it: every step at z_s."""
        return np.full(self.state_shape, self.state_zero_point, np.int64)

    def features(self, data: SvdfData, x: np.ndarray) -> np.ndarray:
        """The new column of the memory for every sample of ``x`` ([N, I] int8 -> [N, F], the state's type)."""
        _, lo, hi = STATE_TYPES[data.state_dtype]
        dot = (x.astype(np.int64) + data.input_offset) @ self.weights_feature.astype(np.int64).T  # |.| < 2^31
        scaled = np.clip(mbqm_wrapping(dot, *data.feature), lo, hi)
        return wrap(scaled + data.state_zero_point, 8 if data.state_dtype == "int8" else 16)

    def step(self, data: SvdfData, state: np.ndarray, new: np.ndarray) -> np.ndarray:
        """One invoke on the memory ``state`` ([F, M] int64, updated in place) with its new column:
        the int8 output row [U]."""
        state[:, :-1] = state[:, 1:]
        state[:, -1] = new
        t = (self.weights_time.astype(np.int64) * (state - data.state_zero_point)).sum(axis=1)
        acc = wrap(self.bias.astype(np.int64) + wrap(t, 32).reshape(-1, self.rank).sum(axis=1), 32)
        return np.clip(wrap(mbqm_wrapping(acc, *data.time) + data.output_zero_point, 32), -128, 127).astype(np.int8)

    def sequence(self, data: SvdfData, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A batch as a time sequence from the reset state: the outputs [N, U] int8 and the memory after
        each sample [N, F, M] (TFLite Micro's variable tensor after each invoke, as int64)."""
        new = self.features(data, x.reshape(len(x), -1))
        state = self.reset_state()
        outputs, memories = [], []
        for row in new:
            outputs.append(self.step(data, state, row))
            memories.append(state.copy())
        if not outputs:
            return np.zeros((0, len(self.bias)), np.int8), np.zeros((0, *self.state_shape), np.int64)
        return np.stack(outputs), np.stack(memories)

    def evaluate(self, data: SvdfData, x: np.ndarray) -> np.ndarray:
        """A batch as a time sequence from the reset state (see the module docstring)."""
        return self.sequence(data, x)[0]

    def macs(self, tensors: dict[str, TensorInfo]) -> int:
        return int(self.weights_feature.size + self.weights_time.size)

    def param_count(self) -> int:
        return int(self.weights_feature.size + self.weights_time.size + self.bias.size)

    def stored_bytes(self) -> int:
        return int(self.weights_feature.size + self.weights_time.nbytes + self.bias.size * 4)

    def state_bytes(self) -> int:
        """RAM the memory keeps between invokes (a static array in the C, outside the arena)."""
        return int(self.weights_time.nbytes)
