"""Per-device data shift: every device sees the task through its own sensor.

For images (digits, 8x8 in [0, 1]) a device has its own rotation, stroke width, gain and noise:

    x' = clip(gain · stroke(rotate(x, angle)) + N(0, noise²), 0, 1)
    stroke(x) = x + width · (dilate(x) − x)   (width > 0: thicker; < 0: thinner, erode instead)

``device_shifts(n, seed)`` draws ``n`` devices' settings (seeded, so device 3 of seed 0 is always
the same device); ``DeviceShift.apply(x, rng)`` shifts a batch (fresh noise per sample from ``rng``).
The model is trained on the clean data; personalisation (``pocketml.ondevice.personalize``) adapts
it on the device to the device's own shift.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage

from pocketml.errors import PocketMLError


@dataclass(frozen=True)
class DeviceShift:
    """One device's shift (see the module docstring)."""

    angle_deg: float
    width: float
    gain: float
    noise: float

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Shift a float32 image batch [N, 1, H, W] (values in [0, 1])."""
        x = np.asarray(x, np.float32)
        if x.ndim != 4 or x.shape[1] != 1:
            raise PocketMLError(f"device shifts apply to [N, 1, H, W] images, got shape {x.shape}",
                                "pass single-channel images such as the digits")
        img = ndimage.rotate(x[:, 0], self.angle_deg, axes=(2, 1), reshape=False, order=1, mode="constant")
        grown = (ndimage.grey_dilation if self.width > 0 else ndimage.grey_erosion)(img, size=(1, 2, 2))
        img = img + abs(self.width) * (grown - img)
        img = self.gain * img + rng.normal(0.0, self.noise, img.shape)
        return np.clip(img, 0.0, 1.0).astype(np.float32)[:, None]

    def to_dict(self) -> dict:
        return {k: round(float(v), 4) for k, v in asdict(self).items()}


def device_shifts(n: int, seed: int = 0, *, max_angle: float = 35.0) -> list[DeviceShift]:
    """``n`` devices' shifts: angle ±[10, max_angle]°, stroke width ±[0.3, 0.8], gain [0.6, 1.1], noise [0.05, 0.2]."""
    if n < 1:
        raise PocketMLError(f"need at least one device, got {n}", "pass devices >= 1")
    rng = np.random.default_rng([seed, 7907])
    out = []
    for _ in range(n):
        sign = rng.choice([-1.0, 1.0], size=2)
        out.append(DeviceShift(float(sign[0] * rng.uniform(10.0, max_angle)), float(sign[1] * rng.uniform(0.3, 0.8)),
                               float(rng.uniform(0.6, 1.1)), float(rng.uniform(0.05, 0.2))))
    return out
