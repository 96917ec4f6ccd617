"""Processes of a real Flower deployment on this machine, started and stopped cleanly.

The deployment itself is the recipe in docs/federated.md ("Real deployment across machines"):
certificates made with openssl, node keys with ssh-keygen, ``flower-superlink`` on loopback
behind an nginx TLS proxy that publishes only the Fleet API, ``flwr supernode register``,
``flower-supernode``, ``flwr run``. ``tests/test_federated_deployment.py`` runs those very
blocks on 127.0.0.1 through ``LocalDeployment``, which starts each process in its own process
group with a common environment mark and stops every one of them (SIGTERM, then SIGKILL),
Flower's detached helpers included.

Every process gets ``FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION=1`` (Flower installs nothing)
and ``FLWR_TELEMETRY_ENABLED=0``; each host's ``FLWR_HOME`` is a folder under the work folder.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(sys.executable).parent
MARK = "POCKETML_DEPLOYMENT"  # environment variable every process of one deployment carries


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalDeployment:
    """Processes of one deployment under ``workdir``; use as a context manager (stops them all)."""

    workdir: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.workdir = Path(self.workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, MARK: str(self.workdir), "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1",
                    "FLWR_TELEMETRY_ENABLED": "0", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1",
                    "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}  # Flower spawns its helpers by name

    def __enter__(self) -> LocalDeployment:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def host(self, name: str) -> Path:
        """A host's folder (its working directory and its ``FLWR_HOME``)."""
        folder = self.workdir / name
        (folder / "flwr-home").mkdir(parents=True, exist_ok=True)
        return folder

    def host_env(self, name: str, **extra: str) -> dict[str, str]:
        return {**self.env, "FLWR_HOME": str(self.host(name) / "flwr-home"), **extra}

    def start(self, name: str, args: list[str], host: str, **extra: str) -> subprocess.Popen:
        """Start ``args`` on ``host`` in its own process group (log: ``workdir/name.log``)."""
        log = open(self.workdir / f"{name}.log", "wb")
        proc = subprocess.Popen(args, env={**self.host_env(host, **extra), "POCKETML_PROCESS": name},
                                cwd=self.host(host), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        proc.name = name  # type: ignore[attr-defined]
        self.processes.append(proc)
        return proc

    def run(self, args: list[str], host: str, timeout: float = 120, **extra: str) -> subprocess.CompletedProcess:
        """Run ``args`` on ``host`` to completion."""
        return subprocess.run(args, env=self.host_env(host, **extra), cwd=self.host(host), capture_output=True,
                              text=True, timeout=timeout)

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill(self, name: str) -> list[int]:
        """SIGKILL (no goodbye: a crash) every process started as ``name``, detached helpers included."""
        found = self._marked(f"POCKETML_PROCESS={name}".encode())
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return found

    def _marked(self, *marks: bytes) -> list[int]:
        """Ids of live processes of this deployment whose environment holds every one of ``marks``."""
        marks = (f"{MARK}={self.workdir}".encode(), *marks)
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) != os.getpid():
                try:
                    environ = set((entry / "environ").read_bytes().split(b"\0"))
                except OSError:
                    continue
                if all(m in environ for m in marks):
                    found.append(int(entry.name))
        return found

    def wait_for_port(self, port: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.2)
        raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")

    def leftovers(self) -> list[int]:
        """Ids of live processes carrying this deployment's mark (Flower detaches some helpers)."""
        return self._marked()

    def stop(self, grace: float = 15) -> list[int]:
        """SIGTERM what this deployment started (detached helpers too), SIGKILL what is left after ``grace`` s.

        Returns the ids that needed SIGKILL (empty after a clean shutdown).
        """
        for proc in self.processes:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.processes:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        # Flower detaches some helpers (e.g. a ClientApp process) from the process groups signalled
        # above: ask them to stop too, and give them their own grace period
        for pid in self.leftovers():
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while self.leftovers() and time.monotonic() < deadline:
            time.sleep(0.2)
        killed = self.leftovers()
        for pid in killed:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for proc in self.processes:
            proc.wait()
        return killed
