"""The typer app every command module registers on, and the options several commands share.

Importing this is cheap (typer and rich only): each command imports what it needs (torch, the
pipeline) inside its body, so ``pocketml --help`` answers at once.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

# Exit codes: one meaning each (the app's epilog, docs/compile.md "Exit codes").
EXIT_ERROR = 1  # bad input or environment: a PocketMLError, printed as "error: ..." and "fix: ..."
EXIT_USAGE = 2  # typer's own: an unknown option, a missing argument
EXIT_NOT_EXACT = 3  # built and checked, but the runtimes disagree (not bit-exact): shrink, compile, verify
EXIT_BLOCKED = 4  # --check: something would not compile (compile --check, shrink --check)

app = typer.Typer(
    help="pocketml: shrink PyTorch models into verified int8 C for microcontrollers.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    epilog="Build: a model or a .tflite in, verified C out.  Inspect: boards, runtimes, energy.  "
           "Train: data, model search, fleets.  Every command: --help.  Exit codes: 0 done; 1 bad input "
           "(error + fix printed); 2 usage (unknown option, missing argument); 3 built but the runtimes "
           "disagree (not bit-exact); 4 --check found something that would not compile.",
)
console = Console(width=None if sys.stdout.isatty() else 130)  # pipes and CI get a readable width
DEVICES_OPT = typer.Option(None, "--devices", help="Extra TOML file of boards (same schema as the built-in catalogue).")
OPTIMIZE_OPT = typer.Option(None, "--optimize", help="Boards with the DSP extension (Cortex-M4/M7/M33): speed "
                            "(int16 weights, one function per layer, -O2; fewest instructions) or size (int8 "
                            "weights, shared kernels, -Os; least flash). Default: speed when its constants fit in "
                            "half the board's flash. The board's C goes to OUT/c-dsp/; OUT/c/ stays portable.")
MEMORY_OPT = typer.Option("speed", "--memory", help="The memory plan: speed (default; in-place layers, no "
                          "extra instructions), ram (the smallest RAM: the input and, on boards with the DSP "
                          "extension, the kernels' scratch inside the arena, depthwise layers in channel blocks, "
                          "pads and max pools fused into the convs; a few % more instructions; there also the first "
                          "layers in spatial patches when that saves "
                          "10% of the arena, for up to 2.5x the MACs) or balanced (each candidate plan built for the "
                          "board and run in QEMU; the smallest RAM within --max-latency). See docs/memory.md.")
MAX_LATENCY_OPT = typer.Option(None, "--max-latency", help="With --memory balanced: the latency budget in ms "
                               "(QEMU instructions at one per cycle at the board's clock; default: the speed "
                               "plan's + 10%).")
FORCE_OPT = typer.Option(False, "--force", help="Write into a non-empty --out folder that is not a pocketml output. "
                         "pocketml still never replaces or deletes a file it did not write.")


class StageStatus:
    """A spinner line naming the stage a long run is in (``on_stage`` of shrink/compile), with the time
    spent so far. It starts at the first stage, so a training progress bar before it runs undisturbed."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._status = None
        self._start = 0.0

    def __call__(self, stage: str) -> None:
        import time

        if not self.enabled:
            return
        if self._status is None:
            self._start = time.perf_counter()
            self._status = console.status(stage, spinner="dots")
            self._status.start()
        else:
            self._status.update(f"{stage}  [dim]({time.perf_counter() - self._start:.0f} s so far)[/dim]")

    def __enter__(self) -> StageStatus:
        return self

    def __exit__(self, *exc) -> bool:
        if self._status is not None:
            self._status.stop()
        return False
