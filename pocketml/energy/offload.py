"""Answer locally or offload: the cascade of a deployed model, on its test split, over a radio.

The device answers when its top softmax probability reaches a threshold, else sends the raw input to
a bigger server model; for each threshold, accuracy and energy per inference against all-local and
all-offloaded (``cascade.py`` has the curve; this builds it for a model's :class:`InferenceProfile`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pocketml.energy.budget import InferenceProfile, budget_for
from pocketml.energy.cascade import CascadePoint, cascade_curve, choose_threshold, softmax_confidence
from pocketml.energy.radios import find_radio

DEFAULT_RATE = "1/min"


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


def offload_cascade(profile: InferenceProfile, logits: np.ndarray, labels: np.ndarray,
                    server_predictions: np.ndarray, *, server: str, radio: str = "ble",
                    rate: str | float = DEFAULT_RATE) -> OffloadCascade:
    """Answer on the device when its top softmax probability reaches a threshold, else send the input.

    ``logits``: the deployed model's dequantized outputs on the test split (what the C computed);
    ``server_predictions``: the bigger model's class for each of the same samples.
    """
    link = find_radio(radio)
    bud = budget_for(profile, rate, radio=link.id)
    local_j = bud.joules_per_inference + link.message_joules(bud.bytes_per_message)
    offload_j = link.message_joules(profile.raw_bytes) + link.message_joules(1)
    labels = np.asarray(labels)
    points = cascade_curve(softmax_confidence(logits), np.asarray(logits).argmax(1) == labels,
                           np.asarray(server_predictions) == labels, local_j, offload_j,
                           thresholds=np.asarray(CASCADE_THRESHOLDS))
    target = max(points[0].accuracy, points[-1].accuracy)
    return OffloadCascade(link.id, server, tuple(points), choose_threshold(points, target), target)
