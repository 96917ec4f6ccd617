"""TILE: the input repeated along its per-sample axes, no arithmetic (no TFLite Micro kernel: checked
against LiteRT's reference kernels).

    op.py  tile.c/.h  c.py  tflite.py  capture.py  test_tile.py
"""

from pocketml.ops.spec import SHARED, OpSpec
from pocketml.ops.tile.c import c_params
from pocketml.ops.tile.capture import CAPTURE, float_forward, from_float
from pocketml.ops.tile.op import Tile, TileData
from pocketml.ops.tile.tflite import READ, write

SPEC = OpSpec(
    "tile",
    Tile,
    c_kernel="tile.c",
    c_params=c_params,
    tflite_write=write,
    tflite_read=READ,
    capture=CAPTURE,
    from_float=from_float,
    float_forward=float_forward,
    output_quant=SHARED,
)

__all__ = ["SPEC", "Tile", "TileData"]
