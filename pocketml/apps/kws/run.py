"""``train_kws``: data → float DS-CNN → QAT int8 via ``pocketml.shrink`` → the whole C program →
checks (C == Python on every test clip and stream, in QEMU too) → measured on the Cortex-M4 → OUT.

    OUT/result.json    shrink's result for the model, plus ``streaming`` (the program's cost per
                       second of audio: what ``pocketml energy OUT`` budgets)
    OUT/kws.json       everything measured (accuracy, front-end error, streams, C exactness, M4)
                       and the ``artifact`` section ``pocketml kws detect/evaluate`` load
    OUT/report.html    confusion matrix, a stream's spectrogram with detections, DET curve, ...
    OUT/model.html     shrink's report of the model;  OUT/c/  the model's C;  OUT/model.tflite
    OUT/kws_c/         the whole program: kws_feed = front end + model + smoother (make -C → kws_run)
    OUT/kws_c-dsp/     the same program with the model's DSP kernels (OUT/c-dsp), on a board that has them:
                       checked and measured in QEMU (an Arm compiler builds it, not the host)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from pocketml.apps.kws import csource
from pocketml.apps.kws.artifact import MODEL_NAME, KwsArtifact
from pocketml.apps.kws.dataset import KwsDataset, load_dataset
from pocketml.apps.kws.evaluate import ClipScore, StreamEvaluation, clip_score, make_streams, stream_evaluation
from pocketml.apps.kws.frontend import (
    FeatureQuantizer,
    FixedFrontEnd,
    feature_statistics,
    frames,
    mfcc_float,
    standardize,
)
from pocketml.apps.kws.settings import KwsSettings
from pocketml.errors import PocketMLError
from pocketml.outputs import OutputFolder, write_atomic

Progress = Callable[[str, int, int], None]


@dataclass
class KwsRun:
    """What ``train_kws`` did and measured (``kws.json`` is ``to_dict()``)."""

    settings: KwsSettings
    data: dict
    training: dict
    model: dict  # from shrink's result.json
    accuracy: dict[str, ClipScore]
    frontend: dict
    streams: StreamEvaluation
    cortexm: dict | None
    energy: dict | None
    artifact: KwsArtifact
    seconds: dict = field(default_factory=dict)

    def done_when(self) -> dict:
        test = self.accuracy.get("test")
        clean = next((g["accuracy"] for k, g in (test.by_noise if test else {}).items() if k.startswith("clean")), None)
        return {"espeak_test_accuracy_at_least_0.90": bool(test and test.accuracy >= 0.90),
                "espeak_test_clean_accuracy_at_least_0.90": clean is not None and clean >= 0.90,
                "frontend_c_exact": self.frontend.get("c_mismatching_clips") == 0,
                "streams_c_exact": bool(self.streams.c_exact),
                "qemu_exact": None if self.cortexm is None else bool(self.cortexm.get("qemu_exact")) and bool(
                    self.cortexm.get("portable", {}).get("qemu_exact", True))}

    def to_dict(self) -> dict:
        return {"settings": self.settings.to_dict(), "data": self.data, "training": self.training,
                "model": self.model, "accuracy": {k: v.to_dict() for k, v in self.accuracy.items()},
                "frontend": self.frontend, "streams": self.streams.to_dict(), "cortexm": self.cortexm,
                "energy": self.energy, "done_when": self.done_when(), "seconds": self.seconds,
                "artifact": self.artifact.to_json()}


def _say(progress: Progress | None, what: str, done: int = 0, total: int = 1) -> None:
    if progress is not None:
        progress(what, done, total)


def train_kws(settings: KwsSettings, out: str | Path, *, cache: str | Path | None = None,
              wavs: str | Path | None = None, force: bool = False, progress: Progress | None = None) -> KwsRun:
    """Train, deploy, verify and measure a keyword spotter into ``out`` (see the module docstring)."""
    settings = replace(settings, detector=settings.detector.check(), train=settings.train.check())
    folder = OutputFolder(out, force=force, command="kws train")
    folder.check()
    clock: dict[str, float] = {}
    t = time.perf_counter()
    data = load_dataset(settings.data, cache, frontend=settings.frontend, progress=progress)
    clock["data"] = time.perf_counter() - t
    labels = data.labels
    mean, std = feature_statistics(data.splits["train"].mfcc_q16)
    x = {k: standardize(v.mfcc_q16, mean, std)[:, None] for k, v in data.splits.items()}
    y = {k: v.y for k, v in data.splits.items()}
    extra = _user_recordings(wavs, settings, labels, mean, std) if wavs is not None else None
    if extra is not None:
        x["train"], y["train"] = np.concatenate([x["train"], extra[0]]), np.concatenate([y["train"], extra[1]])
    t = time.perf_counter()
    model, history = _train_float(settings, x, y, len(labels), progress)
    clock["train_float"] = time.perf_counter() - t
    with folder.stage() as work:
        t = time.perf_counter()
        result = _shrink(model, settings, x, y, work, progress)
        clock["shrink"] = time.perf_counter() - t
        from pocketml.deploy.tflite.reader import read_tflite

        quantizer = FeatureQuantizer(mean, std, result.input.scale, result.input.zero_point)
        artifact = KwsArtifact(labels, settings.frontend, quantizer, settings.detector,
                               read_tflite(work / "model.tflite", MODEL_NAME).graph, asdict(settings.data), work)
        run = _verify_and_measure(settings, data, artifact, result, work, clock, progress)
        mine = None if extra is None else {"folder": str(wavs), "clips": int(len(extra[1]))}
        run.training = {"history": history, "float_test_accuracy": result.accuracy["float"], "user_recordings": mine}
        write_atomic(work / "kws.json", json.dumps(run.to_dict(), indent=1, default=_json_default))
        from pocketml.report.kws import write_report

        write_report(run, work / "report.html")
    return run


def _train_float(settings: KwsSettings, x: dict, y: dict, n_classes: int, progress: Progress | None):
    from pocketml.apps.kws.train import build_model, one_thread, train_float

    model = build_model(n_classes, settings.train, settings.seed)
    with one_thread():
        return train_float(model, x["train"], y["train"], settings.train, settings.seed, val=(x["val"], y["val"]),
                           progress=progress)


def _shrink(model, settings: KwsSettings, x: dict, y: dict, work: Path, progress: Progress | None):
    """QAT int8 and the verified C of the model alone, by ``pocketml.shrink``, written into ``work``."""
    from pocketml.apps.kws.train import one_thread, qat_recipe
    from pocketml.data.dataset import Split
    from pocketml.pipeline import shrink

    _say(progress, "quantization-aware training and shrink")
    rng = np.random.default_rng([settings.seed, 5])
    cal = x["train"][rng.permutation(len(x["train"]))[:1000]]
    with one_thread():
        result = shrink(model, cal, (x["test"], y["test"]), settings.device, work, name=MODEL_NAME,
                        recipe=qat_recipe(settings.train), train=Split(x["train"], y["train"]), seed=settings.seed)
    (work / "report.html").replace(work / "model.html")
    return result


def _user_recordings(wavs, settings: KwsSettings, labels, mean, std) -> tuple[np.ndarray, np.ndarray]:
    """The user's recordings (folder/<label>/*.wav), each augmented ``wav_copies`` times, as training features."""
    from pocketml.apps.kws.audio import load_wav_folder, to_int16, trim_silence
    from pocketml.apps.kws.augment import augment_word

    clips = load_wav_folder(wavs, labels)
    fe = FixedFrontEnd(settings.frontend)
    pcm, ys = [], []
    for i, (audio, label) in enumerate(zip(clips.pcm, clips.y, strict=True)):
        word = trim_silence(audio.astype(np.float32) / 32768.0)
        for k in range(max(1, settings.wav_copies)):
            rng = np.random.default_rng([settings.seed, 9, i, k])
            clip, _ = augment_word(word, settings.data.clip_samples, rng, [], settings.data.augment)
            pcm.append(to_int16(clip))
            ys.append(label)
    return standardize(fe.mfcc_q16(np.stack(pcm)), mean, std)[:, None], np.array(ys, dtype=np.int64)


def _verify_and_measure(settings: KwsSettings, data: KwsDataset, artifact: KwsArtifact, result, work: Path,
                        clock: dict, progress: Progress | None) -> KwsRun:
    t = time.perf_counter()
    accuracy = {name: clip_score(artifact, sp.mfcc_q16, sp.y, name, sp.snr_db) for name, sp in data.splits.items()}
    files = csource.program_files(FixedFrontEnd(settings.frontend), artifact.quantizer, settings.detector,
                                  artifact.labels, work / "c", MODEL_NAME)
    kws_c = csource.write_files(work / "kws_c", files)
    binary = csource.build(kws_c)
    _say(progress, "front end: C against numpy on every test clip")
    frontend = frontend_check(FixedFrontEnd(settings.frontend), artifact.quantizer, data, binary)
    clock["verify_clips"] = time.perf_counter() - t
    t = time.perf_counter()
    voices = data.voices.voices("test")
    streams = make_streams(artifact, voices, settings.streams)
    evaluation = stream_evaluation(artifact, streams, binary, progress=progress)
    clock["streams"] = time.perf_counter() - t
    (kws_c / "kws_run").unlink(missing_ok=True)  # a host binary: rebuilt by `make -C OUT/kws_c`
    t = time.perf_counter()
    cortexm = _cortexm(settings, artifact, streams[0][1].pcm, work, progress) if settings.qemu_seconds > 0 else None
    clock["cortexm"] = time.perf_counter() - t
    energy = _streaming_result(work, settings, cortexm, evaluation)
    model = {k: v for k, v in json.loads((work / "result.json").read_text()).items()
             if k in ("accuracy", "size_bytes", "arena_bytes", "ram_bytes", "flash_bytes", "c_mismatches", "fits",
                      "fit_reason", "macs", "input", "output", "cortexm", "verify", "device")}
    return KwsRun(settings, data.summary(), {}, model, accuracy, frontend, evaluation, cortexm, energy, artifact, clock)


def frontend_check(fe: FixedFrontEnd, quantizer: FeatureQuantizer, data: KwsDataset, binary: Path) -> dict:
    """C == numpy on every frame of every kept clip; the fixed-point error against the float definition."""
    out: dict[str, Any] = {"spec": asdict(fe.spec), "c_clips": 0, "c_mismatching_clips": 0, "splits": {}}
    for name, sp in data.splits.items():
        if sp.pcm is None:
            continue
        fr = frames(sp.pcm, fe.spec)
        c = csource.c_frontend_mfcc(binary, fr.reshape(-1, fe.spec.window_samples), fe.spec.n_mfcc)
        c = c.reshape(sp.mfcc_q16.shape)
        bad = int(np.sum(np.any(c != sp.mfcc_q16, axis=(1, 2))))
        fixed = sp.mfcc_q16.astype(np.float64) / 65536.0
        ref = mfcc_float(sp.pcm, fe.spec)
        err = np.abs(fixed - ref)
        q_fixed = quantizer(sp.mfcc_q16)
        q_float = quantizer(np.clip(np.round(ref * 65536.0), -2**31, 2**31 - 1).astype(np.int64))
        out["splits"][name] = {"clips": len(sp.y), "c_mismatching_clips": bad,
                               "abs_error_mean": float(err.mean()), "abs_error_max": float(err.max()),
                               "abs_error_p99": float(np.quantile(err, 0.99)),
                               "snr_db": float(10 * np.log10(np.sum(ref**2) / max(np.sum((fixed - ref) ** 2), 1e-300))),
                               "int8_features_differing": float(np.mean(q_fixed != q_float)),
                               "int8_max_difference": int(np.abs(q_fixed.astype(int) - q_float).max())}
        out["c_clips"] += len(sp.y)
        out["c_mismatching_clips"] += bad
    out["method"] = ("C (kws_run features) vs FixedFrontEnd on every 30 ms frame of every clip; error = fixed-point "
                     "MFCC (Q16/2^16) minus the float64 definition (mfcc_float) on the same int16 samples; int8 = "
                     "both through the model's feature quantizer")
    return out


def _cortexm(settings: KwsSettings, artifact: KwsArtifact, pcm: np.ndarray, work: Path,
             progress: Progress | None) -> dict | None:
    """The program the board runs, measured in QEMU: with the model's DSP kernels when shrink wrote
    ``OUT/c-dsp`` (``OUT/kws_c-dsp``), else ``OUT/kws_c``; the portable program alongside."""
    from pocketml.apps.kws.cortexm import board_program, measure_program
    from pocketml.deploy.cortexm.build import read_kernels
    from pocketml.deploy.cortexm.toolchain import core_target, is_cortexm, toolchain_available
    from pocketml.devices import find_device, load_catalogue

    board = find_device(settings.device, load_catalogue())
    core = board.core if is_cortexm(board.core) and core_target(board.core).runs_in_qemu else "cortex-m4f"
    if not toolchain_available(need_qemu=True):
        return {"skipped": "the Arm toolchain or qemu-system-arm is not installed (make cortexm-toolchain)"}
    _say(progress, f"the whole program in QEMU ({settings.qemu_seconds:g} s of audio)")
    n = int(settings.qemu_seconds * artifact.frontend.sample_rate) // artifact.frontend.hop_samples
    prefix = np.asarray(pcm[:n * artifact.frontend.hop_samples])
    python = [(e.frame, e.label, e.score) for e in artifact.streaming().run(prefix).events]
    every, frame_ms = settings.detector.every_frames, artifact.frontend.frame_ms
    programs = {"kws_c": work / "kws_c"}
    if (work / "c-dsp" / "model.h").is_file():
        programs["kws_c-dsp"] = board_program(work, work / "kws_c-dsp")
    docs = {}
    for name, folder in programs.items():
        rep = measure_program(folder, core, prefix, every, artifact.frontend.n_frames, artifact.frontend.hop_samples)
        docs[name] = rep.to_dict()
        docs[name].update(program=name, kernels=read_kernels(folder), qemu_exact=rep.events == python,
                          python_events=len(python), board=board.id,
                          instructions_per_second_of_audio=rep.instructions_per_second(every, frame_ms))
    doc = docs[list(programs)[-1]]  # the board's program: DSP kernels when there are any
    if len(docs) > 1:
        doc["portable"] = {k: docs["kws_c"][k] for k in (
            "frontend_instructions_per_frame", "model_instructions_per_inference", "instructions_per_second_of_audio",
            "flash_bytes", "ram_bytes", "qemu_exact", "build")}
    return doc


def _streaming_result(work: Path, settings: KwsSettings, cortexm: dict | None, ev: StreamEvaluation) -> dict | None:
    """Add ``streaming`` to result.json (the program's cost per inference period) and budget its energy."""
    path = work / "result.json"
    doc = json.loads(path.read_text())
    if cortexm is None or "skipped" in cortexm:
        return None
    per_hour = sum(s.keywords for s in ev.per_engine.values()) / max(sum(s.hours for s in ev.per_engine.values()), 1e-9)
    every = settings.detector.every_frames
    doc["streaming"] = {
        "frame_ms": settings.frontend.frame_ms, "every_frames": every,
        "inferences_per_second": 1000.0 / settings.frontend.frame_ms / every,
        "frontend_instructions_per_frame": cortexm["frontend_instructions_per_frame"],
        "model_instructions_per_inference": cortexm["model_instructions_per_inference"],
        "instructions_per_inference_period": every * cortexm["frontend_instructions_per_frame"]
        + cortexm["model_instructions_per_inference"],
        "instructions_per_second_of_audio": cortexm["instructions_per_second_of_audio"],
        "program_flash_bytes": cortexm["flash_bytes"], "program_ram_bytes": cortexm["ram_bytes"],
        "message_bytes": 4, "detections_per_hour": 10.0,
        "note": "one inference period = every_frames front-end frames + one model inference + the smoother; a "
                "4-byte message per detection at 10 detections per hour (the test streams held "
                f"{per_hour:.0f} keywords per hour); microphone and ADC power are not included",
        "method": "QEMU instruction counts of the whole program (pocketml.apps.kws.cortexm)"}
    from pocketml.energy import budget_for
    from pocketml.result import profile_from_json

    try:
        budget = budget_for(profile_from_json(doc)).to_dict()
    except PocketMLError as exc:
        budget = {"error": exc.problem}
    doc["energy"] = budget
    write_atomic(path, json.dumps(doc, indent=2, default=_json_default))
    return budget


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")
