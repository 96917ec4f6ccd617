"""FULLY_CONNECTED: check_op configurations and the accumulator bound ``prepare`` enforces."""

from __future__ import annotations

import numpy as np
import pytest
from torch import nn

from pocketml.deploy.verify.conformance import check_op, tensors
from pocketml.graph.ir import QuantParams
from pocketml.ops.fully_connected import FullyConnected

CONFIGS = {
    "20to7": (lambda: nn.Linear(20, 7), (20,)),
    "relu": (lambda: nn.Sequential(nn.Linear(33, 9), nn.ReLU()), (33,)),
    "70to40-relu": (lambda: nn.Sequential(nn.Linear(70, 40), nn.ReLU()), (70,)),  # whole dot blocks + leftovers
}


@pytest.mark.parametrize("config", list(CONFIGS))
def test_conformance(config, tmp_path):
    build, shape = CONFIGS[config]
    errors = check_op(build(), shape, tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors
    assert errors["max_err_lsb"] < 6.0, errors


def test_prepare_rejects_accumulators_that_could_overflow():
    depth = 70_000  # 70000 * 255 * 127 > 2^31
    op = FullyConnected("fc", ("x",), "y", np.zeros((1, depth), np.int8), np.zeros(1, np.int32),
                        np.ones(1, np.float32), "none")
    q = QuantParams(0.1, 0)
    with pytest.raises(OverflowError):
        op.prepare(tensors(x=((depth,), q), y=((1,), q)))
