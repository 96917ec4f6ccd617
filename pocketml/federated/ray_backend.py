"""The ``ray`` backend: the same ServerApp and ClientApp on Flower's simulation runtime.

    ServerApp (this process, a thread) ── Flower's in-memory Grid, wrapped in a CountingGrid
        ──▶ Flower's Simulation Engine ──▶ Ray actors, each running the pocketml ClientApp

Flower's ``run_simulation`` registers ``clients`` virtual SuperNodes (node ``i`` gets
``partition-id`` ``i``) and runs each sampled node's ClientApp in a pool of Ray actors: one actor
per ``client_cpus`` CPUs (and ``client_gpus`` GPUs) of the Ray cluster, each importing torch once.
Nodes cost only a ``Context`` each until sampled, which is what lets one machine simulate 10,000+
clients; a Ray cluster (``ray start --head`` on one machine, ``ray start --address HEAD:6379`` on
the others, pocketml installed on each) spreads the actors over machines: pass its address.

Same Result as the ``local`` backend: the ServerApp's hooks collect accuracy per round, the
CountingGrid counts ``records.wire_bytes`` of every message each way, and the Grid lists nodes in
partition order so a seed samples the same clients. What differs: the fleet is always online
(no ``FleetProfile``), replies come back in the order actors finish, and
``FederatedResult.peak_rss_bytes`` is this process's (the actors are other processes).

Ray is Flower's own extra (``pip install 'flwr[simulation]'``, in pocketml's ``scale`` extra).
Flower's telemetry and Ray's usage statistics are switched off for the runs pocketml starts,
unless you set ``FLWR_TELEMETRY_ENABLED`` / ``RAY_USAGE_STATS_ENABLED`` yourself.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from dataclasses import dataclass, field

from pocketml.errors import PocketMLError


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide the ClientApps run (defaults: a local Ray for this run, 1 CPU per client).

    Parameters
    ----------
    address : str | None [None]   an existing Ray cluster ("auto", or "HEAD:6379" as printed by
                                  ``ray start --head``); None starts a local Ray and stops it after
    client_cpus : float [1.0]     CPUs each ClientApp actor holds (actors = cluster CPUs / this)
    client_gpus : float [0.0]     GPUs each ClientApp actor holds
    init_args : dict [{}]         further ``ray.init`` arguments (e.g. ``num_cpus``, ``_temp_dir``)
    """

    address: str | None = None
    client_cpus: float = 1.0
    client_gpus: float = 0.0
    init_args: dict = field(default_factory=dict)

    def validate(self) -> RayOptions:
        if not self.client_cpus > 0 or self.client_gpus < 0:
            raise PocketMLError(f"client resources {self.client_cpus} CPUs / {self.client_gpus} GPUs",
                                "pass --client-cpus > 0 (e.g. 1) and --client-gpus >= 0")
        if importlib.util.find_spec("ray") is None:
            raise PocketMLError("the ray backend needs Ray, which is not installed",
                                "pip install 'pocketml[scale]' (Flower's own extra, flwr[simulation]), "
                                "or use --backend local")
        return self

    def backend_config(self) -> dict:
        init = dict(self.init_args)
        if self.address is not None:
            init["address"] = self.address
        return {"client_resources": {"num_cpus": self.client_cpus, "num_gpus": self.client_gpus},
                "init_args": init}


class _DropDeprecation(logging.Filter):
    """Flower 1.42 logs that the in-process ``run_simulation`` is deprecated in favour of ``flwr run``;
    pocketml uses it on purpose (its ServerApp hooks live in this process)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "run_simulation` function is deprecated" not in record.getMessage()


def simulate(server_app, client_app, clients: int, options: RayOptions) -> None:
    """Run ``server_app`` against ``clients`` virtual SuperNodes whose ClientApps run in Ray actors."""
    options.validate()
    from flwr.simulation import run_simulation
    from flwr.supercore import telemetry

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")  # CPU clients: leave device variables alone
    if "FLWR_TELEMETRY_ENABLED" not in os.environ:
        telemetry.FLWR_TELEMETRY_ENABLED = "0"
    pythonpath = os.environ.get("PYTHONPATH")  # Flower's Ray start-up rewrites it for the actors: restore
    flwr_logger, drop = logging.getLogger("flwr"), _DropDeprecation()
    flwr_logger.addFilter(drop)
    try:
        run_simulation(server_app, client_app, clients, backend_name="ray",
                       backend_config=options.backend_config())
    finally:
        flwr_logger.removeFilter(drop)
        if pythonpath is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = pythonpath

