"""``shrink``: a float PyTorch model in, a verified int8 C artifact for a named board out.

    capture (torch.export) ─▶ quantize (int8 PTQ) ─▶ plan memory ─▶ emit C ─▶ build + run
    ─▶ verify (float vs int8 reference vs C on the whole test split) ─▶ fit ─▶ Result + report

Everything is written into a temporary folder beside ``out`` and renamed into place only when
the whole run succeeded, so a failure never leaves a half-written artifact.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pocketml.compress.quantize import quantize
from pocketml.data.dataset import Split, check_inputs
from pocketml.deploy.c import build_host, emit_c, run_host
from pocketml.deploy.c.build import measure_sections
from pocketml.devices import Device, estimate_cost, find_device, load_catalogue
from pocketml.devices.fit import check_fit
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture
from pocketml.graph.planner import plan_memory
from pocketml.models.train import predict_logits
from pocketml.result import LayerRow, Result, Stage, TensorSpec


def shrink(
    model: nn.Module,
    calibration: np.ndarray,
    test: Split | tuple[np.ndarray, np.ndarray],
    device: str | Device,
    out: str | Path,
    *,
    name: str = "model",
    devices: str | Path | None = None,
    report: bool = True,
) -> Result:
    """Quantize ``model`` to int8, emit C for ``device``, verify it and write ``out/``.

    Parameters
    ----------
    model : a float PyTorch module taking one tensor (NCHW images or [N, features]).
    calibration : float inputs (model layout) that represent the data; used to set int8 ranges.
    test : the labelled test split (``Split`` or ``(x, y)``), run through float, int8 and C.
    device : a board id from the catalogue (``pocketml devices``) or a ``Device``.
    out : the output folder; replaced atomically (``result.json``, ``report.html``, ``c/``).
    name : the model's name, also the prefix of every C symbol (default ``"model"``).
    devices : an extra TOML file of boards (same schema as the built-in catalogue).
    report : also write ``report.html`` (default True).
    """
    if not isinstance(model, nn.Module):
        raise PocketMLError(f"model must be a torch.nn.Module, got {type(model).__name__}",
                            "pass the PyTorch model object (or use a built-in: pocketml shrink --model digits-cnn)")
    board = device if isinstance(device, Device) else find_device(device, load_catalogue(devices))
    test = test if isinstance(test, Split) else Split(np.asarray(test[0]), np.asarray(test[1]))
    out = Path(out)
    stages: list[Stage] = []

    calibration = check_inputs(calibration, None, "calibration")
    shape = tuple(calibration.shape[1:])
    test_x = check_inputs(test.x, shape, "test")
    if len(test.y) != len(test_x):
        raise PocketMLError(f"the test set has {len(test_x)} inputs but {len(test.y)} labels",
                            "pass one label per test input")

    with _staging(out) as work:
        t = time.perf_counter()
        graph = capture(model, torch.as_tensor(calibration[:1]), name)
        qgraph = quantize(graph, calibration)
        float_pred = predict_logits(model, test_x).argmax(1)
        x_q = qgraph.quantize_input(test_x)
        ref_out = qgraph.run(x_q)
        acc_float = float(np.mean(float_pred == test.y))
        acc_int8 = float(np.mean(ref_out.argmax(1) == test.y))
        size_float, size_int8 = 4 * qgraph.param_count(), qgraph.stored_bytes()
        stages.append(Stage("quantize", time.perf_counter() - t, {
            "method": "int8 post-training, per-channel weights, min/max calibration",
            "n_calibration": len(calibration), "accuracy_before": acc_float, "accuracy_after": acc_int8,
            "bytes_before": size_float, "bytes_after": size_int8}))

        t = time.perf_counter()
        plan = plan_memory(qgraph)
        source = emit_c(qgraph, plan, name)
        c_dir = work / "c"
        c_dir.mkdir()
        for fname, text in source.files.items():
            (c_dir / fname).write_text(text)
        binary = build_host(c_dir)
        c_out = run_host(binary, x_q, qgraph.output_info.nbytes)
        mismatches = int(np.sum(np.any(c_out != ref_out.reshape(len(ref_out), -1), axis=1)))
        acc_c = float(np.mean(c_out.argmax(1) == test.y))
        sections = measure_sections(c_dir, [f for f in source.files if f.endswith(".c") and f != "main.c"])
        flash = sections["text"] + sections["rodata"] + sections["data"]
        ram = sections["bss"] + sections["data"] + qgraph.input_info.nbytes + qgraph.output_info.nbytes
        stages.append(Stage("deploy-c", time.perf_counter() - t, {
            "const_bytes": source.const_bytes, "arena_bytes": plan.arena_bytes, "sections": sections,
            "c_mismatches": mismatches, "accuracy_c": acc_c}))

        fit = check_fit(board, ram, flash)
        outputs = sum(int(np.prod(qgraph.tensors[op.output].shape)) for op in qgraph.ops)
        result = Result(
            device=board, model=name, n_test=len(test_x),
            accuracy={"float": acc_float, "int8": acc_int8, "c": acc_c},
            size_bytes={"float32": size_float, "int8": size_int8},
            arena_bytes=plan.arena_bytes, ram_bytes=ram, flash_bytes=flash,
            flash_method="host gcc -Os object sections (.text+.rodata+.data); constant data exact, "
                         "code size of the host ISA (an estimate for the board)",
            c_mismatches=mismatches, fits=fit.fits, fit_reason=fit.reason,
            input=_spec(qgraph.input_info), output=_spec(qgraph.output_info),
            macs=qgraph.macs(), cost=estimate_cost(qgraph.macs(), outputs, board),
            layers=[LayerRow(op.name, op.kind, qgraph.tensors[op.output].shape, op.macs(qgraph.tensors),
                             op.stored_bytes(), 4 * op.param_count()) for op in qgraph.ops],
            memory={"ops": [op.name for op in qgraph.ops], "live_bytes": plan.live_bytes(),
                    "buffers": [{"tensors": list(b.tensors), "offset": b.offset, "size": b.size,
                                 "first_op": b.first_op, "last_op": b.last_op, "location": b.location}
                                for b in plan.buffers]},
            stages=stages,
            files={"result": "result.json", "c": "c/", "binary": "c/run_model",
                   **({"report": "report.html"} if report else {})},
        )
        (work / "result.json").write_text(result.dumps())
        if report:
            from pocketml.report.html import write_html

            write_html(result, work / "report.html")
    return result


def _spec(info) -> TensorSpec:
    return TensorSpec(info.shape, info.quant.scale, info.quant.zero_point)


@contextmanager
def _staging(out: Path):
    """Yield a fresh temporary folder beside ``out``; on success it replaces ``out`` whole."""
    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(work, 0o777 & ~umask)  # mkdtemp makes it private; the result is an ordinary folder
    except OSError as exc:
        raise PocketMLError(f"cannot write the output folder {out}: {exc.strerror}",
                            "choose a folder you can write to with --out") from exc
    try:
        yield work
        if out.exists() and not out.is_dir():
            raise PocketMLError(f"{out} exists and is not a folder", "choose another --out path")
        old = None
        if out.exists():
            old = parent / f".{out.name}.old-{os.getpid()}"
            os.rename(out, old)
        os.rename(work, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def shrink_builtin(model: str, device: str | Device, out: str | Path, *, seed: int = 0,
                   devices: str | Path | None = None, progress: bool = True) -> Result:
    """Train a built-in model (``pocketml.models.BUILTIN``) on its built-in data and shrink it."""
    from pocketml.models import get_builtin

    spec = get_builtin(model)
    board = device if isinstance(device, Device) else find_device(device, load_catalogue(devices))
    net, data = spec.trained(seed=seed, progress=progress)
    return shrink(net, data.train.x, data.test, board, out, name=model, devices=devices)
