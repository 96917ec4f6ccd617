"""The four MLPerf Tiny-shaped built-in families go through shrink with C == reference on every sample."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pocketml import shrink
from pocketml.data.dataset import Split
from pocketml.models import BUILTIN, get_builtin

SHAPES = {"ds-cnn": (1, 49, 10), "resnet8": (3, 32, 32), "fc-autoencoder": (640,), "digits-cnn": (1, 8, 8)}
OPS = {"ds-cnn": {"pad", "conv2d", "depthwise_conv2d", "mean", "fully_connected", "softmax"},
       "resnet8": {"conv2d", "pad", "add", "mean", "fully_connected", "softmax"},
       "fc-autoencoder": {"fully_connected"}, "digits-cnn": {"conv2d", "max_pool2d", "fully_connected"}}


@pytest.mark.parametrize("name", ["ds-cnn", "resnet8", "fc-autoencoder"])
def test_family_shrinks_bit_exact(name, tmp_path, digits_trained):
    spec = get_builtin(name)
    model, data = spec.trained(seed=0, progress=False)
    assert data.train.x.shape[1:] == SHAPES[name]
    test = Split(data.test.x[:40], data.test.y[:40] if spec.has_labels else None)
    # esp32s3: not a Cortex-M, so only the host C is built (the QEMU run is test_cortexm's)
    result = shrink(model, data.train.x[:96], test, "esp32s3", tmp_path / name, name=name, report=False)
    assert result.c_mismatches == 0
    assert OPS[name] <= {row.kind for row in result.layers}
    if spec.has_labels:
        assert result.accuracy["c"] == result.accuracy["int8"]
        assert result.accuracy["float"] > 1.5 / len(np.unique(data.test.y))  # well above chance on its data
    else:
        assert result.accuracy.to_dict() == {"float": None, "int8": None, "c": None}
        x = torch.as_tensor(data.test.x[:40])
        with torch.no_grad():
            err = float(torch.mean((model(x) - x) ** 2))
        assert err < float(torch.var(x))  # it reconstructs better than the mean would


def test_registry_lists_the_four_families():
    assert {"digits-cnn", "ds-cnn", "resnet8", "fc-autoencoder"} <= set(BUILTIN)
