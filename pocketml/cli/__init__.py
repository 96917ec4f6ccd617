"""The ``pocketml`` command: each subcommand is a thin shell over the Python API.

One module per command (group); each registers itself on :data:`pocketml.cli.app.app` when
imported below. ``main`` is the console entry point: it turns a :class:`PocketMLError` into a
two-line message and exit 1, and SIGTERM into the same clean stop as Ctrl-C.
"""

from __future__ import annotations

import sys

from rich.console import Console

from pocketml.cli import (  # noqa: F401
    compile,
    devices,
    distill,
    federate,
    kws,
    match,
    ondevice,
    profile,
    select,
    shrink,
    split,
    verify,
    wildfire,
)
from pocketml.cli.app import app
from pocketml.errors import PocketMLError

__all__ = ["app", "main"]


def _terminate(signum, frame) -> None:
    """SIGTERM ends a run as Ctrl-C does: staging folders are removed, nothing is half-written."""
    raise KeyboardInterrupt


def main() -> None:
    import signal

    signal.signal(signal.SIGTERM, _terminate)
    try:
        app()
    except PocketMLError as exc:
        from rich.markup import escape

        err = Console(stderr=True, soft_wrap=True)  # no hard wraps: messages stay greppable
        err.print(f"[red]error:[/] {escape(exc.problem)}", highlight=False)  # user text never read as markup
        if exc.fix:
            err.print(f"[yellow]fix:[/] {escape(exc.fix)}", highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        Console(stderr=True).print("[red]interrupted[/]: nothing was written to the output folder", highlight=False)
        sys.exit(130)


if __name__ == "__main__":
    main()
