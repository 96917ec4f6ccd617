"""RESHAPE (a flatten): no code, no memory; a Linear after it gets its columns permuted to NHWC."""

from __future__ import annotations

from torch import nn

from pocketml.deploy.verify.conformance import check_op


def test_flatten_between_conv_and_linear(tmp_path):
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(4 * 3 * 4, 5))
    errors = check_op(model, (2, 6, 8), tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors


def test_flatten_permutes_fc_columns_to_nhwc(tmp_path):
    """A wrong CHW→HWC permutation would give errors of many steps, not a fraction of one."""
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Flatten(), nn.Linear(4 * 5 * 6, 3))
    errors = check_op(model, (3, 5, 6), tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors


def test_flatten_of_a_signal(tmp_path):
    errors = check_op(nn.Sequential(nn.Conv1d(4, 4, 3, groups=4), nn.Flatten(), nn.Linear(4 * 8, 3)), (4, 10),
                      tmp_path)
    assert errors["mean_err_lsb"] < 1.0, errors


def test_squeeze_and_expand_dims_are_read_as_reshapes():
    from dataclasses import replace

    from tflite.BuiltinOperator import BuiltinOperator as Op

    from pocketml.deploy.tflite.reader import read_tflite
    from pocketml.deploy.tflite.writer import tflite_spec
    from pocketml.deploy.verify.conformance import one_op_graph, tensors
    from pocketml.graph.ir import QuantParams
    from pocketml.ops.reshape import Reshape

    q = QuantParams(0.1, 0)
    graph = one_op_graph(Reshape("r", ("x",), "y", (1, 6)), tensors(x=((6,), q), y=((1, 6), q)))
    for code in (Op.EXPAND_DIMS, Op.SQUEEZE):
        spec = tflite_spec(graph)
        spec.operators[0] = replace(spec.operators[0], builtin_code=code)
        ops = read_tflite(spec.serialise(), strict=False).operators
        assert ops[0].ok and ops[0].becomes == "reshape", ops
