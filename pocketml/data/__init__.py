"""Data: built-in datasets, input checks and edge data selection (``pocketml.data.select``)."""

from pocketml.data.dataset import Dataset, Split, check_inputs
from pocketml.data.digits import load_digits
from pocketml.data.selection import select

__all__ = ["Dataset", "Split", "check_inputs", "load_digits", "select"]
