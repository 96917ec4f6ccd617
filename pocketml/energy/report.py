"""The energy budget of a shrink output folder: read ``OUT/result.json``, compute, and render.

``budget_from_result(doc, ...)`` works on the parsed result.json (a dict), so the pipeline (before
it writes the file) and ``pocketml energy OUT`` (after) use the same arithmetic.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pocketml.devices.device import Device, find_device, load_catalogue
from pocketml.energy.budget import EnergyBudget, energy_budget, inference_cycles
from pocketml.energy.cascade import CascadePoint, cascade_curve, choose_threshold, softmax_confidence
from pocketml.energy.radios import RADIOS, find_radio
from pocketml.errors import PocketMLError

DEFAULT_RATE = "1/min"
DEFAULT_BATTERY = "cr2032"


def default_radio(device: Device) -> str:
    """The board's own radio if pocketml models it (ble, lora, nbiot, wifi), else BLE."""
    return next((r for r in device.radios if r in RADIOS), "ble")


def budget_from_result(doc: dict[str, Any], *, rate: str | float = DEFAULT_RATE, radio: str | None = None,
                       battery: str = DEFAULT_BATTERY, device: Device | None = None,
                       devices: str | Path | None = None) -> EnergyBudget:
    """The budget for a parsed result.json: measured instructions when the Cortex-M build ran, else the estimate."""
    try:
        board = device or find_device(doc["device"], load_catalogue(devices))
        cortexm = doc.get("cortexm") or {}
        cycles, method = inference_cycles(cortexm.get("instructions_per_inference"), doc["estimate"]["cycles"],
                                          cortexm.get("cycles_estimate"))
        raw = math.prod(doc["input"]["shape"])
        outputs = doc.get("outputs") or [doc["output"]]  # every output is sent (int8, one byte each)
        result_bytes = sum(math.prod(o["shape"]) for o in outputs)
        update = doc["size_bytes"]["int8"]
        macs = doc["macs"]
    except (KeyError, TypeError) as exc:
        raise PocketMLError(f"result.json lacks {exc} needed for the energy budget",
                            "pass a folder written by `pocketml shrink` (regenerate it with this version)") from exc
    return energy_budget(board, cycles, method, rate, radio=radio or default_radio(board), battery=battery,
                         result_bytes=result_bytes, raw_bytes=raw, update_bytes=update, macs=macs)


CASCADE_RADIOS = ("ble", "lora")  # a short-range and a long-range link: offloading pays on one, not the other
CASCADE_THRESHOLDS = (0.0, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0)


@dataclass(frozen=True)
class OffloadCascade:
    """The cascade's curve on a test split for one radio: every threshold, the chosen one, the server."""

    radio: str
    server: str
    points: tuple[CascadePoint, ...]
    chosen: CascadePoint | None
    target_accuracy: float

    @property
    def beats_both(self) -> bool:
        """The chosen point is more accurate than all-local and cheaper than all-offloaded."""
        local, offload = self.points[0], self.points[-1]
        return (self.chosen is not None and self.chosen.accuracy > local.accuracy
                and self.chosen.joules_per_inference < offload.joules_per_inference)

    def to_dict(self) -> dict[str, Any]:
        return {"radio": self.radio, "server": self.server, "target_accuracy": self.target_accuracy,
                "points": [p.to_dict() for p in self.points],
                "chosen": None if self.chosen is None else self.chosen.to_dict(), "beats_both": self.beats_both,
                "method": "local = inference energy + sending the result; offload = sending the raw input + a "
                          "1-byte answer; chosen = the cheapest threshold as accurate as the better extreme"}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> OffloadCascade:
        def point(d):
            return CascadePoint(**d)
        return cls(doc["radio"], doc["server"], tuple(point(d) for d in doc["points"]),
                   None if doc["chosen"] is None else point(doc["chosen"]), doc["target_accuracy"])


def offload_cascade(doc: dict[str, Any], logits: np.ndarray, labels: np.ndarray, server_predictions: np.ndarray,
                    *, server: str, radio: str = "ble", rate: str | float = DEFAULT_RATE,
                    device: Device | None = None) -> OffloadCascade:
    """Answer on the device when its top softmax probability reaches a threshold, else send the input.

    ``logits``: the deployed model's dequantized outputs on the test split (what the C computed);
    ``server_predictions``: the bigger model's class for each of the same samples.
    """
    link = find_radio(radio)
    bud = budget_from_result(doc, rate=rate, radio=link.id, device=device)
    local_j = bud.joules_per_inference + link.message_joules(bud.bytes_per_message)
    offload_j = link.message_joules(math.prod(doc["input"]["shape"])) + link.message_joules(1)
    labels = np.asarray(labels)
    points = cascade_curve(softmax_confidence(logits), np.asarray(logits).argmax(1) == labels,
                           np.asarray(server_predictions) == labels, local_j, offload_j,
                           thresholds=np.asarray(CASCADE_THRESHOLDS))
    target = max(points[0].accuracy, points[-1].accuracy)
    return OffloadCascade(link.id, server, tuple(points), choose_threshold(points, target), target)


def read_result(out: str | Path) -> dict[str, Any]:
    path = Path(out) / "result.json"
    if not path.is_file():
        raise PocketMLError(f"{path} does not exist", "pass the --out folder of `pocketml shrink`")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise PocketMLError(f"{path} is not valid JSON: {exc}", "re-run `pocketml shrink` to rewrite it") from exc


def energy_section_html(budget: EnergyBudget, cascades: tuple[OffloadCascade, ...] = ()) -> str:
    """An HTML fragment: the budget table, the daily-budget plot and (if given) the cascade curve."""
    from pocketml.energy.plot import cascade_svg, daily_budget_svg

    b = budget
    rows = [("energy per inference", f"{b.joules_per_inference * 1e3:.4g} mJ"),
            ("time per inference", f"{b.seconds_per_inference * 1e3:.4g} ms"),
            ("cycles per inference", f"{b.cycles_per_inference:,.0f} ({b.cycles_method})"),
            (f"radio message ({b.radio}, {b.bytes_per_message} B)", f"{b.joules_per_message * 1e6:.4g} uJ"),
            ("sleep power", f"{b.sleep_watts * 1e6:.4g} uW"), ("average power", f"{b.average_watts * 1e6:.4g} uW"),
            (f"battery ({b.battery})", f"{b.battery_joules:,.0f} J"),
            ("lifetime", f"{b.lifetime_days:,.1f} days"), ("daily need", f"{b.daily_joules:.4g} J")]
    table = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in rows)
    compare = "".join(
        f"<tr><td>{c['radio']}</td><td>{c['send_raw_j'] * 1e3:.4g}</td><td>{c['compute_and_send_result_j'] * 1e3:.4g}"
        f"</td><td class={'ok' if c['local_wins'] else 'bad'}>{'compute locally' if c['local_wins'] else 'send raw'}"
        f"</td></tr>" for c in b.send_vs_compute)
    parts = [f"<h2>Energy (estimate)</h2><p class=est>Estimates from datasheet constants (docs/energy.md) at "
             f"{b.rate_hz * 60:.4g} inferences per minute; every figure is an estimate.</p>",
             f"<table>{table}</table>",
             "<table><tr><th>radio</th><th>send raw mJ</th><th>compute + send result mJ</th><th>cheaper</th></tr>"
             f"{compare}</table>", f"<figure>{daily_budget_svg(b)}</figure>"]
    for cascade in cascades:
        chosen = cascade.chosen
        rows = "".join(f"<tr><td>{p.label}{' (chosen)' if p is chosen else ''}</td>"
                       f"<td>{'' if p.threshold is None else f'{p.threshold:.2f}'}</td>"
                       f"<td>{p.accuracy:.4f}</td><td>{p.joules_per_inference * 1e3:.4g}</td>"
                       f"<td>{p.offloaded_fraction:.3f}</td></tr>" for p in cascade.points)
        local, offload = cascade.points[0], cascade.points[-1]
        where = "" if chosen is None else (chosen.label if chosen.threshold is None
                                           else f"threshold {chosen.threshold:.2f}")
        verdict = ("no threshold reaches the target accuracy" if chosen is None else
                   f"chosen: {where}: accuracy {chosen.accuracy:.4f} "
                   f"(all local {local.accuracy:.4f}) at {chosen.joules_per_inference * 1e3:.4g} mJ "
                   f"(all offloaded {offload.joules_per_inference * 1e3:.4g} mJ); "
                   + ("beats both all-local and all-offloaded" if cascade.beats_both
                      else "does not beat both extremes on this test split"))
        parts += [f"<h3>Offloading cascade over {html.escape(cascade.radio)} (server: {html.escape(cascade.server)})"
                  "</h3>", f"<figure>{cascade_svg(list(cascade.points), chosen)}</figure>",
                  f"<p>{html.escape(verdict)}. Same test samples for every point; energies are estimates.</p>",
                  "<table><tr><th>point</th><th>threshold</th><th>accuracy</th><th>mJ per inference</th>"
                  f"<th>offloaded</th></tr>{rows}</table>"]
    for w in b.warnings:
        parts.append(f"<p class=bad>{html.escape(w)}</p>")
    return "\n".join(parts)


def energy_for_output(out: str | Path, *, rate: str | float = DEFAULT_RATE, radio: str | None = None,
                      battery: str = DEFAULT_BATTERY, devices: str | Path | None = None) -> EnergyBudget:
    """``pocketml energy OUT``: the budget of a shrink output folder at a rate, radio and battery."""
    return budget_from_result(read_result(out), rate=rate, radio=radio, battery=battery, devices=devices)
