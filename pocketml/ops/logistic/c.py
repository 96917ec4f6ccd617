"""LOGISTIC's C parameters (``pocketml_logistic_params``): its table, in flash."""

from pocketml.ops.table import c_params

__all__ = ["c_params"]
