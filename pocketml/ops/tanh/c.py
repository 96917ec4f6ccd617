"""TANH's C parameters (``pocketml_tanh_params``): its table, in flash."""

from pocketml.ops.table import c_params

__all__ = ["c_params"]
