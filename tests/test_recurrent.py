"""nn.GRU (and nn.LSTM with recurrent="unroll") unrolled into ordinary ops, nn.LSTM as one
UNIDIRECTIONAL_SEQUENCE_LSTM op (the default) (``pocketml/graph/recurrent.py``): the float
decomposition is PyTorch's, a random-weight classifier shrinks for a board with C == reference ==
TFLite Micro, the sequence op's state resets per inference, and what is not covered is refused
naming the user's layer."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from torch import nn

import pocketml
from pocketml.compress.mirror import GraphModule
from pocketml.compress.quantize import quantize
from pocketml.deploy.verify.bundle import load_bundle
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture, check_model
from pocketml.graph.ir import PER_INFERENCE, STREAMING, QuantGraph
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


def _close_to_pytorch(model, x, graph, steps: int = 8):
    """The graph's observed float output is the model's, and its int8 run within ``steps`` output
    steps of it; returns the observed values and the quantized graph."""
    with torch.no_grad():
        want = model(torch.as_tensor(x)).numpy()
    seen = graph.observe(torch.as_tensor(x))
    assert np.allclose(seen[graph.layers[-1].source].numpy(), want, atol=1e-5)
    q = quantize(graph, x)
    got = q.output_info.quant.dequantize(q.run(q.quantize_input(x))).reshape(want.shape)
    assert np.abs(got - want).max() < steps * q.output_info.quant.scale
    return seen, q


@pytest.mark.parametrize("read", ["h[-1]", "squeeze", "out[:, -1]", "out[:, 2]"])
def test_the_decomposition_is_pytorchs_gru(read):
    """The unrolled float layers (what calibration observes) give nn.GRU's values; int8 stays close."""
    torch.manual_seed(0)
    model = _LastState(read).eval()
    x = _data(64)
    graph = capture(model, torch.as_tensor(x[:1]))
    _close_to_pytorch(model, x, graph)  # a few output steps after ~100 int8 ops
    kinds = {ly.kind for ly in graph.layers}
    assert {"fully_connected", "logistic", "tanh", "mul", "add", "sub", "strided_slice"} <= kinds


@pytest.mark.parametrize(("net", "mode"), [(GRUClassifier, "unroll"), (LSTMClassifier, "unroll"),
                                          (LSTMClassifier, "sequence")])
def test_stacked_layers_read_the_output_sequence(net, mode):
    """Two stacked layers: the second reads the first's whole sequence (unrolled: a CONCATENATION of
    the steps; sequence ops: the first op's [T, S] rows directly); the compression stages' float
    mirror of the graph (each layer's float_forward) is the model too."""
    torch.manual_seed(1)
    model = net(features=5, hidden=6, classes=3, layers=2).eval()
    x = _data(48)
    graph = capture(model, torch.as_tensor(x[:1]), recurrent=mode)
    kinds = [ly.kind for ly in graph.layers]
    if mode == "unroll":
        assert "concatenation" in kinds  # the first layer's whole output sequence
    else:
        assert kinds.count("unidirectional_sequence_lstm") == 2 and kinds.count("transpose") == 1
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
    assert result.verify.report.distinct_outputs == tflm.samples  # every sample its own answer
    assert result.fits
    if result.cortexm is not None:  # QEMU: the board's C on every test sample, each from the reset state
        assert result.cortexm.qemu_mismatches == 0 and result.cortexm.qemu_samples == tflm.samples
    kinds = {row.kind for row in result.layers}
    assert ("unidirectional_sequence_lstm" in kinds) == (net is LSTMClassifier)  # the default: the sequence op
    if net is LSTMClassifier:  # `pocketml verify OUT` later: the state semantics travel in verify/graph.npz
        from pocketml.deploy.verify import verify

        assert load_bundle(tmp_path / "rnn").graph.state_semantics() == PER_INFERENCE
        again = verify(tmp_path / "rnn", "tflm", probe_arena=False, latency=False)
        assert again.exact and again.check("tflm").samples == tflm.samples


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
        return self.fc({"out[:, -1]": lambda: out[:, -1], "h[-1]": lambda: h[-1], "c": lambda: c.squeeze(0),
                        "out[:, 2]": lambda: out[:, 2], "squeeze": lambda: h.squeeze(0)}[self.read]())


@pytest.mark.parametrize("read", ["out[:, -1]", "h[-1]", "c"])
def test_the_lstm_decomposition_is_pytorchs_lstm(read):
    torch.manual_seed(0)
    model = _LSTMState(read).eval()
    x = _data(64)
    _close_to_pytorch(model, x, capture(model, torch.as_tensor(x[:1]), recurrent="unroll"))


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


class _WholeSequence(nn.Module):
    """An LSTM whose whole output sequence a Linear reads (flattened): back to the graph's layout."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm, self.fc = nn.LSTM(5, 8, batch_first=True), nn.Linear(6 * 8, 3)

    def forward(self, x):
        return self.fc(self.lstm(x)[0].flatten(1))


@pytest.mark.parametrize("read", ["out[:, -1]", "h[-1]", "squeeze", "out[:, 2]", "whole"])
def test_an_lstm_is_one_sequence_op_close_to_pytorch(read):
    """recurrent="sequence" (the default): one UNIDIRECTIONAL_SEQUENCE_LSTM, state reset per inference,
    its cell scale the converter's power of two of the calibrated cell range; observed values are
    nn.LSTM's and int8 stays within a few output steps of float."""
    from pocketml.ops.unidirectional_sequence_lstm.capture import cell_scale_of_range

    torch.manual_seed(0)
    model = (_WholeSequence() if read == "whole" else _LSTMState(read)).eval()
    x = _data(64)
    graph = capture(model, torch.as_tensor(x[:1]))
    (lstm,) = [ly for ly in graph.layers if ly.kind == "unidirectional_sequence_lstm"]
    assert lstm.module == "lstm (LSTM)" and not {"logistic", "tanh", "mul"} & {ly.kind for ly in graph.layers}
    with torch.no_grad():
        _, (_, c) = model.lstm(torch.as_tensor(x))
    seen, q = _close_to_pytorch(model, x, graph, steps=4)
    (op,) = [op for op in q.ops if op.kind == "unidirectional_sequence_lstm"]
    assert op.state == PER_INFERENCE and q.state_semantics() == PER_INFERENCE
    cell = seen[f"{lstm.source}#cell"]
    assert np.isclose(cell[:, -1].numpy(), c[0].numpy(), atol=1e-5).all()
    assert op.cell_scale == cell_scale_of_range(float(cell.min()), float(cell.max()))


def test_the_converters_cell_scale():
    from pocketml.ops.unidirectional_sequence_lstm.capture import cell_scale_of_range

    assert cell_scale_of_range(-0.3, 0.2) == 2.0**-15  # pot 0: the finest, |c| < 1
    assert cell_scale_of_range(-1.5, 3.0) == 2.0**-13 and cell_scale_of_range(0, 4.0) == 2.0**-13
    assert cell_scale_of_range(0, 5e3) == 2.0**-5  # pot stops at 10


def test_the_sequence_op_resets_per_inference():
    """Two samples in a row give what each gives alone (the reference; the C and TFLite Micro in
    the op's own test and in the shrink test below), where the streaming op would carry the state."""
    torch.manual_seed(0)
    model = LSTMClassifier(features=5, hidden=8, classes=4).eval()
    x = _data(32)
    q = quantize(capture(model, torch.as_tensor(x[:1])), x)
    xq = q.quantize_input(x[:6])
    alone = np.concatenate([q.run(xq[i:i + 1]) for i in range(6)])
    assert np.array_equal(q.run(xq), alone)
    ops = [dataclasses.replace(op, state=STREAMING) if hasattr(op, "state") else op for op in q.ops]
    streaming = QuantGraph(q.name, q.tensors, ops, q.inputs, q.outputs)
    assert streaming.state_semantics() == STREAMING and not np.array_equal(streaming.run(xq)[1:], alone[1:])


def test_the_sequence_op_refuses_a_cell_state_read_and_an_unknown_mode():
    blockers = check_model(_LSTMState("c").eval(), torch.as_tensor(_data(1))).blockers
    assert any(b.module == "lstm" and "c_n" in b.problem and "recurrent='unroll'" in b.problem for b in blockers)
    assert check_model(_LSTMState("c").eval(), torch.as_tensor(_data(1)), recurrent="unroll").compiles
    with pytest.raises(PocketMLError, match="unknown recurrent mode 'loop'"):
        capture(_LSTMState("h[-1]").eval(), torch.as_tensor(_data(1)), recurrent="loop")


def test_the_cli_chooses_the_lstm_route(tmp_path):
    """shrink --check --recurrent: the same model blocked as a sequence op (c_n read), captured unrolled."""
    import subprocess
    import sys

    x = _data(8)
    torch.export.save(torch.export.export(_LSTMState("c").eval(), (torch.as_tensor(x[:1]),)), tmp_path / "m.pt2")
    np.savez(tmp_path / "d.npz", x_train=x, x_test=x, y_test=np.zeros(8, int))

    def check(*extra):
        return subprocess.run([sys.executable, "-m", "pocketml.cli", "shrink", "--model", str(tmp_path / "m.pt2"),
                               "--data", str(tmp_path / "d.npz"), "--check", "--json", *extra],
                              capture_output=True, text=True)

    blocked, unrolled = check(), check("--recurrent", "unroll")
    assert blocked.returncode == 4 and "c_n" in blocked.stdout
    assert unrolled.returncode == 0 and json.loads(unrolled.stdout)["compiles"]


def test_the_compression_mirror_calibrates_the_cell_state_too():
    """The compression stages quantize through the GraphModule mirror: the same cell scale as the
    captured graph, the same integer model."""
    torch.manual_seed(0)
    model = LSTMClassifier(features=5, hidden=8, classes=4).eval()
    x = _data(48)
    graph = capture(model, torch.as_tensor(x[:1]))
    direct, mirrored = quantize(graph, x), quantize(GraphModule(graph).float_graph(), x)
    (a,), (b,) = ([op for op in q.ops if hasattr(op, "state")] for q in (direct, mirrored))
    assert a.cell_scale == b.cell_scale and np.array_equal(a.input_weights, b.input_weights)
    xq = direct.quantize_input(x)
    assert np.array_equal(direct.run(xq), mirrored.run(xq))


@pytest.mark.parametrize("mode", ["sequence", "unroll"])
def test_a_recipe_captures_the_lstm_the_way_asked(mode):
    from pocketml.compress.recipe import get_recipe
    from pocketml.compress.runner import run_recipe
    from pocketml.data.dataset import Split

    torch.manual_seed(0)
    x = _data(48)
    test = Split(x[32:], np.arange(16) % 4)
    done = run_recipe(get_recipe("int8"), LSTMClassifier(features=5, hidden=8, classes=4), x[:32], None, test,
                      recurrent=mode)
    kinds = {op.kind for op in done.qgraph.ops}
    assert ("unidirectional_sequence_lstm" in kinds) == (mode == "sequence") and ("mul" in kinds) == (mode == "unroll")


class _Mixed(nn.Module):
    """A GRU (unrolled) and an LSTM (sequence op) stacked, in either order."""

    def __init__(self, first: str) -> None:
        super().__init__()
        self.a = (nn.LSTM if first == "lstm" else nn.GRU)(5, 6, batch_first=True)
        self.b = (nn.GRU if first == "lstm" else nn.LSTM)(6, 7, batch_first=True)
        self.fc = nn.Linear(7, 3)

    def forward(self, x):
        return self.fc(self.b(self.a(x)[0])[0][:, -1])


@pytest.mark.parametrize("first", ["lstm", "gru"])
def test_a_gru_and_an_lstm_read_each_others_sequence(first):
    """The sequence op's [T, S] rows go back to the graph's [1, S, T] signal for a GRU, and a GRU's
    concatenated sequence into [T, I] rows for the sequence op."""
    torch.manual_seed(0)
    model = _Mixed(first).eval()
    x = _data(32, steps=4)
    _close_to_pytorch(model, x, capture(model, torch.as_tensor(x[:1])))
