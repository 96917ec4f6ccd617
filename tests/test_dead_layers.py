"""Layers whose calibrated ranges are (almost) zero, as untrained networks and dead ReLUs give
(issue 21, bugs 4a and 4b): pocketml still writes C and a .tflite that TFLite Micro accepts and
agrees with bit for bit, and a layer it cannot quantize is named."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from pocketml.compress.quantize import quantize
from pocketml.deploy.verify.conformance import check_op
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture
from pocketml.graph.ir import MIN_SCALE, QuantParams
from pocketml.ops.weights import quantize_weights_and_bias


def _dead(layer: nn.Module) -> nn.Module:
    """Small weights and a large negative bias: the ReLU after it outputs 0 on every input."""
    with torch.no_grad():
        layer.weight.uniform_(-0.01, 0.01)
        layer.bias.fill_(-10.0)
    return layer


def test_a_dead_relu6_layer_gives_a_model_tflite_micro_runs(tmp_path):
    """4a: the ReLU6 output range is [0, 0]; its scale is floored so 6.0 stays in int32."""
    model = nn.Sequential(nn.Conv2d(2, 3, 3), _dead(nn.Conv2d(3, 3, 1)), nn.ReLU6(), nn.Flatten(), nn.Linear(48, 4))
    errors = check_op(model, (2, 6, 6), tmp_path)  # C and TFLite Micro both equal the reference
    relu6_out = [t for t in errors["graph"].tensors.values() if t.name.startswith("conv2")][0]
    assert relu6_out.quant.scale >= MIN_SCALE


def test_a_linear_after_a_dead_layer_keeps_its_bias_in_int32(tmp_path):
    """4b: a bias over a near-zero input scale is kept in int32 as TFLite's converter does (the weight
    scale grows), instead of an OverflowError that says 'split the layer'."""
    model = nn.Sequential(_dead(nn.Linear(6, 5)), nn.ReLU(), nn.Linear(5, 3))
    errors = check_op(model, (6,), tmp_path)
    fc = errors["graph"].ops[-1]
    assert np.abs(fc.bias).max() <= 2**30 + 1


def test_bias_adjustment_is_the_converter_rule():
    w = np.array([[0.5, -0.25]], np.float32)
    q, s_w, b = quantize_weights_and_bias(w, np.array([3.0], np.float32), input_scale=1e-9)
    assert np.isclose(s_w[0], 2 * 3.0 / (2**31 - 1) / 1e-9, rtol=1e-6)
    assert abs(int(b[0]) - 2**30) < 2**30 * 1e-6  # float32 scale rounding
    q2, s2, _ = quantize_weights_and_bias(w, np.array([0.1], np.float32), input_scale=0.05)
    assert np.isclose(s2[0], 0.5 / 127) and q2.tolist() == [[127, -64]]


def test_a_layer_that_cannot_be_quantized_is_named():
    class Huge(nn.Module):  # 300x300x3 inputs into one neuron: the accumulator bound, whatever the data
        def __init__(self) -> None:
            super().__init__()
            self.head = nn.Linear(300 * 300, 1)

        def forward(self, x):
            return self.head(x)

    x = np.random.default_rng(0).normal(size=(4, 300 * 300)).astype(np.float32)
    with pytest.raises(PocketMLError, match=r"head \(Linear\).*fewer inputs"):
        quantize(capture(Huge(), torch.as_tensor(x[:1])), x)


def test_from_range_floors_the_scale():
    assert QuantParams.from_range(0.0, 0.0).scale >= MIN_SCALE
    assert QuantParams.from_range(-1.0, 3.0).scale == pytest.approx(4.0 / 255)
