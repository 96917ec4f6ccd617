"""SOFTMAX reading int16 (TFLite's 16x8 models): TFLite Micro's ``SoftmaxInt16``, two interpolated tables.

Both tables (513 int16 entries: 512 steps over the int16 input range and the end point) are built in
``prepare`` as TFLite's ``LUTPopulate<int16_t>`` builds them, in float32: each step's sample,
less half the rounding error of a linear interpolation at the step's midpoint. ``exp`` maps
[−10, 0] to Q0.15; ``1/(1+x)`` maps [0, 1] to Q0.15. Per row:

    d      = q_x − max q_x                         (<= 0)
    e      = LUT_exp(clamp(d·M + 32767))           M = s_x·β / (10/65535): [−65535, 0] is [−10, 0]
    S      = Σ e                                   Q16.15, int32
    h      = clz(S)
    s      = ((S << (h − 1)) + 2^13) >> 14         S normalised to [2^16, 2^17)
    r      = LUT_recip(clamp(s − 2^15 − 2^16))     1/S in Q0.15 (from 1/(1+x), x = S·2^−(…) − 1)
    q_y    = clamp((e·r + 2^(30−h)) >> (31 − h), 0, 32767)

``LUT(v)``: base ``lut[256 + (v >> 7)]``, plus the slope to the next entry times ``v & 127``,
``(slope · off + 64) >> 7``. Zero points 0, the output scale 1/32768 (TFLite Micro requires both).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pocketml.graph import fixedpoint

STEPS = 512
RANGE = 65535  # int16 max − min


@dataclass(frozen=True)
class Softmax16Data:
    input_multiplier: int
    input_shift: int  # signed: left if > 0
    exp_lut: tuple[int, ...]
    recip_lut: tuple[int, ...]


def _round(v: np.ndarray) -> np.ndarray:
    """TfLiteRound on float32: half away from zero."""
    return np.float32(np.sign(v) * np.floor(np.abs(v) + np.float32(0.5)))


def lut_populate(fn, input_scale: np.float32, input_zero_point: int, output_scale: np.float32) -> tuple[int, ...]:
    """TFLite's ``LUTPopulateInt16<float>`` (output zero point 0), in float32 throughout."""
    f32 = np.float32
    in_min = f32(input_scale * f32(-32768 - input_zero_point))
    in_max = f32(input_scale * f32(32767 - input_zero_point))
    out_min, out_max = f32(output_scale * f32(-32768)), f32(output_scale * f32(32767))
    step = f32((in_max - in_min) / f32(STEPS))
    half = f32(step / f32(2))
    inv = f32(f32(65536) / f32(out_max - out_min))
    lut = []
    for i in range(STEPS):
        at = f32(in_min + f32(f32(i) * step))
        val, mid = fn(at), fn(f32(at + half))
        nxt = fn(f32(in_min + f32(f32(i + 1) * step)))
        sample = _round(f32(val * inv))
        interp = _round(f32(f32(f32(nxt * inv) + sample) / f32(2)))
        err = f32(interp - _round(f32(mid * inv)))
        bias = _round(f32(err / f32(2)))
        lut.append(int(np.clip(f32(sample - bias), -32768, 32767)))
    lut.append(int(np.clip(_round(f32(fn(in_max) * inv)), -32768, 32767)))
    return tuple(lut)


def exp_lut() -> tuple[int, ...]:
    return lut_populate(lambda v: np.float32(np.exp(np.float32(v))), np.float32(10.0) / np.float32(RANGE), 32767,
                        np.float32(2.0) / np.float32(RANGE))


def recip_lut() -> tuple[int, ...]:
    return lut_populate(lambda v: np.float32(np.float32(1.0) / np.float32(np.float32(1.0) + v)),
                        np.float32(1.0) / np.float32(RANGE), -32768, np.float32(2.0) / np.float32(RANGE))


def lookup(v: np.ndarray, lut: np.ndarray) -> np.ndarray:
    v = v.astype(np.int32)
    index = 256 + (v >> 7)
    base, slope = lut[index], lut[index + 1] - lut[index]
    return (base + ((slope * (v & 0x7F) + 64) >> 7)).astype(np.int16).astype(np.int32)


def prepare(name: str, x_scale: float, beta: float) -> Softmax16Data:
    real = float(np.float64(np.float32(x_scale)) * np.float64(np.float32(beta)) / (10.0 / 65535.0))
    mult, left, right = fixedpoint.quantize_multiplier(real)
    fixedpoint.check_left_shift_bound(65535, np.array([left]))  # |d| <= 65535, shifted left in int32
    return Softmax16Data(mult, left - right, exp_lut(), recip_lut())


def evaluate(data: Softmax16Data, x: np.ndarray) -> np.ndarray:
    q = x.astype(np.int32)
    diff = q - q.max(axis=-1, keepdims=True)
    left, right = max(data.input_shift, 0), max(-data.input_shift, 0)
    scaled = fixedpoint.multiply_by_quantized_multiplier(diff, np.int32(data.input_multiplier), left, right)
    e = lookup(np.clip(scaled.astype(np.int64) + 32767, -32768, 32767), np.asarray(data.exp_lut, np.int32))
    total = e.astype(np.int64).sum(axis=-1, keepdims=True)
    clz = 32 - np.floor(np.log2(np.maximum(total, 1))).astype(np.int64) - 1
    clz = np.where(total == 0, 32, clz)
    shifted = ((total << (clz - 1)) + (1 << 13)) >> 14
    recip = lookup(np.clip(shifted - (1 << 15) - (1 << 16), -32768, 32767), np.asarray(data.recip_lut, np.int32))
    right_shift = 31 - clz
    out = (e.astype(np.int64) * recip + (np.int64(1) << (right_shift - 1))) >> right_shift
    return np.clip(out, 0, 32767).astype(np.int16)
