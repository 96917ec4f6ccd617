"""ONNX models in (issue #17.2): read as data, captured like a PyTorch model, verified C out.

The files are written here from small PyTorch models (``pocketml.deploy.onnx.export_onnx`` and the
TorchScript exporter, which keeps BatchNormalization nodes); the float module pocketml builds is
compared with onnxruntime, then shrunk to C that must match the integer reference byte for byte.
"""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper
from torch import nn

from pocketml.deploy.onnx import export_onnx
from pocketml.errors import PocketMLError
from pocketml.models.files import load_model_file


def _net() -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(6, 8, 3, padding=1), nn.ReLU6(), nn.Flatten(), nn.Linear(8 * 3 * 3, 16),
                        nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 4))
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return net.eval()


def _data(n: int = 96, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r = np.random.default_rng(seed)
    return r.normal(size=(n, 1, 6, 6)).astype(np.float32), r.integers(0, 4, n)


def _onnxruntime(path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


@pytest.fixture(scope="module")
def onnx_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "net.onnx"
    export_onnx(_net(), _data(8)[0], path)
    return path


def test_onnx_model_matches_onnxruntime_and_shrinks_to_exact_c(onnx_file, tmp_path):
    from pocketml import shrink

    x, y = _data()
    module = load_model_file(onnx_file)
    with torch.no_grad():
        ours = module(torch.as_tensor(x)).numpy()
    assert np.abs(ours - _onnxruntime(onnx_file, x)).max() < 1e-5
    result = shrink(module, x, (x, y), "pico", tmp_path / "out", name="net")
    assert result.c_mismatches == 0 and result.verify.exact is True
    assert [row.kind for row in result.layers][:2] == ["conv2d", "max_pool2d"]  # BatchNorm folded, ReLU fused


def test_torchscript_exporter_with_batchnorm_nodes_matches_onnxruntime(tmp_path):
    """The older exporter keeps BatchNormalization and emits Constant/Flatten nodes."""
    path, x = tmp_path / "ts.onnx", _data(16)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_net(), (torch.as_tensor(x[:1]),), str(path), dynamo=False, opset_version=17,
                          input_names=["input"], dynamic_axes={"input": {0: "batch"}}, do_constant_folding=False,
                          training=torch.onnx.TrainingMode.EVAL)
    assert "BatchNormalization" in {n.op_type for n in onnx.load(str(path)).graph.node}
    with torch.no_grad():
        ours = load_model_file(path)(torch.as_tensor(x)).numpy()
    assert np.abs(ours - _onnxruntime(path, x)).max() < 1e-5


def _model(nodes, inputs, initializers=(), domain_opsets=(("", 18),), outputs=None) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs,
                              outputs or [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
                              list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in domain_opsets])


X = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])


@pytest.mark.parametrize("case, match", [
    ("truncated", "not a valid ONNX model"),
    ("random", "not a valid ONNX model"),
    ("unknown-op", "Sigmoid.*not an op pocketml reads"),
    ("python-op", "custom ONNX functions or domains"),
    ("two-inputs", "2 inputs"),
    ("external", "external file"),
    ("external-local", "keeps tensor 'w' in an external file"),
    ("int-input", "INT64 input"),
    ("clip", r"clips to \[-1, 1\]"),
])
def test_malformed_or_unsupported_onnx_is_refused_clearly(case, match, onnx_file, tmp_path):
    path = tmp_path / "bad.onnx"
    w = helper.make_tensor("w", TensorProto.FLOAT, [3, 4], np.ones(12, np.float32))
    if case == "truncated":
        path.write_bytes(onnx_file.read_bytes()[: onnx_file.stat().st_size // 2])
    elif case == "random":
        path.write_bytes(np.random.default_rng(0).bytes(2048))
    else:
        if case == "unknown-op":
            proto = _model([helper.make_node("Sigmoid", ["x"], ["y"])], [X])
        elif case == "python-op":  # a custom domain naming Python code is data, never imported
            proto = _model([helper.make_node("system", ["x"], ["y"], domain="os")], [X],
                           domain_opsets=(("", 18), ("os", 1)))
        elif case == "two-inputs":
            proto = _model([helper.make_node("Add", ["x", "x2"], ["y"])],
                           [X, helper.make_tensor_value_info("x2", TensorProto.FLOAT, ["N", 4])])
        elif case.startswith("external"):  # a model may not make pocketml read other files
            w.data_location = TensorProto.EXTERNAL
            w.ClearField("float_data")
            w.external_data.add(key="location", value="../../etc/passwd" if case == "external" else "w.bin")
            proto = _model([helper.make_node("Gemm", ["x", "w"], ["y"], transB=1)], [X], [w])
        elif case == "int-input":
            proto = _model([helper.make_node("Identity", ["x"], ["y"])],
                           [helper.make_tensor_value_info("x", TensorProto.INT64, ["N", 4])])
        else:
            lo, hi = (helper.make_tensor(n, TensorProto.FLOAT, [], [v]) for n, v in (("lo", -1.0), ("hi", 1.0)))
            proto = _model([helper.make_node("Clip", ["x", "lo", "hi"], ["y"])], [X], [lo, hi])
        path.write_bytes(proto.SerializeToString())
    with pytest.raises(PocketMLError, match=match) as err:
        module = load_model_file(path)
        module(torch.zeros(1, 4))  # Clip bounds are checked when the graph runs (at capture)
    assert err.value.fix and "Traceback" not in str(err.value)


def test_data_in_the_wrong_layout_names_both_shapes(onnx_file):
    from pocketml.graph.capture import capture

    with pytest.raises(PocketMLError, match=r"shape \(6, 6, 1\).*'input' is \(1, 6, 6\)"):
        capture(load_model_file(onnx_file), torch.zeros(1, 6, 6, 1))


def test_cli_shrink_onnx_and_a_damaged_onnx(onnx_file, tmp_path, cli_main):
    x, y = _data()
    np.savez(tmp_path / "d.npz", x_train=x, x_test=x, y_test=y)
    bad = tmp_path / "net.onnx"
    bad.write_bytes(onnx_file.read_bytes()[:100])
    run = cli_main("shrink", "--model", bad, "--data", tmp_path / "d.npz", "--out", tmp_path / "o")
    assert run.code == 1 and "not a valid ONNX model" in run.err and "fix:" in run.err
    assert not (tmp_path / "o").exists()
    run = cli_main("shrink", "--model", onnx_file, "--data", tmp_path / "d.npz", "--device", "pico",
                   "--out", tmp_path / "ok", "--json")
    assert run.code == 0 and '"c_mismatches": 0' in run.out


def test_state_dicts_are_only_loaded_with_weights_only():
    """Everything pocketml loads besides .pt2 is data: torch.load only ever with weights_only=True."""
    import re
    from pathlib import Path

    import pocketml

    calls = [(p, m.group(0)) for p in Path(pocketml.__file__).parent.rglob("*.py")
             for m in re.finditer(r"torch\.load\([^)]*\)", p.read_text())]
    assert calls and all("weights_only=True" in call for _, call in calls), calls
