"""QUANTIZE's C parameters: its table by input byte, in flash."""

from pocketml.ops.table import c_params

__all__ = ["c_params"]
