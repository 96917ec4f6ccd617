"""The .tflite writer: TFLite Micro computes exactly our numpy reference; padding maps exactly.

Every model here is written by ``write_tflite`` (no TensorFlow) and run in TFLite Micro's own
interpreter in a child process; outputs must equal the reference byte for byte on every input.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from tflite.BuiltinOperator import BuiltinOperator
from tflite.Padding import Padding
from torch import nn

from pocketml import PocketMLError
from pocketml.compress.quantize import quantize
from pocketml.deploy.tflite import write_tflite
from pocketml.deploy.tflite.runtimes import run_tflite
from pocketml.formats.tflite import Model
from pocketml.graph.capture import capture
from pocketml.ops.tflite_write import same_or_valid


def _opcodes(model: bytes) -> list[int]:
    m = Model.Model.GetRootAs(model, 0)
    codes = [m.OperatorCodes(i).BuiltinCode() for i in range(m.OperatorCodesLength())]
    g = m.Subgraphs(0)
    return [codes[g.Operators(i).OpcodeIndex()] for i in range(g.OperatorsLength())]


@pytest.mark.parametrize("in_hw,kernel,stride,dilation,padding,out_hw,want", [
    ((8, 8), (3, 3), (1, 1), (1, 1), (1, 1), (8, 8), Padding.SAME),
    ((8, 8), (3, 3), (1, 1), (1, 1), (0, 0), (6, 6), Padding.VALID),
    ((8, 8), (3, 3), (2, 2), (1, 1), (1, 1), (4, 4), None),  # SAME would pad 0 on top, we pad 1
    ((9, 9), (3, 3), (2, 2), (1, 1), (1, 1), (5, 5), Padding.SAME),
    ((8, 8), (5, 5), (1, 1), (1, 1), (1, 1), (6, 6), None),
    ((8, 8), (3, 3), (1, 1), (2, 2), (2, 2), (8, 8), Padding.SAME),
    ((8, 8), (2, 2), (2, 2), (1, 1), (0, 0), (4, 4), Padding.VALID),
])
def test_padding_maps_to_same_or_valid_only_when_equivalent(in_hw, kernel, stride, dilation, padding, out_hw, want):
    assert same_or_valid(in_hw, kernel, stride, dilation, padding, out_hw) == want


def test_digits_cnn_is_bit_exact_in_tflite_micro(digits_qgraph, digits_trained, tmp_path):
    _, data = digits_trained
    x = digits_qgraph.quantize_input(data.test.x)
    model = write_tflite(digits_qgraph)
    assert model[4:8] == b"TFL3"
    assert _opcodes(model) == [BuiltinOperator.CONV_2D, BuiltinOperator.CONV_2D, BuiltinOperator.MAX_POOL_2D,
                               BuiltinOperator.RESHAPE, BuiltinOperator.FULLY_CONNECTED]
    path = tmp_path / "digits.tflite"
    path.write_bytes(model)
    got = run_tflite(path, x, "tflm").outputs[0]
    ref = digits_qgraph.run(x).reshape(len(x), -1)
    assert len(x) == 360
    assert np.array_equal(got, ref)


class EveryOp(nn.Module):
    """One of each op the writer translates, with paddings that need an explicit PAD / PADV2."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)  # 16 -> 8, top pad 1: not SAME -> PAD + VALID
        self.b1 = nn.BatchNorm2d(8)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)  # SAME
        self.pw = nn.Conv2d(8, 8, 1)  # VALID
        self.c5 = nn.Conv2d(8, 8, 5, padding=1)  # 10 -> 8: neither -> PAD
        self.mp = nn.MaxPool2d(3, 2, padding=1)  # neither -> PADV2 filled with -128
        self.ap = nn.AvgPool2d(2)
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        y = y + F.relu6(self.pw(F.relu(self.dw(y))))
        y = torch.cat([y, F.relu(self.c5(F.pad(y, (1, 1, 1, 1))))], 1)
        y = self.ap(self.mp(y)).mean((2, 3))
        return F.softmax(self.fc(y), 1)


@pytest.fixture(scope="module")
def every_op(tmp_path_factory):
    torch.manual_seed(0)
    model = EveryOp().eval()
    with torch.no_grad():
        model.b1.running_mean.uniform_(-0.5, 0.5)
        model.b1.running_var.uniform_(0.5, 2.0)
    x = np.random.default_rng(0).normal(size=(96, 3, 16, 16)).astype(np.float32)
    graph = quantize(capture(model, torch.as_tensor(x[:1]), "every_op"), x)
    path = tmp_path_factory.mktemp("tflite") / "every_op.tflite"
    path.write_bytes(write_tflite(graph))
    return graph, graph.quantize_input(x), path


def test_every_op_and_explicit_padding_bit_exact_in_tflite_micro(every_op):
    graph, x, path = every_op
    kinds = {op.kind for op in graph.ops}
    assert {"conv2d", "depthwise_conv2d", "add", "pad", "concatenation", "max_pool2d", "avg_pool2d", "mean",
            "fully_connected", "softmax"} <= kinds
    codes = _opcodes(path.read_bytes())
    assert codes.count(BuiltinOperator.PAD) == 3  # the model's own PAD + two for conv paddings
    assert codes.count(BuiltinOperator.PADV2) == 1  # before the max pool
    ref = graph.run(x).reshape(len(x), -1)
    got = run_tflite(path, x, "tflm").outputs[0]
    assert np.array_equal(got, ref)


def test_cut_model_exposes_every_layer_and_each_matches(every_op, tmp_path):
    graph, x, _ = every_op
    names = [op.output for op in graph.ops]
    cut = tmp_path / "cut.tflite"
    cut.write_bytes(write_tflite(graph, outputs=names))
    run = run_tflite(cut, x[:16], "tflm", n_outputs=len(names))
    layers = graph.run_layers(x[:16])
    for name, got in zip(names, run.outputs, strict=True):
        assert np.array_equal(got, layers[name].reshape(16, -1)), name


def test_litert_runs_it_with_both_resolvers(every_op):
    graph, x, path = every_op
    ref = graph.run(x[:32]).reshape(32, -1)
    for runtime in ("litert-reference", "litert-xnnpack"):
        got = run_tflite(path, x[:32], runtime).outputs[0]
        assert got.shape == ref.shape and got.dtype == np.int8
        assert np.abs(got.astype(int) - ref).max() <= 3  # not bit-exact by design; close


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_corrupt_tflite_is_a_clear_error_not_a_crash(every_op, tmp_path, damage):
    graph, x, path = every_op
    data = path.read_bytes()
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(data[: len(data) // 3] if damage == "truncated" else b"TFL3" + bytes(range(256)) * 8)
    with pytest.raises(PocketMLError, match="corrupt or truncated"):
        run_tflite(bad, x[:2], "tflm")


def test_unknown_output_tensor_is_refused(digits_qgraph):
    with pytest.raises(PocketMLError, match="not a tensor"):
        write_tflite(digits_qgraph, outputs=["nope"])


@pytest.mark.parametrize("family", ["ds-cnn", "resnet8", "fc-autoencoder"])
def test_mlperf_tiny_shaped_families_bit_exact_in_tflite_micro(family, tmp_path):
    """Each built-in family (seeded random weights, calibrated on its own data) in TFLite Micro == reference."""
    from pocketml.models import get_builtin

    spec = get_builtin(family)
    data = spec.dataset()
    torch.manual_seed(0)
    model = spec.build().eval()
    calib, test = data.train.x[:128], data.test.x[:24]
    graph = quantize(capture(model, torch.as_tensor(calib[:1]), family.replace("-", "_")), calib)
    path = tmp_path / "model.tflite"
    path.write_bytes(write_tflite(graph))
    x = graph.quantize_input(test)
    got = run_tflite(path, x, "tflm").outputs[0]
    assert np.array_equal(got, graph.run(x).reshape(len(x), -1))
