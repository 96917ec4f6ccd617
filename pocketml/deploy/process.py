"""How pocketml describes a child process that failed (a runtime worker, a compiled harness).

Runtimes that may crash (TFLite Micro, LiteRT, the C harness) run in child processes; when one
fails, the user gets one sentence: the signal that killed it, or the exception its Python
traceback ends with, never the traceback itself.
"""

from __future__ import annotations

import signal


def child_failure(what: str, returncode: int, stderr: str) -> str:
    """One sentence for a child process that failed: the signal that killed it (a crash), or the
    exception its traceback ends with (never the traceback itself), or its exit status."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"{what} crashed ({name}, killed by the operating system: a native crash, not a Python error)"
    skip = ("Traceback", "File ", "During handling", "The above exception", "^", "~")
    lines = [line.rstrip() for line in stderr.splitlines() if line.strip()]
    reasons = [line for line in lines if not line[:1].isspace() and not line.startswith(skip)]
    return f"{what} failed: {reasons[-1][:300]}" if reasons else f"{what} exited with status {returncode}"
