"""Offloading cascade: answer on the device when confident, otherwise send the input to a bigger model.

For a confidence threshold t (the device model's top softmax probability):

    offloaded   = samples with confidence < t
    accuracy    = mean(local correct on kept samples, remote correct on offloaded ones)
    energy / inference = E_local + fraction_offloaded x E_offload

t = 0 is "all local" (nothing offloaded); "all offloaded" skips the device model entirely
(energy = E_offload, accuracy = the remote model's). ``choose_threshold`` picks the cheapest
threshold whose accuracy reaches the target.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from pocketml.errors import PocketMLError


@dataclass(frozen=True)
class CascadePoint:
    label: str  # "all local", "cascade", "all offloaded"
    threshold: float | None
    accuracy: float
    joules_per_inference: float
    offloaded_fraction: float

    def to_dict(self) -> dict:
        return asdict(self)


def softmax_confidence(logits: np.ndarray) -> np.ndarray:
    """Top-class softmax probability of each row of (dequantized) logits."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return (p / p.sum(axis=1, keepdims=True)).max(axis=1)


def cascade_curve(confidence: np.ndarray, local_correct: np.ndarray, remote_correct: np.ndarray,
                  local_joules: float, offload_joules: float,
                  thresholds: np.ndarray | None = None) -> list[CascadePoint]:
    """All-local, one point per threshold, and all-offloaded, on the same test samples."""
    conf = np.asarray(confidence, dtype=np.float64)
    local, remote = np.asarray(local_correct, bool), np.asarray(remote_correct, bool)
    if not (len(conf) == len(local) == len(remote)) or len(conf) == 0:
        raise PocketMLError(f"confidence, local and remote results must have one entry per sample "
                            f"(got {len(conf)}, {len(local)}, {len(remote)})", "pass the same test samples to each")
    if local_joules < 0 or offload_joules < 0:
        raise PocketMLError("energies must be >= 0", "pass joules per inference and per offload")
    ts = np.linspace(0.0, 1.0, 21) if thresholds is None else np.asarray(thresholds, dtype=np.float64)
    points = []
    for t in ts:
        off = conf < t
        acc = float(np.mean(np.where(off, remote, local)))
        frac = float(np.mean(off))
        label = "all local" if t == 0 else "cascade"
        points.append(CascadePoint(label, float(t), acc, local_joules + frac * offload_joules, frac))
    points.append(CascadePoint("all offloaded", None, float(np.mean(remote)), offload_joules, 1.0))
    return points


def choose_threshold(points: list[CascadePoint], target_accuracy: float) -> CascadePoint | None:
    """The lowest-energy point whose accuracy is at least ``target_accuracy`` (None if none is)."""
    ok = [p for p in points if p.accuracy >= target_accuracy]
    return min(ok, key=lambda p: (p.joules_per_inference, -p.accuracy)) if ok else None
