"""Per-layer instructions on the target: the profile build of an emitted C folder, one input in QEMU.

``model.c`` calls ``POCKETML_PROFILE_LAYER(op)`` after every op; built with ``-DPOCKETML_PROFILE``
(``build_cortexm(..., profile=True)``) that is a call into the QEMU harness, which records the
SysTick count (40 instructions a tick under ``-icount shift=0``). A layer's figure is the window
since the previous mark: its kernel, its call, and the timer call itself (a few dozen
instructions). The windows add up to the invoke call's count.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pocketml.deploy.cortexm.build import build_cortexm
from pocketml.deploy.cortexm.qemu import INSNS_PER_TICK, run_qemu
from pocketml.errors import PocketMLError

PROFILE_METHOD = (f"QEMU mps2-an386 -icount shift=0, the profile build (-DPOCKETML_PROFILE): SysTick read after "
                  f"every op, resolution {INSNS_PER_TICK} instructions; each window includes the op's call and the "
                  "timer call; one input")


@dataclass(frozen=True)
class LayerProfile:
    """One op's instructions on the target (the ops of ``graph.ops``, in execution order)."""

    index: int  # into graph.ops (and result.json's ``layers``)
    name: str
    kind: str
    macs: int
    instructions: int
    cycles: int | None = None           # estimate (cycles.py): flash refills all hit the cache
    cycles_no_cache: int | None = None  # estimate: every taken branch pays the flash wait states

    @property
    def instructions_per_mac(self) -> float | None:
        return self.instructions / self.macs if self.macs else None

    def to_dict(self, total: int) -> dict[str, Any]:
        per_mac = self.instructions_per_mac
        return {"index": self.index, "name": self.name, "kind": self.kind, "macs": self.macs,
                "instructions": self.instructions,
                "instructions_per_mac": None if per_mac is None else round(per_mac, 3),
                "share": round(self.instructions / total, 4) if total else None,
                **({"cycles_estimate": self.cycles, "cycles_estimate_no_cache": self.cycles_no_cache}
                   if self.cycles is not None else {})}


def profile_layers(c_dir: str | Path, core: str, x: np.ndarray, layers: list[tuple[str, str, int]],
                   wait_states: int | None = None, **build: Any) -> tuple[LayerProfile, ...]:
    """Build ``c_dir`` with the per-layer timer for ``core`` and run the first input of ``x`` in QEMU.

    ``layers``: (name, kind, MACs) of every op of the graph, by op index (result.json's ``layers``).
    With the instruction-mix plugin (cycles.py; needs a host C compiler), every layer also gets a
    cycle estimate; ``wait_states``: the board's flash wait states (None: 0). ``build``: more
    arguments of ``build_cortexm`` (``opt``, ``include_dirs``, ``libraries``, ``reuse``).
    """
    from pocketml.deploy.cortexm import cycles

    with tempfile.TemporaryDirectory(prefix="pocketml-profile-") as tmp:
        work = Path(tmp)
        build = build_cortexm(c_dir, core, work, profile=True, **build)
        plugin = cycles.plugin_library(work)
        mix = work / "mix.txt"
        spec = (f"{plugin},out={mix},mark={_symbol(build.firmware, 'pocketml_profile_layer')},"
                f"segments={len(layers) + 2}") if plugin else None
        try:
            run = run_qemu(build, np.asarray(x)[:1], plugin=spec)
        except PocketMLError:  # a QEMU whose plugin API this plugin does not speak: no cycle estimate
            if spec is None:
                raise
            plugin, spec = None, None
            run = run_qemu(build, np.asarray(x)[:1])
        ops, counts = run.layer_ops, run.layer_instructions
        if ops is None or counts is None:
            return ()
        est = None
        if plugin and mix.is_file():
            est = cycles.estimate(mix, cycles.disassemble(build.firmware),
                                  cycles.model_ranges(build.firmware, build.model_elf), len(ops) + 1, wait_states or 0)
    found = []
    for k, (i, n) in enumerate(zip(ops, counts[0], strict=True)):
        c = w = None
        if est is not None:  # segment k is op k; the invoke's epilogue after the last mark goes to the last op
            last = k == len(ops) - 1
            c = est.cycles[k] + (est.cycles[k + 1] if last else 0)
            w = est.cycles_no_cache[k] + (est.cycles_no_cache[k + 1] if last else 0)
        found.append(LayerProfile(int(i), *layers[int(i)], int(n), c, w))
    return tuple(found)


def _symbol(elf: Path, name: str) -> str:
    """The address of ``name`` in ``elf`` (hex)."""
    import subprocess

    from pocketml.deploy.cortexm.toolchain import require_tool

    out = subprocess.run([require_tool("arm-none-eabi-nm"), str(elf)], capture_output=True, text=True, check=True)
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == name:
            return hex(int(parts[0], 16) & ~1)
    return "0x0"


def cycles_summary(profile: tuple[LayerProfile, ...], clock_mhz: float, wait_states: int | None) -> dict | None:
    """result.json's ``cortexm.cycles_estimate``: the profiled run's cycle estimate, labelled as one."""
    from pocketml.deploy.cortexm.cycles import METHOD

    if not profile or any(layer.cycles is None for layer in profile):
        return None
    cycles = sum(layer.cycles for layer in profile)
    worst = sum(layer.cycles_no_cache for layer in profile)
    return {"cycles": cycles, "cycles_no_cache": worst, "latency_ms": round(cycles / (clock_mhz * 1e3), 3),
            "latency_ms_no_cache": round(worst / (clock_mhz * 1e3), 3), "flash_wait_states": wait_states,
            "estimate": True, "method": METHOD}


def layers_table(profile: tuple[LayerProfile, ...]) -> list[dict[str, Any]]:
    """result.json's ``cortexm.layers``: each layer with its share of the profiled total."""
    total = sum(layer.instructions for layer in profile)
    return [layer.to_dict(total) for layer in profile]


@dataclass(frozen=True)
class OutputProfile:
    """``pocketml profile OUT``: the board's C of an output folder, layer by layer on the target."""

    model: str
    device: str
    core: str
    kernels: str
    c_dir: str
    clock_mhz: float | None
    layers: tuple[LayerProfile, ...]
    wait_states: int | None = None

    @property
    def total(self) -> int:
        return sum(layer.instructions for layer in self.layers)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "device": self.device, "core": self.core, "kernels": self.kernels,
                "c_dir": self.c_dir, "instructions": self.total, "method": PROFILE_METHOD,
                "latency_ms_estimate": (round(self.total / (self.clock_mhz * 1e3), 3) if self.clock_mhz else None),
                "cycles_estimate": (cycles_summary(self.layers, self.clock_mhz, self.wait_states)
                                    if self.clock_mhz else None),
                "layers": layers_table(self.layers)}


def profile_output(out: str | Path, *, update: bool = True) -> OutputProfile:
    """Profile OUT's board C (``c-dsp/`` when there is one, else ``c/``) on its first test input.

    ``update``: also write the figures into OUT/result.json as ``cortexm.layers`` (the file is
    pocketml's: it is replaced atomically, nothing else in OUT is touched).
    """
    import json

    from pocketml.deploy.cortexm.build import read_kernels
    from pocketml.deploy.cortexm.toolchain import core_target, toolchain_available
    from pocketml.errors import PocketMLError
    from pocketml.outputs import read_manifest, write_atomic

    out = Path(out)
    doc_path = out / "result.json"
    try:
        doc = json.loads(doc_path.read_text())
        rows = [(row["name"], row["kind"], int(row["macs"])) for row in doc["layers"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PocketMLError(f"{doc_path} is missing or damaged ({exc})",
                            "pass an OUT folder written by `pocketml shrink` or `pocketml compile`") from exc
    c_dir = out / (doc.get("files") or {}).get("c_board", "c/").rstrip("/")
    core = (doc.get("cortexm") or {}).get("core") or "cortex-m4f"
    if not (c_dir / "model.c").is_file():
        raise PocketMLError(f"{c_dir} has no model.c", "rerun `pocketml shrink` / `pocketml compile` into OUT")
    if not core_target(core).runs_in_qemu:
        raise PocketMLError(f"{core} code does not run on QEMU's Cortex-M4 model (mps2-an386)",
                            "profile a build for a Cortex-M0+/M3/M4 board")
    if not toolchain_available(need_qemu=True):
        raise PocketMLError("arm-none-eabi-gcc or qemu-system-arm is missing",
                            "run `make cortexm-toolchain` (Debian's gcc-arm-none-eabi, qemu-system-arm)")
    inputs = out / "verify" / "inputs.npy"
    size = int(np.prod(doc["input"]["shape"]))
    x = np.load(inputs, allow_pickle=False)[:1] if inputs.is_file() else np.zeros((1, size), np.int8)
    clock, wait_states = _board(doc.get("device"))
    layers = profile_layers(c_dir, core, x.reshape(1, -1).astype(np.int8), rows, wait_states)
    result = OutputProfile(doc.get("model", "?"), doc.get("device", "?"), core, read_kernels(c_dir),
                           str(c_dir.relative_to(out)), clock, layers, wait_states)
    if update and "result.json" in (read_manifest(out) or set()) and doc.get("cortexm") is not None:
        doc["cortexm"]["layers"] = layers_table(layers)
        if clock and (summary := cycles_summary(layers, clock, wait_states)):
            doc["cortexm"]["cycles_estimate"] = summary
        write_atomic(doc_path, json.dumps(doc, indent=2))
    return result


def _board(device_id: str | None) -> tuple[float | None, int | None]:
    """The board's clock and flash wait states from the built-in catalogue (None for a user's board)."""
    from pocketml.devices import load_catalogue

    board = load_catalogue().get(device_id or "")
    return (board.clock_mhz, board.flash_wait_states) if board is not None else (None, None)
