"""Augmentation: generated background noise, babble, synthetic rooms, time shift and level.

    noise(kind, n, rng)              white, pink (1/f), brown (1/f²) at unit RMS
    babble(words, n, rng)            several synthesized words overlapping (other speakers talking)
    room_impulse(rng, rt60)          exponentially decaying noise tail after a direct path
    mix_at_snr(speech, noise, snr)   noise scaled so speech power / noise power = 10^(snr/10)
    place(word, n, rng)              a word at a random position in an n-sample clip (time shift)
    perturb_speed(word, factor)      resampled by a factor: pitch, formants and tempo move together
                                     (a speaker with a shorter or longer vocal tract)

All of it is seeded numpy: the same generator state gives the same audio.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NOISE_KINDS = ("white", "pink", "brown", "babble")


@dataclass(frozen=True)
class AugmentSpec:
    """How clips are varied (defaults used for every split: the test set is as noisy as training)."""

    speed_probability: float = 0.5  # resample the word by a factor in speed_range (steps of 0.01)
    speed_range: tuple[float, float] = (0.9, 1.1)
    noise_probability: float = 0.8  # else clean
    snrs_db: tuple[float, ...] = (5.0, 10.0, 20.0, 30.0)
    reverb_probability: float = 0.3
    rt60_range_s: tuple[float, float] = (0.15, 0.7)
    peak_dbfs_range: tuple[float, float] = (-30.0, -1.0)  # the word's peak level
    silence_rms_dbfs_range: tuple[float, float] = (-75.0, -25.0)  # the "silence" class: noise only
    floor_rms_dbfs_range: tuple[float, float] = (-85.0, -65.0)  # a microphone's self-noise, always there
    babble_words: tuple[int, int] = (3, 7)


def noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Coloured Gaussian noise at unit RMS: ``white``, ``pink`` (power ∝ 1/f) or ``brown`` (∝ 1/f²)."""
    white = rng.standard_normal(n)
    if kind == "white":
        x = white
    else:
        spectrum = np.fft.rfft(white)
        f = np.arange(len(spectrum), dtype=np.float64)
        f[0] = f[1] if len(f) > 1 else 1.0
        spectrum /= np.sqrt(f) if kind == "pink" else f
        x = np.fft.irfft(spectrum, n)
    x = x - x.mean()
    return (x / (np.sqrt(np.mean(x**2)) + 1e-12)).astype(np.float32)


def babble(words: list[np.ndarray], n: int, rng: np.random.Generator, count: tuple[int, int] = (3, 7)) -> np.ndarray:
    """``count`` words (drawn from ``words``) at random places and levels, summed; unit RMS."""
    out = np.zeros(n, dtype=np.float64)
    k = int(rng.integers(count[0], count[1] + 1))
    for _ in range(k):
        w = words[int(rng.integers(len(words)))][:n]
        start = int(rng.integers(-len(w) // 2, n - len(w) // 2))
        lo, hi = max(start, 0), min(start + len(w), n)
        out[lo:hi] += w[lo - start:hi - start] * 10 ** (rng.uniform(-10, 0) / 20)
    rms = np.sqrt(np.mean(out**2))
    return (out / rms).astype(np.float32) if rms > 0 else noise("pink", n, rng)


def room_impulse(rng: np.random.Generator, rt60: float, rate: int = 16_000) -> np.ndarray:
    """A synthetic room: a direct path, then noise decaying 60 dB in ``rt60`` seconds."""
    n = int(rate * min(rt60, 1.0))
    t = np.arange(n) / rate
    tail = rng.standard_normal(n) * np.exp(-6.9078 * t / rt60)  # ln(1000) = 6.9078: -60 dB at rt60
    delay = int(rng.integers(int(0.002 * rate), int(0.01 * rate)))  # first reflections after 2-10 ms
    h = np.zeros(n + delay)
    h[0] = 1.0
    h[delay:] += tail * 10 ** (rng.uniform(-12, -4) / 20) / np.sqrt(rate * rt60 / 13.8)
    return h.astype(np.float32)


def reverberate(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    from scipy.signal import fftconvolve

    y = fftconvolve(x, h)[:len(x)]
    peak_in, peak_out = np.abs(x).max(), np.abs(y).max()
    return (y * (peak_in / peak_out) if peak_out > 0 else y).astype(np.float32)


def active_power(x: np.ndarray, frame: int = 160) -> float:
    """Mean power of the frames within 30 dB of the loudest (the spoken part, not the padding)."""
    n = len(x) // frame
    if n == 0:
        return float(np.mean(np.asarray(x, dtype=np.float64) ** 2))
    p = np.mean(np.asarray(x[:n * frame], dtype=np.float64).reshape(n, frame) ** 2, axis=1)
    return float(p[p >= p.max() * 1e-3].mean()) if p.max() > 0 else 0.0


def mix_at_snr(speech: np.ndarray, background: np.ndarray, snr_db: float) -> np.ndarray:
    """speech + background scaled so that active speech power / background power = 10^(snr/10)."""
    ps = active_power(speech)
    pn = float(np.mean(np.asarray(background, dtype=np.float64) ** 2))
    if ps == 0 or pn == 0:
        return (speech + background).astype(np.float32)
    return (speech + background * np.sqrt(ps / (pn * 10 ** (snr_db / 10)))).astype(np.float32)


def place(word: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """The word at a uniformly random start inside an ``n``-sample clip (cut to ``n`` if longer); (clip, start)."""
    w = np.asarray(word, dtype=np.float32)[:n]
    start = int(rng.integers(0, n - len(w) + 1))
    out = np.zeros(n, dtype=np.float32)
    out[start:start + len(w)] = w
    return out, start


def background(kind: str, n: int, rng: np.random.Generator, babble_pool: list[np.ndarray],
               spec: AugmentSpec) -> np.ndarray:
    if kind == "babble" and babble_pool:
        return babble(babble_pool, n, rng, spec.babble_words)
    return noise(kind if kind != "babble" else "pink", n, rng)


def perturb_speed(word: np.ndarray, factor: float, rate: int = 16_000) -> np.ndarray:
    """The word played ``factor`` times faster (pitch and formants up by ``factor``), by polyphase resampling."""
    from pocketml.apps.kws.audio import resample

    return resample(word, int(round(rate * factor)), rate)


def augment_word(word: np.ndarray, n: int, rng: np.random.Generator, babble_pool: list[np.ndarray],
                 spec: AugmentSpec = AugmentSpec()) -> tuple[np.ndarray, dict]:
    """A spoken word → one augmented clip of ``n`` samples (float32) and what was done to it."""
    info: dict = {}
    if rng.random() < spec.speed_probability:
        factor = round(float(rng.uniform(*spec.speed_range)), 2)
        word = perturb_speed(word, factor)
        info["speed"] = factor
    clip, start = place(word, n, rng)
    info.update(start=start, length=int(min(len(word), n)))
    if rng.random() < spec.reverb_probability:
        rt60 = float(rng.uniform(*spec.rt60_range_s))
        clip = reverberate(clip, room_impulse(rng, rt60))
        info["rt60"] = round(rt60, 3)
    peak = np.abs(clip).max()
    if peak > 0:
        clip = clip * (10 ** (rng.uniform(*spec.peak_dbfs_range) / 20) / peak)
    if rng.random() < spec.noise_probability:
        kind = NOISE_KINDS[int(rng.integers(len(NOISE_KINDS)))]
        snr = float(spec.snrs_db[int(rng.integers(len(spec.snrs_db)))])
        clip = mix_at_snr(clip, background(kind, n, rng, babble_pool, spec), snr)
        info.update(noise=kind, snr_db=snr)
    clip = clip + noise_floor(n, rng, spec)
    return clip.astype(np.float32), info


def noise_floor(n: int, rng: np.random.Generator, spec: AugmentSpec) -> np.ndarray:
    """Faint white or pink noise (a microphone's self-noise): no clip is digital silence."""
    kind = ("white", "pink")[int(rng.integers(2))]
    return noise(kind, n, rng) * np.float32(10 ** (rng.uniform(*spec.floor_rms_dbfs_range) / 20))


def silence_clip(n: int, rng: np.random.Generator, spec: AugmentSpec = AugmentSpec()) -> tuple[np.ndarray, dict]:
    """The "silence" class: background noise only (never babble: that is speech), at a random level."""
    kind = ("white", "pink", "brown")[int(rng.integers(3))]
    level = float(rng.uniform(*spec.silence_rms_dbfs_range))
    return noise(kind, n, rng) * np.float32(10 ** (level / 20)), {"noise": kind, "rms_dbfs": round(level, 1)}
