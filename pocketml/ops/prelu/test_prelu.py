"""PRELU: per-channel and single slopes on maps, signals and vectors through check_op (reference ==
C under sanitizers == TFLite Micro); a golden; rejections."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from pocketml.deploy.verify.conformance import check_op, run_op, tensors
from pocketml.graph.ir import QuantParams
from pocketml.ops.broadcast import Constant
from pocketml.ops.prelu import PReLU


def _prelu(n: int) -> nn.PReLU:
    p = nn.PReLU(n)
    with torch.no_grad():
        p.weight.copy_(torch.linspace(-0.5, 0.8, n))
    return p


CONFIGS = {
    "per-channel-map": (lambda: nn.Sequential(nn.Conv2d(2, 4, 3), _prelu(4), nn.Flatten(), nn.Linear(64, 3)),
                        (2, 6, 6)),
    "one-slope-signal": (lambda: nn.Sequential(nn.Conv1d(3, 4, 3), _prelu(1), nn.Flatten(), nn.Linear(24, 2)),
                         (3, 8)),
    "per-feature-vector": (lambda: nn.Sequential(nn.Linear(6, 5), _prelu(5)), (6,)),
}


@pytest.mark.parametrize("config", list(CONFIGS))
def test_conformance(config, tmp_path):
    build, shape = CONFIGS[config]
    errors = check_op(build(), shape, tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors


def test_golden():
    # x at 0.1 (zp 0), alpha 0.25 (q=25 at 0.01), y at 0.1 (zp 0): 2.0 -> 20; -2.0 -> -0.5 -> -5
    alpha = Constant(np.array([25], np.int8), QuantParams(0.01, 0))
    t = tensors(x=((2,), QuantParams(0.1, 0)), y=((2,), QuantParams(0.1, 0)))
    assert run_op(PReLU("p", ("x",), "y", alpha), t, [20, -20]).tolist() == [20, -5]


def test_prepare_refuses_slopes_that_grow_the_shape():
    alpha = Constant(np.zeros((2, 3), np.int8), QuantParams(0.01, 0))
    t = tensors(x=((3,), QuantParams(0.1, 0)), y=((3,), QuantParams(0.1, 0)))
    with pytest.raises(ValueError, match="keeps x's shape"):
        PReLU("p", ("x",), "y", alpha).prepare(t)
