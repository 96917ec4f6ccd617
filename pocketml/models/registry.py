"""Built-in models by name: how to build each, on which built-in data, trained how."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from pocketml.data.dataset import Dataset
from pocketml.data.digits import load_digits
from pocketml.errors import PocketMLError
from pocketml.models.digits_cnn import DigitsCNN
from pocketml.models.train import train


@dataclass(frozen=True)
class BuiltinModel:
    name: str
    description: str
    build: Callable[[], nn.Module]
    dataset: Callable[[], Dataset]
    epochs: int

    def trained(self, seed: int = 0, progress: bool = True) -> tuple[nn.Module, Dataset]:
        """Build with ``seed``, train on the built-in data, return (model, dataset)."""
        data = self.dataset()
        torch.manual_seed(seed)
        model = self.build()
        train(model, data.train, data.val, epochs=self.epochs, seed=seed, progress=progress)
        return model, data


BUILTIN = {
    "digits-cnn": BuiltinModel(
        "digits-cnn", "2 conv + BN + ReLU, max pool, FC; scikit-learn digits 8x8",
        DigitsCNN, load_digits, epochs=30,
    ),
}


def get_builtin(name: str) -> BuiltinModel:
    if name not in BUILTIN:
        close = difflib.get_close_matches(name, list(BUILTIN), n=3, cutoff=0.3)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise PocketMLError(f"unknown built-in model '{name}'",
                            f"{hint}built-in models: {', '.join(BUILTIN)}")
    return BUILTIN[name]
