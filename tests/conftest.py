"""Shared fixtures: digits-cnn is trained once per test session (a few seconds)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pocketml.compress.quantize import quantize
from pocketml.graph.capture import capture
from pocketml.models import get_builtin


@pytest.fixture(scope="session")
def digits_trained():
    """(model, dataset) for digits-cnn, seed 0."""
    return get_builtin("digits-cnn").trained(seed=0, progress=False)


@pytest.fixture(scope="session")
def digits_qgraph(digits_trained):
    model, data = digits_trained
    return quantize(capture(model, torch.as_tensor(data.train.x[:1]), "digits_cnn"), data.train.x)


@pytest.fixture(scope="session")
def nano_result(digits_trained, tmp_path_factory):
    """shrink(digits-cnn) for the Nano 33 BLE Sense, written to a temporary folder."""
    from pocketml import shrink

    from pocketml.models.server import fit_server_model

    model, data = digits_trained
    out = tmp_path_factory.mktemp("shrink") / "nano"
    return shrink(model, data.train.x, data.test, "nano33ble", out, name="digits-cnn",
                  server_model=fit_server_model(data.train)), out


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)
