"""Split inference: the device runs the layers before a cut, a gateway runs the rest.

For a shrunk model (an OUT folder) and every cut k in execution order (k = 0: the device only
sends its input; k = n: the device runs everything and sends the result):

    device    the ops before the cut, a sub-graph of the QuantGraph emitted as its own C model,
              built and run on the host on test inputs (its outputs = the reference's tensors at
              the cut, byte for byte) and, as the board runs it (its DSP kernels when shrink chose
              them: result.json ``cortexm.kernels``), cross-compiled for the board's core and run in
              QEMU: the same bytes again, and its instructions
    link      the int8 tensors crossing the cut (several where a residual branch is open), raw or
              entropy-coded (a static order-0 Huffman code per cut, built on half the inputs and
              measured on the other half); the radio model prices and times the message
    gateway   a Raspberry Pi class board from the catalogue (default rpi4) runs the rest: as an
              emitted C model when one tensor crosses, else the integer reference; the end-to-end
              output must equal the whole model's reference byte for byte. Its time is the cost
              model's estimate for its core.

Per cut: bytes sent, device instructions, device energy (compute + radio), gateway time and the
end-to-end latency (device + airtime + gateway); the cut with the least device energy and the
one with the least latency are marked. ``strategies`` sets the cuts beside the offloading cascade
of ``shrink`` (answer locally when confident, else send the input: result.json energy.cascades).
Every energy and time is an estimate (docs/energy.md); instructions are QEMU counts, not cycles.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pocketml.compress.encoding import huffman_lengths
from pocketml.deploy.c import build_host, emit_c, run_host
from pocketml.deploy.c.dsp import PORTABLE, KernelTarget, has_dsp
from pocketml.deploy.c.emit import c_identifier
from pocketml.deploy.verify.bundle import load_bundle
from pocketml.devices import Device, estimate_cost, find_device, load_catalogue
from pocketml.energy.radios import Radio, find_radio
from pocketml.errors import PocketMLError
from pocketml.graph.ir import QuantGraph
from pocketml.graph.planner import plan_memory
from pocketml.graph.subgraph import subgraph
from pocketml.result import read_result_json

DEFAULT_GATEWAY = "rpi4"
SPLIT_RADIOS = ("ble", "lora", "wifi")


@dataclass(frozen=True)
class Cut:
    """One cut: what the device runs and sends, what it costs, and whether the result is exact."""

    after: int  # ops the device runs (execution order)
    last_op: str  # the last op on the device ("input": none)
    tensors: tuple[str, ...]  # sent, in order
    raw_bytes: int
    coded_bytes: float | None  # mean entropy-coded bytes per inference
    device_macs: int
    gateway_macs: int
    device_instructions: float
    device_seconds: float
    compute_joules: float
    radio_joules: float
    radio_seconds: float
    gateway_seconds: float
    device_flash_bytes: int | None
    device_ram_bytes: int | None
    exact: bool  # device C == reference at the cut, and end to end == the whole model's reference
    gateway_runtime: str  # "C" | "reference" | "none"

    @property
    def device_joules(self) -> float:
        return self.compute_joules + self.radio_joules

    @property
    def latency_seconds(self) -> float:
        return self.device_seconds + self.radio_seconds + self.gateway_seconds

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "tensors": list(self.tensors), "device_joules": self.device_joules,
                "latency_seconds": self.latency_seconds}


@dataclass(frozen=True)
class SplitReport:
    model: str
    device: str
    gateway: str
    radio: str
    entropy: bool
    samples: int
    cuts: tuple[Cut, ...]
    instructions_method: str
    accuracy: float | None  # the whole model's (every cut computes the same outputs)
    cascade: dict[str, Any] | None  # shrink's offloading cascade over this radio, if it ran
    notes: list[str] = field(default_factory=list)

    @property
    def min_energy(self) -> Cut:
        return min(self.cuts, key=lambda c: (c.device_joules, c.latency_seconds))

    @property
    def min_latency(self) -> Cut:
        return min(self.cuts, key=lambda c: (c.latency_seconds, c.device_joules))

    @property
    def exact(self) -> bool:
        return all(c.exact for c in self.cuts)

    def strategies(self) -> list[dict[str, Any]]:
        """All local, all offloaded (cut 0), the two chosen cuts, and the cascade's chosen point."""
        local, offload = self.cuts[-1], self.cuts[0]
        rows = [("all local", local), ("send the input (cut 0)", offload),
                ("split, least device energy", self.min_energy), ("split, least latency", self.min_latency)]
        out = [{"strategy": name, "cut": c.after, "after": c.last_op, "device_joules": c.device_joules,
                "latency_seconds": c.latency_seconds, "accuracy": self.accuracy} for name, c in rows]
        if self.cascade and self.cascade.get("chosen"):
            ch = self.cascade["chosen"]
            where = "its all-offloaded point" if ch["threshold"] is None else f"threshold {ch['threshold']:.2f}"
            out.append({"strategy": f"offloading cascade ({where})", "cut": None,
                        "after": "all, then the input if unsure", "device_joules": ch["joules_per_inference"],
                        "latency_seconds": None, "accuracy": ch["accuracy"],
                        "offloaded_fraction": ch["offloaded_fraction"]})
        return out

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "device": self.device, "gateway": self.gateway, "radio": self.radio,
                "entropy_coded": self.entropy, "samples_verified": self.samples, "exact": self.exact,
                "cuts": [c.to_dict() for c in self.cuts], "min_device_energy_cut": self.min_energy.after,
                "min_latency_cut": self.min_latency.after, "strategies": self.strategies(),
                "accuracy": self.accuracy, "instructions_method": self.instructions_method, "notes": self.notes,
                "estimate": True}


def cut_points(graph: QuantGraph, order: tuple[int, ...]) -> list[tuple[int, tuple[str, ...]]]:
    """For k = 0..n ops on the device: the tensors that cross the cut (read after it, or model outputs)."""
    out = []
    for k in range(len(order) + 1):
        later = {t for i in order[k:] for t in graph.ops[i].inputs}
        made = [graph.input, *(graph.ops[i].output for i in order[:k])]
        out.append((k, tuple(t for t in made if t in later or t in graph.outputs)))
    return out


def coded_bytes(values: np.ndarray) -> float:
    """Mean bytes per sample of a static order-0 Huffman code (trained on the first half, measured on the rest).

    Every int8 value gets a code (counts + 1), so unseen values still encode; the code table is
    fixed at deployment on both ends and not sent."""
    v = np.asarray(values, np.int8).reshape(len(values), -1)
    half = max(1, len(v) // 2)
    counts = np.bincount(v[:half].ravel().astype(np.int64) + 128, minlength=256) + 1
    lengths = huffman_lengths({s: int(c) for s, c in enumerate(counts)})
    table = np.array([lengths[s] for s in range(256)])
    test = v[half:] if len(v) > half else v
    bits = table[test.astype(np.int64) + 128].sum(axis=1)
    return float(np.mean(np.ceil(bits / 8)))


def _run_sub(sub: QuantGraph, folder: Path, x: np.ndarray, name: str) -> np.ndarray:
    """Emit, build and run a sub-graph on the host; its packed outputs [N, bytes]."""
    folder.mkdir(parents=True)
    for fname, text in emit_c(sub, plan_memory(sub), name).files.items():
        (folder / fname).write_text(text)
    return run_host(build_host(folder), x, sub.output_bytes)


def board_kernels(doc: dict[str, Any], board: Device) -> KernelTarget:
    """The kernels the board runs: what shrink measured in QEMU (result.json ``cortexm.kernels``); for a
    folder without that record, the DSP kernels built for speed on a board with the DSP extension."""
    label = (doc.get("cortexm") or {}).get("kernels")
    if label is None:
        return KernelTarget(True, "speed") if has_dsp(board) else PORTABLE
    return KernelTarget(True, label.removeprefix("dsp-")) if label.startswith("dsp-") else PORTABLE


def _device_part(graph, order, k, crossing, x, values, folder: Path, name: str, core: str, qemu: bool,
                 kernels: KernelTarget):
    """The device's sub-graph: portable C run on the host against the reference; the board's C (``kernels``)
    run in QEMU on the same inputs, its instructions and memory measured. Returns what is sent, whether
    both matched, instructions, flash, RAM and the folder of the board's C."""
    from pocketml.deploy.cortexm import is_cortexm, measure_cortexm, toolchain_available
    from pocketml.deploy.cortexm.toolchain import core_target

    outs = tuple(t for t in crossing if t != graph.input)
    host_dir = folder / "device"
    if k == 0 or not outs:
        return x.reshape(len(x), -1), True, 0.0, None, None, host_dir
    sub = subgraph(graph, order[:k], graph.input, outs, f"{name}_device")
    got = _run_sub(sub, host_dir, x, f"{name}_device")
    ref = np.concatenate([values[t].reshape(len(x), -1) for t in outs], axis=1)
    exact = bool(np.array_equal(got, ref))
    sent = np.concatenate([(x if t == graph.input else got[:, _offset(sub, outs, t)]).reshape(len(x), -1)
                           for t in crossing], axis=1)
    insns = flash = ram = None
    board_dir = host_dir
    if qemu and is_cortexm(core) and core_target(core).runs_in_qemu and toolchain_available(need_qemu=True):
        if kernels.dsp:  # the DSP kernels need an Arm compiler: checked in QEMU only
            board_dir = folder / "device-board"
            board_dir.mkdir(parents=True)
            for fname, text in emit_c(sub, plan_memory(sub), f"{name}_device", kernels=kernels).files.items():
                (board_dir / fname).write_text(text)
        report = measure_cortexm(board_dir, core, x, ref)
        insns, flash, ram = report.instructions_per_inference, report.flash_bytes, report.ram_bytes
        exact = exact and report.qemu_mismatches == 0
    return sent, exact, insns, flash, ram, board_dir


def _offset(sub: QuantGraph, outs: tuple[str, ...], tensor: str) -> slice:
    start = sum(sub.tensors[t].nbytes for t in outs[:outs.index(tensor)])
    return slice(start, start + sub.tensors[tensor].nbytes)


def _gateway_part(graph, order, k, crossing, sent, values, folder: Path, name: str) -> tuple[np.ndarray, str]:
    """The rest: an emitted C model when one tensor crosses, else the reference seeded with the sent tensors."""
    n = len(sent)
    if k == len(order):
        return sent, "none"
    if len(crossing) == 1:
        t = crossing[0]
        sub = subgraph(graph, order[k:], t, graph.outputs, f"{name}_gateway")
        x = sent.reshape(n, *graph.tensors[t].shape)
        return _run_sub(sub, folder, x, f"{name}_gateway"), "C"
    state, start = {}, 0
    for t in crossing:
        size = graph.tensors[t].nbytes
        state[t] = sent[:, start:start + size].reshape(n, *graph.tensors[t].shape)
        start += size
    for i in order[k:]:
        op = graph.ops[i]
        state[op.output] = op.evaluate(graph.op_data[i], *(state[t] for t in op.inputs))
    return np.concatenate([state[t].reshape(n, -1) for t in graph.outputs], axis=1), "reference"


@dataclass(frozen=True)
class MeasuredCut:
    """What does not depend on the radio: the cut's tensors, sizes, instructions, memory, exactness, C."""

    after: int
    crossing: tuple[str, ...]
    coded_bytes: float | None
    instructions: float | None
    flash: int | None
    ram: int | None
    exact: bool
    gateway_runtime: str
    device_files: dict[str, str] = field(default_factory=dict, repr=False)  # the device part's C project


@dataclass(frozen=True)
class SplitMeasurement:
    """Every cut of one OUT folder, verified and measured once; priced per radio by :meth:`report`."""

    graph: QuantGraph
    order: tuple[int, ...]
    doc: dict[str, Any]
    board: Device
    gateway: Device
    samples: int
    cuts: tuple[MeasuredCut, ...]
    kernels: str = "portable"  # the device part's kernels in QEMU (KernelTarget.label)

    def report(self, radio: str = "ble", entropy: bool = False) -> SplitReport:
        link = check_radio(radio)
        cuts = tuple(_price(self.graph, self.order, m, self.board, self.gateway, link, entropy) for m in self.cuts)
        method = (f"QEMU instruction count of the device part ({self.kernels} kernels) on mps2-an386 (Cortex-M4), "
                  "1 instruction per cycle"
                  if any(m.instructions for m in self.cuts) else "cost-model estimate (pocketml.devices.cost)")
        cascade = next((c for c in (self.doc.get("energy") or {}).get("cascades", []) if c["radio"] == link.id), None)
        notes = [f"gateway {self.gateway.name}: time = the cost model's estimate for {self.gateway.core}",
                 f"radio {link.name}: energy and airtime of one message per inference; connection set-up, "
                 "duty-cycle limits and the answer coming back are not counted"]
        acc = (self.doc.get("accuracy") or {}).get("c")
        return SplitReport(self.doc["model"], self.board.id, self.gateway.id, link.id, entropy, self.samples, cuts,
                           method, acc, cascade, notes)


def check_radio(radio: str) -> Radio:
    """The radio a device would split over (ble, lora, lora-sf12, wifi), or a PocketMLError naming them."""
    link = find_radio(radio)
    if link.id not in SPLIT_RADIOS and not link.id.startswith("lora"):
        raise PocketMLError(f"split inference over {link.id} is not modelled", f"use one of {', '.join(SPLIT_RADIOS)}")
    return link


def measure_split(out: str | Path, *, gateway: str = DEFAULT_GATEWAY, samples: int = 32, qemu: bool = True,
                  devices: str | Path | None = None, progress: bool = False) -> SplitMeasurement:
    """Verify and measure every cut of the model in ``out`` (a ``pocketml shrink`` folder)."""
    bundle = load_bundle(out)
    doc = read_result_json(out)
    catalogue = load_catalogue(devices)
    board, gw = find_device(doc["device"], catalogue), find_device(gateway, catalogue)
    if samples < 1:
        raise PocketMLError(f"samples must be >= 1, got {samples}", "pass how many test inputs to verify with")
    graph = bundle.graph
    x = bundle.inputs[:samples]
    values = graph.run_layers(x)
    ref = graph.run_flat(x)
    order = plan_memory(graph).order or tuple(range(len(graph.ops)))
    name = c_identifier(doc["model"])
    kernels = board_kernels(doc, board)
    cuts: list[MeasuredCut] = []
    from rich.progress import Progress

    with tempfile.TemporaryDirectory(prefix="pocketml-split-") as tmp, \
            Progress(transient=True, disable=not progress) as bar:
        job = bar.add_task("cuts", total=len(order) + 1)
        for k, crossing in cut_points(graph, order):
            folder = Path(tmp) / f"cut{k}"
            sent, exact, insns, flash, ram, board_dir = _device_part(graph, order, k, crossing, x, values, folder,
                                                                     name, board.core, qemu, kernels)
            final, runtime = _gateway_part(graph, order, k, crossing, sent, values, folder / "gateway", name)
            files = {p.name: p.read_text() for p in sorted(board_dir.glob("*"))
                     if p.suffix in (".c", ".h") or p.name == "Makefile"} if board_dir.is_dir() else {}
            coded = coded_bytes(sent) if k < len(order) else None
            cuts.append(MeasuredCut(k, crossing, coded, insns, flash, ram,
                                    exact and bool(np.array_equal(final, ref)), runtime, files))
            bar.advance(job)
    return SplitMeasurement(graph, order, doc, board, gw, len(x), tuple(cuts), kernels.label)


def analyze_split(out: str | Path, *, radio: str = "ble", gateway: str = DEFAULT_GATEWAY, entropy: bool = False,
                  samples: int = 32, qemu: bool = True, devices: str | Path | None = None,
                  progress: bool = False) -> SplitReport:
    """Every cut of the model in ``out`` between its board and ``gateway``, priced over ``radio``."""
    return measure_split(out, gateway=gateway, samples=samples, qemu=qemu, devices=devices,
                         progress=progress).report(radio, entropy)


def _price(graph, order, m: MeasuredCut, board: Device, gw: Device, link: Radio, entropy: bool) -> Cut:
    k = m.after
    device_macs = sum(graph.ops[i].macs(graph.tensors) for i in order[:k])
    total = graph.macs()

    def outputs(idx) -> int:
        return sum(graph.tensors[graph.ops[i].output].nbytes for i in idx)

    insns = m.instructions
    if insns is None:
        insns = estimate_cost(device_macs, outputs(order[:k]), board).cycles if k else 0.0
    raw = int(sum(graph.tensors[t].nbytes for t in m.crossing))
    # entropy-coded, unless the code is longer than the raw tensors (then the device sends them raw)
    nbytes = min(raw, int(math.ceil(m.coded_bytes))) if entropy and m.coded_bytes is not None else raw
    seconds = insns / (board.clock_mhz * 1e6)
    gateway_s = estimate_cost(total - device_macs, outputs(order[k:]), gw).latency_ms / 1e3 if k < len(order) else 0.0
    last = graph.ops[order[k - 1]].name if k else "input"
    return Cut(k, last, m.crossing, raw, m.coded_bytes, device_macs, total - device_macs, float(insns), seconds,
               seconds * board.active_mw / 1e3, link.message_joules(nbytes), link.message_seconds(nbytes), gateway_s,
               m.flash, m.ram, m.exact, m.gateway_runtime)
