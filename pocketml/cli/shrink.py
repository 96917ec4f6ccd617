"""`pocketml shrink` and `pocketml demo`: a model and a board in, verified int8 C out."""

from __future__ import annotations

from pathlib import Path

import typer

from pocketml.cli.app import (
    DEVICES_OPT,
    EXIT_BLOCKED,
    FORCE_OPT,
    MAX_LATENCY_OPT,
    MEMORY_OPT,
    OPTIMIZE_OPT,
    StageStatus,
    app,
    console,
)
from pocketml.cli.select import parse_budget
from pocketml.errors import PocketMLError


@app.command(rich_help_panel="Build")
def shrink(
    model: str = typer.Option("digits-cnn", help="A built-in model name, an .onnx file (torch.onnx.export; read as "
                              "data, safe from anyone), or a .pt2 file (torch.export.save). Loading a .pt2 runs "
                              "code its author put in it: use .pt2 only from people you trust, ONNX otherwise."),
    device: str = typer.Option("nano33ble", help="Target board id (see `pocketml devices`)."),
    out: Path = typer.Option(Path("out/shrink"), help="Output folder: result.json, report.html, c/."),
    data: Path | None = typer.Option(None, help="For an .onnx or .pt2 model: .npz with x_train, x_test, y_test."),
    seed: int = typer.Option(0, help="Seed for training a built-in model (same seed, same result)."),
    devices: Path | None = DEVICES_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print result.json instead of tables."),
    recipe: str | None = typer.Option(
        None, help="Compression recipe: int8 (default), qat-int4, deep, deep-int2, or a recipe .toml file "
                   "(stages such as distill, channels, prune, quantize, qat, mixed, huffman; see docs/compress.md)."),
    target_flash: str | None = typer.Option(
        None, "--target-flash", help="Flash budget such as 20KB: pick the least aggressive recipe that fits, "
                                     "or stop with an error saying none can."),
    select_strategy: str | None = typer.Option(
        None, "--select", help="Built-in models: first select training samples with this strategy (hybrid, margin, "
                               "kcenter, random, ...; see `pocketml select`) and train on those only."),
    select_budget: str | None = typer.Option(None, help="With --select: samples to keep, 200 or 0.4."),
    drop_suspects: bool = typer.Option(False, "--drop-suspects", help="With --select: drop likely mislabelled "
                                       "samples first."),
    trainable: str | None = typer.Option(
        None, help="Also emit the on-device training step (c/train.c): last (the classifier in float32), bias "
                   "(its bias and the int32 biases of --bias-layers body layers) or last+bias; checked bit for bit "
                   "against the reference on the host and in QEMU (docs/ondevice.md)."),
    bias_layers: int = typer.Option(2, help="With --trainable bias or last+bias: body layers before the classifier "
                                            "whose biases train."),
    force: bool = FORCE_OPT,
    optimize: str | None = OPTIMIZE_OPT,
    memory: str = MEMORY_OPT,
    max_latency: float | None = MAX_LATENCY_OPT,
    recurrent: str = typer.Option(
        "sequence", help="An .onnx/.pt2 model's nn.LSTM: sequence (one UNIDIRECTIONAL_SEQUENCE_LSTM op, TFLite Micro's "
                         "int8 x int16 kernel, state reset per inference) or unroll (ordinary int8 ops over time, "
                         "as nn.GRU always is)."),
    check: bool = typer.Option(False, "--check", help="Only report, layer by layer, what pocketml can capture "
                               "(every blocker at once, with its module path); builds and writes nothing. "
                               "Exit 4 if anything is blocked."),
) -> None:
    """Quantize a model to int8, emit C for a board, compile and verify it, and report.

    Models from others: pass them as .onnx (a protobuf: pocketml runs no code from it).
    A .pt2 file is unpickled by torch.export.load, which runs any code its author put in it.

    Exits 0 when the artifact was built and verified, even if it does not fit the board
    (result.json says fits: false and why); exits 1 on bad input, naming the problem and the fix.
    """
    from pocketml.pipeline import shrink as shrink_api
    from pocketml.pipeline import shrink_builtin
    from pocketml.report import print_result

    if check:
        _check(model, data, as_json, recurrent)
        return
    if model.endswith((".onnx", ".pt2")):
        from pocketml.data.files import load_npz
        from pocketml.models.files import load_model_file

        if data is None:
            raise PocketMLError(f"a {Path(model).suffix} model needs data",
                                "pass --data FILE.npz with x_train, x_test, y_test")
        calibration, test = load_npz(data)  # data first: it is checked without loading the model
        net = load_model_file(model)
        train = None
        if recipe is not None or target_flash is not None:  # training recipes use y_train if present
            from pocketml.data.files import load_train_split

            train = load_train_split(data)
        with StageStatus(not as_json) as on_stage:
            result = shrink_api(net, calibration, test, device, out, name=Path(model).stem, devices=devices,
                                recipe=recipe, train=train, target_flash=target_flash, seed=seed, force=force,
                                on_stage=on_stage, optimize=optimize, memory=memory, max_latency_ms=max_latency,
                                trainable=trainable, bias_layers=bias_layers, recurrent=recurrent)
    else:
        if recipe is not None:  # a bad recipe fails before the built-in model trains
            from pocketml.compress.recipe import get_recipe

            get_recipe(recipe)
        if target_flash is not None:
            from pocketml.compress.budget import parse_bytes

            parse_bytes(target_flash)
        plan = None
        if select_strategy is not None or drop_suspects:  # data selection as the first stage
            from pocketml.data.selection import SelectionPlan

            plan = SelectionPlan(select_strategy or "random", parse_budget(select_budget),
                                 drop_suspects=drop_suspects, seed=seed)
        with StageStatus(not as_json) as on_stage:
            result = shrink_builtin(model, device, out, seed=seed, devices=devices, progress=not as_json,
                                    recipe=recipe, target_flash=target_flash, select=plan, force=force,
                                    on_stage=on_stage, optimize=optimize, memory=memory,
                                    max_latency_ms=max_latency, trainable=trainable, bias_layers=bias_layers)
    if as_json:
        print(result.dumps())
    else:
        print_result(result, console)
        console.print(f"wrote {out}/result.json, {out}/report.html, {out}/c/ (make -C {out}/c builds run_model)",
                      markup=False, highlight=False)


def _check(model: str, data: Path | None, as_json: bool, recurrent: str = "sequence") -> None:
    """``shrink --check``: capture only, every blocker listed; exit 4 (EXIT_BLOCKED) when something is blocked."""
    import json

    import torch

    from pocketml.graph.capture import check_model
    from pocketml.report.check import print_model_check

    if model.endswith((".onnx", ".pt2")):
        from pocketml.models.files import example_input, load_model_file

        net, name = load_model_file(model), Path(model).stem
        if data is not None:
            from pocketml.data.files import load_npz

            calibration, _ = load_npz(data)
            example = torch.as_tensor(calibration[:1])
        elif model.endswith(".pt2"):
            example = example_input(model)
        else:
            raise PocketMLError("shrink --check of an .onnx model needs an example input",
                                "pass --data FILE.npz (its x_train gives the input shape)")
    else:
        from pocketml.models import get_builtin

        spec = get_builtin(model)
        net, name = spec.build(), model
        example = torch.as_tensor(spec.dataset().train.x[:1])
    report = check_model(net, example, name, recurrent)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print_model_check(report, console)
    if not report.compiles:
        raise typer.Exit(EXIT_BLOCKED)


@app.command(rich_help_panel="Build")
def demo(
    out: Path = typer.Option(Path("out/demo"), help="Output folder."),
    device: str = typer.Option("nano33ble", help="Target board id."),
    force: bool = FORCE_OPT,
) -> None:
    """Train digits-cnn on built-in data, shrink it for a board, verify the C, and report."""
    from pocketml.pipeline import shrink_builtin
    from pocketml.report import print_result

    console.print(f"[bold]pocketml demo[/]: digits-cnn on scikit-learn digits → int8 C for {device}")
    with StageStatus() as on_stage:
        result = shrink_builtin("digits-cnn", device, out, force=force, on_stage=on_stage)
    print_result(result, console)
    console.print(f"report: {out / 'report.html'}   C: {out / 'c'} (make -C {out / 'c'} && ./run_model < in.bin)",
                  markup=False, highlight=False)
