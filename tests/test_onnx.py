"""ONNX export of the float model: checker passes, onnxruntime within 1e-5 of PyTorch, offline."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from pocketml import PocketMLError
from pocketml.deploy.onnx import export_onnx
from pocketml.models.digits_cnn import DigitsCNN


def test_export_digits_cnn(tmp_path):
    torch.manual_seed(0)
    model = DigitsCNN().eval()
    x = np.random.default_rng(0).normal(size=(8, 1, 8, 8)).astype(np.float32)
    result = export_onnx(model, x, tmp_path / "digits.onnx")
    assert result.path.is_file() and result.bytes > 10_000
    assert result.max_abs_diff <= 1e-5
    onnx.checker.check_model(onnx.load(result.path), full_check=True)
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_export_refuses_a_non_batch_example(tmp_path):
    with pytest.raises(PocketMLError, match="batch"):
        export_onnx(DigitsCNN(), np.zeros(3, np.float32), tmp_path / "x.onnx")
