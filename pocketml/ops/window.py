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

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Window:
    """Per spatial axis (rows, columns): kernel taps, stride, dilation and the padding before."""

    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    pad: tuple[int, int] = (0, 0)


POINTWISE = Window()  # element i of the output reads element i of every input (ADD, activations)


def absorb_pad(op, pad, tensors) -> object | None:
    """``op`` (a conv whose padding taps hold its input's zero point) reading ``pad``'s output, as the same
    op reading the PAD's input with the PAD's rows and columns added to its own padding: the same bits
    (graph/fuse.py), the padded map never stored. None unless ``pad`` is a PAD of a map's rows and
    columns only with the zero point (PAD, or PADV2 with the zero point as its value)."""
    if getattr(pad, "kind", "") != "pad":
        return None
    x = tensors[pad.inputs[0]]
    if len(x.shape) != 3 or pad.value not in (None, x.quant.zero_point):
        return None
    (top, bottom), (left, right), channels = pad.axis_paddings(3)
    if channels != (0, 0):
        return None
    end = op.padding if op.padding_end is None else op.padding_end
    return replace(op, inputs=(pad.inputs[0], *op.inputs[1:]), padding=(op.padding[0] + top, op.padding[1] + left),
                   padding_end=(end[0] + bottom, end[1] + right))
