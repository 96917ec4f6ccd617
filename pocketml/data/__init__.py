"""Data: built-in datasets, input checks, loaders; edge data selection lives in ``pocketml.data.selection``
(``from pocketml.data.selection import select``), one layer up: its learners train with the models' loop."""

from pocketml.data.dataset import Dataset, Split, check_inputs
from pocketml.data.digits import load_digits

__all__ = ["Dataset", "Split", "check_inputs", "load_digits"]
