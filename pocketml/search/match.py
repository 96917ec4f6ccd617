"""``match``: the most accurate model whose deployed artifact fits a named board.

    every candidate ─cost (exact bytes, no training)─▶ over a budget? ─yes─▶ pruned (never trained)
                                                       └─no─▶ train briefly ─▶ quantize at its bits
                                                              ─▶ validation accuracy of the integer reference
    Optuna (multi-objective TPE) proposes candidates; objectives: accuracy ↑, flash ↓, latency ↓
    Pareto front ─▶ chosen (most accurate; within ``accuracy_tolerance`` of it, the smallest flash)
                 ─▶ trained fully ─▶ ``pocketml.shrink`` (verified C) or verified emlearn C (trees)

Each weight layer of a ``cnn`` / ``mlp`` candidate is int8 or int4 (``space.BITS``). The search ranks
candidates by the accuracy of the integer reference after post-training quantization at their
bits (what would be deployed without fine-tuning); a chosen model with int4 layers is deployed
with quantization-aware training at those bits (the ``qat`` stage of ``pocketml.compress``).

If no candidate meets the budget the closest one (smallest worst overrun) is chosen instead,
deployed all the same, and the result says by how much it misses (``chosen.misses``).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from pocketml.compress.quantize import quantize
from pocketml.compress.recipe import Recipe, StageSpec
from pocketml.data.dataset import Dataset, Split
from pocketml.data.digits import load_digits
from pocketml.devices import Device, find_device, load_catalogue
from pocketml.errors import PocketMLError
from pocketml.graph.capture import capture
from pocketml.models.train import train
from pocketml.outputs import OutputFolder, write_atomic
from pocketml.pipeline import shrink
from pocketml.search.cost import Budget, CandidateCost, measure_cost
from pocketml.search.space import (
    BITS,
    DEPTHS,
    KERNELS,
    NN_FAMILIES,
    WIDTHS,
    Architecture,
    build,
    layer_bits,
    resize,
    suggest,
)
from pocketml.search.trees import TreeArchitecture, deploy_tree, fit_tree, suggest_tree, tree_cost, tree_features

FAMILIES = (*NN_FAMILIES, "tree")


@dataclass(frozen=True)
class Task:
    """A built-in task: its data, the input resolutions the search may use, integer pixel scale."""

    name: str
    load: Callable[[], Dataset]
    resolutions: tuple[int, ...]
    integer_scale: float  # float input * scale = the raw integer value (trees use integers)


TASKS = {"digits": Task("digits", load_digits, (8, 4), 16.0)}


@dataclass(frozen=True)
class Candidate:
    """One evaluated point: its shape, its cost on the board, and what became of it."""

    number: int
    arch: Architecture | TreeArchitecture
    cost: CandidateCost | None
    accuracy: float | None  # validation accuracy after brief training (None: never trained)
    status: str  # "trained" | "pruned: ..." | "not deployable: ..."
    train_seconds: float = 0.0

    def to_record(self) -> dict:
        """Everything about the candidate, unrounded and JSON-able (an Optuna trial attribute)."""
        return {"arch": self.arch.to_dict(), "cost": None if self.cost is None else dataclasses.asdict(self.cost),
                "accuracy": self.accuracy, "status": self.status, "train_seconds": self.train_seconds}

    @classmethod
    def from_record(cls, record: dict, number: int) -> Candidate:
        a = dict(record["arch"])
        a.pop("label", None)
        arch = (TreeArchitecture(a["n_trees"], a["max_depth"], a["resolution"]) if a["family"] == "tree"
                else Architecture(a["family"], a["width"], a["depth"], a["kernel"], a["resolution"], tuple(a["bits"])))
        cost = None if record["cost"] is None else CandidateCost(**record["cost"])
        return cls(number, arch, cost, record["accuracy"], record["status"], record["train_seconds"])

    def to_dict(self) -> dict:
        return {"number": self.number, **self.arch.to_dict(),
                "accuracy": None if self.accuracy is None else round(self.accuracy, 4),
                **(self.cost.to_dict() if self.cost else {}), "status": self.status,
                "train_seconds": round(self.train_seconds, 2)}


@dataclass(frozen=True)
class ChosenModel:
    """The chosen candidate, trained fully, deployed and verified on the test split."""

    candidate: Candidate
    accuracy: float  # test accuracy of the verified C
    accuracy_reference: float  # test accuracy of the Python model the C is checked against
    flash_bytes: int
    ram_bytes: int
    latency_ms: float
    energy_uj: float
    fits: bool
    misses: dict[str, float]
    c_mismatches: int
    verified_by: str
    out: str
    latency_method: str
    flash_method: str
    final_validation_accuracy: float  # validation accuracy after full training (the final pick's basis)
    cortexm: dict | None = None  # the Cortex-M cross-build and QEMU run, when shrink made one

    def to_dict(self) -> dict:
        return {"number": self.candidate.number, **self.candidate.arch.to_dict(), "accuracy": round(self.accuracy, 4),
                "accuracy_reference": round(self.accuracy_reference, 4),
                "validation_accuracy": self.candidate.accuracy,
                "final_validation_accuracy": round(self.final_validation_accuracy, 4),
                "flash_bytes": self.flash_bytes, "flash_method": self.flash_method, "cortexm": self.cortexm,
                "qemu_instructions": (self.cortexm or {}).get("instructions_per_inference"),
                "ram_bytes": self.ram_bytes, "latency_ms": round(self.latency_ms, 4),
                "energy_uj": round(self.energy_uj, 3), "latency_estimate": True,
                "latency_method": self.latency_method, "fits": self.fits,
                "misses": {k: round(v, 4) for k, v in self.misses.items()},
                "miss_text": _miss_text(self.misses), "c_mismatches": self.c_mismatches,
                "verified_by": self.verified_by, "out": self.out}


@dataclass(frozen=True)
class MatchResult:
    """What ``match`` found: the Pareto front, the chosen model, and every candidate tried."""

    device: Device
    task: str
    budget: Budget
    front: list[Candidate]
    chosen: ChosenModel
    candidates: list[Candidate]
    search_seconds: float
    total_seconds: float
    settings: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        pruned = sum(c.status.startswith("pruned") for c in self.candidates)
        return {"device": self.device.id, "task": self.task, "budget": self.budget.to_dict(),
                "front": [c.to_dict() for c in self.front], "chosen": self.chosen.to_dict(),
                "n_candidates": len(self.candidates), "n_pruned": pruned,
                "n_trained": sum(c.status == "trained" for c in self.candidates),
                "n_not_deployable": sum(c.status.startswith("not deployable") for c in self.candidates),
                "search_seconds": round(self.search_seconds, 1), "total_seconds": round(self.total_seconds, 1),
                "settings": self.settings, "files": self.files,
                "candidates": [c.to_dict() for c in self.candidates]}

    def dumps(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def _miss_text(misses: dict[str, float]) -> str:
    if not misses:
        return "fits"
    return "; ".join(f"{k} over by {100 * v:.1f}%" for k, v in sorted(misses.items()))


DIRECTIONS = ["maximize", "minimize", "minimize"]  # accuracy, flash bytes, latency
N_STARTUP = 10  # TPE's random start (trials), at most the budget


@dataclass
class _Evaluator:
    """Cost, prune or briefly train one candidate: what every trial of a search does (any process)."""

    data: Dataset
    spec: Task
    board: Device
    budget: Budget
    seed: int
    search_epochs: int

    def __call__(self, arch, number: int) -> Candidate:
        data, board, budget, seed = self.data, self.board, self.budget, self.seed
        try:
            if isinstance(arch, TreeArchitecture):
                xtr = tree_features(data.train.x, arch.resolution, self.spec.integer_scale)
                t0 = time.perf_counter()
                model = fit_tree(arch, xtr, data.train.y, seed)
                cost = tree_cost(model, xtr.shape[1], board, budget)
                if not cost.fits:
                    return Candidate(number, arch, cost, None, "pruned: " + cost.miss_text())
                xva = tree_features(data.val.x, arch.resolution, self.spec.integer_scale)
                acc = float(np.mean(model.predict(xva) == data.val.y))
                return Candidate(number, arch, cost, acc, "trained", time.perf_counter() - t0)
            cost = measure_cost(arch, data.train.x[:32], data.n_classes, board, budget)
        except PocketMLError as exc:
            return Candidate(number, arch, None, None, "not deployable: " + exc.problem.splitlines()[0])
        if not cost.fits:
            return Candidate(number, arch, cost, None, "pruned: " + cost.miss_text())
        t0 = time.perf_counter()
        model = _train_net(arch, data, seed, self.search_epochs, SEARCH_RECIPE)
        acc = _integer_accuracy(model, arch, data)
        return Candidate(number, arch, cost, acc, "trained", time.perf_counter() - t0)


def _suggest(trial, searched: tuple[str, ...], spec: Task, bits: tuple[int, ...]):
    family = trial.suggest_categorical("family", list(searched))
    return (suggest_tree(trial, spec.resolutions) if family == "tree"
            else suggest(trial, family, spec.resolutions, tuple(bits)))


def _values(cand: Candidate) -> tuple[float, float, float]:
    """The trial's objectives; a candidate that was not trained is a pruned trial."""
    import optuna

    if cand.status != "trained":
        raise optuna.TrialPruned(cand.status)
    return cand.accuracy, cand.cost.flash_bytes, cand.cost.latency_ms


def _check_arguments(task: str, families: tuple[str, ...], bits, storage, study, *, n_trials, n_finalists,
                     search_epochs, final_epochs, batch, max_latency_ms, max_energy_uj, max_ram, max_flash,
                     grace_s) -> None:
    """Every argument of ``match`` checked before any work: one clear error for the first bad one."""
    if task not in TASKS:
        raise PocketMLError(f"unknown task '{task}'", f"built-in tasks: {', '.join(TASKS)}")
    unknown = [f for f in families if f not in FAMILIES]
    if unknown or not families:
        raise PocketMLError(f"unknown model families {unknown or '(none given)'}",
                            f"choose from {', '.join(FAMILIES)}")
    if not bits or any(b not in BITS for b in bits):
        raise PocketMLError(f"weight widths {list(bits)} cannot all be searched",
                            f"choose from {', '.join(map(str, BITS))} (int4 layers are fine-tuned with QAT)")
    for name, value in (("n_trials", n_trials), ("n_finalists", n_finalists), ("search_epochs", search_epochs),
                        ("final_epochs", final_epochs), ("batch", batch)):
        if value < 1:
            raise PocketMLError(f"{name} must be at least 1, got {value}", f"pass a positive {name}")
    for name, value in (("max_latency_ms", max_latency_ms), ("max_energy_uj", max_energy_uj),
                        ("max_ram", max_ram), ("max_flash", max_flash), ("grace_s", grace_s)):
        if value is not None and value <= 0:
            raise PocketMLError(f"{name} must be positive, got {value}", f"pass a positive {name} or leave it out")
    if (storage is None) != (study is None):
        raise PocketMLError("a shared search needs both a storage and a study name",
                            "pass --storage URL --study NAME together, or neither (an in-memory search)")


def match(
    device: str | Device,
    task: str = "digits",
    *,
    max_latency_ms: float | None = None,
    max_energy_uj: float | None = None,
    max_ram: int | None = None,
    max_flash: int | None = None,
    families: tuple[str, ...] | None = None,
    bits: tuple[int, ...] = BITS,
    n_trials: int = 40,
    timeout_s: float = 420.0,
    search_epochs: int = 6,
    final_epochs: int = 20,
    accuracy_tolerance: float = 0.01,
    n_finalists: int = 3,
    seed: int = 0,
    out: str | Path = "out/match",
    devices: str | Path | None = None,
    plot: bool = True,
    progress: bool = True,
    force: bool = False,
    storage: str | None = None,
    study: str | None = None,
    batch: int = 4,
    grace_s: float = 60.0,
) -> MatchResult:
    """Search model shapes for ``task`` on ``device``; deploy and verify the chosen one.

    Parameters
    ----------
    device : a board id (``pocketml devices``) or a ``Device``.
    task : a built-in task (``TASKS``; default ``"digits"``).
    max_latency_ms, max_energy_uj : optional caps on the estimated latency / energy per inference.
    max_ram, max_flash : optional byte caps below the board's own SRAM / flash (default: the board's).
    families : which families to search (default None: all of ``cnn``, ``dscnn``, ``mlp``, ``tree``).
    bits : weight widths a ``cnn`` / ``mlp`` layer may take (default ``(8, 4)``; ``(8,)`` = int8 only).
    n_trials : candidates Optuna proposes (default 40); pruned ones cost no training.
    timeout_s : stop proposing after this many seconds (default 420, so a default search stays
        under 10 minutes with the final training and verification). With ``storage``: this process
        stops taking trials; the pick uses the trials finished by then.
    search_epochs : brief training of each surviving candidate (default 6, lr 0.01, batch 32).
    final_epochs : full training of each finalist (default 20, lr 0.01, batch 32).
    accuracy_tolerance : on the front, candidates this close to the best validation accuracy (default 0.01)
        are finalists.
    n_finalists : at most this many finalists (most accurate first) are trained fully; of those within
        one validation sample of the best validation accuracy, the least flash wins (default 3).
    seed : seeds the sampler, every model's initial weights and every training run (default 0).
    out : output folder: ``match.json``, ``front.png``, ``chosen/`` (default ``out/match``).
    devices : an extra TOML file of boards.
    plot : write ``front.png`` (default True).
    progress : show a progress bar (default True).
    force : write into a non-empty ``out`` that is not a pocketml output (your files there are kept).
    storage : an Optuna storage URL (``sqlite:///study.db``, ``postgresql://...``, ``grpc://host:port``)
        to share the search with ``match_worker`` processes (default None: in memory, one process).
        The trials are proposed the same however many workers join (``pocketml.search.study``), so
        their proposals differ from the in-memory search's but not from one run to the next.
    study : the study's name in ``storage`` (required with it); rerunning resumes the study.
    batch : with ``storage``: trials proposed from the same history after TPE's random start, i.e.
        how many workers can run at once (default 4).
    grace_s : with ``storage``: a running trial whose worker sent no heartbeat for this long is
        failed and retried (default 60).
    """
    started = time.perf_counter()
    board = device if isinstance(device, Device) else find_device(device, load_catalogue(devices))
    families = FAMILIES if families is None else tuple(families)
    _check_arguments(task, families, bits, storage, study, n_trials=n_trials, n_finalists=n_finalists,
                     search_epochs=search_epochs, final_epochs=final_epochs, batch=batch,
                     max_latency_ms=max_latency_ms, max_energy_uj=max_energy_uj, max_ram=max_ram,
                     max_flash=max_flash, grace_s=grace_s)
    if storage is not None:  # before any work: an unreachable storage fails now
        from pocketml.search.study import open_storage

        opened = open_storage(storage)
    spec = TASKS[task]
    data = spec.load()
    budget = Budget.for_device(board, max_ram=max_ram, max_flash=max_flash,
                               max_latency_ms=max_latency_ms, max_energy_uj=max_energy_uj)
    folder = OutputFolder(out, force=force, command="match")
    folder.check()  # before the search, not after it

    excluded = {f: why for f in families if (why := _family_problem(f, spec, data))}
    searched = tuple(f for f in families if f not in excluded)
    if not searched:
        raise PocketMLError(f"no family of {', '.join(families)} can be deployed: "
                            + "; ".join(f"{f}: {w}" for f, w in excluded.items()),
                            f"add families from {', '.join(FAMILIES)}")
    evaluator = _Evaluator(data, spec, board, budget, seed, search_epochs)
    shared: dict = {}
    t_search = time.perf_counter()
    if storage is not None:
        settings = _study_settings(task, board, budget, searched, bits, search_epochs, seed, n_trials, batch, grace_s)
        candidates, shared = _search_shared(opened, storage, study, settings, evaluator, timeout_s, progress,
                                            f"matching {task} to {board.id}")
    else:
        candidates = _search_in_memory(evaluator, searched, spec, bits, n_trials, timeout_s, seed, progress,
                                       f"matching {task} to {board.id}")
    search_seconds = time.perf_counter() - t_search

    front = _front(candidates)
    costed = [c for c in candidates if c.cost is not None]
    if not costed:
        raise PocketMLError(f"no candidate of {', '.join(families)} could be costed for {board.id}",
                            "add families (--family) or more trials; see each candidate's status in match.json")
    with folder.stage() as work, torch.random.fork_rng(), _one_thread():
        if front:  # finalists: the front's most accurate, trained fully, judged on validation again
            best = max(c.accuracy for c in front)
            near = sorted((c for c in front if c.accuracy >= best - accuracy_tolerance),
                          key=lambda c: (-c.accuracy, c.cost.flash_bytes))[:n_finalists]
            finals = [(c, _final_model(c.arch, data, spec, seed, final_epochs)) for c in near]
            # after full training, finalists within one validation sample of the best are equally
            # accurate: the least flash wins (do not pay bytes for noise)
            best_final = max(v for _, (_, v) in finals)
            tied = [(c, m, v) for c, (m, v) in finals if v >= best_final - 1.5 / len(data.val)]
            pick, model, final_val = min(tied, key=lambda f: (f[0].cost.flash_bytes, -f[2]))
        else:  # nothing meets the budget: the candidate that misses it by the least
            pick = min(costed, key=lambda c: (max(c.cost.misses.values()), sum(c.cost.misses.values())))
            model, final_val = _final_model(pick.arch, data, spec, seed, final_epochs)
        chosen = _deploy(pick, model, final_val, data, spec, board, budget, work / "chosen", seed,
                         shown=Path(out) / "chosen")
        result = _match_result(board, task, budget, front, chosen, candidates, search_seconds, started, searched,
                               excluded, n_trials, timeout_s, search_epochs, final_epochs, bits, accuracy_tolerance,
                               n_finalists, seed, plot)
        if shared:
            result.settings["shared"] = shared
            result.settings["sampler"] = "optuna TPESampler (multi-objective), seeded per slot (pocketml.search.study)"
        if plot:
            from pocketml.report.match import write_front_plot

            write_front_plot(result.to_dict(), work / "front.png")
        write_atomic(work / "match.json", result.dumps())
    return result


def _search_in_memory(evaluator: _Evaluator, searched, spec: Task, bits, n_trials: int, timeout_s: float, seed: int,
                      progress: bool, label: str) -> list[Candidate]:
    """The one-process search: an in-memory Optuna study (the behaviour without ``storage``)."""
    import optuna
    from rich.progress import Progress

    candidates: list[Candidate] = []
    seen: dict[object, Candidate] = {}

    def objective(trial):
        arch = _suggest(trial, searched, spec, bits)
        cand = seen[arch] if arch in seen else evaluator(arch, len(candidates))
        if arch not in seen:
            seen[arch] = cand
            candidates.append(cand)
        trial.set_user_attr("candidate", cand.number)
        return _values(cand)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=DIRECTIONS, sampler=optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=min(N_STARTUP, n_trials)))
    with torch.random.fork_rng(), _one_thread(), Progress(transient=True, disable=not progress) as bar:
        task_id = bar.add_task(label, total=n_trials)

        def advance(study, trial) -> None:
            n_fit = sum(c.status == "trained" for c in candidates)
            bar.update(task_id, advance=1, description=f"{label}: {len(candidates)} candidates, {n_fit} trained")

        study.optimize(objective, n_trials=n_trials, timeout=timeout_s, callbacks=[advance])
    return candidates


def _study_settings(task, board, budget, searched, bits, search_epochs, seed, n_trials, batch, grace_s) -> dict:
    """Everything a worker needs to evaluate any slot exactly as this process would (JSON)."""
    from pocketml._version import __version__

    return {"pocketml": __version__, "task": task, "device": dataclasses.asdict(board), "budget": budget.to_dict(),
            "families": list(searched), "bits": list(bits), "search_epochs": search_epochs, "seed": seed,
            "n_trials": n_trials, "n_startup": min(N_STARTUP, n_trials), "batch": batch, "grace_s": grace_s}


def _plan(settings: dict):
    from pocketml.search.study import SlotPlan

    return SlotPlan(settings["n_trials"], settings["seed"], settings["n_startup"], settings["batch"]).validate()


def _objective(evaluator: _Evaluator, settings: dict):
    """The trial function of a shared study: suggest, reuse a finished twin or evaluate, record."""
    from pocketml.search.study import FINISHED

    spec, searched, bits = TASKS[settings["task"]], tuple(settings["families"]), tuple(settings["bits"])

    def objective(trial) -> tuple[float, float, float]:
        arch = _suggest(trial, searched, spec, bits)
        twin = next((t.user_attrs["candidate"] for t in trial.study.get_trials(deepcopy=False, states=FINISHED)
                     if "candidate" in t.user_attrs and t.user_attrs["candidate"]["arch"] == arch.to_dict()), None)
        cand = Candidate.from_record(twin, -1) if twin else evaluator(arch, -1)  # evaluation is seeded: same result
        trial.set_user_attr("candidate", cand.to_record())
        return _values(cand)

    return objective


def _search_shared(opened, storage_url: str, name: str, settings: dict, evaluator: _Evaluator, timeout_s: float,
                   progress: bool, label: str) -> tuple[list[Candidate], dict]:
    """Create (or resume) the study in the storage, work on it with any workers that join, wait
    for every slot; the candidates in slot order (first appearance of each shape)."""
    import optuna
    from rich.progress import Progress

    from pocketml.search.study import create_study, finished_by_slot, redact, work

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    plan = _plan(settings)
    study = create_study(opened, name, DIRECTIONS, settings, plan)
    with torch.random.fork_rng(), _one_thread(), Progress(transient=True, disable=not progress) as bar:
        task_id = bar.add_task(label, total=plan.n_slots)
        log = work(study, plan, _objective(evaluator, settings), grace_s=settings["grace_s"],
                   heartbeat_s=_heartbeat_s(settings), timeout_s=timeout_s,
                   on_progress=lambda n: bar.update(task_id, completed=n, description=f"{label}: {n} trials finished"))
    trials = study.get_trials(deepcopy=False)
    by_slot = finished_by_slot(trials)
    candidates: list[Candidate] = []
    seen: set[str] = set()
    for slot in sorted(by_slot):
        record = by_slot[slot].user_attrs["candidate"]
        key = json.dumps(record["arch"], sort_keys=True)
        if key not in seen:
            seen.add(key)
            candidates.append(Candidate.from_record(record, len(candidates)))
    workers: dict[str, int] = {}
    for t in by_slot.values():
        workers[t.user_attrs.get("worker", "?")] = workers.get(t.user_attrs.get("worker", "?"), 0) + 1
    return candidates, {"storage": redact(storage_url), "study": name, "slots": plan.n_slots,
                        "slots_finished": len(by_slot), "batch": plan.batch,
                        "failed_trials": sum(t.state == optuna.trial.TrialState.FAIL for t in trials),
                        "trials_by_worker": workers, "this_process": log.worker}


def _heartbeat_s(settings: dict) -> float:
    return min(5.0, settings["grace_s"] / 4)


def match_worker(storage: str, study: str, *, timeout_s: float | None = None, wait_s: float = 60.0,
                 progress: bool = True):
    """Join the shared search ``study`` in ``storage`` (made by ``match(storage=..., study=...)``).

    Takes trials until every slot of the study is finished (or ``timeout_s`` seconds pass); the
    settings (task, board, budget, seed, ...) come from the study, so a worker needs nothing else.
    Waits up to ``wait_s`` seconds for the study to appear. Returns a ``pocketml.search.study.WorkLog``.
    """
    import optuna
    from rich.progress import Progress

    from pocketml._version import __version__
    from pocketml.search.study import load_study, open_storage, work

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    shared, settings = load_study(open_storage(storage, wait_s=max(wait_s, 1.0)), study, wait_s=wait_s,
                                  sampler_plan=lambda s: (_plan(s), DIRECTIONS))
    if settings.get("pocketml") != __version__:
        raise PocketMLError(f"study '{study}' was made by pocketml {settings.get('pocketml')}, this is {__version__}",
                            "run the same pocketml version on every worker (candidates must be evaluated alike)")
    spec = TASKS[settings["task"]]
    evaluator = _Evaluator(spec.load(), spec, Device.from_dict(settings["device"], f"study {study}"),
                           Budget(**settings["budget"]), settings["seed"], settings["search_epochs"])
    plan = _plan(settings)
    with torch.random.fork_rng(), _one_thread(), Progress(transient=True, disable=not progress) as bar:
        task_id = bar.add_task(f"worker on {study}", total=plan.n_slots)
        return work(shared, plan, _objective(evaluator, settings), grace_s=settings["grace_s"],
                    heartbeat_s=_heartbeat_s(settings), timeout_s=timeout_s,
                    on_progress=lambda n: bar.update(task_id, completed=n))


def _match_result(board, task, budget, front, chosen, candidates, search_seconds, started, searched, excluded,
                  n_trials, timeout_s, search_epochs, final_epochs, bits, accuracy_tolerance, n_finalists, seed,
                  plot) -> MatchResult:
    return MatchResult(
        board, task, budget, front, chosen, candidates, search_seconds, time.perf_counter() - started,
        settings={"families": list(searched), "excluded_families": excluded, "n_trials": n_trials,
                  "timeout_s": timeout_s,
                  "search_epochs": search_epochs, "final_epochs": final_epochs, "bits": list(bits),
                  "accuracy_tolerance": accuracy_tolerance, "n_finalists": n_finalists, "seed": seed,
                  "sampler": "optuna TPESampler (multi-objective)",
                  "accuracy": "front: validation accuracy of the integer reference (post-training "
                              "quantization at the candidate's bits) after brief training; chosen: test "
                              "accuracy of the verified C (QAT first when a layer is int4)"},
        files={"json": "match.json", "chosen": "chosen/", **({"plot": "front.png"} if plot else {})},
    )


def _front(candidates: list[Candidate]) -> list[Candidate]:
    """Trained candidates no other trained one beats on accuracy, flash and latency at once."""
    trained = [c for c in candidates if c.status == "trained"]

    def key(c):
        return (-c.accuracy, c.cost.flash_bytes, c.cost.latency_ms)

    front = []
    for c in trained:
        dominated = any(all(a <= b for a, b in zip(key(o), key(c), strict=True)) and key(o) != key(c) for o in trained)
        if not dominated:
            front.append(c)
    return sorted(front, key=lambda c: (c.cost.flash_bytes, -c.accuracy))


QAT_EPOCHS = 8  # fine-tuning of a chosen model with int4 layers (the qat stage's default)
SEARCH_RECIPE = {"lr": 1e-2, "batch_size": 32}  # brief training: larger steps, more of them
FINAL_RECIPE = {"lr": 1e-2, "batch_size": 32}  # the same steps, for longer (better than lr 3e-3 here)


def _train_net(arch: Architecture, data: Dataset, seed: int, epochs: int, recipe: dict):
    torch.manual_seed(seed)
    model = build(arch, data.train.x.shape[1], data.n_classes)
    train(model, Split(resize(data.train.x, arch.resolution), data.train.y),
          epochs=epochs, seed=seed, progress=False, **recipe)
    return model


@contextmanager
def _one_thread():
    """Small models train fastest on one thread, above all on a busy machine; restore after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _integer_accuracy(model, arch: Architecture, data: Dataset) -> float:
    """Validation accuracy of ``model`` as deployed without fine-tuning: PTQ at ``arch.bits``."""
    calib = resize(data.train.x[:256], arch.resolution)
    graph = capture(model.eval(), torch.as_tensor(calib[:1]), "candidate")
    qgraph = quantize(graph, calib, weight_bits=layer_bits(arch, graph))
    x_val = resize(data.val.x, arch.resolution)
    return float(np.mean(qgraph.run(qgraph.quantize_input(x_val)).argmax(1) == data.val.y))


def _family_problem(family: str, task: Task, data: Dataset) -> str | None:
    """Why ``family`` cannot be deployed at all today (its smallest member fails capture), or None."""
    if family == "tree":
        return None
    arch = Architecture(family, WIDTHS[0], DEPTHS[family][-1], None if family == "mlp" else KERNELS[0],
                        task.resolutions[-1], (8,))
    with torch.random.fork_rng():
        model = build(arch, data.train.x.shape[1], data.n_classes).eval()
    x = resize(data.train.x[:1], arch.resolution)
    try:
        capture(model, torch.as_tensor(x), "probe")
    except PocketMLError as exc:
        return exc.problem.splitlines()[0]
    return None


def _final_model(arch, data: Dataset, spec: Task, seed: int, final_epochs: int):
    """Train a finalist fully; return (model, validation accuracy)."""
    if isinstance(arch, TreeArchitecture):
        model = fit_tree(arch, tree_features(data.train.x, arch.resolution, spec.integer_scale), data.train.y, seed)
        xva = tree_features(data.val.x, arch.resolution, spec.integer_scale)
        return model, float(np.mean(model.predict(xva) == data.val.y))
    model = _train_net(arch, data, seed, final_epochs, FINAL_RECIPE)
    return model, _integer_accuracy(model, arch, data)


def _deploy(pick: Candidate, model, final_val: float, data: Dataset, spec: Task, board: Device, budget: Budget,
            target: Path, seed: int, shown: Path) -> ChosenModel:
    """Deploy the fully trained chosen model through the verified path for its kind into ``target``
    (a staging folder; ``shown`` is where it will be once the run succeeds)."""
    arch = pick.arch
    if isinstance(arch, TreeArchitecture):
        xte = tree_features(data.test.x, arch.resolution, spec.integer_scale)
        dep = deploy_tree(model, xte, data.test.y, board, budget, target / "c", f"match_{board.id}")
        return ChosenModel(
            pick, accuracy=dep.accuracy_c, accuracy_reference=dep.accuracy_python,
            flash_bytes=dep.cost.flash_bytes, ram_bytes=dep.cost.ram_bytes, latency_ms=dep.cost.latency_ms,
            energy_uj=dep.cost.energy_uj, fits=dep.cost.fits, misses=dep.cost.misses,
            c_mismatches=dep.c_mismatches, verified_by="emlearn C (host gcc) vs the Python hard vote, test split",
            out=str(shown), latency_method="estimate: node visits x cycles-per-MAC (pocketml.devices.cost)",
            flash_method="host gcc -Os object sections of model.c (.text+.rodata+.data); code size of the "
                         "host ISA, an estimate for the board; RAM adds int16 features and int32 votes",
            final_validation_accuracy=final_val)
    recipe, train_split = None, None
    if arch.below_8_bits:  # int4 layers: fine-tune at the chosen bits with the deploy arithmetic
        recipe = Recipe(f"match-{arch.label}", (StageSpec("qat", {"layer_bits": list(arch.bits),
                                                                  "epochs": QAT_EPOCHS}),))
        train_split = Split(resize(data.train.x, arch.resolution), data.train.y)
    res = shrink(model, resize(data.train.x, arch.resolution), Split(resize(data.test.x, arch.resolution),
                                                                     data.test.y),
                 board, target, name=f"match_{arch.family}", recipe=recipe, train=train_split, seed=seed)
    ram = res.ram_bytes  # devices/footprint.py: constant data counted in RAM on a Harvard core
    misses = budget.misses(ram, res.flash_bytes, res.cost.latency_ms, res.cost.energy_uj)
    return ChosenModel(
        pick, accuracy=res.accuracy.c, accuracy_reference=res.accuracy.int8, flash_bytes=res.flash_bytes,
        ram_bytes=ram, latency_ms=res.cost.latency_ms, energy_uj=res.cost.energy_uj, fits=not misses,
        misses=misses, c_mismatches=res.c_mismatches,
        verified_by="pocketml.shrink: compiled C vs int8 reference, test split", out=str(shown),
        latency_method=res.cost.method, flash_method=res.flash_method, final_validation_accuracy=final_val,
        cortexm=None if res.cortexm is None else res.cortexm.to_dict())


