"""The audio front end, specified once: 16 kHz PCM → 49 x 10 MFCCs per second, three ways.

:class:`FrontEndSpec` holds every constant (a frozen dataclass). The features are MLPerf Tiny's
keyword-spotting MFCCs (its ``get_dataset.py``, ``feature_type='mfcc'``, built on ``tf.signal``):

    frame   30 ms (480 samples) every 20 ms (320), periodic Hann window, zero-padded to a 512 FFT
    |X|     magnitude spectrum (257 bins)
    mel     40 triangular filters, 20-4000 Hz, HTK mel scale (``tf.signal.linear_to_mel_weight_matrix``)
    log     ln(mel + 1e-6)
    MFCC    DCT-II scaled by 1/sqrt(2·40) (``tf.signal.mfccs_from_log_mel_spectrograms``), first 10

Why these and not TFLite Micro's micro-frontend: the DS-CNN's 49 x 10 input is MLPerf's MFCC
(the micro-frontend gives 40 log filterbank channels), and every MFCC frame depends only on its
own 480 samples, whereas the micro-frontend's noise reduction and PCAN gain carry state from frame
to frame. Stateless frames make the streaming detector's features *equal* to the features of the
same second cut out as a clip, so the model is trained on exactly what the device computes.
One difference from MLPerf: no per-clip peak normalisation (a stream has no clip to normalise);
samples are scaled by 1/32768, and loudness varies in the training data instead.

The three implementations (each frame is computed independently):

* :func:`mfcc_float` — float64 numpy, the definition above (the reference for the error figures);
* :class:`FixedFrontEnd` — integers only, numpy; the C twin (``c/kws_frontend.c``) computes the
  same numbers bit for bit. Per frame:

  1. window and block scaling: ``p = x · w_q30`` (int64, |p| < 2^45), ``y = p · 2^s`` with
     ``s = 29 - bitlen(max|p|)`` (``s < 0``: ``y = (p + 2^(-s-1)) >> -s``), so |y| <= 2^29
     whatever the loudness (block floating point: quiet frames keep their bits; a Q15 window
     would leave a -96 dB floor of quantization leakage);
  2. a 512-point real FFT as a 256-point complex radix-2 FFT of (even, odd) samples: int32 data,
     Q31 twiddles (1.0 → 2^31 - 1), each product ``(b · w) >> 32`` (the high word of one 32x32
     multiply) and ``a >> 1``, i.e. every stage halves (no growth: |Z| < 2^30); then the real
     split, halved too, giving X/256 for the bins the filters use;
  3. magnitude: ``floor(sqrt(P))``, P = re² + im² < 2^62, computed on the top 32 bits
     (``isqrt(P >> 2k) << k``: at least 16 significant bits);
  4. mel: Q15 weights, uint64 sums; real mel = mel_int · 2^-(52+s);
  5. log: ``log2(mel_int + round(1e-6 · 2^(52+s)))`` in Q16 (128-entry table, linear
     interpolation), minus (52+s)·2^16;
  6. DCT: Q24 coefficients of ``D · ln 2``, int64 sums, ``(acc + 2^23) >> 24`` → MFCC in Q16 (int32).

  Every bound above is checked in :meth:`FixedFrontEnd.__init__` from the tables it builds.
* :func:`quantize_features` — MFCC Q16 → the model's int8 input: per coefficient
  ``q = zp + MBQM(mfcc - mean_j, M_j)`` (TFLite's fixed-point multiply, ``graph/fixedpoint``),
  where ``M_j = 1 / (std_j · s_in · 2^16)`` folds the standardisation into the quantization.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from pocketml.errors import PocketMLError
from pocketml.graph.fixedpoint import check_left_shift_bound, multiply_by_quantized_multiplier, quantize_multiplier

LN2 = float(np.log(2.0))


@dataclass(frozen=True)
class FrontEndSpec:
    """Every constant of the front end (defaults: MLPerf Tiny KWS MFCCs; see the module docstring)."""

    sample_rate: int = 16_000
    window_samples: int = 480  # 30 ms
    hop_samples: int = 320  # 20 ms
    fft_size: int = 512
    n_mel: int = 40
    mel_low_hz: float = 20.0
    mel_high_hz: float = 4000.0
    n_mfcc: int = 10
    log_offset: float = 1e-6
    clip_samples: int = 16_000  # 1 s: 49 frames
    # fixed point
    window_bits: int = 30  # Hann window in Q30
    block_bits: int = 29  # every frame is scaled so that max|y| <= 2^29
    twiddle_bits: int = 31  # Q31 (1.0 → 2^31 - 1); products are shifted by 32: (b·W)/2, each stage halves
    sqrt_bits: int = 32  # the square root works on the top 32 bits of the power
    mel_weight_bits: int = 15
    log_table_bits: int = 7  # 128 linear segments of log2 on [1, 2)
    log_interp_bits: int = 16
    log_frac_bits: int = 16
    dct_bits: int = 24
    mfcc_frac_bits: int = 16

    @property
    def n_frames(self) -> int:
        return 1 + (self.clip_samples - self.window_samples) // self.hop_samples

    @property
    def feature_shape(self) -> tuple[int, int]:
        return (self.n_frames, self.n_mfcc)

    @property
    def frame_ms(self) -> float:
        return 1000.0 * self.hop_samples / self.sample_rate

    def check(self) -> FrontEndSpec:
        if self.fft_size != 512 or self.window_samples > self.fft_size:
            raise PocketMLError(f"the fixed-point FFT is a 512-point real FFT, got fft_size={self.fft_size} and "
                                f"window_samples={self.window_samples}", "use fft_size=512 and a window <= 512")
        if not 0 < self.mel_low_hz < self.mel_high_hz <= self.sample_rate / 2:
            raise PocketMLError("the mel filters must lie in (0, sample_rate/2]", "e.g. 20-4000 Hz at 16 kHz")
        if not 0 < self.n_mfcc <= self.n_mel:
            raise PocketMLError("n_mfcc must be in [1, n_mel]", "e.g. 10 of 40")
        return self


# ---- the definition, in float64 -------------------------------------------------------------------
def hann_periodic(n: int) -> np.ndarray:
    """``tf.signal.hann_window(n, periodic=True)``: 0.5 - 0.5 cos(2πi/n)."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """HTK mel scale, as tf.signal: 1127 ln(1 + f/700)."""
    return 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)


def mel_matrix(spec: FrontEndSpec) -> np.ndarray:
    """[fft/2+1, n_mel] triangular weights on the mel scale; the DC bin gets none (tf.signal's rule)."""
    n_bins = spec.fft_size // 2 + 1
    freqs = np.linspace(0.0, spec.sample_rate / 2.0, n_bins)[1:]
    mel = hz_to_mel(freqs)[:, None]
    edges = np.linspace(hz_to_mel(spec.mel_low_hz), hz_to_mel(spec.mel_high_hz), spec.n_mel + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (mel - lower) / (center - lower)
    falling = (upper - mel) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return np.vstack([np.zeros((1, spec.n_mel)), weights])


def dct_matrix(spec: FrontEndSpec) -> np.ndarray:
    """[n_mfcc, n_mel]: unnormalised DCT-II (2 Σ x cos(πk(2n+1)/2N)) times 1/sqrt(2N)."""
    n = np.arange(spec.n_mel)
    k = np.arange(spec.n_mfcc)[:, None]
    return 2.0 * np.cos(np.pi * k * (2 * n + 1) / (2 * spec.n_mel)) / np.sqrt(2.0 * spec.n_mel)


def frames(pcm: np.ndarray, spec: FrontEndSpec) -> np.ndarray:
    """[..., samples] int16 → [..., n, window] frames (n = 1 + (samples - window) // hop)."""
    pcm = np.asarray(pcm)
    n = 1 + (pcm.shape[-1] - spec.window_samples) // spec.hop_samples
    if n < 1:
        raise PocketMLError(f"{pcm.shape[-1]} samples are fewer than one {spec.window_samples}-sample window",
                            "pass at least 30 ms of audio")
    idx = np.arange(n)[:, None] * spec.hop_samples + np.arange(spec.window_samples)
    return pcm[..., idx]


def mfcc_float(pcm: np.ndarray, spec: FrontEndSpec = FrontEndSpec()) -> np.ndarray:
    """The float64 reference: int16 PCM [..., samples] → MFCC [..., frames, n_mfcc]."""
    x = frames(np.asarray(pcm, dtype=np.float64) / 32768.0, spec) * hann_periodic(spec.window_samples)
    mag = np.abs(np.fft.rfft(x, n=spec.fft_size, axis=-1))
    log_mel = np.log(mag @ mel_matrix(spec) + spec.log_offset)
    return log_mel @ dct_matrix(spec).T


# ---- fixed point ---------------------------------------------------------------------------------
def _round_q(x: np.ndarray, bits: int) -> np.ndarray:
    return np.round(np.asarray(x, dtype=np.float64) * (1 << bits)).astype(np.int64)


def _bit_reverse(n: int) -> np.ndarray:
    bits = n.bit_length() - 1
    return np.array([int(format(i, f"0{bits}b")[::-1], 2) for i in range(n)], dtype=np.int64)


def bit_length_u64(v: np.ndarray) -> np.ndarray:
    """Number of significant bits of each non-negative value (0 for 0), exactly (no float)."""
    v = np.asarray(v, dtype=np.uint64)
    e = np.zeros(v.shape, dtype=np.int64)
    for shift in (32, 16, 8, 4, 2, 1):
        big = (v >> (e + shift).astype(np.uint64)) != 0
        e += shift * big
    return e + (v != 0)


def isqrt_u64(v: np.ndarray) -> np.ndarray:
    """floor(sqrt(v)) for uint64 ``v`` (what the C's bit-by-bit square root returns)."""
    v = np.asarray(v, dtype=np.uint64)
    r = np.floor(np.sqrt(v.astype(np.float64))).astype(np.uint64)
    for _ in range(2):  # the float guess is within 1 of the answer: correct it both ways, exactly
        r = np.where(r * r > v, r - np.uint64(1), r)
        r1 = r + np.uint64(1)
        r = np.where(r1 * r1 <= v, r1, r)
    return r


@dataclass(frozen=True)
class FixedTables:
    """The constant tables of the fixed-point front end (the C gets the same numbers)."""

    window: np.ndarray  # [window] int32, Q30 Hann
    bitrev: np.ndarray  # [256] int64, bit-reversed order of the 256-point FFT input
    fft_cos: np.ndarray  # [128] Q31 cos(2πk/256) (1.0 → 2^31 - 1)
    fft_sin: np.ndarray  # [128] Q31 sin(2πk/256)
    split_cos: np.ndarray  # [bins] Q31 cos(2πk/512) for k in [bin_lo, bin_hi]
    split_sin: np.ndarray  # [bins] Q31 sin(2πk/512)
    bin_lo: int
    bin_hi: int  # inclusive
    mel: np.ndarray  # [bins, n_mel] Q15 weights (uint16 range)
    log_table: np.ndarray  # [2^log_table_bits + 1] Q16 log2(1 + i/2^bits)
    log_offset: np.ndarray  # round(log_offset · 2^(mel_exponent+s)) for s = min_shift .. block_bits, uint64
    dct: np.ndarray  # [n_mfcc, n_mel] Q24 of D · ln 2 (int64)
    mel_exponent: int  # real mel = mel_int · 2^-(mel_exponent + s), s the frame's block exponent


class FixedFrontEnd:
    """The integer front end (see the module docstring); ``mfcc_q16(pcm)`` is bit-exact with the C."""

    def __init__(self, spec: FrontEndSpec = FrontEndSpec()) -> None:
        self.spec = spec.check()
        self.tables = self._build_tables()
        self._check_bounds()

    def _build_tables(self) -> FixedTables:
        s = self.spec
        window = _round_q(hann_periodic(s.window_samples), s.window_bits)
        window = np.minimum(window, (1 << s.window_bits) - 1)  # fits int32
        k = np.arange(128)
        weights = mel_matrix(s)
        used = np.nonzero(weights.sum(1) > 0)[0]
        lo, hi = int(used[0]), int(used[-1])
        kb = np.arange(lo, hi + 1)
        mel = np.minimum(_round_q(weights[lo:hi + 1], s.mel_weight_bits), 1 << s.mel_weight_bits)
        steps = 1 << s.log_table_bits
        log_table = _round_q(np.log2(1.0 + np.arange(steps + 1) / steps), s.log_frac_bits)
        # x/2^15 · w/2^30 = p · 2^-45 and y = p · 2^s; the FFT and split divide by 256; Q15 weights
        mel_exponent = 15 + s.window_bits - 8 + s.mel_weight_bits
        offsets = np.array([round(s.log_offset * 2.0 ** (mel_exponent + b))
                            for b in range(self.min_shift, s.block_bits + 1)], dtype=np.uint64)
        dct = _round_q(dct_matrix(s) * LN2, s.dct_bits)
        top = (1 << s.twiddle_bits) - 1

        def twiddle(v: np.ndarray) -> np.ndarray:
            return np.clip(_round_q(v, s.twiddle_bits), -top, top)

        return FixedTables(window=window, bitrev=_bit_reverse(256),
                           fft_cos=twiddle(np.cos(2 * np.pi * k / 256)), fft_sin=twiddle(np.sin(2 * np.pi * k / 256)),
                           split_cos=twiddle(np.cos(2 * np.pi * kb / 512)),
                           split_sin=twiddle(np.sin(2 * np.pi * kb / 512)),
                           bin_lo=lo, bin_hi=hi, mel=mel, log_table=log_table, log_offset=offsets, dct=dct,
                           mel_exponent=mel_exponent)

    def _check_bounds(self) -> None:
        """The overflow bounds the docstring states, checked on these tables (worst case inputs)."""
        t, s = self.tables, self.spec
        assert t.window.max() < 1 << 31 and 1 <= t.bin_lo and t.bin_hi < 128
        assert 15 + s.window_bits < 63 and self.min_shift <= 0
        w_max = int(max(np.abs(t.fft_cos).max(), np.abs(t.fft_sin).max()))
        assert w_max < 1 << 31 and s.twiddle_bits == 31  # int32 twiddles; (b·w) >> 32 halves
        z_mod = np.sqrt(2.0) * 2.0**s.block_bits  # |re|, |im| <= 2^29
        for _ in range(8):  # |(a >> 1) ± (W b) / 2| <= (|a| + |b|) / 2 + 2 (two floors)
            z_mod = z_mod + 2
        assert z_mod < 2.0**31 and 2 * z_mod * 2.0**s.twiddle_bits < 2.0**63
        x_mod = 2 * z_mod + 2  # |(A + B) / 2 + W (A - B) / 2j| <= |A| + |B|
        assert x_mod < 2.0**31
        power = 2 * x_mod * x_mod
        assert power < 2.0**63
        mel_max = float(t.mel.sum(0).max()) * np.sqrt(power) + float(t.log_offset.max())
        assert mel_max < 2.0**63
        log_max = 64 << s.log_frac_bits
        assert int(np.abs(t.dct).sum(1).max()) * log_max < 1 << 62
        diff = int(np.diff(t.log_table).max())
        assert diff * ((1 << s.log_interp_bits) - 1) < 1 << 31

    @property
    def min_shift(self) -> int:
        """The most negative block exponent: |x · w| < 2^(15 + window_bits)."""
        return self.spec.block_bits - (15 + self.spec.window_bits)

    @cached_property
    def mel_ranges(self) -> list[tuple[int, int]]:
        """Per filter: (first bin offset from bin_lo, bin count) of its non-zero weights."""
        out = []
        for m in range(self.spec.n_mel):
            nz = np.nonzero(self.tables.mel[:, m])[0]
            out.append((int(nz[0]), int(nz[-1] - nz[0] + 1)))
        return out

    # -- the steps, vectorised over frames -----------------------------------------------------------
    def window_and_scale(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """int16 frames [F, window] → (block-scaled int64 frames [F, 512], block exponent s per frame [F])."""
        p = x.astype(np.int64) * self.tables.window
        peak = np.abs(p).max(axis=-1)
        shift = self.spec.block_bits - bit_length_u64(peak)  # >= min_shift since |p| < 2^45
        y = np.zeros((len(p), self.spec.fft_size), dtype=np.int64)
        up = np.maximum(shift, 0)[:, None]
        down = np.maximum(-shift, 0)[:, None]
        half = np.where(down > 0, np.int64(1) << np.maximum(down - 1, 0), 0)
        y[:, :p.shape[1]] = np.where(shift[:, None] < 0, (p + half) >> down, p << up)
        return y, shift

    def fft_half(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The 256-point complex FFT of (y[2n], y[2n+1]), each stage halving → (re, im) = Z/256, [F, 256]."""
        t = self.tables
        shift = self.spec.twiddle_bits + 1
        re = y[:, 0::2][:, t.bitrev].copy()
        im = y[:, 1::2][:, t.bitrev].copy()
        frames_, n = re.shape
        size = 2
        while size <= n:
            half = size // 2
            wr = t.fft_cos[np.arange(half) * (n // size)]
            wi = -t.fft_sin[np.arange(half) * (n // size)]  # W = exp(-2πjk/256)
            r = re.reshape(frames_, n // size, size)
            i = im.reshape(frames_, n // size, size)
            ar, ai, br, bi = r[..., :half] >> 1, i[..., :half] >> 1, r[..., half:], i[..., half:]
            tr = ((wr * br) >> shift) - ((wi * bi) >> shift)
            ti = ((wr * bi) >> shift) + ((wi * br) >> shift)
            re = np.concatenate([ar + tr, ar - tr], axis=-1).reshape(frames_, n)
            im = np.concatenate([ai + ti, ai - ti], axis=-1).reshape(frames_, n)
            size *= 2
        return re, im

    def magnitudes(self, re: np.ndarray, im: np.ndarray) -> np.ndarray:
        """|X[k]| / 256 for k in [bin_lo, bin_hi] from the half-size FFT (the real-FFT split, halved)."""
        t = self.tables
        shift = self.spec.twiddle_bits + 1
        k = np.arange(t.bin_lo, t.bin_hi + 1)
        ar, ai = re[:, k], im[:, k]
        br, bi = re[:, 256 - k], -im[:, 256 - k]  # conj(Z[256-k])
        sr, si, dr, di = ar + br, ai + bi, ar - br, ai - bi
        wr, wi = t.split_cos, -t.split_sin  # W = exp(-2πjk/512)
        xr = (sr >> 1) + ((wr * di + wi * dr) >> shift)
        xi = (si >> 1) + ((wi * di - wr * dr) >> shift)
        return self.sqrt_top_bits((xr * xr + xi * xi).astype(np.uint64))

    def sqrt_top_bits(self, v: np.ndarray) -> np.ndarray:
        """``isqrt(v >> 2k) << k`` with the smallest k that leaves at most ``sqrt_bits`` bits."""
        k = np.maximum(0, bit_length_u64(v) - self.spec.sqrt_bits + 1) >> 1
        return isqrt_u64(v >> (2 * k).astype(np.uint64)) << k.astype(np.uint64)

    def log_mel(self, mag: np.ndarray, shift: np.ndarray) -> np.ndarray:
        """Q16 log2 of the mel energies (offset added, scale removed): [F, n_mel] int64."""
        t, s = self.tables, self.spec
        mel = np.zeros((len(mag), s.n_mel), dtype=np.uint64)
        for m, (first, count) in enumerate(self.mel_ranges):  # the C's loop: only the filter's bins
            w = t.mel[first:first + count, m].astype(np.uint64)
            mel[:, m] = (mag[:, first:first + count].astype(np.uint64) * w).sum(axis=1)
        v = mel + t.log_offset[shift - self.min_shift][:, None]
        return self.log2_q16(v) - ((t.mel_exponent + shift[:, None]) << s.log_frac_bits)

    def log2_q16(self, v: np.ndarray) -> np.ndarray:
        """log2(v) in Q16 for v >= 1: exponent + table with linear interpolation (int64 out)."""
        t, s = self.tables, self.spec
        v = np.asarray(v, dtype=np.uint64)
        e = bit_length_u64(v) - 1
        m = v << (63 - e).astype(np.uint64)  # bit 63 set
        idx = ((m >> np.uint64(63 - s.log_table_bits)) & np.uint64((1 << s.log_table_bits) - 1)).astype(np.int64)
        rem = ((m >> np.uint64(63 - s.log_table_bits - s.log_interp_bits))
               & np.uint64((1 << s.log_interp_bits) - 1)).astype(np.int64)
        a, b = t.log_table[idx], t.log_table[idx + 1]
        frac = a + (((b - a) * rem + (1 << (s.log_interp_bits - 1))) >> s.log_interp_bits)
        return (e << s.log_frac_bits) + frac

    def dct(self, log_mel: np.ndarray) -> np.ndarray:
        """Q16 MFCCs: (Σ dct_q24 · log2_q16 + 2^23) >> 24, int32."""
        s = self.spec
        acc = log_mel @ self.tables.dct.T  # int64, exact (bounds checked)
        return ((acc + (1 << (s.dct_bits - 1))) >> s.dct_bits).astype(np.int32)

    def frame_mfcc_q16(self, x: np.ndarray) -> np.ndarray:
        """int16 frames [F, window] → MFCC Q16 [F, n_mfcc] (int32)."""
        y, shift = self.window_and_scale(np.asarray(x))
        re, im = self.fft_half(y)
        return self.dct(self.log_mel(self.magnitudes(re, im), shift))

    def mfcc_q16(self, pcm: np.ndarray, chunk: int = 4096) -> np.ndarray:
        """int16 PCM [..., samples] → MFCC Q16 [..., frames, n_mfcc] (int32), in chunks of frames."""
        pcm = np.asarray(pcm)
        if pcm.dtype != np.int16:
            raise PocketMLError(f"the front end takes int16 PCM, got {pcm.dtype}",
                                "convert with pocketml.apps.kws.audio.to_int16 (or np.int16 samples)")
        fr = frames(pcm, self.spec)
        lead = fr.shape[:-1]
        flat = fr.reshape(-1, self.spec.window_samples)
        out = np.empty((len(flat), self.spec.n_mfcc), dtype=np.int32)
        for start in range(0, len(flat), chunk):
            out[start:start + chunk] = self.frame_mfcc_q16(flat[start:start + chunk])
        return out.reshape(*lead, self.spec.n_mfcc)

    def mfcc(self, pcm: np.ndarray) -> np.ndarray:
        """The fixed-point MFCCs as float64 (Q16 / 2^16), for comparison with :func:`mfcc_float`."""
        return self.mfcc_q16(pcm).astype(np.float64) / (1 << self.spec.mfcc_frac_bits)


# ---- features → the model's int8 input -------------------------------------------------------------
@dataclass(frozen=True)
class FeatureQuantizer:
    """Standardise each MFCC coefficient and quantize to the model's int8 input, in integers.

    ``q = clamp(zero_point + MBQM(mfcc_q16 - mean_q16[j], multiplier[j], shifts[j]))`` with the
    real multiplier ``1 / (std[j] · input_scale · 2^16)``: what the model was trained on is
    ``(mfcc - mean) / std`` in float, and ``input_scale``/``zero_point`` come from its calibration.
    """

    mean_q16: np.ndarray  # [n_mfcc] int32
    std: np.ndarray  # [n_mfcc] float
    input_scale: float
    zero_point: int
    multiplier: np.ndarray = field(init=False)
    left_shift: np.ndarray = field(init=False)
    right_shift: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        if not self.input_scale > 0 or np.any(np.asarray(self.std) <= 0):
            raise PocketMLError("feature scales must be positive", "recompute the feature statistics")
        parts = [quantize_multiplier(1.0 / (float(sd) * self.input_scale * 65536.0)) for sd in self.std]
        object.__setattr__(self, "multiplier", np.array([p[0] for p in parts], dtype=np.int32))
        object.__setattr__(self, "left_shift", np.array([p[1] for p in parts], dtype=np.int32))
        object.__setattr__(self, "right_shift", np.array([p[2] for p in parts], dtype=np.int32))
        check_left_shift_bound(1 << 25, self.left_shift)  # |mfcc_q16 - mean| < 2^25 (bounds above)

    def __call__(self, mfcc_q16: np.ndarray) -> np.ndarray:
        x = np.asarray(mfcc_q16, dtype=np.int64) - self.mean_q16.astype(np.int64)
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        q = multiply_by_quantized_multiplier(x.astype(np.int32), self.multiplier, self.left_shift, self.right_shift)
        return np.clip(q.astype(np.int64) + self.zero_point, -128, 127).astype(np.int8).reshape(shape)


def standardize(mfcc_q16: np.ndarray, mean_q16: np.ndarray, std: np.ndarray) -> np.ndarray:
    """The float features the model trains on: (mfcc - mean) / std, float32."""
    return ((np.asarray(mfcc_q16, dtype=np.float64) - mean_q16) / (np.asarray(std) * 65536.0)).astype(np.float32)


def feature_statistics(mfcc_q16: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-coefficient mean (Q16, int32) and standard deviation (in Q16 units / 2^16) over all frames."""
    flat = np.asarray(mfcc_q16, dtype=np.float64).reshape(-1, mfcc_q16.shape[-1])
    mean = np.round(flat.mean(0)).astype(np.int32)
    std = np.maximum(flat.std(0) / 65536.0, 1e-3)
    return mean, std
