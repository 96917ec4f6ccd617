"""A search shared through Optuna's storage: the same trials, whatever the number of workers.

    pocketml match --storage URL --study NAME ...   creates the study: its settings and one WAITING
                                                    trial per slot (slot = the n-th candidate of the
                                                    budget), works on it, then picks and deploys
    pocketml match-worker --storage URL --study NAME  joins from any process or machine: takes the
                                                    next slot it may run, evaluates it, tells Optuna
    pocketml match-server --storage sqlite:///s.db --port P   Optuna's gRPC proxy in front of the
                                                    database, so workers need no database client

URL is any Optuna storage: an RDB URL (``sqlite:///study.db``, ``postgresql://user@host/db``) or
``grpc://host:port`` (``optuna.storages.GrpcStorageProxy``). Optuna does the sharing: trial
creation, the atomic WAITING → RUNNING hand-over, states, values and attributes.

**Determinism across processes.** A plain shared TPE study proposes each trial from whatever
trials happen to be finished when it asks, so two runs with the same seed differ as soon as two
workers race. Here a trial's proposal is a function of its *slot* only:

* slots are numbered by the creator (0 … n_trials − 1, one WAITING trial each, in order), so
  Optuna's trial numbering cannot depend on timing; a retried slot keeps its slot number;
* each parameter of slot ``s`` is drawn by a fresh ``TPESampler`` seeded from ``(seed, s, name)``
  that sees exactly the finished trials of the slots before ``cutoff(s)`` (so a retry that keeps
  the parameters drawn before its worker died draws the rest as the first attempt would have);
  the first ``n_startup`` slots see none (TPE's random start), later slots come in batches of
  ``batch`` that all see the slots of the batches before theirs;
* a worker takes a slot only once every slot before its cutoff is finished (it waits without
  holding one, so no worker blocks another), and evaluating a candidate is itself seeded.

One process, two or four: the same candidates, the same values, so the same chosen model. The
price is the barrier between batches (a batch of ``batch`` trials runs at most ``batch`` wide).

**A killed worker.** Optuna's own heartbeat (``RDBStorage(heartbeat_interval=...)``) exists only
for RDB storages and is not served by the gRPC proxy, so each worker writes a counter to a
system attribute of its running trial every ``heartbeat_s`` seconds. Every worker watches the
RUNNING trials while it looks for work; one whose counter has not moved for ``grace_s`` seconds
of the watcher's own clock (no clocks are compared across machines) is set to FAIL, and Optuna's
``RetryHeartbeatStaleTrialCallback`` enqueues it again with the same parameters and slot.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import optuna
from optuna.samplers import BaseSampler, TPESampler
from optuna.trial import FrozenTrial, TrialState

from pocketml.errors import PocketMLError

SETTINGS_KEY = "pocketml:settings"  # study user attr: what every worker needs to evaluate a slot
SLOT_KEY = "slot"  # trial user attr: which candidate of the budget this trial is
WORKER_KEY = "worker"  # trial user attr: host:pid of the process that ran it
HEARTBEAT_KEY = "pocketml:heartbeat"  # trial system attr: a counter the running worker advances
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
POLL_SECONDS = 0.25


@dataclass(frozen=True)
class SlotPlan:
    """How the trial budget is cut into slots and batches, and how each slot is seeded."""

    n_slots: int
    seed: int
    n_startup: int
    batch: int

    def validate(self) -> SlotPlan:
        if self.n_slots < 1 or self.batch < 1 or not 0 <= self.n_startup <= self.n_slots:
            raise PocketMLError(f"slots {self.n_slots}, batch {self.batch}, random start {self.n_startup}",
                                "pass at least one trial and a batch of at least 1")
        return self

    def cutoff(self, slot: int) -> int:
        """Slot ``slot`` is proposed from the finished slots ``0 … cutoff(slot) − 1``."""
        if slot < self.n_startup:
            return 0
        return self.n_startup + (slot - self.n_startup) // self.batch * self.batch

    def sampler_seed(self, slot: int, param: str = "") -> int:
        """The seed of slot ``slot``'s draw of ``param`` (a function of the run's seed and both)."""
        return int(np.random.SeedSequence([self.seed, slot, zlib.crc32(param.encode())]).generate_state(1)[0])


def open_storage(url: str, *, wait_s: float = 30.0) -> optuna.storages.BaseStorage:
    """An Optuna storage for ``url``: ``grpc://host:port`` (the proxy) or an RDB URL."""
    if url.startswith("grpc://"):
        host, _, port = url.removeprefix("grpc://").rstrip("/").rpartition(":")
        if not host or not port.isdigit():
            raise PocketMLError(f"storage '{url}' is not grpc://HOST:PORT", "write e.g. grpc://127.0.0.1:13000")
        proxy = optuna.storages.GrpcStorageProxy(host=host, port=int(port))
        try:
            proxy.wait_server_ready(timeout=wait_s)
        except Exception as exc:  # grpc raises its own FutureTimeoutError / RpcError
            raise PocketMLError(f"no Optuna storage proxy answers at {url} after {wait_s:.0f} s ({type(exc).__name__})",
                                "start one with `pocketml match-server --storage sqlite:///study.db --port "
                                f"{port}` on that host") from None
        return proxy
    if "://" not in url:
        raise PocketMLError(f"storage '{url}' is not a URL",
                            "pass an Optuna storage: sqlite:///study.db, postgresql://user@host/db or grpc://host:port")
    try:
        return optuna.storages.get_storage(url)
    except ImportError as exc:
        raise PocketMLError(f"storage {redact(url)} needs a database driver that is not installed ({exc.name})",
                            "install it (PostgreSQL: pip install 'psycopg[binary]'), or run `pocketml match-server` "
                            "where it is and pass grpc://HOST:PORT here") from None
    except Exception as exc:  # SQLAlchemy: bad URL, server down, wrong password
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PocketMLError(f"cannot open storage {redact(url)}: {first}",
                            "check the URL, that the database server runs and that you may connect") from None


def redact(url: str) -> str:
    """``url`` without its password (it goes into match.json and messages)."""
    if url.startswith("grpc://") or "://" not in url:
        return url
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("://", 1)[0] + "://…"


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class SlotSampler(BaseSampler):
    """TPE, made a function of the slot: a fresh seeded ``TPESampler`` over a frozen history.

    For each trial the history is rebuilt in memory from the finished trials of the slots before
    ``plan.cutoff(slot)``, numbered by slot (so retries and timing leave no trace), and each
    ``suggest_*`` draws from its own sampler seeded with ``plan.sampler_seed(slot, name)``.
    """

    def __init__(self, plan: SlotPlan, directions: list[str]) -> None:
        self.plan = plan
        self.directions = directions
        self._views: dict[int, optuna.Study] = {}

    def infer_relative_search_space(self, study, trial):
        return {}

    def sample_relative(self, study, trial, search_space):
        return {}

    def before_trial(self, study, trial: FrozenTrial) -> None:
        self._views.pop(trial._trial_id, None)

    def sample_independent(self, study, trial: FrozenTrial, param_name, param_distribution):
        slot = int(trial.user_attrs[SLOT_KEY])
        if trial._trial_id not in self._views:
            self._views[trial._trial_id] = self._view(study, slot)
        # one sampler per (slot, parameter): a retried trial whose first parameters were already drawn
        # (they are kept) draws the rest exactly as the first attempt would have
        sampler = TPESampler(seed=self.plan.sampler_seed(slot, param_name), n_startup_trials=self.plan.n_startup)
        return sampler.sample_independent(self._views[trial._trial_id], trial, param_name, param_distribution)

    def after_trial(self, study, trial, state, values) -> None:
        self._views.pop(trial._trial_id, None)

    def _view(self, study: optuna.Study, slot: int) -> optuna.Study:
        cutoff = self.plan.cutoff(slot)
        history = finished_by_slot(study.get_trials(deepcopy=False, states=FINISHED))
        missing = [s for s in range(cutoff) if s not in history]
        if missing:  # the work loop only hands out slots whose history is complete
            raise RuntimeError(f"slot {slot} was started before slots {missing[:5]} finished")
        view = optuna.create_study(directions=self.directions)
        view.add_trials([optuna.trial.create_trial(state=t.state, values=t.values, params=t.params,
                                                   distributions=t.distributions)
                         for t in (history[s] for s in range(cutoff))])
        return view


def finished_by_slot(trials: list[FrozenTrial]) -> dict[int, FrozenTrial]:
    """slot → its finished trial (one per slot: a trial declared dead cannot be told any more)."""
    return {int(t.user_attrs[SLOT_KEY]): t for t in trials if t.state in FINISHED and SLOT_KEY in t.user_attrs}


def create_study(storage, name: str, directions: list[str], settings: dict, plan: SlotPlan) -> optuna.Study:
    """Create study ``name`` with ``settings`` and one WAITING trial per slot, or load it if it exists
    with the same settings (a rerun resumes it); refuse a study made with other settings."""
    settings = json.loads(json.dumps(settings))  # as the storage gives it back
    sampler = SlotSampler(plan, directions)
    try:
        study = optuna.create_study(storage=storage, study_name=name, directions=directions, sampler=sampler)
        study.set_user_attr(SETTINGS_KEY, settings)
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=name, storage=storage, sampler=sampler)
        found = study.user_attrs.get(SETTINGS_KEY) or {}
        if found != settings:
            changed = sorted(k for k in set(found) | set(settings) if found.get(k) != settings.get(k))
            raise PocketMLError(f"study '{name}' exists with other settings ({', '.join(changed)} differ)",
                                "rerun with the study's settings to resume it, or pass another --study name") from None
    have = {int(t.user_attrs[SLOT_KEY]) for t in study.get_trials(deepcopy=False) if SLOT_KEY in t.user_attrs}
    for slot in range(plan.n_slots):  # all of them when new; those a killed creator did not enqueue on a resume
        if slot not in have:
            study.enqueue_trial({}, user_attrs={SLOT_KEY: slot})
    return study


def load_study(storage, name: str, *, wait_s: float = 0.0,
               sampler_plan: Callable[[dict], tuple[SlotPlan, list[str]]] | None = None
               ) -> tuple[optuna.Study, dict]:
    """Load study ``name`` (waiting up to ``wait_s`` for its creator); returns (study, settings).

    ``sampler_plan(settings)`` → (plan, directions) attaches the slot sampler a worker needs.
    """
    deadline = time.monotonic() + wait_s
    while True:
        try:
            summary = optuna.load_study(study_name=name, storage=storage)
            settings = summary.user_attrs.get(SETTINGS_KEY)
            if settings is not None:
                break
        except KeyError:
            pass
        if time.monotonic() >= deadline:
            raise PocketMLError(f"no study '{name}' in this storage" + (f" after {wait_s:.0f} s" if wait_s else ""),
                                f"start it with `pocketml match --storage URL --study {name} ...` (it creates the "
                                "study), or check the --study name")
        time.sleep(POLL_SECONDS)
    if sampler_plan is None:
        return summary, settings
    plan, directions = sampler_plan(settings)
    return optuna.load_study(study_name=name, storage=storage, sampler=SlotSampler(plan, directions)), settings


class _Heartbeat:
    """Advance ``HEARTBEAT_KEY`` of one running trial every ``interval`` seconds, in a thread."""

    def __init__(self, storage, trial_id: int, interval: float, who: str) -> None:
        self.storage, self.trial_id, self.interval, self.who = storage, trial_id, interval, who
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name="pocketml-heartbeat")

    def __enter__(self) -> _Heartbeat:
        self.storage.set_trial_system_attr(self.trial_id, HEARTBEAT_KEY, f"{self.who}#0")
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        count = 0
        while not self._stop.wait(self.interval):
            count += 1
            try:
                self.storage.set_trial_system_attr(self.trial_id, HEARTBEAT_KEY, f"{self.who}#{count}")
            except Exception:  # the trial was declared dead meanwhile, or the storage blinked: try again
                continue


@dataclass
class StaleWatch:
    """Running trials whose heartbeat stood still for ``grace_s`` s (by this process's clock)."""

    grace_s: float
    seen: dict[int, tuple[object, float]] = field(default_factory=dict)
    failed: list[int] = field(default_factory=list)  # trial numbers this process declared dead

    def check(self, study: optuna.Study, trials: list[FrozenTrial]) -> bool:
        """Fail and re-enqueue the stale running trials; True if it changed the study."""
        now, changed = time.monotonic(), False
        running = {t._trial_id: t for t in trials if t.state == TrialState.RUNNING}
        self.seen = {k: v for k, v in self.seen.items() if k in running}
        for trial_id, trial in running.items():
            beat = trial.system_attrs.get(HEARTBEAT_KEY)
            if trial_id not in self.seen or self.seen[trial_id][0] != beat:
                self.seen[trial_id] = (beat, now)
            elif now - self.seen[trial_id][1] > self.grace_s and _fail(study, trial):
                self.failed.append(trial.number)
                changed = True
        return changed


def _fail(study: optuna.Study, trial: FrozenTrial) -> bool:
    """Set ``trial`` to FAIL and enqueue its retry (same parameters, same slot); False if another
    process finished or failed it first."""
    storage = study._storage  # Optuna's own stale-trial handling (fail_stale_trials) uses it the same way
    try:
        if not storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
            return False
    except optuna.exceptions.UpdateFinishedTrialError:
        return False
    retry = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)  # optuna >= 5; older: the alias
    (retry or optuna.storages.RetryFailedTrialCallback)()(study, storage.get_trial(trial._trial_id))
    return True


@dataclass
class WorkLog:
    """What one process did on a shared study."""

    worker: str
    ran: list[int] = field(default_factory=list)  # slots this process finished
    declared_dead: list[int] = field(default_factory=list)  # trial numbers it set to FAIL (stale)
    seconds: float = 0.0


Objective = Callable[[optuna.trial.Trial], tuple[float, ...]]  # raises optuna.TrialPruned to prune


def work(study: optuna.Study, plan: SlotPlan, objective: Objective, *, grace_s: float, heartbeat_s: float,
         timeout_s: float | None = None, on_progress: Callable[[int], None] | None = None) -> WorkLog:
    """Take slots and evaluate them until every slot is finished (or ``timeout_s`` passes).

    Each pass: declare stale running trials dead (they are re-enqueued), then take the lowest
    WAITING slot whose history is complete (``plan.cutoff``) with Optuna's atomic WAITING →
    RUNNING hand-over, run ``objective`` on it under a heartbeat and tell the result. A failure
    inside ``objective`` fails the trial, re-enqueues it and is raised.
    """
    started = time.monotonic()
    log, watch = WorkLog(worker_id()), StaleWatch(grace_s)
    storage = study._storage
    while True:
        trials = study.get_trials(deepcopy=False)
        if watch.check(study, trials):
            continue
        done = finished_by_slot(trials)
        if on_progress is not None:
            on_progress(len(done))
        if len(done) >= plan.n_slots or (timeout_s is not None and time.monotonic() - started > timeout_s):
            break
        ready = sorted((int(t.user_attrs[SLOT_KEY]), t._trial_id) for t in trials
                       if t.state == TrialState.WAITING and SLOT_KEY in t.user_attrs
                       and all(s in done for s in range(plan.cutoff(int(t.user_attrs[SLOT_KEY])))))
        taken = None
        for slot, trial_id in ready:
            try:
                if storage.set_trial_state_values(trial_id, state=TrialState.RUNNING):
                    taken = slot, trial_id
                    break
            except optuna.exceptions.UpdateFinishedTrialError:
                continue
        if taken is None:
            time.sleep(POLL_SECONDS)
            continue
        if _run_slot(study, *taken, objective, heartbeat_s, log.worker):
            log.ran.append(taken[0])
    log.declared_dead = watch.failed
    log.seconds = time.monotonic() - started
    return log


def _run_slot(study: optuna.Study, slot: int, trial_id: int, objective: Objective, heartbeat_s: float,
              who: str) -> bool:
    """Evaluate one taken slot and tell Optuna; False if the trial was declared dead meanwhile."""
    storage = study._storage
    with _Heartbeat(storage, trial_id, heartbeat_s, who):
        trial = optuna.trial.Trial(study, trial_id)
        trial.set_user_attr(WORKER_KEY, who)
        try:
            values, state = objective(trial), TrialState.COMPLETE
        except optuna.TrialPruned:
            values, state = None, TrialState.PRUNED
        except optuna.exceptions.UpdateFinishedTrialError:
            return False  # declared dead meanwhile (this process stalled): its retry counts instead
        except BaseException:  # a bug or Ctrl-C: hand the slot back at once rather than after the grace period
            _fail(study, storage.get_trial(trial_id))
            raise
    try:
        study.tell(trial, values, state=state)
    except (ValueError, RuntimeError, optuna.exceptions.UpdateFinishedTrialError):
        return False  # another worker declared it dead (this process stalled); its retry counts instead
    return True


def serve(storage_url: str, *, host: str = "127.0.0.1", port: int = 13000) -> None:
    """Optuna's gRPC storage proxy (``optuna.storages.run_grpc_proxy_server``) for an RDB storage,
    until Ctrl-C / SIGTERM (then returns)."""
    if storage_url.startswith("grpc://"):
        raise PocketMLError("the proxy serves a database, not another proxy",
                            "pass the database URL, e.g. --storage sqlite:///study.db")
    if not 0 < port < 65536:
        raise PocketMLError(f"port {port} is out of range", "pass a port between 1 and 65535")
    storage = open_storage(storage_url)
    with socket.socket() as probe:  # a clear error rather than gRPC's when the port is taken
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise PocketMLError(f"cannot listen on {host}:{port}: {exc.strerror}",
                                "pick a free port (--port) or stop what listens there") from None
    try:
        optuna.storages.run_grpc_proxy_server(storage, host=host, port=port)
    except KeyboardInterrupt:
        return
