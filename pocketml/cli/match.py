"""`pocketml match`: search a model that fits a board."""

from __future__ import annotations

from pathlib import Path

import typer

from pocketml.cli.app import DEVICES_OPT, FORCE_OPT, app, console


@app.command(rich_help_panel="Train")
def match(
    device: str = typer.Option("nano33ble", help="Target board id (see `pocketml devices`)."),
    task: str = typer.Option("digits", help="Built-in task to find a model for."),
    max_latency: str | None = typer.Option(None, help="Latency budget per inference (estimate), e.g. 10ms, 500us."),
    max_energy: float | None = typer.Option(None, help="Energy budget per inference in µJ (estimate)."),
    max_ram: int | None = typer.Option(None, help="RAM cap in bytes below the board's SRAM."),
    max_flash: int | None = typer.Option(None, help="Flash cap in bytes below the board's flash."),
    family: list[str] | None = typer.Option(None, help="Model families to search (repeatable): cnn, dscnn, mlp, "
                                            "tree. Default: all."),
    bits: list[int] | None = typer.Option(None, help="Weight widths a cnn/mlp layer may take (repeatable): 8, 4. "
                                          "Default: both; int4 layers are packed in C and fine-tuned with QAT."),
    trials: int = typer.Option(40, help="Candidates to propose; those over budget are pruned before training."),
    timeout: float = typer.Option(420.0, help="Stop proposing candidates after this many seconds."),
    search_epochs: int = typer.Option(6, help="Brief training of each candidate that fits."),
    final_epochs: int = typer.Option(20, help="Full training of the finalists."),
    seed: int = typer.Option(0, help="Seed for the sampler, initial weights and training."),
    out: Path = typer.Option(Path("out/match"), help="Output folder: match.json, front.png, chosen/."),
    devices: Path | None = DEVICES_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print match.json (front, chosen, every candidate)."),
    force: bool = FORCE_OPT,
) -> None:
    """Find the most accurate model whose deployed C fits a board (RAM, flash, latency).

    Costs every candidate exactly before training (planned arena, emitted constants, compiled
    sizes), prunes what cannot fit, trains the rest briefly, prints the Pareto front of accuracy vs
    flash vs latency and deploys the chosen model through the verified path. When nothing meets
    the budget, the closest candidate is returned with how far it misses.
    """
    from pocketml.search import match as match_api
    from pocketml.search.cost import parse_latency_ms
    from pocketml.search.terminal import print_match

    result = match_api(device, task, max_latency_ms=parse_latency_ms(max_latency), max_energy_uj=max_energy,
                       max_ram=max_ram, max_flash=max_flash, families=tuple(family) if family else None,
                       bits=tuple(bits) if bits else (8, 4), n_trials=trials, timeout_s=timeout,
                       search_epochs=search_epochs,
                       final_epochs=final_epochs, seed=seed, out=out, devices=devices, progress=not as_json,
                       force=force)
    if as_json:
        print(result.dumps())
    else:
        print_match(result, console)
        console.print(f"wrote {out}/match.json, {out}/front.png, {out}/chosen/", markup=False, highlight=False)
