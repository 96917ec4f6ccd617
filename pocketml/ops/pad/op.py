"""PAD of any axes with a constant: the zero point (PAD: the quantized 0.0) or a given int8 value
(PADV2). Input and output share quantization (TFLite Micro pads an int8 tensor with the raw value
and does not rescale). No arithmetic. int16 tensors (TFLite's 16x8 models): PAD only, zero point 0
(TFLite Micro pads int16 with 0, not the zero point), copied as bytes by the int8 kernel.

    q_y[i] = q_x[i − before] inside, the pad value in the border

``paddings`` holds a (before, after) pair per per-sample axis; two pairs on an [H, W, C] map are
(top, bottom), (left, right) (the channels unpadded).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pocketml.graph.ir import TensorInfo, Weightless
from pocketml.ops.reshape.op import Reshape
from pocketml.ops.window import Window

MAX_RANK = 4


@dataclass(frozen=True)
class PadData:
    pad_value: int
    pads: tuple[tuple[int, int], ...] = ()  # every axis's (before, after); () for an H, W pad of a map


@dataclass(frozen=True)
class Pad(Weightless):
    kind: ClassVar[str] = "pad"
    name: str
    inputs: tuple[str, ...]
    output: str
    paddings: tuple[tuple[int, int], ...]  # ((top, bottom), (left, right)) of a map, or one pair per axis
    value: int | None = None  # PADV2's int8 value; None: the zero point

    def axis_paddings(self, rank: int) -> tuple[tuple[int, int], ...]:
        """(before, after) of every per-sample axis."""
        pads = tuple((int(a), int(b)) for a, b in self.paddings)
        if rank == 3 and len(pads) == 2:
            return (*pads, (0, 0))
        if len(pads) != rank:
            raise ValueError(f"{self.name}: PAD of a {rank}-axis tensor needs {rank} (before, after) pairs, "
                             f"got {self.paddings}")
        return pads

    def prepare(self, tensors: dict[str, TensorInfo]) -> PadData:
        x, y = tensors[self.inputs[0]], tensors[self.output]
        pads = self.axis_paddings(len(x.shape))
        if min(v for pair in pads for v in pair) < 0:
            raise ValueError(f"{self.name}: PAD takes non-negative paddings, got {self.paddings}")
        if len(x.shape) > MAX_RANK:
            raise ValueError(f"{self.name}: PAD of {len(x.shape)} axes per sample (at most {MAX_RANK})")
        if x.quant != y.quant:
            raise ValueError(f"{self.name}: PAD needs the same quantization on input and output")
        if {x.dtype, y.dtype} not in ({"int8"}, {"int16"}):
            raise ValueError(f"{self.name}: PAD of {x.dtype} to {y.dtype}: int8 or int16 (TFLite's 16x8), one type")
        if x.dtype == "int16" and (self.value is not None or x.quant.zero_point != 0):
            raise ValueError(f"{self.name}: an int16 PAD takes zero point 0 and no PADV2 value (TFLite Micro pads "
                             f"int16 with 0), got zero point {x.quant.zero_point} and value {self.value}")
        want = tuple(d + a + b for d, (a, b) in zip(x.shape, pads, strict=True))
        if y.shape != want:
            raise ValueError(f"{self.name}: PAD of {x.shape} by {self.paddings} gives {want}, not {y.shape}")
        if self.value is not None and not -128 <= self.value <= 127:
            raise ValueError(f"{self.name}: PADV2's value {self.value} is not int8")
        value = y.quant.zero_point if self.value is None else self.value
        map_hw = len(x.shape) == 3 and pads[2] == (0, 0)
        return PadData(value, () if map_hw else pads)

    def window(self) -> Window | None:
        """Output position o reads input position o - before (patch-based execution); only a PAD with
        the zero point of a map's rows and columns (on a patch the runner's zero-point border pads)."""
        pads = tuple((int(a), int(b)) for a, b in self.paddings)
        if self.value is not None or len(pads) not in (2, 3) or (len(pads) == 3 and pads[2] != (0, 0)):
            return None
        return Window(pad=(pads[0][0], pads[1][0]))

    def on_patch(self, name: str, inputs: tuple[str, ...], output: str, shape: tuple[int, ...]) -> Reshape:
        """On a patch a PAD moves no data: the patch around its input already holds the zero point
        where the padding is, so its output is the input's bytes (an alias)."""
        return Reshape(name, inputs, output, tuple(shape))

    def evaluate(self, data: PadData, x: np.ndarray) -> np.ndarray:
        pads = self.axis_paddings(x.ndim - 1)
        return np.pad(x, ((0, 0), *pads), constant_values=data.pad_value)
