"""Built-in model families, and the one training loop they share."""

from pocketml.models.registry import BUILTIN, BuiltinModel, get_builtin
from pocketml.models.train import evaluate_accuracy, train

__all__ = ["BUILTIN", "BuiltinModel", "get_builtin", "train", "evaluate_accuracy"]
