"""The keyword data set: synthesized, augmented, split by voice, cached, as 1 s clips and MFCCs.

    spec = DataSpec(seed=0)                 # what to generate (frozen; its hash names the cache file)
    data = load_dataset(spec, cache="~/.cache/pocketml/kws")   # generate once, then read the cache
    data.splits["train"].mfcc_q16, data.splits["test"].y, data.splits["festival"].pcm

Twelve classes, as Speech Commands' 12-class task: ``silence``, ``unknown`` (other Speech Commands
words) and the ten keywords. Voices are (accent, variant) pairs of espeak-ng (``speech.py``): the
variant is the speaker (pitch, formants, voice quality), the accent the pronunciation. The variants
are dealt to train, val and test, so no test voice and no test speaker was heard in training; the
accents are shared by all splits, as accents are shared by people in Speech Commands' speaker
split. ``test_accents > 0`` holds out accents too (a harder, dialect-transfer test). The
``festival`` split holds three Festival voices, a different synthesizer altogether, used only for
testing.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from pocketml.apps.kws.audio import to_int16
from pocketml.apps.kws.augment import AugmentSpec, augment_word, silence_clip
from pocketml.apps.kws.frontend import FixedFrontEnd, FrontEndSpec
from pocketml.apps.kws.speech import (
    BABBLE_WORDS,
    FESTIVAL_VOICES,
    KEYWORDS,
    UNKNOWN_WORDS,
    Rendering,
    espeak_version,
    espeak_voices,
    synthesize_many,
)
from pocketml.errors import PocketMLError
from pocketml.outputs import atomic_path

Progress = Callable[[str, int, int], None]  # (stage, done, total)
SPLITS = ("train", "val", "test", "festival")
CACHE_ENV = "POCKETML_KWS_CACHE"
FORMAT = 4  # bump when the cache layout or the generation changes


def default_cache() -> Path:
    """``$POCKETML_KWS_CACHE``, else ``~/.cache/pocketml/kws``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "pocketml" / "kws").expanduser()


@dataclass(frozen=True)
class DataSpec:
    """What to synthesize. Every field is part of the cache key; the defaults are the benchmark's."""

    keywords: tuple[str, ...] = KEYWORDS
    unknown_words: tuple[str, ...] = UNKNOWN_WORDS
    babble_words: tuple[str, ...] = BABBLE_WORDS
    per_class: tuple[int, int, int] = (1200, 100, 200)  # clips per class in train, val, test
    festival_per_class: int = 90
    accents: tuple[str, ...] | None = None  # None: every English espeak-ng voice
    variants: tuple[str, ...] | None = None  # None: every variant
    test_accents: int = 0  # > 0: that many accents only in test (and 1 only in val); 0: accents shared
    variant_fractions: tuple[float, float, float] = (0.7, 0.1, 0.2)
    rate_wpm: tuple[float, float] = (110.0, 210.0)
    pitch: tuple[float, float] = (15.0, 85.0)
    amplitude: tuple[float, float] = (60.0, 160.0)
    festival_stretch: tuple[float, ...] = (0.8, 0.9, 1.0, 1.15, 1.3)
    festival_pitch: tuple[float, ...] = (0.94, 1.0, 1.06)
    festival_voices: tuple[str, ...] = tuple(FESTIVAL_VOICES)
    babble_pool: int = 150  # babble-word renderings per split
    augment: AugmentSpec = field(default_factory=AugmentSpec)
    clip_samples: int = 16_000
    seed: int = 0

    @property
    def labels(self) -> tuple[str, ...]:
        return ("silence", "unknown", *self.keywords)

    def key(self) -> str:
        """Hash of every setting, the data format and the espeak-ng version: the cache file's name."""
        doc = {"spec": asdict(self), "format": FORMAT, "espeak": espeak_version()}
        return hashlib.sha256(json.dumps(doc, sort_keys=True, default=list).encode()).hexdigest()[:16]

    def check(self) -> DataSpec:
        words = [*self.keywords, *self.unknown_words, *self.babble_words]
        if len(set(words)) != len(words):
            raise PocketMLError("a word is in more than one of keywords / unknown_words / babble_words",
                                "keep the three word lists apart")
        if not self.keywords or not self.unknown_words:
            raise PocketMLError("the data set needs keywords and unknown words", "e.g. keywords=('yes', 'no')")
        if any(n < 1 for n in self.per_class) or self.festival_per_class < 0:
            raise PocketMLError(f"per_class {self.per_class} must be >= 1 per split", "e.g. per_class=(1200, 100, 200)")
        return self


def small_spec(seed: int = 0) -> DataSpec:
    """A few words and voices: the data of ``make test``'s end-to-end run (seconds to build)."""
    return DataSpec(keywords=("yes", "no", "stop"), unknown_words=("bird", "house", "six"),
                    babble_words=("water", "music", "paper"), per_class=(32, 10, 12), festival_per_class=6,
                    accents=("en-gb", "en-us", "en-us-nyc", "en-gb-scotland"),
                    variants=("f1", "f3", "m1", "m3", "m5", "klatt2", "croak", "whisper", "Andy", "steph"),
                    babble_pool=12, seed=seed)


@dataclass(frozen=True)
class VoiceSplit:
    accents: dict[str, tuple[str, ...]]  # split → accents
    variants: dict[str, tuple[str, ...]]  # split → variants

    def voices(self, split: str) -> list[str]:
        return [f"{a}+{v}" for a in self.accents[split] for v in self.variants[split]]


def split_voices(spec: DataSpec) -> VoiceSplit:
    """Variants (and with ``test_accents`` accents) shuffled, seeded, dealt to train / val / test: no voice
    (accent + variant) and no variant is in two splits."""
    accents, variants = espeak_voices()
    accents = tuple(a for a in accents if spec.accents is None or a in spec.accents)
    variants = tuple(v for v in variants if spec.variants is None or v in spec.variants)
    missing = sorted(set(spec.accents or ()) - set(accents)) + sorted(set(spec.variants or ()) - set(variants))
    if missing:
        raise PocketMLError(f"espeak-ng here has no voice or variant {', '.join(missing)}",
                            "list them with `espeak-ng --voices=en` and `espeak-ng --voices=variant`")
    need = spec.test_accents + 2 if spec.test_accents else 1
    if len(accents) < need or len(variants) < 3:
        raise PocketMLError(f"{len(accents)} accents and {len(variants)} variants cannot be split three ways",
                            f"use at least {need} accents and 3 variants")
    rng = np.random.default_rng([spec.seed, 7])
    acc = [accents[i] for i in rng.permutation(len(accents))]
    var = [variants[i] for i in rng.permutation(len(variants))]
    n_test_v = max(1, round(spec.variant_fractions[2] * len(var)))
    n_val_v = max(1, round(spec.variant_fractions[1] * len(var)))
    t = spec.test_accents
    shared = tuple(sorted(acc))
    return VoiceSplit(
        accents={"test": tuple(sorted(acc[:t])), "val": tuple(sorted(acc[t:t + 1])),
                 "train": tuple(sorted(acc[t + 1:]))} if t else {"test": shared, "val": shared, "train": shared},
        variants={"test": tuple(sorted(var[:n_test_v])), "val": tuple(sorted(var[n_test_v:n_test_v + n_val_v])),
                  "train": tuple(sorted(var[n_test_v + n_val_v:]))})


@dataclass
class ClipSplit:
    """One split: labels, speakers, MFCCs (Q16) and, where kept, the audio."""

    y: np.ndarray  # [N] int64 class index into DataSpec.labels
    speakers: np.ndarray  # [N] str: "espeak:en-us+f3", "festival:kal", "" for silence
    words: np.ndarray  # [N] str: the word spoken ("" for silence)
    mfcc_q16: np.ndarray  # [N, 49, 10] int32 (FixedFrontEnd)
    pcm: np.ndarray | None  # [N, 16000] int16, None when not kept (train)
    snr_db: np.ndarray | None = None  # [N] the added noise's SNR (inf: no noise but the floor; nan: silence)
    noise: np.ndarray | None = None  # [N] str: white / pink / brown / babble / "" (none)

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class KwsDataset:
    spec: DataSpec
    labels: tuple[str, ...]
    voices: VoiceSplit
    splits: dict[str, ClipSplit]
    cache_file: Path | None = None
    from_cache: bool = False

    def summary(self) -> dict:
        return {"labels": list(self.labels), "cache_file": str(self.cache_file) if self.cache_file else None,
                "from_cache": self.from_cache, "espeak": espeak_version(),
                "voices": {s: {"accents": list(self.voices.accents[s]), "variants": list(self.voices.variants[s])}
                           for s in ("train", "val", "test")},
                "festival_voices": list(self.spec.festival_voices),
                "splits": {name: {"clips": len(sp), "speakers": len(set(sp.speakers) - {""}),
                                  "per_class": np.bincount(sp.y, minlength=len(self.labels)).tolist()}
                           for name, sp in self.splits.items()}}


def _plan_split(spec: DataSpec, split: str, voices: VoiceSplit, n: int) -> list[tuple[int, Rendering | None]]:
    """(class, rendering) per clip: seeded voice, rate, pitch and amplitude; None = silence."""
    rng = np.random.default_rng([spec.seed, SPLITS.index(split), 1])
    plan: list[tuple[int, Rendering | None]] = []
    if split == "festival":
        combos = [(v, s, p) for v in spec.festival_voices for s in spec.festival_stretch for p in spec.festival_pitch]
        for c, label in enumerate(spec.labels):
            for i in range(n):
                if label == "silence":
                    plan.append((c, None))
                    continue
                word = label if label != "unknown" else spec.unknown_words[int(rng.integers(len(spec.unknown_words)))]
                v, s, p = combos[i % len(combos)] if label != "unknown" else combos[int(rng.integers(len(combos)))]
                plan.append((c, Rendering("festival", word, v, s, p, 1.0)))
        return plan
    names = voices.voices(split)
    for c, label in enumerate(spec.labels):
        for _ in range(n):
            if label == "silence":
                plan.append((c, None))
                continue
            word = label if label != "unknown" else spec.unknown_words[int(rng.integers(len(spec.unknown_words)))]
            plan.append((c, Rendering("espeak", word, names[int(rng.integers(len(names)))],
                                      round(float(rng.uniform(*spec.rate_wpm))), round(float(rng.uniform(*spec.pitch))),
                                      round(float(rng.uniform(*spec.amplitude))))))
    return plan


def babble_renderings(spec: DataSpec, split: str, voices: VoiceSplit, n: int) -> list[Rendering]:
    """The split's own babble pool (its own voices), so no training voice leaks into test noise."""
    rng = np.random.default_rng([spec.seed, SPLITS.index(split), 2])
    words = spec.babble_words
    if split == "festival":
        return [Rendering("festival", words[int(rng.integers(len(words)))],
                          spec.festival_voices[int(rng.integers(len(spec.festival_voices)))],
                          float(spec.festival_stretch[int(rng.integers(len(spec.festival_stretch)))]), 1.0, 1.0)
                for _ in range(n)]
    names = voices.voices(split)
    return [Rendering("espeak", words[int(rng.integers(len(words)))], names[int(rng.integers(len(names)))],
                      round(float(rng.uniform(*spec.rate_wpm))), round(float(rng.uniform(*spec.pitch))), 100.0)
            for _ in range(n)]


def build_split(spec: DataSpec, split: str, voices: VoiceSplit, fe: FixedFrontEnd, keep_audio: bool,
                progress: Progress | None = None) -> ClipSplit:
    n = spec.festival_per_class if split == "festival" else spec.per_class[SPLITS.index(split)]
    plan = _plan_split(spec, split, voices, n)
    pool_plan = babble_renderings(spec, split, voices, spec.babble_pool)
    unique = sorted({r for _, r in plan if r is not None} | set(pool_plan), key=repr)
    done = [0]

    def tick(k: int) -> None:
        done[0] += k
        if progress is not None:
            progress(f"synthesizing {split}", done[0], len(unique))

    audio = dict(zip(unique, synthesize_many(unique, progress=tick), strict=True))
    pool = [audio[r] for r in pool_plan if len(audio[r])]
    pcm = np.zeros((len(plan), spec.clip_samples), dtype=np.int16)
    snr = np.full(len(plan), np.nan)
    kinds = []
    for i, (_c, r) in enumerate(plan):
        rng = np.random.default_rng([spec.seed, SPLITS.index(split), 3, i])
        if r is None:
            clip, info = silence_clip(spec.clip_samples, rng, spec.augment)
        else:
            clip, info = augment_word(audio[r], spec.clip_samples, rng, pool, spec.augment)
            snr[i] = info.get("snr_db", np.inf)
        kinds.append(info.get("noise", ""))
        pcm[i] = to_int16(clip)
        if progress is not None and (i % 200 == 0 or i == len(plan) - 1):
            progress(f"augmenting {split}", i + 1, len(plan))
    if progress is not None:
        progress(f"front end {split}", 0, 1)
    mfcc = fe.mfcc_q16(pcm)
    return ClipSplit(y=np.array([c for c, _ in plan], dtype=np.int64),
                     speakers=np.array(["" if r is None else r.speaker for _, r in plan]),
                     words=np.array(["" if r is None else r.word for _, r in plan]),
                     mfcc_q16=mfcc, pcm=pcm if keep_audio else None, snr_db=snr, noise=np.array(kinds))


def load_dataset(spec: DataSpec | None = None, cache: str | Path | None = None, *, frontend: FrontEndSpec | None = None,
                 keep_train_audio: bool = False, festival: bool = True,
                 progress: Progress | None = None) -> KwsDataset:
    """The data set of ``spec``: read from ``cache`` (a folder) if generated before, else generated and cached.

    ``cache=None``: :func:`default_cache`. Audio is kept (and cached) for val, test and festival;
    training audio only with ``keep_train_audio``. Deterministic given ``spec.seed``.
    """
    spec = (spec or DataSpec()).check()
    frontend = frontend or FrontEndSpec()
    fe = FixedFrontEnd(frontend)
    voices = split_voices(spec)
    folder = Path(cache).expanduser() if cache is not None else default_cache()
    fe_key = hashlib.sha256(json.dumps(asdict(frontend), sort_keys=True).encode()).hexdigest()[:8]
    name = f"kws-{spec.key()}-{fe_key}{'-audio' if keep_train_audio else ''}{'' if festival else '-nofest'}.npz"
    path = folder / name
    if path.is_file():
        data = _read_cache(path, spec, voices)
        if data is not None:
            return data
    from pocketml.apps.kws.speech import festival_available

    if festival and not festival_available():
        from pocketml.apps.kws.speech import FESTIVAL_FIX

        raise PocketMLError("festival is not installed (the held-out test voices)", FESTIVAL_FIX)
    splits = {}
    for split in SPLITS if festival else SPLITS[:3]:
        splits[split] = build_split(spec, split, voices, fe, keep_audio=split != "train" or keep_train_audio,
                                    progress=progress)
    data = KwsDataset(spec, spec.labels, voices, splits, path, False)
    _write_cache(path, data)
    return data


def _write_cache(path: Path, data: KwsDataset) -> None:
    arrays = {}
    for name, sp in data.splits.items():
        arrays.update({f"{name}/y": sp.y, f"{name}/speakers": sp.speakers, f"{name}/words": sp.words,
                       f"{name}/mfcc_q16": sp.mfcc_q16, f"{name}/snr_db": sp.snr_db, f"{name}/noise": sp.noise})
        if sp.pcm is not None:
            arrays[f"{name}/pcm"] = sp.pcm
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    except OSError as exc:
        raise PocketMLError(f"cannot write the data cache {path}: {exc.strerror}",
                            f"pass a writable --cache folder (or set {CACHE_ENV})") from exc


def _read_cache(path: Path, spec: DataSpec, voices: VoiceSplit) -> KwsDataset | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            names = sorted({k.split("/")[0] for k in z.files})
            splits = {n: ClipSplit(z[f"{n}/y"], z[f"{n}/speakers"], z[f"{n}/words"], z[f"{n}/mfcc_q16"],
                                   z[f"{n}/pcm"] if f"{n}/pcm" in z.files else None, z[f"{n}/snr_db"],
                                   z[f"{n}/noise"]) for n in names}
    except (OSError, ValueError, KeyError):
        return None  # a damaged cache file is regenerated (and replaced atomically)
    return KwsDataset(spec, spec.labels, voices, {n: splits[n] for n in SPLITS if n in splits}, path, True)


def with_seed(spec: DataSpec, seed: int) -> DataSpec:
    return replace(spec, seed=seed)


def write_data_folder(data: KwsDataset, out: str | Path, *, examples: int = 3, force: bool = False) -> Path:
    """``OUT/data.json`` (the summary) and ``OUT/examples/<label>/<split>-<i>.wav`` (listen to the data;
    the folder is in the layout ``--wavs`` reads)."""
    from pocketml.apps.kws.audio import wav_bytes
    from pocketml.outputs import OutputFolder, write_atomic

    folder = OutputFolder(out, force=force, command="kws data")
    with folder.stage() as work:
        write_atomic(work / "data.json", json.dumps(data.summary(), indent=1))
        for name, sp in data.splits.items():
            if sp.pcm is None:
                continue
            for c, label in enumerate(data.labels):
                for k, i in enumerate(np.nonzero(sp.y == c)[0][:examples]):
                    write_atomic(work / "examples" / label / f"{name}-{k}.wav", wav_bytes(sp.pcm[i]))
    return Path(out)
