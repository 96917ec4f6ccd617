"""``shrink``: a float PyTorch model in, a verified int8 C artifact for a named board out.

    capture (torch.export) ─▶ quantize (int8 PTQ) ─▶ plan memory ─▶ emit C ─▶ build + run
    ─▶ verify (float vs int8 reference vs C on the whole test split) ─▶ fit ─▶ Result + report

Everything is written into a temporary folder beside ``out`` and renamed into place only when
the whole run succeeded, so a failure never leaves a half-written artifact.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pocketml.compress.quantize import quantize
from pocketml.data.dataset import Split, check_inputs
from pocketml.deploy.c import build_host, emit_c, run_host
from pocketml.deploy.c.build import measure_sections
from pocketml.deploy.cortexm import measure_for_device
from pocketml.deploy.verify import verify_new_artifact
from pocketml.deploy.verify.compare import per_output_mismatches
from pocketml.devices import Device, estimate_cost, find_device, load_catalogue
from pocketml.devices.fit import check_fit
from pocketml.energy import CASCADE_RADIOS, budget_from_result, maybe_track_emissions, offload_cascade
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture
from pocketml.graph.planner import plan_memory
from pocketml.models.server import MAX_SERVER_SAMPLES, fit_server_model
from pocketml.models.train import predict_logits
from pocketml.outputs import OutputFolder, write_atomic
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
    before: tuple[Stage, ...] = (),
    recipe: object = None,
    train: Split | tuple[np.ndarray, np.ndarray] | None = None,
    target_flash: str | int | None = None,
    seed: int = 0,
    server_model: object = None,
    force: bool = False,
    trainable: str | None = None,
    bias_layers: int = 2,
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
        labels, ``result.energy["cascades"]`` and the report then show the offloading cascade over the
        board's radio and LoRa: accuracy and energy at each confidence threshold, against all-local
        and all-offloaded.
    force : write into a non-empty ``out`` that is not a pocketml output (your files there are kept;
        one with the path of an output pocketml writes stops the run).
    trainable : also emit the on-device training step (``OUT/c/train.c``: ``<name>_train_step``,
        ``_predict``, ``_weights_export/_import``): ``"last"`` (the classifier in float32), ``"bias"``
        (its bias and the int32 biases of ``bias_layers`` body layers) or ``"last+bias"``; checked
        against the numpy reference on the host and in QEMU, its memory planned and measured
        (``result.training``; docs/ondevice.md). Default None: inference only.
    bias_layers : body layers before the classifier whose biases train with ``"bias"`` modes (default 2).
    """
    if not isinstance(model, nn.Module):
        raise PocketMLError(f"model must be a torch.nn.Module, got {type(model).__name__}",
                            "pass the PyTorch model object (or use a built-in: pocketml shrink --model digits-cnn)")
    board = device if isinstance(device, Device) else find_device(device, load_catalogue(devices))
    training = _check_trainable(trainable, bias_layers)
    test = test if isinstance(test, Split) else Split(np.asarray(test[0]), None if test[1] is None else np.asarray(test[1]))
    folder = OutputFolder(out, force=force, command="shrink")
    folder.check()  # before any training: a folder we may not write fails now, not after
    stages: list[Stage] = list(before)

    calibration = check_inputs(calibration, None, "calibration")
    shape = tuple(calibration.shape[1:])
    test_x = check_inputs(test.x, shape, "test")
    if test.y is not None and len(test.y) != len(test_x):  # y None: outputs are not class scores
        raise PocketMLError(f"the test set has {len(test_x)} inputs but {len(test.y)} labels",
                            "pass one label per test input")

    compressed = None
    if recipe is not None or target_flash is not None:  # compress/: validated before any training
        from pocketml.deploy.c.compressed import run_compression

        compressed = run_compression(model, calibration, train, Split(test_x, test.y), name, recipe,
                                     target_flash, seed)
    with folder.stage() as work:
        t = time.perf_counter()
        if compressed is None:
            graph = capture(model, torch.as_tensor(calibration[:1]), name)
            qgraph = quantize(graph, calibration)
        else:
            qgraph = compressed.qgraph
        float_pred = predict_logits(model, test_x).reshape(len(test_x), -1).argmax(1)
        x_q = qgraph.quantize_input(test_x)
        ref_out = qgraph.run(x_q)
        acc_float = _accuracy(float_pred, test.y)
        acc_int8 = _accuracy(ref_out.reshape(len(ref_out), -1).argmax(1), test.y)
        size_float, size_int8 = 4 * qgraph.param_count(), qgraph.stored_bytes()
        if compressed is None:
            stages.append(Stage("quantize", time.perf_counter() - t, {
                "method": "int8 post-training, per-channel weights, min/max calibration",
                "n_calibration": len(calibration), "accuracy_before": acc_float, "accuracy_after": acc_int8,
                "bytes_before": size_float, "bytes_after": size_int8}))
        else:
            size_float = 4 * compressed.float_params
            stages.extend(Stage(r.name, r.seconds, r.figures) for r in compressed.stages)

        server = None
        if server_model is not None and test.y is not None:
            server = (type(server_model).__name__, _server_predictions(server_model, test_x))
        return deploy_graph(qgraph, work, board, name=name, x_q=x_q, ref_out=ref_out, labels=test.y,
                            accuracy={"float": acc_float, "int8": acc_int8}, size_float=size_float,
                            stages=stages, compressed=compressed, report=report, server=server, training=training)


def _check_trainable(trainable: str | None, bias_layers: int) -> tuple[str, int] | None:
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


def deploy_graph(qgraph, work: Path, board: Device, *, name: str, x_q: np.ndarray, ref_out: np.ndarray,
                 labels: np.ndarray | None, accuracy: dict, size_float: int, stages: list[Stage],
                 compressed=None, report: bool = True, extra_verify: dict | None = None,
                 extra_files: dict[str, str] | None = None,
                 server: tuple[str, np.ndarray] | None = None,
                 training: tuple[str, int] | None = None) -> Result:
    """From a QuantGraph on: plan, emit C, build and run it, Cortex-M build, verify, fit, Result.

    What ``shrink`` and ``compile`` (a .tflite in) share; writes result.json (and report.html)
    into ``work``. ``x_q``/``ref_out``: int8 test inputs and the reference's outputs (several
    outputs: packed in order, ``QuantGraph.run_flat``);
    ``labels`` None → accuracies None. ``extra_verify`` is merged into result.json's ``verify``
    (its ``exact`` is and-ed in); ``extra_files`` into ``files``. ``server``: (name, class
    predictions on the test split) of an offload target → the energy cascade (needs ``labels``).
    ``training``: (trainable, bias_layers) → the on-device training step beside the model
    (``deploy/training.py``; result.json ``training``).
    """
    acc_float, acc_int8 = accuracy["float"], accuracy["int8"]
    size_int8 = qgraph.stored_bytes()
    t = time.perf_counter()
    plan = plan_memory(qgraph)
    source = emit_c(qgraph, plan, name, weights=compressed.weights if compressed else None)
    c_dir = work / "c"
    c_dir.mkdir()
    for fname, text in source.files.items():
        (c_dir / fname).write_text(text)
    binary = build_host(c_dir)
    c_out = run_host(binary, x_q, qgraph.output_bytes)
    mismatches = int(np.sum(np.any(c_out != ref_out.reshape(len(ref_out), -1), axis=1)))
    per_output = per_output_mismatches(c_out, ref_out, [info.nbytes for info in qgraph.output_infos])
    acc_c = _accuracy(c_out.argmax(1), labels)
    sections = measure_sections(c_dir, [f for f in source.files if f.endswith(".c") and f != "main.c"])
    flash = sections["text"] + sections["rodata"] + sections["data"]
    ram = sections["bss"] + sections["data"] + qgraph.input_info.nbytes + qgraph.output_bytes
    deployed = source.const_bytes
    if compressed is not None:
        from pocketml.deploy.c.compressed import decoder_code_bytes

        deployed += decoder_code_bytes(c_dir, compressed.weights)
    stages.append(Stage("deploy-c", time.perf_counter() - t, {
        "const_bytes": source.const_bytes, "arena_bytes": plan.arena_bytes, "sections": sections,
        "c_mismatches": mismatches, "c_mismatches_per_output": list(per_output), "accuracy_c": acc_c}))

    flash_method = ("host gcc -Os object sections (.text+.rodata+.data); constant data exact, "
                    "code size of the host ISA (an estimate for the board)")
    t = time.perf_counter()
    cortexm = measure_for_device(c_dir, board.core, x_q, ref_out)  # None: not a Cortex-M, or no toolchain
    if cortexm is not None:  # measured for the board's own core: these replace the host figures
        flash, ram, flash_method = cortexm.flash_bytes, cortexm.ram_bytes, cortexm.flash_method
        stages.append(Stage("deploy-cortexm", time.perf_counter() - t, {
            "qemu_samples": cortexm.qemu_samples, "qemu_mismatches": cortexm.qemu_mismatches}))
    t = time.perf_counter()  # model.tflite + verify/ beside c/, checked in TFLite Micro (deploy/verify)
    verified, verify_files = verify_new_artifact(work, qgraph, x_q)
    if extra_verify:  # e.g. compile: the source .tflite itself run in TFLite Micro
        verified = {**verified, **extra_verify,
                    "exact": bool(verified.get("exact")) and bool(extra_verify.get("exact", True))}
    verify_files = {**verify_files, **(extra_files or {})}
    stages.append(Stage("verify", time.perf_counter() - t, {"exact": verified.get("exact")}))
    trained = None
    if training is not None:
        from pocketml.deploy.training import deploy_training

        t = time.perf_counter()
        trained = deploy_training(qgraph, c_dir, board.core, name=name, trainable=training[0],
                                  bias_layers=training[1], x_q=x_q, labels=labels,
                                  inference_ram=cortexm.ram_bytes if cortexm is not None else None)
        stages.append(Stage("deploy-training", time.perf_counter() - t, {"exact": trained["exact"]}))
        verify_files = {**verify_files, "train": "c/train.c"}
    fit = check_fit(board, ram, flash)
    outputs = sum(int(np.prod(qgraph.tensors[op.output].shape)) for op in qgraph.ops)
    result = Result(
        device=board, model=name, n_test=len(x_q),
        accuracy={"float": acc_float, "int8": acc_int8, "c": acc_c},
        size_bytes={"float32": size_float, "int8": size_int8, "deployed": deployed},
        arena_bytes=plan.arena_bytes, ram_bytes=ram, flash_bytes=flash,
        flash_method=flash_method,
        c_mismatches=mismatches, fits=fit.fits, fit_reason=fit.reason,
        input=_spec(qgraph.input_info), output=_spec(qgraph.output_infos[0]),
        outputs=[_spec(info) for info in qgraph.output_infos],
        macs=qgraph.macs(), cost=estimate_cost(qgraph.macs(), outputs, board),
        layers=[LayerRow(op.name, op.kind, qgraph.tensors[op.output].shape, op.macs(qgraph.tensors),
                         op.stored_bytes(), 4 * op.param_count()) for op in qgraph.ops],
        memory={"ops": [qgraph.ops[i].name for i in plan.order], "live_bytes": plan.live_bytes(),
                "buffers": [{"tensors": list(b.tensors), "offset": b.offset, "size": b.size,
                             "first_op": b.first_op, "last_op": b.last_op, "location": b.location}
                            for b in plan.buffers]},
        compression={} if compressed is None else compressed.summary(flash, deployed),
        stages=stages, cortexm=cortexm.to_dict() if cortexm is not None else None,
        verify=verified, training=trained,
        files={"result": "result.json", "c": "c/", "binary": "c/run_model", **verify_files,
               **({"report": "report.html"} if report else {})},
    )
    try:  # the energy budget estimate at 1/min (energy/); never fails the deployment itself
        result.energy = budget_from_result(result.to_json(), device=board).to_dict()
    except PocketMLError as exc:
        result.energy = {"estimate": True, "error": exc.problem}
    if server is not None and labels is not None and "error" not in result.energy:
        logits = result.output.scale * (c_out.astype(np.float64) - result.output.zero_point)
        radios = dict.fromkeys((result.energy["radio"], *CASCADE_RADIOS))  # the board's own first
        result.energy["cascades"] = [offload_cascade(result.to_json(), logits, labels, server[1], server=server[0],
                                                     radio=r, device=board).to_dict() for r in radios]
    write_atomic(work / "result.json", result.dumps())
    if report:
        from pocketml.report.html import write_html

        write_html(result, work / "report.html")
    return result


def _server_predictions(server_model: object, x: np.ndarray) -> np.ndarray:
    """Class predictions of the offload target: ``predict`` on flattened inputs, or a plain callable."""
    if hasattr(server_model, "predict"):
        return np.asarray(server_model.predict(x.reshape(len(x), -1)))
    if callable(server_model):
        return np.asarray(server_model(x))
    raise PocketMLError(f"server_model must have predict() or be callable, got {type(server_model).__name__}",
                        "pass a fitted scikit-learn classifier or a function returning class predictions")


def _accuracy(predicted: np.ndarray, labels: np.ndarray | None) -> float | None:
    """Fraction of argmax predictions equal to the labels; None when there are no labels
    (a model whose output is not class scores, e.g. an autoencoder)."""
    return None if labels is None else float(np.mean(predicted == labels))


def _spec(info) -> TensorSpec:
    return TensorSpec(info.shape, info.quant.scale, info.quant.zero_point)


def shrink_builtin(model: str, device: str | Device, out: str | Path, *, seed: int = 0,
                   devices: str | Path | None = None, progress: bool = True, select=None,
                   recipe: object = None, target_flash: str | int | None = None,
                   server: bool = True, force: bool = False, trainable: str | None = None,
                   bias_layers: int = 2) -> Result:
    """Train a built-in model (``pocketml.models.BUILTIN``) on its built-in data and shrink it.

    ``select``: an optional ``pocketml.data.selection.SelectionPlan`` run first on the training
    split; the model then trains (and calibrates) on the selected samples only, and the
    ``select`` stage in ``result.json`` says what was kept. ``server``: for a labelled task of at
    most ``MAX_SERVER_SAMPLES`` training samples, fit an RBF SVM as the offload target of the
    energy cascade (``models/server.py``). ``trainable`` / ``bias_layers``: as ``shrink``.
    """
    from pocketml.models import get_builtin

    spec = get_builtin(model)
    _check_trainable(trainable, bias_layers)
    board = device if isinstance(device, Device) else find_device(device, load_catalogue(devices))
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
                  force=force, trainable=trainable, bias_layers=bias_layers)
