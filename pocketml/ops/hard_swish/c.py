"""HARD_SWISH's C parameters (``pocketml_hard_swish_params``): its table, in flash."""

from pocketml.ops.table import c_params

__all__ = ["c_params"]
