"""A model search shared through Optuna's storage: a real gRPC proxy, worker processes, a killed
worker, PostgreSQL; the chosen model equals the one-process search with the same seed and budget.

Every server and worker is started by the test on loopback (free ports, temporary folders) and
stopped by it.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import pytest

from pocketml import PocketMLError
from pocketml.search import match
from pocketml.search.match import match_worker
from pocketml.search.study import SlotPlan

ROOT = Path(__file__).resolve().parents[1]
# mlp only (about a second per trial), 12 trials: 10 random, then one TPE batch of 2 (cutoff 10)
SEARCH = dict(families=("mlp",), n_trials=12, search_epochs=2, final_epochs=3, seed=3)
CLI_SEARCH = ["--device", "nano33ble", "--family", "mlp", "--trials", "12", "--search-epochs", "2",
              "--final-epochs", "3", "--seed", "3"]
GRACE = 5.0  # seconds without a heartbeat before a running trial is failed and retried


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def _pocketml(*args: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pocketml.cli", *args], env=_env(), cwd=log.parent,
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT)


def _stop(*procs: subprocess.Popen) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGCONT)
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _summary(result: dict) -> tuple:
    return (result["chosen"]["label"], result["chosen"]["accuracy"],
            [(c["label"], c["accuracy"], c["status"]) for c in result["candidates"]])


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    """The reference: one process, the same seed and trial budget, its own SQLite study."""
    tmp = tmp_path_factory.mktemp("one")
    result = match("nano33ble", storage=f"sqlite:///{tmp / 'study.db'}", study="ref", out=tmp / "out",
                   progress=False, grace_s=GRACE, **SEARCH)
    return result.to_dict()


def test_slot_plan_cuts_batches_after_the_random_start():
    plan = SlotPlan(n_slots=20, seed=0, n_startup=10, batch=4)
    assert [plan.cutoff(s) for s in (0, 9, 10, 13, 14, 17, 18, 19)] == [0, 0, 10, 10, 14, 14, 18, 18]
    assert plan.sampler_seed(5, "x") == SlotPlan(20, 0, 10, 4).sampler_seed(5, "x") != plan.sampler_seed(6, "x")
    assert plan.sampler_seed(5, "x") != plan.sampler_seed(5, "y")


def test_proxy_two_workers_and_a_killed_one_choose_what_one_process_chooses(tmp_path, one_process):
    # Prepare: Optuna's gRPC proxy over SQLite; the study made by the match API with a zero time budget
    # (it creates the study and its 12 slots, takes none, and has no candidate to pick)
    port = _free_port()
    server = _pocketml("match-server", "--storage", f"sqlite:///{tmp_path / 'study.db'}", "--port", str(port),
                       log=tmp_path / "server.log")
    url = f"grpc://127.0.0.1:{port}"
    workers: list[subprocess.Popen] = []
    creator = None
    try:
        with pytest.raises(PocketMLError, match="could be costed"):
            match("nano33ble", storage=url, study="s", out=tmp_path / "none", progress=False, grace_s=GRACE,
                  timeout_s=1e-9, **SEARCH)
        storage = optuna.storages.GrpcStorageProxy(host="127.0.0.1", port=port)
        assert len(_trials(storage)) == 12 and not any(t.state.is_finished() for t in _trials(storage))
        # Execute: worker 0 alone; once it works, it runs in slices, frozen between them; caught inside
        # a trial, it is SIGKILLed there (a crash, no goodbye)
        victim = _pocketml("match-worker", "--storage", url, "--study", "s", "--json", log=tmp_path / "w0.log")
        workers.append(victim)
        _wait_for(lambda: any(t.user_attrs.get("worker", "").endswith(f":{victim.pid}") for t in _trials(storage)),
                  victim, "a trial on worker 0")
        killed_in = None
        while killed_in is None:
            victim.send_signal(signal.SIGSTOP)
            time.sleep(0.3)  # let its requests already on the wire land
            killed_in = _running_of(storage, victim.pid)  # frozen: nothing changes while we look
            if killed_in is None:
                assert victim.poll() is None, (tmp_path / "w0.log").read_text()[-3000:]
                victim.send_signal(signal.SIGCONT)
                time.sleep(0.1)
        victim.kill()
        # worker 1 joins; the creator's command resumes the study (same settings) once worker 1 has a trial
        workers.append(_pocketml("match-worker", "--storage", url, "--study", "s", "--json", log=tmp_path / "w1.log"))
        _wait_for(lambda: any(t.user_attrs.get("worker", "").endswith(f":{workers[1].pid}")
                              for t in _trials(storage)), workers[1], "a trial on worker 1")
        creator = _pocketml("match", *CLI_SEARCH, "--storage", url, "--study", "s", "--grace", str(GRACE),
                            "--out", str(tmp_path / "out"), "--json", log=tmp_path / "match.log")
        assert creator.wait(timeout=300) == 0, (tmp_path / "match.log").read_text()[-3000:]
        assert workers[1].wait(timeout=60) == 0, (tmp_path / "w1.log").read_text()[-2000:]
        shared = json.loads((tmp_path / "out" / "match.json").read_text())
        trials = optuna.load_study(study_name="s", storage=storage).get_trials()
    finally:
        _stop(*([creator] if creator else []), *workers, server)
    # Assert: the killed trial failed and its slot was run again, to completion, by someone else
    dead = next(t for t in trials if t.number == killed_in)
    assert dead.state == optuna.trial.TrialState.FAIL
    retry = next(t for t in trials if killed_in in t.system_attrs.get("retry_history", []))
    assert retry.state.is_finished() and retry.state != optuna.trial.TrialState.FAIL
    assert retry.user_attrs["slot"] == dead.user_attrs["slot"]
    assert not retry.user_attrs["worker"].endswith(f":{victim.pid}")
    # the study holds trials of both workers (and of the creator), every slot once
    pids = {t.user_attrs["worker"].rsplit(":", 1)[1] for t in trials if "worker" in t.user_attrs}
    assert {str(victim.pid), str(workers[1].pid)} <= pids
    assert shared["settings"]["shared"]["slots_finished"] == 12
    assert shared["settings"]["shared"]["failed_trials"] >= 1
    # the same candidates, values and chosen model as one process with the same seed and budget
    assert _summary(shared) == _summary(one_process)
    assert shared["chosen"]["c_mismatches"] == 0


_STUDIES: dict = {}


def _trials(storage) -> list:
    """The study's trials (one GetTrials call once the study exists: fast enough to see a short trial)."""
    if id(storage) not in _STUDIES:
        try:
            _STUDIES[id(storage)] = optuna.load_study(study_name="s", storage=storage)
        except KeyError:
            return []
    return _STUDIES[id(storage)].get_trials(deepcopy=False)


def _running_of(storage, pid: int) -> int | None:
    """Number of the trial the process ``pid`` is running, if any."""
    for t in _trials(storage):
        if t.state == optuna.trial.TrialState.RUNNING and t.user_attrs.get("worker", "").endswith(f":{pid}"):
            return t.number
    return None


def _wait_for(condition, proc: subprocess.Popen, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"process {proc.args[3]} ended (exit {proc.returncode}) before {what}"
        assert time.monotonic() < deadline, f"no {what} after {timeout:.0f} s"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server in a temporary data directory, run as an unprivileged user; stopped after."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql; `make test` does it)")
    bindir = Path(bins[-1]).parent
    as_user: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root: use the package's own system user
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as an unprivileged user")
        as_user = ["runuser", "-u", "postgres", "--"]
    data = Path(tempfile.mkdtemp(prefix="pocketml-pg-"))
    if as_user:
        shutil.chown(data, "postgres", "postgres")
    port, db = _free_port(), data / "db"
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(db), "-A", "trust", "-U", "pocketml"],
                   check=True, capture_output=True)
    started = subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(db), "-l", str(data / "server.log"),
                              "-o", f"-h 127.0.0.1 -p {port} -k {data} -c fsync=off", "-w", "start"],
                             capture_output=True, text=True)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        subprocess.run([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "pocketml", "study"],
                       check=True, capture_output=True)
        yield f"postgresql://pocketml@127.0.0.1:{port}/study"
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(db), "-m", "immediate", "-w", "stop"],
                       capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


def test_postgresql_storage_shared_by_a_worker_process(postgres, tmp_path, one_process):
    # Prepare: the study's creator in another process, on the PostgreSQL server
    creator = _pocketml("match", *CLI_SEARCH, "--storage", postgres, "--study", "pg", "--grace", str(GRACE),
                        "--out", str(tmp_path / "out"), "--json", log=tmp_path / "match.log")
    try:
        # Execute: this process joins as a worker (it waits for the study to appear)
        log = match_worker(postgres, "pg", wait_s=120, progress=False)
        assert creator.wait(timeout=120) == 0, (tmp_path / "match.log").read_text()[-2000:]
    finally:
        _stop(creator)
    # Assert: both processes ran trials; the same pick as one process alone
    result = json.loads((tmp_path / "out" / "match.json").read_text())
    by_worker = result["settings"]["shared"]["trials_by_worker"]
    assert len(by_worker) == 2 and sum(by_worker.values()) == 12 and by_worker[log.worker] == len(log.ran) >= 1
    assert _summary(result) == _summary(one_process)
    # rerun with the same settings resumes the finished study (no trial is run again) ...
    again = match("nano33ble", storage=postgres, study="pg", out=tmp_path / "again", progress=False,
                  grace_s=GRACE, **SEARCH).to_dict()
    assert _summary(again) == _summary(one_process)
    assert again["settings"]["shared"]["trials_by_worker"] == by_worker
    # ... and other settings are refused, naming what differs
    with pytest.raises(PocketMLError, match="seed"):
        match("nano33ble", storage=postgres, study="pg", out=tmp_path / "x", progress=False,
              grace_s=GRACE, **{**SEARCH, "seed": 4})


def test_bad_storages_are_refused_with_a_fix(tmp_path):
    with pytest.raises(PocketMLError, match="both a storage and a study"):
        match("nano33ble", storage="sqlite:///x.db", out=tmp_path / "a", progress=False)
    with pytest.raises(PocketMLError, match="not a URL"):
        match("nano33ble", storage="study.db", study="s", out=tmp_path / "b", progress=False, **SEARCH)
    with pytest.raises(PocketMLError, match="no Optuna storage proxy answers"):
        match_worker(f"grpc://127.0.0.1:{_free_port()}", "s", wait_s=1, progress=False)
    with pytest.raises(PocketMLError, match="no study 'nope'"):
        match_worker(f"sqlite:///{tmp_path / 'empty.db'}", "nope", wait_s=0, progress=False)


@pytest.mark.parametrize("args, words", [
    (["match-server", "--storage", "grpc://127.0.0.1:1"], "serves a database, not another proxy"),
    (["match-worker", "--storage", "study.db", "--study", "s", "--wait", "0"], "is not a URL"),
    (["match", "--storage", "sqlite:///x.db", "--trials", "2"], "both a storage and a study"),
    (["federate", "--backend", "dask", "--clients", "2", "--rounds", "1"], "unknown backend 'dask'"),
    (["federate", "--client-cpus", "2", "--clients", "2", "--rounds", "1"], "are for --backend ray"),
])
def test_cli_refuses_bad_shared_settings_cleanly(args, words, tmp_path, capsys, monkeypatch):
    from pocketml.cli import main

    out = ["--out", str(tmp_path / "o")] if args[0] in ("match", "federate") else []
    monkeypatch.setattr(sys, "argv", ["pocketml", *args, *out])
    before = signal.getsignal(signal.SIGTERM)  # main() turns SIGTERM into Ctrl-C: give pytest its own back
    try:
        with pytest.raises(SystemExit) as ended:
            main()
    finally:
        signal.signal(signal.SIGTERM, before)
    err = capsys.readouterr().err
    assert ended.value.code == 1 and words in err and "Traceback" not in err, err
