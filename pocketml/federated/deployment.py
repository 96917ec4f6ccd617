"""A real Flower deployment on this machine: SuperLink + SuperNodes with TLS and node authentication.

Used by the tests (and usable by hand) to run pocketml's ServerApp/ClientApp on the
``flower-superlink`` / ``flower-supernode`` programs over loopback:

1. ``make_credentials``: a CA, a server certificate for 127.0.0.1/localhost, and one EC P-384 key
   pair per SuperNode (OpenSSH format, as Flower's node authentication expects);
2. ``LocalDeployment``: starts the SuperLink with ``--enable-supernode-auth``, registers the
   authorised nodes' public keys with ``flwr supernode register``, starts the SuperNodes, submits
   the app with ``flwr run`` and stops every process it started (SIGTERM, then SIGKILL).

Flower's home (``FLWR_HOME``) and every file live under the given work folder, and
``FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION=1`` stops Flower from installing anything.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pocketml.federated.spec import FederatedSpec

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_credentials(folder: Path, nodes: int) -> dict[str, Path]:
    """CA + server certificate (SAN 127.0.0.1, ::1, localhost) + ``nodes`` EC key pairs."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP384R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pocketml test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP384R1())
    sans = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1"))]
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = {"ca": folder / "ca.crt", "cert": folder / "server.pem", "key": folder / "server.key"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    for i in range(nodes):
        node = ec.generate_private_key(ec.SECP384R1())
        private, public = folder / f"node{i}", folder / f"node{i}.pub"
        private.write_bytes(node.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                               serialization.NoEncryption()))
        private.chmod(0o600)
        public.write_bytes(node.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                          serialization.PublicFormat.OpenSSH))
        paths[f"node{i}"], paths[f"node{i}.pub"] = private, public
    return paths


def write_app(folder: Path, spec: FederatedSpec, report: Path, extra: dict | None = None) -> Path:
    """A Flower app folder whose components are pocketml's installed ServerApp and ClientApp.

    ``extra`` adds run-config keys the ServerApp reads: ``checkpoint`` (.npz path written each
    round), ``round-grace`` (GraceGrid factor: stop waiting for missing replies that many
    first-reply times after the first reply), ``round-timeout`` (seconds).
    """
    folder.mkdir(parents=True, exist_ok=True)
    config = {**spec.to_run_config(), "report": str(report), **(extra or {})}
    lines = [f'{k} = {_toml(v)}' for k, v in config.items()]
    (folder / "pyproject.toml").write_text("\n".join([
        '[build-system]', 'requires = ["hatchling"]', 'build-backend = "hatchling.build"', '',
        '[project]', 'name = "pocketml-federated"', 'version = "1.0.0"', 'dependencies = []', '',
        '[tool.hatch.build.targets.wheel]', 'packages = ["."]', '',
        '[tool.flwr.app]', 'publisher = "pocketml"', '',
        '[tool.flwr.app.components]', 'serverapp = "pocketml.federated.server_app:app"',
        'clientapp = "pocketml.federated.client_app:app"', '',
        '[tool.flwr.app.config]', *lines, '']))
    return folder


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


@dataclass
class LocalDeployment:
    """SuperLink + SuperNodes on loopback under ``workdir``; use as a context manager."""

    workdir: Path
    nodes: int = 2
    processes: list[subprocess.Popen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.workdir = Path(self.workdir)
        self.home = self.workdir / "flwr-home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "FLWR_HOME": str(self.home), "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1",
                    "FLWR_TELEMETRY_ENABLED": "0", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1",
                    "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}  # Flower spawns its helpers by name
        self.creds = make_credentials(self.workdir / "creds", self.nodes + 1)  # one spare: not authorised
        # Flower 1.42 serves the Fleet, Control and Runtime APIs over HTTPS on one port (--port)
        self.port = free_port()
        (self.home / "config.toml").write_text(
            f'[superlink]\ndefault = "local"\n\n[superlink.local]\naddress = "127.0.0.1:{self.port}"\n'
            f'root-certificates = "{self.creds["ca"]}"\n')

    def __enter__(self) -> LocalDeployment:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _start(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "wb")
        proc = subprocess.Popen(args, env={**self.env, "POCKETML_PROCESS": name}, cwd=self.workdir, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        proc.name = name  # type: ignore[attr-defined]
        self.processes.append(proc)
        return proc

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start_superlink(self) -> subprocess.Popen:
        return self._start("superlink", [
            str(BIN / "flower-superlink"), "--ssl-ca-certfile", str(self.creds["ca"]),
            "--ssl-certfile", str(self.creds["cert"]), "--ssl-keyfile", str(self.creds["key"]),
            "--enable-supernode-auth", "--disable-runtime-dependency-installation",
            "--host", "127.0.0.1", "--port", str(self.port), "--database", str(self.workdir / "state.db")])

    def flwr(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "flwr"), *args], env=self.env, cwd=self.workdir, capture_output=True,
                              text=True, timeout=timeout)

    def register(self, index: int) -> subprocess.CompletedProcess:
        return self.flwr("supernode", "register", str(self.creds[f"node{index}.pub"]), "local")

    def start_supernode(self, index: int, partitions: int) -> subprocess.Popen:
        return self._start(f"supernode{index}", [
            str(BIN / "flower-supernode"), "--root-certificates", str(self.creds["ca"]),
            "--superlink", f"127.0.0.1:{self.port}",
            "--auth-supernode-private-key", str(self.creds[f"node{index}"]),
            "--node-config", f"partition-id={index % partitions} num-partitions={partitions}",
            "--port", str(free_port()), "--max-retries", "3", "--max-wait-time", "20"])

    def submit(self, app: Path) -> subprocess.Popen:
        """``flwr run APP local --stream`` in the background (log: flwr-run.log)."""
        return self._start("flwr-run", [str(BIN / "flwr"), "run", str(app), "local", "--stream"])

    def kill(self, name: str) -> list[int]:
        """SIGKILL (no goodbye: a crash) every process started as ``name``, detached helpers included."""
        mark = f"POCKETML_PROCESS={name}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if mark in (entry / "environ").read_bytes().split(b"\0"):
                        found.append(int(entry.name))
                except OSError:
                    continue
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
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
        """Ids of live processes carrying this deployment's FLWR_HOME (Flower detaches some helpers)."""
        mark = f"FLWR_HOME={self.home}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) != os.getpid():
                try:
                    if mark in (entry / "environ").read_bytes().split(b"\0"):
                        found.append(int(entry.name))
                except OSError:
                    continue
        return found

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
