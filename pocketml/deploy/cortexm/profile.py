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

    @property
    def instructions_per_mac(self) -> float | None:
        return self.instructions / self.macs if self.macs else None

    def to_dict(self, total: int) -> dict[str, Any]:
        per_mac = self.instructions_per_mac
        return {"index": self.index, "name": self.name, "kind": self.kind, "macs": self.macs,
                "instructions": self.instructions,
                "instructions_per_mac": None if per_mac is None else round(per_mac, 3),
                "share": round(self.instructions / total, 4) if total else None}


def profile_layers(c_dir: str | Path, core: str, x: np.ndarray,
                   layers: list[tuple[str, str, int]]) -> tuple[LayerProfile, ...]:
    """Build ``c_dir`` with the per-layer timer for ``core`` and run the first input of ``x`` in QEMU.

    ``layers``: (name, kind, MACs) of every op of the graph, by op index (result.json's ``layers``).
    """
    with tempfile.TemporaryDirectory(prefix="pocketml-profile-") as tmp:
        build = build_cortexm(c_dir, core, Path(tmp), profile=True)
        run = run_qemu(build, np.asarray(x)[:1])
    ops, counts = run.layer_ops, run.layer_instructions
    if ops is None or counts is None:
        return ()
    return tuple(LayerProfile(int(i), *layers[int(i)], int(n)) for i, n in zip(ops, counts[0]))


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

    @property
    def total(self) -> int:
        return sum(layer.instructions for layer in self.layers)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "device": self.device, "core": self.core, "kernels": self.kernels,
                "c_dir": self.c_dir, "instructions": self.total, "method": PROFILE_METHOD,
                "latency_ms_estimate": (round(self.total / (self.clock_mhz * 1e3), 3) if self.clock_mhz else None),
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
    layers = profile_layers(c_dir, core, x.reshape(1, -1).astype(np.int8), rows)
    result = OutputProfile(doc.get("model", "?"), doc.get("device", "?"), core, read_kernels(c_dir),
                           str(c_dir.relative_to(out)), _clock_mhz(doc.get("device")), layers)
    if update and "result.json" in (read_manifest(out) or set()) and doc.get("cortexm") is not None:
        doc["cortexm"]["layers"] = layers_table(layers)
        write_atomic(doc_path, json.dumps(doc, indent=2))
    return result


def _clock_mhz(device_id: str | None) -> float | None:
    """The board's clock from the built-in catalogue (None for a board from a user's file)."""
    from pocketml.devices import load_catalogue

    board = load_catalogue().get(device_id or "")
    return board.clock_mhz if board is not None else None
