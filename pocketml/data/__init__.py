"""Data: built-in datasets, input checks and (later) edge data selection."""

from pocketml.data.dataset import Dataset, Split, check_inputs
from pocketml.data.digits import load_digits

__all__ = ["Dataset", "Split", "check_inputs", "load_digits"]
