"""Verification of a deployed artifact across runtimes (``pocketml verify OUT``).

    save_bundle(out, graph, inputs)   what shrink keeps in OUT for later checks (bundle.py)
    verify(out, runtimes, layers=)    every runtime against the numpy reference (compare.py)
    time_c(c_dir, inputs)             host latency of the emitted C (latency.py)
"""

from pocketml.deploy.verify.bundle import Bundle, load_bundle, save_bundle
from pocketml.deploy.verify.compare import (
    DEFAULT_RUNTIMES,
    RUNTIMES,
    LayerDiff,
    PairDivergence,
    RuntimeCheck,
    VerifyReport,
    verify,
    verify_new_artifact,
)
from pocketml.deploy.verify.latency import time_c

__all__ = ["Bundle", "DEFAULT_RUNTIMES", "LayerDiff", "PairDivergence", "RUNTIMES", "RuntimeCheck",
           "VerifyReport", "load_bundle", "save_bundle", "time_c", "verify", "verify_new_artifact"]
