"""The C back end: emitter, runtime kernels (``runtime/``) and the host build."""

from pocketml.deploy.c.build import build_host, run_host
from pocketml.deploy.c.emit import CSource, emit_c

__all__ = ["CSource", "emit_c", "build_host", "run_host"]
