"""`pocketml federate`: federated training on Flower, then optionally shrink."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from pocketml.cli.app import DEVICES_OPT, FORCE_OPT, app, console
from pocketml.errors import PocketMLError


@app.command(rich_help_panel="Train")
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
    checkpoint: Path | None = typer.Option(None, help="Checkpoint .npz written each round; resumed if present."),
    seed: int = typer.Option(0, help="Seed for partitions, sampling, training."),
    regions: int = typer.Option(0, help="Cell → region → top hierarchy: split the clients (cells) into this many "
                                "regions; each region federates its cells, then the top averages the regions "
                                "(bytes counted on each link). 0 = one flat fleet."),
    region_rounds: int = typer.Option(1, help="With --regions: rounds each region runs with its cells per top round."),
    secagg: bool = typer.Option(False, "--secagg", help="Secure aggregation with Flower's SecAgg+ workflow: the "
                                "server only ever decodes the sum of masked, quantized client models (FedAvg, "
                                "no compression/DP/robust strategies)."),
    backend: str = typer.Option("local", help="local: every ClientApp in this process (fast for small fleets) | "
                                "ray: Flower's simulation runtime, ClientApps in Ray actors (10,000+ clients, "
                                "or a Ray cluster); same apps, same results and byte counts."),
    client_cpus: float = typer.Option(1.0, help="With --backend ray: CPUs each ClientApp actor holds."),
    client_gpus: float = typer.Option(0.0, help="With --backend ray: GPUs each ClientApp actor holds."),
    ray_address: str | None = typer.Option(None, help="With --backend ray: an existing Ray cluster (`ray start "
                                           "--head` prints it; 'auto' finds a local one). Default: a local Ray "
                                           "started and stopped for this run."),
    device: str | None = typer.Option(None, help="Shrink the final global model for this board into --out."),
    out: Path = typer.Option(Path("out/federate"), help="Output folder: federated.json (+ shrink's files)."),
    devices: Path | None = DEVICES_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print federated.json (accuracy per round, bytes_up, "
                                 "bytes_down, ...) instead of a table."),
    force: bool = FORCE_OPT,
) -> None:
    """Train a built-in model with federated learning on Flower (simulated fleet), then optionally shrink it.

    Prints accuracy per round on the test split and the bytes each way (as Flower serializes them);
    writes OUT/federated.json. With --device the final global model goes through `shrink`.
    """
    from pocketml.federated import FederatedSpec, FleetProfile, run
    from pocketml.federated.builtin import load_dataset
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
    ray = _ray_options(backend, ray_address, client_cpus, client_gpus, regions, secagg)
    if regions:
        _federate_regions(spec, regions, region_rounds, fleet, checkpoint, device, folder, as_json)
        return
    if secagg:
        _federate_secagg(spec, fleet, checkpoint, device, folder, as_json)
        return
    with folder.stage() as work:  # a checkpoint inside OUT is yours: written in place, never removed
        result = run(spec, fleet=fleet, checkpoint=checkpoint, progress=not as_json, backend=backend, ray=ray)
        report = result.to_json()
        if device is not None:  # shrink's files beside federated.json, committed together
            from pocketml.pipeline import shrink as shrink_api

            data = load_dataset(dataset)
            shrunk = shrink_api(result.model(), data.train.x, data.test, device, work, name="federated",
                                devices=devices)
            report["shrink"] = {"device": device, "accuracy": shrunk.accuracy.to_dict(), "fits": shrunk.fits,
                                "fit_reason": shrunk.fit_reason, "result_json": str(out / "result.json")}
        _write_federated_json(work, report)
    _show(report, out, as_json)


def _ray_options(backend: str, address: str | None, cpus: float, gpus: float, regions: int, secagg: bool):
    """``--backend ray``'s options, or None for the local backend (then they must not be given)."""
    from pocketml.federated import RayOptions

    if backend != "local" and (regions or secagg):
        raise PocketMLError("--regions and --secagg run on the local backend", "drop --backend ray")
    if backend == "ray":
        return RayOptions(address=address, client_cpus=cpus, client_gpus=gpus).validate()
    if (address, cpus, gpus) != (None, 1.0, 0.0):
        raise PocketMLError("--ray-address / --client-cpus / --client-gpus are for --backend ray",
                            "add --backend ray, or drop them")
    return None


def _show(report: dict, out: Path, as_json: bool) -> None:
    """federated.json printed as JSON (``--json``) or as tables (pocketml.report.federated)."""
    if as_json:
        print(json.dumps(report, indent=2))
        return
    from pocketml.report.federated import print_federated

    print_federated(report, console, f"{out}/federated.json")


def _write_federated_json(folder: Path, report: dict) -> None:
    from pocketml.outputs import write_atomic

    write_atomic(folder / "federated.json", json.dumps(report, indent=2))


def _federate_secagg(spec, fleet, checkpoint: Path | None, device: str | None, folder,
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
    _show(report, folder.out, as_json)


def _federate_regions(spec, regions: int, region_rounds: int, fleet, checkpoint: Path | None,
                      device: str | None, folder, as_json: bool) -> None:
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
    _show(report, folder.out, as_json)
