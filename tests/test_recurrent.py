"""nn.GRU (and nn.LSTM) unrolled into ordinary ops (``pocketml/graph/recurrent.py``): the float
decomposition is PyTorch's, a random-weight classifier shrinks for a board with C == reference ==
TFLite Micro, and what the unrolling does not cover is refused naming the user's layer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import pocketml
from pocketml.compress.mirror import GraphModule
from pocketml.compress.quantize import quantize
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture, check_model
from pocketml.models.reference import GRUClassifier, LSTMClassifier


def _data(n: int, steps: int = 6, features: int = 5, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, steps, features)).astype(np.float32)


class _LastState(nn.Module):
    def __init__(self, read: str) -> None:
        super().__init__()
        self.gru, self.fc, self.read = nn.GRU(5, 8, batch_first=True), nn.Linear(8, 3), read

    def forward(self, x):
        out, h = self.gru(x)
        return self.fc({"h[-1]": lambda: h[-1], "squeeze": lambda: h.squeeze(0), "out[:, -1]": lambda: out[:, -1],
                        "out[:, 2]": lambda: out[:, 2]}[self.read]())


@pytest.mark.parametrize("read", ["h[-1]", "squeeze", "out[:, -1]", "out[:, 2]"])
def test_the_decomposition_is_pytorchs_gru(read):
    """The unrolled float layers (what calibration observes) give nn.GRU's values; int8 stays close."""
    torch.manual_seed(0)
    model = _LastState(read).eval()
    x = _data(64)
    graph = capture(model, torch.as_tensor(x[:1]))
    with torch.no_grad():
        want = model(torch.as_tensor(x)).numpy()
    seen = graph.observe(torch.as_tensor(x))
    assert np.allclose(seen[graph.layers[-1].source].numpy(), want, atol=1e-5)
    q = quantize(graph, x)
    got = q.output_info.quant.dequantize(q.run(q.quantize_input(x))).reshape(want.shape)
    assert np.abs(got - want).max() < 8 * q.output_info.quant.scale  # a few output steps after ~100 int8 ops
    kinds = {ly.kind for ly in graph.layers}
    assert {"fully_connected", "logistic", "tanh", "mul", "add", "sub", "strided_slice"} <= kinds


@pytest.mark.parametrize("net", [GRUClassifier, LSTMClassifier])
def test_stacked_layers_read_the_output_sequence(net):
    """Two stacked layers: the second reads the first's whole sequence; the compression stages'
    float mirror of the graph (each layer's float_forward) is the model too."""
    torch.manual_seed(1)
    model = net(features=5, hidden=6, classes=3, layers=2).eval()
    x = _data(48)
    graph = capture(model, torch.as_tensor(x[:1]))
    assert "concatenation" in {ly.kind for ly in graph.layers}  # the first layer's whole output sequence
    with torch.no_grad():
        want = model(torch.as_tensor(x)).numpy()
        mirror = GraphModule(graph).eval()(torch.as_tensor(x)).numpy()
    assert np.allclose(graph.observe(torch.as_tensor(x))[graph.layers[-1].source].numpy(), want, atol=1e-5)
    assert np.allclose(mirror, want, atol=1e-5)


@pytest.mark.parametrize("net", [GRUClassifier, LSTMClassifier])
def test_a_recurrent_classifier_shrinks_for_a_board_and_verifies(net, tmp_path):
    torch.manual_seed(0)
    model = net(features=5, hidden=8, classes=4).eval()
    x = _data(40)
    result = pocketml.shrink(model, x[:24], (x[24:], None), "nano33ble", tmp_path / "rnn", name="rnn", report=False)
    assert result.c_mismatches == 0
    tflm = {c.runtime: c for c in result.verify.report.checks}["tflm"]
    assert tflm.available and tflm.mismatching_samples == 0 and tflm.samples > 0
    assert result.fits


@pytest.mark.parametrize(("gru", "says"), [
    (nn.GRU(5, 8, batch_first=True, bidirectional=True), "bidirectional=False"),
    (nn.GRU(5, 8, batch_first=True, num_layers=2), "num_layers=1"),
    (nn.GRU(5, 8), "batch_first=True"),
])
def test_unsupported_settings_name_the_layer_and_the_fix(gru, says):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(gru)

        def forward(self, x):
            return self.body[0](x)[1][-1]

    check = check_model(Net().eval(), torch.as_tensor(_data(1)))
    assert not check.compiles
    (blocker,) = check.blockers
    assert blocker.module == "body.0" and blocker.layer == "GRU" and says in blocker.problem


def test_an_initial_state_and_a_packed_sequence_are_refused():
    class WithH0(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(5, 8, batch_first=True)

        def forward(self, x):
            return self.gru(x, torch.tanh(x[:, :1, :1]).expand(1, -1, 8).contiguous())[1][0]

    class Packed(WithH0):
        def forward(self, x):
            lengths = torch.full((x.shape[0],), x.shape[1], dtype=torch.int64)
            return self.gru(nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True))[1][0]

    x = torch.as_tensor(_data(1))
    blockers = check_model(WithH0().eval(), x).blockers
    assert any(b.module == "gru" and "without h0" in b.problem for b in blockers)
    with pytest.raises(PocketMLError) as err:
        capture(Packed().eval(), x)
    assert "gru (GRU)" in str(err.value) and "padded" in str(err.value)


class _LSTMState(nn.Module):
    def __init__(self, read: str) -> None:
        super().__init__()
        self.lstm, self.fc, self.read = nn.LSTM(5, 8, batch_first=True), nn.Linear(8, 3), read

    def forward(self, x):
        out, (h, c) = self.lstm(x)
        return self.fc({"out[:, -1]": out[:, -1], "h[-1]": h[-1], "c": c.squeeze(0)}[self.read])


@pytest.mark.parametrize("read", ["out[:, -1]", "h[-1]", "c"])
def test_the_lstm_decomposition_is_pytorchs_lstm(read):
    torch.manual_seed(0)
    model = _LSTMState(read).eval()
    x = _data(64)
    graph = capture(model, torch.as_tensor(x[:1]))
    with torch.no_grad():
        want = model(torch.as_tensor(x)).numpy()
    assert np.allclose(graph.observe(torch.as_tensor(x))[graph.layers[-1].source].numpy(), want, atol=1e-5)
    q = quantize(graph, x)
    got = q.output_info.quant.dequantize(q.run(q.quantize_input(x))).reshape(want.shape)
    assert np.abs(got - want).max() < 8 * q.output_info.quant.scale


def test_an_lstm_initial_state_is_refused():
    class WithState(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(5, 8, batch_first=True)

        def forward(self, x):
            h0 = torch.tanh(x[:, :1, :1]).expand(1, -1, 8).contiguous()
            return self.lstm(x, (h0, h0))[1][0][0]

    blockers = check_model(WithState().eval(), torch.as_tensor(_data(1))).blockers
    assert any(b.module == "lstm" and "without (h0, c0)" in b.problem for b in blockers)
