"""The streaming detector in Python, in integers: the reference the C program (``kws_feed``) matches.

    frames every 20 ms → int8 features (front end + quantizer) → a ring of the last 49 frames
    every ``every_frames`` frames: the model on the last second → int8 posteriors
    smoothing: per class, the sum of (posterior + 128) over the last ``smooth`` inferences
    decision: the best keyword fires when its sum reaches ``threshold_sum`` and the last
              detection is at least ``refractory_frames`` frames old

Because every frame's features depend only on its own 30 ms, the features of a stream are the
front end applied to the whole stream at once, and the model's input at frame t is exactly the
features of the one-second clip ending there: training clips and the stream see the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pocketml.apps.kws.frontend import FeatureQuantizer, FixedFrontEnd
from pocketml.errors import PocketMLError

FIRST_KEYWORD = 2  # classes: silence, unknown, then the keywords


@dataclass(frozen=True)
class DetectorSpec:
    """When the model runs and when a keyword counts as heard.

    Parameters
    ----------
    every_frames : run the model every this many 20 ms frames (default 15: every 300 ms).
    smooth : average the posteriors of this many inferences (default 2).
    threshold : the averaged posterior of the best keyword that fires a detection (default 0.6).
    refractory_s : no new detection within this many seconds of the last one (default 1.0).
    """

    every_frames: int = 15
    smooth: int = 2
    threshold: float = 0.6
    refractory_s: float = 1.0

    def check(self) -> DetectorSpec:
        if not 1 <= self.every_frames <= 1000 or not 1 <= self.smooth <= 64:
            raise PocketMLError(f"every_frames={self.every_frames} and smooth={self.smooth} are out of range",
                                "use every_frames in [1, 1000] and smooth in [1, 64]")
        if not 0.0 < self.threshold <= 1.0 or self.refractory_s < 0:
            raise PocketMLError(f"threshold {self.threshold} must be in (0, 1] and refractory_s >= 0",
                                "e.g. threshold 0.6, refractory 1.0 s")
        return self

    @property
    def threshold_sum(self) -> int:
        """The threshold in the C's units: sum over ``smooth`` inferences of (q + 128), q/256 + 1/2 = p."""
        return int(round(self.threshold * 256 * self.smooth))

    def refractory_frames(self, frame_ms: float) -> int:
        return int(math.ceil(self.refractory_s * 1000.0 / frame_ms))


@dataclass(frozen=True)
class Event:
    frame: int
    label: int
    score: int

    def seconds(self, fe: FixedFrontEnd) -> float:
        """End of the window the detection was made on, in seconds from the start of the stream."""
        s = fe.spec
        return (self.frame * s.hop_samples + s.window_samples) / s.sample_rate


@dataclass(frozen=True)
class StreamRun:
    """Everything the detector computed on one stream (all integers)."""

    features: np.ndarray  # [F, n_mfcc] int8
    frames: np.ndarray  # [I] frame index of each inference
    outputs: np.ndarray  # [I, classes] int8 posteriors
    sums: np.ndarray  # [I, classes] int32 smoothed sums
    events: tuple[Event, ...]


def inference_frames(n_frames: int, window_frames: int, every: int) -> np.ndarray:
    """Frames after which the model runs: window_frames - 1, then every ``every`` frames."""
    return np.arange(window_frames - 1, n_frames, every, dtype=np.int64)


def smoothed_sums(outputs: np.ndarray, smooth: int) -> np.ndarray:
    """Per inference and class: the sum of (q + 128) over it and the ``smooth - 1`` before (0 before the start)."""
    p = np.asarray(outputs, dtype=np.int32) + 128
    c = np.cumsum(np.concatenate([np.zeros((1, p.shape[1]), np.int32), p]), axis=0)
    idx = np.arange(1, len(p) + 1)
    return (c[idx] - c[np.maximum(idx - smooth, 0)]).astype(np.int32)


def decide(frames: np.ndarray, sums: np.ndarray, threshold_sum: int, refractory_frames: int,
           first_keyword: int = FIRST_KEYWORD) -> tuple[Event, ...]:
    """The decision rule of kws.c: best keyword (first of equals), threshold, refractory time."""
    kw = sums[:, first_keyword:]
    best = kw.argmax(axis=1)
    best_sum = kw[np.arange(len(kw)), best]
    events: list[Event] = []
    last = None
    for i in np.nonzero(best_sum >= threshold_sum)[0]:
        f = int(frames[i])
        if last is not None and f - last < refractory_frames:
            continue
        last = f
        events.append(Event(f, int(best[i]) + first_keyword, int(best_sum[i])))
    return tuple(events)


class StreamingDetector:
    """Front end + quantizer + model + smoother + decision over whole streams, bit-exact with ``kws_feed``.

    ``model`` maps int8 inputs [B, frames, n_mfcc, 1] to int8 posteriors [B, classes] (a QuantGraph's
    ``run``).
    """

    def __init__(self, frontend: FixedFrontEnd, quantizer: FeatureQuantizer,
                 model: Callable[[np.ndarray], np.ndarray], spec: DetectorSpec = DetectorSpec(),
                 first_keyword: int = FIRST_KEYWORD) -> None:
        self.frontend = frontend
        self.quantizer = quantizer
        self.model = model
        self.spec = spec.check()
        self.first_keyword = first_keyword

    def features(self, pcm: np.ndarray) -> np.ndarray:
        return self.quantizer(self.frontend.mfcc_q16(np.asarray(pcm, dtype=np.int16)))

    def run(self, pcm: np.ndarray, batch: int = 256) -> StreamRun:
        fe = self.frontend.spec
        feats = self.features(pcm)
        frames = inference_frames(len(feats), fe.n_frames, self.spec.every_frames)
        outs = []
        for start in range(0, len(frames), batch):
            f = frames[start:start + batch]
            idx = f[:, None] - fe.n_frames + 1 + np.arange(fe.n_frames)
            outs.append(np.asarray(self.model(feats[idx][..., None])).reshape(len(f), -1).astype(np.int8))
        outputs = np.concatenate(outs) if outs else np.zeros((0, 0), np.int8)
        sums = smoothed_sums(outputs, self.spec.smooth) if len(outputs) else np.zeros((0, 0), np.int32)
        events = decide(frames, sums, self.spec.threshold_sum, self.spec.refractory_frames(fe.frame_ms),
                        self.first_keyword) if len(frames) else ()
        return StreamRun(feats, frames, outputs, sums, events)
