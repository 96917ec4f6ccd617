"""How an op's output pixel reads its input map: what patch-based execution needs of an op.

An op that can run on a spatial patch of its maps (``pocketml/graph/patch.py``, MCUNetV2's
patch-based inference) says so with two methods:

* ``window() -> Window | None``: on each spatial axis, output position ``o`` reads input positions
  ``o·stride − pad + k·dilation`` for ``k < kernel``; None: this configuration cannot run on patches
  (e.g. a PADV2 with its own value);
* ``on_patch(name, inputs, output, shape)``: the same op on a patch of shape ``shape`` whose
  border already holds the input's zero point where the map ends: its padding removed (VALID),
  since TFLite's integer kernels treat a padded tap exactly as a tap holding the zero point.

Positions of a patch outside the map are set to the map's zero point by the patch runner, so a
layer computed on a patch equals the crop of the layer computed on the whole map, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """Per spatial axis (rows, columns): kernel taps, stride, dilation and the padding before."""

    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    pad: tuple[int, int] = (0, 0)


POINTWISE = Window()  # element i of the output reads element i of every input (ADD, activations)
