"""ONNX export of the *float* model, for targets with an ONNX runtime (phones, single-board computers).

``export_onnx(model, example, path)`` exports with ``torch.onnx.export`` (the torch.export-based
exporter, which uses ``onnxscript``; nothing is downloaded), checks the file with
``onnx.checker`` and runs it in ``onnxruntime`` on ``example``: the export is refused unless
every output is within ``atol`` (1e-5) of PyTorch's. The file is written atomically.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pocketml.errors import PocketMLError
from pocketml.outputs import atomic_path

OPSET = 18
ATOL = 1e-5


@dataclass(frozen=True)
class OnnxExport:
    path: Path
    opset: int
    max_abs_diff: float  # onnxruntime vs PyTorch on the example batch
    bytes: int


def export_onnx(model: nn.Module, example: np.ndarray | torch.Tensor, path: str | Path, *,
                atol: float = ATOL) -> OnnxExport:
    """Export ``model`` (float, eval mode) to ``path``; check it and compare onnxruntime with PyTorch.

    Parameters
    ----------
    model : the float PyTorch module.
    example : an input batch in the model's own layout (float32, or int64 for token ids); its batch size may
              vary at run time.
    path : where to write the ``.onnx`` file.
    atol : the largest absolute difference allowed between onnxruntime and PyTorch (default 1e-5).
    """
    import onnx
    import onnxruntime as ort

    if not isinstance(model, nn.Module):
        raise PocketMLError(f"model must be a torch.nn.Module, got {type(model).__name__}", "pass the float model")
    arr = np.asarray(example)
    # integer inputs (token ids) keep their dtype as int64; everything else is float32
    x = torch.as_tensor(arr.astype(np.int64) if np.issubdtype(arr.dtype, np.integer) else arr.astype(np.float32))
    if x.ndim < 2 or x.shape[0] < 1:
        raise PocketMLError(f"the example must be a batch [N, ...] with N >= 1, got shape {tuple(x.shape)}",
                            "pass a few inputs in the model's layout, e.g. x_test[:8]")
    path = Path(path)
    model = model.eval()
    with torch.no_grad():
        want = model(x).numpy()
    with atomic_path(path) as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (x,), str(tmp), input_names=["input"], output_names=["output"],
                              opset_version=OPSET, dynamo=True, external_data=False, verbose=False,
                              dynamic_shapes=({0: torch.export.Dim("batch")},))
        proto = onnx.load(str(tmp))
        onnx.checker.check_model(proto, full_check=True)
        session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        diff = 0.0
        for batch in (x, x[:1]):  # the batch dimension is dynamic: the whole batch and one sample alone
            got = session.run(None, {name: batch.numpy()})[0]
            ref = want[:len(batch)]
            diff = max(diff, float(np.max(np.abs(got - ref))) if got.shape == ref.shape else float("inf"))
        if not diff <= atol:
            raise PocketMLError(f"onnxruntime differs from PyTorch by {diff:.3g} (> {atol:g}) on the example",
                                "report the model: an op is exported with different semantics")
    return OnnxExport(path, OPSET, diff, path.stat().st_size)
