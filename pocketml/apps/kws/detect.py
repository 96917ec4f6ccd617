"""``pocketml kws detect FILE.wav``: the streaming detector on a recording, in Python and (optionally) C."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from pocketml.apps.kws.artifact import KwsArtifact
from pocketml.apps.kws.audio import read_pcm16k
from pocketml.apps.kws.detector import DetectorSpec, StreamRun
from pocketml.apps.kws.evaluate import _program, events_table


@dataclass
class Detection:
    """Every detection in one recording, and whether the compiled program made the same ones."""

    file: str
    seconds: float
    events: list[dict]
    inferences: int
    c_exact: bool | None
    run: StreamRun

    def to_dict(self) -> dict:
        return {"file": self.file, "seconds": self.seconds, "events": self.events, "inferences": self.inferences,
                "c_exact": self.c_exact}


def detect_wav(wav: str | Path, model: str | Path, *, detector: DetectorSpec | None = None,
               c: bool = False) -> Detection:
    """Detections in ``wav`` (any WAV: resampled to 16 kHz mono) by the spotter in ``model``.

    ``c``: also build ``model/kws_c`` on the host, feed it the same samples in random chunk sizes,
    and say whether its detections are identical (``c_exact``).
    """
    from pocketml.apps.kws.csource import c_stream_events

    artifact = KwsArtifact.load(model)
    if detector is not None:
        artifact = replace(artifact, detector=detector.check())
    pcm = read_pcm16k(wav)
    run = artifact.streaming().run(pcm)
    exact = None
    if c:
        with tempfile.TemporaryDirectory(prefix="pocketml-kws-") as tmp:
            binary = _program(Path(model), Path(tmp), artifact)
            exact = c_stream_events(binary, pcm) == [(e.frame, e.label, e.score) for e in run.events]
    return Detection(str(wav), len(pcm) / artifact.frontend.sample_rate, events_table(run.events, artifact),
                     len(run.frames), exact, run)
