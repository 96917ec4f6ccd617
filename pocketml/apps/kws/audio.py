"""Audio in and out: WAV files (any PCM or float format, any rate, any channels) as 16 kHz mono.

    read_wav(path)            (rate, float32 mono in [-1, 1]); PocketMLError on a bad file
    resample(x, from, to)     polyphase (scipy.signal.resample_poly)
    to_int16(x)               float [-1, 1] → int16 with clipping
    write_wav(path, pcm)      16 kHz int16 mono (atomic)
    load_wav_folder(folder)   one subfolder of WAV files per label → 1 s clips (the user's recordings)
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pocketml.errors import PocketMLError

SAMPLE_RATE = 16_000


def read_wav(path: str | Path) -> tuple[int, np.ndarray]:
    """A WAV file as (sample rate, float32 mono in [-1, 1]); channels are averaged."""
    from scipy.io import wavfile

    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", wavfile.WavFileWarning)  # unknown chunks (LIST, ...) are fine
            rate, data = wavfile.read(path)
    except FileNotFoundError as exc:
        raise PocketMLError(f"{path} does not exist", "pass an existing .wav file") from exc
    except (ValueError, EOFError, OSError) as exc:
        raise PocketMLError(f"{path} is not a WAV file pocketml can read ({exc})",
                            "save it as PCM (8/16/24/32-bit) or float WAV, e.g. `sox in.x -b 16 out.wav`") from exc
    data = np.asarray(data)
    if data.size == 0:
        raise PocketMLError(f"{path} holds no audio samples", "record at least one second or remove the file")
    if data.dtype.kind == "f":
        audio = data.astype(np.float32)
    elif data.dtype == np.uint8:  # 8-bit WAV is unsigned
        audio = (data.astype(np.float32) - 128.0) / 128.0
    elif data.dtype.kind == "i":
        audio = data.astype(np.float32) / float(-np.iinfo(data.dtype).min)
    else:
        raise PocketMLError(f"{path} has samples of type {data.dtype}", "save it as 16-bit PCM WAV")
    if audio.ndim == 2:
        audio = audio.mean(axis=1)
    if not np.all(np.isfinite(audio)):
        raise PocketMLError(f"{path} holds NaN or infinite samples", "re-export the recording")
    if not 1000 <= rate <= 384_000:
        raise PocketMLError(f"{path} says its sample rate is {rate} Hz", "re-export it at a real rate (e.g. 16 kHz)")
    return int(rate), np.clip(audio, -1.0, 1.0)


def resample(x: np.ndarray, rate_from: int, rate_to: int = SAMPLE_RATE) -> np.ndarray:
    """Polyphase resampling (exact ratio ``rate_to / rate_from``), float32 out."""
    if rate_from == rate_to:
        return np.asarray(x, dtype=np.float32)
    from scipy.signal import resample_poly

    g = math.gcd(int(rate_from), int(rate_to))
    return resample_poly(np.asarray(x, dtype=np.float64), rate_to // g, rate_from // g).astype(np.float32)


def trim_silence(x: np.ndarray, threshold_db: float = -45.0, frame: int = 160) -> np.ndarray:
    """Cut leading and trailing frames quieter than ``threshold_db`` below the loudest frame."""
    x = np.asarray(x, dtype=np.float32)
    n = len(x) // frame
    if n == 0:
        return x
    rms = np.sqrt(np.mean(x[:n * frame].reshape(n, frame).astype(np.float64) ** 2, axis=1) + 1e-20)
    loud = np.nonzero(20 * np.log10(rms / rms.max()) > threshold_db)[0]
    if len(loud) == 0:
        return x[:0]
    return x[loud[0] * frame:(loud[-1] + 1) * frame]


def to_int16(x: np.ndarray) -> np.ndarray:
    """Float audio in [-1, 1] → int16 (rounded, clipped)."""
    return np.clip(np.round(np.asarray(x, dtype=np.float64) * 32768.0), -32768, 32767).astype(np.int16)


def wav_bytes(pcm: np.ndarray, rate: int = SAMPLE_RATE) -> bytes:
    """16-bit mono WAV bytes of int16 ``pcm`` (Python's ``wave``)."""
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(pcm, dtype="<i2").tobytes())
    return buf.getvalue()


def read_pcm16k(path: str | Path) -> np.ndarray:
    """Any WAV → int16 mono at 16 kHz."""
    rate, audio = read_wav(path)
    return to_int16(resample(audio, rate, SAMPLE_RATE))


def fit_clip(x: np.ndarray, samples: int = SAMPLE_RATE) -> np.ndarray:
    """A one-word recording as exactly ``samples``: the loudest window of that length, or centred with zeros."""
    x = np.asarray(x, dtype=np.float32)
    if len(x) >= samples:
        energy = np.convolve(x.astype(np.float64) ** 2, np.ones(samples), mode="valid")
        start = int(np.argmax(energy))
        return x[start:start + samples]
    out = np.zeros(samples, dtype=np.float32)
    start = (samples - len(x)) // 2
    out[start:start + len(x)] = x
    return out


@dataclass(frozen=True)
class LabelledClips:
    """1 s clips of 16 kHz int16 with labels (indices into ``labels``) and where each came from."""

    pcm: np.ndarray  # [N, 16000] int16
    y: np.ndarray  # [N] int64
    labels: tuple[str, ...]
    sources: tuple[str, ...]  # file path (or rendering) per clip


def load_wav_folder(folder: str | Path, labels: tuple[str, ...] | None = None) -> LabelledClips:
    """The user's recordings: ``folder/<label>/*.wav`` → 1 s 16 kHz clips (see :func:`fit_clip`).

    ``labels``: the label set to map subfolders onto (a trained model's); a subfolder outside it is
    an error naming the allowed labels. Without it, the sorted subfolder names are the labels.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise PocketMLError(f"{folder} is not a folder", "pass a folder with one subfolder of .wav files per label")
    subs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not subs:
        raise PocketMLError(f"{folder} has no label subfolders",
                            "put each label's recordings in its own subfolder: FOLDER/yes/1.wav, FOLDER/no/1.wav, ...")
    names = tuple(p.name for p in subs) if labels is None else tuple(labels)
    unknown = [p.name for p in subs if p.name not in names]
    if unknown:
        raise PocketMLError(f"{folder} has subfolders that are not labels of the model: {', '.join(unknown)}",
                            f"name them after the model's labels: {', '.join(names)}")
    pcm, ys, sources = [], [], []
    for sub in subs:
        files = sorted(p for p in sub.iterdir() if p.suffix.lower() == ".wav")
        if not files:
            raise PocketMLError(f"{sub} holds no .wav files", "add recordings or remove the empty subfolder")
        for f in files:
            rate, audio = read_wav(f)
            pcm.append(to_int16(fit_clip(resample(audio, rate, SAMPLE_RATE))))
            ys.append(names.index(sub.name))
            sources.append(str(f))
    return LabelledClips(np.stack(pcm), np.array(ys, dtype=np.int64), names, tuple(sources))
