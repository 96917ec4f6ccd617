"""Keyword data: voices split three ways, deterministic synthesis and augmentation, the WAV loader."""

from __future__ import annotations

import wave
from dataclasses import replace

import numpy as np
import pytest

from pocketml.apps.kws.audio import load_wav_folder, read_wav, wav_bytes
from pocketml.apps.kws.augment import active_power, mix_at_snr, noise
from pocketml.apps.kws.dataset import DataSpec, build_split, load_dataset, small_spec, split_voices
from pocketml.apps.kws.frontend import FixedFrontEnd
from pocketml.apps.kws.speech import Rendering, espeak_voices, synthesize_espeak, synthesize_festival
from pocketml.errors import PocketMLError


def test_every_english_voice_and_variant_is_used_and_no_voice_is_in_two_splits():
    accents, variants = espeak_voices()
    assert {"en-us", "en-gb"} <= set(accents) and len(variants) > 50
    split = split_voices(DataSpec())
    seen = [v for s in ("train", "val", "test") for v in split.variants[s]]
    assert len(seen) == len(set(seen)) and sorted(seen) == sorted(variants)  # every variant, in one split
    assert all(split.accents[s] == tuple(sorted(accents)) for s in ("train", "val", "test"))  # shared
    voices = [set(split.voices(s)) for s in ("train", "val", "test")]
    assert not (voices[0] & voices[1] or voices[0] & voices[2] or voices[1] & voices[2])
    held = split_voices(replace(DataSpec(), test_accents=2))  # the dialect-transfer variant: accents held out too
    seen = [a for s in ("train", "val", "test") for a in held.accents[s]]
    assert len(seen) == len(set(seen)) == len(accents) and len(held.accents["test"]) == 2


def test_synthesis_is_deterministic_and_16khz():
    r = Rendering("espeak", "left", "en-us+f3", 150, 60, 100)
    a, b = synthesize_espeak(r), synthesize_espeak(r)
    assert np.array_equal(a, b) and 0.2 < len(a) / 16000 < 1.0 and np.abs(a).max() > 0.05
    slow = synthesize_espeak(replace(r, rate=100))
    assert len(slow) > len(a)  # the rate reaches the synthesizer
    fest = synthesize_festival([Rendering("festival", "stop", v, 1.0, 1.0, 1.0) for v in ("kal", "slt")])
    assert all(0.2 < len(f) / 16000 < 1.0 for f in fest)


def test_split_generation_is_deterministic_and_labelled(tmp_path):
    spec = replace(small_spec(), per_class=(4, 3, 2))
    fe = FixedFrontEnd()
    voices = split_voices(spec)
    a = build_split(spec, "val", voices, fe, keep_audio=True)
    b = build_split(spec, "val", voices, fe, keep_audio=True)
    assert np.array_equal(a.pcm, b.pcm) and np.array_equal(a.mfcc_q16, b.mfcc_q16)
    assert np.bincount(a.y).tolist() == [3] * len(spec.labels)
    assert set(a.speakers[a.y > 0]) <= {f"espeak:{v}" for v in voices.voices("val")}
    assert all(w == "" for w in a.words[a.y == 0])  # silence: no word
    assert set(a.words[a.y == 1]) <= set(spec.unknown_words)
    assert np.array_equal(a.mfcc_q16, fe.mfcc_q16(a.pcm))
    other = build_split(replace(spec, seed=1), "val", split_voices(replace(spec, seed=1)), fe, keep_audio=True)
    assert not np.array_equal(other.pcm, a.pcm)


def test_augmentation_mixes_at_the_asked_snr():
    rng = np.random.default_rng(0)
    speech = np.zeros(16000, np.float32)
    speech[4000:8000] = np.sin(np.arange(4000) * 0.3) * 0.5
    for snr in (5.0, 20.0):
        bg = noise("pink", 16000, rng)
        mixed = mix_at_snr(speech, bg, snr)
        got = 10 * np.log10(active_power(speech) / np.mean((mixed - speech).astype(np.float64) ** 2))
        assert abs(got - snr) < 1e-3


def test_noise_colours_have_their_slopes():
    rng = np.random.default_rng(1)
    for kind, slope in (("white", 0.0), ("pink", -1.0), ("brown", -2.0)):
        x = noise(kind, 1 << 16, rng)
        p = np.abs(np.fft.rfft(x)) ** 2
        f = np.arange(len(p))
        band = (f > 100) & (f < 20000)
        fit = np.polyfit(np.log(f[band]), np.log(p[band] + 1e-20), 1)[0]
        assert abs(fit - slope) < 0.15, (kind, fit)
        assert abs(np.sqrt(np.mean(x.astype(np.float64) ** 2)) - 1) < 1e-3


def test_cache_is_read_back(tmp_path):
    spec = replace(small_spec(), per_class=(3, 2, 2), festival_per_class=1, babble_pool=3)
    first = load_dataset(spec, tmp_path, festival=False)
    again = load_dataset(spec, tmp_path, festival=False)
    assert not first.from_cache and again.from_cache
    for name, sp in first.splits.items():
        assert np.array_equal(sp.mfcc_q16, again.splits[name].mfcc_q16)
        assert (sp.pcm is None) == (again.splits[name].pcm is None)
    assert first.splits["train"].pcm is None and first.splits["test"].pcm is not None


def _write(path, data: np.ndarray, rate: int, width: int, channels: int = 1):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data.tobytes())


def test_wav_folder_of_the_users_recordings(tmp_path):
    t = np.arange(8000) / 8000
    tone = np.sin(2 * np.pi * 440 * t)
    (tmp_path / "yes").mkdir()
    (tmp_path / "no").mkdir()
    _write(tmp_path / "yes" / "a.wav", (tone * 20000).astype("<i2"), 8000, 2)  # 1 s at 8 kHz, 16-bit
    stereo = np.stack([tone, tone], axis=1)[:6000]
    _write(tmp_path / "yes" / "b.wav", (stereo * 20000).astype("<i2"), 8000, 2, channels=2)  # stereo, 0.75 s
    _write(tmp_path / "no" / "c.wav", (tone * 100 + 128).astype(np.uint8), 8000, 1)  # 8-bit unsigned
    from scipy.io import wavfile

    long = np.sin(2 * np.pi * 300 * np.arange(44100 * 2) / 44100).astype(np.float32) * 0.3
    wavfile.write(tmp_path / "no" / "d.wav", 44100, long)  # float32 at 44.1 kHz, 2 s
    clips = load_wav_folder(tmp_path, labels=("silence", "unknown", "yes", "no"))
    assert clips.pcm.shape == (4, 16000) and clips.pcm.dtype == np.int16
    assert clips.y.tolist() == [3, 3, 2, 2]  # subfolders in sorted order: no, yes
    assert abs(np.abs(clips.pcm[2]).max() / 32768 - 20000 / 32768) < 0.02  # level kept
    rate, audio = read_wav(tmp_path / "yes" / "b.wav")
    assert rate == 8000 and audio.ndim == 1
    assert len(wav_bytes(clips.pcm[0])) == 44 + 32000


def test_bad_recordings_get_clear_errors(tmp_path):
    (tmp_path / "yes").mkdir()
    (tmp_path / "yes" / "bad.wav").write_bytes(b"RIFF not really")
    with pytest.raises(PocketMLError, match="not a WAV"):
        load_wav_folder(tmp_path)
    (tmp_path / "yes" / "bad.wav").unlink()
    with pytest.raises(PocketMLError, match="no .wav files"):
        load_wav_folder(tmp_path)
    (tmp_path / "maybe").mkdir()
    _write(tmp_path / "maybe" / "x.wav", np.zeros(100, "<i2"), 16000, 2)
    with pytest.raises(PocketMLError, match="not labels of the model"):
        load_wav_folder(tmp_path, labels=("yes", "no"))
    with pytest.raises(PocketMLError, match="not a folder"):
        load_wav_folder(tmp_path / "nope")
