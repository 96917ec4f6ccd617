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
    storage: str | None = typer.Option(None, help="Share the search through this Optuna storage so `pocketml "
                                       "match-worker` processes can join: sqlite:///study.db, "
                                       "postgresql://user@host/db, or grpc://host:port (`pocketml match-server`)."),
    study: str | None = typer.Option(None, help="The study's name in --storage; rerun to resume it."),
    batch: int = typer.Option(4, help="With --storage: trials proposed from the same history (how many "
                              "workers can run at once after the random start)."),
    grace: float = typer.Option(60.0, help="With --storage: seconds without a heartbeat before a running trial "
                                "is failed and retried (a killed worker)."),
) -> None:
    """Find the most accurate model whose deployed C fits a board (RAM, flash, latency).

    Costs every candidate exactly before training (planned arena, emitted constants, compiled
    sizes), prunes what cannot fit, trains the rest briefly, prints the Pareto front of accuracy vs
    flash vs latency and deploys the chosen model through the verified path. When nothing meets
    the budget, the closest candidate is returned with how far it misses.

    With --storage and --study the trials live in Optuna's storage: any number of `pocketml
    match-worker` processes (here or on other machines) share them, and the same seed gives the
    same chosen model however many join. This process waits for every trial, then deploys.
    """
    from pocketml.report.match import print_match
    from pocketml.search import match as match_api
    from pocketml.search.cost import parse_latency_ms

    result = match_api(device, task, max_latency_ms=parse_latency_ms(max_latency), max_energy_uj=max_energy,
                       max_ram=max_ram, max_flash=max_flash, families=tuple(family) if family else None,
                       bits=tuple(bits) if bits else (8, 4), n_trials=trials, timeout_s=timeout,
                       search_epochs=search_epochs,
                       final_epochs=final_epochs, seed=seed, out=out, devices=devices, progress=not as_json,
                       force=force, storage=storage, study=study, batch=batch, grace_s=grace)
    if as_json:
        print(result.dumps())
    else:
        print_match(result.to_dict(), console)
        console.print(f"wrote {out}/match.json, {out}/front.png, {out}/chosen/", markup=False, highlight=False)


@app.command("match-worker", rich_help_panel="Train")
def match_worker(
    storage: str = typer.Option(..., help="The Optuna storage of the study (as given to `pocketml match`)."),
    study: str = typer.Option(..., help="The study's name."),
    timeout: float | None = typer.Option(None, help="Stop taking trials after this many seconds (default: "
                                         "until every trial of the study is finished)."),
    wait: float = typer.Option(60.0, help="Seconds to wait for the study to be created."),
    as_json: bool = typer.Option(False, "--json", help="Print what this worker did as JSON."),
) -> None:
    """Join a shared model search (`pocketml match --storage URL --study NAME`) from any process or machine.

    The task, board, budget and seed come from the study. The worker takes trials until all are
    finished; a trial left running by a killed worker is failed and retried by whoever notices.
    """
    import json

    from pocketml.search.match import match_worker as work

    log = work(storage, study, timeout_s=timeout, wait_s=wait, progress=not as_json)
    report = {"worker": log.worker, "slots": log.ran, "declared_dead": log.declared_dead,
              "seconds": round(log.seconds, 1)}
    if as_json:
        print(json.dumps(report))
    else:
        console.print(f"worker {log.worker}: ran {len(log.ran)} trials in {log.seconds:.1f} s"
                      + (f"; failed and re-enqueued dead trials {log.declared_dead}" if log.declared_dead else ""),
                      markup=False, highlight=False)


@app.command("match-server", rich_help_panel="Train")
def match_server(
    storage: str = typer.Option(..., help="The database the proxy serves: an RDB URL such as "
                                "sqlite:///study.db or postgresql://user@host/db."),
    port: int = typer.Option(13000, help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on. The proxy has no authentication or TLS: "
                             "keep it on loopback or a private network (see docs/match.md)."),
) -> None:
    """Serve a study database through Optuna's gRPC storage proxy, so workers need no database client.

    Workers then pass --storage grpc://HOST:PORT. Runs until Ctrl-C or SIGTERM.
    """
    from pocketml.search.study import serve

    console.print(f"Optuna storage proxy on grpc://{host}:{port} for {storage}", markup=False, highlight=False)
    serve(storage, host=host, port=port)
    console.print("stopped", markup=False, highlight=False)
