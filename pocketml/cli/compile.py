"""`pocketml compile`: an existing int8 .tflite to verified C."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from pocketml.cli.app import (
    DEVICES_OPT,
    EXIT_BLOCKED,
    EXIT_NOT_EXACT,
    FORCE_OPT,
    MAX_LATENCY_OPT,
    MEMORY_OPT,
    OPTIMIZE_OPT,
    StageStatus,
    app,
    console,
)


@app.command("compile", rich_help_panel="Build")
def compile_cmd(
    model: Path = typer.Argument(..., help="An int8 .tflite (TensorFlow's converter, a model zoo, a vendor tool)."),
    device: str = typer.Option("nano33ble", "--device", "-d", help="Board id (see `pocketml devices`)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Output folder (default: <model stem>-<device>)."),
    check: bool = typer.Option(False, "--check", help="Only report, operator by operator, what would compile "
                               "and what would not; build and write nothing. Exit 4 if it would not compile."),
    samples: int = typer.Option(200, help="Inputs compared across C, reference and TFLite Micro."),
    seed: int = typer.Option(0, help="Seed of the inputs."),
    inputs: str = typer.Option("probe", help="probe: smooth inputs around the input zero point with a realistic "
                               "spread (tell models apart); uniform: uniform random over the int8 range."),
    devices: Path | None = DEVICES_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print result.json (or the --check report) as JSON."),
    force: bool = FORCE_OPT,
    optimize: str | None = OPTIMIZE_OPT,
    memory: str = MEMORY_OPT,
    max_latency: float | None = MAX_LATENCY_OPT,
    state: str = typer.Option("streaming", "--state", help="What the LSTMs' recurrent state means (a .tflite cannot "
                              "say): streaming (default, TFLite Micro's: it persists from one invoke to the next) or "
                              "per-inference (each invoke one whole sequence from the reset state: the C resets it, "
                              "TFLite Micro is reset per sample when verified). SVDF memory is always streaming."),
) -> None:
    """Compile an existing int8 .tflite ahead of time into verified C for a board.

    Reads the flatbuffer into pocketml's int8 graph, then plans memory, emits C, builds it and
    verifies it exactly as `shrink` does: OUT/ gets result.json, report.html, c/, model.tflite,
    verify/ and source.tflite (the file you gave). The C, the numpy reference and TFLite Micro
    running your own file must agree byte for byte on --samples inputs (accuracy keys are null: a
    .tflite carries no labels); the number of distinct outputs they produced is printed, with a
    warning when it is too few for agreement to tell models apart.

    Exit codes: 0 compiled and byte-exact; 1 bad input, or an operator or option pocketml cannot
    run (reported with its index, name and option values before anything is written); 2 usage
    (unknown option); 3 compiled but the runtimes disagree; 4 --check: would not compile.
    """
    from pocketml.pipeline import check_tflite_model, compile_tflite

    if check:
        from pocketml.report.compile import print_compile_check

        report = check_tflite_model(model)
        if as_json:
            print(json.dumps(report.to_dict(), indent=2))
        else:
            print_compile_check(report, console)
        if not report.compiles:
            raise typer.Exit(EXIT_BLOCKED)
        return
    out = out or Path(f"{model.stem}-{device}")
    with StageStatus(not as_json) as on_stage:
        on_stage(f"read {model.name} and check every operator")
        result = compile_tflite(model, device, out, samples=samples, seed=seed, devices=devices, force=force,
                                on_stage=on_stage, optimize=optimize, memory=memory, inputs=inputs,
                                max_latency_ms=max_latency, state=state)
    if as_json:
        print(result.dumps())
    else:
        from pocketml.report import print_result

        print_result(result, console)
        src = result.verify.get("source_tflm", {}) if result.verify is not None else {}
        console.print(f"C vs reference: {result.c_mismatches} of {result.n_test} samples differ; "
                      f"{model.name} in TFLite Micro vs reference: {src.get('mismatching_samples')} differ; "
                      f"{src.get('distinct_outputs')} distinct outputs seen ({src.get('inputs')})")
        arena = result.verify.get("arena", {}) if result.verify is not None else {}
        if arena.get("tflm_source_bytes"):
            state = result.memory.state_bytes
            kept = f" + {state:,} B of memory kept between invokes (static; in TFLite Micro's arena)" if state else ""
            console.print(f"arena: planned {result.arena_bytes:,} B{kept}; TFLite Micro on {model.name}: "
                          f"{arena['tflm_source_bytes']:,} B (its allocation record; `pocketml verify {out}` "
                          "bisects its smallest working arena on the same file)", markup=False, highlight=False)
        if src.get("weak_evidence"):
            console.print(f"[yellow]warning:[/] only {src.get('distinct_outputs')} distinct outputs in {result.n_test} "
                          "samples: agreement on so few shows little; try --inputs uniform, more --samples, or "
                          "check the input quantization")
        console.print(f"wrote {out}/result.json, {out}/report.html, {out}/c/; `pocketml verify {out} --layers` "
                      "re-checks it layer by layer", markup=False, highlight=False)
    if result.verify is None or not result.verify.exact or result.c_mismatches:
        raise typer.Exit(EXIT_NOT_EXACT)
