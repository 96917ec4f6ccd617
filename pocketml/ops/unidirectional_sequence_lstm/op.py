"""UNIDIRECTIONAL_SEQUENCE_LSTM: TFLite Micro's integer LSTM (int8 activations and weights, int16 gates
and cell state, int32 biases), batch-major, one sequence of T steps per invoke.

Per step t, for each gate g in (input i, forget f, cell z, output o), with x_t the int8 input row and
h the int8 hidden state (zero point z_h; the output row of step t is the new h):

    pre_g = sat16( sat16(M_xg · (Σ_k (x_t[k] − z_x) · Wx_g[:, k] + b_g))     input FC, int16 Q3.12
                 + sat16(M_hg · (Σ_k (h[k] − z_h) · Wh_g[:, k])) )             recurrent FC, no bias
    i, f, o = sigmoid16(pre_i, pre_f, pre_o);  z = tanh16(pre_z)                int16 Q0.15 (ops/sigmoid16.py)
    c = sat16( sat16(M_fc · f·c) + sat16(M_iz · i·z) );  c = clamp(c, ±clip)   cell state, int16 2^p
    h = clamp8(z_h + M_h · tanh16(c) · o)                                        hidden state, int8

    M_xg = s_x·s_wxg / 2^-12    M_hg = s_h·s_whg / 2^-12    (double from float32 scales, as TFLM)
    M_fc = 2^-15·s_c / s_c      M_iz = 2^-30 / s_c          M_h = 2^-30 / s_h
    every M·(int) is TFLite's MultiplyByQuantizedMultiplier (graph/fixedpoint.py)

Overflow: the input FC sums I products of |x − z_x| <= 255 by |w| <= 127 plus the bias, the
recurrent FC S of them (both checked below 2^31 in ``prepare``); the products of two int16 gate
values are at most 2^30. The cell clip is ``trunc(clip / s_c)`` saturated to int16; 0 means none.

State. TFLite Micro keeps h and c in variable tensors across invokes (its ``reset()`` restores
h = z_h, c = 0); so does the generated C (static arrays, ``<prefix>_reset()``). ``state`` says which
semantics the model means (``graph/ir.py``): ``"streaming"`` (a .tflite's LSTM: the state persists;
the reference runs a batch as one time sequence from the reset state, sample after sample, as
TFLite Micro and the C run invoke after invoke) or ``"per-inference"`` (a PyTorch sequence
classifier: every invoke is one whole sequence from the reset state; the C kernel resets the state
at the start of each call, the reference runs each row on its own, and TFLite Micro is reset
between samples). docs/compile.md, "Ops with memory".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph import fixedpoint
from pocketml.graph.ir import STATE_SEMANTICS, STREAMING, TensorInfo
from pocketml.ops.sigmoid16 import sigmoid16, tanh16, tanh_scaling

GATES = ("input", "forget", "cell", "output")  # TFLite's order of the weight and bias inputs
GATE_SCALE = 2.0**-12  # the FCs' int16 output (Q3.12), the non-linearities' input
ACT_SCALE = 2.0**-15  # the non-linearities' int16 output (Q0.15)
INT16 = (-32768, 32767)


@dataclass(frozen=True, eq=False)
class Multiplier:
    """One TFLite multiplier, (Q0.31, left shift, right shift), for one or more channels."""

    multiplier: np.ndarray  # int32 [n]
    left_shift: np.ndarray  # int32 [n]
    right_shift: np.ndarray  # int32 [n]

    @classmethod
    def of(cls, reals, max_abs_input: int) -> Multiplier:
        mult, left, right = fixedpoint.quantize_multipliers(np.atleast_1d(np.asarray(reals, np.float64)))
        fixedpoint.check_left_shift_bound(max_abs_input, left)
        return cls(mult, left, right)

    def apply(self, x: np.ndarray, axis_shape: tuple[int, ...] = ()) -> np.ndarray:
        """``x · M`` (int32 ``x``); ``axis_shape`` reshapes per-gate multipliers to broadcast over x."""
        shape = axis_shape or self.multiplier.shape
        return fixedpoint.multiply_by_quantized_multiplier(
            x, self.multiplier.reshape(shape), self.left_shift.reshape(shape), self.right_shift.reshape(shape))


def _sat16(x: np.ndarray) -> np.ndarray:
    return np.clip(x, *INT16).astype(np.int64)


@dataclass(frozen=True, eq=False)
class LSTMData:
    steps: int
    input_offset: int  # -z_x
    hidden_offset: int  # -z_h
    hidden_zero_point: int
    input_fc: Multiplier  # [4]: M_xg
    recurrent_fc: Multiplier  # [4]: M_hg
    forget_mul: Multiplier  # [1]: M_fc
    input_mul: Multiplier  # [1]: M_iz
    output_mul: Multiplier  # [1]: M_h
    tanh_multiplier: int  # the cell state's tanh input scaling (sigmoid16.tanh_scaling)
    tanh_shift: int
    cell_clip: int  # quantized clip, 0: none


@dataclass(frozen=True, eq=False)
class UnidirectionalSequenceLSTM:
    """An LSTM over a [T, I] int8 sequence, [T, S] int8 out (the hidden state after each step)."""

    kind: ClassVar[str] = "unidirectional_sequence_lstm"
    name: str
    inputs: tuple[str, ...]
    output: str
    input_weights: np.ndarray  # int8 [4, S, I], gates in GATES order
    recurrent_weights: np.ndarray  # int8 [4, S, S]
    bias: np.ndarray  # int32 [4, S]
    input_weight_scale: np.ndarray  # float32 [4], one per gate
    recurrent_weight_scale: np.ndarray  # float32 [4]
    cell_scale: float  # a power of two
    cell_clip: float = 0.0  # real clip of the cell state; 0: none
    state: str = STREAMING  # "streaming": kept between invokes; "per-inference": reset at each (module docstring)

    def prepare(self, tensors: dict[str, TensorInfo]) -> LSTMData:
        x, y = tensors[self.inputs[0]], tensors[self.output]
        if self.state not in STATE_SEMANTICS:
            raise ValueError(f"{self.name}: LSTM state {self.state!r} is not one of {', '.join(STATE_SEMANTICS)}")
        _, units, depth = self.input_weights.shape
        if (self.input_weights.shape[0] != 4 or self.recurrent_weights.shape != (4, units, units)
                or self.bias.shape != (4, units)):
            raise ValueError(f"{self.name}: LSTM weights {self.input_weights.shape}, {self.recurrent_weights.shape} "
                             f"and bias {self.bias.shape} are not [4, S, I], [4, S, S], [4, S]")
        if len(x.shape) != 2 or x.shape[1] != depth or y.shape != (x.shape[0], units):
            raise ValueError(f"{self.name}: LSTM shapes {x.shape} -> {y.shape} do not match weights "
                             f"[4, {units}, {depth}]")
        power = math.log2(self.cell_scale)
        if power != round(power) or not -30 <= power <= 0:
            raise ValueError(f"{self.name}: the cell state's scale {self.cell_scale} is not a power of two in "
                             "[2^-30, 1] (TFLite Micro's integer LSTM needs one)")
        bias_bound = int(np.abs(self.bias.astype(np.int64)).max(initial=0))
        input_acc, recurrent_acc = depth * 255 * 127 + bias_bound, units * 255 * 127
        if max(input_acc, recurrent_acc) >= 2**31:
            raise OverflowError(f"{self.name}: an LSTM gate's int32 accumulator could overflow "
                                f"(worst case {max(input_acc, recurrent_acc)} >= 2^31)")
        s_x, s_h, s_c = (np.float64(np.float32(s)) for s in (x.quant.scale, y.quant.scale, self.cell_scale))
        wx = np.asarray(self.input_weight_scale, np.float32).astype(np.float64)
        wh = np.asarray(self.recurrent_weight_scale, np.float32).astype(np.float64)
        clip = 0
        if self.cell_clip > 0:
            clip = int(np.trunc(np.clip(np.float64(np.float32(self.cell_clip)) / s_c, *INT16)))
        tanh_multiplier, tanh_shift = tanh_scaling(int(round(power)))
        return LSTMData(
            steps=x.shape[0], input_offset=-x.quant.zero_point, hidden_offset=-y.quant.zero_point,
            hidden_zero_point=y.quant.zero_point,
            input_fc=Multiplier.of(s_x * wx / GATE_SCALE, input_acc),
            recurrent_fc=Multiplier.of(s_h * wh / GATE_SCALE, recurrent_acc),
            forget_mul=Multiplier.of(ACT_SCALE * s_c / s_c, 2**30),
            input_mul=Multiplier.of(ACT_SCALE * ACT_SCALE / s_c, 2**30),
            output_mul=Multiplier.of(ACT_SCALE * ACT_SCALE / s_h, 2**30),
            tanh_multiplier=tanh_multiplier, tanh_shift=tanh_shift, cell_clip=clip)

    def evaluate(self, data: LSTMData, x: np.ndarray) -> np.ndarray:
        """Streaming: the batch as one time sequence from the reset state (sample i continues where
        sample i − 1 left the state), as TFLite Micro and the C run invoke after invoke without a
        reset. Per inference: each sample its own sequence from the reset state."""
        if self.state != STREAMING:
            return self.run_sequence(data, x)
        n, steps = x.shape[0], data.steps
        return self.run_sequence(data, x.reshape(1, n * steps, -1)).reshape(n, steps, -1)

    def run_sequence(self, data: LSTMData, x: np.ndarray) -> np.ndarray:
        """[N, T, I] int8 → [N, T, S]: each of the N rows its own sequence of T steps from the reset state."""
        n, steps = x.shape[0], x.shape[1]
        units = self.bias.shape[1]
        wx = self.input_weights.astype(np.float64)
        wh = self.recurrent_weights.astype(np.float64)
        # float64 matmuls are exact: every partial sum is an integer below 2^31 < 2^53 (prepare)
        acc_x = np.einsum("nti,gsi->ntgs", x.astype(np.float64) + data.input_offset, wx) + self.bias
        gate_x = _sat16(data.input_fc.apply(acc_x.astype(np.int32), (4, 1)))  # [N, T, 4, S]
        h = np.full((n, units), data.hidden_zero_point, np.int64)
        c = np.zeros((n, units), np.int64)
        out = np.empty((n, steps, units), np.int8)
        for t in range(steps):
            acc_h = np.einsum("ns,gjs->ngj", (h + data.hidden_offset).astype(np.float64), wh)
            pre = _sat16(gate_x[:, t] + _sat16(data.recurrent_fc.apply(acc_h.astype(np.int32), (4, 1))))
            i, f, o = (sigmoid16(pre[:, g]).astype(np.int64) for g in (0, 1, 3))
            z = tanh16(pre[:, 2], 3, 0).astype(np.int64)  # Q3.12 in: multiplier 3, no shift
            c = _sat16(_sat16(data.forget_mul.apply((f * c).astype(np.int32)))
                       + _sat16(data.input_mul.apply((i * z).astype(np.int32))))
            if data.cell_clip:
                c = np.clip(c, -data.cell_clip, data.cell_clip)
            tc = tanh16(c, data.tanh_multiplier, data.tanh_shift).astype(np.int64)
            h = np.clip(data.hidden_zero_point + data.output_mul.apply((tc * o).astype(np.int32)), -128, 127)
            out[:, t] = h
        return out

    def macs(self, tensors: dict[str, TensorInfo]) -> int:
        steps = tensors[self.inputs[0]].shape[0]
        return int(steps * (self.input_weights.size + self.recurrent_weights.size))

    def param_count(self) -> int:
        return int(self.input_weights.size + self.recurrent_weights.size + self.bias.size)

    def stored_bytes(self) -> int:
        return int(self.input_weights.size + self.recurrent_weights.size + self.bias.size * 4)

    def state_bytes(self) -> int:
        """RAM the C keeps between calls, outside the arena: the int8 hidden and int16 cell state."""
        return int(self.bias.shape[1] * 3)
