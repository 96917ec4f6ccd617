"""`pocketml select`: data selection (active learning, KNN-Shapley, label noise)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from pocketml.cli.app import DEVICES_OPT, FORCE_OPT, app, console
from pocketml.errors import PocketMLError


@app.command(rich_help_panel="Train")
def select(
    data: Path | None = typer.Option(None, help="An .npz with x_train, y_train, x_test, y_test (x_val, y_val "
                                        "optional: a trusted split for KNN-Shapley). Default: built-in digits."),
    strategy: str = typer.Option("hybrid", help="random | least-confidence | margin | entropy | kcenter | hybrid "
                                 "(active learning with the labels as a simulated oracle) | value (KNN-Shapley)."),
    budget: str | None = typer.Option(None, help="Samples to keep: a count (200) or a fraction of the pool (0.4)."),
    budget_bytes: int | None = typer.Option(None, help="Bytes the kept samples may take in storage."),
    device: str | None = typer.Option(None, help="Use this board's flash size as the byte budget."),
    drop_suspects: bool = typer.Option(False, "--drop-suspects", help="Remove likely mislabelled samples first "
                                       "(negative KNN-Shapley values, or cleanlab's confident learning)."),
    suspects: str = typer.Option("auto", help="What counts as a suspect: auto (negative KNN-Shapley on the "
                                 "validation split if there is one, else cleanlab) | shapley | cleanlab | both."),
    curves: bool = typer.Option(False, "--curves", help="Also run every strategy vs random (learning curves, "
                                "10-50% of the labels) and the KNN-Shapley removal curve; plots in report.html."),
    seeds: int = typer.Option(1, help="Seeds for --curves (mean and spread)."),
    flip: float = typer.Option(0.0, help="Flip this fraction of the training labels first, to see the noise "
                               "detection at work (precision/recall against the flips)."),
    seed: int = typer.Option(0, help="Seed for every random choice."),
    out: Path = typer.Option(Path("out/select"), help="Output folder: selection.json, selected.npz, report.html."),
    devices: Path | None = DEVICES_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print selection.json instead of a summary."),
    force: bool = FORCE_OPT,
) -> None:
    """Pick the training samples worth labelling or keeping on the device; find the ones that hurt.

    Writes OUT/selection.json (kept indices, values, suspects, accuracies), OUT/selected.npz (the
    kept samples: usable as `pocketml shrink --data`) and OUT/report.html (learning curves,
    removal curve, label-noise table). Exits 1 on bad input, naming the problem and the fix.
    """
    from rich.progress import Progress
    from threadpoolctl import threadpool_limits

    from pocketml.data.selection import load_selection_data, run_selection, write_selection
    from pocketml.outputs import OutputFolder
    from pocketml.report.selection import render_selection_html

    OutputFolder(out, force=force, command="select").check()
    if device is not None:
        from pocketml.devices import find_device, load_catalogue

        board = find_device(device, load_catalogue(devices))
        budget_bytes = board.flash_bytes if budget_bytes is None else min(budget_bytes, board.flash_bytes)
    train, val, test = load_selection_data(data)
    # many small fits: one BLAS thread each is faster than oversubscribed cores
    with threadpool_limits(limits=1), Progress(transient=True, disable=as_json, console=console) as bar:
        task = bar.add_task("selecting", total=None)
        run = run_selection(train, test, val, strategy=strategy, budget=parse_budget(budget),
                            budget_bytes=budget_bytes, drop_suspects=drop_suspects, suspect_method=suspects,
                            curves=curves, seeds=seeds, flip=flip, seed=seed,
                            progress=lambda what: bar.update(task, description=f"learning curve: {what}"))
    page = render_selection_html(title=f"pocketml select: {strategy}", selection=run.selection,
                                 comparison=run.comparison, removal=run.removal, noise=run.noise)
    write_selection(out, run, train, test, html=page, force=force)
    if as_json:
        print(json.dumps(run.to_json(), indent=2))
        return
    from pocketml.report.runs import print_selection

    print_selection(run.to_json(), console)
    console.print(f"wrote {out}/selection.json, {out}/selected.npz, {out}/report.html", markup=False, highlight=False)


def parse_budget(text: str | None) -> int | float | None:
    if text is None:
        return None
    try:
        return float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        raise PocketMLError(f"--budget {text!r} is not a number",
                            "pass a count of samples (200) or a fraction of the pool (0.4)") from None
