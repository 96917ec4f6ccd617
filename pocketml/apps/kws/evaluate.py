"""How good a trained keyword spotter is: 12-class accuracy on clips, detection on long streams.

    clip_score(artifact, mfcc_q16, y, name)      accuracy, per-class accuracy, confusion matrix
    stream_evaluation(artifact, streams, ...)    misses and false accepts per hour at the chosen
                                                 threshold, the detection-error trade-off curve, and
                                                 (given the compiled program) C == Python per stream
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pocketml.apps.kws.artifact import KwsArtifact
from pocketml.apps.kws.detector import DetectorSpec, Event, StreamRun
from pocketml.apps.kws.streams import Stream, StreamScore, StreamSpec, det_curve, generate_stream, score_events


@dataclass(frozen=True)
class ClipScore:
    name: str
    n: int
    accuracy: float
    per_class: list[float]
    confusion: list[list[int]]  # [true][predicted]
    by_noise: dict[str, dict] = field(default_factory=dict)  # "clean", "snr 5", ...: {n, accuracy}

    def to_dict(self) -> dict:
        return {"name": self.name, "n": self.n, "accuracy": self.accuracy, "per_class": self.per_class,
                "confusion": self.confusion, "by_noise": self.by_noise}


def clip_score(artifact: KwsArtifact, mfcc_q16: np.ndarray, y: np.ndarray, name: str,
               snr_db: np.ndarray | None = None) -> ClipScore:
    """The int8 path the device runs: front-end MFCCs → quantizer → int8 model → argmax.

    ``snr_db`` (per clip: inf = no added noise, nan = a silence clip) adds the accuracy of the clean
    clips (the word, its level, room and the microphone floor: what MLPerf's test set is like) and
    of each added-noise SNR.
    """
    pred = artifact.classify(mfcc_q16).argmax(1)
    y = np.asarray(y)
    k = len(artifact.labels)
    conf = np.zeros((k, k), dtype=np.int64)
    np.add.at(conf, (y, pred), 1)
    per = [float(conf[i, i] / conf[i].sum()) if conf[i].sum() else float("nan") for i in range(k)]
    groups: dict[str, dict] = {}
    if snr_db is not None:
        snr = np.asarray(snr_db, dtype=float)
        masks = {"clean (no added noise; silence clips included)": ~np.isfinite(snr)}
        masks.update({f"snr {v:g} dB": snr == v for v in np.unique(snr[np.isfinite(snr)])})
        groups = {g: {"n": int(m.sum()), "accuracy": float(np.mean(pred[m] == y[m]))} for g, m in masks.items()
                  if m.any()}
    return ClipScore(name, int(len(y)), float(np.mean(pred == y)), per, conf.tolist(), groups)


@dataclass(frozen=True)
class StreamSet:
    """Which streams to generate: ``n`` streams of ``minutes`` each per engine (seeds seed, seed+1, ...)."""

    n: int = 2
    minutes: float = 3.0
    seed: int = 100
    festival: bool = True


def make_streams(artifact: KwsArtifact, espeak_voices: list[str], plan: StreamSet) -> list[tuple[str, Stream]]:
    """(engine, stream) pairs, spoken by the held-out espeak-ng voices (and Festival's, if asked)."""
    data = artifact.data
    kws = tuple(artifact.labels[2:])
    out = []
    engines = [("espeak", espeak_voices)] + ([("festival", list(data["festival_voices"]))] if plan.festival else [])
    for engine, voices in engines:
        for i in range(plan.n):
            spec = StreamSpec(minutes=plan.minutes, seed=plan.seed + i + (1000 if engine == "festival" else 0))
            out.append((engine, generate_stream(spec, voices, kws, tuple(data["unknown_words"]),
                                                tuple(data["babble_words"]), engine=engine)))
    return out


@dataclass
class StreamEvaluation:
    detector: DetectorSpec
    per_engine: dict[str, StreamScore]
    curves: dict[str, list[dict]]
    streams: list[dict]
    c_exact: bool | None = None  # every stream's C events == Python events (None: not checked)
    runs: list[tuple[str, Stream, StreamRun]] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict:
        return {"detector": {"every_frames": self.detector.every_frames, "smooth": self.detector.smooth,
                             "threshold": self.detector.threshold, "threshold_sum": self.detector.threshold_sum,
                             "refractory_s": self.detector.refractory_s},
                "at_threshold": {e: s.to_dict() for e, s in self.per_engine.items()},
                "det_curve": self.curves, "streams": self.streams, "c_exact": self.c_exact,
                "method": "a detection hits a keyword of its label when the end of its 1 s window lies between the "
                          "keyword's onset and onset + 1 s + smoothing delay + 0.25 s; each keyword counts once; "
                          "every other detection is a false accept (per hour of stream audio, which holds keywords, "
                          "unknown words, babble phrases and noise)"}


def stream_evaluation(artifact: KwsArtifact, streams: list[tuple[str, Stream]], c_binary: Path | None = None,
                      progress=None) -> StreamEvaluation:
    from pocketml.apps.kws.csource import c_stream_events

    det = artifact.detector
    sp = artifact.frontend
    tol = det.smooth * det.every_frames * sp.frame_ms / 1000.0 + 0.25
    runs, rows = [], []
    exact = None if c_binary is None else True
    for i, (engine, stream) in enumerate(streams):
        run = artifact.streaming().run(stream.pcm)
        sc = score_events(run.events, stream.occurrences, stream.seconds, sp.hop_samples, sp.window_samples, tol)
        row = {"engine": engine, "seconds": stream.seconds, **sc.to_dict(), "events": len(run.events),
               "inferences": len(run.frames)}
        if c_binary is not None:
            c_events = c_stream_events(c_binary, stream.pcm, seed=i + 1)
            same = c_events == [(e.frame, e.label, e.score) for e in run.events]
            row["c_events"], row["c_exact"] = len(c_events), same
            exact = exact and same
        rows.append(row)
        runs.append((engine, stream, run))
        if progress is not None:
            progress("streams", i + 1, len(streams))
    per_engine, curves = {}, {}
    for engine in dict.fromkeys(e for e, _ in streams):
        mine = [(r, s) for e, s, r in runs if e == engine]
        scores = [score_events(r.events, s.occurrences, s.seconds, sp.hop_samples, sp.window_samples, tol)
                  for r, s in mine]
        per_engine[engine] = StreamScore(sum(x.keywords for x in scores), sum(x.hits for x in scores),
                                         sum(x.misses for x in scores), sum(x.false_accepts for x in scores),
                                         sum(x.hours for x in scores))
        curves[engine] = det_curve(mine, det, sp.hop_samples, sp.window_samples, sp.frame_ms)
    return StreamEvaluation(det, per_engine, curves, rows, exact, runs)


def events_table(events: tuple[Event, ...], artifact: KwsArtifact) -> list[dict]:
    from pocketml.apps.kws.frontend import FixedFrontEnd

    fe = FixedFrontEnd(artifact.frontend)
    k = artifact.detector.smooth
    return [{"seconds": round(e.seconds(fe), 3), "label": artifact.labels[e.label], "frame": e.frame,
             "score": e.score, "posterior": round(e.score / (256 * k), 4)} for e in events]


@dataclass
class Evaluation:
    """``pocketml kws evaluate``: a trained spotter on its held-out voices, streams and the user's recordings."""

    accuracy: dict[str, ClipScore]
    streams: StreamEvaluation | None
    labels: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"labels": list(self.labels), "accuracy": {k: v.to_dict() for k, v in self.accuracy.items()},
                "streams": None if self.streams is None else self.streams.to_dict()}


def evaluate_kws(model: str | Path, *, cache: str | Path | None = None, wavs: str | Path | None = None,
                 streams: StreamSet | None = StreamSet(), detector: DetectorSpec | None = None, c: bool = True,
                 splits: tuple[str, ...] = ("test", "festival"), progress=None) -> Evaluation:
    """Score the spotter in ``model`` (a ``pocketml kws train`` folder).

    Parameters
    ----------
    model : the trained folder (``kws.json``, ``model.tflite``, ``kws_c/``).
    cache : the data cache (the held-out clips are regenerated with the model's own DataSpec if absent).
    wavs : a folder of the user's recordings, one subfolder per label (scored as split ``wavs``).
    streams : test streams to generate (None: none).
    detector : other detector settings than the trained ones (e.g. a threshold), or None.
    c : also run the compiled program (``kws_c``) on every stream and compare its detections.
    splits : the synthesized splits to score (``test``, ``festival``, ``val``; empty: none).
    """
    import tempfile
    from dataclasses import replace

    from pocketml.apps.kws.audio import load_wav_folder
    from pocketml.apps.kws.dataset import load_dataset
    from pocketml.apps.kws.frontend import FixedFrontEnd
    from pocketml.apps.kws.settings import data_spec_from_dict

    artifact = KwsArtifact.load(model)
    if detector is not None:
        artifact = replace(artifact, detector=detector.check())
    scores: dict[str, ClipScore] = {}
    data = None
    if splits or streams is not None:
        data = load_dataset(data_spec_from_dict(artifact.data), cache, frontend=artifact.frontend,
                            progress=progress)  # the training run's cache file (festival included)
        scores.update({s: clip_score(artifact, data.splits[s].mfcc_q16, data.splits[s].y, s, data.splits[s].snr_db)
                       for s in splits if s in data.splits})
    if wavs is not None:
        clips = load_wav_folder(wavs, artifact.labels)
        mfcc = FixedFrontEnd(artifact.frontend).mfcc_q16(clips.pcm)
        scores["wavs"] = clip_score(artifact, mfcc, clips.y, "wavs")
    ev = None
    if streams is not None and data is not None:
        made = make_streams(artifact, data.voices.voices("test"), streams)
        with tempfile.TemporaryDirectory(prefix="pocketml-kws-") as tmp:
            binary = _program(Path(model), Path(tmp), artifact) if c else None
            ev = stream_evaluation(artifact, made, binary, progress=progress)
    return Evaluation(scores, ev, artifact.labels)


def _program(model: Path, tmp: Path, artifact: KwsArtifact) -> Path:
    """The folder's compiled program (host build of a copy of ``kws_c``, with the detector settings in use)."""
    import shutil

    from pocketml.apps.kws import csource
    from pocketml.apps.kws.frontend import FixedFrontEnd
    from pocketml.errors import PocketMLError

    src = model / "kws_c"
    if not (src / "kws.c").is_file():
        raise PocketMLError(f"{model} has no kws_c/ program", "pass the --out folder of `pocketml kws train`")
    shutil.copytree(src, tmp / "kws_c")
    extra = csource.program_defines(artifact.quantizer, artifact.detector, artifact.labels, "kws_model",
                                    artifact.frontend.frame_ms)
    (tmp / "kws_c" / "kws_config.h").write_text(csource.config_header(FixedFrontEnd(artifact.frontend), extra))
    return csource.build(tmp / "kws_c")
