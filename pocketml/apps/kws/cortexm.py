"""The whole keyword spotter on a Cortex-M4 in QEMU: flash, RAM, instructions per frame and per inference.

The program (``OUT/kws_c``) is cross-compiled by ``pocketml.deploy.cortexm.build_cortexm`` with the
standard QEMU harness, whose ``model.h`` is swapped for ``kws_chunk.h``: each record is one 20 ms
chunk (320 samples) fed to ``kws_feed``; the harness times each call (QEMU ``-icount``: instructions,
not cycles) and returns the chunk's detection, which must equal the Python detector's.

    chunk c completes frame c - 1 (c >= 1); the model runs after frame f when f >= 48 and
    (f - 48) % every == 0. front end per frame = median over chunks without an inference;
    model per inference = median over chunks with one, minus that.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from pocketml.deploy.cortexm import build_cortexm, run_qemu
from pocketml.deploy.cortexm.measure import INSTRUCTION_METHOD
from pocketml.deploy.cortexm.toolchain import QEMU_MACHINE, core_target
from pocketml.errors import PocketMLError

CHUNK_OUTPUT_BYTES = 8


@dataclass(frozen=True)
class ProgramReport:
    """The whole program (front end + model + detector) on the core, measured."""

    core: str
    flash_bytes: int
    ram_bytes: int
    sections: dict
    stack_bytes: int
    chunks: int
    seconds: float
    frontend_instructions_per_frame: int
    model_instructions_per_inference: int
    inferences: int
    events: list[tuple[int, int, int]]
    instructions_total: int
    build: str = ""  # the compiler flags that matter: optimization level and the model's kernels

    def instructions_per_second(self, every_frames: int, frame_ms: float) -> float:
        frames = 1000.0 / frame_ms
        per_frame = self.frontend_instructions_per_frame
        return frames * per_frame + frames / every_frames * self.model_instructions_per_inference

    def to_dict(self) -> dict:
        return {"core": self.core, "qemu_machine": QEMU_MACHINE, "flash_bytes": self.flash_bytes,
                "ram_bytes": self.ram_bytes, "sections_bytes": self.sections, "stack_bytes": self.stack_bytes,
                "chunks": self.chunks, "seconds": self.seconds, "inferences": self.inferences,
                "frontend_instructions_per_frame": self.frontend_instructions_per_frame,
                "model_instructions_per_inference": self.model_instructions_per_inference,
                "instructions_total": self.instructions_total, "qemu_events": len(self.events),
                "instructions_method": INSTRUCTION_METHOD, "build": self.build,
                "flash_method": f"arm-none-eabi-gcc {self.build}, kws_chunk_invoke (kws_feed: front end + model + "
                                "detector) linked alone with --gc-sections: .text + .rodata + .ARM.exidx + .data",
                "ram_method": ".data + .bss (audio buffer, feature ring, model arena, posteriors) + stack "
                              "(max of the static bound and the painted stack) + the 640 B chunk and 8 B answer"}


def chunk_harness() -> str:
    text = (resources.files("pocketml.deploy.cortexm") / "firmware" / "harness.c").read_text()
    if '#include "model.h"' not in text:
        raise PocketMLError("the Cortex-M harness no longer includes model.h", "this is a pocketml bug")
    return text.replace('#include "model.h"', '#include "kws_chunk.h"')


def measure_program(kws_c: Path, core: str, pcm: np.ndarray, every_frames: int, window_frames: int,
                    hop: int = 320, opt: str | None = None) -> ProgramReport:
    """Cross-build ``kws_c`` for ``core`` and run ``pcm`` (int16) through it in QEMU, chunk by chunk.

    ``opt``: ``-Os`` or ``-O2`` (None: what the model's C was emitted for, as ``build_cortexm``)."""
    if not core_target(core).runs_in_qemu:
        raise PocketMLError(f"{core} code cannot run in QEMU's Cortex-M4 model", "measure on a Cortex-M0+/M3/M4 board")
    n = len(pcm) // hop
    chunks = np.ascontiguousarray(np.asarray(pcm[:n * hop], dtype="<i2").reshape(n, hop)).view(np.int8)
    with tempfile.TemporaryDirectory(prefix="pocketml-kws-m4-") as tmp:
        build = build_cortexm(kws_c, core, tmp, interface=("kws_chunk", 2 * hop, CHUNK_OUTPUT_BYTES),
                              harness=chunk_harness(), opt=opt)
        run = run_qemu(build, chunks, timeout=3600)
    out = run.outputs.astype(np.uint8)
    events = []
    for rec in out[out[:, 0] > 0]:
        events.append((int(rec[4]) | int(rec[5]) << 8 | int(rec[6]) << 16 | int(rec[7]) << 24, int(rec[1]),
                       int(rec[2]) | int(rec[3]) << 8))
    frame = np.arange(n) - 1
    infer = (frame >= window_frames - 1) & ((frame - window_frames + 1) % every_frames == 0)
    plain = run.instructions[(frame >= 0) & ~infer]
    fe = int(np.median(plain)) if len(plain) else 0
    model = int(np.median(run.instructions[infer])) - fe if infer.any() else 0
    stack = max(int(run.stack_bytes.max()), build.stack_bound_bytes or 0)
    return ProgramReport(core, build.flash_bytes, build.ram_bytes(stack), dict(build.sections), stack, n,
                         n * hop / 16000, fe, model, int(infer.sum()), events, int(run.instructions.sum()),
                         f"{build.opt}, {build.kernels} model kernels")


def board_program(out: Path, folder: Path, model_c: str = "c-dsp") -> Path:
    """A copy of the program ``OUT/kws_c`` in ``folder`` whose model is ``OUT/<model_c>`` instead of ``OUT/c``.

    ``OUT/c`` is the portable C (built and checked on the host); ``OUT/c-dsp`` is the same model with
    the board's DSP kernels (``pocketml shrink`` writes it for a core with the DSP extension), which
    only an Arm compiler builds: this program is checked in QEMU (:func:`measure_program`), not on the host.
    """
    out, folder = Path(out), Path(folder)
    src, portable, board = out / "kws_c", out / "c", out / model_c
    for need in (src / "kws.c", portable / "model.h", board / "model.h"):
        if not need.is_file():
            raise PocketMLError(f"{need} is missing", "pass the --out folder of `pocketml kws train` for a board "
                                                      "with the DSP extension (e.g. nano33ble)")
    shutil.copytree(src, folder, ignore=shutil.ignore_patterns("main.c", "Makefile", "kws_run"))  # host-only
    for p in portable.iterdir():  # the portable model's files
        if p.suffix in (".c", ".h") and p.name != "main.c":
            (folder / p.name).unlink(missing_ok=True)
    for p in board.iterdir():
        if p.suffix in (".c", ".h") and p.name != "main.c":
            shutil.copyfile(p, folder / p.name)
    return folder
