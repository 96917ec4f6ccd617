"""SVDF: int8 in and out, a memory of int16 (TFLite Micro's int8 x int16 kernel) or int8 that persists
between invokes (a TFLite variable tensor; ``<prefix>_reset()`` in the C).

    op.py  svdf.c/.h  c.py  tflite.py  test_svdf.py
    svdf_dsp.h/.c, dsp.py: the kernel for cores with the DSP extension (SMLAD/SMLALD dot products)
"""

from pocketml.ops.spec import OpSpec
from pocketml.ops.svdf.c import c_params
from pocketml.ops.svdf.dsp import dsp_params
from pocketml.ops.svdf.op import Svdf, SvdfData
from pocketml.ops.svdf.tflite import READ, write

SPEC = OpSpec("svdf", Svdf, c_kernel="svdf.c", c_params=c_params, dsp_kernel="svdf_dsp.c", dsp_params=dsp_params,
              tflite_write=write, tflite_read=READ)

__all__ = ["SPEC", "Svdf", "SvdfData"]
