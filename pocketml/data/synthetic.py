"""Seeded synthetic stand-ins for the MLPerf Tiny datasets (there is no built-in audio or image data).

pocketml ships no speech, image or machine-sound data and downloads nothing, so the MLPerf
Tiny-shaped model families are calibrated and tested on *synthetic* data with the same shapes and
realistic value ranges. These are not the real datasets: accuracies on them say nothing about
Speech Commands, CIFAR-10 or ToyADMOS. What they do give is activations spread over realistic
ranges, so int8 calibration, rounding and the C are exercised as they would be on real inputs.

* :func:`keyword_mfcc` — Speech Commands-like MFCCs, [N, 1, 49, 10] (49 frames x 10 cepstral
  coefficients, the MLPerf KWS input): coefficient 0 (log energy) roughly in [-40, 30], the others
  within about ±15, 12 classes each with its own time-frequency template.
* :func:`tiny_images` — CIFAR-10-like images, [N, 3, 32, 32], pixels in [0, 1]: per class a mean
  colour, a blob and a stripe orientation, plus smooth noise.
* :func:`machine_log_mel` — ToyADMOS-like log-mel frames, [N, 640] (5 frames x 128 mel bands, the
  MLPerf anomaly-detection input), in dB roughly in [-60, 0]: a machine's harmonic envelope plus
  noise; label 1 marks anomalies (shifted harmonics), 0 normal.

Every generator is deterministic given ``seed``.
"""

from __future__ import annotations

import numpy as np

from pocketml.data.dataset import Dataset, Split


def _split(x: np.ndarray, y: np.ndarray, name: str, n_classes: int, fractions=(0.6, 0.2)) -> Dataset:
    n = len(x)
    a, b = int(n * fractions[0]), int(n * (fractions[0] + fractions[1]))
    return Dataset(name, Split(x[:a], y[:a]), Split(x[a:b], y[a:b]), Split(x[b:], y[b:]), n_classes)


def keyword_mfcc(n: int = 600, seed: int = 0) -> Dataset:
    """Synthetic 12-class keyword MFCCs, [N, 1, 49, 10] float32 (see the module docstring)."""
    r = np.random.default_rng(seed)
    frames = np.arange(49)[None, :, None]
    templates = []
    for _ in range(12):
        centre, width = r.uniform(12, 36), r.uniform(4, 12)
        envelope = np.exp(-0.5 * ((frames - centre) / width) ** 2)  # the word's energy over time
        shape = r.normal(0, 8, size=(1, 1, 10)) * (0.6 ** np.arange(10))  # cepstral shape, decaying
        templates.append((envelope, shape))
    y = r.integers(0, 12, size=n)
    x = np.empty((n, 1, 49, 10), np.float32)
    for i, label in enumerate(y):
        envelope, shape = templates[label]
        shift = int(r.integers(-4, 5))
        env = np.roll(envelope, shift, axis=1)
        mfcc = env * shape * r.uniform(0.7, 1.3) + r.normal(0, 1.5, size=(1, 49, 10))
        mfcc[..., 0] += -30 + 55 * env[..., 0] + r.normal(0, 2)  # log energy: silence ~ -30, speech ~ +25
        x[i] = mfcc
    return _split(x, y.astype(np.int64), "synthetic-keywords", 12)


def tiny_images(n: int = 600, seed: int = 0) -> Dataset:
    """Synthetic 10-class colour images, [N, 3, 32, 32] float32 in [0, 1] (see the module docstring)."""
    r = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:32, 0:32] / 31.0
    classes = [(r.uniform(0.2, 0.8, size=3), r.uniform(0.2, 0.8, size=2), r.uniform(0, np.pi)) for _ in range(10)]
    y = r.integers(0, 10, size=n)
    x = np.empty((n, 3, 32, 32), np.float32)
    for i, label in enumerate(y):
        colour, (cy, cx), angle = classes[label]
        cy, cx = cy + r.normal(0, 0.08), cx + r.normal(0, 0.08)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 0.03)
        stripes = 0.5 + 0.5 * np.sin(12 * (np.cos(angle) * xx + np.sin(angle) * yy) + r.uniform(0, 6.3))
        noise = r.normal(0, 0.08, size=(3, 8, 8)).repeat(4, axis=1).repeat(4, axis=2)  # smooth noise
        img = 0.35 * colour[:, None, None] + 0.35 * blob[None] * colour[::-1, None, None] + 0.2 * stripes[None] + noise
        x[i] = np.clip(img, 0.0, 1.0)
    return _split(x, y.astype(np.int64), "synthetic-images", 10)


def machine_log_mel(n: int = 600, seed: int = 0, anomaly_fraction: float = 0.2) -> Dataset:
    """Synthetic machine-sound log-mel frames, [N, 640] float32 in dB; y = 1 for anomalies."""
    r = np.random.default_rng(seed)
    bands = np.arange(128)
    base = -45 + 25 * np.exp(-bands / 40.0)  # a falling spectral envelope
    harmonics = (12, 25, 37, 50, 74)
    y = (r.uniform(size=n) < anomaly_fraction).astype(np.int64)
    x = np.empty((n, 640), np.float32)
    for i in range(n):
        shift = int(r.integers(3, 9)) if y[i] else 0
        spectrum = base.copy()
        for h in harmonics:
            spectrum += 18 * np.exp(-0.5 * ((bands - h - shift) / 1.5) ** 2)
        frames = spectrum[None] + r.normal(0, 3, size=(5, 128)) + r.normal(0, 2)
        x[i] = np.clip(frames, -60, 0).ravel()
    return _split(x, y, "synthetic-machine-sounds", 2)
