"""Built-in models by name: how to build each, on which built-in data, trained how."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from pocketml.data.dataset import Dataset
from pocketml.data.digits import load_digits
from pocketml.data.synthetic import keyword_mfcc, machine_log_mel, tiny_images
from pocketml.errors import PocketMLError
from pocketml.models.digits_cnn import DigitsCNN
from pocketml.models.ds_cnn import DSCNN
from pocketml.models.fc_autoencoder import FCAutoencoder
from pocketml.models.resnet8 import ResNet8
from pocketml.models.train import calibrate_batchnorm, fit_head, train, train_reconstruction


@dataclass(frozen=True)
class BuiltinModel:
    name: str
    description: str
    build: Callable[[], nn.Module]
    dataset: Callable[[], Dataset]
    epochs: int
    fit: Callable[[nn.Module, Dataset, int], nn.Module] | None = None  # None: the shared train() loop
    has_labels: bool = True  # False: outputs are not class scores (shrink gets no test labels)

    def trained(self, seed: int = 0, progress: bool = True) -> tuple[nn.Module, Dataset]:
        """Build with ``seed``, train on the built-in data, return (model, dataset)."""
        data = self.dataset()
        torch.manual_seed(seed)
        model = self.build()
        if self.fit is not None:
            return self.fit(model, data, seed), data
        train(model, data.train, data.val, epochs=self.epochs, seed=seed, progress=progress)
        return model, data


def _random_body_fitted_head(model: nn.Module, data: Dataset, seed: int) -> nn.Module:
    """Random (seeded) weights, BatchNorm statistics measured on the data, then the linear head fitted."""
    calibrate_batchnorm(model, data.train.x)
    return fit_head(model, model.head(), data.train, seed=seed)


def _autoencoder(model: nn.Module, data: Dataset, seed: int) -> nn.Module:
    """Trained to reconstruct the normal training samples (as MLPerf's anomaly detector is)."""
    normal = data.train.x[data.train.y == 0]
    calibrate_batchnorm(model, normal)
    with torch.no_grad():  # start from "predict the mean frame": training then only learns the deviations
        model.net[-1].bias.copy_(torch.as_tensor(normal.mean(0)))
        model.net[-1].weight.mul_(0.1)
    return train_reconstruction(model, normal, epochs=12, lr=3e-3, seed=seed)


BUILTIN = {
    "digits-cnn": BuiltinModel(
        "digits-cnn", "2 conv + BN + ReLU, max pool, FC; scikit-learn digits 8x8",
        DigitsCNN, load_digits, epochs=30,
    ),
    # MLPerf Tiny-shaped families on seeded synthetic data (pocketml/data/synthetic.py): random
    # weights with BatchNorm statistics measured on the data and a fitted classifier head, so the
    # int8 ranges are realistic; they build in seconds.
    "ds-cnn": BuiltinModel(
        "ds-cnn", "keyword spotting: 10x4 conv + 4 depthwise-separable blocks, avg pool, FC, softmax; 49x10 MFCCs "
        "(synthetic)", DSCNN, keyword_mfcc, epochs=0, fit=_random_body_fitted_head,
    ),
    "resnet8": BuiltinModel(
        "resnet8", "image classification: ResNet-8 (3 residual stacks, 16/32/64), avg pool, FC, softmax; 32x32x3 "
        "(synthetic)", ResNet8, tiny_images, epochs=0, fit=_random_body_fitted_head,
    ),
    "fc-autoencoder": BuiltinModel(
        "fc-autoencoder", "anomaly detection: 640-128x4-8-128x4-640 dense autoencoder with BatchNorm; 5x128 log-mel "
        "(synthetic)", FCAutoencoder, machine_log_mel, epochs=8, fit=_autoencoder, has_labels=False,
    ),
}


def get_builtin(name: str) -> BuiltinModel:
    if name not in BUILTIN:
        close = difflib.get_close_matches(name, list(BUILTIN), n=3, cutoff=0.3)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise PocketMLError(f"unknown built-in model '{name}'",
                            f"{hint}built-in models: {', '.join(BUILTIN)}")
    return BUILTIN[name]
