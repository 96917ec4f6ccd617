"""The keyword spotter's audio front end: float definition, fixed point, C (bit for bit, sanitized)."""

from __future__ import annotations

import numpy as np
import pytest

from pocketml.apps.kws import csource
from pocketml.apps.kws.frontend import (
    FeatureQuantizer,
    FixedFrontEnd,
    FrontEndSpec,
    dct_matrix,
    feature_statistics,
    frames,
    hann_periodic,
    mel_matrix,
    mfcc_float,
    standardize,
)
from pocketml.errors import PocketMLError

SPEC = FrontEndSpec()


def _signals(seed: int = 0) -> np.ndarray:
    """Tones and noise from full scale down to a few LSB, silence, DC at both rails, alternating rails."""
    rng = np.random.default_rng(seed)
    t = np.arange(16000) / 16000
    out = []
    for amp in (32767, 12000, 3000, 300, 30, 3, 1):
        x = amp * np.sin(2 * np.pi * (200 + amp % 1000) * t) + 0.1 * amp * rng.standard_normal(16000)
        out.append(np.clip(np.round(x), -32768, 32767))
    out += [np.zeros(16000), np.full(16000, -32768), np.full(16000, 32767),
            np.where(np.arange(16000) % 2 == 0, 32767, -32768), rng.integers(-32768, 32768, 16000)]
    chirp = 8000 * np.sin(2 * np.pi * (100 + 3900 * t) * t) * np.exp(-3 * t)
    out.append(np.round(chirp))
    return np.stack(out).astype(np.int16)


@pytest.fixture(scope="module")
def fe() -> FixedFrontEnd:
    return FixedFrontEnd(SPEC)


def test_shape_is_49_by_10(fe):
    assert SPEC.n_frames == 49 and SPEC.feature_shape == (49, 10)
    assert fe.mfcc_q16(_signals()[:2]).shape == (2, 49, 10)
    assert mfcc_float(_signals()[:2]).shape == (2, 49, 10)


def test_float_reference_is_the_definition_computed_naively():
    """One frame by hand: periodic Hann, 512-point DFT as a sum, |X|, mel, ln(+1e-6), DCT-II/sqrt(80)."""
    x = _signals()[1][3200:3200 + 480].astype(np.float64) / 32768
    n = np.arange(480)
    w = 0.5 - 0.5 * np.cos(2 * np.pi * n / 480)
    k = np.arange(257)[:, None]
    spectrum = np.abs(np.sum(x * w * np.exp(-2j * np.pi * k * n / 512), axis=1))
    hz = np.linspace(0, 8000, 257)
    mel = 1127 * np.log(1 + hz / 700)
    edges = np.linspace(1127 * np.log(1 + 20 / 700), 1127 * np.log(1 + 4000 / 700), 42)
    fb = np.zeros((257, 40))
    for m in range(40):
        lo, c, hi = edges[m:m + 3]
        fb[1:, m] = np.maximum(0, np.minimum((mel[1:] - lo) / (c - lo), (hi - mel[1:]) / (hi - c)))
    log_mel = np.log(spectrum @ fb + 1e-6)
    mfcc = [2 * np.sum(log_mel * np.cos(np.pi * j * (2 * np.arange(40) + 1) / 80)) / np.sqrt(80) for j in range(10)]
    assert np.allclose(mfcc_float(_signals()[1:2])[0, 10], mfcc, atol=1e-9)
    assert np.allclose(hann_periodic(480), w) and mel_matrix(SPEC).shape == (257, 40)
    assert np.allclose(dct_matrix(SPEC) @ dct_matrix(SPEC).T * 40 / 40, dct_matrix(SPEC) @ dct_matrix(SPEC).T)


def test_fixed_point_is_close_to_float(fe):
    pcm = _signals()
    err = np.abs(fe.mfcc(pcm) - mfcc_float(pcm)).max(axis=(1, 2))  # MFCC units (natural log)
    assert err[[0, 1, 2, 3, 4, 5, 6, 7, 11]].max() < 1e-3, err  # tones + noise at any level, silence
    assert err[[8, 9, 12]].max() < 3e-2, err  # DC at the rails, a clean chirp: bands ~100 dB down
    assert np.all(np.isfinite(err))  # alternating rails: all energy at 8 kHz, the filters see only leakage


@pytest.mark.parametrize("flags", ["plain", "sanitized"])
def test_c_front_end_is_bit_exact(fe, tmp_path, flags):
    cflags = csource.CFLAGS if flags == "plain" else csource.SANITIZE
    csource.write_files(tmp_path, csource.frontend_files(fe))
    binary = csource.build(tmp_path, cflags)
    fr = frames(_signals(), SPEC).reshape(-1, SPEC.window_samples)
    assert np.array_equal(csource.c_frontend_mfcc(binary, fr, SPEC.n_mfcc), fe.frame_mfcc_q16(fr))


def test_stream_features_equal_clip_features(fe):
    """Frames are stateless: the features of a 1 s window cut from a stream are the stream's features there."""
    stream = np.concatenate(list(_signals()[:4]))
    whole = fe.mfcc_q16(stream)
    for t in (48, 100, 151):
        clip = stream[(t - 48) * 320:(t - 48) * 320 + 16000]
        assert np.array_equal(fe.mfcc_q16(clip), whole[t - 48:t + 1])


def test_feature_quantizer_matches_float_rounding(fe):
    mfcc = fe.mfcc_q16(_signals())
    mean, std = feature_statistics(mfcc)
    q = FeatureQuantizer(mean, std, input_scale=0.05, zero_point=-3)
    got = q(mfcc).astype(int)
    want = np.clip(np.round(standardize(mfcc, mean, std).astype(np.float64) / 0.05) - 3, -128, 127)
    assert np.abs(got - want).max() <= 1 and np.mean(got == want) > 0.99


def test_bad_settings_are_refused():
    with pytest.raises(PocketMLError, match="512"):
        FixedFrontEnd(FrontEndSpec(fft_size=1024))
    with pytest.raises(PocketMLError, match="mel"):
        FixedFrontEnd(FrontEndSpec(mel_high_hz=9000))
    with pytest.raises(PocketMLError, match="int16"):
        FixedFrontEnd().mfcc_q16(np.zeros(16000, np.float32))
    with pytest.raises(PocketMLError, match="positive"):
        FeatureQuantizer(np.zeros(10, np.int32), np.zeros(10), 0.1, 0)
