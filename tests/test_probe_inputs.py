"""Verification inputs that tell models apart (deploy/verify/probe.py, issue 21 part 3)."""

from __future__ import annotations

import numpy as np
import pytest

from pocketml.deploy.verify.probe import distinct_outputs, make_inputs, weak_evidence
from pocketml.graph.ir import QuantParams, TensorInfo


def _info(shape, zero_point=-20, dtype="int8"):
    return TensorInfo("x", shape, QuantParams(0.05, zero_point), dtype)


@pytest.mark.parametrize(("shape", "dtype", "zp"), [((32, 32, 3), "int8", -20), ((49, 10), "int8", 5),
                                                    ((16,), "uint8", 128)])
def test_probe_inputs_are_deterministic_in_range_and_centred_on_the_zero_point(shape, dtype, zp):
    info = _info(shape, zp, dtype)
    x = make_inputs([info], 400, seed=3)
    assert x.shape == (400, *shape) and x.dtype == np.dtype(dtype)
    assert np.array_equal(x, make_inputs([info], 400, seed=3))
    assert not np.array_equal(x, make_inputs([info], 400, seed=4))
    centres = np.median(x.reshape(400, -1).astype(np.float64), axis=1)
    assert np.mean(np.abs(centres - zp) <= 8) > 0.3  # about half the samples sit at the zero point
    spreads = x.reshape(400, -1).astype(np.float64).std(axis=1)
    assert spreads.min() < 8 and np.percentile(spreads, 90) > 25  # weak and strong signals both
    if len(shape) > 1:  # smooth: neighbours along the first axis are closer than random pairs
        flat = x.astype(np.float64)
        near = np.abs(np.diff(flat, axis=1)).mean()
        far = np.abs(flat - np.roll(flat, 1, axis=0)).mean()
        assert near < 0.6 * far


def test_uniform_inputs_are_what_compile_used_before():
    info = _info((4, 4, 2))
    x = make_inputs([info], 10, seed=0, kind="uniform")
    assert np.array_equal(x, np.random.default_rng(0).integers(-128, 128, (10, 4, 4, 2), dtype=np.int8))


def test_several_inputs_are_packed_back_to_back():
    x = make_inputs([_info((3, 2)), _info((5,), 0, "uint8")], 7, seed=1)
    assert x.shape == (7, 11) and x.dtype == np.int8


def test_distinct_outputs_and_weak_evidence():
    same = np.zeros((200, 10), np.int8)
    assert distinct_outputs(same) == 1 and weak_evidence(1, 200)
    varied = np.arange(200 * 3, dtype=np.int64).reshape(200, 3).astype(np.int8)
    assert distinct_outputs(varied) == 200 and not weak_evidence(200, 200)
    assert weak_evidence(9, 200) and not weak_evidence(10, 200)
    assert not weak_evidence(2, 15)  # few samples: a tenth of them is enough


def test_a_constant_model_is_flagged_by_compile(tmp_path):
    """A classifier whose answer never changes: agreement on its one output proves little, and compile says so."""
    import json

    from tflite_models import GraphBuilder

    from pocketml.deploy.tflite import write_tflite
    from pocketml.graph.ir import QuantParams as Q
    from pocketml.pipeline import compile_tflite

    b = GraphBuilder("flat", (4, 4, 1), seed=0)  # an output scale so coarse that every answer rounds to one value
    graph = b.graph(b.reshape(b.conv(b.input, 2, k=3, act="relu", quant=Q(50.0, -128)), (32,)))
    (tmp_path / "flat.tflite").write_bytes(write_tflite(graph))
    compile_tflite(tmp_path / "flat.tflite", "nano33ble", tmp_path / "out", samples=30, report=False)
    src = json.loads((tmp_path / "out" / "result.json").read_text())["verify"]["source_tflm"]
    assert src["distinct_outputs"] < 3 and src["weak_evidence"] is True


def test_an_unknown_input_kind_is_a_clear_error_before_anything_is_written(tmp_path):
    from pocketml.errors import PocketMLError
    from pocketml.pipeline import compile_tflite

    with pytest.raises(PocketMLError, match="inputs 'gaussian'"):
        compile_tflite(tmp_path / "any.tflite", "nano33ble", tmp_path / "out", inputs="gaussian")
    assert not (tmp_path / "out").exists()
