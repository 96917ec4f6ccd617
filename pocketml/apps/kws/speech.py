"""Speech without downloads: words spoken by Debian's espeak-ng and Festival, as 16 kHz int16.

    espeak_voices()                    every English espeak-ng voice (accent) and every variant
    synthesize_espeak(word, voice, rate, pitch, amplitude)      one word → float32 [-1, 1] at 16 kHz
    synthesize_festival(requests)      many words through one Festival process (test set only)

A *voice* is an (accent, variant) pair such as ``en-us+f3``: espeak-ng's English voices set the
accent (pronunciation), its variants the speaker (pitch, formants, breathiness). MBROLA voices are
left out: they need the non-free ``mbrola`` voice packages. Both synthesizers are deterministic, so
a rendering is fully named by its parameters (:class:`Rendering`).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from pocketml.apps.kws.audio import read_wav, resample, trim_silence
from pocketml.errors import PocketMLError

SAMPLE_RATE = 16_000
KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
# the other Speech Commands words: the "unknown" class
UNKNOWN_WORDS = ("bed", "bird", "cat", "dog", "eight", "five", "four", "happy", "house", "marvin", "nine", "one",
                 "seven", "sheila", "six", "three", "tree", "two", "wow", "zero", "backward", "follow", "forward",
                 "learn", "visual")
# babble and the streams' unknown speech: everyday words that are none of the above
BABBLE_WORDS = ("weather", "coffee", "morning", "table", "number", "water", "people", "little", "between", "music",
                "window", "garden", "paper", "yellow", "river", "maybe", "hello", "thanks", "kitchen", "station",
                "evening", "children", "pocket", "market", "doctor", "summer", "answer", "letter", "minute", "button",
                "orange", "picture", "camera", "travel", "animal", "silver", "problem", "simple", "purple", "family")
# Festival: the three Debian American English voices (festvox-kallpc16k, -kdlpc16k, -us-slt-hts)
FESTIVAL_VOICES = {"kal": "voice_kal_diphone", "ked": "voice_ked_diphone", "slt": "voice_cmu_us_slt_arctic_hts"}
ESPEAK_FIX = "install it with `apt-get install espeak-ng` (the Makefile's DEB_PACKAGES; `make test` does it)"
FESTIVAL_FIX = ("install Festival and its voices: `apt-get install festival festvox-kallpc16k festvox-kdlpc16k "
                "festvox-us-slt-hts` (the Makefile's DEB_PACKAGES)")


@dataclass(frozen=True)
class Rendering:
    """One word as one synthesizer says it: everything that determines the audio."""

    engine: str  # "espeak" or "festival"
    word: str
    voice: str  # espeak: "en-us+f3"; festival: "kal", "ked", "slt"
    rate: float  # espeak: words per minute; festival: duration stretch (1 = normal)
    pitch: float  # espeak: 0-99; festival: resampling factor applied afterwards (1 = none)
    amplitude: float  # espeak: 0-200; festival: unused (1)

    @property
    def speaker(self) -> str:
        return f"{self.engine}:{self.voice}"


def _require(tool: str, fix: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise PocketMLError(f"{tool} is not installed (the keyword data set is synthesized with it)", fix)
    return path


@lru_cache(maxsize=1)
def espeak_version() -> str:
    out = subprocess.run([_require("espeak-ng", ESPEAK_FIX), "--version"], capture_output=True, text=True).stdout
    return out.strip()


@lru_cache(maxsize=1)
def espeak_voices() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(accents, variants): espeak-ng's English voices (no MBROLA) and every variant, sorted."""
    exe = _require("espeak-ng", ESPEAK_FIX)
    listing = subprocess.run([exe, "--voices=en"], capture_output=True, text=True).stdout
    accents = set()
    for line in listing.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 5 and parts[4].startswith("gmw/"):  # espeak-ng's own voices; mb/ needs MBROLA
            accents.add(parts[1])
    data = re.search(r"Data at: (\S+)", espeak_version())
    folder = Path(data.group(1)) / "voices" / "!v" if data else None
    if folder is None or not folder.is_dir():
        raise PocketMLError("cannot find espeak-ng's voice variants", f"reinstall espeak-ng: {ESPEAK_FIX}")
    variants = sorted(p.name for p in folder.iterdir() if p.is_file())
    if not accents or not variants:
        raise PocketMLError("espeak-ng lists no English voices", f"reinstall espeak-ng: {ESPEAK_FIX}")
    return tuple(sorted(accents)), tuple(variants)


def synthesize_espeak(r: Rendering) -> np.ndarray:
    """One espeak-ng rendering → float32 mono at 16 kHz, leading/trailing silence trimmed."""
    exe = _require("espeak-ng", ESPEAK_FIX)
    with tempfile.TemporaryDirectory(prefix="pocketml-espeak-") as tmp:
        wav = Path(tmp) / "w.wav"
        cmd = [exe, "-v", r.voice, "-s", str(int(r.rate)), "-p", str(int(r.pitch)), "-a", str(int(r.amplitude)),
               "-w", str(wav), r.word]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or not wav.is_file():
            raise PocketMLError(f"espeak-ng failed on {r.word!r} with voice {r.voice}: {proc.stderr.strip()[:300]}",
                                f"check the voice exists (`espeak-ng --voices=en`); {ESPEAK_FIX}")
        rate, audio = read_wav(wav)
    return trim_silence(resample(audio, rate, SAMPLE_RATE))


def synthesize_many(renderings: Iterable[Rendering], workers: int = 2, progress=None) -> list[np.ndarray]:
    """Synthesize renderings in order (espeak-ng in ``workers`` threads; Festival in one process)."""
    items = list(renderings)
    out: list[np.ndarray | None] = [None] * len(items)
    fest = [i for i, r in enumerate(items) if r.engine == "festival"]
    if fest:
        for i, audio in zip(fest, synthesize_festival([items[i] for i in fest]), strict=True):
            out[i] = audio
    esp = [i for i, r in enumerate(items) if r.engine == "espeak"]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for i, audio in zip(esp, pool.map(lambda k: synthesize_espeak(items[k]), esp), strict=True):
            out[i] = audio
            if progress is not None:
                progress(1)
    return [a for a in out if a is not None]


def synthesize_festival(renderings: list[Rendering], batch: int = 400) -> list[np.ndarray]:
    """Festival renderings through ``festival -b`` scripts (one process per ``batch`` words)."""
    exe = _require("festival", FESTIVAL_FIX)
    out: list[np.ndarray] = []
    for start in range(0, len(renderings), batch):
        chunk = renderings[start:start + batch]
        with tempfile.TemporaryDirectory(prefix="pocketml-festival-") as tmp:
            lines = []
            for k, r in enumerate(chunk):
                if r.voice not in FESTIVAL_VOICES or not re.fullmatch(r"[a-z]+", r.word):
                    raise PocketMLError(f"cannot ask Festival for {r.word!r} in voice {r.voice!r}",
                                        f"voices: {', '.join(FESTIVAL_VOICES)}; words: lower-case letters")
                lines += [f"({FESTIVAL_VOICES[r.voice]})", f"(Parameter.set 'Duration_Stretch {r.rate:.4f})",
                          f'(set! u (Utterance Text "{r.word}"))', "(utt.synth u)",
                          f'(utt.save.wave u "{Path(tmp) / f"{k}.wav"}" \'riff)']
            script = Path(tmp) / "say.scm"
            script.write_text("\n".join(lines) + "\n")
            proc = subprocess.run([exe, "-b", str(script)], capture_output=True, text=True, timeout=600)
            for k, r in enumerate(chunk):
                wav = Path(tmp) / f"{k}.wav"
                if not wav.is_file():
                    raise PocketMLError(f"Festival did not synthesize {r.word!r} with {r.voice}: "
                                        f"{(proc.stderr or proc.stdout).strip()[:300]}", FESTIVAL_FIX)
                rate, audio = read_wav(wav)
                # pitch: resample by a factor (pitch and formants move together, as a different speaker)
                audio = resample(audio, int(round(rate * r.pitch)), SAMPLE_RATE)
                out.append(trim_silence(audio))
    return out


def festival_available() -> bool:
    return shutil.which("festival") is not None
