"""Long test streams: keywords embedded in noise and unknown speech, and how a detector scores on them.

    stream = generate_stream(StreamSpec(minutes=3, seed=0), voices, keywords, ...)
    score = score_events(events, stream.occurrences, stream.seconds, ...)   # misses, false accepts/h
    curve = det_curve(run, stream, ...)                                      # every threshold

A stream is continuous background noise (white, pink, brown segments; level varying) with, at
random non-overlapping times, keywords (the targets), other words and phrases of babble-word
"unknown speech", all spoken by the held-out voices. The ground truth is each keyword's label,
onset and end (samples).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pocketml.apps.kws.audio import to_int16
from pocketml.apps.kws.augment import noise, reverberate, room_impulse
from pocketml.apps.kws.detector import DetectorSpec, Event, StreamRun, decide
from pocketml.apps.kws.speech import Rendering, synthesize_many

SR = 16_000


@dataclass(frozen=True)
class StreamSpec:
    """How a stream is made (seeded).

    Parameters
    ----------
    minutes : length.
    gap_s : (min, max) silence-or-speech gap between consecutive spoken items.
    keyword_fraction : share of spoken items that are keywords (the rest: unknown words, phrases).
    snr_db : (min, max) speech-to-noise ratio of each item, uniform.
    noise_dbfs : (min, max) background RMS level, per 10 s segment.
    reverb_probability : share of items spoken in a synthetic room.
    """

    minutes: float = 3.0
    gap_s: tuple[float, float] = (1.0, 4.0)
    keyword_fraction: float = 0.4
    phrase_words: tuple[int, int] = (2, 5)
    snr_db: tuple[float, float] = (5.0, 25.0)
    noise_dbfs: tuple[float, float] = (-60.0, -35.0)
    reverb_probability: float = 0.3
    seed: int = 0


@dataclass(frozen=True)
class Occurrence:
    label: int
    start: int  # sample
    end: int
    word: str
    speaker: str


@dataclass(frozen=True)
class Stream:
    pcm: np.ndarray  # int16
    occurrences: tuple[Occurrence, ...]  # the keywords only
    others: tuple[Occurrence, ...] = field(default=())  # unknown words and phrases (label -1)

    @property
    def seconds(self) -> float:
        return len(self.pcm) / SR


def _renderer(engine: str, voices: list[str], rng: np.random.Generator):
    def make(word: str) -> Rendering:
        v = voices[int(rng.integers(len(voices)))]
        if engine == "festival":
            return Rendering("festival", word, v, float(rng.choice([0.85, 1.0, 1.15])), 1.0, 1.0)
        return Rendering("espeak", word, v, round(float(rng.uniform(120, 200))), round(float(rng.uniform(20, 80))),
                         100.0)
    return make


def generate_stream(spec: StreamSpec, voices: list[str], keywords: tuple[str, ...], unknown_words: tuple[str, ...],
                    babble_words: tuple[str, ...], engine: str = "espeak", first_keyword: int = 2) -> Stream:
    """One stream (see the module docstring); ``voices`` are the held-out voices that speak in it."""
    rng = np.random.default_rng([spec.seed, 11])
    n = int(spec.minutes * 60 * SR)
    make = _renderer(engine, voices, rng)
    items: list[tuple[str, list[Rendering]]] = []  # (kind, words)
    t = 0.5
    starts = []
    while True:
        t += float(rng.uniform(*spec.gap_s))
        if t > spec.minutes * 60 - 2.0:
            break
        u = rng.random()
        if u < spec.keyword_fraction:
            items.append(("keyword", [make(keywords[int(rng.integers(len(keywords)))])]))
        elif u < spec.keyword_fraction + (1 - spec.keyword_fraction) / 2:
            items.append(("unknown", [make(unknown_words[int(rng.integers(len(unknown_words)))])]))
        else:
            k = int(rng.integers(spec.phrase_words[0], spec.phrase_words[1] + 1))
            items.append(("phrase", [make(babble_words[int(rng.integers(len(babble_words)))]) for _ in range(k)]))
        starts.append(t)
        t += 0.6 * len(items[-1][1])  # room for the item itself
    unique = sorted({r for _, rs in items for r in rs}, key=repr)
    audio = dict(zip(unique, synthesize_many(unique), strict=True))
    out = _background(n, spec, rng)
    keys, others = [], []
    for (kind, rs), start_s in zip(items, starts, strict=True):
        speech = np.concatenate([np.concatenate([audio[r], np.zeros(int(SR * rng.uniform(0.05, 0.2)), np.float32)])
                                 for r in rs])
        if rng.random() < spec.reverb_probability:
            speech = reverberate(np.concatenate([speech, np.zeros(SR // 4, np.float32)]),
                                 room_impulse(rng, float(rng.uniform(0.15, 0.6))))
        s0 = int(start_s * SR)
        s1 = min(s0 + len(speech), n)
        seg = out[s0:s1]
        level = np.sqrt(np.mean(seg.astype(np.float64) ** 2)) + 1e-9
        snr = float(rng.uniform(*spec.snr_db))
        gain = np.sqrt(level**2 * 10 ** (snr / 10)) / (np.sqrt(np.mean(speech.astype(np.float64) ** 2)) + 1e-12)
        out[s0:s1] = seg + speech[:s1 - s0] * gain
        word = " ".join(r.word for r in rs)
        spoken = int(len(audio[rs[0]])) if kind == "keyword" else s1 - s0
        occ = Occurrence(first_keyword + keywords.index(rs[0].word) if kind == "keyword" else -1, s0,
                         min(s0 + spoken, n), word, rs[0].speaker)
        (keys if kind == "keyword" else others).append(occ)
    return Stream(to_int16(out), tuple(keys), tuple(others))


def _background(n: int, spec: StreamSpec, rng: np.random.Generator) -> np.ndarray:
    """10 s segments of white / pink / brown noise at levels in ``noise_dbfs``, cross-faded."""
    seg = 10 * SR
    out = np.zeros(n, dtype=np.float32)
    fade = SR // 2
    ramp = np.linspace(0, 1, fade, dtype=np.float32)
    for s in range(0, n, seg):
        length = min(seg + fade, n - s)
        kind = ("white", "pink", "brown")[int(rng.integers(3))]
        x = noise(kind, length, rng) * np.float32(10 ** (rng.uniform(*spec.noise_dbfs) / 20))
        if s > 0:
            x[:min(fade, length)] *= ramp[:min(fade, length)]
        if length > seg:
            x[seg:] *= ramp[::-1][:length - seg]
        out[s:s + length] += x
    return out


@dataclass(frozen=True)
class StreamScore:
    keywords: int
    hits: int
    misses: int
    false_accepts: int
    hours: float

    @property
    def false_rejection_rate(self) -> float:
        return self.misses / self.keywords if self.keywords else 0.0

    @property
    def false_accepts_per_hour(self) -> float:
        return self.false_accepts / self.hours if self.hours else 0.0

    def to_dict(self) -> dict:
        return {"keywords": self.keywords, "hits": self.hits, "misses": self.misses,
                "false_accepts": self.false_accepts, "hours": self.hours,
                "false_rejection_rate": self.false_rejection_rate,
                "false_accepts_per_hour": self.false_accepts_per_hour}


def score_events(events: tuple[Event, ...], occurrences: tuple[Occurrence, ...], seconds: float,
                 hop: int, window: int, tolerance_s: float) -> StreamScore:
    """A detection hits a keyword of its label if its window's end is in [onset, onset + 1 s + tolerance];
    each keyword counts once; every other detection (wrong label, no keyword, a second one) is a false accept."""
    hit = np.zeros(len(occurrences), dtype=bool)
    false = 0
    for e in events:
        end = e.frame * hop + window
        match = [i for i, o in enumerate(occurrences)
                 if not hit[i] and o.label == e.label and o.start <= end <= o.start + SR + tolerance_s * SR]
        if match:
            hit[match[0]] = True
        else:
            false += 1
    return StreamScore(len(occurrences), int(hit.sum()), int((~hit).sum()), false, seconds / 3600.0)


def det_curve(runs: list[tuple[StreamRun, Stream]], spec: DetectorSpec, hop: int, window: int, frame_ms: float,
              thresholds: np.ndarray | None = None) -> list[dict]:
    """False rejection rate and false accepts per hour at each threshold, over all ``runs`` pooled."""
    smooth = spec.smooth
    sums = thresholds if thresholds is not None else np.unique(np.linspace(0.2, 1.0, 33) * 256 * smooth).round()
    tol = spec.smooth * spec.every_frames * frame_ms / 1000.0 + 0.25
    curve = []
    for thr in sums.astype(int):
        kw = hits = fa = 0
        hours = 0.0
        for run, stream in runs:
            ev = decide(run.frames, run.sums, int(thr), spec.refractory_frames(frame_ms))
            sc = score_events(ev, stream.occurrences, stream.seconds, hop, window, tol)
            kw, hits, fa, hours = kw + sc.keywords, hits + sc.hits, fa + sc.false_accepts, hours + sc.hours
        curve.append({"threshold": float(thr) / (256 * smooth), "threshold_sum": int(thr),
                      "false_rejection_rate": 1 - hits / kw if kw else 0.0,
                      "false_accepts_per_hour": fa / hours if hours else 0.0})
    return curve
