"""``shrink``: a float PyTorch model in, a verified int8 C artifact for a named board out.

    [select] ─▶ [train] ─▶ [compress: a recipe] ─▶ capture (torch.export) ─▶ quantize (int8 PTQ)
    ─▶ deploy (pipeline/deploy.py: plan, emit, build, measure, verify, estimate, report)

Everything is written into the staging folder of ``out`` (``pocketml/outputs.py``) and moved into
place only when the whole run succeeded, so a failure never leaves a half-written artifact.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pocketml.compress.quantize import quantize
from pocketml.data.dataset import Split, check_inputs, check_labels
from pocketml.deploy.c.dsp import check_optimize
from pocketml.devices import Device, find_device, load_catalogue
from pocketml.energy import maybe_track_emissions
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture
from pocketml.graph.ir import QuantGraph
from pocketml.graph.recurrent import check_mode
from pocketml.models.server import MAX_SERVER_SAMPLES, fit_server_model
from pocketml.models.train import predict_logits
from pocketml.outputs import OutputFolder
from pocketml.pipeline.compression import run_compression
from pocketml.pipeline.deploy import Progress, TestRun, _accuracy, deploy
from pocketml.pipeline.plans import check_memory
from pocketml.result import Result, Stage


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
    before: tuple[Stage, ...] = (),
    recipe: object = None,
    train: Split | tuple[np.ndarray, np.ndarray] | None = None,
    target_flash: str | int | None = None,
    seed: int = 0,
    server_model: object = None,
    force: bool = False,
    on_stage: Progress | None = None,
    trainable: str | None = None,
    bias_layers: int = 2,
    optimize: str | None = None,
    memory: str = "speed",
    max_latency_ms: float | None = None,
    recurrent: str = "sequence",
) -> Result:
    """Quantize ``model`` to int8, emit C for ``device``, verify it and write ``out/``.

    Parameters
    ----------
    model : a float PyTorch module taking one tensor (NCHW images or [N, features]).
    calibration : float inputs (model layout) that represent the data; used to set int8 ranges.
    test : the test split (``Split`` or ``(x, y)``), run through float, int8 and C; ``y=None`` when the
        output is not class scores (accuracies are then None, C is still checked byte for byte).
    device : a board id from the catalogue (``pocketml devices``) or a ``Device``.
    out : the output folder (``result.json``, ``report.html``, ``c/``), written whole or not at all. An
        existing folder must be empty or a pocketml output: pocketml replaces only the files it wrote
        there (``pocketml.outputs``).
    name : the model's name, also the prefix of every C symbol (default ``"model"``).
    devices : an extra TOML file of boards (same schema as the built-in catalogue).
    report : also write ``report.html`` (default True).
    before : stages that ran before shrink (e.g. data selection), recorded first in ``stages``.
    recipe : compression recipe: a built-in name (``int8``, ``qat-int4``, ``deep``), a .toml path or a
        ``pocketml.compress.recipe.Recipe`` (default: int8 post-training quantization).
    train : labelled training split for recipes that train (prune, qat, distill, ...).
    target_flash : a flash budget (``"20KB"`` or bytes): pick the least aggressive recipe that fits.
    seed : seed of the recipe's training stages.
    server_model : the bigger model an uncertain device would send its input to (a fitted scikit-learn
        classifier, given flattened inputs, or a callable returning class predictions). With test
        labels, ``result.energy.cascades`` and the report then show the offloading cascade over the
        board's radio and LoRa: accuracy and energy at each confidence threshold, against all-local
        and all-offloaded.
    force : write into a non-empty ``out`` that is not a pocketml output (your files there are kept;
        one with the path of an output pocketml writes stops the run).
    on_stage : called with each stage's name as it starts (the CLI shows it).
    trainable : also emit the on-device training step (``OUT/c/train.c``: ``<name>_train_step``,
        ``_predict``, ``_weights_export/_import``): ``"last"`` (the classifier in float32), ``"bias"``
        (its bias and the int32 biases of ``bias_layers`` body layers) or ``"last+bias"``; checked
        against the numpy reference on the host and in QEMU, its memory planned and measured
        (``result.training``; docs/ondevice.md). Default None: inference only.
    bias_layers : body layers before the classifier whose biases train with ``"bias"`` modes (default 2).
    optimize : on a board with the DSP extension, ``"speed"`` (int16 weights, one function per layer,
        ``-O2``) or ``"size"`` (int8 weights, shared kernels, ``-Os``); default None: speed when its
        constants fit in half the board's flash. Written to ``c-dsp/``; ``c/`` keeps the portable C.
    memory : the memory plan: ``"speed"`` (default), ``"ram"`` (the smallest RAM: the input and, with
        the DSP kernels, their scratch in the arena) or ``"balanced"`` (the smallest RAM within
        ``max_latency_ms``: each candidate plan built for the board and run in QEMU); docs/memory.md.
    max_latency_ms : with ``memory="balanced"``: the latency budget in ms (default: the speed plan's + 10%).
    recurrent : ``"sequence"`` (default): each ``nn.LSTM`` becomes one UNIDIRECTIONAL_SEQUENCE_LSTM op
        (TFLite Micro's int8 x int16 kernel, its state reset at every inference); ``"unroll"``: unrolled
        over time into ordinary int8 ops, as ``nn.GRU`` always is (docs/ops.md); the compression
        recipes capture the same way.
    """
    if not isinstance(model, nn.Module):
        raise PocketMLError(f"model must be a torch.nn.Module, got {type(model).__name__}",
                            "pass the PyTorch model object (or use a built-in: pocketml shrink --model digits-cnn)")
    board = device if isinstance(device, Device) else find_device(device, load_catalogue(devices))
    training = check_trainable(trainable, bias_layers)
    check_optimize(optimize)
    check_memory(memory, max_latency_ms)
    check_mode(recurrent)
    folder = OutputFolder(out, force=force, command="shrink")
    folder.check()  # before any training: a folder we may not write fails now, not after
    calibration, test = _checked_data(calibration, test)
    compressed = None
    if recipe is not None or target_flash is not None:  # validated before any training
        if on_stage:
            on_stage("compress: run the recipe")
        compressed = run_compression(model, calibration, train, test, name, recipe, target_flash, seed, recurrent)
    stages: list[Stage] = list(before)
    with folder.stage() as work:
        qgraph, run = _quantized(model, calibration, test, name, compressed, stages, on_stage, recurrent)
        server = None
        if server_model is not None and test.y is not None:
            server = (type(server_model).__name__, _server_predictions(server_model, test.x))
        size_float = 4 * (compressed.float_params if compressed is not None else qgraph.param_count())
        return deploy(qgraph, work, board, name=name, test=run, size_float=size_float, stages=stages,
                      compressed=compressed, report=report, server=server, on_stage=on_stage, optimize=optimize,
                      training=training, memory=memory, max_latency_ms=max_latency_ms)


def check_trainable(trainable: str | None, bias_layers: int) -> tuple[str, int] | None:
    """``(trainable, bias_layers)`` checked before any work, or None for inference only."""
    if trainable is None:
        return None
    from pocketml.graph.training import TRAINABLE

    if trainable not in TRAINABLE:
        raise PocketMLError(f"unknown trainable part {trainable!r}", f"use one of: {', '.join(TRAINABLE)}")
    if isinstance(bias_layers, bool) or not isinstance(bias_layers, int) or bias_layers < 0:
        raise PocketMLError(f"bias_layers must be an integer >= 0, got {bias_layers!r}",
                            "pass how many body layers before the classifier train their biases (e.g. 2)")
    return trainable, bias_layers


def _checked_data(calibration, test) -> tuple[np.ndarray, Split]:
    """The calibration set and the test split, checked (finite, one shape, one label per input)."""
    if not isinstance(test, Split):
        test = Split(np.asarray(test[0]), None if test[1] is None else np.asarray(test[1]))
    calibration = check_inputs(calibration, None, "calibration", varied=True)
    test_x = check_inputs(test.x, None, "test")
    if test_x.shape[1:] != calibration.shape[1:]:
        raise PocketMLError(f"the test samples have shape {test_x.shape[1:]}, the calibration samples "
                            f"{calibration.shape[1:]}",
                            "give both the model's input shape (PyTorch layout, batch first)")
    # y None: outputs are not class scores
    return calibration, Split(test_x, None if test.y is None else check_labels(test.y, len(test_x), "test.y"))


def _quantized(model: nn.Module, calibration: np.ndarray, test: Split, name: str, compressed, stages: list[Stage],
               on_stage, recurrent: str = "sequence") -> tuple[QuantGraph, TestRun]:
    """Capture and quantize (or take the recipe's graph); run the test split in float and int8."""
    t = time.perf_counter()
    if compressed is None:
        if on_stage:
            on_stage("capture (torch.export) and quantize to int8")
        qgraph = quantize(capture(model, torch.as_tensor(calibration[:1]), name, recurrent), calibration)
    else:
        qgraph = compressed.qgraph
    float_logits = predict_logits(model, test.x).reshape(len(test.x), -1)
    if test.y is not None:  # labels must name one of the model's outputs
        check_labels(test.y, len(test.x), "test.y", n_classes=float_logits.shape[1])
    float_pred = float_logits.argmax(1)
    x_q = qgraph.quantize_input(test.x)
    ref_out = qgraph.run_flat(x_q)
    run = TestRun(x_q, ref_out, test.y, _accuracy(float_pred, test.y),
                  _accuracy(qgraph.run(x_q).reshape(len(x_q), -1).argmax(1), test.y)
                  if len(qgraph.outputs) == 1 else None)
    if compressed is None:
        stages.append(Stage("quantize", time.perf_counter() - t, {
            "method": "int8 post-training, per-channel weights, min/max calibration",
            "n_calibration": len(calibration), "accuracy_before": run.accuracy_float,
            "accuracy_after": run.accuracy_int8, "bytes_before": 4 * qgraph.param_count(),
            "bytes_after": qgraph.stored_bytes()}))
    else:
        stages.extend(Stage(r.name, r.seconds, r.figures) for r in compressed.stages)
    return qgraph, run


def _server_predictions(server_model: object, x: np.ndarray) -> np.ndarray:
    """Class predictions of the offload target: ``predict`` on flattened inputs, or a plain callable."""
    if hasattr(server_model, "predict"):
        return np.asarray(server_model.predict(x.reshape(len(x), -1)))
    if callable(server_model):
        return np.asarray(server_model(x))
    raise PocketMLError(f"server_model must have predict() or be callable, got {type(server_model).__name__}",
                        "pass a fitted scikit-learn classifier or a function returning class predictions")


def shrink_builtin(model: str, device: str | Device, out: str | Path, *, seed: int = 0,
                   devices: str | Path | None = None, progress: bool = True, select=None,
                   recipe: object = None, target_flash: str | int | None = None,
                   server: bool = True, force: bool = False, on_stage: Progress | None = None,
                   optimize: str | None = None, trainable: str | None = None, bias_layers: int = 2,
                   memory: str = "speed", max_latency_ms: float | None = None) -> Result:
    """Train a built-in model (``pocketml.models.BUILTIN``) on its built-in data and shrink it.

    ``select``: an optional ``pocketml.data.selection.SelectionPlan`` run first on the training
    split; the model then trains (and calibrates) on the selected samples only, and the
    ``select`` stage in ``result.json`` says what was kept. ``server``: for a labelled task of at
    most ``MAX_SERVER_SAMPLES`` training samples, fit an RBF SVM as the offload target of the
    energy cascade (``models/server.py``). ``trainable`` / ``bias_layers`` / ``memory`` /
    ``max_latency_ms``: as ``shrink``.
    """
    from pocketml.models import get_builtin

    spec = get_builtin(model)
    check_trainable(trainable, bias_layers)
    board = device if isinstance(device, Device) else find_device(device, load_catalogue(devices))
    check_optimize(optimize)
    check_memory(memory, max_latency_ms)
    OutputFolder(out, force=force, command="shrink").check()  # before training, not after
    if select is None:
        with maybe_track_emissions("train") as carbon:  # codecarbon, offline; None if not installed
            net, data = spec.trained(seed=seed, progress=progress)
        before: tuple[Stage, ...] = ()
    else:  # selection stage: pick the training samples, then train on those only
        from dataclasses import replace

        from pocketml.models.train import train

        t = time.perf_counter()
        data = spec.dataset()
        chosen = select.apply(data.train, data.val)
        data = replace(data, train=chosen.subset(data.train))
        before = (Stage("select", time.perf_counter() - t, chosen.figures()),)
        torch.manual_seed(seed)
        with maybe_track_emissions("train") as carbon:
            net = train(spec.build(), data.train, data.val, epochs=spec.epochs, seed=seed, progress=progress)
    if carbon.value is not None:
        before = (*before, Stage("train", carbon.value.seconds, {"carbon": carbon.value.to_dict()}))
    test = data.test if spec.has_labels else Split(data.test.x, None)  # e.g. an autoencoder: no class labels
    server_model = None
    if server and spec.has_labels and len(data.train.x) <= MAX_SERVER_SAMPLES:
        server_model = fit_server_model(data.train)
    return shrink(net, data.train.x, test, board, out, name=model, devices=devices, before=before,
                  recipe=recipe, train=data.train, target_flash=target_flash, seed=seed, server_model=server_model,
                  force=force, on_stage=on_stage, optimize=optimize, trainable=trainable, bias_layers=bias_layers,
                  memory=memory, max_latency_ms=max_latency_ms)
