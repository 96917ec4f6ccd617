"""PRELU, ``y = x`` above zero and ``alpha · x`` below with a learned slope per element (usually per
channel): TFLite Micro's int8 kernel (``reference_ops::BroadcastPrelu4DSlow`` / ``Prelu``).

    M_1 = s_x / s_y,   M_2 = s_x · s_alpha / s_y          (double, from the float32 scales)
    v   = q_x − z_x
    q_y = clamp(z_y + (v · M_1  if v >= 0  else  v · (q_alpha − z_alpha) · M_2), −128, 127)

|v| <= 255 and |v · (q_alpha − z_alpha)| <= 65025 must stay in int32 after each left shift
(checked). ``alpha`` is the second operand: a constant (PyTorch's ``nn.PReLU`` weights) or an
activation, broadcast against x (``pocketml/ops/broadcast.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph import fixedpoint
from pocketml.graph.ir import TensorInfo
from pocketml.ops import broadcast
from pocketml.ops.broadcast import BinaryOperands, Constant


@dataclass(frozen=True)
class PReLUData:
    geometry: broadcast.Geometry
    input_zero_point: int
    alpha_zero_point: int
    output_zero_point: int
    identity_multiplier: int
    identity_left_shift: int
    identity_right_shift: int
    alpha_multiplier: int
    alpha_left_shift: int
    alpha_right_shift: int


@dataclass(frozen=True)
class PReLU(BinaryOperands):
    kind: ClassVar[str] = "prelu"
    in_place: ClassVar[str] = "elementwise"
    name: str
    inputs: tuple[str, ...]  # x (and alpha, if it is not a constant)
    output: str
    constant: Constant | None = None  # alpha

    def prepare(self, tensors: dict[str, TensorInfo]) -> PReLUData:
        x, alpha = broadcast.operand_infos(self, tensors)
        y = tensors[self.output]
        if self.constant is not None and self.constant.index != 1:
            raise ValueError(f"{self.name}: PRELU's slopes are its second operand")
        out = broadcast.broadcast_shape(self.name, x.shape, alpha.shape)
        if out != x.shape or y.shape != x.shape or len(x.shape) > 3:
            raise ValueError(f"{self.name}: PRELU keeps x's shape (at most 3 axes per sample) and alpha must broadcast "
                             f"to it; got x {x.shape}, alpha {alpha.shape} -> {y.shape}")
        s_x, s_a, s_y = (np.float64(np.float32(t.quant.scale)) for t in (x, alpha, y))
        identity = fixedpoint.quantize_multiplier(float(s_x / s_y))
        slope = fixedpoint.quantize_multiplier(float(s_x * s_a / s_y))
        fixedpoint.check_left_shift_bound(255, np.array([identity[1]]))
        fixedpoint.check_left_shift_bound(255 * 255, np.array([slope[1]]))
        return PReLUData(broadcast.geometry(x.shape, alpha.shape, out), x.quant.zero_point, alpha.quant.zero_point,
                         y.quant.zero_point, *identity, *slope)

    def evaluate(self, data: PReLUData, *xs: np.ndarray) -> np.ndarray:
        x, alpha = broadcast.batch_operands(self, xs, data.geometry)
        v = x.astype(np.int32) - data.input_zero_point
        a = np.broadcast_to(alpha.astype(np.int32) - data.alpha_zero_point, v.shape)
        up = fixedpoint.multiply_by_quantized_multiplier(v, np.int32(data.identity_multiplier),
                                                         data.identity_left_shift, data.identity_right_shift)
        down = fixedpoint.multiply_by_quantized_multiplier(v * a, np.int32(data.alpha_multiplier),
                                                           data.alpha_left_shift, data.alpha_right_shift)
        out = np.where(v >= 0, up, down).astype(np.int64) + data.output_zero_point
        return np.clip(out, -128, 127).astype(np.int8)
