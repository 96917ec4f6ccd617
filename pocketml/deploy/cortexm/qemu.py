"""Run a cross-compiled model under ``qemu-system-arm -M mps2-an386`` and read back outputs and counts.

The firmware (``firmware/harness.c``) reads int8 inputs from a semihosted file, calls the model
once per record and writes its outputs, the SysTick ticks of each call and the stack it used.
QEMU runs with ``-icount shift=0``: virtual time advances exactly 1 ns per executed
instruction, and SysTick counts the 25 MHz MPS2 system clock, so

    instructions per inference = ticks x 40   (resolution: 40 instructions)

This is an *instruction count* of the Cortex-M4 ISA, used as the cycle estimate; QEMU does not
model pipeline stalls, flash wait states or memory contention, so real cycles are higher (on a
Cortex-M4 most instructions take 1 cycle, loads 2, taken branches 2-4). Every run also times a
loop of known length (``calib.bin``) and refuses the figures if the 40-per-tick scale does not hold.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pocketml.deploy.cortexm.build import CortexMBuild, build_cortexm
from pocketml.deploy.cortexm.toolchain import QEMU_MACHINE, require_tool
from pocketml.errors import PocketMLError

INSNS_PER_TICK = 40  # 1 ns per instruction (-icount shift=0) / 25 MHz SysTick clock = 40 ns per tick
CALIB_INSNS = 2 * 100_000  # harness.c: CALIB_LOOPS iterations of subs + bne
EXIT_CODES = {
    2: "the firmware could not open its semihosted files",
    3: "the input file ends inside a record (wrong input size)",
    4: "the model's invoke returned an error",
    5: "the firmware could not write its outputs",
    6: "the firmware took a hard fault",
}


@dataclass(frozen=True)
class QemuRun:
    """What the firmware reported for each input: outputs, instruction count, stack used."""

    outputs: np.ndarray  # [N, output_bytes] int8
    instructions: np.ndarray  # [N] instructions per inference (ticks x 40)
    stack_bytes: np.ndarray  # [N] deepest stack use of the invoke call (painted stack)
    calibration_ratio: float  # measured / expected instructions of the calibration loop
    command: tuple[str, ...]
    layer_ops: np.ndarray | None = None  # [L] op index (graph.ops) of each profiled layer, in run order
    layer_instructions: np.ndarray | None = None  # [N, L] instructions of each layer (profile builds)

    @property
    def instructions_per_inference(self) -> int:
        return int(round(float(np.mean(self.instructions))))


def qemu_command(firmware: Path) -> list[str]:
    return [require_tool("qemu-system-arm"), "-M", QEMU_MACHINE, "-cpu", "cortex-m4", "-kernel", str(firmware),
            "-icount", "shift=0,align=off,sleep=off", "-semihosting-config", "enable=on,target=native",
            "-display", "none", "-monitor", "none", "-serial", "none", "-nodefaults"]


def run_qemu(build: CortexMBuild | str | Path, inputs: np.ndarray, timeout: float = 900.0,
             core: str = "cortex-m4f", opt: str | None = None, plugin: str | None = None) -> QemuRun:
    """Run ``inputs`` (int8, [N, ...] with ``build.input_bytes`` values each) through the firmware in QEMU.

    ``build`` is a ``CortexMBuild`` or an emitted C folder (OUT/c), then cross-compiled for ``core``
    first (a throw-away build). ``plugin``: a TCG plugin to load (``-plugin`` argument, see cycles.py).
    """
    if isinstance(build, (str, Path)):
        with tempfile.TemporaryDirectory(prefix="pocketml-cortexm-") as tmp:
            return run_qemu(build_cortexm(build, core, tmp, opt=opt), inputs, timeout)
    if not build.firmware.is_file():
        raise PocketMLError(f"{build.firmware} does not exist", "build it first with build_cortexm(c_dir, core)")
    x = np.asarray(inputs)
    if x.dtype not in (np.int8, np.uint8, np.int16):  # uint8, int16: a model whose input a QUANTIZE converts
        raise PocketMLError(f"QEMU inputs must be int8 (quantized), got {x.dtype}",
                            "quantize them first: graph.quantize_input(x)")
    if x.ndim < 1 or len(x) == 0 or x[0].nbytes != build.input_bytes:
        raise PocketMLError(f"each input must have {build.input_bytes} int8 values, got shape {x.shape}",
                            f"pass an array of shape [N, ...] with {build.input_bytes} values per sample")
    cmd = qemu_command(build.firmware) + (["-plugin", plugin] if plugin else [])
    with tempfile.TemporaryDirectory(prefix="pocketml-qemu-") as tmp:
        folder = Path(tmp)
        (folder / "inputs.bin").write_bytes(np.ascontiguousarray(x).tobytes())
        try:
            proc = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise PocketMLError(f"QEMU did not finish {len(x)} inferences in {timeout:.0f} s",
                                "run fewer samples, or raise the timeout") from exc
        if proc.returncode != 0:
            why = EXIT_CODES.get(proc.returncode, f"QEMU exited with status {proc.returncode}")
            raise PocketMLError(f"{why}: {proc.stderr.strip()[:1500]}",
                                "this is a pocketml bug if the inputs were the right size: please report it")
        out = np.fromfile(folder / "outputs.bin", dtype=np.int8)
        stats = np.fromfile(folder / "stats.bin", dtype="<u4").reshape(-1, 2)
        calib = np.fromfile(folder / "calib.bin", dtype="<u4")
        marks = np.fromfile(folder / "layers.bin", dtype="<u4") if (folder / "layers.bin").is_file() else None
    if out.size != len(x) * build.output_bytes or len(stats) != len(x):
        raise PocketMLError(f"the firmware answered {len(stats)} of {len(x)} inputs", "this is a pocketml bug")
    ratio = float(calib[0] - calib[1]) * INSNS_PER_TICK / CALIB_INSNS
    if not 0.98 < ratio < 1.02:
        raise PocketMLError(f"QEMU's instruction-count scale is off: a {CALIB_INSNS}-instruction loop measured "
                            f"{ratio:.3f}x its length", "check the qemu-system-arm version (7.2 was used here)")
    ops, per_layer = _layers(marks, len(x))
    return QemuRun(out.reshape(len(x), build.output_bytes), stats[:, 0].astype(np.int64) * INSNS_PER_TICK,
                   stats[:, 1].astype(np.int64), ratio, tuple(cmd), ops, per_layer)


def _layers(marks: np.ndarray | None, n: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """layers.bin (op index, ticks since invoke) per layer and input -> op order and instructions per layer."""
    if marks is None or marks.size == 0:
        return None, None
    if marks.size % (2 * n):
        raise PocketMLError(f"the profile build wrote {marks.size // 2} layer marks for {n} inputs",
                            "this is a pocketml bug: please report it")
    marks = marks.reshape(n, -1, 2).astype(np.int64)
    ticks = np.diff(marks[:, :, 1], axis=1, prepend=0)
    return marks[0, :, 0], ticks * INSNS_PER_TICK
